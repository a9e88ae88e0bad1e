//! The PostgreSQL store against a real PostgreSQL, started by each test ([`TestCluster`]).

use super::testdb::TestCluster;
use super::PostgresStore;
use crate::registry::auth::{AuditEntry, NewToken, Scope, Tokens};
use crate::registry::model::*;
use crate::registry::{contract, Error, HcpStore, NewSbom, SqliteStore, Store};
use std::sync::{Arc, Barrier};

fn publish(product: &str, release: &str, component: &str, id: &str) -> Publish {
    Publish {
        bucket: "team".into(),
        product: product.into(),
        release: release.into(),
        builds: vec![PublishBuild {
            component: component.into(),
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

#[test]
fn the_postgres_store_keeps_the_contract() {
    let cluster = TestCluster::start();
    let url = cluster.database();
    let store = PostgresStore::open(&url).expect("opens");
    contract::run(&store);
    // A second store (another replica) sees what the first wrote and migrates nothing twice.
    let again = PostgresStore::open(&url).expect("opens again");
    assert!(!again.buckets().expect("lists").is_empty());
    assert_eq!(
        store.organization_id().expect("an organization"),
        again.organization_id().expect("the same organization")
    );
}

#[test]
fn the_http_store_keeps_the_contract_against_a_server_on_postgres() {
    let cluster = TestCluster::start();
    let store = Arc::new(PostgresStore::open(&cluster.database()).expect("opens"));
    let admin = store
        .create_token(&NewToken {
            scope: Some(Scope::Admin),
            ..NewToken::default()
        })
        .expect("a token");
    let addr = crate::registry::tests::serve(store.clone());
    let http = crate::registry::http::HttpStore::new(&format!("http://{addr}"), Some(admin.secret))
        .expect("a client");
    contract::run(&http);
    let log = store.audit_log(10_000).expect("the log");
    assert!(log
        .iter()
        .any(|e| e.operation == "publish" && e.outcome == "ok"));
    assert!(log.iter().any(|e| e.operation == "release.revoke"));
}

#[test]
fn sixteen_publishers_on_two_replicas_complete_a_release_exactly_once() {
    let cluster = TestCluster::start();
    let url = cluster.database();
    let replicas = [
        Arc::new(PostgresStore::open(&url).expect("replica a")),
        Arc::new(PostgresStore::open(&url).expect("replica b")),
    ];
    let components: Vec<String> = (0..16).map(|i| format!("source.c{i:02}")).collect();
    let barrier = Arc::new(Barrier::new(components.len()));
    let threads: Vec<_> = components
        .iter()
        .enumerate()
        .map(|(i, component)| {
            let store = replicas[i % 2].clone();
            let barrier = barrier.clone();
            let mut p = publish("web", "big", component, &format!("ami-{i}"));
            p.expect = components.clone();
            std::thread::spawn(move || {
                barrier.wait();
                store.publish(&p)
            })
        })
        .collect();
    let outcomes: Vec<Completion> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .expect("the publisher does not panic")
                .expect("publishes")
        })
        .collect();
    let completed: Vec<u64> = outcomes
        .iter()
        .filter_map(|c| match c {
            Completion::Completed { version, .. } => Some(*version),
            _ => None,
        })
        .collect();
    assert_eq!(completed, vec![1], "exactly one publisher completed it");
    let release = replicas[1]
        .release("team", "web", "big")
        .expect("the release");
    assert_eq!(release.version, Some(1));
    assert_eq!(release.status, ReleaseStatus::Active);
    assert_eq!(release.builds.len(), 16);
    assert!(release.builds.iter().all(|b| b.status == BuildStatus::Done));
    let history = replicas[0]
        .channel_history("team", "web", LATEST)
        .expect("latest's history");
    assert_eq!(history.len(), 1, "latest moved once");
}

#[test]
fn concurrent_completions_of_one_product_get_one_version_each_and_latest_ends_on_the_newest() {
    let cluster = TestCluster::start();
    let url = cluster.database();
    let replicas = [
        Arc::new(PostgresStore::open(&url).expect("replica a")),
        Arc::new(PostgresStore::open(&url).expect("replica b")),
    ];
    let barrier = Arc::new(Barrier::new(12));
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let store = replicas[i % 2].clone();
            let barrier = barrier.clone();
            let p = publish("web", &format!("r{i}"), "a", &format!("ami-{i}"));
            std::thread::spawn(move || {
                barrier.wait();
                store.publish(&p)
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic").expect("publishes");
    }
    let releases = replicas[0].releases("team", "web").expect("releases");
    let mut versions: Vec<u64> = releases.iter().filter_map(|r| r.version).collect();
    versions.sort();
    assert_eq!(versions, (1..=12).collect::<Vec<u64>>());
    // Assignments of `latest` follow the versions: it never went back.
    let history = replicas[1]
        .channel_history("team", "web", LATEST)
        .expect("history");
    let version_of = |name: &str| {
        releases
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.version)
            .expect("a complete release")
    };
    let order: Vec<u64> = history.iter().map(|a| version_of(&a.release)).collect();
    assert_eq!(order, (1..=12).collect::<Vec<u64>>());
    let newest = releases.iter().max_by_key(|r| r.version).expect("a newest");
    assert_eq!(
        replicas[0].product("team", "web").expect("product").latest,
        Some(newest.name.clone())
    );
}

#[test]
fn tokens_revoked_on_one_replica_are_refused_on_the_other() {
    let cluster = TestCluster::start();
    let url = cluster.database();
    let server = PostgresStore::open(&url).expect("opens");
    // Both spellings of the scheme are accepted.
    let cli =
        PostgresStore::open(&url.replacen("postgres://", "postgresql://", 1)).expect("opens again");
    assert!(matches!(
        cli.create_token(&NewToken::default()),
        Err(Error::Invalid { .. })
    ));
    let created = cli
        .create_token(&NewToken {
            scope: Some(Scope::Write),
            bucket: Some("team".into()),
            description: "ci".into(),
            expires_in: None,
        })
        .expect("a token");
    let found = server
        .authenticate(&created.secret)
        .expect("reads")
        .expect("live");
    assert_eq!(found, created.token);
    assert_eq!(server.authenticate("kiln_wrong").expect("reads"), None);
    cli.revoke_token(&created.token.id).expect("revokes");
    assert_eq!(server.authenticate(&created.secret).expect("reads"), None);
    let revoked = server.tokens().expect("lists");
    assert_eq!(revoked.len(), 1);
    assert!(revoked[0].revoked_at.is_some());
    assert!(matches!(
        server.revoke_token("nope"),
        Err(Error::NotFound { .. })
    ));
    // An expired token is refused too.
    let brief = cli
        .create_token(&NewToken {
            scope: Some(Scope::Read),
            expires_in: Some(0),
            ..NewToken::default()
        })
        .expect("a token");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(server.authenticate(&brief.secret).expect("reads"), None);
    // The audit log keeps the newest entries, oldest first.
    for i in 0..5 {
        server
            .audit(&AuditEntry {
                at: Timestamp(i),
                token_id: None,
                operation: "publish".into(),
                target: format!("t{i}"),
                outcome: "ok".into(),
            })
            .expect("audits");
    }
    let targets: Vec<String> = cli
        .audit_log(3)
        .expect("the log")
        .into_iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(targets, ["t2", "t3", "t4"]);
}

#[test]
fn hcp_records_products_channels_and_sboms() {
    let cluster = TestCluster::start();
    let store = PostgresStore::open(&cluster.database()).expect("opens");
    let org = store.organization_id().expect("an organization");
    assert!(uuid::Uuid::try_parse(&org).is_ok(), "{org}");
    let bucket = store.ensure_bucket("team").expect("a bucket");
    assert_eq!(
        store.ensure_bucket("team").expect("the same bucket").id,
        bucket.id
    );
    let about = ProductAbout {
        description: "the web tier".into(),
        labels: [("os".to_string(), "linux".to_string())].into(),
    };
    let product = store
        .create_product("team", "web", &about)
        .expect("a product");
    assert_eq!(product.labels, about.labels);
    assert_eq!(product.releases, 0);
    assert!(product.updated_at.is_some());
    assert!(matches!(
        store.create_product("team", "web", &about),
        Err(Error::Exists { .. })
    ));
    let updated = store
        .update_product("team", "web", &ProductAbout::default())
        .expect("updates");
    assert_eq!(updated.description, "");
    assert!(matches!(
        store.update_product("team", "nope", &about),
        Err(Error::NotFound { .. })
    ));
    let channel = store
        .create_channel("team", "web", "prod")
        .expect("a channel");
    assert_eq!((channel.release, channel.managed), (None, false));
    assert!(matches!(
        store.create_channel("team", "web", "prod"),
        Err(Error::Exists { .. })
    ));
    assert!(matches!(
        store.create_channel("team", "web", LATEST),
        Err(Error::Conflict { .. })
    ));
    store
        .delete_channel("team", "web", "prod")
        .expect("deletes");
    let names: Vec<String> = store
        .channels("team", "web")
        .expect("channels")
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, [LATEST]);

    let Completion::Completed { release_id, .. } = store
        .publish(&publish("web", "v1", "a", "ami-1"))
        .expect("publishes")
    else {
        panic!("a one-build release completes");
    };
    let build = store
        .release("team", "web", "v1")
        .expect("the release")
        .builds[0]
        .id
        .clone();
    assert_eq!(store.bucket_of(&build).expect("its bucket"), "team");
    assert_eq!(store.bucket_of(&release_id).expect("its bucket"), "team");
    let sbom = NewSbom {
        name: "app".into(),
        format: "SPDX".into(),
        content: vec![0, 1, 2, 255],
    };
    let stored = store.put_sbom(&build, &sbom).expect("stores");
    assert!(matches!(
        store.put_sbom(&build, &sbom),
        Err(Error::Exists { .. })
    ));
    assert!(matches!(
        store.put_sbom("nope", &sbom),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.put_sbom(
            &build,
            &NewSbom {
                content: Vec::new(),
                ..sbom.clone()
            }
        ),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(store.sboms(&build).expect("lists"), vec![stored.clone()]);
    assert_eq!(
        store.sbom(&build, "app").expect("reads"),
        (stored, vec![0, 1, 2, 255])
    );
    assert!(matches!(
        store.sbom(&build, "other"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn names_sort_byte_by_byte_as_in_sqlite() {
    let cluster = TestCluster::start();
    let pg = PostgresStore::open(&cluster.database()).expect("opens");
    let lite = SqliteStore::open_in_memory().expect("opens");
    let names = ["aaa", "a-a", "B-b", "b-b", "Zed", "a1a"];
    for store in [&pg as &dyn Store, &lite] {
        for (i, n) in names.iter().enumerate() {
            let mut p = publish(n, "v1", "a", &format!("ami-{i}"));
            p.bucket = n.to_string();
            store.publish(&p).expect("publishes");
        }
    }
    let order = |store: &dyn Store| -> Vec<String> {
        store
            .buckets()
            .expect("lists")
            .into_iter()
            .map(|b| b.name)
            .collect()
    };
    assert_eq!(order(&pg), order(&lite));
    assert_eq!(order(&pg), ["B-b", "Zed", "a-a", "a1a", "aaa", "b-b"]);
}

#[test]
fn replicas_opening_a_new_database_at_once_migrate_it_once() {
    let cluster = TestCluster::start();
    let url = cluster.database();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url).map(|s| s.organization_id()))
        })
        .collect();
    let orgs: Vec<String> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .expect("no panic")
                .expect("opens")
                .expect("an organization")
        })
        .collect();
    assert!(orgs.iter().all(|o| *o == orgs[0]), "{orgs:?}");
}

#[test]
fn errors_never_show_the_password() {
    let Err(e) = PostgresStore::open("postgres://kiln:hunter2@127.0.0.1:1/registry") else {
        panic!("nothing listens on port 1");
    };
    assert!(matches!(e, Error::Storage { .. }), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let Err(e) = PostgresStore::open("postgres://kiln:hunter2@127.0.0.1:notaport/registry") else {
        panic!("a bad port is refused");
    };
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(matches!(
        PostgresStore::open("mysql://kiln@localhost/registry"),
        Err(Error::Invalid { .. })
    ));
}

/// `kiln registry migrate`'s copy: SQLite → PostgreSQL → SQLite, every record the same each
/// way, and the copies answer as the original (lookups through channels, inherited revocations,
/// tokens, the organization).
#[test]
fn a_registry_copies_from_sqlite_to_postgres_and_back_whole() {
    use crate::registry::snapshot::Copyable;
    let dir = std::env::temp_dir().join(format!("kiln-copy-{}", ulid::Ulid::generate()));
    let sqlite = SqliteStore::open(&dir.join("a.db")).expect("opens");
    sqlite
        .publish(&publish("base", "b1", "x", "ami-b1"))
        .expect("b1");
    let mut child = publish("app", "a1", "x", "ami-a1");
    child.parents = vec![ParentRef {
        bucket: "team".into(),
        product: "base".into(),
        at: ReleaseRef::Channel(LATEST.into()),
    }];
    sqlite.publish(&child).expect("a1");
    sqlite
        .revoke(&Revoke {
            bucket: "team".into(),
            product: "base".into(),
            release: "b1".into(),
            at: None,
            message: "CVE".into(),
            author: "t".into(),
            skip_descendants: false,
        })
        .expect("revoke, inherited by a1");
    sqlite
        .publish(&publish("base", "b2", "x", "ami-b2"))
        .expect("b2");
    let build = sqlite.release("team", "base", "b2").expect("b2").builds[0]
        .id
        .clone();
    sqlite
        .put_sbom(
            &build,
            &NewSbom {
                name: "os".into(),
                format: "SPDX".into(),
                content: vec![0, 159, 146, 150],
            },
        )
        .expect("an SBOM");
    let token = sqlite
        .create_token(&NewToken {
            scope: Some(Scope::Read),
            ..NewToken::default()
        })
        .expect("a token");
    sqlite
        .audit(&AuditEntry {
            at: Timestamp::now(),
            token_id: Some(token.token.id.clone()),
            operation: "publish".into(),
            target: "team/base/b2".into(),
            outcome: "ok".into(),
        })
        .expect("audited");
    let original = sqlite.snapshot().expect("a snapshot");

    let cluster = TestCluster::start();
    let pg = PostgresStore::open(&cluster.database()).expect("opens");
    pg.load(&original).expect("restored");
    assert_eq!(pg.snapshot().expect("read back"), original);
    assert!(
        matches!(pg.load(&original), Err(Error::Conflict { .. })),
        "not empty"
    );
    let query = |s: &dyn Store, product: &str| {
        s.image(&ImageQuery {
            bucket: "team".into(),
            product: product.into(),
            at: ReleaseRef::Channel(LATEST.into()),
            provider: "aws".into(),
            region: "us-east-1".into(),
            component: None,
        })
        .map(|r| r.external_id)
        .map_err(|e| e.to_string())
    };
    for product in ["base", "app"] {
        assert_eq!(query(&pg, product), query(&sqlite, product), "{product}");
        assert_eq!(
            pg.release("team", product, if product == "base" { "b1" } else { "a1" })
                .expect("a release"),
            sqlite
                .release("team", product, if product == "base" { "b1" } else { "a1" })
                .expect("a release")
        );
    }
    assert_eq!(
        pg.organization_id().unwrap(),
        sqlite.organization_id().unwrap()
    );
    assert!(pg.authenticate(&token.secret).expect("asks").is_some());
    // New records after the copy take the next numbers.
    pg.audit(&AuditEntry {
        at: Timestamp::now(),
        token_id: None,
        operation: "x".into(),
        target: "y".into(),
        outcome: "ok".into(),
    })
    .expect("numbered after the copied entries");

    let back = SqliteStore::open(&dir.join("b.db")).expect("opens");
    let snapshot = pg.snapshot().expect("a snapshot");
    back.load(&snapshot).expect("restored");
    assert_eq!(back.snapshot().expect("read back"), snapshot);
    let _ = std::fs::remove_dir_all(&dir);
}
