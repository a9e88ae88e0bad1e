//! A build: one source's result inside a release.

use super::{BuildStatus, Image, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One component's build, with its images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// ULID.
    pub id: String,
    /// The source that builds it, e.g. `amazon-ebs.my-ami`.
    pub component: String,
    /// Provider (HCP's platform): `aws`, `azure`, `docker`, `null`...; unknown until it starts.
    pub provider: Option<String>,
    pub status: BuildStatus,
    pub labels: BTreeMap<String, String>,
    /// The image it was built from, when known.
    pub source_image: Option<String>,
    pub created_at: Timestamp,
    pub heartbeat_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why it failed or was cancelled.
    pub message: Option<String>,
    /// Sorted by region.
    pub images: Vec<Image>,
    /// The UUID of the Packer run that built it (HCP's `packer_run_uuid`), when a client said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_uuid: Option<String>,
    /// What HCP's clients say about a build (`packer`, `vcs`, `cicd` objects), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}
