//! HCP's builds, as Packer drives them (create, RUNNING, heartbeats, DONE with artifacts), and
//! the SBOMs stored with them.

use super::packer::*;
use super::wire;
use super::{Code, HcpCaller, HcpError, HcpResult};
use crate::registry::auth::{Scope, Token};
use crate::registry::model::*;
use crate::registry::server::Registry;
use crate::registry::{NewSbom, Store};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Json;
use axum::Router;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) fn router() -> Router<Registry> {
    Router::new()
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
}

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
            // Packer's 2-minute beat repeats its first RUNNING update word for word: nothing
            // but the heartbeat changes then.
            let same_run = body.packer_run_uuid.is_empty()
                || build.run_uuid.as_deref() == Some(body.packer_run_uuid.as_str());
            let heartbeat = build.status == BuildStatus::Running
                && same_run
                && body.platform.is_empty()
                && body.labels.is_none()
                && body.metadata.is_none()
                && body.source_external_identifier.is_empty();
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
pub(super) fn build_in(release: &Release, id: &str) -> Result<Build, HcpError> {
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
