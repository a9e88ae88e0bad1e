//! `build -debug`: builds one at a time, a pause before each step until Enter is pressed.

use super::Test;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TWO_STEPS: &str = r#"
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["touch first"]
  }

  provisioner "shell-local" {
    inline = ["touch second"]
  }
}
"#;

#[test]
fn debug_pauses_before_each_step_until_enter() {
    let test = Test::new().write("t.pkr.hcl", TWO_STEPS);
    let mut child = Command::new(crate::test::kiln_bin())
        .args(["build", "-debug", "-color=false", "t.pkr.hcl"])
        .current_dir(test.dir())
        .env("KILN_HOME", test.dir().join(".kiln"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |what: &str| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line with {what:?} in:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if line.contains(what) {
            return line;
        }
    };
    assert!(wait_for("Debug mode enabled").contains("Builds will not be parallelized."));
    let mut pauses = Vec::new();
    // The source, then each provisioner: each waits for its Enter.
    for not_yet in [None, Some("first"), Some("second")] {
        pauses.push(wait_for("Pausing before step"));
        std::thread::sleep(Duration::from_millis(300));
        if let Some(file) = not_yet {
            assert!(
                !test.dir().join(file).exists(),
                "`{file}` was made before its pause was answered"
            );
        }
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(test.dir().join("first").exists() && test.dir().join("second").exists());
    assert_eq!(
        pauses,
        [
            "==> null.a: Pausing before step 'launch'. Press enter to continue.",
            "==> null.a: Pausing before step 'provisioner[0].shell-local'. Press enter to continue.",
            "==> null.a: Pausing before step 'provisioner[1].shell-local'. Press enter to continue.",
        ]
    );
}
