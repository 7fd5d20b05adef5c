//! Drafting: question -> prompt -> LLM -> SQL -> guard -> dry run, repairing what fails, then
//! a pending draft in the store.

use chrono::Utc;
use tracing::Instrument;

use super::{Ask, Pipeline, PipelineError, prompt};
use crate::guard::{self, Policy, Verdict};
use crate::llm::{self, Usage};
use crate::pipeline::examples;
use crate::pipeline::linking::{self, Budget};
use crate::store::{Draft, NewDraft, Scan};
use crate::warehouse::{Caps, Plan, WarehouseError};

/// Earlier turns of a thread replayed to the model.
const HISTORY_TURNS: i64 = 6;
/// Size of the schema text in a prompt.
const SCHEMA_BUDGET: usize = 12_000;
/// Verified examples in a prompt.
const EXAMPLES_IN_PROMPT: usize = 3;
/// Longest question accepted; anything longer is not a question.
const MAX_QUESTION_CHARS: usize = 4_000;

/// One attempt's outcome. What made it unusable goes back to the model in a repair round;
/// the user sees the last problem in words that quote no data (`for_user`).
enum Attempt {
    Usable(guard::GuardedSql, Option<String>, Plan),
    Unusable { for_model: String, for_user: String },
}

impl Attempt {
    fn unusable(problem: String) -> Self {
        Attempt::Unusable {
            for_user: problem.clone(),
            for_model: problem,
        }
    }
}

impl Pipeline {
    /// Writes SQL for a question and stores it as a pending draft. Every failure is recorded
    /// as a turn of the conversation, so the thread's history stays whole.
    #[tracing::instrument(skip_all, fields(connection = %ask.connection, draft_id = tracing::field::Empty))]
    pub async fn draft(&self, ask: &Ask) -> Result<Draft, PipelineError> {
        let question = ask.question.trim();
        if question.is_empty() {
            return Err(PipelineError::EmptyQuestion);
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(PipelineError::QuestionTooLong {
                limit: MAX_QUESTION_CHARS,
            });
        }
        let conversation = self.store.conversation(&ask.conversation).await?;
        let result = self.write_sql(ask, question, conversation).await;
        match result {
            Ok(draft) => {
                tracing::Span::current().record("draft_id", tracing::field::display(draft.id));
                Ok(draft)
            }
            Err(error) => {
                self.store
                    .record_failed_turn(conversation, question, &error.to_string())
                    .await?;
                Err(error)
            }
        }
    }

    async fn write_sql(
        &self,
        ask: &Ask,
        question: &str,
        conversation: crate::store::ConversationId,
    ) -> Result<Draft, PipelineError> {
        let (warehouse, known) = self.known_for(ask).await?;

        let history: Vec<(String, String)> = self
            .store
            .turns(conversation, HISTORY_TURNS)
            .await?
            .into_iter()
            .filter_map(|turn| Some((turn.question, turn.sql?)))
            .collect();
        let context: Vec<&str> = history
            .iter()
            .flat_map(|(q, sql)| [q.as_str(), sql.as_str()])
            .collect();
        let catalog = known.catalog();
        let selection = known.index.link(
            question,
            &context,
            Budget {
                max_chars: SCHEMA_BUDGET,
            },
        );
        let schema = linking::render(catalog, &selection);
        // The examples file's pairs, then those promoted in chat.
        let promoted: Vec<examples::Example> = self
            .store
            .examples(&ask.connection)
            .await?
            .into_iter()
            .map(|(question, sql)| examples::Example { question, sql })
            .collect();
        let from_file = self.examples.get(&ask.connection).into_iter().flatten();
        // Held out, a verified question does not see its own answer among the examples.
        let held_out = |example: &&examples::Example| {
            !(self.hold_out && example.question.trim().eq_ignore_ascii_case(question))
        };
        let chosen = examples::most_similar(
            from_file.chain(&promoted).filter(held_out),
            question,
            EXAMPLES_IN_PROMPT,
        );

        let mut completion = prompt::drafting(&prompt::Inputs {
            dialect: catalog.dialect,
            today: Utc::now().date_naive(),
            schema: &schema,
            examples: &chosen,
            history: &history,
            question,
        });
        let caps = Caps {
            role: ask.db_role.clone(),
            ..Caps::from(&self.settings.limits)
        };
        let mut usage = Usage::default();
        let mut last_problem = String::new();
        for round in 0..=self.settings.repair_rounds {
            let span = tracing::info_span!(
                "llm",
                provider = self.llm.name(),
                model = self.llm.model(),
                round
            );
            let reply = self.llm.complete(&completion).instrument(span).await?;
            usage += reply.usage;
            let attempt = match llm::extract_sql(&reply.text) {
                None if reply.text.trim_start().starts_with(prompt::CANNOT) => {
                    let why = reply.text.trim_start()[prompt::CANNOT.len()..].trim();
                    return Err(PipelineError::Unanswerable(
                        why.trim_start_matches([':', '.', ' ']).to_owned(),
                    ));
                }
                None => Attempt::unusable(
                    "the answer contained no SQL query; reply with one query in a ```sql block"
                        .to_owned(),
                ),
                Some(extracted) => {
                    self.check(
                        &extracted.sql,
                        &known.policy,
                        warehouse.as_ref(),
                        &caps,
                        extracted.explanation,
                    )
                    .await?
                }
            };
            match attempt {
                Attempt::Usable(sql, explanation, plan) => {
                    let limit = self.settings.limits.confirm_above_bytes;
                    let scan = plan.scanned_bytes.map(|bytes| Scan {
                        bytes,
                        partitions: plan.partitions,
                        over_limit: bytes > limit,
                    });
                    let verified = self.verification(&ask.connection, sql.as_str()).await?;
                    let draft = self
                        .store
                        .create_draft(NewDraft {
                            conversation,
                            author: ask.author.clone(),
                            connection: ask.connection.clone(),
                            question: question.to_owned(),
                            sql: sql.as_str().to_owned(),
                            explanation,
                            estimated_rows: plan.estimated_rows,
                            scan,
                            repair_rounds: i64::from(round),
                            prompt_tokens: saturating_i64(usage.prompt_tokens),
                            completion_tokens: saturating_i64(usage.completion_tokens),
                            verified,
                        })
                        .await?;
                    return Ok(draft);
                }
                Attempt::Unusable {
                    for_model,
                    for_user,
                } => {
                    tracing::info!(round, problem = %for_model, "model's SQL rejected");
                    prompt::add_repair(&mut completion, &reply.text, &for_model);
                    last_problem = for_user;
                }
            }
        }
        Err(PipelineError::NoUsableSql {
            rounds: self.settings.repair_rounds,
            last_problem,
        })
    }

    /// The warehouse and the catalog (with policy and index) a question is drafted against,
    /// as the asker's database role.
    async fn known_for(
        &self,
        ask: &Ask,
    ) -> Result<
        (
            std::sync::Arc<dyn crate::warehouse::Warehouse>,
            std::sync::Arc<super::catalog::Known>,
        ),
        PipelineError,
    > {
        self.policy(
            &ask.connection,
            ask.db_role.as_deref(),
            self.settings.catalog_max_age,
        )
        .await
    }

    /// A new pending draft of SQL written before (a Re-run from history), checked again by
    /// the guard and the planner as the asker's role; no LLM is asked.
    pub async fn redraft(&self, ask: &Ask, sql: &str) -> Result<Draft, PipelineError> {
        let conversation = self.store.conversation(&ask.conversation).await?;
        let (warehouse, known) = self.known_for(ask).await?;
        let caps = Caps {
            role: ask.db_role.clone(),
            ..Caps::from(&self.settings.limits)
        };
        let explanation = Some("The SQL of an earlier answer, run again.".to_owned());
        match self
            .check(sql, &known.policy, warehouse.as_ref(), &caps, explanation)
            .await?
        {
            Attempt::Usable(sql, explanation, plan) => {
                let verified = self.verification(&ask.connection, sql.as_str()).await?;
                let limit = self.settings.limits.confirm_above_bytes;
                Ok(self
                    .store
                    .create_draft(NewDraft {
                        conversation,
                        author: ask.author.clone(),
                        connection: ask.connection.clone(),
                        question: ask.question.clone(),
                        sql: sql.as_str().to_owned(),
                        explanation,
                        estimated_rows: plan.estimated_rows,
                        scan: plan.scanned_bytes.map(|bytes| Scan {
                            bytes,
                            partitions: plan.partitions,
                            over_limit: bytes > limit,
                        }),
                        repair_rounds: 0,
                        prompt_tokens: 0,
                        completion_tokens: 0,
                        verified,
                    })
                    .await?)
            }
            Attempt::Unusable { for_user, .. } => Err(PipelineError::Rejected(format!(
                "That SQL no longer passes: {for_user}."
            ))),
        }
    }

    /// Guard, then a dry run: an attempt is usable only if both pass.
    async fn check(
        &self,
        sql: &str,
        policy: &Policy,
        warehouse: &dyn crate::warehouse::Warehouse,
        caps: &Caps,
        explanation: Option<String>,
    ) -> Result<Attempt, PipelineError> {
        let guarded = match guard::check(sql, policy) {
            Verdict::Allowed(guarded) => guarded,
            Verdict::Rejected(rejection) => {
                ::metrics::counter!("querybot_guard_rejections_total", "kind" => rejection.kind.as_str())
                    .increment(1);
                return Ok(Attempt::unusable(rejection.reason()));
            }
        };
        match warehouse.explain(&guarded, caps).await {
            Ok(plan) => Ok(Attempt::Usable(guarded, explanation, plan)),
            Err(WarehouseError::Rejected {
                message,
                data_error,
            }) => Ok(Attempt::Unusable {
                for_model: format!("the database could not plan it: {message}"),
                for_user: format!(
                    "the database could not plan it: {}",
                    crate::warehouse::shown_rejection(&message, data_error)
                ),
            }),
            // A slow planner is no reason to reject good SQL; the run has its own timeout.
            Err(WarehouseError::Timeout { .. }) => {
                Ok(Attempt::Usable(guarded, explanation, Plan::default()))
            }
            Err(other) => Err(other.into()),
        }
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
