//! `kiln registry`: the real binary against a real SQLite store in a scratch `KILN_HOME`.

mod builds;
mod concurrency;
mod console;
mod hcp;
mod migrate;
mod oauth;
mod server;
mod swagger;

use crate::test::{with_snapshots, Test};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A scratch registry: its own `KILN_HOME`, removed when the test ends.
pub(crate) struct Registry {
    home: tempfile::TempDir,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            home: tempfile::tempdir().expect("a scratch KILN_HOME"),
        }
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    fn db(&self) -> PathBuf {
        self.home().join("registry.db")
    }

    /// `kiln registry ARGS...` against this registry, expecting exit 0 unless told otherwise.
    pub(crate) fn kiln(&self, args: &[&str]) -> Test {
        Test::new()
            .env("KILN_HOME", self.home().to_string_lossy())
            .env("USER", "tester")
            .arg("registry")
            .args(args.iter().copied())
    }

    pub(crate) fn stdout(&self, args: &[&str]) -> String {
        self.kiln(args).run().stdout
    }

    /// Assert each of `operations` is in the server's audit log.
    pub(crate) fn assert_audited(&self, operations: &[&str]) {
        let audit = self.json(&["audit", "--limit", "1000"]);
        let logged: Vec<&str> = audit
            .as_array()
            .expect("an array")
            .iter()
            .filter_map(|e| e["operation"].as_str())
            .collect();
        for op in operations {
            assert!(
                logged.contains(op),
                "{op} is not in the audit log: {logged:?}"
            );
        }
    }

    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("-format=json");
        let out = self.stdout(&args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn publish(
        &self,
        product: &str,
        release: &str,
        component: &str,
        images: &[(&str, &str)],
        extra: &[&str],
    ) -> String {
        let mut args = vec![
            "publish",
            "-bucket",
            "team",
            "-product",
            product,
            "-release",
            release,
            "-component",
            component,
            "-provider",
            "aws",
        ];
        for (region, id) in images {
            args.extend(["-region", region, "-id", id]);
        }
        args.extend(extra);
        self.stdout(&args)
    }

    pub(crate) fn image(
        &self,
        product: &str,
        at: &str,
        name: &str,
        provider: &str,
        region: &str,
    ) -> Test {
        self.kiln(&[
            "image",
            "-bucket",
            "team",
            "-product",
            product,
            at,
            name,
            "-provider",
            provider,
            "-region",
            region,
        ])
    }
}

/// Timestamps and ULIDs vary from run to run; their stand-ins keep their width, so tables stay
/// aligned.
fn redact(text: &str) -> String {
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").expect("regex");
    let ulid = regex::Regex::new(r"\b[0-9A-HJKMNP-TV-Z]{26}\b").expect("regex");
    let text = time.replace_all(text, "YYYY-MM-DDTHH:MM:SSZ");
    ulid.replace_all(&text, "[ulid--------------------]")
        .into_owned()
}

#[test]
fn registry_publish_then_image_per_provider_and_region() {
    let r = Registry::new();
    let out = r.publish(
        "web",
        "v1",
        "amazon-ebs.web",
        &[("us-east-1", "ami-east"), ("eu-west-1", "ami-west")],
        &["-expect", "amazon-ebs.web,googlecompute.web"],
    );
    assert_eq!(out, "published amazon-ebs.web into team/web release v1: the release waits for googlecompute.web\n");
    r.image("web", "-release", "v1", "aws", "us-east-1")
        .status(1)
        .stderr_contains("error: release `v1` of team/web is RUNNING, not complete: waiting for googlecompute.web")
        .run();
    r.kiln(&[
        "publish",
        "-bucket",
        "team",
        "-product",
        "web",
        "-release",
        "v1",
        "-component",
        "googlecompute.web",
        "-provider",
        "gcp",
        "-region",
        "us-central1",
        "-id",
        "projects/p/global/images/web-1",
    ])
    .stdout("published googlecompute.web into team/web release v1: the release is complete (v1)\n")
    .run();
    r.image("web", "-release", "v1", "aws", "us-east-1")
        .stdout("ami-east\n")
        .stderr("")
        .run();
    r.image("web", "-release", "v1", "aws", "eu-west-1")
        .stdout("ami-west\n")
        .run();
    r.image("web", "-channel", "latest", "gcp", "us-central1")
        .stdout("projects/p/global/images/web-1\n")
        .run();
    r.image("web", "-release", "v1", "aws", "ap-south-1")
        .status(1)
        .stderr("error: image for aws in ap-south-1 in release `v1` of team/web not found\nhint: it has images for: aws eu-west-1, aws us-east-1, gcp us-central1\n")
        .run();
    let record = r.json(&[
        "image",
        "-bucket",
        "team",
        "-product",
        "web",
        "-channel",
        "latest",
        "-provider",
        "aws",
        "-region",
        "eu-west-1",
    ]);
    assert_eq!(record["external_id"], "ami-west");
    assert_eq!(record["release"], "v1");
    assert_eq!(record["channel"], "latest");
    assert_eq!(record["component"], "amazon-ebs.web");
    assert_eq!(record["release_status"], "ACTIVE");
    assert_eq!(record["version"], 1);
    let search = r.stdout(&["search", "ami-west"]);
    assert_eq!(
        search,
        "BUCKET  PRODUCT  RELEASE  VERSION  STATUS  COMPONENT       PROVIDER  REGION\nteam    web      v1       v1       ACTIVE  amazon-ebs.web  aws       eu-west-1\n"
    );
    r.kiln(&["search", "ami-nowhere"])
        .status(1)
        .stderr("error: a release holding image `ami-nowhere` not found\n")
        .run();
    let show = redact(&r.stdout(&[
        "release", "show", "-bucket", "team", "-product", "web", "-release", "v1",
    ]));
    with_snapshots(|| insta::assert_snapshot!("registry_release_show", show));
}

#[test]
fn registry_republish_is_a_no_op_and_a_different_id_is_refused() {
    let r = Registry::new();
    r.publish("web", "v1", "a", &[("us-east-1", "ami-1")], &[]);
    let again = r.publish("web", "v1", "a", &[("us-east-1", "ami-1")], &[]);
    assert_eq!(
        again,
        "team/web release v1 already holds exactly these images: nothing changed\n"
    );
    let before = r.stdout(&[
        "release",
        "show",
        "-bucket",
        "team",
        "-product",
        "web",
        "-release",
        "v1",
        "-format=json",
    ]);
    r.kiln(&[
        "publish", "-bucket", "team", "-product", "web", "-release", "v1", "-component", "a", "-provider", "aws",
        "-region", "us-east-1", "-id", "ami-2",
    ])
    .status(1)
    .stdout("")
    .stderr("error: release `v1` of team/web is complete and cannot change: its build `a` has ami-1 in us-east-1, not ami-2\nhint: publish into a new release name (-release), or revoke this one\n")
    .run();
    let after = r.stdout(&[
        "release",
        "show",
        "-bucket",
        "team",
        "-product",
        "web",
        "-release",
        "v1",
        "-format=json",
    ]);
    assert_eq!(before, after, "nothing was written");
    r.image("web", "-release", "v1", "aws", "us-east-1")
        .stdout("ami-1\n")
        .run();
}

#[test]
fn registry_channels_assign_list_and_history() {
    let r = Registry::new();
    r.publish("web", "r1", "a", &[("us-east-1", "ami-1")], &[]);
    r.publish(
        "web",
        "r2",
        "a",
        &[("us-east-1", "ami-2")],
        &["-channel", "staging"],
    );
    r.kiln(&[
        "channel",
        "assign",
        "-bucket",
        "team",
        "-product",
        "web",
        "-channel",
        "production",
        "-release",
        "r1",
    ])
    .stdout("channel production of team/web now serves release r1\n")
    .run();
    r.image("web", "-channel", "production", "aws", "us-east-1")
        .stdout("ami-1\n")
        .run();
    r.image("web", "-channel", "staging", "aws", "us-east-1")
        .stdout("ami-2\n")
        .run();
    r.image("web", "-channel", "latest", "aws", "us-east-1")
        .stdout("ami-2\n")
        .run();
    r.kiln(&[
        "channel",
        "assign",
        "-bucket",
        "team",
        "-product",
        "web",
        "-channel",
        "production",
        "-release",
        "r2",
    ])
    .run();
    r.image("web", "-channel", "production", "aws", "us-east-1")
        .stdout("ami-2\n")
        .run();
    let history = redact(&r.stdout(&[
        "channel",
        "history",
        "-bucket",
        "team",
        "-product",
        "web",
        "-channel",
        "production",
    ]));
    assert_eq!(
        history,
        "ASSIGNED              RELEASE  BY      NOTE\nYYYY-MM-DDTHH:MM:SSZ  r1       tester\nYYYY-MM-DDTHH:MM:SSZ  r2       tester\n"
    );
    let list = redact(&r.stdout(&["channel", "list", "-bucket", "team", "-product", "web"]));
    with_snapshots(|| insta::assert_snapshot!("registry_channel_list", list));
    let latest = r.json(&[
        "channel", "history", "-bucket", "team", "-product", "web", "-channel", "latest",
    ]);
    let releases: Vec<&str> = latest
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["release"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(releases, ["r1", "r2"]);

    r.kiln(&["channel", "assign", "-bucket", "team", "-product", "web", "-channel", "latest", "-release", "r1"])
        .status(1)
        .stderr("error: channel `latest` is managed by kiln: it follows the newest complete, unrevoked release\nhint: assign another channel name\n")
        .run();
    r.kiln(&["channel", "assign", "-bucket", "team", "-product", "web", "-channel", "production", "-release", "r9"])
        .status(1)
        .stderr("error: release `r9` of team/web not found\nhint: `kiln registry release list -bucket team -product web` shows its releases\n")
        .run();
    r.image("web", "-channel", "nightly", "aws", "us-east-1")
        .status(1)
        .stderr("error: channel `nightly` of team/web not found\nhint: `kiln registry channel list -bucket team -product web` shows its channels\n")
        .run();
}

#[test]
fn registry_revoke_inherits_rolls_back_and_restores() {
    let r = Registry::new();
    r.publish(
        "base",
        "r1",
        "a",
        &[("us-east-1", "ami-base-1")],
        &["-channel", "production"],
    );
    r.publish(
        "base",
        "r2",
        "a",
        &[("us-east-1", "ami-base-2")],
        &["-channel", "production"],
    );
    r.publish(
        "app",
        "c1",
        "a",
        &[("us-east-1", "ami-app-1")],
        &[
            "-parent-product",
            "base",
            "-parent-channel",
            "production",
            "-source-image",
            "ami-base-2",
        ],
    );
    let child = r.json(&[
        "release", "show", "-bucket", "team", "-product", "app", "-release", "c1",
    ]);
    assert_eq!(child["parents"][0]["parent"], "team/base/r2");
    assert_eq!(child["parents"][0]["status"], "UP_TO_DATE");

    r.kiln(&[
        "release",
        "revoke",
        "-bucket",
        "team",
        "-product",
        "base",
        "-release",
        "r2",
        "-message",
        "CVE-2026-1",
    ])
    .stdout("team/base/r2: revoked\nteam/app/c1: revoked (inherited)\n")
    .run();
    r.image("base", "-release", "r2", "aws", "us-east-1")
        .status(1)
        .stdout("")
        .stderr_contains("error: release `r2` of team/base was revoked at ")
        .stderr_contains(": CVE-2026-1\nhint: use a newer release, or a channel")
        .run();
    // production and latest roll back to r1; the child is revoked with its parent.
    r.image("base", "-channel", "production", "aws", "us-east-1")
        .stdout("ami-base-1\n")
        .run();
    r.image("base", "-channel", "latest", "aws", "us-east-1")
        .stdout("ami-base-1\n")
        .run();
    r.image("app", "-release", "c1", "aws", "us-east-1")
        .status(1)
        .stderr_contains("was revoked")
        .run();
    let show = redact(&r.stdout(&[
        "release", "show", "-bucket", "team", "-product", "app", "-release", "c1",
    ]));
    with_snapshots(|| insta::assert_snapshot!("registry_release_show_inherited_revocation", show));
    let channels = redact(&r.stdout(&["channel", "list", "-bucket", "team", "-product", "base"]));
    assert_eq!(
        channels,
        "CHANNEL     RELEASE  KIND     ASSIGNED              NOTE
latest      r1       managed  YYYY-MM-DDTHH:MM:SSZ  rolled back from r2 (revoked)
production  r1                YYYY-MM-DDTHH:MM:SSZ  rolled back from r2 (revoked)
"
    );
    r.kiln(&["release", "restore", "-bucket", "team", "-product", "app", "-release", "c1"])
        .status(1)
        .stderr("error: release team/app/c1 inherited its revocation from team/base/r2\nhint: restore team/base/r2 instead\n")
        .run();

    r.kiln(&[
        "release", "restore", "-bucket", "team", "-product", "base", "-release", "r2",
    ])
    .stdout("team/base/r2: restored\nteam/app/c1: restored\n")
    .run();
    r.image("base", "-channel", "production", "aws", "us-east-1")
        .stdout("ami-base-2\n")
        .run();
    r.image("app", "-release", "c1", "aws", "us-east-1")
        .stdout("ami-app-1\n")
        .run();

    // Moving the parent's channel marks the child out of date.
    r.kiln(&[
        "channel",
        "assign",
        "-bucket",
        "team",
        "-product",
        "base",
        "-channel",
        "production",
        "-release",
        "r1",
    ])
    .run();
    let list = redact(&r.stdout(&["release", "list", "-bucket", "team", "-product", "app"]));
    assert_eq!(
        list,
        "RELEASE  VERSION  STATUS  BUILDS DONE  CREATED               CHANNELS  NOTE\nc1       v1       ACTIVE  1/1          YYYY-MM-DDTHH:MM:SSZ  latest    parent out of date\n"
    );

    // -skip-descendants leaves the child alone.
    r.kiln(&[
        "release",
        "revoke",
        "-bucket",
        "team",
        "-product",
        "base",
        "-release",
        "r2",
        "-skip-descendants",
    ])
    .stdout("team/base/r2: revoked\n")
    .run();
    r.image("app", "-release", "c1", "aws", "us-east-1")
        .stdout("ami-app-1\n")
        .run();
}

#[test]
fn registry_scheduled_revocation_takes_effect_at_its_time() {
    let r = Registry::new();
    r.publish("web", "r1", "a", &[("us-east-1", "ami-1")], &[]);
    r.publish("web", "r2", "a", &[("us-east-1", "ami-2")], &[]);
    let out = r.stdout(&[
        "release", "revoke", "-bucket", "team", "-product", "web", "-release", "r1", "-in", "30d",
    ]);
    assert!(out.starts_with("team/web/r1: to be revoked at "), "{out}");
    let show = r.json(&[
        "release", "show", "-bucket", "team", "-product", "web", "-release", "r1",
    ]);
    assert_eq!(show["status"], "REVOCATION_SCHEDULED");
    r.image("web", "-release", "r1", "aws", "us-east-1")
        .stdout("ami-1\n")
        .stderr("warning: release r1 of team/web is scheduled to be revoked\n")
        .run();
    r.kiln(&[
        "release", "restore", "-bucket", "team", "-product", "web", "-release", "r1",
    ])
    .run();

    // A revocation three seconds out takes effect with nothing running in between.
    r.kiln(&[
        "release", "revoke", "-bucket", "team", "-product", "web", "-release", "r2", "-in", "3s",
    ])
    .run();
    r.image("web", "-channel", "latest", "aws", "us-east-1")
        .stdout("ami-2\n")
        .run();
    std::thread::sleep(Duration::from_millis(3200));
    r.image("web", "-channel", "latest", "aws", "us-east-1")
        .stdout("ami-1\n")
        .run();
    let show = r.json(&[
        "release", "show", "-bucket", "team", "-product", "web", "-release", "r2",
    ]);
    assert_eq!(show["status"], "REVOKED");

    r.kiln(&[
        "release",
        "revoke",
        "-bucket",
        "team",
        "-product",
        "web",
        "-release",
        "r1",
        "-at",
        "2020-01-01T00:00:00Z",
    ])
    .stdout("team/web/r1: revoked\n")
    .run();
    r.image("web", "-channel", "latest", "aws", "us-east-1")
        .status(1)
        .stderr_contains("error: an unrevoked release on channel `latest` of team/web not found")
        .run();
    r.kiln(&[
        "release", "revoke", "-bucket", "team", "-product", "web", "-release", "r1", "-in", "soon",
    ])
    .status(1)
    .stderr(
        "error: -in \"soon\" is not a duration\nhint: write it like 30d, 12h, 1d12h, 90m or 45s\n",
    )
    .run();
    r.kiln(&["release", "revoke", "-bucket", "team", "-product", "web", "-release", "r1", "-at", "tomorrow"])
        .status(1)
        .stderr("error: -at \"tomorrow\" is not an RFC 3339 time\nhint: write it like 2026-07-01T00:00:00Z\n")
        .run();
}

#[test]
fn registry_bad_input_is_refused_and_writes_nothing() {
    let r = Registry::new();
    let publish = |product: &str, release: &str, component: &str, region: &str| {
        r.kiln(&[
            "publish",
            "-bucket",
            "team",
            "-product",
            product,
            "-release",
            release,
            "-component",
            component,
            "-provider",
            "aws",
            "-region",
            region,
            "-id",
            "ami-1",
        ])
        .status(1)
        .stdout("")
        .run()
        .stderr
    };
    assert_eq!(
        publish("web/x", "v1", "a", "us-east-1"),
        "error: invalid product name \"web/x\": `/` is not allowed\nhint: a product name cannot hold `/` or control characters\n"
    );
    assert_eq!(
        publish("web", "..", "a", "us-east-1"),
        "error: invalid release name \"..\": `..` is not allowed\nhint: a release name cannot hold `..`\n"
    );
    assert_eq!(
        publish("web", "v1", "../../etc", "us-east-1"),
        "error: invalid component name \"../../etc\": `/` is not allowed\nhint: a component name cannot hold `/` or control characters\n"
    );
    assert_eq!(
        publish("web", "v1", "a", "us east"),
        "error: invalid region name \"us east\": whitespace is not allowed\nhint: a region is 1–64 letters, digits, `.`, `_` and `-`\n"
    );
    assert_eq!(
        publish("we", "v1", "a", "us-east-1"),
        "error: invalid product name \"we\": it is shorter than 3 characters\nhint: a product name is 3–36 letters, digits and `-`\n"
    );
    r.kiln(&[
        "publish",
        "-bucket",
        "team",
        "-product",
        "web",
        "-release",
        "v1",
        "-component",
        "a",
        "-provider",
        "aws",
        "-region",
        "us-east-1",
        "-region",
        "eu-west-1",
        "-id",
        "ami-1",
    ])
    .status(1)
    .stderr("error: 2 -region but 1 -id: give one -id per -region, in the same order\n")
    .run();
    assert!(!r.db().exists(), "a refused publish created the database");
    r.kiln(&["bucket", "list", "-format=json"])
        .stdout("[]\n")
        .run();
    assert!(!r.db().exists(), "a read created the database");
    r.image("web", "-release", "v1", "aws", "us-east-1")
        .status(1)
        .stderr(
            "error: bucket `team` not found\nhint: `kiln registry bucket list` shows the buckets\n",
        )
        .run();

    r.publish("web", "v1", "a", &[("us-east-1", "ami-1")], &[]);
    r.kiln(&["release", "show", "-bucket", "team", "-product", "web", "-release", "v2"])
        .status(1)
        .stderr("error: release `v2` of team/web not found\nhint: `kiln registry release list -bucket team -product web` shows its releases\n")
        .run();
    r.kiln(&[
        "release", "show", "-bucket", "team", "-product", "web/../x", "-release", "v1",
    ])
    .status(1)
    .stderr_contains("error: invalid product name \"web/../x\"")
    .run();
    r.kiln(&["bucket", "delete", "-bucket", "team"])
        .status(1)
        .stderr("error: bucket `team` still holds 1 product(s)\nhint: delete them first: `kiln registry product list -bucket team` lists them\n")
        .run();
    r.kiln(&["product", "delete", "-bucket", "team", "-product", "web"])
        .stdout("deleted product team/web\n")
        .run();
    r.kiln(&["bucket", "delete", "-bucket", "team"])
        .stdout("deleted bucket team\n")
        .run();
    r.kiln(&["bucket", "list", "-format=json"])
        .stdout("[]\n")
        .run();
}

#[test]
fn registry_publish_help_says_how_a_release_completes() {
    Test::new()
        .args(["registry", "publish", "--help"])
        .stdout_contains("-expect c1,c2,...")
        .stdout_contains("completes exactly once")
        .run();
}
