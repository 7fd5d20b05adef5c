//! Replies drawn for Discord: message text that fits its 2,000 characters (questions and
//! cells escaped, SQL and tables in code blocks that cannot be broken out of), the Run /
//! Edit / Cancel buttons carrying only the draft id, and the SQL editor modal.

use twilight_model::channel::message::Component;
use twilight_model::channel::message::component::{
    ActionRow, Button, ButtonStyle, TextInput, TextInputStyle,
};

use super::markdown::{self, code_block, code_block_overhead, cut, escape, n_chars, quote};
use crate::bot::{Answer, Draft, DraftId, Failure, HistoryEntry};
use crate::present::{Preview, table, words};
use crate::surface::Buttons;

/// Discord's limit on a message's text.
pub const MESSAGE_CHARS: usize = 2_000;
/// Discord's limit on a text input's value.
pub const INPUT_CHARS: usize = 4_000;
/// Discord's limit on a thread's name.
pub const THREAD_NAME_CHARS: usize = 100;

pub const ACTION_RUN: &str = "querybot_run";
pub const ACTION_EDIT: &str = "querybot_edit";
pub const ACTION_CANCEL: &str = "querybot_cancel";
pub const ACTION_STOP: &str = "querybot_stop";
pub const EDIT_MODAL: &str = "querybot_edit_sql";
pub const EDIT_INPUT: &str = "sql";
/// 👍 and 👎 under an answer, and the "what was wrong?" modal a 👎 opens.
pub const ACTION_GOOD: &str = "querybot_good";
/// Re-run, under a history, one button per question.
pub const ACTION_RERUN: &str = "querybot_rerun";
pub const ACTION_BAD: &str = "querybot_bad";
pub const FEEDBACK_MODAL: &str = "querybot_feedback";
pub const FEEDBACK_INPUT: &str = "comment";

const QUESTION_CHARS: usize = 300;
const EXPLANATION_CHARS: usize = 400;
const SUMMARY_CHARS: usize = 500;
const TABLE_WIDTH: usize = 80;
const MODAL_TITLE_CHARS: usize = 45;

/// A message as Discord takes it: text and rows of components.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    pub content: String,
    pub components: Vec<Component>,
}

impl Drawn {
    fn text(content: String) -> Drawn {
        Drawn {
            content: fit(content),
            components: Vec::new(),
        }
    }
}

/// A component's `custom_id`: the action and the draft id, nothing else.
pub fn custom_id(action: &str, draft: DraftId) -> String {
    format!("{action}:{draft}")
}

/// The action and draft of a `custom_id` querybot made; `None` for anything else.
pub fn parse_custom_id(custom_id: &str) -> Option<(&str, DraftId)> {
    let (action, draft) = custom_id.split_once(':')?;
    Some((action, draft.parse().ok()?))
}

pub fn progress(question: &str, status: &str) -> Drawn {
    Drawn::text(format!(
        "{}\n-# {}",
        quote(question, QUESTION_CHARS),
        escape(status)
    ))
}

pub fn draft(draft: &Draft) -> Drawn {
    Drawn {
        content: draft_body(draft, None),
        components: vec![buttons(draft.id, Buttons::Confirm)],
    }
}

/// The draft with `line` under it ("Ran by <@123> in 1.4 s · 120 rows") and the buttons
/// that fit what is happening to it.
pub fn draft_status(draft: &Draft, line: &str, buttons: Buttons) -> Drawn {
    let components = match buttons {
        Buttons::None => Vec::new(),
        buttons => vec![self::buttons(draft.id, buttons)],
    };
    Drawn {
        content: draft_body(draft, Some(line)),
        components,
    }
}

pub fn answer(answer: &Answer) -> Drawn {
    let mut parts = Vec::new();
    if let Some(summary) = answer
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        parts.push(escape(&cut(summary, SUMMARY_CHARS)));
    }
    let notes_room = 200;
    let used: usize = parts.iter().map(|p| n_chars(p) + 1).sum();
    let budget = MESSAGE_CHARS.saturating_sub(used + notes_room + code_block_overhead(""));
    let n_shown = match preview_text(&answer.preview, budget) {
        Some((text, n_shown)) => {
            parts.push(code_block("", &text));
            n_shown
        }
        None => 0,
    };
    let rows = words::rows_note(n_shown, answer.row_count, answer.truncated.is_some());
    parts.push(format!(
        "-# {rows} · {} · {}",
        words::duration(answer.elapsed),
        words::files_note(answer.chart.is_some())
    ));
    let mut drawn = Drawn::text(parts.join("\n"));
    drawn.components = vec![feedback_buttons(answer.draft.id)];
    drawn
}

/// A person's latest questions, numbered, with a Re-run button per number (five a row).
pub fn history(entries: &[HistoryEntry]) -> Drawn {
    let lines: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            format!(
                "{}. {}",
                i + 1,
                escape(&crate::surface::history_line(entry))
            )
        })
        .collect();
    let buttons: Vec<Component> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            Component::Button(Button {
                custom_id: Some(custom_id(ACTION_RERUN, entry.draft)),
                disabled: false,
                emoji: None,
                label: Some(format!("Re-run {}", i + 1)),
                style: ButtonStyle::Secondary,
                url: None,
                sku_id: None,
            })
        })
        .collect();
    let mut drawn = Drawn::text(lines.join("\n"));
    drawn.components = buttons
        .chunks(5)
        .take(5)
        .map(|row| {
            Component::ActionRow(ActionRow {
                components: row.to_vec(),
            })
        })
        .collect();
    drawn
}

/// 👍 / 👎 under an answer; like every button, they carry only the draft id.
fn feedback_buttons(draft: DraftId) -> Component {
    let button = |action: &str, label: &str| {
        Component::Button(Button {
            custom_id: Some(custom_id(action, draft)),
            disabled: false,
            emoji: None,
            label: Some(label.to_owned()),
            style: ButtonStyle::Secondary,
            url: None,
            sku_id: None,
        })
    };
    Component::ActionRow(ActionRow {
        components: vec![button(ACTION_GOOD, "👍"), button(ACTION_BAD, "👎")],
    })
}

/// "What was wrong?" after a 👎: the modal's custom id, title and text input.
pub fn feedback_modal(draft: &Draft) -> (String, String, Vec<Component>) {
    let input = TextInput {
        custom_id: FEEDBACK_INPUT.to_owned(),
        label: "What was wrong?".to_owned(),
        max_length: Some(INPUT_CHARS as u16),
        min_length: None,
        placeholder: Some("Analysts read this to fix the query or the examples.".to_owned()),
        required: Some(false),
        style: TextInputStyle::Paragraph,
        value: None,
    };
    let title = cut(
        &format!("What was wrong: {}", draft.question.trim()),
        MODAL_TITLE_CHARS,
    );
    let row = Component::ActionRow(ActionRow {
        components: vec![Component::TextInput(input)],
    });
    (custom_id(FEEDBACK_MODAL, draft.id), title, vec![row])
}

pub fn failure(failure: &Failure) -> Drawn {
    if failure.reference.is_empty() {
        return Drawn::text(escape(failure.user_message.trim()));
    }
    // A reference is a uuid, shown as code so it reads and copies as written.
    let reference = if failure.reference.contains('`') {
        escape(&failure.reference)
    } else {
        format!("`{}`", failure.reference)
    };
    Drawn::text(format!(
        "{}\n-# ref {reference}",
        escape(failure.user_message.trim())
    ))
}

pub fn notice(text: &str) -> Drawn {
    Drawn::text(escape(text.trim()))
}

/// The thread a question starts is named after it.
pub fn thread_name(question: &str) -> String {
    let name = question.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = if name.is_empty() {
        "question".to_owned()
    } else {
        name
    };
    cut(&name, THREAD_NAME_CHARS)
}

/// The SQL editor: one paragraph input holding the draft's SQL. `None` when the SQL is longer
/// than a text input holds.
pub fn edit_modal(draft: &Draft) -> Option<(String, String, Vec<Component>)> {
    if n_chars(&draft.sql) > INPUT_CHARS {
        return None;
    }
    let input = TextInput {
        custom_id: EDIT_INPUT.to_owned(),
        label: "SQL (read-only; checked again before it runs)".to_owned(),
        max_length: Some(INPUT_CHARS as u16),
        min_length: Some(1),
        placeholder: None,
        required: Some(true),
        style: TextInputStyle::Paragraph,
        value: Some(draft.sql.clone()).filter(|sql| !sql.is_empty()),
    };
    let title = cut(
        &format!("Edit SQL: {}", draft.question.trim()),
        MODAL_TITLE_CHARS,
    );
    let row = Component::ActionRow(ActionRow {
        components: vec![Component::TextInput(input)],
    });
    Some((custom_id(EDIT_MODAL, draft.id), title, vec![row]))
}

fn buttons(draft: DraftId, buttons: Buttons) -> Component {
    let button = |action: &str, label: &str, style: ButtonStyle| {
        Component::Button(Button {
            custom_id: Some(custom_id(action, draft)),
            disabled: false,
            emoji: None,
            label: Some(label.to_owned()),
            style,
            url: None,
            sku_id: None,
        })
    };
    let components = match buttons {
        Buttons::Confirm => vec![
            button(ACTION_RUN, "Run", ButtonStyle::Primary),
            button(ACTION_EDIT, "Edit", ButtonStyle::Secondary),
            button(ACTION_CANCEL, "Cancel", ButtonStyle::Secondary),
        ],
        Buttons::Stop => vec![button(ACTION_STOP, "Stop", ButtonStyle::Danger)],
        Buttons::None => Vec::new(),
    };
    Component::ActionRow(ActionRow { components })
}

/// The question, the SQL (cut to what fits, and said so), the explanation and the notes.
fn draft_body(draft: &Draft, status: Option<&str>) -> String {
    let question = quote(&draft.question, QUESTION_CHARS);
    let explanation = draft
        .explanation
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| escape(&cut(e, EXPLANATION_CHARS)));
    let mut notes: Vec<String> = Vec::new();
    notes.extend(
        crate::surface::plan_notes(draft)
            .iter()
            .map(|note| escape(note)),
    );
    // The verification and the status line name a person as a mention, which must stay one.
    notes.extend(crate::surface::verified_note(
        draft,
        crate::surface::mention_on("discord"),
    ));
    if let Some(status) = status {
        notes.push(status.to_owned());
    }
    let cut_note = escape(&words::sql_cut_note(n_chars(&draft.sql)));
    let fixed = n_chars(&question)
        + explanation.as_deref().map_or(0, |e| n_chars(e) + 1)
        + notes.iter().map(|n| n_chars(n) + 4).sum::<usize>()
        + n_chars(&cut_note)
        + 8
        + code_block_overhead("sql");
    let room = MESSAGE_CHARS.saturating_sub(fixed);
    let sql = draft.sql.trim();
    let sql = if n_chars(sql) > room {
        notes.insert(0, cut_note);
        cut(sql, room)
    } else {
        sql.to_owned()
    };
    let mut parts = vec![question, code_block("sql", &sql)];
    parts.extend(explanation);
    parts.extend(notes.iter().map(|note| format!("-# {note}")));
    fit(parts.join("\n"))
}

/// The table as monospace text within `budget` characters, and how many rows it shows.
fn preview_text(preview: &Preview, budget: usize) -> Option<(String, usize)> {
    if preview.columns.is_empty() || preview.rows.is_empty() {
        return None;
    }
    let (text, n_shown) = table::fit_text(preview, TABLE_WIDTH, budget, |line| {
        n_chars(&markdown::fence_safe(line)) + 1
    });
    Some((text, n_shown))
}

/// Text cut to Discord's 2,000 characters; what querybot composes stays within it already,
/// so this only guards against a miscount.
fn fit(text: String) -> String {
    if n_chars(&text) <= MESSAGE_CHARS {
        text
    } else {
        cut(&text, MESSAGE_CHARS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::render_tests::{Run, draft_of, preview_of};

    fn chars(drawn: &Drawn) -> usize {
        n_chars(&drawn.content)
    }

    #[test]
    fn every_reply_fits_a_discord_message_whatever_its_size() {
        let long = "x".repeat(10_000);
        let huge_sql = format!("SELECT {}", "column_name, ".repeat(900));
        let mut draft = draft_of(&long, &huge_sql);
        draft.explanation = Some(long.clone());
        let drawn = [
            progress(&long, "writing SQL…"),
            super::draft(&draft),
            draft_status(&draft, "Ran by <@1> in 1.4 s · 12 rows", Buttons::None),
            answer(&Run::of(preview_of(500, 12, &long)).answer()),
            notice(&long),
        ];
        for drawn in &drawn {
            assert!(chars(drawn) <= MESSAGE_CHARS, "{} chars", chars(drawn));
            assert_eq!(drawn.content.matches("```").count() % 2, 0, "fences close");
        }
        let shown = &drawn[1].content;
        assert!(shown.contains("too long to show in full"), "{shown}");
        assert!(shown.contains("```sql\nSELECT column_name"), "{shown}");
    }

    #[test]
    fn a_big_table_shows_the_rows_that_fit_and_says_how_many() {
        let answer = Run {
            row_count: 5_000,
            truncated: true,
            ..Run::of(preview_of(200, 3, "cell"))
        }
        .answer();
        let drawn = super::answer(&answer);
        assert!(chars(&drawn) <= MESSAGE_CHARS);
        let shown = drawn.content.lines().filter(|l| l.contains("cell")).count();
        assert!(shown > 10, "{}", drawn.content);
        assert!(
            drawn
                .content
                .contains(&format!("showing {shown} of 5,000+ rows")),
            "{}",
            drawn.content
        );
    }

    #[test]
    fn questions_and_prose_cannot_format_or_ping_but_the_status_mention_stays() {
        let mut draft = draft_of("**everyone** look @everyone <@123> ```", "SELECT '```'");
        draft.explanation = Some("[click](https://evil.example) __now__".to_owned());
        let drawn = draft_status(&draft, "Ran by <@42> in 1.4 s · 1 row", Buttons::None);
        let content = &drawn.content;
        assert!(content.contains(r"\*\*everyone\*\*"), "{content}");
        assert!(content.contains(r"\@everyone \<\@123\>"), "{content}");
        assert!(content.contains(r"\[click\]"), "{content}");
        assert!(content.contains("-# Ran by <@42> in 1.4 s"), "{content}");
        assert_eq!(
            content.matches("```").count(),
            2,
            "only the SQL's fence: {content}"
        );
        assert!(drawn.components.is_empty(), "no buttons once run");
    }

    #[test]
    fn a_large_scan_is_a_warning_on_the_draft() {
        let mut draft = draft_of("orders?", "SELECT 1");
        draft.scan = Some(crate::bot::Scan {
            bytes: 12 * 1024 * 1024 * 1024,
            partitions: Some((14, 300)),
            over_limit: true,
        });
        // As Discord shows it: escapes are not displayed.
        let content = super::draft(&draft).content.replace('\\', "");
        assert!(
            content.contains("Scans about 12 GiB (14 of 300 partitions)"),
            "{content}"
        );
        assert!(content.contains("check it before you Run"), "{content}");
        draft.scan = Some(crate::bot::Scan {
            over_limit: false,
            ..draft.scan.expect("a scan")
        });
        assert!(!super::draft(&draft).content.contains("before you Run"));
    }

    #[test]
    fn buttons_carry_only_the_draft_id() {
        let draft = draft_of("orders?", "SELECT 1");
        let drawn = super::draft(&draft);
        let Component::ActionRow(row) = &drawn.components[0] else {
            panic!("an action row");
        };
        let ids: Vec<String> = row
            .components
            .iter()
            .filter_map(|c| match c {
                Component::Button(b) => b.custom_id.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids,
            [ACTION_RUN, ACTION_EDIT, ACTION_CANCEL].map(|a| format!("{a}:{}", draft.id))
        );
        assert!(ids.iter().all(|id| id.len() <= 100));
        assert_eq!(parse_custom_id(&ids[0]), Some((ACTION_RUN, draft.id)));
        assert_eq!(parse_custom_id("querybot_run:not-a-draft"), None);
    }

    #[test]
    fn the_editor_holds_sql_up_to_four_thousand_characters() {
        let fits = draft_of("q", &"x".repeat(INPUT_CHARS));
        let (_, title, _) = edit_modal(&fits).expect("a modal");
        assert!(n_chars(&title) <= 45);
        assert!(edit_modal(&draft_of("q", &"x".repeat(INPUT_CHARS + 1))).is_none());
        assert_eq!(
            thread_name(&"word ".repeat(50)).chars().count(),
            THREAD_NAME_CHARS
        );
        assert_eq!(thread_name("  \n "), "question");
    }
}
