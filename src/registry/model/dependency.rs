//! Dependencies (HCP's ancestry): a release built from another release's image.

use super::{AncestryStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// One parent → child edge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// `bucket/product/release` of the parent.
    pub parent: String,
    /// `bucket/product/release` of the child.
    pub child: String,
    /// The parent's channel the image was read through, if it was.
    pub channel: Option<String>,
    /// Whether that channel still serves the parent (derived at read time).
    pub status: AncestryStatus,
    pub created_at: Timestamp,
}
