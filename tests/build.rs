//! `kiln build` through the real binary: parallelism, failure isolation, interrupts, Packer's
//! manifest and checksum files, output, events and logs.

use crate::test::{repo_root, with_snapshots, Output, Test};
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

#[test]
fn sources_build_in_parallel() {
    let test = Test::new().write("t.pkr.hcl", sleepers(4, 1));
    let started = Instant::now();
    build(&test, &["build", "-events=ev.json", "t.pkr.hcl"], 0);
    let ev = events(test.dir(), "ev.json");
    let steps = intervals(&ev, "provisioner");
    assert_eq!(steps.len(), 4);
    let last_start = steps.iter().map(|s| s.1).fold(0.0, f64::max);
    let first_end = steps.iter().map(|s| s.2).fold(f64::MAX, f64::min);
    assert!(last_start < first_end, "all four sleeps overlap: {steps:?}");
    // Four one-second sleeps one after another would take four seconds.
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn parallel_builds_one_runs_sessions_one_at_a_time() {
    let test = Test::new().write("t.pkr.hcl", sleepers(3, 1));
    build(
        &test,
        &[
            "build",
            "-parallel-builds=1",
            "-events=ev.json",
            "t.pkr.hcl",
        ],
        0,
    );
    let ev = events(test.dir(), "ev.json");
    let mut steps = intervals(&ev, "provisioner");
    steps.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(steps.len(), 3);
    for pair in steps.windows(2) {
        assert!(
            pair[1].1 >= pair[0].2,
            "a session starts only after the previous one ended: {steps:?}"
        );
    }
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

fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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

fn interrupt(child: &std::process::Child) {
    // SAFETY: kill(2) sends a signal to the child we started; it touches no memory.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
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

#[test]
fn an_interrupt_cancels_the_running_step_and_runs_the_cleanup() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo $$ > pid", "sleep 60"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["touch cleaned"]
  }
}
"#,
    );
    let dir = test.dir();
    let mut child = spawn_kiln(dir, &["build", "-events=ev.json", "t.pkr.hcl"]);
    let pid: i32 = wait_for_file(&dir.join("pid")).trim().parse().unwrap();
    assert!(alive(pid));
    interrupt(&child);
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_ne!(status, 0, "an interrupted build fails:\n{stdout}");
    assert!(dir.join("cleaned").exists(), "the cleanup ran:\n{stdout}");
    assert!(!alive(pid), "the provisioner's script was stopped");
    let script = stdout
        .lines()
        .find_map(|l| l.split("Running local shell script: ").nth(1))
        .expect("the script was announced");
    assert!(
        !Path::new(script).exists(),
        "the temporary script was removed"
    );
    assert!(stdout.contains("Cleanly cancelled builds after being interrupted."));
    let ev = events(dir, "ev.json");
    assert!(ev.iter().any(|e| e["event"] == "interrupt"));
    assert!(ev
        .iter()
        .any(|e| e["event"] == "cleanup" && e["kind"] == "error-cleanup"));
}

#[test]
fn a_second_interrupt_exits_at_once_and_says_what_was_running() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo $$ > pid", "sleep 60"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo $$ > cleanup-pid", "sleep 60"]
  }
}
"#,
    );
    let dir = test.dir();
    let mut child = spawn_kiln(dir, &["build", "t.pkr.hcl"]);
    wait_for_file(&dir.join("pid"));
    interrupt(&child);
    let cleanup: i32 = wait_for_file(&dir.join("cleanup-pid"))
        .trim()
        .parse()
        .unwrap();
    let second = Instant::now();
    interrupt(&child);
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(second.elapsed() < Duration::from_secs(5), "exits at once");
    assert_ne!(status, 0);
    assert!(
        stdout.contains("may have left resources behind"),
        "{stdout}"
    );
    assert!(
        stdout.contains("null.a/error-cleanup-provisioner"),
        "{stdout}"
    );
    assert!(!alive(cleanup), "the cleanup's command was stopped too");
    assert_eq!(
        leftovers(dir),
        Vec::<String>::new(),
        "no temporary script is left"
    );
}

/// Files kiln left in its temporary folder.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn an_interrupt_cancels_sessions_still_waiting_for_a_slot() {
    let test = Test::new().write("t.pkr.hcl", sleepers(3, 60));
    let dir = test.dir();
    let mut child = spawn_kiln(
        dir,
        &[
            "build",
            "-parallel-builds=1",
            "-events=ev.json",
            "t.pkr.hcl",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(dir.join("ev.json"))
        .unwrap_or_default()
        .contains("\"kind\":\"provisioner\"")
    {
        assert!(
            Instant::now() < deadline,
            "the first provisioner never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_eq!(status, 1, "{stdout}");
    for waiting in ["null.s1", "null.s2"] {
        assert!(
            stdout.contains(&format!("--> {waiting}: the build was cancelled")),
            "{stdout}"
        );
    }
    let ev = events(dir, "ev.json");
    let started: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "step_start")
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    assert_eq!(
        started,
        ["null.s0/launch", "null.s0/provisioner[0].shell-local"]
    );
    assert_eq!(leftovers(dir), Vec::<String>::new());
}

/// Packer's manifest (captured from 1.6.6) and kiln's for the same template, run twice.
#[test]
fn manifest_matches_packer_field_by_field() {
    let test = Test::new()
        .write(
            "build.pkr.hcl",
            std::fs::read(fixture("manifest/build.pkr.hcl")).unwrap(),
        )
        .write(
            "c-input.txt",
            std::fs::read(fixture("manifest/c-input.txt")).unwrap(),
        );
    build(&test, &["build", "build.pkr.hcl"], 0);
    build(&test, &["build", "build.pkr.hcl"], 0);
    for file in ["manifest.json", "stripped.json"] {
        let ours_text = std::fs::read_to_string(test.dir().join(file)).unwrap();
        let theirs_text = std::fs::read_to_string(fixture(&format!("manifest/{file}"))).unwrap();
        assert_eq!(
            ours_text.ends_with('\n'),
            theirs_text.ends_with('\n'),
            "{file}: final newline as Packer"
        );
        let ours: Json = serde_json::from_str(&ours_text).unwrap();
        let theirs: Json = serde_json::from_str(&theirs_text).unwrap();
        assert_eq!(
            keys(&ours),
            keys(&theirs),
            "{file}: top-level keys in order"
        );
        let (ours_builds, theirs_builds) = (
            ours["builds"].as_array().unwrap(),
            theirs["builds"].as_array().unwrap(),
        );
        assert_eq!(ours_builds.len(), theirs_builds.len(), "{file}: entries");
        for (o, t) in ours_builds.iter().zip(theirs_builds) {
            assert_eq!(keys(o), keys(t), "{file}: entry keys in order");
            assert!(o["build_time"].is_i64());
            assert!(o["packer_run_uuid"].as_str().unwrap().len() == 36);
        }
        // Builds finish in any order; compare entries without their run-specific fields.
        assert_eq!(stable(ours_builds), stable(theirs_builds), "{file}");
        // Two runs: three entries each, the last run's uuid on top.
        for builds in [ours_builds, theirs_builds] {
            let uuids: Vec<&str> = builds
                .iter()
                .map(|b| b["packer_run_uuid"].as_str().unwrap())
                .collect();
            assert_eq!(uuids[0], uuids[2]);
            assert_eq!(uuids[3], uuids[5]);
            assert_ne!(uuids[0], uuids[3]);
        }
        assert_eq!(
            ours["last_run_uuid"], ours_builds[5]["packer_run_uuid"],
            "{file}: last_run_uuid is the latest run"
        );
        // Packer writes two-space indented JSON; so does kiln.
        assert!(ours_text.starts_with("{\n  \"builds\": [\n    {\n      \"name\""));
    }
}

fn keys(v: &Json) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Entries without build_time and uuid, sorted.
fn stable(builds: &[Json]) -> Vec<String> {
    let mut out: Vec<String> = builds
        .iter()
        .map(|b| {
            let mut b = b.clone();
            let o = b.as_object_mut().unwrap();
            o.remove("build_time");
            o.remove("packer_run_uuid");
            b.to_string()
        })
        .collect();
    out.sort();
    out
}

/// The checksum files kiln writes are the ones Packer wrote for the same inputs, and the
/// coreutils tools accept them.
#[test]
fn checksum_files_match_packer_and_verify() {
    let test = Test::new()
        .write(
            "build.pkr.hcl",
            std::fs::read(fixture("checksum/build.pkr.hcl")).unwrap(),
        )
        .write(
            "in/data.bin",
            std::fs::read(fixture("checksum/in/data.bin")).unwrap(),
        );
    build(&test, &["build", "-parallel-builds=1", "build.pkr.hcl"], 0);
    let produced = fixture("checksum/produced");
    for kind in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] {
        for name in [
            format!("packer_b_file_{kind}.checksum"),
            format!("packer_c_file_{kind}.checksum"),
            format!("sums/b_{kind}.sum"),
            format!("sums/c_{kind}.sum"),
        ] {
            let ours = std::fs::read_to_string(test.dir().join(&name)).unwrap();
            let theirs = std::fs::read_to_string(produced.join(&name)).unwrap();
            assert_eq!(ours, theirs, "{name}");
        }
    }
    // Checksum lines name files by base name: verify from the files' directories.
    for (dir, file) in [(".", "packer_b_file"), ("out", "packer_c_file")] {
        for kind in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] {
            let sums = test.dir().join(format!("{file}_{kind}.checksum"));
            let status = Command::new(format!("{kind}sum"))
                .arg("-c")
                .arg(&sums)
                .current_dir(test.dir().join(dir))
                .stdout(Stdio::null())
                .status()
                .expect("coreutils runs");
            assert!(status.success(), "{kind}sum -c {}", sums.display());
        }
    }
    let mut shared_lines: Vec<String> = std::fs::read_to_string(test.dir().join("all_sha256.sum"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    shared_lines.sort();
    let mut theirs: Vec<String> = std::fs::read_to_string(produced.join("all_sha256.sum"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    theirs.sort();
    assert_eq!(shared_lines, theirs, "both builds append to a shared file");
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
    let out = build(
        &quickstart,
        &["build", "-parallel-builds=1", "quickstart.pkr.hcl"],
        0,
    );
    let failing = Test::new().write("t.pkr.hcl", ISOLATION);
    let failed = build(&failing, &["build", "-parallel-builds=1", "t.pkr.hcl"], 1);
    with_snapshots(|| {
        insta::assert_snapshot!("build_quickstart", normalised(&out.stdout));
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

/// Run kiln on a pseudo-terminal (util-linux `script`), typing `input` after `delay`.
fn on_terminal(dir: &Path, command: &str, input: &str, delay: Duration) -> (i32, String) {
    let mut child = Command::new("script")
        .args(["-qfec", command, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs (scripts/test.sh installs it)");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let typist = std::thread::spawn(move || {
        use std::io::Write;
        std::thread::sleep(delay);
        let _ = stdin.write_all(input.as_bytes());
        // Keep the terminal open while kiln finishes.
        std::thread::sleep(Duration::from_secs(3));
    });
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(30));
    typist.join().unwrap();
    (status, stdout)
}

#[test]
fn on_error_ask_retries_the_step_when_told_to() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo x >> attempts", "test $(wc -l < attempts) -ge 2"]
  }
}
"#,
    );
    let command = format!(
        "{} build -on-error=ask t.pkr.hcl",
        crate::test::kiln_bin().display()
    );
    let (status, stdout) = on_terminal(test.dir(), &command, "r\n", Duration::from_secs(1));
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("[c] Clean up and exit, [a] abort without cleanup, or [r] retry step"));
    assert!(stdout.contains("Build 'null.a' finished"));
    let attempts = std::fs::read_to_string(test.dir().join("attempts")).unwrap();
    assert_eq!(attempts.lines().count(), 2);
}

#[test]
fn a_terminal_shows_what_long_steps_wait_on() {
    let test = Test::new().write("t.pkr.hcl", sleepers(1, 4));
    let command = format!("{} build t.pkr.hcl", crate::test::kiln_bin().display());
    let (status, stdout) = on_terminal(test.dir(), &command, "", Duration::ZERO);
    assert_eq!(status, 0, "{stdout}");
    let status_line = regex::Regex::new(
        r"… null\.s0/provisioner\[0\]\.shell-local \ds: running /[^ ]*kiln-shell-[0-9a-f]+",
    )
    .unwrap();
    assert!(status_line.is_match(&stdout), "{stdout:?}");
}

/// A visitor that records how many steps run at once, per region and per session.
struct Counter {
    graph: std::sync::Arc<kiln::plan::BuildGraph>,
    state: std::sync::Mutex<CounterState>,
}

#[derive(Default)]
struct CounterState {
    regions: std::collections::HashMap<String, (usize, usize)>,
    sessions: std::collections::HashSet<usize>,
    most_sessions: usize,
}

impl kiln::exec::Visitor for Counter {
    fn visit(
        self: std::sync::Arc<Self>,
        node: petgraph::graph::NodeIndex,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> kiln::exec::StepFuture {
        Box::pin(async move {
            let n = self.graph.node(node);
            let region = n
                .region
                .clone()
                .filter(|_| n.kind == kiln::plan::NodeKind::Launch);
            {
                let mut s = self.state.lock().unwrap();
                if let Some(r) = &region {
                    let e = s.regions.entry(r.clone()).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(e.0);
                }
                if let Some(session) = n.session {
                    s.sessions.insert(session);
                    s.most_sessions = s.most_sessions.max(s.sessions.len());
                }
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            if let Some(r) = &region {
                self.state.lock().unwrap().regions.get_mut(r).unwrap().0 -= 1;
            }
            Ok(())
        })
    }

    fn session_ended(&self, session: usize) {
        self.state.lock().unwrap().sessions.remove(&session);
    }
}

fn run_counted(text: &str, limits: kiln::exec::Limits) -> CounterState {
    let (_template, graph) = crate::plan::compile_text(text, &kiln::plan::PlanOptions::default());
    let graph = std::sync::Arc::new(graph);
    let counter = std::sync::Arc::new(Counter {
        graph: graph.clone(),
        state: Default::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let finished = runtime.block_on(async {
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        kiln::exec::scheduler::run(&graph, counter.clone(), &limits, rx).await
    });
    assert!(finished.results.iter().all(|r| matches!(r, Some(Ok(())))));
    std::sync::Arc::try_unwrap(counter)
        .ok()
        .expect("the run is over")
        .state
        .into_inner()
        .unwrap()
}

/// `per_region` amazon-ebs sources in each region.
fn fleet(regions: &[&str], per_region: usize) -> String {
    let mut sources = Vec::new();
    for region in regions {
        for i in 0..per_region {
            let name = format!("{region}-{i}");
            let body = format!(
                "  region = \"{region}\"\n  source_ami = \"ami-12345678\"\n  instance_type = \"t3.micro\"\n  ssh_username = \"ubuntu\"\n  ami_name = \"{name}\"\n"
            );
            sources.push(("amazon-ebs", name, body));
        }
    }
    template(&sources, "")
}

#[test]
fn cloud_calls_are_bounded_per_region() {
    let state = run_counted(
        &fleet(&["us-east-1", "eu-west-1"], 5),
        kiln::exec::Limits {
            per_region: 2,
            ..Default::default()
        },
    );
    for region in ["us-east-1", "eu-west-1"] {
        assert_eq!(
            state.regions[region].1, 2,
            "{region}: two launches at once, never more"
        );
    }
}

#[test]
fn parallel_builds_bounds_running_sessions() {
    let state = run_counted(
        &fleet(&["us-east-1"], 8),
        kiln::exec::Limits {
            parallel_builds: 3,
            ..Default::default()
        },
    );
    assert_eq!(state.most_sessions, 3);
}
