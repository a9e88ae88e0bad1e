//! A bucket: the top-level container (HCP's project).

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// A bucket and a summary of what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// ULID.
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    /// Its products' names, sorted.
    pub products: Vec<String>,
}
