//! The watchdog: a second kiln process that outlives a kiln killed outright (SIGKILL, the OOM
//! killer, a crash) and stops the commands it left running.
//!
//! A parent-death signal (`PR_SET_PDEATHSIG`) would reach only the `sh -c` wrapper a command
//! runs under; the wrapper dies of it while the script and everything it started run on. The
//! watchdog instead knows every live process group and temporary file: kiln tells it of each
//! through a pipe, and when that pipe closes without kiln having ended its commands, the
//! watchdog stops the groups as a cancel would (SIGTERM, the grace period, SIGKILL) and removes
//! the files. It starts with the first local command and ends when kiln does.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Set in the watchdog's environment: the process is the watchdog, not a kiln command.
const ENV: &str = "KILN_INTERNAL_WATCHDOG";

/// The pipe to the watchdog; `None` before the first command or when it could not start.
static PIPE: Mutex<Option<Watch>> = Mutex::new(None);

enum Watch {
    Running(ChildStdin),
    /// It could not be started or has gone: commands run without it.
    Unavailable,
}

/// First thing in `main`: when this process was started as the watchdog, watch and exit.
pub fn run_if_asked() {
    if std::env::var_os(ENV).is_some() {
        for signal in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM, libc::SIGQUIT] {
            // SAFETY: setting a signal's disposition to "ignore" touches no memory.
            unsafe {
                libc::signal(signal, libc::SIG_IGN);
            }
        }
        watch(std::io::stdin().lock());
        std::process::exit(0);
    }
}

/// A process group started.
pub(super) fn group_started(pgid: i32) {
    tell(&format!("+G {pgid}\n"));
}

/// A process group ended, or was stopped.
pub(super) fn group_ended(pgid: i32) {
    tell(&format!("-G {pgid}\n"));
}

/// A temporary file was created.
pub(super) fn file_created(path: &Path) {
    tell(&format!("+F {}\n", path.display()));
}

/// A temporary file was removed.
pub(super) fn file_removed(path: &Path) {
    tell(&format!("-F {}\n", path.display()));
}

fn tell(line: &str) {
    let mut pipe = PIPE.lock().unwrap_or_else(|e| e.into_inner());
    let watch = pipe.get_or_insert_with(start);
    if let Watch::Running(stdin) = watch {
        if stdin.write_all(line.as_bytes()).is_err() {
            *watch = Watch::Unavailable;
        }
    }
}

fn start() -> Watch {
    let Ok(exe) = std::env::current_exe() else {
        return Watch::Unavailable;
    };
    // Its own process group: a Ctrl-C at the terminal is kiln's to handle, not the watchdog's.
    let spawned = {
        let _shared = super::process::spawning();
        Command::new(exe)
            .env(ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
    };
    // The child is never waited for: it ends only when kiln does.
    match spawned.ok().and_then(|mut child| child.stdin.take()) {
        Some(stdin) => Watch::Running(stdin),
        None => Watch::Unavailable,
    }
}

/// The watchdog's life: follow what kiln says until the pipe closes, then stop what is left.
fn watch(input: impl BufRead) {
    let mut groups = HashSet::new();
    let mut files = HashSet::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        match line.split_at_checked(3) {
            Some(("+G ", g)) => {
                groups.extend(g.parse::<i32>().ok());
            }
            Some(("-G ", g)) => {
                if let Ok(g) = g.parse::<i32>() {
                    groups.remove(&g);
                }
            }
            Some(("+F ", f)) => {
                files.insert(PathBuf::from(f));
            }
            Some(("-F ", f)) => {
                files.remove(Path::new(f));
            }
            _ => {}
        }
    }
    // The pipe closed: kiln has exited. Anything still registered, it could not stop.
    for &g in &groups {
        super::process::signal_group(g, libc::SIGTERM);
    }
    let deadline = Instant::now() + super::process::GRACE;
    while groups.iter().any(|&g| super::process::group_alive(g)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &g in &groups {
        super::process::signal_group(g, libc::SIGKILL);
    }
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_stops_only_the_groups_and_files_still_registered() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, left) = (dir.path().join("kept"), dir.path().join("left"));
        std::fs::write(&kept, "").unwrap();
        std::fs::write(&left, "").unwrap();
        let start = |cmd: &str| {
            std::process::Command::new("/bin/sh")
                .args(["-c", cmd])
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut ended = start("sleep 30");
        let mut running = start("sleep 30");
        let said = format!(
            "+G {a}\n+G {b}\n-G {a}\n+F {kept}\n-F {kept}\n+F {left}\nnonsense\n",
            a = ended.id(),
            b = running.id(),
            kept = kept.display(),
            left = left.display(),
        );
        watch(said.as_bytes());
        assert!(running.wait().unwrap().code().is_none(), "signalled");
        assert!(ended.try_wait().unwrap().is_none(), "left alone");
        assert!(kept.exists() && !left.exists());
        ended.kill().unwrap();
        ended.wait().unwrap();
    }
}
