//! WAL checkpoints for a SQLite store, taken off the connection that writes.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses a thousand WAL pages:
//! that commit copies the pages back and syncs the database file while every other store
//! call waits behind it on the one pooled connection (under load, acknowledgements stalled
//! for hundreds of milliseconds). Here the pooled connection never checkpoints; a connection
//! of its own runs a passive checkpoint every second, which copies what no reader still
//! needs without taking the write lock, so writes go on meanwhile.

use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How often the WAL is copied back into the database file.
const EVERY: Duration = Duration::from_secs(1);

/// The pragma every pooled connection runs: no checkpoint inside a commit.
pub(super) const NO_AUTOMATIC_CHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 0";

/// Runs while held; the last clone of the store dropping it stops the checkpoints.
#[derive(Debug)]
pub(super) struct Checkpointer {
    _running: DropGuard,
}

impl Checkpointer {
    /// Opens the checkpoint connection to the store's (existing) file and starts the loop.
    pub(super) async fn start(options: SqliteConnectOptions) -> Result<Checkpointer, sqlx::Error> {
        let mut conn = options.create_if_missing(false).connect().await?;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    _ = tick.tick() => {}
                }
                if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(%error, "the SQLite store's WAL checkpoint failed");
                }
            }
            // Closing runs a last checkpoint if this is the file's last connection.
            let _ = sqlx::Connection::close(conn).await;
        });
        Ok(Checkpointer {
            _running: stop.drop_guard(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::Utc;
    use sqlx::Connection;
    use sqlx::sqlite::SqliteConnection;

    use crate::config::SecretUrl;
    use crate::store::{EventId, Store};

    /// Frames in the WAL since it last restarted, as a passive checkpoint reports them.
    async fn wal_frames(conn: &mut SqliteConnection) -> i64 {
        let (_busy, log, _done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut *conn)
            .await
            .expect("a checkpoint report");
        log
    }

    async fn write(store: &Store, from: usize, count: usize) {
        for i in from..from + count {
            let event = EventId::from_str(&format!("slack:E{i}")).expect("an event id");
            store
                .accept_delivery(&event, &"x".repeat(2_000), Utc::now())
                .await
                .expect("a write");
        }
    }

    #[tokio::test]
    async fn commits_leave_the_wal_to_the_background_checkpoint_which_keeps_it_short() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("store.sqlite");
        let url = SecretUrl::new(format!("sqlite://{}", path.display()));
        let store = Store::connect(&url).await.expect("the store opens");
        store.migrate().await.expect("migrations");

        // Commits never checkpoint by themselves: the WAL only grows while they come
        // faster than the next background checkpoint.
        let mut pooled = store.pool.acquire().await.expect("a pooled connection");
        let automatic: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *pooled)
            .await
            .expect("the pragma");
        assert_eq!(automatic, 0);
        drop(pooled);

        // 1,500 commits of about a page each would have crossed the automatic threshold
        // (1,000 pages); once the background checkpoint has copied them, the next commit
        // starts the WAL again from its beginning.
        write(&store, 0, 1_500).await;
        tokio::time::sleep(super::EVERY * 2 + std::time::Duration::from_millis(200)).await;
        write(&store, 1_500, 1).await;

        let mut own = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("a connection of the test's own");
        let frames = wal_frames(&mut own).await;
        assert!(
            frames < 20,
            "the WAL was not restarted after the background checkpoint: {frames} frames"
        );
        own.close().await.expect("closed");
    }
}
