//! Releases: reading, publishing in one call or step by step, ancestry, revocation.

use super::error::{ApiError, ApiResult, Body, Params};
use super::paging::{Paged, Paging};
use super::{Caller, Registry};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::buckets::{Bp, Bpr, PRODUCT};

/// A product's releases, and the publishing calls.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route(&format!("{PRODUCT}/releases"), get(releases))
        .route(&format!("{PRODUCT}/releases/{{release}}"), get(release))
        .route(
            &format!("{PRODUCT}/releases/{{release}}/revoke"),
            post(revoke),
        )
        .route(
            &format!("{PRODUCT}/releases/{{release}}/restore"),
            post(restore),
        )
        .route("/v1/publish", post(publish))
        .route("/v1/releases", post(begin_release))
        .route("/v1/releases/{id}/parents", post(add_parent))
}

/// `POST .../revoke`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RevokeBody {
    /// Who the client says revokes it (the audit log names the token either way).
    pub author: Option<String>,
    pub at: Option<Timestamp>,
    pub message: String,
    pub skip_descendants: bool,
}

async fn releases(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p)): Bp,
    Params(page): Params<Paging>,
) -> Result<Paged<Release>, ApiError> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    page.page(r.call(move |s| s.releases(&b, &p)).await?)
}

async fn release(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p, rel)): Bpr,
) -> ApiResult<Release> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.release(&b, &p, &rel)).await?))
}

async fn revoke(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p, rel)): Bpr,
    Body(body): Body<RevokeBody>,
) -> ApiResult<Vec<String>> {
    let t = r.allow(&caller, Scope::Admin, Some(&b)).await?;
    let revoke = Revoke {
        bucket: b.clone(),
        product: p.clone(),
        release: rel.clone(),
        at: body.at,
        message: body.message,
        author: body.author.unwrap_or_else(|| format!("token {}", t.id)),
        skip_descendants: body.skip_descendants,
    };
    let target = format!("{b}/{p}/{rel}");
    Ok(Json(
        r.write(&t, "release.revoke", target, move |s| s.revoke(&revoke))
            .await?,
    ))
}

async fn restore(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p, rel)): Bpr,
) -> ApiResult<Vec<String>> {
    let t = r.allow(&caller, Scope::Admin, Some(&b)).await?;
    let target = format!("{b}/{p}/{rel}");
    Ok(Json(
        r.write(&t, "release.restore", target, move |s| {
            s.restore(&b, &p, &rel)
        })
        .await?,
    ))
}

async fn publish(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Body(p): Body<Publish>,
) -> ApiResult<Completion> {
    let t = r.allow(&caller, Scope::Write, Some(&p.bucket)).await?;
    let target = format!("{}/{}/{}", p.bucket, p.product, p.release);
    Ok(Json(
        r.write(&t, "publish", target, move |s| s.publish(&p))
            .await?,
    ))
}

async fn begin_release(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Body(b): Body<BeginRelease>,
) -> ApiResult<ReleaseStart> {
    let t = r.allow(&caller, Scope::Write, Some(&b.bucket)).await?;
    let target = format!("{}/{}/{}", b.bucket, b.product, b.release);
    Ok(Json(
        r.write(&t, "release.begin", target, move |s| s.begin_release(&b))
            .await?,
    ))
}

async fn add_parent(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Body(parent): Body<ParentRef>,
) -> ApiResult<Dependency> {
    let t = r.allow_id(&caller, Scope::Write, &id).await?;
    if !t.allows(Scope::Read, Some(&parent.bucket)) {
        return Err(ApiError::forbidden(Scope::Read, Some(&parent.bucket)));
    }
    Ok(Json(
        r.write(&t, "release.parent", id.clone(), move |s| {
            s.add_dependency(&id, &parent)
        })
        .await?,
    ))
}
