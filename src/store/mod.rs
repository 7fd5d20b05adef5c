//! The bot's own state: conversations and turns, drafts, runs, event dedupe, catalog cache.
//!
//! One implementation serves both backends through sqlx's `Any` driver: every query here is
//! written in the SQL that PostgreSQL and SQLite share (`$N` placeholders, `RETURNING`,
//! `ON CONFLICT`), values are limited to text and integers (flags are 0/1), and timestamps are
//! fixed-width UTC text. Schema changes live in `migrations/{postgres,sqlite}`, embedded in
//! the binary. Every write that touches more than one row runs in one transaction.

mod checkpoint;
mod deliveries;
mod model;
mod teams;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Row, SqlSafeStr};

pub use deliveries::{
    DELIVERY_ATTEMPTS, DELIVERY_LEASE, DELIVERY_RENEWAL, THIS_PROCESS, Unhandled,
};
pub use model::{
    ConversationId, ConversationKey, Draft, DraftId, DraftState, EventId, InvalidId, NewDraft,
    NewRun, Platform, Run, RunId, Scan, Turn, UserId, Verified,
};
pub use teams::{AuditEntry, Audited, Feedback, HistoryEntry, TokenUse, VerifiedQuery};

use crate::catalog::Catalog;
use crate::config::SecretUrl;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach the store at {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot open the store file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("store query failed")]
    Query(#[from] sqlx::Error),
    #[error("store migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store holds a value querybot cannot read: {0}")]
    Corrupt(String),
}

/// Which database holds the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The bot's persistent state, shared by every surface and replica.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// A SQLite file store's WAL checkpoints, while any clone of the store lives.
    _checkpoints: Option<Arc<checkpoint::Checkpointer>>,
}

/// How long a claim on a running draft holds without renewal. Its runner renews it every
/// [`RUN_RENEWAL`]; a lease left to pass means the runner's process is gone.
pub const RUN_LEASE: std::time::Duration = std::time::Duration::from_secs(20);
/// How often a runner renews its lease and looks for a Stop.
pub const RUN_RENEWAL: std::time::Duration = std::time::Duration::from_secs(1);

/// What the run record of a run taken back from a gone process says.
pub const INTERRUPTED: &str = "interrupted: the process running it stopped before it finished";

fn lease() -> chrono::Duration {
    chrono::Duration::from_std(RUN_LEASE).unwrap_or(chrono::Duration::seconds(20))
}

/// Connections to a SQLite store.
const SQLITE_CONNECTIONS: u32 = 1;

const DRAFT_COLUMNS: &str = "id, conversation_id, author, connection, question, sql, explanation, \
     estimated_rows, scan, repair_rounds, prompt_tokens, completion_tokens, state, claimed_by, \
     created_at, updated_at, verified, message";

impl Store {
    /// Connects to `sqlite://PATH` (creating the file and its folders) or `postgres://...`.
    pub async fn connect(url: &SecretUrl) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = match url.scheme() {
            "sqlite" => Backend::Sqlite,
            _ => Backend::Postgres,
        };
        let connect_error = |source| StoreError::Connect {
            url: url.to_string(),
            source,
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let mut sqlite_file = None;
        let connect_options = if backend == Backend::Sqlite {
            // WAL lets readers go on while one writer commits; SQLite serializes writers.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    // In WAL mode NORMAL loses no commit when the process dies (only when the
                    // machine does), and a commit no longer waits for an fsync.
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(checkpoint::NO_AUTOMATIC_CHECKPOINT)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 5000")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
            // SQLite commits one writer at a time. Several connections would wait on its lock
            // in busy_timeout's sleeps (1, 2, 5 ms...), which became the tail of every
            // acknowledgement under load; one connection queues calls in the pool instead,
            // woken as soon as the connection is free. Every call is short (no fsync per
            // commit, no checkpoint inside one), so the queue moves quickly.
            options = options.max_connections(SQLITE_CONNECTIONS);
            let sqlite = SqliteConnectOptions::from_str(url.expose()).map_err(connect_error)?;
            prepare_sqlite_file(sqlite.get_filename())?;
            sqlite_file = Some(sqlite);
            AnyConnectOptions::from_str(&with_create_mode(url.expose())).map_err(connect_error)?
        } else {
            options = options.max_connections(10);
            AnyConnectOptions::from_str(url.expose()).map_err(connect_error)?
        };
        let pool = options
            .connect_with(connect_options)
            .await
            .map_err(connect_error)?;
        let checkpoints = match sqlite_file.filter(|s| !is_in_memory(s.get_filename())) {
            Some(sqlite) => Some(Arc::new(
                checkpoint::Checkpointer::start(sqlite)
                    .await
                    .map_err(connect_error)?,
            )),
            None => None,
        };
        Ok(Store {
            pool,
            backend,
            _checkpoints: checkpoints,
        })
    }

    /// Applies the embedded migrations for this backend; safe to run from several replicas.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator(self.backend).run(&self.pool).await?;
        Ok(())
    }

    /// Whether the store answers, for readiness checks.
    pub async fn check(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The conversation for a thread, created on first use.
    pub async fn conversation(&self, key: &ConversationKey) -> Result<ConversationId, StoreError> {
        // Insert-or-ignore then read: correct when two replicas see the thread's first message.
        sqlx::query(
            "INSERT INTO conversations (id, platform, workspace, channel, thread, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (platform, workspace, channel, thread) DO NOTHING",
        )
        .bind(ConversationId::new().to_string())
        .bind(key.platform.as_str())
        .bind(&key.workspace)
        .bind(&key.channel)
        .bind(&key.thread)
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        self.find_conversation(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a conversation vanished after insert".to_owned()))
    }

    /// Moves a conversation to another thread: one drafted under a provisional key while the
    /// message that starts its thread was being posted. Nothing happens when there is none.
    pub async fn move_conversation(
        &self,
        from: &ConversationKey,
        to: &ConversationKey,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET platform = $1, workspace = $2, channel = $3, thread = $4 \
             WHERE platform = $5 AND workspace = $6 AND channel = $7 AND thread = $8",
        )
        .bind(to.platform.as_str())
        .bind(&to.workspace)
        .bind(&to.channel)
        .bind(&to.thread)
        .bind(from.platform.as_str())
        .bind(&from.workspace)
        .bind(&from.channel)
        .bind(&from.thread)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The conversation of a thread, without creating one: is querybot part of this thread?
    pub async fn find_conversation(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<ConversationId>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM conversations \
             WHERE platform = $1 AND workspace = $2 AND channel = $3 AND thread = $4",
        )
        .bind(key.platform.as_str())
        .bind(&key.workspace)
        .bind(&key.channel)
        .bind(&key.thread)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| parse_column(&row, "id")).transpose()
    }

    /// The key of a known conversation, if it exists.
    pub async fn conversation_key(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationKey>, StoreError> {
        let row = sqlx::query(
            "SELECT platform, workspace, channel, thread FROM conversations WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ConversationKey {
                platform: parse_column(&row, "platform")?,
                workspace: row.try_get("workspace")?,
                channel: row.try_get("channel")?,
                thread: row.try_get("thread")?,
            })
        })
        .transpose()
    }

    /// Stores a pending draft and the turn that asked for it, together.
    pub async fn create_draft(&self, new: NewDraft) -> Result<Draft, StoreError> {
        let id = DraftId::new();
        let now = timestamp(Utc::now());
        let mut tx = self.pool.begin().await?;
        let insert = format!(
            "INSERT INTO drafts ({DRAFT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', NULL, $13, $13, \
             $14, NULL) \
             RETURNING {DRAFT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(id.to_string())
            .bind(new.conversation.to_string())
            .bind(new.author.as_str())
            .bind(&new.connection)
            .bind(&new.question)
            .bind(&new.sql)
            .bind(new.explanation.as_deref())
            .bind(new.estimated_rows)
            .bind(
                new.scan
                    .map(|scan| serde_json::to_string(&scan))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            )
            .bind(new.repair_rounds)
            .bind(new.prompt_tokens)
            .bind(new.completion_tokens)
            .bind(&now)
            .bind(verified_json(new.verified.as_ref())?)
            .fetch_one(&mut *tx)
            .await?;
        insert_turn(
            &mut tx,
            new.conversation,
            &new.question,
            Some(id),
            None,
            &now,
        )
        .await?;
        tx.commit().await?;
        draft_from_row(&row)
    }

    /// Records a question that produced no draft, with why, so the thread's history is whole.
    pub async fn record_failed_turn(
        &self,
        conversation: ConversationId,
        question: &str,
        failure: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = timestamp(Utc::now());
        insert_turn(&mut tx, conversation, question, None, Some(failure), &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The conversation's turns, oldest first, at most the last `limit`.
    pub async fn turns(
        &self,
        conversation: ConversationId,
        limit: i64,
    ) -> Result<Vec<Turn>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.question, t.draft_id, t.failure, t.created_at, d.sql, d.state \
             FROM turns t LEFT JOIN drafts d ON d.id = t.draft_id \
             WHERE t.conversation_id = $1 ORDER BY t.id DESC LIMIT $2",
        )
        .bind(conversation.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut turns = rows
            .iter()
            .map(|row| {
                Ok(Turn {
                    id: row.try_get("id")?,
                    question: row.try_get("question")?,
                    draft: parse_optional(row, "draft_id")?,
                    sql: row.try_get("sql")?,
                    state: parse_optional(row, "state")?,
                    failure: row.try_get("failure")?,
                    created_at: parse_time(row, "created_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        turns.reverse();
        Ok(turns)
    }

    pub async fn draft(&self, id: DraftId) -> Result<Option<Draft>, StoreError> {
        let select = format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(select))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    /// Moves a pending draft to running for `by`. Exactly one of any number of concurrent
    /// claims, from any number of processes, gets `Some`; the rest get `None`.
    /// The claim holds a lease of [`RUN_LEASE`], which the runner renews with
    /// [`Store::renew_run`].
    pub async fn claim_draft(&self, id: DraftId, by: &UserId) -> Result<Option<Draft>, StoreError> {
        let claim = format!(
            "UPDATE drafts SET state = 'running', claimed_by = $1, updated_at = $2, \
             lease_until = $3, stop_requested_by = NULL \
             WHERE id = $4 AND state = 'pending' RETURNING {DRAFT_COLUMNS}"
        );
        let now = Utc::now();
        let row = sqlx::query(sqlx::AssertSqlSafe(claim))
            .bind(by.as_str())
            .bind(timestamp(now))
            .bind(timestamp(now + lease()))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    /// Replaces a pending draft's SQL (an edit). Returns the draft, or `None` when it is no
    /// longer pending.
    pub async fn edit_draft(
        &self,
        id: DraftId,
        sql: &str,
        explanation: Option<&str>,
        verified: Option<&Verified>,
    ) -> Result<Option<Draft>, StoreError> {
        let edit = format!(
            "UPDATE drafts SET sql = $1, explanation = $2, estimated_rows = NULL, scan = NULL, \
             updated_at = $3, verified = $5 \
             WHERE id = $4 AND state = 'pending' RETURNING {DRAFT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(edit))
            .bind(sql)
            .bind(explanation)
            .bind(timestamp(Utc::now()))
            .bind(id.to_string())
            .bind(verified_json(verified)?)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    /// Renews a running draft's lease for another [`RUN_LEASE`]. Returns `None` when the draft
    /// is not running any more, else who pressed Stop, if anyone has.
    pub async fn renew_run(&self, id: DraftId) -> Result<Option<Option<UserId>>, StoreError> {
        let row = sqlx::query(
            "UPDATE drafts SET lease_until = $1 WHERE id = $2 AND state = 'running' \
             RETURNING stop_requested_by",
        )
        .bind(timestamp(Utc::now() + lease()))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let by: Option<String> = row.try_get("stop_requested_by")?;
            Ok(by.map(UserId::new))
        })
        .transpose()
    }

    /// Holds (or renews) the lease of a draft whose answer is being posted: a process that
    /// dies before [`Store::answer_delivered`] leaves it for any replica to notice. `false`
    /// when the draft is not done.
    pub async fn hold_answer(&self, id: DraftId) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE drafts SET lease_until = $1 WHERE id = $2 AND state = 'done'")
                .bind(timestamp(Utc::now() + lease()))
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The answer of a draft is posted: its lease ends.
    pub async fn answer_delivered(&self, id: DraftId) -> Result<(), StoreError> {
        sqlx::query("UPDATE drafts SET lease_until = NULL WHERE id = $1 AND state = 'done'")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes back answers whose posting lease passed before `now`: the process posting them
    /// died part way. Of several replicas, one takes each. Returns their drafts.
    pub async fn recover_undelivered_answers(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Draft>, StoreError> {
        let lapsed = sqlx::query(
            "SELECT id FROM drafts WHERE state = 'done' AND lease_until < $1 ORDER BY id",
        )
        .bind(timestamp(now))
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::new();
        for row in &lapsed {
            let id: DraftId = parse_column(row, "id")?;
            let released = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE drafts SET lease_until = NULL \
                 WHERE id = $1 AND state = 'done' AND lease_until < $2 RETURNING {DRAFT_COLUMNS}"
            )))
            .bind(id.to_string())
            .bind(timestamp(now))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(released) = released {
                taken.push(draft_from_row(&released)?);
            }
        }
        Ok(taken)
    }

    /// Asks whichever process runs a draft to stop it (it learns at its next
    /// [`Store::renew_run`]); `false` when the draft is not running. The first to ask is the
    /// one recorded.
    pub async fn request_stop(&self, id: DraftId, by: &UserId) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE drafts SET stop_requested_by = COALESCE(stop_requested_by, $1) \
             WHERE id = $2 AND state = 'running'",
        )
        .bind(by.as_str())
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Puts a claimed draft back to pending, for a run that could not finish (the process is
    /// stopping); `None` when it was not running.
    pub async fn release_draft(&self, id: DraftId) -> Result<Option<Draft>, StoreError> {
        let release = format!(
            "UPDATE drafts SET state = 'pending', claimed_by = NULL, lease_until = NULL, \
             stop_requested_by = NULL, updated_at = $1 \
             WHERE id = $2 AND state = 'running' RETURNING {DRAFT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(release))
            .bind(timestamp(Utc::now()))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    /// Remembers the message that shows a draft, as its platform finds it again.
    pub async fn set_draft_message(&self, id: DraftId, message: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE drafts SET message = $1 WHERE id = $2")
            .bind(message)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Cancels a pending draft; `false` when it was not pending any more.
    pub async fn cancel_draft(&self, id: DraftId) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE drafts SET state = 'cancelled', updated_at = $1 WHERE id = $2 AND state = 'pending'",
        )
        .bind(timestamp(Utc::now()))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Expires drafts left pending since before `cutoff`; returns how many.
    pub async fn expire_drafts(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE drafts SET state = 'expired', updated_at = $1 \
             WHERE state = 'pending' AND created_at < $2",
        )
        .bind(timestamp(Utc::now()))
        .bind(timestamp(cutoff))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Takes back runs whose lease passed before `now`: the process running them is gone
    /// (killed, crashed, cut off). Each draft is pending again, and its run is recorded as
    /// interrupted, in one transaction; of several replicas doing this at once, one takes
    /// each. Returns the drafts taken back.
    pub async fn recover_abandoned_runs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Draft>, StoreError> {
        // Runs claimed before leases existed have none: their last change is what is left.
        let unleased_before = timestamp(now - chrono::Duration::hours(1));
        let abandoned = sqlx::query(
            "SELECT id FROM drafts WHERE state = 'running' \
             AND (lease_until < $1 OR (lease_until IS NULL AND updated_at < $2)) ORDER BY id",
        )
        .bind(timestamp(now))
        .bind(&unleased_before)
        .fetch_all(&self.pool)
        .await?;
        let mut recovered = Vec::new();
        for row in &abandoned {
            let id: DraftId = parse_column(row, "id")?;
            let mut tx = self.pool.begin().await?;
            let before = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1 AND state = 'running' \
                 AND (lease_until < $2 OR (lease_until IS NULL AND updated_at < $3))"
            )))
            .bind(id.to_string())
            .bind(timestamp(now))
            .bind(&unleased_before)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before.as_ref().map(draft_from_row).transpose()? else {
                continue;
            };
            let release = format!(
                "UPDATE drafts SET state = 'pending', claimed_by = NULL, lease_until = NULL, \
                 stop_requested_by = NULL, updated_at = $1 \
                 WHERE id = $2 AND state = 'running' \
                 AND (lease_until < $1 OR (lease_until IS NULL AND updated_at < $3)) \
                 RETURNING {DRAFT_COLUMNS}"
            );
            let Some(released) = sqlx::query(sqlx::AssertSqlSafe(release))
                .bind(timestamp(now))
                .bind(id.to_string())
                .bind(&unleased_before)
                .fetch_optional(&mut *tx)
                .await?
            else {
                // Another replica took it back first.
                continue;
            };
            sqlx::query(
                "INSERT INTO runs (id, draft_id, requested_by, connection, sql, row_count, \
                 truncated, duration_ms, error, created_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, 0, 0, $6, $7)",
            )
            .bind(RunId::new().to_string())
            .bind(id.to_string())
            .bind(before.claimed_by.as_ref().map_or("unknown", UserId::as_str))
            .bind(&before.connection)
            .bind(&before.sql)
            .bind(INTERRUPTED)
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            recovered.push(draft_from_row(&released)?);
        }
        Ok(recovered)
    }

    /// Records an execution and, when it ran a claimed draft, closes that draft as done or
    /// failed, in one transaction. A run stopped on request leaves its draft pending, to be
    /// edited or run again.
    pub async fn record_run(&self, run: &NewRun) -> Result<RunId, StoreError> {
        let id = RunId::new();
        let now = timestamp(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO runs (id, draft_id, requested_by, connection, sql, row_count, truncated, \
             duration_ms, error, prompt_tokens, completion_tokens, created_at, stopped_by, \
             db_role) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id.to_string())
        .bind(run.draft.map(|d| d.to_string()))
        .bind(run.requested_by.as_str())
        .bind(&run.connection)
        .bind(&run.sql)
        .bind(run.row_count)
        .bind(i64::from(run.truncated))
        .bind(run.duration_ms)
        .bind(run.error.as_deref())
        .bind(run.prompt_tokens)
        .bind(run.completion_tokens)
        .bind(&now)
        .bind(run.stopped_by.as_ref().map(UserId::as_str))
        .bind(run.db_role.as_deref())
        .execute(&mut *tx)
        .await?;
        if let Some(draft) = run.draft {
            let state = if run.stopped_by.is_some() {
                DraftState::Pending
            } else if run.error.is_some() {
                DraftState::Failed
            } else {
                DraftState::Done
            };
            sqlx::query(
                "UPDATE drafts SET state = $1, updated_at = $2, lease_until = NULL, \
                 stop_requested_by = NULL, \
                 claimed_by = CASE WHEN $1 = 'pending' THEN NULL ELSE claimed_by END \
                 WHERE id = $3 AND state = 'running'",
            )
            .bind(state.as_str())
            .bind(&now)
            .bind(draft.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The most recent runs, newest first.
    pub async fn recent_runs(&self, limit: i64) -> Result<Vec<Run>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC, id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Notes an event id; `true` the first time it is seen anywhere, `false` for a retry.
    pub async fn first_sighting(&self, event: &EventId) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO processed_events (event_id, received_at) VALUES ($1, $2) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.as_str())
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Forgets event ids older than `cutoff` (platforms stop retrying within minutes).
    pub async fn forget_events(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM processed_events WHERE received_at < $1")
            .bind(timestamp(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// Adds a verified question and SQL pair for a connection's prompts.
    pub async fn promote_example(
        &self,
        connection: &str,
        question: &str,
        sql: &str,
        by: &UserId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO examples (id, connection, question, sql, promoted_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(connection)
        .bind(question)
        .bind(sql)
        .bind(by.as_str())
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The verified pairs promoted for a connection, oldest first.
    pub async fn examples(&self, connection: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT question, sql FROM examples WHERE connection = $1 ORDER BY created_at, id",
        )
        .bind(connection)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("question")?, row.try_get("sql")?)))
            .collect()
    }

    /// Replaces the cached catalog of a connection.
    /// Keeps a catalog read now; returns when, which is its version.
    pub async fn save_catalog(
        &self,
        connection: &str,
        catalog: &Catalog,
    ) -> Result<DateTime<Utc>, StoreError> {
        let json = serde_json::to_string(catalog)
            .map_err(|e| StoreError::Corrupt(format!("catalog does not serialize: {e}")))?;
        let now = timestamp(Utc::now());
        sqlx::query(
            "INSERT INTO catalogs (connection, catalog, refreshed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (connection) DO UPDATE SET catalog = $2, refreshed_at = $3",
        )
        .bind(connection)
        .bind(json)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        DateTime::parse_from_rfc3339(&now)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| StoreError::Corrupt(format!("refreshed_at: {e}")))
    }

    /// When a connection's cached catalog was read, without reading the catalog: its version.
    pub async fn catalog_version(
        &self,
        connection: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query("SELECT refreshed_at FROM catalogs WHERE connection = $1")
            .bind(connection)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| parse_time(&row, "refreshed_at")).transpose()
    }

    /// The cached catalog of a connection and when it was read, if any.
    pub async fn catalog(
        &self,
        connection: &str,
    ) -> Result<Option<(Catalog, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query("SELECT catalog, refreshed_at FROM catalogs WHERE connection = $1")
            .bind(connection)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let json: String = row.try_get("catalog")?;
        let catalog = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("cached catalog of `{connection}`: {e}")))?;
        Ok(Some((catalog, parse_time(&row, "refreshed_at")?)))
    }
}

/// A Slack workspace's installation; `bot_token` is as stored (encrypted by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackInstallation {
    pub team_id: String,
    pub enterprise_id: Option<String>,
    pub team_name: Option<String>,
    pub bot_user_id: String,
    pub bot_token: String,
    pub scope: String,
    pub app_id: Option<String>,
    pub installed_by: Option<String>,
}

impl Store {
    /// Stores (or replaces, on reinstall) a workspace's installation.
    pub async fn save_slack_installation(
        &self,
        install: &SlackInstallation,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO slack_installations (team_id, enterprise_id, team_name, bot_user_id, \
             bot_token, scope, app_id, installed_by, installed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (team_id) DO UPDATE SET enterprise_id = $2, team_name = $3, \
             bot_user_id = $4, bot_token = $5, scope = $6, app_id = $7, installed_by = $8, \
             installed_at = $9",
        )
        .bind(&install.team_id)
        .bind(install.enterprise_id.as_deref())
        .bind(install.team_name.as_deref())
        .bind(&install.bot_user_id)
        .bind(&install.bot_token)
        .bind(&install.scope)
        .bind(install.app_id.as_deref())
        .bind(install.installed_by.as_deref())
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn slack_installation(
        &self,
        team_id: &str,
    ) -> Result<Option<SlackInstallation>, StoreError> {
        let row = sqlx::query(
            "SELECT team_id, enterprise_id, team_name, bot_user_id, bot_token, scope, app_id, \
             installed_by FROM slack_installations WHERE team_id = $1",
        )
        .bind(team_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SlackInstallation {
                team_id: row.try_get("team_id")?,
                enterprise_id: row.try_get("enterprise_id")?,
                team_name: row.try_get("team_name")?,
                bot_user_id: row.try_get("bot_user_id")?,
                bot_token: row.try_get("bot_token")?,
                scope: row.try_get("scope")?,
                app_id: row.try_get("app_id")?,
                installed_by: row.try_get("installed_by")?,
            })
        })
        .transpose()
    }

    /// Forgets a workspace (uninstalled, or its tokens revoked); `true` if it was known.
    pub async fn delete_slack_installation(&self, team_id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM slack_installations WHERE team_id = $1")
            .bind(team_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Remembers an OAuth `state` handed to an installer.
    pub async fn create_oauth_state(&self, state: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO oauth_states (state, created_at) VALUES ($1, $2)")
            .bind(state)
            .bind(timestamp(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Uses up an OAuth `state`: `true` only once, and only if it was issued after `since`.
    pub async fn take_oauth_state(
        &self,
        state: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM oauth_states WHERE state = $1 AND created_at >= $2")
            .bind(state)
            .bind(timestamp(since))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

const RUN_COLUMNS: &str = "id, draft_id, requested_by, connection, sql, row_count, truncated, \
     duration_ms, error, prompt_tokens, completion_tokens, created_at, stopped_by, db_role";

fn run_from_row(row: &AnyRow) -> Result<Run, StoreError> {
    Ok(Run {
        id: parse_column(row, "id")?,
        record: NewRun {
            draft: parse_optional(row, "draft_id")?,
            requested_by: UserId::new(row.try_get::<String, _>("requested_by")?),
            connection: row.try_get("connection")?,
            sql: row.try_get("sql")?,
            row_count: row.try_get("row_count")?,
            truncated: row.try_get::<i64, _>("truncated")? != 0,
            duration_ms: row.try_get("duration_ms")?,
            error: row.try_get("error")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
            stopped_by: row
                .try_get::<Option<String>, _>("stopped_by")?
                .map(UserId::new),
            db_role: row.try_get("db_role")?,
        },
        created_at: parse_time(row, "created_at")?,
    })
}

/// The migrations for one backend, embedded so the binary needs no files beside it.
pub fn migrator(backend: Backend) -> Migrator {
    let scripts: [(i64, &str, &'static str); 9] = match backend {
        Backend::Postgres => [
            (
                1,
                "init",
                include_str!("../../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "slack installations",
                include_str!("../../migrations/postgres/0002_slack_installations.sql"),
            ),
            (
                3,
                "catalog caveats",
                include_str!("../../migrations/postgres/0003_catalog_caveats.sql"),
            ),
            (
                4,
                "draft scan",
                include_str!("../../migrations/postgres/0004_draft_scan.sql"),
            ),
            (
                5,
                "run leases",
                include_str!("../../migrations/postgres/0005_run_leases.sql"),
            ),
            (
                6,
                "teams",
                include_str!("../../migrations/postgres/0006_teams.sql"),
            ),
            (
                7,
                "feedback",
                include_str!("../../migrations/postgres/0007_feedback.sql"),
            ),
            (
                8,
                "draft message",
                include_str!("../../migrations/postgres/0008_draft_message.sql"),
            ),
            (
                9,
                "delivery inbox",
                include_str!("../../migrations/postgres/0009_delivery_inbox.sql"),
            ),
        ],
        Backend::Sqlite => [
            (
                1,
                "init",
                include_str!("../../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "slack installations",
                include_str!("../../migrations/sqlite/0002_slack_installations.sql"),
            ),
            (
                3,
                "catalog caveats",
                include_str!("../../migrations/sqlite/0003_catalog_caveats.sql"),
            ),
            (
                4,
                "draft scan",
                include_str!("../../migrations/sqlite/0004_draft_scan.sql"),
            ),
            (
                5,
                "run leases",
                include_str!("../../migrations/sqlite/0005_run_leases.sql"),
            ),
            (
                6,
                "teams",
                include_str!("../../migrations/sqlite/0006_teams.sql"),
            ),
            (
                7,
                "feedback",
                include_str!("../../migrations/sqlite/0007_feedback.sql"),
            ),
            (
                8,
                "draft message",
                include_str!("../../migrations/sqlite/0008_draft_message.sql"),
            ),
            (
                9,
                "delivery inbox",
                include_str!("../../migrations/sqlite/0009_delivery_inbox.sql"),
            ),
        ],
    };
    let migrations = scripts
        .into_iter()
        .map(|(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

async fn insert_turn(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation: ConversationId,
    question: &str,
    draft: Option<DraftId>,
    failure: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO turns (conversation_id, question, draft_id, failure, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(conversation.to_string())
    .bind(question)
    .bind(draft.map(|d| d.to_string()))
    .bind(failure)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn draft_from_row(row: &AnyRow) -> Result<Draft, StoreError> {
    Ok(Draft {
        id: parse_column(row, "id")?,
        conversation: parse_column(row, "conversation_id")?,
        author: UserId::new(row.try_get::<String, _>("author")?),
        connection: row.try_get("connection")?,
        question: row.try_get("question")?,
        sql: row.try_get("sql")?,
        explanation: row.try_get("explanation")?,
        estimated_rows: row.try_get("estimated_rows")?,
        scan: row
            .try_get::<Option<String>, _>("scan")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("a draft's scan: {e}")))?,
        repair_rounds: row.try_get("repair_rounds")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        state: parse_column(row, "state")?,
        claimed_by: row
            .try_get::<Option<String>, _>("claimed_by")?
            .map(UserId::new),
        created_at: parse_time(row, "created_at")?,
        updated_at: parse_time(row, "updated_at")?,
        verified: row
            .try_get::<Option<String>, _>("verified")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("a draft's verification: {e}")))?,
        message: row.try_get("message")?,
    })
}

fn verified_json(verified: Option<&Verified>) -> Result<Option<String>, StoreError> {
    verified
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_column<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{column}: {e}")))
}

fn parse_optional<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        t.parse()
            .map_err(|e: T::Err| StoreError::Corrupt(format!("{column}: {e}")))
    })
    .transpose()
}

fn parse_time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, StoreError> {
    let text: String = row.try_get(column)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Fixed-width UTC text, so comparing text compares time.
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The SQLite URL with `mode=rwc` (create the file if missing) unless it names a mode. The
/// URL is kept as written otherwise: sqlx reads `sqlite:rel/path`, `sqlite:///abs/path` and
/// `sqlite::memory:` itself, and printing its parsed options back as a URL loses some forms.
fn with_create_mode(url: &str) -> String {
    match url.split_once('?') {
        Some((_, query)) if query.split('&').any(|pair| pair.starts_with("mode=")) => {
            url.to_owned()
        }
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    }
}

/// Whether a SQLite store lives in memory (no file, no WAL).
fn is_in_memory(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.is_empty() || text.starts_with("file:sqlx-in-memory")
}

/// Creates a SQLite store's file and missing folders up front, so that a location the
/// process cannot write is named with its reason rather than SQLite's "unable to open".
fn prepare_sqlite_file(path: &Path) -> Result<(), StoreError> {
    if is_in_memory(path) {
        return Ok(());
    }
    let fail = |error: std::io::Error| StoreError::File {
        path: path.display().to_string(),
        reason: io_reason(&error),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| match error.kind() {
            // `create_dir_all` reports a file where a folder should be as "already exists".
            std::io::ErrorKind::AlreadyExists => fail(std::io::ErrorKind::NotADirectory.into()),
            _ => fail(error),
        })?;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(fail)?;
    Ok(())
}

/// An I/O error as the few words a person needs ("permission denied", "read-only file system").
fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => "read-only file system".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a folder".to_owned(),
        std::io::ErrorKind::NotADirectory => {
            "a part of the path is a file, not a folder".to_owned()
        }
        kind => kind.to_string(),
    }
}
