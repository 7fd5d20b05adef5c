//! Discord's REST API through twilight-http: the client (Discord's own, or a rate-limiting
//! proxy or test server at `DISCORD_API_URL`), with 429s honoured: the request waits the
//! `retry_after` Discord names (per route, or globally) and is sent again.

use std::future::IntoFuture;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use twilight_http::Client;
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
use twilight_http::response::Response;
use twilight_model::channel::message::AllowedMentions;

/// How many times a request is sent before a 429 is given up on.
const ATTEMPTS: u32 = 4;
/// The longest single wait a 429 may impose before querybot gives up instead.
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

pub(super) type RestError = twilight_http::Error;

/// The REST client: never pings anyone (no `allowed_mentions` parse), whatever a message says.
pub(super) fn client(token: &SecretString, api_url: Option<&str>) -> Client {
    let mut builder = Client::builder()
        .token(token.expose_secret().to_owned())
        .timeout(TIMEOUT)
        .default_allowed_mentions(AllowedMentions::default());
    if let Some(url) = api_url {
        let use_http = url.starts_with("http://");
        let host = url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        builder = builder.proxy(host, use_http);
    }
    builder.build()
}

/// Sends a request (built again for each attempt) until it is not rate limited; counts a
/// failure by what the call was for.
pub(super) async fn send<T, R, F>(
    call: &'static str,
    mut request: F,
) -> Result<Response<T>, RestError>
where
    F: FnMut() -> R,
    R: IntoFuture<Output = Result<Response<T>, RestError>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(response) => return Ok(response),
            Err(error) => match retry_after(&error) {
                Some(wait) if attempt < ATTEMPTS && wait <= LONGEST_WAIT => {
                    tracing::info!(
                        call,
                        wait_ms = wait.as_millis() as u64,
                        attempt,
                        "Discord rate limit: waiting"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    ::metrics::counter!("querybot_platform_api_errors_total", "platform" => "discord", "call" => call)
                        .increment(1);
                    return Err(error);
                }
            },
        }
    }
}

/// How long Discord asks to wait, when the error is a 429.
fn retry_after(error: &RestError) -> Option<Duration> {
    match error.kind() {
        ErrorType::Response {
            error: ApiError::Ratelimited(limited),
            ..
        } => Duration::try_from_secs_f64(limited.retry_after.max(0.0)).ok(),
        ErrorType::Response { status, .. } if status.get() == 429 => Some(Duration::from_secs(1)),
        _ => None,
    }
}

/// Discord's JSON error code, when the error is Discord's answer (50001 = no access, …).
pub(super) fn error_code(error: &RestError) -> Option<u64> {
    match error.kind() {
        ErrorType::Response {
            error: ApiError::General(general),
            ..
        } => Some(general.code),
        _ => None,
    }
}

/// The HTTP status of Discord's answer, when there was one.
pub(super) fn status(error: &RestError) -> Option<u16> {
    match error.kind() {
        ErrorType::Response { status, .. } => Some(status.get()),
        ErrorType::Unauthorized => Some(401),
        _ => None,
    }
}
