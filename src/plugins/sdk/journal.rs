//! The run journal: every cloud resource a run creates, written down the moment its ID is
//! known, so `kiln cleanup` can delete what a killed run (SIGKILL, a CI timeout) left behind.
//!
//! One file per run, `<kiln data dir>/runs/<run>.jsonl`: append-only, one JSON record a line,
//! each line written with one `write` and fsynced before the step goes on. A run killed in the
//! middle of a write leaves at most a torn last line, which reading skips. The journal holds
//! where a resource lives (region, endpoint, profile name), never a credential.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What a record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The resource exists; it is the run's to delete unless a later record says otherwise.
    Created,
    /// The resource is a result of the run (a finished AMI): kept, never cleaned up.
    Finished,
    /// The resource was deleted.
    Deleted,
    /// `kiln cleanup` went through the run: nothing of it is left to delete.
    Done,
}

/// One line of a journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When it was written (RFC 3339, UTC).
    pub time: String,
    pub op: Op,
    /// The plugin family that made the resource (`amazon`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub plugin: String,
    /// The kind of resource (`instance`, `key_pair`, `security_group`, `image`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Its ID (a key pair's name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// The API endpoint it was made through, when not the cloud's own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    /// The credentials profile's name, when the template named one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// The build that made it (`amazon-ebs.my-ami`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build: String,
}

impl Record {
    /// A record of `op` on a resource, stamped now.
    pub fn resource(op: Op, plugin: &str, kind: &str, id: &str, region: &str) -> Record {
        Record {
            time: super::duration::rfc3339(SystemTime::now()),
            op,
            plugin: plugin.to_string(),
            kind: kind.to_string(),
            id: id.to_string(),
            region: region.to_string(),
            endpoint: String::new(),
            profile: String::new(),
            build: String::new(),
        }
    }

    /// The record that closes a journal.
    pub fn done() -> Record {
        Record::resource(Op::Done, "", "", "", "")
    }

    /// The resource this record is about: (plugin, kind, region, id).
    pub fn key(&self) -> (String, String, String, String) {
        (
            self.plugin.clone(),
            self.kind.clone(),
            self.region.clone(),
            self.id.clone(),
        )
    }
}

/// A journal that could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "cannot tell where to keep run journals: HOME is not set (set KILN_HOME to a directory)"
    )]
    NoHome,
    #[error("cannot write the run journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the run journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0:?} is not a run ID (the value of a `kiln:run` tag, the name of a journal in the runs folder)"
    )]
    BadRun(String),
}

/// The folder of run journals: `$KILN_HOME/runs`, else `$XDG_DATA_HOME/kiln/runs`, else
/// `$HOME/.local/share/kiln/runs` (beside the embedded registry).
pub fn dir() -> Result<PathBuf, JournalError> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data = if let Some(home) = var("KILN_HOME") {
        home
    } else if let Some(data) = var("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        data.join("kiln")
    } else if let Some(home) = var("HOME") {
        home.join(".local/share/kiln")
    } else {
        return Err(JournalError::NoHome);
    };
    Ok(data.join("runs"))
}

/// A run ID as a file name: letters, digits and `-` only, so it cannot name another path.
fn check_run(run: &str) -> Result<(), JournalError> {
    let ok = !run.is_empty()
        && run.len() <= 64
        && run.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(JournalError::BadRun(run.to_string()))
    }
}

/// One run's journal.
#[derive(Clone, Debug)]
pub struct Journal {
    pub run: String,
    pub path: PathBuf,
}

impl Journal {
    /// The journal of `run` in the default folder.
    pub fn of(run: &str) -> Result<Journal, JournalError> {
        check_run(run)?;
        Ok(Journal {
            run: run.to_string(),
            path: dir()?.join(format!("{run}.jsonl")),
        })
    }

    /// Every journal in the default folder, oldest file name first (run IDs do not sort by
    /// time, so by modification time, then name).
    pub fn all() -> Result<Vec<Journal>, JournalError> {
        let dir = dir()?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(JournalError::Read { path: dir, source }),
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(run) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jsonl"))
            else {
                continue;
            };
            if check_run(run).is_err() {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((
                modified,
                Journal {
                    run: run.to_string(),
                    path,
                },
            ));
        }
        found.sort_by(|a, b| (a.0, &a.1.run).cmp(&(b.0, &b.1.run)));
        Ok(found.into_iter().map(|(_, j)| j).collect())
    }

    /// Whether the journal is on disk.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Append one record and fsync it (and, for a new journal, its folder).
    pub fn append(&self, record: &Record) -> Result<(), JournalError> {
        let error = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        let folder = self.path.parent().unwrap_or(Path::new("."));
        let new = !self.path.exists();
        if new {
            std::fs::create_dir_all(folder).map_err(error)?;
        }
        let mut line = serde_json::to_string(record).expect("a record serializes");
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(error)?;
        // A run killed mid-write left a torn line: end it, so this record stands on its own.
        let len = file.metadata().map_err(error)?.len();
        if len > 0 {
            use std::os::unix::fs::FileExt;
            let mut last = [0u8; 1];
            file.read_at(&mut last, len - 1).map_err(error)?;
            if last[0] != b'\n' {
                line.insert(0, '\n');
            }
        }
        // One write: lines of parallel sessions never interleave.
        file.write_all(line.as_bytes()).map_err(error)?;
        file.sync_data().map_err(error)?;
        if new {
            File::open(folder)
                .and_then(|d| d.sync_all())
                .map_err(error)?;
        }
        Ok(())
    }

    /// Remove the journal when nothing in it is left to delete, so a run that cleaned up
    /// after itself leaves no file behind; kept otherwise, for `kiln cleanup`.
    pub fn retire(&self) -> Result<(), JournalError> {
        if !self.exists() || !outstanding(&self.read()?).is_empty() {
            return Ok(());
        }
        std::fs::remove_file(&self.path).map_err(|source| JournalError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Every whole record, in order. A line that does not parse (torn by a kill while it was
    /// written) is skipped.
    pub fn read(&self) -> Result<Vec<Record>, JournalError> {
        let text = std::fs::read_to_string(&self.path).map_err(|source| JournalError::Read {
            path: self.path.clone(),
            source,
        })?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// What a journal's records leave to delete: each resource whose last record is `created`,
/// in the order they were made. Nothing once the journal is `done`.
pub fn outstanding(records: &[Record]) -> Vec<Record> {
    if records.iter().any(|r| r.op == Op::Done) {
        return Vec::new();
    }
    let mut last: std::collections::BTreeMap<_, Op> = std::collections::BTreeMap::new();
    for r in records.iter().filter(|r| r.op != Op::Done) {
        last.insert(r.key(), r.op);
    }
    let mut seen = std::collections::BTreeSet::new();
    records
        .iter()
        .filter(|r| r.op == Op::Created && last.get(&r.key()) == Some(&Op::Created))
        .filter(|r| seen.insert(r.key()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(op: Op, kind: &str, id: &str) -> Record {
        Record::resource(op, "amazon", kind, id, "us-east-1")
    }

    #[test]
    fn a_resource_is_outstanding_until_deleted_or_finished() {
        let records = [
            rec(Op::Created, "instance", "i-1"),
            rec(Op::Created, "image", "ami-1"),
            rec(Op::Created, "key_pair", "k"),
            rec(Op::Deleted, "instance", "i-1"),
            rec(Op::Finished, "image", "ami-1"),
        ];
        let left: Vec<String> = outstanding(&records).into_iter().map(|r| r.id).collect();
        assert_eq!(left, ["k"]);
    }

    #[test]
    fn a_done_journal_leaves_nothing() {
        let records = [rec(Op::Created, "instance", "i-1"), Record::done()];
        assert_eq!(outstanding(&records), Vec::new());
    }

    #[test]
    fn run_ids_cannot_name_other_paths() {
        assert!(check_run("0b6c1f0e-8c1d-4f7e-9a53-1c2d3e4f5a6b").is_ok());
        assert!(check_run("../x").is_err());
        assert!(check_run("").is_err());
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal {
            run: "r".into(),
            path: dir.path().join("r.jsonl"),
        };
        journal
            .append(&rec(Op::Created, "instance", "i-1"))
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(&journal.path).unwrap();
        f.write_all(b"{\"time\":\"2026").unwrap();
        journal
            .append(&rec(Op::Deleted, "instance", "i-1"))
            .unwrap();
        let ops: Vec<Op> = journal.read().unwrap().into_iter().map(|r| r.op).collect();
        assert_eq!(ops, [Op::Created, Op::Deleted]);
    }
}
