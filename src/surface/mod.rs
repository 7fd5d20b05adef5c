//! Chat surfaces: thin adapters that turn platform events into Bot calls and render replies.
//!
//! What every chat platform shares lives here: the neutral vocabulary of what querybot says
//! ([`Reply`]), the small trait a platform implements to say it ([`Outbox`]), and in `flow`
//! the sequence itself (placeholder, draft, run, answer and files, cancel, private notices).
//! A platform adds only what is its own: ingress, rendering under its limits, its editor UI.

pub mod console;
#[cfg(feature = "discord")]
pub mod discord;
pub mod flow;
pub mod receipt;
#[cfg(all(test, feature = "slack", feature = "discord"))]
pub(crate) mod render_tests;
#[cfg(feature = "slack")]
pub mod slack;

use async_trait::async_trait;

use crate::bot::{Answer, ConversationKey, Draft, Failure, HistoryEntry, Platform, UserId};
use crate::present::words::{self, RunStatus};

/// Something querybot says in a conversation, before any platform draws it.
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    /// The question and what is happening to it ("writing SQL…"), until the draft replaces it.
    Progress {
        question: &'a str,
        status: &'a str,
    },
    /// A draft waiting for Run / Edit / Cancel.
    Draft(&'a Draft),
    /// A draft, what became of it, and the buttons that fit ([`Buttons::of`]); the outbox
    /// draws `by` as its platform mentions a person.
    Status {
        draft: &'a Draft,
        status: RunStatus,
        by: &'a UserId,
    },
    /// A result: the preview, its row counts and time; the files follow as attachments.
    Answer(&'a Answer),
    Failure(&'a Failure),
    /// Help or a hint, not an error.
    Notice(&'a str),
    /// A person's latest questions, each with a Re-run button.
    History(&'a [HistoryEntry]),
}

/// The buttons under a draft, by what is happening to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buttons {
    /// Run, Edit and Cancel: the draft waits for its asker.
    Confirm,
    /// Stop: the query is running.
    Stop,
    None,
}

impl Buttons {
    pub fn of(status: RunStatus) -> Buttons {
        match status {
            RunStatus::Running => Buttons::Stop,
            // A stopped draft is pending again.
            RunStatus::Stopped => Buttons::Confirm,
            RunStatus::Ran { .. }
            | RunStatus::Undelivered
            | RunStatus::Failed
            | RunStatus::Cancelled => Buttons::None,
        }
    }
}

/// What a draft's plan says, as notes every surface shows under it: the estimated rows, what
/// it scans, and a warning when that is more than the bot's limit.
pub fn plan_notes(draft: &Draft) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(estimate) = draft.estimated_rows.and_then(|n| u64::try_from(n).ok()) {
        notes.push(words::estimate_note(estimate));
    }
    if let Some(scan) = &draft.scan {
        notes.push(words::scan_note(scan.bytes, scan.partitions));
        if scan.over_limit {
            notes.push(words::SCAN_WARNING.to_owned());
        }
    }
    notes
}

/// "✓ Verified by <@U1> on 2026-12-04" under a draft whose SQL is a verified query. `mention`
/// draws a person of the surface's own platform (`None` for others, who are left unnamed).
pub fn verified_note(draft: &Draft, mention: impl Fn(&UserId) -> Option<String>) -> Option<String> {
    let verified = draft.verified.as_ref()?;
    let by = verified
        .by
        .as_deref()
        .map(UserId::new)
        .and_then(|by| mention(&by));
    Some(match (by, verified.on) {
        (Some(by), Some(on)) => format!("✓ Verified by {by} on {on}"),
        (None, Some(on)) => format!("✓ Verified on {on}"),
        (_, None) => "✓ A verified query from the team's examples".to_owned(),
    })
}

/// How Slack and Discord write a mention of one of their own users.
pub fn mention_on(platform: &str) -> impl Fn(&UserId) -> Option<String> + '_ {
    move |user: &UserId| {
        (user.surface() == platform).then(|| format!("<@{}>", user.platform_user()))
    }
}

/// One line of a history: when, the state and rows, the question.
pub fn history_line(entry: &HistoryEntry) -> String {
    let rows = entry
        .row_count
        .and_then(|n| u64::try_from(n).ok())
        .map_or_else(String::new, |n| format!(" · {}", words::rows(n)));
    format!(
        "{} · {}{rows} · {}",
        entry.at.format("%Y-%m-%d %H:%M"),
        entry.state.as_str(),
        entry.question.trim()
    )
}

/// A platform that can act with no inbound event to answer, after another process died: it
/// speaks in a stored conversation, and handles a delivery that process left unhandled.
#[async_trait]
pub trait Courier: Send + Sync {
    fn platform(&self) -> Platform;
    /// Handles again a delivery of this platform that a process acknowledged and did not
    /// handle; the work goes on in the background, and marks it handled when done.
    async fn replay(&self, delivery: crate::bot::Unhandled);
    /// Tells `conversation` its run of `draft`, or the posting of its answer, was
    /// interrupted, and shows the draft as it now is.
    async fn tell_interrupted(
        &self,
        conversation: &ConversationKey,
        draft: &Draft,
        what: Interrupted,
    ) -> Result<(), SurfaceError>;
}

/// What a process that died left unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// A run: the draft is runnable again.
    Run,
    /// The posting of an answer: the query ran, but the thread may lack some of it.
    Answer,
}

/// A message querybot posted, as its platform finds it again (a Slack `ts`, a Discord id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef(pub String);

/// A file that goes into the conversation with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub title: String,
    pub bytes: Vec<u8>,
}

/// A platform call that failed; the platform's own error, boxed.
pub type SurfaceError = Box<dyn std::error::Error + Send + Sync>;

/// How one conversation is talked to, for one inbound event: the platform knows the channel,
/// the thread, the token and the person who acted.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Posts into the conversation.
    async fn post(&self, reply: Reply<'_>) -> Result<MessageRef, SurfaceError>;
    /// Replaces a message querybot posted.
    async fn update(&self, message: &MessageRef, reply: Reply<'_>) -> Result<(), SurfaceError>;
    /// Shows something to the person who acted only (or as near as the platform allows).
    async fn tell_privately(&self, reply: Reply<'_>) -> Result<(), SurfaceError>;
    /// Adds files to the conversation.
    async fn attach(&self, files: Vec<Attachment>) -> Result<(), SurfaceError>;
}
