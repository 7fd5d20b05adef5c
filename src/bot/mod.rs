//! The Bot: what every surface calls. It authorises, drives the pipeline, and returns
//! platform-neutral outcomes (a `Draft`, an `Answer`) or a [`Failure`]: one sentence for the
//! user and the full cause for the log, made in exactly one place ([`failure`]).

mod access;
mod admin;
mod admission;
mod policy;
mod state;

use crate::config::UsageLimits;
use crate::llm::LlmProvider;
use crate::pipeline::{Pipeline, PipelineError};
use crate::warehouse::WarehouseError;

pub use crate::config::{Identity, Role};
pub use access::{Access, Person};
pub use admission::Admission;
pub use state::{SurfaceState, Unhandled};
// The vocabulary surfaces speak: they import it from here, never from the layers below.
pub use crate::pipeline::{Answer, Ask, RunOptions, SavedChart};
pub use crate::store::{
    ConversationId, ConversationKey, Draft, DraftId, DraftState, EventId, HistoryEntry, InvalidId,
    Platform, RunId, Scan, SlackInstallation, StoreError, UserId,
};

/// What people are told while querybot's own database does not answer.
pub const STORE_DOWN: &str =
    "querybot's own database is not answering right now; try again in a minute.";

/// Renews the lease of an answer being posted, until dropped.
async fn hold_answer(store: &crate::store::Store, id: DraftId) -> std::convert::Infallible {
    loop {
        if let Err(error) = store.hold_answer(id).await {
            tracing::warn!(%error, draft_id = %id, "cannot hold an answer being posted");
        }
        tokio::time::sleep(crate::store::RUN_RENEWAL).await;
    }
}

/// Every place for a question is taken: said privately, with when to ask again.
fn busy(busy: admission::Busy) -> Failure {
    ::metrics::counter!("querybot_questions_busy_total").increment(1);
    let n = u64::try_from(busy.in_flight).unwrap_or(u64::MAX);
    let user_message = format!(
        "querybot is answering {} {} right now; please ask again in about {}.",
        crate::present::number::grouped(n),
        crate::present::words::plural(n, "question", "questions"),
        crate::present::words::wait(busy.retry_after)
    );
    tracing::warn!(
        in_flight = busy.in_flight,
        "a question refused: every place is taken"
    );
    Failure {
        detail: user_message.clone(),
        user_message,
        private: true,
        reference: String::new(),
    }
}

/// A failure as the user sees it, and as the logs keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One sentence: what happened and what to try.
    pub user_message: String,
    /// The full cause chain, for logs and records.
    pub detail: String,
    /// Only for the person who acted (not allowed; already run), not for everyone in the
    /// thread.
    pub private: bool,
    /// Quoted to the user so an operator can find the log line.
    pub reference: String,
}

/// Who may act on a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPermission {
    /// Only the person who asked (the default).
    Author,
    /// Anyone who can see the draft.
    Anyone,
}

/// A question someone asks on a surface.
#[derive(Debug, Clone)]
pub struct Question {
    /// The conversation it starts or continues.
    pub conversation: ConversationKey,
    pub by: Person,
    /// The warehouse connection the channel's questions go to.
    pub connection: String,
    pub text: String,
}

/// What a thumbs-up on an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// The question and SQL became a verified query.
    Verified,
    /// They were one already.
    AlreadyVerified,
    /// Recorded; only an analyst's or an admin's thumbs-up verifies.
    Noted,
}

/// How a run that was not a failure ended.
#[derive(Debug)]
pub enum Finished {
    Answered(Box<Answer>),
    /// Someone pressed Stop; `draft` is pending again, to be edited or run again.
    Stopped {
        by: UserId,
        draft: Draft,
    },
    /// The process stopped the run because it is shutting down; `draft` is pending again.
    Interrupted {
        draft: Draft,
    },
}

#[derive(Clone)]
pub struct Bot {
    pipeline: Pipeline,
    permission: RunPermission,
    access: Access,
    limits: UsageLimits,
    /// How many questions this process drafts at once.
    admissions: admission::Admissions,
    /// Cancelled when the process stops waiting for work in flight (its shutdown grace is
    /// over): questions and runs still going end and say so.
    stopping: tokio_util::sync::CancellationToken,
}

impl Bot {
    pub fn new(
        pipeline: Pipeline,
        permission: RunPermission,
        access: Access,
        limits: UsageLimits,
    ) -> Self {
        Bot {
            pipeline,
            permission,
            access,
            limits,
            admissions: admission::Admissions::new(crate::config::DEFAULT_QUESTIONS_IN_FLIGHT),
            stopping: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// This bot, drafting at most `questions` at once.
    pub fn admitting(self, questions: usize) -> Self {
        Bot {
            admissions: admission::Admissions::new(questions),
            ..self
        }
    }

    /// A place for one more question among those this process drafts at once (hold it until
    /// the draft is shown), or the private sentence saying when to ask again.
    pub fn admit(&self) -> Result<Admission, Failure> {
        self.admissions.admit().map_err(busy)
    }

    /// The refusal a question would get now, for a platform that can answer it before
    /// anything is stored or posted (a slash command's own response).
    pub fn busy(&self) -> Option<Failure> {
        self.admissions.full().map(busy)
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Cancelled once the process gives up on work in flight.
    pub fn stopping(&self) -> &tokio_util::sync::CancellationToken {
        &self.stopping
    }

    /// Gives up on work in flight because the process is stopping: questions end, and runs
    /// are stopped in their warehouses, each telling its conversation.
    pub fn shut_down(&self) {
        self.stopping.cancel();
        self.pipeline.interrupt_runs();
    }

    /// The thread of an earlier conversation, to continue it.
    pub async fn conversation_key(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationKey>, Failure> {
        self.pipeline
            .store()
            .conversation_key(id)
            .await
            .map_err(|e| self.failure(&e.into()))
    }

    /// The access rules, for surfaces that must look up what they name (Slack user groups).
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Drafts SQL for a question: a pending draft to confirm (Run / Edit / Cancel), written
    /// against what the asker's database role may read.
    pub async fn ask(&self, question: &Question) -> Result<Draft, Failure> {
        let workspace = format!(
            "{}:{}",
            question.conversation.platform.as_str(),
            question.conversation.workspace
        );
        self.permit(
            policy::Act::Ask,
            &question.by,
            &question.connection,
            Some(&workspace),
            None,
        )
        .await?;
        let ask = Ask {
            conversation: question.conversation.clone(),
            author: question.by.id.clone(),
            connection: question.connection.clone(),
            question: question.text.clone(),
            db_role: self.access.db_role(&question.connection, &question.by),
        };
        let drafted = self.pipeline.draft(&ask).await;
        if let Ok(draft) = &drafted {
            let tokens = draft.prompt_tokens.saturating_add(draft.completion_tokens);
            ::metrics::counter!(
                "querybot_draft_tokens_total",
                "connection" => draft.connection.clone(),
                "person" => draft.author.to_string()
            )
            .increment(u64::try_from(tokens).unwrap_or_default());
        }
        let outcome = if drafted.is_ok() { "drafted" } else { "failed" };
        let surface = ask.conversation.platform.as_str();
        ::metrics::counter!("querybot_questions_total", "surface" => surface, "outcome" => outcome)
            .increment(1);
        drafted.map_err(|e| self.failure(&e))
    }

    /// Runs a draft for `by`, if they may; a run someone stops is a failure that says so.
    pub async fn run(
        &self,
        id: DraftId,
        by: &Person,
        options: &RunOptions,
    ) -> Result<Answer, Failure> {
        let draft = self.start(id, by).await?;
        match self.finish(draft, by, options).await? {
            Finished::Answered(answer) => Ok(*answer),
            Finished::Stopped { by, .. } => Err(self.failure(&PipelineError::Stopped { by })),
            Finished::Interrupted { .. } => Err(self.failure(&PipelineError::Stopped {
                by: UserId::shutdown(),
            })),
        }
    }

    /// The first half of a run: checks `by` may run the draft and claims it (once, however
    /// many clicks), so a surface can show that it is running.
    pub async fn start(&self, id: DraftId, by: &Person) -> Result<Draft, Failure> {
        let draft = self.authorize(id, by).await?;
        // A second click on a draft already running says so, without using up a run.
        if draft.state != DraftState::Pending {
            return Err(self.failure(&PipelineError::NotPending(draft.state)));
        }
        self.permit(policy::Act::Run, by, &draft.connection, None, Some(&draft))
            .await?;
        self.pipeline
            .claim(id, &by.id)
            .await
            .map_err(|e| self.failure(&e))
    }

    /// The second half of a run: executes a draft [`Bot::start`] claimed, until it answers,
    /// fails, or someone stops it.
    pub async fn finish(
        &self,
        draft: Draft,
        by: &Person,
        options: &RunOptions,
    ) -> Result<Finished, Failure> {
        let id = draft.id;
        let db_role = self.access.db_role(&draft.connection, by);
        let ran = self
            .pipeline
            .run_claimed(draft, &by.id, db_role.as_deref(), options)
            .await;
        let outcome = match &ran {
            Ok(_) => "answered",
            Err(PipelineError::Stopped { .. }) => "stopped",
            Err(_) => "failed",
        };
        let surface = by.id.surface().to_owned();
        ::metrics::counter!("querybot_runs_total", "surface" => surface, "outcome" => outcome)
            .increment(1);
        match ran {
            Ok(answer) => Ok(Finished::Answered(Box::new(answer))),
            Err(PipelineError::Stopped { by }) => {
                let draft = self.load(id).await?;
                if by == UserId::shutdown() {
                    Ok(Finished::Interrupted { draft })
                } else {
                    Ok(Finished::Stopped { by, draft })
                }
            }
            Err(error) => Err(self.failure(&error)),
        }
    }

    /// A thumbs-up on the answer to draft `id`: recorded, and from an analyst or an admin on
    /// an answered draft, its question and SQL become a verified query of the connection.
    pub async fn approve(&self, id: DraftId, by: &Person) -> Result<Approval, Failure> {
        let draft = self.draft_for_feedback(id, by).await?;
        let store = self.pipeline.store();
        let good = crate::store::Feedback {
            person: by.id.clone(),
            verdict: "good".to_owned(),
            comment: None,
        };
        store
            .record_feedback(id, &good)
            .await
            .map_err(|e| self.failure(&e.into()))?;
        if self.access.role(by) < Role::Analyst || draft.state != DraftState::Done {
            return Ok(Approval::Noted);
        }
        let promoted = self
            .pipeline
            .promote(&draft, &by.id)
            .await
            .map_err(|e| self.failure(&e.into()))?;
        if !promoted {
            return Ok(Approval::AlreadyVerified);
        }
        self.audit(
            by,
            "verify",
            Some(&draft.connection),
            "done",
            Some(&draft.sql),
        )
        .await;
        Ok(Approval::Verified)
    }

    /// A thumbs-down on the answer to draft `id`, with what was wrong.
    pub async fn complain(&self, id: DraftId, by: &Person, comment: &str) -> Result<(), Failure> {
        self.draft_for_feedback(id, by).await?;
        let bad = crate::store::Feedback {
            person: by.id.clone(),
            verdict: "bad".to_owned(),
            comment: Some(crate::present::words::cut(comment.trim(), 2_000))
                .filter(|c| !c.is_empty()),
        };
        self.pipeline
            .store()
            .record_feedback(id, &bad)
            .await
            .map_err(|e| self.failure(&e.into()))
    }

    /// The draft an answer came from, if `by` may use its connection (and so say what they
    /// think of the answer).
    pub async fn draft_for_feedback(&self, id: DraftId, by: &Person) -> Result<Draft, Failure> {
        let draft = self.load(id).await?;
        if !self.access.may_use(&draft.connection, by) {
            return Err(Failure {
                user_message: format!(
                    "The `{}` connection is open only to the people and channels it lists.",
                    draft.connection
                ),
                detail: format!("{} may not use {}", by.id, draft.connection),
                private: true,
                reference: String::new(),
            });
        }
        Ok(draft)
    }

    /// Moves a conversation drafted under a provisional key to the thread its placeholder
    /// started.
    pub async fn move_conversation(
        &self,
        from: &ConversationKey,
        to: &ConversationKey,
    ) -> Result<(), Failure> {
        self.pipeline
            .store()
            .move_conversation(from, to)
            .await
            .map_err(|e| self.failure(&e.into()))
    }

    /// Remembers the message that shows a draft, so that it can be updated without an
    /// inbound event (when a run whose process died is taken back).
    pub async fn remember_message(&self, id: DraftId, message: &str) -> Result<(), Failure> {
        self.pipeline
            .store()
            .set_draft_message(id, message)
            .await
            .map_err(|e| self.failure(&e.into()))
    }

    /// Holds the draft while its answer is posted: its lease is renewed until `posting`
    /// completes, so that a process dying part way leaves the answer for another replica to
    /// account for (see [`crate::store::Store::recover_undelivered_answers`]), then released.
    pub async fn posting_answer<T>(&self, id: DraftId, posting: impl Future<Output = T>) -> T {
        let store = self.pipeline.store();
        let posted = tokio::select! {
            posted = posting => posted,
            never = hold_answer(store, id) => match never {},
        };
        if let Err(error) = store.answer_delivered(id).await {
            tracing::warn!(%error, draft_id = %id, "cannot release an answer once posted");
        }
        posted
    }

    /// Stop: asks whichever process runs the draft to cancel its query. The run itself then
    /// ends as [`Finished::Stopped`] and tells the conversation.
    pub async fn stop(&self, id: DraftId, by: &Person) -> Result<(), Failure> {
        self.authorize(id, by).await?;
        self.pipeline
            .request_stop(id, &by.id)
            .await
            .map_err(|e| self.failure(&e))
    }

    /// The draft, if `by` may act on it (run, edit, cancel).
    pub async fn draft_for(&self, id: DraftId, by: &Person) -> Result<Draft, Failure> {
        self.authorize(id, by).await
    }

    /// Replaces a draft's SQL; the failure (a guard rejection, say) is for the editor to show.
    pub async fn edit(&self, id: DraftId, by: &Person, sql: &str) -> Result<Draft, Failure> {
        let draft = self.authorize(id, by).await?;
        self.permit(policy::Act::Edit, by, &draft.connection, None, Some(&draft))
            .await?;
        let db_role = self.access.db_role(&draft.connection, by);
        self.pipeline
            .edit(id, sql, db_role.as_deref())
            .await
            .map_err(|e| self.failure(&e))
    }

    /// Cancels a pending draft; returns it as cancelled.
    pub async fn cancel(&self, id: DraftId, by: &Person) -> Result<Draft, Failure> {
        self.authorize(id, by).await?;
        let store = self.pipeline.store();
        let cancelled = store
            .cancel_draft(id)
            .await
            .map_err(|e| self.failure(&e.into()))?;
        let draft = self.load(id).await?;
        if cancelled {
            Ok(draft)
        } else {
            Err(self.failure(&PipelineError::NotPending(draft.state)))
        }
    }

    /// A draft by id, or the failure that says it is gone.
    async fn load(&self, id: DraftId) -> Result<Draft, Failure> {
        self.pipeline
            .store()
            .draft(id)
            .await
            .map_err(|e| self.failure(&e.into()))?
            .ok_or_else(|| self.failure(&PipelineError::DraftNotFound))
    }

    /// Records a refusal or an admin action; the action goes ahead even if the record fails.
    async fn audit(
        &self,
        by: &Person,
        action: &str,
        connection: Option<&str>,
        outcome: &str,
        detail: Option<&str>,
    ) {
        let entry = crate::store::AuditEntry {
            person: by.id.clone(),
            action: action.to_owned(),
            connection: connection.map(str::to_owned),
            outcome: outcome.to_owned(),
            detail: detail.map(str::to_owned),
        };
        if let Err(error) = self.pipeline.store().audit(&entry).await {
            tracing::warn!(%error, action, "cannot write the audit record");
        }
    }

    fn failure(&self, error: &PipelineError) -> Failure {
        failure(error, self.pipeline.llm())
    }

    async fn authorize(&self, id: DraftId, by: &Person) -> Result<Draft, Failure> {
        let by = &by.id;
        let draft = self.load(id).await?;
        if self.permission == RunPermission::Author && &draft.author != by {
            return Err(Failure {
                user_message: "Only the person who asked can run, edit or cancel this query; \
                               ask your own question to get a copy."
                    .to_owned(),
                detail: format!("{by} is not the author {} of draft {id}", draft.author),
                reference: id.to_string(),
                private: true,
            });
        }
        Ok(draft)
    }
}

/// The one place errors become words for users. Logs the full cause with the reference.
pub fn failure(error: &PipelineError, llm: &dyn LlmProvider) -> Failure {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let detail = error_chain(error);
    // querybot's own faults are warnings; the rest (a refused query, an LLM that is down) are
    // outcomes the person is told about, which a terminal need not repeat as a log line.
    if matches!(
        error,
        PipelineError::Store(_) | PipelineError::Present(_) | PipelineError::Output { .. }
    ) {
        tracing::warn!(%reference, error = %detail, "question failed");
    } else {
        tracing::info!(%reference, error = %detail, "question failed");
    }
    let user_message = match error {
        PipelineError::EmptyQuestion => {
            "Ask a question after the command, for example: how many orders per month in 2024?"
                .to_owned()
        }
        PipelineError::QuestionTooLong { limit } => {
            format!("That question is longer than {limit} characters; ask it more briefly.")
        }
        PipelineError::UnknownConnection(name) => format!(
            "There is no warehouse connection named `{name}`; ask an admin which connections exist."
        ),
        PipelineError::Unanswerable(why) => format!(
            "I can't answer that from the connected data ({}); try asking about the tables it has.",
            why.trim_end_matches('.')
        ),
        PipelineError::NoUsableSql { last_problem, .. } => format!(
            "I couldn't write a valid read-only query for that ({}); try rephrasing it or naming \
             the table you mean.",
            last_problem.trim_end_matches('.')
        ),
        PipelineError::Rejected(reason) => format!("{} Edit the SQL and try again.", reason.trim()),
        PipelineError::DraftNotFound => {
            "That query no longer exists; ask the question again.".to_owned()
        }
        PipelineError::NotPending(state) => match state {
            DraftState::Running => "That query is already running.".to_owned(),
            DraftState::Done | DraftState::Failed => {
                "That query has already been run; ask again to run it once more.".to_owned()
            }
            DraftState::Cancelled => {
                "That query was cancelled; ask again if you need it.".to_owned()
            }
            DraftState::Expired => "That query expired; ask the question again.".to_owned(),
            DraftState::Pending => "That query is waiting for confirmation.".to_owned(),
        },
        PipelineError::Stopped { .. } => {
            "The query was stopped before it finished; press Run to run it again.".to_owned()
        }
        PipelineError::NotRunning(DraftState::Pending) => {
            "That query is not running; it has already stopped.".to_owned()
        }
        PipelineError::NotRunning(_) => "That query has already finished.".to_owned(),
        PipelineError::Llm(error) => error.user_message(llm.name(), llm.base_url()),
        PipelineError::Warehouse(error)
        | PipelineError::Catalog(crate::pipeline::catalog::CatalogError::Warehouse(error)) => {
            warehouse_message(error)
        }
        PipelineError::Store(store) if store_unreachable(store) => STORE_DOWN.to_owned(),
        PipelineError::Catalog(_)
        | PipelineError::Store(_)
        | PipelineError::Present(_)
        | PipelineError::Output { .. } => {
            format!(
                "Something went wrong on querybot's side (reference {reference}); please try again."
            )
        }
    };
    Failure {
        user_message,
        detail,
        reference,
        private: matches!(
            error,
            PipelineError::NotPending(_)
                | PipelineError::NotRunning(_)
                | PipelineError::DraftNotFound
        ),
    }
}

/// Whether the store failed because it could not be reached (restarting, network), which
/// passes by itself, rather than because of a query.
fn store_unreachable(error: &StoreError) -> bool {
    match error {
        StoreError::Connect { .. } => true,
        StoreError::Query(error) => matches!(
            error,
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
        ),
        _ => false,
    }
}

fn warehouse_message(error: &WarehouseError) -> String {
    match error {
        WarehouseError::Timeout { limit } => format!(
            "The query ran longer than {} and was stopped; try a narrower question, such as a \
             shorter date range or a total instead of every row.",
            seconds(limit.as_secs())
        ),
        WarehouseError::Stopped => "The query was stopped before it finished.".to_owned(),
        WarehouseError::Role { role, .. } => format!(
            "Your queries here run as the database role `{role}`, which the warehouse refused; \
             ask an admin to check querybot's db_roles for this connection."
        ),
        WarehouseError::Rejected {
            message,
            data_error,
        } => format!(
            "The warehouse refused the query ({}); edit the SQL or rephrase the question.",
            crate::warehouse::shown_rejection(message, *data_error).trim_end_matches('.')
        ),
        WarehouseError::Connect { connection, .. }
        | WarehouseError::Unreachable { connection, .. }
        | WarehouseError::Unusable { connection, .. } => {
            format!(
                "The warehouse `{connection}` can't be reached right now; try again later or ask \
                 an admin to check it."
            )
        }
        WarehouseError::Driver(_) | WarehouseError::Sink(_) | WarehouseError::Protocol { .. } => {
            "The query failed while reading its result; try again.".to_owned()
        }
    }
}

fn seconds(n: u64) -> String {
    if n == 1 {
        "1 second".to_owned()
    } else {
        format!("{n} seconds")
    }
}

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: PipelineError) -> String {
        let config = crate::config::Config::from_env(&std::collections::HashMap::new())
            .expect("defaults load");
        failure(&error, crate::llm::connect(&config.llm).as_ref()).user_message
    }

    #[test]
    fn an_unreachable_store_is_temporary_and_a_broken_query_is_ours() {
        let down = message(PipelineError::Store(StoreError::Query(
            sqlx::Error::PoolTimedOut,
        )));
        assert_eq!(
            down,
            "querybot's own database is not answering right now; try again in a minute."
        );
        let broken = message(PipelineError::Store(StoreError::Corrupt("x".into())));
        assert!(
            broken.starts_with("Something went wrong on querybot's side"),
            "{broken}"
        );
    }
}
