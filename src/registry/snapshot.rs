//! A registry's every record, row by row as stored: what `kiln registry migrate` copies from one
//! store to another, and compares afterwards to prove the copy whole.
//!
//! The tables and their columns are named here, once, in the order a copy must insert them
//! (parents before children), so every store reads and writes the same shape.

use super::error::Result;
use serde::{Deserialize, Serialize};

/// The tables of schema 3 and their columns, parents first. `registry` (the organization) is
/// copied too, so HCP's organization and project IDs survive a move.
pub const TABLES: &[(&str, &[&str])] = &[
    ("registry", &["id", "organization_id"]),
    ("buckets", &["id", "name", "created_at"]),
    (
        "products",
        &[
            "id",
            "bucket_id",
            "name",
            "created_at",
            "completed",
            "description",
            "labels",
            "updated_at",
        ],
    ),
    (
        "releases",
        &[
            "id",
            "product_id",
            "name",
            "created_at",
            "completed_at",
            "version",
            "revoke_at",
            "revocation_message",
            "revocation_author",
            "revocation_type",
            "revocation_inherited_from",
            "template_type",
        ],
    ),
    ("release_channels", &["release_id", "channel"]),
    (
        "builds",
        &[
            "id",
            "release_id",
            "component",
            "provider",
            "status",
            "labels",
            "source_image",
            "created_at",
            "heartbeat_at",
            "finished_at",
            "message",
            "run_uuid",
            "metadata",
        ],
    ),
    (
        "images",
        &["id", "build_id", "region", "external_id", "created_at"],
    ),
    (
        "channels",
        &["id", "product_id", "name", "managed", "created_at"],
    ),
    (
        "channel_assignments",
        &[
            "seq",
            "id",
            "channel_id",
            "release_id",
            "assigned_at",
            "author",
        ],
    ),
    (
        "dependencies",
        &["id", "child_id", "parent_id", "channel_id", "created_at"],
    ),
    (
        "sboms",
        &["id", "build_id", "name", "format", "content", "created_at"],
    ),
    (
        "tokens",
        &[
            "id",
            "hash",
            "scope",
            "bucket",
            "description",
            "created_at",
            "expires_at",
            "revoked_at",
        ],
    ),
    (
        "audit",
        &["seq", "at", "token_id", "operation", "target", "outcome"],
    ),
];

/// One stored value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// One table's rows, in its key's order; values in [`TABLES`]' column order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub rows: Vec<Vec<Value>>,
}

/// Every table of a registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub tables: Vec<Table>,
}

impl Snapshot {
    /// Rows per table, for a summary.
    pub fn counts(&self) -> Vec<(&str, usize)> {
        self.tables
            .iter()
            .map(|t| (t.name.as_str(), t.rows.len()))
            .collect()
    }
}

/// A store that can be copied whole.
pub trait Copyable {
    /// Every record, in one consistent read.
    fn snapshot(&self) -> Result<Snapshot>;
    /// Write every record of `s` into this store, which must hold nothing yet (no bucket, no
    /// token, no audit entry), in one transaction: all of it or nothing.
    fn load(&self, s: &Snapshot) -> Result<()>;
}
