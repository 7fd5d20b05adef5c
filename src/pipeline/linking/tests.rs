//! Unit cases for schema linking: words, matching, join paths, context, budget, rendering.

use std::time::Instant;

use super::*;
use crate::catalog::{Column, ForeignKey, Table, TableKind};
use crate::dialect::Dialect;

/// A table under construction, for one-line catalog definitions.
struct Def(Table);

fn table(qualified: &str, columns: &str) -> Def {
    let (schema, name) = qualified.split_once('.').unwrap_or(("public", qualified));
    let columns = columns
        .split(',')
        .map(|column| {
            let (name, data_type) = column
                .trim()
                .split_once(' ')
                .unwrap_or((column.trim(), "text"));
            Column {
                name: name.to_owned(),
                data_type: data_type.to_owned(),
                nullable: true,
                comment: None,
                samples: Vec::new(),
            }
        })
        .collect();
    Def(Table {
        schema: schema.to_owned(),
        name: name.to_owned(),
        kind: TableKind::Table,
        comment: None,
        row_estimate: None,
        columns,
        primary_key: Vec::new(),
        foreign_keys: Vec::new(),
        caveat: None,
    })
}

impl Def {
    fn pk(mut self, columns: &[&str]) -> Self {
        self.0.primary_key = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// `column -> schema.table(column)`.
    fn fk(mut self, column: &str, target: &str) -> Self {
        let (table, referenced) = target
            .trim_end_matches(')')
            .split_once('(')
            .unwrap_or((target, "id"));
        let (schema, table) = table.split_once('.').unwrap_or(("public", table));
        self.0.foreign_keys.push(ForeignKey {
            columns: column.split(", ").map(str::to_owned).collect(),
            references_schema: schema.to_owned(),
            references_table: table.to_owned(),
            references_columns: referenced.split(", ").map(str::to_owned).collect(),
        });
        self
    }

    fn samples(mut self, column: &str, values: &[&str]) -> Self {
        self.column(column).samples = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    fn comment(mut self, column: &str, text: &str) -> Self {
        self.column(column).comment = Some(text.to_owned());
        self
    }

    fn about(mut self, text: &str, rows: i64) -> Self {
        self.0.comment = Some(text.to_owned());
        self.0.row_estimate = Some(rows);
        self
    }

    fn column(&mut self, name: &str) -> &mut Column {
        self.0
            .columns
            .iter_mut()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
}

/// A small shop warehouse with HR, marketing and logistics schemas as distractors.
fn shop() -> Catalog {
    let tables = vec![
        table("regions", "region_id integer, name").pk(&["region_id"]).samples("name", &["EMEA", "APAC", "Americas"]),
        table("customers", "customer_id integer, name, email, region_id integer, segment")
            .pk(&["customer_id"])
            .fk("region_id", "regions(region_id)")
            .samples("segment", &["consumer", "corporate"])
            .about("People and companies with an account", 12_400),
        table("orders", "order_id integer, customer_id integer, ordered_at timestamp, status, total numeric(10,2)")
            .pk(&["order_id"])
            .fk("customer_id", "customers(customer_id)")
            .samples("status", &["paid", "refunded", "shipped"])
            .comment("total", "order value after discounts, in EUR"),
        table("order_items", "order_id integer, product_id integer, quantity integer, unit_price numeric")
            .pk(&["order_id", "product_id"])
            .fk("order_id", "orders(order_id)")
            .fk("product_id", "products(product_id)"),
        table("products", "product_id integer, name, category_id integer, list_price numeric")
            .pk(&["product_id"])
            .fk("category_id", "categories(category_id)"),
        table("categories", "category_id integer, name").pk(&["category_id"]),
        table("hr.employees", "employee_id integer, first_name, last_name, department_id integer, hired_on date")
            .pk(&["employee_id"])
            .fk("department_id", "hr.departments(department_id)"),
        table("hr.departments", "department_id integer, name").pk(&["department_id"]),
        table("hr.salaries", "employee_id integer, amount numeric, valid_from date")
            .fk("employee_id", "hr.employees(employee_id)"),
        table("marketing.campaigns", "campaign_id integer, name, channel, budget numeric")
            .pk(&["campaign_id"])
            .samples("channel", &["email", "social", "search"]),
        table("marketing.campaign_clicks", "click_id integer, campaign_id integer, clicked_at timestamp")
            .fk("campaign_id", "marketing.campaigns(campaign_id)"),
        table("ops.warehouses", "warehouse_id integer, city, capacity integer").pk(&["warehouse_id"]),
        table("ops.shipments", "shipment_id integer, order_id integer, warehouse_id integer, carrier, shipped_at timestamp")
            .pk(&["shipment_id"])
            .fk("order_id", "public.orders(order_id)")
            .fk("warehouse_id", "ops.warehouses(warehouse_id)")
            .samples("carrier", &["DHL", "UPS"]),
    ];
    Catalog {
        dialect: Dialect::Postgres,
        tables: tables.into_iter().map(|def| def.0).collect(),
    }
}

/// Small enough that the shop never fits whole.
const SMALL: Budget = Budget { max_chars: 700 };

fn names(catalog: &Catalog, selection: &Selection) -> Vec<String> {
    selection
        .tables
        .iter()
        .map(|selected| catalog.tables[selected.table].display_name(catalog.dialect))
        .collect()
}

/// Links `question` (after `context`) in the shop and checks that every `expected` table
/// is selected and every `absent` one is not.
fn check(question: &str, context: &[&str], expected: &[&str], absent: &[&str]) {
    let catalog = shop();
    let selection = link(&catalog, question, context, SMALL);
    let chosen = names(&catalog, &selection);
    for name in expected {
        assert!(
            chosen.iter().any(|c| c == name),
            "{question:?}: {name} missing from {chosen:?}"
        );
    }
    for name in absent {
        assert!(
            !chosen.iter().any(|c| c == name),
            "{question:?}: {name} chosen in {chosen:?}"
        );
    }
    assert!(render(&catalog, &selection).chars().count() <= SMALL.max_chars);
}

#[test]
fn tables_are_found_by_name_column_sample_and_comment() {
    check(
        "How many customers do we have?",
        &[],
        &["customers"],
        &["hr.employees"],
    );
    check("List employees hired in 2023", &[], &["hr.employees"], &[]);
    // Only the samples of orders.status say "refunded".
    check("How many were refunded last month?", &[], &["orders"], &[]);
    check(
        "Which campaigns ran on social?",
        &[],
        &["marketing.campaigns"],
        &[],
    );
    // Only a sample of shipments.carrier says DHL.
    check(
        "What share of parcels went with DHL?",
        &[],
        &["ops.shipments"],
        &[],
    );
    // Only the comment on orders.total says "discounts".
    check("Average value after discounts", &[], &["orders"], &[]);
    check(
        "salary of each employee",
        &[],
        &["hr.salaries", "hr.employees"],
        &[],
    );
}

#[test]
fn join_partners_and_bridges_of_strong_matches_are_included() {
    // products is named nowhere but joins order_items to categories.
    check(
        "total quantity sold per category",
        &[],
        &["order_items", "categories", "products"],
        &[],
    );
    // departments joins employees; salaries hangs off employees.
    check(
        "average salary by department",
        &[],
        &["hr.salaries", "hr.departments", "hr.employees"],
        &[],
    );
    // Shipments reach customers through orders, across schemas.
    check(
        "shipments per customer segment",
        &[],
        &["ops.shipments", "customers", "orders"],
        &[],
    );
}

#[test]
fn tables_of_earlier_sql_are_kept_for_follow_ups() {
    let sql = "SELECT r.name, count(*) FROM orders o JOIN customers c USING (customer_id) \
               JOIN regions r USING (region_id) GROUP BY 1";
    check(
        "now only 2024",
        &["orders per region?", sql],
        &["orders", "customers", "regions"],
        &[],
    );
    // In a Markdown block, qualified, or too broken to parse: still found.
    check(
        "and per year?",
        &["```sql\nSELECT * FROM hr.salaries\n```"],
        &["hr.salaries"],
        &[],
    );
    check(
        "only the big ones",
        &["SELECT FROM WHERE ops.warehouses x JOIN"],
        &[],
        &[],
    );
    check(
        "only the big ones",
        &["SELECT capacity FROM ops.warehouses WHERE"],
        &["ops.warehouses"],
        &[],
    );
    // An earlier question (not SQL) lends its words, weakly.
    check(
        "and last year?",
        &["how many clicks did each campaign get"],
        &["marketing.campaign_clicks"],
        &[],
    );
}

#[test]
fn everything_is_selected_when_it_fits() {
    let catalog = shop();
    let selection = link(&catalog, "anything", &[], Budget { max_chars: 100_000 });
    assert_eq!(selection.tables.len(), catalog.tables.len());
    for (t, selected) in selection.tables.iter().enumerate() {
        assert_eq!(selected.table, t);
        assert_eq!(selected.columns.len(), catalog.tables[t].columns.len());
    }
    // Exactly the length of the whole catalog is still "fits".
    let whole = render(&catalog, &selection).chars().count();
    let exact = link(&catalog, "anything", &[], Budget { max_chars: whole });
    assert_eq!(exact, selection);
    // One character less and something must go: a table, or columns of one.
    let budget = Budget {
        max_chars: whole - 1,
    };
    let short = link(&catalog, "anything", &[], budget);
    assert_ne!(short, selection);
    assert!(render(&catalog, &short).chars().count() <= budget.max_chars);
}

#[test]
fn render_stays_within_budget() {
    let catalog = shop();
    let questions = [
        "",
        "customers",
        "refunded orders per region and product category in 2024",
        "every table: regions customers orders items products categories employees departments \
         salaries campaigns clicks warehouses shipments",
    ];
    for question in questions {
        for max_chars in [
            0, 1, 50, 120, 200, 333, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000,
        ] {
            let budget = Budget { max_chars };
            let selection = link(&catalog, question, &["SELECT * FROM orders"], budget);
            let len = render(&catalog, &selection).chars().count();
            assert!(len <= max_chars, "{question:?} at {max_chars}: {len} chars");
        }
    }
}

#[test]
fn linking_is_deterministic() {
    let catalog = shop();
    let question = "refunded orders per customer segment and region";
    let first = link(&catalog, question, &[], SMALL);
    for _ in 0..5 {
        assert_eq!(link(&catalog, question, &[], SMALL), first);
        assert_eq!(
            LinkIndex::new(catalog.clone()).link(question, &[], SMALL),
            first
        );
    }
}

#[test]
fn wide_tables_are_trimmed_to_relevant_columns_and_keys() {
    let mut columns: Vec<String> = (0..150).map(|i| format!("metric_{i:03} numeric")).collect();
    columns.insert(0, "event_id integer".to_owned());
    columns.push("account_id integer".to_owned());
    columns.push("churn_risk_score numeric".to_owned());
    let wide = table("events", &columns.join(", "))
        .pk(&["event_id"])
        .fk("account_id", "accounts(account_id)");
    let accounts = table("accounts", "account_id integer, name").pk(&["account_id"]);
    let catalog = Catalog {
        dialect: Dialect::Sqlite,
        tables: vec![wide.0, accounts.0],
    };
    let budget = Budget { max_chars: 1_000 };
    let selection = link(
        &catalog,
        "average churn risk score per account",
        &[],
        budget,
    );
    let events = selection
        .tables
        .iter()
        .find(|s| s.table == 0)
        .expect("events selected");
    let shown: Vec<&str> = events
        .columns
        .iter()
        .map(|&c| catalog.tables[0].columns[c].name.as_str())
        .collect();
    for name in ["event_id", "account_id", "churn_risk_score"] {
        assert!(shown.contains(&name), "{name} not in {shown:?}");
    }
    assert!(shown.len() < 152);
    let text = render(&catalog, &selection);
    assert!(text.contains("more columns not shown"), "{text}");
    assert!(text.chars().count() <= budget.max_chars);
}

#[test]
fn render_shows_keys_comments_samples_and_rows() {
    let catalog = shop();
    let selection = Selection {
        tables: vec![
            SelectedTable {
                table: 1,
                columns: Vec::new(),
            },
            SelectedTable {
                table: 3,
                columns: vec![0, 2],
            },
            SelectedTable {
                table: 6,
                columns: vec![0, 3],
            },
        ],
    };
    let expected = "\
-- People and companies with an account (~12k rows)
CREATE TABLE customers (
  customer_id integer PRIMARY KEY,
  name text,
  email text,
  region_id integer REFERENCES regions(region_id),
  segment text -- e.g. 'consumer', 'corporate'
);

CREATE TABLE order_items (
  order_id integer REFERENCES orders(order_id),
  quantity integer,
  PRIMARY KEY (order_id, product_id)
  -- 2 more columns not shown
);

CREATE TABLE hr.employees (
  employee_id integer PRIMARY KEY,
  department_id integer REFERENCES hr.departments(department_id)
  -- 3 more columns not shown
);
";
    assert_eq!(render(&catalog, &selection), expected);
}

#[test]
fn names_are_quoted_where_the_dialect_needs_it() {
    let check = |dialect: Dialect, schema: &str, name: &str, expected: &str| {
        let mut def = table(&format!("{schema}.{name}"), "id integer").0;
        def.columns[0].comment = Some("two\nlines,   squeezed".to_owned());
        let catalog = Catalog {
            dialect,
            tables: vec![def],
        };
        let text = render(
            &catalog,
            &Selection {
                tables: vec![SelectedTable {
                    table: 0,
                    columns: vec![],
                }],
            },
        );
        assert_eq!(text.lines().next(), Some(expected), "{text}");
        assert!(text.contains(" integer -- two lines, squeezed\n"), "{text}");
    };
    check(
        Dialect::Postgres,
        "public",
        "orders",
        "CREATE TABLE orders (",
    );
    check(
        Dialect::Postgres,
        "public",
        "Orders",
        "CREATE TABLE \"Orders\" (",
    );
    check(
        Dialect::Postgres,
        "Sales",
        "order",
        "CREATE TABLE \"Sales\".\"order\" (",
    );
    check(
        Dialect::Sqlite,
        "main",
        "Order Lines",
        "CREATE TABLE \"Order Lines\" (",
    );
    check(
        Dialect::Sqlite,
        "aux",
        "Orders",
        "CREATE TABLE aux.Orders (",
    );
    check(
        Dialect::Snowflake,
        "PUBLIC",
        "ORDERS",
        "CREATE TABLE ORDERS (",
    );
    check(
        Dialect::Snowflake,
        "SALES",
        "orders",
        "CREATE TABLE SALES.\"orders\" (",
    );
}

#[test]
fn rendered_length_is_the_priced_length() {
    let catalog = shop();
    for (t, table) in catalog.tables.iter().enumerate() {
        let text = render::TableText::new(&catalog, table);
        let n = table.columns.len();
        let subsets: Vec<Vec<usize>> = vec![
            (0..n).collect(),
            vec![0],
            (0..n).step_by(2).collect(),
            vec![],
        ];
        for columns in subsets {
            let mut out = String::new();
            text.write(&columns, &mut out);
            assert_eq!(
                out.chars().count(),
                text.len(&columns),
                "table {t}, columns {columns:?}"
            );
        }
    }
}

#[test]
fn words_are_split_lowercased_stemmed_and_filtered() {
    let check = |text: &str, expected: &[&str]| {
        assert_eq!(tokens::words(text), expected, "{text:?}");
    };
    check("customerOrders", &["customer", "order"]);
    check("customer_orders", &["customer", "order"]);
    check("HTTPServerLogs", &["http", "server", "log"]);
    check("sbTxAmount", &["sb", "tx", "amount"]);
    check("address2 line_1", &["address", "lin"]);
    check(
        "What are the cities of the 3 countries?",
        &["citi", "countri"],
    );
    check("city country", &["citi", "countri"]);
    check("rated ratings rate", &["rat", "rat", "rat"]);
    check(
        "movies movie series status classes",
        &["movi", "movi", "seri", "status", "class"],
    );
    check("shipped shipping ships", &["ship", "ship", "ship"]);
    check("Zürich Straße", &["zürich", "straße"]);
    assert_eq!(
        tokens::words_and_compounds("gas stations"),
        ["gas", "gasstation", "station"]
    );
}

#[test]
fn time_mentions_are_recognised() {
    let check =
        |text: &str, expected: bool| assert_eq!(tokens::mentions_time(text), expected, "{text:?}");
    check("orders in 2024", true);
    check("orders on 2012/8/24", true);
    check("orders on 2012-08-24", true);
    check("orders per month", true);
    check("orders since March", true);
    check("orders per customer", false);
    check("top 2500 customers", false);
    check("order 10-20", false);
}

/// A warehouse of `n_schemas` x `per_schema` tables with made-up but plausible names, a
/// few dozen columns each and foreign keys inside each schema; one table in one schema is
/// the planted answer.
fn synthetic(n_schemas: usize, per_schema: usize) -> Catalog {
    #[rustfmt::skip]
    const NOUNS: &[&str] = &[
        "account", "invoice", "payment", "shipment", "product", "supplier", "employee", "ticket",
        "session", "device", "contract", "subscription", "campaign", "lead", "opportunity",
        "warehouse", "vehicle", "route", "claim", "policy", "patient", "visit", "course", "lesson",
        "asset", "license", "vendor", "budget", "forecast", "survey", "review", "coupon", "refund",
        "dispute", "transfer", "loan", "branch", "store", "region", "team",
    ];
    #[rustfmt::skip]
    const SUFFIXES: &[&str] = &[
        "", "_history", "_daily", "_snapshot", "_events", "_lines", "_status", "_audit",
    ];
    #[rustfmt::skip]
    const MEASURES: &[&str] = &[
        "amount", "count", "score", "duration", "weight", "rate", "level", "total",
    ];
    let mut tables = Vec::new();
    for s in 0..n_schemas {
        let schema = format!("{}_{s:02}", NOUNS[s % NOUNS.len()]);
        for i in 0..per_schema {
            let noun = NOUNS[(s * 7 + i * 3) % NOUNS.len()];
            let other = NOUNS[(s + i * 5 + 1) % NOUNS.len()];
            let suffix = SUFFIXES[i % SUFFIXES.len()];
            let name = format!("{noun}_{other}{suffix}_{i:02}");
            let mut columns = vec![format!("{noun}_id integer"), format!("{other}_id integer")];
            for c in 0..(5 + (s * 13 + i * 7) % 35) {
                columns.push(format!(
                    "{}_{}_{c} numeric",
                    NOUNS[(i + c) % NOUNS.len()],
                    MEASURES[c % MEASURES.len()]
                ));
            }
            columns.push("status".to_owned());
            let mut def = table(&format!("{schema}.{name}"), &columns.join(", "))
                .pk(&[&format!("{noun}_id")])
                .samples("status", &["open", "closed", "pending"]);
            if i > 0 {
                let previous: &Table = &tables[tables.len() - 1];
                let target = format!("{schema}.{}({})", previous.name, previous.primary_key[0]);
                def = def.fk(&format!("{other}_id"), &target);
            }
            tables.push(def.0);
        }
    }
    let planted = table(
        "refund_07.chargeback_disputes",
        "dispute_id integer, merchant_id integer, reason, opened_at date",
    )
    .pk(&["dispute_id"])
    .samples("reason", &["fraudulent", "duplicate", "not_received"]);
    tables.push(planted.0);
    Catalog {
        dialect: Dialect::Snowflake,
        tables,
    }
}

#[test]
fn a_two_thousand_table_catalog_is_linked_quickly_and_within_budget() {
    let catalog = synthetic(40, 50);
    assert_eq!(catalog.tables.len(), 2_001);
    let budget = Budget { max_chars: 8_000 };
    let question = "How many chargeback disputes were opened as fraudulent last quarter?";
    let started = Instant::now();
    let index = LinkIndex::new(catalog.clone());
    let built = started.elapsed();
    let selection = index.link(question, &[], budget);
    let linked = started.elapsed() - built;
    let text = render(&catalog, &selection);
    let total = started.elapsed();
    println!(
        "2,001 tables, {} columns: index {:.1} ms, link {:.1} ms, render {:.1} ms; {} tables, {} chars",
        catalog
            .tables
            .iter()
            .map(|t| t.columns.len())
            .sum::<usize>(),
        built.as_secs_f64() * 1e3,
        linked.as_secs_f64() * 1e3,
        (total - built - linked).as_secs_f64() * 1e3,
        selection.tables.len(),
        text.chars().count(),
    );
    assert_eq!(
        selection.tables.first().map(|s| s.table),
        Some(2_000),
        "{text}"
    );
    assert!(text.chars().count() <= budget.max_chars);
}

#[test]
fn word_lists_are_sorted_for_binary_search() {
    for list in [tokens::STOP_WORDS, tokens::TIME_WORDS, render::RESERVED] {
        assert!(list.windows(2).all(|pair| pair[0] < pair[1]), "{list:?}");
    }
}

#[test]
fn row_counts_are_rounded_to_two_digits() {
    let cases = [
        (0, "0"),
        (850, "850"),
        (999, "999"),
        (1_000, "~1k"),
        (1_049, "~1k"),
        (1_500, "~1.5k"),
        (9_960, "~10k"),
        (32_461, "~32k"),
        (999_999, "~1M"),
        (4_200_000, "~4.2M"),
        (123_456_789, "~120M"),
        (7_300_000_000, "~7.3B"),
    ];
    for (n, expected) in cases {
        assert_eq!(render::approximate_rows(n), expected, "{n}");
    }
}
