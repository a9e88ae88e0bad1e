//! Images: the lookups consumers make, search by external ID, and who owns an ID.

use super::error::{ApiError, ApiResult, Params};
use super::paging::{Paged, Paging};
use super::{Caller, Registry};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The read side consumers use.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/image", get(image))
        .route("/v1/lookup", get(lookup))
        .route("/v1/search", get(search))
        .route("/v1/owners/{id}", get(owner))
}

/// `?bucket=&product=&(release=|channel=)&provider=&region=[&component=]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageParams {
    pub bucket: String,
    pub product: String,
    pub release: Option<String>,
    pub channel: Option<String>,
    pub provider: String,
    pub region: String,
    pub component: Option<String>,
}

impl ImageParams {
    fn query(self) -> Result<ImageQuery, ApiError> {
        let at = match (self.release, self.channel) {
            (Some(r), None) => ReleaseRef::Release(r),
            (None, Some(c)) => ReleaseRef::Channel(c),
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "give exactly one of `release` and `channel`",
                ))
            }
        };
        Ok(ImageQuery {
            bucket: self.bucket,
            product: self.product,
            at,
            provider: self.provider,
            region: self.region,
            component: self.component,
        })
    }
}

/// What `/v1/lookup` answers: the image ID first, for Terraform's `http` data source.
#[derive(Debug, Serialize, Deserialize)]
pub struct Lookup {
    pub id: String,
    pub release: String,
    pub version: Option<u64>,
    pub status: ReleaseStatus,
    pub channel: Option<String>,
    pub component: String,
}

/// `GET /v1/owners/{id}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Owner {
    pub bucket: String,
}

/// `?id=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub id: String,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

async fn image(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(q): Params<ImageParams>,
) -> ApiResult<ImageRecord> {
    r.allow(&caller, Scope::Read, Some(&q.bucket)).await?;
    let q = q.query()?;
    Ok(Json(r.image(q).await?))
}

async fn lookup(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(q): Params<ImageParams>,
) -> ApiResult<Lookup> {
    r.allow(&caller, Scope::Read, Some(&q.bucket)).await?;
    let q = q.query()?;
    let found = r.image(q).await?;
    Ok(Json(Lookup {
        id: found.external_id,
        release: found.release,
        version: found.version,
        status: found.release_status,
        channel: found.channel,
        component: found.component,
    }))
}

async fn search(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(q): Params<SearchParams>,
) -> Result<Paged<ImageRecord>, ApiError> {
    let token = caller;
    let page = Paging {
        limit: q.limit,
        cursor: q.cursor,
    };
    let id = q.id;
    let found = r.call(move |s| s.search(&id)).await?;
    page.page(
        found
            .into_iter()
            .filter(|i| token.allows(Scope::Read, Some(&i.bucket)))
            .collect(),
    )
}

async fn owner(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Owner> {
    r.allow_id(&caller, Scope::Read, &id).await?;
    Ok(Json(Owner {
        bucket: r.call(move |s| s.bucket_of(&id)).await?,
    }))
}
