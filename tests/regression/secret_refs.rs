//! What a vendor account may name, and which key may write the store (issue
//! 18 §1): no user info in a vendor URL, `env:` references only to
//! `PANELWRIGHT_SECRET_*` variables, and a store that refuses another key.
//! Each refusal is checked to show no password, no key, no value: the real
//! binary on real store files, its output, the store's bytes, the job's
//! error and events and the worker's logs are scanned.

use crate::common::worker_env::*;
use crate::output_text as text;
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::failure::FailureClass;
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{CredentialKind, EventKind, JobStatus, NewCredential, NewJob, Store};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// Environment variables of one command.
type Vars<'a> = &'a [(&'a str, &'a str)];

/// `panelwright ARGS` in `cwd`, with none of panelwright's variables from
/// the environment but `envs`.
fn panelwright(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"));
    cmd.current_dir(cwd).args(args);
    for var in [
        "PANELWRIGHT_SECRETS_DIR",
        "PANELWRIGHT_STORE",
        "PANELWRIGHT_BASE_URL",
        "PANELWRIGHT_KEY",
        "PANELWRIGHT_KEY_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

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

/// `needle` is in none of the job's error and events and the worker logs.
async fn assert_job_shows_nothing(env: &Env, store: &Store, id: i64, needle: &str) {
    let job = store.job(id).await.unwrap();
    let mut texts = vec![
        job.error_message.unwrap_or_default().into_bytes(),
        env.logs().into_bytes(),
    ];
    for e in store.events(id).await.unwrap() {
        texts.push(e.message.into_bytes());
    }
    for t in &texts {
        assert!(!crate::common::contains(t, needle), "`{needle}` leaked");
    }
}

/// A worker that runs until nothing is due; its exit status.
async fn work(env: &Env, envs: &[(&str, &str)]) -> std::process::ExitStatus {
    let mut worker = env.worker_with_env(&["--exit-when-idle"], envs);
    let status = tokio::time::timeout(Duration::from_secs(120), worker.wait())
        .await
        .expect("the worker finished")
        .unwrap();
    env.kill_leftovers();
    status
}

/// A provision job for the test company.
async fn provision(store: &Store) -> i64 {
    let (job, _) = store
        .submit(NewJob {
            kind: "provision".into(),
            vendor_account: Some(ACCOUNT.into()),
            company: Some(COMPANY.into()),
            playbook: Some("playbooks/demo-backup/provision.toml".into()),
            ..NewJob::default()
        })
        .await
        .unwrap();
    job.id
}

/// The job failed permanently with `why` in its error.
async fn assert_refused(store: &Store, id: i64, why: &str) {
    let job = store.job(id).await.unwrap();
    let message = job.error_message.clone().unwrap_or_default();
    assert_eq!(job.status, JobStatus::Failed, "job {id}: {message}");
    assert_eq!(job.error_class, Some(FailureClass::Permanent), "{message}");
    assert!(message.contains(why), "job {id}: {message}");
}

// `base_url = "http://user:pass@host"` was accepted by `store import` and `run`, and a failing `goto` printed the password in the output, the job's error and events, logs and the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_url_with_user_info_is_refused_everywhere_and_never_shown() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let dir = env.dir.path();
    let password = format!("pw-{}-CANARY", rand_suffix());
    let url = format!("http://ops:{password}@127.0.0.1:9/console");
    let store = env.store.to_str().unwrap();

    // store import, TOML and JSON.
    let toml = dir.join("userinfo.toml");
    std::fs::write(
        &toml,
        format!(
            "[[vendor_accounts]]\nname = \"u\"\nvendor = \"demo-backup\"\nbase_url = \"{url}\"\n"
        ),
    )
    .unwrap();
    let json = dir.join("userinfo.json");
    std::fs::write(
        &json,
        format!(
            r#"{{"vendor_accounts": [{{"name": "u", "vendor": "demo-backup", "base_url": "{url}"}}]}}"#
        ),
    )
    .unwrap();
    for file in [&toml, &json] {
        let out = panelwright(
            dir,
            &["--store", store, "store", "import", file.to_str().unwrap()],
            &[],
        );
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{shown}");
        assert!(shown.contains("user info"), "{shown}");
        assert!(!shown.contains(&password), "{shown}");
        assert!(!crate::common::contains(
            &store_bytes(&env.store),
            &password
        ));
    }

    // --base-url of run, record and verify, and PANELWRIGHT_BASE_URL.
    std::fs::write(
        dir.join("p.toml"),
        "[playbook]\nname = \"p\"\nvendor = \"v\"\n\n[[steps]]\ngoto = \"{{ vendor.base_url }}/x\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("scenario")).unwrap();
    let attempts: [(&[&str], Vars<'_>); 4] = [
        (&["run", "p.toml", "--base-url", &url], &[]),
        (&["run", "p.toml"], &[("PANELWRIGHT_BASE_URL", &url)]),
        (
            &["record", "p.toml", "--base-url", &url, "--out", "rec"],
            &[],
        ),
        (&["verify", "scenario", "--base-url", &url], &[]),
    ];
    for (args, envs) in attempts {
        let out = panelwright(dir, args, envs);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {shown}");
        assert!(shown.contains("user info"), "{args:?}: {shown}");
        assert!(!shown.contains(&password), "{args:?}: {shown}");
    }
    assert!(!dir.join("rec").exists());

    // A URL written straight into the store fails the job before a browser
    // opens it, and the password is nowhere.
    rusqlite::Connection::open(&env.store)
        .unwrap()
        .execute(
            "UPDATE vendor_accounts SET base_url = ?2 WHERE name = ?1",
            [ACCOUNT, &url],
        )
        .unwrap();
    let s = env.open().await;
    let id = provision(&s).await;
    assert!(work(&env, &[]).await.success(), "{}", env.logs());
    assert_refused(&s, id, "user info").await;
    assert_job_shows_nothing(&env, &s, id, &password).await;
}

// `"login.username" = "env:PANELWRIGHT_KEY"` imported fine, and the worker typed the store's encryption key into the vendor's login form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_reference_to_another_variable_is_refused_at_import_and_at_run() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let dir = env.dir.path();
    let store = env.store.to_str().unwrap();
    for (var, why) in [
        ("PANELWRIGHT_KEY", "panelwright's own variables"),
        ("HOME", "PANELWRIGHT_SECRET_"),
    ] {
        let rmm = dir.join(format!("{var}.toml"));
        std::fs::write(
            &rmm,
            format!(
                "[[vendor_accounts]]\nname = \"envy\"\nvendor = \"demo-backup\"\nbase_url = \"http://127.0.0.1:9\"\n\
                 secrets = {{ \"login.username\" = \"env:{var}\" }}\n"
            ),
        )
        .unwrap();
        let out = panelwright(
            dir,
            &["--store", store, "store", "import", rmm.to_str().unwrap()],
            &[("PANELWRIGHT_KEY", &env.key_hex)],
        );
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{shown}");
        for part in ["`envy`", "`login.username`", "is refused", why] {
            assert!(shown.contains(part), "{part}: {shown}");
        }
        assert!(!shown.contains(&env.key_hex), "{shown}");
    }
    let s = env.open().await;
    assert!(s.vendor_account("envy").await.is_err());

    // Written straight into the store: the job fails before a browser
    // starts, and the key is nowhere.
    rusqlite::Connection::open(&env.store)
        .unwrap()
        .execute(
            "UPDATE vendor_accounts SET secret_refs = json_set(secret_refs, '$.\"login.username\"', 'env:PANELWRIGHT_KEY') WHERE name = ?1",
            [ACCOUNT],
        )
        .unwrap();
    let id = provision(&s).await;
    assert!(work(&env, &[]).await.success(), "{}", env.logs());
    assert_refused(&s, id, "panelwright's own variables").await;
    assert_job_shows_nothing(&env, &s, id, &env.key_hex).await;
    assert!(!crate::common::contains(
        &store_bytes(&env.store),
        &env.key_hex
    ));
}

/// Stores `admin_password` = `value` for the test company under `key`, as
/// job `job`.
async fn put(
    store: &Store,
    key: &StoreKey,
    job: i64,
    value: &str,
) -> panelwright::store::CredentialWrite {
    let company = store.company(COMPANY).await.unwrap();
    store
        .put_credential(
            key,
            NewCredential {
                name: "admin_password",
                kind: CredentialKind::Password,
                company_id: Some(company.id),
                machine_id: None,
                vendor_account: Some(ACCOUNT),
                job_id: Some(job),
                secret: true,
                value: &SecretString::from(value.to_string()),
            },
        )
        .await
        .unwrap()
}

async fn noop(store: &Store) -> i64 {
    let (job, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            ..NewJob::default()
        })
        .await
        .unwrap();
    job.id
}

// A re-run with another key logged `rotated` for an unchanged value and wrote the new current row under the wrong key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_written_with_another_key_is_refused_not_rotated() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let s = env.open().await;
    let job = noop(&s).await;
    let first = put(&s, &env.key(), job, "s3cret-value").await;
    let (other, _) = StoreKey::generate();
    let company = s.company(COMPANY).await.unwrap();
    let refused = s
        .put_credential(
            &other,
            NewCredential {
                name: "admin_password",
                kind: CredentialKind::Password,
                company_id: Some(company.id),
                machine_id: None,
                vendor_account: Some(ACCOUNT),
                job_id: Some(job),
                secret: true,
                value: &SecretString::from("s3cret-value".to_string()),
            },
        )
        .await;
    let message = refused.expect_err("another key must not write").to_string();
    assert!(message.contains("not this store's key"), "{message}");
    let events = s.events(job).await.unwrap();
    assert!(
        !events.iter().any(|e| e.kind == EventKind::Rotated),
        "{events:?}"
    );
    let rows = s.credentials(None, None, true).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].id, first.id);
}

// The required-output check counted current rows that no key here can decrypt as present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecryptable_current_credentials_do_not_count_as_present() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let s = env.open().await;
    let job = noop(&s).await;
    put(&s, &env.key(), job, "decryptable").await;
    let company = s.company(COMPANY).await.unwrap();
    // A row written under some other key (as the bug did).
    rusqlite::Connection::open(&env.store)
        .unwrap()
        .execute(
            "INSERT INTO credentials (name, kind, company_id, vendor_account, job_id, secret, nonce, ciphertext, captured_at)
             VALUES ('licence_key', 'licence_key', ?1, ?2, ?3, 1, zeroblob(24), randomblob(40), 1)",
            rusqlite::params![company.id, ACCOUNT, job],
        )
        .unwrap();
    let current = s
        .current_credential_names(company.id, ACCOUNT)
        .await
        .unwrap();
    assert_eq!(current, ["admin_password"]);
}

// A worker started with the wrong key file ran jobs and wrote under that key; `submit` and `credentials` took any key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_submit_and_credentials_refuse_another_key() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let s = env.open().await;
    let job = noop(&s).await;
    put(&s, &env.key(), job, "s3cret-value").await;
    let queued = noop(&s).await;
    let (_, other_hex) = StoreKey::generate();
    let other_file = env.dir.path().join("other.key");
    std::fs::write(&other_file, &other_hex).unwrap();

    let status = work(&env, &[("PANELWRIGHT_KEY", &other_hex)]).await;
    let logs = env.logs();
    assert_eq!(status.code(), Some(4), "{logs}");
    assert!(logs.contains("not this store's key"), "{logs}");
    assert!(
        logs.contains("environment variable PANELWRIGHT_KEY"),
        "{logs}"
    );
    assert!(
        !logs.contains(&other_hex) && !logs.contains(&env.key_hex),
        "{logs}"
    );
    assert_eq!(status_of(&s, queued).await, JobStatus::Queued);

    let store = env.store.to_str().unwrap();
    let other = other_file.to_str().unwrap();
    let dir = env.dir.path();
    for args in [
        &[
            "--store",
            store,
            "--key-file",
            other,
            "submit",
            "--kind",
            "noop",
        ][..],
        &["--store", store, "--key-file", other, "credentials", "list"][..],
        &[
            "--store",
            store,
            "--key-file",
            other,
            "credentials",
            "show",
            "1",
            "--reveal",
        ][..],
    ] {
        let out = panelwright(dir, args, &[]);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {shown}");
        assert!(shown.contains("not this store's key"), "{shown}");
        assert!(shown.contains(&format!("key file {other}")), "{shown}");
        assert!(
            !shown.contains(&other_hex) && !shown.contains("s3cret-value"),
            "{shown}"
        );
    }
    assert_eq!(s.jobs(Default::default()).await.unwrap().len(), 2);
    // The store's own key still works.
    let out = panelwright(
        dir,
        &["--store", store, "credentials", "list"],
        &[("PANELWRIGHT_KEY", &env.key_hex)],
    );
    assert!(out.status.success(), "{}", text(&out));
}

async fn status_of(store: &Store, id: i64) -> JobStatus {
    store.job(id).await.unwrap().status
}
