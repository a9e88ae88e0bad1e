//! `kiln registry serve`: the registry over HTTP for a team. A versioned JSON API over any
//! [`Store`], every route behind a bearer token of the scope it needs, every write audited.
//!
//! Errors are `{"code", "message", "hint"}` with the status that fits; a storage failure is
//! logged on the server and answered with a generic message, never its details.

use super::auth::{AuditEntry, NewToken, Scope, Token, Tokens};
use super::error::Error;
use super::model::*;
use super::Store;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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
    /// A request that takes longer (a client trickling its body) is answered 408.
    pub request_timeout: Duration,
}

/// The API's one error: a status and what to tell the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    hint: Option<String>,
}

/// An error's JSON body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            hint: None,
        }
    }

    fn unauthorized() -> ApiError {
        ApiError {
            hint: Some(
                "send `Authorization: Bearer <token>`; `kiln registry token create` makes one"
                    .into(),
            ),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid token is required",
            )
        }
    }

    fn forbidden(needed: Scope, bucket: Option<&str>) -> ApiError {
        let what = match bucket {
            Some(b) => format!("a {} token for bucket `{b}`", needed.as_str()),
            None => format!("a {} token for every bucket", needed.as_str()),
        };
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs {what}"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let hint = e.hint().map(str::to_string);
        let (status, code) = match &e {
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            Error::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            Error::Revoked { .. } => (StatusCode::CONFLICT, "revoked"),
            Error::Storage { message } => {
                eprintln!("error: registry storage: {message}");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    "the registry's storage failed; the server's log says why",
                );
            }
        };
        ApiError {
            hint,
            ..ApiError::new(status, code, e.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_string(),
            message: self.message,
            hint: self.hint,
        };
        (self.status, Json(body)).into_response()
    }
}

/// A JSON body whose rejections (malformed, unknown field, too large) are API errors.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {MAX_BODY} bytes"),
        );
    }
    // Malformed JSON, a missing or unknown field, a wrong type: all the client's to fix.
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.body_text())
}

/// Query parameters whose rejections are API errors.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.body_text())
}

type ApiResult<T> = Result<Json<T>, ApiError>;

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
        let tokens = self.tokens.clone();
        blocking(move || tokens.authenticate(&secret))
            .await?
            .ok_or_else(ApiError::unauthorized)
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
        let entry = AuditEntry {
            at: Timestamp::now(),
            token_id: Some(token.id.clone()),
            operation: operation.to_string(),
            target,
            outcome: match &result {
                Ok(_) => "ok".to_string(),
                Err(e) => e.code.to_string(),
            },
        };
        let tokens = self.tokens.clone();
        if let Err(e) = blocking(move || tokens.audit(&entry)).await {
            eprintln!("error: cannot write the audit log: {}", e.message);
        }
        result
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

/// `PUT .../channels/{channel}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub release: String,
    /// Who the client says assigns it (the audit log names the token either way).
    #[serde(default)]
    pub author: Option<String>,
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
}

/// `?limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    #[serde(default)]
    pub limit: Option<usize>,
}

type Bp = Path<(String, String)>;
type Bpr = Path<(String, String, String)>;

/// Every route of the API (and the health check).
pub fn router(registry: Registry) -> Router {
    let timeout = registry.request_timeout;
    let product = "/v1/buckets/{bucket}/products/{product}";
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/v1/buckets", get(buckets))
        .route("/v1/buckets/{bucket}", get(bucket).delete(delete_bucket))
        .route("/v1/buckets/{bucket}/products", get(products))
        .route(product, get(product_show).delete(delete_product))
        .route(&format!("{product}/releases"), get(releases))
        .route(&format!("{product}/releases/{{release}}"), get(release))
        .route(
            &format!("{product}/releases/{{release}}/revoke"),
            post(revoke),
        )
        .route(
            &format!("{product}/releases/{{release}}/restore"),
            post(restore),
        )
        .route(&format!("{product}/channels"), get(channels))
        .route(&format!("{product}/channels/{{channel}}"), put(assign))
        .route(
            &format!("{product}/channels/{{channel}}/history"),
            get(history),
        )
        .route("/v1/publish", post(publish))
        .route("/v1/releases", post(begin_release))
        .route("/v1/releases/{id}/parents", post(add_parent))
        .route("/v1/builds", post(start_build))
        .route("/v1/builds/expire", post(expire))
        .route("/v1/builds/{id}/heartbeat", post(heartbeat))
        .route("/v1/builds/{id}/finish", post(finish_build))
        .route("/v1/builds/{id}/fail", post(fail_build))
        .route("/v1/image", get(image))
        .route("/v1/lookup", get(lookup))
        .route("/v1/search", get(search))
        .route("/v1/owners/{id}", get(owner))
        .route("/v1/tokens", post(create_token).get(list_tokens))
        .route("/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/v1/audit", get(audit))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(registry)
}

/// Serve until `shutdown` resolves, then finish the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
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

async fn buckets(State(r): State<Registry>, Caller(caller): Caller) -> ApiResult<Vec<Bucket>> {
    let token = caller;
    let all = r.call(|s| s.buckets()).await?;
    Ok(Json(
        all.into_iter()
            .filter(|b| token.bucket.as_ref().is_none_or(|mine| *mine == b.name))
            .collect(),
    ))
}

async fn bucket(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path(b): Path<String>,
) -> ApiResult<Bucket> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.bucket(&b)).await?))
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
) -> ApiResult<Vec<Product>> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.products(&b)).await?))
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

async fn releases(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p)): Bp,
) -> ApiResult<Vec<Release>> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.releases(&b, &p)).await?))
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

async fn channels(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p)): Bp,
) -> ApiResult<Vec<Channel>> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.channels(&b, &p)).await?))
}

async fn history(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Path((b, p, c)): Bpr,
) -> ApiResult<Vec<ChannelAssignment>> {
    r.allow(&caller, Scope::Read, Some(&b)).await?;
    Ok(Json(r.call(move |s| s.channel_history(&b, &p, &c)).await?))
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

async fn image(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(q): Params<ImageParams>,
) -> ApiResult<ImageRecord> {
    r.allow(&caller, Scope::Read, Some(&q.bucket)).await?;
    let q = q.query()?;
    Ok(Json(r.call(move |s| s.image(&q)).await?))
}

async fn lookup(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Params(q): Params<ImageParams>,
) -> ApiResult<Lookup> {
    r.allow(&caller, Scope::Read, Some(&q.bucket)).await?;
    let q = q.query()?;
    let found = r.call(move |s| s.image(&q)).await?;
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
) -> ApiResult<Vec<ImageRecord>> {
    let token = caller;
    let found = r.call(move |s| s.search(&q.id)).await?;
    Ok(Json(
        found
            .into_iter()
            .filter(|i| token.allows(Scope::Read, Some(&i.bucket)))
            .collect(),
    ))
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

async fn create_token(
    State(r): State<Registry>,
    Caller(caller): Caller,
    Body(new): Body<NewToken>,
) -> ApiResult<super::auth::CreatedToken> {
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

async fn list_tokens(State(r): State<Registry>, Caller(caller): Caller) -> ApiResult<Vec<Token>> {
    r.allow(&caller, Scope::Admin, None).await?;
    let tokens = r.tokens.clone();
    Ok(Json(blocking(move || tokens.tokens()).await?))
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
