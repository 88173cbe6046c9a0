//! Where WebDriver sessions come from: a chromedriver we start and supervise
//! (free port, readiness check, restart when it died), or a remote endpoint
//! such as a Selenium Grid.
//!
//! The managed chromedriver runs in its own process group, so that shutting it
//! down (or replacing a crashed one) also ends the Chromium processes it
//! started (they stay in that group). Each group and profile folder is
//! reported to a [`Reaper`], which ends them if this process dies without
//! shutting down (SIGKILL, OOM); [`sweep_orphans`] is the backstop for what
//! even the reaper could not handle (it was killed too, or disabled).

use super::profile::{PROFILE_PREFIX, Profile};
use super::reaper::Reaper;
use super::webdriver::map_new_session_error;
use super::{BrowserError, BrowserResult, SessionOptions, WebDriverBrowser};
use crate::retry::{Attempt, RetryPolicy};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// Longest wait for a freshly spawned chromedriver to report `"ready": true`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one `GET /status` probe.
const STATUS_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between two readiness probes.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Bound on one session creation (starting Chromium included).
pub const NEW_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// Default chromedriver binary (Debian's `chromium-driver`).
pub const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Default W3C capabilities; per-session settings are added on top.
const DEFAULT_CAPABILITIES: &str = include_str!("../../webdriver/capabilities.json");

/// Env: URL of a running WebDriver server (e.g. a Selenium Grid); when set, nothing is spawned.
pub const ENV_WEBDRIVER_URL: &str = "PANELWRIGHT_WEBDRIVER_URL";
/// Env: path of the chromedriver binary to supervise.
pub const ENV_CHROMEDRIVER: &str = "PANELWRIGHT_CHROMEDRIVER";
/// Env: path of the Chromium binary (`goog:chromeOptions.binary`).
pub const ENV_CHROMIUM: &str = "PANELWRIGHT_CHROMIUM";

/// How to reach a WebDriver server.
#[derive(Debug, Clone)]
pub enum DriverEndpoint {
    /// Start `binary` (normally `/usr/bin/chromedriver`) ourselves.
    Managed { binary: PathBuf },
    /// Use an already running WebDriver server at this URL.
    Remote { url: String },
}

impl DriverEndpoint {
    /// `PANELWRIGHT_WEBDRIVER_URL` if set, else a managed chromedriver at
    /// `PANELWRIGHT_CHROMEDRIVER` (default `/usr/bin/chromedriver`).
    pub fn from_env() -> Self {
        match std::env::var(ENV_WEBDRIVER_URL) {
            Ok(url) if !url.trim().is_empty() => Self::Remote {
                url: url.trim().to_string(),
            },
            _ => Self::Managed {
                binary: std::env::var_os(ENV_CHROMEDRIVER)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMEDRIVER)),
            },
        }
    }
}

/// A chromedriver child process we own.
struct ManagedDriver {
    binary: PathBuf,
    child: Child,
    port: u16,
    /// Its process group (= its pid); `None` once we ended the group.
    pgid: Option<u32>,
    reaper: Option<Arc<Reaper>>,
}

impl ManagedDriver {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Spawns chromedriver on a free port and waits until it is ready.
    async fn spawn(binary: PathBuf, reaper: Option<Arc<Reaper>>) -> BrowserResult<Self> {
        if !binary.is_file() {
            return Err(BrowserError::Driver {
                call: "start_chromedriver",
                detail: format!(
                    "chromedriver not found at {} (install it with webdriver/install.sh, \
                     or set {ENV_CHROMEDRIVER} or {ENV_WEBDRIVER_URL})",
                    binary.display()
                ),
            });
        }
        // The port could be taken between our probe and chromedriver's bind: try a few.
        let mut last = None;
        for _ in 0..3 {
            let port = free_port()?;
            let child = Command::new(&binary)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .process_group(0)
                .spawn()
                .map_err(|e| BrowserError::Driver {
                    call: "start_chromedriver",
                    detail: format!("cannot run {}: {e}", binary.display()),
                })?;
            // The group id is the child's pid (spawned with process_group(0)).
            let pgid = child.id();
            // Reported before any Chromium can start in it: from here on, our
            // death ends the group.
            if let (Some(r), Some(pgid)) = (&reaper, pgid) {
                r.watch_group(pgid);
            }
            let mut driver = Self {
                binary: binary.clone(),
                child,
                port,
                pgid,
                reaper: reaper.clone(),
            };
            match wait_ready(&mut driver.child, port).await {
                Ok(()) => {
                    tracing::info!(port, pid = driver.child.id(), "chromedriver ready");
                    return Ok(driver);
                }
                Err(e) => {
                    driver.stop().await;
                    last = Some(e);
                }
            }
        }
        Err(last.expect("at least one attempt"))
    }

    fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the whole process group (chromedriver and the Chromiums it
    /// started) and tells the reaper it is done. Does not wait.
    fn end_group(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            kill_group_of(pgid);
            if let Some(r) = &self.reaper {
                r.forget_group(pgid);
            }
        }
    }

    /// [`Self::end_group`], then reaps chromedriver (at most 5 s).
    async fn stop(&mut self) {
        self.end_group();
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

impl Drop for ManagedDriver {
    fn drop(&mut self) {
        // Not stopped by `shutdown`: take its Chromiums down with it.
        self.end_group();
    }
}

/// An unused profile folder older than this is removed by [`sweep_orphans`].
const STALE_PROFILE_AGE: Duration = Duration::from_secs(60);

/// What `/proc/<pid>` says about a process: (parent, process group, command line).
fn proc_info(pid: u32) -> Option<(u32, u32, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp …`; comm may hold spaces: split after ')'.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(1);
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    Some((ppid, pgrp, cmdline))
}

/// The backstop behind the [`Reaper`]: cleans up after a worker that was
/// killed outright (SIGKILL, OOM, power) when its reaper could not (killed
/// along with it, disabled): its chromedriver and Chromiums live on as
/// orphans, holding memory and a profile folder each. A Chromium with one of our profiles is an orphan when
/// its parent is init, or is a chromedriver whose own parent is init; its
/// whole process group (chromedriver and browsers) is killed. Live workers'
/// browsers always have a live parent chain, so they are left alone. Then
/// profile folders no running process uses are removed.
pub fn sweep_orphans() {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let tmp = std::env::temp_dir();
    let marker = format!("--user-data-dir={}", tmp.join(PROFILE_PREFIX).display());
    let mut in_use = Vec::new();
    for pid in pids {
        let Some((ppid, pgrp, cmdline)) = proc_info(pid) else {
            continue;
        };
        if !cmdline.contains(&marker) {
            continue;
        }
        let orphan = ppid == 1
            || proc_info(ppid)
                .is_some_and(|(grand, _, parent)| grand == 1 && parent.contains("chromedriver"));
        if orphan && pgrp > 1 {
            tracing::warn!(pid, pgrp, "killing a browser left by a worker that died");
            kill_group_of(pgrp);
        } else if let Some(dir) = cmdline
            .split(&marker)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
        {
            in_use.push(format!("{PROFILE_PREFIX}{dir}"));
        }
    }
    if let Ok(dirs) = std::fs::read_dir(&tmp) {
        for d in dirs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            // Old enough not to be a folder another worker is setting up right now.
            let stale = d
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|a| a > STALE_PROFILE_AGE));
            if name.starts_with(PROFILE_PREFIX) && !in_use.contains(&name) && stale {
                let _ = std::fs::remove_dir_all(d.path());
            }
        }
    }
}

/// Kills a whole process group: a chromedriver and its Chromiums.
fn kill_group_of(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn free_port() -> BrowserResult<u16> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|source| BrowserError::Io {
            context: "finding a free port for chromedriver".into(),
            source,
        })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| BrowserError::Io {
            context: "finding a free port for chromedriver".into(),
            source,
        })
}

/// Polls `GET /status` until `"ready": true`, the child exits, or [`READY_TIMEOUT`].
async fn wait_ready(child: &mut Child, port: u16) -> BrowserResult<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BrowserError::Driver {
                call: "start_chromedriver",
                detail: format!("chromedriver exited during startup ({status})"),
            });
        }
        if status_ready(port).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BrowserError::Driver {
                call: "start_chromedriver",
                detail: format!("chromedriver on port {port} not ready after {READY_TIMEOUT:?}"),
            });
        }
        tokio::time::sleep(READY_POLL_INTERVAL).await;
    }
}

/// One bounded `GET /status` over plain HTTP/1.1; true when it says `"ready": true`.
///
/// chromedriver keeps the connection open despite `Connection: close`, so we
/// stop reading as soon as the JSON body is complete.
async fn status_ready(port: u16) -> bool {
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let request =
            format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(parse_status(&response));
            }
            response.extend_from_slice(&buf[..n]);
            if let Some(ready) = parse_status(&response) {
                return Ok(Some(ready));
            }
        }
    };
    matches!(
        tokio::time::timeout(STATUS_PROBE_TIMEOUT, probe).await,
        Ok(Ok::<_, std::io::Error>(Some(true)))
    )
}

/// `Some(ready)` once `response` holds a complete 200 reply with a JSON body.
fn parse_status(response: &[u8]) -> Option<bool> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Some(false);
    }
    // Tolerate chunked framing: parse the outermost JSON object.
    let (start, end) = (body.find('{')?, body.rfind('}')?);
    let v: Value = serde_json::from_str(body.get(start..=end)?).ok()?;
    Some(v.get("value")?.get("ready")?.as_bool().unwrap_or(false))
}

/// Builds the W3C capabilities for one session from `webdriver/capabilities.json`.
fn capabilities(
    options: &SessionOptions,
    user_data_dir: Option<&std::path::Path>,
    managed: bool,
) -> BrowserResult<Map<String, Value>> {
    let bad = |detail: String| BrowserError::Driver {
        call: "new_session",
        detail,
    };
    let mut caps: Map<String, Value> = serde_json::from_str(DEFAULT_CAPABILITIES)
        .map_err(|e| bad(format!("webdriver/capabilities.json: {e}")))?;
    let chrome = caps
        .entry("goog:chromeOptions")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| bad("goog:chromeOptions is not an object".into()))?;

    let mut args: Vec<String> = chrome
        .get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    args.retain(|a| {
        !a.starts_with("--window-size=")
            && !a.starts_with("--user-data-dir=")
            && (options.headless || !a.starts_with("--headless"))
    });
    if options.headless && !args.iter().any(|a| a.starts_with("--headless")) {
        args.push("--headless=new".into());
    }
    args.push(format!(
        "--window-size={},{}",
        options.window.0, options.window.1
    ));
    if let Some(dir) = user_data_dir {
        args.push(format!("--user-data-dir={}", dir.display()));
    }
    args.extend(options.extra_args.iter().cloned());
    chrome.insert(
        "args".into(),
        Value::Array(args.into_iter().map(Value::String).collect()),
    );

    match std::env::var(ENV_CHROMIUM) {
        Ok(bin) if !bin.is_empty() => {
            chrome.insert("binary".into(), Value::String(bin));
        }
        // A remote node has its own Chromium; our local default path means nothing there.
        _ if !managed => {
            chrome.remove("binary");
        }
        _ => {}
    }
    Ok(caps)
}

/// Starts (or points at) a WebDriver server and hands out sessions.
pub struct DriverSupervisor {
    endpoint: DriverEndpoint,
    /// The managed chromedriver; `None` for a remote endpoint.
    managed: Option<Mutex<ManagedDriver>>,
    /// Ends our chromedrivers, Chromiums and profiles if this process dies;
    /// `None` for a remote endpoint (nothing local to end) or when it could not start.
    reaper: Option<Arc<Reaper>>,
    /// Current URL and pid, readable without awaiting.
    current: std::sync::Mutex<(String, Option<u32>)>,
}

impl DriverSupervisor {
    pub async fn start(endpoint: DriverEndpoint) -> BrowserResult<Self> {
        match &endpoint {
            DriverEndpoint::Managed { binary } => {
                sweep_orphans();
                let reaper = Reaper::start().map(Arc::new);
                let driver = ManagedDriver::spawn(binary.clone(), reaper.clone()).await?;
                let current = (driver.url(), driver.child.id());
                Ok(Self {
                    endpoint,
                    managed: Some(Mutex::new(driver)),
                    reaper,
                    current: std::sync::Mutex::new(current),
                })
            }
            DriverEndpoint::Remote { url } => {
                let mut url = url.clone();
                if !url.ends_with('/') {
                    url.push('/');
                }
                Ok(Self {
                    endpoint,
                    managed: None,
                    reaper: None,
                    current: std::sync::Mutex::new((url, None)),
                })
            }
        }
    }

    /// The endpoint this supervisor was started with.
    pub fn endpoint(&self) -> &DriverEndpoint {
        &self.endpoint
    }

    /// The WebDriver server's base URL (with a trailing `/`).
    pub fn url(&self) -> String {
        self.current.lock().expect("not poisoned").0.clone()
    }

    /// The managed chromedriver's pid (`None` for a remote endpoint).
    pub fn driver_pid(&self) -> Option<u32> {
        self.current.lock().expect("not poisoned").1
    }

    /// Makes sure the managed chromedriver is alive (restarting it if it died); returns the URL.
    async fn ensure_running(&self) -> BrowserResult<String> {
        let Some(managed) = &self.managed else {
            return Ok(self.url());
        };
        let mut driver = managed.lock().await;
        if driver.has_exited() {
            let old_pid = self.driver_pid();
            tracing::warn!(?old_pid, "chromedriver has exited; restarting it");
            // Its orphaned Chromiums are still in its group.
            driver.end_group();
            *driver = ManagedDriver::spawn(driver.binary.clone(), self.reaper.clone()).await?;
            *self.current.lock().expect("not poisoned") = (driver.url(), driver.child.id());
        }
        Ok(driver.url())
    }

    /// A new session (a new Chromium with a fresh profile).
    pub async fn new_session(&self, options: &SessionOptions) -> BrowserResult<WebDriverBrowser> {
        let managed = self.managed.is_some();
        let profile = if managed {
            Some(Profile::create(self.reaper.clone())?)
        } else {
            None
        };
        let caps = capabilities(options, profile.as_ref().map(Profile::path), managed)?;
        let policy = RetryPolicy {
            initial: Duration::from_millis(200),
            max_interval: Duration::from_secs(1),
            multiplier: 2.0,
            jitter: 0.2,
            max_elapsed: Duration::from_secs(10),
        };
        let client = policy
            .run(|| {
                let caps = caps.clone();
                async move {
                    let url = self.ensure_running().await.map_err(Attempt::GiveUp)?;
                    let mut builder = fantoccini::ClientBuilder::rustls().map_err(|e| {
                        Attempt::GiveUp(BrowserError::Driver {
                            call: "new_session",
                            detail: format!("TLS setup: {e}"),
                        })
                    })?;
                    builder.capabilities(caps);
                    match tokio::time::timeout(NEW_SESSION_TIMEOUT, builder.connect(&url)).await {
                        Ok(Ok(client)) => Ok(client),
                        Ok(Err(e)) => {
                            let (err, retry) = map_new_session_error(e);
                            tracing::debug!(error = %err, retry, "session creation failed");
                            Err(if retry {
                                Attempt::Retry(err)
                            } else {
                                Attempt::GiveUp(err)
                            })
                        }
                        Err(_) => Err(Attempt::GiveUp(BrowserError::Timeout {
                            call: "new_session",
                            after: NEW_SESSION_TIMEOUT,
                        })),
                    }
                }
            })
            .await?;
        WebDriverBrowser::from_client(client, options, profile).await
    }

    /// Stops the managed chromedriver (and any Chromium it still runs). The
    /// reaper exits once the last session's profile folder is gone.
    pub async fn shutdown(self) {
        if let Some(managed) = self.managed {
            managed.into_inner().stop().await;
        }
    }
}
