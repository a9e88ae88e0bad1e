//! The Packer service: its router (each resource's merged, plus artifact search, enforced blocks
//! and the registry), and what the resources share: bodies, list paging, lookups by fingerprint,
//! HCP-worded name checks, store calls with HCP's errors.

use super::wire::{self, Location, Pagination};
use super::{buckets, builds, channels, versions};
use super::{Code, HcpCaller, HcpError, HcpResult, Project, PACKER};
use crate::registry::auth::{Scope, Token};
use crate::registry::model::*;
use crate::registry::server::{Registry, MAX_PAGE_SIZE, PAGE_SIZE};
use crate::registry::{Error, Store};
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

pub(super) fn router() -> Router<Registry> {
    Router::new()
        .merge(buckets::router())
        .merge(versions::router())
        .merge(builds::router())
        .merge(channels::router())
        .route(
            &at("/_search/external_artifact"),
            post(search_external_artifact).fallback(unimplemented),
        )
        .route(
            &at("/enforced_blocks/bucket/{b}"),
            get(enforced_blocks).fallback(unimplemented),
        )
        .route(&at("/registry"), get(get_registry).fallback(unimplemented))
        .route("/packer/{*rest}", any(unimplemented))
}

/// A route of the Packer service: `rest` under the project.
pub(super) fn at(rest: &str) -> String {
    format!("{PACKER}{rest}")
}

/// Every other operation of the API (and the 2021-04-30 API of Packer 1.9 and 1.10).
pub(super) async fn unimplemented(uri: axum::http::Uri) -> HcpError {
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
pub(super) struct HcpBody<T>(pub(super) T);

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

pub(super) type Pb = Path<(String, String, String)>;
pub(super) type Pbv = Path<(String, String, String, String)>;
pub(super) type Pbvi = Path<(String, String, String, String, String)>;

/// The query of a list: `pagination.page_size`, `pagination.next_page_token`,
/// `sorting.order_by` (repeatable); anything else is ignored.
#[derive(Default)]
pub(super) struct ListQuery {
    page_size: Option<String>,
    token: Option<String>,
    order_by: Vec<String>,
}

impl ListQuery {
    pub(super) fn from(pairs: Vec<(String, String)>) -> ListQuery {
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
    pub(super) fn descending(&self, field: &str) -> Option<bool> {
        self.order_by.iter().find_map(|o| {
            let mut words = o.split_whitespace();
            (words.next() == Some(field)).then(|| words.next() == Some("desc"))
        })
    }

    /// The page of `all` asked for, and the token of the next.
    pub(super) fn page<T>(&self, all: Vec<T>) -> Result<(Vec<T>, Pagination), HcpError> {
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

pub(super) fn location(p: &Project) -> Location {
    Location {
        organization_id: p.org.clone(),
        project_id: p.id.clone(),
    }
}

/// A bucket's name checked in HCP's words (kiln's say "product").
pub(super) fn bucket_name(name: &str) -> Result<(), HcpError> {
    crate::registry::names::product(name).map_err(|_| {
        HcpError::new(
            Code::InvalidArgument,
            format!("invalid bucket name {name:?}: a bucket name is 3–36 letters, digits and `-`"),
        )
    })
}

/// A fingerprint checked in HCP's words (kiln's say "release").
pub(super) fn fingerprint(fp: &str) -> Result<(), HcpError> {
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
pub(super) fn bucket_missing(bucket: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::NotFound { .. } => Error::not_found(format!("bucket `{bucket}`")),
        e => e,
    }
}

/// The release a fingerprint names: code 10 when the bucket exists and the version does not,
/// as HCP answers and Packer expects before it creates one.
pub(super) fn version_of(
    s: &dyn Store,
    bucket: &str,
    product: &str,
    fp: &str,
) -> Result<Release, HcpError> {
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
    pub(super) async fn hcp_call<T: Send + 'static>(
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
    pub(super) async fn hcp_write<T: Send + 'static>(
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
                let build = builds::build_in(&release, &hit.build_id)?;
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
