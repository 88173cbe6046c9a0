//! HTTPS for the demo vendor: a fresh self-signed certificate per start,
//! served by `crate::https`.

use std::io;
use std::sync::Arc;

use axum::Router;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// The host name of the HTTPS base URL; the certificate's first name.
pub(crate) const HOST_NAME: &str = "localhost";
/// Every name the certificate is valid for (the IP becomes an IP SAN).
const CERT_NAMES: [&str; 2] = [HOST_NAME, "127.0.0.1"];
/// The certificate's subject common name.
const CERT_COMMON_NAME: &str = "panelwright demo vendor";

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
        let config = crate::https::server_config(vec![certificate.der().clone()], private_key)?;
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
    shutdown: oneshot::Receiver<()>,
) {
    crate::https::serve(listener, acceptor, app, async move {
        let _ = shutdown.await;
    })
    .await
}
