//! When, and after how long, a failed LLM call is tried again.
//!
//! Retried: rate limits (429), server errors (5xx, 408), timeouts and connection failures
//! other than a refused connection (nothing listens there), at most `max_retries` times. Never retried: 400, 401, 403, 404 and other client errors, which
//! a retry cannot fix. Waits grow exponentially with jitter from a twentieth of the timeout
//! (between 10 ms and 1 s, so a short timeout is not dwarfed by waiting) up to 15 s plus
//! jitter. A server's `Retry-After` replaces the computed wait. No wait may end after the
//! call's budget, `timeout × (max_retries + 1)` from the first attempt, and a server asking
//! for more than 60 s is not waited for: the call gives up at once with the server's estimate,
//! since retrying sooner than it allows only burns quota, and the user learns when to return.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderMap;

use super::LlmError;

const MIN_FIRST_DELAY: Duration = Duration::from_millis(10);
const MAX_FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest computed wait before jitter (which adds up to as much again).
const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// The longest wait a server may ask for and still be waited for.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Policy {
    max_retries: u32,
    first_delay: Duration,
    budget: Duration,
}

impl Policy {
    pub(super) fn new(timeout: Duration, max_retries: u32) -> Policy {
        Policy {
            max_retries,
            first_delay: (timeout / 20).clamp(MIN_FIRST_DELAY, MAX_FIRST_DELAY),
            budget: timeout.saturating_mul(max_retries.saturating_add(1)),
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries or budget run out;
    /// returns the last result.
    pub(super) async fn run<T, F, Fut>(&self, provider: &str, attempt: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let started = Instant::now();
        let mut failed_attempts = 0_u32;
        let backoff = ExponentialBuilder::new()
            .with_jitter()
            .with_factor(2.0)
            .with_min_delay(self.first_delay)
            .with_max_delay(MAX_BACKOFF)
            .with_max_times(usize::try_from(self.max_retries).unwrap_or(usize::MAX));
        attempt
            .retry(backoff)
            .when(is_transient)
            // backon offers `None` once the retries are used up; that stays final.
            .adjust(|error, backoff| self.wait(error, backoff?, started.elapsed()))
            .notify(|error, wait| {
                failed_attempts += 1;
                // A progress note: `serve` logs it, a terminal shows it on its spinner line.
                tracing::info!(
                    target: crate::progress::TARGET,
                    provider,
                    status = error.status(),
                    attempt = failed_attempts,
                    max_retries = self.max_retries,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    %error,
                    "the LLM is not answering; retrying {}/{}…",
                    failed_attempts,
                    self.max_retries
                );
            })
            .await
    }

    /// How long to wait before the next attempt, or `None` to give up now.
    fn wait(&self, error: &LlmError, backoff: Duration, elapsed: Duration) -> Option<Duration> {
        let wait = match error {
            LlmError::RateLimited {
                retry_after: Some(asked),
            } => {
                if *asked > MAX_SERVER_WAIT {
                    return None;
                }
                *asked
            }
            _ => backoff,
        };
        (elapsed.saturating_add(wait) <= self.budget).then_some(wait)
    }
}

fn is_transient(error: &LlmError) -> bool {
    match error {
        LlmError::RateLimited { .. } | LlmError::Timeout | LlmError::Server { .. } => true,
        // Nothing listening is not a hiccup: asking again in a second finds nothing either.
        LlmError::Unreachable { source, .. } => !is_refused(source),
        _ => false,
    }
}

/// Whether a connection was refused outright (no server at that address and port).
fn is_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The wait a response asks for: `retry-after-ms` (sent by OpenAI and Azure), else
/// `Retry-After` as seconds or as an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(millis) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(millis / 1000.0).ok();
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    // IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") is a subset of RFC 2822.
    let date = SystemTime::from(chrono::DateTime::parse_from_rfc2822(value).ok()?);
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[track_caller]
    fn check_retry_after(headers: &[(&'static str, &str)], expected: Option<Duration>) {
        // 2015-10-21T07:28:00Z, the date in RFC 9110's example.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).expect("test header"));
        }
        assert_eq!(retry_after(&map, now), expected, "{headers:?}");
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let secs = Duration::from_secs;
        check_retry_after(&[], None);
        check_retry_after(&[("retry-after", "1")], Some(secs(1)));
        check_retry_after(&[("retry-after", " 30 ")], Some(secs(30)));
        check_retry_after(&[("retry-after", "0")], Some(secs(0)));
        check_retry_after(&[("retry-after", "1.5")], Some(Duration::from_millis(1500)));
        check_retry_after(&[("retry-after", "-3")], None);
        check_retry_after(&[("retry-after", "soon")], None);
        check_retry_after(
            &[("retry-after", "Wed, 21 Oct 2015 07:28:20 GMT")],
            Some(secs(20)),
        );
        check_retry_after(
            &[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")],
            Some(secs(0)),
        );
        check_retry_after(
            &[("retry-after-ms", "250"), ("retry-after", "9")],
            Some(Duration::from_millis(250)),
        );
    }

    #[test]
    fn the_first_wait_scales_with_the_timeout_and_the_budget_covers_every_attempt() {
        let policy = Policy::new(Duration::from_secs(60), 3);
        assert_eq!(policy.first_delay, Duration::from_secs(1));
        assert_eq!(policy.budget, Duration::from_secs(240));
        let policy = Policy::new(Duration::from_millis(300), 2);
        assert_eq!(policy.first_delay, Duration::from_millis(15));
        assert_eq!(policy.budget, Duration::from_millis(900));
        assert_eq!(
            Policy::new(Duration::from_millis(1), 0).first_delay,
            MIN_FIRST_DELAY
        );
        // Absurd settings saturate rather than overflow.
        assert_eq!(
            Policy::new(Duration::from_secs(1), u32::MAX).budget,
            Duration::from_secs(u64::from(u32::MAX))
        );
    }

    #[test]
    fn waits_follow_the_server_within_the_budget() {
        let secs = Duration::from_secs;
        let policy = Policy::new(secs(10), 2); // budget 30 s
        let limited = |asked: Option<u64>| LlmError::RateLimited {
            retry_after: asked.map(secs),
        };
        let cases: &[(LlmError, u64, u64, Option<u64>)] = &[
            // (error, backoff s, elapsed s, expected wait s)
            (LlmError::Server { status: 500 }, 2, 0, Some(2)),
            (LlmError::Timeout, 4, 25, Some(4)),
            (LlmError::Timeout, 4, 27, None),
            (limited(None), 2, 0, Some(2)),
            (limited(Some(7)), 2, 0, Some(7)),
            (limited(Some(0)), 2, 0, Some(0)),
            (limited(Some(20)), 2, 15, None),
            (limited(Some(61)), 2, 0, None),
        ];
        for (error, backoff, elapsed, expected) in cases {
            assert_eq!(
                policy.wait(error, secs(*backoff), secs(*elapsed)),
                expected.map(secs),
                "{error:?} after {elapsed} s"
            );
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(is_transient(&LlmError::Timeout));
        assert!(is_transient(&LlmError::Server { status: 503 }));
        assert!(is_transient(&LlmError::RateLimited { retry_after: None }));
        assert!(!is_transient(&LlmError::Auth { status: 401 }));
        assert!(!is_transient(&LlmError::BadRequest {
            status: 404,
            message: String::new()
        }));
        assert!(!is_transient(&LlmError::QuotaExhausted {
            message: String::new()
        }));
        assert!(!is_transient(&LlmError::BadResponse(String::new())));
        assert!(!is_transient(&LlmError::InvalidKey));
    }

    /// Runs `policy` over attempts that all fail with `error()`, returning how many ran.
    async fn attempts(policy: Policy, error: impl Fn() -> LlmError) -> u32 {
        let count = std::sync::atomic::AtomicU32::new(0);
        let result: Result<(), LlmError> = policy
            .run("test", || {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::future::ready(Err(error()))
            })
            .await;
        assert!(result.is_err());
        count.into_inner()
    }

    #[tokio::test]
    async fn a_refused_connection_is_not_retried_but_a_timeout_is() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let refused = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("nothing listens");
        let refused = std::sync::Mutex::new(Some(refused));
        let policy = Policy::new(Duration::from_millis(200), 3);
        let n = attempts(policy, || {
            match refused.lock().ok().and_then(|mut r| r.take()) {
                Some(source) => LlmError::Unreachable {
                    base_url: "http://127.0.0.1".into(),
                    source,
                },
                None => LlmError::Timeout,
            }
        })
        .await;
        assert_eq!(n, 1);
        assert_eq!(attempts(policy, || LlmError::Timeout).await, 4);
    }
}
