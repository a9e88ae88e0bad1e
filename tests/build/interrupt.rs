//! Ctrl-C during a build: the first cancels and cleans up, the second exits at once.

use super::{assert_group_ends, events, group_in, sleepers, spawn_kiln, wait_with_timeout, Test};
use std::path::Path;
use std::time::{Duration, Instant};

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

fn interrupt(child: &std::process::Child) {
    send(child, libc::SIGINT);
}

fn send(child: &std::process::Child, signal: i32) {
    // SAFETY: kill(2) sends a signal to the child we started; it touches no memory.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
}

#[test]
fn an_interrupt_cancels_the_running_step_and_runs_the_cleanup() {
    cancels_and_cleans_up(libc::SIGINT);
}

/// A closed terminal or SSH session must not orphan the build's commands or skip its cleanup.
#[test]
fn hangup_and_quit_cancel_and_clean_up_like_an_interrupt() {
    cancels_and_cleans_up(libc::SIGHUP);
    cancels_and_cleans_up(libc::SIGQUIT);
}

fn cancels_and_cleans_up(signal: i32) {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["read -r _ _ _ _ group _ < /proc/$$/stat; echo $group > group", "sleep 60"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["touch cleaned"]
  }
}
"#,
    );
    let dir = test.dir();
    let mut child = spawn_kiln(dir, &["build", "-events=ev.json", "t.pkr.hcl"]);
    wait_for_file(&dir.join("group"));
    let group = group_in(&dir.join("group"));
    send(&child, signal);
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_ne!(status, 0, "an interrupted build fails:\n{stdout}");
    assert!(dir.join("cleaned").exists(), "the cleanup ran:\n{stdout}");
    assert_group_ends(group, "the provisioner's script was stopped");
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
    inline = ["read -r _ _ _ _ group _ < /proc/$$/stat; echo $group > group", "sleep 60"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["read -r _ _ _ _ group _ < /proc/$$/stat; echo $group > cleanup-group", "sleep 60"]
  }
}
"#,
    );
    let dir = test.dir();
    let mut child = spawn_kiln(dir, &["build", "t.pkr.hcl"]);
    wait_for_file(&dir.join("group"));
    let group = group_in(&dir.join("group"));
    interrupt(&child);
    wait_for_file(&dir.join("cleanup-group"));
    let cleanup = group_in(&dir.join("cleanup-group"));
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
    assert_group_ends(group, "the provisioner's script was stopped");
    assert_group_ends(cleanup, "the cleanup's command was stopped too");
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

/// The command's own TERM trap gets the grace period, although the `sh -c` wrapper around it
/// ends at once.
#[test]
fn an_interrupt_lets_the_scripts_term_trap_finish_within_the_grace_period() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["trap 'sleep 1; echo done > trapped; exit 1' TERM", "echo go > started", "sleep 60"]
  }
}
"#,
    );
    let dir = test.dir();
    let mut child = spawn_kiln(dir, &["build", "t.pkr.hcl"]);
    wait_for_file(&dir.join("started"));
    interrupt(&child);
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_ne!(status, 0, "{stdout}");
    assert_eq!(
        std::fs::read_to_string(dir.join("trapped")).unwrap_or_default(),
        "done\n",
        "the trap ran to its end:\n{stdout}"
    );
}

/// The `file` builder streams its copy: memory stays flat whatever the source's size, an
/// interrupt stops it between chunks, and no half-written target or temporary file is left.
#[test]
fn the_file_builder_copies_in_chunks_and_stops_on_an_interrupt() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "file" "big" {
  source = "huge.img"
  target = "out/copy.img"
}

build {
  sources = ["source.file.big"]
}
"#,
    );
    let dir = test.dir();
    // 64 GiB of holes: reading it costs no disk, and no build copies it within the test.
    std::fs::File::create(dir.join("huge.img"))
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let mut child = spawn_kiln(dir, &["build", "-color=false", "t.pkr.hcl"]);
    let out = dir.join("out");
    let deadline = Instant::now() + Duration::from_secs(60);
    let copied = loop {
        let size = std::fs::read_dir(&out)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        if size >= 256 << 20 {
            break size;
        }
        assert!(Instant::now() < deadline, "the copy never got under way");
        std::thread::sleep(Duration::from_millis(10));
    };
    let peak_kib = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .expect("VmHWM");
    interrupt(&child);
    let (status, stdout) = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_eq!(status, 1, "{stdout}");
    assert!(
        stdout.contains("Cleanly cancelled builds after being interrupted."),
        "{stdout}"
    );
    assert!(
        peak_kib < 128 << 10,
        "{peak_kib} KiB resident after copying {copied} bytes: the source is not held whole"
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "nothing half-written is left: {left:?}");
}

/// A kiln killed outright (SIGKILL, an OOM kill) cannot clean up; its watchdog still stops the
/// command's whole group and removes its script, instead of leaving them orphaned.
#[test]
fn a_command_is_stopped_and_its_script_removed_when_kiln_is_killed_outright() {
    let test = Test::new().write(
        "t.pkr.hcl",
        r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo $0 > script", "read -r _ _ _ _ group _ < /proc/$$/stat; echo $group > group", "sleep 60"]
  }
}
"#,
    );
    let dir = test.dir();
    let mut child = spawn_kiln(dir, &["build", "t.pkr.hcl"]);
    wait_for_file(&dir.join("group"));
    let group = group_in(&dir.join("group"));
    let script = wait_for_file(&dir.join("script"));
    send(&child, libc::SIGKILL);
    let _ = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_group_ends(group, "the script kiln left running was stopped");
    let script = Path::new(script.trim_end());
    let deadline = Instant::now() + Duration::from_secs(10);
    while script.exists() {
        assert!(
            Instant::now() < deadline,
            "{} is left behind",
            script.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
