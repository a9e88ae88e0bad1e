//! A product: a line of images such as `web-server` (HCP's bucket).

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// A product and a summary of its releases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// ULID.
    pub id: String,
    pub bucket: String,
    pub name: String,
    pub created_at: Timestamp,
    /// How many releases it has, complete or not.
    pub releases: u64,
    /// The release `latest` serves now, if any.
    pub latest: Option<String>,
    /// Providers it has images for, sorted.
    pub providers: Vec<String>,
}
