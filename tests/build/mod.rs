//! `kiln build` through the real binary: parallelism, failure isolation, interrupts, Packer's
//! manifest and checksum files, output, events and logs.

mod debug;
mod hostile;
mod interrupt;
mod output;
mod parallel;
mod post_processors;
mod reliability;
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

/// A template of `n` null sources without a communicator, `s0` to `s{n-1}`, all running `steps`.
fn null_sources(n: usize, steps: &str) -> String {
    let sources: Vec<_> = (0..n)
        .map(|i| {
            (
                "null",
                format!("s{i}"),
                "  communicator = \"none\"\n".to_string(),
            )
        })
        .collect();
    template(&sources, steps)
}

/// `n` null sources, each sleeping `seconds` in a shell-local provisioner.
fn sleepers(n: usize, seconds: u32) -> String {
    null_sources(
        n,
        &format!("  provisioner \"shell-local\" {{\n    inline = [\"sleep {seconds}\"]\n  }}\n"),
    )
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
        .env("KILN_HOME", dir.join(".kiln"))
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

/// Wait until no process of group `pgid` is left (kill(2) with signal 0 says ESRCH), failing
/// after ten seconds. A member that has exited and waits for whoever adopted it to reap it (a
/// zombie) still answers kill(2), so a group of only zombies is gone too.
fn assert_group_ends(pgid: i32, what: &str) {
    // SAFETY: getpgrp(2) only reads this process's group id.
    let own = unsafe { libc::getpgrp() };
    assert!(
        pgid > 1 && pgid != own,
        "{what}: the script runs in a group of its own, not {pgid}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // SAFETY: signal 0 sends nothing; kill(2) only checks that the group exists.
        let answer = unsafe { libc::kill(-pgid, 0) };
        let errno = std::io::Error::last_os_error().raw_os_error();
        if answer == -1 && errno == Some(libc::ESRCH) {
            return;
        }
        let members = group_members(pgid);
        if members.iter().all(|(_, state)| state == "Z") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: process group {pgid} still has {members:?} (pid, state) after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `(pid, state)` of every process in group `pgid`, read from /proc.
fn group_members(pgid: i32) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command name in parentheses: state, parent, group.
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            members.push((pid, fields[0].to_string()));
        }
    }
    members
}

/// The process group a script wrote to `path` (`read -r _ _ _ _ group _ < /proc/$$/stat`).
fn group_in(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a process group id")
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
    inline  = ["read -r _ _ _ _ group _ < /proc/$$/stat; echo $group > slow-group", "sleep 60"]
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
    assert_group_ends(
        group_in(&test.dir().join("slow-group")),
        "the timed-out script was stopped",
    );
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
