//! `kiln registry serve`: the real server on 127.0.0.1:0 over a real SQLite file, its tokens,
//! its errors, a kill -9 in a publish storm, and builds and the CLI as its clients.

use super::Registry;
use crate::test::{kiln_bin, repo_root, Test};
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `kiln registry serve` over `registry`'s database.
pub(super) struct Server {
    child: Child,
    addr: String,
    /// What the server printed on start after its address (the TLS certificate line).
    said: Vec<String>,
}

impl Server {
    pub(super) fn start(r: &Registry, extra: &[&str]) -> Server {
        let mut child = Command::new(kiln_bin())
            .args(["registry", "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("KILN_HOME", r.home())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kiln registry serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the server says where it listens");
        let addr = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        let mut said = Vec::new();
        if addr.starts_with("https://") {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("the certificate line");
            said.push(line.trim_end().to_string());
        }
        Server { child, addr, said }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The image the quickstart's note became, on its `latest` channel.
const QUICKSTART_NOTE: [&str; 12] = [
    "registry",
    "image",
    "-product",
    "quickstart",
    "-channel",
    "latest",
    "-provider",
    "file",
    "-region",
    "file",
    "-component",
    "file.note",
];

/// `kiln registry token create` on the server's host.
pub(super) fn token(r: &Registry, args: &[&str]) -> String {
    let mut all = vec!["token", "create"];
    all.extend(args);
    r.stdout(&all).trim().to_string()
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

/// One request: the status and the JSON body (null when empty).
pub(super) fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Json>,
) -> (u16, Json) {
    let c = client();
    let mut req = c.request(method.parse().expect("a method"), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().expect("the server answers");
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Json::Null))
}

pub(super) fn publish_body(bucket: &str, product: &str, release: &str, id: &str) -> Json {
    json!({
        "bucket": bucket, "product": product, "release": release,
        "builds": [{"component": "amazon-ebs.web", "provider": "aws",
                    "images": [{"region": "us-east-1", "external_id": id}]}]
    })
}

#[test]
fn registry_server_answers_every_route_by_token_scope_and_bucket() {
    let r = Registry::new();
    let admin = token(&r, &["--scope", "admin"]);
    let write = token(&r, &["--scope", "write"]);
    let read = token(&r, &["--scope", "read"]);
    let other = token(&r, &["--scope", "admin", "--bucket", "other"]);
    let revoked = token(&r, &["--scope", "admin"]);
    let expired = token(&r, &["--scope", "admin", "--expires", "1s"]);
    let list = r.json(&["token", "list"]);
    let revoked_id = list[4]["id"].as_str().expect("an ID").to_string();
    r.kiln(&["token", "revoke", &revoked_id]).run();
    // The database keeps no secret.
    let db = std::fs::read(r.home().join("registry.db")).unwrap();
    assert!(!db.windows(admin.len()).any(|w| w == admin.as_bytes()));
    std::thread::sleep(Duration::from_millis(1100));

    let server = Server::start(&r, &[]);
    let (status, _) = call(
        "POST",
        &server.url("/v1/publish"),
        Some(&write),
        Some(&publish_body("team", "app", "v1", "ami-1")),
    );
    assert_eq!(status, 200);
    let (_, release) = call(
        "GET",
        &server.url("/v1/buckets/team/products/app/releases/v1"),
        Some(&read),
        None,
    );
    let release_id = release["id"].as_str().expect("a release ID").to_string();
    let build_id = release["builds"][0]["id"]
        .as_str()
        .expect("a build ID")
        .to_string();

    let doc: Json = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("src/registry/server/openapi.json")).unwrap(),
    )
    .unwrap();
    let (_, served) = call("GET", &server.url("/api/openapi.json"), None, None);
    assert_eq!(
        served, doc,
        "the server serves the document in the repository"
    );

    let mut checked = 0;
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("methods") {
            let scope = op["x-kiln-scope"].as_str();
            let concrete = path
                .replace("{bucket}", "team")
                .replace("{product}", "app")
                .replace("{release}", "v1")
                .replace("{channel}", "prod")
                .replace(
                    "{id}",
                    if path.starts_with("/v1/releases") {
                        &release_id
                    } else {
                        &build_id
                    },
                );
            let query = match path.as_str() {
                "/v1/image" | "/v1/lookup" => {
                    "?bucket=team&product=app&release=v1&provider=aws&region=us-east-1"
                }
                "/v1/search" => "?id=ami-1",
                _ => "",
            };
            let url = server.url(&format!("{concrete}{query}"));
            let method = method.to_uppercase();
            // A body that is well-formed for its route, or an empty object.
            let body = match (method.as_str(), path.as_str()) {
                ("PUT", _) => Some(json!({"release": "v1"})),
                ("POST", "/v1/tokens") => Some(json!({"scope": "read"})),
                ("POST", "/v1/builds/expire") => Some(json!({"max_age_seconds": 3600})),
                ("POST", "/v1/builds/{id}/finish") => Some(json!({
                    "images": [{"region": "us-east-1", "external_id": "ami-1"}]
                })),
                ("POST", "/v1/builds/{id}/fail") => Some(json!({"end": "FAILED", "message": "x"})),
                ("POST", "/v1/releases/{id}/parents") => Some(json!({
                    "bucket": "team", "product": "app", "at": {"release": "v1"}
                })),
                ("POST", "/v1/builds") => Some(json!({
                    "release_id": release_id, "component": "amazon-ebs.web", "provider": "aws"
                })),
                ("POST", _) => Some(json!({})),
                _ => None,
            };
            if path == "/oauth2/token" {
                // Public, but answers only a token request: tests/registry/oauth.rs.
                continue;
            }
            let Some(scope) = scope else {
                assert_eq!(
                    call(&method, &url, None, None).0,
                    200,
                    "{method} {path} is public"
                );
                continue;
            };
            let (status, body_none) = call(&method, &url, None, body.as_ref());
            assert_eq!(status, 401, "{method} {path} without a token: {body_none}");
            assert_eq!(body_none["code"], "unauthorized");
            for bad in [&revoked, &expired, &"kiln_not-a-token".to_string()] {
                let (status, _) = call(&method, &url, Some(bad), body.as_ref());
                assert_eq!(status, 401, "{method} {path} with a dead token");
            }
            let rank = |s: &str| {
                ["read", "write", "admin"]
                    .iter()
                    .position(|x| *x == s)
                    .unwrap()
            };
            for (name, t) in [("read", &read), ("write", &write)] {
                let (status, answer) = call(&method, &url, Some(t), body.as_ref());
                if rank(name) < rank(scope) {
                    // A bucket-limited write token may still ask to expire nothing.
                    assert_eq!(status, 403, "{method} {path} with a {name} token: {answer}");
                    assert_eq!(answer["code"], "forbidden");
                } else {
                    assert!(
                        status != 401 && status != 403,
                        "{method} {path} with a {name} token: {status} {answer}"
                    );
                }
            }
            if method != "DELETE" {
                let (status, answer) = call(&method, &url, Some(&admin), body.as_ref());
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} with an admin token: {status} {answer}"
                );
            }
            // A token for another bucket touches nothing in `team` (lists come back filtered).
            let (status, answer) = call(&method, &url, Some(&other), body.as_ref());
            match path.as_str() {
                "/v1/buckets" | "/v1/search" | "/v1/builds/expire" => {
                    assert_eq!(status, 200, "{method} {path}: {answer}");
                    assert_eq!(answer, json!([]), "{method} {path} shows another bucket");
                }
                _ => assert_eq!(
                    status, 403,
                    "{method} {path} with another bucket's token: {answer}"
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 28, "only {checked} routes checked");
    // The admin's own calls all went through (the channel now exists, the release was
    // revoked and restored), and every write is in the audit log.
    let (status, _) = call("GET", &server.url("/v1/buckets/team"), Some(&admin), None);
    assert_eq!(status, 200);
    r.assert_audited(&[
        "publish",
        "channel.assign",
        "release.revoke",
        "token.create",
    ]);
}

#[test]
fn registry_server_refuses_bad_input_with_json_errors_and_keeps_serving() {
    let r = Registry::new();
    let admin = token(&r, &["--scope", "admin"]);
    let server = Server::start(&r, &["--request-timeout", "1s"]);
    let url = server.url("/v1/publish");
    let c = client();
    let raw = |body: &str| {
        let resp = c
            .post(&url)
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("answers");
        let status = resp.status().as_u16();
        (status, resp.json::<Json>().unwrap_or(Json::Null))
    };
    let (status, e) = raw("{not json");
    assert_eq!((status, e["code"].as_str()), (400, Some("invalid")), "{e}");
    let mut unknown = publish_body("team", "app", "v1", "ami-1");
    unknown["colour"] = json!("red");
    let (status, e) = raw(&unknown.to_string());
    assert_eq!(status, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("colour"), "{e}");
    for (bucket, release) in [("../etc", "v1"), ("team", "a/b"), ("team", "x\u{0}y")] {
        let (status, e) = raw(&publish_body(bucket, "app", release, "ami-1").to_string());
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("invalid")),
            "{bucket} {release}: {e}"
        );
    }
    let big = "x".repeat(2 << 20);
    let (status, e) = raw(&publish_body("team", "app", "v1", &big).to_string());
    assert_eq!(
        (status, e["code"].as_str()),
        (413, Some("too_large")),
        "{e}"
    );
    let (status, e) = call("GET", &server.url("/v1/nothing-here"), Some(&admin), None);
    assert_eq!((status, e["code"].as_str()), (404, Some("not_found")));

    // A client that sends half a body and stalls is cut off; others are served meanwhile.
    use std::io::{Read, Write};
    let host = server.addr.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&host).expect("connects");
    write!(
        slow,
        "POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"bucket\":"
    )
    .unwrap();
    let (status, _) = call(
        "POST",
        &url,
        Some(&admin),
        Some(&publish_body("team", "app", "v1", "ami-1")),
    );
    assert_eq!(
        status, 200,
        "the server keeps serving while a client stalls"
    );
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
}

#[test]
fn registry_server_killed_in_a_publish_storm_keeps_every_acknowledged_publish() {
    let r = Registry::new();
    let write = token(&r, &["--scope", "write"]);
    let server = Server::start(&r, &[]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publishers: Vec<_> = (0..8)
        .map(|p| {
            let url = server.url("/v1/publish");
            let write = write.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let release = format!("p{p}-r{n}");
                    let body = json!({
                        "bucket": "storm", "product": "app", "release": release,
                        "builds": [{"component": "c", "provider": "aws", "images": [
                            {"region": "us-east-1", "external_id": format!("ami-{p}-{n}-a")},
                            {"region": "eu-west-1", "external_id": format!("ami-{p}-{n}-b")}]}]
                    });
                    match client().post(&url).bearer_auth(&write).json(&body).send() {
                        Ok(resp) if resp.status().is_success() => acknowledged.push(release),
                        _ => break,
                    }
                    n += 1;
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acknowledged: Vec<String> = publishers
        .into_iter()
        .flat_map(|h| h.join().expect("a publisher"))
        .collect();
    assert!(
        acknowledged.len() >= 8,
        "the storm published {}",
        acknowledged.len()
    );

    let _again = Server::start(&r, &[]);
    let releases = r.json(&["release", "list", "-bucket", "storm", "-product", "app"]);
    let releases = releases.as_array().unwrap();
    for name in &acknowledged {
        let found = releases
            .iter()
            .find(|x| x["name"] == json!(name))
            .unwrap_or_else(|| panic!("acknowledged release {name} is gone"));
        assert_eq!(found["status"], "ACTIVE", "{found}");
    }
    for rel in releases {
        // Whatever got in is whole: both images of its one build.
        let images: usize = rel["builds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["images"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(images, 2, "half-written release {rel}");
    }
}

#[test]
fn registry_server_builds_and_the_cli_publish_and_read_through_it() {
    let r = Registry::new();
    let write = token(&r, &["--scope", "write", "--bucket", "default"]);
    let read = token(&r, &["--scope", "read"]);
    let server = Server::start(&r, &[]);
    // The build's own KILN_HOME is empty: everything goes to the server.
    let project = Test::new()
        .write(
            "quickstart.pkr.hcl",
            std::fs::read(repo_root().join("examples/quickstart.pkr.hcl")).unwrap(),
        )
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_TOKEN", &write)
        .env("HCP_PACKER_BUILD_FINGERPRINT", "served");
    let out = project.run_unchecked_with(&["build", "quickstart.pkr.hcl"]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!project.dir().join(".kiln/registry.db").exists());
    let note = project
        .dir()
        .canonicalize()
        .unwrap()
        .join("artifacts/note.txt");
    Test::new()
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_TOKEN", &read)
        .args(QUICKSTART_NOTE)
        .stdout(format!("{}\n", note.display()))
        .run();
    // The read token cannot publish, and says so.
    Test::new()
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_TOKEN", &read)
        .args([
            "registry",
            "publish",
            "-bucket",
            "default",
            "-product",
            "xyz",
            "-release",
            "v1",
            "-component",
            "c",
            "-provider",
            "aws",
            "-region",
            "us-east-1",
            "-id",
            "ami-1",
        ])
        .status(1)
        .stderr_contains("this needs a write token for bucket `default`")
        .run();
    // Terraform's `http` data source reads the lookup route.
    let (status, found) = call(
        "GET",
        &server.url(
            "/v1/lookup?bucket=default&product=quickstart&channel=latest&provider=null&region=null",
        ),
        Some(&read),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(found["id"], "Null");
    assert_eq!(found["release"], "served");
}

#[test]
fn registry_server_pages_long_lists_and_limits_a_busy_token() {
    let r = Registry::new();
    let admin = token(&r, &["--scope", "admin"]);
    let calm = token(&r, &["--scope", "read"]);
    let server = Server::start(&r, &[]);
    let c = client();
    let releases = 150;
    for i in 0..releases {
        let resp = c
            .post(server.url("/v1/publish"))
            .bearer_auth(&admin)
            .json(&publish_body(
                "team",
                "app",
                &format!("r{i:03}"),
                &format!("ami-{i}"),
            ))
            .send()
            .expect("answers");
        assert_eq!(resp.status().as_u16(), 200, "publish {i}");
    }
    // Pages of 40, oldest first, each one's cursor leading to the next, every release once.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = server.url("/v1/buckets/team/products/app/releases?limit=40");
        if let Some(cur) = &cursor {
            url.push_str(&format!("&cursor={cur}"));
        }
        let resp = c.get(url).bearer_auth(&calm).send().expect("answers");
        assert_eq!(resp.status().as_u16(), 200);
        let next = resp
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_string());
        let page: Json = resp.json().expect("JSON");
        let page = page.as_array().expect("a list").clone();
        assert!(page.len() <= 40);
        names.extend(page.iter().map(|r| r["name"].as_str().unwrap().to_string()));
        pages += 1;
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let published: Vec<String> = (0..releases).map(|i| format!("r{i:03}")).collect();
    assert_eq!(names, published);
    assert_eq!(pages, 4);
    // Without a limit, a page is 100; a bad limit or cursor is the client's to fix.
    let (status, first) = call(
        "GET",
        &server.url("/v1/buckets/team/products/app/releases"),
        Some(&calm),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(first.as_array().unwrap().len(), 100);
    for bad in ["limit=0", "limit=5000", "cursor=abc"] {
        let (status, e) = call(
            "GET",
            &server.url(&format!("/v1/buckets/team/products/app/releases?{bad}")),
            Some(&calm),
            None,
        );
        assert_eq!(status, 400, "{bad}: {e}");
        assert_eq!(e["code"], "invalid");
    }
    // The CLI through the server follows the pages and sees every release.
    let listed = r
        .kiln(&[
            "release",
            "list",
            "-bucket",
            "team",
            "-product",
            "app",
            "-format=json",
        ])
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_TOKEN", &calm)
        .run()
        .stdout;
    let listed: Json = serde_json::from_str(&listed).expect("JSON");
    assert_eq!(listed.as_array().unwrap().len(), releases);

    // A token that floods the server is told to wait (429, Retry-After); another is not.
    let limited = Server::start(&r, &["--rate-limit", "5"]);
    let url = limited.url("/v1/buckets");
    let statuses: Vec<u16> = (0..30)
        .map(|_| {
            c.get(&url)
                .bearer_auth(&admin)
                .send()
                .expect("answers")
                .status()
                .as_u16()
        })
        .collect();
    assert!(statuses[..5].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let resp = c.get(&url).bearer_auth(&admin).send().expect("answers");
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let e: Json = resp.json().expect("JSON");
    assert_eq!(e["code"], "rate_limited");
    assert_eq!(call("GET", &url, Some(&calm), None).0, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(call("GET", &url, Some(&admin), None).0, 200);
}

/// `--tls-self-signed`: HTTPS with a certificate the server makes once and keeps. The CLI and a
/// build reach it trusting that certificate (`KILN_REGISTRY_CA`) and refuse it otherwise; plain
/// HTTP gets no answer; a client that connects and never speaks TLS holds up no one.
#[test]
fn registry_server_speaks_https_with_a_certificate_it_keeps() {
    use std::os::unix::fs::PermissionsExt;
    let r = Registry::new();
    let write = token(&r, &["--scope", "write", "--bucket", "default"]);
    let read = token(&r, &["--scope", "read"]);
    let server = Server::start(&r, &["--tls-self-signed"]);
    assert!(
        server.addr.starts_with("https://127.0.0.1:"),
        "{}",
        server.addr
    );
    let cert = r.home().join("tls/cert.pem");
    let key = r.home().join("tls/key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is the server's alone");
    let said = server.said.join("\n");
    let fingerprint = regex::Regex::new(r"SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")
        .unwrap()
        .captures(&said)
        .unwrap_or_else(|| panic!("no fingerprint in {said:?}"))[1]
        .to_string();

    // A client that connects and says nothing while the others are served.
    let _silent = std::net::TcpStream::connect(server.addr.trim_start_matches("https://")).unwrap();

    let project = Test::new()
        .write(
            "quickstart.pkr.hcl",
            std::fs::read(repo_root().join("examples/quickstart.pkr.hcl")).unwrap(),
        )
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_CA", cert.to_string_lossy())
        .env("KILN_REGISTRY_TOKEN", &write);
    let out = project.run_unchecked_with(&["build", "quickstart.pkr.hcl"]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    let image = QUICKSTART_NOTE;
    let trusted = Test::new()
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_CA", cert.to_string_lossy())
        .env("KILN_REGISTRY_TOKEN", &read)
        .args(image)
        .run();
    assert!(
        trusted.stdout.ends_with("artifacts/note.txt\n"),
        "{}",
        trusted.stdout
    );

    // Without the certificate trusted, the CLI refuses the server and says why.
    let untrusted = Test::new()
        .env("KILN_REGISTRY_ADDR", &server.addr)
        .env("KILN_REGISTRY_TOKEN", &read)
        .args(image)
        .status(1)
        .run();
    assert!(
        untrusted.stderr.to_lowercase().contains("certificate"),
        "{}",
        untrusted.stderr
    );
    assert!(!untrusted.stderr.contains(&read));

    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let plain = server.url("/healthz").replace("https://", "http://");
    assert!(client().get(&plain).send().is_err());

    // Restarted, the server presents the same certificate; --tls-cert/--tls-key take the files.
    drop(server);
    let again = Server::start(&r, &["--tls-self-signed"]);
    assert!(again.said.join("\n").contains(&fingerprint));
    drop(again);
    let files = Server::start(
        &r,
        &[
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &key.to_string_lossy(),
        ],
    );
    assert!(files.said.join("\n").contains(&fingerprint));

    // A key that is not the certificate's own is refused at start, with both files named.
    let other = Registry::new();
    drop(Server::start(&other, &["--tls-self-signed"]));
    let mismatched = r
        .kiln(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &other.home().join("tls/key.pem").to_string_lossy(),
        ])
        .status(1)
        .run();
    assert!(
        mismatched.stderr.contains("do not make a server"),
        "{}",
        mismatched.stderr
    );
}

/// `/readyz` for a load balancer, `/metrics` for Prometheus: requests by route template (never
/// the names a client asked for) and status, and latency histograms.
#[test]
fn registry_server_reports_readiness_and_metrics() {
    let r = Registry::new();
    let read = token(&r, &["--scope", "read"]);
    let server = Server::start(&r, &[]);
    let (status, _) = call("GET", &server.url("/readyz"), None, None);
    assert_eq!(status, 200);
    for _ in 0..3 {
        let (status, _) = call(
            "GET",
            &server.url("/v1/buckets/secret-team-name"),
            Some(&read),
            None,
        );
        assert_eq!(status, 404);
    }
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .expect("the server answers")
        .text()
        .unwrap();
    assert!(
        text.contains(
            "kiln_http_requests_total{method=\"GET\",route=\"/v1/buckets/{bucket}\",status=\"404\"} 3"
        ),
        "{text}"
    );
    assert!(text
        .contains("kiln_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"));
    assert!(text.contains(
        "kiln_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/buckets/{bucket}\"} 3"
    ));
    assert!(
        !text.contains("secret-team-name"),
        "a name a client sent is a label"
    );
}
