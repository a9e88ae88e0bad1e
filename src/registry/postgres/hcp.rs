//! The HCP-only records ([`HcpStore`]): the organization, products made empty with their
//! description and labels, channels made empty or deleted, SBOMs.

use super::super::error::{Error, Result};
use super::super::hcp_store::{HcpStore, NewSbom, Sbom, MAX_SBOM};
use super::super::model::*;
use super::super::names;
use super::read::{self, one, opt};
use super::write::{ensure_channel, ensure_product, new_id};
use super::{Failure, Outcome, PostgresStore, Tx};
use postgres::Row;

impl HcpStore for PostgresStore {
    fn organization_id(&self) -> Result<String> {
        self.read(|tx, _| one(tx, "SELECT organization_id FROM registry WHERE id = 1", &[]))
    }

    fn ensure_bucket(&self, bucket: &str) -> Result<Bucket> {
        names::bucket(bucket)?;
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO buckets (id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                &[&new_id(), &bucket, &now.0],
            )?;
            read::bucket(tx, bucket)
        })
    }

    fn create_product(&self, bucket: &str, product: &str, about: &ProductAbout) -> Result<Product> {
        self.write(|tx, now| {
            if !absent(read::product_id(tx, bucket, product))? {
                return Err(
                    Error::exists(format!("product {bucket}/{product} exists already")).into(),
                );
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
            if !absent(read::channel_id(tx, &product_id, bucket, product, channel))? {
                return Err(Error::exists(format!(
                    "channel `{channel}` of {bucket}/{product} exists already"
                ))
                .into());
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
                "UPDATE dependencies SET channel_id = NULL WHERE channel_id = $1",
                &[&id],
            )?;
            tx.execute(
                "DELETE FROM channel_assignments WHERE channel_id = $1",
                &[&id],
            )?;
            tx.execute("DELETE FROM channels WHERE id = $1", &[&id])?;
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
            let exists: Option<String> =
                opt(tx, "SELECT id FROM builds WHERE id = $1", &[&build_id])?;
            if exists.is_none() {
                return Err(Error::not_found(format!("build with ID `{build_id}`")).into());
            }
            let id = new_id();
            let inserted = tx.execute(
                "INSERT INTO sboms (id, build_id, name, format, content, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (build_id, name) DO NOTHING",
                &[
                    &id,
                    &build_id,
                    &sbom.name,
                    &sbom.format,
                    &sbom.content,
                    &now.0,
                ],
            )?;
            if inserted == 0 {
                return Err(Error::exists(format!(
                    "build `{build_id}` has an SBOM named `{}` already",
                    sbom.name
                ))
                .into());
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
            tx.query(
                "SELECT id, name, format, created_at FROM sboms WHERE build_id = $1 ORDER BY name",
                &[&build_id],
            )?
            .iter()
            .map(sbom_row)
            .collect()
        })
    }

    fn sbom(&self, build_id: &str, name: &str) -> Result<(Sbom, Vec<u8>)> {
        self.read(|tx, _| {
            let row = tx
                .query_opt(
                    "SELECT id, name, format, created_at, content FROM sboms
                     WHERE build_id = $1 AND name = $2",
                    &[&build_id, &name],
                )?
                .ok_or_else(|| Error::not_found(format!("SBOM `{name}` of build `{build_id}`")))?;
            Ok((sbom_row(&row)?, row.try_get(4)?))
        })
    }
}

/// Whether a lookup found nothing; a database error stays an error (the transaction is void).
fn absent(found: Outcome<String>) -> Outcome<bool> {
    match found {
        Ok(_) => Ok(false),
        Err(Failure::Registry(Error::NotFound { .. })) => Ok(true),
        Err(e) => Err(e),
    }
}

fn sbom_row(r: &Row) -> Outcome<Sbom> {
    Ok(Sbom {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        format: r.try_get(2)?,
        created_at: Timestamp(r.try_get(3)?),
    })
}

fn set_about(
    tx: &mut Tx<'_>,
    product_id: &str,
    about: &ProductAbout,
    now: Timestamp,
) -> Outcome<()> {
    names::about(about)?;
    let labels = serde_json::to_string(&about.labels).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "UPDATE products SET description = $2, labels = $3, updated_at = $4 WHERE id = $1",
        &[&product_id, &about.description, &labels, &now.0],
    )?;
    Ok(())
}

fn named_channel(
    tx: &mut Tx<'_>,
    bucket: &str,
    product: &str,
    channel: &str,
    now: Timestamp,
) -> Outcome<Channel> {
    read::channels(tx, bucket, product, now)?
        .into_iter()
        .find(|c| c.name == channel)
        .ok_or_else(|| {
            Error::not_found(format!("channel `{channel}` of {bucket}/{product}")).into()
        })
}
