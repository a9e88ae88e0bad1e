//! `kiln registry serve`: the registry over HTTP for a team. A versioned JSON API over any
//! [`Store`], every route behind a bearer token of the scope it needs, every write audited.
//!
//! Errors are `{"code", "message", "hint"}` with the status that fits; a storage failure is
//! logged on the server and answered with a generic message, never its details.

mod buckets;
mod builds;
mod channels;
mod console;
mod error;
mod hcp;
mod images;
mod limit;
mod metrics;
mod oauth;
mod paging;
mod releases;
pub mod tls;
mod tokens;

pub use builds::{ExpireBody, FailBody, FinishBody};
pub use channels::AssignBody;
pub use error::{ApiError, ErrorBody};
pub use hcp::project_id;
pub use images::{ImageParams, Lookup, Owner, SearchParams};
pub use limit::RateLimiter;
pub use paging::{Paging, MAX_PAGE_SIZE, NEXT_CURSOR, PAGE_SIZE};
pub use releases::RevokeBody;
pub use tokens::AuditParams;

use super::auth::{AuditEntry, Scope, Token, Tokens};
use super::model::Timestamp;
use super::{HcpStore, Store};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body accepted (a publish of hundreds of regions fits many times over).
pub const MAX_BODY: usize = 1 << 20;
/// The default of [`Registry::request_timeout`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler reaches.
#[derive(Clone)]
pub struct Registry {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<dyn Tokens>,
    /// The same store's HCP-only records.
    pub hcp: Arc<dyn HcpStore>,
    /// A request that takes longer (a client trickling its body) is answered 408.
    pub request_timeout: Duration,
    /// Requests a second each token may make.
    pub limiter: Arc<RateLimiter>,
    /// What `/metrics` reports.
    pub metrics: Arc<metrics::Metrics>,
}

impl Registry {
    /// A registry over `store` (its records, tokens and HCP-only records), with the default
    /// timeout and no rate limit.
    pub fn new<S: Store + Tokens + HcpStore + 'static>(store: Arc<S>) -> Registry {
        Registry {
            store: store.clone(),
            tokens: store.clone(),
            hcp: store,
            request_timeout: REQUEST_TIMEOUT,
            limiter: Arc::new(RateLimiter::new(None)),
            metrics: Arc::default(),
        }
    }
}

/// Every route: the API's resources, the web console, the health check.
pub fn router(registry: Registry) -> Router {
    let timeout = registry.request_timeout;
    let metrics = registry.metrics.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::serve))
        .route("/api/openapi.json", get(openapi))
        .merge(buckets::router())
        .merge(releases::router())
        .merge(channels::router())
        .merge(builds::router())
        .merge(images::router())
        .merge(tokens::router())
        .merge(oauth::router())
        .merge(hcp::router())
        .merge(console::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::count,
        ))
        .with_state(registry)
}

/// Serve on `listener` (plain TCP, or [`tls::TlsListener`]) until `shutdown` resolves, then
/// finish the requests in flight.
pub async fn serve<L>(
    listener: L,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router(registry))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness for a load balancer: the store answers and its schema is this kiln's (the
/// organization is the newest migration's record).
async fn readyz(State(r): State<Registry>) -> Response {
    let hcp = r.hcp.clone();
    match tokio::task::spawn_blocking(move || hcp.organization_id()).await {
        Ok(Ok(_)) => "ready\n".into_response(),
        Ok(Err(e)) => {
            eprintln!("error: not ready: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store does not answer; the server's log says why\n",
            )
                .into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response(),
    }
}

/// The OpenAPI document, kept in the repository beside the routes.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// The caller's live token, checked before anything else of the request is read.
pub struct Caller(pub Token);

impl axum::extract::FromRequestParts<Registry> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        r: &Registry,
    ) -> Result<Self, Self::Rejection> {
        r.authenticate(&parts.headers).await.map(Caller)
    }
}

impl Registry {
    /// The caller's live token.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Token, ApiError> {
        let secret = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(ApiError::unauthorized)?
            .to_string();
        let token = self
            .token_for(secret)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        self.limiter
            .take(&token.id)
            .map_err(ApiError::rate_limited)?;
        Ok(token)
    }

    /// The live token whose secret this is: at once when the store has it at hand, else
    /// through the blocking pool (the API's bearer tokens and the console's cookie alike).
    async fn token_for(&self, secret: String) -> Result<Option<Token>, ApiError> {
        if let Some(t) = self.tokens.token_at_hand(&secret) {
            return Ok(Some(t));
        }
        let tokens = self.tokens.clone();
        blocking(move || tokens.authenticate(&secret)).await
    }

    /// The image a query names: at once when the store has it cached, else from the store.
    async fn image(
        &self,
        q: super::model::ImageQuery,
    ) -> Result<super::model::ImageRecord, ApiError> {
        if let Some(hit) = self.store.image_at_hand(&q) {
            return Ok(hit);
        }
        self.call(move |s| s.image(&q)).await
    }

    /// The caller's token, if it may do `needed` on `bucket`.
    async fn allow(
        &self,
        token: &Token,
        needed: Scope,
        bucket: Option<&str>,
    ) -> Result<Token, ApiError> {
        if !token.allows(needed, bucket) {
            return Err(ApiError::forbidden(needed, bucket));
        }
        Ok(token.clone())
    }

    /// The caller's token, if it may do `needed` on the bucket a release or build ID is in.
    async fn allow_id(&self, token: &Token, needed: Scope, id: &str) -> Result<Token, ApiError> {
        let token = token.clone();
        if token.scope < needed {
            return Err(ApiError::forbidden(needed, None));
        }
        if let Some(mine) = token.bucket.clone() {
            let id = id.to_string();
            let bucket = self.call(move |s| s.bucket_of(&id)).await?;
            if bucket != mine {
                return Err(ApiError::forbidden(needed, Some(&bucket)));
            }
        }
        Ok(token)
    }

    /// Run a store call off the async threads.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> super::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        blocking(move || f(&*store)).await
    }

    /// Run a write and record it in the audit log, whatever its outcome.
    async fn write<T: Send + 'static>(
        &self,
        token: &Token,
        operation: &str,
        target: String,
        f: impl FnOnce(&dyn Store) -> super::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let result = self.call(f).await;
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => e.code.to_string(),
        };
        self.audit_outcome(token, operation, target, outcome).await;
        result
    }

    /// Record a write's outcome in the audit log.
    async fn audit_outcome(&self, token: &Token, operation: &str, target: String, outcome: String) {
        let entry = AuditEntry {
            at: Timestamp::now(),
            token_id: Some(token.id.clone()),
            operation: operation.to_string(),
            target,
            outcome,
        };
        let tokens = self.tokens.clone();
        if let Err(e) = blocking(move || tokens.audit(&entry)).await {
            eprintln!("error: cannot write the audit log: {}", e.message);
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> super::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the server",
        )),
    }
}
