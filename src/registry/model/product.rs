//! A product: a line of images such as `web-server` (HCP's bucket).

use super::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// What it is, in a sentence (HCP's bucket description).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// When its description or labels last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// A product's description and labels, as HCP's clients set them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProductAbout {
    pub description: String,
    pub labels: BTreeMap<String, String>,
}
