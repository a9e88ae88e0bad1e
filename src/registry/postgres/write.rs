//! Writes. Each function runs inside the caller's SERIALIZABLE transaction and returns an error
//! before anything is committed when the request cannot be honoured whole.

use super::super::error::Error;
use super::super::model::*;
use super::super::names;
use super::read::{self, column, one, opt};
use super::{Outcome, Tx};
use std::collections::BTreeMap;
use std::time::Duration;

/// Who kiln says made an assignment it made itself.
const KILN: &str = "kiln";

pub(super) fn new_id() -> String {
    ulid::Ulid::generate().to_string()
}

pub(super) fn ensure_product(
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Outcome<String> {
    names::bucket(bucket)?;
    names::product(product)?;
    let bucket_id: String = match opt(tx, "SELECT id FROM buckets WHERE name = $1", &[&bucket])? {
        Some(id) => id,
        None => {
            let id = new_id();
            tx.execute(
                "INSERT INTO buckets (id, name, created_at) VALUES ($1, $2, $3)",
                &[&id, &bucket, &now.0],
            )?;
            id
        }
    };
    if let Some(id) = opt(
        tx,
        "SELECT id FROM products WHERE bucket_id = $1 AND name = $2",
        &[&bucket_id, &product],
    )? {
        return Ok(id);
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO products (id, bucket_id, name, created_at) VALUES ($1, $2, $3, $4)",
        &[&id, &bucket_id, &product, &now.0],
    )?;
    ensure_channel(tx, &id, LATEST, true, now)?;
    Ok(id)
}

pub(super) fn ensure_channel(
    tx: &mut Tx<'_>,
    product_id: &str,
    name: &str,
    managed: bool,
    now: Timestamp,
) -> Outcome<String> {
    if let Some(id) = opt(
        tx,
        "SELECT id FROM channels WHERE product_id = $1 AND name = $2",
        &[&product_id, &name],
    )? {
        return Ok(id);
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO channels (id, product_id, name, managed, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&id, &product_id, &name, &managed, &now.0],
    )?;
    Ok(id)
}

fn assign(
    tx: &mut Tx<'_>,
    channel_id: &str,
    release_id: &str,
    author: &str,
    now: Timestamp,
) -> Outcome<String> {
    let id = new_id();
    tx.execute(
        "INSERT INTO channel_assignments (id, channel_id, release_id, assigned_at, author)
         VALUES ($1, $2, $3, $4, $5)",
        &[&id, &channel_id, &release_id, &now.0, &author],
    )?;
    Ok(id)
}

pub(super) fn delete_bucket(tx: &mut Tx<'_>, bucket: &str) -> Outcome<()> {
    let id = read::bucket_id(tx, bucket)?;
    let products: i64 = one(
        tx,
        "SELECT count(*) FROM products WHERE bucket_id = $1",
        &[&id],
    )?;
    if products > 0 {
        return Err(Error::conflict(format!(
            "bucket `{bucket}` still holds {products} product(s)"
        ))
        .with_hint(format!(
            "delete them first: `kiln registry product list -bucket {bucket}` lists them"
        ))
        .into());
    }
    tx.execute("DELETE FROM buckets WHERE id = $1", &[&id])?;
    Ok(())
}

pub(super) fn delete_product(tx: &mut Tx<'_>, bucket: &str, product: &str) -> Outcome<()> {
    let id = read::product_id(tx, bucket, product)?;
    let outside = tx.query_opt(
        "SELECT d.child_id, d.parent_id FROM dependencies d
         JOIN releases p ON p.id = d.parent_id JOIN releases c ON c.id = d.child_id
         WHERE p.product_id = $1 AND c.product_id != $1 ORDER BY d.child_id LIMIT 1",
        &[&id],
    )?;
    if let Some(row) = outside {
        let child: String = row.try_get(0)?;
        let parent: String = row.try_get(1)?;
        return Err(Error::conflict(format!(
            "release {} was built from {}, so {bucket}/{product} cannot be deleted",
            read::key(tx, &child)?,
            read::key(tx, &parent)?
        ))
        .into());
    }
    let doomed: Vec<String> = column(tx, "SELECT id FROM releases WHERE product_id = $1", &[&id])?;
    for sql in [
        "DELETE FROM dependencies WHERE child_id = ANY($1) OR parent_id = ANY($1)",
        "DELETE FROM channel_assignments WHERE release_id = ANY($1)",
        "DELETE FROM images WHERE build_id IN (SELECT id FROM builds WHERE release_id = ANY($1))",
        "DELETE FROM sboms WHERE build_id IN (SELECT id FROM builds WHERE release_id = ANY($1))",
        "DELETE FROM builds WHERE release_id = ANY($1)",
        "DELETE FROM release_channels WHERE release_id = ANY($1)",
        "UPDATE releases SET revocation_inherited_from = NULL WHERE revocation_inherited_from = ANY($1)",
        "DELETE FROM releases WHERE id = ANY($1)",
    ] {
        tx.execute(sql, &[&doomed])?;
    }
    tx.execute("DELETE FROM channels WHERE product_id = $1", &[&id])?;
    tx.execute("DELETE FROM products WHERE id = $1", &[&id])?;
    Ok(())
}

/// The release row, or a new RUNNING one.
fn ensure_release(
    tx: &mut Tx<'_>,
    product_id: &str,
    name: &str,
    template_type: Option<&str>,
    now: Timestamp,
) -> Outcome<(String, bool)> {
    if let Some(row) = tx.query_opt(
        "SELECT id, completed_at FROM releases WHERE product_id = $1 AND name = $2",
        &[&product_id, &name],
    )? {
        let completed: Option<i64> = row.try_get(1)?;
        return Ok((row.try_get(0)?, completed.is_some()));
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO releases (id, product_id, name, created_at, template_type)
         VALUES ($1, $2, $3, $4, $5)",
        &[&id, &product_id, &name, &now.0, &template_type],
    )?;
    Ok((id, false))
}

fn immutable(bucket: &str, product: &str, release: &str, why: String) -> Error {
    Error::conflict(format!(
        "release `{release}` of {bucket}/{product} is complete and cannot change: {why}"
    ))
    .with_hint("publish into a new release name (-release), or revoke this one")
}

/// A build's stored images, region → external ID.
fn stored_images(tx: &mut Tx<'_>, build_id: &str) -> Outcome<BTreeMap<String, String>> {
    tx.query(
        "SELECT region, external_id FROM images WHERE build_id = $1",
        &[&build_id],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

struct BuildRow {
    id: String,
    provider: Option<String>,
    status: BuildStatus,
}

fn build_by_component(
    tx: &mut Tx<'_>,
    release_id: &str,
    component: &str,
) -> Outcome<Option<BuildRow>> {
    let Some(r) = tx.query_opt(
        "SELECT id, provider, status FROM builds WHERE release_id = $1 AND component = $2",
        &[&release_id, &component],
    )?
    else {
        return Ok(None);
    };
    let status: String = r.try_get(2)?;
    Ok(Some(BuildRow {
        id: r.try_get(0)?,
        provider: r.try_get(1)?,
        status: BuildStatus::parse(&status).unwrap_or(BuildStatus::Unset),
    }))
}

fn insert_build(
    tx: &mut Tx<'_>,
    release_id: &str,
    component: &str,
    now: Timestamp,
) -> Outcome<String> {
    let id = new_id();
    tx.execute(
        "INSERT INTO builds (id, release_id, component, status, created_at) VALUES ($1, $2, $3, 'UNSET', $4)",
        &[&id, &release_id, &component, &now.0],
    )?;
    Ok(id)
}

fn insert_images(
    tx: &mut Tx<'_>,
    build_id: &str,
    images: &[NewImage],
    now: Timestamp,
) -> Outcome<()> {
    for i in images {
        tx.execute(
            "INSERT INTO images (id, build_id, region, external_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&new_id(), &build_id, &i.region, &i.external_id, &now.0],
        )?;
    }
    Ok(())
}

fn request_channels(tx: &mut Tx<'_>, release_id: &str, channels: &[String]) -> Outcome<()> {
    for c in channels {
        tx.execute(
            "INSERT INTO release_channels (release_id, channel) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&release_id, c],
        )?;
    }
    Ok(())
}

pub(super) fn publish(tx: &mut Tx<'_>, p: &Publish, now: Timestamp) -> Outcome<Completion> {
    let product_id = ensure_product(tx, &p.bucket, &p.product, now)?;
    let (release_id, complete) = ensure_release(tx, &product_id, &p.release, None, now)?;
    if complete {
        return republish(tx, p, &release_id);
    }
    for c in &p.expect {
        if build_by_component(tx, &release_id, c)?.is_none() {
            insert_build(tx, &release_id, c, now)?;
        }
    }
    request_channels(tx, &release_id, &p.channels)?;
    for b in &p.builds {
        let row = match build_by_component(tx, &release_id, &b.component)? {
            Some(row) => row,
            None => BuildRow {
                id: insert_build(tx, &release_id, &b.component, now)?,
                provider: None,
                status: BuildStatus::Unset,
            },
        };
        if let Some(stored) = row.provider.as_ref().filter(|s| **s != b.provider) {
            return Err(Error::conflict(format!(
                "component `{}` of release `{}` is a {stored} build, not {}",
                b.component, p.release, b.provider
            ))
            .into());
        }
        if row.status == BuildStatus::Done {
            // A DONE build of a release still waiting for others may gain regions, never
            // change one.
            let stored = stored_images(tx, &row.id)?;
            let mut new = Vec::new();
            for i in &b.images {
                match stored.get(&i.region) {
                    Some(id) if *id == i.external_id => {}
                    Some(id) => {
                        return Err(Error::conflict(format!(
                            "component `{}` of release `{}` already has {id} in {}, not {}",
                            b.component, p.release, i.region, i.external_id
                        ))
                        .with_hint("publish into a new release name (-release)")
                        .into())
                    }
                    None => new.push(i.clone()),
                }
            }
            insert_images(tx, &row.id, &new, now)?;
            continue;
        }
        tx.execute("DELETE FROM images WHERE build_id = $1", &[&row.id])?;
        insert_images(tx, &row.id, &b.images, now)?;
        let labels = serde_json::to_string(&b.labels).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "UPDATE builds SET provider = $2, status = 'DONE', labels = $3, source_image = $4,
                 finished_at = $5, message = NULL WHERE id = $1",
            &[&row.id, &b.provider, &labels, &b.source_image, &now.0],
        )?;
    }
    for parent in &p.parents {
        super::ancestry::add_dependency(tx, &release_id, parent, now)?;
    }
    complete_if_done(tx, &product_id, &release_id, now)
}

/// Publishing into a complete release: a no-op when everything is already there exactly, else
/// a conflict naming the first difference.
fn republish(tx: &mut Tx<'_>, p: &Publish, release_id: &str) -> Outcome<Completion> {
    let refuse = |why: String| Err(immutable(&p.bucket, &p.product, &p.release, why).into());
    for c in &p.expect {
        if build_by_component(tx, release_id, c)?.is_none() {
            return refuse(format!("it has no build `{c}`"));
        }
    }
    for b in &p.builds {
        let Some(row) = build_by_component(tx, release_id, &b.component)? else {
            return refuse(format!("it has no build `{}`", b.component));
        };
        if row.provider.as_deref() != Some(b.provider.as_str()) {
            return refuse(format!(
                "its build `{}` is not a {} build",
                b.component, b.provider
            ));
        }
        let stored = stored_images(tx, &row.id)?;
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
///
/// The product's `completed` counter is updated in the transaction that completes, so two
/// completions of one product conflict (one is retried) and each gets its own version; the
/// retried one also draws its assignments' sequence numbers after the first's, so `latest`
/// never goes back.
fn complete_if_done(
    tx: &mut Tx<'_>,
    product_id: &str,
    release_id: &str,
    now: Timestamp,
) -> Outcome<Completion> {
    let waiting: Vec<String> = column(
        tx,
        "SELECT component FROM builds WHERE release_id = $1 AND status != 'DONE' ORDER BY component",
        &[&release_id],
    )?;
    if !waiting.is_empty() {
        return Ok(Completion::Pending {
            release_id: release_id.to_string(),
            waiting_for: waiting,
        });
    }
    let version: i64 = one(
        tx,
        "UPDATE products SET completed = completed + 1 WHERE id = $1 RETURNING completed",
        &[&product_id],
    )?;
    let changed = tx.execute(
        "UPDATE releases SET completed_at = $2, version = $3 WHERE id = $1 AND completed_at IS NULL",
        &[&release_id, &now.0, &version],
    )?;
    if changed != 1 {
        return Err(Error::conflict("the release completed in another transaction").into());
    }
    let latest = ensure_channel(tx, product_id, LATEST, true, now)?;
    assign(tx, &latest, release_id, KILN, now)?;
    let channels: Vec<String> = column(
        tx,
        "SELECT channel FROM release_channels WHERE release_id = $1 ORDER BY channel",
        &[&release_id],
    )?;
    for c in channels {
        let cid = ensure_channel(tx, product_id, &c, false, now)?;
        assign(tx, &cid, release_id, KILN, now)?;
    }
    Ok(Completion::Completed {
        release_id: release_id.to_string(),
        version: version as u64,
    })
}

pub(super) fn begin_release(
    tx: &mut Tx<'_>,
    b: &BeginRelease,
    now: Timestamp,
) -> Outcome<ReleaseStart> {
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
    let product_id = ensure_product(tx, &b.bucket, &b.product, now)?;
    let (release_id, complete) =
        ensure_release(tx, &product_id, &b.release, b.template_type.as_deref(), now)?;
    if complete {
        for c in &b.components {
            if build_by_component(tx, &release_id, c)?.is_none() {
                return Err(immutable(
                    &b.bucket,
                    &b.product,
                    &b.release,
                    format!("it has no build `{c}`"),
                )
                .into());
            }
        }
    } else {
        for c in &b.components {
            if build_by_component(tx, &release_id, c)?.is_none() {
                insert_build(tx, &release_id, c, now)?;
            }
        }
        request_channels(tx, &release_id, &b.channels)?;
    }
    let release = read::release(tx, &release_id, now)?;
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

fn build_context(tx: &mut Tx<'_>, build_id: &str) -> Outcome<BuildContext> {
    let r = tx
        .query_opt(
            "SELECT b.component, b.status, r.id, r.product_id, r.completed_at FROM builds b
             JOIN releases r ON r.id = b.release_id WHERE b.id = $1",
            &[&build_id],
        )?
        .ok_or_else(|| Error::not_found(format!("build with ID `{build_id}`")))?;
    let status: String = r.try_get(1)?;
    Ok(BuildContext {
        component: r.try_get(0)?,
        status: BuildStatus::parse(&status).unwrap_or(BuildStatus::Unset),
        release_id: r.try_get(2)?,
        product_id: r.try_get(3)?,
        complete: r.try_get::<_, Option<i64>>(4)?.is_some(),
    })
}

pub(super) fn start_build(tx: &mut Tx<'_>, s: &BuildStart, now: Timestamp) -> Outcome<Build> {
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
    let completed: Option<i64> = tx
        .query_opt(
            "SELECT completed_at FROM releases WHERE id = $1",
            &[&s.release_id],
        )?
        .ok_or_else(|| Error::not_found(format!("release with ID `{}`", s.release_id)))?
        .try_get(0)?;
    let key = read::key(tx, &s.release_id)?;
    let id = match build_by_component(tx, &s.release_id, &s.component)? {
        Some(row) if row.status == BuildStatus::Done => {
            return Err(Error::conflict(format!(
                "build `{}` of {key} is already DONE",
                s.component
            ))
            .with_hint("a rerun skips the builds that are DONE")
            .into())
        }
        Some(row) => row.id,
        None if completed.is_some() => {
            return Err(Error::conflict(format!(
                "release {key} is complete and cannot change: it has no build `{}`",
                s.component
            ))
            .with_hint("publish into a new release name")
            .into())
        }
        None => insert_build(tx, &s.release_id, &s.component, now)?,
    };
    let labels = serde_json::to_string(&s.labels).unwrap_or_else(|_| "{}".into());
    let metadata = s.metadata.as_ref().map(|m| m.to_string());
    tx.execute(
        "UPDATE builds SET provider = coalesce($2, provider), status = 'RUNNING', labels = $3,
             source_image = $4, heartbeat_at = $5, finished_at = NULL, message = NULL,
             run_uuid = coalesce($6, run_uuid), metadata = coalesce($7, metadata)
         WHERE id = $1",
        &[
            &id,
            &s.provider,
            &labels,
            &s.source_image,
            &now.0,
            &s.run_uuid,
            &metadata,
        ],
    )?;
    let row = tx.query_one(
        &format!("SELECT {} FROM builds WHERE id = $1", read::BUILD_COLUMNS),
        &[&id],
    )?;
    read::build_row(&row)
}

pub(super) fn heartbeat(tx: &mut Tx<'_>, build_id: &str, now: Timestamp) -> Outcome<()> {
    let ctx = build_context(tx, build_id)?;
    if ctx.status != BuildStatus::Running {
        return Err(Error::conflict(format!(
            "build `{}` is {}, not RUNNING",
            ctx.component, ctx.status
        ))
        .into());
    }
    tx.execute(
        "UPDATE builds SET heartbeat_at = $2 WHERE id = $1",
        &[&build_id, &now.0],
    )?;
    Ok(())
}

pub(super) fn finish_build(
    tx: &mut Tx<'_>,
    build_id: &str,
    images: &[NewImage],
    now: Timestamp,
) -> Outcome<Completion> {
    names::check_images(images)?;
    let ctx = build_context(tx, build_id)?;
    if ctx.status == BuildStatus::Done {
        let stored = stored_images(tx, build_id)?;
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
            read::key(tx, &ctx.release_id)?
        ))
        .with_hint("publish into a new release name")
        .into());
    }
    tx.execute("DELETE FROM images WHERE build_id = $1", &[&build_id])?;
    insert_images(tx, build_id, images, now)?;
    tx.execute(
        "UPDATE builds SET status = 'DONE', finished_at = $2, heartbeat_at = $2, message = NULL WHERE id = $1",
        &[&build_id, &now.0],
    )?;
    complete_if_done(tx, &ctx.product_id, &ctx.release_id, now)
}

pub(super) fn fail_build(
    tx: &mut Tx<'_>,
    build_id: &str,
    end: BuildEnd,
    message: &str,
    now: Timestamp,
) -> Outcome<()> {
    let ctx = build_context(tx, build_id)?;
    if ctx.status == BuildStatus::Done || ctx.complete {
        return Err(Error::conflict(format!(
            "build `{}` of {} is already DONE",
            ctx.component,
            read::key(tx, &ctx.release_id)?
        ))
        .into());
    }
    tx.execute(
        "UPDATE builds SET status = $2, message = $3, finished_at = $4 WHERE id = $1",
        &[&build_id, &end.status().as_str(), &message, &now.0],
    )?;
    Ok(())
}

pub(super) fn expire_stale_builds(
    tx: &mut Tx<'_>,
    max_age: Duration,
    now: Timestamp,
) -> Outcome<Vec<String>> {
    let cutoff = now.minus(max_age);
    let message = format!(
        "no heartbeat for {}s: the process building it stopped",
        max_age.as_secs()
    );
    let mut ids: Vec<String> = column(
        tx,
        "UPDATE builds SET status = 'FAILED', message = $2, finished_at = $3
         WHERE status = 'RUNNING' AND (heartbeat_at IS NULL OR heartbeat_at < $1) RETURNING id",
        &[&cutoff.0, &message, &now.0],
    )?;
    ids.sort();
    Ok(ids)
}

pub(super) fn assign_channel(
    tx: &mut Tx<'_>,
    a: &AssignChannel,
    now: Timestamp,
) -> Outcome<ChannelAssignment> {
    names::check_assignable(&a.channel)?;
    let (release_id, _) = read::resolve(
        tx,
        &a.bucket,
        &a.product,
        &ReleaseRef::Release(a.release.clone()),
        now,
    )?;
    let product_id = read::product_id(tx, &a.bucket, &a.product)?;
    let channel_id = ensure_channel(tx, &product_id, &a.channel, false, now)?;
    let id = assign(tx, &channel_id, &release_id, &a.author, now)?;
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
