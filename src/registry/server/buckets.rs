//! Buckets and products: listing, showing, deleting.

use super::error::{ApiError, ApiResult, Params};
use super::paging::{Paged, Paging};
use super::{Caller, Registry};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

/// `/v1/buckets/...` down to a product.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/buckets", get(buckets))
        .route(
            "/v1/buckets/{bucket}",
            get(bucket).put(create_bucket).delete(delete_bucket),
        )
        .route("/v1/buckets/{bucket}/products", get(products))
        .route(PRODUCT, get(product_show).delete(delete_product))
}

/// A product's path; releases and channels hang below it.
pub(super) const PRODUCT: &str = "/v1/buckets/{bucket}/products/{product}";

/// `{bucket}/{product}` of a path.
pub(super) type Bp = Path<(String, String)>;
/// `{bucket}/{product}/{release or channel}` of a path.
pub(super) type Bpr = Path<(String, String, String)>;

async fn buckets(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(page): Params<Paging>,
) -> Result<Paged<Bucket>, ApiError> {
    let token = caller;
    let all = r.call(|s| s.buckets()).await?;
    page.page(
        all.into_iter()
            .filter(|b| token.bucket.as_ref().is_none_or(|mine| *mine == b.name))
            .collect(),
    )
}

async fn bucket(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(b): Path<String>,
) -> ApiResult<Bucket> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.bucket(&b)).await?))
}

/// Make the bucket if it does not exist (so an HCP project can be handed out before anything
/// is published into it).
async fn create_bucket(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(b): Path<String>,
) -> ApiResult<Bucket> {
    let t = r.allow(&caller, Scope::Admin, Some(&b)).await?;
    let hcp = r.hcp.clone();
    Ok(Json(
        r.write(&t, "bucket.create", b.clone(), move |_| {
            hcp.ensure_bucket(&b)
        })
        .await?,
    ))
}

async fn delete_bucket(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(b): Path<String>,
) -> Result<StatusCode, ApiError> {
    let t = r.allow(&caller, Scope::Admin, Some(&b)).await?;
    r.write(&t, "bucket.delete", b.clone(), move |s| s.delete_bucket(&b))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn products(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(b): Path<String>,
    Params(page): Params<Paging>,
) -> Result<Paged<Product>, ApiError> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    page.page(r.call(move |s| s.products(&b)).await?)
}

async fn product_show(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p)): Bp,
) -> ApiResult<Product> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.product(&b, &p)).await?))
}

async fn delete_product(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p)): Bp,
) -> Result<StatusCode, ApiError> {
    let t = r.allow(&caller, Scope::Admin, Some(&b)).await?;
    r.write(&t, "product.delete", format!("{b}/{p}"), move |s| {
        s.delete_product(&b, &p)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
