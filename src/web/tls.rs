//! `serve --tls-cert/--tls-key`: the PEM files, served by `crate::https`.

use super::ServeError;
use axum::Router;
use std::path::Path;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub(super) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    crate::https::acceptor_from_pem(cert, key).map_err(|e| ServeError::Tls(e.to_string()))
}

/// Marks a request that came over `serve`'s own TLS, so that cookies it
/// sets carry `Secure`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServedOverTls;

pub(super) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let router = router.layer(axum::Extension(ServedOverTls));
    crate::https::serve(listener, acceptor, router, shutdown).await;
    Ok(())
}
