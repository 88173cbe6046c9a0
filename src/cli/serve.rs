//! `panelwright serve`: the RMM's HTTP API on the store (see `web`).

use super::exit;
use crate::web::{AppState, ServeConfig};
use crate::webhooks::deliver::{self, DeliveryConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Wait before a failed webhook delivery's first retry; each next wait
    /// is 4 times longer (up to an hour), 8 attempts in all.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration,
          env = "PANELWRIGHT_WEBHOOK_RETRY_INITIAL")]
    pub webhook_retry_initial: Duration,
    /// How often due webhook deliveries are looked for.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration,
          env = "PANELWRIGHT_WEBHOOK_POLL")]
    pub webhook_poll: Duration,
    /// Where the playbooks are, as for the worker and `submit`: a submitted
    /// job's params are checked against its playbook before it is queued.
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
}

/// How long the end of `serve` waits for webhook deliveries in flight
/// (each is bounded by its own timeout, `webhooks::deliver::REQUEST_TIMEOUT`).
const DELIVERY_DRAIN: Duration = Duration::from_secs(15);

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
    // The webhook deliveries run beside the server and stop with it.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliveries = tokio::spawn(crate::webhooks::deliver::run(
        store.clone(),
        DeliveryConfig {
            poll: args.webhook_poll,
            retry: deliver::retry_policy(args.webhook_retry_initial),
            key_file: key_file.map(Path::to_path_buf),
            ..DeliveryConfig::default()
        },
        stopped,
    ));
    let served = crate::web::serve(
        config,
        AppState {
            store,
            secrets_dir: secrets_dir.to_path_buf(),
            key_file: key_file.map(Path::to_path_buf),
            // Only kinds and their submission checks matter here.
            registry: std::sync::Arc::new(crate::jobs::Registry::standard(
                crate::jobs::provision::ProvisionSettings {
                    playbooks_dir: args.playbooks,
                    secrets_dir: secrets_dir.to_path_buf(),
                    ..Default::default()
                },
            )),
        },
        // One line on stdout, so a script (or a test) learns the port.
        |addr| println!("listening on {scheme}://{addr}"),
        super::run::shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    if tokio::time::timeout(DELIVERY_DRAIN, deliveries)
        .await
        .is_err()
    {
        eprintln!("warning: webhook deliveries still in flight at exit are sent again later");
    }
    match served {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::INTERNAL
        }
    }
}
