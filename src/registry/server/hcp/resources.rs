//! The resource manager's routes HCP's clients reach: the organization (the registry itself)
//! and its projects (kiln buckets). Terraform's provider reads the project it is given to learn
//! its organization; Packer lists both when the environment pins neither.

use super::{project_id, Code, HcpCaller, HcpError, HcpResult};
use crate::registry::auth::Scope;
use crate::registry::model::Bucket;
use crate::registry::server::Registry;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

const RM: &str = "/resource-manager/2019-12-10";

pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route(&format!("{RM}/organizations"), get(organizations))
        .route(&format!("{RM}/organizations/{{id}}"), get(organization))
        .route(&format!("{RM}/projects"), get(projects))
        .route(&format!("{RM}/projects/{{id}}"), get(project))
}

fn org_json(id: &str) -> Value {
    json!({"id": id, "name": "kiln", "state": "ACTIVE"})
}

fn project_json(org: &str, b: &Bucket) -> Value {
    json!({
        "id": project_id(&b.id),
        "name": b.name,
        "parent": {"id": org, "type": "ORGANIZATION"},
        "state": "ACTIVE",
        "created_at": b.created_at,
    })
}

async fn organizations(State(r): State<Registry>, HcpCaller(_): HcpCaller) -> HcpResult<Value> {
    let org = r.organization().await?;
    Ok(Json(
        json!({"organizations": [org_json(&org)], "pagination": {}}),
    ))
}

async fn organization(
    State(r): State<Registry>,
    HcpCaller(_): HcpCaller,
    Path(id): Path<String>,
) -> HcpResult<Value> {
    let org = r.organization().await?;
    if !id.eq_ignore_ascii_case(&org) {
        return Err(HcpError::new(
            Code::NotFound,
            format!("organization {id} not found"),
        ));
    }
    Ok(Json(json!({"organization": org_json(&org)})))
}

/// The projects the caller may read, oldest first (Packer takes the oldest when it must pick).
async fn projects(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Query(q): Query<Vec<(String, String)>>,
) -> HcpResult<Value> {
    let org = r.organization().await?;
    let scope = q
        .iter()
        .find(|(k, _)| k == "scope.id")
        .map(|(_, v)| v.as_str());
    if scope.is_some_and(|s| !s.eq_ignore_ascii_case(&org)) {
        return Ok(Json(json!({"projects": [], "pagination": {}})));
    }
    let mut buckets = r.call(|s| s.buckets()).await?;
    buckets.retain(|b| t.allows(Scope::Read, Some(&b.name)));
    buckets.sort_by_key(|b| (b.created_at, b.name.clone()));
    let projects: Vec<Value> = buckets.iter().map(|b| project_json(&org, b)).collect();
    Ok(Json(json!({"projects": projects, "pagination": {}})))
}

async fn project(
    State(r): State<Registry>,
    HcpCaller(t): HcpCaller,
    Path(id): Path<String>,
) -> HcpResult<Value> {
    let org = r.organization().await?;
    let bucket = r.bucket_by_project(&id).await?;
    r.allow(&t, Scope::Read, Some(&bucket.name)).await?;
    Ok(Json(json!({"project": project_json(&org, &bucket)})))
}
