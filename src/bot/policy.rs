//! What a role, a connection's allow list and the fair-use limits let a person do, checked
//! before the pipeline is asked. A refusal is one sentence saying what is missing and whom to
//! ask (or when to try again), kept in the audit record.

use std::time::Duration;

use chrono::Utc;

use super::{Bot, Failure, Person};
use crate::config::Role;
use crate::store::Draft;

/// What a person tried, for refusals and the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    Ask,
    Run,
    Edit,
}

impl Act {
    fn as_str(self) -> &'static str {
        match self {
            Act::Ask => "ask",
            Act::Run => "run",
            Act::Edit => "edit",
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);

impl Bot {
    /// Whether `person` may use `connection` for `act`, and is within their limits.
    pub(super) async fn permit(
        &self,
        act: Act,
        person: &Person,
        connection: &str,
        workspace: Option<&str>,
        draft: Option<&Draft>,
    ) -> Result<(), Failure> {
        let contact = self.access.contact();
        if !self.access.may_use(connection, person) {
            let why = format!(
                "The `{connection}` connection is open only to the people and channels it \
                 lists; ask {contact} for access."
            );
            return Err(self.refuse(act, person, connection, why).await);
        }
        let role = self.access.role(person);
        match act {
            Act::Edit if role < Role::Analyst => {
                let why = format!(
                    "Editing SQL needs the analyst role, and you are a {role}; ask {contact} if \
                     you need it."
                );
                return Err(self.refuse(act, person, connection, why).await);
            }
            Act::Run if role < Role::Analyst => {
                let verified = match draft {
                    Some(draft) => self
                        .pipeline
                        .is_verified(&draft.connection, &draft.sql)
                        .await
                        .map_err(|e| self.failure(&e.into()))?,
                    None => false,
                };
                if !verified {
                    let why = format!(
                        "As a {role} you can run verified queries only, and this one is not \
                         verified yet; ask an analyst to run it, or ask {contact} for the \
                         analyst role."
                    );
                    return Err(self.refuse(act, person, connection, why).await);
                }
            }
            _ => {}
        }
        if role == Role::Admin && !self.limits.limit_admins {
            return Ok(());
        }
        self.within_limits(act, person, connection, workspace).await
    }

    async fn within_limits(
        &self,
        act: Act,
        person: &Person,
        connection: &str,
        workspace: Option<&str>,
    ) -> Result<(), Failure> {
        let limits = self.limits;
        let store = self.pipeline.store();
        let (per_person, what) = match act {
            Act::Ask => (limits.questions_per_hour, "questions"),
            Act::Run => (limits.runs_per_hour, "runs"),
            Act::Edit => return Ok(()),
        };
        if act == Act::Ask && limits.tokens_per_day > 0 {
            let midnight = Utc::now()
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .unwrap_or_else(Utc::now);
            let spent = store
                .tokens_since(connection, midnight)
                .await
                .map_err(|e| self.failure(&e.into()))?;
            if spent >= limits.tokens_per_day {
                let resets = (midnight + chrono::Duration::days(1) - Utc::now())
                    .to_std()
                    .unwrap_or_default();
                let why = format!(
                    "The `{connection}` connection has used its LLM budget for today; questions \
                     work again in {} (at midnight UTC).",
                    crate::present::words::wait(resets)
                );
                return Err(self.refuse(act, person, connection, why).await);
            }
        }
        if let Some(workspace) = workspace.filter(|_| act == Act::Ask) {
            let limit = limits.workspace_questions_per_hour;
            if limit > 0 {
                let key = format!("questions:workspace:{workspace}");
                if let Some(wait) = self.take(&key, limit).await? {
                    let why = format!(
                        "This workspace has asked {limit} questions in the last hour, its limit; \
                         you can ask again in {}.",
                        crate::present::words::wait(wait)
                    );
                    return Err(self.refuse(act, person, connection, why).await);
                }
            }
        }
        if per_person > 0 {
            let key = format!("{what}:{}", person.id);
            if let Some(wait) = self.take(&key, per_person).await? {
                let (done, one, many, again) = match act {
                    Act::Ask => ("asked", "question", "questions", "ask"),
                    _ => ("run", "query", "queries", "run one"),
                };
                let n = u64::from(per_person);
                let why = format!(
                    "You've {done} {n} {} in the last hour; you can {again} again in {}.",
                    crate::present::words::plural(n, one, many),
                    crate::present::words::wait(wait)
                );
                return Err(self.refuse(act, person, connection, why).await);
            }
        }
        Ok(())
    }

    async fn take(&self, key: &str, limit: u32) -> Result<Option<Duration>, Failure> {
        self.pipeline
            .store()
            .take_slot(key, limit, HOUR)
            .await
            .map_err(|e| self.failure(&e.into()))
    }

    /// A refusal for the person alone, recorded in the audit.
    async fn refuse(&self, act: Act, person: &Person, connection: &str, why: String) -> Failure {
        self.audit(
            person,
            act.as_str(),
            Some(connection),
            "refused",
            Some(&why),
        )
        .await;
        ::metrics::counter!("querybot_refusals_total", "action" => act.as_str()).increment(1);
        tracing::info!(person = %person.id, action = act.as_str(), %connection, reason = %why, "refused");
        Failure {
            user_message: why.clone(),
            detail: why,
            private: true,
            reference: String::new(),
        }
    }
}
