//! The web console at `/`: the registry as pages people read, rendered on the server with no
//! JavaScript. Sign-in takes a token and keeps it in a secure, HTTP-only, same-site cookie;
//! every page is checked against that token's scope and bucket exactly as the API is, and the
//! forms an admin token sees (channel assignment, revocation) carry a CSRF token derived from
//! the session's secret.

mod ancestry;
mod pages;

use super::error::ApiError;
use super::Registry;
use crate::registry::auth::{Scope, Token};
use crate::registry::model::*;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The cookie that holds the signed-in token.
const COOKIE: &str = "kiln_token";

/// Where a product's pages live.
const PRODUCT: &str = "/buckets/{bucket}/products/{product}";

/// The console's pages and forms.
pub(super) fn router() -> Router<Registry> {
    Router::new()
        .route("/", get(home))
        .route("/console.css", get(stylesheet))
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/search", get(search))
        .route(PRODUCT, get(product))
        .route(&format!("{PRODUCT}/releases/{{release}}"), get(release))
        .route(
            &format!("{PRODUCT}/releases/{{release}}/revoke"),
            post(revoke),
        )
        .route(
            &format!("{PRODUCT}/releases/{{release}}/restore"),
            post(restore),
        )
        .route(&format!("{PRODUCT}/channels"), post(assign))
        .route(&format!("{PRODUCT}/channels/{{channel}}"), get(channel))
        .layer(axum::middleware::map_response(harden))
}

/// Headers every console answer carries: nothing but this server's own stylesheet and forms.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A signed-in person: their live token and the CSRF token of their session.
pub(super) struct Viewer {
    pub token: Token,
    pub csrf: String,
}

impl Viewer {
    /// Whether the admin forms of `bucket` are shown (and accepted).
    fn admin_of(&self, bucket: &str) -> bool {
        self.token.allows(Scope::Admin, Some(bucket))
    }
}

impl FromRequestParts<Registry> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        r: &Registry,
    ) -> Result<Self, Self::Rejection> {
        let Some(secret) = cookie(&parts.headers, COOKIE) else {
            return Err(signin_page(StatusCode::UNAUTHORIZED, None));
        };
        match r.token_for(secret.clone()).await {
            Ok(Some(token)) => Ok(Viewer {
                token,
                csrf: csrf_for(&secret),
            }),
            Ok(None) => {
                let mut page = signin_page(
                    StatusCode::UNAUTHORIZED,
                    Some("Your token is no longer valid (expired or revoked); sign in again."),
                );
                page.headers_mut()
                    .insert(header::SET_COOKIE, clear_cookie());
                Err(page)
            }
            Err(e) => Err(Failure::from(e).into_response()),
        }
    }
}

/// The value of cookie `name`, if the request has it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The session cookie for `secret`: never readable by scripts, never sent cross-site, and only
/// over HTTPS (browsers treat `localhost` and `127.0.0.1` as secure).
fn session_cookie(secret: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict"
    ))
    .unwrap_or_else(|_| clear_cookie())
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("kiln_token=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

/// The CSRF token of a session: a digest of its secret, which a page on another site cannot
/// read, so it cannot forge the forms.
fn csrf_for(secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"kiln console form\0");
    hasher.update(secret.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal in time independent of where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A form post is this console's own: its Origin (when the browser sends one) is this host,
/// and its CSRF field is the session's.
fn check_form(
    headers: &HeaderMap,
    csrf: Option<&str>,
    viewer: Option<&Viewer>,
) -> Result<(), Failure> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host);
        if !own {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "This form was sent from another site.",
            ));
        }
    }
    if let Some(viewer) = viewer {
        if !csrf.is_some_and(|c| same(c, &viewer.csrf)) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "This form is stale or did not come from this console; reload the page and try again.",
            ));
        }
    }
    Ok(())
}

/// A page that could not be shown: its status and what to tell the person.
pub(super) struct Failure {
    status: StatusCode,
    message: String,
    hint: Option<String>,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            hint: None,
        }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure {
            status: e.status,
            message: e.message,
            hint: e.hint,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let page = pages::failure(self.status, &self.message, self.hint.as_deref());
        (self.status, Html(page.into_string())).into_response()
    }
}

type Page = Result<Html<String>, Failure>;

fn page(markup: maud::Markup) -> Page {
    Ok(Html(markup.into_string()))
}

fn signin_page(status: StatusCode, message: Option<&str>) -> Response {
    (status, Html(pages::signin(message).into_string())).into_response()
}

/// The viewer may read `bucket`, or the page is refused the way the API refuses it.
fn may_read(viewer: &Viewer, bucket: &str) -> Result<(), Failure> {
    if viewer.token.allows(Scope::Read, Some(bucket)) {
        return Ok(());
    }
    Err(ApiError::forbidden(Scope::Read, Some(bucket)).into())
}

fn may_administer(viewer: &Viewer, bucket: &str) -> Result<(), Failure> {
    if viewer.admin_of(bucket) {
        return Ok(());
    }
    Err(ApiError::forbidden(Scope::Admin, Some(bucket)).into())
}

/// The console's address of a release, product or channel page.
pub(super) fn href(bucket: &str, product: &str, rest: Option<(&str, &str)>) -> String {
    let mut path = format!("/buckets/{}/products/{}", escape(bucket), escape(product));
    if let Some((kind, name)) = rest {
        path.push_str(&format!("/{kind}/{}", escape(name)));
    }
    path
}

/// Percent-encode a path segment (registry names are already restricted; this keeps any odd one
/// from changing the path).
fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console.css"),
    )
        .into_response()
}

async fn signin_form() -> Response {
    signin_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
struct SigninForm {
    token: String,
}

async fn signin(
    State(r): State<Registry>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Result<Response, Failure> {
    check_form(&headers, None, None)?;
    let secret = form.token.trim().to_string();
    if secret.is_empty() {
        return Ok(signin_page(
            StatusCode::UNAUTHORIZED,
            Some("Paste a token to sign in."),
        ));
    }
    let token = r.token_for(secret.clone()).await.map_err(Failure::from)?;
    if token.is_none() {
        return Ok(signin_page(
            StatusCode::UNAUTHORIZED,
            Some("That token is not valid: unknown, expired or revoked."),
        ));
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&secret));
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn signout(
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Failure> {
    check_form(&headers, form.csrf.as_deref(), Some(&viewer))?;
    let mut response = Redirect::to("/signin").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}

async fn home(State(r): State<Registry>, viewer: Viewer) -> Page {
    let buckets = r.call(|s| s.buckets()).await?;
    let mut shown = Vec::new();
    for bucket in buckets {
        if !viewer.token.allows(Scope::Read, Some(&bucket.name)) {
            continue;
        }
        let name = bucket.name.clone();
        let products = r.call(move |s| s.products(&name)).await?;
        shown.push((bucket, products));
    }
    page(pages::home(&viewer, &shown))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    id: String,
}

async fn search(State(r): State<Registry>, viewer: Viewer, Query(q): Query<SearchQuery>) -> Page {
    let id = q.id.trim().to_string();
    let found = if id.is_empty() {
        Vec::new()
    } else {
        let wanted = id.clone();
        r.call(move |s| s.search(&wanted))
            .await?
            .into_iter()
            .filter(|i| viewer.token.allows(Scope::Read, Some(&i.bucket)))
            .collect()
    };
    page(pages::search(&viewer, &id, &found))
}

async fn product(
    State(r): State<Registry>,
    viewer: Viewer,
    Path((b, p)): Path<(String, String)>,
) -> Page {
    may_read(&viewer, &b)?;
    let (b2, p2) = (b.clone(), p.clone());
    let (product, releases, channels) = r
        .call(move |s| {
            Ok((
                s.product(&b2, &p2)?,
                s.releases(&b2, &p2)?,
                s.channels(&b2, &p2)?,
            ))
        })
        .await?;
    page(pages::product(&viewer, &product, &releases, &channels))
}

async fn release(
    State(r): State<Registry>,
    viewer: Viewer,
    Path((b, p, rel)): Path<(String, String, String)>,
) -> Page {
    may_read(&viewer, &b)?;
    let (b2, p2) = (b.clone(), p.clone());
    let (release, channels) = r
        .call(move |s| Ok((s.release(&b2, &p2, &rel)?, s.channels(&b2, &p2)?)))
        .await?;
    let graph = ancestry::Graph::walk(&r, &viewer, &release).await?;
    page(pages::release(&viewer, &release, &channels, &graph))
}

async fn channel(
    State(r): State<Registry>,
    viewer: Viewer,
    Path((b, p, c)): Path<(String, String, String)>,
) -> Page {
    may_read(&viewer, &b)?;
    let (b2, p2, c2) = (b.clone(), p.clone(), c.clone());
    let (history, releases) = r
        .call(move |s| Ok((s.channel_history(&b2, &p2, &c2)?, s.releases(&b2, &p2)?)))
        .await?;
    page(pages::channel(&viewer, &b, &p, &c, &history, &releases))
}

#[derive(Deserialize)]
struct AssignForm {
    csrf: Option<String>,
    channel: String,
    release: String,
}

async fn assign(
    State(r): State<Registry>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((b, p)): Path<(String, String)>,
    Form(form): Form<AssignForm>,
) -> Result<Response, Failure> {
    check_form(&headers, form.csrf.as_deref(), Some(&viewer))?;
    may_administer(&viewer, &b)?;
    let channel = form.channel.trim().to_string();
    let assign = AssignChannel {
        bucket: b.clone(),
        product: p.clone(),
        channel: channel.clone(),
        release: form.release,
        author: format!("token {} (console)", viewer.token.id),
    };
    let target = format!("{b}/{p}/{channel}");
    r.write(&viewer.token, "channel.assign", target, move |s| {
        s.assign_channel(&assign)
    })
    .await?;
    Ok(Redirect::to(&href(&b, &p, Some(("channels", &channel)))).into_response())
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: Option<String>,
    #[serde(default)]
    message: String,
    /// A checkbox: present when ticked.
    skip_descendants: Option<String>,
}

async fn revoke(
    State(r): State<Registry>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((b, p, rel)): Path<(String, String, String)>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, Failure> {
    check_form(&headers, form.csrf.as_deref(), Some(&viewer))?;
    may_administer(&viewer, &b)?;
    let revoke = Revoke {
        bucket: b.clone(),
        product: p.clone(),
        release: rel.clone(),
        at: None,
        message: form.message.trim().to_string(),
        author: format!("token {} (console)", viewer.token.id),
        skip_descendants: form.skip_descendants.is_some(),
    };
    let target = format!("{b}/{p}/{rel}");
    r.write(&viewer.token, "release.revoke", target, move |s| {
        s.revoke(&revoke)
    })
    .await?;
    Ok(Redirect::to(&href(&b, &p, Some(("releases", &rel)))).into_response())
}

async fn restore(
    State(r): State<Registry>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((b, p, rel)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Failure> {
    check_form(&headers, form.csrf.as_deref(), Some(&viewer))?;
    may_administer(&viewer, &b)?;
    let target = format!("{b}/{p}/{rel}");
    let (b2, p2, rel2) = (b.clone(), p.clone(), rel.clone());
    r.write(&viewer.token, "release.restore", target, move |s| {
        s.restore(&b2, &p2, &rel2)
    })
    .await?;
    Ok(Redirect::to(&href(&b, &p, Some(("releases", &rel)))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kiln_token=kiln_abc ; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("kiln_abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn a_form_from_another_site_or_without_the_session_token_is_refused() {
        let viewer = Viewer {
            token: Token {
                id: "T".into(),
                scope: Scope::Admin,
                bucket: None,
                description: String::new(),
                created_at: Timestamp::now(),
                expires_at: None,
                revoked_at: None,
            },
            csrf: csrf_for("kiln_secret"),
        };
        let mut own = HeaderMap::new();
        own.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8750"));
        own.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8750"),
        );
        assert!(check_form(&own, Some(&viewer.csrf), Some(&viewer)).is_ok());
        assert!(check_form(&own, Some("0000"), Some(&viewer)).is_err());
        assert!(check_form(&own, None, Some(&viewer)).is_err());
        let mut foreign = own.clone();
        foreign.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_form(&foreign, Some(&viewer.csrf), Some(&viewer)).is_err());
        assert_ne!(csrf_for("kiln_secret"), csrf_for("kiln_other"));
    }

    #[test]
    fn paths_are_escaped_segment_by_segment() {
        assert_eq!(
            href("b", "p/../x", Some(("releases", "r 1"))),
            "/buckets/b/products/p%2F..%2Fx/releases/r%201"
        );
    }
}
