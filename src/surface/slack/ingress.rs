//! Slack's HTTP endpoints: `/slack/events`, `/slack/commands`, `/slack/interactions`.
//!
//! Each request is verified (signature, freshness), parsed, stored in the delivery inbox
//! (which deduplicates it) and acknowledged at once; the work runs afterwards in its own
//! task, because Slack gives three seconds and an LLM takes longer. A delivery whose process
//! died before handling it is handled again by [`replay`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Slack;
use super::payload::{self, Event, Inbound, Kept};
use super::verify;
use crate::bot::{EventId, STORE_DOWN, Unhandled};
use crate::surface::MessageRef;
use crate::surface::flow::ChatCommand;
use crate::surface::receipt::Receipt;

pub(super) async fn events(State(slack): State<Slack>, Signed(body): Signed) -> Response {
    let kept = match Kept::events(&body) {
        Ok(kept) => kept,
        Err(error) => return malformed(&error),
    };
    match kept.inbound() {
        Ok(Inbound::UrlVerification { challenge }) => {
            Json(json!({ "challenge": challenge })).into_response()
        }
        // Slack delivers the event again later, when the store may answer.
        Ok(inbound) => match dispatch(slack, inbound, &kept).await {
            Dispatched::StoreDown => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Dispatched::Handled => StatusCode::OK.into_response(),
        },
        Err(error) => malformed(&error),
    }
}

pub(super) async fn commands(State(slack): State<Slack>, Signed(body): Signed) -> Response {
    let kept = match Kept::command(&body) {
        Ok(kept) => kept,
        Err(error) => return malformed(&error),
    };
    match kept.inbound() {
        Ok(Inbound::Command(command)) if command.text.trim().is_empty() => {
            Json(json!({ "response_type": "ephemeral", "text": Slack::help() })).into_response()
        }
        // A question the process has no place for is refused in the response itself: nothing
        // stored, nothing posted, no task waiting.
        Ok(Inbound::Command(command))
            if ChatCommand::parse(command.text.trim()).is_none()
                && let Some(busy) = slack.bot().busy() =>
        {
            Json(json!({ "response_type": "ephemeral", "text": busy.user_message })).into_response()
        }
        Ok(inbound) => match dispatch(slack, inbound, &kept).await {
            Dispatched::StoreDown => {
                Json(json!({ "response_type": "ephemeral", "text": STORE_DOWN })).into_response()
            }
            Dispatched::Handled => StatusCode::OK.into_response(),
        },
        Err(error) => malformed(&error),
    }
}

pub(super) async fn interactions(State(slack): State<Slack>, Signed(body): Signed) -> Response {
    let kept = match Kept::interaction(&body) {
        Ok(kept) => kept,
        Err(error) => return malformed(&error),
    };
    match kept.inbound() {
        Ok(Inbound::EditSubmitted(edit)) => match edit_answer(&slack, &edit).await {
            Some(errors) => Json(errors).into_response(),
            None => StatusCode::OK.into_response(),
        },
        // A click Slack shows as failed; pressing again works once the store answers.
        Ok(inbound) => match dispatch(slack, inbound, &kept).await {
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

/// Stores an inbound payload (once per delivery id, with `kept` to handle it again should
/// this process die first), starts the work for it and returns at once.
pub(super) async fn dispatch(slack: Slack, inbound: Inbound, kept: &Kept) -> Dispatched {
    let Some(key) = delivery_key(&inbound) else {
        if let Inbound::Ignored(reason) = &inbound {
            tracing::debug!(%reason, "ignored Slack payload");
        }
        return Dispatched::Handled;
    };
    let event: EventId = match format!("slack:{key}").parse() {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "Slack delivery id unusable; dropped");
            return Dispatched::Handled;
        }
    };
    let stored = match serde_json::to_string(kept) {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(%error, "cannot keep a Slack delivery; dropped");
            return Dispatched::Handled;
        }
    };
    match slack.state().accept(&event, &stored).await {
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
    let receipt = Receipt::kept(slack.state().clone(), event, None);
    // Forgetting a workspace is one quick delete: done before the acknowledgement.
    if let Inbound::Event {
        event: Event::Uninstalled,
        ..
    } = &inbound
    {
        handle(&slack, inbound, &receipt).await;
        receipt.handled().await;
        return Dispatched::Handled;
    }
    start(slack, inbound, receipt);
    Dispatched::Handled
}

/// The id a delivery is deduplicated by, for payloads querybot acts on.
fn delivery_key(inbound: &Inbound) -> Option<String> {
    match inbound {
        Inbound::Event { event_id, .. } => Some(event_id.clone()),
        // Commands and clicks have no event id; each carries a single-use trigger id.
        Inbound::Command(command) => Some(format!("trigger:{}", command.trigger_id)),
        Inbound::Action(action) => Some(format!("trigger:{}", action.trigger_id)),
        Inbound::Feedback(feedback) => Some(format!("view:{}", feedback.view)),
        Inbound::Ignored(_) | Inbound::UrlVerification { .. } | Inbound::EditSubmitted(_) => None,
    }
}

/// Handles again a delivery a process acknowledged and did not handle before it died.
pub(super) fn replay(slack: Slack, delivery: Unhandled) {
    let inbound = serde_json::from_str::<Kept>(&delivery.payload)
        .map_err(|e| e.to_string())
        .and_then(|kept| kept.inbound().map_err(|e| e.to_string()));
    let receipt = Receipt::kept(
        slack.state().clone(),
        delivery.event.clone(),
        delivery.message.map(MessageRef),
    );
    match inbound {
        Ok(inbound) => {
            tracing::info!(
                event = delivery.event.as_str(),
                attempt = delivery.attempt,
                "handling a Slack delivery left unhandled"
            );
            start(slack, inbound, receipt);
        }
        Err(error) => {
            tracing::warn!(%error, event = delivery.event.as_str(), "a kept Slack delivery is unreadable; dropped");
            tokio::spawn(async move { receipt.handled().await });
        }
    }
}

/// Handles a stored delivery in the background, and marks it handled when done.
fn start(slack: Slack, inbound: Inbound, receipt: Receipt) {
    let tasks = slack.tasks().clone();
    tasks.spawn(async move {
        handle(&slack, inbound, &receipt).await;
        receipt.handled().await;
    });
}

async fn handle(slack: &Slack, inbound: Inbound, receipt: &Receipt) {
    match inbound {
        Inbound::Event { team, event, .. } => slack.event(&team, event, receipt).await,
        Inbound::Command(command) => slack.command(command, receipt).await,
        Inbound::Action(action) => slack.action(action, receipt).await,
        Inbound::Feedback(feedback) => slack.feedback(feedback).await,
        Inbound::UrlVerification { .. } | Inbound::EditSubmitted(_) | Inbound::Ignored(_) => {}
    }
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
