//! HTTP to an LLM API for every provider: key headers, timeouts, retries, statuses, metrics.
//!
//! Metrics: `querybot_llm_requests_total{provider, outcome}` counts every completion attempt
//! (so retries show), `querybot_llm_tokens_total{provider, kind}` the tokens of answered calls.
//! `check` requests are not counted: readiness probes would drown the real traffic.

use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::retry::{self, Policy};
use super::{Endpoint, LlmError, Reply};
use crate::config::LlmConfig;

/// Longest server error text kept in an error.
const MAX_MESSAGE_CHARS: usize = 300;

/// How a provider expects the API key.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyHeader {
    /// `Authorization: Bearer <key>` (OpenAI and compatible servers).
    Bearer,
    /// The key alone, in a header of its own (`x-goog-api-key`, `x-api-key`).
    Named(&'static str),
}

#[derive(Debug)]
pub(super) struct Transport {
    client: reqwest::Client,
    endpoint: Endpoint,
    api_key: Option<SecretString>,
    key_header: KeyHeader,
    /// Headers every request carries, such as Anthropic's API version.
    fixed_headers: &'static [(&'static str, &'static str)],
    timeout: Duration,
    policy: Policy,
}

impl Transport {
    pub(super) fn new(
        config: &LlmConfig,
        key_header: KeyHeader,
        fixed_headers: &'static [(&'static str, &'static str)],
    ) -> Transport {
        let client = reqwest::Client::builder()
            .user_agent(concat!("querybot/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only if the TLS backend cannot start; the plain client is the
            // same client without the user agent.
            .unwrap_or_default();
        Transport {
            client,
            endpoint: Endpoint {
                provider: config.provider.as_str(),
                model: config.model.clone(),
                base_url: config.base_url.clone(),
            },
            api_key: config.api_key.clone(),
            key_header,
            fixed_headers,
            timeout: config.timeout,
            policy: Policy::new(config.timeout, config.max_retries),
        }
    }

    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Posts `body` to `path` (relative to the base URL), retrying transient failures, and
    /// turns the provider's answer into a [`Reply`] with `into_reply`.
    pub(super) async fn complete<B, W>(
        &self,
        path: &str,
        body: &B,
        into_reply: fn(W) -> Result<Reply, LlmError>,
    ) -> Result<Reply, LlmError>
    where
        B: Serialize + Sync,
        W: DeserializeOwned,
    {
        let reply = self
            .policy
            .run(self.endpoint.provider, || {
                self.attempt(path, body, into_reply)
            })
            .await?;
        let usage = reply.usage;
        for (kind, tokens) in [
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
        ] {
            let provider = self.endpoint.provider;
            metrics::counter!("querybot_llm_tokens_total", "provider" => provider, "kind" => kind)
                .increment(tokens);
        }
        tracing::debug!(
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            "LLM answered"
        );
        Ok(reply)
    }

    async fn attempt<B, W>(
        &self,
        path: &str,
        body: &B,
        into_reply: fn(W) -> Result<Reply, LlmError>,
    ) -> Result<Reply, LlmError>
    where
        B: Serialize + Sync,
        W: DeserializeOwned,
    {
        let started = std::time::Instant::now();
        let result = match self.request(Method::POST, path) {
            Ok(request) => self.send(request.json(body)).await.and_then(into_reply),
            Err(error) => Err(error),
        };
        metrics::histogram!("querybot_llm_request_duration_seconds", "provider" => self.endpoint.provider)
            .record(started.elapsed().as_secs_f64());
        let labels = [
            ("provider", self.endpoint.provider),
            ("outcome", outcome(&result)),
        ];
        metrics::counter!("querybot_llm_requests_total", &labels).increment(1);
        result
    }

    /// One GET, not retried: `check` should report the state of things, not hide it.
    pub(super) async fn get<W: DeserializeOwned>(&self, path: &str) -> Result<W, LlmError> {
        self.send(self.request(Method::GET, path)?).await
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, LlmError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.endpoint.base_url))
            .timeout(self.timeout);
        for (name, value) in self.fixed_headers {
            request = request.header(*name, *value);
        }
        if let Some(key) = &self.api_key {
            let (name, value) = match self.key_header {
                KeyHeader::Bearer => (AUTHORIZATION, format!("Bearer {}", key.expose_secret())),
                KeyHeader::Named(name) => (
                    HeaderName::from_static(name),
                    key.expose_secret().to_owned(),
                ),
            };
            let mut value = HeaderValue::from_str(&value).map_err(|_| LlmError::InvalidKey)?;
            // Keeps the key out of reqwest's and hyper's debug output.
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        Ok(request)
    }

    async fn send<W: DeserializeOwned>(&self, request: RequestBuilder) -> Result<W, LlmError> {
        let response = request
            .send()
            .await
            .map_err(|error| self.transport_error(error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.transport_error(error))?;
        if !status.is_success() {
            return Err(classify(status, &headers, &body, self.api_key.as_ref()));
        }
        serde_json::from_slice(&body).map_err(|error| {
            let body = shorten(&String::from_utf8_lossy(&body));
            tracing::debug!(%error, %body, "unexpected reply from the LLM API");
            LlmError::BadResponse(format!("the reply is not the expected JSON: {error}"))
        })
    }

    /// Refused connections, failed DNS lookups and connections dropped mid-reply all mean no
    /// answer came from the base URL; all are worth a retry.
    fn transport_error(&self, error: reqwest::Error) -> LlmError {
        if error.is_timeout() {
            LlmError::Timeout
        } else {
            LlmError::Unreachable {
                base_url: self.endpoint.base_url.clone(),
                source: error,
            }
        }
    }
}

/// Names a failed status for the caller and the retry policy.
fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&SecretString>,
) -> LlmError {
    let problem = Problem::parse(status, body, key);
    match status.as_u16() {
        401 | 403 => LlmError::Auth {
            status: status.as_u16(),
        },
        429 if problem.kind.as_deref() == Some("insufficient_quota") => LlmError::QuotaExhausted {
            message: problem.message,
        },
        429 => LlmError::RateLimited {
            retry_after: retry::retry_after(headers, SystemTime::now()).or(problem.retry_delay),
        },
        code @ (408 | 500..=599) => LlmError::Server { status: code },
        code @ 400..=499 => LlmError::BadRequest {
            status: code,
            message: problem.message,
        },
        code => LlmError::BadResponse(format!("unexpected status {code}")),
    }
}

/// What an error body says, in any of the providers' shapes: `{"error": {"message", "type",
/// "details"}}` (OpenAI, Gemini, Anthropic) or `{"error": "text"}` (Ollama's native API).
struct Problem {
    message: String,
    kind: Option<String>,
    /// Gemini sends its wait as `RetryInfo.retryDelay` in the body instead of `Retry-After`.
    retry_delay: Option<Duration>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorField,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Text(String),
    Detail {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        details: Vec<ErrorDetail>,
    },
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default, rename = "retryDelay")]
    retry_delay: Option<String>,
}

impl Problem {
    fn parse(status: StatusCode, body: &[u8], key: Option<&SecretString>) -> Problem {
        let text = String::from_utf8_lossy(body);
        let (message, kind, retry_delay) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody {
                error: ErrorField::Text(message),
            }) => (Some(message), None, None),
            Ok(ErrorBody {
                error:
                    ErrorField::Detail {
                        message,
                        kind,
                        details,
                    },
            }) => {
                let delay = details
                    .iter()
                    .find_map(|detail| detail.retry_delay.as_deref().and_then(seconds));
                (message, kind, delay)
            }
            Err(_) => (Some(text.trim().to_owned()), None, None),
        };
        let mut message = message
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no details").to_owned());
        // Some APIs quote part of a rejected key back; the error text reaches users and logs.
        if let Some(key) = key
            .map(ExposeSecret::expose_secret)
            .filter(|k| !k.is_empty())
        {
            message = message.replace(key, "***");
        }
        Problem {
            message: shorten(&message),
            kind,
            retry_delay,
        }
    }
}

/// Google's duration text, such as `38s` or `0.5s`.
fn seconds(text: &str) -> Option<Duration> {
    let number = text.trim().strip_suffix('s')?.parse::<f64>().ok()?;
    Duration::try_from_secs_f64(number).ok()
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn outcome(result: &Result<Reply, LlmError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(LlmError::RateLimited { .. }) => "rate_limited",
        Err(LlmError::QuotaExhausted { .. }) => "quota_exhausted",
        Err(LlmError::Timeout) => "timeout",
        Err(LlmError::Server { .. }) => "server_error",
        Err(LlmError::Unreachable { .. }) => "unreachable",
        Err(LlmError::Auth { .. }) => "auth",
        Err(LlmError::BadRequest { .. }) => "bad_request",
        Err(LlmError::BadResponse(_)) => "bad_response",
        Err(LlmError::InvalidKey) => "invalid_key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Classifies a response and renders the result as `Debug` text for comparison.
    #[track_caller]
    fn check(status: u16, headers: &[(&'static str, &str)], body: &str, expected: &str) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).expect("test header"));
        }
        let key = SecretString::from("sk-secret-key");
        let status = StatusCode::from_u16(status).expect("test status");
        let actual = format!("{:?}", classify(status, &map, body.as_bytes(), Some(&key)));
        assert_eq!(actual, expected, "{status} {body}");
    }

    #[test]
    fn statuses_name_what_happened() {
        check(
            401,
            &[],
            r#"{"error":{"message":"Incorrect API key"}}"#,
            "Auth { status: 401 }",
        );
        check(403, &[], "", "Auth { status: 403 }");
        check(
            429,
            &[("retry-after", "3")],
            "",
            "RateLimited { retry_after: Some(3s) }",
        );
        check(429, &[], "{}", "RateLimited { retry_after: None }");
        check(500, &[], "boom", "Server { status: 500 }");
        check(
            529,
            &[],
            r#"{"type":"error","error":{"type":"overloaded_error"}}"#,
            "Server { status: 529 }",
        );
        check(408, &[], "", "Server { status: 408 }");
        check(302, &[], "", r#"BadResponse("unexpected status 302")"#);
    }

    #[test]
    fn client_errors_keep_the_providers_message() {
        // OpenAI and Ollama's /v1.
        check(
            404,
            &[],
            r#"{"error":{"message":"model \"x\" not found, try pulling it first","type":"api_error"}}"#,
            r#"BadRequest { status: 404, message: "model \"x\" not found, try pulling it first" }"#,
        );
        // Gemini.
        check(
            400,
            &[],
            r#"{"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}}"#,
            r#"BadRequest { status: 400, message: "Invalid JSON payload" }"#,
        );
        // Anthropic.
        check(
            400,
            &[],
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}"#,
            r#"BadRequest { status: 400, message: "max_tokens: required" }"#,
        );
        // Ollama's native API, a proxy's page, nothing at all.
        check(
            400,
            &[],
            r#"{"error":"bad"}"#,
            r#"BadRequest { status: 400, message: "bad" }"#,
        );
        check(
            413,
            &[],
            " too big \n",
            r#"BadRequest { status: 413, message: "too big" }"#,
        );
        check(
            404,
            &[],
            "",
            r#"BadRequest { status: 404, message: "Not Found" }"#,
        );
        check(
            422,
            &[],
            r#"{"error":{"message":"key sk-secret-key is not allowed here"}}"#,
            r#"BadRequest { status: 422, message: "key *** is not allowed here" }"#,
        );
        let long = "x".repeat(400);
        let expected = format!(
            r#"BadRequest {{ status: 400, message: "{}…" }}"#,
            "x".repeat(300)
        );
        check(400, &[], &long, &expected);
    }

    #[test]
    fn quota_and_gemini_retry_info_are_read_from_the_body() {
        check(
            429,
            &[],
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
            r#"QuotaExhausted { message: "You exceeded your current quota" }"#,
        );
        check(
            429,
            &[],
            r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"38s"}]}}"#,
            "RateLimited { retry_after: Some(38s) }",
        );
        check(
            429,
            &[("retry-after", "2")],
            r#"{"error":{"details":[{"retryDelay":"38s"}]}}"#,
            "RateLimited { retry_after: Some(2s) }",
        );
    }
}
