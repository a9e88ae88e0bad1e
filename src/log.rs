//! kiln's debug log, as Packer's: `PACKER_LOG=1` (kiln's own events at debug level) or
//! `KILN_LOG=<filter>` (a tracing env filter, `debug` for every crate), written to stderr or
//! appended to `PACKER_LOG_PATH`. Every line has the run's secrets hidden, as all output does.

use std::io::Write;
use std::sync::{Mutex, RwLock};

/// Texts never to write: the run's secrets, registered as the output's are.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Hide `secret` in every log line from now on.
pub fn hide(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
    }
}

/// `text` with every secret in `secrets` replaced by `<sensitive>`, in one pass: the leftmost
/// first, the longest where several start at one place, never one inside a replacement.
pub fn redact_with(secrets: &[String], text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = secrets
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| rest.find(s.as_str()).map(|at| (at, s.len())))
            .min_by_key(|&(at, len)| (at, std::cmp::Reverse(len)));
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str("<sensitive>");
        rest = &rest[at + len..];
    }
}

/// Set once the log is written to stderr.
static ON_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the debug log goes to stderr (where it would cross the progress lines on a terminal).
pub fn on_stderr() -> bool {
    ON_STDERR.load(std::sync::atomic::Ordering::Relaxed)
}

/// Start logging when the environment asks for it; otherwise nothing is recorded.
pub fn init() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let filter = match (var("KILN_LOG"), var("PACKER_LOG")) {
        (Some(filter), _) => filter,
        (None, Some(v)) if v != "0" => "kiln=debug".to_string(),
        _ => return,
    };
    let filter = match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("warning: KILN_LOG={filter} is not a log filter ({e}); logging kiln=debug");
            tracing_subscriber::EnvFilter::new("kiln=debug")
        }
    };
    let sink = match var("PACKER_LOG_PATH") {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => Sink::File(file),
            Err(e) => {
                eprintln!("warning: cannot open PACKER_LOG_PATH {path}: {e}; logging to stderr");
                Sink::Stderr
            }
        },
        None => Sink::Stderr,
    };
    ON_STDERR.store(
        matches!(sink, Sink::Stderr),
        std::sync::atomic::Ordering::Relaxed,
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Writer(std::sync::Arc::new(Mutex::new(sink))))
        .try_init();
}

enum Sink {
    Stderr,
    File(std::fs::File),
}

/// Writes each formatted event whole, with the secrets hidden; a failed write is dropped.
#[derive(Clone)]
struct Writer(std::sync::Arc<Mutex<Sink>>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
        let line = redact_with(&secrets, &text);
        let mut sink = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = match &mut *sink {
            Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            Sink::File(file) => file.write_all(line.as_bytes()),
        };
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Writer {
    type Writer = Writer;

    fn make_writer(&'a self) -> Writer {
        self.clone()
    }
}
