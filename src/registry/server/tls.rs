//! HTTPS for `kiln registry serve`: a certificate chain and key from PEM files (`--tls-cert`,
//! `--tls-key`), or a self-signed certificate made once and kept beside the database
//! (`--tls-self-signed`). Each handshake runs in a task of its own with a deadline, so a client
//! that connects and says nothing holds up no one else.

use crate::registry::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate chain and its private key, PEM files on disk.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The server's TLS settings from `files`: TLS 1.2 and 1.3, HTTP/1.1, no client certificates.
pub fn config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    let unreadable = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        Error::invalid(format!(
            "cannot read the TLS {what} {}: {e}",
            path.display()
        ))
        .with_hint("give PEM files: the certificate chain to --tls-cert, its key to --tls-key")
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| unreadable("certificate", &files.cert, &e))?;
    if certs.is_empty() {
        return Err(unreadable(
            "certificate",
            &files.cert,
            &"it holds no certificate",
        ));
    }
    // The key's own error text never quotes the key.
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| unreadable("key", &files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            Error::invalid(format!(
                "the TLS certificate {} and key {} do not make a server: {e}",
                files.cert.display(),
                files.key.display()
            ))
            .with_hint("check that the key is the certificate's own")
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A self-signed certificate for `names` (host names or IP addresses) in `dir`, as `cert.pem`
/// and `key.pem` (mode 0600): made on first use and kept, so clients that pinned or trusted it
/// keep working across restarts.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<TlsFiles> {
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    if files.cert.is_file() && files.key.is_file() {
        return Ok(files);
    }
    let storage = |e: &dyn std::fmt::Display| Error::Storage {
        message: format!(
            "cannot make a self-signed certificate in {}: {e}",
            dir.display()
        ),
    };
    std::fs::create_dir_all(dir).map_err(|e| storage(&e))?;
    let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| storage(&e))?;
    let key = made.signing_key.serialize_pem();
    crate::fsutil::write_atomic_with(&files.key, |file| {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(key.as_bytes())
    })
    .map_err(|e| storage(&e))?;
    crate::fsutil::write_atomic(&files.cert, made.cert.pem().as_bytes())
        .map_err(|e| storage(&e))?;
    Ok(files)
}

/// The SHA-256 fingerprint of the first certificate in `cert`, as `AB:CD:...`.
pub fn fingerprint(cert: &Path) -> Option<String> {
    let first = CertificateDer::pem_file_iter(cert).ok()?.next()?.ok()?;
    let digest = Sha256::digest(first.as_ref());
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// Accepts TCP connections and hands on those whose TLS handshake succeeded.
pub struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Start accepting on `tcp` (in a task of the current runtime).
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            while !tx.is_closed() {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: wait a moment rather than spin.
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { addr, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task is gone only when the runtime is: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
