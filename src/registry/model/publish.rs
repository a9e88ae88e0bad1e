//! What a publish asks for and what it did.

use super::ParentRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Register builds someone built, in one transaction: creates the bucket, product and release
/// if needed, attaches each build's images and marks it DONE; the release completes (and its
/// channels are assigned) when every expected build is DONE.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Publish {
    pub bucket: String,
    pub product: String,
    pub release: String,
    /// Components the release waits for besides the ones published here.
    pub expect: Vec<String>,
    /// Channels to assign when the release completes.
    pub channels: Vec<String>,
    pub builds: Vec<PublishBuild>,
    /// Releases these builds were built from.
    pub parents: Vec<ParentRef>,
}

/// One build of a [`Publish`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishBuild {
    pub component: String,
    pub provider: String,
    pub labels: BTreeMap<String, String>,
    pub source_image: Option<String>,
    pub images: Vec<NewImage>,
}

/// An image to attach: one external ID in one region.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewImage {
    pub region: String,
    pub external_id: String,
}

/// What a publish or a finished build did to its release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Completion {
    /// Recorded; the release still waits for these components (sorted).
    Pending {
        release_id: String,
        waiting_for: Vec<String>,
    },
    /// Recorded, and it completed the release as `v<version>`.
    Completed { release_id: String, version: u64 },
    /// Exactly this was already recorded: nothing changed.
    Unchanged { release_id: String },
}
