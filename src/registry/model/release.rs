//! A release: one build of a product (HCP's version, keyed by its fingerprint).

use super::{Build, Dependency, ReleaseStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// A release with its builds, images and ancestry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// ULID.
    pub id: String,
    pub bucket: String,
    pub product: String,
    /// The release name (HCP's fingerprint), unique in its product.
    pub name: String,
    /// Set once, when the release completes: the product's completion counter (HCP's `vN`).
    pub version: Option<u64>,
    /// Derived at read time (see [`ReleaseStatus`]).
    pub status: ReleaseStatus,
    pub created_at: Timestamp,
    /// Set once, in the transaction that marks the last expected build DONE.
    pub completed_at: Option<Timestamp>,
    pub revocation: Option<Revocation>,
    /// Channels to assign when the release completes, sorted.
    pub channels: Vec<String>,
    /// Sorted by component.
    pub builds: Vec<Build>,
    /// The releases this one was built from.
    pub parents: Vec<Dependency>,
    /// The releases built from this one.
    pub children: Vec<Dependency>,
    /// The kind of template that built it, as HCP's clients say: `HCL2` or `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_type: Option<String>,
}

impl Release {
    /// Whether every expected build is DONE (revoked or not).
    pub fn is_complete(&self) -> bool {
        self.completed_at.is_some()
    }
}

/// A revocation: now or scheduled, by hand or inherited from a parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When it takes (or took) effect.
    pub revoke_at: Timestamp,
    pub message: String,
    pub author: String,
    /// `MANUAL` or `INHERITED`.
    #[serde(rename = "type")]
    pub kind: RevocationType,
    /// For an inherited revocation, the ancestor revoked by hand (`bucket/product/release`).
    pub inherited_from: Option<String>,
}

/// HCP's `RevocationType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevocationType {
    /// Revoked by hand.
    Manual,
    /// Inherited from a revoked ancestor.
    Inherited,
}

impl RevocationType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationType::Manual => "MANUAL",
            RevocationType::Inherited => "INHERITED",
        }
    }
}
