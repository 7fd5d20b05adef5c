//! Block Kit for everything querybot posts in Slack: progress, drafts with Run / Edit / Cancel,
//! answers with a native table, failures, notices, and the Edit SQL modal.
//!
//! Every message goes through [`limits::fit`], so none is rejected by Slack for its size. Text
//! querybot did not write (questions, SQL, LLM prose, error messages) is escaped, so it cannot
//! mention anyone; button values carry the draft id, never SQL.

mod limits;
mod mrkdwn;
#[cfg(test)]
mod tests;

use slack_morphism::prelude::*;

use crate::bot::{Answer, Draft, Failure, HistoryEntry};
use crate::present::{Preview, table, words};
use crate::surface::Buttons;

pub const ACTION_RUN: &str = "querybot_run";
pub const ACTION_EDIT: &str = "querybot_edit";
pub const ACTION_CANCEL: &str = "querybot_cancel";
pub const ACTION_STOP: &str = "querybot_stop";
/// 👍 and 👎 under an answer.
pub const ACTION_GOOD: &str = "querybot_good";
/// Re-run, beside each question of a history.
pub const ACTION_RERUN: &str = "querybot_rerun";
pub const ACTION_BAD: &str = "querybot_bad";
/// The "what was wrong?" modal; its text is at `[FEEDBACK_BLOCK][FEEDBACK_ACTION]`.
pub const FEEDBACK_CALLBACK: &str = "querybot_feedback";
pub const FEEDBACK_BLOCK: &str = "comment";
pub const FEEDBACK_ACTION: &str = "comment";
pub const EDIT_CALLBACK: &str = "querybot_edit_sql";
/// The Edit SQL modal's input block; the submission's value is at `[EDIT_BLOCK][EDIT_ACTION]`.
pub const EDIT_BLOCK: &str = "sql";
pub const EDIT_ACTION: &str = "sql";

/// Longest question shown, in characters: enough to recognise it, short enough not to bury
/// the SQL under it.
const QUESTION_CHARS: usize = 500;
/// Longest question in a notification.
const QUESTION_TEXT_CHARS: usize = 150;
/// Each SQL section stays a little under Slack's 3,000 so a section never sits at the edge.
const SQL_SECTION_CHARS: usize = 2_900;
/// SQL past this many sections (about 23,000 characters) is cut: nobody reviews more in chat.
const SQL_SECTIONS: usize = 8;
const EXPLANATION_CHARS: usize = 1_500;
const SUMMARY_CHARS: usize = 2_500;
/// Width of the monospace table when the native table cannot hold the columns; about what a
/// Slack code block shows on a laptop before wrapping.
const TABLE_TEXT_WIDTH: usize = 100;

/// Why [`edit_modal`] cannot open: Slack's text input holds at most 3,000 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sql is longer than the 3000 characters a slack text input holds")]
pub struct SqlTooLong;

/// The placeholder shown while SQL is being written; later replaced by [`draft`]. `status` is
/// plain text, like the question.
pub fn progress(question: &str, status: &str) -> SlackMessageContent {
    let status = mrkdwn::escape(status);
    let text = format!("{status} {}", question_text(question));
    limits::fit(
        &text,
        vec![
            section(mrkdwn::quote(question, QUESTION_CHARS)),
            context(vec![status]),
        ],
    )
}

/// A draft waiting for confirmation: the question, the SQL, what it does, and the buttons.
pub fn draft(draft: &Draft) -> SlackMessageContent {
    let mut blocks = draft_body(draft);
    blocks.push(buttons(draft, Buttons::Confirm));
    limits::fit(
        &format!("SQL to run for {}", question_text(&draft.question)),
        blocks,
    )
}

/// The draft with `line` under it ("Ran by <@U123> in 1.4 s · 120 rows") and the buttons that
/// fit what is happening to it. `line` is mrkdwn written by the surface, so it may mention
/// users; it must escape any text it did not write.
pub fn draft_status(draft: &Draft, line: &str, buttons: Buttons) -> SlackMessageContent {
    let mut blocks = draft_body(draft);
    blocks.push(context(vec![line.to_owned()]));
    if buttons != Buttons::None {
        blocks.push(self::buttons(draft, buttons));
    }
    limits::fit(
        &format!("{line}: {}", question_text(&draft.question)),
        blocks,
    )
}

/// A run's result: the summary if any, the preview as a native table (or monospace when it has
/// more columns than a table holds), how many rows it shows, the time taken, and that the chart
/// and CSV follow in the thread.
pub fn answer(answer: &Answer) -> SlackMessageContent {
    let mut blocks = Vec::new();
    let summary = answer
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|summary| !summary.is_empty());
    if let Some(summary) = summary {
        blocks.push(section(mrkdwn::escape(&mrkdwn::cut(
            summary,
            SUMMARY_CHARS,
        ))));
    }
    let n_shown = match preview_block(&answer.preview) {
        Some((block, n_shown)) => {
            blocks.push(block);
            n_shown
        }
        None => 0,
    };
    let rows = words::rows_note(n_shown, answer.row_count, answer.truncated.is_some());
    blocks.push(context(vec![
        format!("{rows} · {}", words::duration(answer.elapsed)),
        words::files_note(answer.chart.is_some()).to_owned(),
    ]));
    let text = match summary {
        Some(summary) => format!(
            "{} ({rows})",
            mrkdwn::escape(&mrkdwn::cut(summary, QUESTION_TEXT_CHARS))
        ),
        None => format!(
            "Result for {}: {rows}",
            question_text(&answer.draft.question)
        ),
    };
    blocks.push(feedback_buttons(&answer.draft));
    limits::fit(&text, blocks)
}

/// 👍 / 👎 under an answer; like every button, they carry only the draft id.
fn feedback_buttons(draft: &Draft) -> SlackBlock {
    let button = |action_id: &str, label: &str| {
        SlackBlockButtonElement::new(pt!(label))
            .with_action_id(SlackActionId::new(action_id.to_owned()))
            .with_value(draft.id.to_string())
            .into()
    };
    SlackActionsBlock::new(vec![button(ACTION_GOOD, "👍"), button(ACTION_BAD, "👎")]).into()
}

/// "What was wrong?" after a 👎; `metadata` finds the answer again on submission.
pub fn feedback_modal(draft: &Draft, metadata: String) -> SlackView {
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(FEEDBACK_ACTION.to_owned()))
        .with_multiline(true)
        .with_max_length(limits::INPUT_CHARS as u64);
    let blocks = vec![
        context(vec![mrkdwn::quote(&draft.question, QUESTION_CHARS)]),
        SlackInputBlock::new(pt!("What was wrong?"), input.into())
            .with_block_id(SlackBlockId::new(FEEDBACK_BLOCK.to_owned()))
            .with_hint(pt!("Analysts read this to fix the query or the examples."))
            .into(),
    ];
    let label = |text: &str| limits::fit_label(pt!(text), limits::MODAL_LABEL_CHARS);
    SlackView::Modal(
        SlackModalView::new(
            label("What was wrong?"),
            limits::fit_blocks(blocks, limits::MODAL_BLOCKS),
        )
        .with_submit(label("Send"))
        .with_close(label("Cancel"))
        .with_callback_id(SlackCallbackId::new(FEEDBACK_CALLBACK.to_owned()))
        .with_private_metadata(metadata),
    )
}

/// A person's latest questions, each a line with its own Re-run button.
pub fn history(entries: &[HistoryEntry]) -> SlackMessageContent {
    let blocks = entries
        .iter()
        .map(|entry| {
            let line = mrkdwn::escape(&mrkdwn::cut(
                &crate::surface::history_line(entry),
                QUESTION_CHARS,
            ));
            let rerun = SlackBlockButtonElement::new(pt!("Re-run"))
                .with_action_id(SlackActionId::new(ACTION_RERUN.to_owned()))
                .with_value(entry.draft.to_string());
            SlackSectionBlock::new()
                .with_text(md!(line))
                .with_accessory(rerun.into())
                .into()
        })
        .collect();
    limits::fit("Your latest questions", blocks)
}

/// What went wrong, in one sentence, and the reference that finds it in the logs (a refusal,
/// which logs nothing to find, has none).
pub fn failure(failure: &Failure) -> SlackMessageContent {
    let message = mrkdwn::escape(failure.user_message.trim());
    if failure.reference.is_empty() {
        return limits::fit(&message, vec![section(message.clone())]);
    }
    let reference = format!("(ref {})", mrkdwn::escape(&failure.reference));
    limits::fit(
        &format!("{message} {reference}"),
        vec![section(message.clone()), context(vec![reference])],
    )
}

/// Something the user should know that is not an error; plain text.
pub fn notice(text: &str) -> SlackMessageContent {
    let text = mrkdwn::escape(text.trim());
    limits::fit(&text, vec![section(text.clone())])
}

/// The Edit SQL modal for a draft; its id rides in `private_metadata`. SQL longer than a text
/// input holds cannot be edited here: the caller explains instead.
pub fn edit_modal(draft: &Draft) -> Result<SlackView, SqlTooLong> {
    if mrkdwn::n_chars(&draft.sql) > limits::INPUT_CHARS {
        return Err(SqlTooLong);
    }
    let mut input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(EDIT_ACTION.to_owned()))
        .with_multiline(true)
        .with_max_length(limits::INPUT_CHARS as u64);
    // Slack rejects an empty initial value.
    if !draft.sql.is_empty() {
        input = input.with_initial_value(draft.sql.clone());
    }
    let blocks = vec![
        context(vec![mrkdwn::quote(&draft.question, QUESTION_CHARS)]),
        SlackInputBlock::new(pt!("SQL"), input.into())
            .with_block_id(SlackBlockId::new(EDIT_BLOCK.to_owned()))
            .with_hint(pt!("Read-only SQL; it is checked again before it can run."))
            .into(),
    ];
    let label = |text: &str| limits::fit_label(pt!(text), limits::MODAL_LABEL_CHARS);
    Ok(SlackView::Modal(
        SlackModalView::new(
            label("Edit SQL"),
            limits::fit_blocks(blocks, limits::MODAL_BLOCKS),
        )
        .with_submit(label("Save"))
        .with_close(label("Cancel"))
        .with_callback_id(SlackCallbackId::new(EDIT_CALLBACK.to_owned()))
        .with_private_metadata(draft.id.to_string()),
    ))
}

/// A draft's question, SQL, explanation and estimate: what [`draft`] and [`draft_status`] share.
fn draft_body(draft: &Draft) -> Vec<SlackBlock> {
    let mut blocks = vec![section(mrkdwn::quote(&draft.question, QUESTION_CHARS))];
    let (sql, cut) = mrkdwn::code_blocks(&draft.sql, SQL_SECTION_CHARS, SQL_SECTIONS);
    blocks.extend(sql.into_iter().map(section));
    let mut notes = Vec::new();
    if cut {
        notes.push(words::sql_cut_note(mrkdwn::n_chars(&draft.sql)));
    }
    if let Some(explanation) = draft
        .explanation
        .as_deref()
        .map(str::trim)
        .filter(|explanation| !explanation.is_empty())
    {
        blocks.push(section(mrkdwn::escape(&mrkdwn::cut(
            explanation,
            EXPLANATION_CHARS,
        ))));
    }
    notes.extend(crate::surface::plan_notes(draft));
    notes.extend(crate::surface::verified_note(
        draft,
        crate::surface::mention_on("slack"),
    ));
    if !notes.is_empty() {
        blocks.push(context(notes));
    }
    blocks
}

fn buttons(draft: &Draft, buttons: Buttons) -> SlackBlock {
    // The draft id is all a click needs: the SQL is read back from the store, so nobody can
    // run SQL of their own by forging a payload.
    let button = |action_id: &str, label: &str| {
        SlackBlockButtonElement::new(pt!(label))
            .with_action_id(SlackActionId::new(action_id.to_owned()))
            .with_value(draft.id.to_string())
    };
    let elements = match buttons {
        Buttons::Confirm => vec![
            button(ACTION_RUN, "Run")
                .with_style(SlackBlockButtonStyle::Primary)
                .into(),
            button(ACTION_EDIT, "Edit").into(),
            button(ACTION_CANCEL, "Cancel").into(),
        ],
        Buttons::Stop => vec![
            button(ACTION_STOP, "Stop")
                .with_style(SlackBlockButtonStyle::Danger)
                .into(),
        ],
        Buttons::None => Vec::new(),
    };
    SlackActionsBlock::new(elements).into()
}

/// The preview as a block, and how many of its rows that block shows; `None` without rows.
fn preview_block(preview: &Preview) -> Option<(SlackBlock, usize)> {
    if preview.columns.is_empty() || preview.rows.is_empty() {
        return None;
    }
    Some(if preview.columns.len() <= limits::TABLE_CELLS {
        native_table(preview)
    } else {
        monospace_table(preview)
    })
}

/// Slack's table block: the header row, then as many rows as it holds, cells as raw text (not
/// mrkdwn, so nothing in a cell is read as a mention).
fn native_table(preview: &Preview) -> (SlackBlock, usize) {
    let rows: Vec<Vec<SlackTableCell>> = table::cells(preview)
        .into_iter()
        .take(limits::TABLE_ROWS)
        .map(|row| row.into_iter().map(SlackTableCell::from).collect())
        .collect();
    let n_shown = rows.len().saturating_sub(1);
    let settings = (0..preview.columns.len())
        .map(|index| {
            SlackTableColumnSetting::new().with_align(if preview.is_numeric_column(index) {
                SlackTableColumnAlign::Right
            } else {
                SlackTableColumnAlign::Left
            })
        })
        .collect();
    let block = SlackTableBlock::new(rows).with_column_settings(settings);
    (block.into(), n_shown)
}

/// The aligned text table in a code block: as many rows as fit one section, then `…` when
/// there are more.
fn monospace_table(preview: &Preview) -> (SlackBlock, usize) {
    let budget = limits::SECTION_CHARS - mrkdwn::CODE_BLOCK_CHARS;
    let (text, n_shown) = table::fit_text(preview, TABLE_TEXT_WIDTH, budget, |line| {
        mrkdwn::escaped_len(line) + 1
    });
    (section(mrkdwn::code_block(&text)), n_shown)
}

/// The question as a notification shows it: quoted, escaped, short.
fn question_text(question: &str) -> String {
    format!(
        "“{}”",
        mrkdwn::escape(&mrkdwn::cut(question.trim(), QUESTION_TEXT_CHARS))
    )
}

/// A section of escaped mrkdwn. `verbatim` stops Slack from turning bare names and URLs into
/// links and mentions by itself.
fn section(text: String) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(SlackBlockMarkDownText::new(text).with_verbatim(true).into())
        .into()
}

/// A context block of escaped mrkdwn elements, shown small under what they describe.
fn context(texts: Vec<String>) -> SlackBlock {
    SlackContextBlock::new(
        texts
            .into_iter()
            .map(|text| SlackBlockMarkDownText::new(text).with_verbatim(true).into())
            .collect(),
    )
    .into()
}
