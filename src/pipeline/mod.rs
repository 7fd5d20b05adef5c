//! The question-to-answer pipeline: drafting SQL with repairs, running it, presenting the
//! result. It knows nothing of chat platforms; surfaces reach it through `bot`.

pub mod catalog;
mod draft;
pub mod examples;
mod lease;
pub mod linking;
pub mod prompt;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use run::{Answer, RunOptions, SavedChart};

use crate::catalog::Catalog;
use crate::config::{Config, QueryLimits, ViewsWithoutBarrier};
use crate::guard::{self, GuardedSql, Verdict};
use crate::llm::{LlmError, LlmProvider};
use crate::present::PresentError;
use crate::store::{ConversationKey, Draft, DraftState, Store, StoreError, UserId, Verified};
use crate::warehouse::{Connections, Warehouse, WarehouseError};

/// How long a cached catalog is trusted before it is read again.
const CATALOG_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// A question to draft SQL for.
#[derive(Debug, Clone)]
pub struct Ask {
    pub conversation: ConversationKey,
    pub author: UserId,
    pub connection: String,
    pub question: String,
    /// The database role the author's queries run as (`None`: the connection's own); the
    /// catalog the model sees and the plan are that role's.
    pub db_role: Option<String>,
}

/// The pipeline's settings, taken from the configuration once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: QueryLimits,
    pub repair_rounds: u32,
    pub summaries: bool,
    pub output_dir: PathBuf,
    pub catalog_max_age: Duration,
    pub views_without_barrier: ViewsWithoutBarrier,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Settings {
            limits: config.limits,
            repair_rounds: config.pipeline.repair_rounds,
            summaries: config.pipeline.summaries,
            output_dir: config.pipeline.output_dir.clone(),
            catalog_max_age: CATALOG_MAX_AGE,
            views_without_barrier: config.pipeline.views_without_barrier,
        }
    }
}

/// Drafts and runs questions against the configured warehouses.
#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    warehouses: Connections,
    llm: Arc<dyn LlmProvider>,
    settings: Settings,
    /// Verified examples from each connection's examples file.
    examples: BTreeMap<String, Vec<examples::Example>>,
    /// The runs this process executes, for Stop.
    runs: lease::Runs,
    /// What this process built from each catalog (policy, linking index), per version.
    catalogs: Arc<catalog::Cache>,
    /// Leaves a question's own verified pair out of its examples (evaluating on them).
    hold_out: bool,
}

impl Pipeline {
    pub fn new(
        store: Store,
        warehouses: Connections,
        llm: Arc<dyn LlmProvider>,
        settings: Settings,
        examples: BTreeMap<String, Vec<examples::Example>>,
    ) -> Self {
        Pipeline {
            store,
            warehouses,
            llm,
            settings,
            examples,
            runs: lease::Runs::default(),
            catalogs: Arc::default(),
            hold_out: false,
        }
    }

    /// This pipeline, drafting each question without the verified pair of that very
    /// question among its examples: what evaluating on the verified queries needs.
    pub fn holding_out(&self) -> Pipeline {
        Pipeline {
            hold_out: true,
            ..self.clone()
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn llm(&self) -> &dyn LlmProvider {
        self.llm.as_ref()
    }

    pub fn warehouses(&self) -> &Connections {
        &self.warehouses
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `sql` is one of `connection`'s verified queries (from its examples file, or
    /// promoted in chat), compared as the guard prints them.
    pub async fn is_verified(&self, connection: &str, sql: &str) -> Result<bool, StoreError> {
        Ok(self.verification(connection, sql).await?.is_some())
    }

    /// Whose verified query `sql` is on `connection`, if it is one: the first to promote it
    /// in chat, else the examples file.
    pub async fn verification(
        &self,
        connection: &str,
        sql: &str,
    ) -> Result<Option<Verified>, StoreError> {
        let Some(dialect) = self.warehouses.get(connection).map(|w| w.dialect()) else {
            return Ok(None);
        };
        let Some(wanted) = guard::canonical(sql, dialect) else {
            return Ok(None);
        };
        let same = |candidate: &str| guard::canonical(candidate, dialect).as_ref() == Some(&wanted);
        let promoted = self.store.verified_queries(Some(connection)).await?;
        if let Some(query) = promoted.iter().find(|query| same(&query.sql)) {
            return Ok(Some(Verified {
                by: Some(query.verified_by.to_string()),
                on: Some(query.at.date_naive()),
            }));
        }
        let from_file = self.examples.get(connection).into_iter().flatten();
        Ok(from_file
            .into_iter()
            .any(|example| same(&example.sql))
            .then_some(Verified { by: None, on: None }))
    }

    /// Makes a draft's question and SQL one of its connection's verified queries, for `by`;
    /// `false` when it already was one.
    pub async fn promote(&self, draft: &Draft, by: &UserId) -> Result<bool, StoreError> {
        if self
            .verification(&draft.connection, &draft.sql)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        self.store
            .promote_example(&draft.connection, &draft.question, &draft.sql, by)
            .await?;
        Ok(true)
    }

    /// A connection's warehouse and the guard policy from its catalog, cached for at most
    /// `max_age`.
    async fn policy(
        &self,
        connection: &str,
        role: Option<&str>,
        max_age: Duration,
    ) -> Result<(Arc<dyn Warehouse>, Arc<catalog::Known>), PipelineError> {
        let warehouse = self
            .warehouses
            .get(connection)
            .ok_or_else(|| PipelineError::UnknownConnection(connection.to_owned()))?
            .clone();
        let known = self
            .usable_catalog(warehouse.as_ref(), role, max_age)
            .await?;
        Ok((warehouse, known))
    }

    /// The cached catalog of database role `role` (`None`: the connection's own) as questions
    /// may use it (without the views the operator chose to leave out), with its guard policy
    /// and linking index, built once per catalog version.
    pub async fn usable_catalog(
        &self,
        warehouse: &dyn Warehouse,
        role: Option<&str>,
        max_age: Duration,
    ) -> Result<Arc<catalog::Known>, PipelineError> {
        let shape: fn(Catalog) -> Catalog = match self.settings.views_without_barrier {
            ViewsWithoutBarrier::Allow => |catalog| catalog,
            ViewsWithoutBarrier::Skip => Catalog::without_views_lacking_barrier,
        };
        Ok(self
            .catalogs
            .current(&self.store, warehouse, role, max_age, shape)
            .await?)
    }

    /// The warehouse to run `sql` on, and `sql` as the guard allows it under role `role`'s
    /// catalog cached for at most `max_age`.
    async fn guarded(
        &self,
        connection: &str,
        sql: &str,
        role: Option<&str>,
        max_age: Duration,
    ) -> Result<(Arc<dyn Warehouse>, GuardedSql), PipelineError> {
        let (warehouse, known) = self.policy(connection, role, max_age).await?;
        match guard::check(sql, &known.policy) {
            Verdict::Allowed(sql) => Ok((warehouse, sql)),
            Verdict::Rejected(rejection) => Err(PipelineError::Rejected(rejection.reason())),
        }
    }
}

/// Why a question could not be drafted or a draft could not be run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the question is longer than {limit} characters")]
    QuestionTooLong { limit: usize },
    #[error("no connection named `{0}`")]
    UnknownConnection(String),
    #[error("the model says the data cannot answer this: {0}")]
    Unanswerable(String),
    #[error("no usable SQL after {rounds} repair rounds: {last_problem}")]
    NoUsableSql { rounds: u32, last_problem: String },
    #[error("the guard rejected the SQL: {0}")]
    Rejected(String),
    #[error("no such draft")]
    DraftNotFound,
    #[error("the draft is {} and cannot be run or edited", state_name(*.0))]
    NotPending(DraftState),
    /// Someone pressed Stop while the query ran; the draft is pending again.
    #[error("the run was stopped by {by}")]
    Stopped { by: UserId },
    #[error("the draft is not running")]
    NotRunning(DraftState),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot present the result")]
    Present(#[from] PresentError),
    #[error("cannot write {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn state_name(state: DraftState) -> &'static str {
    match state {
        DraftState::Pending => "pending",
        DraftState::Running => "already running",
        DraftState::Done => "already done",
        DraftState::Failed => "already run (it failed)",
        DraftState::Cancelled => "cancelled",
        DraftState::Expired => "expired",
    }
}
