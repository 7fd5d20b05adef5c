//! Backpressure: one process drafts at most so many questions at once. Each question waiting
//! on the LLM holds memory (its task, its prompt, a connection); past the bound the asker is
//! told at once to ask again, with how long drafting takes lately, instead of memory growing
//! with a backlog nobody sees.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Drafting time assumed before any question was drafted.
const FIRST_GUESS: Duration = Duration::from_secs(10);

/// The bound on questions drafting at once, and how long drafting takes lately.
#[derive(Debug, Clone)]
pub(super) struct Admissions {
    slots: Arc<Semaphore>,
    capacity: usize,
    /// An exponentially weighted average of drafting times, in milliseconds.
    average_ms: Arc<AtomicU64>,
}

/// A question's place among those drafting; given back when dropped.
#[derive(Debug)]
pub struct Admission {
    _slot: OwnedSemaphorePermit,
    started: Instant,
    average_ms: Arc<AtomicU64>,
}

/// Every place is taken: ask again after about `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Busy {
    pub(super) in_flight: usize,
    pub(super) retry_after: Duration,
}

impl Admissions {
    pub(super) fn new(capacity: usize) -> Admissions {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        Admissions {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            average_ms: Arc::new(AtomicU64::new(millis(FIRST_GUESS))),
        }
    }

    /// A place for one more question, or how long until places free up.
    pub(super) fn admit(&self) -> Result<Admission, Busy> {
        match self.slots.clone().try_acquire_owned() {
            Ok(slot) => Ok(Admission {
                _slot: slot,
                started: Instant::now(),
                average_ms: self.average_ms.clone(),
            }),
            Err(_) => Err(self.busy()),
        }
    }

    /// Whether every place is taken now (a hint; [`Admissions::admit`] decides).
    pub(super) fn full(&self) -> Option<Busy> {
        (self.slots.available_permits() == 0).then(|| self.busy())
    }

    /// Those drafting take about the average drafting time to finish: that is the wait.
    fn busy(&self) -> Busy {
        let average = Duration::from_millis(self.average_ms.load(Ordering::Relaxed));
        Busy {
            in_flight: self.capacity,
            retry_after: average.max(Duration::from_secs(5)),
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let took = millis(self.started.elapsed());
        // new = 7/8 old + 1/8 this one; a lost update between racing drops is harmless.
        let old = self.average_ms.load(Ordering::Relaxed);
        let new = old - old / 8 + took / 8;
        self.average_ms.store(new, Ordering::Relaxed);
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_questions_are_refused_until_one_finishes() {
        let admissions = Admissions::new(2);
        let first = admissions.admit().expect("a place");
        let _second = admissions.admit().expect("a place");
        let busy = admissions.admit().expect_err("full");
        assert_eq!(busy.in_flight, 2);
        assert_eq!(busy.retry_after, FIRST_GUESS);
        assert!(admissions.full().is_some());
        drop(first);
        assert!(admissions.full().is_none());
        let _third = admissions.admit().expect("a place again");
    }

    #[test]
    fn the_wait_follows_how_long_drafting_takes() {
        let admissions = Admissions::new(1);
        for _ in 0..40 {
            drop(admissions.admit().expect("a place"));
        }
        // Instant drafts: the wait falls to its floor.
        let busy = {
            let _held = admissions.admit().expect("a place");
            admissions.admit().expect_err("full")
        };
        assert_eq!(busy.retry_after, Duration::from_secs(5));
    }
}
