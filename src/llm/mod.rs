//! LLM providers behind one trait, and the neutral request and reply types the pipeline uses.
//!
//! Implementations: `OpenAi` (any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp,
//! LM Studio), `Gemini` and `Anthropic`; `connect` picks one from the configuration.
//!
//! Every call is bounded: each HTTP request has the configured timeout, and transient failures
//! are retried at most `max_retries` times within a budget (`retry`). The API key is never
//! logged, and prompts are never logged at all; a failure's text names the base URL instead.

mod anthropic;
mod extract;
#[cfg(test)]
mod fake;
mod gemini;
mod openai;
mod retry;
#[cfg(test)]
mod tests;
mod transport;

use std::ops::AddAssign;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use anthropic::Anthropic;
pub use extract::{Extracted, extract_sql};
pub use gemini::Gemini;
pub use openai::OpenAi;

use crate::config::{self, LlmConfig};

/// A model that completes a conversation.
/// Where a provider client sends its requests, and for which model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub provider: &'static str,
    pub model: String,
    pub base_url: String,
}

#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// Which provider, model and API base this client talks to.
    fn endpoint(&self) -> &Endpoint;

    /// `openai`, `ollama`, `gemini` or `anthropic`.
    fn name(&self) -> &str {
        self.endpoint().provider
    }

    fn model(&self) -> &str {
        &self.endpoint().model
    }

    /// The API base the provider sends to, for messages that tell the user where to look.
    fn base_url(&self) -> &str {
        &self.endpoint().base_url
    }

    /// Sends one conversation and returns the model's answer, retrying transient failures a
    /// bounded number of times.
    async fn complete(&self, request: &Completion) -> Result<Reply, LlmError>;

    /// A cheap reachability and credentials check for `doctor` and readiness; never retried.
    async fn check(&self) -> Result<(), LlmError>;
}

/// One request: instructions, the conversation so far, and sampling limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub system: String,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: f32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub usage: Usage,
}

/// Tokens one or more calls consumed, as the provider reported them (0 when it did not).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
    }
}

/// Why a call to the LLM failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The provider asked us to slow down; `retry_after` is its own estimate, when it gave one.
    #[error("the LLM API is rate limiting requests")]
    RateLimited { retry_after: Option<Duration> },
    /// The account cannot make requests until it is topped up; retrying does not help.
    #[error("the LLM account has no quota left: {message}")]
    QuotaExhausted { message: String },
    #[error("the LLM did not answer in time")]
    Timeout,
    /// A 5xx status, or 408.
    #[error("the LLM server failed with status {status}")]
    Server { status: u16 },
    #[error("no LLM answered at {base_url}")]
    Unreachable {
        base_url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the LLM API refused the credentials with status {status}")]
    Auth { status: u16 },
    /// A 4xx other than auth and rate limits; 404 usually means an unknown model.
    #[error("the LLM API rejected the request with status {status}: {message}")]
    BadRequest { status: u16, message: String },
    /// The reply arrived but holds no usable text (blocked, empty, or not the expected JSON).
    #[error("the LLM reply could not be used: {0}")]
    BadResponse(String),
    #[error("the API key contains characters an HTTP header cannot carry")]
    InvalidKey,
}

impl LlmError {
    /// The HTTP status behind the failure, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            LlmError::RateLimited { .. } | LlmError::QuotaExhausted { .. } => Some(429),
            LlmError::Server { status }
            | LlmError::Auth { status }
            | LlmError::BadRequest { status, .. } => Some(*status),
            LlmError::Timeout
            | LlmError::Unreachable { .. }
            | LlmError::BadResponse(_)
            | LlmError::InvalidKey => None,
        }
    }

    /// One sentence for the person who asked: what happened and what to try. Names the base
    /// URL (never the key) so an operator can tell which endpoint is meant.
    pub fn user_message(&self, provider: &str, base_url: &str) -> String {
        match self {
            LlmError::Unreachable { .. } if provider == config::LlmProvider::Ollama.as_str() => {
                format!(
                    "No LLM answered at {base_url}: start Ollama there, or set LLM_PROVIDER \
                     (openai, gemini, anthropic) and LLM_API_KEY."
                )
            }
            LlmError::Unreachable { .. } => format!(
                "No LLM answered at {base_url}: check LLM_BASE_URL and the network, then try again."
            ),
            LlmError::RateLimited {
                retry_after: Some(wait),
            } => format!(
                "The LLM at {base_url} is rate limiting requests: try again in {}.",
                describe_wait(*wait)
            ),
            LlmError::RateLimited { retry_after: None } => {
                format!("The LLM at {base_url} is rate limiting requests: try again in a minute.")
            }
            LlmError::QuotaExhausted { message } => format!(
                "The LLM account at {base_url} has no quota left ({message}): add credit or \
                 raise the limit with the provider."
            ),
            LlmError::Timeout => format!(
                "The LLM at {base_url} did not answer in time: try again, or raise LLM_TIMEOUT."
            ),
            LlmError::Server { status } => format!(
                "The LLM at {base_url} failed with a server error ({status}): try again in a \
                 moment."
            ),
            LlmError::Auth { status } => {
                format!("The LLM at {base_url} refused the API key ({status}): check LLM_API_KEY.")
            }
            LlmError::BadRequest {
                status: 404,
                message,
            } => format!(
                "The LLM at {base_url} does not offer the configured model ({message}): check \
                 LLM_MODEL."
            ),
            LlmError::BadRequest { status, message } => format!(
                "The LLM at {base_url} rejected the request ({status}: {message}): check \
                 LLM_MODEL, or rephrase the question."
            ),
            LlmError::BadResponse(detail) => format!(
                "The LLM at {base_url} gave a reply querybot could not use ({detail}): try again."
            ),
            LlmError::InvalidKey => "The API key contains line breaks or other characters an \
                                     HTTP header cannot carry: check LLM_API_KEY."
                .to_owned(),
        }
    }
}

/// "45 s" below two minutes, whole minutes (rounded up) above.
fn describe_wait(wait: Duration) -> String {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if seconds < 120 {
        format!("{} s", seconds.max(1))
    } else {
        format!("{} minutes", seconds.div_ceil(60))
    }
}

/// Builds the provider the configuration names. Nothing is contacted here: a provider that is
/// down does not stop the bot from starting; `check` reports it.
pub fn connect(config: &LlmConfig) -> Arc<dyn LlmProvider> {
    match config.provider {
        config::LlmProvider::OpenAi | config::LlmProvider::Ollama => Arc::new(OpenAi::new(config)),
        config::LlmProvider::Gemini => Arc::new(Gemini::new(config)),
        config::LlmProvider::Anthropic => Arc::new(Anthropic::new(config)),
    }
}
