//! A cache of image lookups in front of the database, for the one query asked at high rates.
//!
//! An entry stays valid while nothing was committed to the database (`PRAGMA data_version`
//! tells when another connection commits; this connection's own writes clear the cache) and
//! until the next scheduled revocation takes effect, since that changes answers with no write.

use super::super::model::{ImageQuery, ImageRecord, Timestamp};
use std::collections::HashMap;

/// Entries kept before the cache starts over.
const CAPACITY: usize = 65_536;

/// Cached lookups of one generation of the database.
#[derive(Default)]
pub(super) struct LookupCache {
    /// The `data_version` the entries were read at.
    version: Option<i64>,
    /// Entries expire when the earliest revocation scheduled after they were read takes effect.
    valid_until: Option<Timestamp>,
    entries: HashMap<ImageQuery, ImageRecord>,
}

impl LookupCache {
    /// Forget everything (this connection wrote).
    pub(super) fn clear(&mut self) {
        self.version = None;
        self.valid_until = None;
        self.entries.clear();
    }

    /// The cached answer, if the cache is still of `version` and not expired at `now`.
    pub(super) fn get(
        &mut self,
        query: &ImageQuery,
        version: i64,
        now: Timestamp,
    ) -> Option<&ImageRecord> {
        let expired = self.valid_until.is_some_and(|t| now >= t);
        if self.version != Some(version) || expired {
            self.clear();
            return None;
        }
        self.entries.get(query)
    }

    /// Whether the cache already knows its generation's expiry.
    pub(super) fn is_open(&self, version: i64) -> bool {
        self.version == Some(version)
    }

    /// Start a generation: entries read at `version`, valid until `valid_until`.
    pub(super) fn open(&mut self, version: i64, valid_until: Option<Timestamp>) {
        self.clear();
        self.version = Some(version);
        self.valid_until = valid_until;
    }

    /// Remember an answer of the open generation.
    pub(super) fn put(&mut self, query: &ImageQuery, record: &ImageRecord) {
        if self.entries.len() >= CAPACITY {
            self.entries.clear();
        }
        self.entries.insert(query.clone(), record.clone());
    }
}
