//! A console under test: `panelwright serve` on a fresh store, users added
//! with the CLI, and a real Chromium (through chromedriver and fantoccini)
//! looking at it. Screenshots go to `target/console-screens/` so a person
//! can look at what the tests saw.

use crate::server::Server;
use fantoccini::{Client, Locator};
use panelwright::browser::{
    Browser as _, DriverEndpoint, DriverSupervisor, SessionOptions, WebDriverBrowser,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Bound on every browser call the tests make.
pub const CALL: Duration = Duration::from_secs(20);

pub const ADMIN: (&str, &str) = ("alice", "alice's console password 0123");
pub const OPERATOR: (&str, &str) = ("oscar", "oscar's console password 4567");
pub const VIEWER: (&str, &str) = ("vera", "vera's console password 8901");

/// `panelwright user add NAME --role ROLE`, the password on stdin.
pub fn user_add(store: &Path, name: &str, role: &str, password: &str) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(["user", "add", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `panelwright --store STORE ARGS…`: its standard output (it must succeed).
pub fn cli(store: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "panelwright {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A store with the three users, `serve` on it.
pub struct Console {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    pub server: Server,
}

impl Console {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// With extra environment variables for `serve` (e.g. `PANELWRIGHT_KEY`).
    pub async fn start_with(envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("rmm.sqlite");
        Self::on(dir, store, envs).await
    }

    /// `serve` on a store that exists already (filled by the test).
    pub async fn on(dir: tempfile::TempDir, store: PathBuf, envs: &[(&str, &str)]) -> Self {
        Self::on_with(dir, store, envs, &[]).await
    }

    /// [`Console::on`] with extra arguments after `serve`.
    pub async fn on_with(
        dir: tempfile::TempDir,
        store: PathBuf,
        envs: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        for (name, password) in [ADMIN, OPERATOR, VIEWER] {
            let role = match name {
                "alice" => "admin",
                "oscar" => "operator",
                _ => "viewer",
            };
            user_add(&store, name, role, password);
        }
        let server = Server::start_with(&store, envs, args).await;
        Console { dir, store, server }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

/// A headless Chromium under its own chromedriver; close it with [`Eyes::close`].
pub struct Eyes {
    driver: Option<DriverSupervisor>,
    browser: WebDriverBrowser,
}

impl Eyes {
    /// A desktop-sized window (1280×800).
    pub async fn open() -> Self {
        Self::sized(1280, 800).await
    }

    /// A phone in portrait (390×844).
    pub async fn phone() -> Self {
        Self::sized(390, 844).await
    }

    pub async fn sized(width: u32, height: u32) -> Self {
        Self::with_args(width, height, Vec::new()).await
    }

    /// A desktop window with extra Chromium arguments.
    pub async fn with_args(width: u32, height: u32, extra_args: Vec<String>) -> Self {
        let driver = DriverSupervisor::start(DriverEndpoint::from_env())
            .await
            .unwrap_or_else(|e| panic!("chromedriver is needed (bash webdriver/install.sh): {e}"));
        let options = SessionOptions {
            window: (width, height),
            call_timeout: CALL,
            extra_args,
            ..SessionOptions::default()
        };
        let browser = driver
            .new_session(&options)
            .await
            .expect("a Chromium session");
        Eyes {
            driver: Some(driver),
            browser,
        }
    }

    pub fn page(&self) -> &Client {
        self.browser.fantoccini().expect("the session is open")
    }

    /// Opens `url` and waits for the page.
    pub async fn goto(&self, url: &str) {
        tokio::time::timeout(CALL, self.page().goto(url))
            .await
            .expect("the page loaded in time")
            .unwrap();
    }

    pub async fn current_path(&self) -> String {
        let url = tokio::time::timeout(CALL, self.page().current_url())
            .await
            .unwrap()
            .unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The page's HTML as the browser holds it now (the live DOM).
    pub async fn dom(&self) -> String {
        let v = self
            .script("return document.documentElement.outerHTML;", vec![])
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        let v = self.script("return document.body.innerText;", vec![]).await;
        v.as_str().unwrap_or_default().to_string()
    }

    pub async fn script(&self, js: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        tokio::time::timeout(CALL, self.page().execute(js, args))
            .await
            .expect("the script ran in time")
            .unwrap()
    }

    /// Types into the field `name` of the page's forms.
    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        tokio::time::timeout(CALL, el.clear())
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(CALL, el.send_keys(value))
            .await
            .unwrap()
            .unwrap();
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        tokio::time::timeout(CALL, self.page().wait().for_element(Locator::Css(css)))
            .await
            .unwrap_or_else(|_| panic!("`{css}` appeared in time"))
            .unwrap_or_else(|e| panic!("`{css}`: {e}"))
    }

    pub async fn has(&self, css: &str) -> bool {
        tokio::time::timeout(CALL, self.page().find_all(Locator::Css(css)))
            .await
            .unwrap()
            .map(|found| !found.is_empty())
            .unwrap_or(false)
    }

    /// Clicks `css` and waits for the next page (a new document) to load.
    pub async fn click(&self, css: &str) {
        self.script("window.__pwOld = true;", vec![]).await;
        let el = self.find(css).await;
        tokio::time::timeout(CALL, el.click())
            .await
            .unwrap()
            .unwrap();
        for _ in 0..400 {
            let fresh = self
                .script(
                    "return window.__pwOld === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if fresh == true {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("clicking `{css}` led to no new page");
    }

    /// Clicks `css` where the page stays (htmx, a script).
    pub async fn click_here(&self, css: &str) {
        let el = self.find(css).await;
        tokio::time::timeout(CALL, el.click())
            .await
            .unwrap()
            .unwrap();
    }

    /// Waits until the document has loaded.
    pub async fn settle(&self) {
        for _ in 0..200 {
            let state = self.script("return document.readyState;", vec![]).await;
            if state == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the page did not finish loading");
    }

    /// Waits until the page's text contains `needle`.
    pub async fn wait_text(&self, needle: &str, limit: Duration) {
        let start = std::time::Instant::now();
        loop {
            if self.text().await.contains(needle) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "`{needle}` did not appear within {limit:?}; the page says:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Logs in through the form (from the login page).
    pub async fn login(&self, console: &Console, (name, password): (&str, &str)) {
        self.goto(&console.url("/login")).await;
        self.submit_login(name, password).await;
    }

    /// Fills and sends the login form of the page shown now.
    pub async fn submit_login(&self, name: &str, password: &str) {
        self.fill("input[name=name]", name).await;
        self.fill("input[name=password]", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
    }

    /// A PNG of the window, kept as `target/console-screens/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> Vec<u8> {
        let png = tokio::time::timeout(CALL, self.page().screenshot())
            .await
            .unwrap()
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screens");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        png
    }

    /// Every URL the page loaded (the document, scripts, styles, images, frames).
    pub async fn loaded_urls(&self) -> Vec<String> {
        let v = self
            .script(
                "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
                vec![],
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect()
    }

    /// A Chrome DevTools Protocol command, through chromedriver
    /// (`POST /session/{id}/goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> serde_json::Value {
        tokio::time::timeout(CALL, self.page().issue_cmd(Cdp { cmd, params }))
            .await
            .expect("the CDP command answered in time")
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    pub async fn cookies(&self) -> Vec<fantoccini::cookies::Cookie<'static>> {
        tokio::time::timeout(CALL, self.page().get_all_cookies())
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        if let Some(driver) = self.driver.take() {
            driver.shutdown().await;
        }
    }
}

/// chromedriver's door to the DevTools protocol.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
