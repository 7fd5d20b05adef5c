//! The conversation every chat surface has: a question becomes a placeholder and then a
//! draft; Run shows it running, answers in the thread with the table, chart and CSV, and
//! marks the draft with who ran it; Stop cancels a run; Cancel closes it; 👍 / 👎 under an
//! answer are recorded (an analyst's 👍 verifies it); failures after a click go privately to
//! the person who clicked when they concern only them. Platforms supply an [`Outbox`].

use crate::bot::{
    Admission, Answer, Approval, Bot, ConversationKey, Draft, DraftId, Failure, Finished, Person,
    Question, RunOptions, StoreError, SurfaceState,
};
use crate::present::words::RunStatus;

use super::receipt::Receipt;
use super::{Attachment, Interrupted, MessageRef, Outbox, Reply, SurfaceError};

/// What the placeholder says while the LLM writes SQL.
pub const WRITING_SQL: &str = "writing SQL…";

/// Said in place of a draft that was still being written when the process stopped.
pub const STOPPED_WRITING: &str = "querybot restarted before the SQL was ready; please ask again.";

/// Said in place of a draft still being written when the process stopped, when the question
/// is kept for the next process (or another replica) to answer.
pub const WRITING_RESUMES: &str =
    "querybot is restarting; this question will be answered as soon as it is back.";

/// Said in the thread of a run the process could not finish before it stopped.
pub const RUN_INTERRUPTED: &str =
    "The run was interrupted by a restart; press Run to run it again.";

/// Said in the thread of an answer whose process died while posting it.
pub const ANSWER_INTERRUPTED: &str = "querybot restarted while posting this answer, so part of \
                                      it (the chart or the CSV file) may be missing; use \
                                      Re-run from `history` to run it again.";

/// Said in the thread of a run someone stopped; the draft shows who.
pub const RUN_STOPPED: &str =
    "The query was stopped before it finished; press Run to run it again, or Edit it first.";

/// Said privately after a 👍, by what it did.
pub const VERIFIED: &str =
    "Saved as a verified query: similar questions will start from it, and viewers may run it.";
pub const ALREADY_VERIFIED: &str = "Thanks! That query is a verified query already.";
pub const NOTED_GOOD: &str = "Thanks! An analyst's 👍 makes an answer a verified query.";
/// Said privately once a 👎's "what was wrong" is recorded.
pub const NOTED_BAD: &str = "Thanks — what was wrong is recorded with the answer.";

/// Said of an empty history.
pub const NO_HISTORY: &str = "You haven't asked anything yet.";

/// What a question may be instead: a request of querybot itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// `history`: the person's latest questions, with Re-run.
    History,
    /// `admin status`.
    Status,
    /// `admin refresh [connection]`.
    Refresh(Option<String>),
    /// `admin unverify ID`.
    Unverify(String),
}

impl ChatCommand {
    /// The command a question's text is, if it is one.
    pub fn parse(text: &str) -> Option<ChatCommand> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["history"] => Some(ChatCommand::History),
            ["admin", "status"] => Some(ChatCommand::Status),
            ["admin", "refresh"] => Some(ChatCommand::Refresh(None)),
            ["admin", "refresh", name] => Some(ChatCommand::Refresh(Some((*name).to_owned()))),
            ["admin", "unverify", id] => Some(ChatCommand::Unverify((*id).to_owned())),
            _ => None,
        }
    }
}

/// Answers a [`ChatCommand`] privately.
pub async fn command(
    bot: &Bot,
    outbox: &dyn Outbox,
    by: &Person,
    command: &ChatCommand,
) -> Result<(), SurfaceError> {
    let said = match command {
        ChatCommand::History => match bot.history(by).await {
            Ok(entries) if entries.is_empty() => Ok(NO_HISTORY.to_owned()),
            Ok(entries) => return outbox.tell_privately(Reply::History(&entries)).await,
            Err(failure) => Err(failure),
        },
        ChatCommand::Status => bot.status(by).await,
        ChatCommand::Refresh(connection) => bot.refresh(by, connection.as_deref()).await,
        ChatCommand::Unverify(id) => bot.unverify(by, id).await,
    };
    match said {
        Ok(text) => outbox.tell_privately(Reply::Notice(&text)).await,
        Err(failure) => tell(outbox, &failure).await,
    }
}

/// Re-run from history: a placeholder, then a new draft of the earlier SQL in its place.
pub async fn rerun(
    bot: &Bot,
    outbox: &dyn Outbox,
    earlier: DraftId,
    by: &Person,
    conversation_of: impl FnOnce(&MessageRef) -> ConversationKey + Send,
) -> Result<(), SurfaceError> {
    let placeholder = outbox
        .post(Reply::Progress {
            question: "Re-run",
            status: "checking the earlier SQL again…",
        })
        .await?;
    let conversation = conversation_of(&placeholder);
    match bot.rerun(earlier, conversation, by).await {
        Ok(draft) => {
            outbox.update(&placeholder, Reply::Draft(&draft)).await?;
            remember(bot, &draft, &placeholder).await;
            Ok(())
        }
        Err(failure) => outbox.update(&placeholder, Reply::Failure(&failure)).await,
    }
}

/// What querybot says to a mention with no question in it, or a bare `/ask`.
pub const HELP: &str = "Ask a question about your data, for example `/ask how many orders per \
                        month in 2024?` — I'll show the SQL first and run it only when you \
                        click Run.";

/// A chat message as every platform sees it, once its own quirks are dealt with.
#[derive(Debug, Clone)]
pub struct Heard<'a> {
    /// The conversation the message would continue: its thread, or the thread it starts.
    pub conversation: ConversationKey,
    pub text: &'a str,
    /// How the platform writes a mention of querybot (`<@U123>`), removed from the question.
    pub mention: &'a str,
    pub mentioned: bool,
    /// A direct message to querybot.
    pub direct: bool,
    /// The message is a reply in a thread (not a new message in a channel).
    pub in_thread: bool,
}

/// What querybot should do with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hearing {
    /// Not for querybot.
    Nothing,
    /// For querybot, but no question in it.
    Help,
    Question(String),
}

/// A message is for querybot when it mentions querybot, is a direct message, or replies in a
/// thread that already is a conversation (a follow-up); the question is its text without
/// the mention.
pub async fn hear(state: &SurfaceState, heard: &Heard<'_>) -> Result<Hearing, StoreError> {
    let follow_up = heard.in_thread && state.is_conversation(&heard.conversation).await?;
    if !(heard.mentioned || heard.direct || follow_up) {
        return Ok(Hearing::Nothing);
    }
    let question = heard.text.replace(heard.mention, " ").trim().to_owned();
    Ok(if question.is_empty() {
        Hearing::Help
    } else {
        Hearing::Question(question)
    })
}

/// Where a question's conversation is.
pub enum Thread {
    /// Known before anything is posted: the thread or DM the question was asked in.
    Known,
    /// The thread the placeholder starts (a Slack `/ask` in a channel): the question's
    /// conversation is provisional until the placeholder exists, and this gives the real one.
    StartedBy(Box<dyn FnOnce(&MessageRef) -> ConversationKey + Send>),
}

/// Asks the bot about `ask` while a placeholder for it is posted (or the one an earlier
/// attempt at the same delivery posted is reused), then puts the draft or the failure in the
/// placeholder's place. The LLM does not wait for the post, which may wait its turn in a busy
/// channel. A question that is a [`ChatCommand`] is answered privately instead.
pub async fn question(
    bot: &Bot,
    outbox: &dyn Outbox,
    receipt: &Receipt,
    by: &Person,
    ask: Question,
    thread: Thread,
) -> Result<(), SurfaceError> {
    if let Some(asked) = ChatCommand::parse(&ask.text) {
        return command(bot, outbox, by, &asked).await;
    }
    // Refused before anything is posted, when the process has all the questions it can hold.
    let admission = match bot.admit() {
        Ok(admission) => admission,
        Err(failure) => return tell(outbox, &failure).await,
    };
    let progress = Reply::Progress {
        question: &ask.text,
        status: WRITING_SQL,
    };
    let (placeholder, asked) = match receipt.earlier() {
        Some(earlier) => {
            outbox.update(&earlier, progress).await?;
            let ask = match thread {
                Thread::Known => ask,
                Thread::StartedBy(key_of) => Question {
                    conversation: key_of(&earlier),
                    ..ask
                },
            };
            let asked = ask_unless_stopping(bot, &ask).await;
            (earlier, asked)
        }
        None => {
            let posting = async {
                let placeholder = outbox.post(progress).await?;
                receipt.posted(&placeholder).await;
                Ok::<_, SurfaceError>(placeholder)
            };
            // A post that fails (querybot is not in the channel, say) abandons the question,
            // and with it the LLM call if it is still going.
            let mut posting = std::pin::pin!(posting);
            let mut asking = std::pin::pin!(ask_unless_stopping(bot, &ask));
            let mut early = None;
            let placeholder = loop {
                tokio::select! {
                    posted = &mut posting => break posted?,
                    asked = &mut asking, if early.is_none() => early = Some(asked),
                }
            };
            let asked = match early {
                Some(asked) => asked,
                None => asking.await,
            };
            if let Thread::StartedBy(key_of) = thread
                && let Err(failure) = bot
                    .move_conversation(&ask.conversation, &key_of(&placeholder))
                    .await
            {
                tracing::warn!(detail = %failure.detail, "cannot move a conversation to its thread");
            }
            (placeholder, asked)
        }
    };
    drop(admission);
    show(bot, outbox, receipt, &placeholder, asked).await
}

/// Asks the bot and puts the draft, or the failure, in place of a placeholder the platform
/// already shows (a deferred reply, say); see [`show`].
pub async fn draft_into(
    bot: &Bot,
    outbox: &dyn Outbox,
    receipt: &Receipt,
    placeholder: &MessageRef,
    ask: &Question,
) -> Result<(), SurfaceError> {
    match bot.admit() {
        Ok(admission) => draft_admitted(bot, outbox, receipt, placeholder, ask, admission).await,
        Err(failure) => outbox.update(placeholder, Reply::Failure(&failure)).await,
    }
}

/// [`draft_into`] for a question that has its place among those drafting, until it is shown.
async fn draft_admitted(
    bot: &Bot,
    outbox: &dyn Outbox,
    receipt: &Receipt,
    placeholder: &MessageRef,
    ask: &Question,
    admission: Admission,
) -> Result<(), SurfaceError> {
    let asked = ask_unless_stopping(bot, ask).await;
    drop(admission);
    show(bot, outbox, receipt, placeholder, asked).await
}

/// What became of asking the bot.
enum Asked {
    Answered(Result<Box<Draft>, Failure>),
    /// The process stopped waiting first (its shutdown grace is over).
    Stopping,
}

async fn ask_unless_stopping(bot: &Bot, ask: &Question) -> Asked {
    tokio::select! {
        asked = bot.ask(ask) => Asked::Answered(asked.map(Box::new)),
        () = bot.stopping().cancelled() => Asked::Stopping,
    }
}

/// Puts the draft or the failure in the placeholder's place. Cut short by shutdown, a
/// question kept in the store is released for the next process to answer; any other is
/// given up.
async fn show(
    bot: &Bot,
    outbox: &dyn Outbox,
    receipt: &Receipt,
    placeholder: &MessageRef,
    asked: Asked,
) -> Result<(), SurfaceError> {
    match asked {
        Asked::Stopping if receipt.is_kept() => {
            receipt.release().await;
            outbox
                .update(placeholder, Reply::Notice(WRITING_RESUMES))
                .await
        }
        Asked::Stopping => {
            outbox
                .update(placeholder, Reply::Notice(STOPPED_WRITING))
                .await
        }
        Asked::Answered(Ok(draft)) => {
            outbox.update(placeholder, Reply::Draft(&draft)).await?;
            remember(bot, &draft, placeholder).await;
            Ok(())
        }
        Asked::Answered(Err(failure)) => outbox.update(placeholder, Reply::Failure(&failure)).await,
    }
}

/// Keeps where a draft is shown; without it, only a thread notice can follow a restart.
async fn remember(bot: &Bot, draft: &Draft, message: &MessageRef) {
    if let Err(failure) = bot.remember_message(draft.id, &message.0).await {
        tracing::warn!(detail = %failure.detail, "cannot remember a draft's message");
    }
}

/// A run or an answer taken back after its process died, told in its conversation: the
/// notice, and where its message is known, the draft shown again with its buttons (a run:
/// it is runnable again) or with how it ended (an answer: it ran, but was not all posted).
pub async fn interrupted_elsewhere(
    outbox: &dyn Outbox,
    draft: &Draft,
    what: Interrupted,
) -> Result<(), SurfaceError> {
    let notice = match what {
        Interrupted::Run => RUN_INTERRUPTED,
        Interrupted::Answer => ANSWER_INTERRUPTED,
    };
    outbox.post(Reply::Notice(notice)).await?;
    let Some(message) = &draft.message else {
        return Ok(());
    };
    let message = MessageRef(message.clone());
    match what {
        Interrupted::Run => outbox.update(&message, Reply::Draft(draft)).await,
        Interrupted::Answer => {
            let by = draft.claimed_by.as_ref().unwrap_or(&draft.author);
            let status = Reply::Status {
                draft,
                status: RunStatus::Undelivered,
                by,
            };
            outbox.update(&message, status).await
        }
    }
}

/// Run: claims the draft for `by` (once, however many clicks), shows it running, runs it,
/// posts the answer and its files, and marks the draft with the outcome. Once claimed, the
/// run always finishes and the draft always shows how it ended, whatever fails to post.
pub async fn run(
    bot: &Bot,
    outbox: &dyn Outbox,
    receipt: &Receipt,
    draft_message: &MessageRef,
    id: DraftId,
    by: &Person,
) -> Result<(), SurfaceError> {
    // Files go to the platform, not to disk for good: a temporary folder per run, made before
    // the claim so that nothing after the claim can keep the run from finishing.
    let out_dir = tempfile::tempdir()?;
    let draft = match bot.start(id, by).await {
        Ok(draft) => draft,
        Err(failure) => return tell(outbox, &failure).await,
    };
    // Claimed: from here the run's lease answers for it (a process that dies now leaves an
    // interrupted run that any replica takes back), not the click's delivery.
    receipt.handled().await;
    let running = Reply::Status {
        draft: &draft,
        status: RunStatus::Running,
        by: &by.id,
    };
    if let Err(error) = outbox.update(draft_message, running).await {
        tracing::warn!(%error, "cannot show the run started");
    }
    let options = RunOptions {
        out_dir: Some(out_dir.path().to_path_buf()),
    };
    let status = match bot.finish(draft.clone(), by, &options).await {
        Ok(Finished::Interrupted { draft }) => {
            tracing::warn!(draft_id = %draft.id, "run interrupted by shutdown; the draft is runnable again");
            outbox.post(Reply::Notice(RUN_INTERRUPTED)).await?;
            return outbox.update(draft_message, Reply::Draft(&draft)).await;
        }
        Ok(Finished::Stopped { by: stopper, draft }) => {
            if let Err(error) = outbox.post(Reply::Notice(RUN_STOPPED)).await {
                tracing::warn!(%error, "cannot say the run stopped");
            }
            let stopped = Reply::Status {
                draft: &draft,
                status: RunStatus::Stopped,
                by: &stopper,
            };
            return outbox.update(draft_message, stopped).await;
        }
        Ok(Finished::Answered(answer)) => match bot
            .posting_answer(answer.draft.id, deliver(outbox, &answer))
            .await
        {
            Ok(()) => RunStatus::Ran {
                elapsed: answer.elapsed,
                row_count: answer.row_count,
            },
            Err(error) => {
                tracing::warn!(%error, "answer not delivered");
                RunStatus::Undelivered
            }
        },
        Err(failure) => {
            if let Err(error) = outbox.post(Reply::Failure(&failure)).await {
                tracing::warn!(%error, "failure not delivered");
            }
            RunStatus::Failed
        }
    };
    let done = Reply::Status {
        draft: &draft,
        status,
        by: &by.id,
    };
    outbox.update(draft_message, done).await
}

/// The answer in the conversation, then its chart and CSV.
async fn deliver(outbox: &dyn Outbox, answer: &Answer) -> Result<(), SurfaceError> {
    outbox.post(Reply::Answer(answer)).await?;
    let mut files = Vec::new();
    if let Some(chart) = &answer.chart {
        files.push(Attachment {
            filename: "chart.png".to_owned(),
            title: answer.draft.question.clone(),
            bytes: chart.png.clone(),
        });
    }
    files.push(Attachment {
        filename: "result.csv".to_owned(),
        title: "result.csv".to_owned(),
        bytes: tokio::fs::read(&answer.csv).await?,
    });
    outbox.attach(files).await
}

/// Cancel: closes the draft and shows who cancelled it.
pub async fn cancel(
    bot: &Bot,
    outbox: &dyn Outbox,
    draft_message: &MessageRef,
    id: DraftId,
    by: &Person,
) -> Result<(), SurfaceError> {
    match bot.cancel(id, by).await {
        Ok(draft) => {
            let status = Reply::Status {
                draft: &draft,
                status: RunStatus::Cancelled,
                by: &by.id,
            };
            outbox.update(draft_message, status).await
        }
        Err(failure) => tell(outbox, &failure).await,
    }
}

/// Stop: asks the run of the draft to stop, wherever it runs; that run then says so in the
/// conversation and offers the draft again.
pub async fn stop(
    bot: &Bot,
    outbox: &dyn Outbox,
    id: DraftId,
    by: &Person,
) -> Result<(), SurfaceError> {
    match bot.stop(id, by).await {
        Ok(()) => Ok(()),
        Err(failure) => tell(outbox, &failure).await,
    }
}

/// 👍 on an answer: recorded, and from an analyst a verified query; the person is told which.
pub async fn approve(
    bot: &Bot,
    outbox: &dyn Outbox,
    id: DraftId,
    by: &Person,
) -> Result<(), SurfaceError> {
    match bot.approve(id, by).await {
        Ok(approval) => {
            let said = match approval {
                Approval::Verified => VERIFIED,
                Approval::AlreadyVerified => ALREADY_VERIFIED,
                Approval::Noted => NOTED_GOOD,
            };
            outbox.tell_privately(Reply::Notice(said)).await
        }
        Err(failure) => tell(outbox, &failure).await,
    }
}

/// 👎 on an answer, once the person said what was wrong.
pub async fn complain(
    bot: &Bot,
    outbox: &dyn Outbox,
    id: DraftId,
    by: &Person,
    comment: &str,
) -> Result<(), SurfaceError> {
    match bot.complain(id, by, comment).await {
        Ok(()) => outbox.tell_privately(Reply::Notice(NOTED_BAD)).await,
        Err(failure) => tell(outbox, &failure).await,
    }
}

/// An edit: the bot checks the new SQL; the draft message shows it when it is allowed, and
/// the failure (a guard rejection, say) is returned for the platform's editor to show.
pub async fn show_edited(
    outbox: &dyn Outbox,
    draft_message: &MessageRef,
    draft: &Draft,
) -> Result<(), SurfaceError> {
    outbox.update(draft_message, Reply::Draft(draft)).await
}

/// A failure after a click: privately to the person who clicked when it concerns only them
/// (not allowed, already run), else to the conversation.
pub async fn tell(outbox: &dyn Outbox, failure: &Failure) -> Result<(), SurfaceError> {
    if failure.private {
        outbox.tell_privately(Reply::Failure(failure)).await
    } else {
        outbox.post(Reply::Failure(failure)).await.map(|_| ())
    }
}
