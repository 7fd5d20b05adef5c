//! The little of the store a surface may touch itself: the delivery inbox (dedupe, and
//! deliveries kept until handled), whether a thread is a conversation, and a platform's
//! installs. Everything about drafts and runs goes through
//! [`Bot`](super::Bot).

use chrono::{DateTime, Utc};

use crate::store::{ConversationKey, EventId, SlackInstallation, Store, StoreError};

pub use crate::store::Unhandled;

/// A narrow handle on the store for surfaces.
#[derive(Debug, Clone)]
pub struct SurfaceState {
    store: Store,
}

impl SurfaceState {
    pub fn new(store: Store) -> Self {
        SurfaceState { store }
    }

    /// Records a delivery; `false` when it was seen before (a retry, or another replica's).
    pub async fn first_sighting(&self, event: &EventId) -> Result<bool, StoreError> {
        self.store.first_sighting(event).await
    }

    /// Records a delivery with its payload before it is acknowledged, claimed by this
    /// process; `false` when it was seen before (and then nothing is recorded).
    pub async fn accept(&self, event: &EventId, payload: &str) -> Result<bool, StoreError> {
        self.store.accept_delivery(event, payload, Utc::now()).await
    }

    /// Marks a delivery handled; it will not be handled again.
    pub async fn handled(&self, event: &EventId) -> Result<(), StoreError> {
        self.store.delivery_handled(event).await
    }

    /// Hands a delivery this process cannot finish to whichever process takes it first.
    pub async fn release(&self, event: &EventId) -> Result<(), StoreError> {
        self.store.release_delivery(event, Utc::now()).await
    }

    /// Keeps the message posted for a delivery, for a second attempt to reuse.
    pub async fn note_message(&self, event: &EventId, message: &str) -> Result<(), StoreError> {
        self.store.note_delivery_message(event, message).await
    }

    /// Whether a thread already is a conversation, so a reply in it is a follow-up.
    pub async fn is_conversation(&self, key: &ConversationKey) -> Result<bool, StoreError> {
        Ok(self.store.find_conversation(key).await?.is_some())
    }

    pub async fn save_slack_installation(
        &self,
        install: &SlackInstallation,
    ) -> Result<(), StoreError> {
        self.store.save_slack_installation(install).await
    }

    pub async fn slack_installation(
        &self,
        team_id: &str,
    ) -> Result<Option<SlackInstallation>, StoreError> {
        self.store.slack_installation(team_id).await
    }

    /// Forgets a workspace's install; `true` when there was one.
    pub async fn delete_slack_installation(&self, team_id: &str) -> Result<bool, StoreError> {
        self.store.delete_slack_installation(team_id).await
    }

    /// Remembers an OAuth `state` until it comes back.
    pub async fn create_oauth_state(&self, state: &str) -> Result<(), StoreError> {
        self.store.create_oauth_state(state).await
    }

    /// Consumes an OAuth `state` created after `since`; `true` when it was valid.
    pub async fn take_oauth_state(
        &self,
        state: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store.take_oauth_state(state, since).await
    }
}
