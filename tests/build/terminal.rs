//! A build on a terminal: `-on-error=ask` and the status line of long steps.

use super::{sleepers, wait_with_timeout, Test};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Run kiln on a pseudo-terminal (util-linux `script`), typing `input` after `delay`.
fn on_terminal(dir: &Path, command: &str, input: &str, delay: Duration) -> (i32, String) {
    let mut child = Command::new("script")
        .args(["-qfec", command, "/dev/null"])
        .current_dir(dir)
        .env("KILN_HOME", dir.join(".kiln"))
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

/// In a narrow terminal each progress line is cut to fit. (A terminal has rows as well as columns:
/// indicatif reads both, and a pty with no rows set is taken for 80 columns.)
#[test]
fn the_status_line_fits_a_narrow_terminal() {
    let test = Test::new().write("t.pkr.hcl", sleepers(1, 4));
    let command = format!(
        "stty rows 24 cols 40; {} build t.pkr.hcl",
        crate::test::kiln_bin().display()
    );
    let (status, stdout) = on_terminal(test.dir(), &command, "", Duration::ZERO);
    assert_eq!(status, 0, "{stdout}");
    let ansi = regex::Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").unwrap();
    let plain = ansi.replace_all(&stdout, "");
    let drawn: Vec<&str> = plain
        .split(['\r', '\n'])
        .filter(|s| s.starts_with("  … "))
        .collect();
    assert!(!drawn.is_empty(), "no status line was drawn: {stdout:?}");
    for line in drawn {
        let line = line.trim_end();
        assert!(
            line.chars().count() <= 39,
            "{} columns in a 40-column terminal: {line:?}",
            line.chars().count()
        );
        assert!(line.ends_with('…'), "{line:?}");
    }
}

/// Three builds' progress lines in an 80-column terminal, redrawn each second while the builds
/// print: played through a terminal emulator, the screen at the end holds the build's output
/// and no leftover progress line.
#[test]
fn progress_lines_leave_no_junk_in_an_80_column_terminal() {
    let test = Test::new().write("t.pkr.hcl", sleepers(3, 4));
    let command = format!(
        "stty rows 40 cols 80; {} build -color=false t.pkr.hcl",
        crate::test::kiln_bin().display()
    );
    let (status, stdout) = on_terminal(test.dir(), &command, "", Duration::ZERO);
    assert_eq!(status, 0, "{stdout}");
    assert!(
        stdout.contains("  … null.s2/provisioner[0]"),
        "no progress line was drawn: {stdout:?}"
    );
    let size = |n| std::num::NonZeroU16::new(n).unwrap();
    let mut terminal = vt100::Parser::new(size(40), size(80), 0);
    terminal.process(
        stdout
            .replace('\n', "\r\n")
            .replace("\r\r\n", "\r\n")
            .as_bytes(),
    );
    let screen = terminal.screen().contents();
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in &lines {
        assert!(
            ["==> ", "    ", "Build '", "--> "]
                .iter()
                .any(|p| line.starts_with(p)),
            "a junk line on the screen: {line:?}\n{screen}"
        );
    }
    for build in ["null.s0", "null.s1", "null.s2"] {
        let finished = format!("Build '{build}' finished");
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&finished)).count(),
            1,
            "{screen}"
        );
    }
}
