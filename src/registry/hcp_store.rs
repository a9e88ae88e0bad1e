//! What HCP Packer's API asks of a store beyond kiln's own model: the registry's organization,
//! buckets and products made before anything is published into them, products' descriptions
//! and labels, channels made empty or deleted, and SBOMs kept with their build.

use super::error::Result;
use super::model::{Bucket, Channel, Product, ProductAbout, Timestamp};
use super::Store;
use serde::{Deserialize, Serialize};

/// Largest SBOM document kept (compressed, as sent).
pub const MAX_SBOM: usize = 16 << 20;

/// An SBOM's record (its document is read with [`HcpStore::sbom`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    /// ULID.
    pub id: String,
    pub name: String,
    /// `SPDX` or `CYCLONEDX`.
    pub format: String,
    pub created_at: Timestamp,
}

/// An SBOM to store: its document as the client sent it (compressed, opaque to kiln).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSbom {
    pub name: String,
    pub format: String,
    pub content: Vec<u8>,
}

/// The HCP-only part of a store.
pub trait HcpStore: Store {
    /// The registry's organization UUID: made once with the database, never changed.
    fn organization_id(&self) -> Result<String>;
    /// The bucket, made now if it does not exist yet.
    fn ensure_bucket(&self, bucket: &str) -> Result<Bucket>;
    /// Make a product with no releases (and its `latest` channel); Conflict if it exists.
    fn create_product(&self, bucket: &str, product: &str, about: &ProductAbout) -> Result<Product>;
    /// Replace a product's description and labels.
    fn update_product(&self, bucket: &str, product: &str, about: &ProductAbout) -> Result<Product>;
    /// Make a channel that serves nothing yet; Conflict if it exists.
    fn create_channel(&self, bucket: &str, product: &str, channel: &str) -> Result<Channel>;
    /// Delete a channel and its history (never `latest`).
    fn delete_channel(&self, bucket: &str, product: &str, channel: &str) -> Result<()>;
    /// Store an SBOM with a build; Conflict if the build has one of that name.
    fn put_sbom(&self, build_id: &str, sbom: &NewSbom) -> Result<Sbom>;
    /// A build's SBOMs, sorted by name.
    fn sboms(&self, build_id: &str) -> Result<Vec<Sbom>>;
    /// One SBOM and its document.
    fn sbom(&self, build_id: &str, name: &str) -> Result<(Sbom, Vec<u8>)>;
}
