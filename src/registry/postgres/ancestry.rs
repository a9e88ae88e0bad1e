//! Ancestry and revocation: recording which release was built from which, and revoking or
//! restoring a release together with its descendants.

use super::super::error::Error;
use super::super::model::*;
use super::super::names;
use super::read::{self, column, opt};
use super::write::new_id;
use super::{Outcome, Tx};
use std::collections::BTreeSet;

pub(super) fn add_dependency(
    tx: &mut Tx<'_>,
    child_id: &str,
    parent: &ParentRef,
    now: Timestamp,
) -> Outcome<Dependency> {
    names::check_parent(parent)?;
    let child_complete: Option<Option<i64>> = opt(
        tx,
        "SELECT completed_at FROM releases WHERE id = $1",
        &[&child_id],
    )?;
    let Some(child_complete) = child_complete else {
        return Err(Error::not_found(format!("release with ID `{child_id}`")).into());
    };
    let (parent_id, _) = read::resolve(tx, &parent.bucket, &parent.product, &parent.at, now)?;
    let child_key = read::key(tx, child_id)?;
    let parent_key = read::key(tx, &parent_id)?;
    let channel_id = match &parent.at {
        ReleaseRef::Channel(c) => {
            let pid = read::product_id(tx, &parent.bucket, &parent.product)?;
            Some(read::channel_id(
                tx,
                &pid,
                &parent.bucket,
                &parent.product,
                c,
            )?)
        }
        ReleaseRef::Release(_) => None,
    };
    let exists = tx
        .query_opt(
            "SELECT 1 FROM dependencies WHERE child_id = $1 AND parent_id = $2",
            &[&child_id, &parent_id],
        )?
        .is_some();
    if !exists {
        if child_complete.is_some() {
            return Err(Error::conflict(format!(
                "release {child_key} is complete and cannot gain a parent"
            ))
            .into());
        }
        if parent_id == child_id || descendants(tx, child_id)?.contains(&parent_id) {
            return Err(Error::invalid(format!(
                "release {parent_key} cannot be a parent of {child_key}: it descends from it"
            ))
            .into());
        }
        tx.execute(
            "INSERT INTO dependencies (id, child_id, parent_id, channel_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&new_id(), &child_id, &parent_id, &channel_id, &now.0],
        )?;
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
fn descendants(tx: &mut Tx<'_>, id: &str) -> Outcome<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let mut queue = std::collections::VecDeque::from([id.to_string()]);
    while let Some(next) = queue.pop_front() {
        let mut children: Vec<String> = column(
            tx,
            "SELECT child_id FROM dependencies WHERE parent_id = $1",
            &[&next],
        )?;
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

pub(super) fn revoke(tx: &mut Tx<'_>, r: &Revoke, now: Timestamp) -> Outcome<Vec<String>> {
    if r.at.is_some_and(|at| at > Timestamp::LAST) {
        return Err(Error::invalid(
            "a revocation time after 9999-12-31 cannot be written down (RFC 3339 has four-digit years)",
        )
        .with_hint("revoke sooner, or not at all")
        .into());
    }
    let product_id = read::product_id(tx, &r.bucket, &r.product)?;
    let id = read::release_id(tx, &product_id, &r.bucket, &r.product, &r.release)?;
    let row = tx.query_one(
        "SELECT completed_at, revoke_at, revocation_type FROM releases WHERE id = $1",
        &[&id],
    )?;
    let completed: Option<i64> = row.try_get(0)?;
    let revoke_at: Option<i64> = row.try_get(1)?;
    let kind: Option<String> = row.try_get(2)?;
    let key = read::key(tx, &id)?;
    if completed.is_none() {
        return Err(Error::conflict(format!(
            "release {key} is not complete; only a complete release can be revoked"
        ))
        .into());
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
        ))
        .into());
    }
    let at = r.at.unwrap_or(now);
    let set = "UPDATE releases SET revoke_at = $2, revocation_message = $3, revocation_author = $4,
                   revocation_type = $5, revocation_inherited_from = $6 WHERE id = $1";
    tx.execute(
        set,
        &[
            &id,
            &at.0,
            &r.message,
            &r.author,
            &"MANUAL",
            &Option::<String>::None,
        ],
    )?;
    let mut revoked = vec![key];
    if !r.skip_descendants {
        for d in descendants(tx, &id)? {
            let already: Option<i64> =
                read::one(tx, "SELECT revoke_at FROM releases WHERE id = $1", &[&d])?;
            if already.is_some() {
                continue;
            }
            tx.execute(
                set,
                &[&d, &at.0, &r.message, &r.author, &"INHERITED", &Some(&id)],
            )?;
            revoked.push(read::key(tx, &d)?);
        }
    }
    Ok(revoked)
}

pub(super) fn restore(
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    release: &str,
) -> Outcome<Vec<String>> {
    let product_id = read::product_id(tx, bucket, product)?;
    let id = read::release_id(tx, &product_id, bucket, product, release)?;
    let row = tx.query_one(
        "SELECT revoke_at, revocation_inherited_from FROM releases WHERE id = $1",
        &[&id],
    )?;
    let revoke_at: Option<i64> = row.try_get(0)?;
    let from: Option<String> = row.try_get(1)?;
    let key = read::key(tx, &id)?;
    if revoke_at.is_none() {
        return Err(Error::conflict(format!("release {key} is not revoked")).into());
    }
    if let Some(from) = from {
        let origin = read::key(tx, &from)?;
        return Err(Error::conflict(format!(
            "release {key} inherited its revocation from {origin}"
        ))
        .with_hint(format!("restore {origin} instead"))
        .into());
    }
    let clear = "UPDATE releases SET revoke_at = NULL, revocation_message = NULL,
                     revocation_author = NULL, revocation_type = NULL,
                     revocation_inherited_from = NULL WHERE id = $1";
    tx.execute(clear, &[&id])?;
    let mut restored = vec![key];
    let inherited: Vec<String> = column(
        tx,
        "SELECT id FROM releases WHERE revocation_inherited_from = $1",
        &[&id],
    )?;
    let mut keys = Vec::new();
    for d in inherited {
        tx.execute(clear, &[&d])?;
        keys.push(read::key(tx, &d)?);
    }
    keys.sort();
    restored.extend(keys);
    Ok(restored)
}
