//! A scriptable fake of the OpenAI-compatible chat completions API on 127.0.0.1.
//!
//! It speaks the real wire format (`POST /v1/chat/completions`, `GET /v1/models`), answers
//! from a script of steps (a reply, an HTTP error, a hang), then from an optional responder,
//! and records every request with its arrival time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// What the fake does for one request.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Answer with this assistant message.
    Reply(String),
    /// Answer with this status (and `Retry-After` seconds, when given).
    Status(u16, Option<u64>),
    /// Answer only after this long (longer than the client's timeout, usually).
    Hang(Duration),
}

type Responder = Box<dyn Fn(&Value) -> Step + Send + Sync>;

/// A request as the fake received it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) body: Value,
    pub(crate) authorization: Option<String>,
    pub(crate) at: Instant,
}

impl Recorded {
    /// The text of every message, system prompt included, joined.
    pub(crate) fn text(&self) -> String {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter_map(|m| m["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// The last user message: the question or the repair request.
    pub(crate) fn last_user_message(&self) -> String {
        self.body["messages"]
            .as_array()
            .and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Step>,
    responder: Option<Responder>,
    requests: Vec<Recorded>,
}

#[derive(Clone)]
pub(crate) struct FakeLlm {
    /// The API base to configure as `LLM_BASE_URL`.
    pub(crate) base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeLlm {
    pub(crate) async fn start() -> FakeLlm {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeLlm {
            base_url: format!("http://{address}/v1"),
            inner,
        }
    }

    /// Queues steps, answered in order before the responder is asked.
    pub(crate) fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.lock().script.extend(steps);
    }

    /// Answers requests the script does not cover.
    pub(crate) fn respond_with(&self, responder: impl Fn(&Value) -> Step + Send + Sync + 'static) {
        self.lock().responder = Some(Box::new(responder));
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Settings pointing querybot at this fake.
    pub(crate) fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LLM_PROVIDER", "openai".to_owned()),
            ("LLM_API_KEY", "test-key".to_owned()),
            ("LLM_BASE_URL", self.base_url.clone()),
            ("LLM_MODEL", "fake-sql-1".to_owned()),
            ("LLM_TIMEOUT", "2".to_owned()),
            ("LLM_MAX_RETRIES", "2".to_owned()),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The assistant message for a fenced SQL answer with an explanation.
pub(crate) fn sql_reply(sql: &str, explanation: &str) -> Step {
    Step::Reply(format!("```sql\n{sql}\n```\n{explanation}"))
}

async fn complete(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let step = {
        let mut inner = inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.requests.push(Recorded {
            body: body.clone(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            at: Instant::now(),
        });
        match inner.script.pop_front() {
            Some(step) => step,
            None => match &inner.responder {
                Some(responder) => responder(&body),
                None => Step::Status(500, None),
            },
        }
    };
    match step {
        Step::Reply(content) => completion(&body, &content).into_response(),
        Step::Status(status, retry_after) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut headers = HeaderMap::new();
            if let Some(seconds) = retry_after {
                headers.insert("retry-after", seconds.into());
            }
            let error = json!({"error": {"message": "scripted failure", "type": "server_error"}});
            (status, headers, Json(error)).into_response()
        }
        Step::Hang(duration) => {
            tokio::time::sleep(duration).await;
            completion(&body, "```sql\nSELECT 1\n```").into_response()
        }
    }
}

fn completion(request: &Value, content: &str) -> Json<Value> {
    let prompt_chars: usize = request["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m["content"].as_str())
                .map(str::len)
                .sum()
        })
        .unwrap_or(0);
    Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": request["model"],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_chars / 4,
            "completion_tokens": content.len() / 4,
            "total_tokens": prompt_chars / 4 + content.len() / 4
        }
    }))
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "fake-sql-1", "object": "model"}]}))
}
