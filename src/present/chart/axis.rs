//! Chart axes with readable ticks: calendar-aligned times, whole calendar numbers, values with
//! grouped thousands or k/M suffixes, and category names.
//!
//! Ticks are computed once, up front, so the labels can be formatted knowing the step (a
//! `0.25` step needs two decimals, a month step needs no day).

use std::ops::Range;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;

use crate::present::chart::CalendarUnit;
use crate::present::number::AxisFormat;

const DAY: f64 = 86_400.0;

/// What an axis's values are.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scale {
    Number,
    /// Seconds since 1970-01-01 00:00; with `whole_days`, every value is a midnight, so
    /// ticks are at least a day apart.
    Time {
        whole_days: bool,
    },
    Calendar(CalendarUnit),
    /// Category names; the first is at the top (the high end) of the axis.
    Category(Vec<String>),
}

/// One axis: its range, its ticks, and how their labels read.
#[derive(Debug, Clone)]
pub(super) struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    labels: Labels,
}

/// How tick labels read.
#[derive(Debug, Clone, PartialEq)]
enum Labels {
    Number(AxisFormat),
    /// A chrono format string.
    Time(&'static str),
    Calendar(CalendarUnit),
    Category(Vec<String>),
}

impl Axis {
    /// An axis from `lo` to `hi` with at most `max_ticks` labelled ticks (at least two).
    pub(super) fn new(lo: f64, hi: f64, scale: Scale, max_ticks: usize) -> Axis {
        let max_ticks = max_ticks.max(2);
        let (ticks, labels) = match scale {
            Scale::Number => {
                let (ticks, step) = round_ticks(lo, hi, max_ticks, &[1.0, 2.0, 2.5, 5.0]);
                let format = AxisFormat::new(lo, hi, step);
                (ticks, Labels::Number(format))
            }
            Scale::Time { whole_days } => {
                let (ticks, format) = time_ticks(lo, hi, max_ticks, whole_days);
                (ticks, Labels::Time(format))
            }
            Scale::Calendar(unit) => {
                // Whole units only, and no 2.5-year steps.
                let (ticks, _) = round_ticks(lo.min(hi - 1.0), hi, max_ticks, &[1.0, 2.0, 5.0]);
                let ticks = ticks.into_iter().filter(|t| t.fract() == 0.0).collect();
                (ticks, Labels::Calendar(unit))
            }
            Scale::Category(names) => {
                let ticks = (0..names.len()).map(|i| i as f64).collect();
                (ticks, Labels::Category(names))
            }
        };
        Axis {
            lo,
            hi,
            ticks,
            labels,
        }
    }

    /// What time labels leave out because every tick shares it: the day of `14:00` ticks,
    /// the year of `Mar 5` ticks.
    pub(super) fn context(&self) -> Option<String> {
        let Labels::Time(format) = self.labels else {
            return None;
        };
        let first = to_time(*self.ticks.first()?)?;
        if !format.contains("%b") && !format.contains("%Y") {
            Some(first.format("%b %-d, %Y").to_string())
        } else if !format.contains("%Y") {
            Some(first.format("%Y").to_string())
        } else {
            None
        }
    }

    /// The labels of the ticks, to size the room they need.
    pub(super) fn tick_texts(&self) -> Vec<String> {
        self.ticks
            .iter()
            .map(|&tick| self.labels.text(tick))
            .collect()
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.lo..self.hi).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only the labelled ticks get grid lines; finer lines would only add noise.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The mesh labels ticks with this when no formatter is given.
impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        self.labels.text(*value)
    }
}

impl Labels {
    fn text(&self, value: f64) -> String {
        match self {
            Labels::Number(format) => format.format(value),
            Labels::Time(format) => {
                let whole = value.floor();
                let nanos = ((value - whole) * 1e9) as u32;
                DateTime::from_timestamp(whole as i64, nanos)
                    .map(|stamp| stamp.format(format).to_string())
                    .unwrap_or_default()
            }
            Labels::Calendar(unit) => calendar_label(*unit, value.round() as i64),
            Labels::Category(names) => {
                // The first name is at the top, so positions count down from the last.
                let position = value.round() as i64;
                usize::try_from(names.len() as i64 - 1 - position)
                    .ok()
                    .and_then(|i| names.get(i))
                    .cloned()
                    .unwrap_or_default()
            }
        }
    }
}

fn calendar_label(unit: CalendarUnit, n: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match unit {
        CalendarUnit::Month => usize::try_from(n - 1)
            .ok()
            .and_then(|i| MONTHS.get(i))
            .map_or_else(|| n.to_string(), |name| (*name).to_owned()),
        CalendarUnit::Quarter => format!("Q{n}"),
        CalendarUnit::Hour => format!("{n:02}:00"),
        // Years read as `2024`, never `2,024`.
        CalendarUnit::Year | CalendarUnit::Week | CalendarUnit::Day => n.to_string(),
    }
}

/// The multiples of the finest round step (a factor times a power of ten) that gives at most
/// `max_ticks` ticks from `lo` to `hi`, and that step.
fn round_ticks(lo: f64, hi: f64, max_ticks: usize, factors: &[f64]) -> (Vec<f64>, f64) {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return (vec![lo], 1.0);
    }
    // No step finer than span / max_ticks can do; start one power of ten below it.
    let mut magnitude = 10f64.powf((span / max_ticks as f64).log10().floor() - 1.0);
    loop {
        for factor in factors {
            let step = factor * magnitude;
            let ticks = multiples(lo, hi, step);
            if ticks.len() <= max_ticks {
                return (ticks, step);
            }
        }
        magnitude *= 10.0;
    }
}

/// The multiples of `step` from `lo` to `hi`.
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A calendar step between time ticks.
#[derive(Debug, Clone, Copy)]
enum Step {
    Seconds(i64),
    Days(i64),
    Weeks(i64),
    Months(u32),
    Years(i32),
}

impl Step {
    fn nominal_seconds(self) -> f64 {
        match self {
            Step::Seconds(n) => n as f64,
            Step::Days(n) => n as f64 * DAY,
            Step::Weeks(n) => n as f64 * 7.0 * DAY,
            Step::Months(n) => f64::from(n) * 30.44 * DAY,
            Step::Years(n) => f64::from(n) * 365.25 * DAY,
        }
    }
}

const TIME_STEPS: [Step; 32] = [
    Step::Seconds(1),
    Step::Seconds(5),
    Step::Seconds(15),
    Step::Seconds(30),
    Step::Seconds(60),
    Step::Seconds(5 * 60),
    Step::Seconds(15 * 60),
    Step::Seconds(30 * 60),
    Step::Seconds(3600),
    Step::Seconds(2 * 3600),
    Step::Seconds(3 * 3600),
    Step::Seconds(6 * 3600),
    Step::Seconds(12 * 3600),
    Step::Days(1),
    Step::Days(2),
    Step::Weeks(1),
    Step::Weeks(2),
    Step::Months(1),
    Step::Months(2),
    Step::Months(3),
    Step::Months(6),
    Step::Years(1),
    Step::Years(2),
    Step::Years(5),
    Step::Years(10),
    Step::Years(20),
    Step::Years(25),
    Step::Years(50),
    Step::Years(100),
    Step::Years(200),
    Step::Years(500),
    Step::Years(1000),
];

/// Ticks on calendar boundaries (midnights, Mondays, firsts of months, new years), the finest
/// step that gives at most `max_ticks`, and a label format that shows just what changes.
fn time_ticks(lo: f64, hi: f64, max_ticks: usize, whole_days: bool) -> (Vec<f64>, &'static str) {
    let span = hi - lo;
    let (step, ticks) = TIME_STEPS
        .iter()
        .copied()
        .filter(|step| !(whole_days && matches!(step, Step::Seconds(_))))
        // Skip steps far too fine before generating their ticks.
        .filter(|step| span / step.nominal_seconds() <= 2.0 * max_ticks as f64)
        .map(|step| (step, calendar_ticks(lo, hi, step)))
        .find(|(_, ticks)| ticks.len() <= max_ticks)
        .unwrap_or_else(|| (Step::Years(1000), calendar_ticks(lo, hi, Step::Years(1000))));
    // What changes between the first and last tick decides what the labels show.
    let first = ticks.first().copied().unwrap_or(lo);
    let last = ticks.last().copied().unwrap_or(hi);
    let (Some(first), Some(last)) = (to_time(first), to_time(last)) else {
        return (ticks, "%Y-%m-%d");
    };
    let one_day = first.date() == last.date();
    let one_year = first.year() == last.year();
    let format = match step {
        Step::Seconds(n) if n < 60 => "%H:%M:%S",
        Step::Seconds(_) if one_day => "%H:%M",
        Step::Seconds(_) => "%b %-d %H:%M",
        Step::Days(_) | Step::Weeks(_) if one_year => "%b %-d",
        Step::Days(_) | Step::Weeks(_) => "%b %-d, %Y",
        Step::Months(_) => "%b %Y",
        Step::Years(_) => "%Y",
    };
    (ticks, format)
}

fn calendar_ticks(lo: f64, hi: f64, step: Step) -> Vec<f64> {
    let in_range = |t: &f64| *t >= lo - 1e-6 && *t <= hi + 1e-6;
    match step {
        Step::Seconds(n) => multiples(lo, hi, n as f64),
        Step::Days(n) => multiples(lo, hi, n as f64 * DAY),
        Step::Weeks(n) => {
            // 1970-01-05 was a Monday.
            let monday = 4.0 * DAY;
            multiples(lo - monday, hi - monday, n as f64 * 7.0 * DAY)
                .into_iter()
                .map(|t| t + monday)
                .collect()
        }
        Step::Months(n) => {
            let Some(start) = to_time(lo) else {
                return Vec::new();
            };
            let month0 = start.month0() / n * n;
            let mut date = NaiveDate::from_ymd_opt(start.year(), month0 + 1, 1);
            let mut ticks = Vec::new();
            while let Some(day) = date {
                let t = seconds(day);
                if t > hi + 1e-6 {
                    break;
                }
                ticks.push(t);
                date = day.checked_add_months(Months::new(n));
            }
            ticks.retain(in_range);
            ticks
        }
        Step::Years(n) => {
            let Some(start) = to_time(lo) else {
                return Vec::new();
            };
            let mut year = start.year().div_euclid(n) * n;
            let mut ticks = Vec::new();
            while let Some(day) = NaiveDate::from_ymd_opt(year, 1, 1) {
                let t = seconds(day);
                if t > hi + 1e-6 {
                    break;
                }
                ticks.push(t);
                year += n;
            }
            ticks.retain(in_range);
            ticks
        }
    }
}

fn to_time(seconds: f64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(seconds.floor() as i64, 0).map(|stamp| stamp.naive_utc())
}

fn seconds(day: NaiveDate) -> f64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0.0, |stamp| stamp.and_utc().timestamp() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> f64 {
        let date: NaiveDate = text.parse().expect("date");
        seconds(date)
    }

    /// The tick labels of an axis joined by bars, then what they leave out in parentheses.
    #[track_caller]
    fn check(lo: f64, hi: f64, scale: Scale, max_ticks: usize, expected: &str) {
        let axis = Axis::new(lo, hi, scale, max_ticks);
        let mut actual = axis.tick_texts().join(" | ");
        if let Some(context) = axis.context() {
            actual.push_str(&format!(" ({context})"));
        }
        assert_eq!(actual, expected);
    }

    #[test]
    fn value_ticks_are_round_and_share_a_format() {
        check(0.0, 100.0, Scale::Number, 6, "0 | 20 | 40 | 60 | 80 | 100");
        check(0.0, 100.0, Scale::Number, 5, "0 | 25 | 50 | 75 | 100");
        check(0.0, 1.0, Scale::Number, 5, "0 | 0.25 | 0.50 | 0.75 | 1.00");
        check(0.0, 1.0, Scale::Number, 4, "0 | 0.5 | 1.0");
        check(-3.0, 7.0, Scale::Number, 5, "-2 | 0 | 2 | 4 | 6");
        check(
            0.0,
            2.6e6,
            Scale::Number,
            6,
            "0 | 0.5M | 1.0M | 1.5M | 2.0M | 2.5M",
        );
        check(
            0.0,
            12e6,
            Scale::Number,
            7,
            "0 | 2M | 4M | 6M | 8M | 10M | 12M",
        );
        check(
            1_000.0,
            9_000.0,
            Scale::Number,
            4,
            "2,000 | 4,000 | 6,000 | 8,000",
        );
    }

    #[test]
    fn time_ticks_fall_on_calendar_boundaries() {
        let check_days = |lo: &str, hi: &str, max: usize, expected: &str| {
            let scale = Scale::Time { whole_days: true };
            check(day(lo), day(hi), scale, max, expected);
        };
        check_days(
            "2024-01-01",
            "2024-01-05",
            8,
            "Jan 1 | Jan 2 | Jan 3 | Jan 4 | Jan 5 (2024)",
        );
        check_days(
            "2024-01-03",
            "2024-02-20",
            8,
            "Jan 8 | Jan 15 | Jan 22 | Jan 29 | Feb 5 | Feb 12 | Feb 19 (2024)",
        );
        check_days(
            "2023-11-15",
            "2024-02-20",
            8,
            "Nov 27, 2023 | Dec 11, 2023 | Dec 25, 2023 | Jan 8, 2024 | Jan 22, 2024 | Feb 5, 2024 | Feb 19, 2024",
        );
        check_days(
            "2023-01-01",
            "2024-06-30",
            8,
            "Jan 2023 | Apr 2023 | Jul 2023 | Oct 2023 | Jan 2024 | Apr 2024",
        );
        check_days(
            "2015-03-01",
            "2024-06-30",
            8,
            "2016 | 2018 | 2020 | 2022 | 2024",
        );
        let noon = day("2024-03-01") + 12.0 * 3600.0;
        check(
            noon,
            noon + 3.0 * 3600.0,
            Scale::Time { whole_days: false },
            8,
            "12:00 | 12:30 | 13:00 | 13:30 | 14:00 | 14:30 | 15:00 (Mar 1, 2024)",
        );
        check(
            noon,
            noon + 2.0 * DAY,
            Scale::Time { whole_days: false },
            8,
            "Mar 1 12:00 | Mar 2 00:00 | Mar 2 12:00 | Mar 3 00:00 | Mar 3 12:00 (2024)",
        );
        check(
            noon,
            noon + 2.0 * DAY,
            Scale::Time { whole_days: false },
            9,
            "Mar 1 12:00 | Mar 1 18:00 | Mar 2 00:00 | Mar 2 06:00 | Mar 2 12:00 | Mar 2 18:00 | Mar 3 00:00 | Mar 3 06:00 | Mar 3 12:00 (2024)",
        );
    }

    #[test]
    fn calendar_ticks_are_whole_and_named() {
        check(
            0.6,
            12.4,
            Scale::Calendar(CalendarUnit::Month),
            12,
            "Jan | Feb | Mar | Apr | May | Jun | Jul | Aug | Sep | Oct | Nov | Dec",
        );
        check(
            0.6,
            12.4,
            Scale::Calendar(CalendarUnit::Month),
            6,
            "Feb | Apr | Jun | Aug | Oct | Dec",
        );
        check(
            2009.8,
            2024.2,
            Scale::Calendar(CalendarUnit::Year),
            8,
            "2010 | 2012 | 2014 | 2016 | 2018 | 2020 | 2022 | 2024",
        );
        check(
            0.8,
            4.2,
            Scale::Calendar(CalendarUnit::Quarter),
            8,
            "Q1 | Q2 | Q3 | Q4",
        );
        check(
            -0.5,
            2.5,
            Scale::Category(vec!["a".into(), "b".into(), "c".into()]),
            8,
            "c | b | a",
        );
    }
}
