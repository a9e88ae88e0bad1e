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
    /// The kind of template building it (`HCL2`, `JSON`), recorded when the release is made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_type: Option<String>,
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
    /// Unknown to some clients until the build is done: then the stored one is kept.
    pub provider: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub source_image: Option<String>,
    /// The Packer run building it (HCP's `packer_run_uuid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_uuid: Option<String>,
    /// HCP's build metadata (`packer`, `vcs`, `cicd`), kept as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}
