//! The HCP-only records ([`HcpStore`]): the organization, products made empty with their
//! description and labels, channels made empty or deleted, SBOMs.

use super::super::error::{Error, Result};
use super::super::hcp_store::{HcpStore, NewSbom, Sbom, MAX_SBOM};
use super::super::model::*;
use super::super::names;
use super::write::{ensure_channel, ensure_product, new_id};
use super::{read, SqliteStore};
use rusqlite::{params, Connection, OptionalExtension};

impl HcpStore for SqliteStore {
    fn organization_id(&self) -> Result<String> {
        self.read(|tx, _| {
            Ok(tx
                .prepare_cached("SELECT organization_id FROM registry WHERE id = 1")?
                .query_row([], |r| r.get(0))?)
        })
    }

    fn ensure_bucket(&self, bucket: &str) -> Result<Bucket> {
        names::bucket(bucket)?;
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO buckets (id, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![new_id(), bucket, now.0])?;
            read::bucket(tx, bucket)
        })
    }

    fn create_product(&self, bucket: &str, product: &str, about: &ProductAbout) -> Result<Product> {
        self.write(|tx, now| {
            if read::product_id(tx, bucket, product).is_ok() {
                return Err(Error::exists(format!(
                    "product {bucket}/{product} exists already"
                )));
            }
            let id = ensure_product(tx, bucket, product, now)?;
            set_about(tx, &id, about, now)?;
            read::product(tx, bucket, product, now)
        })
    }

    fn update_product(&self, bucket: &str, product: &str, about: &ProductAbout) -> Result<Product> {
        self.write(|tx, now| {
            let id = read::product_id(tx, bucket, product)?;
            set_about(tx, &id, about, now)?;
            read::product(tx, bucket, product, now)
        })
    }

    fn create_channel(&self, bucket: &str, product: &str, channel: &str) -> Result<Channel> {
        names::check_assignable(channel)?;
        self.write(|tx, now| {
            let product_id = read::product_id(tx, bucket, product)?;
            if read::channel_id(tx, &product_id, bucket, product, channel).is_ok() {
                return Err(Error::exists(format!(
                    "channel `{channel}` of {bucket}/{product} exists already"
                )));
            }
            ensure_channel(tx, &product_id, channel, false, now)?;
            named_channel(tx, bucket, product, channel, now)
        })
    }

    fn delete_channel(&self, bucket: &str, product: &str, channel: &str) -> Result<()> {
        names::check_assignable(channel)?;
        self.write(|tx, _| {
            let product_id = read::product_id(tx, bucket, product)?;
            let id = read::channel_id(tx, &product_id, bucket, product, channel)?;
            tx.execute(
                "UPDATE dependencies SET channel_id = NULL WHERE channel_id = ?1",
                [&id],
            )?;
            tx.execute(
                "DELETE FROM channel_assignments WHERE channel_id = ?1",
                [&id],
            )?;
            tx.execute("DELETE FROM channels WHERE id = ?1", [&id])?;
            Ok(())
        })
    }

    fn put_sbom(&self, build_id: &str, sbom: &NewSbom) -> Result<Sbom> {
        names::sbom(&sbom.name, &sbom.format)?;
        if sbom.content.is_empty() || sbom.content.len() > MAX_SBOM {
            return Err(Error::invalid(format!(
                "an SBOM is 1 byte to {} MiB, this one is {} bytes",
                MAX_SBOM >> 20,
                sbom.content.len()
            )));
        }
        self.write(|tx, now| {
            let exists: Option<String> = tx
                .prepare_cached("SELECT id FROM builds WHERE id = ?1")?
                .query_row([build_id], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Err(Error::not_found(format!("build with ID `{build_id}`")));
            }
            let id = new_id();
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO sboms (id, build_id, name, format, content, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (build_id, name) DO NOTHING",
                )?
                .execute(params![
                    id,
                    build_id,
                    sbom.name,
                    sbom.format,
                    sbom.content,
                    now.0
                ])?;
            if inserted == 0 {
                return Err(Error::exists(format!(
                    "build `{build_id}` has an SBOM named `{}` already",
                    sbom.name
                )));
            }
            Ok(Sbom {
                id,
                name: sbom.name.clone(),
                format: sbom.format.clone(),
                created_at: now,
            })
        })
    }

    fn sboms(&self, build_id: &str) -> Result<Vec<Sbom>> {
        self.read(|tx, _| {
            Ok(tx
                .prepare_cached(
                    "SELECT id, name, format, created_at FROM sboms WHERE build_id = ?1 ORDER BY name",
                )?
                .query_map([build_id], sbom_row)?
                .collect::<Result<_, _>>()?)
        })
    }

    fn sbom(&self, build_id: &str, name: &str) -> Result<(Sbom, Vec<u8>)> {
        self.read(|tx, _| {
            tx.prepare_cached(
                "SELECT id, name, format, created_at, content FROM sboms
                 WHERE build_id = ?1 AND name = ?2",
            )?
            .query_row([build_id, name], |r| Ok((sbom_row(r)?, r.get(4)?)))
            .optional()?
            .ok_or_else(|| Error::not_found(format!("SBOM `{name}` of build `{build_id}`")))
        })
    }
}

fn sbom_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Sbom> {
    Ok(Sbom {
        id: r.get(0)?,
        name: r.get(1)?,
        format: r.get(2)?,
        created_at: Timestamp(r.get(3)?),
    })
}

fn set_about(
    conn: &Connection,
    product_id: &str,
    about: &ProductAbout,
    now: Timestamp,
) -> Result<()> {
    names::about(about)?;
    let labels = serde_json::to_string(&about.labels).unwrap_or_else(|_| "{}".into());
    conn.prepare_cached(
        "UPDATE products SET description = ?2, labels = ?3, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![product_id, about.description, labels, now.0])?;
    Ok(())
}

fn named_channel(
    conn: &Connection,
    bucket: &str,
    product: &str,
    channel: &str,
    now: Timestamp,
) -> Result<Channel> {
    read::channels(conn, bucket, product, now)?
        .into_iter()
        .find(|c| c.name == channel)
        .ok_or_else(|| Error::not_found(format!("channel `{channel}` of {bucket}/{product}")))
}
