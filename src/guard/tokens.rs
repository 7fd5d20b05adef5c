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

/// The text's tokens in the dialect's own rules, without whitespace and comments.
pub(super) fn tokenize(sql: &str, dialect: Dialect) -> Result<Vec<Token>, TokenizerError> {
    let tokens = match dialect {
        Dialect::Postgres => Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize(),
        Dialect::Sqlite => Tokenizer::new(&SQLiteDialect {}, sql).tokenize(),
        Dialect::Snowflake => Tokenizer::new(&SnowflakeDialect {}, sql).tokenize(),
    }?;
    Ok(tokens
        .into_iter()
        .filter(|token| !matches!(token, Token::Whitespace(_)))
        .collect())
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
    let mut tokens = tokens.iter();
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
