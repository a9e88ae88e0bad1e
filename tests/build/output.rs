//! What a build prints and logs: secrets hidden, logs per build, machine-readable and human output.

use super::{build, sleepers, Test, ISOLATION};
use crate::test::{repo_root, with_snapshots};
use serde_json::Value as Json;
use std::process::{Command, Stdio};

#[test]
fn secrets_never_reach_output_events_or_logs() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
variable "token" {
  type      = string
  default   = "s3cr3t-t0ken"
  sensitive = true
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    environment_vars = ["TOKEN=${var.token}"]
    inline           = ["echo the token is $TOKEN", "echo $TOKEN >&2"]
  }
}
"#,
    );
    let out = build(
        &test,
        &["build", "-events=ev.json", "-log-dir=logs", "t.pkr.hcl"],
        0,
    );
    assert!(out.stdout.contains("null.a: the token is <sensitive>"));
    let everything = [
        out.stdout.clone(),
        out.stderr.clone(),
        std::fs::read_to_string(test.dir().join("ev.json")).unwrap(),
        std::fs::read_to_string(test.dir().join("logs/null.a.log")).unwrap(),
    ];
    for text in everything {
        assert!(!text.contains("s3cr3t-t0ken"), "{text}");
    }
}

#[test]
fn log_dir_holds_each_builds_own_lines() {
    let test = Test::new().write("t.pkr.hcl", sleepers(3, 0));
    build(&test, &["build", "-log-dir=logs", "t.pkr.hcl"], 0);
    for i in 0..3 {
        let log = std::fs::read_to_string(test.dir().join(format!("logs/null.s{i}.log"))).unwrap();
        assert!(log.contains(&format!("null.s{i}: Running local shell script")));
        for j in (0..3).filter(|j| *j != i) {
            assert!(!log.contains(&format!("null.s{j}:")), "{log}");
        }
    }
}

#[test]
fn machine_readable_output_follows_packer() {
    let test = Test::new().write("t.pkr.hcl", ISOLATION);
    let out = build(&test, &["build", "-machine-readable", "t.pkr.hcl"], 1);
    let line = regex::Regex::new(r"^\d+,[^,]*,[a-z-]+(,.*)?$").unwrap();
    for l in out.stdout.lines() {
        assert!(line.is_match(l), "not a machine-readable line: {l}");
    }
    assert!(out.stdout.contains(",,error-count,1\n"));
    assert!(out
        .stdout
        .contains(",file.one,artifact,0,builder-id,packer.file\n"));
    assert!(out
        .stdout
        .contains(",file.one,artifact,1,file,0,out/one.txt\n"));
    assert!(out
        .stdout
        .contains(",,ui,say,==> null.bad: Provisioning step had errors: Running the cleanup provisioner%!(PACKER_COMMA) if present...\n"));
}

/// Human output, normalised: durations and temporary script names vary, and a session's
/// post-processor chains run at once, so their announcements (adjacent lines) are sorted.
fn normalised(stdout: &str) -> String {
    let duration = regex::Regex::new(r"after (\d+ [a-z]+)( \d+ [a-z]+)?").unwrap();
    let script = regex::Regex::new(r"/[^ ]*/kiln-shell-[0-9a-f]+").unwrap();
    let stdout = duration.replace_all(stdout, "after <duration>");
    let stdout = script.replace_all(&stdout, "<script>");
    let mut lines: Vec<&str> = stdout.lines().collect();
    let chain = |l: &str| l.contains("Running post-processor:");
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..].iter().take_while(|l| chain(l)).count();
        lines[i..i + run].sort_unstable();
        i += run.max(1);
    }
    lines.join("\n") + "\n"
}

#[test]
fn human_output_of_the_quickstart_and_of_a_failing_build() {
    let quickstart = Test::new().write(
        "quickstart.pkr.hcl",
        std::fs::read(repo_root().join("examples/quickstart.pkr.hcl")).unwrap(),
    );
    let quickstart = quickstart.env("HCP_PACKER_BUILD_FINGERPRINT", "quickstart-test");
    let out = build(
        &quickstart,
        &["build", "-parallel-builds=1", "quickstart.pkr.hcl"],
        0,
    );
    let out_stdout = out
        .stdout
        .replace(&quickstart.dir().display().to_string(), "<dir>");
    let failing = Test::new().write("t.pkr.hcl", ISOLATION);
    let failed = build(&failing, &["build", "-parallel-builds=1", "t.pkr.hcl"], 1);
    with_snapshots(|| {
        insta::assert_snapshot!("build_quickstart", normalised(&out_stdout));
        insta::assert_snapshot!("build_failing", normalised(&failed.stdout));
    });
    // The quickstart's files are real and its checksums verify.
    let artifacts = quickstart.dir().join("artifacts");
    for name in ["note", "menu"] {
        let status = Command::new("sha256sum")
            .args(["-c", &format!("{name}.sha256")])
            .current_dir(&artifacts)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["builds"].as_array().unwrap().len(), 3);
}
