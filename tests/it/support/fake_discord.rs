//! A fake Discord on 127.0.0.1 speaking the real protocols: the REST routes querybot uses
//! (JSON and multipart bodies, each checked against Discord's OpenAPI description and
//! answered 400 when Discord would refuse it), interaction callbacks and webhooks, 429s with
//! `retry_after`, and a gateway WebSocket (HELLO, IDENTIFY, READY, heartbeats, RESUME with
//! replay, op 7, close codes). It records every request for the tests to read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

use super::discord_spec::Spec;
use super::multipart::multipart_parts;

pub(crate) const TOKEN: &str = "fake-discord-bot-token";
pub(crate) const BOT_USER: u64 = 900_000_000_000_000_001;
pub(crate) const APPLICATION: u64 = 900_000_000_000_000_002;
pub(crate) const GUILD: u64 = 900_000_000_000_000_003;
/// A text channel of the guild.
pub(crate) const CHANNEL: u64 = 900_000_000_000_000_010;
/// The DM channel between the asker and the bot.
pub(crate) const DM_CHANNEL: u64 = 900_000_000_000_000_011;
pub(crate) const ASKER: u64 = 900_000_000_000_000_100;
pub(crate) const STRANGER: u64 = 900_000_000_000_000_101;
/// The one role the server gives: the asker's.
pub(crate) const ANALYSTS_ROLE: u64 = 900_000_000_000_000_200;

const WAIT: Duration = Duration::from_secs(15);
const MESSAGE_CONTENT_INTENT: u64 = 1 << 15;

/// One request querybot made.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    /// The description's template (`/channels/{channel_id}/messages`).
    pub(crate) route: String,
    /// The JSON body, or a multipart request's `payload_json`.
    pub(crate) body: Value,
    /// Multipart files: (part name, filename, bytes).
    pub(crate) files: Vec<(String, String, Vec<u8>)>,
    pub(crate) status: u16,
    pub(crate) at: Instant,
    /// For an interaction's callback and webhooks: who acted.
    pub(crate) acting: Option<u64>,
}

impl Request {
    pub(crate) fn is(&self, method: &str, route: &str) -> bool {
        self.method == method && self.route == route
    }
    pub(crate) fn content(&self) -> String {
        self.body["content"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct Ledger {
    requests: Vec<Request>,
    violations: Vec<String>,
    next_id: u64,
    messages: HashMap<u64, Value>,
    /// Each message's text, as created and after every edit.
    history: HashMap<u64, Vec<String>>,
    channels: HashMap<u64, Value>,
    /// Interaction token -> (channel, the message a component was on, who acted).
    interactions: HashMap<String, (u64, Option<u64>, u64)>,
    /// Interaction token -> its response message (`@original`).
    originals: HashMap<String, u64>,
    /// Route key (`POST /channels/{channel_id}/messages`) -> 429s still to give, and the wait.
    rate_limits: HashMap<String, (usize, f64)>,
}

#[derive(Default)]
struct Gateway {
    /// Every live session's outbox (several replicas may share a shard, as Discord allows).
    live: Vec<mpsc::UnboundedSender<WsMessage>>,
    /// Every dispatch, with its sequence number, for RESUME to replay.
    dispatched: Vec<(u64, Value)>,
    /// The session's last sequence number.
    seq: u64,
    identifies: usize,
    resumes: usize,
    heartbeats: usize,
    intents: Option<u64>,
    /// Whether the application may use the Message Content intent.
    content_intent_enabled: bool,
    closed_by_client: Vec<Option<u16>>,
}

struct Shared {
    ledger: Mutex<Ledger>,
    gateway: Mutex<Gateway>,
    changed: Notify,
    spec: Spec,
    address: SocketAddr,
}

#[derive(Clone)]
pub(crate) struct FakeDiscord {
    pub(crate) address: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeDiscord {
    pub(crate) async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let shared = Arc::new(Shared {
            ledger: Mutex::new(Ledger {
                // Ids are snowflakes: their top bits say when they were made.
                next_id: snowflake_now(),
                ..Ledger::default()
            }),
            gateway: Mutex::new(Gateway {
                content_intent_enabled: true,
                ..Gateway::default()
            }),
            changed: Notify::new(),
            spec: Spec::load(),
            address,
        });
        {
            let mut ledger = shared.ledger.lock().expect("ledger");
            ledger.channels.insert(
                CHANNEL,
                json!({"id": CHANNEL.to_string(), "type": 0, "guild_id": GUILD.to_string(), "name": "sales"}),
            );
            ledger.channels.insert(
                DM_CHANNEL,
                json!({"id": DM_CHANNEL.to_string(), "type": 1, "recipients": [user(ASKER)]}),
            );
        }
        let app = Router::new()
            .route("/api/v10/{*path}", any(rest))
            .route("/gateway", get(gateway))
            .route("/gateway/", get(gateway))
            .with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake Discord serves");
        });
        FakeDiscord { address, shared }
    }

    /// The settings that point querybot at this fake.
    pub(crate) fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DISCORD_TOKEN", TOKEN.to_owned()),
            ("DISCORD_API_URL", format!("http://{}", self.address)),
            ("DISCORD_GUILD_ID", GUILD.to_string()),
        ]
    }

    /// Whether the application has the Message Content intent enabled in the portal.
    pub(crate) fn enable_content_intent(&self, enabled: bool) {
        self.shared
            .gateway
            .lock()
            .expect("gateway")
            .content_intent_enabled = enabled;
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.shared.ledger.lock().expect("ledger").requests.clone()
    }

    /// Requests Discord's description would refuse; every test expects none.
    pub(crate) fn violations(&self) -> Vec<String> {
        self.shared
            .ledger
            .lock()
            .expect("ledger")
            .violations
            .clone()
    }

    /// Waits until `count` successful requests of `method` on `route` were made.
    pub(crate) async fn wait_for(&self, method: &str, route: &str, count: usize) -> Vec<Request> {
        self.wait_until(&format!("{count} × {method} {route}"), || {
            let found: Vec<Request> = self
                .requests()
                .into_iter()
                .filter(|r| r.is(method, route) && r.status < 300)
                .collect();
            (found.len() >= count).then_some(found)
        })
        .await
    }

    async fn wait_until<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let changed = self.shared.changed.notified();
            if let Some(found) = check() {
                return found;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
                    .collect();
                panic!(
                    "fake Discord: waited in vain for {what}; saw {seen:#?}; violations {:#?}",
                    self.violations()
                );
            }
        }
    }

    /// The next `times` requests on a route get 429 with `retry_after` seconds.
    pub(crate) fn rate_limit_next(
        &self,
        method: &str,
        route: &str,
        times: usize,
        retry_after: f64,
    ) {
        self.shared
            .ledger
            .lock()
            .expect("ledger")
            .rate_limits
            .insert(format!("{method} {route}"), (times, retry_after));
    }

    /// A message's text as created and after each edit.
    pub(crate) fn history(&self, id: u64) -> Vec<String> {
        let ledger = self.shared.ledger.lock().expect("ledger");
        ledger.history.get(&id).cloned().unwrap_or_default()
    }

    /// A message querybot posted or edited, as it stands now.
    pub(crate) fn message(&self, id: u64) -> Value {
        self.shared.ledger.lock().expect("ledger").messages[&id].clone()
    }

    /// Waits for the gateway's `n`th IDENTIFY and its READY.
    pub(crate) async fn wait_identified(&self, n: usize) {
        self.wait_until(&format!("IDENTIFY #{n}"), || {
            let gateway = self.shared.gateway.lock().expect("gateway");
            (gateway.identifies >= n && !gateway.live.is_empty()).then_some(())
        })
        .await;
    }

    pub(crate) async fn wait_resumed(&self, n: usize) {
        self.wait_until(&format!("RESUME #{n}"), || {
            let gateway = self.shared.gateway.lock().expect("gateway");
            (gateway.resumes >= n && !gateway.live.is_empty()).then_some(())
        })
        .await;
    }

    /// Waits until the bot closes the gateway itself; returns its close code.
    pub(crate) async fn wait_client_close(&self) -> Option<u16> {
        self.wait_until("the bot to close the gateway", || {
            let gateway = self.shared.gateway.lock().expect("gateway");
            gateway.closed_by_client.first().copied()
        })
        .await
    }

    pub(crate) fn identified_intents(&self) -> Option<u64> {
        self.shared.gateway.lock().expect("gateway").intents
    }

    pub(crate) fn heartbeats(&self) -> usize {
        self.shared.gateway.lock().expect("gateway").heartbeats
    }

    /// Sends a dispatch event (op 0) on the live connection, or keeps it for RESUME to replay
    /// when there is none.
    pub(crate) fn dispatch(&self, event: &str, data: Value) {
        let mut gateway = self.shared.gateway.lock().expect("gateway");
        gateway.seq += 1;
        let seq = gateway.seq;
        let frame = json!({"op": 0, "t": event, "s": seq, "d": data});
        gateway.dispatched.push((seq, frame.clone()));
        for socket in &gateway.live {
            let _ = socket.send(WsMessage::Text(frame.to_string().into()));
        }
    }

    /// Sends the same dispatch again, as Discord may after a resume or to another session.
    pub(crate) fn redeliver_last(&self, event: &str) {
        let gateway = self.shared.gateway.lock().expect("gateway");
        let Some((_, frame)) = gateway
            .dispatched
            .iter()
            .rev()
            .find(|(_, f)| f["t"] == event)
        else {
            panic!("no {event} was dispatched");
        };
        for socket in &gateway.live {
            let _ = socket.send(WsMessage::Text(frame.to_string().into()));
        }
    }

    /// Drops the live connection as a network failure would (no close frame).
    pub(crate) fn drop_connection(&self) {
        let mut gateway = self.shared.gateway.lock().expect("gateway");
        for socket in gateway.live.drain(..) {
            let _ = socket.send(WsMessage::Close(Some(CloseFrame {
                code: 4000,
                reason: "unknown error".into(),
            })));
        }
    }

    /// Asks the bot to reconnect (op 7).
    pub(crate) fn request_reconnect(&self) {
        let gateway = self.shared.gateway.lock().expect("gateway");
        for socket in &gateway.live {
            let _ = socket.send(WsMessage::Text(
                json!({"op": 7, "d": null}).to_string().into(),
            ));
        }
    }

    /// A message from `author` in `channel` (a guild channel, a thread or the DM).
    pub(crate) fn say(&self, author: u64, channel: u64, text: &str, mentions_bot: bool) -> u64 {
        let id = self.next_id();
        let guild = self.guild_of(channel);
        let mut message = message_json(id, channel, user(author), text, json!([]));
        message["type"] = json!(0);
        if let Some(guild) = guild {
            message["guild_id"] = json!(guild.to_string());
            message["member"] = member(None);
            message["member"]["roles"] = roles_of(author);
        }
        if mentions_bot {
            message["mentions"] = json!([user(BOT_USER)]);
        }
        self.shared
            .ledger
            .lock()
            .expect("ledger")
            .messages
            .insert(id, message.clone());
        self.dispatch("MESSAGE_CREATE", message);
        id
    }

    /// The interaction payload for `/ask question:<text>` in `channel`.
    pub(crate) fn slash_ask(&self, author: u64, channel: u64, question: &str) -> Value {
        let data = json!({
            "id": "900000000000000500", "name": "ask", "type": 1,
            "options": [{"name": "question", "type": 3, "value": question}],
        });
        self.interaction(2, author, channel, data, None)
    }

    /// The interaction payload for a click on a button of `message`.
    pub(crate) fn click(&self, author: u64, message: u64, custom_id: &str) -> Value {
        let (channel, _) = self.locate(message);
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(3, author, channel, data, Some(message))
    }

    /// The interaction payload for the SQL editor's submission, opened from `message`.
    /// The submission of a modal with one text input, `input`, holding `value`.
    pub(crate) fn submit_modal(
        &self,
        author: u64,
        message: u64,
        custom_id: &str,
        input: &str,
        value: &str,
    ) -> Value {
        let (channel, _) = self.locate(message);
        let data = json!({
            "custom_id": custom_id,
            "components": [{"type": 1, "components": [{"type": 4, "custom_id": input, "value": value}]}],
        });
        self.interaction(5, author, channel, data, Some(message))
    }

    fn interaction(
        &self,
        kind: u8,
        author: u64,
        channel: u64,
        data: Value,
        message: Option<u64>,
    ) -> Value {
        let id = self.next_id();
        let token = format!("interaction-token-{id}");
        let channel_object = self.shared.ledger.lock().expect("ledger").channels[&channel].clone();
        let mut payload = json!({
            "id": id.to_string(),
            "application_id": APPLICATION.to_string(),
            "type": kind,
            "data": data,
            "channel": channel_object,
            "channel_id": channel.to_string(),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD.to_string()},
            "app_permissions": "562949953421311",
        });
        match self.guild_of(channel) {
            Some(guild) => {
                payload["guild_id"] = json!(guild.to_string());
                payload["member"] = member(Some(author));
                payload["member"]["roles"] = roles_of(author);
                payload["context"] = json!(0);
            }
            None => {
                payload["user"] = user(author);
                payload["context"] = json!(1);
            }
        }
        if let Some(message) = message {
            payload["message"] = self.message(message);
        }
        self.shared
            .ledger
            .lock()
            .expect("ledger")
            .interactions
            .insert(token, (channel, message, author));
        payload
    }

    /// Where a message is: its channel and whether it is in a thread.
    fn locate(&self, message: u64) -> (u64, bool) {
        let ledger = self.shared.ledger.lock().expect("ledger");
        let channel = ledger.messages[&message]["channel_id"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .expect("a known message");
        let thread = ledger.channels[&channel]["type"] == json!(11);
        (channel, thread)
    }

    fn guild_of(&self, channel: u64) -> Option<u64> {
        let ledger = self.shared.ledger.lock().expect("ledger");
        ledger.channels.get(&channel)?["guild_id"]
            .as_str()
            .and_then(|g| g.parse().ok())
    }

    fn next_id(&self) -> u64 {
        let mut ledger = self.shared.ledger.lock().expect("ledger");
        ledger.next_id += 1;
        ledger.next_id
    }

    /// What Discord does with the answer to an interaction delivered over HTTP.
    pub(crate) fn answered_over_http(&self, interaction: &Value, response: &Value) {
        let token = interaction["token"].as_str().expect("a token");
        let mut ledger = self.shared.ledger.lock().expect("ledger");
        let (channel, message, _) = ledger.interactions[token];
        apply_response(&mut ledger, token, channel, message, response);
        drop(ledger);
        self.shared.changed.notify_waiters();
    }

    /// The gateway event wrapping an interaction payload.
    pub(crate) fn dispatch_interaction(&self, payload: &Value) {
        self.dispatch("INTERACTION_CREATE", payload.clone());
    }
}

/// A Discord id made now: milliseconds since Discord's epoch (2015), shifted past the
/// worker, process and increment bits.
fn snowflake_now() -> u64 {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    (now - DISCORD_EPOCH_MS) << 22
}

pub(crate) fn user(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "username": if id == BOT_USER { "querybot".to_owned() } else { format!("person{}", id % 1000) },
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": id == BOT_USER,
        "public_flags": 0,
    })
}

/// The server's roles of a member: the asker holds `ANALYSTS_ROLE`, nobody else any.
fn roles_of(user_id: u64) -> Value {
    if user_id == ASKER {
        json!([ANALYSTS_ROLE.to_string()])
    } else {
        json!([])
    }
}

fn member(user_id: Option<u64>) -> Value {
    let mut member = json!({
        "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false,
        "mute": false, "flags": 0, "pending": false, "nick": null, "avatar": null,
        "premium_since": null, "communication_disabled_until": null,
    });
    if let Some(id) = user_id {
        member["user"] = user(id);
        member["permissions"] = json!("562949953421311");
    }
    member
}

fn message_json(id: u64, channel: u64, author: Value, content: &str, components: Value) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": author,
        "content": content,
        "timestamp": "2026-12-04T08:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": components,
    })
}

/// A message the bot posts, kept with its history.
fn store_message(
    ledger: &mut Ledger,
    channel: u64,
    body: &Value,
    files: &[(String, String, Vec<u8>)],
) -> Value {
    ledger.next_id += 1;
    let id = ledger.next_id;
    let mut message = message_json(
        id,
        channel,
        user(BOT_USER),
        body["content"].as_str().unwrap_or_default(),
        body.get("components").cloned().unwrap_or(json!([])),
    );
    message["attachments"] = files
        .iter()
        .enumerate()
        .map(|(i, (_, filename, bytes))| {
            json!({"id": (id + 1 + i as u64).to_string(), "filename": filename,
                   "size": bytes.len(), "url": format!("https://cdn.example/{filename}"),
                   "proxy_url": format!("https://cdn.example/{filename}")})
        })
        .collect();
    message["flags"] = body.get("flags").cloned().unwrap_or(json!(0));
    ledger.messages.insert(id, message.clone());
    ledger
        .history
        .entry(id)
        .or_default()
        .push(content_of(&message));
    message
}

/// What an interaction's first response does, whether it came as a callback or as the
/// answer to an HTTP delivery.
fn apply_response(
    ledger: &mut Ledger,
    token: &str,
    channel: u64,
    component_message: Option<u64>,
    response: &Value,
) {
    match response["type"].as_u64() {
        Some(4 | 5) => {
            let data = response.get("data").cloned().unwrap_or(json!({}));
            let message = store_message(ledger, channel, &data, &[]);
            let id = message["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            ledger.originals.insert(token.to_owned(), id);
        }
        Some(7) => {
            if let Some(id) = component_message
                && let Some(message) = ledger.messages.get_mut(&id)
            {
                for field in ["content", "components"] {
                    if let Some(value) = response["data"].get(field) {
                        message[field] = value.clone();
                    }
                }
                let content = content_of(message);
                ledger.history.entry(id).or_default().push(content);
            }
        }
        _ => {}
    }
}

/// A message as its history keeps it: its text, then its components.
fn content_of(message: &Value) -> String {
    format!(
        "{}\n{}",
        message["content"].as_str().unwrap_or_default(),
        message["components"]
    )
}

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

/// The REST API: records, checks against the description, applies faults, then answers.
async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{path}");
    let route = shared.spec.route(&path).unwrap_or_else(|| path.clone());
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (json_body, files) = if content_type.starts_with("multipart/form-data") {
        multipart(&content_type, &body)
    } else if body.is_empty() {
        (Value::Null, Vec::new())
    } else {
        (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        )
    };
    let key = format!("{method} {route}");
    // Over HTTP, Discord has the first response before the bot's follow-up arrives; here the
    // test hands it over, so an edit of `@original` waits a moment for it.
    if route == "/webhooks/{webhook_id}/{webhook_token}/messages/@original" {
        let token = path.split('/').nth(3).unwrap_or_default().to_owned();
        for _ in 0..100 {
            if shared
                .ledger
                .lock()
                .expect("ledger")
                .originals
                .contains_key(&token)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let authorized = route.starts_with("/interactions/")
        || route.starts_with("/webhooks/")
        || headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bot {TOKEN}"));
    let problems = if json_body.is_null() {
        Vec::new()
    } else {
        shared
            .spec
            .problems(method.as_str(), &route, &json_body, !files.is_empty())
    };
    let response = {
        let mut ledger = shared.ledger.lock().expect("ledger");
        let limited = match ledger.rate_limits.get_mut(&key) {
            Some((left, retry_after)) if *left > 0 => {
                *left -= 1;
                Some(*retry_after)
            }
            _ => None,
        };
        if !authorized {
            error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
        } else if let Some(retry_after) = limited {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false})),
            )
                .into_response();
            response.headers_mut().insert(
                "retry-after",
                format!("{}", retry_after.ceil()).parse().expect("header"),
            );
            response
        } else if !problems.is_empty() {
            ledger.violations.push(format!(
                "{key}: {problems:?} in {json_body} (already allowed: {})",
                super::discord_spec::leniencies()
            ));
            error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body")
        } else {
            answer(
                &shared,
                &mut ledger,
                &method,
                &path,
                &route,
                &json_body,
                &files,
            )
        }
    };
    let acting = path
        .split('/')
        .nth(3)
        .filter(|_| route.starts_with("/interactions/") || route.starts_with("/webhooks/"))
        .and_then(|token| {
            let ledger = shared.ledger.lock().expect("ledger");
            ledger.interactions.get(token).map(|(_, _, author)| *author)
        });
    shared
        .ledger
        .lock()
        .expect("ledger")
        .requests
        .push(Request {
            acting,
            method: method.to_string(),
            path,
            route,
            body: json_body,
            files,
            status: response.status().as_u16(),
            at: Instant::now(),
        });
    shared.changed.notify_waiters();
    response
}

fn answer(
    shared: &Shared,
    ledger: &mut Ledger,
    method: &Method,
    path: &str,
    route: &str,
    body: &Value,
    files: &[(String, String, Vec<u8>)],
) -> Response {
    let ids: Vec<u64> = path
        .split('/')
        .filter_map(|segment| segment.parse().ok())
        .collect();
    let token_of = |path: &str| path.split('/').nth(3).unwrap_or_default().to_owned();
    let ok = |value: Value| axum::Json(value).into_response();
    let create = |ledger: &mut Ledger, channel: u64, body: &Value| -> Value {
        store_message(ledger, channel, body, files)
    };
    match (method.as_str(), route) {
        ("GET", "/users/@me") => ok(json!({
            "id": BOT_USER.to_string(), "username": "querybot", "discriminator": "0",
            "avatar": null, "bot": true, "mfa_enabled": false, "verified": true, "flags": 0,
        })),
        ("GET", "/applications/@me" | "/oauth2/applications/@me") => {
            let flags = if shared
                .gateway
                .lock()
                .expect("gateway")
                .content_intent_enabled
            {
                1 << 19
            } else {
                0
            };
            ok(json!({
                "id": APPLICATION.to_string(), "name": "querybot", "description": "",
                "icon": null, "bot_public": false, "bot_require_code_grant": false,
                "verify_key": "0".repeat(64), "flags": flags, "rpc_origins": [],
            }))
        }
        ("GET", "/gateway/bot") => ok(json!({
            "url": format!("ws://{}/gateway", shared.address),
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1},
        })),
        ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
        | ("PUT", "/applications/{application_id}/commands") => {
            let commands: Vec<Value> = body
                .as_array()
                .into_iter()
                .flatten()
                .map(|command| {
                    let mut command = command.clone();
                    command["id"] = json!("900000000000000500");
                    command["application_id"] = json!(APPLICATION.to_string());
                    command["version"] = json!("1");
                    command["default_member_permissions"] = Value::Null;
                    command["type"] = json!(1);
                    command
                })
                .collect();
            ok(Value::Array(commands))
        }
        ("GET", "/channels/{channel_id}") => match ledger.channels.get(&ids[0]) {
            Some(channel) => ok(channel.clone()),
            None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        },
        ("POST", "/channels/{channel_id}/messages") => {
            if !ledger.channels.contains_key(&ids[0]) {
                return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            }
            ok(create(ledger, ids[0], body))
        }
        ("PATCH", "/channels/{channel_id}/messages/{message_id}") => {
            let Some(message) = ledger.messages.get_mut(&ids[1]) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if message["author"]["id"] != json!(BOT_USER.to_string()) {
                return error(
                    StatusCode::FORBIDDEN,
                    50005,
                    "Cannot edit a message authored by another user",
                );
            }
            for field in ["content", "components"] {
                if let Some(value) = body.get(field) {
                    message[field] = value.clone();
                }
            }
            message["edited_timestamp"] = json!("2026-12-04T08:00:01.000000+00:00");
            let message = message.clone();
            ledger
                .history
                .entry(ids[1])
                .or_default()
                .push(content_of(&message));
            ok(message)
        }
        ("POST", "/channels/{channel_id}/messages/{message_id}/threads") => {
            let (channel, message) = (ids[0], ids[1]);
            if !ledger.messages.contains_key(&message) {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            }
            if ledger.channels.contains_key(&message) {
                return error(
                    StatusCode::BAD_REQUEST,
                    160004,
                    "A thread has already been created for this message",
                );
            }
            let guild = ledger.channels[&channel]["guild_id"].clone();
            let thread = json!({
                "id": message.to_string(), "type": 11, "guild_id": guild,
                "parent_id": channel.to_string(), "name": body["name"], "owner_id": BOT_USER.to_string(),
                "thread_metadata": {"archived": false, "auto_archive_duration": 1440, "locked": false,
                                    "archive_timestamp": "2026-12-04T08:00:00.000000+00:00"},
            });
            ledger.channels.insert(message, thread.clone());
            ok(thread)
        }
        ("POST", "/interactions/{interaction_id}/{interaction_token}/callback") => {
            let token = path.split('/').nth(3).unwrap_or_default().to_owned();
            let Some((channel, component_message, _)) = ledger.interactions.get(&token).copied()
            else {
                return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
            };
            apply_response(ledger, &token, channel, component_message, body);
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original") => {
            let token = token_of(path);
            let Some(message) = ledger
                .originals
                .get(&token)
                .and_then(|id| ledger.messages.get_mut(id))
            else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            for field in ["content", "components"] {
                if let Some(value) = body.get(field) {
                    message[field] = value.clone();
                }
            }
            let message = message.clone();
            let id = message["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            ledger
                .history
                .entry(id)
                .or_default()
                .push(content_of(&message));
            ok(message)
        }
        ("POST", "/webhooks/{webhook_id}/{webhook_token}") => {
            let token = token_of(path);
            let Some((channel, _, _)) = ledger.interactions.get(&token).copied() else {
                return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            };
            ok(create(ledger, channel, body))
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

/// A multipart body's `payload_json` and its files.
fn multipart(content_type: &str, body: &[u8]) -> (Value, Vec<(String, String, Vec<u8>)>) {
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in multipart_parts(content_type, body) {
        match part.filename {
            Some(filename) => files.push((part.name, filename, part.content)),
            None if part.name == "payload_json" => {
                payload = serde_json::from_slice(&part.content).unwrap_or(Value::Null);
            }
            None => {}
        }
    }
    (payload, files)
}

/// The gateway: HELLO, then IDENTIFY -> READY or RESUME -> replay + RESUMED, heartbeats ACKed.
async fn gateway(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| session(shared, socket))
}

async fn session(shared: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut outgoing) = mpsc::unbounded_channel::<WsMessage>();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 1_000}});
    let _ = outbox.send(WsMessage::Text(hello.to_string().into()));
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let closing = matches!(message, WsMessage::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let frame: Value = match message {
            WsMessage::Text(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
            WsMessage::Close(frame) => {
                let code = frame.map(|f| f.code);
                shared
                    .gateway
                    .lock()
                    .expect("gateway")
                    .closed_by_client
                    .push(code);
                shared.changed.notify_waiters();
                break;
            }
            _ => continue,
        };
        let mut gateway = shared.gateway.lock().expect("gateway");
        match frame["op"].as_u64() {
            Some(1) => {
                gateway.heartbeats += 1;
                let _ = outbox.send(WsMessage::Text(json!({"op": 11}).to_string().into()));
            }
            Some(2) => {
                let token = frame["d"]["token"].as_str().unwrap_or_default();
                let intents = frame["d"]["intents"].as_u64().unwrap_or(0);
                if token.trim_start_matches("Bot ") != TOKEN {
                    let _ = outbox.send(close(4004, "Authentication failed."));
                    continue;
                }
                if intents & MESSAGE_CONTENT_INTENT != 0 && !gateway.content_intent_enabled {
                    let _ = outbox.send(close(4014, "Disallowed intent(s)."));
                    continue;
                }
                gateway.identifies += 1;
                gateway.intents = Some(intents);
                let ready = json!({"op": 0, "t": "READY", "s": 1, "d": {
                    "v": 10, "user": user(BOT_USER), "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
                    "session_id": format!("fake-session-{}", gateway.identifies),
                    "resume_gateway_url": format!("ws://{}/gateway", shared.address),
                    "application": {"id": APPLICATION.to_string(), "flags": 0},
                }});
                let _ = outbox.send(WsMessage::Text(ready.to_string().into()));
                // A new session starts its sequence again; older events are not its own.
                gateway.dispatched.clear();
                gateway.seq = 1;
                gateway.live.push(outbox.clone());
            }
            Some(6) => {
                gateway.resumes += 1;
                let seq = frame["d"]["seq"].as_u64().unwrap_or(0);
                for (_, event) in gateway.dispatched.iter().filter(|(s, _)| *s > seq) {
                    let _ = outbox.send(WsMessage::Text(event.to_string().into()));
                }
                gateway.seq += 1;
                let next = gateway.seq;
                let resumed = json!({"op": 0, "t": "RESUMED", "s": next, "d": {}});
                gateway.dispatched.push((next, resumed.clone()));
                let _ = outbox.send(WsMessage::Text(resumed.to_string().into()));
                gateway.live.push(outbox.clone());
            }
            _ => {}
        }
        drop(gateway);
        shared.changed.notify_waiters();
    }
    {
        let mut gateway = shared.gateway.lock().expect("gateway");
        gateway.live.retain(|socket| !socket.same_channel(&outbox));
    }
    writer.abort();
    shared.changed.notify_waiters();
}

fn close(code: u16, reason: &str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}
