//! Queries: loading records and answering lookups. Every function reads inside the caller's
//! transaction, so what it returns is one consistent snapshot.

use super::super::error::Error;
use super::super::model::*;
use super::super::names;
use super::{Failure, Outcome, Tx};
use postgres::types::{FromSqlOwned, ToSql};
use postgres::Row;
use std::collections::BTreeMap;

/// Query parameters.
pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The first column of the one row `sql` returns.
pub(super) fn one<T: FromSqlOwned>(tx: &mut Tx<'_>, sql: &str, params: &Params<'_>) -> Outcome<T> {
    Ok(tx.query_one(sql, params)?.try_get(0)?)
}

/// The first column of the row `sql` returns, if it returns one.
pub(super) fn opt<T: FromSqlOwned>(
    tx: &mut Tx<'_>,
    sql: &str,
    params: &Params<'_>,
) -> Outcome<Option<T>> {
    match tx.query_opt(sql, params)? {
        Some(row) => Ok(Some(row.try_get(0)?)),
        None => Ok(None),
    }
}

/// The first column of every row `sql` returns.
pub(super) fn column<T: FromSqlOwned>(
    tx: &mut Tx<'_>,
    sql: &str,
    params: &Params<'_>,
) -> Outcome<Vec<T>> {
    tx.query(sql, params)?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

pub(super) fn bucket_id(tx: &mut Tx<'_>, bucket: &str) -> Outcome<String> {
    names::bucket(bucket)?;
    opt(tx, "SELECT id FROM buckets WHERE name = $1", &[&bucket])?.ok_or_else(|| {
        Error::not_found(format!("bucket `{bucket}`"))
            .with_hint("`kiln registry bucket list` shows the buckets")
            .into()
    })
}

pub(super) fn product_id(tx: &mut Tx<'_>, bucket: &str, product: &str) -> Outcome<String> {
    names::product(product)?;
    let bucket_id = bucket_id(tx, bucket)?;
    opt(
        tx,
        "SELECT id FROM products WHERE bucket_id = $1 AND name = $2",
        &[&bucket_id, &product],
    )?
    .ok_or_else(|| {
        Error::not_found(format!("product `{product}` in bucket `{bucket}`"))
            .with_hint(format!(
                "`kiln registry product list -bucket {bucket}` shows its products"
            ))
            .into()
    })
}

pub(super) fn release_id(
    tx: &mut Tx<'_>,
    product_id: &str,
    bucket: &str,
    product: &str,
    release: &str,
) -> Outcome<String> {
    names::release(release)?;
    opt(
        tx,
        "SELECT id FROM releases WHERE product_id = $1 AND name = $2",
        &[&product_id, &release],
    )?
    .ok_or_else(|| {
        Error::not_found(format!("release `{release}` of {bucket}/{product}"))
            .with_hint(format!(
                "`kiln registry release list -bucket {bucket} -product {product}` shows its releases"
            ))
            .into()
    })
}

pub(super) fn channel_id(
    tx: &mut Tx<'_>,
    product_id: &str,
    bucket: &str,
    product: &str,
    channel: &str,
) -> Outcome<String> {
    names::channel(channel)?;
    opt(
        tx,
        "SELECT id FROM channels WHERE product_id = $1 AND name = $2",
        &[&product_id, &channel],
    )?
    .ok_or_else(|| {
        Error::not_found(format!("channel `{channel}` of {bucket}/{product}"))
            .with_hint(format!(
                "`kiln registry channel list -bucket {bucket} -product {product}` shows its channels"
            ))
            .into()
    })
}

/// The release a channel serves now: its newest assignment whose release is not revoked, with
/// when that assignment was made.
pub(super) fn serving(
    tx: &mut Tx<'_>,
    channel_id: &str,
    now: Timestamp,
) -> Outcome<Option<(String, String, Timestamp)>> {
    let row = tx.query_opt(
        "SELECT r.id, r.name, a.assigned_at FROM channel_assignments a
         JOIN releases r ON r.id = a.release_id
         WHERE a.channel_id = $1 AND (r.revoke_at IS NULL OR r.revoke_at > $2)
         ORDER BY a.seq DESC LIMIT 1",
        &[&channel_id, &now.0],
    )?;
    match row {
        Some(r) => Ok(Some((
            r.try_get(0)?,
            r.try_get(1)?,
            Timestamp(r.try_get(2)?),
        ))),
        None => Ok(None),
    }
}

/// `bucket/product/release` of a release ID.
pub(super) fn key(tx: &mut Tx<'_>, release_id: &str) -> Outcome<String> {
    one(
        tx,
        "SELECT bu.name || '/' || p.name || '/' || r.name FROM releases r
         JOIN products p ON p.id = r.product_id JOIN buckets bu ON bu.id = p.bucket_id
         WHERE r.id = $1",
        &[&release_id],
    )
}

pub(super) fn buckets(tx: &mut Tx<'_>) -> Outcome<Vec<Bucket>> {
    let rows = tx.query(
        "SELECT id, name, created_at FROM buckets ORDER BY name",
        &[],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        out.push(Bucket {
            products: product_names(tx, &id)?,
            id,
            name: r.try_get(1)?,
            created_at: Timestamp(r.try_get(2)?),
        });
    }
    Ok(out)
}

pub(super) fn bucket(tx: &mut Tx<'_>, bucket: &str) -> Outcome<Bucket> {
    let id = bucket_id(tx, bucket)?;
    let created_at: i64 = one(tx, "SELECT created_at FROM buckets WHERE id = $1", &[&id])?;
    Ok(Bucket {
        products: product_names(tx, &id)?,
        id,
        name: bucket.to_string(),
        created_at: Timestamp(created_at),
    })
}

fn product_names(tx: &mut Tx<'_>, bucket_id: &str) -> Outcome<Vec<String>> {
    column(
        tx,
        "SELECT name FROM products WHERE bucket_id = $1 ORDER BY name",
        &[&bucket_id],
    )
}

pub(super) fn products(tx: &mut Tx<'_>, bucket: &str, now: Timestamp) -> Outcome<Vec<Product>> {
    let bucket_id = bucket_id(tx, bucket)?;
    product_names(tx, &bucket_id)?
        .iter()
        .map(|name| product(tx, bucket, name, now))
        .collect()
}

pub(super) fn product(
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Outcome<Product> {
    let id = product_id(tx, bucket, product)?;
    let row = tx.query_one(
        "SELECT created_at, description, labels, updated_at FROM products WHERE id = $1",
        &[&id],
    )?;
    let created_at: i64 = row.try_get(0)?;
    let description: String = row.try_get(1)?;
    let labels: String = row.try_get(2)?;
    let updated_at: Option<i64> = row.try_get(3)?;
    let releases: i64 = one(
        tx,
        "SELECT count(*) FROM releases WHERE product_id = $1",
        &[&id],
    )?;
    let latest = match channel_id(tx, &id, bucket, product, LATEST) {
        Ok(channel) => serving(tx, &channel, now)?.map(|(_, name, _)| name),
        Err(Failure::Registry(Error::NotFound { .. })) => None,
        Err(e) => return Err(e),
    };
    let providers = column(
        tx,
        "SELECT DISTINCT b.provider FROM builds b JOIN releases r ON r.id = b.release_id
         WHERE r.product_id = $1 AND b.provider IS NOT NULL ORDER BY b.provider",
        &[&id],
    )?;
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
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Outcome<Vec<Release>> {
    let product_id = product_id(tx, bucket, product)?;
    let ids: Vec<String> = column(
        tx,
        "SELECT id FROM releases WHERE product_id = $1 ORDER BY created_at, name",
        &[&product_id],
    )?;
    ids.iter().map(|id| release(tx, id, now)).collect()
}

/// A release with everything it holds.
pub(super) fn release(tx: &mut Tx<'_>, id: &str, now: Timestamp) -> Outcome<Release> {
    let row = tx
        .query_opt(
            "SELECT bu.name, p.name, r.name, r.version, r.created_at, r.completed_at, r.revoke_at,
                    r.revocation_message, r.revocation_author, r.revocation_type,
                    r.revocation_inherited_from, r.template_type
             FROM releases r JOIN products p ON p.id = r.product_id
             JOIN buckets bu ON bu.id = p.bucket_id WHERE r.id = $1",
            &[&id],
        )?
        .ok_or_else(|| Error::not_found(format!("release with ID `{id}`")))?;
    let bucket: String = row.try_get(0)?;
    let product: String = row.try_get(1)?;
    let name: String = row.try_get(2)?;
    let version: Option<i64> = row.try_get(3)?;
    let created_at: i64 = row.try_get(4)?;
    let completed_at: Option<i64> = row.try_get(5)?;
    let revoke_at: Option<i64> = row.try_get(6)?;
    let template_type: Option<String> = row.try_get(11)?;
    let revocation = match revoke_at {
        None => None,
        Some(at) => {
            let message: Option<String> = row.try_get(7)?;
            let author: Option<String> = row.try_get(8)?;
            let kind: Option<String> = row.try_get(9)?;
            let from: Option<String> = row.try_get(10)?;
            Some(Revocation {
                revoke_at: Timestamp(at),
                message: message.unwrap_or_default(),
                author: author.unwrap_or_default(),
                kind: if kind.as_deref() == Some("INHERITED") {
                    RevocationType::Inherited
                } else {
                    RevocationType::Manual
                },
                inherited_from: from.map(|f| key(tx, &f)).transpose()?,
            })
        }
    };
    let builds = builds(tx, id)?;
    let status = ReleaseStatus::derive(
        completed_at.is_some(),
        revoke_at.map(Timestamp),
        builds.iter().map(|b| b.status),
        now,
    );
    let channels = column(
        tx,
        "SELECT channel FROM release_channels WHERE release_id = $1 ORDER BY channel",
        &[&id],
    )?;
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
        parents: dependencies(tx, id, true, now)?,
        children: dependencies(tx, id, false, now)?,
        template_type,
    })
}

/// The columns [`build_row`] reads.
pub(super) const BUILD_COLUMNS: &str = "id, component, provider, status, labels, source_image,
    created_at, heartbeat_at, finished_at, message, run_uuid, metadata";

fn builds(tx: &mut Tx<'_>, release_id: &str) -> Outcome<Vec<Build>> {
    let rows = tx.query(
        &format!("SELECT {BUILD_COLUMNS} FROM builds WHERE release_id = $1 ORDER BY component"),
        &[&release_id],
    )?;
    let mut builds: Vec<Build> = rows.iter().map(build_row).collect::<Outcome<_>>()?;
    for b in &mut builds {
        b.images = tx
            .query(
                "SELECT id, region, external_id, created_at FROM images
                 WHERE build_id = $1 ORDER BY region",
                &[&b.id],
            )?
            .iter()
            .map(|r| {
                Ok(Image {
                    id: r.try_get(0)?,
                    region: r.try_get(1)?,
                    external_id: r.try_get(2)?,
                    created_at: Timestamp(r.try_get(3)?),
                })
            })
            .collect::<Outcome<_>>()?;
    }
    Ok(builds)
}

pub(super) fn build_row(r: &Row) -> Outcome<Build> {
    let status: String = r.try_get(3)?;
    let labels: String = r.try_get(4)?;
    Ok(Build {
        id: r.try_get(0)?,
        component: r.try_get(1)?,
        provider: r.try_get(2)?,
        // Only kiln writes these columns; an unknown value means a newer kiln wrote it.
        status: BuildStatus::parse(&status).unwrap_or(BuildStatus::Unset),
        labels: labels_from(&labels),
        source_image: r.try_get(5)?,
        created_at: Timestamp(r.try_get(6)?),
        heartbeat_at: r.try_get::<_, Option<i64>>(7)?.map(Timestamp),
        finished_at: r.try_get::<_, Option<i64>>(8)?.map(Timestamp),
        message: r.try_get(9)?,
        images: Vec::new(),
        run_uuid: r.try_get(10)?,
        metadata: r
            .try_get::<_, Option<String>>(11)?
            .and_then(|m| serde_json::from_str(&m).ok()),
    })
}

/// Labels as stored (a JSON object of strings; only kiln writes them).
pub(super) fn labels_from(stored: &str) -> BTreeMap<String, String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// A release's parents (`parents`) or children, sorted.
fn dependencies(
    tx: &mut Tx<'_>,
    id: &str,
    parents: bool,
    now: Timestamp,
) -> Outcome<Vec<Dependency>> {
    let sql = if parents {
        "SELECT child_id, parent_id, channel_id, created_at FROM dependencies WHERE child_id = $1"
    } else {
        "SELECT child_id, parent_id, channel_id, created_at FROM dependencies WHERE parent_id = $1"
    };
    let rows = tx.query(sql, &[&id])?;
    let mut out = Vec::new();
    for r in rows {
        let child: String = r.try_get(0)?;
        let parent: String = r.try_get(1)?;
        let channel_id: Option<String> = r.try_get(2)?;
        let created_at: i64 = r.try_get(3)?;
        let (channel, status) = match channel_id {
            None => (None, AncestryStatus::Undetermined),
            Some(cid) => {
                let name: String = one(tx, "SELECT name FROM channels WHERE id = $1", &[&cid])?;
                let up = serving(tx, &cid, now)?.is_some_and(|(rid, _, _)| rid == parent);
                let status = if up {
                    AncestryStatus::UpToDate
                } else {
                    AncestryStatus::OutOfDate
                };
                (Some(name), status)
            }
        };
        out.push(Dependency {
            parent: key(tx, &parent)?,
            child: key(tx, &child)?,
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
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    at: &ReleaseRef,
    now: Timestamp,
) -> Outcome<(String, Option<String>)> {
    let product_id = product_id(tx, bucket, product)?;
    match at {
        ReleaseRef::Release(name) => {
            let id = release_id(tx, &product_id, bucket, product, name)?;
            let row = tx.query_one(
                "SELECT completed_at, revoke_at, revocation_message FROM releases WHERE id = $1",
                &[&id],
            )?;
            let completed: Option<i64> = row.try_get(0)?;
            let revoke_at: Option<i64> = row.try_get(1)?;
            let message: Option<String> = row.try_get(2)?;
            if let Some(at) = revoke_at.filter(|at| *at <= now.0) {
                let why = message.filter(|m| !m.is_empty()).map(|m| format!(": {m}"));
                return Err(Error::revoked(format!(
                    "release `{name}` of {bucket}/{product} was revoked at {}{}",
                    Timestamp(at).to_seconds_string(),
                    why.unwrap_or_default()
                ))
                .with_hint(format!(
                    "use a newer release, or a channel (`-channel latest`); `kiln registry release restore -bucket {bucket} -product {product} -release {name}` undoes the revocation"
                ))
                .into());
            }
            if completed.is_none() {
                let r = release(tx, &id, now)?;
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
                ))
                .into());
            }
            Ok((id, None))
        }
        ReleaseRef::Channel(channel) => {
            let cid = channel_id(tx, &product_id, bucket, product, channel)?;
            match serving(tx, &cid, now)? {
                Some((id, _, _)) => Ok((id, Some(channel.clone()))),
                None => Err(Error::not_found(format!(
                    "an unrevoked release on channel `{channel}` of {bucket}/{product}"
                ))
                .with_hint(if channel == LATEST {
                    "no release of this product has completed, or every complete one is revoked"
                        .to_string()
                } else {
                    format!("`kiln registry channel history -bucket {bucket} -product {product} -channel {channel}` shows what it held")
                })
                .into()),
            }
        }
    }
}

const IMAGE_COLUMNS: &str = "SELECT bu.name, p.name, r.name, r.id, r.version, r.completed_at,
        r.revoke_at, b.component, b.id, b.provider, i.region, i.external_id, i.id, i.created_at
    FROM images i JOIN builds b ON b.id = i.build_id JOIN releases r ON r.id = b.release_id
    JOIN products p ON p.id = r.product_id JOIN buckets bu ON bu.id = p.bucket_id";

fn image_row(r: &Row, now: Timestamp) -> Outcome<ImageRecord> {
    let completed: Option<i64> = r.try_get(5)?;
    let revoke_at: Option<i64> = r.try_get(6)?;
    Ok(ImageRecord {
        bucket: r.try_get(0)?,
        product: r.try_get(1)?,
        release: r.try_get(2)?,
        release_id: r.try_get(3)?,
        version: r.try_get::<_, Option<i64>>(4)?.map(|v| v as u64),
        // Images are attached only to DONE builds, so an incomplete release here is RUNNING.
        release_status: ReleaseStatus::derive(
            completed.is_some(),
            revoke_at.map(Timestamp),
            [BuildStatus::Done],
            now,
        ),
        channel: None,
        component: r.try_get(7)?,
        build_id: r.try_get(8)?,
        provider: r.try_get::<_, Option<String>>(9)?.unwrap_or_default(),
        region: r.try_get(10)?,
        external_id: r.try_get(11)?,
        image_id: r.try_get(12)?,
        created_at: Timestamp(r.try_get(13)?),
    })
}

pub(super) fn image(tx: &mut Tx<'_>, q: &ImageQuery, now: Timestamp) -> Outcome<ImageRecord> {
    names::provider(&q.provider)?;
    names::region(&q.region)?;
    if let Some(c) = &q.component {
        names::component(c)?;
    }
    let (release_id, channel) = resolve(tx, &q.bucket, &q.product, &q.at, now)?;
    let where_ = "WHERE b.release_id = $1 AND b.provider = $2 AND i.region = $3";
    let rows = match &q.component {
        None => tx.query(
            &format!("{IMAGE_COLUMNS} {where_} ORDER BY b.component"),
            &[&release_id, &q.provider, &q.region],
        )?,
        Some(c) => tx.query(
            &format!("{IMAGE_COLUMNS} {where_} AND b.component = $4"),
            &[&release_id, &q.provider, &q.region, c],
        )?,
    };
    let found: Vec<ImageRecord> = rows
        .iter()
        .map(|r| image_row(r, now))
        .collect::<Outcome<_>>()?;
    let Some(first) = found.first() else {
        let r = release(tx, &release_id, now)?;
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
        })
        .into());
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
        .with_hint("pass -component to choose one")
        .into());
    }
    let mut record = first.clone();
    record.channel = channel;
    Ok(record)
}

pub(super) fn search(
    tx: &mut Tx<'_>,
    external_id: &str,
    now: Timestamp,
) -> Outcome<Vec<ImageRecord>> {
    names::external_id(external_id)?;
    let sql = format!(
        "{IMAGE_COLUMNS} WHERE i.external_id = $1
         ORDER BY bu.name, p.name, r.name, b.component, i.region"
    );
    tx.query(&sql, &[&external_id])?
        .iter()
        .map(|r| image_row(r, now))
        .collect()
}

pub(super) fn channels(
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    now: Timestamp,
) -> Outcome<Vec<Channel>> {
    let product_id = product_id(tx, bucket, product)?;
    let rows = tx.query(
        "SELECT id, name, managed, created_at FROM channels WHERE product_id = $1 ORDER BY name",
        &[&product_id],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        let serving = serving(tx, &id, now)?;
        let newest: Option<String> = opt(
            tx,
            "SELECT r.name FROM channel_assignments a JOIN releases r ON r.id = a.release_id
             WHERE a.channel_id = $1 ORDER BY a.seq DESC LIMIT 1",
            &[&id],
        )?;
        let release = serving.as_ref().map(|s| s.1.clone());
        out.push(Channel {
            rolled_back_from: newest.filter(|n| Some(n) != release.as_ref()),
            assigned_at: serving.map(|s| s.2),
            release,
            id,
            name: r.try_get(1)?,
            managed: r.try_get(2)?,
            created_at: Timestamp(r.try_get(3)?),
        });
    }
    Ok(out)
}

pub(super) fn channel_history(
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    channel: &str,
    now: Timestamp,
) -> Outcome<Vec<ChannelAssignment>> {
    let product_id = product_id(tx, bucket, product)?;
    let cid = channel_id(tx, &product_id, bucket, product, channel)?;
    tx.query(
        "SELECT a.id, r.name, r.id, a.assigned_at, a.author, r.revoke_at
         FROM channel_assignments a JOIN releases r ON r.id = a.release_id
         WHERE a.channel_id = $1 ORDER BY a.seq",
        &[&cid],
    )?
    .iter()
    .map(|r| {
        let revoke_at: Option<i64> = r.try_get(5)?;
        Ok(ChannelAssignment {
            id: r.try_get(0)?,
            channel: channel.to_string(),
            release: r.try_get(1)?,
            release_id: r.try_get(2)?,
            assigned_at: Timestamp(r.try_get(3)?),
            author: r.try_get(4)?,
            revoked: revoke_at.is_some_and(|at| at <= now.0),
        })
    })
    .collect()
}

/// The bucket of a release or build ID.
pub(super) fn bucket_of(tx: &mut Tx<'_>, id: &str) -> Outcome<String> {
    opt(
        tx,
        "SELECT bk.name FROM releases r JOIN products p ON p.id = r.product_id
           JOIN buckets bk ON bk.id = p.bucket_id
          WHERE r.id = $1 OR r.id = (SELECT release_id FROM builds WHERE id = $1)",
        &[&id],
    )?
    .ok_or_else(|| Error::not_found(format!("release or build with ID `{id}`")).into())
}
