//! Caches in front of the database, for what a server is asked at high rates: the caller's token
//! and image lookups.
//!
//! An entry stays valid while nothing was committed to the database (the [`Generation`] the
//! entries were read at is current; this connection's own writes clear the caches too) and, for
//! lookups, until the next scheduled revocation takes effect, since that changes answers with no
//! write. An entry is stored under the generation read *before* its query, so an entry read
//! across a commit is dropped at the next check, never kept as current.

use super::super::auth::Token;
use super::super::model::{ImageQuery, ImageRecord, Timestamp};
use super::walindex::Generation;
use std::collections::HashMap;

/// Entries kept before a cache starts over.
const CAPACITY: usize = 65_536;

/// Both caches, behind one short-held lock.
#[derive(Default)]
pub(super) struct Caches {
    pub(super) lookups: LookupCache,
    pub(super) tokens: TokenCache,
}

impl Caches {
    /// Forget everything (this connection wrote).
    pub(super) fn clear(&mut self) {
        self.lookups.clear();
        self.tokens = TokenCache::default();
    }
}

/// Cached lookups of one generation of the database.
#[derive(Default)]
pub(super) struct LookupCache {
    /// The generation the entries were read at.
    version: Option<Generation>,
    /// Entries expire when the earliest revocation scheduled after they were read takes effect.
    valid_until: Option<Timestamp>,
    entries: HashMap<ImageQuery, ImageRecord>,
}

impl LookupCache {
    fn clear(&mut self) {
        self.version = None;
        self.valid_until = None;
        self.entries.clear();
    }

    /// The cached answer, if the cache is still of `version` and not expired at `now`.
    pub(super) fn get(
        &mut self,
        query: &ImageQuery,
        version: Generation,
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
    pub(super) fn is_open(&self, version: Generation) -> bool {
        self.version == Some(version)
    }

    /// Start a generation: entries read at `version`, valid until `valid_until`.
    pub(super) fn open(&mut self, version: Generation, valid_until: Option<Timestamp>) {
        self.clear();
        self.version = Some(version);
        self.valid_until = valid_until;
    }

    /// Remember an answer read at `version`, if that is still the open generation.
    pub(super) fn put(&mut self, version: Generation, query: &ImageQuery, record: &ImageRecord) {
        if self.version != Some(version) {
            return;
        }
        if self.entries.len() >= CAPACITY {
            self.entries.clear();
        }
        self.entries.insert(query.clone(), record.clone());
    }
}

/// Live tokens by hash, of one generation. Only live tokens are kept, so unknown secrets
/// cannot grow it.
#[derive(Default)]
pub(super) struct TokenCache {
    version: Option<Generation>,
    live: HashMap<String, Token>,
}

impl TokenCache {
    /// The cached live token, if the cache is still of `version`.
    pub(super) fn get(&mut self, hash: &str, version: Generation, now: Timestamp) -> Option<Token> {
        if self.version != Some(version) {
            *self = TokenCache {
                version: Some(version),
                live: HashMap::new(),
            };
            return None;
        }
        self.live.get(hash).filter(|t| t.is_live(now)).cloned()
    }

    /// Remember a live token read at `version`, if that is still the cache's generation.
    pub(super) fn put(&mut self, version: Generation, hash: String, token: &Token) {
        if self.version != Some(version) {
            return;
        }
        if self.live.len() >= CAPACITY {
            self.live.clear();
        }
        self.live.insert(hash, token.clone());
    }
}
