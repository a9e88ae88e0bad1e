//! Tokens and the audit log, for admin tokens.

use super::error::{ApiError, ApiResult, Body, Params};
use super::paging::{Paged, Paging};
use super::{blocking, Caller, Registry};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::registry::auth::{AuditEntry, NewToken, Token};

/// Managing tokens through the API.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route("/v1/tokens", post(create_token).get(list_tokens))
        .route("/v1/tokens/{id}", delete(revoke_token))
        .route("/v1/audit", get(audit))
}

/// `?limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    #[serde(default)]
    pub limit: Option<usize>,
}

async fn create_token(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Body(new): Body<NewToken>,
) -> ApiResult<crate::registry::auth::CreatedToken> {
    let t = r.allow(&caller, Scope::Admin, None).await?;
    let tokens = r.tokens.clone();
    let created = blocking(move || tokens.create_token(&new)).await?;
    let entry = AuditEntry {
        at: Timestamp::now(),
        token_id: Some(t.id),
        operation: "token.create".into(),
        target: created.token.id.clone(),
        outcome: "ok".into(),
    };
    let tokens = r.tokens.clone();
    blocking(move || tokens.audit(&entry)).await?;
    Ok(Json(created))
}

async fn list_tokens(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(page): Params<Paging>,
) -> Result<Paged<Token>, ApiError> {
    r.allow(&caller, Scope::Admin, None).await?;
    let tokens = r.tokens.clone();
    page.page(blocking(move || tokens.tokens()).await?)
}

async fn revoke_token(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Token> {
    let t = r.allow(&caller, Scope::Admin, None).await?;
    let tokens = r.tokens.clone();
    let target = id.clone();
    let revoked = blocking(move || tokens.revoke_token(&id)).await?;
    let entry = AuditEntry {
        at: Timestamp::now(),
        token_id: Some(t.id),
        operation: "token.revoke".into(),
        target,
        outcome: "ok".into(),
    };
    let tokens = r.tokens.clone();
    blocking(move || tokens.audit(&entry)).await?;
    Ok(Json(revoked))
}

async fn audit(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(p): Params<AuditParams>,
) -> ApiResult<Vec<AuditEntry>> {
    r.allow(&caller, Scope::Admin, None).await?;
    let tokens = r.tokens.clone();
    let limit = p.limit.unwrap_or(1000).min(100_000);
    Ok(Json(blocking(move || tokens.audit_log(limit)).await?))
}
