//! The Slack surface end to end: signed requests to the real HTTP endpoints (and Socket Mode
//! over a real WebSocket), a fake Slack Web API recording every call, a fake LLM, and the
//! demo warehouse.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::app::{TestApp, spawn_app};
use crate::support::fake_llm::{FakeLlm, Step, sql_reply};
use crate::support::fake_slack::{
    self, BOT_USER_ID, Call, FakeSlack, SIGNING_SECRET, TEAM_ID, click_payload, event_callback,
    mention,
};

const MONTHLY_2024: &str = "SELECT strftime('%Y-%m', order_date) AS month, count(*) AS orders \
     FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01' \
     GROUP BY 1 ORDER BY 1";

struct SlackTest {
    app: TestApp,
    slack: FakeSlack,
    llm: FakeLlm,
}

async fn start(socket_mode: bool, extra: &[(&str, &str)]) -> SlackTest {
    let (llm, slack) = (FakeLlm::start().await, FakeSlack::start().await);
    start_with(llm, slack, socket_mode, extra).await
}

/// A bot in front of existing fakes: a second replica shares them with the first.
async fn start_with(
    llm: FakeLlm,
    slack: FakeSlack,
    socket_mode: bool,
    extra: &[(&str, &str)],
) -> SlackTest {
    let mut settings: Vec<(String, String)> = llm
        .settings()
        .into_iter()
        .chain(if socket_mode {
            slack.socket_mode_settings()
        } else {
            slack.settings()
        })
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let refs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = spawn_app(&refs).await;
    SlackTest { app, slack, llm }
}

impl SlackTest {
    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        signature: Option<String>,
    ) -> reqwest::Response {
        let timestamp = chrono::Utc::now().timestamp();
        let signature =
            signature.unwrap_or_else(|| fake_slack::sign(SIGNING_SECRET, timestamp, body));
        self.app
            .client
            .post(format!("{}{path}", self.app.address))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .expect("the bot answers")
    }

    async fn command(&self, user: &str, text: &str, trigger: &str) -> reqwest::Response {
        self.command_in("C0SALES", user, text, trigger).await
    }

    async fn command_in(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        trigger: &str,
    ) -> reqwest::Response {
        let body = serde_urlencoded::to_string([
            ("team_id", TEAM_ID),
            ("channel_id", channel),
            ("user_id", user),
            ("command", "/ask"),
            ("text", text),
            (
                "response_url",
                &format!("http://{}/response/1", self.slack.address),
            ),
            ("trigger_id", trigger),
        ])
        .expect("form");
        self.post(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            None,
        )
        .await
    }

    async fn event(&self, event_id: &str, event: Value) -> reqwest::Response {
        let body = event_callback(event_id, event).to_string();
        self.post("/slack/events", "application/json", &body, None)
            .await
    }

    async fn click(
        &self,
        user: &str,
        action_id: &str,
        draft: &str,
        message_ts: &str,
        trigger: &str,
    ) -> reqwest::Response {
        let payload = click_payload(user, action_id, draft, message_ts, trigger);
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        self.post(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            None,
        )
        .await
    }

    /// `/ask` until the draft is shown: the draft message's ts and the draft id on its buttons.
    async fn drafted(&self, question: &str) -> (String, String) {
        assert_eq!(
            self.command("U1", question, "trigger-ask").await.status(),
            200
        );
        let update = self.slack.wait_for("chat.update", 1).await.remove(0);
        (
            update.param("ts").expect("updated message ts"),
            draft_id(&update),
        )
    }
}

/// The draft id on a draft message's Run button.
fn draft_id(call: &Call) -> String {
    find_buttons(&call.params["blocks"])
        .into_iter()
        .find(|b| b["action_id"] == "querybot_run")
        .and_then(|b| b["value"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no Run button in {}", call.params))
}

fn find_buttons(blocks: &Value) -> Vec<Value> {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn text_of(call: &Call) -> String {
    call.params.to_string()
}

#[tokio::test]
async fn ask_draft_run_answers_in_the_thread_with_table_chart_and_csv() {
    let t = start(false, &[]).await;
    t.llm
        .script([sql_reply(MONTHLY_2024, "Counts orders per month in 2024.")]);
    let (message_ts, draft) = t.drafted("how many orders per month in 2024?").await;

    let progress = &t.slack.calls_to("chat.postMessage")[0];
    assert_eq!(progress.param("channel").as_deref(), Some("C0SALES"));
    assert_eq!(
        progress.param("thread_ts"),
        None,
        "the draft is posted in the channel"
    );
    let shown = &t.slack.calls_to("chat.update")[0];
    assert!(
        text_of(shown).contains("strftime"),
        "the SQL is shown: {}",
        shown.params
    );
    let buttons = find_buttons(&shown.params["blocks"]);
    let ids: Vec<&str> = buttons
        .iter()
        .filter_map(|b| b["action_id"].as_str())
        .collect();
    assert_eq!(ids, ["querybot_run", "querybot_edit", "querybot_cancel"]);
    assert!(
        buttons.iter().all(|b| b["value"] == draft.as_str()),
        "buttons carry only the draft id"
    );

    assert_eq!(
        t.click("U1", "querybot_run", &draft, &message_ts, "trigger-run")
            .await
            .status(),
        200
    );
    let shared = t.slack.wait_for("files.completeUploadExternal", 2).await;
    for call in &shared {
        assert_eq!(call.param("channel_id").as_deref(), Some("C0SALES"));
        assert_eq!(
            call.param("thread_ts").as_deref(),
            Some(message_ts.as_str()),
            "files go to the draft's thread"
        );
    }
    let uploads = t.slack.uploads();
    let png = uploads
        .iter()
        .find(|u| u.filename == "chart.png")
        .expect("chart uploaded");
    assert!(png.bytes.starts_with(b"\x89PNG"));
    let csv = uploads
        .iter()
        .find(|u| u.filename == "result.csv")
        .expect("CSV uploaded");
    assert!(String::from_utf8_lossy(&csv.bytes).starts_with("month,orders"));
    assert_eq!(String::from_utf8_lossy(&csv.bytes).lines().count(), 13);

    let answer = t
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.param("thread_ts").as_deref() == Some(message_ts.as_str()))
        .expect("an answer in the thread");
    assert!(
        text_of(&answer).contains("2024-01"),
        "the table is in the answer: {}",
        answer.params
    );
    let updates = t.slack.wait_for("chat.update", 3).await;
    assert!(
        text_of(&updates[1]).contains("Running"),
        "{}",
        updates[1].params
    );
    assert!(
        text_of(&updates[2]).contains("Ran by <@U1>"),
        "{}",
        updates[2].params
    );
    assert!(
        find_buttons(&updates[2].params["blocks"]).is_empty(),
        "a run draft has no buttons"
    );
    assert!(
        t.slack.calls_to("files.upload").is_empty(),
        "the retired upload method is never used"
    );
    assert!(
        t.slack.calls().iter().all(|c| c.ok()),
        "Slack accepted every call"
    );
    // The story is counted, by surface and outcome (the recorder is process-wide, so other
    // tests may have added to the same series).
    let metrics = t.app.get("/metrics").await.text().await.expect("metrics");
    for series in [
        r#"querybot_questions_total{surface="slack",outcome="drafted"}"#,
        r#"querybot_runs_total{surface="slack",outcome="answered"}"#,
        "querybot_llm_request_duration_seconds_count",
    ] {
        assert!(metrics.contains(series), "{series} missing from\n{metrics}");
    }
}

#[tokio::test]
async fn the_ack_comes_before_the_slow_work() {
    let t = start(false, &[]).await;
    t.llm.script([Step::Hang(Duration::from_millis(1500))]);
    let response = t.command("U1", "orders per month", "trigger-slow").await;
    assert_eq!(response.status(), 200);
    assert!(
        t.slack.calls_to("chat.update").is_empty(),
        "acknowledged before the LLM answered"
    );
    t.slack.wait_for("chat.update", 1).await;
}

/// Polls `/readyz` until it says `draining`, for at most about two seconds.
async fn wait_until_draining(t: &SlackTest) -> Value {
    for _ in 0..200 {
        let response = t.app.get("/readyz").await;
        if response.status() == 503 {
            let body: Value = response.json().await.expect("json");
            if body["status"] == "draining" {
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("readiness never turned to draining");
}

#[tokio::test]
async fn shutdown_answers_what_was_acknowledged_and_refuses_the_rest() {
    let mut t = start(false, &[("QUERYBOT_SHUTDOWN_GRACE", "20")]).await;
    t.llm.script([Step::Hang(Duration::from_millis(1500))]);
    let response = t.command("U1", "orders per month", "trigger-drain").await;
    assert_eq!(response.status(), 200);
    t.app.shut_down();
    // Readiness goes first, while the acknowledged question is still being answered.
    let ready = wait_until_draining(&t).await;
    assert_eq!(ready["in_flight"], 1);
    // A new delivery is refused, so Slack retries it (elsewhere, or after the restart).
    let late = t.command("U1", "and per week?", "trigger-late").await;
    assert_eq!(late.status(), 503);
    t.app.served().await.expect("serve returns cleanly");
    assert_eq!(
        t.slack.calls_to("chat.update").len(),
        1,
        "the acknowledged question was answered before the process stopped"
    );
    assert_eq!(
        t.llm.requests().len(),
        1,
        "the refused one never reached the LLM"
    );
}

#[tokio::test]
async fn shutdown_hands_a_question_still_being_written_to_the_next_process() {
    let mut t = start(false, &[("QUERYBOT_SHUTDOWN_GRACE", "1")]).await;
    t.llm.script([Step::Hang(Duration::from_secs(30))]);
    let response = t.command("U1", "orders per month", "trigger-stuck").await;
    assert_eq!(response.status(), 200);
    let started = std::time::Instant::now();
    t.app.shut_down();
    t.app.served().await.expect("serve returns cleanly");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "serve returned without waiting for the 30-second LLM"
    );
    let told = t.slack.calls_to("chat.update");
    assert_eq!(told.len(), 1, "the placeholder is replaced once");
    assert!(
        text_of(&told[0]).contains("will be answered as soon as it is back"),
        "{}",
        told[0].params
    );
    // Handed over, not dropped: the next process (or another replica) takes it at once.
    assert_eq!(t.app.store.unhandled_deliveries().await.expect("count"), 1);
    let (taken, _) = t
        .app
        .store
        .reclaim_deliveries(chrono::Utc::now(), &["slack"])
        .await
        .expect("reclaim");
    assert_eq!(
        taken.len(),
        1,
        "released at shutdown, so no lease to wait out"
    );
    assert_eq!(
        taken[0].message.as_deref(),
        told[0].param("ts").as_deref(),
        "the next attempt answers in the same placeholder"
    );
}

#[tokio::test]
async fn four_deliveries_of_one_event_make_one_draft() {
    let t = start(false, &[]).await;
    t.llm.respond_with(|_| {
        sql_reply(
            "SELECT count(*) AS customers FROM customers",
            "Counts customers.",
        )
    });
    let asked = mention("how many customers?", "1700000000.000100");
    for _ in 0..4 {
        assert_eq!(t.event("Ev0001", asked.clone()).await.status(), 200);
    }
    t.slack.wait_for("chat.update", 1).await;
    // A fifth, different event proves the first four were handled before this one finished.
    let other = mention("and orders?", "1700000000.000200");
    t.event("Ev0002", other).await;
    t.slack.wait_for("chat.update", 2).await;
    assert_eq!(t.llm.requests().len(), 2, "one LLM call per distinct event");
    let progress = t.slack.calls_to("chat.postMessage");
    assert_eq!(progress.len(), 2);
    assert_eq!(
        progress[0].param("thread_ts").as_deref(),
        Some("1700000000.000100"),
        "answered in a thread on the mention"
    );
}

#[tokio::test]
async fn bad_or_stale_signatures_change_nothing() {
    let t = start(false, &[]).await;
    let body =
        "team_id=T0001&channel_id=C1&user_id=U1&command=%2Fask&text=drop+everything&trigger_id=x";
    let forged = t
        .post(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body,
            Some("v0=deadbeef".into()),
        )
        .await;
    assert_eq!(forged.status(), 401);
    let stale_ts = chrono::Utc::now().timestamp() - 301;
    let stale = t
        .app
        .client
        .post(format!("{}/slack/commands", t.app.address))
        .header("x-slack-request-timestamp", stale_ts.to_string())
        .header(
            "x-slack-signature",
            fake_slack::sign(SIGNING_SECRET, stale_ts, body),
        )
        .body(body)
        .send()
        .await
        .expect("answers");
    assert_eq!(stale.status(), 401);
    let unsigned = t
        .app
        .client
        .post(format!("{}/slack/events", t.app.address))
        .body("{}")
        .send()
        .await
        .expect("answers");
    assert_eq!(unsigned.status(), 401);
    assert!(t.slack.calls().is_empty() && t.llm.requests().is_empty());
}

#[tokio::test]
async fn url_verification_echoes_the_challenge() {
    let t = start(false, &[]).await;
    let body = json!({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"});
    let response = t
        .post("/slack/events", "application/json", &body.to_string(), None)
        .await;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.expect("json");
    assert_eq!(
        json["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[tokio::test]
async fn a_bare_ask_gets_help_at_once() {
    let t = start(false, &[]).await;
    let response = t.command("U1", "  ", "trigger-help").await;
    let json: Value = response.json().await.expect("json");
    assert_eq!(json["response_type"], "ephemeral");
    assert!(json["text"].as_str().is_some_and(|s| s.contains("/ask")));
    assert!(t.llm.requests().is_empty());
}

#[tokio::test]
async fn a_reply_in_the_thread_is_a_follow_up() {
    let t = start(false, &[]).await;
    t.llm.script([
        sql_reply(MONTHLY_2024, "Orders per month."),
        sql_reply(
            "SELECT count(*) AS orders FROM orders WHERE status = 'refunded'",
            "Refunded orders.",
        ),
    ]);
    let (message_ts, _) = t.drafted("orders per month in 2024").await;
    let reply = json!({
        "type": "message", "channel": "C0SALES", "channel_type": "channel", "user": "U1",
        "text": "now only the refunded ones", "ts": "1700000050.000100", "thread_ts": message_ts
    });
    t.event("Ev0100", reply).await;
    t.slack.wait_for("chat.update", 2).await;
    let follow_up = t.slack.calls_to("chat.postMessage").pop().expect("a post");
    assert_eq!(
        follow_up.param("thread_ts").as_deref(),
        Some(message_ts.as_str())
    );
    assert!(
        t.llm.requests()[1].text().contains("strftime"),
        "the earlier SQL is in the prompt"
    );

    // Loops and strangers' threads are left alone.
    let own = json!({"type": "message", "channel": "C0SALES", "user": BOT_USER_ID, "text": "x", "ts": "1.2", "thread_ts": message_ts});
    let bot = json!({"type": "message", "subtype": "bot_message", "bot_id": "B9", "channel": "C0SALES", "text": "x", "ts": "1.3", "thread_ts": message_ts});
    let edited =
        json!({"type": "message", "subtype": "message_changed", "channel": "C0SALES", "ts": "1.4"});
    let elsewhere = json!({"type": "message", "channel": "C0SALES", "user": "U1", "text": "lunch?", "ts": "1.5", "thread_ts": "1.0"});
    for (i, event) in [own, bot, edited, elsewhere].into_iter().enumerate() {
        t.event(&format!("Ev02{i}"), event).await;
    }
    let marker = json!({"type": "message", "channel": "D0DM", "channel_type": "im", "user": "U1", "text": "how many customers?", "ts": "1.6"});
    t.llm.script([sql_reply(
        "SELECT count(*) AS customers FROM customers",
        "Counts customers.",
    )]);
    t.event("Ev0300", marker).await;
    t.slack.wait_for("chat.update", 3).await;
    assert_eq!(
        t.llm.requests().len(),
        3,
        "only the follow-up and the DM reached the LLM"
    );
}

#[tokio::test]
async fn edit_opens_a_modal_and_validates_the_sql() {
    let t = start(false, &[]).await;
    t.llm.script([sql_reply(MONTHLY_2024, "Orders per month.")]);
    let (message_ts, draft) = t.drafted("orders per month in 2024").await;
    t.click("U1", "querybot_edit", &draft, &message_ts, "trigger-edit")
        .await;
    let opened = t.slack.wait_for("views.open", 1).await.remove(0);
    assert_eq!(opened.param("trigger_id").as_deref(), Some("trigger-edit"));
    let view = &opened.params["view"];
    assert!(
        view.to_string().contains("strftime"),
        "the SQL is in the editor"
    );
    let metadata = view["private_metadata"]
        .as_str()
        .expect("metadata")
        .to_owned();

    let submit = |sql: &str| {
        json!({
            "type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "U1"},
            "view": {"id": "V1", "callback_id": "querybot_edit_sql", "private_metadata": metadata,
                     "state": {"values": {"sql": {"sql": {"type": "plain_text_input", "value": sql}}}}}
        })
    };
    let body = serde_urlencoded::to_string([("payload", submit("DELETE FROM orders").to_string())])
        .expect("form");
    let rejected = t
        .post(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            None,
        )
        .await;
    let errors: Value = rejected.json().await.expect("errors json");
    assert_eq!(errors["response_action"], "errors");
    assert!(
        errors["errors"]["sql"]
            .as_str()
            .is_some_and(|m| m.contains("only reads") || m.contains("change")),
        "{errors}"
    );

    let body = serde_urlencoded::to_string([(
        "payload",
        submit("SELECT count(*) AS n FROM orders").to_string(),
    )])
    .expect("form");
    let accepted = t
        .post(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            None,
        )
        .await;
    assert_eq!(accepted.status(), 200);
    assert!(
        accepted.text().await.expect("body").is_empty(),
        "an empty answer closes the modal"
    );
    let updates = t.slack.wait_for("chat.update", 2).await;
    assert_eq!(updates[1].param("ts").as_deref(), Some(message_ts.as_str()));
    assert!(
        text_of(&updates[1]).contains("count(*)"),
        "{}",
        updates[1].params
    );
}

#[tokio::test]
async fn socket_mode_acks_handles_and_survives_a_reconnect() {
    let t = start(true, &[]).await;
    t.llm.respond_with(|_| {
        sql_reply(
            "SELECT count(*) AS customers FROM customers",
            "Counts customers.",
        )
    });
    t.slack.wait_for_socket(1).await;
    let delivery = |event_id: &str, ts: &str| {
        fake_slack::envelope(
            "events_api",
            event_callback(event_id, mention("customers?", ts)),
        )
    };
    let first = delivery("Ev1000", "1700000000.000100");
    t.slack.send_envelope(first.clone()).await;
    let ack = t
        .slack
        .wait_for_ack(first["envelope_id"].as_str().expect("id"))
        .await;
    assert_eq!(ack["envelope_id"], first["envelope_id"]);
    t.slack.wait_for("chat.update", 1).await;

    t.slack.send_disconnect("refresh_requested").await;
    t.slack.wait_for_socket(2).await;
    // Slack may redeliver on the new socket; the second delivery must not be handled again.
    let redelivered = delivery("Ev1000", "1700000000.000100");
    t.slack.send_envelope(redelivered.clone()).await;
    t.slack
        .wait_for_ack(redelivered["envelope_id"].as_str().expect("id"))
        .await;
    let second = delivery("Ev1001", "1700000000.000200");
    t.slack.send_envelope(second.clone()).await;
    t.slack
        .wait_for_ack(second["envelope_id"].as_str().expect("id"))
        .await;
    t.slack.wait_for("chat.update", 2).await;
    assert_eq!(
        t.llm.requests().len(),
        2,
        "nothing lost, nothing handled twice"
    );
    assert_eq!(t.slack.calls_to("apps.connections.open").len(), 2);
}

#[tokio::test]
async fn socket_mode_slash_commands_and_buttons_work_too() {
    let t = start(true, &[]).await;
    t.llm.script([sql_reply(MONTHLY_2024, "Orders per month.")]);
    t.slack.wait_for_socket(1).await;
    let command = fake_slack::envelope(
        "slash_commands",
        json!({
            "team_id": TEAM_ID, "channel_id": "C0SALES", "user_id": "U1", "command": "/ask",
            "text": "orders per month in 2024", "response_url": "http://127.0.0.1:9/x", "trigger_id": "sm-1"
        }),
    );
    t.slack.send_envelope(command.clone()).await;
    t.slack
        .wait_for_ack(command["envelope_id"].as_str().expect("id"))
        .await;
    let update = t.slack.wait_for("chat.update", 1).await.remove(0);
    let (ts, draft) = (update.param("ts").expect("ts"), draft_id(&update));
    let click = fake_slack::envelope(
        "interactive",
        click_payload("U1", "querybot_run", &draft, &ts, "sm-2"),
    );
    t.slack.send_envelope(click).await;
    t.slack.wait_for("files.completeUploadExternal", 2).await;
}

#[tokio::test]
async fn a_channel_the_bot_is_not_in_gets_a_private_hint() {
    let t = start(false, &[]).await;
    t.slack.fail_next("chat.postMessage", "not_in_channel");
    let body = serde_urlencoded::to_string([
        ("team_id", TEAM_ID),
        ("channel_id", "C0SECRET"),
        ("user_id", "U1"),
        ("command", "/ask"),
        ("text", "orders per month"),
        ("response_url", &format!("{}response_url", t.slack.api_url)),
        ("trigger_id", "trigger-hidden"),
    ])
    .expect("form");
    t.post(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &body,
        None,
    )
    .await;
    let hint = t.slack.wait_for("response_url", 1).await.remove(0);
    assert_eq!(hint.param("response_type").as_deref(), Some("ephemeral"));
    assert!(
        hint.param("text").is_some_and(|t| t.contains("/invite")),
        "{}",
        hint.params
    );
    // The LLM is asked while the placeholder is posted; the failed post abandons both.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        t.slack.calls_to("chat.update").is_empty(),
        "nothing is shown in a channel we cannot post in"
    );
}

const TOKEN_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

#[tokio::test]
async fn oauth_installs_a_workspace_and_uninstall_forgets_it() {
    let t = start(
        false,
        &[
            ("SLACK_CLIENT_ID", "1111.2222"),
            ("SLACK_CLIENT_SECRET", "client-secret"),
            ("SLACK_TOKEN_KEY", TOKEN_KEY),
            ("QUERYBOT_PUBLIC_URL", "https://bot.example.com"),
            ("SLACK_ALLOWED_TEAMS", "T0NEW"),
        ],
    )
    .await;
    t.slack.expect_oauth_client("1111.2222", "client-secret");
    t.slack.oauth_team_for_code("code-ok", "T0NEW", "New Team");
    t.slack
        .oauth_team_for_code("code-stranger", "T0STRANGER", "Stranger Inc");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: String| browser.get(format!("{}{path}", t.app.address)).send();

    let install = get("/slack/install".into()).await.expect("answers");
    assert_eq!(install.status(), 302);
    let location = install.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let authorize = url::Url::parse(&location).expect("a URL");
    assert_eq!(authorize.path(), "/oauth/v2/authorize");
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "1111.2222");
    assert_eq!(
        query["redirect_uri"],
        "https://bot.example.com/slack/oauth/callback"
    );
    assert!(query["scope"].contains("chat:write") && query["scope"].contains("files:write"));
    let state = query["state"].clone();

    let forged = get("/slack/oauth/callback?code=code-ok&state=forged".into())
        .await
        .expect("answers");
    assert_eq!(forged.status(), 400);
    let done = get(format!("/slack/oauth/callback?code=code-ok&state={state}"))
        .await
        .expect("answers");
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("page").contains("New Team"));
    let again = get(format!("/slack/oauth/callback?code=code-ok&state={state}"))
        .await
        .expect("answers");
    assert_eq!(again.status(), 400, "a state works once");

    let stored = t
        .app
        .store
        .slack_installation("T0NEW")
        .await
        .expect("read")
        .expect("installed");
    assert!(
        !stored.bot_token.contains("xoxb"),
        "the token is encrypted at rest"
    );
    let exchange = &t.slack.calls_to("oauth.v2.access")[0];
    let issued = exchange.response["access_token"]
        .as_str()
        .expect("issued token")
        .to_owned();

    t.llm.script([sql_reply(
        "SELECT count(*) AS customers FROM customers",
        "Counts customers.",
    )]);
    let mention = json!({
        "type": "app_mention", "user": "U7", "text": format!("<@{}> customers?", stored.bot_user_id),
        "ts": "1700000000.000900", "channel": "C0NEW", "event_ts": "1700000000.000900"
    });
    let body = json!({"type": "event_callback", "team_id": "T0NEW", "event_id": "Ev9000", "event": mention});
    t.post("/slack/events", "application/json", &body.to_string(), None)
        .await;
    let post = t.slack.wait_for("chat.update", 1).await.remove(0);
    assert_eq!(
        post.token.as_deref(),
        Some(issued.as_str()),
        "the workspace's own token is used"
    );

    let uninstalled = json!({"type": "event_callback", "team_id": "T0NEW", "event_id": "Ev9001", "event": {"type": "app_uninstalled"}});
    t.post(
        "/slack/events",
        "application/json",
        &uninstalled.to_string(),
        None,
    )
    .await;
    assert!(
        t.app
            .store
            .slack_installation("T0NEW")
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn a_channel_bound_to_another_connection_asks_that_warehouse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chinook = dir.path().join("chinook.sqlite");
    std::fs::copy(
        crate::support::testdata("sample_dbs/Chinook_Sqlite.sqlite"),
        &chinook,
    )
    .expect("copy");
    let toml = dir.path().join("querybot.toml");
    std::fs::write(
        &toml,
        format!(
            "[connections.music]\nurl = \"sqlite://{}\"\n\n[channels]\nC0MUSIC = \"music\"\n",
            chinook.display()
        ),
    )
    .expect("config file");
    let config = toml.display().to_string();
    let t = start(false, &[("QUERYBOT_CONFIG", config.as_str())]).await;
    t.llm
        .respond_with(|_| sql_reply("SELECT count(*) AS albums FROM Album", "Counts albums."));
    let in_channel = |channel: &'static str, trigger: &'static str| {
        serde_urlencoded::to_string([
            ("team_id", TEAM_ID),
            ("channel_id", channel),
            ("user_id", "U1"),
            ("command", "/ask"),
            ("text", "how many albums?"),
            ("trigger_id", trigger),
        ])
        .expect("form")
    };
    t.post(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &in_channel("C0MUSIC", "t-music"),
        None,
    )
    .await;
    t.slack.wait_for("chat.update", 1).await;
    assert!(
        t.llm.requests()[0].text().contains("Album"),
        "the music channel sees the Chinook catalog"
    );
    t.post(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &in_channel("C0SALES", "t-sales"),
        None,
    )
    .await;
    t.slack.wait_for("chat.update", 2).await;
    let sales_prompt = t.llm.requests()[1].text();
    assert!(
        sales_prompt.contains("orders") && !sales_prompt.contains("Album"),
        "other channels use the default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_slack_token() {
    let slack = FakeSlack::start().await;
    let data = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_querybot"))
        .arg("doctor")
        .current_dir(data.path())
        .env_clear()
        .env("QUERYBOT_DATA_DIR", data.path())
        .env("QUERYBOT_LOG", "warn")
        .envs(slack.settings())
        .output()
        .expect("doctor runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains(&format!("ok (bot user {BOT_USER_ID})")),
        "{report}"
    );
    assert_eq!(slack.calls_to("auth.test").len(), 1);
}

#[tokio::test]
async fn a_failed_status_update_does_not_strand_the_run() {
    let t = start(false, &[]).await;
    t.llm.script([sql_reply(MONTHLY_2024, "Orders per month.")]);
    let (message_ts, draft) = t.drafted("orders per month in 2024").await;
    // The draft message was deleted, say: Slack refuses the "Running…" update.
    t.slack.fail_next("chat.update", "message_not_found");
    t.click("U1", "querybot_run", &draft, &message_ts, "trigger-run")
        .await;
    t.slack.wait_for("files.completeUploadExternal", 2).await;
    let runs = t.app.store.recent_runs(1).await.expect("runs");
    assert_eq!(runs.len(), 1, "the claimed draft still ran");
    let state = t
        .app
        .store
        .draft(draft.parse().expect("id"))
        .await
        .expect("read")
        .map(|d| d.state);
    assert_eq!(state, Some(querybot::store::DraftState::Done));
}

#[tokio::test]
async fn a_direct_message_that_mentions_the_bot_is_answered() {
    let t = start(false, &[]).await;
    t.llm.script([sql_reply(
        "SELECT count(*) AS customers FROM customers",
        "Counts customers.",
    )]);
    // Slack sends no app_mention copy for direct messages.
    let dm = json!({
        "type": "message", "channel": "D0DM", "channel_type": "im", "user": "U1",
        "text": format!("<@{BOT_USER_ID}> how many customers?"), "ts": "1700000000.000300"
    });
    t.event("Ev7000", dm).await;
    t.slack.wait_for("chat.update", 1).await;
    assert_eq!(
        t.llm.requests()[0].last_user_message(),
        "how many customers?"
    );
}

#[tokio::test]
async fn posts_are_paced_per_channel_not_per_process() {
    let t = &start(false, &[]).await;
    t.llm
        .respond_with(|_| sql_reply("SELECT count(*) AS n FROM orders", "Counts orders."));
    // Ten channels at once: nothing makes one channel's post wait for another's.
    let asks = (0..10).map(|i| {
        let channel = format!("C0{i:03}");
        async move {
            let trigger = format!("trigger-{channel}");
            t.command_in(&channel, "U1", "how many orders?", &trigger)
                .await
        }
    });
    for response in futures_util::future::join_all(asks).await {
        assert_eq!(response.status(), 200);
    }
    let posts = t.slack.wait_for("chat.postMessage", 10).await;
    let spread = posts[9].at - posts[0].at;
    assert!(
        spread < Duration::from_secs(3),
        "ten channels' first posts took {spread:?}: one line for every channel would take 9 s"
    );
    // One channel: a burst of three, then about one a second.
    let asks = (0..5).map(|i| {
        let trigger = format!("trigger-burst-{i}");
        async move {
            t.command_in("C0BUSY", "U1", "how many orders?", &trigger)
                .await
        }
    });
    futures_util::future::join_all(asks).await;
    let busy: Vec<_> = t
        .slack
        .wait_for("chat.postMessage", 15)
        .await
        .into_iter()
        .filter(|c| c.param("channel").as_deref() == Some("C0BUSY"))
        .collect();
    assert_eq!(busy.len(), 5);
    let paced = busy[4].at - busy[0].at;
    assert!(
        paced >= Duration::from_millis(1_800),
        "five posts in one channel came within {paced:?}"
    );
}

/// Past `QUERYBOT_MAX_QUESTIONS_IN_FLIGHT`, a question is refused at once, privately, with
/// when to ask again: a slash command in its own response (nothing stored or posted), a
/// mention by an ephemeral message. Once a place frees up, questions are taken again.
#[tokio::test]
async fn questions_beyond_the_bound_are_told_to_ask_again() {
    let t = start(false, &[("QUERYBOT_MAX_QUESTIONS_IN_FLIGHT", "1")]).await;
    t.llm.script([
        Step::Hang(Duration::from_millis(1500)),
        sql_reply("SELECT 1 AS one", "One."),
    ]);
    let first = t.command("U1", "orders per month", "trigger-bound-1").await;
    assert_eq!(first.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while t.llm.requests().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first question never reached the LLM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = t.command("U1", "and per week?", "trigger-bound-2").await;
    assert_eq!(refused.status(), 200);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["response_type"], "ephemeral");
    let said = body["text"].as_str().expect("text");
    assert!(
        said.starts_with("querybot is answering 1 question right now; please ask again in about "),
        "{said}"
    );
    let mention = t
        .event(
            "Ev-bound-3",
            mention(
                &format!("<@{BOT_USER_ID}> and per day?"),
                "1700000100.000100",
            ),
        )
        .await;
    assert_eq!(mention.status(), 200);
    let told = t.slack.wait_for("chat.postEphemeral", 1).await.remove(0);
    assert_eq!(told.param("user").as_deref(), Some("U1"));
    let text = told.param("text").expect("text");
    assert!(
        text.starts_with("querybot is answering 1 question right now"),
        "{text}"
    );
    assert!(
        !text.contains("(ref"),
        "a refusal has no log reference: {text}"
    );
    // The first question is answered; then there is room again.
    t.slack.wait_for("chat.update", 1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    for attempt in 0.. {
        let later = t
            .command(
                "U1",
                "orders per year",
                &format!("trigger-bound-later-{attempt}"),
            )
            .await;
        if !later
            .text()
            .await
            .expect("body")
            .contains("querybot is answering")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no room after the first was answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.slack.wait_for("chat.update", 2).await;
    assert_eq!(
        t.llm.requests().len(),
        2,
        "only the admitted questions reached the LLM"
    );
}

/// The LLM is asked while the placeholder is posted, not after: a post that waits (here a 429
/// with Retry-After, as a busy channel gets) does not hold up the SQL. The thread the
/// placeholder starts is the conversation, so a reply in it is a follow-up.
#[tokio::test]
async fn the_llm_does_not_wait_for_the_placeholder_post() {
    let t = start(false, &[]).await;
    t.llm.script([
        sql_reply("SELECT 1 AS one", "One."),
        sql_reply("SELECT 2 AS two", "Two."),
    ]);
    t.slack.rate_limit_next("chat.postMessage", 1);
    let response = t.command("U1", "one", "trigger-llm-first").await;
    assert_eq!(response.status(), 200);
    let shown = t.slack.wait_for("chat.update", 1).await.remove(0);
    let posted = t
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .find(Call::ok)
        .expect("the placeholder, once Slack took it");
    let asked = t.llm.requests()[0].at;
    assert!(
        asked < posted.at,
        "the LLM was asked {:?} before the placeholder was posted",
        posted.at.saturating_duration_since(asked)
    );
    let thread = posted.response["ts"].as_str().expect("ts").to_owned();
    assert_eq!(shown.param("ts").as_deref(), Some(thread.as_str()));
    // The conversation moved to the placeholder's thread: a reply there continues it.
    let reply = json!({
        "type": "message", "user": "U1", "text": "and two?", "channel": "C0SALES",
        "ts": "1700000200.000100", "thread_ts": thread, "event_ts": "1700000200.000100"
    });
    assert_eq!(t.event("Ev-llm-first-reply", reply).await.status(), 200);
    t.slack.wait_for("chat.update", 2).await;
    let follow_up = t.llm.requests()[1].text();
    assert!(
        follow_up.contains("SELECT 1 AS one"),
        "the thread's earlier SQL is in the prompt"
    );
}
