//! Channels: named pointers from a product to a complete release, with their history.

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// A channel and the release it serves now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// ULID.
    pub id: String,
    pub name: String,
    /// `latest`, which kiln moves itself; it cannot be assigned by hand.
    pub managed: bool,
    /// The release the channel serves now: its newest assignment whose release is not revoked.
    pub release: Option<String>,
    /// The newest assignment's release, when it differs from `release` because it was revoked
    /// (the channel rolled back).
    pub rolled_back_from: Option<String>,
    pub created_at: Timestamp,
    /// When the serving assignment was made.
    pub assigned_at: Option<Timestamp>,
}

/// One entry of a channel's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAssignment {
    /// ULID.
    pub id: String,
    pub channel: String,
    pub release: String,
    pub release_id: String,
    pub assigned_at: Timestamp,
    pub author: String,
    /// Whether the release is revoked now (the channel skips it).
    pub revoked: bool,
}
