//! A [`Receipt`] is the delivery a piece of work answers (a question, a click), kept in the
//! store's inbox until it is handled. The conversation flow uses it at the points that
//! matter for "nothing lost, nothing twice": a question's placeholder is noted (so handling
//! the delivery again after a crash reuses it instead of posting a second one), a run's
//! delivery is handled once the draft is claimed (the run's lease takes over from there), and
//! a question cut short by shutdown is released for another process instead of dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bot::{EventId, SurfaceState};

use super::MessageRef;

/// The delivery being handled, or none (the terminal, a replay of nothing).
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    kept: Option<Arc<Kept>>,
}

#[derive(Debug)]
struct Kept {
    state: SurfaceState,
    event: EventId,
    /// What an earlier attempt posted for it.
    earlier: Option<MessageRef>,
    /// Handled or released: nothing more to record.
    settled: AtomicBool,
}

impl Receipt {
    /// For work that answers no stored delivery.
    pub fn none() -> Receipt {
        Receipt::default()
    }

    /// For a delivery the store keeps; `earlier` is what a previous attempt posted.
    pub fn kept(state: SurfaceState, event: EventId, earlier: Option<MessageRef>) -> Receipt {
        Receipt {
            kept: Some(Arc::new(Kept {
                state,
                event,
                earlier,
                settled: AtomicBool::new(false),
            })),
        }
    }

    /// Whether the delivery is in the store, so another process could take it over.
    pub fn is_kept(&self) -> bool {
        self.kept.is_some()
    }

    /// The message an earlier attempt posted for this delivery (a question's placeholder).
    pub fn earlier(&self) -> Option<MessageRef> {
        self.kept.as_ref().and_then(|kept| kept.earlier.clone())
    }

    /// Notes the message posted for this delivery.
    pub async fn posted(&self, message: &MessageRef) {
        if let Some(kept) = &self.kept
            && let Err(error) = kept.state.note_message(&kept.event, &message.0).await
        {
            tracing::warn!(%error, event = kept.event.as_str(), "cannot note a delivery's message");
        }
    }

    /// Marks the delivery handled (once; later calls do nothing).
    pub async fn handled(&self) {
        let Some(kept) = self.settle() else { return };
        if let Err(error) = kept.state.handled(&kept.event).await {
            // Handled all the same; at worst another process handles it again, reusing what
            // this one posted.
            tracing::warn!(%error, event = kept.event.as_str(), "cannot mark a delivery handled");
        }
    }

    /// Hands the delivery to whichever process takes it first, unhandled.
    pub async fn release(&self) {
        let Some(kept) = self.settle() else { return };
        if let Err(error) = kept.state.release(&kept.event).await {
            tracing::warn!(%error, event = kept.event.as_str(), "cannot release a delivery");
        }
    }

    fn settle(&self) -> Option<&Kept> {
        let kept = self.kept.as_deref()?;
        (!kept.settled.swap(true, Ordering::AcqRel)).then_some(kept)
    }
}
