//! HCP's buckets: kiln's products, with their description and labels.

use super::packer::*;
use super::wire;
use super::{HcpCaller, HcpError, HcpResult, Project};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use crate::registry::server::Registry;
use crate::registry::Store;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Json;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route(
            &at("/buckets"),
            get(list_buckets).put(create_bucket).fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}"),
            get(get_bucket)
                .patch(update_bucket)
                .delete(delete_bucket)
                .fallback(unimplemented),
        )
}

#[derive(Serialize)]
struct BucketResponse {
    bucket: wire::Bucket,
}

fn hcp_bucket(s: &dyn Store, p: &Project, product: &Product) -> Result<wire::Bucket, HcpError> {
    let latest = match &product.latest {
        Some(name) => Some(s.release(&p.bucket, &product.name, name)?),
        None => None,
    };
    Ok(wire::Bucket::new(product, latest.as_ref(), &location(p)))
}

async fn list_buckets(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let q = ListQuery::from(q);
    let (buckets, pagination) = r
        .hcp_call(move |s| {
            // By name unless asked otherwise.
            let mut all = s.products(&p.bucket)?;
            if let Some(desc) = q.descending("created_at") {
                all.sort_by_key(|x| (x.created_at, x.name.clone()));
                if desc {
                    all.reverse();
                }
            } else if q.descending("name") == Some(true) {
                all.reverse();
            }
            let (page, pagination) = q.page(all)?;
            let page = page
                .iter()
                .map(|product| hcp_bucket(s, &p, product))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((page, pagination))
        })
        .await?;
    Ok(Json(json!({"buckets": buckets, "pagination": pagination})))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateBucketBody {
    name: String,
    description: String,
    labels: BTreeMap<String, String>,
}

async fn create_bucket(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj)): Path<(String, String)>,
    HcpBody(body): HcpBody<CreateBucketBody>,
) -> HcpResult<BucketResponse> {
    let p = r.project(&t, Scope::Write, &org, &proj).await?;
    bucket_name(&body.name)?;
    let hcp = r.hcp.clone();
    let token = p.token.clone();
    let target = format!("{}/{}", p.bucket, body.name);
    let bucket = r
        .hcp_write(&token, "hcp.bucket.create", target, move |s| {
            let about = ProductAbout {
                description: body.description,
                labels: body.labels,
            };
            let product = hcp.create_product(&p.bucket, &body.name, &about)?;
            hcp_bucket(s, &p, &product)
        })
        .await?;
    Ok(Json(BucketResponse { bucket }))
}

async fn get_bucket(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
) -> HcpResult<BucketResponse> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let bucket = r
        .hcp_call(move |s| {
            let product = s.product(&p.bucket, &b).map_err(bucket_missing(&b))?;
            hcp_bucket(s, &p, &product)
        })
        .await?;
    Ok(Json(BucketResponse { bucket }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateBucketBody {
    description: Option<String>,
    labels: Option<BTreeMap<String, String>>,
}

async fn update_bucket(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
    HcpBody(body): HcpBody<UpdateBucketBody>,
) -> HcpResult<BucketResponse> {
    let p = r.project(&t, Scope::Write, &org, &proj).await?;
    let hcp = r.hcp.clone();
    let token = p.token.clone();
    let target = format!("{}/{b}", p.bucket);
    let bucket = r
        .hcp_write(&token, "hcp.bucket.update", target, move |s| {
            let now = s.product(&p.bucket, &b).map_err(bucket_missing(&b))?;
            let about = ProductAbout {
                description: body.description.unwrap_or(now.description),
                labels: body.labels.unwrap_or(now.labels),
            };
            let product = hcp.update_product(&p.bucket, &b, &about)?;
            hcp_bucket(s, &p, &product)
        })
        .await?;
    Ok(Json(BucketResponse { bucket }))
}

async fn delete_bucket(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Admin, &org, &proj).await?;
    let token = p.token.clone();
    let target = format!("{}/{b}", p.bucket);
    r.hcp_write(&token, "hcp.bucket.delete", target, move |s| {
        Ok(s.delete_product(&p.bucket, &b)
            .map_err(bucket_missing(&b))?)
    })
    .await?;
    Ok(Json(json!({})))
}
