//! The terminal surfaces: `querybot ask` (one shot, scriptable) and `querybot chat`
//! (a conversation with confirmation prompts). Both go through the same Bot, conversations
//! and drafts as the chat platforms.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use crate::bot::{
    Answer, Bot, ConversationId, ConversationKey, Draft, DraftId, Failure, Finished, Person,
    Platform, Question, RunOptions, UserId,
};
use crate::present::{self, ChartKind};

/// The local user every terminal action is attributed to.
const CONSOLE_USER: &str = "console";
/// Said when Ctrl-C stopped a query.
const STOPPED: &str = "Stopped; the query was cancelled in the warehouse.";
/// Width the table preview is fitted into.
const TABLE_WIDTH: usize = 120;

/// One terminal session against one connection.
pub struct Console {
    bot: Bot,
    connection: String,
    editor: Option<String>,
}

/// What `querybot ask` was told to do.
#[derive(Debug, Clone, Default)]
pub struct AskOptions {
    pub yes: bool,
    pub json: bool,
    pub out: Option<PathBuf>,
    pub conversation: Option<ConversationId>,
}

/// A terminal command's outcome: whether it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
}

impl Console {
    pub fn new(bot: Bot, connection: String, editor: Option<String>) -> Self {
        Console {
            bot,
            connection,
            editor,
        }
    }

    fn user() -> Person {
        Person::new(UserId::new(CONSOLE_USER))
    }

    fn new_thread(&self) -> ConversationKey {
        ConversationKey {
            platform: Platform::Console,
            workspace: "local".to_owned(),
            channel: self.connection.clone(),
            thread: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// One question; without `yes` prints the SQL and stops, with it runs and prints the result.
    pub async fn ask(&self, question: &str, options: &AskOptions) -> anyhow::Result<Outcome> {
        let conversation = match options.conversation {
            Some(id) => match self.bot.conversation_key(id).await {
                Ok(Some(key)) => key,
                Ok(None) => {
                    anyhow::bail!("no conversation {id}; leave out --conversation to start one")
                }
                Err(failure) => return report_failure(&failure, options.json),
            },
            None => self.new_thread(),
        };
        let ask = Question {
            conversation,
            by: Self::user(),
            connection: self.connection.clone(),
            text: question.to_owned(),
        };
        progress(options.json, "writing SQL…");
        let draft = match self.bot.ask(&ask).await {
            Ok(draft) => draft,
            Err(failure) => return report_failure(&failure, options.json),
        };
        if !options.yes {
            if options.json {
                print_json(&draft_json(&draft))?;
            } else {
                print_draft(&draft)?;
                say("Add --yes to run it.")?;
            }
            return Ok(Outcome::Done);
        }
        progress(options.json, "running…");
        let run_options = RunOptions {
            out_dir: options.out.clone(),
        };
        match self.run(draft.id, &run_options).await {
            Ok(Finished::Answered(answer)) if options.json => {
                print_json(&answer_json(&answer))?;
                Ok(Outcome::Done)
            }
            Ok(Finished::Answered(answer)) => {
                print_draft(&answer.draft)?;
                print_answer(&answer)?;
                Ok(Outcome::Done)
            }
            Ok(Finished::Stopped { .. } | Finished::Interrupted { .. }) => {
                say(STOPPED)?;
                Ok(Outcome::Failed)
            }
            Err(failure) => report_failure(&failure, options.json),
        }
    }

    /// Runs a draft; Ctrl-C while it runs stops the query in the warehouse.
    async fn run(&self, id: DraftId, options: &RunOptions) -> Result<Finished, Failure> {
        let user = Self::user();
        let draft = self.bot.start(id, &user).await?;
        let run = self.bot.finish(draft, &user, options);
        tokio::pin!(run);
        if let Some(finished) = unless_interrupted(&mut run).await {
            return finished;
        }
        progress(false, "stopping…");
        if let Err(failure) = self.bot.stop(id, &user).await {
            tracing::info!(detail = %failure.detail, "nothing to stop");
        }
        run.await
    }

    /// An interactive conversation on stdin: questions, confirmations, `/new`, `/quit`.
    pub async fn chat(&self) -> anyhow::Result<Outcome> {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut thread = self.new_thread();
        say(&format!(
            "Ask a question about `{}`. Follow-ups refine the last query; /new starts over, /quit \
             leaves.",
            self.connection
        ))?;
        loop {
            prompt("› ")?;
            let Some(Some(line)) = unless_interrupted(lines.next_line()).await.transpose()? else {
                break;
            };
            let question = line.trim();
            match question {
                "" => continue,
                "/quit" | "/exit" => break,
                "/new" => {
                    thread = self.new_thread();
                    say("New conversation.")?;
                    continue;
                }
                "/help" => {
                    say("Type a question. /new starts a new conversation, /quit leaves.")?;
                    continue;
                }
                _ => {}
            }
            let ask = Question {
                conversation: thread.clone(),
                by: Self::user(),
                connection: self.connection.clone(),
                text: question.to_owned(),
            };
            progress(false, "writing SQL…");
            match unless_interrupted(self.bot.ask(&ask)).await {
                Some(Ok(draft)) => self.confirm(draft, &mut lines).await?,
                Some(Err(failure)) => say(&failure_line(&failure))?,
                None => say("Stopped writing SQL.")?,
            }
        }
        Ok(Outcome::Done)
    }

    /// Shows a draft and asks Run / Edit / No until the user decides.
    async fn confirm(
        &self,
        mut draft: Draft,
        lines: &mut Lines<BufReader<Stdin>>,
    ) -> anyhow::Result<()> {
        loop {
            print_draft(&draft)?;
            prompt("Run? [y]es / [e]dit / [n]o ")?;
            let Some(Some(choice)) = unless_interrupted(lines.next_line()).await.transpose()?
            else {
                return Ok(());
            };
            match choice.trim().to_lowercase().as_str() {
                "y" | "yes" | "" => {
                    progress(false, "running… (Ctrl-C stops it)");
                    match self.run(draft.id, &RunOptions::default()).await {
                        Ok(Finished::Answered(answer)) => print_answer(&answer)?,
                        // The draft is pending again: offer it once more.
                        Ok(Finished::Stopped { draft: stopped, .. }) => {
                            say(STOPPED)?;
                            draft = stopped;
                            continue;
                        }
                        Ok(Finished::Interrupted { .. }) => say(STOPPED)?,
                        Err(failure) => say(&failure_line(&failure))?,
                    }
                    return Ok(());
                }
                "e" | "edit" => {
                    let Some(sql) = self.edited_sql(&draft, lines).await? else {
                        continue;
                    };
                    match self.bot.edit(draft.id, &Self::user(), &sql).await {
                        Ok(edited) => draft = edited,
                        Err(failure) => say(&failure_line(&failure))?,
                    }
                }
                "n" | "no" => {
                    match self.bot.cancel(draft.id, &Self::user()).await {
                        Ok(_) => say("Cancelled; nothing was run.")?,
                        Err(failure) => say(&failure_line(&failure))?,
                    }
                    return Ok(());
                }
                _ => say("Answer y, e or n.")?,
            }
        }
    }

    /// New SQL from `$EDITOR` (on a temp file holding the draft), or one line from stdin.
    async fn edited_sql(
        &self,
        draft: &Draft,
        lines: &mut Lines<BufReader<Stdin>>,
    ) -> anyhow::Result<Option<String>> {
        if let Some(editor) = &self.editor {
            let file = tempfile::Builder::new().suffix(".sql").tempfile()?;
            std::fs::write(file.path(), &draft.sql)?;
            let mut words = editor.split_whitespace();
            let program = words.next().unwrap_or("vi");
            let status = tokio::process::Command::new(program)
                .args(words)
                .arg(file.path())
                .status()
                .await?;
            if !status.success() {
                say("The editor exited with an error; the draft is unchanged.")?;
                return Ok(None);
            }
            return Ok(Some(std::fs::read_to_string(file.path())?));
        }
        prompt("New SQL (one line): ")?;
        Ok(lines
            .next_line()
            .await?
            .filter(|line| !line.trim().is_empty()))
    }
}

fn draft_json(draft: &Draft) -> serde_json::Value {
    json!({
        "sql": draft.sql,
        "explanation": draft.explanation,
        "estimated_rows": draft.estimated_rows,
        "scan": draft.scan,
        "draft": draft.id,
        "conversation": draft.conversation,
    })
}

fn answer_json(answer: &Answer) -> serde_json::Value {
    let mut value = draft_json(&answer.draft);
    let columns: Vec<&str> = answer.columns.iter().map(|c| c.name.as_str()).collect();
    value["columns"] = json!(columns);
    value["rows"] = json!(answer.preview.rows);
    value["total_rows"] = json!(answer.row_count);
    value["truncated"] = json!(answer.truncated.is_some());
    value["chart"] = match &answer.chart {
        Some(chart) => json!({ "path": chart.path, "kind": chart_kind(chart.kind) }),
        None => serde_json::Value::Null,
    };
    value["csv"] = json!(answer.csv);
    value["run"] = json!(answer.run);
    value["elapsed_ms"] = json!(answer.elapsed.as_millis());
    value["summary"] = json!(answer.summary);
    value
}

fn chart_kind(kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Line => "line",
        ChartKind::Bar => "bar",
        ChartKind::Scatter => "scatter",
    }
}

fn print_draft(draft: &Draft) -> anyhow::Result<()> {
    let mut text = String::new();
    for line in draft.sql.lines() {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    if let Some(explanation) = &draft.explanation {
        text.push_str(explanation);
    }
    let mention = |user: &UserId| Some(user.to_string());
    for note in super::plan_notes(draft)
        .into_iter()
        .chain(super::verified_note(draft, mention))
    {
        text.push('\n');
        text.push_str(&note);
    }
    say(text.trim_end())
}

fn print_answer(answer: &Answer) -> anyhow::Result<()> {
    say(&present::table::render_text(&answer.preview, TABLE_WIDTH))?;
    if let Some(summary) = &answer.summary {
        say(summary)?;
    }
    if let Some(chart) = &answer.chart {
        say(&format!("chart: {}", chart.path.display()))?;
    }
    say(&format!("csv:   {}", answer.csv.display()))?;
    say(&format!(
        "({} rows in {:.1} s)",
        answer.row_count,
        answer.elapsed.as_secs_f64()
    ))
}

fn failure_line(failure: &Failure) -> String {
    if failure.reference.is_empty() {
        return failure.user_message.clone();
    }
    format!("{} (ref {})", failure.user_message, failure.reference)
}

fn report_failure(failure: &Failure, json: bool) -> anyhow::Result<Outcome> {
    if json {
        print_json(&json!({ "error": failure.user_message, "reference": failure.reference }))?;
    }
    eprintln_line(&failure_line(failure));
    Ok(Outcome::Failed)
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    say(&serde_json::to_string(value)?)
}

fn say(line: &str) -> anyhow::Result<()> {
    crate::progress::finish();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    Ok(())
}

fn prompt(text: &str) -> anyhow::Result<()> {
    crate::progress::finish();
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// A spinner line on stderr while the bot works (only on a terminal, never for `--json`);
/// it is cleared before anything else is written.
fn progress(quiet: bool, text: &str) {
    if !quiet {
        crate::progress::start(text);
    }
}

fn eprintln_line(text: &str) {
    crate::progress::finish();
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `work`, or `None` when Ctrl-C comes first. Once querybot listens for Ctrl-C the terminal no
/// longer ends the process on it, so every wait in a conversation goes through here.
async fn unless_interrupted<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        done = work => Some(done),
        _ = tokio::signal::ctrl_c() => None,
    }
}
