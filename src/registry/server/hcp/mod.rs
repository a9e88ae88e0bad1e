//! HCP Packer's own API (2023-01-01) and the three resource-manager routes its clients reach,
//! so stock Packer (≥ 1.11) and Terraform's `hcp` provider publish to and read from kiln.
//!
//! The same store and model answer it: an HCP organization is the registry, a project is a
//! kiln bucket (its ULID written as a UUID), an HCP bucket is a kiln product, a version a
//! release (keyed by its fingerprint, the release name), an artifact an image. What the clients
//! rely on is in `../shared/hcp-api/NOTES.md`; the rules this module keeps because of it:
//! - success is exactly HTTP 200 with `application/json`, and every version and build says its
//!   `status` (the clients dereference it);
//! - an error is `{"code": <gRPC code>, "message", "details": []}`, and clients act on the code:
//!   10 for an unknown fingerprint, 5 for a missing bucket or channel, 6 for a duplicate, 9 for
//!   a change to `latest`;
//! - a version is `v0` until its last build is DONE, then `vN` and `latest`, by the store itself.

mod buckets;
mod builds;
mod channels;
mod packer;
mod resources;
mod versions;
mod wire;

use super::error::ApiError;
use super::{blocking, Registry};
use crate::registry::auth::{Scope, Token};
use crate::registry::model::Bucket;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;

pub(super) fn router() -> Router<Registry> {
    Router::new()
        .merge(packer::router())
        .merge(resources::router())
}

/// Where the Packer service's routes hang.
const PACKER: &str = "/packer/2023-01-01/organizations/{org}/projects/{proj}";

/// gRPC status codes, as HCP's clients read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Code {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    Unimplemented = 12,
    Internal = 13,
    Unauthenticated = 16,
}

impl Code {
    /// The HTTP status HCP's gateway pairs with the code.
    fn status(self) -> StatusCode {
        match self {
            Code::InvalidArgument | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

/// An error as HCP answers one: `google.rpc.Status`.
#[derive(Debug)]
pub(super) struct HcpError {
    code: Code,
    message: String,
}

#[derive(Serialize)]
struct Status<'a> {
    code: i32,
    message: &'a str,
    details: [(); 0],
}

impl HcpError {
    pub(super) fn new(code: Code, message: impl Into<String>) -> HcpError {
        HcpError {
            code,
            message: message.into(),
        }
    }
}

impl From<ApiError> for HcpError {
    fn from(e: ApiError) -> HcpError {
        let code = match e.code {
            "not_found" => Code::NotFound,
            "exists" => Code::AlreadyExists,
            "conflict" | "revoked" => Code::FailedPrecondition,
            "invalid" | "too_large" => Code::InvalidArgument,
            "unauthorized" => Code::Unauthenticated,
            "forbidden" => Code::PermissionDenied,
            "rate_limited" => Code::ResourceExhausted,
            _ => Code::Internal,
        };
        let message = match e.hint {
            Some(hint) => format!("{}; {hint}", e.message),
            None => e.message,
        };
        HcpError { code, message }
    }
}

impl From<crate::registry::Error> for HcpError {
    fn from(e: crate::registry::Error) -> HcpError {
        ApiError::from(e).into()
    }
}

impl IntoResponse for HcpError {
    fn into_response(self) -> Response {
        let body = Status {
            code: self.code as i32,
            message: &self.message,
            details: [],
        };
        (self.code.status(), axum::Json(body)).into_response()
    }
}

pub(super) type HcpResult<T> = Result<axum::Json<T>, HcpError>;

/// The caller's live token, with refusals in HCP's shape.
pub(super) struct HcpCaller(pub Token);

impl axum::extract::FromRequestParts<Registry> for HcpCaller {
    type Rejection = HcpError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        r: &Registry,
    ) -> Result<Self, Self::Rejection> {
        Ok(HcpCaller(r.authenticate(&parts.headers).await?))
    }
}

/// A project's ID: its bucket's ULID written as a UUID (both are 128 bits), so it is stable and
/// needs nothing stored.
pub fn project_id(bucket_id: &str) -> Option<String> {
    let ulid = ulid::Ulid::from_string(bucket_id).ok()?;
    Some(uuid::Uuid::from_u128(ulid.0).hyphenated().to_string())
}

/// The project a request names, once its organization and the caller's right to `needed` are
/// checked.
pub(super) struct Project {
    pub org: String,
    pub id: String,
    /// The kiln bucket.
    pub bucket: String,
    pub token: Token,
}

impl Registry {
    /// The registry's organization UUID.
    pub(super) async fn organization(&self) -> Result<String, HcpError> {
        let hcp = self.hcp.clone();
        Ok(blocking(move || hcp.organization_id()).await?)
    }

    /// The bucket whose project ID this is.
    pub(super) async fn bucket_by_project(&self, project: &str) -> Result<Bucket, HcpError> {
        let wanted = uuid::Uuid::try_parse(project).ok();
        let buckets = self.call(|s| s.buckets()).await?;
        wanted
            .and_then(|w| {
                let w = w.hyphenated().to_string();
                buckets
                    .into_iter()
                    .find(|b| project_id(&b.id).as_deref() == Some(w.as_str()))
            })
            .ok_or_else(|| HcpError::new(Code::NotFound, format!("project {project} not found")))
    }

    /// Check `org`, find `proj`, and check the caller may do `needed` in it.
    pub(super) async fn project(
        &self,
        token: &Token,
        needed: Scope,
        org: &str,
        proj: &str,
    ) -> Result<Project, HcpError> {
        let mine = self.organization().await?;
        if !org.eq_ignore_ascii_case(&mine) {
            return Err(HcpError::new(
                Code::NotFound,
                format!("organization {org} not found"),
            ));
        }
        let bucket = self.bucket_by_project(proj).await?;
        let token = self.allow(token, needed, Some(&bucket.name)).await?;
        Ok(Project {
            org: mine,
            id: proj.to_ascii_lowercase(),
            bucket: bucket.name,
            token,
        })
    }
}
