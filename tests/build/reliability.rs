//! Nothing lost: every line a command writes reaches the output, whatever its bytes, and files
//! kiln rewrites (formatted templates, manifests) are whole after a SIGKILL at any moment and
//! after several processes write them at once.

use super::{build, null_sources, spawn_kiln, Test};
use crate::test::kiln_bin;
use std::process::Command;
use std::time::Duration;

fn shell_local(inline: &str) -> String {
    null_sources(
        1,
        &format!("  provisioner \"shell-local\" {{\n    inline = [{inline:?}]\n  }}\n"),
    )
}

#[test]
fn output_that_is_not_utf8_is_shown_and_the_command_reads_on() {
    let test = Test::new().write(
        "t.pkr.hcl",
        shell_local(r"printf 'caf\351\n'; sleep 0.5; echo done"),
    );
    let out = build(&test, &["build", "-color=false", "t.pkr.hcl"], 0);
    assert!(
        out.stdout.contains("null.s0: caf\u{FFFD}\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("null.s0: done\n"), "{}", out.stdout);
}

#[test]
fn every_line_written_before_the_command_exits_is_shown() {
    let test = Test::new().write("t.pkr.hcl", shell_local("seq 1 1000000; echo LAST-LINE"));
    let out = build(
        &test,
        &["build", "-color=false", "-log-dir=logs", "t.pkr.hcl"],
        0,
    );
    let shown = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("    null.s0: "))
        .count();
    assert_eq!(shown, 1_000_001, "every line of seq and the last one");
    assert!(out.stdout.contains("    null.s0: LAST-LINE\n"));
    let log = std::fs::read_to_string(test.dir().join("logs/null.s0.log")).expect("the log");
    assert!(log.contains("null.s0: LAST-LINE"), "the log has it too");
}

/// A SIGKILL after `delay` of `args` run in `test`'s folder.
fn kill_after(test: &Test, args: &[&str], delay: Duration) {
    let mut child = spawn_kiln(test.dir(), args);
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// A pseudo-random delay below `max_ms`, different for each `n`.
fn moment(n: u64, max_ms: u64) -> Duration {
    let mixed = (n + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
    Duration::from_millis(mixed % max_ms)
}

#[test]
fn fmt_write_killed_at_any_moment_leaves_the_old_template_or_the_new_one() {
    // About 6 MB of badly aligned attributes: formatting and writing take a while.
    let mut old = String::new();
    for i in 0..60_000 {
        old.push_str(&format!(
            "variable \"v{i}\" {{\n  type = string\n  default     = \"{}\"\n}}\n",
            "x".repeat(60)
        ));
    }
    let test = Test::new().write("t.pkr.hcl", &old);
    let fresh = Test::new().write("t.pkr.hcl", &old);
    build(&fresh, &["fmt", "t.pkr.hcl"], 0);
    let new = std::fs::read_to_string(fresh.dir().join("t.pkr.hcl")).expect("formatted");
    assert_ne!(old, new, "the template needs formatting");
    let path = test.dir().join("t.pkr.hcl");
    let (mut olds, mut news) = (0, 0);
    for n in 0..20 {
        kill_after(&test, &["fmt", "t.pkr.hcl"], moment(n, 1100));
        let now = std::fs::read_to_string(&path).expect("the template is there");
        if now == old {
            olds += 1;
        } else {
            assert!(
                now == new,
                "run {n}: neither the old nor the new template ({} bytes)",
                now.len()
            );
            news += 1;
            std::fs::write(&path, &old).expect("back to the old template");
        }
    }
    eprintln!("{olds} kills before the rename, {news} after");
}

#[test]
fn manifests_stay_whole_under_kills_and_lose_no_entry_to_parallel_writers() {
    let sources = 8;
    let template = null_sources(
        sources,
        "  post-processor \"manifest\" {\n    output = \"manifest.json\"\n  }\n",
    );
    let test = Test::new().write("t.pkr.hcl", &template);
    // A large manifest already there: 40,000 earlier builds.
    let earlier: Vec<String> = (0..40_000)
        .map(|i| {
            format!(
                "{{\"name\":\"old{i}\",\"builder_type\":\"null\",\"build_time\":1,\"files\":null,\"artifact_id\":\"Null\",\"packer_run_uuid\":\"u\",\"custom_data\":null}}"
            )
        })
        .collect();
    let start = format!(
        "{{\"builds\":[{}],\"last_run_uuid\":\"u\"}}",
        earlier.join(",")
    );
    let path = test.dir().join("manifest.json");
    std::fs::write(&path, &start).expect("the manifest");
    for n in 0..20 {
        kill_after(&test, &["build", "t.pkr.hcl"], moment(n, 1500));
        let text = std::fs::read_to_string(&path).expect("the manifest is there");
        let parsed: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kill {n}: the manifest is not whole JSON: {e}"));
        let builds = parsed["builds"].as_array().expect("builds").len();
        assert!(builds >= 40_000, "kill {n}: {builds} builds");
    }

    // Two processes at once, each adding its sources' entries: none is lost.
    std::fs::write(&path, &start).expect("the manifest again");
    let runs: Vec<_> = (0..2)
        .map(|_| spawn_kiln(test.dir(), &["build", "t.pkr.hcl"]))
        .collect();
    for run in runs {
        let out = run.wait_with_output().expect("kiln ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let parsed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("reads")).expect("JSON");
    assert_eq!(
        parsed["builds"].as_array().expect("builds").len(),
        40_000 + 2 * sources,
        "every entry of both runs"
    );
}

#[test]
fn a_template_starting_with_a_byte_order_mark_is_read() {
    let template = format!("\u{FEFF}{}", shell_local("echo hi"));
    let test = Test::new().write("t.pkr.hcl", template);
    build(&test, &["validate", "t.pkr.hcl"], 0);
    let out = build(&test, &["build", "-color=false", "t.pkr.hcl"], 0);
    assert!(out.stdout.contains("null.s0: hi"), "{}", out.stdout);
}

#[test]
fn events_never_overwrite_the_template_and_a_failed_write_fails_the_run() {
    let template = shell_local("echo hi");
    let test = Test::new().write("t.pkr.hcl", &template);
    let out = build(&test, &["build", "-events=t.pkr.hcl", "t.pkr.hcl"], 1);
    assert!(
        out.stderr.contains("-events=t.pkr.hcl names t.pkr.hcl"),
        "{}",
        out.stderr
    );
    let kept = std::fs::read_to_string(test.dir().join("t.pkr.hcl")).expect("reads");
    assert_eq!(kept, template, "the template is untouched");

    let out = build(&test, &["build", "-events=/dev/full", "t.pkr.hcl"], 1);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("cannot write the events file /dev/full"),
        "{said}"
    );
    assert_eq!(
        said.matches("cannot write the events file").count(),
        1,
        "said once: {said}"
    );
}

#[test]
fn the_open_file_soft_limit_is_raised_to_the_hard_one() {
    let test = Test::new().write(
        "t.pkr.hcl",
        shell_local("echo soft=$(ulimit -Sn) hard=$(ulimit -Hn)"),
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 256 && exec {} build -color=false t.pkr.hcl",
            kiln_bin().display()
        ))
        .current_dir(test.dir())
        .env("KILN_HOME", test.dir().join(".kiln"))
        .output()
        .expect("sh runs kiln");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find_map(|l| {
            l.split("null.s0: ")
                .nth(1)
                .filter(|l| l.starts_with("soft="))
        })
        .expect("the limits were printed");
    let (soft, hard) = line
        .strip_prefix("soft=")
        .and_then(|l| l.split_once(" hard="))
        .expect("soft and hard");
    assert_eq!(soft, hard, "{line}");
    assert_ne!(soft, "256", "{line}");
}

/// Every process's command line on this machine, joined.
pub(super) fn all_command_lines() -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            all.push_str(&String::from_utf8_lossy(&bytes).replace('\0', " "));
            all.push('\n');
        }
    }
    all
}

#[test]
fn environment_vars_reach_the_script_through_its_environment_never_argv() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
variable "token" {
  type      = string
  default   = "argv-s3cr3t-v4lue"
  sensitive = true
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    environment_vars = ["TOKEN=${var.token}", "QUOTED=it's"]
    inline           = ["printf '%s|%s' \"$TOKEN\" \"$QUOTED\" > seen", "touch started", "sleep 2"]
  }
}
"#,
    );
    let mut child = spawn_kiln(test.dir(), &["build", "t.pkr.hcl"]);
    let started = test.dir().join("started");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(std::time::Instant::now() < deadline, "the script never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen_by_ps = all_command_lines();
    assert!(child.wait().expect("kiln ends").success());
    assert!(
        !seen_by_ps.contains("argv-s3cr3t-v4lue"),
        "a command line holds the secret"
    );
    let seen = std::fs::read_to_string(test.dir().join("seen")).expect("the script wrote");
    assert_eq!(seen, "argv-s3cr3t-v4lue|it's");
}

#[test]
fn a_dangling_symlink_a_loop_or_a_fifo_is_an_error_naming_it() {
    let test = Test::new().write("t.pkr.hcl", shell_local("echo hi"));
    let dir = test.dir();
    std::os::unix::fs::symlink("gone.hcl", dir.join("x.auto.pkrvars.hcl")).expect("a link");
    let out = build(&test, &["validate", "."], 1);
    assert!(
        out.stderr
            .contains("cannot read ./x.auto.pkrvars.hcl: No such file"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(dir.join("x.auto.pkrvars.hcl")).expect("removed");

    std::os::unix::fs::symlink("loop.pkr.hcl", dir.join("loop.pkr.hcl")).expect("a loop");
    let out = build(&test, &["validate", "loop.pkr.hcl"], 1);
    assert!(
        out.stderr.contains("Too many levels of symbolic links"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(dir.join("loop.pkr.hcl")).expect("removed");

    let fifo = std::ffi::CString::new(dir.join("f.pkr.hcl").display().to_string()).expect("a path");
    // SAFETY: mkfifo reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let out = build(&test, &["validate", "."], 1);
    assert!(
        out.stderr.contains("f.pkr.hcl: it is not a regular file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_multi_line_secret_is_hidden_line_by_line() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
variable "key" {
  type      = string
  sensitive = true
  default   = <<EOT
-----BEGIN KILN TEST KEY-----
MIIEowIBAAKCAQEAw1x2y3z4LINEONE
b5c6d7e8f9g0h1i2j3LINETWO
-----END KILN TEST KEY-----
EOT
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    environment_vars = ["KEY=${var.key}"]
    inline           = ["printf '%s\n' \"$KEY\""]
  }
}
"#,
    );
    let out = build(
        &test,
        &[
            "build",
            "-color=false",
            "-events=ev.json",
            "-log-dir=logs",
            "t.pkr.hcl",
        ],
        0,
    );
    let everything = [
        out.stdout.clone(),
        out.stderr.clone(),
        std::fs::read_to_string(test.dir().join("ev.json")).expect("events"),
        std::fs::read_to_string(test.dir().join("logs/null.a.log")).expect("the log"),
    ];
    for text in everything {
        for line in ["LINEONE", "LINETWO"] {
            assert!(!text.contains(line), "{line} shows in:\n{text}");
        }
    }
    assert!(out.stdout.contains("null.a: <sensitive>"), "{}", out.stdout);
}

#[test]
fn deep_directives_prefix_operators_and_self_calling_templates_are_diagnostics_not_crashes() {
    let n = 5_700;
    let directives = format!(
        "locals {{\n  a = \"{}x{}\"\n}}\n",
        "%{ if true }".repeat(n),
        "%{ endif }".repeat(n)
    );
    let negations = format!("locals {{\n  a = {}1\n}}\n", "-".repeat(6_400));
    let nots = format!("locals {{\n  a = {}true\n}}\n", "!".repeat(6_400));
    let recursive = "locals {\n  a = templatefile(\"self.tpl\", {})\n}\n";
    let test = Test::new()
        .write("directives.pkr.hcl", &directives)
        .write("negations.pkr.hcl", &negations)
        .write("nots.pkr.hcl", &nots)
        .write("recursive.pkr.hcl", recursive)
        .write("self.tpl", "${templatefile(\"self.tpl\", {})}");
    for (file, said) in [
        (
            "directives.pkr.hcl",
            "template directives nest more than 100 levels deep",
        ),
        (
            "negations.pkr.hcl",
            "this expression nests more than 512 levels deep",
        ),
        (
            "nots.pkr.hcl",
            "this expression nests more than 512 levels deep",
        ),
        (
            "recursive.pkr.hcl",
            "nests templatefile calls more than 32 levels deep",
        ),
    ] {
        let out = build(&test, &["validate", file], 1);
        assert!(out.stderr.contains(said), "{file}: {}", out.stderr);
    }
    for file in ["directives.pkr.hcl", "negations.pkr.hcl", "nots.pkr.hcl"] {
        let out = test.run_unchecked_with(&["fmt", "-check", file]);
        assert!(
            out.status == 0 || out.status == 1 || out.status == 3,
            "fmt on {file} ends with a status, not a crash: {}\n{}",
            out.status,
            out.stderr
        );
    }
}

#[test]
fn a_sensitive_value_that_fails_its_type_or_validation_is_not_quoted() {
    let template = r#"
variable "n" {
  type      = number
  sensitive = true
  default   = 1
}

variable "s" {
  type      = string
  sensitive = true
  default   = "long enough to pass the check"

  validation {
    condition     = length(var.s) > 20
    error_message = "Too short."
  }
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]
}
"#;
    let test = Test::new().write("t.pkr.hcl", template).write(
        "v.pkrvars.hcl",
        "n = \"file-s3cret-n\"\ns = \"file-s3cret\"\n",
    );
    let runs = [
        vec![
            "validate",
            "-var",
            "n=arg-s3cret-n",
            "-var",
            "s=arg-s3cret",
            "t.pkr.hcl",
        ],
        vec!["validate", "-var-file", "v.pkrvars.hcl", "t.pkr.hcl"],
    ];
    for args in &runs {
        let out = build(&test, args, 1);
        assert!(
            out.stderr.contains("invalid value for the variable `n`"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("Too short."), "{}", out.stderr);
        assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
        assert!(
            out.stderr.contains("(a sensitive value, not shown)"),
            "{}",
            out.stderr
        );
    }
    // In an auto-loaded variable file too.
    let auto = Test::new()
        .write("t.pkr.hcl", template)
        .write("x.auto.pkrvars.hcl", "s = \"auto-s3cret\"\n");
    let out = build(&auto, &["validate", "."], 1);
    assert!(out.stderr.contains("Too short."), "{}", out.stderr);
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
}
