//! The PostgreSQL schema, as numbered migrations: the SQLite store's tables in PostgreSQL's
//! dialect. `kiln_schema.version` holds how many have run.
//!
//! Text columns are `COLLATE "C"`, so names sort byte by byte as SQLite sorts them, whatever
//! the database's locale. Times are milliseconds since the epoch (`BIGINT`), as in SQLite.

use super::super::error::{Error, Result};
use super::describe;

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only: never edit one that
/// has shipped.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE buckets (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);
CREATE TABLE products (
    id          TEXT COLLATE "C" PRIMARY KEY,
    bucket_id   TEXT COLLATE "C" NOT NULL REFERENCES buckets(id),
    name        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    -- how many of its releases have completed: the next completion is version completed + 1
    completed   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (bucket_id, name)
);
CREATE TABLE releases (
    id                        TEXT COLLATE "C" PRIMARY KEY,
    product_id                TEXT COLLATE "C" NOT NULL REFERENCES products(id),
    name                      TEXT COLLATE "C" NOT NULL,
    created_at                BIGINT NOT NULL,
    -- both set once, in the transaction that completes the release
    completed_at              BIGINT,
    version                   BIGINT,
    revoke_at                 BIGINT,
    revocation_message        TEXT COLLATE "C",
    revocation_author         TEXT COLLATE "C",
    revocation_type           TEXT COLLATE "C",
    revocation_inherited_from TEXT COLLATE "C" REFERENCES releases(id),
    UNIQUE (product_id, name),
    UNIQUE (product_id, version)
);
CREATE INDEX releases_inherited ON releases(revocation_inherited_from);
CREATE TABLE release_channels (
    release_id  TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    channel     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (release_id, channel)
);
CREATE TABLE builds (
    id           TEXT COLLATE "C" PRIMARY KEY,
    release_id   TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    component    TEXT COLLATE "C" NOT NULL,
    provider     TEXT COLLATE "C",
    status       TEXT COLLATE "C" NOT NULL,
    labels       TEXT NOT NULL DEFAULT '{}',
    source_image TEXT COLLATE "C",
    created_at   BIGINT NOT NULL,
    heartbeat_at BIGINT,
    finished_at  BIGINT,
    message      TEXT,
    UNIQUE (release_id, component)
);
CREATE INDEX builds_running ON builds(heartbeat_at) WHERE status = 'RUNNING';
CREATE TABLE images (
    id           TEXT COLLATE "C" PRIMARY KEY,
    build_id     TEXT COLLATE "C" NOT NULL REFERENCES builds(id),
    region       TEXT COLLATE "C" NOT NULL,
    external_id  TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (build_id, region)
);
CREATE INDEX images_external_id ON images(external_id);
CREATE TABLE channels (
    id          TEXT COLLATE "C" PRIMARY KEY,
    product_id  TEXT COLLATE "C" NOT NULL REFERENCES products(id),
    name        TEXT COLLATE "C" NOT NULL,
    managed     BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (product_id, name)
);
CREATE TABLE channel_assignments (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT COLLATE "C" NOT NULL UNIQUE,
    channel_id   TEXT COLLATE "C" NOT NULL REFERENCES channels(id),
    release_id   TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    assigned_at  BIGINT NOT NULL,
    author       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX channel_assignments_channel ON channel_assignments(channel_id, seq);
CREATE INDEX channel_assignments_release ON channel_assignments(release_id);
CREATE TABLE dependencies (
    id          TEXT COLLATE "C" PRIMARY KEY,
    child_id    TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    parent_id   TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    -- the parent's channel the image was read through, if it was
    channel_id  TEXT COLLATE "C" REFERENCES channels(id),
    created_at  BIGINT NOT NULL,
    UNIQUE (child_id, parent_id)
);
CREATE INDEX dependencies_parent ON dependencies(parent_id);
"#,
    // 2: the server's tokens (only their SHA-256 is kept) and its audit log.
    r#"
CREATE TABLE tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    hash        TEXT COLLATE "C" NOT NULL UNIQUE,
    scope       TEXT COLLATE "C" NOT NULL,
    bucket      TEXT COLLATE "C",
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE TABLE audit (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    token_id   TEXT COLLATE "C",
    operation  TEXT COLLATE "C" NOT NULL,
    target     TEXT COLLATE "C" NOT NULL,
    outcome    TEXT COLLATE "C" NOT NULL
);
"#,
    // 3: what HCP Packer's API records besides kiln's model: the registry's organization UUID
    // (made once, random, version 4), products' descriptions and labels, the template type of
    // a release, a build's Packer run UUID and metadata, and SBOMs stored with their build.
    r#"
CREATE TABLE registry (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    organization_id  TEXT NOT NULL
);
INSERT INTO registry (id, organization_id) VALUES (1, gen_random_uuid()::text);
ALTER TABLE products ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE products ADD COLUMN updated_at BIGINT;
ALTER TABLE releases ADD COLUMN template_type TEXT COLLATE "C";
ALTER TABLE builds ADD COLUMN run_uuid TEXT COLLATE "C";
ALTER TABLE builds ADD COLUMN metadata TEXT;
CREATE TABLE sboms (
    id          TEXT COLLATE "C" PRIMARY KEY,
    build_id    TEXT COLLATE "C" NOT NULL REFERENCES builds(id),
    name        TEXT COLLATE "C" NOT NULL,
    format      TEXT COLLATE "C" NOT NULL,
    content     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (build_id, name)
);
"#,
];

/// The advisory lock key migrations hold ("kiln" in ASCII), so only one process migrates at a
/// time.
const MIGRATION_LOCK: i64 = 0x6b69_6c6e;

/// Bring the schema up to date. Several processes may start at once: each takes the migration
/// lock inside its transaction and reads the version again under it.
pub(super) fn migrate(client: &mut postgres::Client) -> Result<()> {
    let target = MIGRATIONS.len() as i64;
    let fail = |e: postgres::Error| Error::Storage {
        message: format!("cannot migrate the registry schema: {}", describe(&e)),
    };
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail)?;
    // Under READ COMMITTED each statement sees what was committed before it: after the lock,
    // whatever another process migrated.
    tx.batch_execute("CREATE TABLE IF NOT EXISTS kiln_schema (version BIGINT NOT NULL)")
        .map_err(fail)?;
    let version: i64 = match tx
        .query_opt("SELECT version FROM kiln_schema", &[])
        .map_err(fail)?
    {
        Some(row) => row.try_get(0).map_err(fail)?,
        None => {
            tx.execute("INSERT INTO kiln_schema (version) VALUES (0)", &[])
                .map_err(fail)?;
            0
        }
    };
    if version > target {
        return Err(Error::Storage {
            message: format!(
                "the registry database has schema version {version}, newer than this kiln knows ({target}); upgrade kiln"
            ),
        });
    }
    for sql in &MIGRATIONS[version as usize..] {
        tx.batch_execute(sql).map_err(fail)?;
    }
    tx.execute("UPDATE kiln_schema SET version = $1", &[&target])
        .map_err(fail)?;
    tx.commit().map_err(fail)?;
    Ok(())
}
