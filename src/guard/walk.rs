//! Walks a parsed query and stops at the first construct the policy does not allow.
//!
//! The walk relies on sqlparser's visitor reaching every node, so nothing is missed by a
//! hand-written traversal. Two facts of sqlparser 0.63 matter: DML inside a query (a writable
//! CTE) is visited as a nested statement, and inside a query the only relation position is
//! `TableFactor::Table`; a counter checks the latter on every walk, so a new relation position
//! in a future sqlparser fails closed instead of slipping past the table allow-list.

use std::ops::ControlFlow;
use std::ptr;

use sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr, FunctionArgumentClause,
    FunctionArguments, Ident, ObjectName, Query, Select, SetExpr, Statement, TableAlias,
    TableFactor, TableInheritance, TypedString, Value, Visit, Visitor,
};

use super::rejection::{Rejection, RejectionKind};
use super::{Policy, amplify, functions, names, types};
use crate::dialect::Dialect;

/// Deepest expression nesting allowed. sqlparser builds `a + b + c ..` and `UNION` chains
/// without recursion limits, but comparing, cloning and dropping the tree recurse once per
/// level; these bounds keep that well inside a 2 MiB stack, far beyond real analytics SQL.
const MAX_EXPR_DEPTH: usize = 256;
/// Most SELECTs (including set-operation branches and subqueries) in one query.
const MAX_SELECTS: usize = 256;

/// Checks every node of `query` against `policy`.
pub(super) fn inspect(query: &Query, policy: &Policy) -> Result<(), Rejection> {
    let mut walker = Walker {
        policy,
        scopes: Vec::new(),
        cte_scopes: Vec::new(),
        n_tables: 0,
        n_relations: 0,
        expr_depth: 0,
        n_selects: 0,
    };
    if let ControlFlow::Break(rejection) = query.visit(&mut walker) {
        return Err(rejection);
    }
    if walker.n_relations != walker.n_tables {
        return Err(walker.rejection(
            RejectionKind::UnsupportedSyntax,
            "a table reference in an unexpected place",
        ));
    }
    Ok(())
}

/// The rejection for a statement that is not a query: data changes get their own kind.
pub(super) fn statement_rejection(statement: &Statement, dialect: Dialect) -> Rejection {
    let kind = match statement {
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Truncate(_) => RejectionKind::WritesData,
        _ => RejectionKind::NotAQuery,
    };
    let printed = statement.to_string();
    let keyword = printed.split_whitespace().next().unwrap_or("unknown");
    Rejection::new(kind, dialect, keyword.to_ascii_uppercase())
}

struct Walker<'a> {
    policy: &'a Policy,
    /// The CTE names (resolved) visible in each query being visited, innermost last.
    scopes: Vec<Vec<String>>,
    /// Scopes for CTE bodies not yet entered, keyed by the body's address. A CTE body sees
    /// the CTEs before it (and itself under RECURSIVE) but not later ones: in
    /// `WITH t AS (SELECT * FROM t)` the inner `t` is the real table and must be checked.
    cte_scopes: Vec<(*const Query, Vec<String>)>,
    n_tables: usize,
    n_relations: usize,
    expr_depth: usize,
    n_selects: usize,
}

impl Walker<'_> {
    fn rejection(&self, kind: RejectionKind, detail: impl Into<String>) -> Rejection {
        Rejection::new(kind, self.policy.dialect, detail)
    }

    fn reject(&self, kind: RejectionKind, detail: impl Into<String>) -> ControlFlow<Rejection> {
        ControlFlow::Break(self.rejection(kind, detail))
    }

    fn unsupported(&self, what: &str) -> ControlFlow<Rejection> {
        self.reject(RejectionKind::UnsupportedSyntax, what)
    }

    fn enter_scope(&mut self, query: &Query) {
        let inherited = match self
            .cte_scopes
            .iter()
            .position(|(body, _)| ptr::eq(*body, query))
        {
            Some(index) => self.cte_scopes.swap_remove(index).1,
            None => self.scopes.last().cloned().unwrap_or_default(),
        };
        let Some(with) = &query.with else {
            self.scopes.push(inherited);
            return;
        };
        let dialect = self.policy.dialect;
        let cte_names: Vec<String> = with
            .cte_tables
            .iter()
            .map(|cte| names::resolve(&cte.alias.name, dialect))
            .collect();
        for (index, cte) in with.cte_tables.iter().enumerate() {
            let n_visible = if with.recursive { index + 1 } else { index };
            let mut scope = inherited.clone();
            scope.extend_from_slice(&cte_names[..n_visible]);
            self.cte_scopes.push((ptr::from_ref(&*cte.query), scope));
        }
        let mut scope = inherited;
        scope.extend(cte_names);
        self.scopes.push(scope);
    }

    /// Refuses a reserved word where a name should be: the database reads it as syntax.
    fn check_names<'i>(
        &self,
        idents: impl IntoIterator<Item = &'i Ident>,
    ) -> ControlFlow<Rejection> {
        match idents
            .into_iter()
            .find(|ident| names::is_reserved_word(ident, self.policy.dialect))
        {
            Some(ident) => self.unsupported(&format!(
                "the reserved word {} as a name (write it in double quotes)",
                ident.value.to_ascii_uppercase()
            )),
            None => ControlFlow::Continue(()),
        }
    }

    fn check_alias(&self, alias: Option<&TableAlias>) -> ControlFlow<Rejection> {
        let Some(alias) = alias else {
            return ControlFlow::Continue(());
        };
        self.check_names(
            std::iter::once(&alias.name).chain(alias.columns.iter().map(|column| &column.name)),
        )?;
        // A column definition list (`AS x(a regclass)`) casts like `::` does.
        alias
            .columns
            .iter()
            .filter_map(|column| column.data_type.as_ref())
            .try_for_each(|data_type| self.check_type(data_type))
    }

    /// A type a value is turned into: no catalog lookups, and in PostgreSQL only known types.
    fn check_type(&self, data_type: &DataType) -> ControlFlow<Rejection> {
        if is_object_identifier_type(data_type) {
            let what = format!(
                "a cast to {} (a lookup in the database's internal catalogs)",
                data_type.to_string().to_lowercase()
            );
            return self.reject(RejectionKind::UnsupportedSyntax, what);
        }
        if self.policy.dialect == Dialect::Postgres
            && !types::cast_allowed(data_type, &self.policy.tables)
        {
            let what = format!(
                "a cast to {} (not a built-in type or the type of a listed column)",
                data_type.to_string().to_lowercase()
            );
            return self.reject(RejectionKind::UnsupportedSyntax, what);
        }
        ControlFlow::Continue(())
    }

    fn check_table(&mut self, name: &ObjectName, only: bool) -> ControlFlow<Rejection> {
        self.n_tables += 1;
        let Some(parts) = names::parts(name) else {
            return self.unsupported("a table name computed at run time");
        };
        // After a dot PostgreSQL takes any word as a name (`s.only`, `o.user`).
        self.check_names(parts.first().copied())?;
        if let [single] = parts[..] {
            let resolved = names::resolve(single, self.policy.dialect);
            if self
                .scopes
                .last()
                .is_some_and(|scope| scope.contains(&resolved))
            {
                return ControlFlow::Continue(());
            }
        }
        match self.policy.tables.check(&parts, only) {
            Ok(()) => ControlFlow::Continue(()),
            Err(rejection) => ControlFlow::Break(rejection),
        }
    }

    /// Only builtins: unqualified, or in PostgreSQL qualified with `pg_catalog` (which names
    /// the builtin whatever the search path holds). Any other schema holds user functions.
    fn check_function(&self, name: &ObjectName) -> ControlFlow<Rejection> {
        let dialect = self.policy.dialect;
        let allowed = |ident| functions::is_allowed(dialect, &names::resolve(ident, dialect));
        match names::parts(name).as_deref() {
            Some([ident]) if allowed(ident) => ControlFlow::Continue(()),
            Some([schema, ident])
                if dialect == Dialect::Postgres
                    && names::resolve(schema, dialect) == "pg_catalog"
                    && allowed(ident) =>
            {
                ControlFlow::Continue(())
            }
            Some(parts) => self.reject(RejectionKind::FunctionNotAllowed, names::display(parts)),
            None => self.reject(RejectionKind::FunctionNotAllowed, name.to_string()),
        }
    }
}

impl Visitor for Walker<'_> {
    type Break = Rejection;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Rejection> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            _ => ControlFlow::Break(statement_rejection(statement, self.policy.dialect)),
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Rejection> {
        if let Some(lock) = query.locks.first() {
            return self.reject(RejectionKind::LockingClause, lock.to_string());
        }
        if query.for_clause.is_some() || query.settings.is_some() || query.format_clause.is_some() {
            return self.unsupported("an output clause (FOR XML, SETTINGS, FORMAT)");
        }
        if !query.pipe_operators.is_empty() {
            return self.unsupported("pipe syntax (|>)");
        }
        if has_table_command(&query.body) {
            return self.unsupported("the TABLE shorthand");
        }
        self.enter_scope(query);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<Rejection> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Rejection> {
        self.n_selects += 1;
        if self.n_selects > MAX_SELECTS {
            return self.reject(RejectionKind::TooComplex, "too many SELECTs");
        }
        match &select.into {
            Some(into) => self.reject(RejectionKind::SelectInto, into.to_string()),
            None => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Rejection> {
        match factor {
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::NestedJoin { alias, .. } => self.check_alias(alias.as_ref())?,
            _ => {}
        }
        match factor {
            TableFactor::Table {
                version: Some(_), ..
            } => self.unsupported("time travel (AT, BEFORE, CHANGES)"),
            TableFactor::Table {
                name,
                args: None,
                inheritance,
                ..
            } => self.check_table(
                name,
                matches!(inheritance, Some(TableInheritance::Only { .. })),
            ),
            // A table-valued function (`generate_series(1, 10) AS g`): its name is visited as
            // a relation too, so it counts as a table for the relation tripwire.
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            } => {
                self.n_tables += 1;
                self.check_function(name)
            }
            TableFactor::Function { name, .. } => self.check_function(name),
            // Snowflake's `TABLE('name')` reads a table named by a string: only a function call
            // may appear here, and the expression walk checks that function.
            TableFactor::TableFunction { expr, .. } => match expr {
                Expr::Function(function) if self.check_function(&function.name).is_break() => {
                    self.check_function(&function.name)
                }
                Expr::Function(function)
                    if self.policy.dialect == Dialect::Snowflake
                        && names::parts(&function.name).is_some_and(|parts| {
                            matches!(parts.as_slice(), [ident]
                                if functions::SNOWFLAKE_TABLE_FUNCTIONS
                                    .contains(&ident.value.to_ascii_lowercase().as_str()))
                        }) =>
                {
                    ControlFlow::Continue(())
                }
                _ => {
                    self.unsupported("TABLE() over something other than a built-in table function")
                }
            },
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::Pivot { .. }
            | TableFactor::Unpivot { .. }
            | TableFactor::MatchRecognize { .. } => ControlFlow::Continue(()),
            _ => self.unsupported("this kind of table source (JSON_TABLE, XMLTABLE, ...)"),
        }
    }

    fn pre_visit_relation(&mut self, _relation: &ObjectName) -> ControlFlow<Rejection> {
        self.n_relations += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Rejection> {
        self.expr_depth += 1;
        if self.expr_depth > MAX_EXPR_DEPTH {
            return self.reject(RejectionKind::TooComplex, "expression nested too deeply");
        }
        self.check_expr(expr)?;
        match expr {
            Expr::Identifier(ident) => self.check_names([ident]),
            Expr::CompoundIdentifier(idents) => self.check_names(idents.first()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<Rejection> {
        self.expr_depth -= 1;
        ControlFlow::Continue(())
    }
}

impl Walker<'_> {
    /// The rules for one expression node, apart from its names.
    fn check_expr(&self, expr: &Expr) -> ControlFlow<Rejection> {
        match expr {
            Expr::Function(function) => {
                self.check_function(&function.name)?;
                if let FunctionArguments::List(list) = &function.args {
                    for clause in &list.clauses {
                        if let FunctionArgumentClause::JsonReturningClause(returning) = clause {
                            self.check_type(&returning.data_type)?;
                        }
                    }
                }
                if self.policy.dialect == Dialect::Postgres
                    && let Some(config) = types::unknown_text_search_config(function)
                {
                    return self.unsupported(&format!("the text search configuration {config}"));
                }
                match amplify::oversized(function, self.policy.dialect) {
                    Some(detail) => self.reject(RejectionKind::OversizedValue, detail),
                    None => ControlFlow::Continue(()),
                }
            }
            Expr::Identifier(ident)
                if ident.quote_style.is_none()
                    && functions::is_hidden_call(self.policy.dialect, &ident.value) =>
            {
                self.reject(RejectionKind::FunctionNotAllowed, ident.value.clone())
            }
            // Object identifier types look names up in the system catalogs: `'hr'::regclass`
            // tells whether a table exists, whatever the allow-list says.
            Expr::Cast { data_type, .. } | Expr::TypedString(TypedString { data_type, .. }) => {
                self.check_type(data_type)
            }
            // No parameter is ever bound, and in Snowflake `$name` reads a session variable.
            Expr::Value(value) if matches!(value.value, Value::Placeholder(_)) => {
                self.unsupported(&format!("the parameter or session variable {value}"))
            }
            Expr::Collate { collation, .. }
                if self.policy.dialect == Dialect::Postgres
                    && !types::collation_allowed(collation) =>
            {
                self.unsupported(&format!("the collation {collation}"))
            }
            // PostgreSQL reads `(x).f` as `f(x)`: attribute notation calls any one-argument
            // function, so it is judged like a call it cannot be checked as. Snowflake's
            // dots are field access in semi-structured values.
            Expr::CompoundFieldAccess { access_chain, .. }
                if self.policy.dialect != Dialect::Snowflake
                    && access_chain.iter().any(|a| matches!(a, AccessExpr::Dot(_))) =>
            {
                self.unsupported("attribute notation such as (x).name")
            }
            // SQLite's REGEXP and MATCH call the functions regexp() and match(), which
            // querybot never registers; PostgreSQL has neither. Snowflake's REGEXP is RLIKE.
            Expr::BinaryOp {
                op: op @ (BinaryOperator::Regexp | BinaryOperator::Match),
                ..
            } if self.policy.dialect != Dialect::Snowflake => {
                self.reject(RejectionKind::FunctionNotAllowed, op.to_string())
            }
            Expr::RLike { .. } if self.policy.dialect != Dialect::Snowflake => {
                self.reject(RejectionKind::FunctionNotAllowed, "REGEXP")
            }
            // A user-defined operator runs whatever function its owner chose.
            Expr::BinaryOp {
                op: BinaryOperator::Custom(_) | BinaryOperator::PGCustomBinaryOperator(_),
                ..
            } => self.unsupported("a custom operator"),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// PostgreSQL's `reg*` types (`regclass`, `regproc`, ...), which resolve catalog names.
fn is_object_identifier_type(data_type: &DataType) -> bool {
    const TYPES: &[&str] = &[
        "regclass",
        "regcollation",
        "regconfig",
        "regdictionary",
        "regnamespace",
        "regoper",
        "regoperator",
        "regproc",
        "regprocedure",
        "regrole",
        "regtype",
    ];
    match data_type {
        DataType::Regclass => true,
        // PostgreSQL also names array types with a leading underscore: `_regclass`.
        DataType::Custom(name, _) => {
            name.0
                .last()
                .and_then(|part| part.as_ident())
                .is_some_and(|ident| {
                    let name = ident.value.to_lowercase();
                    TYPES.contains(&name.trim_start_matches('_'))
                })
        }
        DataType::Array(
            ArrayElemTypeDef::AngleBracket(inner)
            | ArrayElemTypeDef::SquareBracket(inner, _)
            | ArrayElemTypeDef::Parenthesis(inner)
            | ArrayElemTypeDef::Qualified(inner, _),
        ) => is_object_identifier_type(inner),
        _ => false,
    }
}

/// `TABLE name` hides its table in plain strings, outside the relation walk.
fn has_table_command(body: &SetExpr) -> bool {
    match body {
        SetExpr::Table(_) => true,
        SetExpr::SetOperation { left, right, .. } => {
            has_table_command(left) || has_table_command(right)
        }
        _ => false,
    }
}
