//! An image: one external ID in one region (HCP's artifact).

use super::{ReleaseStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// An image as its build holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// ULID.
    pub id: String,
    pub region: String,
    /// The provider's ID: `ami-...`, `projects/p/global/images/x`, `repo/app@sha256:...`.
    pub external_id: String,
    pub created_at: Timestamp,
}

/// An image with everything that locates it: what `kiln registry image` and `search` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub bucket: String,
    pub product: String,
    pub release: String,
    pub release_id: String,
    pub release_status: ReleaseStatus,
    /// The release's `vN`, when complete.
    pub version: Option<u64>,
    /// The channel the release was reached through, when asked by channel.
    pub channel: Option<String>,
    pub component: String,
    pub build_id: String,
    pub provider: String,
    pub region: String,
    pub external_id: String,
    pub image_id: String,
    pub created_at: Timestamp,
}
