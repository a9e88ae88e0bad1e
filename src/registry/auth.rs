//! Who may do what on a registry server: bearer tokens with a scope (read < write < admin),
//! optionally limited to one bucket, and the audit log of every write.
//!
//! A token is shown once, when it is created; the store keeps only its SHA-256.

use super::error::{Error, Result};
use super::model::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do. Each scope includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Look images, releases and channels up.
    Read,
    /// Publish: begin releases, start, finish and fail builds.
    Write,
    /// Move channels, revoke and restore, delete, manage tokens.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Scope> {
        match text {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            other => Err(Error::invalid(format!(
                "unknown scope `{other}`: a scope is read, write or admin"
            ))),
        }
    }
}

/// A token as the store knows it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// ULID; what `token revoke` and the audit log name it by.
    pub id: String,
    pub scope: Scope,
    /// The one bucket it may see, when limited.
    pub bucket: Option<String>,
    pub description: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Token {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e.0 > now.0)
    }

    /// Whether it may act on `bucket` (`None`: an operation on no one bucket, such as listing
    /// buckets or managing tokens, which a bucket-limited token may not do unless reading).
    pub fn allows(&self, needed: Scope, bucket: Option<&str>) -> bool {
        if self.scope < needed {
            return false;
        }
        match (&self.bucket, bucket) {
            (None, _) => true,
            (Some(mine), Some(b)) => mine == b,
            (Some(_), None) => false,
        }
    }
}

/// Ask for a new token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewToken {
    pub scope: Option<Scope>,
    pub bucket: Option<String>,
    pub description: String,
    /// Seconds from now; none: it never expires.
    pub expires_in: Option<u64>,
}

/// A created token, with its secret: the only time the secret is seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: Token,
    pub secret: String,
}

/// One audited write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    /// The token that made it (`None`: on the server's host, through its database).
    pub token_id: Option<String>,
    /// `publish`, `channel.assign`, `release.revoke`, `token.create`...
    pub operation: String,
    /// What it touched: `bucket/product/release`, a token ID...
    pub target: String,
    /// `ok`, or the error's code.
    pub outcome: String,
}

/// Where tokens and the audit log are kept.
pub trait Tokens: Send + Sync {
    /// Create a token; the secret is in the answer and nowhere else.
    fn create_token(&self, new: &NewToken) -> Result<CreatedToken>;
    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<Token>>;
    /// Revoke a token at once.
    fn revoke_token(&self, id: &str) -> Result<Token>;
    /// The live (unexpired, unrevoked) token with this secret.
    fn authenticate(&self, secret: &str) -> Result<Option<Token>>;
    /// [`Tokens::authenticate`]'s live token when it is at hand without waiting; `None` when it
    /// is not (which says nothing about the token).
    fn token_at_hand(&self, _secret: &str) -> Option<Token> {
        None
    }
    /// Record a write.
    fn audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The audit log, newest last; at most `limit` entries, the newest ones.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>>;
}

/// A new secret: `kiln_` and 64 hex digits from the operating system's random source.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    bytes[..16].copy_from_slice(a.as_bytes());
    bytes[16..].copy_from_slice(b.as_bytes());
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("kiln_{hex}")
}

/// What the store keeps of a secret.
pub fn hash(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(2 * digest.len());
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scope: Scope, bucket: Option<&str>) -> Token {
        Token {
            id: "t".into(),
            scope,
            bucket: bucket.map(str::to_string),
            description: String::new(),
            created_at: Timestamp(0),
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn scopes_include_the_ones_below_and_buckets_limit() {
        assert!(token(Scope::Admin, None).allows(Scope::Read, Some("a")));
        assert!(!token(Scope::Read, None).allows(Scope::Write, Some("a")));
        assert!(token(Scope::Write, Some("a")).allows(Scope::Write, Some("a")));
        assert!(!token(Scope::Write, Some("a")).allows(Scope::Write, Some("b")));
        assert!(!token(Scope::Admin, Some("a")).allows(Scope::Admin, None));
    }

    #[test]
    fn secrets_are_long_random_and_only_their_hash_is_kept() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 5 + 64);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(&a[5..]));
    }
}
