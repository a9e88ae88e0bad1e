//! The store behind a `kiln registry serve` server: every [`Store`] call is one request of
//! the server's API, with the token of `KILN_REGISTRY_TOKEN`. Blocking, as the trait is; call it
//! off async threads.

use super::auth::{AuditEntry, CreatedToken, NewToken, Token};
use super::error::{Error, Result};
use super::model::*;
use super::server::{
    AssignBody, ErrorBody, ExpireBody, FailBody, FinishBody, Owner, RevokeBody, NEXT_CURSOR,
    PAGE_SIZE,
};
use super::Store;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// A registry server as a store.
pub struct HttpStore {
    base: Url,
    token: Option<String>,
    client: Client,
}

impl HttpStore {
    /// A client of the server at `addr` (`http://host:port`, `https://host:port`, or `host:port`).
    /// Over HTTPS the server's certificate must chain to a root the system trusts
    /// (`SSL_CERT_FILE` names another bundle) or to the PEM file `KILN_REGISTRY_CA` names.
    pub fn new(addr: &str, token: Option<String>) -> Result<HttpStore> {
        let with_scheme = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let base = Url::parse(&with_scheme).map_err(|e| {
            Error::invalid(format!("KILN_REGISTRY_ADDR `{addr}` is not a URL: {e}"))
                .with_hint("set it to the server's address, e.g. http://registry.internal:8750")
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "KILN_REGISTRY_ADDR `{addr}`: kiln speaks HTTP or HTTPS to its server"
            ))
            .with_hint("set it to http://host:port or https://host:port"));
        }
        let mut builder = Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10));
        if let Some(ca) = std::env::var_os("KILN_REGISTRY_CA").filter(|v| !v.is_empty()) {
            let unusable = |e: &dyn std::fmt::Display| {
                Error::invalid(format!(
                    "KILN_REGISTRY_CA {}: {e}",
                    std::path::Path::new(&ca).display()
                ))
                .with_hint(
                    "name a PEM file holding the certificate the server presents, or its CA's",
                )
            };
            let pem = std::fs::read(&ca).map_err(|e| unusable(&e))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| unusable(&e))? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| Error::Storage {
            message: format!("cannot start an HTTP client: {e}"),
        })?;
        Ok(HttpStore {
            base,
            token,
            client,
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let r = self.client.request(method, url);
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    fn send<T: DeserializeOwned>(&self, r: RequestBuilder) -> Result<T> {
        self.exchange(r).map(|(body, _)| body)
    }

    /// Why a request got no answer, down to the cause (a refused connection, an untrusted
    /// certificate), with what to do about an untrusted certificate.
    fn unreachable(&self, e: &reqwest::Error) -> Error {
        let mut message = format!("cannot reach the registry at {}", self.base);
        let mut cause: Option<&dyn std::error::Error> = Some(e);
        let mut certificate = false;
        while let Some(c) = cause {
            let text = c.to_string();
            certificate |= text.contains("certificate");
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            cause = c.source();
        }
        if certificate {
            Error::invalid(message).with_hint("trust the server's certificate: KILN_REGISTRY_CA=FILE names it (or its CA) in PEM; a server started with --tls-self-signed keeps it in tls/cert.pem beside its database")
        } else {
            Error::Storage { message }
        }
    }

    /// One request: its decoded answer, and the next page's cursor when it is a list.
    fn exchange<T: DeserializeOwned>(&self, r: RequestBuilder) -> Result<(T, Option<String>)> {
        let resp = r.send().map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let next = resp
            .headers()
            .get(NEXT_CURSOR)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().map_err(|e| Error::Storage {
            message: format!("the registry at {} stopped answering: {e}", self.base),
        })?;
        if status.is_success() {
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            let decoded = serde_json::from_slice(body).map_err(|e| Error::Storage {
                message: format!(
                    "the registry at {} answered something else than kiln's API: {e}",
                    self.base
                ),
            })?;
            return Ok((decoded, next));
        }
        let e: ErrorBody = serde_json::from_slice(&bytes).unwrap_or(ErrorBody {
            code: "storage".into(),
            message: format!("the registry at {} answered {status}", self.base),
            hint: None,
        });
        Err(error(e))
    }

    /// A whole list, page after page.
    fn list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>> {
        let limit = PAGE_SIZE.to_string();
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = query.to_vec();
            q.push(("limit", &limit));
            if let Some(c) = &cursor {
                q.push(("cursor", c));
            }
            let (page, next): (Vec<T>, _) =
                self.exchange(self.request(Method::GET, self.url(segments, &q)))?;
            all.extend(page);
            match next {
                Some(n) if Some(&n) != cursor.as_ref() => cursor = Some(n),
                _ => return Ok(all),
            }
        }
    }

    fn get<T: DeserializeOwned>(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<T> {
        self.send(self.request(Method::GET, self.url(segments, query)))
    }

    fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        self.send(self.request(method, self.url(segments, &[])).json(body))
    }

    fn product_path<'a>(bucket: &'a str, product: &'a str) -> Vec<&'a str> {
        vec!["v1", "buckets", bucket, "products", product]
    }

    /// The server's address.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The bucket, made now if it does not exist (an admin token's work).
    pub fn ensure_bucket(&self, bucket: &str) -> Result<Bucket> {
        self.send(self.request(Method::PUT, self.url(&["v1", "buckets", bucket], &[])))
    }

    /// The registry's organization UUID, as HCP's resource manager answers it.
    pub fn organization_id(&self) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct Org {
            id: String,
        }
        #[derive(serde::Deserialize)]
        struct Orgs {
            organizations: Vec<Org>,
        }
        let url = self.url(&["resource-manager", "2019-12-10", "organizations"], &[]);
        let response = self
            .request(Method::GET, url)
            .send()
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if !status.is_success() {
            return Err(Error::invalid(format!(
                "the server answered {status} for its organization: {text}"
            )));
        }
        let orgs: Orgs = serde_json::from_str(&text).map_err(|e| Error::Storage {
            message: format!("the server's organizations are unreadable: {e}"),
        })?;
        orgs.organizations
            .into_iter()
            .next()
            .map(|o| o.id)
            .ok_or_else(|| Error::Storage {
                message: "the server names no organization".into(),
            })
    }

    /// Create a token through the API (an admin token's work).
    pub fn create_token(&self, new: &NewToken) -> Result<CreatedToken> {
        self.call(Method::POST, &["v1", "tokens"], new)
    }

    /// Every token.
    pub fn tokens(&self) -> Result<Vec<Token>> {
        self.list(&["v1", "tokens"], &[])
    }

    /// Revoke a token.
    pub fn revoke_token(&self, id: &str) -> Result<Token> {
        self.send(self.request(Method::DELETE, self.url(&["v1", "tokens", id], &[])))
    }

    /// The newest `limit` audit entries.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let limit = limit.to_string();
        self.get(&["v1", "audit"], &[("limit", &limit)])
    }
}

/// A server's error as the store's.
fn error(e: ErrorBody) -> Error {
    let with_hint = |err: Error| match &e.hint {
        Some(h) => err.with_hint(h.clone()),
        None => err,
    };
    match e.code.as_str() {
        "not_found" => with_hint(Error::NotFound {
            what: e
                .message
                .strip_suffix(" not found")
                .unwrap_or(&e.message)
                .to_string(),
            hint: None,
        }),
        "conflict" => with_hint(Error::conflict(e.message.clone())),
        "exists" => with_hint(Error::exists(e.message.clone())),
        "revoked" => with_hint(Error::revoked(e.message.clone())),
        "invalid" | "too_large" | "unauthorized" | "forbidden" => {
            with_hint(Error::invalid(e.message.clone()))
        }
        _ => Error::Storage { message: e.message },
    }
}

/// An empty JSON object, for bodiless POSTs.
#[derive(Serialize)]
struct Empty {}

impl Store for HttpStore {
    fn buckets(&self) -> Result<Vec<Bucket>> {
        self.list(&["v1", "buckets"], &[])
    }

    fn bucket(&self, bucket: &str) -> Result<Bucket> {
        self.get(&["v1", "buckets", bucket], &[])
    }

    fn delete_bucket(&self, bucket: &str) -> Result<()> {
        self.send(self.request(Method::DELETE, self.url(&["v1", "buckets", bucket], &[])))
    }

    fn products(&self, bucket: &str) -> Result<Vec<Product>> {
        self.list(&["v1", "buckets", bucket, "products"], &[])
    }

    fn product(&self, bucket: &str, product: &str) -> Result<Product> {
        self.get(&Self::product_path(bucket, product), &[])
    }

    fn delete_product(&self, bucket: &str, product: &str) -> Result<()> {
        let url = self.url(&Self::product_path(bucket, product), &[]);
        self.send(self.request(Method::DELETE, url))
    }

    fn begin_release(&self, begin: &BeginRelease) -> Result<ReleaseStart> {
        self.call(Method::POST, &["v1", "releases"], begin)
    }

    fn start_build(&self, start: &BuildStart) -> Result<Build> {
        self.call(Method::POST, &["v1", "builds"], start)
    }

    fn heartbeat(&self, build_id: &str) -> Result<()> {
        self.call(
            Method::POST,
            &["v1", "builds", build_id, "heartbeat"],
            &Empty {},
        )
    }

    fn finish_build(&self, build_id: &str, images: &[NewImage]) -> Result<Completion> {
        self.call(
            Method::POST,
            &["v1", "builds", build_id, "finish"],
            &FinishBody {
                images: images.to_vec(),
            },
        )
    }

    fn fail_build(&self, build_id: &str, end: BuildEnd, message: &str) -> Result<()> {
        self.call(
            Method::POST,
            &["v1", "builds", build_id, "fail"],
            &FailBody {
                end,
                message: message.to_string(),
            },
        )
    }

    fn expire_stale_builds(&self, max_age: Duration) -> Result<Vec<String>> {
        self.call(
            Method::POST,
            &["v1", "builds", "expire"],
            &ExpireBody {
                max_age_seconds: max_age.as_secs(),
            },
        )
    }

    fn add_dependency(&self, release_id: &str, parent: &ParentRef) -> Result<Dependency> {
        self.call(
            Method::POST,
            &["v1", "releases", release_id, "parents"],
            parent,
        )
    }

    fn publish(&self, publish: &Publish) -> Result<Completion> {
        self.call(Method::POST, &["v1", "publish"], publish)
    }

    fn releases(&self, bucket: &str, product: &str) -> Result<Vec<Release>> {
        let mut path = Self::product_path(bucket, product);
        path.push("releases");
        self.list(&path, &[])
    }

    fn release(&self, bucket: &str, product: &str, release: &str) -> Result<Release> {
        let mut path = Self::product_path(bucket, product);
        path.extend(["releases", release]);
        self.get(&path, &[])
    }

    fn image(&self, query: &ImageQuery) -> Result<ImageRecord> {
        let mut q: Vec<(&str, &str)> = vec![
            ("bucket", &query.bucket),
            ("product", &query.product),
            ("provider", &query.provider),
            ("region", &query.region),
        ];
        match &query.at {
            ReleaseRef::Release(r) => q.push(("release", r)),
            ReleaseRef::Channel(c) => q.push(("channel", c)),
        }
        if let Some(c) = &query.component {
            q.push(("component", c));
        }
        self.get(&["v1", "image"], &q)
    }

    fn search(&self, external_id: &str) -> Result<Vec<ImageRecord>> {
        self.list(&["v1", "search"], &[("id", external_id)])
    }

    fn channels(&self, bucket: &str, product: &str) -> Result<Vec<Channel>> {
        let mut path = Self::product_path(bucket, product);
        path.push("channels");
        self.list(&path, &[])
    }

    fn channel_history(
        &self,
        bucket: &str,
        product: &str,
        channel: &str,
    ) -> Result<Vec<ChannelAssignment>> {
        let mut path = Self::product_path(bucket, product);
        path.extend(["channels", channel, "history"]);
        self.list(&path, &[])
    }

    fn assign_channel(&self, assign: &AssignChannel) -> Result<ChannelAssignment> {
        let mut path = Self::product_path(&assign.bucket, &assign.product);
        path.extend(["channels", &assign.channel]);
        self.call(
            Method::PUT,
            &path,
            &AssignBody {
                release: assign.release.clone(),
                author: Some(assign.author.clone()),
            },
        )
    }

    fn revoke(&self, revoke: &Revoke) -> Result<Vec<String>> {
        let mut path = Self::product_path(&revoke.bucket, &revoke.product);
        path.extend(["releases", &revoke.release, "revoke"]);
        self.call(
            Method::POST,
            &path,
            &RevokeBody {
                author: Some(revoke.author.clone()),
                at: revoke.at,
                message: revoke.message.clone(),
                skip_descendants: revoke.skip_descendants,
            },
        )
    }

    fn bucket_of(&self, id: &str) -> Result<String> {
        let owner: Owner = self.get(&["v1", "owners", id], &[])?;
        Ok(owner.bucket)
    }

    fn restore(&self, bucket: &str, product: &str, release: &str) -> Result<Vec<String>> {
        let mut path = Self::product_path(bucket, product);
        path.extend(["releases", release, "restore"]);
        self.call(Method::POST, &path, &Empty {})
    }
}
