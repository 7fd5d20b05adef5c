//! The records the store keeps, their ids and states, independent of any backend.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a conversation happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Slack,
    Discord,
    Console,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Console => "console",
        }
    }
}

impl FromStr for Platform {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "slack" => Ok(Platform::Slack),
            "discord" => Ok(Platform::Discord),
            "console" => Ok(Platform::Console),
            _ => Err(InvalidId::new("platform", s)),
        }
    }
}

/// The one identity of a chat thread: a conversation is keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConversationKey {
    pub platform: Platform,
    /// Slack team, Discord guild, or the local host for the terminal.
    pub workspace: String,
    pub channel: String,
    /// The thread's root message id (or a generated id for terminal sessions).
    pub thread: String,
}

/// Text that failed to parse as an id or state.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what}: `{value}`")]
pub struct InvalidId {
    what: &'static str,
    value: String,
}

impl InvalidId {
    fn new(what: &'static str, value: &str) -> Self {
        // Cut what we echo back: ids come from outside and may be anything.
        InvalidId {
            what,
            value: value.chars().take(80).collect(),
        }
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                $name(Uuid::new_v4())
            }

            pub fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name).map_err(|_| InvalidId::new($what, s))
            }
        }
    };
}

uuid_id!(
    /// A conversation (one chat thread).
    ConversationId,
    "conversation id"
);
uuid_id!(
    /// A draft; the only thing buttons carry.
    DraftId,
    "draft id"
);
uuid_id!(
    /// One execution against a warehouse.
    RunId,
    "run id"
);

/// A platform's delivery id (Slack `event_id`, Discord interaction id), used for dedupe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The platform a delivery came from: ids start with its name (`slack:…`, `discord:…`).
    pub fn platform(&self) -> &str {
        self.0.split(':').next().unwrap_or_default()
    }
}

impl FromStr for EventId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
            return Err(InvalidId::new("event id", s));
        }
        Ok(EventId(s.to_owned()))
    }
}

/// Who asked or clicked, as `platform:workspace:user` or the local user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn new(id: impl Into<String>) -> Self {
        UserId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Who stops the runs a process still executes when it shuts down.
    pub fn shutdown() -> UserId {
        UserId::new("querybot:shutdown")
    }

    /// The person's id on their platform: the id's last part (`slack:T1:U1` -> `U1`).
    pub fn platform_user(&self) -> &str {
        self.0.rsplit(':').next().unwrap_or_default()
    }

    /// The surface the person acts from: the id's first part (`slack:T1:U1` -> `slack`).
    pub fn surface(&self) -> &str {
        self.0.split(':').next().unwrap_or_default()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a draft is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftState {
    /// Waiting for the asker to run, edit or cancel it.
    Pending,
    /// Claimed by one process and executing.
    Running,
    Done,
    Failed,
    Cancelled,
    /// Nobody acted on it in time.
    Expired,
}

impl DraftState {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Pending => "pending",
            DraftState::Running => "running",
            DraftState::Done => "done",
            DraftState::Failed => "failed",
            DraftState::Cancelled => "cancelled",
            DraftState::Expired => "expired",
        }
    }
}

impl FromStr for DraftState {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            DraftState::Pending,
            DraftState::Running,
            DraftState::Done,
            DraftState::Failed,
            DraftState::Cancelled,
            DraftState::Expired,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| InvalidId::new("draft state", s))
    }
}

/// What the pipeline proposes to run; becomes a pending [`Draft`].
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub conversation: ConversationId,
    pub author: UserId,
    pub connection: String,
    pub question: String,
    pub sql: String,
    pub explanation: Option<String>,
    pub estimated_rows: Option<i64>,
    pub scan: Option<Scan>,
    pub repair_rounds: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub verified: Option<Verified>,
}

/// What a draft's plan says it will read, where the warehouse can tell without running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    pub bytes: u64,
    /// Micro-partitions read, of how many the tables have (Snowflake's pruning).
    pub partitions: Option<(u64, u64)>,
    /// More than the bot's `QUERYBOT_CONFIRM_ABOVE_BYTES`: the draft warns before Run.
    pub over_limit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub id: DraftId,
    pub conversation: ConversationId,
    pub author: UserId,
    pub connection: String,
    pub question: String,
    pub sql: String,
    pub explanation: Option<String>,
    pub estimated_rows: Option<i64>,
    pub scan: Option<Scan>,
    pub repair_rounds: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub state: DraftState,
    pub claimed_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the SQL is one of the connection's verified queries.
    pub verified: Option<Verified>,
    /// The message that shows the draft, as its platform finds it again.
    pub message: Option<String>,
}

/// That a draft's SQL is a verified query, and whose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// Who verified it in chat (a user id as stored); `None` for a pair from the
    /// connection's examples file.
    pub by: Option<String>,
    pub on: Option<chrono::NaiveDate>,
}

/// One question in a conversation, with the SQL its draft holds now (edits included).
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Increases with every turn stored; orders a conversation's turns.
    pub id: i64,
    pub question: String,
    pub draft: Option<DraftId>,
    pub sql: Option<String>,
    pub state: Option<DraftState>,
    /// Why no draft could be made, for turns that failed before one existed.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The outcome of one execution, for history and audit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub draft: Option<DraftId>,
    pub requested_by: UserId,
    pub connection: String,
    pub sql: String,
    pub row_count: Option<i64>,
    pub truncated: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    /// Who pressed Stop, for a run stopped on request.
    pub stopped_by: Option<UserId>,
    /// The database role the query ran as, where the connection maps people to roles.
    pub db_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub record: NewRun,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = DraftId::new();
        assert_eq!(id.to_string().parse::<DraftId>().ok(), Some(id));
        assert!("not-a-uuid".parse::<DraftId>().is_err());
    }

    #[test]
    fn states_round_trip_through_text() {
        for state in [
            "pending",
            "running",
            "done",
            "failed",
            "cancelled",
            "expired",
        ] {
            assert_eq!(
                state.parse::<DraftState>().map(DraftState::as_str).ok(),
                Some(state)
            );
        }
        assert!("PENDING".parse::<DraftState>().is_err());
    }

    #[test]
    fn event_ids_are_checked() {
        assert!("Ev0123ABC".parse::<EventId>().is_ok());
        assert!("".parse::<EventId>().is_err());
        assert!("a\nb".parse::<EventId>().is_err());
        assert!("x".repeat(256).parse::<EventId>().is_err());
    }
}
