//! The SQLite schema, as numbered migrations. `PRAGMA user_version` holds how many have run.

/// Tables keyed by a ULID are `WITHOUT ROWID`: one b-tree instead of a table and its key index,
/// so a publish writes fewer pages.
///
/// Migration `i` brings the schema from version `i` to `i + 1`. Append only: never edit one that
/// has shipped.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE buckets (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    bucket_id   TEXT NOT NULL REFERENCES buckets(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    -- how many of its releases have completed: the next completion is version completed + 1
    completed   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (bucket_id, name)
) WITHOUT ROWID;
CREATE TABLE releases (
    id                        TEXT PRIMARY KEY,
    product_id                TEXT NOT NULL REFERENCES products(id),
    name                      TEXT NOT NULL,
    created_at                INTEGER NOT NULL,
    -- both set once, in the transaction that completes the release
    completed_at              INTEGER,
    version                   INTEGER,
    revoke_at                 INTEGER,
    revocation_message        TEXT,
    revocation_author         TEXT,
    revocation_type           TEXT,
    revocation_inherited_from TEXT REFERENCES releases(id),
    UNIQUE (product_id, name),
    UNIQUE (product_id, version)
) WITHOUT ROWID;
CREATE TABLE release_channels (
    release_id  TEXT NOT NULL REFERENCES releases(id),
    channel     TEXT NOT NULL,
    PRIMARY KEY (release_id, channel)
) WITHOUT ROWID;
CREATE TABLE builds (
    id           TEXT PRIMARY KEY,
    release_id   TEXT NOT NULL REFERENCES releases(id),
    component    TEXT NOT NULL,
    provider     TEXT,
    status       TEXT NOT NULL,
    labels       TEXT NOT NULL DEFAULT '{}',
    source_image TEXT,
    created_at   INTEGER NOT NULL,
    heartbeat_at INTEGER,
    finished_at  INTEGER,
    message      TEXT,
    UNIQUE (release_id, component)
) WITHOUT ROWID;
CREATE INDEX builds_running ON builds(heartbeat_at) WHERE status = 'RUNNING';
CREATE TABLE images (
    id           TEXT PRIMARY KEY,
    build_id     TEXT NOT NULL REFERENCES builds(id),
    region       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (build_id, region)
) WITHOUT ROWID;
CREATE INDEX images_external_id ON images(external_id);
CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL REFERENCES products(id),
    name        TEXT NOT NULL,
    managed     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (product_id, name)
) WITHOUT ROWID;
CREATE TABLE channel_assignments (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    channel_id   TEXT NOT NULL REFERENCES channels(id),
    release_id   TEXT NOT NULL REFERENCES releases(id),
    assigned_at  INTEGER NOT NULL,
    author       TEXT NOT NULL
);
CREATE INDEX channel_assignments_channel ON channel_assignments(channel_id, seq);
CREATE INDEX channel_assignments_release ON channel_assignments(release_id);
CREATE TABLE dependencies (
    id          TEXT PRIMARY KEY,
    child_id    TEXT NOT NULL REFERENCES releases(id),
    parent_id   TEXT NOT NULL REFERENCES releases(id),
    -- the parent's channel the image was read through, if it was
    channel_id  TEXT REFERENCES channels(id),
    created_at  INTEGER NOT NULL,
    UNIQUE (child_id, parent_id)
) WITHOUT ROWID;
CREATE INDEX dependencies_parent ON dependencies(parent_id);
"#,
    // 2: the server's tokens (only their SHA-256 is kept) and its audit log.
    r#"
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL,
    bucket      TEXT,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) WITHOUT ROWID;
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    token_id   TEXT,
    operation  TEXT NOT NULL,
    target     TEXT NOT NULL,
    outcome    TEXT NOT NULL
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
INSERT INTO registry (id, organization_id) SELECT 1, lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2)
    || '-' || hex(randomblob(6)));
ALTER TABLE products ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE products ADD COLUMN updated_at INTEGER;
ALTER TABLE releases ADD COLUMN template_type TEXT;
ALTER TABLE builds ADD COLUMN run_uuid TEXT;
ALTER TABLE builds ADD COLUMN metadata TEXT;
CREATE TABLE sboms (
    id          TEXT PRIMARY KEY,
    build_id    TEXT NOT NULL REFERENCES builds(id),
    name        TEXT NOT NULL,
    format      TEXT NOT NULL,
    content     BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (build_id, name)
) WITHOUT ROWID;
"#,
];
