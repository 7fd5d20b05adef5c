//! Prompt assembly: instructions for the dialect, the linked schema, verified examples, the
//! conversation so far, and repair messages after a rejected attempt.

use chrono::NaiveDate;

use crate::dialect::Dialect;
use crate::llm::{Completion, Message, Role};
use crate::pipeline::examples::Example;

/// The model says this, and why, when the schema cannot answer the question.
pub const CANNOT: &str = "CANNOT";

/// Everything a drafting prompt is built from.
pub struct Inputs<'a> {
    pub dialect: Dialect,
    pub today: NaiveDate,
    /// The linked schema, rendered.
    pub schema: &'a str,
    pub examples: &'a [&'a Example],
    /// Earlier questions in the thread and the SQL that answered them, oldest first.
    pub history: &'a [(String, String)],
    pub question: &'a str,
}

pub fn drafting(inputs: &Inputs<'_>) -> Completion {
    let mut system = format!(
        "You write one read-only SQL query for a {dialect} database that answers the user's \
         question.\n\
         Rules:\n\
         - Reply with one ```sql code block holding exactly one SELECT statement (WITH is \
         fine), then one short sentence, in the language of the question, saying what the \
         result shows.\n\
         - Use only the tables and columns in the schema below. Never change data.\n\
         - Give output columns short, readable names. Order results meaningfully. Use LIMIT \
         for \"top N\" questions.\n\
         - For trends over time, return one row per period with the period first.\n\
         - {dialect_rules}\n\
         - If the schema cannot answer the question, reply with the word {CANNOT} and one \
         sentence saying why.\n\
         Today's date is {today}.\n\n\
         Schema:\n{schema}\n",
        dialect = dialect_name(inputs.dialect),
        dialect_rules = dialect_rules(inputs.dialect),
        today = inputs.today.format("%Y-%m-%d"),
        schema = inputs.schema.trim_end(),
    );
    if !inputs.examples.is_empty() {
        system.push_str("\nVerified examples for this database:\n");
        for example in inputs.examples {
            system.push_str(&format!(
                "Question: {}\n```sql\n{}\n```\n",
                example.question.trim(),
                example.sql.trim()
            ));
        }
    }
    let mut messages = Vec::new();
    if !inputs.history.is_empty() {
        system.push_str(
            "\nThis is a follow-up in a conversation: the user's new question refines the \
             previous query. Keep its logic and change only what the user asks for.\n",
        );
    }
    for (question, sql) in inputs.history {
        messages.push(Message {
            role: Role::User,
            content: question.clone(),
        });
        messages.push(Message {
            role: Role::Assistant,
            content: format!("```sql\n{}\n```", sql.trim()),
        });
    }
    messages.push(Message {
        role: Role::User,
        content: inputs.question.to_owned(),
    });
    Completion {
        system,
        messages,
        max_tokens: 1_024,
        temperature: 0.0,
    }
}

/// Adds the model's rejected answer and what was wrong with it, asking for a correction.
pub fn add_repair(completion: &mut Completion, answer: &str, problem: &str) {
    completion.messages.push(Message {
        role: Role::Assistant,
        content: answer.to_owned(),
    });
    completion.messages.push(Message {
        role: Role::User,
        content: format!(
            "That query cannot be used: {problem}\nReply with a corrected query in one ```sql \
             block, using only the tables and columns in the schema."
        ),
    });
}

/// A request for a one-paragraph summary of a result; only used when summaries are enabled.
pub fn summary(question: &str, table: &str) -> Completion {
    Completion {
        system: "You summarise query results for busy colleagues in one short paragraph, in \
                 the language of the question. State the key numbers; do not speculate."
            .to_owned(),
        messages: vec![Message {
            role: Role::User,
            content: format!("Question: {question}\n\nResult:\n{table}"),
        }],
        max_tokens: 300,
        temperature: 0.2,
    }
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "PostgreSQL",
        Dialect::Sqlite => "SQLite",
        Dialect::Snowflake => "Snowflake",
    }
}

fn dialect_rules(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "PostgreSQL: use date_trunc('month', col) and extract() for dates, ILIKE for \
             case-insensitive matching, and double quotes only for identifiers that need them."
        }
        Dialect::Sqlite => {
            "SQLite: dates and timestamps are ISO text; use strftime('%Y-%m', col) or date(col) \
             to group them (there is no date_trunc or extract); use || to join strings."
        }
        Dialect::Snowflake => {
            "Snowflake: use DATE_TRUNC('MONTH', col) and DATEADD for dates; unquoted identifiers \
             are upper case."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(history: &'a [(String, String)], examples: &'a [&'a Example]) -> Inputs<'a> {
        Inputs {
            dialect: Dialect::Sqlite,
            today: NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
            schema: "CREATE TABLE orders (id INTEGER PRIMARY KEY, ordered_at TIMESTAMP);",
            examples,
            history,
            question: "and only in 2024?",
        }
    }

    #[test]
    fn a_first_question_carries_schema_date_and_dialect() {
        let completion = drafting(&inputs(&[], &[]));
        assert!(completion.system.contains("SQLite"));
        assert!(completion.system.contains("strftime"));
        assert!(completion.system.contains("2026-11-21"));
        assert!(completion.system.contains("CREATE TABLE orders"));
        assert!(!completion.system.contains("follow-up"));
        assert_eq!(completion.messages.len(), 1);
    }

    #[test]
    fn a_follow_up_replays_the_thread_and_examples() {
        let history = [("orders per month".to_owned(), "SELECT 1".to_owned())];
        let example = Example {
            question: "revenue by region".into(),
            sql: "SELECT 2".into(),
        };
        let examples = [&example];
        let completion = drafting(&inputs(&history, &examples));
        assert!(completion.system.contains("follow-up"));
        assert!(
            completion
                .system
                .contains("Question: revenue by region\n```sql\nSELECT 2\n```")
        );
        let roles: Vec<Role> = completion.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
        assert_eq!(completion.messages[1].content, "```sql\nSELECT 1\n```");
    }

    #[test]
    fn a_repair_adds_the_answer_and_the_problem() {
        let mut completion = drafting(&inputs(&[], &[]));
        add_repair(
            &mut completion,
            "```sql\nSELECT nope FROM orders\n```",
            "no such column: nope",
        );
        assert_eq!(completion.messages.len(), 3);
        assert!(
            completion.messages[2]
                .content
                .contains("no such column: nope")
        );
    }
}
