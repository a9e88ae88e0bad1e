//! Queries: loading records and answering lookups. Every function reads inside the caller's
//! transaction, so what it returns is one consistent snapshot.

use super::super::error::{Error, Result};
use super::super::model::*;
use super::super::names;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;

pub(super) fn bucket_id(conn: &Connection, bucket: &str) -> Result<String> {
    names::bucket(bucket)?;
    conn.prepare_cached("SELECT id FROM buckets WHERE name = ?1")?
        .query_row([bucket], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!("bucket `{bucket}`"))
                .with_hint("`kiln registry bucket list` shows the buckets")
        })
}

pub(super) fn product_id(conn: &Connection, bucket: &str, product: &str) -> Result<String> {
    names::product(product)?;
    let bucket_id = bucket_id(conn, bucket)?;
    conn.prepare_cached("SELECT id FROM products WHERE bucket_id = ?1 AND name = ?2")?
        .query_row([&bucket_id, product], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!("product `{product}` in bucket `{bucket}`")).with_hint(
                format!("`kiln registry product list -bucket {bucket}` shows its products"),
            )
        })
}

pub(super) fn release_id(
    conn: &Connection,
    product_id: &str,
    bucket: &str,
    product: &str,
    release: &str,
) -> Result<String> {
    names::release(release)?;
    conn.prepare_cached("SELECT id FROM releases WHERE product_id = ?1 AND name = ?2")?
        .query_row([product_id, release], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!("release `{release}` of {bucket}/{product}")).with_hint(
                format!(
                    "`kiln registry release list -bucket {bucket} -product {product}` shows its releases"
                ),
            )
        })
}

pub(super) fn channel_id(
    conn: &Connection,
    product_id: &str,
    bucket: &str,
    product: &str,
    channel: &str,
) -> Result<String> {
    names::channel(channel)?;
    conn.prepare_cached("SELECT id FROM channels WHERE product_id = ?1 AND name = ?2")?
        .query_row([product_id, channel], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!("channel `{channel}` of {bucket}/{product}")).with_hint(
                format!(
                    "`kiln registry channel list -bucket {bucket} -product {product}` shows its channels"
                ),
            )
        })
}

/// The release a channel serves now: its newest assignment whose release is not revoked, with
/// when that assignment was made.
pub(super) fn serving(
    conn: &Connection,
    channel_id: &str,
    now: Timestamp,
) -> Result<Option<(String, String, Timestamp)>> {
    Ok(conn
        .prepare_cached(
            "SELECT r.id, r.name, a.assigned_at FROM channel_assignments a
             JOIN releases r ON r.id = a.release_id
             WHERE a.channel_id = ?1 AND (r.revoke_at IS NULL OR r.revoke_at > ?2)
             ORDER BY a.seq DESC LIMIT 1",
        )?
        .query_row(params![channel_id, now.0], |r| {
            Ok((r.get(0)?, r.get(1)?, Timestamp(r.get(2)?)))
        })
        .optional()?)
}

/// `bucket/product/release` of a release ID.
pub(super) fn key(conn: &Connection, release_id: &str) -> Result<String> {
    Ok(conn
        .prepare_cached(
            "SELECT bu.name || '/' || p.name || '/' || r.name FROM releases r
             JOIN products p ON p.id = r.product_id JOIN buckets bu ON bu.id = p.bucket_id
             WHERE r.id = ?1",
        )?
        .query_row([release_id], |r| r.get(0))?)
}

pub(super) fn buckets(conn: &Connection) -> Result<Vec<Bucket>> {
    let rows: Vec<(String, String, i64)> = conn
        .prepare_cached("SELECT id, name, created_at FROM buckets ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, name, created_at)| {
            Ok(Bucket {
                products: product_names(conn, &id)?,
                id,
                name,
                created_at: Timestamp(created_at),
            })
        })
        .collect()
}

pub(super) fn bucket(conn: &Connection, bucket: &str) -> Result<Bucket> {
    let id = bucket_id(conn, bucket)?;
    let created_at: i64 = conn
        .prepare_cached("SELECT created_at FROM buckets WHERE id = ?1")?
        .query_row([&id], |r| r.get(0))?;
    Ok(Bucket {
        products: product_names(conn, &id)?,
        id,
        name: bucket.to_string(),
        created_at: Timestamp(created_at),
    })
}

fn product_names(conn: &Connection, bucket_id: &str) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT name FROM products WHERE bucket_id = ?1 ORDER BY name")?
        .query_map([bucket_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

pub(super) fn products(conn: &Connection, bucket: &str, now: Timestamp) -> Result<Vec<Product>> {
    let bucket_id = bucket_id(conn, bucket)?;
    product_names(conn, &bucket_id)?
        .iter()
        .map(|name| product(conn, bucket, name, now))
        .collect()
}

pub(super) fn product(
    conn: &Connection,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Result<Product> {
    let id = product_id(conn, bucket, product)?;
    let (created_at, description, labels, updated_at): (i64, String, String, Option<i64>) = conn
        .prepare_cached(
            "SELECT created_at, description, labels, updated_at FROM products WHERE id = ?1",
        )?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let releases: i64 = conn
        .prepare_cached("SELECT count(*) FROM releases WHERE product_id = ?1")?
        .query_row([&id], |r| r.get(0))?;
    let latest = match channel_id(conn, &id, bucket, product, LATEST) {
        Ok(channel) => serving(conn, &channel, now)?.map(|(_, name, _)| name),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let providers = conn
        .prepare_cached(
            "SELECT DISTINCT b.provider FROM builds b JOIN releases r ON r.id = b.release_id
             WHERE r.product_id = ?1 AND b.provider IS NOT NULL ORDER BY b.provider",
        )?
        .query_map([&id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Product {
        id,
        bucket: bucket.to_string(),
        name: product.to_string(),
        created_at: Timestamp(created_at),
        releases: releases as u64,
        latest,
        providers,
        description,
        labels: labels_from(&labels),
        updated_at: updated_at.map(Timestamp),
    })
}

pub(super) fn releases(
    conn: &Connection,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Result<Vec<Release>> {
    let product_id = product_id(conn, bucket, product)?;
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM releases WHERE product_id = ?1 ORDER BY created_at, name")?
        .query_map([&product_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter().map(|id| release(conn, id, now)).collect()
}

/// A release with everything it holds.
pub(super) fn release(conn: &Connection, id: &str, now: Timestamp) -> Result<Release> {
    let row = conn
        .prepare_cached(
            "SELECT bu.name, p.name, r.name, r.version, r.created_at, r.completed_at, r.revoke_at,
                    r.revocation_message, r.revocation_author, r.revocation_type,
                    r.revocation_inherited_from, r.template_type
             FROM releases r JOIN products p ON p.id = r.product_id
             JOIN buckets bu ON bu.id = p.bucket_id WHERE r.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ),
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                (
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ),
                r.get::<_, Option<String>>(11)?,
            ))
        })
        .optional()?
        .ok_or_else(|| Error::not_found(format!("release with ID `{id}`")))?;
    let ((bucket, product, name), version, created_at, completed_at, revoke_at, rev, template_type) =
        row;
    let revocation = match revoke_at {
        None => None,
        Some(at) => {
            let (message, author, kind, from) = rev;
            Some(Revocation {
                revoke_at: Timestamp(at),
                message: message.unwrap_or_default(),
                author: author.unwrap_or_default(),
                kind: if kind.as_deref() == Some("INHERITED") {
                    RevocationType::Inherited
                } else {
                    RevocationType::Manual
                },
                inherited_from: from.map(|f| key(conn, &f)).transpose()?,
            })
        }
    };
    let builds = builds(conn, id)?;
    let status = ReleaseStatus::derive(
        completed_at.is_some(),
        revoke_at.map(Timestamp),
        builds.iter().map(|b| b.status),
        now,
    );
    let channels = conn
        .prepare_cached(
            "SELECT channel FROM release_channels WHERE release_id = ?1 ORDER BY channel",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Release {
        id: id.to_string(),
        bucket,
        product,
        name,
        version: version.map(|v| v as u64),
        status,
        created_at: Timestamp(created_at),
        completed_at: completed_at.map(Timestamp),
        revocation,
        channels,
        builds,
        parents: dependencies(conn, id, true, now)?,
        children: dependencies(conn, id, false, now)?,
        template_type,
    })
}

fn builds(conn: &Connection, release_id: &str) -> Result<Vec<Build>> {
    let mut builds: Vec<Build> = conn
        .prepare_cached(
            "SELECT id, component, provider, status, labels, source_image, created_at,
                    heartbeat_at, finished_at, message, run_uuid, metadata
             FROM builds WHERE release_id = ?1 ORDER BY component",
        )?
        .query_map([release_id], build_row)?
        .collect::<Result<_, _>>()?;
    for b in &mut builds {
        b.images = conn
            .prepare_cached(
                "SELECT id, region, external_id, created_at FROM images
                 WHERE build_id = ?1 ORDER BY region",
            )?
            .query_map([&b.id], |r| {
                Ok(Image {
                    id: r.get(0)?,
                    region: r.get(1)?,
                    external_id: r.get(2)?,
                    created_at: Timestamp(r.get(3)?),
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(builds)
}

pub(super) fn build_row(r: &Row<'_>) -> rusqlite::Result<Build> {
    let status: String = r.get(3)?;
    let labels: String = r.get(4)?;
    Ok(Build {
        id: r.get(0)?,
        component: r.get(1)?,
        provider: r.get(2)?,
        // Only kiln writes these columns; an unknown value means a newer kiln wrote it.
        status: BuildStatus::parse(&status).unwrap_or(BuildStatus::Unset),
        labels: labels_from(&labels),
        source_image: r.get(5)?,
        created_at: Timestamp(r.get(6)?),
        heartbeat_at: r.get::<_, Option<i64>>(7)?.map(Timestamp),
        finished_at: r.get::<_, Option<i64>>(8)?.map(Timestamp),
        message: r.get(9)?,
        images: Vec::new(),
        run_uuid: r.get(10)?,
        metadata: r
            .get::<_, Option<String>>(11)?
            .and_then(|m| serde_json::from_str(&m).ok()),
    })
}

/// Labels as stored (a JSON object of strings; only kiln writes them).
pub(super) fn labels_from(stored: &str) -> BTreeMap<String, String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// A release's parents (`parents`) or children, sorted.
fn dependencies(
    conn: &Connection,
    id: &str,
    parents: bool,
    now: Timestamp,
) -> Result<Vec<Dependency>> {
    let sql = if parents {
        "SELECT child_id, parent_id, channel_id, created_at FROM dependencies WHERE child_id = ?1"
    } else {
        "SELECT child_id, parent_id, channel_id, created_at FROM dependencies WHERE parent_id = ?1"
    };
    let rows: Vec<(String, String, Option<String>, i64)> = conn
        .prepare_cached(sql)?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (child, parent, channel_id, created_at) in rows {
        let (channel, status) = match channel_id {
            None => (None, AncestryStatus::Undetermined),
            Some(cid) => {
                let name: String = conn
                    .prepare_cached("SELECT name FROM channels WHERE id = ?1")?
                    .query_row([&cid], |r| r.get(0))?;
                let up = serving(conn, &cid, now)?.is_some_and(|(rid, _, _)| rid == parent);
                let status = if up {
                    AncestryStatus::UpToDate
                } else {
                    AncestryStatus::OutOfDate
                };
                (Some(name), status)
            }
        };
        out.push(Dependency {
            parent: key(conn, &parent)?,
            child: key(conn, &child)?,
            channel,
            status,
            created_at: Timestamp(created_at),
        });
    }
    out.sort_by(|a, b| (&a.parent, &a.child).cmp(&(&b.parent, &b.child)));
    Ok(out)
}

/// The release a lookup names, checked to be complete and not revoked.
pub(super) fn resolve(
    conn: &Connection,
    bucket: &str,
    product: &str,
    at: &ReleaseRef,
    now: Timestamp,
) -> Result<(String, Option<String>)> {
    let product_id = product_id(conn, bucket, product)?;
    match at {
        ReleaseRef::Release(name) => {
            let id = release_id(conn, &product_id, bucket, product, name)?;
            let (completed, revoke_at, message): (Option<i64>, Option<i64>, Option<String>) = conn
                .prepare_cached(
                    "SELECT completed_at, revoke_at, revocation_message FROM releases WHERE id = ?1",
                )?
                .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            if let Some(at) = revoke_at.filter(|at| *at <= now.0) {
                let why = message.filter(|m| !m.is_empty()).map(|m| format!(": {m}"));
                return Err(Error::revoked(format!(
                    "release `{name}` of {bucket}/{product} was revoked at {}{}",
                    Timestamp(at).to_seconds_string(),
                    why.unwrap_or_default()
                ))
                .with_hint(format!(
                    "use a newer release, or a channel (`-channel latest`); `kiln registry release restore -bucket {bucket} -product {product} -release {name}` undoes the revocation"
                )));
            }
            if completed.is_none() {
                let r = release(conn, &id, now)?;
                let waiting: Vec<&str> = r
                    .builds
                    .iter()
                    .filter(|b| b.status != BuildStatus::Done)
                    .map(|b| b.component.as_str())
                    .collect();
                return Err(Error::conflict(format!(
                    "release `{name}` of {bucket}/{product} is {}, not complete: waiting for {}",
                    r.status,
                    waiting.join(", ")
                )));
            }
            Ok((id, None))
        }
        ReleaseRef::Channel(channel) => {
            let cid = channel_id(conn, &product_id, bucket, product, channel)?;
            match serving(conn, &cid, now)? {
                Some((id, _, _)) => Ok((id, Some(channel.clone()))),
                None => Err(Error::not_found(format!(
                    "an unrevoked release on channel `{channel}` of {bucket}/{product}"
                ))
                .with_hint(if channel == LATEST {
                    "no release of this product has completed, or every complete one is revoked"
                        .to_string()
                } else {
                    format!("`kiln registry channel history -bucket {bucket} -product {product} -channel {channel}` shows what it held")
                })),
            }
        }
    }
}

const IMAGE_COLUMNS: &str = "SELECT bu.name, p.name, r.name, r.id, r.version, r.completed_at,
        r.revoke_at, b.component, b.id, b.provider, i.region, i.external_id, i.id, i.created_at
    FROM images i JOIN builds b ON b.id = i.build_id JOIN releases r ON r.id = b.release_id
    JOIN products p ON p.id = r.product_id JOIN buckets bu ON bu.id = p.bucket_id";

fn image_row(r: &Row<'_>, now: Timestamp) -> rusqlite::Result<ImageRecord> {
    let completed: Option<i64> = r.get(5)?;
    let revoke_at: Option<i64> = r.get(6)?;
    Ok(ImageRecord {
        bucket: r.get(0)?,
        product: r.get(1)?,
        release: r.get(2)?,
        release_id: r.get(3)?,
        version: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
        // Images are attached only to DONE builds, so an incomplete release here is RUNNING.
        release_status: ReleaseStatus::derive(
            completed.is_some(),
            revoke_at.map(Timestamp),
            [BuildStatus::Done],
            now,
        ),
        channel: None,
        component: r.get(7)?,
        build_id: r.get(8)?,
        provider: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        region: r.get(10)?,
        external_id: r.get(11)?,
        image_id: r.get(12)?,
        created_at: Timestamp(r.get(13)?),
    })
}

pub(super) fn image(conn: &Connection, q: &ImageQuery, now: Timestamp) -> Result<ImageRecord> {
    names::provider(&q.provider)?;
    names::region(&q.region)?;
    if let Some(c) = &q.component {
        names::component(c)?;
    }
    let (release_id, channel) = resolve(conn, &q.bucket, &q.product, &q.at, now)?;
    let where_ = "WHERE b.release_id = ?1 AND b.provider = ?2 AND i.region = ?3";
    let found: Vec<ImageRecord> = match &q.component {
        None => conn
            .prepare_cached(&format!("{IMAGE_COLUMNS} {where_} ORDER BY b.component"))?
            .query_map(params![release_id, q.provider, q.region], |r| {
                image_row(r, now)
            })?
            .collect::<Result<_, _>>()?,
        Some(c) => conn
            .prepare_cached(&format!("{IMAGE_COLUMNS} {where_} AND b.component = ?4"))?
            .query_map(params![release_id, q.provider, q.region, c], |r| {
                image_row(r, now)
            })?
            .collect::<Result<_, _>>()?,
    };
    let Some(first) = found.first() else {
        let r = release(conn, &release_id, now)?;
        let mut has: Vec<String> = r
            .builds
            .iter()
            .flat_map(|b| {
                let p = b.provider.clone().unwrap_or_default();
                b.images.iter().map(move |i| format!("{p} {}", i.region))
            })
            .collect();
        has.sort();
        has.dedup();
        let via = channel
            .as_ref()
            .map(|c| format!(" (channel `{c}`)"))
            .unwrap_or_default();
        let component = q
            .component
            .as_ref()
            .map(|c| format!(" from component `{c}`"))
            .unwrap_or_default();
        return Err(Error::not_found(format!(
            "image for {} in {}{component} in release `{}`{via} of {}/{}",
            q.provider, q.region, r.name, q.bucket, q.product
        ))
        .with_hint(if has.is_empty() {
            "the release has no images".to_string()
        } else {
            format!("it has images for: {}", has.join(", "))
        }));
    };
    if found.iter().any(|f| f.external_id != first.external_id) {
        let components: Vec<&str> = found.iter().map(|f| f.component.as_str()).collect();
        return Err(Error::conflict(format!(
            "release `{}` of {}/{} has several {} images in {}, from components {}",
            first.release,
            q.bucket,
            q.product,
            q.provider,
            q.region,
            components.join(", ")
        ))
        .with_hint("pass -component to choose one"));
    }
    let mut record = first.clone();
    record.channel = channel;
    Ok(record)
}

pub(super) fn search(
    conn: &Connection,
    external_id: &str,
    now: Timestamp,
) -> Result<Vec<ImageRecord>> {
    names::external_id(external_id)?;
    let sql = format!(
        "{IMAGE_COLUMNS} WHERE i.external_id = ?1
         ORDER BY bu.name, p.name, r.name, b.component, i.region"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([external_id], |r| image_row(r, now))?
        .collect::<Result<_, _>>()?)
}

pub(super) fn channels(
    conn: &Connection,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Result<Vec<Channel>> {
    let product_id = product_id(conn, bucket, product)?;
    let rows: Vec<(String, String, bool, i64)> = conn
        .prepare_cached(
            "SELECT id, name, managed, created_at FROM channels WHERE product_id = ?1 ORDER BY name",
        )?
        .query_map([&product_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (id, name, managed, created_at) in rows {
        let serving = serving(conn, &id, now)?;
        let newest: Option<String> = conn
            .prepare_cached(
                "SELECT r.name FROM channel_assignments a JOIN releases r ON r.id = a.release_id
                 WHERE a.channel_id = ?1 ORDER BY a.seq DESC LIMIT 1",
            )?
            .query_row([&id], |r| r.get(0))
            .optional()?;
        let release = serving.as_ref().map(|s| s.1.clone());
        out.push(Channel {
            rolled_back_from: newest.filter(|n| Some(n) != release.as_ref()),
            assigned_at: serving.map(|s| s.2),
            release,
            id,
            name,
            managed,
            created_at: Timestamp(created_at),
        });
    }
    Ok(out)
}

pub(super) fn channel_history(
    conn: &Connection,
    bucket: &str,
    product: &str,
    channel: &str,
    now: Timestamp,
) -> Result<Vec<ChannelAssignment>> {
    let product_id = product_id(conn, bucket, product)?;
    let cid = channel_id(conn, &product_id, bucket, product, channel)?;
    Ok(conn
        .prepare_cached(
            "SELECT a.id, r.name, r.id, a.assigned_at, a.author, r.revoke_at
             FROM channel_assignments a JOIN releases r ON r.id = a.release_id
             WHERE a.channel_id = ?1 ORDER BY a.seq",
        )?
        .query_map([&cid], |r| {
            let revoke_at: Option<i64> = r.get(5)?;
            Ok(ChannelAssignment {
                id: r.get(0)?,
                channel: channel.to_string(),
                release: r.get(1)?,
                release_id: r.get(2)?,
                assigned_at: Timestamp(r.get(3)?),
                author: r.get(4)?,
                revoked: revoke_at.is_some_and(|at| at <= now.0),
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// The bucket of a release or build ID.
pub(super) fn bucket_of(conn: &Connection, id: &str) -> Result<String> {
    conn.prepare_cached(
        "SELECT bk.name FROM releases r JOIN products p ON p.id = r.product_id
           JOIN buckets bk ON bk.id = p.bucket_id
          WHERE r.id = ?1 OR r.id = (SELECT release_id FROM builds WHERE id = ?1)",
    )?
    .query_row([id], |r| r.get(0))
    .optional()?
    .ok_or_else(|| Error::not_found(format!("release or build with ID `{id}`")))
}
