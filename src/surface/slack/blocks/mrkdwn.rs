//! Slack mrkdwn for text querybot did not write (questions, SQL, LLM prose, error messages):
//! escaping, quoting, fenced code that cannot be broken out of, and cutting to a length.
//!
//! Lengths are counted in characters (Unicode scalar values), as Slack counts them.

pub(super) use crate::present::words::{cut, n_chars};

const ELLIPSIS: char = '…';
/// Shows nothing, but keeps backticks apart so they never form a fence.
const ZERO_WIDTH_SPACE: char = '\u{200B}';
const FENCE: &str = "```";
/// What wrapping text in a code block adds: the fence and a line break at either end.
const FENCE_CHARS: usize = 2 * (FENCE.len() + 1);

/// Text made safe for mrkdwn: it cannot mention, link, or open a code block.
///
/// Slack reads `<…>` as mentions and links and `&` as the start of an entity everywhere in
/// mrkdwn, code blocks included, and asks apps to escape exactly these three characters.
pub(super) fn escape(text: &str) -> String {
    escape_entities(&break_fences(text))
}

fn escape_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

fn escaped_chars(c: char) -> usize {
    match c {
        '&' => 5,
        '<' | '>' => 4,
        _ => 1,
    }
}

/// Escaped mrkdwn cut to at most `max_chars`: never inside an entity or a `<…>` mention, and a
/// code block the cut leaves open is closed again, so the rest of the message stays readable.
pub(super) fn cut_escaped(text: &str, max_chars: usize) -> String {
    if n_chars(text) <= max_chars {
        return text.to_owned();
    }
    let closing = format!("\n{FENCE}");
    let room = max_chars.saturating_sub(1 + n_chars(&closing));
    let mut kept: String = text.chars().take(room).collect();
    // An `&` with no `;` after it, or a `<` with no `>`, was cut through.
    if let Some(amp) = kept.rfind('&')
        && !kept[amp..].contains(';')
    {
        kept.truncate(amp);
    }
    if let Some(open) = kept.rfind('<')
        && !kept[open..].contains('>')
    {
        kept.truncate(open);
    }
    kept.push(ELLIPSIS);
    if kept.matches(FENCE).count() % 2 == 1 {
        kept.push_str(&closing);
    }
    kept
}

/// The text as a block quote, cut to `max_chars` first.
pub(super) fn quote(text: &str, max_chars: usize) -> String {
    let text = escape(&cut(text.trim(), max_chars));
    if text.is_empty() {
        return ">".to_owned();
    }
    text.lines()
        .map(|line| format!("> {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Consecutive backticks would open or close a code block; a zero-width space between them
/// keeps them apart. SQL rarely has two backticks in a row, so what a reader copies from a
/// code block is almost always exactly the SQL.
fn break_fences(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut after_backtick = false;
    for c in code.chars() {
        if c == '`' && after_backtick {
            out.push(ZERO_WIDTH_SPACE);
        }
        after_backtick = c == '`';
        out.push(c);
    }
    out
}

/// The text as one code block, escaped.
pub(super) fn code_block(text: &str) -> String {
    format!("{FENCE}\n{}\n{FENCE}", escape(text))
}

/// How many characters [`escape`] makes of `text`, without building it.
pub(super) fn escaped_len(text: &str) -> usize {
    let mut n = 0;
    let mut after_backtick = false;
    for c in text.chars() {
        if c == '`' && after_backtick {
            n += 1;
        }
        after_backtick = c == '`';
        n += escaped_chars(c);
    }
    n
}

/// How many characters [`code_block`] adds around the escaped text.
pub(super) const CODE_BLOCK_CHARS: usize = FENCE_CHARS;

/// Code split into code blocks of at most `max_chars` characters each, fences included: at line
/// ends where a line fits, else inside the line (never inside an escaped character). At most
/// `max_blocks`; the second value says whether code was left out.
pub(super) fn code_blocks(code: &str, max_chars: usize, max_blocks: usize) -> (Vec<String>, bool) {
    let budget = max_chars.saturating_sub(FENCE_CHARS).max(1);
    let mut chunks = Chunks {
        done: Vec::new(),
        current: String::new(),
        current_chars: 0,
        budget,
    };
    for line in break_fences(code.trim()).split_inclusive('\n') {
        let escaped = escape_entities(line);
        let line_chars = n_chars(&escaped);
        if line_chars <= budget {
            chunks.push(&escaped, line_chars);
        } else {
            for c in line.chars() {
                if chunks.done.len() > max_blocks {
                    break;
                }
                let mut piece = String::new();
                push_escaped(&mut piece, c);
                chunks.push(&piece, escaped_chars(c));
            }
        }
        if chunks.done.len() > max_blocks {
            break;
        }
    }
    chunks.flush();
    let mut blocks: Vec<String> = chunks
        .done
        .into_iter()
        .map(|chunk| format!("{FENCE}\n{}\n{FENCE}", chunk.trim_end_matches('\n')))
        .collect();
    let cut = blocks.len() > max_blocks;
    blocks.truncate(max_blocks);
    (blocks, cut)
}

/// Escaped pieces of code gathered into chunks of at most `budget` characters.
struct Chunks {
    done: Vec<String>,
    current: String,
    current_chars: usize,
    budget: usize,
}

impl Chunks {
    fn push(&mut self, piece: &str, piece_chars: usize) {
        if self.current_chars + piece_chars > self.budget {
            self.flush();
        }
        self.current.push_str(piece);
        self.current_chars += piece_chars;
    }

    fn flush(&mut self) {
        if !self.current.trim().is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
        self.current.clear();
        self.current_chars = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_mention_or_entity_start() {
        let check = |input: &str, expected: &str| assert_eq!(escape(input), expected);
        check("<!channel> hi", "&lt;!channel&gt; hi");
        check("<@U1> & <#C1|x>", "&lt;@U1&gt; &amp; &lt;#C1|x&gt;");
        check("a &amp; b", "a &amp;amp; b");
        check("plain *bold* `code`", "plain *bold* `code`");
        check("a ``` b", "a `\u{200B}`\u{200B}` b");
    }

    #[test]
    fn cutting_escaped_text_never_splits_an_entity_and_closes_fences() {
        let check = |input: &str, max: usize, expected: &str| {
            let out = cut_escaped(input, max);
            assert_eq!(out, expected);
            assert!(n_chars(&out) <= max, "{out:?}");
        };
        check("short", 10, "short");
        check("abcdefghij&amp;xyz", 16, "abcdefghij…");
        check("Ran by <@U123> ok", 13, "Ran by …");
        check(
            "```\nselect 1 from t where x = 1\n```",
            20,
            "```\nselect 1 fr…\n```",
        );
    }

    #[test]
    fn quotes_mark_every_line() {
        assert_eq!(quote("a\n<b>", 100), "> a\n> &lt;b&gt;");
        assert_eq!(quote("  ", 100), ">");
        assert_eq!(quote("abcdef", 4), "> abc…");
    }

    #[test]
    fn backticks_cannot_close_the_block() {
        let block = code_block("select '```' as `x`, ``");
        assert_eq!(block.matches(FENCE).count(), 2, "{block}");
        assert_eq!(
            n_chars(&block),
            CODE_BLOCK_CHARS + escaped_len("select '```' as `x`, ``")
        );
    }

    #[test]
    fn code_splits_at_line_ends_within_the_limit() {
        let code = "select a,\n  b\nfrom t\n";
        let (blocks, cut) = code_blocks(code, 8 + 14, 5);
        assert_eq!(blocks, ["```\nselect a,\n  b\n```", "```\nfrom t\n```"]);
        assert!(!cut);

        let (blocks, cut) = code_blocks(&"&".repeat(100), 8 + 12, 3);
        assert_eq!(blocks, ["```\n&amp;&amp;\n```"; 3]);
        assert!(cut);
    }
}
