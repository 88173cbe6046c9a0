//! Files, URLs and references stay where they belong (issue 6 §4): `file:`
//! secret references inside the secrets directory, `upload` files inside
//! the playbook's folder, `include`s and a job's playbook inside the
//! playbooks folder, vendor URLs http(s). Every refusal is also checked to
//! quote nothing of the file it refused: a canary file outside the allowed
//! folder (or /etc/passwd's first line) appears in no output, store file,
//! job event, log or artifact.

use crate::common::worker_env::*;
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::failure::FailureClass;
use panelwright::store::{JobStatus, NewJob, Store};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// A file outside every allowed folder, with a content no output may show.
struct Canary {
    path: PathBuf,
    content: String,
}

impl Canary {
    fn new(dir: &Path, name: &str) -> Self {
        let content = format!("CANARY-{}-outside", rand_suffix());
        let path = dir.join(name);
        // A line that looks like TOML, so a parser error would quote it.
        std::fs::write(&path, format!("{content} = [\n")).unwrap();
        Self { path, content }
    }
}

/// The first line of /etc/passwd (what the observed bugs leaked).
fn passwd_line() -> String {
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

/// `panelwright ARGS` in `cwd`, with no secrets directory from the environment.
fn panelwright(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(cwd)
        .args(args)
        .env_remove("PANELWRIGHT_SECRETS_DIR")
        .env_remove("PANELWRIGHT_STORE")
        .env_remove("PANELWRIGHT_BASE_URL")
        .output()
        .unwrap()
}

use crate::output_text as text;

/// The store file and its WAL, as bytes.
fn store_bytes(store: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = store.as_os_str().to_owned();
        p.push(suffix);
        all.extend(std::fs::read(PathBuf::from(p)).unwrap_or_default());
    }
    all
}

/// None of `secrets` anywhere a worker run leaves text: its logs, the store
/// file, the job's events and error, the artifacts.
async fn assert_nothing_leaked(env: &Env, store: &Store, ids: &[i64], secrets: &[&str]) {
    let mut texts = vec![env.logs().into_bytes(), store_bytes(&env.store)];
    for &id in ids {
        let job = store.job(id).await.unwrap();
        texts.push(job.error_message.unwrap_or_default().into_bytes());
        for e in store.events(id).await.unwrap() {
            texts.push(e.message.into_bytes());
        }
    }
    for (_, bytes) in crate::common::all_files(&env.dir.path().join("artifacts")) {
        texts.push(bytes);
    }
    for secret in secrets {
        for t in &texts {
            assert!(!crate::common::contains(t, secret), "`{secret}` leaked");
        }
    }
}

/// A provision job for the test company with a playbook and params.
async fn provision(store: &Store, key: &str, playbook: &str, params: serde_json::Value) -> i64 {
    let (job, _) = store
        .submit(NewJob {
            kind: "provision".into(),
            vendor_account: Some(ACCOUNT.into()),
            company: Some(COMPANY.into()),
            playbook: Some(playbook.into()),
            params,
            idempotency_key: Some(key.into()),
            ..NewJob::default()
        })
        .await
        .unwrap();
    job.id
}

/// Runs a worker until no job is due; it must exit cleanly.
async fn work(env: &Env, args: &[&str]) {
    let mut args = args.to_vec();
    args.push("--exit-when-idle");
    let mut worker = env.worker(&args);
    let status = tokio::time::timeout(Duration::from_secs(120), worker.wait())
        .await
        .expect("the worker finished")
        .unwrap();
    env.kill_leftovers();
    assert!(status.success(), "{}", env.logs());
}

/// The job failed permanently (failed, not retried to death), with `why`
/// in its error. (An earlier attempt may have failed transiently on a
/// loaded machine, e.g. no browser session in time.)
async fn assert_refused(store: &Store, id: i64, why: &str) -> String {
    let job = store.job(id).await.unwrap();
    let message = job.error_message.clone().unwrap_or_default();
    assert_eq!(job.status, JobStatus::Failed, "job {id}: {message}");
    assert_eq!(job.error_class, Some(FailureClass::Permanent), "{message}");
    assert!(message.contains(why), "job {id}: {message}");
    message
}

fn rmm_with_account(secrets: &str, base_url: &str) -> String {
    format!(
        "[[vendor_accounts]]\nname = \"a\"\nvendor = \"demo-backup\"\nbase_url = \"{base_url}\"\nsecrets = {{ \"login.password\" = \"{secrets}\" }}\n"
    )
}

// `"login.password" = "file:/etc/shadow"` was imported, and the worker typed the file into the vendor's login form.
#[test]
fn secret_file_reference_outside_the_secrets_dir_is_refused_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::write(secrets.join("pass"), "inside").unwrap();
    let canary = Canary::new(dir.path(), "canary.txt");
    std::os::unix::fs::symlink(&canary.path, secrets.join("link")).unwrap();
    let store = dir.path().join("rmm.sqlite");
    let rmm = dir.path().join("rmm.toml");
    let absolute = format!("file:{}", canary.path.display());
    // `store import rmm.toml` with the secrets directory `secrets`.
    let import_rmm = || {
        panelwright(
            dir.path(),
            &[
                "--store",
                "rmm.sqlite",
                "--secrets-dir",
                "secrets",
                "store",
                "import",
                "rmm.toml",
            ],
        )
    };
    for reference in [
        "file:/etc/shadow",
        &absolute,
        "file:../canary.txt",
        "file:link",
    ] {
        std::fs::write(&rmm, rmm_with_account(reference, "http://127.0.0.1:8080")).unwrap();
        let out = import_rmm();
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{reference}: {shown}");
        assert!(
            shown.contains("is refused") && shown.contains("secrets directory"),
            "{reference}: {shown}"
        );
        assert!(!shown.contains(&canary.content), "{shown}");
        assert!(!crate::common::contains(&store_bytes(&store), reference));
    }
    // A reference inside the folder (relative to it) is accepted.
    std::fs::write(&rmm, rmm_with_account("file:pass", "http://127.0.0.1:8080")).unwrap();
    let out = import_rmm();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

// A `file:` reference written straight into the store (bypassing the import) was resolved anywhere when the job ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_file_reference_outside_the_secrets_dir_is_refused_at_run() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let canary = Canary::new(env.dir.path(), "canary.txt");
    let secrets = env.dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::os::unix::fs::symlink(&canary.path, secrets.join("link")).unwrap();
    let store = env.open().await;
    let mut ids = Vec::new();
    let absolute = format!("file:{}", canary.path.display());
    for (i, reference) in [absolute.as_str(), "file:link", "file:../canary.txt"]
        .iter()
        .enumerate()
    {
        // The RMM may write the table directly (docs/store.md).
        rusqlite::Connection::open(&env.store)
            .unwrap()
            .execute(
                "UPDATE vendor_accounts SET secret_refs = json_set(secret_refs, '$.\"login.password\"', ?1) WHERE name = ?2",
                rusqlite::params![reference, ACCOUNT],
            )
            .unwrap();
        let id = provision(
            &store,
            &format!("k{i}"),
            "playbooks/demo-backup/provision.toml",
            serde_json::json!({}),
        )
        .await;
        work(&env, &["--secrets-dir", secrets.to_str().unwrap()]).await;
        assert_refused(&store, id, "is refused").await;
        ids.push(id);
    }
    assert_eq!(env.vendor.request_count("/login"), 0, "no login was tried");
    assert_nothing_leaked(&env, &store, &ids, &[&canary.content]).await;
}

// `upload` with an absolute path from a job parameter sent /etc/passwd to the vendor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_path_from_a_job_parameter_stays_in_the_playbook_folder() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let canary = Canary::new(env.dir.path(), "canary.png");
    let store = env.open().await;
    // Enough `..` to reach `/` from the playbook's folder (`/..` is `/`).
    let relative_out = format!(
        "{}{}",
        "../".repeat(16),
        canary.path.strip_prefix("/").unwrap().display()
    );
    let mut ids = Vec::new();
    for (i, logo) in ["/etc/passwd", canary.path.to_str().unwrap(), &relative_out]
        .iter()
        .enumerate()
    {
        let params = serde_json::json!({ "logo": logo });
        ids.push(
            provision(
                &store,
                &format!("logo-{i}"),
                "playbooks/demo-backup/provision.toml",
                params,
            )
            .await,
        );
    }
    work(&env, &[]).await;
    for &id in &ids {
        assert_refused(&store, id, "upload file refused").await;
    }
    // The form was never sent: no customer, no logo at the vendor.
    assert_eq!(env.vendor.count_customers_named(COMPANY_NAME), 0);
    assert!(env.vendor.customers().iter().all(|c| c.logo.is_none()));
    assert_nothing_leaked(&env, &store, &ids, &[&canary.content, &passwd_line()]).await;
}

// A job's `playbook` read any file, and the check errors then quoted /etc/passwd line by line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_playbook_outside_the_playbooks_dir_is_refused() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let canary = Canary::new(env.dir.path(), "canary.toml");
    // A playbooks folder of our own, with a symlink pointing out of it.
    let playbooks = env.dir.path().join("playbooks");
    std::fs::create_dir(&playbooks).unwrap();
    std::os::unix::fs::symlink(&canary.path, playbooks.join("link.toml")).unwrap();
    let store = env.open().await;
    let mut ids = Vec::new();
    for (i, playbook) in [
        "/etc/passwd",
        canary.path.to_str().unwrap(),
        "../canary.toml",
        "link.toml",
    ]
    .iter()
    .enumerate()
    {
        ids.push(provision(&store, &format!("pb-{i}"), playbook, serde_json::json!({})).await);
    }
    work(&env, &["--playbooks", playbooks.to_str().unwrap()]).await;
    for &id in &ids {
        let message = assert_refused(&store, id, "playbook refused").await;
        assert!(message.contains("is outside"), "{message}");
    }
    assert_eq!(env.vendor.request_count("/login"), 0);
    assert_nothing_leaked(&env, &store, &ids, &[&canary.content, &passwd_line()]).await;
}

// A playbook's `include` read any file, and its parse errors quoted the file.
#[test]
fn include_outside_the_playbooks_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let canary = Canary::new(dir.path(), "canary.toml");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(playbooks.join("vendor")).unwrap();
    let absolute = canary.path.display().to_string();
    for include in ["/etc/passwd", absolute.as_str(), "../../canary.toml"] {
        std::fs::write(
            playbooks.join("vendor/p.toml"),
            format!("[playbook]\nname = \"p\"\nvendor = \"v\"\ninclude = [\"{include}\"]\n\n[[steps]]\nclick = \"#a\"\n"),
        )
        .unwrap();
        let out = panelwright(dir.path(), &["check", "playbooks/vendor/p.toml"]);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{shown}");
        assert!(shown.contains("is outside the playbooks folder"), "{shown}");
        assert!(!shown.contains(&canary.content), "{shown}");
        assert!(!shown.contains(&passwd_line()), "{shown}");
    }
}

// `run --base-url file:///etc/passwd` opened the file in the browser and typed the vendor login into it.
#[test]
fn base_url_that_is_not_http_is_a_command_line_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[playbook]\nname = \"p\"\nvendor = \"v\"\n\n[[steps]]\ngoto = \"{{ vendor.base_url }}\"\n",
    )
    .unwrap();
    for url in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "127.0.0.1:8080",
    ] {
        let out = panelwright(
            dir.path(),
            &[
                "run",
                "p.toml",
                "--base-url",
                url,
                "--artifacts",
                "artifacts",
            ],
        );
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{url}: {shown}");
        assert!(shown.contains("http(s)"), "{shown}");
    }
}

// A vendor account's base URL from the store was opened whatever its scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_base_url_that_is_not_http_fails_the_job_permanently() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    // The import refuses it...
    let rmm = env.dir.path().join("bad-url.toml");
    std::fs::write(
        &rmm,
        rmm_with_account("env:PANELWRIGHT_SECRET_X", "file:///etc/passwd"),
    )
    .unwrap();
    let out = panelwright(
        env.dir.path(),
        &[
            "--store",
            env.store.to_str().unwrap(),
            "store",
            "import",
            rmm.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // ... and a URL written straight into the table fails the job before a browser opens it.
    rusqlite::Connection::open(&env.store)
        .unwrap()
        .execute(
            "UPDATE vendor_accounts SET base_url = 'file:///etc/passwd' WHERE name = ?1",
            [ACCOUNT],
        )
        .unwrap();
    let store = env.open().await;
    let id = env.provision_job(&store, Some("bad-url")).await;
    work(&env, &[]).await;
    assert_refused(&store, id, "http(s)").await;
    assert_nothing_leaked(&env, &store, &[id], &[&passwd_line()]).await;
}
