//! A run's hold on its draft while it executes, and Stop.
//!
//! The process running a draft renews the draft's lease in the store every
//! [`RUN_RENEWAL`](crate::store::RUN_RENEWAL); the same renewal reads whether anyone pressed
//! Stop, on any replica. A Stop pressed on the process that runs the draft also stops it at
//! once, without waiting for the renewal.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::store::{DraftId, RUN_RENEWAL, Store, UserId};
use crate::warehouse::StopSignal;

/// One run in this process: its stop signal and who raised it.
#[derive(Debug, Clone, Default)]
pub(super) struct Stop {
    token: CancellationToken,
    by: Arc<OnceLock<UserId>>,
}

impl Stop {
    /// Raises the signal for `by`; the first to stop a run is the one who did.
    fn raise(&self, by: UserId) {
        let _ = self.by.set(by);
        self.token.cancel();
    }

    pub(super) fn signal(&self) -> StopSignal {
        StopSignal::new(self.token.clone())
    }

    /// Who stopped the run, once someone has.
    pub(super) fn stopped_by(&self) -> Option<&UserId> {
        self.by.get()
    }
}

/// The runs this process is executing, by draft.
#[derive(Debug, Clone, Default)]
pub(super) struct Runs(Arc<Mutex<HashMap<DraftId, Stop>>>);

impl Runs {
    /// Registers a run until the returned guard drops.
    pub(super) fn start(&self, id: DraftId) -> Registered {
        let stop = Stop::default();
        self.lock().insert(id, stop.clone());
        Registered {
            runs: self.clone(),
            id,
            stop,
        }
    }

    /// Stops the run of `id` if this process executes it; `false` if it does not.
    pub(super) fn stop(&self, id: DraftId, by: &UserId) -> bool {
        match self.lock().get(&id) {
            Some(stop) => {
                stop.raise(by.clone());
                true
            }
            None => false,
        }
    }

    /// Stops every run this process executes, for `by`.
    pub(super) fn stop_all(&self, by: &UserId) {
        for stop in self.lock().values() {
            stop.raise(by.clone());
        }
    }

    /// How many runs this process is executing.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DraftId, Stop>> {
        // The map holds no invariant a panic elsewhere could have broken halfway.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A run registered in [`Runs`]; dropping it removes the run.
pub(super) struct Registered {
    runs: Runs,
    id: DraftId,
    pub(super) stop: Stop,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.runs.lock().remove(&self.id);
    }
}

/// Renews the draft's lease for as long as it is polled, and raises `stop` when the store
/// says someone pressed Stop. Never completes: the run drops it when it ends.
pub(super) async fn hold(store: &Store, id: DraftId, stop: &Stop) -> Infallible {
    let mut every = tokio::time::interval(RUN_RENEWAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The claim itself took the first lease.
    every.tick().await;
    let mut lost = false;
    loop {
        every.tick().await;
        match store.renew_run(id).await {
            Ok(Some(Some(by))) => stop.raise(by),
            Ok(Some(None)) => lost = false,
            // Another process took the draft back (this one's lease had passed, say while
            // the store was away): the run finishes, but its record will not close the draft.
            Ok(None) if !lost => {
                lost = true;
                tracing::warn!(draft_id = %id, "the run's lease was lost; its draft was released");
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(draft_id = %id, %error, "cannot renew a run's lease"),
        }
    }
}
