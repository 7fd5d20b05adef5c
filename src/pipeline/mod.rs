//! The question-to-answer pipeline; knows nothing of chat platforms.

pub mod catalog;
pub mod examples;
