//! `kiln build` through the real binary: parallelism, failure isolation, interrupts, Packer's
//! manifest and checksum files, output, events and logs.

mod interrupt;
mod output;
mod parallel;
mod post_processors;
mod terminal;

use crate::test::{repo_root, Output, Test};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures/build").join(path)
}

/// Run a build in the test's scratch directory, checking the exit status.
fn build(test: &Test, args: &[&str], status: i32) -> Output {
    let out = test.run_unchecked_with(args);
    assert_eq!(
        out.status, status,
        "exit status of kiln {args:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
    out
}

/// The NDJSON events a run wrote.
fn events(dir: &Path, name: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(dir.join(name)).expect("the events file exists");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("every event line is JSON"))
        .collect()
}

/// `(node, start, end)`, in milliseconds since the run started, of every step of `kind`.
fn intervals(events: &[Json], kind: &str) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for e in events {
        if e["event"] == "step_start" && e["kind"] == kind {
            let node = e["node"].as_str().unwrap().to_string();
            let end = events
                .iter()
                .find(|f| {
                    (f["event"] == "step_finish" || f["event"] == "step_fail") && f["node"] == *node
                })
                .and_then(|f| f["at_ms"].as_f64())
                .expect("every started step ends");
            out.push((node, e["at_ms"].as_f64().unwrap(), end));
        }
    }
    out
}

/// A template: one `source` block per `(type, name, body)` and one build using them all, with
/// `steps` inside it.
fn template(sources: &[(&str, String, String)], steps: &str) -> String {
    let mut t = String::new();
    let mut names = Vec::new();
    for (kind, name, body) in sources {
        t.push_str(&format!("source \"{kind}\" \"{name}\" {{\n{body}}}\n"));
        names.push(format!("\"source.{kind}.{name}\""));
    }
    t.push_str(&format!(
        "build {{\n  sources = [{}]\n{steps}}}\n",
        names.join(", ")
    ));
    t
}

/// `n` null sources, each sleeping `seconds` in a shell-local provisioner.
fn sleepers(n: usize, seconds: u32) -> String {
    let sources: Vec<_> = (0..n)
        .map(|i| {
            (
                "null",
                format!("s{i}"),
                "  communicator = \"none\"\n".to_string(),
            )
        })
        .collect();
    let steps =
        format!("  provisioner \"shell-local\" {{\n    inline = [\"sleep {seconds}\"]\n  }}\n");
    template(&sources, &steps)
}

const ISOLATION: &str = r#"
source "file" "one" {
  content = "one\n"
  target  = "out/one.txt"
}

source "file" "two" {
  content = "two\n"
  target  = "out/two.txt"
}

source "null" "bad" {
  communicator = "none"
}

build {
  sources = ["source.file.one", "source.file.two", "source.null.bad"]

  provisioner "shell-local" {
    only   = ["null.bad"]
    inline = ["echo about to fail", "exit 3"]
  }

  provisioner "shell-local" {
    inline = ["echo provisioned ${source.name}"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["touch cleaned-${source.name}"]
  }

  post-processor "manifest" {
    output = "manifest.json"
  }
}
"#;

#[test]
fn a_failing_source_skips_only_its_own_steps() {
    let test = Test::new().write("t.pkr.hcl", ISOLATION);
    let out = build(&test, &["build", "-events=ev.json", "t.pkr.hcl"], 1);
    let dir = test.dir();
    assert_eq!(
        std::fs::read_to_string(dir.join("out/one.txt")).unwrap(),
        "one\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out/two.txt")).unwrap(),
        "two\n"
    );
    // The failing session's cleanup ran; the others had nothing to clean up.
    assert!(dir.join("cleaned-bad").exists());
    assert!(!dir.join("cleaned-one").exists());
    assert!(!dir.join("cleaned-two").exists());
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut names: Vec<&str> = manifest["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["one", "two"]);
    let ev = events(dir, "ev.json");
    let skipped: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "step_skip" && e["reason"] != "no step failed")
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        [
            "null.bad/provisioner[1].shell-local",
            "null.bad/post-processor[0].manifest"
        ]
    );
    assert!(out
        .stdout
        .contains("--> null.bad: Script exited with non-zero exit status: 3"));
    assert!(out
        .stdout
        .contains("--> file.one: Stored file: out/one.txt"));
}

#[test]
fn on_error_abort_skips_the_cleanup_and_run_cleanup_provisioner_runs_it() {
    let test = Test::new().write("t.pkr.hcl", ISOLATION);
    build(&test, &["build", "-on-error=abort", "t.pkr.hcl"], 1);
    assert!(!test.dir().join("cleaned-bad").exists());
    build(
        &test,
        &["build", "-on-error=run-cleanup-provisioner", "t.pkr.hcl"],
        1,
    );
    assert!(test.dir().join("cleaned-bad").exists());
}

/// Start kiln in `dir` with its temporary files in `dir/tmp`, so a test can see what is left.
fn spawn_kiln(dir: &Path, args: &[&str]) -> std::process::Child {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    Command::new(crate::test::kiln_bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TMPDIR", dir.join("tmp"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiln starts")
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = String::new();
            use std::io::Read;
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            return (status.code().unwrap_or(-1), stdout);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kiln did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process still runs (a zombie waiting for whoever adopted it does not).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

/// Provisioners see the build's generated data, in HCL and in legacy templates, and commands
/// see Packer's variables.
#[test]
fn late_bound_build_data_reaches_provisioners() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  name    = "late"
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = [
      "echo hcl ${build.ID} ${build.PackerRunUUID} ${build.name}",
      "echo legacy {{ build `ID` }} {{ build `PackerRunUUID` }}",
      "echo env $PACKER_BUILD_NAME $PACKER_BUILDER_TYPE $PACKER_RUN_UUID",
    ]
  }

  post-processor "manifest" {
    output = "m.json"
  }
}
"#,
    );
    let out = build(&test, &["build", "t.pkr.hcl"], 0);
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(test.dir().join("m.json")).unwrap()).unwrap();
    let uuid = manifest["last_run_uuid"].as_str().unwrap();
    assert!(
        out.stdout
            .contains(&format!("late.null.a: hcl Null {uuid} late")),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains(&format!("late.null.a: legacy Null {uuid}")));
    assert!(out
        .stdout
        .contains(&format!("late.null.a: env a null {uuid}")));
}

#[test]
fn retries_and_timeouts_follow_the_provisioner_settings() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "flaky" {
  communicator = "none"
}

source "null" "slow" {
  communicator = "none"
}

build {
  sources = ["source.null.flaky", "source.null.slow"]

  provisioner "shell-local" {
    only        = ["null.flaky"]
    max_retries = 2
    inline      = ["echo x >> attempts", "test $(wc -l < attempts) -ge 3"]
  }

  provisioner "shell-local" {
    only    = ["null.slow"]
    timeout = "1s"
    inline  = ["echo $$ > slow-pid", "sleep 60"]
  }
}
"#,
    );
    let started = Instant::now();
    let out = build(&test, &["build", "t.pkr.hcl"], 1);
    assert!(started.elapsed() < Duration::from_secs(20));
    let attempts = std::fs::read_to_string(test.dir().join("attempts")).unwrap();
    assert_eq!(
        attempts.lines().count(),
        3,
        "two retries after the first try"
    );
    assert!(out.stdout.contains("Build 'null.flaky' finished"));
    assert!(
        out.stdout
            .contains("--> null.slow: the provisioner timed out after 1 second"),
        "{}",
        out.stdout
    );
    let pid: i32 = std::fs::read_to_string(test.dir().join("slow-pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the timed-out script was stopped");
}

/// A step kiln cannot run stops the build before anything starts.
#[test]
fn unsupported_steps_are_refused_before_anything_runs() {
    Test::new()
        .write(
            "t.pkr.hcl",
            r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["touch ran"]
  }

  provisioner "shell" {
    inline = ["true"]
  }
}
"#,
        )
        .arg("build")
        .arg("t.pkr.hcl")
        .status(1)
        .stderr_contains("kiln cannot run the shell provisioner yet")
        .stderr_contains("t.pkr.hcl:13:3")
        .stderr_contains("-dry-run")
        .run();
}
