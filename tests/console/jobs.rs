//! The console's `/jobs` pages, with a real worker and the demo vendor:
//!
//! - a job submitted from the form runs, its steps appear live on its page
//!   (no reload), and no secret reaches a page, the live stream or a file;
//! - a failed job shows its step tree (the failing step with its class, a
//!   deep link to it), the masked screenshot and the captured page in a
//!   sandbox where the vendor page's script does not run;
//! - hostile vendor and store text renders as text in the list and the
//!   detail; a viewer sees no write control and a forged cancel is refused;
//!   an operator's cancel is the API's (audit `job.cancel`).

use crate::common::contains;
use crate::common::worker_env::{ACCOUNT, COMPANY, COMPANY_NAME, Env, wait_finished};
use crate::harness::{self, Console, Eyes, OPERATOR, VIEWER};
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::store::{JobStatus, NewJob, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PROVISION: &str = "playbooks/demo-backup/provision.toml";
const HOSTILE: &str = "<img src=x onerror=alert(1)>";
const LIMIT: Duration = Duration::from_secs(120);

/// `serve` on the worker environment's store, with its key.
async fn console_on(env: &Env) -> Console {
    Console::on(
        tempfile::tempdir().unwrap(),
        env.store.clone(),
        &[("PANELWRIGHT_KEY", env.key_hex.as_str())],
    )
    .await
}

/// Waits until `js` (a boolean expression) is true on the page.
async fn wait_js(eyes: &Eyes, what: &str, js: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        if eyes.script(&format!("return !!({js});"), vec![]).await == true {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}; the page says:\n{}",
            eyes.text().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET path` from the page (its session): status, body as text, and the
/// named response headers.
async fn fetch(eyes: &Eyes, path: &str, headers: &[&str]) -> (u16, String, Vec<String>) {
    let v = eyes
        .script(
            "const x = new XMLHttpRequest(); x.open('GET', arguments[0], false); x.send();
             return [x.status, x.responseText, arguments[1].map(h => x.getResponseHeader(h) || '')];",
            vec![path.into(), serde_json::json!(headers)],
        )
        .await;
    let a = v.as_array().unwrap();
    (
        a[0].as_u64().unwrap() as u16,
        a[1].as_str().unwrap().to_string(),
        a[2].as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect(),
    )
}

fn assert_no_secret(what: &str, body: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!body.contains(s.as_str()), "{what} shows the secret `{s}`");
    }
}

/// The job id of a `/jobs/N…` path.
fn id_of(path: &str) -> i64 {
    path.trim_start_matches("/jobs/")
        .split(['?', '#'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not a job page: {path}"))
}

/// Submitted from the form (a refusal first: the error next to its field,
/// the values kept), the provisioning job runs on a real worker; its steps
/// appear on its page while the page stays (no navigation), the status
/// turns to succeeded the same way, and no secret is in the page, the live
/// stream or the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_from_the_console_shows_its_steps_live_and_no_secret() {
    let env = Env::new(DemoVendorConfig::default()).await;
    let console = console_on(&env).await;
    let eyes = Eyes::open().await;
    eyes.login(&console, OPERATOR).await;
    eyes.goto(&console.url("/jobs/new")).await;
    eyes.fill("#company", "C-NO-SUCH").await;
    eyes.fill("#vendor_account", ACCOUNT).await;
    eyes.fill("#playbook", PROVISION).await;
    eyes.fill("#machines", "CD-SERVER-01").await;
    eyes.click("form[action='/jobs'] button[type=submit]").await;
    let error = eyes.find("#company-error").await.text().await.unwrap();
    assert!(error.contains("C-NO-SUCH"), "{error}");
    let kept = eyes
        .script(
            "return [document.querySelector('#vendor_account').value, document.querySelector('#playbook').value, document.querySelector('#kind').value];",
            vec![],
        )
        .await;
    assert_eq!(kept, serde_json::json!([ACCOUNT, PROVISION, "provision"]));
    eyes.fill("#company", COMPANY).await;
    eyes.click("form[action='/jobs'] button[type=submit]").await;
    let path = eyes.current_path().await;
    let id = id_of(&path);
    assert!(eyes.text().await.contains("Job submitted."));
    assert!(eyes.has("#live-steps").await, "a queued job's page is live");

    // The page stays from here on: a new document would lose the mark.
    eyes.script("window.__same = 1;", vec![]).await;
    let mut worker = env.worker(&["--idle-poll", "50ms", "--no-schedules"]);
    wait_js(
        &eyes,
        "a step row streamed in",
        "document.querySelectorAll('#live-steps li.step').length > 0",
        LIMIT,
    )
    .await;
    // Steps arrive while the attempt runs (saved as it goes), not only
    // with its end.
    let store = env.open().await;
    let open = store.attempts(id).await.unwrap();
    assert!(
        open.last().is_some_and(|a| a.ended_at.is_none()),
        "the first step showed while the attempt was still running"
    );
    eyes.script(
        "document.querySelector('#live-steps').scrollIntoView();",
        vec![],
    )
    .await;
    eyes.screenshot("job-running-live").await;
    let first_rows = eyes
        .script(
            "return document.querySelectorAll('#live-steps li.step').length;",
            vec![],
        )
        .await;
    wait_js(
        &eyes,
        "the status turned succeeded",
        "document.querySelector('#live-status').innerText.trim() === 'succeeded'",
        LIMIT,
    )
    .await;
    assert_eq!(
        wait_finished(&store, id, LIMIT).await,
        JobStatus::Succeeded,
        "{}",
        env.logs()
    );
    assert_eq!(
        eyes.script("return window.__same;", vec![]).await,
        1,
        "the page was not reloaded"
    );
    assert!(
        !eyes.has("form[action$='/cancel']").await,
        "the ended job's cancel button went with the stream's end"
    );
    let rows = eyes
        .script(
            "return document.querySelectorAll('#live-steps li.step').length;",
            vec![],
        )
        .await;
    let attempts = store.attempts(id).await.unwrap();
    assert_eq!(
        rows.as_u64().unwrap() as usize,
        attempts[0].trace.len(),
        "every step arrived once (the first look showed {first_rows})"
    );
    eyes.screenshot("jobs-live-succeeded").await;

    // Reloaded: the run report, the outputs as masked metadata.
    eyes.goto(&console.url(&format!("/jobs/{id}"))).await;
    let text = eyes.text().await;
    assert!(text.contains("admin_password"), "{text}");
    assert!(text.contains("steps[0]"), "{text}");
    assert!(!eyes.has("#live-steps").await, "a finished job is not live");
    let _ = worker.kill().await;

    let config = env.vendor.config();
    let (admin_user, admin_password, api_key) = env
        .vendor
        .admin_credentials_of(COMPANY_NAME)
        .expect("the customer was created");
    let secrets = vec![
        config.password.clone(),
        config.totp_seed.clone(),
        admin_password,
        api_key,
    ];
    assert!(!admin_user.is_empty());
    assert_no_secret("the job page", &eyes.dom().await, &secrets);
    let (code, stream, _) = fetch(&eyes, &format!("/jobs/{id}/events?attempt=0"), &[]).await;
    assert_eq!(code, 200);
    assert!(
        stream.contains("event: step") && stream.contains("event: done"),
        "{stream}"
    );
    assert_no_secret("the live stream", &stream, &secrets);
    for path in ["/jobs", &format!("/jobs/{id}")] {
        let (code, body, _) = fetch(&eyes, path, &[]).await;
        assert_eq!(code, 200, "{path}");
        assert_no_secret(path, &body, &secrets);
    }
    eyes.close().await;
    env.kill_leftovers();
}

/// A vendor console of our own that refuses every login, and whose page
/// carries a script that reports (to `/hit`) when it runs inside a frame.
struct HostileVendor {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn hostile_vendor() -> HostileVendor {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let page = format!(
        "<!doctype html><html><head><title>Vendor</title></head><body>\
         <h1>Sign in</h1><p class=\"alert-error\">Sign-in is failing today</p>\
         <form id=\"login-form\"><input id=\"username\"><input id=\"password\" type=\"password\">\
         <button id=\"sign-in\" type=\"button\">Sign in</button></form>\
         <script>if (window.top !== window) {{ try {{ top.document.title = 'pwned'; }} catch (e) {{}} \
         fetch('{url}/hit'); new Image().src = '{url}/hit'; }}</script></body></html>"
    );
    let app = axum::Router::new()
        .route(
            "/hit",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { "" }
            }),
        )
        .fallback(get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    HostileVendor { url, hits }
}

/// A failed provisioning job's page: the step tree with the failing step
/// and its class (a deep link to it), the masked screenshot (it loads),
/// the captured page sandboxed (its script does not run: nothing reaches
/// the vendor's `/hit`), downloads from the store's list only; no secret
/// in any of it. Hostile text is text in the list and the detail. A
/// viewer has no write control and a forged cancel is refused (403, the
/// job unchanged); the operator's cancel and retry are the API's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_shows_its_steps_screenshot_and_sandboxed_page_and_viewers_cannot_change_it() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let vendor = hostile_vendor().await;
    let accounts = env.dir.path().join("hostile.toml");
    std::fs::write(
        &accounts,
        format!(
            "[[vendor_accounts]]\nname = \"hostile-vendor\"\nvendor = \"demo-backup\"\nbase_url = \"{}\"\n\
             secrets = {{ \"login.username\" = \"env:PANELWRIGHT_SECRET_TEST_USER\", \"login.password\" = \"env:PANELWRIGHT_SECRET_TEST_PASSWORD\", \"login.totp_seed\" = \"env:PANELWRIGHT_SECRET_TEST_TOTP\" }}\n",
            vendor.url
        ),
    )
    .unwrap();
    let store: Store = env.open().await;
    store.import(&accounts).await.unwrap();
    let (failing, _) = store
        .submit(NewJob {
            kind: "provision".into(),
            vendor_account: Some("hostile-vendor".into()),
            company: Some(COMPANY.into()),
            playbook: Some(PROVISION.into()),
            params: serde_json::json!({}),
            ..NewJob::default()
        })
        .await
        .unwrap();
    // As an RMM's row may hold anything: hostile company, params, error.
    let (hostile, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            company: Some(HOSTILE.into()),
            params: serde_json::json!({"fail": HOSTILE, "note": HOSTILE}),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let (later, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            run_at: Some(panelwright::store::now_millis() + 3_600_000),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let mut worker = env.worker(&["--idle-poll", "50ms", "--no-schedules"]);
    assert_eq!(
        wait_finished(&store, failing.id, LIMIT).await,
        JobStatus::Failed,
        "{}",
        env.logs()
    );
    assert_eq!(
        wait_finished(&store, hostile.id, LIMIT).await,
        JobStatus::Failed
    );
    let _ = worker.kill().await;
    let console = console_on(&env).await;

    // The viewer: the list, the hostile job, the failed job.
    let eyes = Eyes::open().await;
    eyes.login(&console, VIEWER).await;
    eyes.goto(&console.url("/jobs")).await;
    let list = eyes.text().await;
    assert!(list.contains(HOSTILE), "{list}");
    assert!(
        list.contains("hostile-vendor") && list.contains("permanent"),
        "{list}"
    );
    assert!(!eyes.has("img[src=x]").await, "hostile text became markup");
    assert!(
        !eyes.has("a[href='/jobs/new']").await,
        "a viewer cannot submit"
    );
    eyes.screenshot("jobs-list").await;
    // Filters are in the URL.
    eyes.goto(&console.url("/jobs?status=queued")).await;
    let queued = eyes.text().await;
    assert!(queued.contains(&format!("#{}", later.id)), "{queued}");
    assert!(!queued.contains(&format!("#{}", failing.id)), "{queued}");
    eyes.goto(&console.url("/jobs?kind=report")).await;
    assert!(eyes.text().await.contains("No job matches these filters."));

    eyes.goto(&console.url(&format!("/jobs/{}", hostile.id)))
        .await;
    let detail = eyes.text().await;
    assert!(
        detail.contains(&format!("noop: unknown failure class `{HOSTILE}`")),
        "{detail}"
    );
    assert!(
        detail.matches(HOSTILE).count() >= 4,
        "company, params ×2, error: {detail}"
    );
    assert!(!eyes.has("img[src=x]").await, "hostile text became markup");

    let page = format!("/jobs/{}", failing.id);
    eyes.goto(&console.url(&page)).await;
    let failing_step = eyes.find("li.step.failing").await;
    let step_text = failing_step.text().await.unwrap();
    assert!(
        step_text.contains("permanent") && step_text.contains("the vendor rejected the login"),
        "{step_text}"
    );
    let anchor = failing_step.attr("id").await.unwrap().unwrap();
    assert!(anchor.starts_with("step-flows-login-"), "{anchor}");
    assert!(
        eyes.text().await.contains("failed at flows.login"),
        "the attempt names its failing step"
    );
    wait_js(
        &eyes,
        "the screenshot loaded",
        "document.querySelector('img.failure-shot').complete && document.querySelector('img.failure-shot').naturalWidth > 0",
        Duration::from_secs(20),
    )
    .await;
    let sandbox = eyes
        .script(
            "const f = document.querySelector('iframe.captured-page'); return f ? f.getAttribute('sandbox') : null;",
            vec![],
        )
        .await;
    assert_eq!(sandbox, "", "the captured page is in a bare sandbox");
    wait_js(
        &eyes,
        "the captured page loaded",
        "performance.getEntriesByType('resource').some(e => e.name.endsWith('/page'))",
        Duration::from_secs(20),
    )
    .await;
    // Give a script in the frame every chance to run.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        vendor.hits.load(Ordering::SeqCst),
        0,
        "the page's script ran"
    );
    let title = eyes.script("return document.title;", vec![]).await;
    assert!(title.as_str().unwrap().starts_with("Job #"), "{title}");
    assert!(
        !eyes.has(&format!("form[action='{page}/retry']")).await,
        "a viewer sees no retry"
    );
    eyes.screenshot("job-failed").await;
    eyes.script(
        "document.querySelector('li.step.failing').scrollIntoView();",
        vec![],
    )
    .await;
    eyes.screenshot("job-failed-steps").await;
    eyes.script(
        "document.querySelector('.evidence').scrollIntoView();",
        vec![],
    )
    .await;
    eyes.screenshot("job-failed-evidence").await;
    // A deep link to the failing step lands on it.
    eyes.goto(&console.url(&format!("{page}#{anchor}"))).await;
    let target = eyes
        .script(
            "const t = document.querySelector(':target'); return t ? t.id : '';",
            vec![],
        )
        .await;
    assert_eq!(target, anchor.as_str());

    // The files: only from the store's list, the page sandboxed by its own CSP.
    let (code, captured, headers) = fetch(
        &eyes,
        &format!("{page}/page"),
        &["content-security-policy", "x-frame-options"],
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        captured.contains("fetch("),
        "the vendor's script was captured"
    );
    assert!(
        headers[0].starts_with("sandbox; default-src 'none'"),
        "{headers:?}"
    );
    assert_eq!(headers[1], "SAMEORIGIN");
    let files = store.artifacts(failing.id).await.unwrap();
    assert!(files.iter().any(|(k, _)| k == "png"), "{files:?}");
    let config = env.vendor.config();
    let secrets = vec![config.password.clone(), config.totp_seed.clone()];
    assert_no_secret("the job page", &eyes.dom().await, &secrets);
    assert_no_secret("the captured page", &captured, &secrets);
    for (i, (kind, path)) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        for s in &secrets {
            assert!(!contains(&bytes, s), "the {kind} file holds a secret");
        }
        if kind != "png" {
            let (code, body, headers) = fetch(
                &eyes,
                &format!("{page}/files/{i}"),
                &["content-disposition"],
            )
            .await;
            assert_eq!(code, 200);
            assert!(headers[0].starts_with("attachment;"), "{headers:?}");
            assert_no_secret(kind, &body, &secrets);
        }
    }
    for bad in ["files/99", "files/..%2F..%2Fetc%2Fpasswd", "files/-1"] {
        let (code, _, _) = fetch(&eyes, &format!("{page}/{bad}"), &[]).await;
        assert_eq!(code, 404, "{bad}");
    }
    let (code, _, _) = fetch(&eyes, &format!("/jobs/{}/screenshot", hostile.id), &[]).await;
    assert_eq!(code, 404, "a job without a screenshot");
    for missing in [
        "/jobs/999999",
        "/jobs/abc",
        "/jobs/999999/events",
        "/jobs/999999/page",
    ] {
        let (code, _, _) = fetch(&eyes, missing, &[]).await;
        assert_eq!(code, 404, "{missing}");
    }

    // A viewer: no cancel, and a forged one (with the viewer's own valid
    // CSRF token) is refused and changes nothing.
    eyes.goto(&console.url(&format!("/jobs/{}", later.id)))
        .await;
    assert!(!eyes.has("form[action$='/cancel']").await);
    eyes.goto(&console.url("/jobs/new")).await;
    assert!(eyes.text().await.contains("Not allowed"));
    eyes.goto(&console.url(&format!("/jobs/{}", later.id)))
        .await;
    eyes.script(
        "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
         const t = document.createElement('input'); t.type = 'hidden'; t.name = '_csrf';
         t.value = document.querySelector('input[name=_csrf]').value; f.appendChild(t);
         document.body.appendChild(f); setTimeout(() => f.submit(), 0);",
        vec![format!("/jobs/{}/cancel", later.id).into()],
    )
    .await;
    eyes.wait_text("Not allowed", Duration::from_secs(10)).await;
    assert!(eyes.text().await.contains("Error 403"));
    assert_eq!(store.job(later.id).await.unwrap().status, JobStatus::Queued);
    assert!(
        harness::cli(&console.store, &["job", &later.id.to_string()]).contains("queued"),
        "the job is unchanged"
    );
    eyes.close().await;

    // Phone-sized: the list and the failed job.
    let phone = Eyes::phone().await;
    phone.login(&console, VIEWER).await;
    phone.goto(&console.url("/jobs")).await;
    phone.screenshot("jobs-list-phone").await;
    phone.goto(&console.url(&page)).await;
    phone.screenshot("job-failed-phone").await;
    phone
        .script(
            "document.querySelector('.evidence').scrollIntoView();",
            vec![],
        )
        .await;
    phone.screenshot("job-failed-evidence-phone").await;
    let overflow = phone
        .script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await;
    assert_eq!(overflow, true, "the failed job's page fits a phone's width");
    phone.close().await;

    // The operator cancels the queued job and retries the failed one: the
    // API's transitions, audited as the API audits them.
    let eyes = Eyes::open().await;
    eyes.login(&console, OPERATOR).await;
    eyes.goto(&console.url(&format!("/jobs/{}", later.id)))
        .await;
    eyes.script("window.confirm = () => true;", vec![]).await;
    eyes.click(&format!("form[action='/jobs/{}/cancel'] button", later.id))
        .await;
    assert!(eyes.text().await.contains("Job cancelled"));
    let shown = harness::cli(&console.store, &["job", &later.id.to_string()]);
    assert!(shown.contains("cancelled"), "{shown}");
    let audit = harness::cli(&console.store, &["audit", "--action", "job.cancel"]);
    assert!(
        audit.contains("user:oscar") && audit.contains(&format!("job:{}", later.id)),
        "{audit}"
    );
    eyes.goto(&console.url(&format!("/jobs/{}", hostile.id)))
        .await;
    eyes.click(&format!("form[action='/jobs/{}/retry'] button", hostile.id))
        .await;
    assert!(eyes.text().await.contains("Job queued again."));
    assert_eq!(
        store.job(hostile.id).await.unwrap().status,
        JobStatus::Queued
    );
    let audit = harness::cli(&console.store, &["audit", "--action", "job.retry"]);
    assert!(audit.contains(&format!("job:{}", hostile.id)), "{audit}");
    eyes.close().await;
    env.kill_leftovers();
}

/// The steps so far of a running attempt are saved under its lease only:
/// a stale lease writes nothing, and once the attempt ended its final trace
/// stays (a late save of the worker cannot overwrite it).
#[tokio::test]
async fn the_steps_so_far_are_saved_under_the_lease_only() {
    use panelwright::trace::{AttemptTrace, StepTrace};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("rmm.sqlite")).await.unwrap();
    store
        .submit(NewJob {
            kind: "noop".into(),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let (job, lease) = store
        .claim("w1", Duration::from_secs(60), vec!["noop".into()], vec![])
        .await
        .unwrap()
        .expect("claimed");
    let mut trace = AttemptTrace::default();
    trace.push(StepTrace {
        path: "steps[0]".into(),
        action: "goto".into(),
        branch: None,
        duration_ms: 5,
        error: None,
    });
    assert!(store.save_trace(&lease, trace.clone()).await.unwrap());
    let attempts = store.attempts(job.id).await.unwrap();
    assert_eq!(attempts[0].trace.len(), 1);
    assert!(attempts[0].ended_at.is_none());
    let stale = panelwright::store::Lease {
        token: lease.token + 1,
        ..lease.clone()
    };
    trace.push(StepTrace {
        path: "steps[1]".into(),
        action: "click".into(),
        branch: None,
        duration_ms: 5,
        error: None,
    });
    assert!(!store.save_trace(&stale, trace.clone()).await.unwrap());
    assert_eq!(store.attempts(job.id).await.unwrap()[0].trace.len(), 1);
    assert!(store.complete(&lease, serde_json::json!({})).await.unwrap());
    assert!(!store.save_trace(&lease, trace).await.unwrap());
    let ended = &store.attempts(job.id).await.unwrap()[0];
    assert!(ended.ended_at.is_some());
    assert!(ended.trace.is_empty(), "the end's write is the final word");
}
