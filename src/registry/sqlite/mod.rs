//! The embedded store: one SQLite database file in WAL mode.
//!
//! Several kiln processes may write at once: every write is one `BEGIN IMMEDIATE` transaction
//! (so a writer waits for the lock up front instead of failing halfway), and `busy_timeout`
//! makes the wait patient. A process killed mid-transaction leaves nothing behind: SQLite rolls
//! the open transaction back when the next connection opens the file.

mod ancestry;
mod cache;
mod hcp;
mod read;
mod schema;
mod snapshot;
mod tokens;
mod walindex;
mod write;

use super::error::{Error, Result};
use super::model::*;
use super::store::Store;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Test-only: a path; every write transaction touches it and sleeps before committing, so a test
/// can kill the process inside an open transaction.
const PAUSE_IN_TX: &str = "KILN_REGISTRY_TEST_PAUSE_IN_TX";

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The database's WAL index, when it has one: the generation without the connection.
    wal_index: Option<walindex::WalIndex>,
    caches: Mutex<cache::Caches>,
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path`, and bring its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Storage {
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::Storage {
            message: format!("cannot open {}: {e}", path.display()),
        })?;
        SqliteStore::setup(conn, true)
    }

    /// Open an existing database for reading only. A read-only connection never checkpoints
    /// the WAL when it closes, which keeps a one-lookup process short. Falls back to [`open`]
    /// when the schema needs migrating.
    ///
    /// [`open`]: SqliteStore::open
    pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::Storage {
            message: format!("cannot open {}: {e}", path.display()),
        })?;
        configure(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != schema::MIGRATIONS.len() as i64 {
            drop(conn);
            return SqliteStore::open(path);
        }
        Ok(SqliteStore::from_connection(conn))
    }

    fn from_connection(conn: Connection) -> SqliteStore {
        let wal: Option<String> = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).ok();
        let wal_index = wal
            .filter(|m| m.eq_ignore_ascii_case("wal"))
            .and_then(|_| walindex::WalIndex::of(&conn));
        SqliteStore {
            conn: Mutex::new(conn),
            wal_index,
            caches: Mutex::new(cache::Caches::default()),
        }
    }

    /// A private in-memory database (tests, and reads when nothing was ever published).
    pub fn open_in_memory() -> Result<SqliteStore> {
        SqliteStore::setup(Connection::open_in_memory()?, false)
    }

    fn setup(mut conn: Connection, wal: bool) -> Result<SqliteStore> {
        configure(&conn)?;
        if wal {
            enable_wal(&conn)?;
        }
        // NORMAL in WAL mode: a commit survives a crashed process (not a power cut before the
        // next checkpoint), and no commit waits for an fsync.
        // A checkpoint fsyncs; at the default 1,000 pages one came every ~15 publishes and
        // took a third of their time. 10,000 pages (40 MB of WAL) amortizes it tenfold.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 10000;",
        )?;
        migrate(&mut conn)?;
        Ok(SqliteStore::from_connection(conn))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic in another thread cannot leave the connection mid-transaction: the
        // transaction guard rolls back as it unwinds.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The caches; held only to look up or store one entry, never across a query.
    fn caches(&self) -> MutexGuard<'_, cache::Caches> {
        self.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The database's generation, read without the connection: `None` when only the
    /// connection can tell (no WAL index), or a writer is mid-update.
    fn generation_at_hand(&self) -> Option<walindex::Generation> {
        self.wal_index.as_ref()?.generation()
    }

    /// The database's generation, through `conn` if need be; `None`: do not cache.
    fn generation(&self, conn: &Connection) -> Result<Option<walindex::Generation>> {
        match &self.wal_index {
            Some(index) => Ok(index.generation()),
            None => Ok(Some(walindex::from_data_version(data_version(conn)?))),
        }
    }

    /// Run `f` in one read snapshot.
    fn read<T>(&self, f: impl FnOnce(&Transaction<'_>, Timestamp) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx, Timestamp::now())?;
        tx.commit()?;
        Ok(out)
    }

    /// Run `f` in one write transaction; on any error nothing is written.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>, Timestamp) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        // This connection's own commits do not change its `data_version`.
        self.caches().clear();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx, Timestamp::now())?;
        if let Some(path) = std::env::var_os(PAUSE_IN_TX) {
            let _ = std::fs::write(path, b"in transaction\n");
            std::thread::sleep(Duration::from_secs(60));
        }
        tx.commit()?;
        Ok(out)
    }
}

/// Settings of every connection.
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(96);
    // Without the query planner stability guarantee, SQLite may plan a statement around its
    // bound values and prepare it again whenever they change: a fifth of a publish's time.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Put the database in WAL mode (a property of the file, so once is enough).
///
/// Converting needs the file to itself, and SQLite answers a conversion with BUSY at once
/// rather than running the busy handler: when many processes open a new file together, all but
/// one fail. So each first reads (which does wait, and shows a conversion another process has
/// made), and retries the conversion until the busy timeout has passed.
fn enable_wal(conn: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(Error::Storage {
                    message: format!("the database cannot use WAL mode (it is in {mode} mode)"),
                })
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let target = schema::MIGRATIONS.len() as i64;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == target {
        return Ok(());
    }
    // Several processes may open a new file at once: the version is read again under the lock.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > target {
        return Err(Error::Storage {
            message: format!(
                "the registry database has schema version {version}, newer than this kiln knows ({target}); upgrade kiln"
            ),
        });
    }
    for sql in &schema::MIGRATIONS[version as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {target}"))?;
    tx.commit()?;
    Ok(())
}

impl Store for SqliteStore {
    fn buckets(&self) -> Result<Vec<Bucket>> {
        self.read(|tx, _| read::buckets(tx))
    }

    fn bucket(&self, bucket: &str) -> Result<Bucket> {
        self.read(|tx, _| read::bucket(tx, bucket))
    }

    fn delete_bucket(&self, bucket: &str) -> Result<()> {
        self.write(|tx, _| write::delete_bucket(tx, bucket))
    }

    fn products(&self, bucket: &str) -> Result<Vec<Product>> {
        self.read(|tx, now| read::products(tx, bucket, now))
    }

    fn product(&self, bucket: &str, product: &str) -> Result<Product> {
        self.read(|tx, now| read::product(tx, bucket, product, now))
    }

    fn delete_product(&self, bucket: &str, product: &str) -> Result<()> {
        self.write(|tx, _| write::delete_product(tx, bucket, product))
    }

    fn begin_release(&self, begin: &BeginRelease) -> Result<ReleaseStart> {
        self.write(|tx, now| write::begin_release(tx, begin, now))
    }

    fn start_build(&self, start: &BuildStart) -> Result<Build> {
        self.write(|tx, now| write::start_build(tx, start, now))
    }

    fn heartbeat(&self, build_id: &str) -> Result<()> {
        self.write(|tx, now| write::heartbeat(tx, build_id, now))
    }

    fn finish_build(&self, build_id: &str, images: &[NewImage]) -> Result<Completion> {
        self.write(|tx, now| write::finish_build(tx, build_id, images, now))
    }

    fn fail_build(&self, build_id: &str, end: BuildEnd, message: &str) -> Result<()> {
        self.write(|tx, now| write::fail_build(tx, build_id, end, message, now))
    }

    fn expire_stale_builds(&self, max_age: Duration) -> Result<Vec<String>> {
        self.write(|tx, now| write::expire_stale_builds(tx, max_age, now))
    }

    fn add_dependency(&self, release_id: &str, parent: &ParentRef) -> Result<Dependency> {
        self.write(|tx, now| ancestry::add_dependency(tx, release_id, parent, now))
    }

    fn publish(&self, publish: &Publish) -> Result<Completion> {
        super::names::check_publish(publish)?;
        self.write(|tx, now| write::publish(tx, publish, now))
    }

    fn releases(&self, bucket: &str, product: &str) -> Result<Vec<Release>> {
        self.read(|tx, now| read::releases(tx, bucket, product, now))
    }

    fn release(&self, bucket: &str, product: &str, release: &str) -> Result<Release> {
        self.read(|tx, now| {
            let product_id = read::product_id(tx, bucket, product)?;
            let id = read::release_id(tx, &product_id, bucket, product, release)?;
            read::release(tx, &id, now)
        })
    }

    fn image_at_hand(&self, query: &ImageQuery) -> Option<ImageRecord> {
        let version = self.generation_at_hand()?;
        self.caches()
            .lookups
            .get(query, version, Timestamp::now())
            .cloned()
    }

    fn image(&self, query: &ImageQuery) -> Result<ImageRecord> {
        let mut conn = self.lock();
        let now = Timestamp::now();
        let version = self.generation(&conn)?;
        if let Some(v) = version {
            if let Some(hit) = self.caches().lookups.get(query, v, now) {
                return Ok(hit.clone());
            }
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        if let Some(v) = version.filter(|v| !self.caches().lookups.is_open(*v)) {
            let next: Option<i64> = tx
                .prepare_cached("SELECT min(revoke_at) FROM releases WHERE revoke_at > ?1")?
                .query_row([now.0], |r| r.get(0))?;
            self.caches().lookups.open(v, next.map(Timestamp));
        }
        let record = read::image(&tx, query, now)?;
        tx.commit()?;
        if let Some(v) = version {
            self.caches().lookups.put(v, query, &record);
        }
        Ok(record)
    }

    fn search(&self, external_id: &str) -> Result<Vec<ImageRecord>> {
        self.read(|tx, now| read::search(tx, external_id, now))
    }

    fn channels(&self, bucket: &str, product: &str) -> Result<Vec<Channel>> {
        self.read(|tx, now| read::channels(tx, bucket, product, now))
    }

    fn channel_history(
        &self,
        bucket: &str,
        product: &str,
        channel: &str,
    ) -> Result<Vec<ChannelAssignment>> {
        self.read(|tx, now| read::channel_history(tx, bucket, product, channel, now))
    }

    fn assign_channel(&self, assign: &AssignChannel) -> Result<ChannelAssignment> {
        self.write(|tx, now| write::assign_channel(tx, assign, now))
    }

    fn revoke(&self, revoke: &Revoke) -> Result<Vec<String>> {
        self.write(|tx, now| ancestry::revoke(tx, revoke, now))
    }

    fn restore(&self, bucket: &str, product: &str, release: &str) -> Result<Vec<String>> {
        self.write(|tx, _| ancestry::restore(tx, bucket, product, release))
    }

    fn bucket_of(&self, id: &str) -> Result<String> {
        self.read(|tx, _| read::bucket_of(tx, id))
    }
}

/// The connection's `data_version`: it changes when another connection commits.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(release: &str, id: &str) -> Publish {
        Publish {
            bucket: "team".into(),
            product: "web".into(),
            release: release.into(),
            builds: vec![PublishBuild {
                component: "a".into(),
                provider: "aws".into(),
                images: vec![NewImage {
                    region: "us-east-1".into(),
                    external_id: id.into(),
                }],
                ..PublishBuild::default()
            }],
            ..Publish::default()
        }
    }

    /// team/web's image in us-east-1 on `latest`.
    fn latest_query() -> ImageQuery {
        ImageQuery {
            bucket: "team".into(),
            product: "web".into(),
            at: ReleaseRef::Channel(LATEST.into()),
            provider: "aws".into(),
            region: "us-east-1".into(),
            component: None,
        }
    }

    fn latest(store: &SqliteStore) -> String {
        store.image(&latest_query()).expect("lookup").external_id
    }

    fn at_hand(store: &SqliteStore) -> Option<String> {
        store.image_at_hand(&latest_query()).map(|i| i.external_id)
    }

    #[test]
    fn a_cached_token_is_refused_once_another_connection_revokes_it() {
        use crate::registry::auth::{NewToken, Scope, Tokens};
        let dir = std::env::temp_dir().join(format!(
            "kiln-registry-tokens-{}-{}",
            std::process::id(),
            ulid::Ulid::generate()
        ));
        let path = dir.join("registry.db");
        let server = SqliteStore::open(&path).expect("opens");
        let cli = SqliteStore::open(&path).expect("opens again");
        let created = cli
            .create_token(&NewToken {
                scope: Some(Scope::Read),
                ..NewToken::default()
            })
            .expect("a token");
        for _ in 0..3 {
            assert!(server
                .authenticate(&created.secret)
                .expect("reads")
                .is_some());
        }
        assert!(server.token_at_hand(&created.secret).is_some(), "cached");
        cli.revoke_token(&created.token.id).expect("revokes");
        assert_eq!(server.token_at_hand(&created.secret), None, "stale");
        assert_eq!(server.authenticate(&created.secret).expect("reads"), None);
        assert_eq!(server.token_at_hand(&created.secret), None, "revoked");
        // A token created elsewhere is accepted at once, and one revoked here is refused at once.
        let second = cli
            .create_token(&NewToken {
                scope: Some(Scope::Admin),
                ..NewToken::default()
            })
            .expect("a token");
        assert!(server
            .authenticate(&second.secret)
            .expect("reads")
            .is_some());
        server.revoke_token(&second.token.id).expect("revokes");
        assert_eq!(server.authenticate(&second.secret).expect("reads"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cached_lookups_see_other_connections_writes_and_scheduled_revocations() {
        let dir = std::env::temp_dir().join(format!(
            "kiln-registry-cache-{}-{}",
            std::process::id(),
            ulid::Ulid::generate()
        ));
        let path = dir.join("registry.db");
        let reader = SqliteStore::open(&path).expect("opens");
        let writer = SqliteStore::open(&path).expect("opens again");
        writer.publish(&publish("r1", "ami-1")).expect("publish r1");
        assert_eq!(at_hand(&reader), None, "nothing cached yet");
        assert_eq!(latest(&reader), "ami-1");
        assert_eq!(
            at_hand(&reader).as_deref(),
            Some("ami-1"),
            "a cached answer"
        );
        let before = reader.generation_at_hand().expect("a WAL index");
        writer.publish(&publish("r2", "ami-2")).expect("publish r2");
        assert_ne!(
            reader.generation_at_hand(),
            Some(before),
            "a commit is seen"
        );
        assert_eq!(at_hand(&reader), None, "the cached answer is stale");
        assert_eq!(
            latest(&reader),
            "ami-2",
            "another connection's commit is seen"
        );
        let now = reader.generation_at_hand();
        let _ = writer.releases("team", "web").expect("a read");
        assert_eq!(reader.generation_at_hand(), now, "a read changes nothing");
        writer
            .revoke(&Revoke {
                bucket: "team".into(),
                product: "web".into(),
                release: "r2".into(),
                at: Some(Timestamp::now().plus(Duration::from_millis(300))),
                message: String::new(),
                author: "tester".into(),
                skip_descendants: false,
            })
            .expect("schedule");
        assert_eq!(latest(&reader), "ami-2", "not revoked yet");
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(
            latest(&reader),
            "ami-1",
            "the revocation took effect with no write"
        );
        // The reader's own write clears its cache too.
        reader.restore("team", "web", "r2").expect("restore");
        assert_eq!(latest(&reader), "ami-2");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
