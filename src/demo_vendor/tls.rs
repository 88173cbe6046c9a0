//! HTTPS for the demo vendor: a fresh self-signed certificate per start and
//! the accept loop that serves the router over TLS.
//!
//! axum's `serve` speaks plain TCP only, so HTTPS has its own loop:
//! `TcpListener` → `TlsAcceptor` → hyper-util's connection builder serving the
//! same `Router`. The loop shuts down like `axum::serve` with graceful
//! shutdown: stop accepting, ask every open connection to finish its
//! in-flight request, wait for them (the caller bounds that wait).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// The host name of the HTTPS base URL; the certificate's first name.
pub(crate) const HOST_NAME: &str = "localhost";
/// Every name the certificate is valid for (the IP becomes an IP SAN).
const CERT_NAMES: [&str; 2] = [HOST_NAME, "127.0.0.1"];
/// The certificate's subject common name.
const CERT_COMMON_NAME: &str = "panelwright demo vendor";
/// How long a client gets to finish the TLS handshake. Why: a client that
/// connects and never speaks would otherwise hold a task until shutdown.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. out of file descriptors). Why: such
/// errors repeat at once; retrying immediately would spin a core.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A self-signed certificate and the acceptor that presents it.
pub(crate) struct SelfSigned {
    /// The certificate alone (PEM), for clients to trust exactly it.
    pub(crate) certificate_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

impl SelfSigned {
    /// A fresh key pair and certificate for `localhost` and `127.0.0.1`.
    pub(crate) fn generate() -> io::Result<SelfSigned> {
        let mut params = CertificateParams::new(CERT_NAMES.map(String::from).to_vec())
            .map_err(io::Error::other)?;
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, CERT_COMMON_NAME);
        params.distinguished_name = subject;
        let key = KeyPair::generate().map_err(io::Error::other)?;
        let certificate = params.self_signed(&key).map_err(io::Error::other)?;
        let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // An explicit provider: the process-wide default is ambiguous when
        // several rustls crypto backends are compiled in (and would panic).
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![certificate.der().clone()], private_key)
            .map_err(io::Error::other)?;
        // The connections are served as HTTP/1 only; say so in ALPN so a
        // browser does not try HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(SelfSigned {
            certificate_pem: certificate.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// Serves `app` over TLS until `shutdown` fires (or its sender is dropped),
/// then waits for the open connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    mut shutdown: oneshot::Receiver<()>,
) {
    let (closing_tx, closing_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(connection(
                        tcp,
                        peer,
                        acceptor.clone(),
                        app.clone(),
                        closing_rx.clone(),
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "demo vendor: accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Either a sent value or the dropped sender wakes every `changed()`.
    let _ = closing_tx.send(());
    drop(closing_tx);
    while connections.join_next().await.is_some() {}
}

/// One client: the TLS handshake, then HTTP/1 until the client is done or
/// the server closes. Every failure only ends this connection.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: Router,
    mut closing: watch::Receiver<()>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let tls = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "demo vendor: TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "demo vendor: TLS handshake timed out");
                return;
            }
        },
        _ = closing.changed() => return,
    };
    let builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    let conn = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        _ = closing.changed() => {
            // Finish the request in flight, close an idle keep-alive now.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "demo vendor: connection ended with an error");
    }
}
