//! Behaviour every provider shares, run against a fake of each provider's API.
//!
//! Answers, retries, waits, timeouts and failures are one suite, instantiated per provider;
//! the user-facing messages are checked here too.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::Value;
use tracing::instrument::WithSubscriber;

use super::fake::{self, FakeLlm, Step};
use super::{Completion, LlmError, Message, Reply, Role, Usage, connect};
use crate::config::{LlmConfig, LlmProvider};

const KEY: &str = "test-key-0123";

/// Settings for a provider served by a fake: a key, a short timeout, two retries.
pub(super) fn test_config(provider: LlmProvider, base_url: &str) -> LlmConfig {
    LlmConfig {
        provider,
        base_url: base_url.to_owned(),
        api_key: Some(SecretString::from(KEY)),
        model: "test-model".to_owned(),
        timeout: Duration::from_secs(2),
        max_retries: 2,
    }
}

/// A conversation with every kind of turn: system prompt, user, assistant, user.
pub(super) fn completion() -> Completion {
    let turn = |role, content: &str| Message {
        role,
        content: content.to_owned(),
    };
    Completion {
        system: "You write SQL.".to_owned(),
        messages: vec![
            turn(Role::User, "How many orders?"),
            turn(Role::Assistant, "SELECT count(*) FROM order"),
            turn(Role::User, "The table is orders."),
        ],
        max_tokens: 512,
        temperature: 0.0,
    }
}

/// How a fake speaks one provider's API.
struct Wire {
    provider: LlmProvider,
    /// The path part of the provider's real base URL.
    prefix: &'static str,
    reply: fn(&str, u64, u64) -> Value,
    error: fn(&str) -> Value,
    /// What a successful `check` request returns.
    check: fn() -> Value,
}

const OPENAI: Wire = Wire {
    provider: LlmProvider::OpenAi,
    prefix: "/v1",
    reply: fake::openai_reply,
    error: fake::openai_error,
    check: fake::openai_models,
};

const GEMINI: Wire = Wire {
    provider: LlmProvider::Gemini,
    prefix: "/v1beta",
    reply: fake::gemini_reply,
    error: fake::gemini_error,
    check: fake::gemini_model,
};

const ANTHROPIC: Wire = Wire {
    provider: LlmProvider::Anthropic,
    prefix: "/v1",
    reply: fake::anthropic_reply,
    error: fake::anthropic_error,
    check: fake::anthropic_model,
};

/// One test per scenario and provider, so a failure names both.
macro_rules! conformance {
    ($wire:ident: $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                super::$scenario(&super::$wire).await;
            }
        )*
    };
}

macro_rules! suite {
    ($wire:ident) => {
        conformance!($wire:
            answers_with_text_and_usage,
            retries_server_errors_then_answers,
            waits_as_long_as_retry_after_asks,
            gives_up_with_timeout_when_the_server_hangs,
            gives_up_after_max_retries,
            rejected_credentials_are_not_retried,
            bad_requests_are_not_retried,
            an_unreachable_server_is_named_in_the_message,
            check_is_one_request_that_reports_failures,
            logs_never_show_the_key_or_the_prompt,
        );
    };
}

mod openai {
    suite!(OPENAI);
}

mod gemini {
    suite!(GEMINI);
}

mod anthropic {
    suite!(ANTHROPIC);
}

/// A port that was free a moment ago, so nothing listens there.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

async fn start(wire: &Wire, script: Vec<Step>) -> (FakeLlm, Arc<dyn super::LlmProvider>) {
    let fake = FakeLlm::start(wire.prefix, script).await;
    let provider = connect(&test_config(wire.provider, fake.base_url()));
    (fake, provider)
}

async fn answers_with_text_and_usage(wire: &Wire) {
    let (fake, provider) = start(wire, vec![Step::ok((wire.reply)("SELECT 1", 11, 2))]).await;

    let reply = provider.complete(&completion()).await.expect("answers");

    assert_eq!(
        reply,
        Reply {
            text: "SELECT 1".to_owned(),
            usage: Usage {
                prompt_tokens: 11,
                completion_tokens: 2
            },
        }
    );
    assert_eq!(provider.name(), wire.provider.as_str());
    assert_eq!(provider.model(), "test-model");
    let [request] = fake.requests().try_into().expect("one request");
    assert!(
        request
            .headers
            .values()
            .any(|v| v.to_str().is_ok_and(|v| v.contains(KEY))),
        "the key is sent: {:?}",
        request.headers
    );
    let body = request.body.to_string();
    assert!(body.contains("test-model") || request.path.contains("test-model"));
    assert!(body.contains("You write SQL.") && body.contains("The table is orders."));
}

async fn retries_server_errors_then_answers(wire: &Wire) {
    let failure = Step::status(500, (wire.error)("internal error"));
    let script = vec![
        failure.clone(),
        failure,
        Step::ok((wire.reply)("SELECT 1", 5, 1)),
    ];
    let fake = FakeLlm::start(wire.prefix, script).await;
    let mut config = test_config(wire.provider, fake.base_url());
    config.timeout = Duration::from_secs(1);

    let reply = connect(&config)
        .complete(&completion())
        .await
        .expect("answers on the third attempt");

    assert_eq!(reply.text, "SELECT 1");
    assert_eq!(reply.usage.prompt_tokens, 5);
    assert_eq!(fake.requests().len(), 3);
}

async fn waits_as_long_as_retry_after_asks(wire: &Wire) {
    let script = vec![
        Step::status(429, (wire.error)("slow down")).with_header("retry-after", "1"),
        Step::ok((wire.reply)("SELECT 1", 5, 1)),
    ];
    let (fake, provider) = start(wire, script).await;

    provider
        .complete(&completion())
        .await
        .expect("answers after waiting");

    let [first, second] = fake.requests().try_into().expect("two requests");
    let gap = second.at.duration_since(first.at);
    assert!(
        gap >= Duration::from_millis(990) && gap < Duration::from_secs(3),
        "waited {gap:?}"
    );
}

async fn gives_up_with_timeout_when_the_server_hangs(wire: &Wire) {
    let fake = FakeLlm::start(wire.prefix, vec![Step::Hang]).await;
    let mut config = test_config(wire.provider, fake.base_url());
    config.timeout = Duration::from_millis(300);
    let started = Instant::now();

    let error = connect(&config)
        .complete(&completion())
        .await
        .expect_err("never answers");

    assert!(matches!(error, LlmError::Timeout), "{error:?}");
    assert_eq!(fake.requests().len(), 3, "max_retries + 1 attempts");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "took {elapsed:?}"
    );
}

async fn gives_up_after_max_retries(wire: &Wire) {
    for max_retries in [0, 1, 3] {
        let fake = FakeLlm::start(
            wire.prefix,
            vec![Step::status(503, (wire.error)("overloaded"))],
        )
        .await;
        let mut config = test_config(wire.provider, fake.base_url());
        config.timeout = Duration::from_millis(500);
        config.max_retries = max_retries;

        let error = connect(&config)
            .complete(&completion())
            .await
            .expect_err("always fails");

        assert!(
            matches!(error, LlmError::Server { status: 503 }),
            "{error:?}"
        );
        assert_eq!(fake.requests().len(), max_retries as usize + 1);
    }
}

async fn rejected_credentials_are_not_retried(wire: &Wire) {
    for status in [401, 403] {
        let (fake, provider) = start(
            wire,
            vec![Step::status(status, (wire.error)("invalid x-api-key"))],
        )
        .await;

        let error = provider.complete(&completion()).await.expect_err("refused");

        assert!(
            matches!(error, LlmError::Auth { status: s } if s == status),
            "{error:?}"
        );
        assert_eq!(fake.requests().len(), 1);
    }
}

async fn bad_requests_are_not_retried(wire: &Wire) {
    for status in [400, 404] {
        let (fake, provider) = start(
            wire,
            vec![Step::status(status, (wire.error)("no such model"))],
        )
        .await;

        let error = provider
            .complete(&completion())
            .await
            .expect_err("rejected");

        match &error {
            LlmError::BadRequest { status: s, message } => {
                assert_eq!((*s, message.as_str()), (status, "no such model"));
            }
            other => panic!("expected BadRequest, got {other:?}"),
        }
        assert_eq!(fake.requests().len(), 1);
    }
}

async fn an_unreachable_server_is_named_in_the_message(wire: &Wire) {
    let base_url = format!("http://127.0.0.1:{}{}", closed_port(), wire.prefix);
    let mut config = test_config(wire.provider, &base_url);
    config.max_retries = 1;

    let error = connect(&config)
        .complete(&completion())
        .await
        .expect_err("nothing listens");

    match &error {
        LlmError::Unreachable {
            base_url: named, ..
        } => assert_eq!(named, &base_url),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let message = error.user_message(wire.provider.as_str(), &base_url);
    assert!(message.contains(&base_url), "{message}");
    assert!(!message.contains(KEY));
}

async fn check_is_one_request_that_reports_failures(wire: &Wire) {
    let (fake, provider) = start(wire, vec![Step::ok((wire.check)())]).await;
    provider.check().await.expect("reachable");
    let [request] = fake.requests().try_into().expect("one request");
    assert_eq!(request.method, "GET");

    let (fake, provider) = start(wire, vec![Step::status(401, (wire.error)("bad key"))]).await;
    let error = provider.check().await.expect_err("refused");
    assert!(matches!(error, LlmError::Auth { status: 401 }), "{error:?}");
    assert_eq!(fake.requests().len(), 1);

    let (fake, provider) = start(wire, vec![Step::status(503, (wire.error)("down"))]).await;
    let error = provider.check().await.expect_err("down");
    assert!(
        matches!(error, LlmError::Server { status: 503 }),
        "{error:?}"
    );
    assert_eq!(fake.requests().len(), 1, "check is not retried");
}

async fn logs_never_show_the_key_or_the_prompt(wire: &Wire) {
    let script = vec![
        Step::status(500, (wire.error)("internal error")),
        Step::ok((wire.reply)("SELECT 1", 5, 1)),
    ];
    let (_fake, provider) = start(wire, script).await;
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();

    provider
        .complete(&completion())
        .with_subscriber(subscriber)
        .await
        .expect("answers");

    let text = logs.text();
    assert!(
        text.contains("retrying") && text.contains(wire.provider.as_str()),
        "{text}"
    );
    assert!(
        text.contains("status=500") && text.contains("attempt=1"),
        "{text}"
    );
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains("How many orders?"), "{text}");
}

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn user_messages_say_what_happened_and_what_to_try() {
    let ollama = "http://localhost:11434/v1";
    let openai = "https://api.openai.com/v1";
    let cases: Vec<(LlmError, &str, &str, &str)> = vec![
        (
            LlmError::RateLimited {
                retry_after: Some(Duration::from_millis(7_200)),
            },
            "openai",
            openai,
            "The LLM at https://api.openai.com/v1 is rate limiting requests: try again in 8 s.",
        ),
        (
            LlmError::RateLimited {
                retry_after: Some(Duration::from_secs(3_600)),
            },
            "openai",
            openai,
            "The LLM at https://api.openai.com/v1 is rate limiting requests: try again in 60 minutes.",
        ),
        (
            LlmError::RateLimited { retry_after: None },
            "openai",
            openai,
            "The LLM at https://api.openai.com/v1 is rate limiting requests: try again in a minute.",
        ),
        (
            LlmError::Timeout,
            "ollama",
            ollama,
            "The LLM at http://localhost:11434/v1 did not answer in time: try again, or raise LLM_TIMEOUT.",
        ),
        (
            LlmError::Auth { status: 401 },
            "openai",
            openai,
            "The LLM at https://api.openai.com/v1 refused the API key (401): check LLM_API_KEY.",
        ),
        (
            LlmError::BadRequest {
                status: 404,
                message: "model `x` is not pulled; run `ollama pull x`".to_owned(),
            },
            "ollama",
            ollama,
            "The LLM at http://localhost:11434/v1 does not offer the configured model (model `x` \
             is not pulled; run `ollama pull x`): check LLM_MODEL.",
        ),
        (
            LlmError::Server { status: 502 },
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            "The LLM at https://generativelanguage.googleapis.com/v1beta failed with a server \
             error (502): try again in a moment.",
        ),
        (
            LlmError::BadResponse("no text, finish reason `SAFETY`".to_owned()),
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            "The LLM at https://generativelanguage.googleapis.com/v1beta gave a reply querybot \
             could not use (no text, finish reason `SAFETY`): try again.",
        ),
    ];
    for (error, provider, base_url, expected) in cases {
        assert_eq!(
            error.user_message(provider, base_url),
            expected,
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_default_ollama_suggests_starting_it_or_another_provider() {
    let error = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/", closed_port()))
        .send()
        .await
        .expect_err("nothing listens");
    let error = LlmError::Unreachable {
        base_url: "http://localhost:11434/v1".to_owned(),
        source: error,
    };
    assert_eq!(
        error.user_message("ollama", "http://localhost:11434/v1"),
        "No LLM answered at http://localhost:11434/v1: start Ollama there, or set LLM_PROVIDER \
         (openai, gemini, anthropic) and LLM_API_KEY."
    );
    assert_eq!(
        error.to_string(),
        "no LLM answered at http://localhost:11434/v1"
    );
}

#[test]
fn usage_adds_up_across_rounds() {
    let mut total = Usage::default();
    total += Usage {
        prompt_tokens: 100,
        completion_tokens: 20,
    };
    total += Usage {
        prompt_tokens: 150,
        completion_tokens: u64::MAX,
    };
    assert_eq!(
        total,
        Usage {
            prompt_tokens: 250,
            completion_tokens: u64::MAX
        }
    );
}

#[tokio::test]
async fn a_key_that_cannot_be_a_header_is_reported_without_sending() {
    let fake = FakeLlm::start("/v1", vec![Step::ok(fake::openai_reply("SELECT 1", 0, 0))]).await;
    let mut config = test_config(LlmProvider::OpenAi, fake.base_url());
    config.api_key = Some(SecretString::from("sk-abc\ndef"));

    let error = connect(&config)
        .complete(&completion())
        .await
        .expect_err("invalid key");
    assert!(matches!(error, LlmError::InvalidKey), "{error:?}");
    assert!(
        !error
            .user_message("openai", fake.base_url())
            .contains("sk-abc")
    );
    assert!(fake.requests().is_empty());
}
