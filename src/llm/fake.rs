//! A local stand-in for an LLM API in tests, speaking each provider's wire format.
//!
//! It answers from a script (the last step repeats) and records every request with the time
//! it arrived, so tests can count attempts and measure waits without sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What the fake does with one request.
#[derive(Debug, Clone)]
pub(super) enum Step {
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Value,
    },
    /// Never answers, so the client's timeout fires.
    Hang,
}

impl Step {
    pub(super) fn ok(body: Value) -> Step {
        Step::status(200, body)
    }

    pub(super) fn status(status: u16, body: Value) -> Step {
        Step::Reply {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub(super) fn with_header(mut self, name: &'static str, value: &str) -> Step {
        if let Step::Reply { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub(super) method: Method,
    /// Path and query.
    pub(super) path: String,
    pub(super) headers: HeaderMap,
    /// `Null` when the body was empty.
    pub(super) body: Value,
    pub(super) at: Instant,
}

impl Recorded {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Shared {
    /// Steps still to play; the last one repeats.
    script: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<Recorded>>,
}

pub(super) struct FakeLlm {
    base_url: String,
    shared: Arc<Shared>,
}

impl FakeLlm {
    /// Serves `script` on 127.0.0.1 under `prefix` (such as `/v1`). The listener is bound
    /// before this returns, so requests may be sent at once.
    pub(super) async fn start(prefix: &str, script: Vec<Step>) -> FakeLlm {
        assert!(!script.is_empty(), "a fake needs at least one step");
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            requests: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let address = listener.local_addr().expect("local address");
        let router = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, router).await });
        FakeLlm {
            base_url: format!("http://{address}{prefix}"),
            shared,
        }
    }

    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(super) fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("requests lock").clone()
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    shared
        .requests
        .lock()
        .expect("requests lock")
        .push(Recorded {
            method,
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), ToString::to_string),
            headers,
            body,
            at: Instant::now(),
        });
    let step = {
        let mut script = shared.script.lock().expect("script lock");
        if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().cloned()
        }
    };
    match step {
        Some(Step::Reply {
            status,
            headers,
            body,
        }) => {
            let mut response = (
                StatusCode::from_u16(status).expect("scripted status"),
                axum::Json(body),
            )
                .into_response();
            for (name, value) in headers {
                response.headers_mut().insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_str(&value).expect("scripted header"),
                );
            }
            response
        }
        Some(Step::Hang) | None => std::future::pending::<Response>().await,
    }
}

/// A chat completion as OpenAI (and Ollama's `/v1`) sends it.
pub(super) fn openai_reply(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    })
}

pub(super) fn openai_error(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
}

pub(super) fn openai_models() -> Value {
    json!({"object": "list", "data": [{"id": "test-model", "object": "model", "owned_by": "system"}]})
}

/// A `generateContent` answer as Gemini sends it.
pub(super) fn gemini_reply(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "candidates": [{
            "content": {"parts": [{"text": text}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
        }],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": completion_tokens,
            "totalTokenCount": prompt_tokens + completion_tokens,
        },
        "modelVersion": "test-model",
    })
}

pub(super) fn gemini_error(message: &str) -> Value {
    json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})
}

pub(super) fn gemini_model() -> Value {
    json!({"name": "models/test-model", "displayName": "Test", "inputTokenLimit": 1_048_576})
}

/// A Messages API answer as Anthropic sends it.
pub(super) fn anthropic_reply(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "test-model",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
    })
}

pub(super) fn anthropic_error(message: &str) -> Value {
    json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
}

pub(super) fn anthropic_model() -> Value {
    json!({"type": "model", "id": "test-model", "display_name": "Test", "created_at": "2025-01-01T00:00:00Z"})
}
