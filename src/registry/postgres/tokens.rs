//! Tokens and the audit log in the PostgreSQL store.

use super::super::auth::{self, AuditEntry, CreatedToken, NewToken, Scope, Token, Tokens};
use super::super::error::{Error, Result};
use super::super::model::Timestamp;
use super::super::names;
use super::write::new_id;
use super::{Outcome, PostgresStore, Tx};
use postgres::Row;
use std::time::Duration;

fn token_row(r: &Row) -> Outcome<Token> {
    let scope: String = r.try_get(1)?;
    Ok(Token {
        id: r.try_get(0)?,
        scope: Scope::parse(&scope).unwrap_or(Scope::Read),
        bucket: r.try_get(2)?,
        description: r.try_get(3)?,
        created_at: Timestamp(r.try_get(4)?),
        expires_at: r.try_get::<_, Option<i64>>(5)?.map(Timestamp),
        revoked_at: r.try_get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

const COLUMNS: &str = "id, scope, bucket, description, created_at, expires_at, revoked_at";

fn token_by_id(tx: &mut Tx<'_>, id: &str) -> Outcome<Token> {
    token_row(&tx.query_one(
        &format!("SELECT {COLUMNS} FROM tokens WHERE id = $1"),
        &[&id],
    )?)
}

impl Tokens for PostgresStore {
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
            tx.execute(
                "INSERT INTO tokens (id, hash, scope, bucket, description, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &id,
                    &hash,
                    &scope.as_str(),
                    &new.bucket,
                    &new.description,
                    &now.0,
                    &expires,
                ],
            )?;
            Ok(CreatedToken {
                token: token_by_id(tx, &id)?,
                secret: secret.clone(),
            })
        })
    }

    fn tokens(&self) -> Result<Vec<Token>> {
        self.read(|tx, _| {
            tx.query(
                &format!("SELECT {COLUMNS} FROM tokens ORDER BY created_at, id"),
                &[],
            )?
            .iter()
            .map(token_row)
            .collect()
        })
    }

    fn revoke_token(&self, id: &str) -> Result<Token> {
        self.write(|tx, now| {
            let changed = tx.execute(
                "UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&id, &now.0],
            )?;
            if changed == 0 {
                return Err(Error::not_found(format!("token `{id}`"))
                    .with_hint("`kiln registry token list` lists the tokens")
                    .into());
            }
            token_by_id(tx, id)
        })
    }

    fn authenticate(&self, secret: &str) -> Result<Option<Token>> {
        let hash = auth::hash(secret);
        self.read(|tx, now| {
            let row = tx.query_opt(
                &format!("SELECT {COLUMNS} FROM tokens WHERE hash = $1"),
                &[&hash],
            )?;
            Ok(row
                .map(|r| token_row(&r))
                .transpose()?
                .filter(|t| t.is_live(now)))
        })
    }

    fn audit(&self, entry: &AuditEntry) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO audit (at, token_id, operation, target, outcome) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &entry.at.0,
                    &entry.token_id,
                    &entry.operation,
                    &entry.target,
                    &entry.outcome,
                ],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|tx, _| {
            let mut out: Vec<AuditEntry> = tx
                .query(
                    "SELECT at, token_id, operation, target, outcome FROM audit ORDER BY seq DESC LIMIT $1",
                    &[&limit],
                )?
                .iter()
                .map(|r| {
                    Ok(AuditEntry {
                        at: Timestamp(r.try_get(0)?),
                        token_id: r.try_get(1)?,
                        operation: r.try_get(2)?,
                        target: r.try_get(3)?,
                        outcome: r.try_get(4)?,
                    })
                })
                .collect::<Outcome<_>>()?;
            out.reverse();
            Ok(out)
        })
    }
}
