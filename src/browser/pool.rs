//! The browser sessions of a worker: chromedriver started on first need, and
//! logged-in sessions kept per vendor account between jobs.
//!
//! Why reuse: a vendor login (password, TOTP, redirects) costs seconds per
//! job. A session is kept only after a job that did not fail transiently (the
//! browser is then known to work); the playbooks' login flow checks whether
//! the session is still signed in and signs in again when it expired.

use super::{BrowserError, DriverEndpoint, DriverSupervisor, SessionOptions, WebDriverBrowser};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Idle {
    browser: WebDriverBrowser,
    since: Instant,
}

pub struct BrowserPool {
    endpoint: DriverEndpoint,
    options: SessionOptions,
    supervisor: Mutex<Option<DriverSupervisor>>,
    idle: Mutex<HashMap<String, Vec<Idle>>>,
    reuse: bool,
    /// An idle session older than this is closed rather than reused.
    idle_max: Duration,
    /// At most this many idle sessions are kept, all accounts together.
    max_idle: usize,
    pub created: AtomicU64,
    pub reused: AtomicU64,
}

impl BrowserPool {
    pub fn new(endpoint: DriverEndpoint, reuse: bool, idle_max: Duration, max_idle: usize) -> Self {
        Self {
            endpoint,
            options: SessionOptions::default(),
            supervisor: Mutex::new(None),
            idle: Mutex::new(HashMap::new()),
            reuse,
            idle_max,
            max_idle,
            created: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        }
    }

    /// A session for `account`: a kept one if fresh enough, else a new one.
    pub async fn acquire(&self, account: &str) -> Result<WebDriverBrowser, BrowserError> {
        if self.reuse {
            let kept = {
                let mut idle = self.idle.lock().await;
                idle.get_mut(account).and_then(Vec::pop)
            };
            if let Some(k) = kept {
                if k.since.elapsed() < self.idle_max {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(k.browser);
                }
                self.discard(k.browser).await;
            }
        }
        let mut guard = self.supervisor.lock().await;
        if guard.is_none() {
            *guard = Some(DriverSupervisor::start(self.endpoint.clone()).await?);
        }
        let supervisor = guard.as_ref().expect("just started");
        let browser = supervisor.new_session(&self.options).await?;
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(browser)
    }

    /// After a job: keep the session for the account's next job when it is
    /// healthy and reuse is on, else close it.
    pub async fn give_back(&self, account: &str, browser: WebDriverBrowser, healthy: bool) {
        if !(self.reuse && healthy && !browser.is_closed()) {
            self.discard(browser).await;
            return;
        }
        // Keep it, and close what is too old or too many across all accounts:
        // an account that gets no more jobs must not hold a Chromium forever.
        let expired = {
            let mut idle = self.idle.lock().await;
            idle.entry(account.to_string()).or_default().push(Idle {
                browser,
                since: Instant::now(),
            });
            let mut all: Vec<(String, Idle)> = idle
                .drain()
                .flat_map(|(a, v)| v.into_iter().map(move |i| (a.clone(), i)))
                .collect();
            all.sort_by_key(|(_, i)| std::cmp::Reverse(i.since));
            let mut expired = Vec::new();
            for (n, (a, i)) in all.into_iter().enumerate() {
                if n < self.max_idle && i.since.elapsed() < self.idle_max {
                    idle.entry(a).or_default().push(i);
                } else {
                    expired.push(i.browser);
                }
            }
            expired
        };
        for b in expired {
            self.discard(b).await;
        }
    }

    /// Closes a session for good.
    pub async fn discard(&self, mut browser: WebDriverBrowser) {
        use super::Browser;
        if let Err(e) = browser.close().await {
            tracing::debug!("closing a browser session: {e}");
        }
    }

    /// Closes every kept session and stops chromedriver.
    pub async fn shutdown(&self) {
        let all: Vec<Idle> = self
            .idle
            .lock()
            .await
            .drain()
            .flat_map(|(_, v)| v)
            .collect();
        for k in all {
            self.discard(k.browser).await;
        }
        if let Some(s) = self.supervisor.lock().await.take() {
            s.shutdown().await;
        }
    }

    /// The chromedriver process id, when one runs (tests kill it).
    pub async fn driver_pid(&self) -> Option<u32> {
        self.supervisor
            .lock()
            .await
            .as_ref()
            .and_then(DriverSupervisor::driver_pid)
    }
}
