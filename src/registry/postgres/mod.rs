//! The shared store: a PostgreSQL database, for registries served by several replicas.
//!
//! Every write is one SERIALIZABLE transaction, retried from the start when PostgreSQL reports
//! a serialization failure or a deadlock; so concurrent writers behave as if they ran one after
//! another (one completion per release, one version number per completion). Every read is one
//! REPEATABLE READ READ ONLY transaction: one snapshot.
//!
//! Connection strings may hold a password, so no error or log message ever names the URL.

mod ancestry;
mod hcp;
mod read;
mod schema;
mod snapshot;
#[cfg(test)]
mod testdb;
#[cfg(test)]
mod tests;
mod tokens;
mod write;

use super::error::{Error, Result};
use super::model::*;
use super::store::Store;
use postgres::{IsolationLevel, NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use std::str::FromStr;
use std::time::Duration;

/// Connections each store keeps at most.
const POOL_SIZE: u32 = 8;

/// How long a caller waits for a free connection (or a new one) before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a write transaction runs before a serialization failure is reported.
const ATTEMPTS: u32 = 40;

/// The longest pause between two attempts of a write.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// What a transaction's body fails with: a registry error, or the database's (which may be
/// worth retrying).
pub(super) enum Failure {
    Registry(Error),
    Database(postgres::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Registry(e)
    }
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Failure {
        Failure::Database(e)
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        match f {
            Failure::Registry(e) => e,
            Failure::Database(e) => storage(&e),
        }
    }
}

/// The result of a transaction's body.
pub(super) type Outcome<T> = std::result::Result<T, Failure>;

/// A transaction of this store.
pub(super) type Tx<'a> = Transaction<'a>;

/// The registry's error for a database failure: its message (which never holds the password).
fn storage(e: &postgres::Error) -> Error {
    Error::Storage {
        message: format!("PostgreSQL: {}", describe(e)),
    }
}

/// A database error in words: the server's message when it sent one.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Whether running the transaction again may succeed: a serialization failure, a deadlock, or
/// a unique key another transaction inserted concurrently (PostgreSQL reports some of those as
/// unique violations rather than serialization failures; kiln checks before it inserts, so a
/// lasting one fails again and is reported).
fn retryable(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
}

impl PostgresStore {
    /// Connect to the database a `postgres://` or `postgresql://` URL names, and bring its
    /// schema up to date (safely when several processes open it at once).
    pub fn open(url: &str) -> Result<PostgresStore> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(
                Error::invalid("a PostgreSQL registry is named by a postgres:// URL")
                    .with_hint("postgres://user:password@host:5432/database"),
            );
        }
        let config = postgres::Config::from_str(url).map_err(|_| {
            // The parser's message may quote the URL, password included.
            Error::invalid("the PostgreSQL URL cannot be read")
                .with_hint("postgres://user:password@host:5432/database?sslmode=disable")
        })?;
        let mut first = config.connect(NoTls).map_err(|e| Error::Storage {
            message: format!("cannot connect to PostgreSQL: {}", describe(&e)),
        })?;
        schema::migrate(&mut first)?;
        drop(first);
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build_unchecked(manager);
        Ok(PostgresStore { pool })
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool.get().map_err(|e| Error::Storage {
            message: format!("no PostgreSQL connection: {e}"),
        })
    }

    /// Run `f` in one read snapshot.
    fn read<T>(&self, f: impl FnOnce(&mut Tx<'_>, Timestamp) -> Outcome<T>) -> Result<T> {
        let mut conn = self.connection()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| storage(&e))?;
        let out = f(&mut tx, Timestamp::now())?;
        tx.commit().map_err(|e| storage(&e))?;
        Ok(out)
    }

    /// Run `f` in one SERIALIZABLE transaction, again from the start while the database says
    /// another transaction got in its way; on any error nothing is written.
    fn write<T>(&self, mut f: impl FnMut(&mut Tx<'_>, Timestamp) -> Outcome<T>) -> Result<T> {
        let mut conn = self.connection()?;
        let mut pause = Duration::from_millis(2);
        let mut attempt = 1;
        loop {
            let mut run = || -> Outcome<T> {
                let mut tx = conn
                    .build_transaction()
                    .isolation_level(IsolationLevel::Serializable)
                    .start()?;
                let out = f(&mut tx, Timestamp::now())?;
                tx.commit()?;
                Ok(out)
            };
            match run() {
                Ok(out) => return Ok(out),
                Err(Failure::Database(e)) if retryable(&e) && attempt < ATTEMPTS => {
                    std::thread::sleep(jitter(pause));
                    pause = (pause * 2).min(MAX_PAUSE);
                    attempt += 1;
                }
                Err(Failure::Database(e)) if retryable(&e) => {
                    return Err(Error::Storage {
                        message: format!(
                            "PostgreSQL: {} (gave up after {ATTEMPTS} attempts)",
                            describe(&e)
                        ),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Somewhere between half of `pause` and all of it, so writers that collided do not collide
/// again in step.
fn jitter(pause: Duration) -> Duration {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    let half = pause / 2;
    half + Duration::from_nanos(random % (half.as_nanos() as u64 + 1))
}

impl Store for PostgresStore {
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

    fn image(&self, query: &ImageQuery) -> Result<ImageRecord> {
        self.read(|tx, now| read::image(tx, query, now))
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
