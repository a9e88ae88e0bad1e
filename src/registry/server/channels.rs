//! Channels: listing, their history, and assigning one to a release.

use super::error::{ApiError, ApiResult, Body, Params};
use super::paging::{Paged, Paging};
use super::{Caller, Registry};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::buckets::{Bp, Bpr, PRODUCT};

/// A product's channels.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route(&format!("{PRODUCT}/channels"), get(channels))
        .route(&format!("{PRODUCT}/channels/{{channel}}"), put(assign))
        .route(
            &format!("{PRODUCT}/channels/{{channel}}/history"),
            get(history),
        )
}

/// `PUT .../channels/{channel}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub release: String,
    /// Who the client says assigns it (the audit log names the token either way).
    #[serde(default)]
    pub author: Option<String>,
}

async fn channels(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p)): Bp,
    Params(page): Params<Paging>,
) -> Result<Paged<Channel>, ApiError> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    page.page(r.call(move |s| s.channels(&b, &p)).await?)
}

async fn history(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p, c)): Bpr,
    Params(page): Params<Paging>,
) -> Result<Paged<ChannelAssignment>, ApiError> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    page.page(r.call(move |s| s.channel_history(&b, &p, &c)).await?)
}

async fn assign(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p, c)): Bpr,
    Body(body): Body<AssignBody>,
) -> ApiResult<ChannelAssignment> {
    let t = r.allow(&caller, Scope::Admin, Some(&b)).await?;
    let assign = AssignChannel {
        bucket: b.clone(),
        product: p.clone(),
        channel: c.clone(),
        release: body.release,
        author: body.author.unwrap_or_else(|| format!("token {}", t.id)),
    };
    let target = format!("{b}/{p}/{c}");
    Ok(Json(
        r.write(&t, "channel.assign", target, move |s| {
            s.assign_channel(&assign)
        })
        .await?,
    ))
}
