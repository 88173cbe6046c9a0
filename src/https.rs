//! Serving an axum `Router` over TLS (rustls), for `serve --tls-cert` and
//! the demo vendor's HTTPS console.
//!
//! axum's `serve` speaks plain TCP only, so HTTPS has its own loop:
//! `TcpListener` → `TlsAcceptor` → hyper-util's connection builder serving the
//! same `Router`. The loop shuts down like `axum::serve` with graceful
//! shutdown: stop accepting, ask every open connection to finish its
//! in-flight request, wait for them (the caller bounds that wait). Each
//! request carries the peer's address as axum's `ConnectInfo`.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a client gets to finish the TLS handshake. Why: a client that
/// connects and never speaks would otherwise hold a task until shutdown.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. out of file descriptors). Why: such
/// errors repeat at once; retrying immediately would spin a core.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Makes aws-lc-rs the process's rustls crypto provider (once; later calls
/// do nothing). rustls is built with that one backend, so its own clients
/// and servers find it alone; reqwest (webhook deliveries, the tests'
/// client) is built without a backend of its own and takes the process's,
/// so call this before building a `reqwest::Client`. Why not reqwest's
/// `ring`: with two backends compiled in, rustls can no longer choose one
/// by itself and every client that asks (fantoccini's) panics.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A server configuration presenting `chain` with `key`, HTTP/1.1 only.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<ServerConfig> {
    // An explicit provider: the process-wide default is ambiguous when
    // several rustls crypto backends are compiled in (and would panic).
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    // The connections are served as HTTP/1 only; say so in ALPN so a
    // browser does not try HTTP/2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// An acceptor for the PEM certificate chain and private key in these files.
pub fn acceptor_from_pem(cert: &Path, key: &Path) -> io::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject as _;
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| io::Error::other(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(io::Error::other(format!(
            "{}: no certificate in the file",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| io::Error::other(format!("{}: {e}", key.display())))?;
    Ok(TlsAcceptor::from(Arc::new(server_config(chain, key)?)))
}

/// Serves `app` over TLS until `shutdown` resolves,
/// then waits for the open connections to finish.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (closing_tx, closing_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
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
                    tracing::warn!(error = %e, "accept failed");
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
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        _ = closing.changed() => return,
    };
    let app = app.layer(axum::Extension(ConnectInfo(peer)));
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
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
