//! What a build prints, following Packer: `==> null.a: message` lines in one colour per build,
//! `    null.a: output` for command output, `-timestamp-ui`, `-machine-readable`; an NDJSON event
//! stream for CI systems (`-events`); one log file per build (`-log-dir`); and on a terminal one
//! line per long-running step saying what it waits on, drawn by indicatif below the output.
//!
//! Every line passes through [`Ui::redact`] first, so a sensitive value echoed by a command never
//! reaches the screen, the events file or a log.

use super::events::{millis, Event, Line, FORMAT_VERSION};
use crate::plugins::sdk::duration::{rfc3339, rfc3339_millis};
pub use crate::plugins::sdk::Level;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// How output is shown.
#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// ANSI colours (`-color=false` turns them off).
    pub color: bool,
    /// Prefix every line with the time (`-timestamp-ui`).
    pub timestamps: bool,
    /// Packer's `timestamp,target,type,data...` lines instead of human output.
    pub machine_readable: bool,
    /// Draw a line for each step running longer than a moment (a terminal only).
    pub progress: bool,
    /// Write an NDJSON event stream here (`-events`).
    pub events: Option<PathBuf>,
    /// Write each build's output to its own file in this directory (`-log-dir`).
    pub log_dir: Option<PathBuf>,
}

/// Packer's build colours, in the order builds get them.
const COLORS: [&str; 5] = ["32", "36", "35", "33", "34"];

/// The build's output: screen, events file and per-build logs.
pub struct Ui {
    options: UiOptions,
    /// Each build target's colour.
    colors: HashMap<String, &'static str>,
    /// The lines drawn below the output for long-running steps.
    progress: Progress,
    events: Option<Mutex<BufWriter<File>>>,
    /// Set once writing the events file failed: said once, and the run fails.
    events_failed: std::sync::atomic::AtomicBool,
    logs: Mutex<HashMap<String, File>>,
    /// Values never to show, longest first; a build adds the credentials it connects with.
    secrets: std::sync::RwLock<Vec<String>>,
    started: Instant,
}

/// The lines of long-running steps below the output: one indicatif line each, drawn on a terminal
/// only, cleared while an output line is printed above them so the two never mix.
struct Progress {
    multi: MultiProgress,
    bars: Mutex<Vec<ProgressBar>>,
}

impl Progress {
    fn new(shown: bool) -> Progress {
        let target = if shown {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(Vec::new()),
        }
    }
}

/// One machine-readable line, `timestamp,target,type,data...`, without its newline: commas in
/// the data written `%!(PACKER_COMMA)` and line breaks `\n`, as Packer writes them.
pub fn machine_line(target: &str, kind: &str, data: &[&str]) -> String {
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut line = format!("{unix},{target},{kind}");
    for d in data {
        line.push(',');
        line.push_str(
            &d.replace(',', "%!(PACKER_COMMA)")
                .replace('\r', "\\r")
                .replace('\n', "\\n"),
        );
    }
    line
}

/// `line` cut to the terminal's width less one column, so redrawing it never wraps onto a second
/// line (which `\r\x1b[2K` would leave behind); 80 columns when the width cannot be read.
pub fn fit_terminal(line: &str) -> String {
    fit(line, terminal_width(libc::STDOUT_FILENO).unwrap_or(80))
}

/// `line` in at most `columns - 1` display columns (wide characters count two), ending in `…`
/// when cut.
pub fn fit(line: &str, columns: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let room = columns.saturating_sub(1);
    if unicode_width::UnicodeWidthStr::width(line) <= room {
        return line.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The width of the terminal on `fd`, read each time: it may be resized during a build.
pub fn terminal_width(fd: libc::c_int) -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct passed, nothing else.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// A secret and, when it spans lines (a PEM key), each of its lines long enough to be telling:
/// output shown line by line must not give the secret away a line at a time.
fn with_lines(secret: &str) -> Vec<String> {
    if secret.is_empty() {
        return Vec::new();
    }
    let mut out = vec![secret.to_string()];
    if secret.contains('\n') {
        out.extend(
            secret
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| l.trim().len() >= 8)
                .map(str::to_string),
        );
    }
    out
}

impl Ui {
    /// A UI for builds named `targets` (each gets a colour). Fails when the events file or the
    /// log directory cannot be created.
    pub fn new(
        options: UiOptions,
        targets: &[String],
        mut secrets: Vec<String>,
    ) -> std::io::Result<Ui> {
        secrets = secrets.iter().flat_map(|s| with_lines(s)).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        for s in &secrets {
            crate::log::hide(s);
        }
        let events = match &options.events {
            Some(path) => Some(Mutex::new(BufWriter::new(File::create(path)?))),
            None => None,
        };
        if let Some(dir) = &options.log_dir {
            std::fs::create_dir_all(dir)?;
        }
        let colors = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), COLORS[i % COLORS.len()]))
            .collect();
        let progress = Progress::new(options.progress && !options.machine_readable);
        Ok(Ui {
            options,
            colors,
            progress,
            events,
            events_failed: std::sync::atomic::AtomicBool::new(false),
            logs: Mutex::new(HashMap::new()),
            secrets: std::sync::RwLock::new(secrets),
            started: Instant::now(),
        })
    }

    /// Whether output carries colours (Packer then opens with one banner line per build).
    pub fn colored(&self) -> bool {
        self.options.color && !self.options.machine_readable
    }

    /// Whether output is Packer's machine-readable format.
    pub fn machine_readable(&self) -> bool {
        self.options.machine_readable
    }

    /// Never show `secret` from now on (a password or key the template did not mark sensitive).
    pub fn add_secret(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        for part in with_lines(secret) {
            crate::log::hide(&part);
            if !secrets.contains(&part) {
                secrets.push(part);
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every secret replaced by `<sensitive>`, in one pass over the text: the
    /// leftmost secret first, the longest where several start at one place, and never a secret
    /// found inside a `<sensitive>` already put in.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        crate::log::redact_with(&secrets, text)
    }

    /// A line from (or about) the build `target`, written to the screen, the build's log and
    /// the events file (with `node`, the step it came from).
    pub fn line(&self, target: &str, node: Option<&str>, level: Level, text: &str) {
        let text = self.redact(text);
        for line in text.lines() {
            let prefix = match level {
                Level::Message => "    ",
                Level::Say | Level::Error => "==> ",
            };
            let human = if target.is_empty() {
                format!("{prefix}{line}")
            } else {
                format!("{prefix}{target}: {line}")
            };
            if self.options.machine_readable {
                self.machine("", "ui", &[level.name(), &human]);
            } else {
                let styled = match (self.options.color, level) {
                    (false, _) => human.clone(),
                    (true, Level::Error) => format!("\x1b[1;31m{human}\x1b[0m"),
                    (true, level) => {
                        let color = self.colors.get(target).copied().unwrap_or("0");
                        let weight = if level == Level::Say { "1" } else { "0" };
                        format!("\x1b[{weight};{color}m{human}\x1b[0m")
                    }
                };
                self.print(&styled);
            }
            self.log(target, &human);
            self.event(&Event::Log {
                build: target,
                node,
                level: level.name(),
                message: line,
            });
        }
    }

    /// Packer's opening line for a build: `null.a: output will be in this color.`
    pub fn banner(&self, target: &str) {
        if self.options.machine_readable {
            return;
        }
        let text = format!("{target}: output will be in this color.");
        match (self.options.color, self.colors.get(target)) {
            (true, Some(color)) => self.print(&format!("\x1b[1;{color}m{text}\x1b[0m")),
            _ => self.print(&text),
        }
    }

    /// Text that belongs to no build's steps (the closing summary), in one machine-readable
    /// record. With `style`, the build's colour (bold) or red (`Level::Error`).
    pub fn plain(&self, text: &str) {
        self.styled(text, None, Level::Say);
    }

    /// Summary text about failures (`ui,error` when machine-readable).
    pub fn plain_error(&self, text: &str) {
        self.styled(text, None, Level::Error);
    }

    /// A line about build `target` as a whole (`Build 'x' finished`), in its colour.
    pub fn about(&self, target: &str, level: Level, text: &str) {
        self.styled(text, Some(target), level);
        self.event(&Event::Log {
            build: target,
            node: None,
            level: level.name(),
            message: text,
        });
    }

    /// Lines about a build (`target`) carry its colour and `-timestamp-ui`'s time; the closing
    /// summary has neither, as in Packer.
    fn styled(&self, text: &str, target: Option<&str>, level: Level) {
        let text = self.redact(text);
        if self.options.machine_readable {
            self.machine("", "ui", &[level.name(), &text]);
            return;
        }
        let code = match (target, level) {
            _ if !self.options.color => None,
            (Some(_), Level::Error) => Some("1;31".to_string()),
            (Some(target), _) => self.colors.get(target).map(|c| format!("1;{c}")),
            (None, _) => None,
        };
        for line in text.split('\n') {
            let line = match &code {
                Some(code) if !line.is_empty() => format!("\x1b[{code}m{line}\x1b[0m"),
                _ => line.to_string(),
            };
            if target.is_some() {
                self.print(&line);
            } else {
                self.print_raw(&line);
            }
        }
    }

    /// A machine-readable line: `timestamp,target,type,data...`, commas in data escaped as
    /// Packer escapes them. Only written in machine-readable mode.
    pub fn machine(&self, target: &str, kind: &str, data: &[&str]) {
        if !self.options.machine_readable {
            return;
        }
        let data: Vec<String> = data.iter().map(|d| self.redact(d)).collect();
        let data: Vec<&str> = data.iter().map(String::as_str).collect();
        let line = machine_line(target, kind, &data);
        self.print_raw(&line);
    }

    /// One line of the events file: the event with the format version, the time and `at_ms`
    /// (since the run started), every string in it redacted.
    pub fn event(&self, event: &Event<'_>) {
        let Some(events) = &self.events else { return };
        let line = Line {
            format_version: FORMAT_VERSION,
            time: rfc3339_millis(SystemTime::now()),
            at_ms: millis(self.started.elapsed()),
            event,
        };
        let Ok(Json::Object(mut fields)) = serde_json::to_value(&line) else {
            return;
        };
        for value in fields.values_mut() {
            if let Json::String(s) = value {
                *s = self.redact(s);
            }
        }
        let mut w = events.lock().unwrap_or_else(|e| e.into_inner());
        let written = serde_json::to_writer(&mut *w, &fields)
            .map_err(std::io::Error::from)
            .and_then(|()| w.write_all(b"\n"))
            .and_then(|()| w.flush());
        if let Err(e) = written {
            use std::sync::atomic::Ordering;
            if !self.events_failed.swap(true, Ordering::SeqCst) {
                let path = self
                    .options
                    .events
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""));
                self.plain_error(&format!(
                    "error: cannot write the events file {}: {e}; the run will exit 1",
                    path.display()
                ));
            }
        }
    }

    /// Whether writing the events file failed at some point.
    pub fn events_failed(&self) -> bool {
        self.events_failed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether progress lines are drawn (a terminal, not machine-readable output).
    pub fn shows_progress(&self) -> bool {
        self.options.progress && !self.options.machine_readable
    }

    /// Show `lines` below the output, one per long-running step (a terminal only); none clears
    /// them. Each line should fit the terminal ([`fit_terminal`]).
    pub fn progress(&self, lines: &[String]) {
        if !self.shows_progress() {
            return;
        }
        let mut bars = self.progress.bars.lock().unwrap_or_else(|e| e.into_inner());
        while bars.len() > lines.len() {
            if let Some(bar) = bars.pop() {
                bar.finish_and_clear();
                self.progress.multi.remove(&bar);
            }
        }
        for (i, line) in lines.iter().enumerate() {
            let text = self.redact(line);
            match bars.get(i) {
                Some(bar) => bar.set_message(text),
                None => {
                    let style = ProgressStyle::with_template("{msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let bar = ProgressBar::new_spinner().with_style(style);
                    let bar = self.progress.multi.add(bar);
                    bar.set_message(text);
                    bars.push(bar);
                }
            }
        }
    }

    /// Print a line above the progress lines.
    fn print(&self, line: &str) {
        let line = if self.options.timestamps {
            format!("{}: {line}", rfc3339(SystemTime::now()))
        } else {
            line.to_string()
        };
        self.print_raw(&line);
    }

    fn print_raw(&self, line: &str) {
        let bars = self.progress.bars.lock().unwrap_or_else(|e| e.into_inner());
        let write = || {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        if bars.is_empty() {
            write();
        } else {
            self.progress.multi.suspend(write);
        }
    }

    /// Append a line to the build's own log file.
    fn log(&self, target: &str, line: &str) {
        let Some(dir) = &self.options.log_dir else {
            return;
        };
        if target.is_empty() {
            return;
        }
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        if !logs.contains_key(target) {
            match File::create(log_path(dir, target)) {
                Ok(f) => {
                    logs.insert(target.to_string(), f);
                }
                Err(_) => return,
            }
        }
        if let Some(f) = logs.get_mut(target) {
            let _ = writeln!(f, "{}: {line}", rfc3339_millis(SystemTime::now()));
        }
    }
}

/// The log file of build `target` in `dir`: its name with anything unusual made `_`.
fn log_path(dir: &Path, target: &str) -> PathBuf {
    let name: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.log"))
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_status_line_is_cut_to_the_terminal_counting_wide_characters_twice() {
        assert_eq!(fit("short", 80), "short");
        assert_eq!(fit("abcdefghij", 8), "abcdef…");
        // Each of these takes two columns: 3 of them and the ellipsis fill 7 of 8.
        assert_eq!(fit("構築中のイメージ", 8), "構築中…");
        assert_eq!(fit("x", 0), "…");
    }
}
