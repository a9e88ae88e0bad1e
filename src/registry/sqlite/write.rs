//! Writes. Each function runs inside the caller's `BEGIN IMMEDIATE` transaction and returns an
//! error before anything is committed when the request cannot be honoured whole.

use super::super::error::{Error, Result};
use super::super::model::*;
use super::super::names;
use super::read;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::time::Duration;

/// Who kiln says made an assignment it made itself.
const KILN: &str = "kiln";

pub(super) fn new_id() -> String {
    ulid::Ulid::generate().to_string()
}

pub(super) fn ensure_product(
    conn: &Connection,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Result<String> {
    names::bucket(bucket)?;
    names::product(product)?;
    let bucket_id: String = match conn
        .prepare_cached("SELECT id FROM buckets WHERE name = ?1")?
        .query_row([bucket], |r| r.get(0))
        .optional()?
    {
        Some(id) => id,
        None => {
            let id = new_id();
            conn.prepare_cached("INSERT INTO buckets (id, name, created_at) VALUES (?1, ?2, ?3)")?
                .execute(params![id, bucket, now.0])?;
            id
        }
    };
    if let Some(id) = conn
        .prepare_cached("SELECT id FROM products WHERE bucket_id = ?1 AND name = ?2")?
        .query_row([&bucket_id, product], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    let id = new_id();
    conn.prepare_cached(
        "INSERT INTO products (id, bucket_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, bucket_id, product, now.0])?;
    ensure_channel(conn, &id, LATEST, true, now)?;
    Ok(id)
}

pub(super) fn ensure_channel(
    conn: &Connection,
    product_id: &str,
    name: &str,
    managed: bool,
    now: Timestamp,
) -> Result<String> {
    if let Some(id) = conn
        .prepare_cached("SELECT id FROM channels WHERE product_id = ?1 AND name = ?2")?
        .query_row([product_id, name], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    let id = new_id();
    conn.prepare_cached(
        "INSERT INTO channels (id, product_id, name, managed, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, product_id, name, managed, now.0])?;
    Ok(id)
}

fn assign(
    conn: &Connection,
    channel_id: &str,
    release_id: &str,
    author: &str,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    conn.prepare_cached(
        "INSERT INTO channel_assignments (id, channel_id, release_id, assigned_at, author)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, channel_id, release_id, now.0, author])?;
    Ok(id)
}

pub(super) fn delete_bucket(conn: &Connection, bucket: &str) -> Result<()> {
    let id = read::bucket_id(conn, bucket)?;
    let products: i64 = conn
        .prepare_cached("SELECT count(*) FROM products WHERE bucket_id = ?1")?
        .query_row([&id], |r| r.get(0))?;
    if products > 0 {
        return Err(Error::conflict(format!(
            "bucket `{bucket}` still holds {products} product(s)"
        ))
        .with_hint(format!(
            "delete them first: `kiln registry product list -bucket {bucket}` lists them"
        )));
    }
    conn.execute("DELETE FROM buckets WHERE id = ?1", [&id])?;
    Ok(())
}

pub(super) fn delete_product(conn: &Connection, bucket: &str, product: &str) -> Result<()> {
    let id = read::product_id(conn, bucket, product)?;
    let outside: Option<(String, String)> = conn
        .query_row(
            "SELECT d.child_id, d.parent_id FROM dependencies d
             JOIN releases p ON p.id = d.parent_id JOIN releases c ON c.id = d.child_id
             WHERE p.product_id = ?1 AND c.product_id != ?1 ORDER BY d.child_id LIMIT 1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((child, parent)) = outside {
        return Err(Error::conflict(format!(
            "release {} was built from {}, so {bucket}/{product} cannot be deleted",
            read::key(conn, &child)?,
            read::key(conn, &parent)?
        )));
    }
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS doomed (id TEXT PRIMARY KEY); DELETE FROM temp.doomed;",
    )?;
    conn.execute(
        "INSERT INTO temp.doomed SELECT id FROM releases WHERE product_id = ?1",
        [&id],
    )?;
    for sql in [
        "DELETE FROM dependencies WHERE child_id IN temp.doomed OR parent_id IN temp.doomed",
        "DELETE FROM channel_assignments WHERE release_id IN temp.doomed",
        "DELETE FROM images WHERE build_id IN (SELECT id FROM builds WHERE release_id IN temp.doomed)",
        "DELETE FROM sboms WHERE build_id IN (SELECT id FROM builds WHERE release_id IN temp.doomed)",
        "DELETE FROM builds WHERE release_id IN temp.doomed",
        "DELETE FROM release_channels WHERE release_id IN temp.doomed",
        "UPDATE releases SET revocation_inherited_from = NULL WHERE revocation_inherited_from IN temp.doomed",
        "DELETE FROM releases WHERE id IN temp.doomed",
        "DELETE FROM temp.doomed",
    ] {
        conn.execute(sql, [])?;
    }
    conn.execute("DELETE FROM channels WHERE product_id = ?1", [&id])?;
    conn.execute("DELETE FROM products WHERE id = ?1", [&id])?;
    Ok(())
}

/// The release row, or a new RUNNING one.
fn ensure_release(
    conn: &Connection,
    product_id: &str,
    name: &str,
    template_type: Option<&str>,
    now: Timestamp,
) -> Result<(String, bool)> {
    if let Some((id, completed)) = conn
        .prepare_cached(
            "SELECT id, completed_at FROM releases WHERE product_id = ?1 AND name = ?2",
        )?
        .query_row([product_id, name], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .optional()?
    {
        return Ok((id, completed.is_some()));
    }
    let id = new_id();
    conn.prepare_cached(
        "INSERT INTO releases (id, product_id, name, created_at, template_type)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, product_id, name, now.0, template_type])?;
    Ok((id, false))
}

fn immutable(bucket: &str, product: &str, release: &str, why: String) -> Error {
    Error::conflict(format!(
        "release `{release}` of {bucket}/{product} is complete and cannot change: {why}"
    ))
    .with_hint("publish into a new release name (-release), or revoke this one")
}

/// A build's stored images, region → external ID.
fn stored_images(conn: &Connection, build_id: &str) -> Result<BTreeMap<String, String>> {
    Ok(conn
        .prepare_cached("SELECT region, external_id FROM images WHERE build_id = ?1")?
        .query_map([build_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

struct BuildRow {
    id: String,
    provider: Option<String>,
    status: BuildStatus,
}

fn build_by_component(
    conn: &Connection,
    release_id: &str,
    component: &str,
) -> Result<Option<BuildRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, provider, status FROM builds WHERE release_id = ?1 AND component = ?2",
        )?
        .query_row([release_id, component], |r| {
            Ok(BuildRow {
                id: r.get(0)?,
                provider: r.get(1)?,
                status: BuildStatus::parse(&r.get::<_, String>(2)?).unwrap_or(BuildStatus::Unset),
            })
        })
        .optional()?)
}

fn insert_build(
    conn: &Connection,
    release_id: &str,
    component: &str,
    now: Timestamp,
) -> Result<String> {
    let id = new_id();
    conn.prepare_cached(
        "INSERT INTO builds (id, release_id, component, status, created_at) VALUES (?1, ?2, ?3, 'UNSET', ?4)",
    )?
    .execute(params![id, release_id, component, now.0])?;
    Ok(id)
}

fn insert_images(
    conn: &Connection,
    build_id: &str,
    images: &[NewImage],
    now: Timestamp,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO images (id, build_id, region, external_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for i in images {
        stmt.execute(params![new_id(), build_id, i.region, i.external_id, now.0])?;
    }
    Ok(())
}

pub(super) fn publish(conn: &Connection, p: &Publish, now: Timestamp) -> Result<Completion> {
    let product_id = ensure_product(conn, &p.bucket, &p.product, now)?;
    let (release_id, complete) = ensure_release(conn, &product_id, &p.release, None, now)?;
    if complete {
        return republish(conn, p, &release_id);
    }
    for c in &p.expect {
        if build_by_component(conn, &release_id, c)?.is_none() {
            insert_build(conn, &release_id, c, now)?;
        }
    }
    for c in &p.channels {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO release_channels (release_id, channel) VALUES (?1, ?2)",
        )?
        .execute([&release_id, c])?;
    }
    for b in &p.builds {
        let row = match build_by_component(conn, &release_id, &b.component)? {
            Some(row) => row,
            None => BuildRow {
                id: insert_build(conn, &release_id, &b.component, now)?,
                provider: None,
                status: BuildStatus::Unset,
            },
        };
        if let Some(stored) = row.provider.as_ref().filter(|s| **s != b.provider) {
            return Err(Error::conflict(format!(
                "component `{}` of release `{}` is a {stored} build, not {}",
                b.component, p.release, b.provider
            )));
        }
        if row.status == BuildStatus::Done {
            // A DONE build of a release still waiting for others may gain regions, never
            // change one.
            let stored = stored_images(conn, &row.id)?;
            let mut new = Vec::new();
            for i in &b.images {
                match stored.get(&i.region) {
                    Some(id) if *id == i.external_id => {}
                    Some(id) => {
                        return Err(Error::conflict(format!(
                            "component `{}` of release `{}` already has {id} in {}, not {}",
                            b.component, p.release, i.region, i.external_id
                        ))
                        .with_hint("publish into a new release name (-release)"))
                    }
                    None => new.push(i.clone()),
                }
            }
            insert_images(conn, &row.id, &new, now)?;
            continue;
        }
        conn.prepare_cached("DELETE FROM images WHERE build_id = ?1")?
            .execute([&row.id])?;
        insert_images(conn, &row.id, &b.images, now)?;
        let labels = serde_json::to_string(&b.labels).unwrap_or_else(|_| "{}".into());
        conn.prepare_cached(
            "UPDATE builds SET provider = ?2, status = 'DONE', labels = ?3, source_image = ?4,
                 finished_at = ?5, message = NULL WHERE id = ?1",
        )?
        .execute(params![row.id, b.provider, labels, b.source_image, now.0])?;
    }
    for parent in &p.parents {
        super::ancestry::add_dependency(conn, &release_id, parent, now)?;
    }
    complete_if_done(conn, &product_id, &release_id, now)
}

/// Publishing into a complete release: a no-op when everything is already there exactly, else
/// a conflict naming the first difference.
fn republish(conn: &Connection, p: &Publish, release_id: &str) -> Result<Completion> {
    let refuse = |why: String| Err(immutable(&p.bucket, &p.product, &p.release, why));
    for c in &p.expect {
        if build_by_component(conn, release_id, c)?.is_none() {
            return refuse(format!("it has no build `{c}`"));
        }
    }
    for b in &p.builds {
        let Some(row) = build_by_component(conn, release_id, &b.component)? else {
            return refuse(format!("it has no build `{}`", b.component));
        };
        if row.provider.as_deref() != Some(b.provider.as_str()) {
            return refuse(format!(
                "its build `{}` is not a {} build",
                b.component, b.provider
            ));
        }
        let stored = stored_images(conn, &row.id)?;
        for i in &b.images {
            match stored.get(&i.region) {
                Some(id) if *id == i.external_id => {}
                Some(id) => {
                    return refuse(format!(
                        "its build `{}` has {id} in {}, not {}",
                        b.component, i.region, i.external_id
                    ))
                }
                None => {
                    return refuse(format!(
                        "its build `{}` has no image in {}",
                        b.component, i.region
                    ))
                }
            }
        }
    }
    Ok(Completion::Unchanged {
        release_id: release_id.to_string(),
    })
}

/// Complete the release when every build is DONE: set its version and completion time once,
/// move `latest`, and assign the channels it asked for.
fn complete_if_done(
    conn: &Connection,
    product_id: &str,
    release_id: &str,
    now: Timestamp,
) -> Result<Completion> {
    let waiting: Vec<String> = conn
        .prepare_cached(
            "SELECT component FROM builds WHERE release_id = ?1 AND status != 'DONE' ORDER BY component",
        )?
        .query_map([release_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !waiting.is_empty() {
        return Ok(Completion::Pending {
            release_id: release_id.to_string(),
            waiting_for: waiting,
        });
    }
    let version: i64 = conn
        .prepare_cached(
            "UPDATE products SET completed = completed + 1 WHERE id = ?1 RETURNING completed",
        )?
        .query_row([product_id], |r| r.get(0))?;
    let changed = conn
        .prepare_cached(
            "UPDATE releases SET completed_at = ?2, version = ?3 WHERE id = ?1 AND completed_at IS NULL",
        )?
        .execute(params![release_id, now.0, version])?;
    if changed != 1 {
        return Err(Error::conflict(
            "the release completed in another transaction",
        ));
    }
    let latest = ensure_channel(conn, product_id, LATEST, true, now)?;
    assign(conn, &latest, release_id, KILN, now)?;
    let channels: Vec<String> = conn
        .prepare_cached(
            "SELECT channel FROM release_channels WHERE release_id = ?1 ORDER BY channel",
        )?
        .query_map([release_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for c in channels {
        let cid = ensure_channel(conn, product_id, &c, false, now)?;
        assign(conn, &cid, release_id, KILN, now)?;
    }
    Ok(Completion::Completed {
        release_id: release_id.to_string(),
        version: version as u64,
    })
}

pub(super) fn begin_release(
    conn: &Connection,
    b: &BeginRelease,
    now: Timestamp,
) -> Result<ReleaseStart> {
    names::release(&b.release)?;
    if let Some(t) = &b.template_type {
        names::template_type(t)?;
    }
    for c in &b.components {
        names::component(c)?;
    }
    for c in &b.channels {
        names::check_assignable(c)?;
    }
    let product_id = ensure_product(conn, &b.bucket, &b.product, now)?;
    let (release_id, complete) = ensure_release(
        conn,
        &product_id,
        &b.release,
        b.template_type.as_deref(),
        now,
    )?;
    if complete {
        for c in &b.components {
            if build_by_component(conn, &release_id, c)?.is_none() {
                return Err(immutable(
                    &b.bucket,
                    &b.product,
                    &b.release,
                    format!("it has no build `{c}`"),
                ));
            }
        }
    } else {
        for c in &b.components {
            if build_by_component(conn, &release_id, c)?.is_none() {
                insert_build(conn, &release_id, c, now)?;
            }
        }
        for c in &b.channels {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO release_channels (release_id, channel) VALUES (?1, ?2)",
            )?
            .execute([&release_id, c])?;
        }
    }
    let release = read::release(conn, &release_id, now)?;
    let done = release
        .builds
        .iter()
        .filter(|b| b.status == BuildStatus::Done)
        .map(|b| b.component.clone())
        .collect();
    Ok(ReleaseStart { release, done })
}

struct BuildContext {
    component: String,
    status: BuildStatus,
    release_id: String,
    product_id: String,
    complete: bool,
}

fn build_context(conn: &Connection, build_id: &str) -> Result<BuildContext> {
    conn.prepare_cached(
        "SELECT b.component, b.status, r.id, r.product_id, r.completed_at FROM builds b
         JOIN releases r ON r.id = b.release_id WHERE b.id = ?1",
    )?
    .query_row([build_id], |r| {
        Ok(BuildContext {
            component: r.get(0)?,
            status: BuildStatus::parse(&r.get::<_, String>(1)?).unwrap_or(BuildStatus::Unset),
            release_id: r.get(2)?,
            product_id: r.get(3)?,
            complete: r.get::<_, Option<i64>>(4)?.is_some(),
        })
    })
    .optional()?
    .ok_or_else(|| Error::not_found(format!("build with ID `{build_id}`")))
}

pub(super) fn start_build(conn: &Connection, s: &BuildStart, now: Timestamp) -> Result<Build> {
    names::component(&s.component)?;
    if let Some(p) = &s.provider {
        names::provider(p)?;
    }
    if let Some(u) = &s.run_uuid {
        names::run_uuid(u)?;
    }
    if let Some(i) = &s.source_image {
        names::external_id(i)?;
    }
    let (completed,): (Option<i64>,) = conn
        .prepare_cached("SELECT completed_at FROM releases WHERE id = ?1")?
        .query_row([&s.release_id], |r| Ok((r.get(0)?,)))
        .optional()?
        .ok_or_else(|| Error::not_found(format!("release with ID `{}`", s.release_id)))?;
    let key = read::key(conn, &s.release_id)?;
    let id = match build_by_component(conn, &s.release_id, &s.component)? {
        Some(row) if row.status == BuildStatus::Done => {
            return Err(Error::conflict(format!(
                "build `{}` of {key} is already DONE",
                s.component
            ))
            .with_hint("a rerun skips the builds that are DONE"))
        }
        Some(row) => row.id,
        None if completed.is_some() => {
            return Err(Error::conflict(format!(
                "release {key} is complete and cannot change: it has no build `{}`",
                s.component
            ))
            .with_hint("publish into a new release name"))
        }
        None => insert_build(conn, &s.release_id, &s.component, now)?,
    };
    let labels = serde_json::to_string(&s.labels).unwrap_or_else(|_| "{}".into());
    let metadata = s.metadata.as_ref().map(|m| m.to_string());
    conn.prepare_cached(
        "UPDATE builds SET provider = coalesce(?2, provider), status = 'RUNNING', labels = ?3,
             source_image = ?4, heartbeat_at = ?5, finished_at = NULL, message = NULL,
             run_uuid = coalesce(?6, run_uuid), metadata = coalesce(?7, metadata)
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        s.provider,
        labels,
        s.source_image,
        now.0,
        s.run_uuid,
        metadata
    ])?;
    Ok(conn
        .prepare_cached(
            "SELECT id, component, provider, status, labels, source_image, created_at,
                    heartbeat_at, finished_at, message, run_uuid, metadata
             FROM builds WHERE id = ?1",
        )?
        .query_row([&id], read::build_row)?)
}

pub(super) fn heartbeat(conn: &Connection, build_id: &str, now: Timestamp) -> Result<()> {
    let ctx = build_context(conn, build_id)?;
    if ctx.status != BuildStatus::Running {
        return Err(Error::conflict(format!(
            "build `{}` is {}, not RUNNING",
            ctx.component, ctx.status
        )));
    }
    conn.prepare_cached("UPDATE builds SET heartbeat_at = ?2 WHERE id = ?1")?
        .execute(params![build_id, now.0])?;
    Ok(())
}

pub(super) fn finish_build(
    conn: &Connection,
    build_id: &str,
    images: &[NewImage],
    now: Timestamp,
) -> Result<Completion> {
    names::check_images(images)?;
    let ctx = build_context(conn, build_id)?;
    if ctx.status == BuildStatus::Done {
        let stored = stored_images(conn, build_id)?;
        let given: BTreeMap<String, String> = images
            .iter()
            .map(|i| (i.region.clone(), i.external_id.clone()))
            .collect();
        if stored == given {
            return Ok(Completion::Unchanged {
                release_id: ctx.release_id,
            });
        }
        return Err(Error::conflict(format!(
            "build `{}` of {} is already DONE with other images",
            ctx.component,
            read::key(conn, &ctx.release_id)?
        ))
        .with_hint("publish into a new release name"));
    }
    conn.prepare_cached("DELETE FROM images WHERE build_id = ?1")?
        .execute([build_id])?;
    insert_images(conn, build_id, images, now)?;
    conn.prepare_cached(
        "UPDATE builds SET status = 'DONE', finished_at = ?2, heartbeat_at = ?2, message = NULL WHERE id = ?1",
    )?
    .execute(params![build_id, now.0])?;
    complete_if_done(conn, &ctx.product_id, &ctx.release_id, now)
}

pub(super) fn fail_build(
    conn: &Connection,
    build_id: &str,
    end: BuildEnd,
    message: &str,
    now: Timestamp,
) -> Result<()> {
    let ctx = build_context(conn, build_id)?;
    if ctx.status == BuildStatus::Done || ctx.complete {
        return Err(Error::conflict(format!(
            "build `{}` of {} is already DONE",
            ctx.component,
            read::key(conn, &ctx.release_id)?
        )));
    }
    conn.prepare_cached(
        "UPDATE builds SET status = ?2, message = ?3, finished_at = ?4 WHERE id = ?1",
    )?
    .execute(params![build_id, end.status().as_str(), message, now.0])?;
    Ok(())
}

pub(super) fn expire_stale_builds(
    conn: &Connection,
    max_age: Duration,
    now: Timestamp,
) -> Result<Vec<String>> {
    let cutoff = now.minus(max_age);
    let message = format!(
        "no heartbeat for {}s: the process building it stopped",
        max_age.as_secs()
    );
    let mut ids: Vec<String> = conn
        .prepare_cached(
            "UPDATE builds SET status = 'FAILED', message = ?2, finished_at = ?3
             WHERE status = 'RUNNING' AND (heartbeat_at IS NULL OR heartbeat_at < ?1) RETURNING id",
        )?
        .query_map(params![cutoff.0, message, now.0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.sort();
    Ok(ids)
}

pub(super) fn assign_channel(
    conn: &Connection,
    a: &AssignChannel,
    now: Timestamp,
) -> Result<ChannelAssignment> {
    names::check_assignable(&a.channel)?;
    let (release_id, _) = read::resolve(
        conn,
        &a.bucket,
        &a.product,
        &ReleaseRef::Release(a.release.clone()),
        now,
    )?;
    let product_id = read::product_id(conn, &a.bucket, &a.product)?;
    let channel_id = ensure_channel(conn, &product_id, &a.channel, false, now)?;
    let id = assign(conn, &channel_id, &release_id, &a.author, now)?;
    Ok(ChannelAssignment {
        id,
        channel: a.channel.clone(),
        release: a.release.clone(),
        release_id,
        assigned_at: now,
        author: a.author.clone(),
        revoked: false,
    })
}
