//! Ancestry and revocation: recording which release was built from which, and revoking or
//! restoring a release together with its descendants.

use super::super::error::{Error, Result};
use super::super::model::*;
use super::super::names;
use super::read;
use super::write::new_id;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;

pub(super) fn add_dependency(
    conn: &Connection,
    child_id: &str,
    parent: &ParentRef,
    now: Timestamp,
) -> Result<Dependency> {
    names::check_parent(parent)?;
    let child_complete: Option<Option<i64>> = conn
        .prepare_cached("SELECT completed_at FROM releases WHERE id = ?1")?
        .query_row([child_id], |r| r.get(0))
        .optional()?;
    let Some(child_complete) = child_complete else {
        return Err(Error::not_found(format!("release with ID `{child_id}`")));
    };
    let (parent_id, _) = read::resolve(conn, &parent.bucket, &parent.product, &parent.at, now)?;
    let child_key = read::key(conn, child_id)?;
    let parent_key = read::key(conn, &parent_id)?;
    let channel_id = match &parent.at {
        ReleaseRef::Channel(c) => {
            let pid = read::product_id(conn, &parent.bucket, &parent.product)?;
            Some(read::channel_id(
                conn,
                &pid,
                &parent.bucket,
                &parent.product,
                c,
            )?)
        }
        ReleaseRef::Release(_) => None,
    };
    let exists: bool = conn
        .prepare_cached("SELECT 1 FROM dependencies WHERE child_id = ?1 AND parent_id = ?2")?
        .query_row([child_id, &parent_id], |_| Ok(true))
        .optional()?
        .is_some();
    if !exists {
        if child_complete.is_some() {
            return Err(Error::conflict(format!(
                "release {child_key} is complete and cannot gain a parent"
            )));
        }
        if parent_id == child_id || descendants(conn, child_id)?.contains(&parent_id) {
            return Err(Error::invalid(format!(
                "release {parent_key} cannot be a parent of {child_key}: it descends from it"
            )));
        }
        conn.prepare_cached(
            "INSERT INTO dependencies (id, child_id, parent_id, channel_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![new_id(), child_id, parent_id, channel_id, now.0])?;
    }
    Ok(Dependency {
        parent: parent_key,
        child: child_key,
        channel: match &parent.at {
            ReleaseRef::Channel(c) => Some(c.clone()),
            ReleaseRef::Release(_) => None,
        },
        status: if channel_id.is_some() {
            AncestryStatus::UpToDate
        } else {
            AncestryStatus::Undetermined
        },
        created_at: now,
    })
}

/// Every release built (transitively) from `id`, in breadth-first order, each once.
fn descendants(conn: &Connection, id: &str) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let mut queue = std::collections::VecDeque::from([id.to_string()]);
    while let Some(next) = queue.pop_front() {
        let mut children: Vec<String> = conn
            .prepare_cached("SELECT child_id FROM dependencies WHERE parent_id = ?1")?
            .query_map([&next], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        children.sort();
        for c in children {
            if seen.insert(c.clone()) {
                order.push(c.clone());
                queue.push_back(c);
            }
        }
    }
    Ok(order)
}

pub(super) fn revoke(conn: &Connection, r: &Revoke, now: Timestamp) -> Result<Vec<String>> {
    if r.at.is_some_and(|at| at > Timestamp::LAST) {
        return Err(Error::invalid(
            "a revocation time after 9999-12-31 cannot be written down (RFC 3339 has four-digit years)",
        )
        .with_hint("revoke sooner, or not at all"));
    }
    let product_id = read::product_id(conn, &r.bucket, &r.product)?;
    let id = read::release_id(conn, &product_id, &r.bucket, &r.product, &r.release)?;
    let (completed, revoke_at, kind): (Option<i64>, Option<i64>, Option<String>) = conn
        .prepare_cached(
            "SELECT completed_at, revoke_at, revocation_type FROM releases WHERE id = ?1",
        )?
        .query_row([&id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    let key = read::key(conn, &id)?;
    if completed.is_none() {
        return Err(Error::conflict(format!(
            "release {key} is not complete; only a complete release can be revoked"
        )));
    }
    if let (Some(at), Some("MANUAL")) = (revoke_at, kind.as_deref()) {
        let when = if at <= now.0 {
            "was revoked"
        } else {
            "is to be revoked"
        };
        return Err(Error::conflict(format!(
            "release {key} {when} at {} already",
            Timestamp(at).to_seconds_string()
        ))
        .with_hint(format!(
            "restore it first: `kiln registry release restore -bucket {} -product {} -release {}`",
            r.bucket, r.product, r.release
        )));
    }
    let at = r.at.unwrap_or(now);
    let set = "UPDATE releases SET revoke_at = ?2, revocation_message = ?3, revocation_author = ?4,
                   revocation_type = ?5, revocation_inherited_from = ?6 WHERE id = ?1";
    conn.prepare_cached(set)?.execute(params![
        id,
        at.0,
        r.message,
        r.author,
        "MANUAL",
        Option::<String>::None
    ])?;
    let mut revoked = vec![key];
    if !r.skip_descendants {
        for d in descendants(conn, &id)? {
            let already: Option<i64> = conn
                .prepare_cached("SELECT revoke_at FROM releases WHERE id = ?1")?
                .query_row([&d], |row| row.get(0))?;
            if already.is_some() {
                continue;
            }
            conn.prepare_cached(set)?.execute(params![
                d,
                at.0,
                r.message,
                r.author,
                "INHERITED",
                id
            ])?;
            revoked.push(read::key(conn, &d)?);
        }
    }
    Ok(revoked)
}

pub(super) fn restore(
    conn: &Connection,
    bucket: &str,
    product: &str,
    release: &str,
) -> Result<Vec<String>> {
    let product_id = read::product_id(conn, bucket, product)?;
    let id = read::release_id(conn, &product_id, bucket, product, release)?;
    let (revoke_at, from): (Option<i64>, Option<String>) = conn
        .prepare_cached("SELECT revoke_at, revocation_inherited_from FROM releases WHERE id = ?1")?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let key = read::key(conn, &id)?;
    if revoke_at.is_none() {
        return Err(Error::conflict(format!("release {key} is not revoked")));
    }
    if let Some(from) = from {
        let origin = read::key(conn, &from)?;
        return Err(Error::conflict(format!(
            "release {key} inherited its revocation from {origin}"
        ))
        .with_hint(format!("restore {origin} instead")));
    }
    let clear = "UPDATE releases SET revoke_at = NULL, revocation_message = NULL,
                     revocation_author = NULL, revocation_type = NULL,
                     revocation_inherited_from = NULL WHERE id = ?1";
    conn.prepare_cached(clear)?.execute([&id])?;
    let mut restored = vec![key];
    let inherited: Vec<String> = conn
        .prepare_cached("SELECT id FROM releases WHERE revocation_inherited_from = ?1")?
        .query_map([&id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut keys = Vec::new();
    for d in inherited {
        conn.prepare_cached(clear)?.execute([&d])?;
        keys.push(read::key(conn, &d)?);
    }
    keys.sort();
    restored.extend(keys);
    Ok(restored)
}
