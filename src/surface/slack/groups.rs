//! Which of the user groups the access rules name a Slack user is in: read from Slack
//! (`usergroups.users.list`) and kept for a few minutes, so a busy channel costs one call per
//! group and workspace in that time, and a change in Slack holds within it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::api::Api;

/// How long a group's members are trusted.
const MEMBERS_TTL: Duration = Duration::from_secs(300);

type Members = Arc<HashSet<String>>;

#[derive(Default)]
pub(super) struct Groups {
    /// (workspace, group) -> when read, and the members.
    read: Mutex<HashMap<(String, String), (Instant, Members)>>,
}

impl Groups {
    /// The groups among `named` that `user` of workspace `team` belongs to. A group Slack
    /// will not list (a missing `usergroups:read` scope, say) counts as not theirs, and is
    /// logged.
    pub(super) async fn of(
        &self,
        api: &Api,
        token: &SecretString,
        team: &str,
        user: &str,
        named: &[String],
    ) -> Vec<String> {
        let mut theirs = Vec::new();
        for group in named {
            if let Some(members) = self.members(api, token, team, group).await
                && members.contains(user)
            {
                theirs.push(group.clone());
            }
        }
        theirs
    }

    async fn members(
        &self,
        api: &Api,
        token: &SecretString,
        team: &str,
        group: &str,
    ) -> Option<Members> {
        let key = (team.to_owned(), group.to_owned());
        if let Some((at, members)) = self.lock().get(&key)
            && at.elapsed() < MEMBERS_TTL
        {
            return Some(members.clone());
        }
        match api.group_members(token, group).await {
            Ok(users) => {
                let members: Members = Arc::new(users.into_iter().collect());
                self.lock().insert(key, (Instant::now(), members.clone()));
                Some(members)
            }
            Err(error) => {
                tracing::warn!(%error, group, "cannot read a Slack user group's members");
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (Instant, Members)>> {
        self.read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
