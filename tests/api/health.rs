//! The server's own routes: health, readiness, the OpenAPI document, and
//! what an unauthenticated or unknown request gets.

use crate::server::{Server, client, token};

#[tokio::test]
async fn health_readiness_and_the_openapi_document_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let server = Server::start(&store, &[]).await;
    let http = client();

    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let doc: serde_json::Value = server.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert!(doc["paths"]["/readyz"].is_object(), "{doc}");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let missing = http
        .get(server.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(problem["type"], "urn:panelwright:problem:not-found");
    assert_eq!(problem["status"], 404);

    // A token made by the CLI is stored as a hash: its value is nowhere in the file.
    let t = token(&store, "rmm", "viewer", &[]);
    assert!(t.starts_with("pwt_"), "{t}");
    let bytes = std::fs::read(&store).unwrap();
    assert!(!crate::common::contains(&bytes, &t));
    server.stop().await;
}

/// The document `panelwright openapi` prints is the one `serve` answers,
/// it is a valid OpenAPI 3 document (openapi-spec-validator, installed by
/// webdriver/install.sh), and it lists every resource's routes.
#[tokio::test]
async fn the_openapi_document_is_valid_and_lists_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(printed.status.success());
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &printed.stdout).unwrap();
    let validated = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs (webdriver/install.sh installs it)");
    assert!(
        validated.status.success(),
        "the OpenAPI document is invalid: {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );

    let server = Server::start(&store, &[]).await;
    let served: serde_json::Value = server.openapi().await;
    let doc: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(served, doc);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/jobs/{id}/retry",
        "/api/v1/import",
        "/api/v1/companies",
        "/api/v1/companies/{external_id}",
        "/api/v1/vendor-accounts",
        "/api/v1/vendor-customers",
        "/api/v1/products",
        "/api/v1/sku-mappings",
        "/api/v1/agreements",
        "/api/v1/credentials",
        "/api/v1/credentials/{id}",
        "/api/v1/credentials/{id}/reveal",
        "/api/v1/reports/usage",
        "/api/v1/reports/changes",
        "/api/v1/reports/availability",
        "/api/v1/reports/billing",
        "/api/v1/recon/lines/{id}/resolve",
        "/api/v1/export/usage",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/session",
        "/api/v1/audit",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    // Every operation says what it answers, problems included.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no response"
            );
        }
    }
    server.stop().await;
}
