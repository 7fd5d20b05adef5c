//! Slack's size limits (platform contract rules 10-12, 15) and [`fit`], the one function every
//! message passes through so that Slack never rejects one for its size.
//!
//! Builders aim under the limits and say what they leave out; `fit` is the guarantee for what
//! they did not foresee. It cuts text, drops what cannot be cut without changing its meaning
//! (a button whose value is too long), and keeps the last block when there are too many, since
//! that is where the buttons are.

use slack_morphism::prelude::*;

use super::mrkdwn;

/// `text`, the notification fallback.
pub(super) const TEXT_CHARS: usize = 4_000;
pub(super) const MESSAGE_BLOCKS: usize = 50;
pub(super) const MODAL_BLOCKS: usize = 100;
/// A section's text, and any other text object.
pub(super) const SECTION_CHARS: usize = 3_000;
pub(super) const SECTION_FIELDS: usize = 10;
pub(super) const FIELD_CHARS: usize = 2_000;
pub(super) const CONTEXT_ELEMENTS: usize = 10;
pub(super) const ACTIONS_ELEMENTS: usize = 25;
pub(super) const BUTTON_LABEL_CHARS: usize = 75;
pub(super) const ACTION_VALUE_CHARS: usize = 2_000;
pub(super) const ACTION_ID_CHARS: usize = 255;
/// Rows of a table block, its header row included.
pub(super) const TABLE_ROWS: usize = 100;
pub(super) const TABLE_CELLS: usize = 20;
/// A `plain_text_input`, and a view's `private_metadata`.
pub(super) const INPUT_CHARS: usize = 3_000;
/// A modal's title, submit and close labels.
pub(super) const MODAL_LABEL_CHARS: usize = 24;

/// What a message says in notifications when its builder left `text` empty.
const FALLBACK_TEXT: &str = "querybot";

/// A message of `text` (escaped mrkdwn, the notification fallback) and `blocks`, within every
/// limit: at most one table, at most [`MESSAGE_BLOCKS`] blocks, each within its own limits.
pub(super) fn fit(text: &str, blocks: Vec<SlackBlock>) -> SlackMessageContent {
    let text = if text.trim().is_empty() {
        FALLBACK_TEXT
    } else {
        text
    };
    SlackMessageContent::new()
        .with_text(mrkdwn::cut_escaped(text, TEXT_CHARS))
        .with_blocks(fit_blocks(blocks, MESSAGE_BLOCKS))
}

/// Each block within its limits, one table at most, and at most `max_blocks` blocks: past that,
/// the first ones, a note saying how many were left out, and the last one.
pub(super) fn fit_blocks(blocks: Vec<SlackBlock>, max_blocks: usize) -> Vec<SlackBlock> {
    let mut seen_table = false;
    let mut blocks: Vec<SlackBlock> = blocks
        .into_iter()
        .filter_map(|block| match block {
            SlackBlock::Table(_) if seen_table => None,
            SlackBlock::Table(table) => {
                seen_table = true;
                fit_table(table)
            }
            block => fit_block(block),
        })
        .collect();
    if blocks.len() > max_blocks {
        let n_left_out = blocks.len() - (max_blocks - 1);
        let last = blocks.pop();
        blocks.truncate(max_blocks - 2);
        blocks.push(
            SlackContextBlock::new(vec![
                SlackBlockMarkDownText::new(format!("… {n_left_out} more blocks left out")).into(),
            ])
            .into(),
        );
        blocks.extend(last);
    }
    blocks
}

/// The block within its limits, or `None` when nothing valid is left of it.
fn fit_block(block: SlackBlock) -> Option<SlackBlock> {
    match block {
        SlackBlock::Section(mut section) => {
            section.text = section
                .text
                .map(|text| fit_text(text, SECTION_CHARS))
                .filter(|text| !text_is_empty(text));
            if let Some(fields) = &mut section.fields {
                fields.truncate(SECTION_FIELDS);
                for field in fields.iter_mut() {
                    *field = fit_text(field.clone(), FIELD_CHARS);
                }
                fields.retain(|field| !text_is_empty(field));
            }
            let has_fields = section.fields.as_ref().is_some_and(|f| !f.is_empty());
            (section.text.is_some() || has_fields).then(|| section.into())
        }
        SlackBlock::Context(mut context) => {
            context.elements = context
                .elements
                .into_iter()
                .filter_map(|element| match element {
                    SlackContextBlockElement::MarkDown(mut text) => {
                        text.text = mrkdwn::cut_escaped(&text.text, SECTION_CHARS);
                        (!text.text.trim().is_empty()).then_some(text.into())
                    }
                    SlackContextBlockElement::Plain(mut text) => {
                        text.text = mrkdwn::cut(&text.text, SECTION_CHARS);
                        (!text.text.trim().is_empty()).then_some(text.into())
                    }
                    image => Some(image),
                })
                .take(CONTEXT_ELEMENTS)
                .collect();
            (!context.elements.is_empty()).then(|| context.into())
        }
        SlackBlock::Actions(mut actions) => {
            actions.elements = actions
                .elements
                .into_iter()
                .filter_map(|element| match element {
                    SlackActionBlockElement::Button(button) => fit_button(button).map(Into::into),
                    other => Some(other),
                })
                .take(ACTIONS_ELEMENTS)
                .collect();
            (!actions.elements.is_empty()).then(|| actions.into())
        }
        SlackBlock::Table(table) => fit_table(table),
        other => Some(other),
    }
}

fn fit_text(text: SlackBlockText, max_chars: usize) -> SlackBlockText {
    match text {
        SlackBlockText::MarkDown(mut text) => {
            text.text = mrkdwn::cut_escaped(&text.text, max_chars);
            text.into()
        }
        SlackBlockText::Plain(mut text) => {
            text.text = mrkdwn::cut(&text.text, max_chars);
            text.into()
        }
    }
}

fn text_is_empty(text: &SlackBlockText) -> bool {
    match text {
        SlackBlockText::MarkDown(text) => text.text.trim().is_empty(),
        SlackBlockText::Plain(text) => text.text.trim().is_empty(),
    }
}

/// The button with its label cut, or `None` if its value or action id is too long: cut, they
/// would name another draft or handler.
fn fit_button(mut button: SlackBlockButtonElement) -> Option<SlackBlockButtonElement> {
    let too_long = |text: &str, max_chars| mrkdwn::n_chars(text) > max_chars;
    if button
        .value
        .as_deref()
        .is_some_and(|value| too_long(value, ACTION_VALUE_CHARS))
        || button
            .action_id
            .as_ref()
            .is_some_and(|id| too_long(&id.0, ACTION_ID_CHARS))
    {
        return None;
    }
    button.text = fit_label(button.text, BUTTON_LABEL_CHARS);
    Some(button)
}

/// A plain-text-only label cut to `max_chars`; the crate keeps its text private, so it goes
/// through the general text type and back.
pub(super) fn fit_label(
    label: SlackBlockPlainTextOnly,
    max_chars: usize,
) -> SlackBlockPlainTextOnly {
    match SlackBlockText::from(label) {
        SlackBlockText::Plain(mut text) => {
            text.text = mrkdwn::cut(&text.text, max_chars);
            text.into()
        }
        SlackBlockText::MarkDown(text) => mrkdwn::cut(&text.text, max_chars).into(),
    }
}

fn fit_table(mut table: SlackTableBlock) -> Option<SlackBlock> {
    table.rows.truncate(TABLE_ROWS);
    for row in &mut table.rows {
        row.truncate(TABLE_CELLS);
        for cell in row.iter_mut() {
            // Slack rejects an empty cell ("must be more than 0 characters").
            if let SlackTableCell::RawText(raw) = cell
                && raw.text.is_empty()
            {
                raw.text = " ".to_owned();
            }
        }
    }
    table.rows.retain(|row| !row.is_empty());
    if let Some(settings) = &mut table.column_settings {
        settings.truncate(TABLE_CELLS);
        // Slack has been seen to reject a column setting without `align`.
        for setting in settings.iter_mut() {
            setting.align.get_or_insert(SlackTableColumnAlign::Left);
        }
    }
    (!table.rows.is_empty()).then(|| table.into())
}
