//! Tokens and the audit log in the SQLite store.

use super::super::auth::{self, AuditEntry, CreatedToken, NewToken, Scope, Token, Tokens};
use super::super::error::{Error, Result};
use super::super::model::Timestamp;
use super::super::names;
use super::write::new_id;
use super::SqliteStore;
use rusqlite::{params, OptionalExtension, Row};
use std::time::Duration;

fn token_row(r: &Row<'_>) -> rusqlite::Result<Token> {
    let scope: String = r.get(1)?;
    Ok(Token {
        id: r.get(0)?,
        scope: Scope::parse(&scope).unwrap_or(Scope::Read),
        bucket: r.get(2)?,
        description: r.get(3)?,
        created_at: Timestamp(r.get(4)?),
        expires_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        revoked_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

const COLUMNS: &str = "id, scope, bucket, description, created_at, expires_at, revoked_at";

impl Tokens for SqliteStore {
    fn create_token(&self, new: &NewToken) -> Result<CreatedToken> {
        let scope = new.scope.ok_or_else(|| {
            Error::invalid("a token needs a scope").with_hint("read, write or admin")
        })?;
        if let Some(b) = &new.bucket {
            names::bucket(b)?;
        }
        let secret = auth::new_secret();
        let hash = auth::hash(&secret);
        self.write(|tx, now| {
            let id = new_id();
            let expires = new.expires_in.map(|s| now.plus(Duration::from_secs(s)).0);
            tx.prepare_cached(
                "INSERT INTO tokens (id, hash, scope, bucket, description, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                hash,
                scope.as_str(),
                new.bucket,
                new.description,
                now.0,
                expires
            ])?;
            let token = tx
                .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"))?
                .query_row([&id], token_row)?;
            Ok(CreatedToken {
                token,
                secret: secret.clone(),
            })
        })
    }

    fn tokens(&self) -> Result<Vec<Token>> {
        self.read(|tx, _| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM tokens ORDER BY created_at, id"
                ))?
                .query_map([], token_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn revoke_token(&self, id: &str) -> Result<Token> {
        self.write(|tx, now| {
            let changed = tx
                .prepare_cached(
                    "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                )?
                .execute(params![id, now.0])?;
            if changed == 0 {
                return Err(Error::not_found(format!("token `{id}`"))
                    .with_hint("`kiln registry token list` lists the tokens"));
            }
            Ok(tx
                .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"))?
                .query_row([id], token_row)?)
        })
    }

    fn token_at_hand(&self, secret: &str) -> Option<Token> {
        let version = self.generation_at_hand()?;
        let hash = auth::hash(secret);
        self.caches().tokens.get(&hash, version, Timestamp::now())
    }

    fn authenticate(&self, secret: &str) -> Result<Option<Token>> {
        let hash = auth::hash(secret);
        let now = Timestamp::now();
        let conn = self.lock();
        let version = self.generation(&conn)?;
        if let Some(v) = version {
            if let Some(hit) = self.caches().tokens.get(&hash, v, now) {
                return Ok(Some(hit));
            }
        }
        let token = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"))?
            .query_row([&hash], token_row)
            .optional()?
            .filter(|t| t.is_live(now));
        if let (Some(t), Some(v)) = (&token, version) {
            self.caches().tokens.put(v, hash, t);
        }
        Ok(token)
    }

    fn audit(&self, entry: &AuditEntry) -> Result<()> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "INSERT INTO audit (at, token_id, operation, target, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                entry.at.0,
                entry.token_id,
                entry.operation,
                entry.target,
                entry.outcome
            ])?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|tx, _| {
            let mut out: Vec<AuditEntry> = tx
                .prepare_cached(
                    "SELECT at, token_id, operation, target, outcome FROM audit ORDER BY seq DESC LIMIT ?1",
                )?
                .query_map([limit as i64], |r| {
                    Ok(AuditEntry {
                        at: Timestamp(r.get(0)?),
                        token_id: r.get(1)?,
                        operation: r.get(2)?,
                        target: r.get(3)?,
                        outcome: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            out.reverse();
            Ok(out)
        })
    }
}
