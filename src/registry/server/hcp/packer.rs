//! The Packer service's routes: buckets, versions, builds, channels, SBOMs, enforced blocks and
//! the registry, over kiln's products, releases, builds and channels.

use super::wire::{self, Location, Pagination};
use super::{Code, HcpCaller, HcpError, HcpResult, Project, PACKER};
use crate::registry::auth::{Scope, Token};
use crate::registry::model::*;
use crate::registry::server::{Registry, MAX_PAGE_SIZE, PAGE_SIZE};
use crate::registry::{Error, NewSbom, Store};
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::routing::{any, get};
use axum::{Json, Router};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) fn router() -> Router<Registry> {
    let at = |rest: &str| format!("{PACKER}{rest}");
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
        .route(
            &at("/buckets/{b}/versions"),
            get(list_versions)
                .post(create_version)
                .fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/versions/{fp}"),
            get(get_version)
                .patch(update_version)
                .fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/versions/{fp}/builds"),
            get(list_builds).post(create_build).fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/versions/{fp}/builds/{id}"),
            get(get_build).patch(update_build).fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/versions/{fp}/builds/{id}/sboms"),
            get(list_sboms).put(upload_sbom).fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/versions/{fp}/builds/{id}/sboms/{name}"),
            get(get_sbom).fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/channels"),
            get(list_channels)
                .post(create_channel)
                .fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/channels/assign"),
            axum::routing::post(assign_channel_version).fallback(unimplemented),
        )
        .route(
            &at("/_search/external_artifact"),
            axum::routing::post(search_external_artifact).fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/channels/{c}"),
            get(get_channel)
                .patch(update_channel)
                .delete(delete_channel)
                .fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/channels/{c}/history"),
            get(channel_history).fallback(unimplemented),
        )
        .route(
            &at("/enforced_blocks/bucket/{b}"),
            get(enforced_blocks).fallback(unimplemented),
        )
        .route(&at("/registry"), get(get_registry).fallback(unimplemented))
        .route("/packer/{*rest}", any(unimplemented))
}

/// Every other operation of the API (and the 2021-04-30 API of Packer 1.9 and 1.10).
async fn unimplemented(uri: axum::http::Uri) -> HcpError {
    if uri.path().starts_with("/packer/2021-04-30/") {
        return HcpError::new(
            Code::Unimplemented,
            "kiln speaks HCP Packer's 2023-01-01 API, which Packer 1.11 and later use; upgrade Packer",
        );
    }
    HcpError::new(
        Code::Unimplemented,
        format!("kiln does not implement {}", uri.path()),
    )
}

/// A JSON body (whatever its `Content-Type` says; an empty one is `{}`), with HCP's error when
/// it is not one; unknown fields are ignored, as HCP does.
pub(super) struct HcpBody<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HcpBody<T> {
    type Rejection = HcpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let code = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                "the request body is too large".to_string()
            } else {
                e.body_text()
            };
            HcpError::new(Code::InvalidArgument, code)
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text).map(HcpBody).map_err(|e| {
            HcpError::new(
                Code::InvalidArgument,
                format!("the body is not what this route takes: {e}"),
            )
        })
    }
}

type Pb = Path<(String, String, String)>;
type Pbv = Path<(String, String, String, String)>;
type Pbvi = Path<(String, String, String, String, String)>;

/// The query of a list: `pagination.page_size`, `pagination.next_page_token`,
/// `sorting.order_by` (repeatable); anything else is ignored.
#[derive(Default)]
struct ListQuery {
    page_size: Option<String>,
    token: Option<String>,
    order_by: Vec<String>,
}

impl ListQuery {
    fn from(pairs: Vec<(String, String)>) -> ListQuery {
        let mut q = ListQuery::default();
        for (k, v) in pairs {
            match k.as_str() {
                "pagination.page_size" => q.page_size = Some(v),
                "pagination.next_page_token" => q.token = Some(v),
                "sorting.order_by" => q.order_by.push(v),
                _ => {}
            }
        }
        q
    }

    /// Whether `sorting.order_by` asks for `field` descending (`name desc`); `None` when it does
    /// not name `field`.
    fn descending(&self, field: &str) -> Option<bool> {
        self.order_by.iter().find_map(|o| {
            let mut words = o.split_whitespace();
            (words.next() == Some(field)).then(|| words.next() == Some("desc"))
        })
    }

    /// The page of `all` asked for, and the token of the next.
    fn page<T>(&self, all: Vec<T>) -> Result<(Vec<T>, Pagination), HcpError> {
        let size = match self.page_size.as_deref().filter(|s| !s.is_empty()) {
            None => PAGE_SIZE,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n <= 0 => PAGE_SIZE,
                Ok(n) => usize::try_from(n)
                    .unwrap_or(MAX_PAGE_SIZE)
                    .min(MAX_PAGE_SIZE),
                Err(_) => {
                    return Err(HcpError::new(
                        Code::InvalidArgument,
                        format!("pagination.page_size `{s}` is not a 64-bit integer"),
                    ))
                }
            },
        };
        let start = match self.token.as_deref().filter(|t| !t.is_empty()) {
            None => 0,
            Some(t) => t.parse::<usize>().map_err(|_| {
                HcpError::new(
                    Code::InvalidArgument,
                    format!("`{t}` is not a page token this server gave"),
                )
            })?,
        };
        let total = all.len();
        let items = all.into_iter().skip(start).take(size).collect();
        let end = start.saturating_add(size);
        Ok((
            items,
            Pagination {
                next_page_token: (end < total).then(|| end.to_string()),
                previous_page_token: (start > 0).then(|| start.saturating_sub(size).to_string()),
            },
        ))
    }
}

fn location(p: &Project) -> Location {
    Location {
        organization_id: p.org.clone(),
        project_id: p.id.clone(),
    }
}

/// A bucket's name checked in HCP's words (kiln's say "product").
fn bucket_name(name: &str) -> Result<(), HcpError> {
    crate::registry::names::product(name).map_err(|_| {
        HcpError::new(
            Code::InvalidArgument,
            format!("invalid bucket name {name:?}: a bucket name is 3–36 letters, digits and `-`"),
        )
    })
}

/// A fingerprint checked in HCP's words (kiln's say "release").
fn fingerprint(fp: &str) -> Result<(), HcpError> {
    crate::registry::names::release(fp).map_err(|_| {
        HcpError::new(
            Code::InvalidArgument,
            format!(
                "invalid fingerprint {fp:?}: a fingerprint is 1–40 letters, digits, `.`, `_` and `-`, beginning and ending with a letter or digit"
            ),
        )
    })
}

/// A product that is missing is HCP's bucket not found (5).
fn bucket_missing(bucket: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::NotFound { .. } => Error::not_found(format!("bucket `{bucket}`")),
        e => e,
    }
}

/// The release a fingerprint names: code 10 when the bucket exists and the version does not,
/// as HCP answers and Packer expects before it creates one.
fn version_of(s: &dyn Store, bucket: &str, product: &str, fp: &str) -> Result<Release, HcpError> {
    match s.release(bucket, product, fp) {
        Ok(r) => Ok(r),
        Err(Error::NotFound { .. }) => {
            s.product(bucket, product)
                .map_err(bucket_missing(product))?;
            Err(HcpError::new(
                Code::Aborted,
                format!("version with fingerprint `{fp}` not found in bucket `{product}`"),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

impl Registry {
    /// Run `f` on the store off the async threads, with HCP's errors.
    async fn hcp_call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, HcpError> + Send + 'static,
    ) -> Result<T, HcpError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(&*store)).await {
            Ok(r) => r,
            Err(_) => Err(HcpError::new(
                Code::Internal,
                "the request failed inside the server",
            )),
        }
    }

    /// Like [`Registry::hcp_call`], and record the write in the audit log.
    async fn hcp_write<T: Send + 'static>(
        &self,
        token: &Token,
        operation: &str,
        target: String,
        f: impl FnOnce(&dyn Store) -> Result<T, HcpError> + Send + 'static,
    ) -> Result<T, HcpError> {
        let result = self.hcp_call(f).await;
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("code {}", e.code as i32),
        };
        self.audit_outcome(token, operation, target, outcome).await;
        result
    }
}

// Buckets (kiln products).

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

// Versions (kiln releases).

#[derive(Serialize)]
struct VersionResponse {
    version: wire::Version,
}

async fn list_versions(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
    Query(q): Query<Vec<(String, String)>>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let q = ListQuery::from(q);
    let (versions, pagination) = r
        .hcp_call(move |s| {
            let mut all = s.releases(&p.bucket, &b).map_err(bucket_missing(&b))?;
            // Newest first, as HCP lists them, unless asked otherwise.
            if q.descending("created_at") != Some(false) {
                all.reverse();
            }
            let (page, pagination) = q.page(all)?;
            Ok((
                page.iter().map(wire::Version::new).collect::<Vec<_>>(),
                pagination,
            ))
        })
        .await?;
    Ok(Json(
        json!({"versions": versions, "pagination": pagination}),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateVersionBody {
    fingerprint: String,
    template_type: Option<String>,
}

/// HCP's template type as kiln stores it (`None` for unset).
fn template_type(given: Option<&str>) -> Result<Option<String>, HcpError> {
    match given.unwrap_or("") {
        "" | "TEMPLATE_TYPE_UNSET" => Ok(None),
        t @ ("HCL2" | "JSON") => Ok(Some(t.to_string())),
        other => Err(HcpError::new(
            Code::InvalidArgument,
            format!("template_type `{other}` is not HCL2, JSON or TEMPLATE_TYPE_UNSET"),
        )),
    }
}

async fn create_version(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
    HcpBody(body): HcpBody<CreateVersionBody>,
) -> HcpResult<VersionResponse> {
    let p = r.project(&t, Scope::Write, &org, &proj).await?;
    let template_type = template_type(body.template_type.as_deref())?;
    fingerprint(&body.fingerprint)?;
    let token = p.token.clone();
    let target = format!("{}/{b}/{}", p.bucket, body.fingerprint);
    let release = r
        .hcp_write(&token, "hcp.version.create", target, move |s| {
            s.product(&p.bucket, &b).map_err(bucket_missing(&b))?;
            if s.release(&p.bucket, &b, &body.fingerprint).is_ok() {
                return Err(HcpError::new(
                    Code::AlreadyExists,
                    format!(
                        "version with fingerprint `{}` exists already in bucket `{b}`",
                        body.fingerprint
                    ),
                ));
            }
            let begun = s.begin_release(&BeginRelease {
                bucket: p.bucket.clone(),
                product: b.clone(),
                release: body.fingerprint.clone(),
                template_type,
                ..BeginRelease::default()
            })?;
            Ok(begun.release)
        })
        .await?;
    Ok(Json(VersionResponse {
        version: wire::Version::new(&release),
    }))
}

async fn get_version(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp)): Pbv,
) -> HcpResult<VersionResponse> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let release = r
        .hcp_call(move |s| version_of(s, &p.bucket, &b, &fp))
        .await?;
    Ok(Json(VersionResponse {
        version: wire::Version::new(&release),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateVersionBody {
    revoke_at: Option<Timestamp>,
    revoke_in: Option<String>,
    revocation_message: String,
    skip_descendants_revocation: bool,
    restore: bool,
}

async fn update_version(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp)): Pbv,
    HcpBody(body): HcpBody<UpdateVersionBody>,
) -> HcpResult<VersionResponse> {
    let p = r.project(&t, Scope::Admin, &org, &proj).await?;
    let at = match (
        &body.revoke_at,
        body.revoke_in.as_deref().filter(|s| !s.is_empty()),
    ) {
        (Some(at), None) => Some(*at),
        (None, Some(after)) => {
            Some(Timestamp::now().plus(parse_duration(after).ok_or_else(|| {
                HcpError::new(
                    Code::InvalidArgument,
                    format!("revoke_in `{after}` is not a duration such as 30d or 2h45m"),
                )
            })?))
        }
        (Some(_), Some(_)) => {
            return Err(HcpError::new(
                Code::InvalidArgument,
                "give revoke_at or revoke_in, not both",
            ))
        }
        (None, None) => None,
    };
    let revoking = at.is_some() || !body.revocation_message.is_empty();
    if body.restore && revoking {
        return Err(HcpError::new(
            Code::InvalidArgument,
            "a version is either restored or revoked, not both at once",
        ));
    }
    let token = p.token.clone();
    let author = format!("token {}", token.id);
    let target = format!("{}/{b}/{fp}", p.bucket);
    let release = r
        .hcp_write(&token, "hcp.version.update", target, move |s| {
            let version = version_of(s, &p.bucket, &b, &fp)?;
            if revoking && !version.is_complete() {
                return Err(HcpError::new(
                    Code::FailedPrecondition,
                    format!(
                        "version `{fp}` is not complete; only a complete version can be revoked"
                    ),
                ));
            }
            if body.restore {
                s.restore(&p.bucket, &b, &fp)?;
            } else if revoking {
                s.revoke(&Revoke {
                    bucket: p.bucket.clone(),
                    product: b.clone(),
                    release: fp.clone(),
                    at,
                    message: body.revocation_message,
                    author,
                    skip_descendants: body.skip_descendants_revocation,
                })?;
            }
            version_of(s, &p.bucket, &b, &fp)
        })
        .await?;
    Ok(Json(VersionResponse {
        version: wire::Version::new(&release),
    }))
}

// Builds.

#[derive(Serialize)]
struct BuildResponse {
    build: wire::Build,
}

async fn list_builds(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp)): Pbv,
    Query(q): Query<Vec<(String, String)>>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let loc = location(&p);
    let q = ListQuery::from(q);
    let (builds, pagination) = r
        .hcp_call(move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            let (page, pagination) = q.page(release.builds.clone())?;
            let builds: Vec<_> = page
                .iter()
                .map(|x| wire::Build::new(x, &release.id))
                .collect();
            Ok((builds, pagination))
        })
        .await?;
    Ok(Json(
        json!({"builds": builds, "location": loc, "pagination": pagination}),
    ))
}

/// What a client says about a build: HCP's `CreateBuildBody` and `UpdateBuildBody` in one.
#[derive(Deserialize, Default)]
#[serde(default)]
struct BuildBody {
    component_type: String,
    status: Option<String>,
    platform: String,
    packer_run_uuid: String,
    artifacts: Vec<ArtifactBody>,
    labels: Option<BTreeMap<String, String>>,
    source_external_identifier: String,
    parent_version_id: String,
    parent_channel_id: String,
    metadata: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ArtifactBody {
    external_identifier: String,
    region: String,
}

fn build_status(given: Option<&str>) -> Result<BuildStatus, HcpError> {
    match given.unwrap_or("") {
        "" | "BUILD_UNSET" => Ok(BuildStatus::Unset),
        "BUILD_RUNNING" => Ok(BuildStatus::Running),
        "BUILD_DONE" => Ok(BuildStatus::Done),
        "BUILD_CANCELLED" => Ok(BuildStatus::Cancelled),
        "BUILD_FAILED" => Ok(BuildStatus::Failed),
        other => Err(HcpError::new(
            Code::InvalidArgument,
            format!("status `{other}` is not a BuildStatus"),
        )),
    }
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Where a parent ID points: a release (by its ID) or a channel (by its ID), looked for in the
/// buckets the caller may read.
fn parent_by_id(
    s: &dyn Store,
    token: &Token,
    body: &BuildBody,
) -> Result<Option<ParentRef>, HcpError> {
    let (id, channel) = match (some(&body.parent_channel_id), some(&body.parent_version_id)) {
        (Some(c), _) => (c, true),
        (None, Some(v)) => (v, false),
        (None, None) => return Ok(None),
    };
    for bucket in s.buckets()? {
        if !token.allows(Scope::Read, Some(&bucket.name)) {
            continue;
        }
        for product in &bucket.products {
            if channel {
                if let Some(c) = s
                    .channels(&bucket.name, product)?
                    .into_iter()
                    .find(|c| c.id == id)
                {
                    return Ok(Some(ParentRef {
                        bucket: bucket.name.clone(),
                        product: product.clone(),
                        at: ReleaseRef::Channel(c.name),
                    }));
                }
            } else if let Some(r) = s
                .releases(&bucket.name, product)?
                .into_iter()
                .find(|r| r.id == id)
            {
                return Ok(Some(ParentRef {
                    bucket: bucket.name.clone(),
                    product: product.clone(),
                    at: ReleaseRef::Release(r.name),
                }));
            }
        }
    }
    let what = if channel { "channel" } else { "version" };
    Err(HcpError::new(
        Code::NotFound,
        format!("parent {what} `{id}` not found"),
    ))
}

/// Apply what a client says about one build of `release`: start it, keep it alive, finish it
/// with its artifacts (completing the release when it is the last), or end it.
fn apply(
    s: &dyn Store,
    token: &Token,
    release: &Release,
    build: &Build,
    body: &BuildBody,
) -> Result<(), HcpError> {
    let status = build_status(body.status.as_deref())?;
    let start = || BuildStart {
        release_id: release.id.clone(),
        component: build.component.clone(),
        provider: some(&body.platform),
        labels: body.labels.clone().unwrap_or_else(|| build.labels.clone()),
        source_image: some(&body.source_external_identifier).or(build.source_image.clone()),
        run_uuid: some(&body.packer_run_uuid),
        metadata: wire::metadata(body.metadata.as_ref()),
    };
    match status {
        BuildStatus::Unset => Ok(()),
        BuildStatus::Running => {
            let heartbeat = build.status == BuildStatus::Running
                && body.platform.is_empty()
                && body.labels.is_none()
                && body.metadata.is_none()
                && body.source_external_identifier.is_empty()
                && build.run_uuid.as_deref()
                    == some(&body.packer_run_uuid)
                        .as_deref()
                        .or(build.run_uuid.as_deref());
            if heartbeat {
                s.heartbeat(&build.id)?;
            } else {
                s.start_build(&start())?;
            }
            Ok(())
        }
        BuildStatus::Done => {
            if body.artifacts.is_empty() {
                return Err(HcpError::new(
                    Code::InvalidArgument,
                    "a build is DONE with at least one artifact",
                ));
            }
            if build.provider.is_none() && body.platform.is_empty() {
                return Err(HcpError::new(
                    Code::InvalidArgument,
                    "a build is DONE on a platform: `platform` is missing",
                ));
            }
            let images: Vec<NewImage> = body
                .artifacts
                .iter()
                .map(|a| NewImage {
                    region: a.region.clone(),
                    external_id: a.external_identifier.clone(),
                })
                .collect();
            if build.status != BuildStatus::Done {
                s.start_build(&start())?;
                if let Some(parent) = parent_by_id(s, token, body)? {
                    if !release.is_complete() {
                        s.add_dependency(&release.id, &parent)?;
                    }
                }
            }
            s.finish_build(&build.id, &images)?;
            Ok(())
        }
        BuildStatus::Failed | BuildStatus::Cancelled => {
            let end = if status == BuildStatus::Failed {
                BuildEnd::Failed
            } else {
                BuildEnd::Cancelled
            };
            s.fail_build(&build.id, end, "reported by the client")?;
            Ok(())
        }
    }
}

/// The build of `release` with this ID.
fn build_in(release: &Release, id: &str) -> Result<Build, HcpError> {
    release
        .builds
        .iter()
        .find(|b| b.id == id)
        .cloned()
        .ok_or_else(|| {
            HcpError::new(
                Code::NotFound,
                format!("build `{id}` not found in version `{}`", release.name),
            )
        })
}

async fn create_build(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp)): Pbv,
    HcpBody(body): HcpBody<BuildBody>,
) -> HcpResult<BuildResponse> {
    let p = r.project(&t, Scope::Write, &org, &proj).await?;
    let token = p.token.clone();
    let target = format!("{}/{b}/{fp}/{}", p.bucket, body.component_type);
    let build = r
        .hcp_write(&token, "hcp.build.create", target, move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            if body.component_type.is_empty() {
                return Err(HcpError::new(
                    Code::InvalidArgument,
                    "component_type is missing",
                ));
            }
            if release
                .builds
                .iter()
                .any(|x| x.component == body.component_type)
            {
                return Err(HcpError::new(
                    Code::AlreadyExists,
                    format!(
                        "version `{fp}` has a build of `{}` already",
                        body.component_type
                    ),
                ));
            }
            if release.is_complete() {
                return Err(HcpError::new(
                    Code::FailedPrecondition,
                    format!("version `{fp}` is complete: it takes no more builds"),
                ));
            }
            let begun = s.begin_release(&BeginRelease {
                bucket: p.bucket.clone(),
                product: b.clone(),
                release: fp.clone(),
                components: vec![body.component_type.clone()],
                ..BeginRelease::default()
            })?;
            let build = build_by_component(&begun.release, &body.component_type)?;
            apply(s, &p.token, &begun.release, &build, &body)?;
            let release = version_of(s, &p.bucket, &b, &fp)?;
            let mut out = wire::Build::new(&build_in(&release, &build.id)?, &release.id);
            // Kept once it runs; until then the client's own word for it.
            out.packer_run_uuid = out.packer_run_uuid.or(some(&body.packer_run_uuid));
            Ok(out)
        })
        .await?;
    Ok(Json(BuildResponse { build }))
}

fn build_by_component(release: &Release, component: &str) -> Result<Build, HcpError> {
    release
        .builds
        .iter()
        .find(|b| b.component == component)
        .cloned()
        .ok_or_else(|| HcpError::new(Code::Internal, "the build just made is missing"))
}

async fn get_build(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp, id)): Pbvi,
) -> HcpResult<BuildResponse> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let build = r
        .hcp_call(move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            Ok(wire::Build::new(&build_in(&release, &id)?, &release.id))
        })
        .await?;
    Ok(Json(BuildResponse { build }))
}

async fn update_build(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp, id)): Pbvi,
    HcpBody(body): HcpBody<BuildBody>,
) -> HcpResult<BuildResponse> {
    let p = r.project(&t, Scope::Write, &org, &proj).await?;
    let token = p.token.clone();
    let status = body.status.clone().unwrap_or_default();
    let target = format!("{}/{b}/{fp}/{id} {status}", p.bucket);
    let build = r
        .hcp_write(&token, "hcp.build.update", target, move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            let build = build_in(&release, &id)?;
            apply(s, &p.token, &release, &build, &body)?;
            let release = version_of(s, &p.bucket, &b, &fp)?;
            Ok(wire::Build::new(&build_in(&release, &id)?, &release.id))
        })
        .await?;
    Ok(Json(BuildResponse { build }))
}

// SBOMs.

#[derive(Deserialize, Default)]
#[serde(default)]
struct UploadSbomBody {
    compressed_sbom: String,
    format: String,
    name: String,
}

async fn upload_sbom(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp, id)): Pbvi,
    HcpBody(body): HcpBody<UploadSbomBody>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Write, &org, &proj).await?;
    let content = base64::engine::general_purpose::STANDARD
        .decode(body.compressed_sbom.trim())
        .map_err(|_| HcpError::new(Code::InvalidArgument, "compressed_sbom is not base64"))?;
    let hcp = r.hcp.clone();
    let token = p.token.clone();
    let target = format!("{}/{b}/{fp}/{id}/{}", p.bucket, body.name);
    let sbom = r
        .hcp_write(&token, "hcp.sbom.upload", target, move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            build_in(&release, &id)?;
            let sbom = NewSbom {
                name: body.name,
                format: body.format,
                content,
            };
            Ok(wire::Sbom::from(hcp.put_sbom(&id, &sbom)?))
        })
        .await?;
    Ok(Json(json!({"sbom": sbom})))
}

async fn list_sboms(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp, id)): Pbvi,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let hcp = r.hcp.clone();
    let sboms = r
        .hcp_call(move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            build_in(&release, &id)?;
            Ok(hcp
                .sboms(&id)?
                .into_iter()
                .map(wire::Sbom::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(json!({"sboms": sboms})))
}

/// The document, as a `data:` URL: kiln keeps no object store to hand out a link to.
async fn get_sbom(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, fp, id, name)): Path<(String, String, String, String, String, String)>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let hcp = r.hcp.clone();
    let content = r
        .hcp_call(move |s| {
            let release = version_of(s, &p.bucket, &b, &fp)?;
            build_in(&release, &id)?;
            Ok(hcp.sbom(&id, &name)?.1)
        })
        .await?;
    let url = format!(
        "data:application/octet-stream;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(content)
    );
    Ok(Json(json!({"download_url": url})))
}

// Channels.

#[derive(Serialize)]
struct ChannelResponse {
    channel: wire::Channel,
}

/// A channel with the version it serves and who assigned it.
fn hcp_channel(
    s: &dyn Store,
    bucket: &str,
    product: &str,
    c: &Channel,
) -> Result<wire::Channel, HcpError> {
    let serving = match &c.release {
        Some(name) => Some(s.release(bucket, product, name)?),
        None => None,
    };
    let author = match &c.release {
        Some(name) => s
            .channel_history(bucket, product, &c.name)?
            .into_iter()
            .rev()
            .find(|a| &a.release == name)
            .map(|a| a.author),
        None => None,
    };
    Ok(wire::Channel::new(c, product, serving.as_ref(), author))
}

/// The channel of this name, code 5 when the bucket or channel is missing.
fn channel_named(
    s: &dyn Store,
    bucket: &str,
    product: &str,
    name: &str,
) -> Result<Channel, HcpError> {
    s.channels(bucket, product)
        .map_err(bucket_missing(product))?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            HcpError::new(
                Code::NotFound,
                format!("channel `{name}` not found in bucket `{product}`"),
            )
        })
}

async fn list_channels(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let channels = r
        .hcp_call(move |s| {
            s.channels(&p.bucket, &b)
                .map_err(bucket_missing(&b))?
                .iter()
                .map(|c| hcp_channel(s, &p.bucket, &b, c))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(json!({"channels": channels})))
}

async fn get_channel(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, c)): Pbv,
) -> HcpResult<ChannelResponse> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let channel = r
        .hcp_call(move |s| {
            let channel = channel_named(s, &p.bucket, &b, &c)?;
            hcp_channel(s, &p.bucket, &b, &channel)
        })
        .await?;
    Ok(Json(ChannelResponse { channel }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelBody {
    name: String,
    version_fingerprint: String,
    update_mask: String,
}

/// Refuse a change to `latest`, which only kiln moves (code 9, as HCP answers).
fn not_latest(channel: &str) -> Result<(), HcpError> {
    if channel == LATEST {
        return Err(HcpError::new(
            Code::FailedPrecondition,
            "channel `latest` is managed: it follows the newest complete version",
        ));
    }
    Ok(())
}

fn assign(
    s: &dyn Store,
    p: &Project,
    product: &str,
    channel: &str,
    fingerprint: &str,
) -> Result<(), HcpError> {
    version_of(s, &p.bucket, product, fingerprint)?;
    s.assign_channel(&AssignChannel {
        bucket: p.bucket.clone(),
        product: product.to_string(),
        channel: channel.to_string(),
        release: fingerprint.to_string(),
        author: format!("token {}", p.token.id),
    })?;
    Ok(())
}

async fn create_channel(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
    HcpBody(body): HcpBody<ChannelBody>,
) -> HcpResult<ChannelResponse> {
    let p = r.project(&t, Scope::Admin, &org, &proj).await?;
    not_latest(&body.name)?;
    let hcp = r.hcp.clone();
    let token = p.token.clone();
    let target = format!("{}/{b}/{}", p.bucket, body.name);
    let channel = r
        .hcp_write(&token, "hcp.channel.create", target, move |s| {
            s.product(&p.bucket, &b).map_err(bucket_missing(&b))?;
            if !body.version_fingerprint.is_empty() {
                version_of(s, &p.bucket, &b, &body.version_fingerprint)?;
            }
            hcp.create_channel(&p.bucket, &b, &body.name)?;
            if !body.version_fingerprint.is_empty() {
                assign(s, &p, &b, &body.name, &body.version_fingerprint)?;
            }
            let channel = channel_named(s, &p.bucket, &b, &body.name)?;
            hcp_channel(s, &p.bucket, &b, &channel)
        })
        .await?;
    Ok(Json(ChannelResponse { channel }))
}

async fn update_channel(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, c)): Pbv,
    HcpBody(body): HcpBody<ChannelBody>,
) -> HcpResult<ChannelResponse> {
    let p = r.project(&t, Scope::Admin, &org, &proj).await?;
    not_latest(&c)?;
    let fields: Vec<&str> = body.update_mask.split(',').map(str::trim).collect();
    // An empty mask: whatever the body sets.
    let move_it = fields.contains(&"versionFingerprint")
        || fields.contains(&"version_fingerprint")
        || (body.update_mask.trim().is_empty() && !body.version_fingerprint.is_empty());
    if move_it && body.version_fingerprint.is_empty() {
        return Err(HcpError::new(
            Code::InvalidArgument,
            "kiln cannot unassign a channel; assign it another version, or delete it",
        ));
    }
    let token = p.token.clone();
    let target = format!("{}/{b}/{c}", p.bucket);
    let channel = r
        .hcp_write(&token, "hcp.channel.update", target, move |s| {
            channel_named(s, &p.bucket, &b, &c)?;
            if move_it {
                assign(s, &p, &b, &c, &body.version_fingerprint)?;
            }
            let channel = channel_named(s, &p.bucket, &b, &c)?;
            hcp_channel(s, &p.bucket, &b, &channel)
        })
        .await?;
    Ok(Json(ChannelResponse { channel }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignBody {
    source_channel: String,
    target_channel: String,
}

/// Point `target_channel` at what `source_channel` serves (promotion, as HCP's portal does it).
async fn assign_channel_version(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
    HcpBody(body): HcpBody<AssignBody>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Admin, &org, &proj).await?;
    not_latest(&body.target_channel)?;
    let token = p.token.clone();
    let target = format!("{}/{b}/{}", p.bucket, body.target_channel);
    let answer = r
        .hcp_write(&token, "hcp.channel.assign", target, move |s| {
            let source = channel_named(s, &p.bucket, &b, &body.source_channel)?;
            channel_named(s, &p.bucket, &b, &body.target_channel)?;
            let Some(fp) = source.release.clone() else {
                return Err(HcpError::new(
                    Code::FailedPrecondition,
                    format!("channel `{}` serves no version", body.source_channel),
                ));
            };
            assign(s, &p, &b, &body.target_channel, &fp)?;
            let target = channel_named(s, &p.bucket, &b, &body.target_channel)?;
            let version = version_of(s, &p.bucket, &b, &fp)?;
            Ok(json!({
                "fingerprint": fp,
                "version": wire::Version::new(&version),
                "source_channel": hcp_channel(s, &p.bucket, &b, &source)?,
                "target_channel": hcp_channel(s, &p.bucket, &b, &target)?,
            }))
        })
        .await?;
    Ok(Json(answer))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchBody {
    external_identifier: String,
    platform: String,
    region: String,
}

/// Which versions hold an artifact: kiln's search, in the project, narrowed by platform and
/// region when given.
async fn search_external_artifact(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj)): Path<(String, String)>,
    HcpBody(body): HcpBody<SearchBody>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    if body.external_identifier.is_empty() {
        return Err(HcpError::new(
            Code::InvalidArgument,
            "external_identifier is missing",
        ));
    }
    let artifacts = r
        .hcp_call(move |s| {
            let mut out = Vec::new();
            for hit in s.search(&body.external_identifier)? {
                let wanted = hit.bucket == p.bucket
                    && (body.platform.is_empty()
                        || body.platform.eq_ignore_ascii_case(&hit.provider))
                    && (body.region.is_empty() || body.region == hit.region);
                if !wanted {
                    continue;
                }
                let product = s.product(&hit.bucket, &hit.product)?;
                let release = s.release(&hit.bucket, &hit.product, &hit.release)?;
                let version = wire::Version::new(&release);
                let build = build_in(&release, &hit.build_id)?;
                out.push(json!({
                    "bucket": {"id": product.id, "name": product.name, "labels": product.labels},
                    "version": {
                        "id": version.id,
                        "name": version.name,
                        "status": version.status,
                        "fingerprint": version.fingerprint,
                        "revoke_at": version.revoke_at,
                        "revocation_message": version.revocation_message,
                        "revocation_author": version.revocation_author,
                        "revocation_type": version.revocation_type,
                    },
                    "build": wire::Build::new(&build, &release.id),
                }));
            }
            Ok(out)
        })
        .await?;
    let artifacts: Vec<Value> = artifacts
        .into_iter()
        .map(|mut a| {
            // Absent, not null, where a version has no revocation.
            if let Some(v) = a["version"].as_object_mut() {
                v.retain(|_, x| !x.is_null());
            }
            a
        })
        .collect();
    Ok(Json(json!({"artifacts": artifacts, "pagination": {}})))
}

async fn delete_channel(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, c)): Pbv,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Admin, &org, &proj).await?;
    not_latest(&c)?;
    let hcp = r.hcp.clone();
    let token = p.token.clone();
    let target = format!("{}/{b}/{c}", p.bucket);
    r.hcp_write(&token, "hcp.channel.delete", target, move |s| {
        channel_named(s, &p.bucket, &b, &c)?;
        Ok(hcp.delete_channel(&p.bucket, &b, &c)?)
    })
    .await?;
    Ok(Json(json!({})))
}

async fn channel_history(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b, c)): Pbv,
    Query(q): Query<Vec<(String, String)>>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let q = ListQuery::from(q);
    let (history, count, pagination) = r
        .hcp_call(move |s| {
            channel_named(s, &p.bucket, &b, &c)?;
            let releases: BTreeMap<String, Release> = s
                .releases(&p.bucket, &b)?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            let mut all = s.channel_history(&p.bucket, &b, &c)?;
            // Newest first, as HCP lists it.
            all.reverse();
            let count = all.len();
            let (page, pagination) = q.page(all)?;
            let history: Vec<_> = page
                .iter()
                .map(|a| wire::ChannelAssignment {
                    version: releases.get(&a.release_id).map(wire::Version::new),
                    author_id: a.author.clone(),
                    assigned_at: a.assigned_at,
                })
                .collect();
            Ok((history, count, pagination))
        })
        .await?;
    Ok(Json(
        json!({"history": history, "count": count, "pagination": pagination}),
    ))
}

// The rest Packer asks for.

/// Kiln enforces no provisioner blocks: Packer 1.16 asks, and an empty list lets it go on.
async fn enforced_blocks(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj, b)): Pb,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    r.hcp_call(move |s| Ok(s.product(&p.bucket, &b).map_err(bucket_missing(&b))?))
        .await?;
    Ok(Json(json!({"enforced_block_detail": []})))
}

/// The project's registry: always there and active (Packer checks only that it exists).
async fn get_registry(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path((org, proj)): Path<(String, String)>,
) -> HcpResult<Value> {
    let p = r.project(&t, Scope::Read, &org, &proj).await?;
    let bucket = r
        .call({
            let b = p.bucket.clone();
            move |s| s.bucket(&b)
        })
        .await?;
    Ok(Json(json!({"registry": {
        "id": bucket.id,
        "location": location(&p),
        "config": {"activated": true, "feature_tier": "PLUS"},
        "created_at": bucket.created_at,
        "updated_at": bucket.created_at,
    }})))
}
