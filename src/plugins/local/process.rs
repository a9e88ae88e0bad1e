//! Running local commands: each in its own process group, its output streamed line by line,
//! stopped as a group when its step is cancelled (SIGTERM, then SIGKILL after a grace period).
//! Every live group is registered so a hard exit can kill what is still running.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// Process groups of commands still running.
static LIVE: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// Temporary files still in use.
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Held shared while a command is spawned and exclusively while an executable file is being
/// written: a child forked while another thread holds a script open for writing would keep
/// that descriptor until it execs, and running the script then fails with "Text file busy".
static SPAWN: RwLock<()> = RwLock::new(());

/// Held while a process is spawned; see [`SPAWN`].
pub(super) fn spawning() -> std::sync::RwLockReadGuard<'static, ()> {
    SPAWN.read().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file (an inline script, uploaded content), removed when dropped, also when its
/// step is cancelled, and by [`abandon_all`] when the process exits at once.
pub struct TempFile(PathBuf);

impl TempFile {
    /// Write `contents` to a new file `<prefix><random><extension>` in the temporary folder;
    /// `executable` makes it mode 0700. No command is spawned while it is being written (see
    /// [`SPAWN`]).
    pub fn create(
        prefix: &str,
        extension: &str,
        contents: &[u8],
        executable: bool,
    ) -> std::io::Result<TempFile> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let name = format!("{prefix}{}{extension}", uuid::Uuid::new_v4().simple());
        let path = std::env::temp_dir().join(name);
        lock(&TEMP_FILES).push(path.clone());
        super::watchdog::file_created(&path);
        let temp = TempFile(path);
        let _exclusive = SPAWN.write().unwrap_or_else(|e| e.into_inner());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o700 } else { 0o600 })
            .open(&temp.0)?;
        file.write_all(contents)?;
        Ok(temp)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        lock(&TEMP_FILES).retain(|p| p != &self.0);
        super::watchdog::file_removed(&self.0);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a cancelled command has between SIGTERM and SIGKILL.
pub(super) const GRACE: Duration = Duration::from_secs(3);

/// How a command ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// Its step was cancelled and it was stopped.
    Cancelled,
}

/// One command to run.
pub struct Run<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    /// Extra environment variables.
    pub env: &'a [(String, String)],
}

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Run `run`, calling `line` for every line it writes to stdout or stderr, until it exits or
/// `cancel` fires.
pub async fn run(
    run: Run<'_>,
    cancel: &CancellationToken,
    mut line: impl FnMut(&str, Stream),
) -> std::io::Result<Exit> {
    let mut command = Command::new(run.program);
    command
        .args(run.args)
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = {
        let _shared = spawning();
        command.spawn()?
    };
    let pgid = child.id().map(|id| id as i32);
    // Stops the group however this function ends, also when its future is dropped.
    let _group = pgid.map(Group::new);
    // Bounded: a command that writes faster than its lines are shown waits for them.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Stream)>(1024);
    if let Some(out) = child.stdout.take() {
        forward(out, Stream::Stdout, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        forward(err, Stream::Stderr, tx.clone());
    }
    drop(tx);
    let mut output_open = true;
    let status = loop {
        tokio::select! {
            status = child.wait() => break Some(status?),
            text = rx.recv(), if output_open => match text {
                Some((text, stream)) => line(&text, stream),
                None => output_open = false,
            },
            _ = cancel.cancelled() => break None,
        }
    };
    let exit = match status {
        Some(status) => {
            // The command has exited: every line it wrote is shown, however many. Only a
            // background process it left holding the pipes open, silent for the grace period,
            // ends the reading early, and that is said.
            loop {
                match tokio::time::timeout(GRACE, rx.recv()).await {
                    Ok(Some((text, stream))) => line(&text, stream),
                    Ok(None) => break,
                    Err(_) => {
                        line(
                            &format!(
                                "kiln: stopped reading the command's output {} after it exited: a process it started still holds its output open",
                                crate::plugins::sdk::duration::human(GRACE)
                            ),
                            Stream::Stderr,
                        );
                        break;
                    }
                }
            }
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Code(-1),
            }
        }
        None => {
            if let Some(g) = pgid {
                // TERM to the whole group, which then has the grace period to end: the command's
                // own TERM traps run to their end even when the `sh -c` wrapper is gone at once.
                signal_group(g, libc::SIGTERM);
                let deadline = tokio::time::Instant::now() + GRACE;
                loop {
                    let _ = child.try_wait();
                    if !group_alive(g) {
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        signal_group(g, libc::SIGKILL);
                        let _ = child.wait().await;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Exit::Cancelled
        }
    };
    Ok(exit)
}

/// A running process group, registered while it lives; whatever the command left running in
/// its group goes with it when dropped.
struct Group(i32);

impl Group {
    fn new(pgid: i32) -> Group {
        live(|set| set.insert(pgid));
        super::watchdog::group_started(pgid);
        Group(pgid)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        signal_group(self.0, libc::SIGKILL);
        live(|set| set.remove(&self.0));
        super::watchdog::group_ended(self.0);
    }
}

/// Send each line `reader` gives as text: bytes that are not UTF-8 are shown as U+FFFD, never
/// a reason to stop reading (a closed pipe would kill the command with SIGPIPE).
fn forward(
    reader: impl AsyncRead + Unpin + Send + 'static,
    stream: Stream,
    tx: tokio::sync::mpsc::Sender<(String, Stream)>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match reader.read_until(b'\n', &mut bytes).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if tx.send((text, stream)).await.is_err() {
                break;
            }
        }
    });
}

fn live<T>(f: impl FnOnce(&mut HashSet<i32>) -> T) -> T {
    let mut guard = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(HashSet::new))
}

/// Whether any process is left in group `pgid`, zombies aside: a process whose parent died
/// waits for PID 1 to reap it, which in a container may never happen.
pub(super) fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists; it touches no memory.
    if unsafe { libc::kill(-pgid, 0) } != 0 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        pgrp == Some(pgid) && state != Some("Z")
    })
}

pub(super) fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Before a hard exit: kill every command still running and remove every temporary file.
pub fn abandon_all() {
    live(|set| {
        for g in set.drain() {
            signal_group(g, libc::SIGKILL);
        }
    });
    for path in lock(&TEMP_FILES).drain(..) {
        let _ = std::fs::remove_file(path);
    }
}
