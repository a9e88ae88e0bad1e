//! Packer's machine-readable output (`-machine-readable`, on every command): one line per
//! message, `timestamp,target,type,data...`, commas in the data written `%!(PACKER_COMMA)` and
//! newlines `\n`.

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Switch machine-readable output on for the rest of the run.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Whether output is machine-readable.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// One machine-readable line, newline included.
pub fn line(target: &str, kind: &str, data: &[&str]) -> String {
    crate::exec::ui::machine_line(target, kind, data) + "\n"
}

/// A message for the user: on stdout as is, or as a `ui,say` line.
pub fn say(text: &str) {
    if enabled() {
        print!("{}", line("", "ui", &["say", text]));
    } else {
        println!("{text}");
    }
}

/// An error for the user (a rendered diagnostic, say): on stderr as is, or as a `ui,error`
/// line on stdout, where Packer puts them in machine-readable mode.
pub fn error(text: &str) {
    if text.is_empty() {
        return;
    }
    if enabled() {
        print!("{}", line("", "ui", &["error", text]));
    } else {
        eprint!("{text}");
    }
}
