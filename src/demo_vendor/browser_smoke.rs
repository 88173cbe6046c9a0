//! A real-browser smoke test of the console's inline JS (disabled button,
//! delayed credentials, XHR-rendered usage table, billing iframe).
//!
//! Ignored by default; run with
//! `cargo test --lib demo_vendor::browser_smoke -- --ignored`
//! (needs `chromedriver` on PATH or in `$CHROMEDRIVER`, and Chromium).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use super::*;

fn wait(c: &fantoccini::Client) -> fantoccini::wait::Wait<'_> {
    c.wait().at_most(Duration::from_secs(10))
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
#[ignore = "needs chromedriver + chromium"]
async fn browser_smoke() {
    let mut config = DemoVendorConfig::fast();
    config.delays.enable_submit = Duration::from_millis(800);
    let vendor = DemoVendor::start(config).await.unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let _driver = Driver(
        Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]}),
    );
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("connect to chromedriver");
    let base = vendor.base_url().to_string();
    let css = Locator::Css;

    // Login + TOTP.
    c.goto(&format!("{base}/customers")).await.unwrap();
    wait(&c).for_element(css("#login-form")).await.unwrap();
    c.find(css("#username"))
        .await
        .unwrap()
        .send_keys("partner@msp.example")
        .await
        .unwrap();
    c.find(css("#password"))
        .await
        .unwrap()
        .send_keys("demo-Passw0rd!")
        .await
        .unwrap();
    c.find(css("#sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let totp = wait(&c).for_element(css("#totp")).await.unwrap();
    totp.send_keys(&vendor.current_totp()).await.unwrap();
    c.find(css("#verify")).await.unwrap().click().await.unwrap();
    wait(&c).for_element(css("table#customers")).await.unwrap();
    assert_eq!(c.find_all(css("tr.customer-row")).await.unwrap().len(), 10);

    // New customer: the button starts disabled and is enabled by JS.
    c.find(css("#new-customer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let create = wait(&c).for_element(css("#create")).await.unwrap();
    assert!(!create.is_enabled().await.unwrap());
    c.find(css("#name"))
        .await
        .unwrap()
        .send_keys("Browser Co")
        .await
        .unwrap();
    let logo = std::env::temp_dir().join(format!("demo-logo-{port}.png"));
    std::fs::write(&logo, b"\x89PNG fake").unwrap();
    c.find(css("#logo"))
        .await
        .unwrap()
        .send_keys(logo.to_str().unwrap())
        .await
        .unwrap();
    c.find(css("#terms")).await.unwrap().click().await.unwrap();
    let mut enabled = false;
    for _ in 0..100 {
        if create.is_enabled().await.unwrap() {
            enabled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(enabled);
    create.click().await.unwrap();
    let pass = wait(&c).for_element(css("#admin-password")).await.unwrap();
    let mut shown = false;
    for _ in 0..50 {
        if pass.is_displayed().await.unwrap() {
            shown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(shown, "credentials shown after the delay");
    let (_, real_pass, _) = vendor.admin_credentials_of("Browser Co").unwrap();
    assert_eq!(pass.text().await.unwrap(), real_pass);
    assert_eq!(
        vendor.customers().last().unwrap().logo,
        Some((format!("demo-logo-{port}.png"), 9))
    );
    let _ = std::fs::remove_file(&logo);

    // Usage: rendered by JS from the XHR.
    c.goto(&format!("{base}/customers/1/usage?period=2026-09"))
        .await
        .unwrap();
    wait(&c).for_element(css("table#usage")).await.unwrap();
    let rows = c.find_all(css("tr.usage-row")).await.unwrap();
    assert!(rows.len() >= 2);
    assert!(c.find_all(css("#usage-loading")).await.unwrap().is_empty());

    // Billing iframe.
    c.goto(&format!("{base}/customers/1/subscriptions"))
        .await
        .unwrap();
    let frame = wait(&c).for_element(css("#billing-frame")).await.unwrap();
    frame.enter_frame().await.unwrap();
    let total = wait(&c).for_element(css("#billing-total")).await.unwrap();
    assert_eq!(total.text().await.unwrap(), "48.00 EUR");

    c.close().await.unwrap();
    vendor.shutdown().await;
}
