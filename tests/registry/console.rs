//! The web console in real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver against the real server on 127.0.0.1:0.

use super::server::{call, token, Server};
use super::Registry;
use crate::test::repo_root;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A chromedriver on a loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let binary = Path::new("/usr/bin/chromedriver");
        assert!(
            binary.exists(),
            "chromedriver is missing: scripts/test.sh installs Debian's chromium and chromium-driver"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with its own empty profile and no background traffic.
async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromedriver starts a Chromium session")
}

/// Text of every element matching `css`.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.expect("find_all") {
        out.push(e.text().await.expect("text"));
    }
    out
}

async fn sign_in(c: &Client, base: &str, secret: &str) {
    c.goto(&format!("{base}/signin")).await.expect("goto");
    let field = c
        .find(Locator::Css("input#token"))
        .await
        .expect("the field");
    field.send_keys(secret).await.expect("typing");
    c.find(Locator::Css("form.card button"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("form.signout"))
        .await
        .expect("signed in");
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("form.signout button"))
        .await
        .expect("the sign-out button")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("input#token"))
        .await
        .expect("signed out");
}

/// Where test artifacts (the release page's screenshot) are kept after the run.
fn artifacts() -> PathBuf {
    let dir = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("target/test-artifacts");
    dir
}

#[test]
fn registry_console_in_chromium_shows_releases_and_lets_an_admin_move_a_channel() {
    let r = Registry::new();
    let server = Server::start(&r, &[]);
    let admin = token(&r, &["--scope", "admin"]);
    let reader = token(&r, &["--scope", "read"]);
    let base = server.url("");

    // A base image, two releases of an app built from it, `stable` on the first.
    let publish = |product: &str, release: &str, ids: &[(&str, &str)], parent: bool| {
        let images: Vec<_> = ids
            .iter()
            .map(|(region, id)| json!({"region": region, "external_id": id}))
            .collect();
        let mut body = json!({
            "bucket": "team", "product": product, "release": release,
            "builds": [{"component": "amazon-ebs.web", "provider": "aws", "images": images}]
        });
        if parent {
            body["parents"] =
                json!([{"bucket": "team", "product": "base", "at": {"channel": "latest"}}]);
        }
        let (status, answer) = call(
            "POST",
            &server.url("/v1/publish"),
            Some(&admin),
            Some(&body),
        );
        assert_eq!(status, 200, "{answer}");
    };
    publish("base", "b1", &[("us-east-1", "ami-0base")], false);
    publish(
        "app",
        "r1",
        &[("us-east-1", "ami-0aaa1111"), ("eu-west-1", "ami-0aaa2222")],
        true,
    );
    publish("app", "r2", &[("us-east-1", "ami-0bbb1111")], true);
    let (status, _) = call(
        "PUT",
        &server.url("/v1/buckets/team/products/app/channels/stable"),
        Some(&admin),
        Some(&json!({"release": "r1"})),
    );
    assert_eq!(status, 200);

    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("a profile directory");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let c = browser(&driver, profile.path()).await;
        let release_page = format!("{base}/buckets/team/products/app/releases/r1");

        // No token: refused, with the sign-in form and nothing of the registry.
        c.goto(&release_page).await.expect("goto");
        let source = c.source().await.expect("source");
        assert!(source.contains("Sign in"), "{source}");
        assert!(!source.contains("ami-0aaa1111"), "{source}");

        // A read token sees the release, its images per region, its ancestry, and no forms.
        sign_in(&c, &base, &reader).await;
        c.goto(&release_page).await.expect("goto");
        let ids = texts(&c, "td.image-id").await;
        assert_eq!(
            ids,
            ["ami-0aaa2222", "ami-0aaa1111"],
            "images sorted by region"
        );
        let mut graph = Vec::new();
        for node in c
            .find_all(Locator::Css("svg.ancestry g.node"))
            .await
            .expect("find_all")
        {
            graph.push(
                node.attr("data-release")
                    .await
                    .expect("attr")
                    .unwrap_or_default(),
            );
        }
        assert!(
            graph.iter().any(|t| t == "team/base/b1"),
            "the parent is drawn: {graph:?}"
        );
        assert!(
            c.find_all(Locator::Css("form.change"))
                .await
                .expect("find_all")
                .is_empty(),
            "a read token sees no forms"
        );
        let shot = c.screenshot().await.expect("a screenshot");
        assert!(shot.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(artifacts().join("console-release.png"), &shot).expect("the artifact");

        // The session cookie cannot be read by scripts nor sent cross-site.
        let cookie = c.get_named_cookie("kiln_token").await.expect("the cookie");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");

        // Search by image ID finds the release.
        c.goto(&format!("{base}/search?id=ami-0bbb1111"))
            .await
            .expect("goto");
        let found = texts(&c, "table.found td a").await;
        assert_eq!(found, ["team/app/r2"]);

        // An admin moves `stable` to r2 through the form; after a reload the product page
        // shows it, and so does the API.
        sign_out(&c).await;
        sign_in(&c, &base, &admin).await;
        let product_page = format!("{base}/buckets/team/products/app");
        c.goto(&product_page).await.expect("goto");
        assert_eq!(
            texts(&c, "tr[data-channel=stable] td.release").await,
            ["r1"]
        );
        let form = c
            .form(Locator::Css("form.assign"))
            .await
            .expect("the admin sees the assignment form");
        form.set_by_name("channel", "stable")
            .await
            .expect("channel");
        c.find(Locator::Css("form.assign select option[value=r2]"))
            .await
            .expect("r2 is offered")
            .click()
            .await
            .expect("select r2");
        form.submit().await.expect("submit");
        c.wait()
            .for_element(Locator::Css("table.history"))
            .await
            .expect("the channel's history");
        c.goto(&product_page).await.expect("goto");
        c.refresh().await.expect("reload");
        assert_eq!(
            texts(&c, "tr[data-channel=stable] td.release").await,
            ["r2"]
        );

        // The admin revokes r1 with a reason; the page says so.
        c.goto(&release_page).await.expect("goto");
        let revoke = c.form(Locator::Css("form.revoke")).await.expect("the form");
        revoke
            .set_by_name("message", "CVE-2026-0001")
            .await
            .expect("message");
        revoke.submit().await.expect("submit");
        c.wait()
            .for_element(Locator::Css("div.revoked"))
            .await
            .expect("the revocation banner");
        let banner = texts(&c, "div.revoked").await.join(" ");
        assert!(banner.contains("CVE-2026-0001"), "{banner}");

        c.close().await.expect("close");
    });

    let (_, stable) = call(
        "GET",
        &server.url("/v1/buckets/team/products/app/channels"),
        Some(&admin),
        None,
    );
    let stable = stable
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "stable"))
        .cloned()
        .expect("the stable channel");
    assert_eq!(stable["release"], "r2");
    let (_, release) = call(
        "GET",
        &server.url("/v1/buckets/team/products/app/releases/r1"),
        Some(&admin),
        None,
    );
    assert_eq!(release["status"], "REVOKED", "{release}");
    // The console's writes are audited under the admin's token like the API's.
    let audit = r.stdout(&["audit"]);
    assert!(audit.contains("channel.assign"), "{audit}");
    assert!(audit.contains("release.revoke"), "{audit}");
}

#[test]
fn registry_console_refuses_forged_forms_and_foreign_buckets() {
    let r = Registry::new();
    let server = Server::start(&r, &[]);
    let admin = token(&r, &["--scope", "admin"]);
    let other = token(&r, &["--scope", "admin", "--bucket", "other"]);
    let (status, _) = call(
        "POST",
        &server.url("/v1/publish"),
        Some(&admin),
        Some(&super::server::publish_body("team", "app", "r1", "ami-1")),
    );
    assert_eq!(status, 200);
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let page = |secret: &str, path: &str| {
        let resp = client
            .get(server.url(path))
            .header("Cookie", format!("kiln_token={secret}"))
            .send()
            .expect("answers");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    };
    // Another bucket's admin cannot see this bucket's pages.
    let (status, body) = page(&other, "/buckets/team/products/app");
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("r1"), "{body}");
    // A bad cookie is refused with the sign-in form.
    let (status, body) = page("kiln_nope", "/");
    assert_eq!(status, 401);
    assert!(body.contains("no longer valid"), "{body}");
    // A form post without the session's CSRF token, or from another site, changes nothing.
    let post = |csrf: &str, origin: &str| {
        client
            .post(server.url("/buckets/team/products/app/releases/r1/revoke"))
            .header("Cookie", format!("kiln_token={admin}"))
            .header("Origin", origin)
            .form(&[("csrf", csrf), ("message", "forged")])
            .send()
            .expect("answers")
            .status()
            .as_u16()
    };
    let own = server.url("");
    assert_eq!(post("0123", &own), 403);
    assert_eq!(post("", "https://evil.example"), 403);
    let (_, release) = call(
        "GET",
        &server.url("/v1/buckets/team/products/app/releases/r1"),
        Some(&admin),
        None,
    );
    assert!(release["revocation"].is_null(), "{release}");
    // Every console page says where it may load from and that it may not be framed.
    let resp = client.get(server.url("/signin")).send().expect("answers");
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}
