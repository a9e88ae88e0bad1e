//! How a release is named in a lookup: by its name or through a channel.

use serde::{Deserialize, Serialize};

/// A release by name, or whatever a channel serves now.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseRef {
    Release(String),
    Channel(String),
}

/// bucket + product + (release | channel) + provider + region → one image.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageQuery {
    pub bucket: String,
    pub product: String,
    pub at: ReleaseRef,
    pub provider: String,
    pub region: String,
    /// Narrows the answer when several components have images for the same provider and region.
    pub component: Option<String>,
}

/// A parent release, as a build that read its image names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentRef {
    pub bucket: String,
    pub product: String,
    pub at: ReleaseRef,
}
