//! Number formatting for people: grouped thousands, and short forms with k/M/B/T suffixes.

/// `1234567` -> `"1,234,567"`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Formats `x` with `decimals` places and grouped thousands: `-1234.5` -> `"-1,234.50"`.
fn fixed(x: f64, decimals: usize) -> String {
    let text = format!("{:.decimals$}", x.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole = whole
        .parse::<u64>()
        .map_or_else(|_| whole.to_owned(), grouped);
    // `-0.0` and values that round to zero get no sign.
    let sign = if x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// A unit a number is shown in: `2_500_000` in millions is `2.5M`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Unit {
    divisor: f64,
    suffix: &'static str,
}

/// The unit for numbers as large as `magnitude`. Numbers below ten thousand stay whole, since
/// `4,200` reads more easily than `4.2k`.
fn unit_for(magnitude: f64) -> Unit {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e4, "k")];
    UNITS
        .iter()
        .find(|(divisor, _)| magnitude >= *divisor)
        .map_or(
            Unit {
                divisor: 1.0,
                suffix: "",
            },
            |&(divisor, suffix)| Unit {
                divisor: if divisor == 1e4 { 1e3 } else { divisor },
                suffix,
            },
        )
}

/// About three significant digits, for a value printed beside a bar: `1234567.0` -> `"1.23M"`.
pub(super) fn compact(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let unit = unit_for(x.abs());
    let scaled = x / unit.divisor;
    let decimals = match scaled.abs() {
        m if m >= 100.0 || m == 0.0 => 0,
        m if m >= 10.0 => 1,
        m if m >= 1.0 => 2,
        // Small fractions keep three significant digits: 0.00123.
        m => (2 - m.log10().floor() as i64).clamp(0, 9) as usize,
    };
    let text = fixed(scaled, decimals);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{}", unit.suffix)
}

/// Labels for the ticks of a value axis: one unit and one number of decimals for all ticks,
/// chosen from the axis range and the tick step, so labels line up and never repeat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct AxisFormat {
    unit: Unit,
    decimals: usize,
}

impl AxisFormat {
    pub(super) fn new(lo: f64, hi: f64, step: f64) -> AxisFormat {
        let unit = unit_for(lo.abs().max(hi.abs()));
        let scaled_step = step / unit.divisor;
        let decimals = if scaled_step > 0.0 && scaled_step.is_finite() {
            // Steps like 2.5 need one more place than their magnitude says.
            let places = -(scaled_step.log10().floor()) as i64;
            let extra = i64::from((scaled_step * 10f64.powi(places as i32)).fract() > 1e-6);
            (places + extra).clamp(0, 9) as usize
        } else {
            0
        };
        AxisFormat { unit, decimals }
    }

    pub(super) fn format(&self, x: f64) -> String {
        // Zero needs no unit: `0` reads better than `0.0M`.
        if x == 0.0 {
            return "0".to_owned();
        }
        format!(
            "{}{}",
            fixed(x / self.unit.divisor, self.decimals),
            self.unit.suffix
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        let check = |n: u64, expected: &str| assert_eq!(grouped(n), expected, "{n}");
        check(0, "0");
        check(999, "999");
        check(1_000, "1,000");
        check(1_234_567, "1,234,567");
        check(100_000, "100,000");
    }

    #[test]
    fn compact_numbers_keep_three_digits() {
        let check = |x: f64, expected: &str| assert_eq!(compact(x), expected, "{x}");
        check(0.0, "0");
        check(7.0, "7");
        check(12.5, "12.5");
        check(999.0, "999");
        check(4_200.0, "4,200");
        check(12_345.0, "12.3k");
        check(1_234_567.0, "1.23M");
        check(-2_500_000.0, "-2.5M");
        check(3.0e9, "3B");
        check(0.001234, "0.00123");
        check(-0.5, "-0.5");
    }

    #[test]
    fn axis_labels_share_unit_and_decimals() {
        let check = |lo: f64, hi: f64, step: f64, x: f64, expected: &str| {
            assert_eq!(AxisFormat::new(lo, hi, step).format(x), expected, "{x}");
        };
        check(0.0, 100.0, 20.0, 40.0, "40");
        check(0.0, 1.0, 0.2, 0.4, "0.4");
        check(0.0, 1.0, 0.25, 0.5, "0.50");
        check(0.0, 5_000.0, 1_000.0, 3_000.0, "3,000");
        check(0.0, 50_000.0, 10_000.0, 30_000.0, "30k");
        check(0.0, 12_000.0, 2_500.0, 7_500.0, "7.5k");
        check(0.0, 3.0e6, 5.0e5, 1.5e6, "1.5M");
        check(-2.0e6, 2.0e6, 1.0e6, -1.0e6, "-1M");
        check(0.0, 1.0e9, 2.0e8, 0.0, "0");
        check(0.0, 1.0e9, 2.0e8, 4.0e8, "0.4B");
    }
}
