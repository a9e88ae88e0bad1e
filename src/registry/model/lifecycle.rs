//! A build run's conversation with the registry: begin a release, start builds, finish them.

use super::Release;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Begin (or resume) a release before any build starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeginRelease {
    pub bucket: String,
    pub product: String,
    pub release: String,
    /// One expected build per publishing source; the release completes when all are DONE.
    pub components: Vec<String>,
    /// Channels to assign when it completes.
    pub channels: Vec<String>,
}

/// The begun release, and which of its builds are already DONE (a rerun skips them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseStart {
    pub release: Release,
    /// Components already DONE, sorted.
    pub done: Vec<String>,
}

/// Mark one expected build RUNNING.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildStart {
    pub release_id: String,
    pub component: String,
    pub provider: String,
    pub labels: BTreeMap<String, String>,
    pub source_image: Option<String>,
}
