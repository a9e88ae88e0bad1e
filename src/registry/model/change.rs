//! Changes made by hand: assigning a channel, revoking a release.

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// Point a channel at a complete release (creating the channel if needed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignChannel {
    pub bucket: String,
    pub product: String,
    pub channel: String,
    pub release: String,
    pub author: String,
}

/// Revoke a release now or at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    pub bucket: String,
    pub product: String,
    pub release: String,
    /// `None`: now.
    pub at: Option<Timestamp>,
    pub message: String,
    pub author: String,
    /// Leave the releases built from this one alone.
    pub skip_descendants: bool,
}
