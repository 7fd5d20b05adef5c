//! Payload parsing against Slack's own samples and querybot's own buttons and modal.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/slack")
}

/// The payload inside a sample file: bolt-python extracts wrap it in `value`.
fn sample(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("sample readable");
    let json: Value = serde_json::from_str(&text).expect("sample is JSON");
    if json.get("source_repo").is_some() {
        json["value"].clone()
    } else {
        json
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Parses a sample with the parser for what it is; `Err` means querybot would reject it.
fn parse(value: &Value) -> Result<Inbound, PayloadError> {
    if value.get("command").is_some() {
        return command_json(value).map(Inbound::Command);
    }
    match value["type"].as_str().unwrap_or_default() {
        "event_callback" | "url_verification" => events_api(value),
        // A Socket Mode envelope: what is inside depends on its type.
        "events_api" => events_api(&value["payload"]),
        "slash_commands" => command_json(&value["payload"]).map(Inbound::Command),
        "interactive" => interaction(&value["payload"]),
        "hello" | "disconnect" => Ok(Inbound::Ignored("socket control".into())),
        _ if value.get("event").is_some() => events_api(value),
        _ => interaction(value),
    }
}

#[test]
fn every_shared_slack_sample_parses() {
    let mut parsed = 0;
    for path in files(&samples()) {
        if path.starts_with(samples().join("slack-api-specs"))
            || path.ends_with("signing_vector_python_slack_sdk.json")
        {
            continue;
        }
        let payload = sample(&path);
        let payloads = match payload.as_array() {
            Some(many) => many.clone(),
            None => vec![payload],
        };
        for payload in payloads {
            if let Err(error) = parse(&payload) {
                panic!("{} was rejected: {error}", path.display());
            }
            parsed += 1;
        }
    }
    assert!(parsed > 100, "only {parsed} samples found");
}

#[test]
fn a_mention_sample_becomes_a_mention() {
    let body = sample(&samples().join("bolt-python-extracted/test_events__valid_event_body.json"));
    let Inbound::Event {
        event_id,
        team,
        event,
    } = events_api(&body).expect("parses")
    else {
        panic!("not an event");
    };
    assert_eq!((event_id.as_str(), team.as_str()), ("Ev111", "T111"));
    let Event::Mention(message) = event else {
        panic!("not a mention")
    };
    assert_eq!(message.text, "<@W111> Hi there!");
    assert_eq!(
        message.thread(),
        "1595926230.009600",
        "a top-level mention starts its own thread"
    );
}

fn event(event: Value) -> Inbound {
    events_api(
        &json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": event}),
    )
    .expect("parses")
}

fn ignored(inbound: Inbound) -> bool {
    matches!(inbound, Inbound::Ignored(_))
}

#[test]
fn loops_and_edits_are_ignored() {
    let base = json!({"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1"});
    let with = |key: &str, value: Value| {
        let mut event = base.clone();
        event[key] = value;
        event
    };
    assert!(!ignored(event(base.clone())));
    assert!(ignored(event(with("bot_id", json!("B1")))));
    assert!(ignored(event(with("subtype", json!("bot_message")))));
    assert!(ignored(event(with("subtype", json!("message_changed")))));
    assert!(ignored(event(with("subtype", json!("message_deleted")))));
    assert!(ignored(event(
        json!({"type": "reaction_added", "user": "U1"})
    )));
    for sample in [
        "MessageBotPayload",
        "MessageChangedPayload",
        "MessageDeletedPayload",
    ] {
        let body = sample_file(sample);
        assert!(ignored(events_api(&body).expect("parses")), "{sample}");
    }
}

fn sample_file(name: &str) -> Value {
    sample(&samples().join(format!("java-slack-sdk-samples/events/{name}.json")))
}

#[test]
fn thread_replies_keep_their_parent() {
    let Inbound::Event {
        event: Event::Message(message),
        ..
    } = event(json!({
        "type": "message", "channel": "C1", "channel_type": "channel", "user": "U1",
        "text": "now only 2024", "ts": "2.2", "thread_ts": "1.1"
    }))
    else {
        panic!("not a message");
    };
    assert_eq!(message.thread(), "1.1");
    assert!(!message.is_direct());
}

#[test]
fn uninstall_events_are_recognised() {
    for name in ["AppUninstalledPayload", "TokensRevokedPayload"] {
        // Java's samples leave every string empty; fill in what Slack always sends.
        let mut body = sample_file(name);
        body["type"] = json!("event_callback");
        body["event_id"] = json!("Ev9");
        assert!(
            matches!(
                events_api(&body).expect("parses"),
                Inbound::Event {
                    event: Event::Uninstalled,
                    ..
                }
            ),
            "{name}"
        );
    }
}

#[test]
fn url_verification_returns_the_challenge() {
    let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    assert_eq!(
        event_body(body).expect("parses"),
        Inbound::UrlVerification {
            challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
        }
    );
    assert!(event_body(b"not json").is_err());
}

#[test]
fn slash_command_forms_parse() {
    let body = b"team_id=T1&channel_id=C1&user_id=U1&command=%2Fask&text=how+many+orders%3F&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3";
    let command = command_form(body).expect("parses");
    assert_eq!(command.text, "how many orders?");
    assert_eq!(command.command, "/ask");
}

fn click(action_id: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "message": {"ts": "1700000001.000100", "thread_ts": "1700000000.000100"},
        "actions": [{"action_id": action_id, "value": value, "type": "button"}]
    })
}

#[test]
fn our_buttons_become_actions_with_their_draft() {
    let draft = DraftId::new();
    let Inbound::Action(action) =
        interaction(&click(ACTION_RUN, &draft.to_string())).expect("parses")
    else {
        panic!("not an action");
    };
    assert_eq!(action.kind, ActionKind::Run);
    assert_eq!(action.draft, draft);
    assert_eq!(action.message_ts, "1700000001.000100");
    assert_eq!(action.thread_ts, "1700000000.000100");
    assert!(ignored(
        interaction(&click("someone_elses_button", &draft.to_string())).expect("parses")
    ));
    assert!(ignored(
        interaction(&click(ACTION_RUN, "SELECT * FROM secrets")).expect("parses")
    ));
    let form = format!(
        "payload={}",
        urlencode(&click(ACTION_CANCEL, &draft.to_string()).to_string())
    );
    assert!(matches!(
        interaction_form(form.as_bytes()).expect("parses"),
        Inbound::Action(Action {
            kind: ActionKind::Cancel,
            ..
        })
    ));
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).expect("encodes")[2..].to_owned()
}

#[test]
fn the_edit_modal_submission_carries_sql_and_target() {
    let target = EditTarget {
        draft: DraftId::new(),
        channel: "C1".into(),
        message_ts: "1.1".into(),
    };
    let payload = json!({
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": {
            "callback_id": EDIT_CALLBACK,
            "private_metadata": serde_json::to_string(&target).expect("json"),
            "state": {"values": {EDIT_BLOCK: {EDIT_ACTION: {"type": "plain_text_input", "value": "SELECT 1"}}}}
        }
    });
    let Inbound::EditSubmitted(edit) = interaction(&payload).expect("parses") else {
        panic!("not an edit");
    };
    assert_eq!(edit.target, target);
    assert_eq!(edit.sql, "SELECT 1");
}
