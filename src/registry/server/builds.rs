//! Builds: started, kept alive, finished or failed by a running kiln build.

use super::error::{ApiError, ApiResult, Body};
use super::{Caller, Registry};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A build's lifecycle.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/builds", post(start_build))
        .route("/v1/builds/expire", post(expire))
        .route("/v1/builds/{id}/heartbeat", post(heartbeat))
        .route("/v1/builds/{id}/finish", post(finish_build))
        .route("/v1/builds/{id}/fail", post(fail_build))
}

/// `POST /v1/builds/{id}/finish`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    pub images: Vec<NewImage>,
}

/// `POST /v1/builds/{id}/fail`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailBody {
    pub end: BuildEnd,
    #[serde(default)]
    pub message: String,
}

/// `POST /v1/builds/expire`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpireBody {
    pub max_age_seconds: u64,
}

async fn start_build(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Body(b): Body<BuildStart>,
) -> ApiResult<Build> {
    let t = r.allow_id(&caller, Scope::Write, &b.release_id).await?;
    let target = format!("{}/{}", b.release_id, b.component);
    Ok(Json(
        r.write(&t, "build.start", target, move |s| s.start_build(&b))
            .await?,
    ))
}

async fn expire(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Body(b): Body<ExpireBody>,
) -> ApiResult<Vec<String>> {
    if caller.scope < Scope::Write {
        return Err(ApiError::forbidden(Scope::Write, None));
    }
    // A bucket-limited token cannot touch other buckets' builds: nothing to expire for it.
    if caller.bucket.is_some() {
        return Ok(Json(Vec::new()));
    }
    let t = caller;
    let age = Duration::from_secs(b.max_age_seconds);
    Ok(Json(
        r.write(&t, "builds.expire", String::new(), move |s| {
            s.expire_stale_builds(age)
        })
        .await?,
    ))
}

async fn heartbeat(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    r.allow_id(&caller, Scope::Write, &id).await?;
    r.call(move |s| s.heartbeat(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn finish_build(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Body(b): Body<FinishBody>,
) -> ApiResult<Completion> {
    let t = r.allow_id(&caller, Scope::Write, &id).await?;
    Ok(Json(
        r.write(&t, "build.finish", id.clone(), move |s| {
            s.finish_build(&id, &b.images)
        })
        .await?,
    ))
}

async fn fail_build(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Body(b): Body<FailBody>,
) -> Result<StatusCode, ApiError> {
    let t = r.allow_id(&caller, Scope::Write, &id).await?;
    r.write(&t, "build.fail", id.clone(), move |s| {
        s.fail_build(&id, b.end, &b.message)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
