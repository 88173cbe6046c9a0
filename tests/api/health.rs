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

    let doc: serde_json::Value = http
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
