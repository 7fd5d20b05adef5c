//! The HTTP server: health, readiness and metrics, over real sockets.

use serde_json::Value as Json;

use crate::support::app::spawn_app;

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app(&[]).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Json>().await.expect("json")["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_with_the_generated_demo_warehouse() {
    let app = spawn_app(&[]).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Json = response.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["warehouse"], "ok");
}

#[tokio::test]
async fn readyz_names_an_unreachable_warehouse_without_its_password() {
    let app = spawn_app(&[(
        "WAREHOUSE_URL",
        "postgres://bot:hunter2@127.0.0.1:1/warehouse",
    )])
    .await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body = response.text().await.expect("body");
    let json: Json = serde_json::from_str(&body).expect("json");
    assert_eq!(json["checks"]["store"], "ok");
    assert!(
        json["checks"]["warehouse"]
            .as_str()
            .is_some_and(|s| s.contains("cannot reach")),
        "{body}"
    );
    assert!(!body.contains("hunter2"));
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app(&[]).await;
    app.get("/healthz").await;
    app.get("/no-such-page").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(text.contains("querybot_build_info"), "{text}");
    assert!(
        text.contains(r#"querybot_http_requests_total{route="/healthz",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
}
