//! The fake Slack speaks what slack-morphism's real client speaks: Web API, uploads, Socket Mode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::mpsc;

use crate::support::fake_slack::{
    self, APP_TOKEN, BOT_ID, BOT_TOKEN, BOT_USER_ID, FakeSlack, TEAM_ID,
};
use crate::support::testdata;

/// The connector as the bot builds it: plain http allowed, so a local fake is reachable.
fn connector(fake: &FakeSlack) -> SlackClientHyperHttpsConnector {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .expect("native root certificates load")
        .https_or_http()
        .enable_http1()
        .build();
    SlackClientHyperConnector::from(https).with_slack_api_url(&fake.api_url)
}

fn client(fake: &FakeSlack) -> SlackHyperClient {
    SlackClient::new(connector(fake))
}

fn bot_token() -> SlackApiToken {
    SlackApiToken::new(BOT_TOKEN.into())
}

fn channel() -> SlackChannelId {
    SlackChannelId("C0001".into())
}

fn api_error<T: std::fmt::Debug>(result: ClientResult<T>) -> String {
    match result {
        Err(SlackClientError::ApiError(error)) => error.code,
        other => panic!("expected a Slack API error, got {other:?}"),
    }
}

/// Blocks as querybot sends them: a section, a table and a primary button carrying a draft id.
fn answer_blocks() -> Vec<SlackBlock> {
    serde_json::from_value(json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "*42* orders last week"}},
        {"type": "table", "rows": [
            [{"type": "raw_text", "text": "region"}, {"type": "raw_text", "text": "orders"}],
            [{"type": "raw_text", "text": "EU"}, {"type": "raw_text", "text": "42"}]
        ]},
        {"type": "actions", "elements": [{
            "type": "button",
            "action_id": "run_draft",
            "text": {"type": "plain_text", "text": "Run"},
            "value": "draft-1",
            "style": "primary"
        }]}
    ]))
    .expect("blocks are valid Block Kit")
}

#[tokio::test]
async fn post_then_update_is_recorded_with_token_and_blocks() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let token = bot_token();
    let session = client.open_session(&token);

    let content = SlackMessageContent::new()
        .with_text("42 orders last week".into())
        .with_blocks(answer_blocks());
    let posted = session
        .chat_post_message(
            &SlackApiChatPostMessageRequest::new(channel(), content)
                .with_thread_ts(SlackTs("1610241741.000200".into())),
        )
        .await
        .expect("chat.postMessage answers");
    assert_eq!(posted.channel, channel());
    assert_eq!(posted.message.content.blocks, Some(answer_blocks()));
    assert_eq!(
        posted.message.sender.bot_id,
        Some(SlackBotId(BOT_ID.into()))
    );

    let updated = session
        .chat_update(&SlackApiChatUpdateRequest::new(
            channel(),
            SlackMessageContent::new().with_text("Ran draft-1".into()),
            posted.ts.clone(),
        ))
        .await
        .expect("chat.update answers");
    assert_eq!(updated.ts, posted.ts);

    let second = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            channel(),
            SlackMessageContent::new().with_text("again".into()),
        ))
        .await
        .expect("second post");
    assert!(second.ts.0 > posted.ts.0, "timestamps increase per message");

    let calls = fake.calls();
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        ["chat.postMessage", "chat.update", "chat.postMessage"]
    );
    assert!(calls.iter().all(|c| c.token.as_deref() == Some(BOT_TOKEN)));
    assert_eq!(
        calls[0].params["blocks"][2]["elements"][0]["value"],
        "draft-1"
    );
    assert_eq!(calls[0].params["blocks"][1]["rows"][1][1]["text"], "42");
    assert_eq!(
        calls[0].param("thread_ts").as_deref(),
        Some("1610241741.000200")
    );
    assert_eq!(calls[1].param("ts"), Some(posted.ts.0.clone()));
    // slack-morphism joins `{base}/{method}`, so a base ending in `/` doubles the slash.
    assert_eq!(calls[0].path, "/api//chat.postMessage");
}

#[tokio::test]
async fn ephemeral_messages_cannot_be_updated_and_oversized_blocks_are_refused() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let token = bot_token();
    let session = client.open_session(&token);

    let ephemeral = session
        .chat_post_ephemeral(&SlackApiChatPostEphemeralRequest::new(
            channel(),
            SlackUserId("U222".into()),
            SlackMessageContent::new().with_text("only you".into()),
        ))
        .await
        .expect("chat.postEphemeral answers");
    let message_ts = fake.calls_to("chat.postEphemeral")[0].response["message_ts"].clone();
    assert!(
        message_ts.is_string(),
        "Slack answers the ephemeral message_ts"
    );
    let _ = ephemeral;

    fake.fail_next("chat.postMessage", "not_in_channel");
    let scripted = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            channel(),
            SlackMessageContent::new().with_text("hello".into()),
        ))
        .await;
    assert_eq!(api_error(scripted), "not_in_channel");

    let update = session
        .chat_update(&SlackApiChatUpdateRequest::new(
            channel(),
            SlackMessageContent::new().with_text("edit".into()),
            SlackTs(message_ts.as_str().unwrap_or_default().into()),
        ))
        .await;
    assert_eq!(api_error(update), "message_not_found");

    let too_many: Vec<SlackBlock> = (0..51)
        .map(|i| SlackSectionBlock::new().with_text(md!("row {}", i)).into())
        .collect();
    let refused = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            channel(),
            SlackMessageContent::new()
                .with_text("t".into())
                .with_blocks(too_many),
        ))
        .await;
    assert_eq!(api_error(refused), "invalid_blocks");

    let long_section: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!("{}", "x".repeat(3001)))
            .into(),
    ];
    let refused = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            channel(),
            SlackMessageContent::new()
                .with_text("t".into())
                .with_blocks(long_section),
        ))
        .await;
    assert_eq!(api_error(refused), "invalid_blocks");
    let errors = &fake.calls_to("chat.postMessage")[2].response["errors"];
    assert!(
        errors.to_string().contains("/blocks/0/text/text"),
        "the error points at the field: {errors}"
    );
}

#[tokio::test]
async fn upload_v2_flow_keeps_the_bytes_and_the_thread() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let token = bot_token();
    let session = client.open_session(&token);
    let png = b"\x89PNG\r\n\x1a\nfake chart".to_vec();

    let url = session
        .get_upload_url_external(&SlackApiFilesGetUploadUrlExternalRequest::new(
            "chart.png".into(),
            png.len(),
        ))
        .await
        .expect("files.getUploadURLExternal answers");
    assert!(
        url.upload_url
            .0
            .as_str()
            .starts_with(&format!("http://{}/upload/", fake.address)),
        "the upload URL is the fake's: {}",
        url.upload_url.0
    );

    // Completing before the bytes arrive is refused, as Slack does.
    let early = session
        .files_complete_upload_external(&SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(url.file_id.clone()),
        ]))
        .await;
    assert_eq!(api_error(early), "file_not_found");

    session
        .files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
            url.upload_url.clone(),
            png.clone(),
            "image/png".into(),
        ))
        .await
        .expect("the upload URL takes the bytes");

    let completed = session
        .files_complete_upload_external(
            &SlackApiFilesCompleteUploadExternalRequest::new(vec![
                SlackApiFilesComplete::new(url.file_id.clone())
                    .with_title("Orders by region".into()),
            ])
            .with_channel_id(channel())
            .with_thread_ts(SlackTs("1700000001.000100".into())),
        )
        .await
        .expect("files.completeUploadExternal answers");
    assert_eq!(completed.files.len(), 1);
    assert_eq!(completed.files[0].id, url.file_id);
    assert_eq!(
        completed.files[0].title.as_deref(),
        Some("Orders by region")
    );

    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].file_id, url.file_id.0);
    assert_eq!(uploads[0].filename, "chart.png");
    assert_eq!(uploads[0].length, png.len());
    assert_eq!(uploads[0].bytes, png);
    assert_eq!(uploads[0].content_type.as_deref(), Some("image/png"));

    let complete = fake.calls_to("files.completeUploadExternal");
    let last = complete.last().expect("completion recorded");
    assert_eq!(
        last.param("thread_ts").as_deref(),
        Some("1700000001.000100")
    );
    assert_eq!(last.param("channel_id").as_deref(), Some("C0001"));
    assert_eq!(last.params["files"][0]["id"], url.file_id.0.as_str());
    let get_url = &fake.calls_to("files.getUploadURLExternal")[0];
    assert_eq!(get_url.param("length"), Some(png.len().to_string()));
    assert!(fake.calls_to("files.upload").is_empty());
}

#[tokio::test]
async fn the_retired_files_upload_and_unknown_methods_are_refused_and_recorded() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let token = bot_token();
    let session = client.open_session(&token);

    #[allow(deprecated)]
    let legacy = session
        .files_upload(
            &SlackApiFilesUploadRequest::new()
                .with_channels(vec![channel()])
                .with_binary_content(b"a,b\n1,2\n".to_vec())
                .with_filename("result.csv".into()),
        )
        .await;
    assert_eq!(api_error(legacy), "method_deprecated");
    let legacy_call = &fake.calls_to("files.upload")[0];
    assert_eq!(legacy_call.param("filename").as_deref(), Some("result.csv"));
    assert_eq!(legacy_call.params["file"]["filename"], "result.csv");
    assert_eq!(legacy_call.params["file"]["length"], 8);

    let unknown = session.api_test(&SlackApiTestRequest::new()).await;
    assert_eq!(api_error(unknown), "unknown_method");
    assert_eq!(fake.calls_to("api.test").len(), 1);

    // An app-level token is only good for apps.connections.open.
    let app_token = SlackApiToken::new(APP_TOKEN.into());
    let wrong = client.open_session(&app_token).auth_test().await;
    assert_eq!(api_error(wrong), "not_allowed_token_type");
}

#[tokio::test]
async fn form_bodies_are_decoded_with_their_json_fields() {
    let fake = FakeSlack::start().await;
    let form = [
        ("channel", "C0001".to_owned()),
        ("text", "hello".to_owned()),
        ("token", BOT_TOKEN.to_owned()),
        (
            "blocks",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]).to_string(),
        ),
    ];
    let answer: Value = reqwest::Client::new()
        .post(format!("{}chat.postMessage", fake.api_url))
        .form(&form)
        .send()
        .await
        .expect("the fake answers forms")
        .json()
        .await
        .expect("JSON answer");
    assert_eq!(answer["ok"], true, "{answer}");

    let call = &fake.wait_for("chat.postMessage", 1).await[0];
    assert_eq!(call.params["blocks"][0]["text"]["text"], "hi");
    assert_eq!(call.token.as_deref(), Some(BOT_TOKEN));
    assert_eq!(call.path, "/api/chat.postMessage");
}

#[tokio::test]
async fn rate_limited_calls_wait_retry_after_when_rate_control_retries() {
    let fake = FakeSlack::start().await;
    let client = SlackClient::new(
        connector(&fake).with_rate_control(SlackApiRateControlConfig::new().with_max_retries(2)),
    );
    let token = bot_token();
    let session = client.open_session(&token);
    fake.rate_limit_next("chat.postMessage", 1);

    let posted = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            channel(),
            SlackMessageContent::new().with_text("after the limit".into()),
        ))
        .await
        .expect("the retry succeeds");

    let calls = fake.wait_for("chat.postMessage", 2).await;
    assert_eq!(calls.len(), 2, "one 429, then one retry");
    assert_eq!(calls[0].status, 429);
    assert!(calls[1].ok());
    assert_eq!(calls[1].response["ts"], posted.ts.0.as_str());
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
}

#[tokio::test]
async fn rate_limited_calls_fail_without_retries() {
    let fake = FakeSlack::start().await;
    let token = bot_token();

    // No rate control: the 429 surfaces at once as a RateLimitError carrying Retry-After.
    let plain = client(&fake);
    fake.rate_limit_next("chat.postMessage", 1);
    let started = Instant::now();
    let result = plain
        .open_session(&token)
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            channel(),
            SlackMessageContent::new().with_text("x".into()),
        ))
        .await;
    match result {
        Err(SlackClientError::RateLimitError(error)) => {
            assert_eq!(error.retry_after, Some(Duration::from_secs(1)));
            assert_eq!(error.code.as_deref(), Some("ratelimited"));
        }
        other => panic!("expected a rate limit error, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "no wait without retries"
    );

    // Rate control without max_retries does not retry either.
    let controlled =
        SlackClient::new(connector(&fake).with_rate_control(SlackApiRateControlConfig::new()));
    fake.rate_limit_next("chat.update", 1);
    let result = controlled
        .open_session(&token)
        .chat_update(&SlackApiChatUpdateRequest::new(
            channel(),
            SlackMessageContent::new().with_text("x".into()),
            SlackTs("1.0".into()),
        ))
        .await;
    assert!(
        matches!(result, Err(SlackClientError::RateLimitError(_))),
        "{result:?}"
    );
    assert_eq!(fake.calls_to("chat.update").len(), 1);
}

#[tokio::test]
async fn views_open_and_update_a_modal() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let token = bot_token();
    let session = client.open_session(&token);
    let modal = |sql: &str| -> SlackView {
        serde_json::from_value(json!({
            "type": "modal",
            "callback_id": "edit_sql",
            "private_metadata": "draft-1",
            "title": {"type": "plain_text", "text": "Edit SQL"},
            "submit": {"type": "plain_text", "text": "Run"},
            "blocks": [{
                "type": "input",
                "block_id": "sql",
                "label": {"type": "plain_text", "text": "SQL"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "sql",
                    "multiline": true,
                    "initial_value": sql
                }
            }]
        }))
        .expect("a valid modal")
    };

    let opened = session
        .views_open(&SlackApiViewsOpenRequest::new(
            SlackTriggerId("111.222.xxx".into()),
            modal("SELECT 1"),
        ))
        .await
        .expect("views.open answers");
    assert_eq!(opened.view.state_params.team_id.0, TEAM_ID);
    let SlackView::Modal(view) = &opened.view.view else {
        panic!("a modal comes back: {:?}", opened.view.view);
    };
    assert_eq!(view.private_metadata.as_deref(), Some("draft-1"));

    let updated = session
        .views_update(
            &SlackApiViewsUpdateRequest::new(modal("SELECT 2"))
                .with_view_id(opened.view.state_params.id.clone()),
        )
        .await
        .expect("views.update answers");
    assert_eq!(updated.view.state_params.id, opened.view.state_params.id);
    assert_ne!(
        updated.view.state_params.hash,
        opened.view.state_params.hash
    );

    let reused = session
        .views_open(&SlackApiViewsOpenRequest::new(
            SlackTriggerId("111.222.xxx".into()),
            modal("SELECT 3"),
        ))
        .await;
    assert_eq!(api_error(reused), "trigger_exchanged");

    let call = &fake.calls_to("views.open")[0];
    assert_eq!(call.param("trigger_id").as_deref(), Some("111.222.xxx"));
    assert_eq!(
        call.params["view"]["blocks"][0]["element"]["initial_value"],
        "SELECT 1"
    );
}

#[tokio::test]
async fn oauth_v2_access_installs_or_rejects_the_code() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    fake.expect_oauth_client("111.222", "client-secret");
    fake.oauth_team_for_code("good-code", "T0002", "Second Workspace");
    fake.fail_oauth_code("bad-code");
    let request = |code: &str| {
        SlackOAuthV2AccessTokenRequest::new(
            SlackClientId("111.222".into()),
            SlackClientSecret("client-secret".into()),
            SlackOAuthCode(code.into()),
        )
        .with_redirect_uri(
            "https://querybot.example/slack/oauth/callback"
                .parse()
                .expect("url"),
        )
    };

    let installed = client
        .oauth2_access(&request("good-code"))
        .await
        .expect("oauth.v2.access answers");
    assert_eq!(installed.team.id.0, "T0002");
    assert_eq!(installed.team.name.as_deref(), Some("Second Workspace"));
    assert_eq!(installed.token_type, SlackApiTokenType::Bot);
    assert!(installed.access_token.0.starts_with("xoxb-"));
    assert_eq!(installed.bot_user_id, Some(SlackUserId(BOT_USER_ID.into())));
    assert_eq!(installed.app_id.0, "A0BOT");
    assert!(installed.scope.0.contains("chat:write"));

    assert_eq!(
        api_error(client.oauth2_access(&request("bad-code")).await),
        "invalid_code"
    );
    // Codes are single use.
    assert_eq!(
        api_error(client.oauth2_access(&request("good-code")).await),
        "invalid_code"
    );

    let call = &fake.calls_to("oauth.v2.access")[0];
    assert_eq!(
        call.basic_auth,
        Some(("111.222".to_owned(), "client-secret".to_owned()))
    );
    assert_eq!(call.param("code").as_deref(), Some("good-code"));
    assert_eq!(
        call.param("redirect_uri").as_deref(),
        Some("https://querybot.example/slack/oauth/callback")
    );

    // The installed token works and belongs to its team.
    let installed_token = SlackApiToken::new(installed.access_token.clone());
    let identity = client
        .open_session(&installed_token)
        .auth_test()
        .await
        .expect("auth.test with the installed token");
    assert_eq!(identity.team_id.0, "T0002");
    assert_eq!(identity.team, "Second Workspace");

    // After an uninstall the token is revoked.
    fake.revoke_token(&installed.access_token.0);
    let revoked = client.open_session(&installed_token).auth_test().await;
    assert_eq!(api_error(revoked), "token_revoked");
}

#[tokio::test]
async fn auth_test_identifies_the_bot() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let token = bot_token();
    let identity = client
        .open_session(&token)
        .auth_test()
        .await
        .expect("auth.test answers");
    assert_eq!(identity.user_id.0, BOT_USER_ID);
    assert_eq!(identity.bot_id, Some(SlackBotId(BOT_ID.into())));
    assert_eq!(identity.team_id.0, TEAM_ID);
    assert_eq!(
        fake.calls_to("auth.test")[0].token.as_deref(),
        Some(BOT_TOKEN)
    );

    let no_token = reqwest::get(format!("{}auth.test", fake.api_url))
        .await
        .expect("the fake answers")
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(no_token["error"], "not_authed");
}

#[test]
fn sign_matches_slacks_published_vector() {
    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("slack/signing_vector_python_slack_sdk.json"))
            .expect("signing vector"),
    )
    .expect("JSON");
    let timestamp: i64 = vector["timestamp"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("timestamp");
    let signature = fake_slack::sign(
        vector["signing_secret"].as_str().expect("secret"),
        timestamp,
        vector["body"].as_str().expect("body"),
    );
    assert_eq!(signature, vector["expected_signature"]);
}

/// What the Socket Mode callbacks saw, forwarded to the test.
#[derive(Debug)]
enum Seen {
    Push(Box<SlackPushEventCallback>),
    Command(Box<SlackCommandEvent>),
    Interaction(Box<SlackInteractionEvent>),
}

fn forward(states: &SlackClientEventsUserStateStorage, seen: Seen) {
    states
        .get_user_state::<mpsc::UnboundedSender<Seen>>()
        .expect("the test's channel is in the user state")
        .send(seen)
        .expect("the test is listening");
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    forward(&*states.read().await, Seen::Push(Box::new(event)));
    Ok(())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    forward(&*states.read().await, Seen::Command(Box::new(event)));
    Ok(SlackCommandEventResponse::new(
        SlackMessageContent::new().with_text("Working on it".into()),
    ))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    forward(&*states.read().await, Seen::Interaction(Box::new(event)));
    Ok(())
}

async fn next_seen(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("a callback within 10 s")
        .expect("the listener is alive")
}

/// The Socket Mode envelopes python-slack-sdk's mock server replays.
fn sample_envelopes() -> Vec<Value> {
    let file = testdata("slack/python-slack-sdk-socket-mode/socket_mode_envelopes.json");
    let samples: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("samples")).expect("JSON");
    samples["value"].as_array().expect("envelopes").clone()
}

#[tokio::test]
async fn socket_mode_acks_envelopes_and_reconnects_on_disconnect() {
    let fake = FakeSlack::start().await;
    let client = Arc::new(client(&fake));
    let (events, mut seen) = mpsc::unbounded_channel::<Seen>();
    let environment =
        Arc::new(SlackClientEventsListenerEnvironment::new(client).with_user_state(events));
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    // One connection: the default is two, the second opened 5 s (initial backoff) later.
    let config = SlackClientSocketModeConfig::new().with_max_connections_count(1);
    let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
    listener
        .listen_for(&SlackApiToken::new(APP_TOKEN.into()))
        .await
        .expect("token registered");
    // start() spawns the connections and returns; serve() would also wait for SIGTERM.
    listener.start().await;

    fake.wait_for_socket(1).await;
    let open = fake.calls_to("apps.connections.open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].token.as_deref(), Some(APP_TOKEN));

    let samples = sample_envelopes();
    let mention = samples
        .iter()
        .find(|e| e["payload"]["event"]["type"] == "app_mention")
        .expect("an app_mention sample")
        .clone();
    fake.send_envelope(mention.clone()).await;
    let Seen::Push(event) = next_seen(&mut seen).await else {
        panic!("expected the app_mention push event");
    };
    assert_eq!(event.event_id.0, "Ev111");
    let SlackEventCallbackBody::AppMention(mention_event) = &event.event else {
        panic!("expected an app_mention, got {:?}", event.event);
    };
    assert_eq!(mention_event.content.text.as_deref(), Some("<@U111>"));
    let envelope_id = mention["envelope_id"].as_str().expect("envelope id");
    assert_eq!(
        fake.wait_for_ack(envelope_id).await,
        json!({"envelope_id": envelope_id})
    );

    let command = samples
        .iter()
        .find(|e| e["type"] == "slash_commands")
        .expect("a slash command sample")
        .clone();
    fake.send_envelope(command.clone()).await;
    let Seen::Command(command_event) = next_seen(&mut seen).await else {
        panic!("expected the slash command");
    };
    assert_eq!(command_event.command.0, "/hello-socket-mode");
    let command_ack = fake
        .wait_for_ack(command["envelope_id"].as_str().expect("id"))
        .await;
    assert_eq!(command_ack["payload"]["text"], "Working on it");

    let shortcut = fake_slack::envelope(
        "interactive",
        samples
            .iter()
            .find(|e| e["type"] == "interactive")
            .expect("an interactive sample")["payload"]
            .clone(),
    );
    fake.send_envelope(shortcut.clone()).await;
    let Seen::Interaction(interaction) = next_seen(&mut seen).await else {
        panic!("expected the shortcut");
    };
    assert!(matches!(*interaction, SlackInteractionEvent::Shortcut(_)));
    let shortcut_id = shortcut["envelope_id"].as_str().expect("id");
    assert_eq!(
        fake.wait_for_ack(shortcut_id).await,
        json!({"envelope_id": shortcut_id})
    );

    // Slack asks for a refresh and, before the client has moved, delivers one more envelope on
    // the old socket. slack-morphism drops the old client as soon as it reads `disconnect`, so
    // that envelope is never handled or acked (Slack redelivers unacked events).
    let message = |retry_attempt: u64| {
        let mut envelope = fake_slack::envelope(
            "events_api",
            samples
                .iter()
                .find(|e| e["payload"]["event"]["type"] == "message")
                .expect("a message sample")["payload"]
                .clone(),
        );
        envelope["retry_attempt"] = json!(retry_attempt);
        envelope
    };
    let late = message(0);
    fake.send_frames(vec![
        fake_slack::disconnect("refresh_requested"),
        late.clone(),
    ])
    .await;
    fake.wait_for_socket(2).await;
    let first = fake.wait_for_socket_closed(1).await;
    let opens = fake.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 2);
    assert!(
        fake.sockets()[1].opened_at > opens[1].at,
        "each socket uses a fresh URL"
    );
    let late_id = late["envelope_id"].as_str().expect("id");
    assert!(
        !first.received.iter().any(|f| f["envelope_id"] == late_id),
        "the old socket acked an envelope sent after disconnect: {:?}",
        first.received
    );

    // Redelivered on the new socket, it is handled and acked there.
    let mut redelivered = message(1);
    redelivered["envelope_id"] = json!(late_id);
    fake.send_envelope(redelivered).await;
    let Seen::Push(event) = next_seen(&mut seen).await else {
        panic!("expected the message push event");
    };
    assert!(matches!(event.event, SlackEventCallbackBody::Message(_)));
    fake.wait_for_ack(late_id).await;
    assert!(
        fake.sockets()[1]
            .received
            .iter()
            .any(|f| f["envelope_id"] == late_id)
    );

    // A link dropped by the server is reopened at once (no backoff on a clean close).
    fake.close_newest_socket().await;
    fake.wait_for_socket(3).await;
    assert_eq!(fake.calls_to("apps.connections.open").len(), 3);

    // shutdown() closes the live socket and does not reconnect.
    listener.shutdown().await;
    fake.wait_for_socket_closed(3).await;
    assert_eq!(fake.socket_connections(), 3);
    assert!(
        seen.try_recv().is_err(),
        "no event was handled twice or late"
    );
}

#[tokio::test]
async fn settings_point_querybot_at_the_fake() {
    let fake = FakeSlack::start().await;
    let load = |pairs: Vec<(&'static str, String)>| {
        let env = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        querybot::config::Config::from_env(&env).expect("the fake's settings are valid")
    };
    let http = load(fake.settings());
    assert!(http.slack.enabled());
    // Stored without the trailing slash: slack-morphism adds one between base and method.
    assert_eq!(http.slack.api_url, fake.api_url.trim_end_matches('/'));
    assert!(http.slack.signing_secret.is_some());
    let socket = load(fake.socket_mode_settings());
    assert!(socket.slack.app_token.is_some());
}
