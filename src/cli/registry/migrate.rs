//! `kiln registry migrate --from SRC --to DST`: copy a registry whole (history, tokens, audit
//! log, the organization) into a new store, then read the copy back and compare it record by
//! record.

use crate::registry::snapshot::Copyable;
use crate::registry::{Error, Result, SqliteStore};
use clap::Args;
use std::path::{Path, PathBuf};

/// Options of `kiln registry migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The registry to copy: `sqlite:PATH` (or a path).
    #[arg(long)]
    from: String,
    /// Where to copy it: `sqlite:PATH` (or a path) of a database that holds nothing yet.
    #[arg(long)]
    to: String,
}

/// A store named on the command line.
enum Place {
    Sqlite(PathBuf),
}

fn place(text: &str) -> Result<Place> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Err(Error::invalid(
            "this kiln cannot write to PostgreSQL yet; only SQLite registries can be copied",
        )
        .with_hint("copy into a new SQLite file (`--to sqlite:PATH`) for now"));
    }
    let path = text.strip_prefix("sqlite:").unwrap_or(text);
    if path.is_empty() {
        return Err(Error::invalid(format!("`{text}` names no database")));
    }
    Ok(Place::Sqlite(PathBuf::from(path)))
}

/// Remove a database file kiln made, with its WAL and shared-memory files.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Copy, verify, and say what was copied.
pub fn run(a: MigrateArgs) -> Result<()> {
    let Place::Sqlite(from) = place(&a.from)?;
    let Place::Sqlite(to) = place(&a.to)?;
    if !from.exists() {
        return Err(Error::not_found(format!(
            "registry database {}",
            from.display()
        )));
    }
    if from.canonicalize().ok() == to.canonicalize().ok() {
        return Err(Error::invalid("--from and --to name the same database"));
    }
    let source = SqliteStore::open_read_only(&from)?;
    let snapshot = source.snapshot()?;
    let made = !to.exists();
    let copied = (|| {
        let target = SqliteStore::open(&to)?;
        target.restore(&snapshot)?;
        let back = target.snapshot()?;
        if back != snapshot {
            return Err(Error::Storage {
                message: "the copy read back differs from the registry copied".into(),
            });
        }
        Ok(())
    })();
    if let Err(e) = copied {
        if made {
            remove_database(&to);
        }
        return Err(e);
    }
    let total: usize = snapshot.counts().iter().map(|(_, n)| n).sum();
    for (table, n) in snapshot.counts() {
        println!("{table:<20} {n:>8}");
    }
    eprintln!(
        "copied {} to {}: {total} records, read back and identical",
        from.display(),
        to.display()
    );
    Ok(())
}
