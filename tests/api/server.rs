//! `panelwright serve` as a child process on a store, and the CLI calls the
//! API tests need (tokens).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long `serve` may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A running `panelwright serve`; killed when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its standard error (logs), for the secret scans.
    pub log: PathBuf,
    child: Child,
}

impl Server {
    /// `serve` on `store`, with these extra environment variables (e.g.
    /// `PANELWRIGHT_KEY` for reveals).
    pub async fn start(store: &Path, envs: &[(&str, &str)]) -> Server {
        Self::start_with(store, envs, &[]).await
    }

    /// [`Server::start`] with extra arguments after `serve`.
    pub async fn start_with(store: &Path, envs: &[(&str, &str)], args: &[&str]) -> Server {
        let log = store.with_extension(format!("serve-{}.log", std::process::id()));
        let log = unique(log);
        let mut child = Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--store")
            .arg(store)
            .args([
                "--log",
                "debug",
                "--log-format",
                "json",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_LIMIT, lines.next_line())
            .await
            .expect("serve said where it listens in time")
            .unwrap()
            .unwrap_or_else(|| panic!("serve ended: {}", std::fs::read_to_string(&log).unwrap()));
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        // Keep reading stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { base, log, child }
    }

    /// `base` + `path`.
    /// The OpenAPI document the server serves (no token needed).
    pub async fn openapi(&self) -> serde_json::Value {
        client()
            .get(self.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The logs so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn unique(path: PathBuf) -> PathBuf {
    let mut n = 0;
    let mut p = path.clone();
    while p.exists() {
        n += 1;
        p = path.with_extension(format!("{n}.log"));
    }
    p
}

/// An HTTP client with a bound on every request.
pub fn client() -> reqwest::Client {
    client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `panelwright token create NAME --role ROLE ARGS…` on `store`: the token.
pub fn token(store: &Path, name: &str, role: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(["token", "create", name, "--role", role])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A `reqwest` client builder, after the process's TLS provider is set
/// (reqwest is built without one of its own: see `https::install_crypto_provider`).
pub fn client_builder() -> reqwest::ClientBuilder {
    panelwright::https::install_crypto_provider();
    reqwest::Client::builder()
}
