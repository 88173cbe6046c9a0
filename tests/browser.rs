//! Browser layer against a REAL chromedriver + Chromium and a tiny local site.
//!
//! These tests never skip: without chromedriver they fail and say how to install it
//! (`webdriver/install.sh`), or how to point at a remote one (`PANELWRIGHT_WEBDRIVER_URL`).

use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use panelwright::browser::{
    Browser, BrowserError, DriverEndpoint, DriverSupervisor, ElementAction, ElementState, NotDone,
    PageCondition, ReadKind, SessionOptions, WebDriverBrowser,
};
use std::collections::HashMap;
use std::time::Duration;

const FORM: &str = r#"<!doctype html><html><body>
<form id="f" action="/submitted" method="get">
  <input id="name" name="name" value="old text">
  <select id="plan" name="plan">
    <option value="">--</option>
    <option value="basic">Basic plan</option>
    <option value="pro">Pro plan</option>
  </select>
  <input type="checkbox" id="agree" name="agree">
  <button type="button" id="later" disabled>Later</button>
  <div id="hidden" style="display:none"><span id="hidden-child">secret</span></div>
  <div id="invisible" style="visibility:hidden">x</div>
  <p id="msg" title="greeting">   Hello   world   </p>
  <button type="button" id="clicker"
    onclick="document.getElementById('out').textContent='clicked'">Click</button>
  <span id="out"></span>
</form>
<script>setTimeout(() => { document.getElementById('later').disabled = false; }, 3000);</script>
</body></html>"#;

const UPLOAD: &str = r#"<!doctype html><html><body>
<form method="post" action="/upload" enctype="multipart/form-data">
  <input type="file" id="file" name="file">
</form></body></html>"#;

const FRAME: &str = r#"<!doctype html><html><body>
<p id="outside">Outside</p>
<iframe id="inner" src="/inner"></iframe>
</body></html>"#;

const INNER: &str = r#"<!doctype html><html><body><p id="inside">Inside frame</p></body></html>"#;

const DOWNLOAD: &str = r#"<!doctype html><html><body>
<a id="dl" href="/report.csv">Download report</a></body></html>"#;

const CSV: &str = "account,seats\nacme,12\n";

/// Which events reach the fields: `#field` logs keydown, input and change;
/// `#keys` only keydown (a page that listens to keys).
const EVENTS: &str = r#"<!doctype html><html><body>
<input id="field" value="old">
<input id="keys">
<button type="button" id="other">Other</button>
<p id="log"></p>
<script>
const log = (t) => { document.getElementById('log').textContent += t + ' '; };
const f = document.getElementById('field');
['keydown', 'input', 'change'].forEach(t => f.addEventListener(t, e => log('field:' + t + (e.isTrusted ? '' : ':untrusted'))));
document.getElementById('keys').addEventListener('keydown', () => log('keys:keydown'));
</script>
</body></html>"#;

/// `#go` makes `#flash` exist for 30 ms, one second later: far less than
/// a 100 ms poll; `#under` is covered by `#overlay` until `#lift`'s timer
/// removes it (or for good, on `/covered?forever`).
const TIMING: &str = r#"<!doctype html><html><body>
<button type="button" id="go">Go</button>
<button type="button" id="under">Under</button>
<p id="hits">0</p>
<div id="overlay" style="position:fixed;left:0;top:0;width:100vw;height:100vh;background:rgba(0,0,0,.2)"></div>
<script>
document.getElementById('go').addEventListener('click', () => setTimeout(() => {
  const p = document.createElement('p');
  p.id = 'flash';
  p.textContent = 'now you see me';
  document.body.appendChild(p);
  setTimeout(() => p.remove(), 30);
}, 1000));
document.getElementById('under').addEventListener('click', () => {
  const h = document.getElementById('hits');
  h.textContent = String(Number(h.textContent) + 1);
});
document.getElementById('overlay').addEventListener('click', () => { window.overlayClicked = true; });
if (!location.search.includes('forever')) {
  setTimeout(() => document.getElementById('overlay').remove(), 600);
}
</script>
</body></html>"#;

async fn submitted(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let name = q.get("name").cloned().unwrap_or_default();
    let name = name.replace('&', "&amp;").replace('<', "&lt;");
    Html(format!(
        r#"<!doctype html><html><body><p id="result">Submitted: {name}</p></body></html>"#
    ))
}

async fn report() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"report.csv\"",
            ),
        ],
        CSV,
    )
}

async fn slow() -> Html<&'static str> {
    tokio::time::sleep(Duration::from_secs(20)).await;
    Html("<p>slow</p>")
}

/// A table whose header and footer rows are the same on every "page":
/// `#next` changes only the middle rows, 300 ms later.
const PAGED: &str = r#"<!doctype html><html><body>
<table><tr><th>Name</th></tr><tr class="r"><td>a1</td></tr><tr class="r"><td>a2</td></tr>
<tr><td>2 rows</td></tr></table>
<button type="button" id="next">Next</button>
<script>
document.getElementById('next').addEventListener('click', () => setTimeout(() => {
  document.querySelectorAll('tr.r td').forEach((td, i) => { td.textContent = 'b' + (i + 1); });
}, 300));
</script>
</body></html>"#;

/// A search page: every person, or (after 150 ms, as a console's search
/// takes a moment) those whose name holds `q`. The old page and the results
/// both have rows: only which rows tells them apart.
async fn people(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let q = q.get("q").cloned().unwrap_or_default();
    if !q.is_empty() {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let rows: String = ["Alpha", "Beta", "Gamma"]
        .iter()
        .filter(|n| n.contains(q.as_str()))
        .map(|n| format!(r#"<tr class="row" data-name="{n}"><td>{n}</td></tr>"#))
        .collect();
    let q = q
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    Html(format!(
        r#"<!doctype html><html><body>
<form id="search" action="/people" method="get"><input id="q" name="q" value="{q}">
<button id="go" type="submit">Search</button></form>
<form id="pick" action="/people" method="get"><select id="who" name="q" onchange="this.form.submit()">
<option value="">All</option><option value="Beta">Beta</option></select></form>
<a id="beta" href="/people?q=Beta">Only Beta</a> <a id="empty" href="/nothing">Nothing</a>
<table>{rows}</table><p id="for">for: {q}</p></body></html>"#
    ))
}

/// Requests for `/pixel.png` so far (every fixture site counts its own).
static PIXELS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const PICTURE: &str = r#"<!doctype html><html><body>
<p id="caption">A picture</p><img id="pic" src="/pixel.png?v=2" alt="">
</body></html>"#;

async fn pixel() -> impl IntoResponse {
    PIXELS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // A 1x1 transparent PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    ([(header::CONTENT_TYPE, "image/png")], PNG)
}

/// Serves the fixture site on 127.0.0.1:0; returns its base URL (no trailing slash).
async fn fixture_site() -> String {
    let app = Router::new()
        .route("/form", get(|| async { Html(FORM) }))
        .route("/submitted", get(submitted))
        .route("/upload", get(|| async { Html(UPLOAD) }))
        .route("/frame", get(|| async { Html(FRAME) }))
        .route("/inner", get(|| async { Html(INNER) }))
        .route("/download", get(|| async { Html(DOWNLOAD) }))
        .route("/report.csv", get(report))
        .route("/slow", get(slow))
        .route("/events", get(|| async { Html(EVENTS) }))
        .route("/covered", get(|| async { Html(TIMING) }))
        .route("/picture", get(|| async { Html(PICTURE) }))
        .route("/pixel.png", get(pixel))
        .route("/paged", get(|| async { Html(PAGED) }))
        .route("/people", get(people))
        .route(
            "/nothing",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                axum::http::StatusCode::NO_CONTENT
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fixture server");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// Starts the WebDriver server; a missing chromedriver FAILS the test with a clear message.
async fn supervisor() -> DriverSupervisor {
    let endpoint = DriverEndpoint::from_env();
    match DriverSupervisor::start(endpoint.clone()).await {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot start WebDriver ({endpoint:?}): {e}\n\
             These tests need chromedriver + Chromium: run webdriver/install.sh \
             (or set PANELWRIGHT_WEBDRIVER_URL)."
        ),
    }
}

struct Env {
    sup: DriverSupervisor,
    b: WebDriverBrowser,
    site: String,
}

impl Env {
    async fn new(options: SessionOptions) -> Self {
        let site = fixture_site().await;
        let sup = supervisor().await;
        let b = sup
            .new_session(&options)
            .await
            .expect("new WebDriver session");
        Self { sup, b, site }
    }

    async fn goto(&mut self, path: &str) {
        let url = format!("{}{path}", self.site);
        self.b.goto(&url).await.expect("goto");
    }

    async fn finish(mut self) {
        self.b.close().await.expect("close");
        self.sup.shutdown().await;
    }
}

/// Polls `probe` until the element is actionable, bounded.
async fn wait_actionable(b: &mut WebDriverBrowser, css: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if b.probe(css)
            .await
            .expect("probe")
            .is_some_and(|s| s.actionable())
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never became actionable"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_click_read_and_page_info() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/form").await;
    let b = &mut env.b;

    assert_eq!(
        b.probe("#name").await.unwrap(),
        Some(ElementState {
            displayed: true,
            enabled: true
        })
    );
    assert_eq!(b.probe("#nope").await.unwrap(), None);
    let hidden = b.probe("#hidden").await.unwrap().unwrap();
    assert!(!hidden.displayed);
    let hidden_child = b.probe("#hidden-child").await.unwrap().unwrap();
    assert!(!hidden_child.displayed, "display:none ancestor hides it");
    assert!(!b.probe("#invisible").await.unwrap().unwrap().displayed);
    let later = b.probe("#later").await.unwrap().unwrap();
    assert!(later.displayed && !later.enabled, "disabled at first");
    wait_actionable(b, "#later").await;

    b.click("#clicker").await.unwrap();
    assert_eq!(b.read("#out", &ReadKind::Text).await.unwrap(), "clicked");
    assert!(matches!(
        b.click("#nope").await,
        Err(BrowserError::NoSuchElement { selector }) if selector == "#nope"
    ));
    assert!(matches!(
        b.click("#hidden-child").await,
        Err(BrowserError::NotInteractable { .. })
    ));

    assert_eq!(
        b.read("#msg", &ReadKind::Text).await.unwrap(),
        "Hello world"
    );
    assert_eq!(
        b.read("#msg", &ReadKind::Attr("title".into()))
            .await
            .unwrap(),
        "greeting"
    );
    assert_eq!(b.read("#name", &ReadKind::Value).await.unwrap(), "old text");

    assert!(b.current_url().await.unwrap().ends_with("/form"));
    assert!(b.page_source().await.unwrap().contains("id=\"clicker\""));
    let png = b.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let v = b
        .execute("return arguments[0] + 1;", vec![serde_json::json!(41)])
        .await
        .unwrap();
    assert_eq!(v, serde_json::json!(42));
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fill_select_check_and_press_enter() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/form").await;
    let b = &mut env.b;

    b.fill("#name", "new value").await.unwrap();
    assert_eq!(
        b.read("#name", &ReadKind::Value).await.unwrap(),
        "new value"
    );

    b.select("#plan", "pro").await.unwrap();
    assert_eq!(b.read("#plan", &ReadKind::Value).await.unwrap(), "pro");
    b.select("#plan", "Basic plan").await.unwrap();
    assert_eq!(b.read("#plan", &ReadKind::Value).await.unwrap(), "basic");
    match b.select("#plan", "Enterprise").await {
        Err(BrowserError::NoSuchElement { selector }) => {
            assert!(selector.contains("Enterprise"), "{selector}")
        }
        other => panic!("expected NoSuchElement, got {other:?}"),
    }

    for want in [true, true, false, false, true] {
        b.set_checked("#agree", want).await.unwrap();
        let on = b
            .execute("return document.querySelector('#agree').checked;", vec![])
            .await
            .unwrap();
        assert_eq!(on, serde_json::json!(want));
    }

    // A secret typed into a missing field must not leak into the error.
    let err = b.fill("#nope", "hunter2-secret").await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"));

    b.press(Some("#name"), "\u{E007}").await.unwrap();
    wait_actionable(b, "#result").await;
    assert_eq!(
        b.read("#result", &ReadKind::Text).await.unwrap(),
        "Submitted: new value"
    );
    assert!(b.current_url().await.unwrap().contains("/submitted?"));

    // press without a selector goes to the focused element.
    env.goto("/form").await;
    let b = &mut env.b;
    b.click("#name").await.unwrap();
    b.press(None, "!").await.unwrap();
    assert_eq!(
        b.read("#name", &ReadKind::Value).await.unwrap(),
        "old text!"
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_frames_and_download() {
    let downloads = tempfile::tempdir().unwrap();
    let mut env = Env::new(SessionOptions::default()).await;

    // upload
    env.goto("/upload").await;
    let file_dir = tempfile::tempdir().unwrap();
    let file = file_dir.path().join("invoice-42.txt");
    std::fs::write(&file, "hello upload").unwrap();
    env.b.upload("#file", &file).await.unwrap();
    let value = env.b.read("#file", &ReadKind::Value).await.unwrap();
    assert!(value.ends_with("invoice-42.txt"), "{value}");
    let size = env
        .b
        .execute(
            "return document.querySelector('#file').files[0].size;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(size, serde_json::json!(12));
    assert!(matches!(
        env.b
            .upload("#file", &file_dir.path().join("missing.txt"))
            .await,
        Err(BrowserError::Io { .. })
    ));

    // frames
    env.goto("/frame").await;
    let b = &mut env.b;
    wait_actionable(b, "#inner").await;
    assert_eq!(b.probe("#inside").await.unwrap(), None);
    b.enter_frame("#inner").await.unwrap();
    wait_actionable(b, "#inside").await;
    assert_eq!(
        b.read("#inside", &ReadKind::Text).await.unwrap(),
        "Inside frame"
    );
    assert!(b.page_source().await.unwrap().contains("Inside frame"));
    assert_eq!(b.probe("#outside").await.unwrap(), None);
    b.leave_frame().await.unwrap();
    assert!(b.probe("#outside").await.unwrap().is_some());

    // download
    b.set_download_dir(downloads.path()).await.unwrap();
    env.goto("/download").await;
    env.b.click("#dl").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let got = loop {
        let done: Vec<_> = std::fs::read_dir(downloads.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_none_or(|x| x != "crdownload"))
            .collect();
        if let Some(p) = done.first() {
            break p.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no download appeared in {}",
            downloads.path().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(got.file_name().unwrap(), "report.csv");
    assert_eq!(std::fs::read_to_string(&got).unwrap(), CSV);
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_dir_from_session_options() {
    let downloads = tempfile::tempdir().unwrap();
    let options = SessionOptions {
        download_dir: Some(downloads.path().to_path_buf()),
        ..SessionOptions::default()
    };
    let mut env = Env::new(options).await;
    env.goto("/download").await;
    env.b.click("#dl").await.unwrap();
    let target = downloads.path().join("report.csv");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !target.exists() {
        assert!(tokio::time::Instant::now() < deadline, "no download");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_idempotent_and_later_calls_fail() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/form").await;
    env.b.close().await.unwrap();
    env.b.close().await.unwrap();
    assert!(env.b.is_closed());
    assert!(matches!(
        env.b.goto("about:blank").await,
        Err(BrowserError::SessionLost { .. })
    ));
    assert!(matches!(
        env.b.probe("#name").await,
        Err(BrowserError::SessionLost { .. })
    ));
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_chromedriver_is_restarted() {
    let site = fixture_site().await;
    let sup = supervisor().await;
    let Some(pid) = sup.driver_pid() else {
        panic!("this test needs a managed chromedriver (unset PANELWRIGHT_WEBDRIVER_URL)");
    };
    let mut first = sup.new_session(&SessionOptions::default()).await.unwrap();
    first.goto(&format!("{site}/form")).await.unwrap();

    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The old session is gone, and says so.
    assert!(matches!(
        first.current_url().await,
        Err(BrowserError::SessionLost { .. })
    ));
    // Fails fast from now on, and close() still succeeds.
    assert!(matches!(
        first.probe("#name").await,
        Err(BrowserError::SessionLost { .. })
    ));
    first.close().await.unwrap();

    let mut second = sup.new_session(&SessionOptions::default()).await.unwrap();
    let new_pid = sup.driver_pid().unwrap();
    assert_ne!(new_pid, pid);
    // The dead chromedriver's orphaned Chromium (same process group) was cleaned up.
    // (Killed processes may linger briefly as zombies: look at live ones only.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let ps = std::process::Command::new("ps")
            .args(["-o", "stat=", "-g", &pid.to_string()])
            .output()
            .unwrap();
        let live = String::from_utf8_lossy(&ps.stdout)
            .lines()
            .filter(|stat| !stat.trim_start().starts_with('Z'))
            .count();
        if live == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{live} orphaned process(es) of the killed chromedriver's group {pid}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.goto(&format!("{site}/form")).await.unwrap();
    assert!(second.probe("#name").await.unwrap().is_some());
    second.close().await.unwrap();
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_call_timeout_gives_timeout_and_poisons() {
    let options = SessionOptions {
        call_timeout: Duration::from_millis(500),
        ..SessionOptions::default()
    };
    let mut env = Env::new(options).await;
    let url = format!("{}/slow", env.site);
    let started = std::time::Instant::now();
    match env.b.goto(&url).await {
        Err(BrowserError::Timeout { call, after }) => {
            assert_eq!(call, "goto");
            assert_eq!(after, Duration::from_millis(500));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    // Far below the page's 20 s, with room for a loaded CI machine.
    assert!(started.elapsed() < Duration::from_secs(8));
    let started = std::time::Instant::now();
    assert!(matches!(
        env.b.current_url().await,
        Err(BrowserError::SessionLost { .. })
    ));
    assert!(started.elapsed() < Duration::from_millis(100), "fails fast");
    let started = std::time::Instant::now();
    env.b.close().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "close is bounded"
    );
    env.sup.shutdown().await;
}

async fn log(b: &mut WebDriverBrowser) -> String {
    b.read("#log", &ReadKind::Text).await.unwrap()
}

/// A selector group means whichever part is shown: a hidden match of one
/// part earlier in the page does not hide a shown match of another (the
/// regression: `wait_for = "#saved, #error"` timed out with `#saved` shown
/// because the hidden `#error` came first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_group_means_its_shown_match() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/form").await;
    let b = &mut env.b;
    // `#hidden-child` (display: none) comes before `#msg` and `#clicker`.
    let group = "#hidden-child, #msg";
    let shown = PageCondition::Shown {
        css: group,
        shown: true,
    };
    assert!(b.wait_until(&shown, Duration::ZERO).await.unwrap());
    assert!(b.probe(group).await.unwrap().unwrap().displayed);
    assert_eq!(
        b.read("#hidden-child, #msg", &ReadKind::Text)
            .await
            .unwrap(),
        "Hello world"
    );
    b.click("#hidden-child, #clicker").await.unwrap();
    assert_eq!(b.read("#out", &ReadKind::Text).await.unwrap(), "clicked");
    // Nothing of the group shown: still the first match, hidden.
    let hidden = b.probe("#hidden-child, #invisible").await.unwrap().unwrap();
    assert!(!hidden.displayed);
    env.finish().await;
}

/// A new session starts on `about:blank`, not Debian Chromium's new-tab
/// page (which held the session's first command 1–5 s while it loaded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_session_starts_on_about_blank() {
    let mut env = Env::new(SessionOptions::default()).await;
    assert_eq!(env.b.current_url().await.unwrap(), "about:blank");
    env.finish().await;
}

/// The next page's rows are told apart by all their text: a header and a
/// footer row that every page shares do not hide the change (the
/// regression: a signature of the first and last row never changed, and
/// page 2 was taken for the last page).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_page_of_rows_is_seen_under_a_constant_header_and_footer() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/paged").await;
    let b = &mut env.b;
    let first = b.wait_rows("tr", None, None, Duration::ZERO).await.unwrap();
    assert!(first.ready && first.had_rows, "{first:?}");
    let unchanged = b
        .wait_rows("tr", None, first.signature.as_deref(), Duration::ZERO)
        .await
        .unwrap();
    assert!(!unchanged.ready, "nothing changed yet");
    b.click("#next").await.unwrap();
    let next = b
        .wait_rows(
            "tr",
            None,
            first.signature.as_deref(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(next.ready, "{next:?}");
    assert_ne!(next.signature, first.signature);
    env.finish().await;
}

/// `fill` is one trusted input event (no keys), `change` follows when the
/// next click takes the focus; `type` sends a key per character.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fill_is_one_input_event_and_type_sends_keys() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/events").await;
    let b = &mut env.b;

    b.fill("#field", "new value").await.unwrap();
    assert_eq!(
        b.read("#field", &ReadKind::Value).await.unwrap(),
        "new value"
    );
    assert_eq!(log(b).await, "field:input", "one trusted input event");
    b.click("#other").await.unwrap();
    assert_eq!(log(b).await, "field:input field:change");

    // Clearing is an input event too.
    b.fill("#field", "").await.unwrap();
    assert_eq!(b.read("#field", &ReadKind::Value).await.unwrap(), "");
    assert!(log(b).await.ends_with("field:input"), "{}", log(b).await);

    b.type_text("#keys", "abc").await.unwrap();
    assert_eq!(b.read("#keys", &ReadKind::Value).await.unwrap(), "abc");
    let keys = log(b).await.matches("keys:keydown").count();
    // Control, a, Backspace (clearing with keys), then a key per character.
    assert_eq!(keys, 6, "{}", log(b).await);
    b.type_text("#keys", "xy").await.unwrap();
    assert_eq!(b.read("#keys", &ReadKind::Value).await.unwrap(), "xy");
    assert_eq!(log(b).await.matches("keys:keydown").count(), keys + 5);
    env.finish().await;
}

/// A wait runs in the page: an element that exists for 30 ms (a third of
/// the old poll interval) is seen, and the same wait already satisfied
/// answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_sees_an_element_that_exists_for_30_ms() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/covered?forever").await;
    let b = &mut env.b;
    b.execute(
        "document.getElementById('overlay').remove(); return null;",
        vec![],
    )
    .await
    .unwrap();
    for round in 0..3 {
        b.click("#go").await.unwrap();
        let flash = PageCondition::Shown {
            css: "#flash",
            shown: true,
        };
        assert!(
            b.wait_until(&flash, Duration::from_secs(8)).await.unwrap(),
            "round {round}: the 30 ms element was missed"
        );
        let gone = PageCondition::Shown {
            css: "#flash",
            shown: false,
        };
        assert!(b.wait_until(&gone, Duration::from_secs(8)).await.unwrap());
    }
    let there = PageCondition::Present {
        css: "#go",
        displayed: true,
    };
    assert!(b.wait_until(&there, Duration::ZERO).await.unwrap());
    env.finish().await;
}

/// A covered element is not clicked (the cover is not either): the click
/// waits for it to be uncovered, or says what covers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_covered_element_waits_and_is_clicked_once_uncovered() {
    let mut env = Env::new(SessionOptions::default()).await;
    env.goto("/covered").await;
    let b = &mut env.b;
    let done = b
        .act("#under", &ElementAction::Click, Duration::from_secs(8))
        .await
        .unwrap();
    assert!(done.is_none(), "{done:?}");
    assert_eq!(b.read("#hits", &ReadKind::Text).await.unwrap(), "1");
    let cover = b
        .execute("return window.overlayClicked === true;", vec![])
        .await
        .unwrap();
    assert_eq!(cover, serde_json::json!(false), "the cover was clicked");

    env.goto("/covered?forever").await;
    let b = &mut env.b;
    match b
        .act("#under", &ElementAction::Click, Duration::from_millis(300))
        .await
        .unwrap()
    {
        Some(NotDone::Refused(BrowserError::NotInteractable { selector, detail })) => {
            assert_eq!(selector, "#under");
            assert!(detail.contains("covered by div#overlay"), "{detail}");
        }
        other => panic!("expected a covered refusal, got {other:?}"),
    }
    assert_eq!(b.read("#hits", &ReadKind::Text).await.unwrap(), "0");
    env.finish().await;
}

/// A run blocks images, fonts and media unless its playbook loads them:
/// the picture is never requested, and is with `load = ["images"]`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_block_images_unless_the_playbook_loads_them() {
    use panelwright::engine::{EngineConfig, NoopObserver, RunInputs, run_playbook};
    use panelwright::playbook::Playbook;
    use panelwright::secrets::Redactor;
    use std::sync::atomic::Ordering;

    let mut env = Env::new(SessionOptions::default()).await;
    let artifacts = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        artifacts_dir: artifacts.path().to_path_buf(),
        ..EngineConfig::default()
    };
    let inputs = RunInputs {
        vendor_base_url: env.site.clone(),
        ..RunInputs::default()
    };
    let mut requested = Vec::new();
    for load in ["", "load = [\"images\"]"] {
        let src = format!(
            "[playbook]\nname = \"p\"\nvendor = \"v\"\n{load}\n\n[[steps]]\ngoto = \"{{{{ vendor.base_url }}}}/picture\"\n\n[[steps]]\nwait_for = \"#caption\"\n"
        );
        let playbook = Playbook::parse(std::path::Path::new("p.toml"), &src).unwrap();
        let before = PIXELS.load(Ordering::SeqCst);
        let report = run_playbook(
            &playbook,
            &mut env.b,
            &inputs,
            &config,
            &mut NoopObserver,
            &Redactor::default(),
        )
        .await;
        assert!(report.failure.is_none(), "{:?}", report.failure);
        // The image loads before `load`, which the goto waited for.
        let complete = env
            .b
            .execute(
                "const i = document.getElementById('pic'); return i.complete && i.naturalWidth > 0;",
                vec![],
            )
            .await
            .unwrap();
        requested.push((PIXELS.load(Ordering::SeqCst) - before, complete));
    }
    assert_eq!(
        requested,
        vec![(0, serde_json::json!(false)), (1, serde_json::json!(true))],
        "(requests, shown) without and with `load = [\"images\"]`"
    );
    env.finish().await;
}

/// An action that starts a navigation returns once the page it left is
/// gone: the next look at the page sees the new one, never the old one
/// (whose rows would say the searched-for customer is missing, or there).
/// Repeated, because the old page is only seen when the driver is a moment
/// late to learn of the navigation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_look_after_a_navigating_action_sees_the_new_page() {
    let mut env = Env::new(SessionOptions::default()).await;
    let mut stale = Vec::new();
    for round in 0..12 {
        for how in ["press Enter", "click submit", "click link", "select"] {
            env.goto("/people").await;
            let b = &mut env.b;
            match how {
                "press Enter" => {
                    b.fill("#q", "Beta").await.unwrap();
                    b.press(Some("#q"), "\u{E007}").await.unwrap();
                }
                "click submit" => {
                    b.fill("#q", "Beta").await.unwrap();
                    b.click("#go").await.unwrap();
                }
                // A select whose onchange submits its form.
                "select" => b.select("#who", "Beta").await.unwrap(),
                _ => b.click("#beta").await.unwrap(),
            }
            // One look, no waiting: the results page or nothing.
            let alpha = b.probe("tr.row[data-name='Alpha']").await.unwrap();
            let beta = b.probe("tr.row[data-name='Beta']").await.unwrap();
            if alpha.is_some() || beta.is_none() {
                stale.push(format!("round {round}, {how}"));
            }
        }
    }
    assert!(stale.is_empty(), "the old page was read after: {stale:?}");

    // A navigation that never replaces the page (an empty response) ends
    // the wait: the click returns and the page is still there.
    env.goto("/people").await;
    let t0 = std::time::Instant::now();
    env.b.click("#empty").await.unwrap();
    let took = t0.elapsed();
    assert!(
        env.b.probe("#for").await.unwrap().is_some(),
        "the page stays after a 204"
    );
    assert!(took < Duration::from_secs(5), "the click took {took:?}");
    env.finish().await;
}

#[tokio::test]
async fn missing_chromedriver_is_a_clear_error() {
    let err = DriverSupervisor::start(DriverEndpoint::Managed {
        binary: "/nonexistent/chromedriver".into(),
    })
    .await
    .err()
    .expect("must fail");
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/chromedriver"), "{msg}");
    assert!(msg.contains("webdriver/install.sh"), "{msg}");
}
