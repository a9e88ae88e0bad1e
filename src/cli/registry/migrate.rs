//! `kiln registry migrate --from SRC --to DST`: copy a registry whole (history, tokens, audit
//! log, the organization) into a new store, then read the copy back and compare it record by
//! record.

use crate::registry::snapshot::Copyable;
use crate::registry::{Error, PostgresStore, Result, SqliteStore};
use clap::Args;
use std::path::{Path, PathBuf};

/// Options of `kiln registry migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The registry to copy: `sqlite:PATH` (or a path), or a `postgres://` URL.
    #[arg(long)]
    from: String,
    /// Where to copy it, a database that holds nothing yet: `sqlite:PATH` (or a path), or a
    /// `postgres://` URL.
    #[arg(long)]
    to: String,
}

/// A store named on the command line.
enum Place {
    Sqlite(PathBuf),
    /// A URL, which may hold a password: never printed.
    Postgres(String),
}

impl Place {
    /// How to name it in what kiln prints.
    fn shown(&self) -> String {
        match self {
            Place::Sqlite(p) => p.display().to_string(),
            Place::Postgres(_) => "the PostgreSQL database".into(),
        }
    }
}

fn place(text: &str) -> Result<Place> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(Place::Postgres(text.to_string()));
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
    let from = place(&a.from)?;
    let to = place(&a.to)?;
    let source: Box<dyn Copyable> = match &from {
        Place::Sqlite(path) => {
            if !path.exists() {
                return Err(Error::not_found(format!(
                    "registry database {}",
                    path.display()
                )));
            }
            Box::new(SqliteStore::open_read_only(path)?)
        }
        Place::Postgres(url) => Box::new(PostgresStore::open(url)?),
    };
    let same = match (&from, &to) {
        (Place::Sqlite(a), Place::Sqlite(b)) => a.canonicalize().ok() == b.canonicalize().ok(),
        (Place::Postgres(a), Place::Postgres(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::invalid("--from and --to name the same database"));
    }
    let snapshot = source.snapshot()?;
    let made = matches!(&to, Place::Sqlite(p) if !p.exists());
    let copied = (|| {
        let target: Box<dyn Copyable> = match &to {
            Place::Sqlite(path) => Box::new(SqliteStore::open(path)?),
            Place::Postgres(url) => Box::new(PostgresStore::open(url)?),
        };
        target.load(&snapshot)?;
        if target.snapshot()? != snapshot {
            return Err(Error::Storage {
                message: "the copy read back differs from the registry copied".into(),
            });
        }
        Ok(())
    })();
    if let Err(e) = copied {
        if let (true, Place::Sqlite(path)) = (made, &to) {
            remove_database(path);
        }
        return Err(e);
    }
    let total: usize = snapshot.counts().iter().map(|(_, n)| n).sum();
    for (table, n) in snapshot.counts() {
        println!("{table:<20} {n:>8}");
    }
    eprintln!(
        "copied {} to {}: {total} records, read back and identical",
        from.shown(),
        to.shown()
    );
    Ok(())
}
