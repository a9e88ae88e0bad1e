//! The image registry: bucket → product → release → build → image, channels and dependencies,
//! with HCP Packer's semantics (DESIGN.md, "The registry").
//!
//! A bottom layer: nothing here uses the template, plan, exec or plugin modules. Callers reach a
//! registry through the object-safe [`Store`] trait; [`SqliteStore`] is the embedded one,
//! [`PostgresStore`] the shared one.

pub mod auth;
pub mod contract;
mod database;
mod error;
mod hcp_store;
pub mod http;
pub mod model;
pub mod names;
mod postgres;
pub mod server;
pub mod snapshot;
mod sqlite;
mod store;

pub use database::{Database, ServerStore, DB_VAR};
pub use error::{Error, Result};
pub use hcp_store::{HcpStore, NewSbom, Sbom};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::Store;

use std::path::PathBuf;

/// The file name of the embedded database.
pub const DB_FILE: &str = "registry.db";

/// Where the embedded registry lives: `$KILN_HOME/registry.db`, else
/// `$XDG_DATA_HOME/kiln/registry.db`, else `$HOME/.local/share/kiln/registry.db`.
pub fn default_path() -> Result<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(home) = var("KILN_HOME") {
        return Ok(home.join(DB_FILE));
    }
    if let Some(data) = var("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(data.join("kiln").join(DB_FILE));
    }
    if let Some(home) = var("HOME") {
        return Ok(home.join(".local/share/kiln").join(DB_FILE));
    }
    Err(
        Error::invalid("cannot tell where to keep the registry: HOME is not set")
            .with_hint("set KILN_HOME to a directory"),
    )
}

/// The bucket kiln publishes into and reads from when none is named: `KILN_REGISTRY_BUCKET`,
/// else [`DEFAULT_BUCKET`] (HCP Packer's project is implicit the same way).
pub fn default_bucket() -> String {
    std::env::var("KILN_REGISTRY_BUCKET")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BUCKET.to_string())
}

/// The bucket used when none is named.
pub const DEFAULT_BUCKET: &str = "default";

/// The registry server kiln talks to instead of the embedded store, when `KILN_REGISTRY_ADDR`
/// names one (with `KILN_REGISTRY_TOKEN`).
pub fn server() -> Result<Option<http::HttpStore>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match var("KILN_REGISTRY_ADDR") {
        Some(addr) => Ok(Some(http::HttpStore::new(
            &addr,
            var("KILN_REGISTRY_TOKEN"),
        )?)),
        None => Ok(None),
    }
}

/// Open the default store for writing: the server of `KILN_REGISTRY_ADDR`, else the database of
/// `KILN_REGISTRY_DB`, else the embedded one (created if needed).
pub fn open_default() -> Result<Box<dyn Store>> {
    if let Some(server) = server()? {
        return Ok(Box::new(server));
    }
    let store: Box<dyn Store> = Database::from_env()?.open()?;
    Ok(store)
}

/// Open the default store for reading: when nothing was ever published in the embedded file,
/// an empty store that creates no file.
pub fn open_default_for_reading() -> Result<Box<dyn Store>> {
    if let Some(server) = server()? {
        return Ok(Box::new(server));
    }
    Database::from_env()?.open_for_reading()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_store_keeps_the_contract() {
        let store = SqliteStore::open_in_memory().expect("an in-memory store opens");
        contract::run(&store);
    }

    /// A server on 127.0.0.1:0 over `store`, on its own thread; its address.
    pub(crate) fn serve<S: Store + auth::Tokens + HcpStore + 'static>(
        store: std::sync::Arc<S>,
    ) -> std::net::SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                tx.send(listener.local_addr().expect("an address"))
                    .expect("the test waits");
                let registry = server::Registry::new(store);
                let _ = server::serve(listener, registry, std::future::pending()).await;
            });
        });
        rx.recv().expect("the server starts")
    }

    #[test]
    fn the_http_store_keeps_the_contract_against_a_real_server() {
        use auth::{NewToken, Scope, Tokens};
        let store = std::sync::Arc::new(SqliteStore::open_in_memory().expect("opens"));
        let admin = store
            .create_token(&NewToken {
                scope: Some(Scope::Admin),
                ..NewToken::default()
            })
            .expect("a token");
        let addr = serve(store.clone());
        let http =
            http::HttpStore::new(&format!("http://{addr}"), Some(admin.secret)).expect("a client");
        contract::run(&http);
        // Every write went through the audit log.
        let log = store.audit_log(10_000).expect("the log");
        assert!(log
            .iter()
            .any(|e| e.operation == "publish" && e.outcome == "ok"));
        assert!(log.iter().any(|e| e.operation == "release.revoke"));
    }

    #[test]
    fn the_openapi_document_names_every_route_of_the_router() {
        let doc: serde_json::Value =
            serde_json::from_str(server::OPENAPI).expect("the OpenAPI document is JSON");
        let paths = doc["paths"].as_object().expect("paths");
        // Every resource's router, whitespace removed, so rustfmt's line breaks do not matter.
        // HCP's routes (`server/hcp/`) are HashiCorp's, documented by its own Swagger spec.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/registry/server");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("src/registry/server is readable")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        let body: String = files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("a source file"))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let product = "/v1/buckets/{bucket}/products/{product}";
        let route = regex::Regex::new(
            r#"\.route\((?:"([^"]+)"|&format!\("([^"]+)"\)|(PRODUCT)),((?:[a-z:_]+\([a-z_:]+\)\.?)+),?\)"#,
        )
        .expect("regex");
        let method = regex::Regex::new(r"(?:^|[.:])(get|post|put|delete)\(").expect("regex");
        let mut routed = Vec::new();
        for c in route.captures_iter(&body) {
            let path = match (c.get(1), c.get(2), c.get(3)) {
                (Some(p), _, _) => p.as_str().to_string(),
                (_, Some(f), _) => f
                    .as_str()
                    .replace("{PRODUCT}", product)
                    .replace("{{", "{")
                    .replace("}}", "}"),
                _ => product.to_string(),
            };
            let methods: Vec<String> = method
                .captures_iter(&c[4])
                .map(|m| m[1].to_string())
                .collect();
            routed.push((path, methods));
        }
        assert!(
            routed.len() >= 25,
            "only {} routes found: {routed:?}",
            routed.len()
        );
        for (path, methods) in &routed {
            let entry = paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is routed but not in openapi.json"));
            for m in methods {
                assert!(
                    entry.get(m).is_some(),
                    "{m} {path} is routed but not documented"
                );
            }
        }
        let documented: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |o| o.len()))
            .sum();
        let routed_methods: usize = routed.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(
            documented, routed_methods,
            "openapi.json documents routes the router lacks"
        );
    }

    #[test]
    fn the_contract_holds_on_a_file_with_two_connections() {
        let dir = tempfile_dir();
        let path = dir.join(DB_FILE);
        let a = SqliteStore::open(&path).expect("opens");
        contract::run(&a);
        // A second connection sees what the first wrote and migrates nothing twice.
        let b = SqliteStore::open(&path).expect("opens again");
        assert!(!b.buckets().expect("lists").is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "kiln-registry-unit-{}-{}",
            std::process::id(),
            ulid::Ulid::generate()
        ));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    #[test]
    fn the_registry_imports_nothing_above_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/registry");
        let mut files = vec![dir];
        let mut checked = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("src/registry is readable") {
                    files.push(entry.expect("a directory entry").path());
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            checked += 1;
            for layer in ["config", "plan", "exec", "plugins", "cli"] {
                let needle = format!("crate::{layer}");
                // The needle is assembled, so this file does not trip over its own check.
                assert!(
                    !text.contains(&needle),
                    "{} uses {needle}: the registry is a bottom layer",
                    path.display()
                );
            }
        }
        assert!(checked >= 10, "only {checked} files were checked");
    }
}
