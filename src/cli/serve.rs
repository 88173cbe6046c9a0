//! `panelwright serve`: the RMM's HTTP API on the store (see `web`).

use super::exit;
use crate::web::{AppState, ServeConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Keep it on loopback behind a reverse
    /// proxy, or serve HTTPS yourself with --tls-cert and --tls-key.
    #[arg(long, default_value = "127.0.0.1:8440", env = "PANELWRIGHT_LISTEN")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key", env = "PANELWRIGHT_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", env = "PANELWRIGHT_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

pub async fn run(
    args: ServeArgs,
    store_path: &Path,
    secrets_dir: &Path,
    key_file: Option<&Path>,
) -> u8 {
    let Some(store) = super::open_store(store_path).await else {
        return exit::INTERNAL;
    };
    let config = ServeConfig {
        listen: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let served = crate::web::serve(
        config,
        AppState {
            store,
            secrets_dir: secrets_dir.to_path_buf(),
            key_file: key_file.map(Path::to_path_buf),
        },
        // One line on stdout, so a script (or a test) learns the port.
        |addr| println!("listening on {scheme}://{addr}"),
        super::run::shutdown_signal(),
    )
    .await;
    match served {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::INTERNAL
        }
    }
}
