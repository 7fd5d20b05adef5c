//! The delivery inbox: every delivery a platform will not send again (an event, a command, a
//! click) is stored with its payload before it is acknowledged, claimed by the process that
//! handles it for [`DELIVERY_LEASE`] (renewed while it works), and marked handled when done.
//! A delivery whose claim lapsed unhandled belonged to a process that died; any replica takes
//! it back, exactly one of them, and handles it again, at most [`DELIVERY_ATTEMPTS`] times.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{EventId, Store, StoreError, parse_column, timestamp};

/// How long a process's claim on a delivery holds without renewal.
pub const DELIVERY_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a process renews the claims on what it is handling, and looks for lapsed ones.
pub const DELIVERY_RENEWAL: std::time::Duration = std::time::Duration::from_secs(10);

/// How many times a delivery is handled before it is given up: one whose handling kills the
/// process each time must not kill every replica in turn.
pub const DELIVERY_ATTEMPTS: i64 = 3;

/// This process, as the owner of the deliveries it handles.
pub static THIS_PROCESS: LazyLock<String> =
    LazyLock::new(|| format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()));

/// A delivery taken back from a process that died before handling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhandled {
    pub event: EventId,
    /// The payload as the platform sent it (its surface knows how to read it).
    pub payload: String,
    /// What was already posted for it, if anything (a question's placeholder).
    pub message: Option<String>,
    /// Which time this is it is handled, from 2.
    pub attempt: i64,
}

impl Store {
    /// Records a delivery with its payload, claimed by this process; `false` when it was seen
    /// before (a retry, or another replica's), and then nothing is recorded.
    pub async fn accept_delivery(
        &self,
        event: &EventId,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO processed_events (event_id, received_at, payload, owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.as_str())
        .bind(timestamp(now))
        .bind(payload)
        .bind(THIS_PROCESS.as_str())
        .bind(timestamp(now + lease()))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks a delivery handled: it is not taken back again, and its payload is dropped.
    pub async fn delivery_handled(&self, event: &EventId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE processed_events SET payload = NULL, lease_until = NULL, message = NULL \
             WHERE event_id = $1",
        )
        .bind(event.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up this process's claim on a delivery it could not finish (it is shutting
    /// down), so that another replica, or the next process, takes it at once.
    pub async fn release_delivery(
        &self,
        event: &EventId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE processed_events SET owner = NULL, lease_until = $1 \
             WHERE event_id = $2 AND payload IS NOT NULL",
        )
        .bind(timestamp(now))
        .bind(event.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps what was posted for a delivery, so that handling it again reuses it.
    pub async fn note_delivery_message(
        &self,
        event: &EventId,
        message: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE processed_events SET message = $1 \
             WHERE event_id = $2 AND payload IS NOT NULL",
        )
        .bind(message)
        .bind(event.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Extends this process's claims on the deliveries it is still handling.
    pub async fn renew_deliveries(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE processed_events SET lease_until = $1 \
             WHERE owner = $2 AND payload IS NOT NULL",
        )
        .bind(timestamp(now + lease()))
        .bind(THIS_PROCESS.as_str())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Takes back the deliveries whose claim lapsed unhandled before `now`, for this process
    /// to handle again; of several replicas doing this at once, each delivery goes to one.
    /// Those handled [`DELIVERY_ATTEMPTS`] times already are given up, and returned in the
    /// second list (their payload is dropped, so that they are never taken again).
    /// Only deliveries of the `platforms` this process serves are taken (their ids start
    /// with the platform's name).
    pub async fn reclaim_deliveries(
        &self,
        now: DateTime<Utc>,
        platforms: &[&str],
    ) -> Result<(Vec<Unhandled>, Vec<EventId>), StoreError> {
        let lapsed = sqlx::query(
            "SELECT event_id FROM processed_events \
             WHERE payload IS NOT NULL AND lease_until < $1 ORDER BY received_at, event_id",
        )
        .bind(timestamp(now))
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::new();
        let mut given_up = Vec::new();
        for row in &lapsed {
            let event: EventId = parse_column(row, "event_id")?;
            if !platforms.contains(&event.platform()) {
                continue;
            }
            // The lapsed lease in the WHERE makes the claim exclusive: a second replica's
            // UPDATE finds the row renewed (PostgreSQL re-reads it after the first commits).
            let claimed = sqlx::query(
                "UPDATE processed_events SET owner = $1, lease_until = $2, \
                 attempts = attempts + 1 \
                 WHERE event_id = $3 AND payload IS NOT NULL AND lease_until < $4 \
                 RETURNING payload, message, attempts",
            )
            .bind(THIS_PROCESS.as_str())
            .bind(timestamp(now + lease()))
            .bind(event.as_str())
            .bind(timestamp(now))
            .fetch_optional(&self.pool)
            .await?;
            let Some(claimed) = claimed else {
                continue;
            };
            let attempt: i64 = claimed.try_get("attempts")?;
            if attempt > DELIVERY_ATTEMPTS {
                self.delivery_handled(&event).await?;
                given_up.push(event);
                continue;
            }
            taken.push(Unhandled {
                event,
                payload: claimed.try_get("payload")?,
                message: claimed.try_get("message")?,
                attempt,
            });
        }
        Ok((taken, given_up))
    }

    /// Deliveries stored and not yet handled, by any process (for status and tests).
    pub async fn unhandled_deliveries(&self) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT count(*) AS n FROM processed_events WHERE payload IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("n")?)
    }
}

fn lease() -> chrono::Duration {
    chrono::Duration::from_std(DELIVERY_LEASE).unwrap_or(chrono::Duration::seconds(30))
}
