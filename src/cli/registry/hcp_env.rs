//! `kiln registry hcp-env`: the environment that points stock Packer and Terraform's `hcp`
//! provider at a kiln server, with a new token as their service principal.

use super::serve::{database, DbArg};
use crate::registry::auth::{NewToken, Scope};
use crate::registry::{self, Error, Result};
use clap::Args;

/// Options of `kiln registry hcp-env`.
#[derive(Debug, Args)]
pub struct HcpEnvArgs {
    /// The bucket the clients publish into and read from (their HCP project); made if missing.
    #[arg(long)]
    bucket: String,
    /// What the clients may do: read, write (publish) or admin (also assign channels, revoke).
    #[arg(long, default_value = "write")]
    scope: String,
    /// The server's address as the clients reach it (`https://host:port`); with
    /// KILN_REGISTRY_ADDR, that one.
    #[arg(long)]
    addr: Option<String>,
    /// Let the clients check the server's certificate against the system's roots (a certificate
    /// from a CA they trust) instead of printing `HCP_API_TLS=insecure`, which a self-signed
    /// certificate needs.
    #[arg(long)]
    tls_verify: bool,
    #[command(flatten)]
    db: DbArg,
}

/// Create the principal and print the environment, one `NAME=value` a line.
pub fn run(a: HcpEnvArgs) -> Result<()> {
    let scope = Scope::parse(&a.scope)?;
    registry::names::bucket(&a.bucket)?;
    let new = NewToken {
        scope: Some(scope),
        bucket: Some(a.bucket.clone()),
        description: "HCP service principal (kiln registry hcp-env)".into(),
        expires_in: None,
    };
    let remote = match a.db.db {
        Some(_) => None,
        None => registry::server()?,
    };
    let (addr, org, bucket, created) = match remote {
        Some(server) => {
            let addr = a.addr.clone().unwrap_or_else(|| server.base().to_string());
            https_origin(&addr)?;
            let bucket = server.ensure_bucket(&a.bucket)?;
            let org = server.organization_id()?;
            (addr, org, bucket, server.create_token(&new)?)
        }
        None => {
            let addr = a.addr.clone().ok_or_else(|| {
                Error::invalid("which address do the clients reach the server at?").with_hint(
                    "give -addr https://host:port, or set KILN_REGISTRY_ADDR (and KILN_REGISTRY_TOKEN, an admin token) to ask the server",
                )
            })?;
            https_origin(&addr)?;
            let store = database(&a.db.db)?.open()?;
            let bucket = store.ensure_bucket(&a.bucket)?;
            let created = store.create_token(&new)?;
            (addr, store.organization_id()?, bucket, created)
        }
    };
    let origin = https_origin(&addr)?;
    let project = registry::server::project_id(&bucket.id)
        .ok_or_else(|| Error::invalid(format!("bucket `{}` has no ULID", bucket.name)))?;
    eprintln!(
        "created token {} ({}, bucket {}) as the HCP client; its secret is printed once, below",
        created.token.id,
        scope.as_str(),
        bucket.name
    );
    let mut lines = vec![("HCP_API_ADDRESS", origin.host_port.clone())];
    if !a.tls_verify {
        lines.push(("HCP_API_TLS", "insecure".into()));
    }
    lines.push(("HCP_AUTH_URL", format!("https://{}", origin.host_port)));
    if !a.tls_verify {
        lines.push(("HCP_AUTH_TLS", "insecure".into()));
    }
    lines.extend([
        ("HCP_CLIENT_ID", created.token.id.clone()),
        ("HCP_CLIENT_SECRET", created.secret.clone()),
        ("HCP_ORGANIZATION_ID", org),
        ("HCP_PROJECT_ID", project),
    ]);
    for (name, value) in lines {
        println!("{name}={value}");
    }
    Ok(())
}

struct Origin {
    host_port: String,
}

/// `host:port` of an https address; HCP's clients fetch tokens only over HTTPS.
fn https_origin(addr: &str) -> Result<Origin> {
    let with_scheme = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("https://{addr}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| Error::invalid(format!("`{addr}` is not an address: {e}")))?;
    if url.scheme() != "https" {
        return Err(Error::invalid(format!(
            "`{addr}` is not HTTPS, and HCP's clients fetch their tokens only over HTTPS"
        ))
        .with_hint("serve with `kiln registry serve --tls-self-signed` (or --tls-cert/--tls-key) and use its https:// address"));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid(format!("`{addr}` names no host")))?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(Origin {
        host_port: format!("{host}:{}", url.port_or_known_default().unwrap_or(443)),
    })
}
