//! Functions whose result can be far larger than the query: their size arguments are bounded.
//!
//! `repeat('x', 300000000)` is a few bytes of SQL and a 300 MB value, built by the database
//! (or, for SQLite, inside querybot's own process) before any row or byte cap can look at it.
//! The caps and SQLite's length limit stop what gets through; this rule refuses the obvious
//! cases up front with a clear reason: a literal size over [`MAX_SIZE`], and one amplifying
//! call inside another (`repeat(repeat('x', 10000), 10000)`), which multiplies.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Value, visit_expressions,
};

use super::names;
use crate::dialect::Dialect;

/// The largest literal size (count, length, width, array dimension) an amplifying call may
/// use; padding and bars in analytics need tens.
pub(super) const MAX_SIZE: f64 = 10_000.0;

/// Which arguments of an amplifying function are sizes.
enum Sizes {
    /// Every argument from this position on.
    From(usize),
    /// A format string's widths and precisions, and with `*` in it the arguments after it.
    Format,
    /// `replace(text, from, to)`: the replacement's own length multiplies.
    ReplacementLength(usize),
}

fn sizes(name: &str) -> Option<Sizes> {
    Some(match name {
        "repeat" | "lpad" | "rpad" | "array_fill" | "randstr" => Sizes::From(1),
        "zeroblob" | "randomblob" | "space" => Sizes::From(0),
        "printf" | "format" => Sizes::Format,
        "replace" => Sizes::ReplacementLength(2),
        _ => return None,
    })
}

/// Why `function`'s result may be too large, or `None` when it is bounded.
pub(super) fn oversized(function: &Function, dialect: Dialect) -> Option<String> {
    let name = called_name(function, dialect)?;
    let rule = sizes(&name)?;
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let args: Vec<&Expr> = list
        .args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(expr),
                ..
            }
            | FunctionArg::ExprNamed {
                arg: FunctionArgExpr::Expr(expr),
                ..
            } => Some(expr),
            _ => None,
        })
        .collect();
    if args.iter().any(|arg| contains_amplifier(arg, dialect)) {
        return Some(format!(
            "{name}() over the result of another function like it"
        ));
    }
    let too_large = match rule {
        Sizes::From(first) => args
            .iter()
            .skip(first)
            .any(|arg| largest_number(arg) > MAX_SIZE),
        Sizes::Format => match args.split_first() {
            Some((format, rest)) => {
                largest_number(format) > MAX_SIZE
                    || (format.to_string().contains('*')
                        && rest.iter().any(|arg| largest_number(arg) > MAX_SIZE))
            }
            None => false,
        },
        Sizes::ReplacementLength(index) => args
            .get(index)
            .is_some_and(|arg| longest_string(arg) as f64 > MAX_SIZE),
    };
    too_large.then(|| format!("{name}() with a size over {MAX_SIZE}"))
}

/// The function's name as the database resolves it, if it is unqualified or in `pg_catalog`.
fn called_name(function: &Function, dialect: Dialect) -> Option<String> {
    let parts = names::parts(&function.name)?;
    let ident = parts.last()?;
    Some(names::resolve(ident, dialect).to_ascii_lowercase())
}

fn contains_amplifier(expr: &Expr, dialect: Dialect) -> bool {
    visit_expressions(expr, |inner| match inner {
        Expr::Function(function)
            if called_name(function, dialect).is_some_and(|name| sizes(&name).is_some()) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The largest number written anywhere in `expr`: numeric literals, and digit runs inside
/// string literals (`'{300000000}'::int[]`, a format's `%400000000c`).
fn largest_number(expr: &Expr) -> f64 {
    let mut largest = 0.0_f64;
    let _ = visit_expressions(expr, |inner| {
        if let Expr::Value(value) = inner {
            let found = match &value.value {
                Value::Number(text, _) => text.parse::<f64>().unwrap_or(f64::INFINITY),
                other => digit_runs(&other.to_string()),
            };
            largest = largest.max(found.abs());
        }
        ControlFlow::<()>::Continue(())
    });
    largest
}

fn digit_runs(text: &str) -> f64 {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .map(|run| run.parse::<f64>().unwrap_or(f64::INFINITY))
        .fold(0.0, f64::max)
}

/// The longest string literal in `expr`, in characters.
fn longest_string(expr: &Expr) -> usize {
    let mut longest = 0;
    let _ = visit_expressions(expr, |inner| {
        if let Expr::Value(value) = inner
            && let Some(text) = value.value.clone().into_string()
        {
            longest = longest.max(text.chars().count());
        }
        ControlFlow::<()>::Continue(())
    });
    longest
}
