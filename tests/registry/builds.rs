//! Publishing from builds and reading back through the data sources: the real `kiln build`
//! against a real SQLite store in a scratch `KILN_HOME`.

use super::Registry;
use crate::test::{repo_root, Output, Test};
use std::path::PathBuf;
use std::time::{Duration, Instant};

impl Registry {
    /// A scratch directory whose builds publish into this registry.
    fn project(&self) -> Test {
        Test::new().env("KILN_HOME", self.home().to_string_lossy())
    }
}

/// Run kiln in `test`'s directory, asserting the exit status.
fn kiln(test: &Test, args: &[&str], status: i32) -> Output {
    let out = test.run_unchecked_with(args);
    assert_eq!(
        out.status, status,
        "exit status of kiln {args:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
    out
}

fn real(test: &Test) -> PathBuf {
    test.dir()
        .canonicalize()
        .expect("the scratch directory exists")
}

#[test]
fn registry_the_quickstart_publishes_and_image_finds_each_artifact() {
    let r = Registry::new();
    let project = r
        .project()
        .write(
            "quickstart.pkr.hcl",
            std::fs::read(repo_root().join("examples/quickstart.pkr.hcl")).unwrap(),
        )
        .env("HCP_PACKER_BUILD_FINGERPRINT", "first");
    let out = kiln(&project, &["build", "quickstart.pkr.hcl"], 0);
    assert!(
        out.stdout.contains(
            "==> Tracking release default/quickstart/first in the registry (3 builds: file.note, file.menu, null.local)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "Release default/quickstart/first is complete: ACTIVE as v1, on channel latest"
        ),
        "{}",
        out.stdout
    );
    let artifacts = real(&project).join("artifacts");
    for (component, file) in [("file.note", "note.txt"), ("file.menu", "menu.txt")] {
        r.kiln(&[
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
            component,
        ])
        .stdout(format!("{}\n", artifacts.join(file).display()))
        .run();
    }
    // Packer's null artifact reports provider and region `null`, ID `Null`.
    r.kiln(&[
        "image",
        "-product",
        "quickstart",
        "-release",
        "first",
        "-provider",
        "null",
        "-region",
        "null",
    ])
    .stdout("Null\n")
    .run();
    let release = r.json(&[
        "release",
        "show",
        "-bucket",
        "default",
        "-product",
        "quickstart",
        "-release",
        "first",
    ]);
    assert_eq!(release["status"], "ACTIVE");
    let builds = release["builds"].as_array().expect("builds");
    assert_eq!(builds.len(), 3);
    for b in builds {
        assert_eq!(b["status"], "DONE", "{b}");
        assert_eq!(b["labels"]["greeting"], "hello", "{b}");
    }
    assert_eq!(builds[2]["provider"], "null");

    // A second run is a second release, and `latest` follows it.
    let second = project.env("HCP_PACKER_BUILD_FINGERPRINT", "second");
    kiln(&second, &["build", "quickstart.pkr.hcl"], 0);
    let latest = r.json(&[
        "image",
        "-product",
        "quickstart",
        "-channel",
        "latest",
        "-provider",
        "null",
        "-region",
        "null",
    ]);
    assert_eq!(latest["release"], "second");
    assert_eq!(latest["version"], 2);
}

/// A base image published under a release name, pointing the `stable` channel at it.
const BASE: &str = r#"
variable "release" {
  type = string
}

source "file" "base" {
  content = "base ${var.release}\n"
  target  = "base-${var.release}.txt"
}

build {
  sources = ["source.file.base"]

  post-processor "hcp-packer-publish" {
    bucket_name  = "team"
    product_name = "base"
    release_name = var.release
    channel      = "stable"
  }
}
"#;

/// An application built from the base image it reads through the registry; `at` is the
/// data source's attribute naming the base release or channel.
fn app(at: &str) -> String {
    format!(
        r#"
variable "release" {{
  type = string
}}

variable "base" {{
  type    = string
  default = "stable"
}}

data "hcp-packer-artifact" "base" {{
  bucket      = "team"
  bucket_name = "base"
  {at}        = var.base
  platform    = "file"
  region      = "file"
}}

locals {{
  parent = "${{data.hcp-packer-artifact.base.bucket}}/${{data.hcp-packer-artifact.base.product}}"
}}

source "file" "app" {{
  content = "built from ${{data.hcp-packer-artifact.base.external_identifier}}\n"
  target  = "app-${{var.release}}.txt"
}}

build {{
  sources = ["source.file.app"]

  provisioner "shell-local" {{
    inline = ["echo parent release ${{local.parent}}/${{data.hcp-packer-artifact.base.release}}"]
  }}

  post-processor "hcp-packer-publish" {{
    bucket_name  = "team"
    product_name = "app"
    release_name = var.release
  }}
}}
"#
    )
}

#[test]
fn registry_a_release_built_from_another_follows_its_channel_and_revocation() {
    let r = Registry::new();
    let base = r.project().write("base.pkr.hcl", BASE);
    kiln(&base, &["build", "-var", "release=r1", "base.pkr.hcl"], 0);
    let base_r1 = real(&base).join("base-r1.txt");

    // The child reads the base through its channel; the source and the provisioner see it.
    let child = r
        .project()
        .write("app.pkr.hcl", app("channel_name"))
        .write("by-release.pkr.hcl", app("version_fingerprint"));
    let out = kiln(&child, &["build", "-var", "release=c1", "app.pkr.hcl"], 0);
    // A local computed from the data source is known by then too.
    assert!(
        out.stdout.contains("parent release team/base/r1"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(child.dir().join("app-c1.txt")).unwrap(),
        format!("built from {}\n", base_r1.display())
    );
    let show = |product: &str, release: &str| {
        r.json(&[
            "release", "show", "-bucket", "team", "-product", product, "-release", release,
        ])
    };
    let c1 = show("app", "c1");
    assert_eq!(c1["status"], "ACTIVE");
    assert_eq!(c1["parents"][0]["parent"], "team/base/r1");
    assert_eq!(c1["parents"][0]["channel"], "stable");
    assert_eq!(c1["parents"][0]["status"], "UP_TO_DATE");

    // A new base release moves `stable`: the child is out of date.
    kiln(&base, &["build", "-var", "release=r2", "base.pkr.hcl"], 0);
    assert_eq!(show("app", "c1")["parents"][0]["status"], "OUT_OF_DATE");

    // Revoking the parent revokes the child, and reading the revoked release fails the build
    // before anything is published.
    r.kiln(&[
        "release",
        "revoke",
        "-bucket",
        "team",
        "-product",
        "base",
        "-release",
        "r1",
        "-message",
        "CVE-2026-7",
    ])
    .stdout("team/base/r1: revoked\nteam/app/c1: revoked (inherited)\n")
    .run();
    assert_eq!(show("app", "c1")["status"], "REVOKED");
    let refused = kiln(
        &child,
        &[
            "build",
            "-var",
            "release=c2",
            "-var",
            "base=r1",
            "by-release.pkr.hcl",
        ],
        1,
    );
    assert!(
        refused
            .stdout
            .contains("release `r1` of team/base was revoked")
            && refused.stdout.contains("CVE-2026-7"),
        "{}",
        refused.stdout
    );
    let releases = r.json(&["release", "list", "-bucket", "team", "-product", "app"]);
    assert_eq!(
        releases.as_array().map(Vec::len),
        Some(1),
        "the refused build published nothing: {releases}"
    );

    // Restoring undoes both, and the same build now succeeds.
    r.kiln(&[
        "release", "restore", "-bucket", "team", "-product", "base", "-release", "r1",
    ])
    .run();
    assert_eq!(show("app", "c1")["status"], "ACTIVE");
    kiln(
        &child,
        &[
            "build",
            "-var",
            "release=c2",
            "-var",
            "base=r1",
            "by-release.pkr.hcl",
        ],
        0,
    );
    let c2 = show("app", "c2");
    assert_eq!(c2["parents"][0]["parent"], "team/base/r1");
    assert_eq!(c2["parents"][0]["status"], "UNDETERMINED");
}

/// Two sources publishing into one release; `null.bad` fails until the file `fixed` exists.
/// Each session appends its name to `ran` when it builds.
const TWO: &str = r#"
source "null" "good" {
  communicator = "none"
}

source "null" "bad" {
  communicator = "none"
}

build {
  sources = ["source.null.good", "source.null.bad"]

  provisioner "shell-local" {
    inline = ["echo ${source.name} >> ran"]
  }

  provisioner "shell-local" {
    only   = ["null.bad"]
    inline = ["test -f fixed"]
  }

  post-processor "hcp-packer-publish" {
    bucket_name  = "team"
    product_name = "pair"
    release_name = "v1"
  }
}
"#;

#[test]
fn registry_a_failed_source_leaves_the_release_incomplete_and_a_rerun_builds_only_it() {
    let r = Registry::new();
    let project = r.project().write("t.pkr.hcl", TWO);
    let out = kiln(&project, &["build", "t.pkr.hcl"], 1);
    assert!(
        out.stdout.contains("Release team/pair/v1 is INCOMPLETE")
            && out.stdout.contains("* null.bad: FAILED"),
        "{}",
        out.stdout
    );
    let release = r.json(&[
        "release", "show", "-bucket", "team", "-product", "pair", "-release", "v1",
    ]);
    assert_eq!(release["status"], "INCOMPLETE");
    let status: Vec<(String, String)> = release["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["component"].as_str().unwrap().to_string(),
                b["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("null.bad".to_string(), "FAILED".to_string()),
            ("null.good".to_string(), "DONE".to_string())
        ]
    );

    std::fs::write(project.dir().join("fixed"), "").unwrap();
    let out = kiln(&project, &["build", "t.pkr.hcl"], 0);
    assert!(
        out.stdout
            .contains("==> Build 'null.good' is already DONE in release team/pair/v1; skipping it"),
        "{}",
        out.stdout
    );
    let mut ran: Vec<String> = std::fs::read_to_string(project.dir().join("ran"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    ran.sort();
    assert_eq!(
        ran,
        ["bad", "bad", "good"],
        "only the failed source ran again"
    );
    let release = r.json(&[
        "release", "show", "-bucket", "team", "-product", "pair", "-release", "v1",
    ]);
    assert_eq!(release["status"], "ACTIVE");

    // The release is complete: a template that would add a build to it is refused before
    // anything runs.
    let grown = TWO.replace(
        r#"sources = ["source.null.good", "source.null.bad"]"#,
        r#"sources = ["source.null.good", "source.null.bad", "source.null.extra"]"#,
    ) + "\nsource \"null\" \"extra\" {\n  communicator = \"none\"\n}\n";
    let project = project.write("grown.pkr.hcl", grown);
    std::fs::remove_file(project.dir().join("ran")).unwrap();
    let out = kiln(&project, &["build", "grown.pkr.hcl"], 1);
    assert!(
        out.stderr.contains(
            "release team/pair/v1 is complete and cannot change: it has no build `null.extra`"
        ) && out.stderr.contains("grown.pkr.hcl:")
            && out.stderr.contains("hint: publish into a new release"),
        "{}",
        out.stderr
    );
    assert!(!project.dir().join("ran").exists(), "nothing ran");
}

#[test]
fn registry_a_build_whose_process_died_is_failed_by_the_next_run_and_rebuilt() {
    let r = Registry::new();
    let template = TWO
        .replace("test -f fixed", "if [ ! -f fixed ]; then sleep 60; fi")
        .replace("\"pair\"", "\"crash\"");
    let project = r.project().write("t.pkr.hcl", template);
    let mut child = std::process::Command::new(crate::test::kiln_bin())
        .args(["build", "t.pkr.hcl"])
        .current_dir(project.dir())
        .env("KILN_HOME", r.home())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kiln starts");
    // Wait until `null.bad` is RUNNING in the registry (its sleep has begun), then kill -9.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = r
            .kiln(&[
                "release",
                "show",
                "-bucket",
                "team",
                "-product",
                "crash",
                "-release",
                "v1",
                "-format=json",
            ])
            .status(0)
            .run_unchecked();
        let running = out.status == 0
            && serde_json::from_str::<serde_json::Value>(&out.stdout)
                .ok()
                .and_then(|v| {
                    v["builds"].as_array().map(|bs| {
                        bs.iter().any(|b| {
                            b["component"] == "null.bad"
                                && b["status"] == "RUNNING"
                                && project.dir().join("ran").exists()
                                && std::fs::read_to_string(project.dir().join("ran"))
                                    .is_ok_and(|t| t.contains("bad"))
                        })
                    })
                })
                .unwrap_or(false);
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "null.bad never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill -9");
    child.wait().unwrap();

    // A run that says builds go stale after 1s marks it FAILED, then builds it again.
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(project.dir().join("fixed"), "").unwrap();
    let rerun = project.env("KILN_REGISTRY_STALE_AFTER", "1s");
    let out = kiln(&rerun, &["build", "t.pkr.hcl"], 0);
    assert!(
        out.stdout.contains(
            "==> Marked 1 build(s) FAILED in the registry: the kiln process building them stopped"
        ),
        "{}",
        out.stdout
    );
    let release = r.json(&[
        "release", "show", "-bucket", "team", "-product", "crash", "-release", "v1",
    ]);
    assert_eq!(release["status"], "ACTIVE", "{release}");
}

#[test]
fn registry_names_are_checked_when_the_template_loads_and_nothing_is_written() {
    let r = Registry::new();
    let bad = TWO
        .replace("\"pair\"", "\"a/../b\"")
        .replace("release_name = \"v1\"", "release_name = \"v 1\"");
    let project = r.project().write("t.pkr.hcl", bad);
    let out = kiln(&project, &["build", "t.pkr.hcl"], 1);
    assert!(
        out.stderr.contains("t.pkr.hcl:24:")
            && out.stderr.contains("t.pkr.hcl:25:")
            && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
    assert!(
        !r.home().join("registry.db").exists(),
        "nothing was written"
    );
}

#[test]
fn registry_data_sources_name_what_they_cannot_find() {
    let r = Registry::new();
    let base = r.project().write("base.pkr.hcl", BASE);
    kiln(&base, &["build", "-var", "release=r1", "base.pkr.hcl"], 0);
    let child = r.project().write("app.pkr.hcl", app("channel_name"));
    let out = kiln(
        &child,
        &[
            "build",
            "-var",
            "release=c1",
            "-var",
            "base=nightly",
            "app.pkr.hcl",
        ],
        1,
    );
    assert!(
        out.stdout.contains("channel `nightly`") && out.stdout.contains("not found"),
        "{}",
        out.stdout
    );
    // Both HCP's name and kiln's for the same field is a mistake caught at load.
    let both = app("channel_name").replace(
        "bucket_name = \"base\"",
        "bucket_name = \"base\"\n  product     = \"base\"",
    );
    let child = child.write("both.pkr.hcl", both);
    let out = kiln(&child, &["validate", "both.pkr.hcl"], 1);
    assert!(
        out.stderr
            .contains("`bucket_name` and `product` are mutually exclusive"),
        "{}",
        out.stderr
    );
}

#[test]
fn registry_credentials_in_a_publish_block_never_show() {
    let r = Registry::new();
    let template = r#"
source "null" "x" {
  communicator = "none"
}

build {
  sources = ["source.null.x"]

  post-processor "hcp-packer-publish" {
    bucket_name  = "team"
    product_name = "secret"
    release_name = "v1"
    cloud_provider_config {
      aws {
        access_key = "AKIAKILNTESTKEY"
        secret_key = "kiln-test-secret-value"
      }
    }
  }
}
"#;
    let project = r.project().write("t.pkr.hcl", template);
    let plan = kiln(&project, &["build", "-dry-run", "t.pkr.hcl"], 0);
    assert!(
        plan.stdout.contains("secret_key = (sensitive)"),
        "{}",
        plan.stdout
    );
    let built = kiln(&project, &["build", "-events=events.json", "t.pkr.hcl"], 0);
    let events = std::fs::read_to_string(project.dir().join("events.json")).unwrap();
    let mut db = std::fs::read(r.home().join("registry.db")).unwrap();
    db.extend(std::fs::read(r.home().join("registry.db-wal")).unwrap_or_default());
    for secret in ["AKIAKILNTESTKEY", "kiln-test-secret-value"] {
        for (what, text) in [
            ("the dry run", &plan.stdout),
            ("the build's output", &built.stdout),
            ("its errors", &built.stderr),
            ("its events", &events),
        ] {
            assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
        }
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the registry holds {secret}"
        );
    }
}
