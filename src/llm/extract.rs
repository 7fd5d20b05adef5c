//! Finds the SQL, and a short explanation, in a model's free-form answer.
//!
//! Models answer in many shapes: a fenced block, JSON with a `sql` field, or bare SQL with
//! prose around it. This only locates the statement; whether it may run is the guard's
//! decision, so a fenced `DELETE` is returned as readily as a `SELECT`. Bare text is held to
//! a stricter standard, because prose may mention "select" in a sentence.

use serde_json::{Map, Value};

/// A statement found in an answer, without its trailing semicolon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub sql: String,
    /// The model's own short description of the query, when it wrote one.
    pub explanation: Option<String>,
}

/// Longest explanation kept; a longer paragraph is cut to its first sentence.
const MAX_EXPLANATION_CHARS: usize = 400;

/// Fence languages taken to hold SQL.
const SQL_LANGUAGES: &[&str] = &[
    "sql",
    "postgresql",
    "postgres",
    "pgsql",
    "psql",
    "sqlite",
    "sqlite3",
    "mysql",
    "snowflake",
    "tsql",
    "plsql",
];

/// Second words that make "Select ..." a sentence rather than a query.
const DETERMINERS: &[&str] = &[
    "the", "an", "this", "that", "these", "those", "your", "my", "our", "which", "what", "some",
    "each", "every", "only", "any",
];

/// The SQL in `text`, or `None` when there is none (for example "I cannot answer that").
pub fn extract_sql(text: &str) -> Option<Extracted> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.starts_with('{')
        && let Some(found) = from_json(text, "")
    {
        return found;
    }
    if let Some(found) = from_fences(text) {
        return found;
    }
    if let Some(found) = embedded_json(text) {
        return found;
    }
    from_bare(text)
}

/// Reads `{"sql": ..., "explanation": ...}`. `None` when `candidate` is not such an object;
/// `Some(None)` when it is but holds no SQL (the model declined).
fn from_json(candidate: &str, prose: &str) -> Option<Option<Extracted>> {
    let object: Map<String, Value> = serde_json::from_str(candidate.trim()).ok()?;
    let sql = object.get("sql").or_else(|| object.get("query"))?;
    let explanation = object
        .get("explanation")
        .and_then(Value::as_str)
        .and_then(explanation)
        .or_else(|| explanation(prose));
    Some(
        sql.as_str()
            .and_then(finish_sql)
            .map(|sql| Extracted { sql, explanation }),
    )
}

/// A JSON object inside prose: "Here you go: {"sql": ...}".
fn embedded_json(text: &str) -> Option<Option<Extracted>> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let prose = format!("{}\n\n{}", &text[..start], &text[end + 1..]);
    from_json(text.get(start..=end)?, &prose)
}

struct Fenced {
    /// The info string's first word, lowercased; empty when the fence named no language.
    language: String,
    body: String,
}

impl Fenced {
    fn is_sql(&self) -> bool {
        SQL_LANGUAGES.contains(&self.language.as_str())
    }

    fn may_be_sql(&self) -> bool {
        self.is_sql() || self.language.is_empty()
    }

    fn may_be_json(&self) -> bool {
        self.language == "json"
            || (self.language.is_empty() && self.body.trim_start().starts_with('{'))
    }
}

/// Splits markdown into fenced blocks and the prose around them (each block leaves a
/// paragraph break). An unclosed fence runs to the end: the answer was cut off.
fn split_fences(text: &str) -> (Vec<Fenced>, String) {
    let mut blocks = Vec::new();
    let mut prose = String::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let fence = line
            .trim()
            .strip_prefix("```")
            .map(|rest| rest.trim_start_matches('`').trim());
        match (&mut open, fence) {
            (None, Some(info)) => {
                let language = info
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c: char| !c.is_ascii_alphanumeric())
                    .to_ascii_lowercase();
                open = Some((language, Vec::new()));
                prose.push_str("\n\n");
            }
            (None, None) => {
                prose.push_str(line);
                prose.push('\n');
            }
            (Some(_), Some("")) => {
                if let Some((language, lines)) = open.take() {
                    blocks.push(Fenced {
                        language,
                        body: lines.join("\n"),
                    });
                }
            }
            (Some((_, lines)), _) => lines.push(line),
        }
    }
    if let Some((language, lines)) = open {
        blocks.push(Fenced {
            language,
            body: lines.join("\n"),
        });
    }
    (blocks, prose)
}

/// The first block that reads as a query (or holds a JSON answer); failing that, the first
/// SQL-labelled block with any statement, so the guard can say what is wrong with it.
fn from_fences(text: &str) -> Option<Option<Extracted>> {
    let (blocks, prose) = split_fences(text);
    let found = |sql: String| {
        Some(Some(Extracted {
            sql,
            explanation: explanation(&prose),
        }))
    };
    for block in &blocks {
        if block.may_be_json()
            && let Some(answer) = from_json(&block.body, &prose)
        {
            return Some(answer);
        }
        if block.may_be_sql()
            && leading_keyword(&block.body).is_some()
            && let Some(sql) = finish_sql(&block.body)
        {
            return found(sql);
        }
    }
    let block = blocks
        .iter()
        .find(|b| b.is_sql() && finish_sql(&b.body).is_some())?;
    found(finish_sql(&block.body)?)
}

/// Bare SQL: a statement starting at SELECT or WITH at the start of a line or after a colon,
/// up to a `;`, the end, or the prose that follows it.
fn from_bare(text: &str) -> Option<Extracted> {
    let text = text
        .strip_prefix('`')
        .and_then(|t| t.strip_suffix('`'))
        .filter(|t| !t.contains('`'))
        .unwrap_or(text);
    for start in candidate_starts(text) {
        if leading_keyword(&text[start..]).is_none() {
            continue;
        }
        let (end, resume) = statement_end(text, start);
        if let Some(sql) = accept_bare(&text[start..end]) {
            let prose = format!("{}\n\n{}", &text[..start], &text[resume..]);
            return Some(Extracted {
                sql,
                explanation: explanation(&prose),
            });
        }
    }
    None
}

/// Byte offsets where a bare statement may begin: each line's first word, and the first word
/// after each colon.
fn candidate_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let first = line.len() - line.trim_start().len();
        if first < line.trim_end().len() {
            starts.push(offset + first);
        }
        for (colon, _) in line.match_indices(':') {
            let after = &line[colon + 1..];
            let word = after.len() - after.trim_start_matches([' ', '\t']).len();
            if !after[word..].trim().is_empty() {
                starts.push(offset + colon + 1 + word);
            }
        }
        offset += line.len();
    }
    starts
}

/// `select` or `with` when `text` begins (after comments) with that keyword.
fn leading_keyword(text: &str) -> Option<&'static str> {
    let word = first_word(skip_comments(text));
    ["select", "with"]
        .into_iter()
        .find(|keyword| word.eq_ignore_ascii_case(keyword))
}

fn first_word(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, next)| next);
        } else {
            return text;
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Lexical {
    Code,
    Quoted(char),
    LineComment,
    BlockComment,
}

/// Where the statement starting at `start` ends, and where the text after it resumes.
/// Semicolons and line breaks inside strings, quoted names and comments do not count.
fn statement_end(text: &str, start: usize) -> (usize, usize) {
    let mut state = Lexical::Code;
    let mut chars = text[start..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at = start + i;
        let next = chars.peek().map(|&(_, n)| n);
        state = match (state, c) {
            (Lexical::Code, ';') => return (at, at + 1),
            (Lexical::Code, '\'' | '"') => Lexical::Quoted(c),
            (Lexical::Quoted(quote), c) if c == quote => Lexical::Code,
            (Lexical::Code, '-') if next == Some('-') => Lexical::LineComment,
            (Lexical::Code, '/') if next == Some('*') => Lexical::BlockComment,
            (Lexical::BlockComment, '*') if next == Some('/') => {
                chars.next();
                Lexical::Code
            }
            (Lexical::Code | Lexical::LineComment, '\n') => {
                if ends_before(&text[at + 1..]) {
                    return (at, at);
                }
                Lexical::Code
            }
            (state, _) => state,
        };
    }
    (text.len(), text.len())
}

/// Whether the lines after a line break are no longer part of the statement: prose right
/// away, or after a blank line anything that does not read as a continuation of SQL.
fn ends_before(rest: &str) -> bool {
    let mut lines = rest.lines();
    let Some(next) = lines.next() else {
        return true;
    };
    if !next.trim().is_empty() {
        return is_prose_line(next);
    }
    match lines.find(|line| !line.trim().is_empty()) {
        None => true,
        Some(line) => is_prose_line(line) || !is_continuation(line),
    }
}

/// A line of prose: a capitalized sentence, a label ending in a colon, or a list item.
fn is_prose_line(line: &str) -> bool {
    if line.starts_with([' ', '\t']) {
        return false;
    }
    let line = line.trim_end();
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("• ") {
        return true;
    }
    let capitalized = line.chars().next().is_some_and(char::is_uppercase)
        && line.chars().nth(1).is_some_and(|c| !c.is_uppercase());
    let words = line.split_whitespace().count();
    (capitalized && line.ends_with(':'))
        || (capitalized && words >= 2 && line.ends_with(['.', '!', '?']))
}

/// A line that continues a statement after a blank line: indented, or starting with a clause.
fn is_continuation(line: &str) -> bool {
    const CLAUSES: &[&str] = &[
        "from",
        "where",
        "join",
        "inner",
        "left",
        "right",
        "full",
        "cross",
        "natural",
        "on",
        "using",
        "and",
        "or",
        "group",
        "order",
        "having",
        "limit",
        "offset",
        "fetch",
        "union",
        "intersect",
        "except",
        "window",
        "qualify",
        "select",
        "lateral",
        "when",
        "then",
        "else",
        "end",
    ];
    let trimmed = line.trim_start();
    line.starts_with([' ', '\t'])
        || trimmed.starts_with([')', '(', ','])
        || trimmed.starts_with("--")
        || CLAUSES
            .iter()
            .any(|clause| first_word(trimmed).eq_ignore_ascii_case(clause))
}

/// Whether a bare candidate is a query rather than a sentence; returns it finished.
fn accept_bare(candidate: &str) -> Option<String> {
    let candidate = candidate.trim();
    let keyword = first_word(candidate);
    let upper = keyword.chars().all(|c| c.is_ascii_uppercase());
    let rest = candidate[keyword.len()..].trim();
    // A final period belongs to a sentence around the SQL ("The query is: SELECT ... .");
    // only a query that is unmistakable otherwise survives one.
    let ends_sentence = candidate.ends_with('.');
    let looks_like_query = if keyword.eq_ignore_ascii_case("with") {
        is_cte(candidate)
    } else if keyword.eq_ignore_ascii_case("select") {
        let words: Vec<&str> = rest
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let sentence_start = words
            .first()
            .is_some_and(|w| DETERMINERS.iter().any(|d| w.eq_ignore_ascii_case(d)));
        let has_from = words.iter().any(|w| w.eq_ignore_ascii_case("from"));
        let has_marker =
            rest.contains(['(', '*', '\'']) || rest.contains(|c: char| c.is_ascii_digit());
        !rest.is_empty() && !sentence_start && (has_from || has_marker || (upper && !ends_sentence))
    } else {
        false
    };
    if !looks_like_query || candidate.ends_with(['?', '!']) || (ends_sentence && !upper) {
        return None;
    }
    finish_sql(candidate.strip_suffix('.').unwrap_or(candidate))
}

/// `WITH [RECURSIVE] name [(columns)] AS [NOT] [MATERIALIZED] (`, the shape of a CTE.
fn is_cte(text: &str) -> bool {
    let mut rest = text.trim_start();
    if !eat(&mut rest, "with") {
        return false;
    }
    eat(&mut rest, "recursive");
    let name_len = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.find('"').map_or(0, |end| end + 2)
    } else {
        first_word(rest).len()
    };
    if name_len == 0 {
        return false;
    }
    rest = rest[name_len..].trim_start();
    if let Some(columns) = rest.strip_prefix('(') {
        let Some((_, after)) = columns.split_once(')') else {
            return false;
        };
        rest = after.trim_start();
    }
    if !eat(&mut rest, "as") {
        return false;
    }
    eat(&mut rest, "not");
    eat(&mut rest, "materialized");
    rest.starts_with('(')
}

/// Consumes `keyword` (any case) and the space after it from the front of `rest`.
fn eat(rest: &mut &str, keyword: &str) -> bool {
    let found = first_word(rest).eq_ignore_ascii_case(keyword);
    if found {
        *rest = rest[keyword.len()..].trim_start();
    }
    found
}

/// Trims the statement and its trailing semicolons (and a fence a JSON value may carry);
/// `None` when nothing but comments remains.
fn finish_sql(text: &str) -> Option<String> {
    let mut sql = text.trim();
    if let Some(fenced) = sql.strip_prefix("```") {
        let body = fenced.split_once('\n').map_or("", |(_, body)| body);
        sql = body.trim_end().strip_suffix("```").unwrap_or(body);
    }
    sql = sql.trim();
    while let Some(rest) = sql.strip_suffix(';') {
        sql = rest.trim_end();
    }
    if skip_comments(sql).is_empty() {
        return None;
    }
    Some(sql.replace("\r\n", "\n"))
}

/// The first paragraph of prose that says something: not an introduction ending in a
/// colon, not filler like "Here you go.", not another statement; labels such as
/// "**Explanation:**" removed.
fn explanation(prose: &str) -> Option<String> {
    let mut paragraphs = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in prose.lines().map(str::trim) {
        if line.is_empty() {
            paragraphs.push(current.join(" "));
            current.clear();
        } else {
            current.push(line);
        }
    }
    paragraphs.push(current.join(" "));
    paragraphs
        .iter()
        .map(|p| without_label(p))
        .find(|p| !p.is_empty() && !p.ends_with(':') && !is_filler(p) && accept_bare(p).is_none())
        .map(shorten)
}

fn without_label(paragraph: &str) -> &str {
    let text = paragraph.trim_start_matches(['#', '*', '_', '>', ' ']);
    let Some(label) = text.get(..11) else {
        return text.trim();
    };
    if label.eq_ignore_ascii_case("explanation") {
        let rest = &text[11..];
        let stripped = rest.trim_start_matches(['*', '_', ' ']);
        if let Some(after) = stripped.strip_prefix(':') {
            return after.trim_start_matches(['*', '_', ' ']).trim();
        }
        if stripped.is_empty() {
            return "";
        }
    }
    text.trim()
}

fn is_filler(paragraph: &str) -> bool {
    let lower = paragraph.to_lowercase();
    let interjection = ["sure", "certainly", "of course", "okay", "ok", "absolutely"]
        .iter()
        .any(|word| lower.trim_end_matches(['!', '.', ',']) == *word);
    let preamble = ["here is", "here's", "here you go", "below is"]
        .iter()
        .any(|start| lower.starts_with(start))
        && paragraph.split_whitespace().count() <= 8;
    interjection || preamble
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_EXPLANATION_CHARS {
        return text.to_owned();
    }
    let sentence = text.find(". ").map_or(text, |end| &text[..=end]);
    match sentence.char_indices().nth(MAX_EXPLANATION_CHARS) {
        Some((cut, _)) => format!("{}…", &sentence[..cut]),
        None => sentence.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extracts from `answer` and compares with the expected SQL and explanation.
    #[track_caller]
    fn check(answer: &str, sql: Option<&str>, explanation: Option<&str>) {
        let expected = sql.map(|sql| Extracted {
            sql: sql.to_owned(),
            explanation: explanation.map(str::to_owned),
        });
        assert_eq!(extract_sql(answer), expected, "answer:\n{answer}");
    }

    /// Compares only the SQL.
    #[track_caller]
    fn sql(answer: &str, expected: &str) {
        assert_eq!(
            extract_sql(answer).map(|found| found.sql).as_deref(),
            Some(expected),
            "answer:\n{answer}"
        );
    }

    #[track_caller]
    fn none(answer: &str) {
        assert_eq!(extract_sql(answer), None, "answer:\n{answer}");
    }

    // Case tables stay one case per line; rustfmt would fold each long call over several.

    #[rustfmt::skip]
    #[test]
    fn fenced_blocks() {
        check("```sql\nSELECT 1;\n```", Some("SELECT 1"), None);
        check("```SQL\nSELECT 1\n```", Some("SELECT 1"), None);
        check("```\nselect id from t\n```", Some("select id from t"), None);
        check("```postgresql\nSELECT now()\n```", Some("SELECT now()"), None);
        check("```sqlite\nSELECT date('now')\n```", Some("SELECT date('now')"), None);
        check("  ```sql  \n  SELECT a\n  FROM t;;\n  ```  ", Some("SELECT a\n  FROM t"), None);
        check("````sql\nSELECT 1\n````", Some("SELECT 1"), None);
        check("```sql title=\"q\"\nSELECT 1\n```", Some("SELECT 1"), None);
        check("```sql\n-- orders by month\nWITH m AS (SELECT 1) SELECT * FROM m\n```", Some("-- orders by month\nWITH m AS (SELECT 1) SELECT * FROM m"), None);
        check("```sql\nSELECT a,\n       b\nFROM t\n\nWHERE a > 1\n```", Some("SELECT a,\n       b\nFROM t\n\nWHERE a > 1"), None);
        check("```sql\nSELECT 'a; b'; \n```", Some("SELECT 'a; b'"), None);
    }

    #[rustfmt::skip]
    #[test]
    fn prose_around_a_fence_becomes_the_explanation() {
        check("Here is the query:\n```sql\nSELECT count(*) FROM orders\n```\nThis counts every order.", Some("SELECT count(*) FROM orders"), Some("This counts every order."));
        check("This counts orders per month.\n\n```sql\nSELECT 1\n```", Some("SELECT 1"), Some("This counts orders per month."));
        check("To count orders, group by month:\n```sql\nSELECT 1\n```", Some("SELECT 1"), None);
        check("```sql\nSELECT 1\n```\n\n**Explanation:** Returns one.", Some("SELECT 1"), Some("Returns one."));
        check("```sql\nSELECT 1\n```\n\n### Explanation\n\nIt returns one row.", Some("SELECT 1"), Some("It returns one row."));
        check("```sql\nSELECT 1\n```\nExplanation:\nIt returns\none row.", Some("SELECT 1"), Some("It returns one row."));
        check("Sure!\n\n```sql\nSELECT 1\n```", Some("SELECT 1"), None);
        check("Here you go.\n```sql\nSELECT 1\n```\nIt returns one.", Some("SELECT 1"), Some("It returns one."));
        check("Certainly! Here's the SQL query:\n```sql\nSELECT 1\n```", Some("SELECT 1"), None);
        check(&format!("```sql\nSELECT 1\n```\n{} Then more.", "Long sentence. ".repeat(40)), Some("SELECT 1"), Some("Long sentence."));
    }

    #[rustfmt::skip]
    #[test]
    fn the_first_query_among_several_blocks() {
        sql("```sql\nSELECT 1;\n```\nor\n```sql\nSELECT 2;\n```", "SELECT 1");
        sql("```python\nprint(1)\n```\n```sql\nSELECT 2\n```", "SELECT 2");
        sql("Schema:\n```sql\nCREATE TABLE t (a int)\n```\nQuery:\n```sql\nSELECT a FROM t\n```", "SELECT a FROM t");
        sql("```\nsome text\n```\n```\nSELECT 3\n```", "SELECT 3");
        sql("```text\nSELECT 9\n```\n```sql\nSELECT 4\n```", "SELECT 4");
        // A SQL block that is not a query still goes to the guard, which explains the refusal.
        sql("```sql\nDELETE FROM orders;\n```", "DELETE FROM orders");
        // A fence cut off by the token limit runs to the end.
        sql("```sql\nSELECT a FROM t WHERE", "SELECT a FROM t WHERE");
    }

    #[rustfmt::skip]
    #[test]
    fn json_answers() {
        check(r#"{"sql": "SELECT 1;", "explanation": "One row."}"#, Some("SELECT 1"), Some("One row."));
        check(r#"{"sql": "SELECT a\nFROM t\nWHERE b = 'x'"}"#, Some("SELECT a\nFROM t\nWHERE b = 'x'"), None);
        check(r#"{"sql": "SELECT a\r\nFROM t"}"#, Some("SELECT a\nFROM t"), None);
        check(r#"{"sql": "SELECT \"Name\" FROM t", "explanation": "Names."}"#, Some("SELECT \"Name\" FROM t"), Some("Names."));
        check("```json\n{\"sql\": \"SELECT 2\", \"explanation\": \"Two.\"}\n```", Some("SELECT 2"), Some("Two."));
        check("```\n{\"sql\": \"SELECT 2\"}\n```", Some("SELECT 2"), None);
        check("```json\n{\"sql\": \"SELECT 2\"}\n```\nIt returns two.", Some("SELECT 2"), Some("It returns two."));
        check(r#"Here you go: {"sql": "SELECT 3", "explanation": "Three."}"#, Some("SELECT 3"), Some("Three."));
        check(r#"{"query": "SELECT 4"}"#, Some("SELECT 4"), None);
        check(r#"{"sql": "```sql\nSELECT 5\n```"}"#, Some("SELECT 5"), None);
        check(r#"{"sql": "SELECT '{x}'", "explanation": ""}"#, Some("SELECT '{x}'"), None);
        none(r#"{"sql": null, "explanation": "There is no table of refunds."}"#);
        none(r#"{"sql": "", "explanation": "Cannot answer."}"#);
        none("```json\n{\"sql\": null}\n```");
    }

    #[rustfmt::skip]
    #[test]
    fn bare_sql() {
        check("SELECT 1", Some("SELECT 1"), None);
        check("select id, name from customers;", Some("select id, name from customers"), None);
        check("SELECT CURRENT_DATE", Some("SELECT CURRENT_DATE"), None);
        check("`SELECT 1`", Some("SELECT 1"), None);
        check("WITH m AS (\n  SELECT 1 AS x\n)\nSELECT x FROM m;", Some("WITH m AS (\n  SELECT 1 AS x\n)\nSELECT x FROM m"), None);
        check("with recursive r(n) as (select 1) select n from r", Some("with recursive r(n) as (select 1) select n from r"), None);
        check("WITH \"Big\" AS MATERIALIZED (SELECT 1) SELECT * FROM \"Big\"", Some("WITH \"Big\" AS MATERIALIZED (SELECT 1) SELECT * FROM \"Big\""), None);
        check("SELECT 'a;b' AS x, \"c;d\" FROM t -- ends; here\nWHERE y = 'it''s'; SELECT 2;", Some("SELECT 'a;b' AS x, \"c;d\" FROM t -- ends; here\nWHERE y = 'it''s'"), None);
        check("SELECT 1 /* a;\n\nb */ + 2", Some("SELECT 1 /* a;\n\nb */ + 2"), None);
        check("SELECT x::date FROM t", Some("SELECT x::date FROM t"), None);
    }

    #[rustfmt::skip]
    #[test]
    fn bare_sql_ends_where_the_prose_begins() {
        check("SQL: SELECT count(*) FROM orders", Some("SELECT count(*) FROM orders"), None);
        check("The query is: SELECT count(*) FROM orders.", Some("SELECT count(*) FROM orders"), None);
        check("Here is the query:\nSELECT a\nFROM t;\nIt lists every a.", Some("SELECT a\nFROM t"), Some("It lists every a."));
        check("Here is the query:\n\nSELECT a\nFROM t\n\nIt lists every a.", Some("SELECT a\nFROM t"), Some("It lists every a."));
        check("SELECT a\nFROM t\nThis lists every a.", Some("SELECT a\nFROM t"), Some("This lists every a."));
        check("SELECT a\nFROM t\nIt's simple.", Some("SELECT a\nFROM t"), Some("It's simple."));
        check("SELECT a\nFROM t\n\nWHERE a > 1\n  AND b < 2\n\nNote that b is a count.", Some("SELECT a\nFROM t\n\nWHERE a > 1\n  AND b < 2"), Some("Note that b is a count."));
        check("SELECT a FROM t\n\nsome notes without a period", Some("SELECT a FROM t"), Some("some notes without a period"));
        check("SELECT a FROM t\n- counts a\n- fast", Some("SELECT a FROM t"), Some("- counts a - fast"));
        check("SELECT a FROM t\nExplanation:\nIt reads t.", Some("SELECT a FROM t"), Some("It reads t."));
        check("You asked for totals.\nSELECT sum(x) FROM t", Some("SELECT sum(x) FROM t"), Some("You asked for totals."));
    }

    #[rustfmt::skip]
    #[test]
    fn windows_line_endings() {
        check("```sql\r\nSELECT a\r\nFROM t;\r\n```\r\nLists a.", Some("SELECT a\nFROM t"), Some("Lists a."));
        check("Query:\r\nSELECT 1\r\n\r\nOne row.", Some("SELECT 1"), Some("One row."));
        check("{\"sql\": \"SELECT 1\"}\r\n", Some("SELECT 1"), None);
    }

    #[rustfmt::skip]
    #[test]
    fn prose_that_mentions_select_is_not_sql() {
        none("");
        none("   \n ");
        none("I cannot answer that.");
        none("I cannot answer that: there is no table of refunds.");
        none("You can select the columns you want from the orders table.");
        none("Select the rows from the orders table.");
        none("Select rows from the table.");
        none("select rows from the table.");
        none("SELECT is the keyword you need.");
        none("SELECT statements read data.");
        none("Select an option below");
        none("Which orders do you mean? Select one from the list?");
        none("With this data you cannot tell refunds from returns.");
        none("With regard to refunds: there are none.");
        none("Note: select carefully.");
        none("```sql\n-- I cannot answer this with the given schema\n```");
        none("```sql\n```");
        none("```python\nprint('select')\n```");
        none(r#"{"answer": "no"}"#);
    }
}
