//! The fake Slack both peers talk to, on 127.0.0.1 in the benchmark's own process (the fake
//! LLM is the benchmarks' shared one, `benches/common/llm.rs`).
//!
//! The fake Slack answers the calls a question makes (`auth.test`, `chat.postMessage`,
//! `chat.update`, `chat.postEphemeral`) in the shapes slack-morphism and slack_sdk read, and
//! applies Slack's posting limit: about one `chat.postMessage` a second per channel after a
//! short burst, a 429 with `Retry-After` beyond it. It notes when each draft (a message
//! carrying a `querybot_run` button) is shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

/// Posts a channel takes at once before the one-a-second pace applies.
const CHANNEL_BURST: f64 = 4.0;

/// The answer both peers get for every question.
pub(crate) const SQL: &str = "SELECT BillingCountry, count(*) AS invoices FROM Invoice \
                       GROUP BY BillingCountry ORDER BY invoices DESC";

#[derive(Default)]
struct Ledger {
    next_ts: u64,
    /// Per channel: tokens left and when they were counted.
    buckets: HashMap<String, (f64, Instant)>,
    /// When each draft was shown.
    drafts: Vec<Instant>,
    rate_limited: u64,
    calls: HashMap<String, u64>,
}

/// A fake Slack Web API at `api_url`.
#[derive(Clone)]
pub(crate) struct FakeSlack {
    pub(crate) api_url: String,
    ledger: Arc<Mutex<Ledger>>,
}

impl FakeSlack {
    pub(crate) async fn start() -> FakeSlack {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let app = axum::Router::new()
            .route("/api/{method}", any(api))
            .with_state(ledger.clone());
        let address = crate::llm::serve(app).await;
        FakeSlack {
            api_url: format!("http://{address}/api"),
            ledger,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets what earlier scenarios did.
    pub(crate) fn reset(&self) {
        *self.lock() = Ledger::default();
    }

    pub(crate) fn drafts(&self) -> Vec<Instant> {
        self.lock().drafts.clone()
    }

    pub(crate) fn rate_limited(&self) -> u64 {
        self.lock().rate_limited
    }

    /// Calls per method, for the report's footnotes.
    pub(crate) fn calls(&self) -> HashMap<String, u64> {
        self.lock().calls.clone()
    }

    /// Waits until `count` drafts were shown or `patience` passes without a new one.
    pub(crate) async fn wait_for_drafts(&self, count: usize, patience: Duration) -> Vec<Instant> {
        let (mut seen, mut since) = (0, Instant::now());
        loop {
            let now = self.lock().drafts.len();
            if now >= count {
                return self.drafts();
            }
            if now != seen {
                (seen, since) = (now, Instant::now());
            } else if since.elapsed() > patience {
                return self.drafts();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn api(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    Path(method): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // GET calls carry their arguments in the query string.
    let params = match uri.query() {
        Some(query) if body.is_empty() => params(&headers, query.as_bytes()),
        _ => params(&headers, &body),
    };
    let channel = params["channel"].as_str().unwrap_or_default().to_owned();
    let now = Instant::now();
    let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
    *ledger.calls.entry(method.clone()).or_default() += 1;
    if method == "chat.postMessage" && !take_token(&mut ledger.buckets, &channel, now) {
        ledger.rate_limited += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response();
    }
    // `querybot_run` is the Run button's action id; form and JSON bodies both carry it as is.
    if matches!(method.as_str(), "chat.postMessage" | "chat.update")
        && body.windows(12).any(|w| w == b"querybot_run")
    {
        ledger.drafts.push(now);
    }
    ledger.next_ts += 1;
    let ts = format!("1700000000.{:06}", ledger.next_ts);
    drop(ledger);
    let message = json!({"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": ts,
                         "text": params["text"].as_str().unwrap_or_default()});
    Json(match method.as_str() {
        "auth.test" => json!({"ok": true, "url": "https://fake.slack.com/", "team": "Fake",
                              "user": "querybot", "team_id": "T0001", "user_id": "UBOT",
                              "bot_id": "BBOT", "is_enterprise_install": false}),
        "chat.postMessage" => json!({"ok": true, "channel": channel, "ts": ts, "message": message}),
        "chat.update" => json!({"ok": true, "channel": channel,
                                "ts": params["ts"].as_str().unwrap_or_default(),
                                "text": params["text"].as_str().unwrap_or_default(),
                                "message": message}),
        "chat.postEphemeral" => json!({"ok": true, "message_ts": ts}),
        _ => json!({"ok": false, "error": "unknown_method"}),
    })
    .into_response()
}

/// A token from `channel`'s bucket (`CHANNEL_BURST` deep, one a second back), if it has one.
fn take_token(buckets: &mut HashMap<String, (f64, Instant)>, channel: &str, now: Instant) -> bool {
    let (tokens, counted) = buckets
        .entry(channel.to_owned())
        .or_insert((CHANNEL_BURST, now));
    *tokens = (*tokens + now.duration_since(*counted).as_secs_f64()).min(CHANNEL_BURST);
    *counted = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

/// A JSON or form body as JSON (form values stay strings).
fn params(headers: &HeaderMap, body: &[u8]) -> Value {
    let json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    } else {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        json!(form)
    }
}
