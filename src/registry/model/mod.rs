//! The registry's records, in the seed's words with HCP Packer's semantics.
//!
//! bucket → product → release → build → image; channels point a product at a release;
//! dependencies link a release to the releases it was built from.

mod bucket;
mod build;
mod change;
mod channel;
mod dependency;
mod image;
mod lifecycle;
mod product;
mod publish;
mod query;
mod release;
mod status;
mod timestamp;

pub use bucket::Bucket;
pub use build::Build;
pub use change::{AssignChannel, Revoke};
pub use channel::{Channel, ChannelAssignment};
pub use dependency::Dependency;
pub use image::{Image, ImageRecord};
pub use lifecycle::{BeginRelease, BuildStart, ReleaseStart};
pub use product::{Product, ProductAbout};
pub use publish::{Completion, NewImage, Publish, PublishBuild};
pub use query::{ImageQuery, ParentRef, ReleaseRef};
pub use release::{Release, Revocation, RevocationType};
pub use status::{AncestryStatus, BuildEnd, BuildStatus, ReleaseStatus};
pub use timestamp::{parse_duration, Timestamp};

/// The managed channel that follows the newest complete, unrevoked release.
pub const LATEST: &str = "latest";
