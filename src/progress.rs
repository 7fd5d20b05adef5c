//! Progress for a person at a terminal: one spinner line on stderr while the LLM and the
//! warehouse work, updated by notes from deep inside the pipeline (an LLM retry).
//!
//! Notes travel as `tracing` events with the target [`TARGET`], so the code that has
//! something to say knows nothing of terminals: `serve` logs them like any info event, and
//! the terminal commands show them on the spinner line instead of as log lines. Nothing is
//! drawn unless stderr is a terminal.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The `tracing` target of progress notes.
pub const TARGET: &str = "querybot::progress";

/// The spinner line, when one is shown.
static LINE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Shows `message` on a spinner line on stderr until [`finish`] (a no-op off a terminal).
pub fn start(message: &str) {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    if let Some(previous) = lock().replace(bar) {
        previous.finish_and_clear();
    }
}

/// Removes the spinner line, before the command prints its answer or asks a question.
pub fn finish() {
    if let Some(bar) = lock().take() {
        bar.finish_and_clear();
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<ProgressBar>> {
    LINE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `tracing` layer that puts progress notes on the spinner line.
pub struct NotesLayer;

impl<S: Subscriber> Layer<S> for NotesLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if let Some(bar) = lock().as_ref() {
            bar.set_message(message.0);
        }
    }
}

/// The `message` field of an event.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}
