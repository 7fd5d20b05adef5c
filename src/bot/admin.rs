//! What a person may ask of querybot itself from chat: their history (and a Re-run of an
//! earlier query as a new draft), and, for admins, the bot's status, a catalog refresh and
//! removing a verified query. Admin actions and refusals are audited.

use super::{Bot, ConversationKey, Draft, DraftId, Failure, Person};
use crate::config::Role;
use crate::pipeline::{Ask, PipelineError};
use crate::store::HistoryEntry;

/// How many questions `/ask history` shows.
const HISTORY_LENGTH: i64 = 10;

impl Bot {
    /// The person's last questions, newest first.
    pub async fn history(&self, by: &Person) -> Result<Vec<HistoryEntry>, Failure> {
        self.pipeline
            .store()
            .history(
                Some(&by.id),
                chrono::DateTime::<chrono::Utc>::MIN_UTC,
                HISTORY_LENGTH,
            )
            .await
            .map_err(|e| self.failure(&e.into()))
    }

    /// Re-run: a new draft of an earlier draft's SQL (on its connection, for its question) in
    /// `conversation`, guarded again and waiting for Run as always.
    pub async fn rerun(
        &self,
        earlier: DraftId,
        conversation: ConversationKey,
        by: &Person,
    ) -> Result<Draft, Failure> {
        let old = self.authorize(earlier, by).await?;
        let workspace = format!(
            "{}:{}",
            conversation.platform.as_str(),
            conversation.workspace
        );
        self.permit(
            super::policy::Act::Ask,
            by,
            &old.connection,
            Some(&workspace),
            None,
        )
        .await?;
        let ask = Ask {
            conversation,
            author: by.id.clone(),
            connection: old.connection.clone(),
            question: old.question.clone(),
            db_role: self.access.db_role(&old.connection, by),
        };
        self.pipeline
            .redraft(&ask, &old.sql)
            .await
            .map_err(|e| self.failure(&e))
    }

    /// For admins: whether the LLM and each warehouse answer, and what is waiting and running.
    pub async fn status(&self, by: &Person) -> Result<String, Failure> {
        self.admin(by, "admin status", None).await?;
        let mut lines = Vec::new();
        let llm = self.pipeline.llm();
        lines.push(match llm.check().await {
            Ok(()) => format!("LLM {} ({}): answering", llm.name(), llm.model()),
            Err(error) => format!(
                "LLM {} ({}): not answering ({error})",
                llm.name(),
                llm.model()
            ),
        });
        for warehouse in self.pipeline.warehouses().iter() {
            lines.push(match warehouse.check().await {
                Ok(()) => format!("Warehouse `{}`: answering", warehouse.name()),
                Err(error) => format!(
                    "Warehouse `{}`: not answering ({})",
                    warehouse.name(),
                    super::error_chain(&error)
                ),
            });
        }
        let (waiting, running) = self
            .pipeline
            .store()
            .draft_counts()
            .await
            .map_err(|e| self.failure(&e.into()))?;
        lines.push(format!(
            "Drafts waiting for Run: {waiting} · runs in flight: {running} ({} on this replica)",
            self.pipeline.runs_in_flight()
        ));
        Ok(lines.join("\n"))
    }

    /// For admins: reads a connection's catalog again (the default's when `None`).
    pub async fn refresh(&self, by: &Person, connection: Option<&str>) -> Result<String, Failure> {
        let name = connection.unwrap_or(crate::config::DEFAULT_CONNECTION);
        self.admin(by, "admin refresh", Some(name)).await?;
        let warehouse = self
            .pipeline
            .warehouses()
            .get(name)
            .ok_or_else(|| self.failure(&PipelineError::UnknownConnection(name.to_owned())))?;
        let catalog =
            crate::pipeline::catalog::refresh(self.pipeline.store(), warehouse.as_ref(), None)
                .await
                .map_err(|e| self.failure(&e.into()))?;
        self.audit(by, "admin refresh", Some(name), "done", None)
            .await;
        Ok(format!(
            "Read the catalog of `{name}` again: {} tables and views.",
            catalog.tables.len()
        ))
    }

    /// For admins: removes a verified query (its id is in `querybot examples list`).
    pub async fn unverify(&self, by: &Person, id: &str) -> Result<String, Failure> {
        self.admin(by, "admin unverify", None).await?;
        let removed = self
            .pipeline
            .store()
            .remove_verified_query(id)
            .await
            .map_err(|e| self.failure(&e.into()))?;
        if !removed {
            return Err(Failure {
                user_message: format!(
                    "There is no verified query {id}; `querybot examples list` shows their ids."
                ),
                detail: format!("no verified query {id}"),
                private: true,
                reference: String::new(),
            });
        }
        self.audit(by, "admin unverify", None, "done", Some(id))
            .await;
        Ok(format!("Removed verified query {id}."))
    }

    /// Refuses, and audits, anyone but an admin.
    async fn admin(
        &self,
        by: &Person,
        action: &str,
        connection: Option<&str>,
    ) -> Result<(), Failure> {
        if self.access.role(by) == Role::Admin {
            return Ok(());
        }
        let why = format!(
            "`/ask {}` is for admins; ask {} if you need it.",
            action,
            self.access.contact()
        );
        self.audit(by, action, connection, "refused", Some(&why))
            .await;
        Err(Failure {
            user_message: why.clone(),
            detail: why,
            private: true,
            reference: String::new(),
        })
    }
}
