//! The Block Kit builders, checked on the JSON Slack would receive.

use serde_json::{Value as Json, json};
use slack_morphism::prelude::*;

use super::*;
use crate::surface::render_tests::{Run, draft_of, preview_of};
use crate::warehouse::Value;

fn to_json(message: &impl serde::Serialize) -> Json {
    serde_json::to_value(message).expect("serializes")
}

fn blocks(message: &Json) -> &[Json] {
    message["blocks"].as_array().map_or(&[], Vec::as_slice)
}

fn blocks_of_type<'a>(message: &'a Json, kind: &str) -> Vec<&'a Json> {
    blocks(message)
        .iter()
        .filter(|block| block["type"] == kind)
        .collect()
}

fn section_texts(message: &Json) -> Vec<&str> {
    blocks_of_type(message, "section")
        .into_iter()
        .filter_map(|block| block["text"]["text"].as_str())
        .collect()
}

fn context_texts(message: &Json) -> Vec<&str> {
    blocks_of_type(message, "context")
        .into_iter()
        .flat_map(|block| block["elements"].as_array().into_iter().flatten())
        .filter_map(|element| element["text"].as_str())
        .collect()
}

fn n_chars(value: &Json) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

/// Every limit of platform contract rules 10-12, checked on the JSON, independently of how
/// `limits::fit` enforces them.
#[track_caller]
fn assert_within_limits(message: &Json) {
    let text = message["text"].as_str().expect("text is always set");
    assert!(!text.trim().is_empty(), "empty text");
    assert!(n_chars(&message["text"]) <= 4_000, "text too long");
    let blocks = blocks(message);
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    assert!(blocks_of_type(message, "table").len() <= 1, "two tables");
    for block in blocks {
        assert_block_within_limits(block);
    }
}

#[track_caller]
fn assert_block_within_limits(block: &Json) {
    fn non_empty(value: &Json) -> Option<&Vec<Json>> {
        value.as_array().filter(|items| !items.is_empty())
    }
    match block["type"].as_str() {
        Some("section") => {
            let text = &block["text"]["text"];
            assert!((1..=3_000).contains(&n_chars(text)), "section: {text}");
            let fences = text.as_str().map_or(0, |t| t.matches("```").count());
            assert_eq!(fences % 2, 0, "open code block: {text}");
            assert!(block.get("fields").is_none());
        }
        Some("context") => {
            let elements = non_empty(&block["elements"]).expect("context elements");
            assert!(elements.len() <= 10);
            for element in elements {
                assert!((1..=3_000).contains(&n_chars(&element["text"])));
            }
        }
        Some("actions") => {
            let elements = non_empty(&block["elements"]).expect("actions elements");
            assert!(elements.len() <= 25);
            for button in elements {
                assert!(n_chars(&button["text"]["text"]) <= 75);
                assert!(n_chars(&button["value"]) <= 2_000);
                assert!(n_chars(&button["action_id"]) <= 255);
            }
        }
        Some("table") => {
            let rows = non_empty(&block["rows"]).expect("table rows");
            assert!(rows.len() <= 100, "{} table rows", rows.len());
            for row in rows {
                let cells = non_empty(row).expect("cells");
                assert!(cells.len() <= 20, "{} cells", cells.len());
                for cell in cells {
                    assert_eq!(cell["type"], "raw_text");
                    assert!(n_chars(&cell["text"]) >= 1, "empty cell");
                }
            }
            for setting in block["column_settings"].as_array().into_iter().flatten() {
                assert!(setting["align"].is_string());
            }
        }
        Some("input") => {
            let element = &block["element"];
            let max_length = element["max_length"].as_u64().expect("max_length");
            assert!(max_length <= 3_000);
            assert!(n_chars(&element["initial_value"]) as u64 <= max_length);
        }
        other => panic!("unexpected block {other:?}"),
    }
}

#[track_caller]
fn assert_modal_within_limits(view: &Json) {
    assert_eq!(view["type"], "modal");
    for label in ["title", "submit", "close"] {
        assert!((1..=24).contains(&n_chars(&view[label]["text"])), "{label}");
    }
    assert!(n_chars(&view["private_metadata"]) <= 3_000);
    assert!(n_chars(&view["callback_id"]) <= 255);
    let blocks = blocks(view);
    assert!(blocks.len() <= 100);
    for block in blocks {
        assert_block_within_limits(block);
    }
}

/// No mrkdwn text (nor the fallback) holds a `<`: escaped text cannot mention or link.
#[track_caller]
fn assert_mentions_nobody(value: &Json) {
    match value {
        Json::Object(object) => {
            if object.get("type").is_some_and(|kind| kind == "mrkdwn") {
                let text = object["text"].as_str().unwrap_or_default();
                assert!(!text.contains('<'), "unescaped: {text}");
            }
            object.values().for_each(assert_mentions_nobody);
        }
        Json::Array(items) => items.iter().for_each(assert_mentions_nobody),
        _ => {}
    }
}

/// Removes fences, escapes and zero-width spaces: the code as a reader copies it.
fn code_in(sections: &[&str]) -> String {
    sections
        .iter()
        .filter(|text| text.starts_with("```"))
        .map(|text| {
            text.trim_start_matches("```")
                .trim_end_matches("```")
                .replace('\u{200B}', "")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn draft_buttons_carry_only_the_draft_id() {
    let draft = draft_of("orders per month?", "select month, count(*) from orders");
    let message = to_json(&super::draft(&draft));
    let actions = blocks_of_type(&message, "actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(
        actions[0]["elements"],
        json!([
            {"type": "button", "action_id": "querybot_run", "text": {"type": "plain_text", "text": "Run"},
             "value": draft.id.to_string(), "style": "primary"},
            {"type": "button", "action_id": "querybot_edit", "text": {"type": "plain_text", "text": "Edit"},
             "value": draft.id.to_string()},
            {"type": "button", "action_id": "querybot_cancel", "text": {"type": "plain_text", "text": "Cancel"},
             "value": draft.id.to_string()},
        ])
    );
    // The buttons are the last block, under the SQL.
    assert_eq!(blocks(&message).last(), Some(actions[0]));
    assert!(
        section_texts(&message)
            .iter()
            .any(|t| t.contains("select month"))
    );
    assert!(context_texts(&message).contains(&"Estimated result: about 1,200 rows"));
    assert_within_limits(&message);
}

#[test]
fn long_sql_is_split_into_sections_that_each_fit() {
    #[track_caller]
    fn check(sql: &str, n_sql_sections: usize) {
        let message = to_json(&draft(&draft_of("q", sql)));
        assert_within_limits(&message);
        let sections = section_texts(&message);
        let code: Vec<&str> = sections
            .iter()
            .copied()
            .filter(|t| t.starts_with("```"))
            .collect();
        assert_eq!(code.len(), n_sql_sections, "{sql:.40}");
        for text in &code {
            assert!(text.ends_with("\n```"), "{text:.40}");
        }
        let shown: String = code_in(&code).split_whitespace().collect();
        let expected: String = sql.split_whitespace().collect();
        assert_eq!(shown, expected);
    }
    check("select 1", 1);
    check(&"x".repeat(2_892), 1);
    check(&"x".repeat(2_893), 2);
    check(&"y".repeat(3_001), 2);
    check(
        &"select a, b, c from t where a < 1 and b > 2\n".repeat(230),
        5,
    );
    check(&"z".repeat(10_000), 4);
    // Escaping makes text longer: 2,000 `&` are 10,000 characters of mrkdwn.
    check(&"&".repeat(2_000), 4);
}

#[test]
fn sql_past_the_maximum_is_cut_with_a_note() {
    let message = to_json(&draft(&draft_of("q", &"select 1;\n".repeat(10_000))));
    assert_within_limits(&message);
    let code = section_texts(&message)
        .into_iter()
        .filter(|t| t.starts_with("```"))
        .count();
    assert_eq!(code, 8);
    assert!(
        context_texts(&message).contains(
            &"The SQL is too long to show in full (100,000 characters); this is its start."
        )
    );
    assert_eq!(blocks_of_type(&message, "actions").len(), 1);
}

#[test]
fn sql_cannot_break_out_of_its_code_block() {
    let sql = "select '```' as x, '<!here>' as y /* ``` */ from `t`";
    let message = to_json(&draft(&draft_of("q", sql)));
    let code = section_texts(&message)
        .into_iter()
        .filter(|t| t.starts_with("```"))
        .collect::<Vec<_>>();
    assert_eq!(code.len(), 1);
    assert_eq!(code[0].matches("```").count(), 2, "{}", code[0]);
    assert!(code[0].contains("&lt;!here&gt;"));
    assert_eq!(code_in(&code).trim(), sql);
    assert_mentions_nobody(&message);
}

#[test]
fn user_text_is_escaped_so_it_cannot_mention_anyone() {
    let nasty = "<!channel> ask <@U1> & <#C1|general> <https://x.test|click>";
    let escaped = "&lt;!channel&gt; ask &lt;@U1&gt; &amp; &lt;#C1|general&gt;";
    let mut with_explanation = draft_of(nasty, "select 1");
    with_explanation.explanation = Some(nasty.to_owned());
    let mut run = Run::of(preview_of(2, 2, nasty));
    run.summary = Some(nasty);
    run.question = nasty;
    let messages = [
        progress(nasty, nasty),
        draft(&with_explanation),
        draft_status(&with_explanation, "Cancelled", Buttons::None),
        answer(&run.answer()),
        failure(&Failure {
            user_message: nasty.to_owned(),
            detail: String::new(),
            private: false,
            reference: nasty.to_owned(),
        }),
        notice(nasty),
    ];
    for message in &messages {
        let message = to_json(message);
        assert_mentions_nobody(&message);
        assert!(!message["text"].as_str().unwrap_or_default().contains('<'));
        let all = message.to_string();
        assert!(all.contains(escaped), "{all}");
    }
}

#[test]
fn oversized_text_is_cut_to_the_section_limit() {
    #[track_caller]
    fn check(message: SlackMessageContent, ends_with: &str) {
        let message = to_json(&message);
        assert_within_limits(&message);
        let text = section_texts(&message)[0];
        assert!(text.ends_with(ends_with), "{:?}", &text[text.len() - 20..]);
    }
    check(notice(&"x".repeat(3_000)), "xxx");
    check(notice(&"x".repeat(3_001)), "x…");
    check(notice(&"&".repeat(3_000)), "&amp;…");
    check(
        failure(&Failure {
            user_message: "<".repeat(10_000),
            detail: String::new(),
            private: false,
            reference: "abc123".to_owned(),
        }),
        "&lt;…",
    );
}

#[test]
fn more_than_50_blocks_keep_the_first_ones_and_the_last() {
    #[track_caller]
    fn check(n_sections: usize, n_left_out: Option<usize>) {
        let mut input: Vec<SlackBlock> =
            (0..n_sections).map(|i| section(format!("s{i}"))).collect();
        input.push(buttons(&draft_of("q", "select 1"), Buttons::Confirm));
        let message = to_json(&limits::fit("text", input));
        assert_within_limits(&message);
        let kept = blocks(&message);
        assert_eq!(kept.len(), (n_sections + 1).min(50));
        assert_eq!(kept[0]["text"]["text"], "s0");
        assert_eq!(kept.last().map(|b| &b["type"]), Some(&json!("actions")));
        let note = n_left_out.map(|n| format!("… {n} more blocks left out"));
        assert_eq!(context_texts(&message).first().map(|t| t.to_string()), note);
    }
    check(49, None);
    check(50, Some(2));
    check(51, Some(3));
    check(500, Some(452));
}

#[test]
fn tables_are_trimmed_to_what_slack_accepts() {
    let table = |n_rows: usize, n_cells: usize, text: &str| -> SlackBlock {
        SlackTableBlock::new(vec![vec![SlackTableCell::from(text); n_cells]; n_rows])
            .with_column_settings(vec![SlackTableColumnSetting::new(); n_cells])
            .into()
    };
    let message = to_json(&limits::fit(
        "text",
        vec![table(120, 25, ""), table(2, 2, "second")],
    ));
    assert_within_limits(&message);
    let tables = blocks_of_type(&message, "table");
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["rows"].as_array().map(Vec::len), Some(100));
    assert_eq!(
        tables[0]["rows"][0][0],
        json!({"type": "raw_text", "text": " "})
    );
    assert_eq!(tables[0]["column_settings"][19], json!({"align": "left"}));
    assert!(tables[0]["column_settings"].get(20).is_none());
}

#[test]
fn a_small_preview_is_one_native_table() {
    let mut preview = preview_of(2, 3, "a");
    preview.rows[1][2] = Value::Null;
    preview.rows[0][1] = Value::Text(String::new());
    let message = to_json(&answer(&Run::of(preview).answer()));
    assert_within_limits(&message);
    let tables = blocks_of_type(&message, "table");
    assert_eq!(tables.len(), 1);
    let cell = |text: &str| json!({"type": "raw_text", "text": text});
    assert_eq!(
        tables[0]["rows"],
        json!([
            [cell("column_0"), cell("column_1"), cell("column_2")],
            [cell("0"), cell(" "), cell("a0")],
            [cell("1"), cell("a1"), cell("∅")],
        ])
    );
    assert_eq!(
        tables[0]["column_settings"],
        json!([{"align": "right"}, {"align": "left"}, {"align": "left"}])
    );
    assert!(section_texts(&message).is_empty());
}

#[test]
fn previews_too_big_for_a_table_are_trimmed_or_shown_as_text() {
    #[track_caller]
    fn check(n_rows: usize, n_columns: usize, n_table_rows: Option<usize>, note: &str) {
        let message = to_json(&answer(
            &Run::of(preview_of(n_rows, n_columns, "value")).answer(),
        ));
        assert_within_limits(&message);
        let tables = blocks_of_type(&message, "table");
        assert_eq!(
            tables
                .first()
                .and_then(|t| t["rows"].as_array())
                .map(Vec::len),
            n_table_rows
        );
        if n_table_rows.is_none() {
            let code = section_texts(&message);
            assert_eq!(code.len(), 1);
            assert!(code[0].starts_with("```\n colum"), "{}", code[0]);
            assert!(code[0].ends_with("\n```"));
        }
        assert!(
            context_texts(&message)[0].starts_with(note),
            "{:?}",
            context_texts(&message)
        );
    }
    check(99, 20, Some(100), "99 rows · ");
    check(101, 5, Some(100), "showing 99 of 101 rows · ");
    check(3, 21, None, "3 rows · ");
    check(101, 25, None, "showing 27 of 101 rows · ");
}

#[test]
fn the_monospace_table_marks_cut_rows_with_an_ellipsis() {
    let message = to_json(&answer(&Run::of(preview_of(101, 25, "&<>")).answer()));
    assert_within_limits(&message);
    let code = section_texts(&message)[0];
    let lines: Vec<&str> = code.lines().collect();
    assert_eq!(lines[lines.len() - 3], "…", "{code}");
    assert_eq!(lines[lines.len() - 2], "14 more columns");
    assert!(code.contains("&amp;&lt;&gt;0"));
}

#[test]
fn answer_notes_say_how_many_rows_and_what_follows() {
    #[track_caller]
    fn check(n_preview: usize, row_count: u64, truncated: bool, chart: bool, expected: [&str; 2]) {
        let mut run = Run::of(preview_of(n_preview, 2, "v"));
        run.row_count = row_count;
        run.truncated = truncated;
        run.chart = chart;
        let message = to_json(&answer(&run.answer()));
        assert_within_limits(&message);
        assert_eq!(context_texts(&message), expected);
    }
    let csv = "The full CSV follows in this thread.";
    let both = "The chart and the full CSV follow in this thread.";
    check(0, 0, false, false, ["no rows · 1.4 s", csv]);
    check(1, 1, false, true, ["1 row · 1.4 s", both]);
    check(3, 3, false, false, ["3 rows · 1.4 s", csv]);
    check(
        20,
        1_234,
        false,
        true,
        ["showing 20 of 1,234 rows · 1.4 s", both],
    );
    check(
        20,
        5_000,
        true,
        false,
        ["showing 20 of 5,000+ rows · 1.4 s", csv],
    );
}

#[test]
fn the_summary_comes_first_and_is_the_notification() {
    let mut run = Run::of(preview_of(2, 2, "v"));
    run.summary = Some("Orders grew 10% in March.");
    let message = to_json(&answer(&run.answer()));
    assert_eq!(section_texts(&message), ["Orders grew 10% in March."]);
    assert_eq!(blocks(&message)[0]["type"], "section");
    assert_eq!(message["text"], "Orders grew 10% in March. (2 rows)");

    let message = to_json(&answer(&Run::of(preview_of(2, 2, "v")).answer()));
    assert_eq!(message["text"], "Result for “orders per month?”: 2 rows");
}

#[test]
fn draft_status_replaces_the_buttons_with_the_line() {
    let draft = draft_of("orders per month?", "select 1");
    let message = to_json(&draft_status(
        &draft,
        "Ran by <@U123> in 1.4 s · 120 rows",
        Buttons::None,
    ));
    assert_within_limits(&message);
    assert!(blocks_of_type(&message, "actions").is_empty());
    assert_eq!(
        blocks(&message).last().map(|b| &b["elements"][0]["text"]),
        Some(&json!("Ran by <@U123> in 1.4 s · 120 rows"))
    );
    assert_eq!(
        section_texts(&message),
        to_json(&super::draft(&draft))["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "section")
            .filter_map(|b| b["text"]["text"].as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn progress_quotes_the_question_and_shows_the_status() {
    let message = to_json(&progress("orders\nper month?", "Writing SQL…"));
    assert_within_limits(&message);
    assert_eq!(section_texts(&message), ["> orders\n> per month?"]);
    assert_eq!(context_texts(&message), ["Writing SQL…"]);
    assert_eq!(message["text"], "Writing SQL… “orders\nper month?”");
}

#[test]
fn failure_is_one_sentence_and_a_reference() {
    let message = to_json(&failure(&Failure {
        user_message: "The warehouse refused the query (no such table).".to_owned(),
        detail: "a long chain that stays in the logs".to_owned(),
        private: false,
        reference: "abc123".to_owned(),
    }));
    assert_within_limits(&message);
    assert_eq!(
        section_texts(&message),
        ["The warehouse refused the query (no such table)."]
    );
    assert_eq!(context_texts(&message), ["(ref abc123)"]);
    assert!(!message.to_string().contains("logs"));
}

#[test]
fn edit_modal_has_what_slack_requires() {
    let draft = draft_of("orders?", "select 1");
    let view = to_json(&edit_modal(&draft).expect("short sql"));
    assert_modal_within_limits(&view);
    assert_eq!(view["type"], "modal");
    assert_eq!(view["callback_id"], "querybot_edit_sql");
    assert_eq!(view["private_metadata"], draft.id.to_string());
    assert_eq!(
        view["title"],
        json!({"type": "plain_text", "text": "Edit SQL"})
    );
    assert_eq!(
        view["submit"],
        json!({"type": "plain_text", "text": "Save"})
    );
    assert_eq!(
        view["close"],
        json!({"type": "plain_text", "text": "Cancel"})
    );
    let input = blocks_of_type(&view, "input");
    assert_eq!(input.len(), 1);
    assert_eq!(input[0]["block_id"], "sql");
    assert_eq!(
        input[0]["element"],
        json!({"type": "plain_text_input", "action_id": "sql", "multiline": true,
               "initial_value": "select 1", "max_length": 3000})
    );
    assert_eq!(
        input[0]["label"],
        json!({"type": "plain_text", "text": "SQL"})
    );
}

#[test]
fn edit_modal_refuses_sql_a_text_input_cannot_hold() {
    #[track_caller]
    fn check(sql: &str, opens: bool) {
        let modal = edit_modal(&draft_of("q", sql));
        assert_eq!(modal.is_ok(), opens, "{} chars", sql.chars().count());
        if let Ok(view) = modal {
            assert_modal_within_limits(&to_json(&view));
        }
    }
    check(&"x".repeat(3_000), true);
    check(&"é".repeat(3_000), true);
    check(&"x".repeat(3_001), false);
    check(&"x".repeat(100_000), false);
    assert_eq!(
        edit_modal(&draft_of("q", &"x".repeat(3_001))),
        Err(SqlTooLong)
    );
}

/// Inputs chosen to break a renderer: empty, mentions, fences, entities that grow when
/// escaped, multi-byte characters, many lines, one endless line.
fn nasty_inputs() -> Vec<String> {
    vec![
        String::new(),
        " \n\t ".to_owned(),
        "<!channel> <!here> <@U1> <#C1|general> <https://x.test|link>".to_owned(),
        "```".to_owned(),
        "```sql\nselect 1\n```\n``````".to_owned(),
        "`".repeat(5_000),
        "x".repeat(3_001),
        "&".repeat(5_000),
        "<>".repeat(4_000),
        "🦀é\u{200B}".repeat(4_000),
        "\n".repeat(2_000),
        "select a, b from t where c < 1;\n".repeat(2_000),
        "word ".repeat(20_000),
        "> quote\n* bullet\n*bold* _it_ ~s~".repeat(500),
    ]
}

#[test]
fn every_builder_stays_within_limits_on_nasty_inputs() {
    let inputs = nasty_inputs();
    for text in &inputs {
        let mut draft = draft_of(text, text);
        draft.explanation = Some(text.clone());
        draft.estimated_rows = Some(i64::MAX);
        let mut messages = vec![
            progress(text, text),
            super::draft(&draft),
            draft_status(&draft, "Cancelled", Buttons::None),
            failure(&Failure {
                user_message: text.clone(),
                detail: text.clone(),
                private: true,
                reference: text.clone(),
            }),
            notice(text),
        ];
        for (n_rows, n_columns) in [(0, 1), (1, 1), (5, 3), (101, 25), (150, 20)] {
            // Cells are cut to 40 characters; longer ones would only make the test slow.
            let cell = text.chars().take(100).collect::<String>();
            let mut run = Run::of(preview_of(n_rows, n_columns, &cell));
            run.summary = Some(text);
            run.question = text;
            run.chart = true;
            run.truncated = n_rows > 100;
            messages.push(answer(&run.answer()));
        }
        for message in &messages {
            let message = to_json(message);
            assert_within_limits(&message);
            assert_mentions_nobody(&message);
        }
        if let Ok(view) = edit_modal(&draft) {
            let view = to_json(&view);
            assert_modal_within_limits(&view);
            assert_mentions_nobody(&view);
        }
    }
}
