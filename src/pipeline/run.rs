//! Running a confirmed draft: claim it once, guard it again, execute read-only into the
//! presenter (table, chart, CSV), and record the run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::{Pipeline, PipelineError, lease, prompt};
use crate::llm::Usage;
use crate::present::{self, ChartKind, PresentOptions, Presenter, Preview, Totals};
use crate::store::{Draft, DraftId, DraftState, NewRun, RunId, UserId};
use crate::warehouse::{Caps, Execution, Truncation, WarehouseError};

/// Where a run writes its files; `None` means `<output dir>/<draft id>/`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub out_dir: Option<PathBuf>,
}

/// A finished run, ready for a surface to show.
#[derive(Debug)]
pub struct Answer {
    pub draft: Draft,
    pub run: RunId,
    pub preview: Preview,
    pub columns: Vec<crate::warehouse::Column>,
    pub row_count: u64,
    pub truncated: Option<Truncation>,
    pub chart: Option<SavedChart>,
    pub csv: PathBuf,
    pub elapsed: Duration,
    /// A one-paragraph summary, only when summaries are enabled.
    pub summary: Option<String>,
}

#[derive(Debug)]
pub struct SavedChart {
    pub kind: ChartKind,
    pub path: PathBuf,
    pub png: Vec<u8>,
}

impl Pipeline {
    /// Runs a pending draft for `by`. Of any number of concurrent calls for one draft, exactly
    /// one runs it; the others get [`PipelineError::NotPending`].
    pub async fn run(
        &self,
        id: DraftId,
        by: &UserId,
        options: &RunOptions,
    ) -> Result<Answer, PipelineError> {
        let draft = self.claim(id, by).await?;
        self.run_claimed(draft, by, None, options).await
    }

    /// Claims a pending draft for `by`: exactly one claim wins.
    pub async fn claim(&self, id: DraftId, by: &UserId) -> Result<Draft, PipelineError> {
        match self.store.claim_draft(id, by).await? {
            Some(draft) => Ok(draft),
            None => Err(match self.store.draft(id).await? {
                Some(draft) => PipelineError::NotPending(draft.state),
                None => PipelineError::DraftNotFound,
            }),
        }
    }

    /// Executes a draft this caller claimed, as database role `db_role` (`None`: the
    /// connection's own), presents the result and records the run.
    #[tracing::instrument(skip_all, fields(draft_id = %draft.id, run_id = tracing::field::Empty))]
    pub async fn run_claimed(
        &self,
        draft: Draft,
        by: &UserId,
        db_role: Option<&str>,
        options: &RunOptions,
    ) -> Result<Answer, PipelineError> {
        let started = Instant::now();
        let run = self.runs.start(draft.id);
        let outcome = tokio::select! {
            outcome = self.execute(&draft, db_role, options, &run.stop) => outcome,
            never = lease::hold(&self.store, draft.id, &run.stop) => match never {},
        };
        let elapsed = started.elapsed();
        let stopped_by = match &outcome {
            Err(PipelineError::Warehouse(WarehouseError::Stopped)) => {
                Some(run.stop.stopped_by().cloned().unwrap_or_else(|| by.clone()))
            }
            _ => None,
        };
        let record = |execution: Option<&Execution>, error: Option<String>, extra: Usage| NewRun {
            draft: Some(draft.id),
            requested_by: by.clone(),
            connection: draft.connection.clone(),
            sql: draft.sql.clone(),
            row_count: execution.map(|e| i64::try_from(e.row_count).unwrap_or(i64::MAX)),
            truncated: execution.is_some_and(|e| e.truncated.is_some()),
            duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
            error,
            prompt_tokens: Some(
                draft
                    .prompt_tokens
                    .saturating_add(tokens(extra.prompt_tokens)),
            ),
            completion_tokens: Some(
                draft
                    .completion_tokens
                    .saturating_add(tokens(extra.completion_tokens)),
            ),
            stopped_by: stopped_by.clone(),
            db_role: db_role.map(str::to_owned),
        };
        match outcome {
            Ok((execution, presentation, summary, summary_usage)) => {
                let run = self
                    .store
                    .record_run(&record(Some(&execution), None, summary_usage))
                    .await?;
                tracing::Span::current().record("run_id", tracing::field::display(run));
                ::metrics::counter!("querybot_queries_total", "outcome" => "ok").increment(1);
                if let Some(cut) = execution.truncated {
                    let cap = match cut {
                        crate::warehouse::Truncation::Rows(_) => "rows",
                        crate::warehouse::Truncation::Bytes(_) => "bytes",
                    };
                    ::metrics::counter!("querybot_result_truncations_total", "cap" => cap)
                        .increment(1);
                }
                ::metrics::histogram!("querybot_query_duration_seconds")
                    .record(elapsed.as_secs_f64());
                Ok(Answer {
                    draft,
                    run,
                    preview: presentation.preview,
                    columns: execution.columns,
                    row_count: execution.row_count,
                    truncated: execution.truncated,
                    chart: presentation.chart,
                    csv: presentation.csv_path,
                    elapsed,
                    summary,
                })
            }
            Err(error) => {
                self.store
                    .record_run(&record(None, Some(error.to_string()), Usage::default()))
                    .await?;
                let outcome = if stopped_by.is_some() {
                    "stopped"
                } else {
                    "error"
                };
                ::metrics::counter!("querybot_queries_total", "outcome" => outcome).increment(1);
                match stopped_by {
                    Some(by) => {
                        tracing::info!(%by, "run stopped on request");
                        Err(PipelineError::Stopped { by })
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// Asks the process that runs draft `id`, wherever it is, to stop it: at once when it is
    /// this one, else at its next lease renewal.
    pub async fn request_stop(&self, id: DraftId, by: &UserId) -> Result<(), PipelineError> {
        if self.store.request_stop(id, by).await? {
            self.runs.stop(id, by);
            return Ok(());
        }
        match self.store.draft(id).await? {
            Some(draft) => Err(PipelineError::NotRunning(draft.state)),
            None => Err(PipelineError::DraftNotFound),
        }
    }

    /// Stops every run this process executes, because it is shutting down: each is recorded
    /// as stopped by [`UserId::shutdown`] and its draft is pending again.
    pub fn interrupt_runs(&self) {
        self.runs.stop_all(&UserId::shutdown());
    }

    /// How many runs this process is executing.
    pub fn runs_in_flight(&self) -> usize {
        self.runs.len()
    }

    async fn execute(
        &self,
        draft: &Draft,
        db_role: Option<&str>,
        options: &RunOptions,
        stop: &lease::Stop,
    ) -> Result<(Execution, Presented, Option<String>, Usage), PipelineError> {
        // The catalog may have changed since drafting, an edit may have changed the SQL, and
        // the person running it may have another database role than its author: the guard
        // decides again, on what will actually run, as whom.
        let max_age = self.settings.catalog_max_age;
        let (warehouse, sql) = self
            .guarded(&draft.connection, &draft.sql, db_role, max_age)
            .await?;
        let out_dir = options
            .out_dir
            .clone()
            .unwrap_or_else(|| self.settings.output_dir.join(draft.id.to_string()));
        std::fs::create_dir_all(&out_dir).map_err(|source| PipelineError::Output {
            path: out_dir.clone(),
            source,
        })?;
        let mut presenter = Presenter::new(PresentOptions {
            preview_rows: usize::try_from(self.settings.limits.preview_rows).unwrap_or(usize::MAX),
            csv_path: out_dir.join("result.csv"),
            title: draft.question.clone(),
        })?;
        let caps = Caps {
            draft: Some(draft.id.as_uuid()),
            stop: stop.signal(),
            role: db_role.map(str::to_owned),
            ..Caps::from(&self.settings.limits)
        };
        // Stop may come while the catalog is read and the SQL checked again.
        if caps.stop.is_raised() {
            return Err(WarehouseError::Stopped.into());
        }
        let span = tracing::info_span!("warehouse", connection = %draft.connection);
        let execution = warehouse
            .execute(&sql, &caps, &mut presenter)
            .instrument(span)
            .await?;
        let totals = Totals {
            row_count: execution.row_count,
            truncated: execution.truncated.is_some(),
        };
        // Drawing the chart is CPU work; keep it off the async workers.
        let presentation = tokio::task::spawn_blocking(move || presenter.finish(totals))
            .await
            .map_err(|e| PipelineError::Output {
                path: out_dir.clone(),
                source: std::io::Error::other(e),
            })??;
        let chart = match presentation.chart {
            Some(chart) => {
                let path = out_dir.join("chart.png");
                std::fs::write(&path, &chart.png).map_err(|source| PipelineError::Output {
                    path: path.clone(),
                    source,
                })?;
                Some(SavedChart {
                    kind: chart.kind,
                    path,
                    png: chart.png,
                })
            }
            None => None,
        };
        let (summary, summary_usage) = if self.settings.summaries && execution.row_count > 0 {
            let table = present::table::render_text(&presentation.preview, 120);
            let reply = self
                .llm
                .complete(&prompt::summary(&draft.question, &table))
                .await?;
            (Some(reply.text.trim().to_owned()), reply.usage)
        } else {
            (None, Usage::default())
        };
        let presented = Presented {
            preview: presentation.preview,
            csv_path: presentation.csv_path,
            chart,
        };
        Ok((execution, presented, summary, summary_usage))
    }

    /// Replaces a pending draft's SQL after the guard accepts it; a rejection is returned as
    /// [`PipelineError::Rejected`] with its reason, so the editor can show it.
    pub async fn edit(
        &self,
        id: DraftId,
        sql: &str,
        db_role: Option<&str>,
    ) -> Result<Draft, PipelineError> {
        let draft = self
            .store
            .draft(id)
            .await?
            .ok_or(PipelineError::DraftNotFound)?;
        if draft.state != DraftState::Pending {
            return Err(PipelineError::NotPending(draft.state));
        }
        // An editor waits on this: the cached catalog, whatever its age, never a re-read
        // (the run checks again against a current one).
        let (_, guarded) = self
            .guarded(&draft.connection, sql, db_role, Duration::MAX)
            .await?;
        let verified = self
            .verification(&draft.connection, guarded.as_str())
            .await?;
        match self
            .store
            .edit_draft(
                id,
                guarded.as_str(),
                Some("Edited by hand."),
                verified.as_ref(),
            )
            .await?
        {
            Some(draft) => Ok(draft),
            // Someone ran or cancelled it since it was read.
            None => Err(match self.store.draft(id).await? {
                Some(draft) => PipelineError::NotPending(draft.state),
                None => PipelineError::DraftNotFound,
            }),
        }
    }
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What the presenter produced, with the chart saved to disk.
struct Presented {
    preview: Preview,
    csv_path: PathBuf,
    chart: Option<SavedChart>,
}
