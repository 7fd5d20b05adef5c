//! The fake LLM the whole-binary benchmarks share: an OpenAI-compatible `/v1` on 127.0.0.1
//! that answers every chat completion with one SQL statement after a set latency.

use std::time::Duration;

use axum::Json;
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Serves the fake and returns its base URL (`LLM_BASE_URL`).
pub(crate) async fn fake_llm(sql: &'static str, latency: Duration) -> String {
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(move |Json(request): Json<Value>| async move {
                tokio::time::sleep(latency).await;
                let content = format!("```sql\n{sql}\n```\nThe query.");
                Json(json!({
                    "id": "bench", "object": "chat.completion", "created": 1_700_000_000,
                    "model": request["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                }))
            }),
        )
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": [{"id": "bench"}]})) }),
        );
    format!("http://{}/v1", serve(app).await)
}

/// Serves `app` on a free port of 127.0.0.1 in the background; returns the address.
pub(crate) async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}
