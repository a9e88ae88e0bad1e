//! The store trait: everything kiln asks of a registry, whatever holds it (SQLite here; HTTP and
//! PostgreSQL later). Object safe and synchronous; async callers use `spawn_blocking`.
//!
//! Names are checked by the store ([`super::names`]), so no implementation can store a name the
//! rules refuse. Every method that writes is one transaction: it happens entirely or not at all.

use super::error::Result;
use super::model::{
    AssignChannel, BeginRelease, Bucket, Build, BuildEnd, BuildStart, Channel, ChannelAssignment,
    Completion, Dependency, ImageQuery, ImageRecord, NewImage, ParentRef, Product, Publish,
    Release, ReleaseStart, Revoke,
};
use std::time::Duration;

/// A registry store.
pub trait Store: Send + Sync {
    /// Every bucket, sorted by name.
    fn buckets(&self) -> Result<Vec<Bucket>>;
    /// One bucket.
    fn bucket(&self, bucket: &str) -> Result<Bucket>;
    /// Delete an empty bucket (Conflict while it holds products).
    fn delete_bucket(&self, bucket: &str) -> Result<()>;
    /// A bucket's products, sorted by name.
    fn products(&self, bucket: &str) -> Result<Vec<Product>>;
    /// One product.
    fn product(&self, bucket: &str, product: &str) -> Result<Product>;
    /// Delete a product with its releases and channels (Conflict while another product's release
    /// was built from one of them).
    fn delete_product(&self, bucket: &str, product: &str) -> Result<()>;

    /// Create a release RUNNING with one expected build per component (creating its bucket and
    /// product as needed), or resume it: say which components are already DONE. A complete
    /// release that lacks one of `components` is a Conflict.
    fn begin_release(&self, begin: &BeginRelease) -> Result<ReleaseStart>;
    /// Mark an expected (or failed) build RUNNING and beat its heartbeat.
    fn start_build(&self, start: &BuildStart) -> Result<Build>;
    /// Tell the store a RUNNING build is alive.
    fn heartbeat(&self, build_id: &str) -> Result<()>;
    /// Attach a build's images and mark it DONE; when every build of its release is DONE the
    /// release completes and its channels (and `latest`) are assigned, in the same transaction.
    fn finish_build(&self, build_id: &str, images: &[NewImage]) -> Result<Completion>;
    /// Mark a build FAILED or CANCELLED, with why.
    fn fail_build(&self, build_id: &str, end: BuildEnd, message: &str) -> Result<()>;
    /// Mark FAILED every RUNNING build whose heartbeat is older than `max_age`; their IDs, sorted.
    fn expire_stale_builds(&self, max_age: Duration) -> Result<Vec<String>>;
    /// Record that a release was built from `parent` (read by name or through a channel).
    fn add_dependency(&self, release_id: &str, parent: &ParentRef) -> Result<Dependency>;
    /// Register finished builds in one transaction (see [`Publish`]).
    fn publish(&self, publish: &Publish) -> Result<Completion>;

    /// A product's releases, oldest first.
    fn releases(&self, bucket: &str, product: &str) -> Result<Vec<Release>>;
    /// One release, with its builds, images, parents and children.
    fn release(&self, bucket: &str, product: &str, release: &str) -> Result<Release>;
    /// The one image a query names (Revoked when the release is revoked).
    fn image(&self, query: &ImageQuery) -> Result<ImageRecord>;
    /// [`Store::image`]'s answer when it is at hand without waiting (cached, and nothing holds
    /// the store), so a server can answer it on its async threads; `None` otherwise.
    fn image_at_hand(&self, _query: &ImageQuery) -> Option<ImageRecord> {
        None
    }
    /// Every image with this external ID, sorted.
    fn search(&self, external_id: &str) -> Result<Vec<ImageRecord>>;

    /// A product's channels, sorted by name.
    fn channels(&self, bucket: &str, product: &str) -> Result<Vec<Channel>>;
    /// A channel's assignments, oldest first.
    fn channel_history(
        &self,
        bucket: &str,
        product: &str,
        channel: &str,
    ) -> Result<Vec<ChannelAssignment>>;
    /// Point a channel at a complete, unrevoked release.
    fn assign_channel(&self, assign: &AssignChannel) -> Result<ChannelAssignment>;

    /// Revoke a complete release now or later, and (unless skipped) its descendants; returns every
    /// release revoked, `bucket/product/release`, the asked one first.
    fn revoke(&self, revoke: &Revoke) -> Result<Vec<String>>;
    /// The bucket a release or build (by ID) belongs to, so a server can hold a
    /// bucket-limited token to its bucket.
    fn bucket_of(&self, id: &str) -> Result<String>;

    /// Undo a release's revocation and the revocations its descendants inherited from it;
    /// returns every release restored, the asked one first.
    fn restore(&self, bucket: &str, product: &str, release: &str) -> Result<Vec<String>>;
}
