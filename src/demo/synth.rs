//! Turns a seed into the demo shop's rows, in memory, with realistic patterns.
//!
//! Everything is a pure function of the seed. To keep it identical on every platform the
//! generator draws only from `ChaCha8Rng` (portable), keeps money in integer cents and uses
//! no transcendental float functions (`ln`, `exp`, `powf` may differ in the last bit
//! between libms, which could flip a comparison and change the data).

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::data::{CATEGORIES, COUNTRIES, EMAIL_DOMAINS, PRODUCTS, REGIONS};

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// First and last day with orders: exactly two calendar years.
pub(super) const FIRST_DAY: NaiveDate = date(2024, 1, 1);
pub(super) const LAST_DAY: NaiveDate = date(2025, 12, 31);
/// The oldest accounts predate the order history, as in any real shop.
const FIRST_SIGNUP: NaiveDate = date(2021, 1, 1);

const CUSTOMERS: usize = 1_200;
/// Orders per day before growth, seasonality and weekday effects (gives ~6,000 orders).
const BASE_ORDERS_PER_DAY: f64 = 6.8;
/// Demand grows linearly by this fraction over the two years.
const GROWTH_OVER_PERIOD: f64 = 0.30;
/// Demand by month, January first: summer dip, November/December peak.
const MONTH_FACTOR: [f64; 12] = [
    0.85, 0.80, 0.90, 0.95, 1.00, 0.82, 0.72, 0.80, 0.95, 1.05, 1.45, 1.75,
];
/// Demand by weekday, Monday first: busier towards and over the weekend.
const WEEKDAY_FACTOR: [f64; 7] = [0.95, 0.90, 0.95, 1.00, 1.10, 1.20, 1.05];
/// Relative order volume per hour of day, per channel (stores only open 9:00-20:59).
const WEB_HOURS: [u32; 24] = [
    3, 2, 1, 1, 1, 1, 2, 4, 5, 6, 7, 7, 8, 8, 7, 7, 7, 8, 9, 11, 12, 11, 8, 5,
];
const APP_HOURS: [u32; 24] = [
    4, 2, 1, 1, 1, 1, 3, 6, 7, 6, 5, 5, 8, 7, 5, 5, 6, 8, 9, 10, 12, 12, 10, 7,
];
const STORE_HOURS: [u32; 24] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 6, 8, 10, 9, 8, 8, 9, 10, 10, 7, 4, 0, 0, 0,
];
/// How many lines an order has: weights for 1, 2, 3, 4 and 5 lines.
const LINE_COUNT_WEIGHTS: [u32; 5] = [52, 26, 12, 6, 4];
/// Discount rates in percent and how often each is used when a line is discounted.
const DISCOUNT_PERCENTS: [(i64, u32); 5] = [(5, 30), (10, 30), (15, 20), (20, 12), (25, 8)];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Segment {
    Consumer,
    SmallBusiness,
    Corporate,
}

impl Segment {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Segment::Consumer => "consumer",
            Segment::SmallBusiness => "small_business",
            Segment::Corporate => "corporate",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel {
    Web,
    App,
    Store,
}

impl Channel {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Store => "store",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Pending,
    Shipped,
    Completed,
    Refunded,
    Cancelled,
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Shipped => "shipped",
            Status::Completed => "completed",
            Status::Refunded => "refunded",
            Status::Cancelled => "cancelled",
        }
    }
}

pub(super) struct Customer {
    pub(super) first_name: &'static str,
    pub(super) last_name: &'static str,
    pub(super) email: String,
    pub(super) city: &'static str,
    pub(super) country: &'static str,
    /// Index into `REGIONS`.
    pub(super) region: usize,
    pub(super) signup_date: NaiveDate,
    pub(super) segment: Segment,
}

pub(super) struct Product {
    pub(super) sku: String,
    pub(super) name: &'static str,
    /// Index into `CATEGORIES`.
    pub(super) category: usize,
    pub(super) price_cents: i64,
    pub(super) cost_cents: i64,
}

pub(super) struct Order {
    /// 1-based, like every id below.
    pub(super) customer_id: i64,
    pub(super) ordered_at: NaiveDateTime,
    pub(super) status: Status,
    pub(super) channel: Channel,
}

pub(super) struct OrderItem {
    pub(super) order_id: i64,
    pub(super) line_no: i64,
    pub(super) product_id: i64,
    pub(super) quantity: i64,
    pub(super) price_cents: i64,
    pub(super) discount_cents: i64,
}

pub(super) struct Payment {
    pub(super) order_id: i64,
    pub(super) is_refund: bool,
    pub(super) method: &'static str,
    /// Negative for refunds.
    pub(super) amount_cents: i64,
    pub(super) paid_at: NaiveDateTime,
}

/// All generated rows. Regions and categories are the constant lists in `data`; ids are
/// positions plus one everywhere.
pub(super) struct Dataset {
    pub(super) customers: Vec<Customer>,
    pub(super) products: Vec<Product>,
    pub(super) orders: Vec<Order>,
    pub(super) items: Vec<OrderItem>,
    pub(super) payments: Vec<Payment>,
}

pub(super) fn dataset(seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let customers = customers(&mut rng);
    let products = products(&mut rng);
    let mut sales = Sales::new(&mut rng, &customers, &products);
    let mut day = FIRST_DAY;
    while day <= LAST_DAY {
        sales.day(&mut rng, day);
        day += Duration::days(1);
    }
    let Sales {
        orders,
        items,
        mut payments,
        ..
    } = sales;
    // Payment ids should increase with time like every other id; refunds come days later.
    payments.sort_by_key(|p| (p.paid_at, p.order_id, p.is_refund));
    Dataset {
        customers,
        products,
        orders,
        items,
        payments,
    }
}

fn customers(rng: &mut ChaCha8Rng) -> Vec<Customer> {
    let mut signups: Vec<NaiveDate> = (0..CUSTOMERS).map(|_| signup_date(rng)).collect();
    // Ids follow signup order, as an auto-increment key would.
    signups.sort_unstable();
    let mut emails = HashSet::new();
    signups
        .into_iter()
        .map(|signup_date| {
            let new = signup_date >= FIRST_DAY;
            let weights: Vec<f64> = COUNTRIES
                .iter()
                .map(|c| {
                    let growth = if new { REGIONS[c.region].growth } else { 1.0 };
                    f64::from(c.weight) * growth
                })
                .collect();
            let country = &COUNTRIES[pick_weighted(rng, &weights)];
            let region = &REGIONS[country.region];
            // Bigger cities come first in the list and get more customers.
            let city_weights: Vec<f64> = (0..country.cities.len())
                .map(|i| 1.0 / (i as f64 + 1.0))
                .collect();
            let first_name = region.first_names[rng.random_range(0..region.first_names.len())];
            let last_name = region.last_names[rng.random_range(0..region.last_names.len())];
            Customer {
                first_name,
                last_name,
                email: email(rng, &mut emails, first_name, last_name),
                city: country.cities[pick_weighted(rng, &city_weights)],
                country: country.name,
                region: country.region,
                signup_date,
                segment: pick(
                    rng,
                    &[
                        (Segment::Consumer, 80),
                        (Segment::SmallBusiness, 15),
                        (Segment::Corporate, 5),
                    ],
                ),
            }
        })
        .collect()
}

/// Signups from 2021 on, becoming more frequent over time (about half predate 2024).
fn signup_date(rng: &mut ChaCha8Rng) -> NaiveDate {
    let span = (LAST_DAY - FIRST_SIGNUP).num_days();
    loop {
        let offset = rng.random_range(0..=span);
        let ramp = 0.4 + 0.6 * offset as f64 / span as f64;
        if rng.random::<f64>() < ramp {
            return FIRST_SIGNUP + Duration::days(offset);
        }
    }
}

/// A plausible, unique address: a few common local-part styles, ASCII letters and digits only.
fn email(rng: &mut ChaCha8Rng, taken: &mut HashSet<String>, first: &str, last: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let (first, last) = (clean(first), clean(last));
    let initial = first.chars().next().unwrap_or('x');
    let local = match rng.random_range(0..5u32) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}"),
        2 => format!("{initial}{last}"),
        3 => format!("{first}_{last}{}", rng.random_range(70..=99u32)),
        _ => format!("{first}{}", rng.random_range(1..=999u32)),
    };
    let domain = EMAIL_DOMAINS[rng.random_range(0..EMAIL_DOMAINS.len())];
    let mut candidate = format!("{local}@{domain}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{local}{n}@{domain}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn products(rng: &mut ChaCha8Rng) -> Vec<Product> {
    let mut per_category = vec![0u32; CATEGORIES.len()];
    PRODUCTS
        .iter()
        .map(|p| {
            let category = &CATEGORIES[p.category];
            per_category[p.category] += 1;
            let (lo, hi) = category.margin;
            let margin = lo + (hi - lo) * rng.random::<f64>();
            let price_cents = to_cents(p.price);
            Product {
                sku: format!("{}-{}", category.sku_prefix, 100 + per_category[p.category]),
                name: p.name,
                category: p.category,
                price_cents,
                cost_cents: to_cents(p.price * (1.0 - margin)).max(1),
            }
        })
        .collect()
}

/// Order generation state: who can buy what, and the rows produced so far.
struct Sales<'a> {
    customers: &'a [Customer],
    products: &'a [Product],
    /// Running sum of customer activity weights, in customer (= signup) order, so the
    /// customers who had signed up by a given day are a prefix.
    customer_weights: Vec<f64>,
    /// Running sums of product popularity per month (index 0 = January).
    product_weights: Vec<Vec<f64>>,
    orders: Vec<Order>,
    items: Vec<OrderItem>,
    payments: Vec<Payment>,
}

impl<'a> Sales<'a> {
    fn new(rng: &mut ChaCha8Rng, customers: &'a [Customer], products: &'a [Product]) -> Self {
        // A few heavy buyers and many occasional ones; businesses buy more often.
        let mut total = 0.0;
        let customer_weights = customers
            .iter()
            .map(|c| {
                let activity = 1.0 / (0.04 + 0.96 * rng.random::<f64>());
                let segment = match c.segment {
                    Segment::Consumer => 1.0,
                    Segment::SmallBusiness => 1.6,
                    Segment::Corporate => 2.5,
                };
                total += activity * segment;
                total
            })
            .collect();
        // Long tail: a seeded ranking gives Zipf-like popularity, damped for expensive items.
        let ranks = shuffled(rng, products.len());
        let product_weights = (1..=12u32)
            .map(|month| {
                let mut total = 0.0;
                products
                    .iter()
                    .zip(&ranks)
                    .map(|(p, &rank)| {
                        let zipf = 1.0 / (rank as f64 + 4.0);
                        let price = 1.0 / (1.0 + p.price_cents as f64 / 25_000.0);
                        total += zipf * price * CATEGORIES[p.category].season.factor(month);
                        total
                    })
                    .collect()
            })
            .collect();
        Sales {
            customers,
            products,
            customer_weights,
            product_weights,
            orders: Vec::new(),
            items: Vec::new(),
            payments: Vec::new(),
        }
    }

    /// Generates one day's orders, numbered in time order.
    fn day(&mut self, rng: &mut ChaCha8Rng, day: NaiveDate) {
        let signed_up = self.customers.partition_point(|c| c.signup_date <= day);
        if signed_up == 0 {
            return;
        }
        let count = binomial(rng, expected_orders(day));
        let mut drafts: Vec<(NaiveDateTime, usize, Channel)> = (0..count)
            .map(|_| {
                let customer = pick_cumulative(rng, &self.customer_weights[..signed_up]);
                let channel = channel(rng, day);
                (order_time(rng, day, channel), customer, channel)
            })
            .collect();
        drafts.sort_by_key(|&(at, customer, _)| (at, customer));
        for (ordered_at, customer, channel) in drafts {
            self.order(rng, ordered_at, customer, channel);
        }
    }

    fn order(
        &mut self,
        rng: &mut ChaCha8Rng,
        at: NaiveDateTime,
        customer: usize,
        channel: Channel,
    ) {
        let order_id = self.orders.len() as i64 + 1;
        let day = at.date();
        let age = (LAST_DAY - day).num_days();
        let status = status(rng, channel, age);
        let segment = self.customers[customer].segment;
        let month = day.month0() as usize;
        let discount_chance = discount_chance(day);

        let lines = 1 + pick_index(rng, &LINE_COUNT_WEIGHTS);
        let mut chosen: Vec<usize> = Vec::with_capacity(lines);
        let mut total_cents = 0;
        // Rejection keeps products distinct within an order; the catalogue is far larger
        // than an order, so this ends quickly.
        while chosen.len() < lines {
            let product = pick_cumulative(rng, &self.product_weights[month]);
            if chosen.contains(&product) {
                continue;
            }
            chosen.push(product);
            let price_cents = self.products[product].price_cents;
            let quantity = quantity(rng, segment, price_cents);
            let mut percent = if rng.random::<f64>() < discount_chance {
                pick(rng, &DISCOUNT_PERCENTS)
            } else {
                0
            };
            if segment == Segment::Corporate && quantity >= 5 {
                percent = percent.max(10); // volume discount
            }
            let gross = quantity * price_cents;
            let discount_cents = (gross * percent + 50) / 100;
            total_cents += gross - discount_cents;
            self.items.push(OrderItem {
                order_id,
                line_no: chosen.len() as i64,
                product_id: product as i64 + 1,
                quantity,
                price_cents,
                discount_cents,
            });
        }

        if status != Status::Cancelled {
            let method = payment_method(rng, channel);
            // Online payments settle a little after checkout, but not after the snapshot.
            let delay = if channel == Channel::Store {
                0
            } else {
                rng.random_range(5..=180)
            };
            let end = LAST_DAY.and_time(NaiveTime::MIN) + Duration::seconds(86_399);
            let paid_at = (at + Duration::seconds(delay)).min(end);
            self.payments.push(Payment {
                order_id,
                is_refund: false,
                method,
                amount_cents: total_cents,
                paid_at,
            });
            if status == Status::Refunded {
                // `status` only refunds orders at least two days old, so this stays in range.
                let days = rng.random_range(1..=age.clamp(1, 30));
                let refunded_at = (day + Duration::days(days)).and_time(NaiveTime::MIN)
                    + Duration::seconds(rng.random_range(8 * 3600..20 * 3600));
                self.payments.push(Payment {
                    order_id,
                    is_refund: true,
                    method,
                    amount_cents: -total_cents,
                    paid_at: refunded_at.max(paid_at),
                });
            }
        }

        self.orders.push(Order {
            customer_id: customer as i64 + 1,
            ordered_at: at,
            status,
            channel,
        });
    }
}

/// Expected number of orders on a day: growth x month x weekday x holidays.
fn expected_orders(day: NaiveDate) -> f64 {
    let progress = (day - FIRST_DAY).num_days() as f64 / (LAST_DAY - FIRST_DAY).num_days() as f64;
    let growth = 1.0 + GROWTH_OVER_PERIOD * progress;
    let month = MONTH_FACTOR[day.month0() as usize];
    let weekday = WEEKDAY_FACTOR[day.weekday().num_days_from_monday() as usize];
    BASE_ORDERS_PER_DAY * growth * month * weekday * holiday_factor(day)
}

/// Black Friday weekend and Cyber Monday spike; Christmas and New Year's Day are quiet.
fn holiday_factor(day: NaiveDate) -> f64 {
    let black_friday = black_friday(day.year());
    let since = (day - black_friday).num_days();
    match (day.month(), day.day(), since) {
        (_, _, 0) => 3.0,
        (_, _, 1 | 2) => 1.6,
        (_, _, 3) => 2.2,
        (12, 24, _) => 0.6,
        (12, 25, _) => 0.35,
        (12, 31, _) => 0.7,
        (1, 1, _) => 0.5,
        _ => 1.0,
    }
}

/// The day after the fourth Thursday of November.
pub(super) fn black_friday(year: i32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, 11, 1).unwrap_or(FIRST_DAY);
    let to_thursday =
        (7 + Weekday::Thu.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days(i64::from(to_thursday) + 22)
}

/// Share of lines discounted: sales around Black Friday, in January and in July.
fn discount_chance(day: NaiveDate) -> f64 {
    let since_black_friday = (day - black_friday(day.year())).num_days();
    if (0..=3).contains(&since_black_friday) {
        return 0.6;
    }
    match day.month() {
        1 => 0.25,
        7 => 0.18,
        11 => 0.25,
        12 => 0.20,
        _ => 0.07,
    }
}

/// The app gains share from the store over the two years; stores close on holidays.
fn channel(rng: &mut ChaCha8Rng, day: NaiveDate) -> Channel {
    let progress = (day - FIRST_DAY).num_days() as f64 / (LAST_DAY - FIRST_DAY).num_days() as f64;
    let app = 0.16 + 0.12 * progress;
    let store = 0.30 - 0.06 * progress;
    let x = rng.random::<f64>();
    let closed = (day.month(), day.day()) == (12, 25) || (day.month(), day.day()) == (1, 1);
    if x < app {
        Channel::App
    } else if x < app + store && !closed {
        Channel::Store
    } else {
        Channel::Web
    }
}

fn order_time(rng: &mut ChaCha8Rng, day: NaiveDate, channel: Channel) -> NaiveDateTime {
    let hours = match channel {
        Channel::Web => &WEB_HOURS,
        Channel::App => &APP_HOURS,
        Channel::Store => &STORE_HOURS,
    };
    let hour = pick_index(rng, hours) as i64;
    let second = rng.random_range(0..3600);
    day.and_time(NaiveTime::MIN) + Duration::seconds(hour * 3600 + second)
}

/// Most orders complete; recent online orders are still on their way.
fn status(rng: &mut ChaCha8Rng, channel: Channel, age_days: i64) -> Status {
    let x = rng.random::<f64>();
    match channel {
        // Paid at the till: rarely cancelled, sometimes brought back.
        Channel::Store if x < 0.005 => Status::Cancelled,
        Channel::Store if x < 0.035 && age_days >= 2 => Status::Refunded,
        Channel::Store => Status::Completed,
        _ if x < 0.04 => Status::Cancelled,
        _ if age_days <= 2 => {
            if rng.random::<f64>() < 0.5 {
                Status::Pending
            } else {
                Status::Shipped
            }
        }
        _ if age_days <= 8 => {
            if rng.random::<f64>() < 0.6 {
                Status::Shipped
            } else {
                Status::Completed
            }
        }
        _ if x < 0.10 => Status::Refunded,
        _ => Status::Completed,
    }
}

/// Consumers mostly buy one of a thing (and one of anything expensive); businesses stock up.
fn quantity(rng: &mut ChaCha8Rng, segment: Segment, price_cents: i64) -> i64 {
    match segment {
        Segment::Consumer if price_cents > 40_000 => pick(rng, &[(1, 97), (2, 3)]),
        Segment::Consumer => pick(rng, &[(1, 82), (2, 12), (3, 4), (4, 2)]),
        Segment::SmallBusiness => pick(rng, &[(1, 40), (2, 25), (3, 15), (4, 10), (5, 10)]),
        Segment::Corporate => pick(rng, &[(1, 30), (2, 25), (3, 20), (5, 15), (10, 10)]),
    }
}

fn payment_method(rng: &mut ChaCha8Rng, channel: Channel) -> &'static str {
    match channel {
        Channel::Web => pick(
            rng,
            &[
                ("card", 62),
                ("paypal", 26),
                ("gift_card", 6),
                ("wallet", 6),
            ],
        ),
        Channel::App => pick(
            rng,
            &[
                ("card", 45),
                ("wallet", 40),
                ("paypal", 12),
                ("gift_card", 3),
            ],
        ),
        Channel::Store => pick(rng, &[("card", 68), ("wallet", 17), ("cash", 15)]),
    }
}

fn to_cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

/// Number of successes in a binomial draw with the given mean. A Poisson draw would need
/// `exp`, which is not bit-identical everywhere; with many trials the two look the same.
fn binomial(rng: &mut ChaCha8Rng, mean: f64) -> usize {
    let trials = (mean * 4.0) as usize + 8;
    let p = mean / trials as f64;
    (0..trials).filter(|_| rng.random::<f64>() < p).count()
}

/// A uniformly random permutation of `0..n` (Fisher-Yates).
fn shuffled(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        v.swap(i, j);
    }
    v
}

/// Picks a value with probability proportional to its integer weight.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, choices: &[(T, u32)]) -> T {
    let weights: Vec<u32> = choices.iter().map(|&(_, w)| w).collect();
    choices[pick_index(rng, &weights)].0
}

/// Picks an index with probability proportional to its integer weight.
fn pick_index(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Picks an index with probability proportional to its float weight.
fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let mut total = 0.0;
    let cumulative: Vec<f64> = weights
        .iter()
        .map(|w| {
            total += w;
            total
        })
        .collect();
    pick_cumulative(rng, &cumulative)
}

/// Picks an index given running sums of weights (binary search, so large lists are cheap).
fn pick_cumulative(rng: &mut ChaCha8Rng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len().saturating_sub(1))
}
