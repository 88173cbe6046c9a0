//! Every page at once: the console crawled as an admin and as a viewer on a
//! store full of hostile vendor data, a secret credential and a failed job.
//! Every page renders the vendor's words as text, loads only from its own
//! origin, breaks no CSP rule, shows no secret value; a viewer's pages hold
//! no form that changes anything.

use crate::fixtures::{report, seats};
use crate::harness::{ADMIN, Console, Eyes, VIEWER};
use panelwright::failure::FailureClass;
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{CredentialKind, NewCredential, NewJob, Store};
use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::fixtures::HOSTILE_NAME as HOSTILE_CUSTOMER;
/// A SKU with quotes and the end of a script.
pub const HOSTILE_SKU: &str = "BK-\"WS'</script><script>alert(2)</script>";
/// A captured secret: never on a page.
const SECRET: &str = "crawl-secret-Zq7#Vx2!pP";

const RMM: &str = r#"
[[companies]]
external_id = "C-1"
name = "Contoso Dental"

[[companies.sites]]
name = "Head office"

[[companies.sites.machines]]
hostname = "CD-RECEPTION"
serial_number = "SN-CD-0001"
storage_total_gb = 512
storage_free_gb = 240
os = "windows"

[[vendor_accounts]]
name = "backup-a"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"

[[products]]
code = "backup-seat"
name = "Backup per seat"
service = "backup"
metric = "seats"
aggregation = "max"

[[sku_mappings]]
vendor_account = "backup-a"
sku = "BK-WS"
product = "backup-seat"

[[agreements]]
company = "C-1"
product = "backup-seat"
quantity = "5"
unit_price = "12.50"
unit_cost = "7.00"
currency = "EUR"
effective_from = "2026-01-01"
"#;

/// 2026-10-01T00:00:00Z in milliseconds.
const OCTOBER: i64 = 1_790_812_800_000;
const DAY: i64 = 86_400_000;
const OCT: &str = "2026-10";

/// Noon of `day` of October 2026.
fn at(day: i64) -> i64 {
    OCTOBER + (day - 1) * DAY + 12 * 3_600_000
}

/// A store with hostile vendor data everywhere it can be, a secret
/// credential, a failed job and an October reconciliation. Returns the
/// store and its key (hex).
pub async fn hostile_store(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("rmm.sqlite");
    let file = dir.join("rmm.toml");
    std::fs::write(&file, RMM).unwrap();
    let (key, key_hex) = StoreKey::generate();
    let store = Store::open(&path).await.unwrap();
    store.import(&file).await.unwrap();
    let contoso = store.company("C-1").await.unwrap().id;
    store
        .map_vendor_customer("backup-a", "24", HOSTILE_CUSTOMER, Some(contoso))
        .await
        .unwrap();
    report(
        &store,
        "backup-a",
        at(3),
        &[seats("24", HOSTILE_CUSTOMER, "BK-WS", "5", OCT)],
    )
    .await;
    report(
        &store,
        "backup-a",
        at(10),
        &[
            seats("24", HOSTILE_CUSTOMER, "BK-WS", "7", OCT),
            seats("24", HOSTILE_CUSTOMER, HOSTILE_SKU, "1", OCT),
            seats("9", HOSTILE_CUSTOMER, HOSTILE_SKU, "2", OCT),
        ],
    )
    .await;
    let value = secrecy::SecretString::from(SECRET.to_string());
    store
        .put_credential(
            &key,
            NewCredential {
                name: "admin_password",
                kind: CredentialKind::Password,
                company_id: Some(contoso),
                machine_id: None,
                vendor_account: Some("backup-a"),
                job_id: None,
                secret: true,
                value: &value,
            },
        )
        .await
        .unwrap();
    // A job that failed with the vendor's words in its message and params.
    store
        .submit(NewJob {
            kind: "noop".into(),
            company: Some("C-1".into()),
            vendor_account: Some("backup-a".into()),
            params: serde_json::json!({ "note": HOSTILE_CUSTOMER }),
            max_attempts: Some(1),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let (_, lease) = store
        .claim(
            "crawl",
            Duration::from_secs(60),
            vec!["noop".into()],
            vec![],
        )
        .await
        .unwrap()
        .expect("the job is claimed");
    store
        .fail(
            &lease,
            FailureClass::PlaybookBroken,
            &format!("no customer named {HOSTILE_CUSTOMER} ({HOSTILE_SKU})"),
            Duration::ZERO,
        )
        .await
        .unwrap();
    drop(store);
    crate::harness::cli(
        &path,
        &["report", "billing", "--period", "2026-10", "--run"],
    );
    (path, key_hex)
}

/// What one crawl saw.
#[derive(Default)]
struct Crawl {
    pages: Vec<String>,
    texts: String,
}

/// Visits every console page reachable by links from `/` (GET only: a GET
/// never changes anything), checking each; `check` sees each page too.
async fn crawl(console: &Console, eyes: &Eyes, limit: usize) -> Crawl {
    let origin = console.url("");
    let mut seen = BTreeSet::new();
    // Pages by path without the query: three variants of each are enough
    // (a month chart links to the months around it, endlessly).
    let mut variants: std::collections::BTreeMap<String, usize> = Default::default();
    let mut queue = VecDeque::from(["/".to_string()]);
    let mut out = Crawl::default();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || out.pages.len() >= limit {
            continue;
        }
        let bare = path.split('?').next().unwrap_or_default().to_string();
        let n = variants.entry(bare).or_default();
        *n += 1;
        if *n > 3 {
            continue;
        }
        eyes.goto(&console.url(&path)).await;
        out.pages.push(path.clone());
        let status = eyes
            .script(
                "return performance.getEntriesByType('navigation')[0].responseStatus;",
                vec![],
            )
            .await;
        assert_eq!(status, 200, "{path} is linked but answers {status}");
        // The vendor's words stay words: no element or script came from them.
        let planted = eyes
            .script(
                "return document.querySelectorAll('img[src=\"x\"], script:not([src])').length;",
                vec![],
            )
            .await;
        assert_eq!(
            planted, 0,
            "{path}: markup from vendor data became elements"
        );
        let dom = eyes.dom().await;
        assert!(!dom.contains(SECRET), "{path} shows the secret value");
        for url in eyes.loaded_urls().await {
            assert!(url.starts_with(&origin), "{path} loaded {url}");
        }
        out.texts.push_str(&eyes.text().await);
        let links = eyes
            .script(
                "return [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));",
                vec![],
            )
            .await;
        for href in links.as_array().unwrap() {
            let href = href
                .as_str()
                .unwrap()
                .split('#')
                .next()
                .unwrap()
                .to_string();
            let internal = href.starts_with('/') && !href.starts_with("//");
            let asset = href.starts_with("/assets/") || href.starts_with("/api/");
            if internal && !asset && !seen.contains(&href) {
                queue.push_back(href);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_shows_vendor_words_as_text_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (store, key_hex) = hostile_store(dir.path()).await;
    let console = Console::on(dir, store, &[("PANELWRIGHT_KEY", key_hex.as_str())]).await;
    let eyes = Eyes::open().await;
    eyes.login(&console, ADMIN).await;
    let admin = crawl(&console, &eyes, 80).await;
    eprintln!(
        "admin crawled {} pages: {:?}",
        admin.pages.len(),
        admin.pages
    );
    // The vendor's words are shown as written, somewhere.
    assert!(admin.texts.contains(HOSTILE_CUSTOMER));
    assert!(admin.texts.contains(HOSTILE_SKU));
    assert!(!console.server.logs().contains("csp violation"));
    assert!(!console.server.logs().contains(SECRET));
    eyes.close().await;

    // A viewer: the same pages hold no form that changes anything (the
    // logout form aside).
    let eyes = Eyes::open().await;
    eyes.login(&console, VIEWER).await;
    let viewer = crawl(&console, &eyes, 80).await;
    for path in &viewer.pages {
        eyes.goto(&console.url(path)).await;
        let forms = eyes
            .script(
                "return [...document.querySelectorAll('form')].filter(f => f.method === 'post' && f.getAttribute('action') !== '/logout').map(f => f.getAttribute('action'));",
                vec![],
            )
            .await;
        assert_eq!(
            forms,
            serde_json::json!([]),
            "{path}: a viewer sees a change form"
        );
    }
    eyes.close().await;
}
