//! HCP's channels: kiln's, with `latest` managed by the store; their history and promotion.

use super::packer::*;
use super::wire;
use super::{Code, HcpCaller, HcpError, HcpResult, Project};
use crate::registry::auth::Scope;
use crate::registry::model::*;
use crate::registry::server::Registry;
use crate::registry::Store;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::Json;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route(
            &at("/buckets/{b}/channels"),
            get(list_channels)
                .post(create_channel)
                .fallback(unimplemented),
        )
        .route(
            &at("/buckets/{b}/channels/assign"),
            post(assign_channel_version).fallback(unimplemented),
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
}

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

/// The channel of this name as HCP shows it.
fn channel_answer(
    s: &dyn Store,
    bucket: &str,
    product: &str,
    name: &str,
) -> Result<wire::Channel, HcpError> {
    hcp_channel(
        s,
        bucket,
        product,
        &channel_named(s, bucket, product, name)?,
    )
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
        .hcp_call(move |s| channel_answer(s, &p.bucket, &b, &c))
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
            channel_answer(s, &p.bucket, &b, &body.name)
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
            channel_answer(s, &p.bucket, &b, &c)
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
