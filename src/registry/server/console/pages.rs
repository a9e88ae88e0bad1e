//! The console's pages as markup (maud escapes every value it is given).

use super::ancestry::Graph;
use super::{href, Viewer};
use crate::registry::model::*;
use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

/// The frame every page shares: title, navigation, search, who is signed in.
fn layout(viewer: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · kiln registry" }
                link rel="stylesheet" href="/console.css";
            }
            body {
                header {
                    a.brand href="/" { "kiln registry" }
                    @if let Some(v) = viewer {
                        form.search method="get" action="/search" {
                            input type="search" name="id" placeholder="Find an image by ID (ami-…)"
                                aria-label="Image ID";
                            button type="submit" { "Search" }
                        }
                        form.signout method="post" action="/signout" {
                            span.who {
                                (v.token.scope.as_str()) " token "
                                code { (v.token.id) }
                                @if let Some(b) = &v.token.bucket { " · bucket " code { (b) } }
                            }
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form (also what a request without a valid token gets, with a 401).
pub(super) fn signin(message: Option<&str>) -> Markup {
    layout(
        None,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            p { "Paste a registry token. "
                code { "kiln registry token create --scope read" }
                " on the server's host makes one." }
            form.card method="post" action="/signin" {
                label for="token" { "Token" }
                input id="token" type="password" name="token" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A page that could not be shown.
pub(super) fn failure(status: StatusCode, message: &str, hint: Option<&str>) -> Markup {
    layout(
        None,
        status.canonical_reason().unwrap_or("Error"),
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
            p.error role="alert" { (message) }
            @if let Some(h) = hint { p.hint { (h) } }
            p { a href="/" { "Back to the registry" } }
        },
    )
}

/// Every bucket the token may read, with its products.
pub(super) fn home(viewer: &Viewer, buckets: &[(Bucket, Vec<Product>)]) -> Markup {
    layout(
        Some(viewer),
        "Products",
        html! {
            h1 { "Products" }
            @if buckets.is_empty() {
                p.empty { "Nothing has been published yet. A build with an "
                    code { "hcp_packer_registry" } " block publishes here." }
            }
            @for (bucket, products) in buckets {
                section {
                    h2 { "Bucket " code { (bucket.name) } }
                    @if products.is_empty() { p.empty { "No products." } } @else {
                        table {
                            thead { tr { th { "Product" } th { "Releases" } th { "Latest" } th { "Providers" } } }
                            tbody {
                                @for p in products {
                                    tr {
                                        td { a href=(href(&bucket.name, &p.name, None)) { (p.name) } }
                                        td.num { (p.releases) }
                                        td { @match &p.latest {
                                            Some(l) => a href=(href(&bucket.name, &p.name, Some(("releases", l)))) { (l) },
                                            None => span.muted { "none" },
                                        } }
                                        td { (p.providers.join(", ")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn crumbs(bucket: &str, product: &str, last: Option<&str>) -> Markup {
    html! {
        nav.crumbs {
            a href="/" { "Products" } " / " code { (bucket) } " / "
            @match last {
                Some(l) => { a href=(href(bucket, product, None)) { (product) } " / " (l) },
                None => (product),
            }
        }
    }
}

fn status_badge(status: ReleaseStatus) -> Markup {
    html! { span class={ "badge " (status.as_str().to_lowercase()) } { (status) } }
}

/// The releases an admin may point a channel at: complete and not revoked.
fn assignable(releases: &[Release]) -> impl Iterator<Item = &Release> {
    releases
        .iter()
        .filter(|r| r.is_complete() && r.revocation.is_none())
}

fn assign_form(
    viewer: &Viewer,
    bucket: &str,
    product: &str,
    channel: Option<&str>,
    releases: &[Release],
) -> Markup {
    let action = format!("{}/channels", href(bucket, product, None));
    html! {
        form.change.assign method="post" action=(action) {
            input type="hidden" name="csrf" value=(viewer.csrf);
            @match channel {
                Some(c) => { input type="hidden" name="channel" value=(c); },
                None => {
                    label for="channel" { "Channel" }
                    input id="channel" name="channel" required placeholder="stable"
                        pattern="[A-Za-z0-9][A-Za-z0-9_.-]*";
                },
            }
            label for="release" { "Release" }
            select id="release" name="release" required {
                @for r in assignable(releases) {
                    option value=(r.name) {
                        (r.name) @if let Some(v) = r.version { " (v" (v) ")" }
                    }
                }
            }
            button type="submit" { @match channel { Some(_) => "Move channel", None => "Assign" } }
        }
    }
}

/// A product: its channels and releases.
pub(super) fn product(
    viewer: &Viewer,
    product: &Product,
    releases: &[Release],
    channels: &[Channel],
) -> Markup {
    let (b, p) = (product.bucket.as_str(), product.name.as_str());
    layout(
        Some(viewer),
        p,
        html! {
            (crumbs(b, p, None))
            h1 { (p) }
            section {
                h2 { "Channels" }
                @if channels.is_empty() { p.empty { "No channels." } } @else {
                    table.channels {
                        thead { tr { th { "Channel" } th { "Release" } th { "Assigned" } } }
                        tbody {
                            @for c in channels {
                                tr data-channel=(c.name) {
                                    td { a href=(href(b, p, Some(("channels", &c.name)))) { (c.name) }
                                        @if c.managed { " " span.muted { "(managed)" } } }
                                    td.release { @match &c.release {
                                        Some(r) => a href=(href(b, p, Some(("releases", r)))) { (r) },
                                        None => span.muted { "unassigned" },
                                    } }
                                    td { @if let Some(at) = c.assigned_at { (at) } }
                                }
                            }
                        }
                    }
                }
                @if viewer.admin_of(b) { (assign_form(viewer, b, p, None, releases)) }
            }
            section {
                h2 { "Releases" }
                @if releases.is_empty() { p.empty { "No releases." } } @else {
                    table {
                        thead { tr { th { "Release" } th { "Version" } th { "Status" } th { "Builds" } th { "Created" } } }
                        tbody {
                            @for r in releases.iter().rev() {
                                tr {
                                    td { a href=(href(b, p, Some(("releases", &r.name)))) { (r.name) } }
                                    td.num { @if let Some(v) = r.version { "v" (v) } }
                                    td { (status_badge(r.status)) }
                                    td.num { (r.builds.len()) }
                                    td { (r.created_at) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A release: its state, builds and images, channels, ancestry; the revocation form for admins.
pub(super) fn release(
    viewer: &Viewer,
    release: &Release,
    channels: &[Channel],
    graph: &Graph,
) -> Markup {
    let (b, p) = (release.bucket.as_str(), release.product.as_str());
    let serving: Vec<&Channel> = channels
        .iter()
        .filter(|c| c.release.as_deref() == Some(release.name.as_str()))
        .collect();
    let base = href(b, p, Some(("releases", &release.name)));
    layout(
        Some(viewer),
        &release.name,
        html! {
            (crumbs(b, p, Some(&release.name)))
            h1 { "Release " code { (release.name) } " " (status_badge(release.status)) }
            @if let Some(rev) = &release.revocation {
                div.revoked role="status" {
                    strong { @if release.status == ReleaseStatus::Revoked { "Revoked" } @else { "Revocation scheduled" } }
                    " at " (rev.revoke_at) " by " (rev.author)
                    @if !rev.message.is_empty() { ": " (rev.message) }
                    @if let Some(from) = &rev.inherited_from { " (inherited from " code { (from) } ")" }
                }
            }
            dl.facts {
                dt { "Version" } dd { @match release.version { Some(v) => { "v" (v) }, None => "not complete" } }
                dt { "Created" } dd { (release.created_at) }
                dt { "Completed" } dd { @match release.completed_at { Some(t) => (t), None => "—" } }
                dt { "Channels" } dd.serving {
                    @if serving.is_empty() { span.muted { "none" } }
                    @for c in &serving { a href=(href(b, p, Some(("channels", &c.name)))) { (c.name) } " " }
                }
            }
            section {
                h2 { "Builds and images" }
                @for build in &release.builds {
                    article.build {
                        h3 { code { (build.component) } " "
                            span class={ "badge " (build.status.as_str().to_lowercase()) } { (build.status) } }
                        p.muted {
                            @if let Some(provider) = &build.provider { "provider " (provider) }
                            @if let Some(src) = &build.source_image { " · from " code { (src) } }
                            @if let Some(m) = &build.message { " · " (m) }
                        }
                        @if !build.labels.is_empty() {
                            p.labels { @for (k, v) in &build.labels { span.label { (k) "=" (v) } " " } }
                        }
                        @if build.images.is_empty() { p.empty { "No images." } } @else {
                            table.images {
                                thead { tr { th { "Provider" } th { "Region" } th { "Image ID" } th { "Created" } } }
                                tbody {
                                    @for image in &build.images {
                                        tr {
                                            td { (build.provider.as_deref().unwrap_or("")) }
                                            td { (image.region) }
                                            td.image-id { code { (image.external_id) } }
                                            td { (image.created_at) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Ancestry" }
                @if graph.is_alone() { p.empty { "Built from no release in the registry, and nothing is built from it yet." } }
                @else {
                    div.graph { (graph.svg()) }
                    @if graph.truncated { p.muted { "The family is larger than this drawing; the rest is left out." } }
                }
            }
            @if viewer.admin_of(b) {
                section {
                    h2 { "Revocation" }
                    @if release.revocation.is_some() {
                        form.change.restore method="post" action={ (base) "/restore" } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Restore this release" }
                        }
                    } @else {
                        form.change.revoke method="post" action={ (base) "/revoke" } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            label for="message" { "Why" }
                            input id="message" name="message" required placeholder="CVE-2026-1234 in openssl";
                            label.inline { input type="checkbox" name="skip_descendants" value="1"; " Leave releases built from it alone" }
                            button.danger type="submit" { "Revoke" }
                        }
                    }
                }
            }
        },
    )
}

/// A channel's history, newest first; the form to move it for admins.
pub(super) fn channel(
    viewer: &Viewer,
    bucket: &str,
    product: &str,
    channel: &str,
    history: &[ChannelAssignment],
    releases: &[Release],
) -> Markup {
    layout(
        Some(viewer),
        channel,
        html! {
            (crumbs(bucket, product, Some(channel)))
            h1 { "Channel " code { (channel) } }
            @if viewer.admin_of(bucket) { (assign_form(viewer, bucket, product, Some(channel), releases)) }
            h2 { "History" }
            @if history.is_empty() { p.empty { "Never assigned." } } @else {
                table.history {
                    thead { tr { th { "Assigned" } th { "Release" } th { "By" } } }
                    tbody {
                        @for a in history.iter().rev() {
                            tr {
                                td { (a.assigned_at) }
                                td { a href=(href(bucket, product, Some(("releases", &a.release)))) { (a.release) }
                                    @if a.revoked { " " span.badge.revoked { "REVOKED" } } }
                                td { (a.author) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Where an image ID was published.
pub(super) fn search(viewer: &Viewer, id: &str, found: &[ImageRecord]) -> Markup {
    layout(
        Some(viewer),
        "Search",
        html! {
            h1 { "Images with ID " code { (id) } }
            @if id.is_empty() { p.empty { "Type an image ID in the search box." } }
            @else if found.is_empty() { p.empty { "No release this token can read holds that image." } }
            @else {
                table.found {
                    thead { tr { th { "Release" } th { "Status" } th { "Component" } th { "Provider" } th { "Region" } } }
                    tbody {
                        @for i in found {
                            tr {
                                td { a href=(href(&i.bucket, &i.product, Some(("releases", &i.release)))) {
                                    (i.bucket) "/" (i.product) "/" (i.release) } }
                                td { (status_badge(i.release_status)) }
                                td { code { (i.component) } }
                                td { (i.provider) }
                                td { (i.region) }
                            }
                        }
                    }
                }
            }
        },
    )
}
