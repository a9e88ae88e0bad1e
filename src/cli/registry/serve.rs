//! `kiln registry serve`, `kiln registry token ...` and `kiln registry audit`: the registry for
//! a team, its tokens and its audit log.

use super::table;
use super::{print_json, Format, FormatArg};
use crate::registry::auth::{NewToken, Scope, Token};
use crate::registry::server::{self, Registry};
use crate::registry::{self, Database, Error, PostgresStore, Result, SqliteStore};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `kiln registry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the first line printed says which).
    #[arg(long, default_value = "127.0.0.1:8750")]
    listen: String,
    /// The database: a file, or a `postgres://` URL that several servers share (default:
    /// KILN_REGISTRY_DB, else the embedded registry's file).
    #[arg(long)]
    db: Option<String>,
    /// Answer 408 to a request that takes longer than this (`30s`, `2m`).
    #[arg(long, default_value = "30s")]
    request_timeout: String,
    /// Requests a second each token may make before the server answers 429 (0: no limit).
    #[arg(long, default_value_t = 0)]
    rate_limit: u32,
    /// Serve HTTPS with this PEM certificate chain (and --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate, made on first start and kept beside the
    /// database (tls/cert.pem); clients trust it with KILN_REGISTRY_CA.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
}

/// The certificate and key to serve HTTPS with, if any.
fn tls_files(a: &ServeArgs, database: &Database) -> Result<Option<server::tls::TlsFiles>> {
    if let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) {
        return Ok(Some(server::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }));
    }
    if !a.tls_self_signed {
        return Ok(None);
    }
    let folder = database.folder()?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    let host = a
        .listen
        .rsplit_once(':')
        .map_or(a.listen.as_str(), |(h, _)| h)
        .trim_matches(['[', ']']);
    let unspecified = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if !host.is_empty() && !unspecified && !names.iter().any(|n| n == host) {
        names.push(host.to_string());
    }
    server::tls::self_signed(&folder.join("tls"), &names).map(Some)
}

/// Where the server's tokens live: the database of `--db`, else the embedded registry's.
#[derive(Debug, Args)]
pub(super) struct DbArg {
    /// The server's database: a file or a `postgres://` URL (default: KILN_REGISTRY_DB, else
    /// the embedded registry's file).
    #[arg(long)]
    pub(super) db: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once.
    Create(CreateArgs),
    /// List the tokens (never their secrets).
    List(ListArgs),
    /// Revoke a token at once.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// read, write or admin.
    #[arg(long)]
    scope: String,
    /// Limit it to one bucket.
    #[arg(long)]
    bucket: Option<String>,
    /// Let it expire after this long (`30d`, `12h`).
    #[arg(long)]
    expires: Option<String>,
    /// What it is for.
    #[arg(long, default_value = "")]
    description: String,
    #[command(flatten)]
    db: DbArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's ID (from `token list`).
    id: String,
    #[command(flatten)]
    db: DbArg,
}

/// Options of `kiln registry audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many of the newest entries.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    format: FormatArg,
}

pub(super) fn database(db: &Option<String>) -> Result<Database> {
    match db {
        Some(text) => Ok(Database::parse(text)),
        None => Database::from_env(),
    }
}

/// The token store: through the server's API with `KILN_REGISTRY_ADDR` (an admin token's work),
/// else the database on this host.
enum Place {
    Server(registry::http::HttpStore),
    Local(Box<dyn registry::ServerStore>),
}

fn place(db: &DbArg) -> Result<Place> {
    if db.db.is_none() {
        if let Some(server) = registry::server()? {
            return Ok(Place::Server(server));
        }
    }
    Ok(Place::Local(database(&db.db)?.open()?))
}

/// Run `kiln registry serve` until SIGINT or SIGTERM, then drain.
pub fn serve(a: ServeArgs) -> Result<()> {
    let path = database(&a.db)?;
    let request_timeout = registry::model::parse_duration(&a.request_timeout)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::invalid(format!("`{}` is not a duration", a.request_timeout))
                .with_hint("write it as 30s, 2m...")
        })?;
    let registry = match &path {
        Database::File(file) => Registry::new(Arc::new(SqliteStore::open(file)?)),
        Database::Postgres(url) => Registry::new(Arc::new(PostgresStore::open(url)?)),
    };
    let registry = Registry {
        request_timeout,
        limiter: Arc::new(server::RateLimiter::new(Some(a.rate_limit))),
        ..registry
    };
    let tls = match tls_files(&a, &path)? {
        Some(files) => Some((server::tls::config(&files)?, files)),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Storage {
            message: format!("cannot start the server's runtime: {e}"),
        })?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| {
                Error::invalid(format!("cannot listen on {}: {e}", a.listen))
                    .with_hint("pick another address with --listen (127.0.0.1:0 picks a free port)")
            })?;
        let addr = listener.local_addr().map_err(|e| Error::Storage {
            message: e.to_string(),
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("kiln registry listening on {scheme}://{addr} (database {path})");
        if let Some((_, files)) = &tls {
            if let Some(fingerprint) = server::tls::fingerprint(&files.cert) {
                println!(
                    "TLS certificate {} (SHA-256 {fingerprint})",
                    files.cert.display()
                );
            }
        }
        let shutdown = async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return std::future::pending().await;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("kiln registry: finishing the requests in flight, then exiting");
        };
        let served = match tls {
            Some((config, _)) => {
                let listener = server::tls::TlsListener::new(listener, config).map_err(|e| {
                    Error::Storage {
                        message: e.to_string(),
                    }
                })?;
                server::serve(listener, registry, shutdown).await
            }
            None => server::serve(listener, registry, shutdown).await,
        };
        served.map_err(|e| Error::Storage {
            message: format!("the server stopped: {e}"),
        })
    })
}

/// Run `kiln registry token ...`.
pub fn token(c: TokenCommand) -> Result<()> {
    match c {
        TokenCommand::Create(a) => {
            let expires_in = match &a.expires {
                Some(text) => Some(
                    registry::model::parse_duration(text)
                        .ok_or_else(|| {
                            Error::invalid(format!("`{text}` is not a duration"))
                                .with_hint("write it as 30d, 12h, 90m...")
                        })?
                        .as_secs(),
                ),
                None => None,
            };
            let new = NewToken {
                scope: Some(Scope::parse(&a.scope)?),
                bucket: a.bucket,
                description: a.description,
                expires_in,
            };
            let created = match place(&a.db)? {
                Place::Server(s) => s.create_token(&new)?,
                Place::Local(s) => s.create_token(&new)?,
            };
            eprintln!(
                "created token {} ({}{}); it is printed once, below",
                created.token.id,
                created.token.scope.as_str(),
                created
                    .token
                    .bucket
                    .as_ref()
                    .map(|b| format!(", bucket {b}"))
                    .unwrap_or_default()
            );
            println!("{}", created.secret);
            Ok(())
        }
        TokenCommand::List(a) => {
            let tokens = match place(&a.db)? {
                Place::Server(s) => s.tokens()?,
                Place::Local(s) => s.tokens()?,
            };
            if a.format.format == Format::Json {
                print_json(&tokens);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tokens.iter().map(token_row).collect();
            print!(
                "{}",
                table::render(
                    &[
                        "ID",
                        "SCOPE",
                        "BUCKET",
                        "CREATED",
                        "EXPIRES",
                        "REVOKED",
                        "DESCRIPTION"
                    ],
                    &rows
                )
            );
            Ok(())
        }
        TokenCommand::Revoke(a) => {
            let token = match place(&a.db)? {
                Place::Server(s) => s.revoke_token(&a.id)?,
                Place::Local(s) => s.revoke_token(&a.id)?,
            };
            println!("token {} revoked", token.id);
            Ok(())
        }
    }
}

fn token_row(t: &Token) -> Vec<String> {
    let time = |t: Option<registry::model::Timestamp>| {
        t.map(|t| t.to_seconds_string())
            .unwrap_or_else(|| "-".into())
    };
    vec![
        t.id.clone(),
        t.scope.as_str().to_string(),
        t.bucket.clone().unwrap_or_else(|| "(all)".into()),
        t.created_at.to_seconds_string(),
        time(t.expires_at),
        time(t.revoked_at),
        t.description.clone(),
    ]
}

/// Run `kiln registry audit`.
pub fn audit(a: AuditArgs) -> Result<()> {
    let entries = match place(&a.db)? {
        Place::Server(s) => s.audit_log(a.limit)?,
        Place::Local(s) => s.audit_log(a.limit)?,
    };
    if a.format.format == Format::Json {
        print_json(&entries);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.at.to_seconds_string(),
                e.token_id.clone().unwrap_or_else(|| "-".into()),
                e.operation.clone(),
                e.target.clone(),
                e.outcome.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["TIME", "TOKEN", "OPERATION", "TARGET", "OUTCOME"], &rows)
    );
    Ok(())
}
