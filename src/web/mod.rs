//! `panelwright serve`: the RMM's HTTP API and the operator console, on the
//! same store as the workers.
//!
//! - `app`: builds the router (every route and the OpenAPI document in one place).
//! - `problem`: errors as RFC 9457 problem documents; the one store-fault → HTTP status mapping.
//! - `extract`: JSON bodies with field-naming errors and size limits.
//! - `auth`: the [`auth::Caller`] behind every `/api` route: bearer tokens and roles.
//! - `routes/`: one file per resource.
//! - `tls`: serving HTTPS with rustls (`--tls-cert`, `--tls-key`).
//! - `console`: the operator console's pages, beside `/api/v1`.

mod app;
pub mod auth;
pub mod console;
pub mod extract;
pub mod problem;
mod routes;
mod tls;
pub(crate) use tls::ServedOverTls;

pub use app::{app, openapi};

use crate::store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    /// The folder `file:` secret references must stay inside (as for
    /// `store import` and the worker).
    pub secrets_dir: PathBuf,
    /// Where the store key is read from when a handler needs it (reveals,
    /// webhook secrets): this file, else `$PANELWRIGHT_KEY`
    /// (`secrets::crypto::StoreKey::load`).
    pub key_file: Option<PathBuf>,
    /// The job kinds and their submission checks (built once: a submit
    /// must not rebuild it).
    pub registry: std::sync::Arc<crate::jobs::Registry>,
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// PEM certificate chain and private key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
/// `ready` receives the bound address (the port when `listen` asked for 0).
pub async fn serve(
    config: ServeConfig,
    state: AppState,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let router = app(state);
    match config.tls {
        None => {
            ready(addr);
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?;
        }
        Some((cert, key)) => {
            let acceptor = tls::acceptor(&cert, &key)?;
            ready(addr);
            tls::serve(listener, acceptor, router, shutdown).await?;
        }
    }
    Ok(())
}
