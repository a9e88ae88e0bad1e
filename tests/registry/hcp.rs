//! HCP Packer's API on the real server over TLS, as stock Packer 1.16 and Terraform's `hcp`
//! provider call it (the sequences in ../shared/hcp-api/NOTES.md §1.1 and §5.3), every answer
//! checked against HashiCorp's Swagger definitions, strictly (no undeclared field, enums and
//! formats as declared).

use super::server::{token, Server};
use super::swagger::Spec;
use super::Registry;
use crate::test::{kiln_bin, shared_dir};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::process::Command;

const PACKER_RUN: &str = "6f1c1c1e-8a51-4b7e-9d0a-3c2f5e7b9a10";

/// A client of the HCP API as the SDK is one: bearer token from `/oauth2/token`, JSON bodies,
/// every answer checked against the spec of the operation it answers.
struct Hcp {
    client: reqwest::blocking::Client,
    origin: String,
    packer: Spec,
    resource_manager: Spec,
    env: BTreeMap<String, String>,
    bearer: String,
}

impl Hcp {
    /// `kiln registry hcp-env` against `server`, then a token as the SDK fetches one.
    fn new(r: &Registry, server: &Server, admin: &str, scope: &str) -> Hcp {
        let out = Command::new(kiln_bin())
            .args(["registry", "hcp-env", "-bucket", "team", "-scope", scope])
            .env("KILN_HOME", r.home())
            .env("KILN_REGISTRY_ADDR", server.url(""))
            .env("KILN_REGISTRY_TOKEN", admin)
            .env("KILN_REGISTRY_CA", r.home().join("tls/cert.pem"))
            .output()
            .expect("kiln runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env: BTreeMap<String, String> = stdout
            .lines()
            .map(|l| {
                let (k, v) = l.split_once('=').expect("NAME=value");
                (k.to_string(), v.to_string())
            })
            .collect();
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "HCP_API_ADDRESS",
                "HCP_API_TLS",
                "HCP_AUTH_TLS",
                "HCP_AUTH_URL",
                "HCP_CLIENT_ID",
                "HCP_CLIENT_SECRET",
                "HCP_ORGANIZATION_ID",
                "HCP_PROJECT_ID"
            ]
        );
        assert_eq!(env["HCP_API_TLS"], "insecure");
        let origin = format!("https://{}", env["HCP_API_ADDRESS"]);
        assert_eq!(env["HCP_AUTH_URL"], origin);
        assert_eq!(origin, server.url(""));
        for id in ["HCP_ORGANIZATION_ID", "HCP_PROJECT_ID"] {
            uuid::Uuid::try_parse(&env[id]).unwrap_or_else(|_| panic!("{id} is a UUID"));
        }
        // HCP_AUTH_TLS=insecure: the SDK skips verification; this client trusts the server's
        // self-signed certificate instead, which checks more.
        let pem = std::fs::read(r.home().join("tls/cert.pem")).expect("the certificate");
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
            .build()
            .expect("a client");
        let spec = |f: &str| Spec::load(&shared_dir().join("hcp-api").join(f));
        let mut hcp = Hcp {
            client,
            origin,
            packer: spec("packer-2023-01-01.swagger.json"),
            resource_manager: spec("resource-manager-2019-12-10.swagger.json"),
            env,
            bearer: String::new(),
        };
        hcp.bearer = hcp.fetch_token();
        hcp
    }

    /// `POST /oauth2/token` as x/oauth2's client credentials flow sends it.
    fn fetch_token(&self) -> String {
        let resp = self
            .client
            .post(format!("{}/oauth2/token", self.origin))
            .basic_auth(
                &self.env["HCP_CLIENT_ID"],
                Some(&self.env["HCP_CLIENT_SECRET"]),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("audience", "https://api.hashicorp.cloud"),
            ])
            .send()
            .expect("the server answers");
        assert_eq!(resp.status().as_u16(), 200);
        let body: Json = resp.json().expect("JSON");
        assert_eq!(body["token_type"], "Bearer");
        body["access_token"].as_str().expect("a token").to_string()
    }

    /// `/packer/2023-01-01/organizations/{org}/projects/{proj}` + `rest`.
    fn packer_path(&self, rest: &str) -> String {
        format!(
            "/packer/2023-01-01/organizations/{}/projects/{}{rest}",
            self.env["HCP_ORGANIZATION_ID"], self.env["HCP_PROJECT_ID"]
        )
    }

    /// One call; its answer checked against the spec of the operation it answers.
    fn call(&self, method: &str, path: &str, body: Option<Json>) -> (u16, Json) {
        let mut req = self
            .client
            .request(
                method.parse().expect("a method"),
                format!("{}{path}", self.origin),
            )
            .bearer_auth(&self.bearer)
            .header("X-HCP-Source-Channel", "packer/1.16.0 hcp-go-sdk/0.174.0");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("the server answers");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().expect("a body");
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "{method} {path}: {text}"
        );
        let body: Json =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        let (spec, op) = match self.packer.operation_for(method, path) {
            Some(op) => (&self.packer, op),
            None => (
                &self.resource_manager,
                self.resource_manager
                    .operation_for(method, path)
                    .unwrap_or_else(|| panic!("{method} {path} is in neither spec")),
            ),
        };
        spec.check(&op, if status == 200 { "200" } else { "default" }, &body);
        (status, body)
    }

    /// A call that must succeed, exactly 200; its body.
    fn ok(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let (status, answer) = self.call(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer
    }

    /// A call that must fail with this gRPC code and HTTP status, in the shape Packer parses.
    fn refused(
        &self,
        method: &str,
        path: &str,
        body: Option<Json>,
        code: i64,
        http: u16,
    ) -> String {
        let (status, answer) = self.call(method, path, body);
        assert_eq!(status, http, "{method} {path}: {answer}");
        let keys: Vec<&str> = answer
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["code", "details", "message"], "{answer}");
        assert_eq!(answer["code"], code, "{method} {path}: {answer}");
        assert_eq!(answer["details"], json!([]));
        // What Packer's CheckErrorCode matches in the Go error string.
        let go = format!("{answer}");
        let re = regex::Regex::new(r#"[Cc]ode"?:([0-9]+)"#).unwrap();
        assert_eq!(
            re.captures(&go).expect("Packer finds the code")[1],
            code.to_string()
        );
        answer["message"].as_str().expect("a message").to_string()
    }
}

/// What Packer sends when a build is done (NOTES §1.2: `markBuildComplete`).
fn done_body(regions: &[(&str, &str)]) -> Json {
    let artifacts: Vec<Json> = regions
        .iter()
        .map(|(region, id)| json!({"external_identifier": id, "region": region}))
        .collect();
    json!({
        "status": "BUILD_DONE",
        "packer_run_uuid": PACKER_RUN,
        "platform": "aws",
        "source_external_identifier": "ami-0source",
        "parent_version_id": "",
        "parent_channel_id": "",
        "labels": {"git_sha": "0123abc", "os": "ubuntu"},
        "artifacts": artifacts,
        "metadata": {
            "packer": {"version": "1.16.0", "plugins": [{"name": "amazon", "version": "1.3.3"}]},
            "vcs": {"type": "git", "details": {"ref": "main", "commit": "0123abc"}},
            "cicd": {"type": "github-actions", "details": {}}
        }
    })
}

#[test]
fn registry_hcp_api_serves_packer_and_terraform_as_they_call_it() {
    let r = Registry::new();
    let admin = token(&r, &["--scope", "admin"]);
    let server = Server::start(&r, &["--tls-self-signed"]);
    let hcp = Hcp::new(&r, &server, &admin, "admin");
    let p = |rest: &str| hcp.packer_path(rest);
    let fp = "01JFINGERPRINT0000000000001";

    // Packer: upsert the bucket (GET → 5 → PUT), then get or create the version (GET → 10 → POST).
    let message = hcp.refused("GET", &p("/buckets/web"), None, 5, 404);
    assert!(message.contains("web"), "{message}");
    let bucket = hcp.ok(
        "PUT",
        &p("/buckets"),
        Some(json!({"name": "web", "description": "The web tier", "labels": {"team": "platform"}})),
    );
    assert_eq!(bucket["bucket"]["name"], "web");
    assert_eq!(bucket["bucket"]["version_count"], "0");
    assert_eq!(
        bucket["bucket"]["location"]["project_id"],
        hcp.env["HCP_PROJECT_ID"].as_str()
    );
    let got = hcp.ok("GET", &p("/buckets/web"), None);
    assert_eq!(got["bucket"]["description"], "The web tier");
    assert_eq!(got["bucket"]["labels"], json!({"team": "platform"}));
    // `latest` came with the bucket, managed and serving nothing.
    let latest = hcp.ok("GET", &p("/buckets/web/channels/latest"), None);
    assert_eq!(latest["channel"]["managed"], true);
    assert!(latest["channel"].get("version").is_none());

    hcp.refused(
        "GET",
        &p(&format!("/buckets/web/versions/{fp}")),
        None,
        10,
        409,
    );
    let created = hcp.ok(
        "POST",
        &p("/buckets/web/versions"),
        Some(json!({"fingerprint": fp, "template_type": "HCL2"})),
    );
    let version = &created["version"];
    assert_eq!(version["name"], "v0");
    assert_eq!(version["status"], "VERSION_RUNNING");
    assert_eq!(version["template_type"], "HCL2");
    assert!(version["id"]
        .as_str()
        .is_some_and(|id| ulid::Ulid::from_string(id).is_ok()));

    // List the builds (none), create one per source (in parallel, as Packer does), and refuse
    // a duplicate with 6, which Packer tolerates.
    let builds = hcp.ok(
        "GET",
        &p(&format!("/buckets/web/versions/{fp}/builds")),
        None,
    );
    assert_eq!(builds["builds"], json!([]));
    let components = ["amazon-ebs.ubuntu", "amazon-ebs.debian"];
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = components
            .iter()
            .map(|c| {
                let (hcp, p) = (&hcp, &p);
                s.spawn(move || {
                    let b = hcp.ok(
                        "POST",
                        &p(&format!("/buckets/web/versions/{fp}/builds")),
                        Some(json!({"component_type": c, "packer_run_uuid": PACKER_RUN, "status": "BUILD_UNSET"})),
                    );
                    assert_eq!(b["build"]["status"], "BUILD_UNSET");
                    assert_eq!(b["build"]["packer_run_uuid"], PACKER_RUN);
                    b["build"]["id"].as_str().expect("an ID").to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    hcp.refused(
        "POST",
        &p(&format!("/buckets/web/versions/{fp}/builds")),
        Some(json!({"component_type": components[0], "packer_run_uuid": PACKER_RUN, "status": "BUILD_UNSET"})),
        6,
        409,
    );
    // Packer 1.16 asks for enforced blocks; kiln has none.
    let enforced = hcp.ok("GET", &p("/enforced_blocks/bucket/web"), None);
    assert_eq!(enforced, json!({"enforced_block_detail": []}));

    // Start both, then heartbeats (every 2 minutes in Packer; twice here).
    for id in &ids {
        let path = p(&format!("/buckets/web/versions/{fp}/builds/{id}"));
        for _ in 0..3 {
            let b = hcp.ok(
                "PATCH",
                &path,
                Some(json!({"status": "BUILD_RUNNING", "packer_run_uuid": PACKER_RUN})),
            );
            assert_eq!(b["build"]["status"], "BUILD_RUNNING");
            assert_eq!(b["build"]["id"], id.as_str());
        }
    }
    // An SBOM (the hcp-sbom provisioner), stored with the build; a second of the name is 6.
    let sbom_path = p(&format!(
        "/buckets/web/versions/{fp}/builds/{}/sboms",
        ids[0]
    ));
    let sbom =
        json!({"compressed_sbom": "KLUv/SQFKQAAaGVsbG8=", "format": "SPDX", "name": "os-packages"});
    let stored = hcp.ok("PUT", &sbom_path, Some(sbom.clone()));
    assert_eq!(stored["sbom"]["name"], "os-packages");
    assert_eq!(stored["sbom"]["format"], "SPDX");
    hcp.refused("PUT", &sbom_path, Some(sbom), 6, 409);
    let listed = hcp.ok("GET", &sbom_path, None);
    assert_eq!(listed["sboms"].as_array().unwrap().len(), 1);

    // The first build DONE: the version waits for the second, still v0.
    let first = hcp.ok(
        "PATCH",
        &p(&format!("/buckets/web/versions/{fp}/builds/{}", ids[0])),
        Some(done_body(&[
            ("us-east-1", "ami-0ubuntu1"),
            ("eu-west-1", "ami-0ubuntu2"),
        ])),
    );
    assert_eq!(first["build"]["status"], "BUILD_DONE");
    assert_eq!(first["build"]["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(first["build"]["metadata"]["vcs"]["type"], "git");
    let waiting = hcp.ok("GET", &p(&format!("/buckets/web/versions/{fp}")), None);
    assert_eq!(waiting["version"]["name"], "v0");
    assert_eq!(waiting["version"]["status"], "VERSION_RUNNING");
    // DONE with no artifact is refused (Packer refuses it locally too).
    hcp.refused(
        "PATCH",
        &p(&format!("/buckets/web/versions/{fp}/builds/{}", ids[1])),
        Some(json!({"status": "BUILD_DONE", "platform": "aws", "artifacts": []})),
        3,
        400,
    );
    // The second DONE completes it: v1, ACTIVE, served by `latest`, counted by the bucket.
    hcp.ok(
        "PATCH",
        &p(&format!("/buckets/web/versions/{fp}/builds/{}", ids[1])),
        Some(done_body(&[
            ("us-east-1", "ami-0debian1"),
            ("eu-west-1", "ami-0debian2"),
        ])),
    );
    let complete = hcp.ok("GET", &p(&format!("/buckets/web/versions/{fp}")), None);
    assert_eq!(complete["version"]["name"], "v1");
    assert_eq!(complete["version"]["status"], "VERSION_ACTIVE");
    for b in complete["version"]["builds"].as_array().unwrap() {
        assert_eq!(b["status"], "BUILD_DONE");
        assert_eq!(b["platform"], "aws");
        assert_eq!(b["labels"]["os"], "ubuntu");
    }
    let latest = hcp.ok("GET", &p("/buckets/web/channels/latest"), None);
    assert_eq!(latest["channel"]["version"]["fingerprint"], fp);
    let bucket = hcp.ok("GET", &p("/buckets/web"), None);
    assert_eq!(bucket["bucket"]["version_count"], "1");
    assert_eq!(bucket["bucket"]["latest_version"]["name"], "v1");
    assert_eq!(bucket["bucket"]["platforms"], json!(["aws"]));

    // `channels = ["production"]` (Packer ≥ 1.15): absent → 5 (Packer logs it); made by
    // Terraform's `hcp_packer_channel`, then assigned.
    let assign = json!({"version_fingerprint": fp, "update_mask": "versionFingerprint"});
    hcp.refused(
        "PATCH",
        &p("/buckets/web/channels/production"),
        Some(assign.clone()),
        5,
        404,
    );
    let made = hcp.ok(
        "POST",
        &p("/buckets/web/channels"),
        Some(json!({"name": "production", "restricted": false})),
    );
    assert!(made["channel"].get("version").is_none());
    let moved = hcp.ok(
        "PATCH",
        &p("/buckets/web/channels/production"),
        Some(assign.clone()),
    );
    assert_eq!(moved["channel"]["version"]["name"], "v1");
    hcp.refused(
        "POST",
        &p("/buckets/web/channels"),
        Some(json!({"name": "production"})),
        6,
        409,
    );
    // `latest` is the server's: changing it is 9.
    hcp.refused(
        "PATCH",
        &p("/buckets/web/channels/latest"),
        Some(assign),
        9,
        400,
    );
    hcp.refused("DELETE", &p("/buckets/web/channels/latest"), None, 9, 400);
    let history = hcp.ok("GET", &p("/buckets/web/channels/production/history"), None);
    assert_eq!(history["count"], 1);
    let channels = hcp.ok("GET", &p("/buckets/web/channels"), None);
    let names: Vec<&str> = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["latest", "production"]);

    // Promotion as HCP's portal does it, and the reverse lookup of an artifact.
    hcp.ok(
        "POST",
        &p("/buckets/web/channels"),
        Some(json!({"name": "staging"})),
    );
    let promoted = hcp.ok(
        "POST",
        &p("/buckets/web/channels/assign"),
        Some(json!({"source_channel": "production", "target_channel": "staging"})),
    );
    assert_eq!(promoted["fingerprint"], fp);
    assert_eq!(promoted["target_channel"]["version"]["name"], "v1");
    let found = hcp.ok(
        "POST",
        &p("/_search/external_artifact"),
        Some(json!({"external_identifier": "ami-0ubuntu2", "platform": "aws", "region": "eu-west-1"})),
    );
    let found = found["artifacts"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["version"]["fingerprint"], fp);
    assert_eq!(found[0]["bucket"]["name"], "web");
    assert_eq!(found[0]["build"]["component_type"], "amazon-ebs.ubuntu");

    // A second `packer build` with the same fingerprint finds the version complete: Packer
    // aborts on any name but v0. Creating it again is 6.
    let again = hcp.ok("GET", &p(&format!("/buckets/web/versions/{fp}")), None);
    assert_ne!(again["version"]["name"], "v0");
    hcp.refused(
        "POST",
        &p("/buckets/web/versions"),
        Some(json!({"fingerprint": fp, "template_type": "HCL2"})),
        6,
        409,
    );
    hcp.refused(
        "POST",
        &p(&format!("/buckets/web/versions/{fp}/builds")),
        Some(json!({"component_type": "amazon-ebs.late", "status": "BUILD_UNSET"})),
        9,
        400,
    );
    hcp.refused("PUT", &p("/buckets"), Some(json!({"name": "web"})), 6, 409);

    // Terraform: a fresh token, the project (for its organization), then the artifact by
    // channel, platform and region, picked client-side as the provider does.
    let tf = Hcp::new(&r, &server, &admin, "read");
    let project = tf.ok(
        "GET",
        &format!(
            "/resource-manager/2019-12-10/projects/{}",
            tf.env["HCP_PROJECT_ID"]
        ),
        None,
    );
    assert_eq!(project["project"]["parent"]["type"], "ORGANIZATION");
    assert_eq!(
        project["project"]["parent"]["id"],
        tf.env["HCP_ORGANIZATION_ID"].as_str()
    );
    // Clients that do not pin the IDs: exactly one organization, its projects, the registry.
    let orgs = tf.ok("GET", "/resource-manager/2019-12-10/organizations", None);
    let orgs = orgs["organizations"].as_array().unwrap();
    assert_eq!(orgs.len(), 1, "Packer needs exactly one");
    assert_eq!(orgs[0]["id"], tf.env["HCP_ORGANIZATION_ID"].as_str());
    let projects = tf.ok(
        "GET",
        &format!(
            "/resource-manager/2019-12-10/projects?scope.id={}&scope.type=ORGANIZATION",
            tf.env["HCP_ORGANIZATION_ID"]
        ),
        None,
    );
    let ids: Vec<&str> = projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [tf.env["HCP_PROJECT_ID"].as_str()],
        "the read principal's bucket only"
    );
    let registry = tf.ok("GET", &tf.packer_path("/registry"), None);
    assert_eq!(registry["registry"]["config"]["activated"], true);
    let channel = tf.ok(
        "GET",
        &tf.packer_path("/buckets/web/channels/production"),
        None,
    );
    let version = &channel["channel"]["version"];
    assert_eq!(version["status"], "VERSION_ACTIVE");
    let build = version["builds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["platform"] == "aws" && b["component_type"] == "amazon-ebs.ubuntu")
        .expect("an aws build");
    let artifact = build["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["region"] == "eu-west-1")
        .expect("an eu-west-1 artifact");
    assert_eq!(artifact["external_identifier"], "ami-0ubuntu2");
    // By fingerprint, and the bucket names `hcp_packer_bucket_names` pages through.
    let by_fp = tf.ok(
        "GET",
        &tf.packer_path(&format!("/buckets/web/versions/{fp}")),
        None,
    );
    assert_eq!(by_fp["version"]["fingerprint"], fp);
    let names = tf.ok(
        "GET",
        &tf.packer_path("/buckets?sorting.order_by=name&pagination.page_size=1"),
        None,
    );
    assert_eq!(names["buckets"][0]["name"], "web");
    // A read principal cannot publish: 7.
    tf.refused(
        "POST",
        &tf.packer_path("/buckets/web/versions"),
        Some(json!({"fingerprint": "other"})),
        7,
        403,
    );

    // Kiln's own CLI and console see the same images.
    r.image("web", "-channel", "production", "aws", "eu-west-1")
        .args(["-component", "amazon-ebs.ubuntu"])
        .stdout("ami-0ubuntu2\n")
        .run();
    let page = hcp
        .client
        .get(format!(
            "{}/buckets/team/products/web/releases/{fp}",
            hcp.origin
        ))
        .header("cookie", format!("kiln_token={admin}"))
        .send()
        .expect("the console answers")
        .text()
        .unwrap();
    for id in [
        "ami-0ubuntu1",
        "ami-0ubuntu2",
        "ami-0debian1",
        "ami-0debian2",
    ] {
        assert!(page.contains(id), "the console lacks {id}");
    }

    // Revocation as HCP's UpdateVersion says it: scheduled, then restored.
    let scheduled = hcp.ok(
        "PATCH",
        &p(&format!("/buckets/web/versions/{fp}")),
        Some(json!({"revoke_in": "1h", "revocation_message": "CVE-2026-0001"})),
    );
    assert_eq!(
        scheduled["version"]["status"],
        "VERSION_REVOCATION_SCHEDULED"
    );
    assert_eq!(scheduled["version"]["revocation_type"], "MANUAL");
    let restored = hcp.ok(
        "PATCH",
        &p(&format!("/buckets/web/versions/{fp}")),
        Some(json!({"restore": true})),
    );
    assert_eq!(restored["version"]["status"], "VERSION_ACTIVE");

    // Unknown organization and project are 5; the 2021-04-30 API of Packer 1.9/1.10 is 12 with
    // a hint; every write above is in the audit log.
    hcp.refused(
        "GET",
        &format!(
            "/packer/2023-01-01/organizations/{}/projects/{}/buckets/web",
            uuid::Uuid::nil(),
            hcp.env["HCP_PROJECT_ID"]
        ),
        None,
        5,
        404,
    );
    r.assert_audited(&[
        "hcp.bucket.create",
        "hcp.version.create",
        "hcp.build.create",
        "hcp.build.update",
        "hcp.sbom.upload",
        "hcp.channel.create",
        "hcp.channel.update",
        "hcp.channel.assign",
        "hcp.version.update",
    ]);
}

/// A server over TLS, a principal of `scope` for bucket `team`, and its client.
fn started(scope: &str) -> (Registry, Server, Hcp) {
    let r = Registry::new();
    let admin = token(&r, &["--scope", "admin"]);
    let server = Server::start(&r, &["--tls-self-signed"]);
    let hcp = Hcp::new(&r, &server, &admin, scope);
    (r, server, hcp)
}

impl Hcp {
    /// Make a bucket as Packer does (PUT after GET said 5).
    fn bucket(&self, name: &str) {
        self.ok(
            "PUT",
            &self.packer_path("/buckets"),
            Some(json!({"name": name})),
        );
    }

    /// Packer's run for one version: create it, one build per component, RUNNING, then DONE
    /// with one artifact in us-east-1 each (`extra` merged into each DONE body). The build IDs.
    fn run(&self, bucket: &str, fp: &str, components: &[&str], extra: Json) -> Vec<String> {
        let v = self.packer_path(&format!("/buckets/{bucket}/versions"));
        self.ok(
            "POST",
            &v,
            Some(json!({"fingerprint": fp, "template_type": "HCL2"})),
        );
        let mut ids = Vec::new();
        for c in components {
            let b = self.ok(
                "POST",
                &format!("{v}/{fp}/builds"),
                Some(json!({"component_type": c, "status": "BUILD_UNSET"})),
            );
            ids.push(b["build"]["id"].as_str().unwrap().to_string());
        }
        for (c, id) in components.iter().zip(&ids) {
            let path = format!("{v}/{fp}/builds/{id}");
            self.ok("PATCH", &path, Some(json!({"status": "BUILD_RUNNING"})));
            let mut done = done_body(&[("us-east-1", &format!("ami-{fp}-{c}"))]);
            if let (Some(d), Some(e)) = (done.as_object_mut(), extra.as_object()) {
                d.extend(e.clone());
            }
            self.ok("PATCH", &path, Some(done));
        }
        ids
    }

    fn version(&self, bucket: &str, fp: &str) -> Json {
        self.ok(
            "GET",
            &self.packer_path(&format!("/buckets/{bucket}/versions/{fp}")),
            None,
        )["version"]
            .clone()
    }
}

fn is_ulid(v: &Json) -> bool {
    v.as_str()
        .is_some_and(|s| ulid::Ulid::from_string(s).is_ok())
}

/// NOTES 5.4: `latest` is made with each bucket, managed, and moved only by the server, to each
/// version as it completes; versions are numbered per bucket.
#[test]
fn registry_hcp_latest_comes_with_each_bucket_and_only_the_server_moves_it() {
    let (_r, _server, hcp) = started("admin");
    hcp.bucket("web");
    hcp.bucket("dbs");
    let latest = hcp.packer_path("/buckets/web/channels/latest");
    let c = hcp.ok("GET", &latest, None);
    assert_eq!(c["channel"]["managed"], true);
    assert_eq!(c["channel"]["restricted"], true);
    assert!(is_ulid(&c["channel"]["id"]));
    assert!(c["channel"].get("version").is_none());

    hcp.run("web", "fp1", &["null.a"], json!({}));
    hcp.run("web", "fp2", &["null.a"], json!({}));
    hcp.run("dbs", "fp9", &["null.a"], json!({}));
    assert_eq!(hcp.version("web", "fp1")["name"], "v1");
    assert_eq!(hcp.version("web", "fp2")["name"], "v2");
    assert_eq!(
        hcp.version("dbs", "fp9")["name"],
        "v1",
        "each bucket counts its own"
    );
    let c = hcp.ok("GET", &latest, None);
    assert_eq!(c["channel"]["version"]["fingerprint"], "fp2");
    let build = &c["channel"]["version"]["builds"][0];
    assert!(is_ulid(&build["id"]) && is_ulid(&build["artifacts"][0]["id"]));
    let history = hcp.ok("GET", &format!("{latest}/history"), None);
    assert_eq!(history["count"], 2);
    assert_eq!(
        history["history"][0]["version"]["fingerprint"], "fp2",
        "newest first"
    );

    let assign = json!({"version_fingerprint": "fp1", "update_mask": "versionFingerprint"});
    hcp.refused("PATCH", &latest, Some(assign), 9, 400);
    hcp.refused("DELETE", &latest, None, 9, 400);
    hcp.refused(
        "POST",
        &hcp.packer_path("/buckets/web/channels"),
        Some(json!({"name": "latest"})),
        9,
        400,
    );
    let c = hcp.ok("GET", &latest, None);
    assert_eq!(c["channel"]["version"]["fingerprint"], "fp2", "unchanged");
}

/// NOTES 5.4: a version is `v0` and RUNNING until every build is DONE with an artifact, and
/// says its `status` (and every build's) in every state; a rerun picks up what failed.
#[test]
fn registry_hcp_version_is_v0_until_every_build_is_done_and_always_says_its_status() {
    let (_r, _server, hcp) = started("write");
    hcp.bucket("web");
    let v = hcp.packer_path("/buckets/web/versions");
    hcp.ok("POST", &v, Some(json!({"fingerprint": "fp1"})));
    let version = hcp.version("web", "fp1");
    assert_eq!(version["template_type"], "TEMPLATE_TYPE_UNSET");
    let mut ids = Vec::new();
    for c in ["null.a", "null.b", "null.c"] {
        // Fields HCP may add later are ignored, not refused.
        let b = hcp.ok(
            "POST",
            &format!("{v}/fp1/builds"),
            Some(json!({"component_type": c, "status": "BUILD_UNSET", "future_field": 1})),
        );
        ids.push(b["build"]["id"].as_str().unwrap().to_string());
    }
    let build = |i: usize| format!("{v}/fp1/builds/{}", ids[i]);
    let statuses = |hcp: &Hcp| -> (String, String, Vec<String>) {
        let v = hcp.version("web", "fp1");
        let builds = v["builds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["status"].as_str().expect("a build's status").to_string())
            .collect();
        (
            v["name"].as_str().unwrap().to_string(),
            v["status"]
                .as_str()
                .expect("the version's status")
                .to_string(),
            builds,
        )
    };
    assert_eq!(
        statuses(&hcp),
        (
            "v0".into(),
            "VERSION_RUNNING".into(),
            vec!["BUILD_UNSET".into(); 3]
        )
    );
    for i in 0..3 {
        hcp.ok("PATCH", &build(i), Some(json!({"status": "BUILD_RUNNING"})));
    }
    hcp.ok(
        "PATCH",
        &build(0),
        Some(done_body(&[("us-east-1", "ami-a")])),
    );
    hcp.ok("PATCH", &build(1), Some(json!({"status": "BUILD_FAILED"})));
    hcp.ok(
        "PATCH",
        &build(2),
        Some(json!({"status": "BUILD_CANCELLED"})),
    );
    let (name, status, builds) = statuses(&hcp);
    assert_eq!(name, "v0");
    assert_eq!(status, "VERSION_INCOMPLETE");
    assert_eq!(builds, ["BUILD_DONE", "BUILD_FAILED", "BUILD_CANCELLED"]);
    // The rerun (same fingerprint): GET says v0, so Packer lists the builds and runs again
    // those not DONE; a DONE build stays as it was.
    let listed = hcp.ok("GET", &format!("{v}/fp1/builds"), None);
    assert_eq!(listed["builds"].as_array().unwrap().len(), 3);
    for i in [1, 2] {
        hcp.ok("PATCH", &build(i), Some(json!({"status": "BUILD_RUNNING"})));
        hcp.ok(
            "PATCH",
            &build(i),
            Some(done_body(&[("us-east-1", &format!("ami-{i}"))])),
        );
    }
    let (name, status, _) = statuses(&hcp);
    assert_eq!((name.as_str(), status.as_str()), ("v1", "VERSION_ACTIVE"));
    // The same DONE again changes nothing; other artifacts are refused.
    hcp.ok(
        "PATCH",
        &build(0),
        Some(done_body(&[("us-east-1", "ami-a")])),
    );
    hcp.refused(
        "PATCH",
        &build(0),
        Some(done_body(&[("us-east-1", "ami-other")])),
        9,
        400,
    );
}

/// NOTES 1.1 and 5.4: clients act on the gRPC code in the body, whatever the HTTP status.
#[test]
fn registry_hcp_errors_carry_the_codes_clients_act_on() {
    let (r, server, hcp) = started("admin");
    let p = |rest: &str| hcp.packer_path(rest);
    hcp.bucket("web");
    hcp.run("web", "fp1", &["null.a"], json!({}));
    // 10: an unknown fingerprint in a bucket that exists (Packer then creates the version).
    for path in [
        "/buckets/web/versions/nope",
        "/buckets/web/versions/nope/builds",
    ] {
        hcp.refused("GET", &p(path), None, 10, 409);
    }
    // 5: a missing bucket (even with a fingerprint), channel, build, project.
    for path in [
        "/buckets/gone",
        "/buckets/gone/versions/fp1",
        "/buckets/gone/channels",
        "/buckets/web/channels/nope",
        "/buckets/web/versions/fp1/builds/01M8YC8WDPWN6ZAD5GX7FP5K0X",
        "/enforced_blocks/bucket/gone",
    ] {
        hcp.refused("GET", &p(path), None, 5, 404);
    }
    hcp.refused(
        "GET",
        &format!(
            "/resource-manager/2019-12-10/projects/{}",
            uuid::Uuid::new_v4()
        ),
        None,
        5,
        404,
    );
    // 6: duplicates.
    hcp.refused("PUT", &p("/buckets"), Some(json!({"name": "web"})), 6, 409);
    hcp.refused(
        "POST",
        &p("/buckets/web/versions"),
        Some(json!({"fingerprint": "fp1"})),
        6,
        409,
    );
    hcp.ok(
        "POST",
        &p("/buckets/web/channels"),
        Some(json!({"name": "prod"})),
    );
    hcp.refused(
        "POST",
        &p("/buckets/web/channels"),
        Some(json!({"name": "prod"})),
        6,
        409,
    );
    // 3: what no client should send.
    hcp.refused("PUT", &p("/buckets"), Some(json!({"name": "x"})), 3, 400);
    hcp.refused("PUT", &p("/buckets"), Some(json!({"name": 7})), 3, 400);
    hcp.refused(
        "POST",
        &p("/buckets/web/versions"),
        Some(json!({"fingerprint": "fp2", "template_type": "YAML"})),
        3,
        400,
    );
    // 16 without a token, 7 with one that may not.
    let anonymous = Hcp {
        bearer: "kiln_not-a-token".into(),
        ..Hcp::new(&r, &server, &token(&r, &["--scope", "admin"]), "read")
    };
    anonymous.refused("GET", &p("/buckets/web"), None, 16, 401);
    let reader = Hcp::new(&r, &server, &token(&r, &["--scope", "admin"]), "read");
    reader.refused(
        "PUT",
        &p("/buckets"),
        Some(json!({"name": "other"})),
        7,
        403,
    );
    // 12 for what kiln does not implement, and for the API of Packer 1.9 and 1.10.
    hcp.refused("DELETE", &p("/buckets/web/versions/fp1"), None, 12, 501);
    let old = format!(
        "/packer/2021-04-30/organizations/{}/projects/{}/images/web",
        hcp.env["HCP_ORGANIZATION_ID"], hcp.env["HCP_PROJECT_ID"]
    );
    let resp = hcp
        .client
        .get(format!("{}{old}", hcp.origin))
        .bearer_auth(&hcp.bearer)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
    let body: Json = resp.json().unwrap();
    assert_eq!(body["code"], 12);
    assert!(body["message"].as_str().unwrap().contains("Packer 1.11"));
}

/// NOTES 5.4: parents recorded from `parent_version_id` / `parent_channel_id`, shown as kiln's
/// ancestry; revocation with inheritance, as HCP's UpdateVersion says it.
#[test]
fn registry_hcp_records_parents_and_inherits_revocation() {
    let (r, _server, hcp) = started("admin");
    hcp.bucket("base");
    hcp.bucket("app");
    hcp.run("base", "b1", &["null.base"], json!({}));
    let base = hcp.version("base", "b1");
    let channel = hcp.ok(
        "GET",
        &hcp.packer_path("/buckets/base/channels/latest"),
        None,
    );
    // One child through the channel (the data source read `latest`), one by version.
    hcp.run(
        "app",
        "a1",
        &["null.app"],
        json!({"parent_channel_id": channel["channel"]["id"], "parent_version_id": base["id"], "source_external_identifier": "ami-b1-null.base"}),
    );
    hcp.run(
        "app",
        "a2",
        &["null.app"],
        json!({"parent_version_id": base["id"]}),
    );
    let a1 = hcp.version("app", "a1");
    assert_eq!(a1["parents"]["status"], "UP_TO_DATE");
    assert_eq!(
        hcp.version("app", "a2")["parents"]["status"],
        "UNDETERMINED"
    );
    assert_eq!(hcp.version("base", "b1")["has_descendants"], true);
    let shown = r.json(&[
        "release", "show", "-bucket", "team", "-product", "app", "-release", "a1",
    ]);
    assert_eq!(shown["parents"][0]["parent"], "team/base/b1");
    assert_eq!(shown["parents"][0]["channel"], "latest");
    // A newer base: a1 is out of date.
    hcp.run("base", "b2", &["null.base"], json!({}));
    assert_eq!(hcp.version("app", "a1")["parents"]["status"], "OUT_OF_DATE");
    // Revoke b1 now: its children inherit it; restore undoes both.
    let b1 = hcp.packer_path("/buckets/base/versions/b1");
    let revoked = hcp.ok(
        "PATCH",
        &b1,
        Some(json!({"revoke_at": "2020-01-01T00:00:00Z", "revocation_message": "CVE"})),
    );
    assert_eq!(revoked["version"]["status"], "VERSION_REVOKED");
    let child = hcp.version("app", "a1");
    assert_eq!(child["status"], "VERSION_REVOKED");
    assert_eq!(child["revocation_type"], "INHERITED");
    assert_eq!(child["revocation_inherited_from"]["bucket_name"], "base");
    assert_eq!(
        child["revocation_inherited_from"]["version_fingerprint"],
        "b1"
    );
    hcp.ok("PATCH", &b1, Some(json!({"restore": true})));
    assert_eq!(hcp.version("app", "a1")["status"], "VERSION_ACTIVE");
    // A parent nobody knows is 5, and the build stays as it was.
    hcp.ok(
        "POST",
        &hcp.packer_path("/buckets/app/versions"),
        Some(json!({"fingerprint": "a3"})),
    );
    let b = hcp.ok(
        "POST",
        &hcp.packer_path("/buckets/app/versions/a3/builds"),
        Some(json!({"component_type": "null.app"})),
    );
    let path = hcp.packer_path(&format!(
        "/buckets/app/versions/a3/builds/{}",
        b["build"]["id"].as_str().unwrap()
    ));
    let mut done = done_body(&[("us-east-1", "ami-x")]);
    done["parent_version_id"] = json!("01M8YC8WDPWN6ZAD5GX7FP5K0X");
    hcp.refused("PATCH", &path, Some(done), 5, 404);
    assert_eq!(
        hcp.version("app", "a3")["builds"][0]["status"],
        "BUILD_RUNNING"
    );
}

/// schemathesis (property-based, from HashiCorp's Swagger specs) against every route kiln
/// serves of the HCP API: no 5xx, every answer conforms to the spec (status, content type,
/// schema). The operations kiln does not implement answer 501 with code 12 and are excluded;
/// `scripts/schemathesis.sh` lists them.
#[test]
fn registry_hcp_api_holds_under_schemathesis() {
    let venv = crate::test::repo_root().join("target/schemathesis-venv");
    assert!(
        venv.join("bin/schemathesis").exists(),
        "schemathesis is missing: scripts/test.sh installs it in target/schemathesis-venv"
    );
    let out = Command::new("bash")
        .arg(crate::test::repo_root().join("scripts/schemathesis.sh"))
        .arg(kiln_bin())
        .arg(&venv)
        .env("SPEC_DIR", shared_dir().join("hcp-api"))
        .output()
        .expect("bash runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    for run in ["packer:", "packer-deletes:", "resource-manager:"] {
        assert!(said.contains(run), "{run} did not run: {said}");
    }
}

/// `hcp-env` on the server's host: the database directly, the address given; plain HTTP is
/// refused (HCP's clients fetch tokens only over HTTPS), and the secret is printed once, to
/// stdout only.
#[test]
fn registry_hcp_env_on_the_host_and_its_refusals() {
    let r = Registry::new();
    r.kiln(&[
        "hcp-env",
        "-bucket",
        "team",
        "-addr",
        "http://127.0.0.1:8750",
    ])
    .status(1)
    .stderr_contains("HCP's clients fetch their tokens only over HTTPS")
    .stderr_contains("--tls-self-signed")
    .run();
    r.kiln(&["hcp-env", "-bucket", "team"])
        .status(1)
        .stderr_contains("-addr https://host:port")
        .run();
    let out = Command::new(kiln_bin())
        .args([
            "registry",
            "hcp-env",
            "-bucket",
            "team",
            "-scope",
            "read",
            "-addr",
            "registry.example:8443",
            "-tls-verify",
        ])
        .env("KILN_HOME", r.home())
        .env_remove("KILN_REGISTRY_ADDR")
        .output()
        .expect("kiln runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let env: BTreeMap<&str, &str> = stdout
        .lines()
        .map(|l| l.split_once('=').expect("NAME=value"))
        .collect();
    assert_eq!(env["HCP_API_ADDRESS"], "registry.example:8443");
    assert_eq!(env["HCP_AUTH_URL"], "https://registry.example:8443");
    assert!(
        !env.contains_key("HCP_API_TLS"),
        "-tls-verify leaves TLS on"
    );
    assert!(
        !stderr.contains(env["HCP_CLIENT_SECRET"]),
        "the secret went to stderr"
    );
    // The principal is a read token for `team`, and the project is that bucket.
    let tokens = r.json(&["token", "list"]);
    let principal = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == env["HCP_CLIENT_ID"])
        .expect("the principal is a token");
    assert_eq!(principal["scope"], "read");
    assert_eq!(principal["bucket"], "team");
    let bucket = r.json(&["bucket", "show", "-bucket", "team"]);
    let ulid = ulid::Ulid::from_string(bucket["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        env["HCP_PROJECT_ID"],
        uuid::Uuid::from_u128(ulid.0).to_string()
    );
}
