//! The demo warehouse's DDL: tables, indexes and analyst views, with comments kept in the schema.
//!
//! SQLite stores each CREATE statement verbatim in `sqlite_schema`, so the `--` comments
//! below are what a human (or the LLM, via introspection) sees as the meaning of each column.
//! Tables are not STRICT because STRICT forbids the `DATE` and `TIMESTAMP` type names;
//! CHECK constraints keep the ISO formats honest instead.

/// Tables in insertion order (parents before children), as named in [`SCHEMA`].
pub(super) const TABLES: &[&str] = &[
    "regions",
    "customers",
    "categories",
    "products",
    "orders",
    "order_items",
    "payments",
];

pub(super) const SCHEMA: &str = r"
CREATE TABLE regions (
    -- Sales regions the shop reports on; every customer belongs to exactly one.
    region_id   INTEGER PRIMARY KEY,  -- surrogate key
    code        TEXT NOT NULL UNIQUE, -- short code used in reports: EU, NA, APAC, LATAM, MEA
    name        TEXT NOT NULL UNIQUE  -- display name, e.g. 'North America'
);

CREATE TABLE customers (
    -- People and businesses with an account; ids increase with signup date.
    customer_id INTEGER PRIMARY KEY,  -- surrogate key
    first_name  TEXT NOT NULL,        -- given name
    last_name   TEXT NOT NULL,        -- family name
    email       TEXT NOT NULL UNIQUE, -- login e-mail (reserved example domains only)
    city        TEXT NOT NULL,        -- city of the billing address
    country     TEXT NOT NULL,        -- country of the billing address, English name
    region_id   INTEGER NOT NULL REFERENCES regions (region_id), -- sales region of the country
    signup_date DATE NOT NULL CHECK (signup_date = date(signup_date)), -- day the account was created (YYYY-MM-DD)
    segment     TEXT NOT NULL CHECK (segment IN ('consumer', 'small_business', 'corporate')) -- customer type; business segments buy larger quantities
);
CREATE INDEX customers_region_id ON customers (region_id);
CREATE INDEX customers_signup_date ON customers (signup_date);

CREATE TABLE categories (
    -- Product categories as shown in the shop's navigation.
    category_id INTEGER PRIMARY KEY,  -- surrogate key
    name        TEXT NOT NULL UNIQUE  -- display name, e.g. 'Audio'
);

CREATE TABLE products (
    -- The catalogue; prices are current list prices in the shop's single currency.
    product_id  INTEGER PRIMARY KEY,  -- surrogate key
    sku         TEXT NOT NULL UNIQUE, -- stock keeping unit, category prefix + number
    name        TEXT NOT NULL UNIQUE, -- product name
    category_id INTEGER NOT NULL REFERENCES categories (category_id), -- category it is listed under
    unit_price  REAL NOT NULL CHECK (unit_price > 0),  -- list price per unit, 2 decimals
    unit_cost   REAL NOT NULL CHECK (unit_cost > 0)    -- what one unit costs the shop, 2 decimals; margin = unit_price - unit_cost
);
CREATE INDEX products_category_id ON products (category_id);

CREATE TABLE orders (
    -- One row per checkout, 2024-01-01 to 2025-12-31; ids increase with ordered_at.
    order_id    INTEGER PRIMARY KEY,  -- surrogate key
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id), -- who ordered
    ordered_at  TIMESTAMP NOT NULL CHECK (ordered_at = datetime(ordered_at)), -- shop-local time of checkout (YYYY-MM-DD HH:MM:SS)
    order_date  DATE NOT NULL CHECK (order_date = date(ordered_at)), -- calendar day of ordered_at (YYYY-MM-DD), for grouping
    status      TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'completed', 'refunded', 'cancelled')), -- pending/shipped = still on its way; completed = delivered or paid in store; refunded = paid back in full; cancelled = never paid
    channel     TEXT NOT NULL CHECK (channel IN ('web', 'app', 'store')) -- where the order was placed
);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX orders_order_date ON orders (order_date);

CREATE TABLE order_items (
    -- Lines of an order: one product each; line amount = quantity * unit_price - discount_amount.
    order_id        INTEGER NOT NULL REFERENCES orders (order_id), -- order the line belongs to
    line_no         INTEGER NOT NULL CHECK (line_no >= 1), -- position within the order, from 1
    product_id      INTEGER NOT NULL REFERENCES products (product_id), -- product sold
    quantity        INTEGER NOT NULL CHECK (quantity >= 1), -- units sold
    unit_price      REAL NOT NULL CHECK (unit_price > 0), -- price per unit charged on this order, 2 decimals
    discount_amount REAL NOT NULL DEFAULT 0 CHECK (discount_amount >= 0), -- money taken off the whole line (not per unit), 2 decimals
    PRIMARY KEY (order_id, line_no)
);
-- order_id needs no index of its own: it leads the primary key.
CREATE INDEX order_items_product_id ON order_items (product_id);

CREATE TABLE payments (
    -- Money movements: one charge per paid order, plus a negative refund row for refunded orders.
    payment_id  INTEGER PRIMARY KEY,  -- surrogate key, increasing with paid_at
    order_id    INTEGER NOT NULL REFERENCES orders (order_id), -- order paid or refunded
    kind        TEXT NOT NULL CHECK (kind IN ('charge', 'refund')), -- charge = customer paid; refund = money returned
    method      TEXT NOT NULL CHECK (method IN ('card', 'paypal', 'wallet', 'gift_card', 'cash')), -- means of payment
    amount      REAL NOT NULL,       -- signed: positive for charges, negative for refunds, 2 decimals; SUM(amount) = net cash
    paid_at     TIMESTAMP NOT NULL CHECK (paid_at = datetime(paid_at)) -- shop-local time the money moved (YYYY-MM-DD HH:MM:SS)
);
CREATE INDEX payments_order_id ON payments (order_id);

CREATE VIEW order_totals AS
-- One row per order with its money totals. Revenue questions should use net_amount of
-- orders where is_revenue = 1 (cancelled and refunded orders earned nothing).
SELECT
    o.order_id,
    o.customer_id,
    o.ordered_at,
    o.order_date,
    o.status,
    o.channel,
    COUNT(*) AS line_count,
    SUM(i.quantity) AS item_count,
    ROUND(SUM(i.quantity * i.unit_price), 2) AS gross_amount,
    ROUND(SUM(i.discount_amount), 2) AS discount_amount,
    ROUND(SUM(i.quantity * i.unit_price - i.discount_amount), 2) AS net_amount,
    ROUND(SUM(i.quantity * p.unit_cost), 2) AS cost_amount,
    o.status NOT IN ('cancelled', 'refunded') AS is_revenue
FROM orders AS o
JOIN order_items AS i ON i.order_id = o.order_id
JOIN products AS p ON p.product_id = i.product_id
GROUP BY o.order_id;

CREATE VIEW monthly_revenue AS
-- Revenue per calendar month and region, counting only orders that earned money.
SELECT
    strftime('%Y-%m', t.order_date) AS month,
    r.name AS region,
    COUNT(*) AS orders,
    COUNT(DISTINCT t.customer_id) AS customers,
    ROUND(SUM(t.net_amount), 2) AS revenue,
    ROUND(SUM(t.net_amount - t.cost_amount), 2) AS gross_profit
FROM order_totals AS t
JOIN customers AS c ON c.customer_id = t.customer_id
JOIN regions AS r ON r.region_id = c.region_id
WHERE t.is_revenue
GROUP BY month, r.name;
";
