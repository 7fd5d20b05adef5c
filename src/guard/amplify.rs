//! Functions whose result can be far larger than the query: their constant sizes are bounded.
//!
//! `repeat('x', 300000000)` is a few bytes of SQL and a 300 MB value, built by the database
//! (or, for SQLite, inside querybot's own process) before any row or byte cap can look at it.
//! The caps and SQLite's length limit stop what gets through; this rule refuses the obvious
//! cases up front with a clear reason: a constant size over [`MAX_SIZE`] (a count, a padded
//! length, an array's dimensions, a format's width or precision, a replacement's length), and
//! one generator inside another (`repeat(repeat('x', 10000), 10000)`), which multiplies.
//! Sizes computed from data (`repeat('#', (count(*) / 10)::int)`) are left to the caps: the
//! guard cannot know them, and bars and padding like these are common.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
    Value, visit_expressions,
};

use super::names;
use crate::dialect::Dialect;

/// The largest constant size an amplifying call may use; padding and bars need tens.
pub(super) const MAX_SIZE: f64 = 10_000.0;

/// What in a call decides how large its result is.
enum Size {
    /// Creates its result from a count (`repeat(s, n)`, `zeroblob(n)`): the count, from this
    /// argument on; such a call inside another one like it multiplies.
    Generator(usize),
    /// Pads to a length (`lpad(s, n)`).
    Length(usize),
    /// Builds an array of these dimensions (`array_fill(v, dims)`).
    Dimensions(usize),
    /// A format's widths and precisions (and `*` arguments).
    Format,
    /// `replace(text, from, to)`: grows by the replacement's length.
    Replacement(usize),
}

fn size_rule(name: &str) -> Option<Size> {
    Some(match name {
        "repeat" | "randstr" => Size::Generator(1),
        "zeroblob" | "randomblob" | "space" => Size::Generator(0),
        "lpad" | "rpad" => Size::Length(1),
        "array_fill" => Size::Dimensions(1),
        "printf" | "format" => Size::Format,
        "replace" => Size::Replacement(2),
        _ => return None,
    })
}

/// Why `function`'s result may be too large, or `None` when it is bounded.
pub(super) fn oversized(function: &Function, dialect: Dialect) -> Option<String> {
    let name = called_name(function, dialect)?;
    let rule = size_rule(&name)?;
    let args = arguments(function);
    let too_large = |size: f64| size > MAX_SIZE;
    let over = match rule {
        Size::Generator(at) => {
            if args.iter().any(|arg| contains_generator(arg, dialect)) {
                return Some(format!(
                    "{name}() over the result of another function like it"
                ));
            }
            args.get(at)
                .and_then(|arg| constant(arg))
                .is_some_and(too_large)
        }
        Size::Length(at) => args
            .get(at)
            .and_then(|arg| constant(arg))
            .is_some_and(too_large),
        Size::Dimensions(at) => args
            .get(at)
            .and_then(|arg| dimensions(arg))
            .is_some_and(too_large),
        Size::Format => match args.split_first() {
            Some((Expr::Value(format), rest)) => {
                let format = format.value.to_string();
                format_widths(&format).into_iter().any(too_large)
                    || (format.contains('*')
                        && rest.iter().filter_map(|arg| constant(arg)).any(too_large))
            }
            _ => false,
        },
        Size::Replacement(at) => match args.get(at) {
            Some(Expr::Value(value)) => value
                .value
                .clone()
                .into_string()
                .is_some_and(|text| too_large(text.chars().count() as f64)),
            Some(arg) => contains_generator(arg, dialect),
            None => false,
        },
    };
    over.then(|| format!("{name}() with a size over {MAX_SIZE}"))
}

fn arguments(function: &Function) -> Vec<&Expr> {
    let FunctionArguments::List(list) = &function.args else {
        return Vec::new();
    };
    list.args
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
        .collect()
}

/// The function's name as the database resolves it.
fn called_name(function: &Function, dialect: Dialect) -> Option<String> {
    let parts = names::parts(&function.name)?;
    let ident = parts.last()?;
    Some(names::resolve(ident, dialect).to_ascii_lowercase())
}

/// Whether `expr` holds a call that creates a value from a count.
fn contains_generator(expr: &Expr, dialect: Dialect) -> bool {
    visit_expressions(expr, |inner| match inner {
        Expr::Function(function)
            if called_name(function, dialect)
                .and_then(|name| size_rule(&name))
                .is_some_and(|rule| matches!(rule, Size::Generator(_))) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The value of an expression made only of numbers (and casts, signs, arithmetic), which
/// the database folds before running anything; `None` when it depends on data.
fn constant(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Number(text, _) => text.parse().ok().or(Some(f64::INFINITY)),
            other => other.clone().into_string()?.trim().parse().ok(),
        },
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => constant(inner),
        Expr::UnaryOp { op, expr } => match op {
            UnaryOperator::Minus => constant(expr).map(|v| -v),
            UnaryOperator::Plus => constant(expr),
            _ => None,
        },
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (constant(left)?, constant(right)?);
            match op {
                BinaryOperator::Plus => Some(left + right),
                BinaryOperator::Minus => Some(left - right),
                BinaryOperator::Multiply => Some(left * right),
                BinaryOperator::Divide if right != 0.0 => Some(left / right),
                BinaryOperator::PGExp | BinaryOperator::BitwiseXor => Some(left.powf(right)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// How many elements an `array_fill` dimension list holds: `ARRAY[a, b]` or `'{a,b}'`.
fn dimensions(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => dimensions(inner),
        Expr::Array(array) => array
            .elem
            .iter()
            .map(constant)
            .try_fold(1.0, |product, n| Some(product * n?)),
        Expr::Value(value) => {
            let text = value.value.clone().into_string()?;
            text.trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .map(|n| n.trim().parse::<f64>().ok())
                .try_fold(1.0, |product, n| Some(product * n?))
        }
        _ => None,
    }
}

/// The widths and precisions in a printf-style format: the numbers in `%-20.5s`, `%*d`...
fn format_widths(format: &str) -> Vec<f64> {
    let mut widths = Vec::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        while chars.peek().is_some_and(|c| "-+ #0".contains(*c)) {
            chars.next();
        }
        let mut number = String::new();
        while let Some(c) = chars.peek().copied() {
            if c.is_ascii_digit() {
                number.push(c);
                chars.next();
            } else if c == '.' {
                widths.push(number.parse().unwrap_or(0.0));
                number.clear();
                chars.next();
            } else {
                break;
            }
        }
        widths.push(number.parse().unwrap_or(0.0));
    }
    widths
}
