//! How pages look to a person: times in their own zone with UTC on hover,
//! dark mode when the system asks for it.

use crate::crawl::hostile_store;
use crate::harness::{ADMIN, Console, Eyes};

/// A viewer in Tokyo sees the failed job's time in Tokyo time; hovering
/// shows UTC.
#[tokio::test(flavor = "multi_thread")]
async fn times_are_in_the_viewers_zone_with_utc_on_hover() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = hostile_store(dir.path()).await;
    let console = Console::on(dir, store, &[]).await;
    let eyes = Eyes::open().await;
    eyes.cdp(
        "Emulation.setTimezoneOverride",
        serde_json::json!({ "timezoneId": "Asia/Tokyo" }),
    )
    .await;
    eyes.login(&console, ADMIN).await;
    let time = eyes
        .script(
            "const t = document.querySelector('time[datetime]'); \
             return [t.getAttribute('datetime'), t.getAttribute('title'), t.textContent];",
            vec![],
        )
        .await;
    let (iso, title, shown) = (
        time[0].as_str().unwrap(),
        time[1].as_str().unwrap(),
        time[2].as_str().unwrap(),
    );
    assert!(title.ends_with(" UTC"), "{title}");
    assert!(shown.contains("GMT+9"), "shown in Tokyo time: {shown}");
    // The same instant: the hour shown is nine hours after UTC's.
    let utc_hour: u32 = iso[11..13].parse().unwrap();
    let local_hour = (utc_hour + 9) % 24;
    assert!(
        shown.contains(&format!("{local_hour:02}:")),
        "{shown} vs {iso}"
    );
    eyes.close().await;
}

/// With the system in dark mode the pages are dark (and still readable).
#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_dark_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = hostile_store(dir.path()).await;
    let console = Console::on(dir, store, &[]).await;
    let eyes = Eyes::open().await;
    eyes.login(&console, ADMIN).await;
    let light = background(&eyes).await;
    eyes.cdp(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
    )
    .await;
    let dark = background(&eyes).await;
    assert!(light > 200.0 && dark < 60.0, "light {light}, dark {dark}");
    eyes.screenshot("overview-dark").await;
    eyes.close().await;
}

/// The page background's brightness (0–255).
async fn background(eyes: &Eyes) -> f64 {
    let rgb = eyes
        .script(
            "return getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);",
            vec![],
        )
        .await;
    let c: Vec<f64> = rgb
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}
