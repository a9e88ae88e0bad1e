//! HCP's versions: kiln's releases, keyed by fingerprint; revocation and restore.

use super::packer::*;
use super::wire;
use super::{Code, HcpCaller, HcpError, HcpResult};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use crate::registry::server::Registry;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Json;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub(super) fn router() -> Router<Registry> {
    Router::new()
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
}

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
