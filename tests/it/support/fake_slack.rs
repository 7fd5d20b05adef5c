//! A fake Slack on 127.0.0.1: the Web API (JSON or form bodies) and Socket Mode (WebSocket).
//!
//! It answers the methods querybot uses with the response shapes slack-morphism deserializes,
//! enforces the platform rules a test should trip over (token types, Block Kit limits, single-use
//! trigger ids and socket URLs, upload-before-complete, the retired `files.upload`), records every
//! call, upload and socket frame with its arrival time, and lets tests push Socket Mode envelopes.
//! Tests wait on its records through a watch channel with a timeout, never by sleeping.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::multipart::multipart_parts;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::{mpsc, watch};

/// The bot token tests give the bot; any `xoxb-` token is accepted.
pub(crate) const BOT_TOKEN: &str = "xoxb-test";
/// The app-level token for Socket Mode; `apps.connections.open` accepts only `xapp-` tokens.
pub(crate) const APP_TOKEN: &str = "xapp-1-A0BOT-test";
/// A signing secret for requests tests sign with [`sign`].
pub(crate) const SIGNING_SECRET: &str = "fake-signing-secret";
pub(crate) const TEAM_ID: &str = "T0001";
/// The one user group the fake workspace has; its only member is `U1`, the asker.
pub(crate) const ANALYSTS_GROUP: &str = "S0ANALYSTS";
pub(crate) const TEAM_NAME: &str = "Fake Workspace";
pub(crate) const BOT_USER_ID: &str = "UBOT";
pub(crate) const BOT_ID: &str = "BBOT";
pub(crate) const APP_ID: &str = "A0BOT";
/// The scopes `oauth.v2.access` grants: the bot scopes of the platform contract.
pub(crate) const BOT_SCOPES: &str = "commands,app_mentions:read,chat:write,files:write,\
                                     channels:history,groups:history,im:history,mpim:history";

/// How long `wait_for*` waits before failing the test with what it saw.
const WAIT: Duration = Duration::from_secs(10);

/// Form fields whose values Slack decodes as JSON, so tests see structure, not strings.
const JSON_FORM_FIELDS: &[&str] = &[
    "blocks",
    "attachments",
    "files",
    "view",
    "metadata",
    "unfurls",
    "user_auth_blocks",
];

/// One Web API call as the fake received and answered it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: String,
    /// The JSON body, or query and form fields as an object (JSON-valued fields parsed).
    pub(crate) params: Value,
    /// The bearer token from `Authorization`, else a form `token` field (Slack accepts both).
    pub(crate) token: Option<String>,
    /// HTTP Basic client credentials (`oauth.v2.access`).
    pub(crate) basic_auth: Option<(String, String)>,
    /// The request path, e.g. `/api/chat.postMessage`: shows a doubled slash in a base URL.
    pub(crate) path: String,
    pub(crate) status: u16,
    /// The JSON the fake answered with.
    pub(crate) response: Value,
    pub(crate) at: Instant,
}

impl Call {
    /// A parameter as text, whether it came as a JSON string, number or form field.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        text_param(&self.params, name)
    }

    /// Whether Slack would have answered `ok: true`.
    pub(crate) fn ok(&self) -> bool {
        self.response["ok"] == true
    }
}

/// Bytes POSTed to an upload URL from `files.getUploadURLExternal`.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) file_id: String,
    /// The filename given to `files.getUploadURLExternal`.
    pub(crate) filename: String,
    /// The length declared to `files.getUploadURLExternal`.
    pub(crate) length: usize,
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: Option<String>,
}

/// One Socket Mode WebSocket connection, numbered from 1 in the order they opened.
#[derive(Debug, Clone)]
pub(crate) struct Socket {
    pub(crate) number: usize,
    pub(crate) opened_at: Instant,
    pub(crate) hello_at: Option<Instant>,
    pub(crate) closed_at: Option<Instant>,
    /// Frames the fake sent: hello, envelopes, disconnects.
    pub(crate) sent: Vec<Value>,
    /// Frames the client sent (acks), JSON-decoded.
    pub(crate) received: Vec<Value>,
}

#[derive(Debug)]
enum Outbound {
    Frame(Value),
    Close,
}

struct SocketState {
    info: Socket,
    outbound: mpsc::UnboundedSender<Outbound>,
}

struct PendingFile {
    filename: String,
    length: usize,
    uploaded: bool,
}

#[derive(Default)]
struct Ledger {
    calls: Vec<Call>,
    uploads: Vec<Upload>,
    sockets: Vec<SocketState>,
    rate_limits: HashMap<String, VecDeque<u64>>,
    failures: HashMap<String, VecDeque<String>>,
    /// How long each upload is held before it is taken (a slow network, a large file).
    upload_delay: Option<std::time::Duration>,
    sequence: u64,
    /// (channel, ts) of messages posted through the fake: only these can be updated.
    messages: HashSet<(String, String)>,
    views: HashMap<String, Value>,
    used_triggers: HashSet<String>,
    files: HashMap<String, PendingFile>,
    /// Socket URLs handed out by `apps.connections.open`; true once used.
    tickets: Vec<bool>,
    failing_codes: HashSet<String>,
    used_codes: HashSet<String>,
    code_teams: HashMap<String, (String, String)>,
    oauth_client: Option<(String, String)>,
    /// Bot tokens issued by `oauth.v2.access`, with their team id and name.
    issued_tokens: HashMap<String, (String, String)>,
    revoked: HashSet<String>,
}

impl Ledger {
    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// A message timestamp, unique and increasing like Slack's.
    fn next_ts(&mut self) -> String {
        let n = self.next();
        format!("{}.{:06}", 1_700_000_000 + n, 100)
    }

    fn newest_open_socket(&self) -> Option<&SocketState> {
        self.sockets
            .iter()
            .rev()
            .find(|s| s.info.hello_at.is_some() && s.info.closed_at.is_none())
    }
}

struct Shared {
    state: Mutex<Ledger>,
    /// Bumped on every record so waiters re-check without polling.
    changed: watch::Sender<u64>,
    /// `http://127.0.0.1:PORT`
    base: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

#[derive(Clone)]
pub(crate) struct FakeSlack {
    /// The Web API base to configure as `SLACK_API_URL`, e.g. `http://127.0.0.1:PORT/api/`.
    pub(crate) api_url: String,
    pub(crate) address: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeSlack {
    pub(crate) async fn start() -> FakeSlack {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Slack");
        let address = listener.local_addr().expect("fake Slack address");
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(Ledger::default()),
            changed,
            base: format!("http://{address}"),
        });
        let router = Router::new()
            .route("/upload/{file_id}", post(upload))
            .route("/socket/{ticket}", get(socket))
            .fallback(web_api)
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeSlack {
            api_url: format!("http://{address}/api/"),
            address,
            shared,
        }
    }

    /// Settings pointing querybot at this fake over the Events API (HTTP).
    pub(crate) fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SLACK_API_URL", self.api_url.clone()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_owned()),
        ]
    }

    /// Settings pointing querybot at this fake over Socket Mode.
    pub(crate) fn socket_mode_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SLACK_API_URL", self.api_url.clone()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("SLACK_APP_TOKEN", APP_TOKEN.to_owned()),
        ]
    }

    /// Every Web API call in arrival order, failed and rate-limited ones included.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    pub(crate) fn calls_to(&self, method: &str) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Resolves once at least `count` calls to `method` were recorded; fails the test after 10 s.
    pub(crate) async fn wait_for(&self, method: &str, count: usize) -> Vec<Call> {
        self.wait_until(
            |state| {
                let calls: Vec<Call> = state
                    .calls
                    .iter()
                    .filter(|c| c.method == method)
                    .cloned()
                    .collect();
                (calls.len() >= count).then_some(calls)
            },
            |state| {
                format!(
                    "{count} call(s) to {method}; calls so far: {:#?}",
                    summarize(&state.calls)
                )
            },
        )
        .await
    }

    /// Holds every upload for `delay` before taking it.
    pub(crate) fn delay_uploads(&self, delay: std::time::Duration) {
        self.shared.lock().upload_delay = Some(delay);
    }

    /// The next call to `method` gets HTTP 429 with `Retry-After: retry_after_secs`.
    pub(crate) fn rate_limit_next(&self, method: &str, retry_after_secs: u64) {
        self.shared
            .lock()
            .rate_limits
            .entry(method.to_owned())
            .or_default()
            .push_back(retry_after_secs);
    }

    /// The next call to `method` answers `{"ok": false, "error": error}`.
    pub(crate) fn fail_next(&self, method: &str, error: &str) {
        self.shared
            .lock()
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back(error.to_owned());
    }

    /// Calls with this token answer `token_revoked`, as after an uninstall.
    pub(crate) fn revoke_token(&self, token: &str) {
        self.shared.lock().revoked.insert(token.to_owned());
    }

    /// `oauth.v2.access` with this code answers `invalid_code`.
    pub(crate) fn fail_oauth_code(&self, code: &str) {
        self.shared.lock().failing_codes.insert(code.to_owned());
    }

    /// `oauth.v2.access` with this code installs into this team (default `T0001`).
    pub(crate) fn oauth_team_for_code(&self, code: &str, team_id: &str, team_name: &str) {
        self.shared
            .lock()
            .code_teams
            .insert(code.to_owned(), (team_id.to_owned(), team_name.to_owned()));
    }

    /// `oauth.v2.access` checks the client credentials (any are accepted otherwise).
    pub(crate) fn expect_oauth_client(&self, client_id: &str, client_secret: &str) {
        self.shared.lock().oauth_client = Some((client_id.to_owned(), client_secret.to_owned()));
    }

    /// Bytes POSTed to upload URLs, in order.
    pub(crate) fn uploads(&self) -> Vec<Upload> {
        self.shared.lock().uploads.clone()
    }

    /// How many Socket Mode WebSocket connections were opened.
    pub(crate) fn socket_connections(&self) -> usize {
        self.shared.lock().sockets.len()
    }

    /// Every Socket Mode connection with its frames and open/close times.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.shared
            .lock()
            .sockets
            .iter()
            .map(|s| s.info.clone())
            .collect()
    }

    /// Resolves when the `count`-th connection has been sent its `hello`.
    pub(crate) async fn wait_for_socket(&self, count: usize) {
        self.wait_until(
            |state| {
                state
                    .sockets
                    .get(count.wrapping_sub(1))
                    .and_then(|s| s.info.hello_at)
                    .map(|_| ())
            },
            |state| {
                format!(
                    "socket connection {count} with its hello; {} connection(s) so far; \
                     apps.connections.open calls: {}",
                    state.sockets.len(),
                    state
                        .calls
                        .iter()
                        .filter(|c| c.method == "apps.connections.open")
                        .count()
                )
            },
        )
        .await;
    }

    /// Resolves when connection `number` (from 1) has been closed, by either side.
    pub(crate) async fn wait_for_socket_closed(&self, number: usize) -> Socket {
        self.wait_until(
            |state| {
                state
                    .sockets
                    .get(number.wrapping_sub(1))
                    .filter(|s| s.info.closed_at.is_some())
                    .map(|s| s.info.clone())
            },
            |state| {
                format!(
                    "socket connection {number} to close; sockets: {:#?}",
                    state.sockets.iter().map(|s| &s.info).collect::<Vec<_>>()
                )
            },
        )
        .await
    }

    /// Sends a frame on the newest open connection (waiting up to 10 s for one).
    pub(crate) async fn send_envelope(&self, envelope: Value) {
        self.send(vec![Outbound::Frame(envelope)]).await;
    }

    /// Sends frames back to back on the newest open connection, e.g. a `disconnect` and then an
    /// envelope that Slack delivers on the old socket before the client has moved.
    pub(crate) async fn send_frames(&self, frames: Vec<Value>) {
        self.send(frames.into_iter().map(Outbound::Frame).collect())
            .await;
    }

    /// Sends Slack's `disconnect` frame on the newest connection; the client should reconnect.
    pub(crate) async fn send_disconnect(&self, reason: &str) {
        self.send_envelope(disconnect(reason)).await;
    }

    /// Closes the newest connection from the server side, as a dropped link would.
    pub(crate) async fn close_newest_socket(&self) {
        self.send(vec![Outbound::Close]).await;
    }

    /// The client's ack for `envelope_id`: `{"envelope_id": ..., "payload"?: ...}`.
    pub(crate) async fn wait_for_ack(&self, envelope_id: &str) -> Value {
        self.wait_until(
            |state| {
                state
                    .sockets
                    .iter()
                    .flat_map(|s| &s.info.received)
                    .find(|frame| frame["envelope_id"] == envelope_id)
                    .cloned()
            },
            |state| {
                format!(
                    "an ack for envelope {envelope_id}; frames received: {:#?}",
                    state
                        .sockets
                        .iter()
                        .map(|s| (s.info.number, &s.info.received))
                        .collect::<Vec<_>>()
                )
            },
        )
        .await
    }

    async fn send(&self, frames: Vec<Outbound>) {
        self.wait_until(
            |state| state.newest_open_socket().map(|_| ()),
            |state| {
                format!(
                    "an open socket to send {frames:?} on; {} connection(s), all closed",
                    state.sockets.len()
                )
            },
        )
        .await;
        let mut state = self.shared.lock();
        let socket = state
            .sockets
            .iter_mut()
            .rev()
            .find(|s| s.info.hello_at.is_some() && s.info.closed_at.is_none())
            .expect("an open socket was just seen");
        let number = socket.info.number;
        for frame in frames {
            if let Outbound::Frame(value) = &frame {
                socket.info.sent.push(value.clone());
            }
            socket
                .outbound
                .send(frame)
                .unwrap_or_else(|_| panic!("socket {number} stopped before the frame was sent"));
        }
    }

    /// Re-checks `check` on every change until it yields, or fails with `describe` after 10 s.
    async fn wait_until<T>(
        &self,
        mut check: impl FnMut(&Ledger) -> Option<T>,
        describe: impl Fn(&Ledger) -> String,
    ) -> T {
        // Subscribing before the first check means no change between the two is missed.
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(found) = check(&self.shared.lock()) {
                return found;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                let description = describe(&self.shared.lock());
                panic!("fake Slack waited {WAIT:?} for {description}");
            }
        }
    }
}

// The payloads Slack sends, as the tests build them.

/// An `app_mention` of the bot in #sales.
pub(crate) fn mention(text: &str, ts: &str) -> Value {
    json!({
        "type": "app_mention", "user": "U1", "text": format!("<@{BOT_USER_ID}> {text}"),
        "ts": ts, "channel": "C0SALES", "event_ts": ts
    })
}

pub(crate) fn event_callback(event_id: &str, event: Value) -> Value {
    json!({
        "token": "unused", "team_id": TEAM_ID, "api_app_id": "A0BOT", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000, "event": event
    })
}

pub(crate) fn click_payload(
    user: &str,
    action_id: &str,
    draft: &str,
    message_ts: &str,
    trigger: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0BOT",
        "trigger_id": trigger,
        "channel": {"id": "C0SALES", "name": "sales"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C0SALES"},
        "message": {"type": "message", "ts": message_ts, "text": "draft"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "actions", "value": draft, "action_ts": "1700000100.000000"}]
    })
}

/// `body` to `url`, signed now with the fake's signing secret, as Slack sends requests.
pub(crate) async fn send_signed(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(SIGNING_SECRET, timestamp, &body);
    client
        .post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .expect("the bot answers")
}

/// `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`, Slack's `X-Slack-Signature`.
pub(crate) fn sign(signing_secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("v0={hex}")
}

/// Slack's `disconnect` frame; reasons are `warning`, `refresh_requested` and `link_disabled`.
pub(crate) fn disconnect(reason: &str) -> Value {
    json!({
        "type": "disconnect",
        "reason": reason,
        "debug_info": {"host": "applink-fake-0"}
    })
}

/// A Socket Mode envelope as Slack frames it, with a fresh `envelope_id`.
///
/// `kind` is `events_api`, `slash_commands` or `interactive`; Slack lets slash commands and
/// view submissions / block suggestions answer with a payload in the ack.
pub(crate) fn envelope(kind: &str, payload: Value) -> Value {
    let accepts_response_payload = match kind {
        "slash_commands" => true,
        "interactive" => matches!(
            payload["type"].as_str(),
            Some("view_submission" | "block_suggestion")
        ),
        _ => false,
    };
    let mut envelope = json!({
        "envelope_id": uuid::Uuid::new_v4().to_string(),
        "type": kind,
        "payload": payload,
        "accepts_response_payload": accepts_response_payload,
    });
    if kind == "events_api" {
        envelope["retry_attempt"] = json!(0);
        envelope["retry_reason"] = json!("");
    }
    envelope
}

fn summarize(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let outcome = if c.ok() {
                "ok".to_owned()
            } else {
                format!("{} {}", c.status, c.response["error"])
            };
            format!("{} -> {outcome}", c.method)
        })
        .collect()
}

fn text_param(params: &Value, name: &str) -> Option<String> {
    match &params[name] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn slack_error(error: &str) -> Value {
    json!({"ok": false, "error": error})
}

/// `invalid_blocks` / `invalid_arguments` with Slack's per-field messages.
fn invalid(error: &str, problems: Vec<String>) -> Value {
    let messages: Vec<String> = problems.iter().map(|p| format!("[ERROR] {p}")).collect();
    json!({
        "ok": false,
        "error": error,
        "errors": problems,
        "response_metadata": {"messages": messages}
    })
}

/// Decodes a request the way Slack does: query string, then a JSON or form body on top.
fn decode_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut params = Map::new();
    if let Some(query) = uri.query() {
        for (key, value) in
            serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
        {
            params.insert(key, Value::String(value));
        }
    }
    let content_type_raw = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // The boundary is case-sensitive, so only the comparisons use the lowercased type.
    let content_type = content_type_raw.to_ascii_lowercase();
    if body.is_empty() {
        return Value::Object(params);
    }
    if content_type.starts_with("multipart/form-data") {
        for part in multipart_parts(content_type_raw, body) {
            // A file part is summarized; its bytes are not what tests assert on here.
            let value = match &part.filename {
                Some(filename) => json!({"filename": filename, "length": part.content.len()}),
                None => form_value(
                    &part.name,
                    String::from_utf8_lossy(&part.content).into_owned(),
                ),
            };
            params.insert(part.name, value);
        }
        return Value::Object(params);
    }
    let json_body = if content_type.starts_with("application/x-www-form-urlencoded") {
        None
    } else {
        serde_json::from_slice::<Value>(body).ok()
    };
    match json_body {
        Some(Value::Object(fields)) => params.extend(fields),
        Some(other) => {
            params.insert("_body".to_owned(), other);
        }
        None => {
            let text = String::from_utf8_lossy(body);
            for (key, value) in
                serde_urlencoded::from_str::<Vec<(String, String)>>(&text).unwrap_or_default()
            {
                let decoded = form_value(&key, value);
                params.insert(key, decoded);
            }
        }
    }
    Value::Object(params)
}

/// A form field's value, parsed when Slack reads that field as JSON.
fn form_value(key: &str, value: String) -> Value {
    JSON_FORM_FIELDS
        .contains(&key)
        .then(|| serde_json::from_str::<Value>(&value).ok())
        .flatten()
        .filter(|v| v.is_array() || v.is_object())
        .unwrap_or(Value::String(value))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn web_api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    // slack-morphism joins `{base}/{method}`, so a base ending in `/` yields `/api//method`.
    let Some(api_method) = path
        .strip_prefix("/api/")
        .map(|rest| rest.trim_start_matches('/').to_owned())
        .filter(|m| !m.is_empty() && !m.contains('/'))
    else {
        return (
            StatusCode::NOT_FOUND,
            format!("no such path: {method} {path}"),
        )
            .into_response();
    };
    let params = decode_params(&uri, &headers, &body);
    let token = bearer(&headers).or_else(|| text_param(&params, "token"));
    let basic_auth = basic_auth(&headers);

    let (status, response, retry_after) = {
        let mut state = shared.lock();
        let scripted_limit = state
            .rate_limits
            .get_mut(&api_method)
            .and_then(VecDeque::pop_front);
        let scripted_failure = state
            .failures
            .get_mut(&api_method)
            .and_then(VecDeque::pop_front);
        let (status, response, retry_after) = match (scripted_limit, scripted_failure) {
            (Some(seconds), failure) => {
                // The failure, if any, stays queued for the retry.
                if let Some(error) = failure {
                    state
                        .failures
                        .entry(api_method.clone())
                        .or_default()
                        .push_front(error);
                }
                (429, slack_error("ratelimited"), Some(seconds))
            }
            (None, Some(error)) => (200, slack_error(&error), None),
            (None, None) => {
                let answer = answer(
                    &mut state,
                    &shared.base,
                    &api_method,
                    &params,
                    token.as_deref(),
                    basic_auth.as_ref(),
                );
                (200, answer, None)
            }
        };
        state.calls.push(Call {
            method: api_method,
            params,
            token,
            basic_auth,
            path,
            status,
            response: response.clone(),
            at: Instant::now(),
        });
        (status, response, retry_after)
    };
    shared.notify();

    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        "content-type",
        "application/json; charset=utf-8"
            .parse()
            .expect("static header value"),
    );
    if let Some(seconds) = retry_after {
        response_headers.insert("retry-after", seconds.into());
    }
    let status = StatusCode::from_u16(status).expect("the fake uses valid statuses");
    (status, response_headers, response.to_string()).into_response()
}

/// The JSON answer to one Web API call (HTTP 200, `ok` true or false, as Slack does).
fn answer(
    state: &mut Ledger,
    base: &str,
    method: &str,
    params: &Value,
    token: Option<&str>,
    client: Option<&(String, String)>,
) -> Value {
    const KNOWN: &[&str] = &[
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "views.open",
        "views.update",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "files.upload",
        "oauth.v2.access",
        "apps.connections.open",
        "usergroups.users.list",
    ];
    if !KNOWN.contains(&method) {
        return slack_error("unknown_method");
    }
    if method == "files.upload" {
        return slack_error("method_deprecated");
    }
    if method == "oauth.v2.access" {
        return oauth_access(state, params, client);
    }
    let (team_id, team_name) = match check_token(state, method, token) {
        Ok(team) => team,
        Err(error) => return slack_error(error),
    };
    match method {
        "auth.test" => auth_test(token, &team_id, &team_name),
        "chat.postMessage" => post_message(state, params, &team_id),
        "chat.update" => update_message(state, params),
        "chat.postEphemeral" => post_ephemeral(state, params),
        "views.open" => open_view(state, params, &team_id),
        "views.update" => update_view(state, params),
        "files.getUploadURLExternal" => upload_url(state, base, params),
        "files.completeUploadExternal" => complete_upload(state, base, params),
        "apps.connections.open" => connections_open(state, base),
        "usergroups.users.list" => group_members(params),
        _ => slack_error("unknown_method"),
    }
}

/// The workspace's one user group, `ANALYSTS_GROUP`, holds the asker (`U1`) only.
fn group_members(params: &Value) -> Value {
    match params["usergroup"].as_str() {
        Some(ANALYSTS_GROUP) => json!({"ok": true, "users": ["U1"]}),
        _ => slack_error("no_such_subteam"),
    }
}

fn default_team() -> (String, String) {
    (TEAM_ID.to_owned(), TEAM_NAME.to_owned())
}

/// The token's team, or the error Slack gives for a missing, revoked or wrong-type token.
fn check_token(
    state: &Ledger,
    method: &str,
    token: Option<&str>,
) -> Result<(String, String), &'static str> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err("not_authed");
    };
    if state.revoked.contains(token) {
        return Err("token_revoked");
    }
    let app_token = token.starts_with("xapp-");
    if method == "apps.connections.open" {
        return if app_token {
            Ok(default_team())
        } else {
            Err("not_allowed_token_type")
        };
    }
    if app_token {
        return Err("not_allowed_token_type");
    }
    if !["xoxb-", "xoxp-", "xoxe."]
        .iter()
        .any(|p| token.starts_with(p))
    {
        return Err("invalid_auth");
    }
    Ok(state
        .issued_tokens
        .get(token)
        .cloned()
        .unwrap_or_else(default_team))
}

fn auth_test(token: Option<&str>, team_id: &str, team_name: &str) -> Value {
    let is_bot = token.is_some_and(|t| t.starts_with("xoxb-"));
    let mut answer = json!({
        "ok": true,
        "url": "https://fake-workspace.slack.com/",
        "team": team_name,
        "user": "querybot",
        "team_id": team_id,
        "user_id": BOT_USER_ID,
        "is_enterprise_install": false,
    });
    if is_bot {
        answer["bot_id"] = json!(BOT_ID);
    }
    answer
}

/// The message object Slack echoes back for the bot's own post.
fn bot_message(ts: &str, params: &Value, team_id: &str) -> Value {
    let mut message = json!({
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": team_id,
        "ts": ts,
        "text": params["text"].as_str().unwrap_or_default(),
        "bot_profile": {
            "id": BOT_ID,
            "app_id": APP_ID,
            "name": "querybot",
            "deleted": false,
            "updated": 1_700_000_000,
            "team_id": team_id,
            "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"}
        }
    });
    for field in ["blocks", "attachments", "thread_ts", "metadata"] {
        if !params[field].is_null() {
            message[field] = params[field].clone();
        }
    }
    message
}

fn message_problems(params: &Value) -> Option<Value> {
    let has_content = ["text", "blocks", "attachments", "markdown_text"]
        .iter()
        .any(|f| match &params[*f] {
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => false,
        });
    if !has_content {
        return Some(slack_error("no_text"));
    }
    if params["text"]
        .as_str()
        .is_some_and(|t| t.chars().count() > 40_000)
    {
        return Some(slack_error("msg_too_long"));
    }
    let problems = block_problems(&params["blocks"], 50, "/blocks");
    (!problems.is_empty()).then(|| invalid("invalid_blocks", problems))
}

fn post_message(state: &mut Ledger, params: &Value, team_id: &str) -> Value {
    let Some(channel) = text_param(params, "channel").filter(|c| !c.is_empty()) else {
        return slack_error("channel_not_found");
    };
    if let Some(problem) = message_problems(params) {
        return problem;
    }
    let ts = state.next_ts();
    state.messages.insert((channel.clone(), ts.clone()));
    json!({
        "ok": true,
        "channel": channel,
        "ts": ts,
        "message": bot_message(&ts, params, team_id),
    })
}

fn update_message(state: &mut Ledger, params: &Value) -> Value {
    let (Some(channel), Some(ts)) = (text_param(params, "channel"), text_param(params, "ts"))
    else {
        return slack_error("message_not_found");
    };
    // Only messages posted through the fake exist; ephemeral ones can never be updated.
    if !state.messages.contains(&(channel.clone(), ts.clone())) {
        return slack_error("message_not_found");
    }
    if let Some(problem) = message_problems(params) {
        return problem;
    }
    let mut message = json!({
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": params["text"].as_str().unwrap_or_default(),
        "edited": {"user": BOT_USER_ID, "ts": state.next_ts()},
    });
    if !params["blocks"].is_null() {
        message["blocks"] = params["blocks"].clone();
    }
    json!({
        "ok": true,
        "channel": channel,
        "ts": ts,
        "text": params["text"].as_str().unwrap_or_default(),
        "message": message,
    })
}

fn post_ephemeral(state: &mut Ledger, params: &Value) -> Value {
    if text_param(params, "channel").is_none_or(|c| c.is_empty()) {
        return slack_error("channel_not_found");
    }
    if text_param(params, "user").is_none_or(|u| u.is_empty()) {
        return slack_error("user_not_in_channel");
    }
    if let Some(problem) = message_problems(params) {
        return problem;
    }
    json!({"ok": true, "message_ts": state.next_ts()})
}

fn view_problems(view: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if !view.is_object() {
        return vec!["view is required [json-pointer:/view]".to_owned()];
    }
    if view["type"] == "modal" {
        let title = view["title"]["text"].as_str().unwrap_or_default();
        if title.is_empty() || title.chars().count() > 24 {
            problems.push("must be 1 to 24 characters [json-pointer:/view/title/text]".to_owned());
        }
        for button in ["submit", "close"] {
            if view[button]["text"]
                .as_str()
                .is_some_and(|t| t.chars().count() > 24)
            {
                problems.push(format!(
                    "must be less than 25 characters [json-pointer:/view/{button}/text]"
                ));
            }
        }
    }
    for field in ["private_metadata", "callback_id", "external_id"] {
        let limit = if field == "private_metadata" {
            3000
        } else {
            255
        };
        if view[field]
            .as_str()
            .is_some_and(|v| v.chars().count() > limit)
        {
            problems.push(format!(
                "must be less than {} characters [json-pointer:/view/{field}]",
                limit + 1
            ));
        }
    }
    problems.extend(block_problems(&view["blocks"], 100, "/view/blocks"));
    problems
}

fn stateful_view(view: &Value, id: &str, team_id: &str, root: &str, hash: u64) -> Value {
    let mut stateful = view.clone();
    let defaults = [
        ("private_metadata", json!("")),
        ("callback_id", json!("")),
        ("external_id", json!("")),
        ("clear_on_close", json!(false)),
        ("notify_on_close", json!(false)),
    ];
    for (field, default) in defaults {
        if stateful[field].is_null() {
            stateful[field] = default;
        }
    }
    let fields = [
        ("id", json!(id)),
        ("team_id", json!(team_id)),
        ("state", json!({"values": {}})),
        ("hash", json!(format!("1700000000.{hash:08}"))),
        ("previous_view_id", Value::Null),
        ("root_view_id", json!(root)),
        ("app_id", json!(APP_ID)),
        ("app_installed_team_id", json!(team_id)),
        ("bot_id", json!(BOT_ID)),
    ];
    for (field, value) in fields {
        stateful[field] = value;
    }
    stateful
}

fn open_view(state: &mut Ledger, params: &Value, team_id: &str) -> Value {
    let Some(trigger_id) = text_param(params, "trigger_id").filter(|t| !t.is_empty()) else {
        return slack_error("invalid_trigger_id");
    };
    // A trigger id opens one view; Slack says so when it is reused.
    if !state.used_triggers.insert(trigger_id) {
        return slack_error("trigger_exchanged");
    }
    let problems = view_problems(&params["view"]);
    if !problems.is_empty() {
        return invalid("invalid_arguments", problems);
    }
    let n = state.next();
    let id = format!("V{n:08}");
    let view = stateful_view(&params["view"], &id, team_id, &id, n);
    state.views.insert(id, view.clone());
    json!({"ok": true, "view": view})
}

fn update_view(state: &mut Ledger, params: &Value) -> Value {
    let by_id = text_param(params, "view_id").filter(|id| state.views.contains_key(id));
    let by_external = || {
        let external = text_param(params, "external_id")?;
        state
            .views
            .iter()
            .find(|(_, v)| v["external_id"] == external.as_str())
            .map(|(id, _)| id.clone())
    };
    let Some(id) = by_id.or_else(by_external) else {
        return slack_error("not_found");
    };
    let problems = view_problems(&params["view"]);
    if !problems.is_empty() {
        return invalid("invalid_arguments", problems);
    }
    let previous = &state.views[&id];
    if let Some(hash) = text_param(params, "hash")
        && previous["hash"] != hash.as_str()
    {
        return slack_error("hash_conflict");
    }
    let team_id = previous["team_id"].as_str().unwrap_or(TEAM_ID).to_owned();
    let n = state.next();
    let view = stateful_view(&params["view"], &id, &team_id, &id, n);
    state.views.insert(id, view.clone());
    json!({"ok": true, "view": view})
}

fn upload_url(state: &mut Ledger, base: &str, params: &Value) -> Value {
    let Some(filename) = text_param(params, "filename").filter(|f| !f.is_empty()) else {
        return slack_error("invalid_arguments");
    };
    let Some(length) = text_param(params, "length")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
    else {
        return slack_error("invalid_arguments");
    };
    let file_id = format!("F{:08}", state.next());
    state.files.insert(
        file_id.clone(),
        PendingFile {
            filename,
            length,
            uploaded: false,
        },
    );
    json!({
        "ok": true,
        "upload_url": format!("{base}/upload/{file_id}"),
        "file_id": file_id,
    })
}

fn complete_upload(state: &mut Ledger, base: &str, params: &Value) -> Value {
    let Some(files) = params["files"].as_array().filter(|f| !f.is_empty()) else {
        return slack_error("invalid_arguments");
    };
    let mut answered = Vec::new();
    for file in files {
        let id = file["id"].as_str().unwrap_or_default();
        // Completing a file whose bytes never arrived is refused.
        let Some(pending) = state.files.get(id).filter(|f| f.uploaded) else {
            return slack_error("file_not_found");
        };
        let title = file["title"]
            .as_str()
            .map_or_else(|| pending.filename.clone(), str::to_owned);
        let extension = pending
            .filename
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_else(|| "binary".to_owned());
        let mimetype = match extension.as_str() {
            "png" => "image/png",
            "csv" => "text/csv",
            "txt" => "text/plain",
            _ => "application/octet-stream",
        };
        let created = 1_700_000_000 + state.sequence;
        answered.push(json!({
            "id": id,
            "created": created,
            "timestamp": created,
            "name": pending.filename,
            "title": title,
            "mimetype": mimetype,
            "filetype": extension,
            "pretty_type": extension.to_ascii_uppercase(),
            "user": BOT_USER_ID,
            "size": pending.length,
            "editable": false,
            "is_external": false,
            "is_public": false,
            "public_url_shared": false,
            "display_as_bot": false,
            "url_private": format!("{base}/files-pri/{TEAM_ID}-{id}/download"),
            "url_private_download": format!("{base}/files-pri/{TEAM_ID}-{id}/download"),
            "permalink": format!("{base}/files/{BOT_USER_ID}/{id}"),
        }));
    }
    json!({"ok": true, "files": answered})
}

fn connections_open(state: &mut Ledger, base: &str) -> Value {
    state.tickets.push(false);
    let ticket = state.tickets.len();
    let ws_base = base.replacen("http://", "ws://", 1);
    json!({"ok": true, "url": format!("{ws_base}/socket/{ticket}")})
}

fn oauth_access(state: &mut Ledger, params: &Value, client: Option<&(String, String)>) -> Value {
    let client = client.cloned().or_else(|| {
        Some((
            text_param(params, "client_id")?,
            text_param(params, "client_secret")?,
        ))
    });
    let Some((client_id, client_secret)) = client else {
        return slack_error("invalid_client_id");
    };
    if let Some((expected_id, expected_secret)) = &state.oauth_client {
        if &client_id != expected_id {
            return slack_error("invalid_client_id");
        }
        if &client_secret != expected_secret {
            return slack_error("bad_client_secret");
        }
    }
    let Some(code) = text_param(params, "code").filter(|c| !c.is_empty()) else {
        return slack_error("invalid_code");
    };
    // Codes are single use, like Slack's.
    if state.failing_codes.contains(&code) || !state.used_codes.insert(code.clone()) {
        return slack_error("invalid_code");
    }
    let (team_id, team_name) = state
        .code_teams
        .get(&code)
        .cloned()
        .unwrap_or_else(default_team);
    let access_token = format!("xoxb-{team_id}-{}-fake", state.next());
    state
        .issued_tokens
        .insert(access_token.clone(), (team_id.clone(), team_name.clone()));
    json!({
        "ok": true,
        "app_id": APP_ID,
        "authed_user": {"id": "U0INSTALLER"},
        "scope": BOT_SCOPES,
        "token_type": "bot",
        "access_token": access_token,
        "bot_user_id": BOT_USER_ID,
        "team": {"id": team_id, "name": team_name},
        "enterprise": null,
        "is_enterprise_install": false,
    })
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// Block Kit limits from Slack's reference that querybot's output can hit.
fn block_problems(blocks: &Value, max_blocks: usize, pointer: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(blocks) = blocks.as_array() else {
        if !blocks.is_null() {
            problems.push(format!("must be an array [json-pointer:{pointer}]"));
        }
        return problems;
    };
    if blocks.len() > max_blocks {
        problems.push(format!(
            "no more than {max_blocks} items allowed [json-pointer:{pointer}]"
        ));
    }
    let mut too_long = |value: &Value, limit: usize, at: String| {
        if chars(value) > limit {
            problems.push(format!(
                "must be less than {} characters [json-pointer:{at}]",
                limit + 1
            ));
        }
    };
    let mut tables = 0;
    let mut structure = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{pointer}/{i}");
        too_long(&block["block_id"], 255, format!("{at}/block_id"));
        match block["type"].as_str().unwrap_or_default() {
            "section" => {
                too_long(&block["text"]["text"], 3000, format!("{at}/text/text"));
                let fields = block["fields"].as_array().map_or(&[][..], Vec::as_slice);
                if fields.len() > 10 {
                    structure.push(format!(
                        "no more than 10 items allowed [json-pointer:{at}/fields]"
                    ));
                }
                for (f, field) in fields.iter().enumerate() {
                    too_long(&field["text"], 2000, format!("{at}/fields/{f}/text"));
                }
                if block["accessory"]["type"] == "button" {
                    button_problems(
                        &block["accessory"],
                        &format!("{at}/accessory"),
                        &mut too_long,
                    );
                }
            }
            "header" => too_long(&block["text"]["text"], 150, format!("{at}/text/text")),
            "markdown" => too_long(&block["text"], 12_000, format!("{at}/text")),
            "actions" => {
                let elements = block["elements"].as_array().map_or(&[][..], Vec::as_slice);
                if elements.len() > 25 {
                    structure.push(format!(
                        "no more than 25 items allowed [json-pointer:{at}/elements]"
                    ));
                }
                for (e, element) in elements.iter().enumerate() {
                    let element_at = format!("{at}/elements/{e}");
                    too_long(
                        &element["action_id"],
                        255,
                        format!("{element_at}/action_id"),
                    );
                    if element["type"] == "button" {
                        button_problems(element, &element_at, &mut too_long);
                        if let Some(style) = element["style"].as_str()
                            && !matches!(style, "primary" | "danger")
                        {
                            structure.push(format!(
                                "must be one of primary, danger [json-pointer:{element_at}/style]"
                            ));
                        }
                    }
                }
            }
            "context" if block["elements"].as_array().is_some_and(|e| e.len() > 10) => {
                structure.push(format!(
                    "no more than 10 items allowed [json-pointer:{at}/elements]"
                ));
            }
            "input" => {
                let element = &block["element"];
                if element["type"] == "plain_text_input" {
                    too_long(
                        &element["initial_value"],
                        3000,
                        format!("{at}/element/initial_value"),
                    );
                    if element["max_length"].as_u64().is_some_and(|m| m > 3000) {
                        structure.push(format!(
                            "must be at most 3000 [json-pointer:{at}/element/max_length]"
                        ));
                    }
                }
            }
            "table" => {
                tables += 1;
                let rows = block["rows"].as_array().map_or(&[][..], Vec::as_slice);
                if rows.len() > 100 {
                    structure.push(format!(
                        "no more than 100 items allowed [json-pointer:{at}/rows]"
                    ));
                }
                for (r, row) in rows.iter().enumerate() {
                    if row.as_array().is_some_and(|cells| cells.len() > 20) {
                        structure.push(format!(
                            "no more than 20 items allowed [json-pointer:{at}/rows/{r}]"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if tables > 1 {
        structure.push(format!(
            "only one table block is allowed [json-pointer:{pointer}]"
        ));
    }
    problems.extend(structure);
    problems
}

fn button_problems(button: &Value, at: &str, too_long: &mut impl FnMut(&Value, usize, String)) {
    too_long(&button["text"]["text"], 75, format!("{at}/text/text"));
    too_long(&button["value"], 2000, format!("{at}/value"));
    too_long(&button["action_id"], 255, format!("{at}/action_id"));
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = match content_type.as_deref() {
        Some(ct) if ct.starts_with("multipart/form-data") => match multipart_file(ct, &body) {
            Some(bytes) => bytes,
            None => return (StatusCode::BAD_REQUEST, "no file part").into_response(),
        },
        _ => body.to_vec(),
    };
    let length = bytes.len();
    let delay = shared.lock().upload_delay;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    {
        let mut state = shared.lock();
        let Some(pending) = state.files.get_mut(&file_id) else {
            return (StatusCode::NOT_FOUND, "unknown upload").into_response();
        };
        pending.uploaded = true;
        let upload = Upload {
            file_id,
            filename: pending.filename.clone(),
            length: pending.length,
            bytes,
            content_type,
        };
        state.uploads.push(upload);
    }
    shared.notify();
    (
        StatusCode::OK,
        [("content-type", "text/plain; charset=utf-8")],
        format!("OK - {length}"),
    )
        .into_response()
}

/// The bytes of the `file` part (or the first part with a filename) of a multipart body.
fn multipart_file(content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    multipart_parts(content_type, body)
        .into_iter()
        .find(|p| p.name == "file" || p.filename.is_some())
        .map(|p| p.content)
}

async fn socket(
    State(shared): State<Arc<Shared>>,
    Path(ticket): Path<usize>,
    upgrade: WebSocketUpgrade,
) -> Response {
    {
        let mut state = shared.lock();
        // Each URL from apps.connections.open works once, as Slack's tickets do.
        match state.tickets.get_mut(ticket.wrapping_sub(1)) {
            Some(used) if !*used => *used = true,
            _ => return (StatusCode::UNAUTHORIZED, "invalid or used ticket").into_response(),
        }
    }
    upgrade.on_upgrade(move |socket| serve_socket(shared, socket))
}

async fn serve_socket(shared: Arc<Shared>, mut socket: WebSocket) {
    let (outbound, mut frames) = mpsc::unbounded_channel();
    let (index, open) = {
        let mut state = shared.lock();
        let number = state.sockets.len() + 1;
        state.sockets.push(SocketState {
            info: Socket {
                number,
                opened_at: Instant::now(),
                hello_at: None,
                closed_at: None,
                sent: Vec::new(),
                received: Vec::new(),
            },
            outbound,
        });
        let open = state
            .sockets
            .iter()
            .filter(|s| s.info.closed_at.is_none())
            .count();
        (number - 1, open)
    };
    shared.notify();

    let hello = json!({
        "type": "hello",
        "num_connections": open,
        "debug_info": {
            "host": format!("applink-fake-{}", index + 1),
            "build_number": 10,
            "approximate_connection_time": 18060
        },
        "connection_info": {"app_id": APP_ID}
    });
    let sent = socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_ok();
    if sent {
        {
            let mut state = shared.lock();
            let info = &mut state.sockets[index].info;
            info.hello_at = Some(Instant::now());
            info.sent.push(hello);
        }
        shared.notify();
        loop {
            tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let frame = serde_json::from_str(text.as_str())
                            .unwrap_or_else(|_| Value::String(text.as_str().to_owned()));
                        shared.lock().sockets[index].info.received.push(frame);
                        shared.notify();
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    // Pings are answered by the WebSocket layer itself.
                    Some(Ok(_)) => {}
                },
                frame = frames.recv() => match frame {
                    Some(Outbound::Frame(value)) => {
                        if socket.send(Message::Text(value.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close) | None => {
                        let close = CloseFrame { code: 1001, reason: "link closed".into() };
                        let _ = socket.send(Message::Close(Some(close))).await;
                        break;
                    }
                },
            }
        }
    }
    shared.lock().sockets[index].info.closed_at = Some(Instant::now());
    shared.notify();
}
