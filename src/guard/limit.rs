//! Caps how many rows a guarded query returns: adds a LIMIT or tightens the query's own.
//!
//! A cap only ever goes down. LIMIT, FETCH FIRST and Snowflake's TOP with a plain number are
//! lowered in place, keeping ORDER BY, OFFSET and set operations as they are. A cap that
//! cannot be compared with a number (an expression, WITH TIES, PERCENT) is left alone and the
//! whole query is wrapped as `SELECT * FROM (..) AS limited LIMIT n`; PostgreSQL and SQLite
//! keep the inner order for such a plain outer scan, and Snowflake only allows constant caps.

use sqlparser::ast::{
    Expr, GroupByExpr, Ident, LimitClause, Query, Select, SelectFlavor, SelectItem, SetExpr,
    TableAlias, TableFactor, TableWithJoins, TopQuantity, Value, WildcardAdditionalOptions,
    helpers::attached_token::AttachedToken,
};

use super::GuardedSql;

/// `sql` returning at most `max_rows` rows, otherwise unchanged.
pub fn with_limit(sql: &GuardedSql, max_rows: u64) -> GuardedSql {
    let mut query = sql.query.clone();
    if !tighten(&mut query, max_rows) {
        query = wrap(sql.query.clone(), max_rows);
    }
    GuardedSql::from_query(query, sql.dialect)
}

/// Lowers every cap the query has to at most `max_rows`, or adds a LIMIT if it has none.
/// Returns false if some cap is not a plain number (the caller then wraps the query).
fn tighten(query: &mut Query, max_rows: u64) -> bool {
    let mut capped = false;
    match &mut query.limit_clause {
        Some(LimitClause::LimitOffset { limit_by, .. }) if !limit_by.is_empty() => return false,
        Some(LimitClause::LimitOffset {
            limit: Some(limit), ..
        })
        | Some(LimitClause::OffsetCommaLimit { limit, .. }) => {
            if !lower(limit, max_rows) {
                return false;
            }
            capped = true;
        }
        Some(LimitClause::LimitOffset { limit: None, .. }) | None => {}
    }
    if let Some(fetch) = &mut query.fetch {
        if fetch.with_ties || fetch.percent {
            return false;
        }
        let lowered = match &mut fetch.quantity {
            Some(quantity) => lower(quantity, max_rows),
            // `FETCH FIRST ROW ONLY` means one row.
            None => {
                if max_rows == 0 {
                    fetch.quantity = Some(number(0));
                }
                true
            }
        };
        if !lowered {
            return false;
        }
        capped = true;
    }
    if let SetExpr::Select(select) = query.body.as_mut()
        && let Some(top) = &mut select.top
    {
        if top.with_ties || top.percent {
            return false;
        }
        let lowered = match &mut top.quantity {
            Some(TopQuantity::Constant(n)) => {
                *n = (*n).min(max_rows);
                true
            }
            Some(TopQuantity::Expr(quantity)) => lower(quantity, max_rows),
            None => false,
        };
        if !lowered {
            return false;
        }
        capped = true;
    }
    if !capped {
        match &mut query.limit_clause {
            // `OFFSET n` alone: keep it, add the limit beside it.
            Some(LimitClause::LimitOffset { limit, .. }) => *limit = Some(number(max_rows)),
            _ => query.limit_clause = Some(limit_clause(max_rows)),
        }
    }
    true
}

/// Lowers a numeric literal to `max_rows`; NULL (no limit in PostgreSQL and Snowflake)
/// becomes `max_rows`. Returns false for anything else.
fn lower(cap: &mut Expr, max_rows: u64) -> bool {
    let Expr::Value(value) = cap else {
        return false;
    };
    match &value.value {
        Value::Number(digits, _) => match digits.parse::<u64>() {
            Ok(n) if n <= max_rows => true,
            Ok(_) => {
                *cap = number(max_rows);
                true
            }
            Err(_) => false,
        },
        Value::Null => {
            *cap = number(max_rows);
            true
        }
        _ => false,
    }
}

fn number(n: u64) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

fn limit_clause(max_rows: u64) -> LimitClause {
    LimitClause::LimitOffset {
        limit: Some(number(max_rows)),
        offset: None,
        limit_by: Vec::new(),
    }
}

/// `SELECT * FROM (<query>) AS limited LIMIT <max_rows>`.
fn wrap(query: Box<Query>, max_rows: u64) -> Box<Query> {
    let derived = TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(TableAlias {
            explicit: true,
            name: Ident::new("limited"),
            columns: Vec::new(),
            at: None,
        }),
        sample: None,
    };
    let select = Select {
        select_token: AttachedToken::empty(),
        optimizer_hints: Vec::new(),
        distinct: None,
        select_modifiers: None,
        top: None,
        top_before_distinct: false,
        projection: vec![SelectItem::Wildcard(WildcardAdditionalOptions::default())],
        exclude: None,
        into: None,
        from: vec![TableWithJoins {
            relation: derived,
            joins: Vec::new(),
        }],
        lateral_views: Vec::new(),
        prewhere: None,
        selection: None,
        connect_by: Vec::new(),
        group_by: GroupByExpr::Expressions(Vec::new(), Vec::new()),
        cluster_by: Vec::new(),
        distribute_by: Vec::new(),
        sort_by: Vec::new(),
        having: None,
        named_window: Vec::new(),
        qualify: None,
        window_before_qualify: false,
        value_table_mode: None,
        flavor: SelectFlavor::Standard,
    };
    Box::new(Query {
        with: None,
        body: Box::new(SetExpr::Select(Box::new(select))),
        order_by: None,
        limit_clause: Some(limit_clause(max_rows)),
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    })
}
