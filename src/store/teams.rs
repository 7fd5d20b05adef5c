//! What teams need from the store: limits counted across replicas, the LLM tokens a
//! connection spent, and the audit record of refusals and admin actions.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, UserId, parse_time, timestamp};

impl Store {
    /// Takes one use under `key` (`questions:slack:U1`) when fewer than `limit` were taken in
    /// the last `window`; otherwise returns how long until the oldest of them leaves the
    /// window. Replicas sharing the store count together: taking a slot locks the key's row
    /// until the use is recorded, so exactly `limit` are ever taken.
    pub async fn take_slot(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        let now = Utc::now();
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(1));
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO limit_keys (key) VALUES ($1) \
             ON CONFLICT (key) DO UPDATE SET key = excluded.key",
        )
        .bind(key)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT count(*) AS taken, min(at) AS oldest FROM usage WHERE key = $1 AND at > $2",
        )
        .bind(key)
        .bind(timestamp(now - window))
        .fetch_one(&mut *tx)
        .await?;
        let taken: i64 = row.try_get("taken")?;
        if taken >= i64::from(limit) {
            tx.rollback().await?;
            let oldest = match row.try_get::<Option<String>, _>("oldest")? {
                Some(_) => parse_time(&row, "oldest")?,
                None => now,
            };
            let free_at = oldest + window;
            // A use another replica recorded after `now` was read must not make it longer.
            let wait = (free_at - now).min(window);
            return Ok(Some(wait.to_std().unwrap_or_default()));
        }
        sqlx::query("INSERT INTO usage (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Forgets uses older than `cutoff` (no window is longer than a day).
    pub async fn forget_usage(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM usage WHERE at < $1")
            .bind(timestamp(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// LLM tokens spent drafting for `connection` since `since`.
    pub async fn tokens_since(
        &self,
        connection: &str,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT) AS spent \
             FROM drafts WHERE connection = $1 AND created_at >= $2",
        )
        .bind(connection)
        .bind(timestamp(since))
        .fetch_one(&self.pool)
        .await?;
        let spent: i64 = row.try_get("spent")?;
        Ok(u64::try_from(spent).unwrap_or_default())
    }

    /// Records a refusal or an admin action.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (id, at, person, action, connection, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        // Time-ordered ids keep entries of one millisecond in the order they were made.
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(timestamp(Utc::now()))
        .bind(entry.person.as_str())
        .bind(&entry.action)
        .bind(entry.connection.as_deref())
        .bind(&entry.outcome)
        .bind(entry.detail.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Audit entries since `since`, oldest first.
    pub async fn audit_since(&self, since: DateTime<Utc>) -> Result<Vec<Audited>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, person, action, connection, outcome, detail FROM audit \
             WHERE at >= $1 ORDER BY at, id",
        )
        .bind(timestamp(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Audited {
                    at: parse_time(row, "at")?,
                    entry: AuditEntry {
                        person: UserId::new(row.try_get::<String, _>("person")?),
                        action: row.try_get("action")?,
                        connection: row.try_get("connection")?,
                        outcome: row.try_get("outcome")?,
                        detail: row.try_get("detail")?,
                    },
                })
            })
            .collect()
    }
}

/// A refusal or an admin action, as the audit keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub person: UserId,
    /// What was attempted: `ask`, `run`, `edit`, `admin refresh`, ...
    pub action: String,
    pub connection: Option<String>,
    /// `refused` or `done`.
    pub outcome: String,
    /// Why, in a sentence.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audited {
    pub at: DateTime<Utc>,
    pub entry: AuditEntry,
}

/// A verified query as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedQuery {
    pub id: String,
    pub connection: String,
    pub question: String,
    pub sql: String,
    pub verified_by: UserId,
    pub at: DateTime<Utc>,
}

/// One question in a person's history, with what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub draft: super::DraftId,
    pub author: UserId,
    pub connection: String,
    pub question: String,
    pub sql: String,
    pub state: super::DraftState,
    pub at: DateTime<Utc>,
    /// Rows of its latest run, if it ran.
    pub row_count: Option<i64>,
}

/// LLM tokens one person spent on one connection in one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub day: String,
    pub person: UserId,
    pub connection: String,
    pub tokens: u64,
}

impl Store {
    /// A connection's verified queries, oldest first.
    pub async fn verified_queries(
        &self,
        connection: Option<&str>,
    ) -> Result<Vec<VerifiedQuery>, StoreError> {
        let columns = "id, connection, question, sql, promoted_by, created_at";
        let rows =
            match connection {
                Some(connection) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {columns} FROM examples WHERE connection = $1 ORDER BY created_at, id"
                )))
                .bind(connection)
                .fetch_all(&self.pool)
                .await?,
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {columns} FROM examples ORDER BY connection, created_at, id"
                    )))
                    .fetch_all(&self.pool)
                    .await?
                }
            };
        rows.iter()
            .map(|row| {
                Ok(VerifiedQuery {
                    id: row.try_get("id")?,
                    connection: row.try_get("connection")?,
                    question: row.try_get("question")?,
                    sql: row.try_get("sql")?,
                    verified_by: UserId::new(row.try_get::<String, _>("promoted_by")?),
                    at: parse_time(row, "created_at")?,
                })
            })
            .collect()
    }

    /// Removes a verified query; `false` when there was none with that id.
    pub async fn remove_verified_query(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM examples WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The last `limit` questions, newest first, of one person or of everyone, since `since`.
    pub async fn history(
        &self,
        author: Option<&UserId>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let select = "SELECT d.id, d.author, d.connection, d.question, d.sql, d.state, \
             d.created_at, (SELECT r.row_count FROM runs r WHERE r.draft_id = d.id \
             ORDER BY r.created_at DESC LIMIT 1) AS row_count FROM drafts d";
        let rows =
            match author {
                Some(author) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "{select} WHERE d.author = $1 AND d.created_at >= $2 \
                     ORDER BY d.created_at DESC, d.id LIMIT $3"
                    )))
                    .bind(author.as_str())
                    .bind(timestamp(since))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                }
                None => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{select} WHERE d.created_at >= $1 ORDER BY d.created_at DESC, d.id LIMIT $2"
                )))
                .bind(timestamp(since))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok(HistoryEntry {
                    draft: super::parse_column(row, "id")?,
                    author: UserId::new(row.try_get::<String, _>("author")?),
                    connection: row.try_get("connection")?,
                    question: row.try_get("question")?,
                    sql: row.try_get("sql")?,
                    state: state
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("draft state `{state}`")))?,
                    at: parse_time(row, "created_at")?,
                    row_count: row.try_get("row_count")?,
                })
            })
            .collect()
    }

    /// LLM tokens spent drafting since `since`, per day, person and connection.
    pub async fn token_use(&self, since: DateTime<Utc>) -> Result<Vec<TokenUse>, StoreError> {
        // Timestamps are RFC 3339 text: the first ten characters are the UTC day.
        let rows = sqlx::query(
            "SELECT substr(created_at, 1, 10) AS day, author, connection, \
             CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) AS tokens \
             FROM drafts WHERE created_at >= $1 \
             GROUP BY substr(created_at, 1, 10), author, connection \
             ORDER BY day, author, connection",
        )
        .bind(timestamp(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TokenUse {
                    day: row.try_get("day")?,
                    person: UserId::new(row.try_get::<String, _>("author")?),
                    connection: row.try_get("connection")?,
                    tokens: u64::try_from(row.try_get::<i64, _>("tokens")?).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Every run since `since`, oldest first, for the audit export.
    pub async fn runs_since(&self, since: DateTime<Utc>) -> Result<Vec<super::Run>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM runs WHERE created_at >= $1 ORDER BY created_at, id",
            super::RUN_COLUMNS
        )))
        .bind(timestamp(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::run_from_row).collect()
    }
}

/// What someone said of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub person: UserId,
    /// `good` or `bad`.
    pub verdict: String,
    pub comment: Option<String>,
}

impl Store {
    /// Records a thumbs-up (`good`) or a thumbs-down (`bad`, with what was wrong) on the
    /// answer to draft `draft`.
    pub async fn record_feedback(
        &self,
        draft: super::DraftId,
        feedback: &Feedback,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO feedback (id, draft_id, person, verdict, comment, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(draft.to_string())
        .bind(feedback.person.as_str())
        .bind(&feedback.verdict)
        .bind(feedback.comment.as_deref())
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What was said of draft `draft`'s answer, oldest first.
    pub async fn feedback(&self, draft: super::DraftId) -> Result<Vec<Feedback>, StoreError> {
        let rows = sqlx::query(
            "SELECT person, verdict, comment FROM feedback WHERE draft_id = $1 ORDER BY id",
        )
        .bind(draft.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Feedback {
                    person: UserId::new(row.try_get::<String, _>("person")?),
                    verdict: row.try_get("verdict")?,
                    comment: row.try_get("comment")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// How many drafts wait for Run, and how many are running, on every replica.
    pub async fn draft_counts(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting, \
             CAST(COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS BIGINT) AS running \
             FROM drafts",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("waiting")?, row.try_get("running")?))
    }
}
