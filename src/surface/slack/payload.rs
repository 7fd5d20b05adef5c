//! Slack's inbound payloads — Events API bodies, slash-command forms, interaction payloads —
//! parsed into the few shapes querybot acts on. Parsing is lenient: unknown fields and event
//! types are fine (they become [`Inbound::Ignored`]); only a body that is not what its
//! endpoint receives at all is an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bot::DraftId;

use super::blocks::{
    ACTION_BAD, ACTION_CANCEL, ACTION_EDIT, ACTION_GOOD, ACTION_RERUN, ACTION_RUN, ACTION_STOP,
    EDIT_ACTION, EDIT_BLOCK, EDIT_CALLBACK, FEEDBACK_ACTION, FEEDBACK_BLOCK, FEEDBACK_CALLBACK,
};

/// What an inbound payload asks of querybot.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Slack checking the events URL; answer with the challenge.
    UrlVerification {
        challenge: String,
    },
    /// An Events API callback, deduplicated by `event_id`.
    Event {
        event_id: String,
        team: String,
        event: Event,
    },
    Command(Command),
    Action(Action),
    EditSubmitted(EditSubmission),
    /// What was wrong with an answer, from the modal a 👎 opens.
    Feedback(FeedbackSubmission),
    /// Something querybot does not act on, and why.
    Ignored(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An @mention of the bot, anywhere.
    Mention(Message),
    /// A plain message: a DM, or a reply in a thread (maybe one querybot is part of).
    Message(Message),
    /// The app was uninstalled, or its tokens revoked: forget the workspace.
    Uninstalled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub channel: String,
    /// `im` for direct messages.
    pub channel_type: Option<String>,
    pub user: String,
    pub text: String,
    pub ts: String,
    pub thread_ts: Option<String>,
}

impl Message {
    /// The thread this message belongs to: its parent, or itself when it starts one.
    pub fn thread(&self) -> &str {
        self.thread_ts.as_deref().unwrap_or(&self.ts)
    }

    pub fn is_direct(&self) -> bool {
        self.channel_type.as_deref() == Some("im")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub team: String,
    pub channel: String,
    pub user: String,
    pub command: String,
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Run,
    Edit,
    Cancel,
    Stop,
    /// 👍 / 👎 under an answer.
    Good,
    Bad,
    /// Re-run beside a question of a history.
    Rerun,
}

/// A click on one of a draft's buttons.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub team: String,
    pub channel: String,
    pub user: String,
    pub kind: ActionKind,
    pub draft: DraftId,
    /// The draft message, which the click's outcome updates.
    pub message_ts: String,
    /// The thread answers go to.
    pub thread_ts: String,
    pub trigger_id: String,
}

/// Where an edited draft's message lives; carried in the modal's `private_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct EditTarget {
    pub draft: DraftId,
    pub channel: String,
    pub message_ts: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditSubmission {
    pub team: String,
    pub user: String,
    pub target: EditTarget,
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackSubmission {
    pub team: String,
    pub user: String,
    /// The modal's id: one submission each.
    pub view: String,
    pub target: EditTarget,
    pub comment: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("form body is malformed: {0}")]
    Form(#[from] serde_urlencoded::de::Error),
    #[error("payload lacks {0}")]
    Missing(&'static str),
}

/// A delivery as the inbox keeps it, however it arrived (HTTP or Socket Mode): its Socket
/// Mode envelope type and payload, read again by [`Kept::inbound`] after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: Value,
}

/// The Socket Mode envelope types querybot acts on.
pub const EVENTS_API: &str = "events_api";
pub const SLASH_COMMANDS: &str = "slash_commands";
pub const INTERACTIVE: &str = "interactive";

impl Kept {
    pub fn new(kind: &str, payload: Value) -> Kept {
        Kept {
            kind: kind.to_owned(),
            payload,
        }
    }

    /// An Events API request body.
    pub fn events(body: &[u8]) -> Result<Kept, PayloadError> {
        Ok(Kept::new(EVENTS_API, serde_json::from_slice(body)?))
    }

    /// A slash command's form body, as the JSON object Socket Mode would send.
    pub fn command(body: &[u8]) -> Result<Kept, PayloadError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)?;
        let object = fields
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect();
        Ok(Kept::new(SLASH_COMMANDS, Value::Object(object)))
    }

    /// An interaction request body: a form whose `payload` field holds JSON.
    pub fn interaction(body: &[u8]) -> Result<Kept, PayloadError> {
        let form: InteractionForm = serde_urlencoded::from_bytes(body)?;
        Ok(Kept::new(INTERACTIVE, serde_json::from_str(&form.payload)?))
    }

    /// What the delivery asks of querybot.
    pub fn inbound(&self) -> Result<Inbound, PayloadError> {
        match self.kind.as_str() {
            EVENTS_API => events_api(&self.payload),
            SLASH_COMMANDS => command_json(&self.payload).map(Inbound::Command),
            INTERACTIVE => interaction(&self.payload),
            other => Ok(Inbound::Ignored(format!("envelope type `{other}`"))),
        }
    }
}

/// An Events API request body (`url_verification` or `event_callback`).
pub fn event_body(body: &[u8]) -> Result<Inbound, PayloadError> {
    Kept::events(body)?.inbound()
}

/// An Events API envelope, from HTTP or a Socket Mode `events_api` message.
pub fn events_api(envelope: &Value) -> Result<Inbound, PayloadError> {
    match text(envelope, "type") {
        "url_verification" => Ok(Inbound::UrlVerification {
            challenge: required(envelope, "challenge")?,
        }),
        "event_callback" => {
            // Without an id a retried delivery could not be told from a new one.
            let Ok(event_id) = required(envelope, "event_id") else {
                return Ok(Inbound::Ignored("an event without event_id".to_owned()));
            };
            let team = text(envelope, "team_id").to_owned();
            let event = &envelope["event"];
            Ok(match classify(event) {
                Ok(event) => Inbound::Event {
                    event_id,
                    team,
                    event,
                },
                Err(reason) => Inbound::Ignored(reason),
            })
        }
        other => Ok(Inbound::Ignored(format!("envelope type `{other}`"))),
    }
}

/// Which events querybot acts on; everything else, and every loop risk, is ignored.
fn classify(event: &Value) -> Result<Event, String> {
    let kind = text(event, "type");
    match kind {
        "app_uninstalled" | "tokens_revoked" => return Ok(Event::Uninstalled),
        "app_mention" | "message" => {}
        other => return Err(format!("event type `{other}`")),
    }
    // The bot's own posts and edits or deletions would otherwise feed back into it.
    if !event["bot_id"].is_null() && event["bot_id"] != "" {
        return Err("a bot's message".to_owned());
    }
    if let Some(subtype) = event["subtype"].as_str().filter(|s| !s.is_empty()) {
        return Err(format!("message subtype `{subtype}`"));
    }
    let message = Message {
        channel: text(event, "channel").to_owned(),
        channel_type: event["channel_type"].as_str().map(str::to_owned),
        user: text(event, "user").to_owned(),
        text: text(event, "text").to_owned(),
        ts: text(event, "ts").to_owned(),
        thread_ts: event["thread_ts"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
    };
    if message.user.is_empty() || message.channel.is_empty() || message.ts.is_empty() {
        return Err("a message without user, channel or ts".to_owned());
    }
    Ok(if kind == "app_mention" {
        Event::Mention(message)
    } else {
        Event::Message(message)
    })
}

#[derive(Deserialize)]
struct CommandForm {
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    response_url: String,
    #[serde(default)]
    trigger_id: String,
}

/// A slash command's form body.
pub fn command_form(body: &[u8]) -> Result<Command, PayloadError> {
    command_json(&Kept::command(body)?.payload)
}

/// A slash command from Socket Mode (the same fields, as JSON).
pub fn command_json(payload: &Value) -> Result<Command, PayloadError> {
    let form: CommandForm = serde_json::from_value(payload.clone())?;
    command(form)
}

fn command(form: CommandForm) -> Result<Command, PayloadError> {
    Ok(Command {
        team: form.team_id,
        channel: form.channel_id,
        user: form.user_id,
        command: form.command,
        text: form.text,
        response_url: form.response_url,
        trigger_id: form.trigger_id,
    })
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

/// An interaction request body: a form whose `payload` field holds JSON.
pub fn interaction_form(body: &[u8]) -> Result<Inbound, PayloadError> {
    Kept::interaction(body)?.inbound()
}

/// An interaction payload (`block_actions`, `view_submission`, ...).
pub fn interaction(payload: &Value) -> Result<Inbound, PayloadError> {
    let team = payload["team"]["id"]
        .as_str()
        .or_else(|| payload["user"]["team_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let user = text(&payload["user"], "id").to_owned();
    match text(payload, "type") {
        "block_actions" => Ok(block_action(payload, team, user)),
        "view_submission" if text(&payload["view"], "callback_id") == EDIT_CALLBACK => {
            let view = &payload["view"];
            let target: EditTarget = serde_json::from_str(text(view, "private_metadata"))
                .map_err(|_| PayloadError::Missing("the draft in private_metadata"))?;
            let sql = view["state"]["values"][EDIT_BLOCK][EDIT_ACTION]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Ok(Inbound::EditSubmitted(EditSubmission {
                team,
                user,
                target,
                sql,
            }))
        }
        "view_submission" if text(&payload["view"], "callback_id") == FEEDBACK_CALLBACK => {
            let view = &payload["view"];
            let target: EditTarget = serde_json::from_str(text(view, "private_metadata"))
                .map_err(|_| PayloadError::Missing("the draft in private_metadata"))?;
            let comment = view["state"]["values"][FEEDBACK_BLOCK][FEEDBACK_ACTION]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Ok(Inbound::Feedback(FeedbackSubmission {
                team,
                user,
                view: text(view, "id").to_owned(),
                target,
                comment,
            }))
        }
        other => Ok(Inbound::Ignored(format!("interaction type `{other}`"))),
    }
}

fn block_action(payload: &Value, team: String, user: String) -> Inbound {
    let Some(action) = payload["actions"].as_array().and_then(|a| a.first()) else {
        return Inbound::Ignored("block_actions without an action".to_owned());
    };
    let kind = match text(action, "action_id") {
        ACTION_RUN => ActionKind::Run,
        ACTION_EDIT => ActionKind::Edit,
        ACTION_CANCEL => ActionKind::Cancel,
        ACTION_STOP => ActionKind::Stop,
        ACTION_GOOD => ActionKind::Good,
        ACTION_RERUN => ActionKind::Rerun,
        ACTION_BAD => ActionKind::Bad,
        other => return Inbound::Ignored(format!("action `{other}`")),
    };
    let Ok(draft) = text(action, "value").parse::<DraftId>() else {
        return Inbound::Ignored("a button without a draft id".to_owned());
    };
    let message = &payload["message"];
    let message_ts = match text(message, "ts") {
        "" => text(&payload["container"], "message_ts"),
        ts => ts,
    }
    .to_owned();
    let thread_ts = message["thread_ts"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| message_ts.clone());
    Inbound::Action(Action {
        team,
        channel: payload["channel"]["id"]
            .as_str()
            .or_else(|| payload["container"]["channel_id"].as_str())
            .unwrap_or_default()
            .to_owned(),
        user,
        kind,
        draft,
        message_ts,
        thread_ts,
        trigger_id: text(payload, "trigger_id").to_owned(),
    })
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

fn required(value: &Value, key: &'static str) -> Result<String, PayloadError> {
    value[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(PayloadError::Missing(key))
}

#[cfg(test)]
mod tests;
