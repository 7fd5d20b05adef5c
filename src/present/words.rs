//! How querybot words an answer on every surface: row counts, durations, plurals, the notes
//! under a draft or an answer, and the status line of a draft that was run or cancelled.
//!
//! Surfaces draw these with their own markup; the words are the same everywhere.

use std::time::Duration;

use super::number::grouped;

/// How many characters `text` has (Unicode scalar values, as Slack and Discord count them).
pub fn n_chars(text: &str) -> usize {
    text.chars().count()
}

/// `text` if it has at most `max_chars` characters, else its start and `…` in that many.
pub fn cut(text: &str, max_chars: usize) -> String {
    if n_chars(text) <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

/// "3 rows", "showing 20 of 1,234 rows", "showing 20 of 5,000+ rows" or "no rows".
pub fn rows_note(n_shown: usize, row_count: u64, truncated: bool) -> String {
    let n_shown = n_shown as u64;
    if truncated {
        format!(
            "showing {} of {}+ rows",
            grouped(n_shown),
            grouped(row_count)
        )
    } else if row_count == 0 {
        "no rows".to_owned()
    } else if n_shown < row_count {
        format!(
            "showing {} of {} rows",
            grouped(n_shown),
            grouped(row_count)
        )
    } else {
        rows(row_count)
    }
}

/// "1 row", "1,234 rows".
pub fn rows(n: u64) -> String {
    format!("{} {}", grouped(n), plural(n, "row", "rows"))
}

/// "320 ms", "1.4 s", "2 min 5 s".
pub fn duration(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", elapsed.as_secs_f64())
    } else {
        let secs = elapsed.as_secs();
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// How long until something is possible again, rounded up, for a person: "4 minutes",
/// "1 hour", "30 seconds".
pub fn wait(wait: Duration) -> String {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let (n, one, many) = if seconds < 60 {
        (seconds.max(1), "second", "seconds")
    } else if seconds < 2 * 3600 {
        (seconds.div_ceil(60), "minute", "minutes")
    } else {
        (seconds.div_ceil(3600), "hour", "hours")
    };
    format!("{n} {}", plural(n, one, many))
}

pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Under a draft: the planner's estimate.
pub fn estimate_note(estimated_rows: u64) -> String {
    format!("Estimated result: about {}", rows(estimated_rows))
}

/// Under a draft: what its plan reads, "Scans about 1.2 GiB (14 of 300 partitions)".
pub fn scan_note(bytes: u64, partitions: Option<(u64, u64)>) -> String {
    match partitions {
        Some((read, total)) => format!(
            "Scans about {} ({} of {} {})",
            self::bytes(bytes),
            grouped(read),
            grouped(total),
            plural(total, "partition", "partitions")
        ),
        None => format!("Scans about {}", self::bytes(bytes)),
    }
}

/// Under a draft whose plan reads more than the bot warns above.
pub const SCAN_WARNING: &str = "⚠ This query reads more data than this bot runs without a \
                                warning (QUERYBOT_CONFIRM_ABOVE_BYTES); check it before you Run.";

/// Under a draft whose SQL is shown only in part.
pub fn sql_cut_note(n_chars: usize) -> String {
    format!(
        "The SQL is too long to show in full ({} characters); this is its start.",
        grouped(n_chars as u64)
    )
}

/// With a CSV cut to a platform's upload limit.
pub fn csv_cut_note(rows_kept: u64, limit_bytes: u64) -> String {
    format!(
        "The CSV is cut to its first {} to stay within the {} upload limit.",
        rows(rows_kept),
        bytes(limit_bytes)
    )
}

/// "512 bytes", "8 KiB", "10 MiB", "1.5 GiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024 {
        return format!("{n} {}", plural(n, "byte", "bytes"));
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

/// Under an answer: what follows it in the thread.
pub fn files_note(has_chart: bool) -> &'static str {
    if has_chart {
        "The chart and the full CSV follow in this thread."
    } else {
        "The full CSV follows in this thread."
    }
}

/// What became of a draft, for the line under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Ran {
        elapsed: Duration,
        row_count: u64,
    },
    /// The query ran but its answer could not be posted.
    Undelivered,
    Failed,
    Cancelled,
    /// Someone pressed Stop; the draft may be run again.
    Stopped,
}

/// The status line, with `by` already drawn as the surface mentions a person.
pub fn status_line(status: RunStatus, by: &str) -> String {
    match status {
        RunStatus::Running => format!("Running… (started by {by})"),
        RunStatus::Ran { elapsed, row_count } => {
            format!("Ran by {by} in {} · {}", duration(elapsed), rows(row_count))
        }
        RunStatus::Undelivered => format!("Ran by {by}, but the answer could not be posted."),
        RunStatus::Failed => format!("Run by {by} failed; see the thread."),
        RunStatus::Cancelled => format!("Cancelled by {by}"),
        RunStatus::Stopped => format!("Stopped by {by} before it finished"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_rounded_up_in_the_largest_fitting_unit() {
        assert_eq!(wait(Duration::from_millis(200)), "1 second");
        assert_eq!(wait(Duration::from_secs(59)), "59 seconds");
        assert_eq!(wait(Duration::from_secs(61)), "2 minutes");
        assert_eq!(wait(Duration::from_secs(3600)), "60 minutes");
        assert_eq!(wait(Duration::from_secs(5 * 3600 - 10)), "5 hours");
    }

    #[test]
    fn a_scan_says_bytes_and_partitions() {
        assert_eq!(
            scan_note(1_288_490_189, Some((14, 300))),
            "Scans about 1.2 GiB (14 of 300 partitions)"
        );
        assert_eq!(scan_note(2048, None), "Scans about 2 KiB");
        assert_eq!(
            scan_note(10, Some((1, 1))),
            "Scans about 10 bytes (1 of 1 partition)"
        );
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(1), "1 byte");
        assert_eq!(bytes(1023), "1023 bytes");
        assert_eq!(bytes(8 * 1024), "8 KiB");
        assert_eq!(bytes(10 * 1024 * 1024), "10 MiB");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(
            csv_cut_note(1234, 10 * 1024 * 1024),
            "The CSV is cut to its first 1,234 rows to stay within the 10 MiB upload limit."
        );
    }

    #[test]
    fn counts_are_grouped_and_singular_when_one() {
        assert_eq!(rows_note(3, 3, false), "3 rows");
        assert_eq!(rows_note(1, 1, false), "1 row");
        assert_eq!(rows_note(20, 1234, false), "showing 20 of 1,234 rows");
        assert_eq!(rows_note(20, 5000, true), "showing 20 of 5,000+ rows");
        assert_eq!(rows_note(0, 0, false), "no rows");
        assert_eq!(estimate_note(1), "Estimated result: about 1 row");
    }

    #[test]
    fn durations_read_like_a_person_says_them() {
        for (elapsed_ms, expected) in [
            (0, "0 ms"),
            (320, "320 ms"),
            (1_440, "1.4 s"),
            (59_949, "59.9 s"),
            (125_000, "2 min 5 s"),
        ] {
            assert_eq!(duration(Duration::from_millis(elapsed_ms)), expected);
        }
    }

    #[test]
    fn status_lines_name_who_acted() {
        let ran = RunStatus::Ran {
            elapsed: Duration::from_millis(1_400),
            row_count: 1234,
        };
        assert_eq!(
            status_line(ran, "@ana"),
            "Ran by @ana in 1.4 s · 1,234 rows"
        );
        assert_eq!(
            status_line(RunStatus::Running, "@ana"),
            "Running… (started by @ana)"
        );
        assert_eq!(
            status_line(RunStatus::Cancelled, "@ana"),
            "Cancelled by @ana"
        );
    }
}
