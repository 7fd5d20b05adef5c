//! Chat surfaces: thin adapters that turn platform events into Bot calls and render replies.

pub mod console;
pub mod slack;
