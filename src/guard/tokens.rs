//! What the guard reads from tokens rather than the tree: nesting bounds before parsing, and
//! orderings by operator that have no node of their own.
//!
//! sqlparser builds operator chains (`1+1+…`, `a AND b AND …`, `x::t::t…`, `UNION` chains)
//! in a loop, so parsing never runs out of stack, but the tree it returns is as deep as the
//! chain is long, and dropping, comparing or printing it recurses once per level. A 64 KiB
//! text of `1+` once overflowed a 2 MiB worker stack while the tree was dropped, and took the
//! process with it. Counting the operators first bounds every chain before a tree exists.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, TokenizerError};

use crate::dialect::Dialect;

/// Most operators one text may hold. Each can add a level to the tree; this many levels drop
/// well inside a 2 MiB stack even in a debug build (a test checks it), and every gold query
/// of the benchmark corpora holds far fewer.
pub(super) const MAX_OPERATORS: usize = 1_000;

/// The text's tokens in the dialect's own rules, whitespace and comments included, each
/// with where it starts.
pub(super) fn tokenize(sql: &str, dialect: Dialect) -> Result<Vec<TokenWithSpan>, TokenizerError> {
    Tokenizer::new(dialect.parser(), sql).tokenize_with_location()
}

/// A literal that the databases read differently from sqlparser, whose printed form runs:
/// `123abc` prints as `123 AS abc` (PostgreSQL 16 refuses it), and `0x1F` is a number to
/// PostgreSQL 16, `0 AS x1F` to PostgreSQL 15, and a blob once printed for SQLite.
pub(super) fn misread_literal(tokens: &[TokenWithSpan], sql: &str) -> Option<String> {
    let next = tokens.iter().skip(1).map(|t| Some(&t.token)).chain([None]);
    tokens
        .iter()
        .zip(next)
        .find_map(|(token, next)| match (&token.token, next) {
            (Token::Number(number, _), Some(Token::Word(word)))
                if word
                    .value
                    .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') =>
            {
                Some(format!("{number}{}", word.value))
            }
            (Token::Number(number, _), _) if number.to_ascii_lowercase().starts_with("0x") => {
                Some(number.clone())
            }
            // The tokenizer gives `0x1F` and `X'1F'` the same token: the text tells them apart.
            (Token::HexStringLiteral(hex), _) => written_at(sql, token)
                .eq_ignore_ascii_case("0x")
                .then(|| format!("0x{hex}")),
            _ => None,
        })
}

/// The first two characters of the text where `token` starts.
fn written_at(sql: &str, token: &TokenWithSpan) -> String {
    let start = token.span.start;
    let line = usize::try_from(start.line).unwrap_or(0).saturating_sub(1);
    let column = usize::try_from(start.column).unwrap_or(0).saturating_sub(1);
    sql.split('\n')
        .nth(line)
        .map(|line| line.chars().skip(column).take(2).collect())
        .unwrap_or_default()
}

/// How many tokens may join two expressions or queries into one deeper node.
pub(super) fn count_operators(tokens: &[TokenWithSpan]) -> usize {
    tokens
        .iter()
        .filter(|token| is_operator(&token.token))
        .count()
}

fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(word) => matches!(
            word.keyword,
            Keyword::AND
                | Keyword::OR
                | Keyword::XOR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::NOTNULL
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::RLIKE
                | Keyword::REGEXP
                | Keyword::GLOB
                | Keyword::MATCH
                | Keyword::BETWEEN
                | Keyword::IN
                | Keyword::COLLATE
                | Keyword::AT
                | Keyword::OVERLAPS
                | Keyword::DIV
                | Keyword::UNION
                | Keyword::INTERSECT
                | Keyword::EXCEPT
                | Keyword::MINUS
        ),
        // Names, literals and punctuation that lists are made of add no depth.
        Token::EOF
        | Token::Number(..)
        | Token::Char(_)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::Placeholder(_)
        | Token::Comma
        | Token::Whitespace(_)
        | Token::LParen
        | Token::RParen
        | Token::Period
        | Token::SemiColon => false,
        // Every symbol operator, cast (`::`), subscript (`[`) and JSON arrow.
        _ => true,
    }
}

/// Whether `USING` is followed by something other than a join's `(columns)` or one of the
/// built-in comparison operators an ordering may use.
pub(super) fn orders_with_an_operator(tokens: &[TokenWithSpan]) -> bool {
    let mut tokens = tokens
        .iter()
        .map(|token| &token.token)
        .filter(|token| !matches!(token, Token::Whitespace(_)));
    while let Some(token) = tokens.next() {
        if matches!(token, Token::Word(word) if word.keyword == Keyword::USING)
            && !matches!(
                tokens.next(),
                Some(Token::LParen | Token::Lt | Token::Gt | Token::LtEq | Token::GtEq)
            )
        {
            return true;
        }
    }
    false
}
