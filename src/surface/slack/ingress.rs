//! Slack's HTTP endpoints: `/slack/events`, `/slack/commands`, `/slack/interactions`.
//!
//! Each request is verified (signature, freshness), parsed, deduplicated in the store and
//! acknowledged at once; the work runs afterwards in its own task, because Slack gives
//! three seconds and an LLM takes longer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Slack;
use super::payload::{self, Event, Inbound};
use super::verify;
use crate::bot::{EventId, InvalidId, STORE_DOWN};

pub(super) async fn events(State(slack): State<Slack>, Signed(body): Signed) -> Response {
    match payload::event_body(&body) {
        Ok(Inbound::UrlVerification { challenge }) => {
            Json(json!({ "challenge": challenge })).into_response()
        }
        // Slack delivers the event again later, when the store may answer.
        Ok(inbound) => match dispatch(slack, inbound).await {
            Dispatched::StoreDown => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Dispatched::Handled => StatusCode::OK.into_response(),
        },
        Err(error) => malformed(&error),
    }
}

pub(super) async fn commands(State(slack): State<Slack>, Signed(body): Signed) -> Response {
    match payload::command_form(&body) {
        Ok(command) if command.text.trim().is_empty() => {
            Json(json!({ "response_type": "ephemeral", "text": Slack::help() })).into_response()
        }
        Ok(command) => match dispatch(slack, Inbound::Command(command)).await {
            Dispatched::StoreDown => {
                Json(json!({ "response_type": "ephemeral", "text": STORE_DOWN })).into_response()
            }
            Dispatched::Handled => StatusCode::OK.into_response(),
        },
        Err(error) => malformed(&error),
    }
}

pub(super) async fn interactions(State(slack): State<Slack>, Signed(body): Signed) -> Response {
    match payload::interaction_form(&body) {
        Ok(Inbound::EditSubmitted(edit)) => match edit_answer(&slack, &edit).await {
            Some(errors) => Json(errors).into_response(),
            None => StatusCode::OK.into_response(),
        },
        // A click Slack shows as failed; pressing again works once the store answers.
        Ok(inbound) => match dispatch(slack, inbound).await {
            Dispatched::StoreDown => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Dispatched::Handled => StatusCode::OK.into_response(),
        },
        Err(error) => malformed(&error),
    }
}

/// What became of a delivery.
pub(super) enum Dispatched {
    /// Started, or dropped on purpose (a duplicate, something querybot does not act on).
    Handled,
    /// The store could not record it, so it was not started: the platform should deliver it
    /// again, or the person try again.
    StoreDown,
}

/// How long an edit may take to check: Slack closes the modal with an error at three seconds.
const EDIT_ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_millis(2_500);

/// The synchronous answer to an edit: `None` closes the modal, `Some` shows the error in it.
pub(super) async fn edit_answer(
    slack: &Slack,
    edit: &payload::EditSubmission,
) -> Option<serde_json::Value> {
    let checked = tokio::time::timeout(EDIT_ANSWER_LIMIT, slack.submit_edit(edit))
        .await
        .unwrap_or_else(|_| Err("Checking the SQL took too long; press Save again.".to_owned()));
    match checked {
        Ok(()) => None,
        Err(message) => Some(json!({
            "response_action": "errors",
            "errors": { super::blocks::EDIT_BLOCK: message },
        })),
    }
}

/// Starts the work for an inbound payload, once per delivery id, and returns at once.
pub(super) async fn dispatch(slack: Slack, inbound: Inbound) -> Dispatched {
    let key = match &inbound {
        Inbound::Event { event_id, .. } => event_id.clone(),
        // Commands and clicks have no event id; each carries a single-use trigger id.
        Inbound::Command(command) => format!("trigger:{}", command.trigger_id),
        Inbound::Action(action) => format!("trigger:{}", action.trigger_id),
        Inbound::Feedback(feedback) => format!("view:{}", feedback.view),
        Inbound::Ignored(reason) => {
            tracing::debug!(%reason, "ignored Slack payload");
            return Dispatched::Handled;
        }
        Inbound::UrlVerification { .. } | Inbound::EditSubmitted(_) => return Dispatched::Handled,
    };
    match first_sighting(&slack, &key).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(%key, "duplicate Slack delivery dropped");
            return Dispatched::Handled;
        }
        Err(error) => {
            tracing::warn!(%key, %error, "the store cannot record the delivery; not started");
            return Dispatched::StoreDown;
        }
    }
    // Forgetting a workspace is one quick delete: done before the acknowledgement.
    if let Inbound::Event {
        team,
        event: Event::Uninstalled,
        ..
    } = inbound
    {
        slack.event(&team, Event::Uninstalled).await;
        return Dispatched::Handled;
    }
    let tasks = slack.tasks().clone();
    tasks.spawn(async move {
        match inbound {
            Inbound::Event { team, event, .. } => slack.event(&team, event).await,
            Inbound::Command(command) => slack.command(command).await,
            Inbound::Action(action) => slack.action(action).await,
            Inbound::Feedback(feedback) => slack.feedback(feedback).await,
            Inbound::UrlVerification { .. } | Inbound::EditSubmitted(_) | Inbound::Ignored(_) => {}
        }
    });
    Dispatched::Handled
}

async fn first_sighting(slack: &Slack, key: &str) -> Result<bool, String> {
    let event: EventId = format!("slack:{key}")
        .parse()
        .map_err(|e: InvalidId| e.to_string())?;
    slack
        .state()
        .first_sighting(&event)
        .await
        .map_err(|e| e.to_string())
}

/// A request body whose Slack signature and timestamp checked out; handlers take only this.
pub(super) struct Signed(Bytes);

impl FromRequest<Slack> for Signed {
    type Rejection = StatusCode;

    async fn from_request(request: Request, slack: &Slack) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, slack)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        verified(slack, &headers, &body)?;
        Ok(Signed(body))
    }
}

fn verified(slack: &Slack, headers: &HeaderMap, body: &[u8]) -> Result<(), StatusCode> {
    let Some(secret) = &slack.config().signing_secret else {
        return Err(StatusCode::NOT_FOUND);
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    verify::check(
        secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        now,
    )
    .map_err(|refused| {
        tracing::warn!(%refused, "Slack request refused");
        ::metrics::counter!("querybot_slack_refused_total").increment(1);
        StatusCode::UNAUTHORIZED
    })
}

fn malformed(error: &payload::PayloadError) -> Response {
    tracing::warn!(%error, "malformed Slack payload");
    StatusCode::BAD_REQUEST.into_response()
}
