//! Discord markdown for text querybot did not write (questions, SQL, LLM prose, cells):
//! escaped so it cannot format, quote, mention or open a code block, and cut to a length.
//!
//! Lengths are counted in characters, as Discord counts a message's 2,000.

pub(super) use crate::present::words::{cut, n_chars};

/// Shows nothing, but keeps backticks apart so they never form a fence.
const ZERO_WIDTH_SPACE: char = '\u{200B}';
const FENCE: &str = "```";

/// Characters that start formatting somewhere in Discord's markdown. A backslash before any
/// punctuation shows the punctuation itself, so escaping one that would not format is harmless.
const MARKUP: &[char] = &[
    '\\', '*', '_', '~', '`', '|', '>', '#', '-', '[', ']', '(', ')', '<', '@', ':',
];

/// Text shown as written: no bold, links, headings, quotes, spoilers, mentions or emoji.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if MARKUP.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Code as it goes inside a fence: three backticks in a row would close it, so a zero-width
/// space keeps them apart.
pub(super) fn fence_safe(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut run = 0;
    for c in code.chars() {
        if c == '`' {
            run += 1;
            if run == 3 {
                out.push(ZERO_WIDTH_SPACE);
                run = 1;
            }
        } else {
            run = 0;
        }
        out.push(c);
    }
    out
}

/// A fenced code block with a language for highlighting (`sql`, or empty).
pub(super) fn code_block(language: &str, code: &str) -> String {
    format!("{FENCE}{language}\n{}\n{FENCE}", fence_safe(code))
}

/// What [`code_block`] adds around its code.
pub(super) fn code_block_overhead(language: &str) -> usize {
    2 * FENCE.len() + language.len() + 2
}

/// A quoted line (`> …`), one quote marker per line of `text`.
pub(super) fn quote(text: &str, max_chars: usize) -> String {
    cut(text.trim(), max_chars)
        .lines()
        .map(|line| format!("> {}", escape(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_cannot_format_or_mention() {
        assert_eq!(escape("**bold** @everyone"), r"\*\*bold\*\* \@everyone");
        assert_eq!(escape("[x](http://e.com)"), r"\[x\]\(http\://e.com\)");
        assert_eq!(escape("<@123>"), r"\<\@123\>");
        assert_eq!(escape("plain words, 42."), "plain words, 42.");
    }

    #[test]
    fn code_cannot_close_its_fence() {
        let block = code_block("sql", "SELECT '```' AS x");
        assert_eq!(block.matches("```").count(), 2, "{block}");
        assert!(block.starts_with("```sql\n") && block.ends_with("\n```"));
        assert_eq!(
            n_chars(&code_block("sql", "x")),
            1 + code_block_overhead("sql")
        );
    }

    #[test]
    fn cuts_count_characters() {
        assert_eq!(cut("héllo wörld", 5), "héll…");
        assert_eq!(cut("short", 5), "short");
        assert_eq!(quote("a\nb", 100), "> a\n> b");
    }
}
