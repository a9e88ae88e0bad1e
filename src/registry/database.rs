//! Where a registry's records are kept: an SQLite file on this host, or a PostgreSQL database
//! that several servers share.

use super::auth::Tokens;
use super::error::Result;
use super::{HcpStore, PostgresStore, SqliteStore, Store};
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable naming the registry database (a file or a `postgres://` URL) for
/// the commands that open it directly, and for `kiln registry serve` without `--db`.
pub const DB_VAR: &str = "KILN_REGISTRY_DB";

/// Everything a server asks of its store.
pub trait ServerStore: Store + Tokens + HcpStore {}

impl<S: Store + Tokens + HcpStore> ServerStore for S {}

/// A registry database.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded store's file.
    File(PathBuf),
    /// A `postgres://` or `postgresql://` URL (which may hold a password: never print it).
    Postgres(String),
}

impl Database {
    /// A `--db` argument or `KILN_REGISTRY_DB`: a PostgreSQL URL, else a file path.
    pub fn parse(text: &str) -> Database {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::Postgres(text.to_string())
        } else {
            Database::File(PathBuf::from(text))
        }
    }

    /// `KILN_REGISTRY_DB` when set, else the embedded registry's file.
    pub fn from_env() -> Result<Database> {
        match std::env::var(DB_VAR).ok().filter(|v| !v.trim().is_empty()) {
            Some(text) => Ok(Database::parse(&text)),
            None => Ok(Database::File(super::default_path()?)),
        }
    }

    /// Open it for reading and writing (creating the file or the schema as needed).
    pub fn open(&self) -> Result<Box<dyn ServerStore>> {
        Ok(match self {
            Database::File(path) => Box::new(SqliteStore::open(path)?),
            Database::Postgres(url) => Box::new(PostgresStore::open(url)?),
        })
    }

    /// Open it for reading; a file that does not exist yet reads as an empty registry and is
    /// not created.
    pub fn open_for_reading(&self) -> Result<Box<dyn Store>> {
        Ok(match self {
            Database::File(path) if path.exists() => Box::new(SqliteStore::open_read_only(path)?),
            Database::File(_) => Box::new(SqliteStore::open_in_memory()?),
            Database::Postgres(url) => Box::new(PostgresStore::open(url)?),
        })
    }

    /// The folder kept beside it (the file's; for PostgreSQL, the embedded registry's).
    pub fn folder(&self) -> Result<PathBuf> {
        let file = match self {
            Database::File(path) => path.clone(),
            Database::Postgres(_) => super::default_path()?,
        };
        Ok(file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf())
    }
}

/// The file's path, or the URL without its user, password and options.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::File(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                let rest = rest.split(['?', '#']).next().unwrap_or_default();
                let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                write!(f, "{scheme}://{host}/{path}")
            }
        }
    }
}

/// Like [`Display`](fmt::Display): never the password.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_shown_without_credentials() {
        let db =
            Database::parse("postgresql://kiln:hunter2@db.example:5432/registry?sslmode=disable");
        assert!(matches!(db, Database::Postgres(_)));
        assert_eq!(db.to_string(), "postgresql://db.example:5432/registry");
        assert!(!format!("{db:?}").contains("hunter2"));
        assert_eq!(
            Database::parse("postgres://p@ss:w@rd@h/d").to_string(),
            "postgres://h/d"
        );
        assert_eq!(
            Database::parse("/var/lib/kiln/registry.db"),
            Database::File(PathBuf::from("/var/lib/kiln/registry.db"))
        );
    }
}
