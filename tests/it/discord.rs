//! The Discord surface end to end: the real gateway client and REST calls against a fake
//! Discord on 127.0.0.1 (every request body checked against Discord's OpenAPI description),
//! a fake LLM and the demo warehouse; signed HTTP interactions against the real endpoint.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::app::{TestApp, spawn_app};
use crate::support::chat;
use crate::support::fake_discord::{ASKER, BOT_USER, CHANNEL, DM_CHANNEL, FakeDiscord, Request};
use crate::support::fake_llm::{FakeLlm, Step, sql_reply};
use crate::support::testdata;

const MONTHLY_2024: &str = "SELECT strftime('%Y-%m', order_date) AS month, count(*) AS orders \
     FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01' \
     GROUP BY 1 ORDER BY 1";

const THREADS: &str = "/channels/{channel_id}/messages/{message_id}/threads";
const MESSAGES: &str = "/channels/{channel_id}/messages";
const MESSAGE: &str = "/channels/{channel_id}/messages/{message_id}";
const CALLBACK: &str = "/interactions/{interaction_id}/{interaction_token}/callback";
const ORIGINAL: &str = "/webhooks/{webhook_id}/{webhook_token}/messages/@original";

struct DiscordTest {
    app: TestApp,
    discord: FakeDiscord,
    llm: FakeLlm,
}

async fn start(extra: &[(&str, &str)]) -> DiscordTest {
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    let app = app_for(&llm, &discord, extra).await;
    discord.wait_identified(1).await;
    DiscordTest { app, discord, llm }
}

async fn app_for(llm: &FakeLlm, discord: &FakeDiscord, extra: &[(&str, &str)]) -> TestApp {
    let settings = chat::settings_of(vec![llm.settings(), discord.settings()], &[], extra);
    chat::spawn(&settings).await
}

impl DiscordTest {
    /// `@querybot <question>` in #sales until the draft shows: (thread, draft message, draft id).
    async fn drafted(&self, question: &str) -> (u64, u64, String) {
        let asked = self
            .discord
            .say(ASKER, CHANNEL, &format!("<@{BOT_USER}> {question}"), true);
        let thread = self.discord.wait_for("POST", THREADS, 1).await.remove(0);
        assert_eq!(
            thread.path,
            format!("/channels/{CHANNEL}/messages/{asked}/threads")
        );
        let update = self.discord.wait_for("PATCH", MESSAGE, 1).await.remove(0);
        let message: u64 = last_id(&update.path);
        (asked, message, draft_id(&update.body))
    }

    fn click(&self, user: u64, message: u64, action: &str, draft: &str) {
        let payload = self
            .discord
            .click(user, message, &format!("{action}:{draft}"));
        self.discord.dispatch_interaction(&payload);
    }

    fn no_violations(&self) {
        assert_eq!(self.discord.violations(), Vec::<String>::new());
    }
}

fn last_id(path: &str) -> u64 {
    path.rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("an id")
}

/// The draft id on a draft's Run button.
fn draft_id(body: &Value) -> String {
    buttons(body)
        .into_iter()
        .find_map(|id| id.strip_prefix("querybot_run:").map(str::to_owned))
        .unwrap_or_else(|| panic!("no Run button in {body}"))
}

fn buttons(body: &Value) -> Vec<String> {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .collect()
}

fn callbacks(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.is("POST", CALLBACK))
        .map(|r| r.body.clone())
        .collect()
}

#[tokio::test]
async fn a_mention_drafts_in_a_thread_and_run_answers_there_with_table_chart_and_csv() {
    let t = start(&[]).await;
    t.llm
        .script([sql_reply(MONTHLY_2024, "Counts orders per month in 2024.")]);
    let (thread, message, draft) = t.drafted("how many orders per month in 2024?").await;
    assert_eq!(thread, message - 1, "the thread starts from the question");

    let posts = t.discord.wait_for("POST", MESSAGES, 1).await;
    assert_eq!(
        posts[0].path,
        format!("/channels/{thread}/messages"),
        "the placeholder goes in the thread"
    );
    assert!(
        posts[0].content().contains("writing SQL"),
        "{}",
        posts[0].content()
    );
    let shown = t.discord.message(message);
    let text = shown["content"].as_str().unwrap_or_default();
    assert!(text.contains("```sql\nSELECT strftime"), "{text}");
    assert!(text.contains("Counts orders per month"), "{text}");
    let ids = buttons(&shown);
    assert_eq!(
        ids,
        [
            format!("querybot_run:{draft}"),
            format!("querybot_edit:{draft}"),
            format!("querybot_cancel:{draft}")
        ],
        "buttons carry only the draft id"
    );

    t.click(ASKER, message, "querybot_run", &draft);
    let with_files = t.discord.wait_for("POST", MESSAGES, 3).await;
    let callback = callbacks(&t.discord.requests());
    assert_eq!(
        callback,
        [json!({"type": 6})],
        "a click is a deferred update"
    );

    let answer = &with_files[1];
    assert_eq!(answer.path, format!("/channels/{thread}/messages"));
    assert!(
        answer.content().contains("2024-01"),
        "the table: {}",
        answer.content()
    );
    assert!(answer.content().contains("12 rows"), "{}", answer.content());
    let files = &with_files[2];
    assert_eq!(
        files.path,
        format!("/channels/{thread}/messages"),
        "files go to the thread"
    );
    let names: Vec<&str> = files
        .files
        .iter()
        .map(|(_, name, _)| name.as_str())
        .collect();
    assert_eq!(
        names,
        ["chart.png", "result.csv"],
        "one message with both files"
    );
    assert!(files.files[0].2.starts_with(b"\x89PNG"));
    let csv = String::from_utf8_lossy(&files.files[1].2).into_owned();
    assert!(csv.starts_with("month,orders"), "{csv}");
    assert_eq!(csv.lines().count(), 13);
    assert_eq!(files.files[0].0, "files[1]", "multipart files[n] parts");

    let updates = t.discord.wait_for("PATCH", MESSAGE, 3).await;
    assert!(
        updates[1]
            .content()
            .contains(&format!("Running… (started by <@{ASKER}>)"))
    );
    assert!(
        updates[2]
            .content()
            .contains(&format!("Ran by <@{ASKER}> in")),
        "{}",
        updates[2].content()
    );
    assert!(
        buttons(&updates[2].body).is_empty(),
        "a run draft has no buttons"
    );
    t.no_violations();
}

#[tokio::test]
async fn slash_ask_is_deferred_at_once_and_its_draft_starts_a_thread() {
    let t = start(&[]).await;
    // The LLM answers `SELECT 1` after 1.5 s.
    t.llm.script([Step::Hang(Duration::from_millis(1500))]);
    let ask = t
        .discord
        .slash_ask(ASKER, CHANNEL, "orders per month in 2024?");
    let sent = std::time::Instant::now();
    t.discord.dispatch_interaction(&ask);
    let callback = t.discord.wait_for("POST", CALLBACK, 1).await.remove(0);
    assert!(callback.at.duration_since(sent) < Duration::from_secs(3));
    assert_eq!(
        callback.body,
        json!({"type": 5}),
        "a deferred channel message"
    );
    assert!(
        t.discord.requests().iter().all(|r| !r.is("PATCH", MESSAGE)),
        "deferred before the LLM answered"
    );
    let progress = t.discord.wait_for("PATCH", ORIGINAL, 1).await.remove(0);
    assert!(progress.content().contains("writing SQL"));
    let thread = t.discord.wait_for("POST", THREADS, 1).await.remove(0);
    let draft_message = thread
        .path
        .split('/')
        .nth(4)
        .and_then(|id| id.parse::<u64>().ok())
        .expect("id");
    let update = t.discord.wait_for("PATCH", MESSAGE, 1).await.remove(0);
    assert_eq!(
        update.path,
        format!("/channels/{CHANNEL}/messages/{draft_message}"),
        "the deferred reply becomes the draft"
    );
    assert!(
        update.content().contains("SELECT 1"),
        "{}",
        update.content()
    );

    // Run answers in the thread the draft started.
    let draft = draft_id(&update.body);
    t.click(ASKER, draft_message, "querybot_run", &draft);
    let posts = t.discord.wait_for("POST", MESSAGES, 2).await;
    assert_eq!(posts[0].path, format!("/channels/{draft_message}/messages"));
    t.no_violations();
}

#[tokio::test]
async fn edit_opens_the_sql_in_a_modal_rejects_a_write_and_saves_a_valid_edit() {
    let t = start(&[]).await;
    t.llm.script([sql_reply(
        "SELECT count(*) AS n FROM orders",
        "Counts orders.",
    )]);
    let (_, message, draft) = t.drafted("how many orders?").await;

    t.click(ASKER, message, "querybot_edit", &draft);
    let modal = t.discord.wait_for("POST", CALLBACK, 1).await.remove(0);
    assert_eq!(modal.body["type"], json!(9), "{}", modal.body);
    assert_eq!(
        modal.body["data"]["custom_id"],
        json!(format!("querybot_edit_sql:{draft}"))
    );
    let input = &modal.body["data"]["components"][0]["components"][0];
    assert_eq!(input["value"], json!("SELECT count(*) AS n FROM orders"));
    assert_eq!(input["max_length"], json!(4000));

    let custom_id = format!("querybot_edit_sql:{draft}");
    let rejected = t
        .discord
        .submit_modal(ASKER, message, &custom_id, "sql", "DELETE FROM orders");
    t.discord.dispatch_interaction(&rejected);
    let answer = t.discord.wait_for("POST", CALLBACK, 2).await.remove(1);
    assert_eq!(answer.body["type"], json!(4));
    assert_eq!(
        answer.body["data"]["flags"],
        json!(64),
        "the reason goes to the editor only"
    );
    assert!(
        !answer.body["data"]["content"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );

    let valid = t.discord.submit_modal(
        ASKER,
        message,
        &custom_id,
        "sql",
        "SELECT count(*) AS orders FROM orders",
    );
    t.discord.dispatch_interaction(&valid);
    let saved = t.discord.wait_for("POST", CALLBACK, 3).await.remove(2);
    assert_eq!(
        saved.body["type"],
        json!(7),
        "the draft message is updated in place"
    );
    let content = saved.body["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("count(*) AS orders"), "{content}");
    assert!(
        t.discord.message(message)["content"]
            .as_str()
            .unwrap_or_default()
            .contains("AS orders")
    );
    t.no_violations();
}

#[tokio::test]
async fn follow_ups_need_a_mention_without_message_content_and_say_so_once() {
    let t = start(&[]).await;
    t.llm.script([
        sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."),
        sql_reply(
            "SELECT count(*) AS n FROM orders WHERE status = 'shipped'",
            "Shipped only.",
        ),
    ]);
    let (thread, _, _) = t.drafted("how many orders?").await;

    // Without the intent Discord sends a thread reply that does not mention the bot empty.
    t.discord.say(ASKER, thread, "", false);
    t.discord.say(ASKER, thread, "", false);
    let hint = t.discord.wait_for("POST", MESSAGES, 2).await.remove(1);
    assert!(hint.content().contains("mention me"), "{}", hint.content());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hints = t
        .discord
        .requests()
        .iter()
        .filter(|r| r.content().contains("mention me"))
        .count();
    assert_eq!(hints, 1, "said once per thread");

    // A mention continues the conversation, with the previous SQL in the prompt.
    t.discord.say(
        ASKER,
        thread,
        &format!("<@{BOT_USER}> only shipped ones"),
        true,
    );
    let updates = t.discord.wait_for("PATCH", MESSAGE, 2).await;
    assert!(
        updates[1].content().contains("shipped"),
        "{}",
        updates[1].content()
    );
    let prompt = t.llm.requests().last().expect("an LLM call").text();
    assert!(
        prompt.contains("SELECT count(*) AS n FROM orders"),
        "the previous SQL is in the prompt"
    );
    assert_eq!(
        t.discord
            .requests()
            .iter()
            .filter(|r| r.is("POST", THREADS))
            .count(),
        1,
        "no new thread"
    );
    t.no_violations();
}

#[tokio::test]
async fn with_message_content_a_plain_reply_in_the_thread_is_a_follow_up() {
    let t = start(&[("DISCORD_MESSAGE_CONTENT", "on")]).await;
    assert_eq!(
        t.discord.identified_intents().map(|i| i & (1 << 15)),
        Some(1 << 15)
    );
    t.llm.script([
        sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."),
        sql_reply(
            "SELECT count(*) AS n FROM orders WHERE status = 'shipped'",
            "Shipped only.",
        ),
    ]);
    let (thread, _, _) = t.drafted("how many orders?").await;
    t.discord.say(ASKER, thread, "only shipped ones", false);
    let updates = t.discord.wait_for("PATCH", MESSAGE, 2).await;
    assert!(updates[1].content().contains("shipped"));
    t.no_violations();
}

#[tokio::test]
async fn a_direct_message_is_a_question_answered_in_the_dm() {
    let t = start(&[]).await;
    t.llm.script([sql_reply(
        "SELECT count(*) AS n FROM orders",
        "Counts orders.",
    )]);
    t.discord.say(ASKER, DM_CHANNEL, "how many orders?", false);
    let update = t.discord.wait_for("PATCH", MESSAGE, 1).await.remove(0);
    assert!(update.path.starts_with(&format!("/channels/{DM_CHANNEL}/")));
    assert!(
        t.discord.requests().iter().all(|r| !r.is("POST", THREADS)),
        "no threads in DMs"
    );
    t.no_violations();
}

#[tokio::test]
async fn a_dropped_gateway_resumes_and_loses_nothing() {
    let t = start(&[]).await;
    t.llm.script([sql_reply(
        "SELECT count(*) AS n FROM orders",
        "Counts orders.",
    )]);
    t.discord.drop_connection();
    // Sent while the bot is away: RESUME replays it.
    t.discord.say(
        ASKER,
        CHANNEL,
        &format!("<@{BOT_USER}> how many orders?"),
        true,
    );
    t.discord.wait_resumed(1).await;
    t.discord.wait_for("PATCH", MESSAGE, 1).await;
    t.discord.request_reconnect();
    t.discord.wait_resumed(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        t.discord
            .requests()
            .iter()
            .filter(|r| r.is("POST", THREADS))
            .count(),
        1,
        "answered once"
    );
    t.no_violations();
}

#[tokio::test]
async fn a_privileged_intent_not_enabled_stops_serve_naming_the_setting() {
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    discord.enable_content_intent(false);
    let mut app = app_for(&llm, &discord, &[("DISCORD_MESSAGE_CONTENT", "on")]).await;
    let served = tokio::time::timeout(Duration::from_secs(15), app.served())
        .await
        .expect("serve stops by itself");
    let error = served.expect_err("serve fails");
    assert!(
        format!("{error:#}").contains("DISCORD_MESSAGE_CONTENT"),
        "{error:#}"
    );
}

#[tokio::test]
async fn shutdown_closes_the_gateway_cleanly() {
    let mut t = start(&[]).await;
    assert!(t.discord.heartbeats() <= 100);
    t.app.shut_down();
    assert_eq!(t.discord.wait_client_close().await, Some(1000));
    t.app.served().await.expect("serve exits cleanly");
}

/// Samples that predate fields Discord now always sends, and those fields' values; the
/// samples are otherwise read as they are.
const BACKFILLED: &[(&str, &str)] = &[
    (
        "member.flags",
        "guild member flags, sent on every member since 2023",
    ),
    (
        "authorizing_integration_owners",
        "sent on every interaction since user-installable apps (2024)",
    ),
    (
        "application_id, data.type",
        "trimmed from discord-interactions-js's signature-test bodies",
    ),
];

#[test]
fn every_discord_payload_sample_parses() {
    use twilight_model::application::interaction::Interaction;
    use twilight_model::gateway::event::GatewayEvent;
    assert_eq!(BACKFILLED.len(), 3);
    let dir = testdata("discord");
    let mut checked = 0;
    let mut failures = Vec::new();
    for folder in [
        "api-docs-examples",
        "discord-interactions-js",
        "discordbm",
        "serenity-resources-2020",
        "twilight-gateway-frames",
    ] {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("sample");
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                failures.push(format!("{}: not JSON", path.display()));
                continue;
            };
            // Samples are wrapped with where they came from.
            let mut sample = value.get("value").cloned().unwrap_or(value);
            let parsed = match sample.get("op").and_then(Value::as_u64) {
                // What a client sends: the fields the fake gateway reads.
                Some(2) => has(&sample["d"], &["token", "intents", "properties"]),
                Some(6) => has(&sample["d"], &["token", "session_id", "seq"]),
                // Dispatches querybot reads are read whole, as the gateway client does.
                Some(0)
                    if matches!(
                        sample["t"].as_str(),
                        Some("MESSAGE_CREATE" | "INTERACTION_CREATE" | "READY")
                    ) =>
                {
                    backfill(&mut sample["d"]);
                    gateway_event(&sample)
                }
                // Anything else only needs its op code and name read.
                Some(_) => twilight_model::gateway::event::GatewayEventDeserializer::from_json(
                    &sample.to_string(),
                )
                .map(|_| ())
                .ok_or_else(|| "no op code".to_owned()),
                None if sample.get("token").is_some() && sample.get("type").is_some() => {
                    backfill(&mut sample);
                    serde_json::from_value::<Interaction>(sample)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
                None => Ok(()),
            };
            if let Err(error) = parsed {
                failures.push(format!("{}: {error}", path.display()));
            }
            checked += 1;
        }
    }
    assert_eq!(failures, Vec::<String>::new());
    assert!(checked >= 40, "only {checked} samples");

    fn gateway_event(sample: &Value) -> Result<(), String> {
        let text = sample.to_string();
        let deserializer =
            twilight_model::gateway::event::GatewayEventDeserializer::from_json(&text)
                .ok_or("not a gateway event")?;
        let mut json = serde_json::Deserializer::from_str(&text);
        serde::de::DeserializeSeed::deserialize(deserializer, &mut json)
            .map(|_: GatewayEvent| ())
            .map_err(|e| e.to_string())
    }

    fn has(data: &Value, fields: &[&str]) -> Result<(), String> {
        match fields.iter().find(|field| data.get(**field).is_none()) {
            Some(missing) => Err(format!("no {missing}")),
            None => Ok(()),
        }
    }

    /// Fills in the fields of [`BACKFILLED`] where a sample lacks them.
    fn backfill(sample: &mut Value) {
        if sample.get("token").is_none() || sample.get("type").is_none() {
            return;
        }
        let object = sample.as_object_mut().expect("an object");
        object
            .entry("authorizing_integration_owners")
            .or_insert(json!({}));
        object.entry("application_id").or_insert(json!("1"));
        object.entry("entitlements").or_insert(json!([]));
        let kind = object.get("type").cloned();
        if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut)
            && kind == Some(json!(2))
        {
            data.entry("type").or_insert(json!(1));
        }
        let (member, data) = (object.get("member").is_some(), object.contains_key("data"));
        let mut members: Vec<&mut Value> = Vec::new();
        let (left, right): (Vec<_>, Vec<_>) = object
            .iter_mut()
            .filter(|(key, _)| (member && *key == "member") || (data && *key == "data"))
            .partition(|(key, _)| *key == "member");
        members.extend(left.into_iter().map(|(_, value)| value));
        for (_, data) in right {
            if let Some(resolved) = data
                .get_mut("resolved")
                .and_then(|resolved| resolved.get_mut("members"))
                .and_then(Value::as_object_mut)
            {
                members.extend(resolved.values_mut());
            }
        }
        for member in members {
            if let Some(member) = member.as_object_mut() {
                member.entry("flags").or_insert(json!(0));
            }
        }
    }
}

#[tokio::test]
async fn http_interactions_are_verified_with_ed25519_and_answered() {
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("discord/hikari/ed25519_interaction_vectors.json"))
            .expect("vectors"),
    )
    .expect("json");
    let key = vectors["public_key_hex"].as_str().expect("key");
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    let app = app_for(&llm, &discord, &[("DISCORD_PUBLIC_KEY", key)]).await;
    let valid = &vectors["valid"];
    let post = |timestamp: &str, signature: &str, body: &str| {
        app.client
            .post(format!("{}/discord/interactions", app.address))
            .header("x-signature-timestamp", timestamp)
            .header("x-signature-ed25519", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let body = valid["body"].as_str().expect("body");
    let timestamp = valid["timestamp"].as_str().expect("timestamp");
    let signature = valid["signature_hex"].as_str().expect("signature");
    let response = post(timestamp, signature, body).await.expect("answers");
    assert_ne!(response.status(), 401, "a valid signature is accepted");
    let mut changed = body.as_bytes().to_vec();
    changed[10] ^= 1;
    let tampered = post(timestamp, signature, &String::from_utf8_lossy(&changed))
        .await
        .expect("answers");
    assert_eq!(tampered.status(), 401, "one changed byte");
    let wrong_time = post("1643807577", signature, body).await.expect("answers");
    assert_eq!(wrong_time.status(), 401, "another timestamp");
    assert_eq!(
        post(timestamp, "zz", body).await.expect("answers").status(),
        401
    );
    {
        let case = &vectors["invalid"];
        let response = post(
            case["timestamp"].as_str().unwrap_or(timestamp),
            case["signature_hex"].as_str().unwrap_or(signature),
            case["body"].as_str().unwrap_or(body),
        )
        .await
        .expect("answers");
        assert_eq!(response.status(), 401, "{case}");
    }
}

#[tokio::test]
async fn an_http_ping_is_answered_and_a_redelivery_on_another_replica_is_not() {
    use ed25519_dalek::{Signer, SigningKey};
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let key = hex::encode(signing.verifying_key().to_bytes());
    let db = crate::support::db::PgDatabase::create().await;
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    let store = [
        ("DATABASE_URL", db.url.as_str()),
        ("DISCORD_PUBLIC_KEY", key.as_str()),
    ];
    let first = app_for(&llm, &discord, &store).await;
    let second = app_for(&llm, &discord, &store).await;
    let deliver = |app: &TestApp, body: &Value| {
        let body = body.to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = hex::encode(
            signing
                .sign(format!("{timestamp}{body}").as_bytes())
                .to_bytes(),
        );
        app.client
            .post(format!("{}/discord/interactions", app.address))
            .header("x-signature-timestamp", timestamp)
            .header("x-signature-ed25519", signature)
            .body(body)
            .send()
    };
    let ping = json!({"id": "1", "application_id": "2", "type": 1, "token": "t", "version": 1});
    let pong: Value = deliver(&first, &ping)
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(pong, json!({"type": 1}));

    let ask = discord.slash_ask(ASKER, CHANNEL, "");
    let answered = deliver(&first, &ask).await.expect("answers");
    assert_eq!(answered.status(), 200);
    let help: Value = answered.json().await.expect("json");
    assert_eq!(help["type"], json!(4));
    assert_eq!(
        help["data"]["flags"],
        json!(64),
        "a bare /ask gets help privately"
    );
    let again = deliver(&second, &ask).await.expect("answers");
    assert_eq!(
        again.status(),
        204,
        "the other replica sees it was answered"
    );

    // A real question over HTTP: deferred in the answer, then the draft starts a thread.
    llm.script([sql_reply(
        "SELECT count(*) AS n FROM orders",
        "Counts orders.",
    )]);
    let ask = discord.slash_ask(ASKER, CHANNEL, "how many orders?");
    let deferred: Value = deliver(&second, &ask)
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(deferred, json!({"type": 5}));
    discord.answered_over_http(&ask, &deferred);
    discord.wait_for("PATCH", ORIGINAL, 1).await;
    discord.wait_for("POST", THREADS, 1).await;
    let draft = discord.wait_for("PATCH", MESSAGE, 1).await.remove(0);
    assert!(draft.content().contains("count(*)"), "{}", draft.content());
    assert!(
        callbacks(&discord.requests()).is_empty(),
        "over HTTP the first response is the answer, not a callback"
    );
}

#[tokio::test]
async fn doctor_checks_the_token_and_the_message_content_intent() {
    let discord = FakeDiscord::start().await;
    let doctor = |extra: Vec<(&'static str, String)>| {
        let data = tempfile::tempdir().expect("temp dir");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_querybot"));
        command
            .arg("doctor")
            .current_dir(data.path())
            .env_clear()
            .env("QUERYBOT_DATA_DIR", data.path())
            .env("QUERYBOT_LOG", "warn")
            .envs(discord.settings())
            .envs(extra);
        async move {
            let output = command.output().await.expect("doctor runs");
            drop(data);
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
    };
    let report = doctor(vec![]).await;
    assert!(
        report.contains(&format!("ok (bot user querybot ({BOT_USER})")),
        "{report}"
    );
    assert!(
        report.contains("Message Content intent enabled but not used"),
        "{report}"
    );

    discord.enable_content_intent(false);
    let report = doctor(vec![("DISCORD_MESSAGE_CONTENT", "on".to_owned())]).await;
    assert!(
        report.contains("FAILED: the Message Content intent is NOT enabled"),
        "{report}"
    );

    let report = doctor(vec![("DISCORD_TOKEN", "wrong".to_owned())]).await;
    assert!(
        report.contains("discord:") && report.contains("FAILED"),
        "{report}"
    );
}

#[tokio::test]
async fn a_refused_token_stops_serve_naming_the_setting() {
    let (llm, discord) = (FakeLlm::start().await, FakeDiscord::start().await);
    let mut app = app_for(&llm, &discord, &[("DISCORD_TOKEN", "not-the-token")]).await;
    let served = tokio::time::timeout(Duration::from_secs(15), app.served())
        .await
        .expect("serve stops by itself");
    let error = format!("{:#}", served.expect_err("serve fails"));
    assert!(error.contains("DISCORD_TOKEN"), "{error}");
}

#[tokio::test]
async fn an_unreachable_discord_is_waited_out_while_the_rest_serves() {
    let llm = FakeLlm::start().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = closed.local_addr().expect("address");
    drop(closed);
    let settings: Vec<(String, String)> = llm
        .settings()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain([
            ("DISCORD_TOKEN".to_owned(), "token".to_owned()),
            ("DISCORD_API_URL".to_owned(), format!("http://{address}")),
        ])
        .collect();
    let refs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut app = spawn_app(&refs).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.shut_down();
    tokio::time::timeout(Duration::from_secs(10), app.served())
        .await
        .expect("serve stops")
        .expect("cleanly");
}

#[tokio::test]
async fn one_process_serves_slack_and_discord_together() {
    use crate::support::fake_slack::FakeSlack;
    let (llm, discord, slack) = (
        FakeLlm::start().await,
        FakeDiscord::start().await,
        FakeSlack::start().await,
    );
    let slack_settings: Vec<(&str, String)> = slack.socket_mode_settings();
    let extra: Vec<(&str, &str)> = slack_settings
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let _app = app_for(&llm, &discord, &extra).await;
    discord.wait_identified(1).await;
    slack.wait_for_socket(1).await;
    llm.respond_with(|_| sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."));
    discord.say(
        ASKER,
        CHANNEL,
        &format!("<@{BOT_USER}> how many orders?"),
        true,
    );
    discord.wait_for("PATCH", MESSAGE, 1).await;
    slack
        .send_envelope(crate::support::fake_slack::envelope(
            "events_api",
            crate::support::fake_slack::event_callback(
                "EvBoth",
                crate::support::fake_slack::mention("how many orders?", "1700000000.000100"),
            ),
        ))
        .await;
    slack.wait_for("chat.update", 1).await;
    assert_eq!(llm.requests().len(), 2, "one question from each platform");
}

/// `/ask history` is answered privately: the deferral is ephemeral, and the history replaces
/// it.
#[tokio::test]
async fn slash_ask_history_answers_privately_in_place_of_the_deferral() {
    let t = start(&[]).await;
    let ask = t.discord.slash_ask(ASKER, CHANNEL, "history");
    t.discord.dispatch_interaction(&ask);
    let callback = t.discord.wait_for("POST", CALLBACK, 1).await.remove(0);
    assert_eq!(callback.body, json!({"type": 5, "data": {"flags": 64}}));
    let answer = t.discord.wait_for("PATCH", ORIGINAL, 1).await.remove(0);
    assert!(
        answer.content().contains("You haven't asked anything yet."),
        "{}",
        answer.content()
    );
    assert!(t.llm.requests().is_empty());
}
