//! End-to-end: the shipped playbooks, real Chromium through real chromedriver,
//! against the demo vendor panel on 127.0.0.1.
//!
//! - provisioning: TOTP login, once-only secrets captured the moment they are read, re-run without duplicates
//! - login failures: wrong password / wrong TOTP seed are permanent failures with artifacts
//! - enrolment: a list param, per-device outputs, no duplicate devices on re-run
//! - customers: pagination across all pages
//! - subscriptions: an iframe and a screenshot
//! - usage: a table rendered by JavaScript after an XHR, and a CSV download
//! - contacts: a framework-style form whose state changes only on input,
//!   change and key events (fill, select, check, and type for a key-only
//!   field); `fill` on that field leaves Save disabled
//! - failures: artifacts written, secrets redacted from every artifact

mod common;

use common::*;
use panelwright::demo_vendor::Contact;
use panelwright::failure::FailureClass;
use serde_json::json;
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_captures_once_only_secrets_and_reruns_without_duplicates() {
    let h = Harness::start().await;
    let mut recorder = Recorder::default();
    let report = h
        .run_with(
            &playbook_path("provision.toml"),
            &[("customer_name", DEMO_CUSTOMER), ("seats", "8")],
            json!({}),
            h.secrets(),
            &mut recorder,
        )
        .await;
    assert_ok(&report);
    let (user, password, api_key) = h
        .vendor
        .admin_credentials_of(DEMO_CUSTOMER)
        .expect("customer exists");
    assert_eq!(text(&report, "admin_username"), user);
    assert_eq!(text(&report, "admin_password"), password);
    assert_eq!(text(&report, "api_key"), api_key);
    assert!(report.output("admin_password").unwrap().secret);
    assert!(report.output("api_key").unwrap().secret);
    assert!(!report.output("admin_username").unwrap().secret);
    assert!(!text(&report, "vendor_customer_id").is_empty());
    // The one-time TOTP code is used, never an output.
    assert!(report.output("otp").is_none());

    // Captured before the next step started (so a worker can store it at once).
    let captured = recorder
        .events
        .iter()
        .position(|e| e == "captured admin_password")
        .unwrap();
    let next_start = recorder
        .events
        .iter()
        .skip(captured)
        .position(|e| e.starts_with("start "))
        .unwrap();
    let end_of_capture = recorder
        .events
        .iter()
        .skip(captured)
        .position(|e| e.starts_with("end "))
        .unwrap();
    assert!(end_of_capture < next_start, "{:?}", recorder.events);

    let customer = h
        .vendor
        .customers()
        .into_iter()
        .find(|c| c.name == DEMO_CUSTOMER)
        .unwrap();
    assert_eq!(customer.seats["BK-WS"], 8);
    assert_eq!(customer.region, "eu-west");
    assert_eq!(
        customer.logo.as_ref().map(|(n, _)| n.as_str()),
        Some("msp-logo.png"),
        "the logo was uploaded"
    );

    // Re-run: looks before it creates, so the vendor still has one customer.
    let again = h
        .run(
            &playbook_path("provision.toml"),
            &[("customer_name", DEMO_CUSTOMER)],
            json!({}),
        )
        .await;
    assert_ok(&again);
    assert_eq!(h.vendor.count_customers_named(DEMO_CUSTOMER), 1);
    assert!(
        again.output("admin_password").is_none(),
        "the secret is shown once only"
    );
    assert_eq!(
        text(&again, "vendor_customer_id"),
        text(&report, "vendor_customer_id")
    );
    let branch = again
        .steps
        .iter()
        .find(|s| s.action == "if" && s.path == "steps[4]")
        .unwrap();
    assert_eq!(branch.note.as_deref(), Some("else"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_a_permanent_failure_with_artifacts() {
    let h = Harness::start().await;
    let mut secrets = h.secrets();
    secrets.insert("login.password", "not-the-password");
    let report = h
        .run_with(
            &playbook_path("provision.toml"),
            &[("customer_name", "Nobody")],
            json!({}),
            secrets,
            &mut Recorder::default(),
        )
        .await;
    let failure = report.failure.clone().expect("must fail");
    assert_eq!(failure.class, FailureClass::Permanent, "{failure:?}");
    assert_eq!(failure.message, "the vendor rejected the login");
    assert_eq!(failure.step, "flows.login[2].then[4].then[0]");
    let names: Vec<String> = report
        .artifacts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"failure.png".to_string()), "{names:?}");
    assert!(names.contains(&"page.html".to_string()), "{names:?}");
    assert!(names.contains(&"trace.json".to_string()), "{names:?}");
    assert_eq!(h.vendor.count_customers_named("Nobody"), 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_totp_seed_is_rejected_at_the_second_factor() {
    let h = Harness::start().await;
    let mut secrets = h.secrets();
    secrets.insert("login.totp_seed", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    let report = h
        .run_with(
            &playbook_path("customers.toml"),
            &[],
            json!({}),
            secrets,
            &mut Recorder::default(),
        )
        .await;
    let failure = report.failure.expect("must fail");
    assert_eq!(failure.class, FailureClass::Permanent, "{failure:?}");
    assert_eq!(failure.message, "the vendor rejected the verification code");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_captures_per_device_outputs_and_never_duplicates() {
    let h = Harness::start().await;
    assert_ok(
        &h.run(
            &playbook_path("provision.toml"),
            &[("customer_name", DEMO_CUSTOMER)],
            json!({}),
        )
        .await,
    );
    let devices = json!({ "devices": [
        { "hostname": "CD-FRONTDESK-01", "serial": "SN-1", "quota_gb": 120, "os": "windows" },
        { "hostname": "CD-SERVER-01", "serial": "SN-2", "quota_gb": 500, "os": "linux" },
    ]});
    let params = [("customer_name", DEMO_CUSTOMER)];
    let report = h
        .run(
            &playbook_path("enrol-devices.toml"),
            &params,
            devices.clone(),
        )
        .await;
    assert_ok(&report);
    let at_vendor = h
        .vendor
        .customers()
        .into_iter()
        .find(|c| c.name == DEMO_CUSTOMER)
        .unwrap()
        .devices;
    assert_eq!(at_vendor.len(), 2);
    for d in &at_vendor {
        assert_eq!(
            text(&report, &format!("licence_key[{}]", d.serial)),
            d.licence_key
        );
        assert!(
            report
                .output(&format!("licence_key[{}]", d.serial))
                .unwrap()
                .secret
        );
        let link = text(&report, &format!("installer_link[{}]", d.serial));
        assert!(
            link.starts_with(h.vendor.base_url()) && link.contains("/downloads/installer/"),
            "{link}"
        );
        assert!(!d.auto_update, "the playbook unticks auto-update");
    }
    assert_eq!(
        at_vendor
            .iter()
            .find(|d| d.serial == "SN-2")
            .unwrap()
            .quota_gb,
        500
    );
    assert_eq!(rows(&report, "devices").len(), 2);

    let again = h
        .run(&playbook_path("enrol-devices.toml"), &params, devices)
        .await;
    assert_ok(&again);
    assert_eq!(
        h.vendor
            .customers()
            .into_iter()
            .find(|c| c.name == DEMO_CUSTOMER)
            .unwrap()
            .devices
            .len(),
        2
    );
    assert!(again.output("licence_key[SN-1]").is_none());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_are_extracted_across_all_pages() {
    let h = Harness::start().await;
    let report = h
        .run(&playbook_path("customers.toml"), &[], json!({}))
        .await;
    assert_ok(&report);
    let got = rows(&report, "customers");
    let mut want: Vec<String> = h.vendor.customers().into_iter().map(|c| c.name).collect();
    want.sort();
    assert_eq!(want.len(), 23);
    let names: Vec<String> = got.iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, want, "every page, in order, no duplicates");
    let acme = h
        .vendor
        .customers()
        .into_iter()
        .find(|c| c.name == "Acme 02")
        .unwrap();
    let row = got.iter().find(|r| r["name"] == "Acme 02").unwrap();
    assert_eq!(row["vendor_ref"], acme.id.to_string());
    assert_eq!(row["seats"], acme.seats.values().sum::<u32>().to_string());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_read_the_billing_iframe_and_take_a_screenshot() {
    let h = Harness::start().await;
    assert_ok(
        &h.run(
            &playbook_path("provision.toml"),
            &[("customer_name", DEMO_CUSTOMER), ("seats", "8")],
            json!({}),
        )
        .await,
    );
    h.vendor.set_seats(DEMO_CUSTOMER, "BK-SRV", 2);
    let report = h
        .run(
            &playbook_path("subscriptions.toml"),
            &[("customer_name", DEMO_CUSTOMER)],
            json!({}),
        )
        .await;
    assert_ok(&report);
    let subs = rows(&report, "subscriptions");
    let seats: Vec<(String, String)> = subs
        .iter()
        .map(|r| (r["sku"].clone(), r["seats"].clone()))
        .collect();
    assert_eq!(
        seats,
        [
            ("BK-WS".into(), "8".into()),
            ("BK-SRV".into(), "2".into()),
            ("BK-M365".into(), "0".into())
        ]
    );
    assert_eq!(text(&report, "billing_plan"), "Partner Silver");
    assert_eq!(
        text(&report, "billing_total"),
        "60.00 EUR",
        "8 × 4.50 + 2 × 12.00"
    );
    let shot = report
        .artifacts
        .iter()
        .find(|p| p.ends_with("subscriptions.png"))
        .expect("screenshot");
    assert!(std::fs::read(shot).unwrap().starts_with(b"\x89PNG"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_table_rendered_by_javascript_and_csv_export_agree() {
    let h = Harness::start().await;
    assert_ok(
        &h.run(
            &playbook_path("provision.toml"),
            &[("customer_name", DEMO_CUSTOMER)],
            json!({}),
        )
        .await,
    );
    let devices = json!({ "devices": [{ "hostname": "H1", "serial": "SN-9", "quota_gb": 50, "os": "windows" }]});
    assert_ok(
        &h.run(
            &playbook_path("enrol-devices.toml"),
            &[("customer_name", DEMO_CUSTOMER)],
            devices,
        )
        .await,
    );
    let report = h
        .run(
            &playbook_path("usage.toml"),
            &[("customer_name", DEMO_CUSTOMER), ("period", "2026-09")],
            json!({}),
        )
        .await;
    assert_ok(&report);
    let table = rows(&report, "usage");
    let csv = rows(&report, "usage_csv");
    assert_eq!(table.len(), 2, "{table:?}");
    assert_eq!(table.len(), csv.len());
    for (t, c) in table.iter().zip(&csv) {
        assert_eq!(
            (&t["sku"], &t["metric"], &t["quantity"]),
            (&c["sku"], &c["metric"], &c["quantity"])
        );
        assert_eq!(c["period"], "2026-09");
    }
    let storage = table
        .iter()
        .find(|r| r["metric"] == "storage_used")
        .unwrap();
    assert_eq!(
        storage["quantity"],
        panelwright::demo_vendor::state::storage_used("SN-9", "2026-09")
    );
    let csv_file = report
        .artifacts
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("csv file kept");
    assert!(
        std::fs::read_to_string(csv_file)
            .unwrap()
            .starts_with("sku,metric,quantity,unit,period")
    );
    h.shutdown().await;
}

/// A failure after a one-time secret was captured: the secret is on the
/// page, yet no artifact may contain it (nor the login secrets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_artifacts_never_contain_secrets() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Break the playbook right after the secrets are captured, on the page that shows them.
    let file = playbook_variant(
        "provision.toml",
        &dir,
        &[(
            "  { click = \"#continue\" },",
            "  { wait_for = \"#this-never-appears\", timeout = \"1s\" },\n  { click = \"#continue\" },",
        )],
    );
    std::fs::copy(
        playbook_path("assets/msp-logo.png"),
        dir.path().join("logo.png"),
    )
    .unwrap();
    let report = h
        .run(
            &file,
            &[("customer_name", "Fabrikam Legal"), ("logo", "logo.png")],
            json!({}),
        )
        .await;
    let failure = report.failure.clone().expect("must fail");
    assert_eq!(failure.class, FailureClass::PlaybookBroken, "{failure:?}");
    assert_eq!(
        failure.message,
        "waited 1s for `#this-never-appears` to appear"
    );
    assert!(failure.step == "steps[4].then[14]", "{}", failure.step);
    // The secrets were captured before the failure and are not lost.
    let (_, password, api_key) = h.vendor.admin_credentials_of("Fabrikam Legal").unwrap();
    assert_eq!(text(&report, "admin_password"), password);

    let files = all_files(h.artifacts.path());
    let html = files
        .iter()
        .find(|(p, _)| p.ends_with("page.html"))
        .expect("page.html")
        .1
        .clone();
    assert!(
        contains(&html, "[redacted:captures.admin_password]"),
        "the page showed the password; it must be redacted"
    );
    assert!(files.iter().any(|(p, _)| p.ends_with("failure.png")));
    assert!(files.iter().any(|(p, _)| p.ends_with("trace.json")));
    let cfg = h.vendor.config();
    for secret in [
        password.as_str(),
        api_key.as_str(),
        cfg.password.as_str(),
        cfg.totp_seed.as_str(),
    ] {
        for (path, bytes) in &files {
            assert!(
                !contains(bytes, secret),
                "{} contains a secret",
                path.display()
            );
        }
        assert!(!format!("{:?}", report.failure).contains(secret));
    }
    h.shutdown().await;
}

/// A copy of a shipped playbook, edited by `(from, to)` replacements (each
/// must apply), next to copies of the shared flows.
fn playbook_variant(name: &str, dir: &tempfile::TempDir, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(playbook_path(name)).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{name} has no `{from}`");
        text = text.replace(from, to);
    }
    let file = dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    for flow in std::fs::read_dir(playbook_path("flows")).unwrap().flatten() {
        std::fs::copy(flow.path(), dir.path().join("flows").join(flow.file_name())).unwrap();
    }
    file
}

/// The contacts of a customer at the vendor.
fn contacts_of(h: &Harness, customer: &str) -> Vec<Contact> {
    h.vendor
        .customer_named(customer)
        .unwrap_or_else(|| panic!("no customer {customer}"))
        .contacts
}

const CONTACT_CUSTOMER: &str = "Acme 02";

/// The page keeps its form state in its script, changed only by events:
/// the name on `input`, the email on `change` (when focus moves on), the
/// role and the box on `change`, the phone on `keydown` alone. Every value
/// the vendor stores went through those events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_contact_sets_a_framework_form_through_its_input_change_and_key_events() {
    let h = Harness::start().await;
    let report = h
        .run(
            &playbook_path("add-contact.toml"),
            &[
                ("customer_name", CONTACT_CUSTOMER),
                ("contact_name", "Ada Lovelace"),
                ("contact_email", "ada@acme02.example"),
                ("role", "technical"),
                // Typed key by key: the page keeps the digits only.
                ("phone", "+44 20-7946 0958"),
                ("primary", "true"),
            ],
            json!({}),
        )
        .await;
    assert_ok(&report);
    let id: u64 = text(&report, "contact_id").parse().expect("a numeric id");
    assert_eq!(
        contacts_of(&h, CONTACT_CUSTOMER),
        [Contact {
            id,
            name: "Ada Lovelace".into(),
            email: "ada@acme02.example".into(),
            role: "technical".into(),
            primary: true,
            phone: "442079460958".into(),
        }]
    );

    // A second one, not primary, with the default role: the box stays
    // unticked and the first contact keeps the mark.
    let again = h
        .run(
            &playbook_path("add-contact.toml"),
            &[
                ("customer_name", CONTACT_CUSTOMER),
                ("contact_name", "Grace Hopper"),
                ("contact_email", "grace@acme02.example"),
                ("phone", "0301234567"),
                ("primary", "false"),
            ],
            json!({}),
        )
        .await;
    assert_ok(&again);
    let contacts = contacts_of(&h, CONTACT_CUSTOMER);
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert_eq!(contacts[0].id, id);
    assert!(contacts[0].primary);
    assert_eq!(
        contacts[1],
        Contact {
            id: text(&again, "contact_id").parse().unwrap(),
            name: "Grace Hopper".into(),
            email: "grace@acme02.example".into(),
            role: "billing".into(),
            primary: false,
            phone: "0301234567".into(),
        }
    );
    h.shutdown().await;
}

/// The phone field listens to key presses only: text inserted by `fill`
/// (one input event, no keys) is put back to what the keys built, the
/// form stays invalid and Save never enables, so the click times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filling_the_key_only_phone_field_leaves_save_disabled_and_the_click_times_out() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = playbook_variant(
        "add-contact.toml",
        &dir,
        &[
            ("type = \"#contact-phone\"", "fill = \"#contact-phone\""),
            (
                "click = \"#save-contact\"\n",
                "click = \"#save-contact\"\ntimeout = \"2s\"\n",
            ),
        ],
    );
    let report = h
        .run(
            &file,
            &[
                ("customer_name", CONTACT_CUSTOMER),
                ("contact_name", "Ada Lovelace"),
                ("contact_email", "ada@acme02.example"),
                ("phone", "442079460958"),
            ],
            json!({}),
        )
        .await;
    let failure = report.failure.clone().expect("Save never enables");
    assert_eq!(failure.class, FailureClass::PlaybookBroken, "{failure:?}");
    assert_eq!(failure.step, "steps[8]", "{failure:?}");
    assert_eq!(
        failure.message,
        "waited 2s for `#save-contact` to become enabled"
    );
    assert!(contacts_of(&h, CONTACT_CUSTOMER).is_empty());
    // The page as it was: no digit reached the form's state.
    let page = all_files(h.artifacts.path())
        .into_iter()
        .find(|(p, _)| p.ends_with("page.html"))
        .expect("page.html")
        .1;
    assert!(
        contains(&page, "<span id=\"phone-digits\">0</span>"),
        "{}",
        String::from_utf8_lossy(&page)
    );
    h.shutdown().await;
}
