//! What the guard reads from tokens rather than the tree: nesting bounds before parsing, and
//! orderings by operator that have no node of their own.
//!
//! sqlparser builds operator chains (`1+1+…`, `a AND b AND …`, `x::t::t…`, `UNION` chains)
//! in a loop, so parsing never runs out of stack, but the tree it returns is as deep as the
//! chain is long, and dropping, comparing or printing it recurses once per level. A 64 KiB
//! text of `1+` once overflowed a 2 MiB worker stack while the tree was dropped, and took the
//! process with it. Counting the operators first bounds every chain before a tree exists.

use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect, SnowflakeDialect};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer, TokenizerError};

use crate::dialect::Dialect;

/// Most operators one text may hold. Each can add a level to the tree; this many levels drop
/// well inside a 2 MiB stack even in a debug build (a test checks it), and every gold query
/// of the benchmark corpora holds far fewer.
pub(super) const MAX_OPERATORS: usize = 1_000;

/// The text's tokens in the dialect's own rules, whitespace and comments included.
pub(super) fn tokenize(sql: &str, dialect: Dialect) -> Result<Vec<Token>, TokenizerError> {
    match dialect {
        Dialect::Postgres => Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize(),
        Dialect::Sqlite => Tokenizer::new(&SQLiteDialect {}, sql).tokenize(),
        Dialect::Snowflake => Tokenizer::new(&SnowflakeDialect {}, sql).tokenize(),
    }
}

/// A literal that the databases read differently from sqlparser, whose printed form runs:
/// `123abc` prints as `123 AS abc` (PostgreSQL 16 refuses it), and `0x1F` is a number to
/// PostgreSQL 16, `0 AS x1F` to PostgreSQL 15, and a blob once printed for SQLite.
pub(super) fn misread_literal(tokens: &[Token], sql: &str, dialect: Dialect) -> Option<String> {
    let next = tokens.iter().skip(1).map(Some).chain([None]);
    tokens.iter().zip(next).find_map(|pair| match pair {
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
        (Token::HexStringLiteral(_), _) => hex_written_as_number(sql, dialect),
        _ => None,
    })
}

/// A hex literal written `0x1F` rather than `X'1F'` (the tokenizer gives both the same
/// token), found by looking at the text where each one starts.
fn hex_written_as_number(sql: &str, dialect: Dialect) -> Option<String> {
    let tokens = match dialect {
        Dialect::Postgres => Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location(),
        Dialect::Sqlite => Tokenizer::new(&SQLiteDialect {}, sql).tokenize_with_location(),
        Dialect::Snowflake => Tokenizer::new(&SnowflakeDialect {}, sql).tokenize_with_location(),
    }
    .ok()?;
    let lines: Vec<&str> = sql.split('\n').collect();
    tokens.iter().find_map(|token| {
        let Token::HexStringLiteral(hex) = &token.token else {
            return None;
        };
        let start = token.span.start;
        let line = lines.get(usize::try_from(start.line).ok()?.checked_sub(1)?)?;
        let column = usize::try_from(start.column).ok()?.checked_sub(1)?;
        let written: String = line.chars().skip(column).take(2).collect();
        written
            .eq_ignore_ascii_case("0x")
            .then(|| format!("0x{hex}"))
    })
}

/// How many tokens may join two expressions or queries into one deeper node.
pub(super) fn count_operators(tokens: &[Token]) -> usize {
    tokens.iter().filter(|token| is_operator(token)).count()
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
pub(super) fn orders_with_an_operator(tokens: &[Token]) -> bool {
    let mut tokens = tokens
        .iter()
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
