//! Anthropic's Messages API (`/messages`).

use async_trait::async_trait;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::transport::{KeyHeader, Transport};
use super::{Completion, Endpoint, LlmError, LlmProvider, Reply, Role, Usage};
use crate::config::LlmConfig;

/// The API version this module's wire types follow.
const API_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub struct Anthropic {
    transport: Transport,
}

impl Anthropic {
    pub fn new(config: &LlmConfig) -> Anthropic {
        Anthropic {
            transport: Transport::new(
                config,
                KeyHeader::Named("x-api-key"),
                &[("anthropic-version", API_VERSION)],
            ),
        }
    }
}

#[async_trait]
impl LlmProvider for Anthropic {
    fn endpoint(&self) -> &Endpoint {
        self.transport.endpoint()
    }

    async fn complete(&self, request: &Completion) -> Result<Reply, LlmError> {
        let body = MessagesRequest::new(self.model(), request);
        self.transport
            .complete("/messages", &body, MessagesResponse::into_reply)
            .await
    }

    /// Fetches the model's description: proves the key works and the model (or alias) exists.
    async fn check(&self) -> Result<(), LlmError> {
        let _: IgnoredAny = self
            .transport
            .get(&format!("/models/{}", self.model()))
            .await?;
        Ok(())
    }
}

#[derive(Serialize)]
struct MessagesRequest<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<WireMessage<'a>>,
    max_tokens: u32,
    temperature: f32,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

impl<'a> MessagesRequest<'a> {
    fn new(model: &'a str, request: &'a Completion) -> MessagesRequest<'a> {
        MessagesRequest {
            model,
            system: Some(request.system.as_str()).filter(|s| !s.is_empty()),
            messages: request
                .messages
                .iter()
                .map(|message| WireMessage {
                    role: match message.role {
                        Role::User => "user",
                        Role::Assistant => "assistant",
                    },
                    content: &message.content,
                })
                .collect(),
            max_tokens: request.max_tokens,
            // Anthropic accepts 0 to 1 and rejects the rest, where OpenAI allows up to 2.
            temperature: request.temperature.clamp(0.0, 1.0),
        }
    }
}

#[derive(Deserialize)]
struct MessagesResponse {
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// A content block; only `text` blocks carry the answer (others are thinking or tool use).
#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

impl MessagesResponse {
    fn into_reply(self) -> Result<Reply, LlmError> {
        let usage = self.usage.map_or(Usage::default(), |u| Usage {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
        });
        let text: String = self
            .content
            .into_iter()
            .filter(|block| block.kind == "text")
            .filter_map(|block| block.text)
            .collect();
        if text.trim().is_empty() {
            let reason = self.stop_reason.as_deref().unwrap_or("none given");
            return Err(LlmError::BadResponse(format!(
                "no text, stop reason `{reason}`"
            )));
        }
        Ok(Reply { text, usage })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config;
    use crate::llm::fake::{self, FakeLlm, Step};
    use crate::llm::tests::{completion, test_config};

    #[tokio::test]
    async fn puts_the_system_prompt_at_the_top_and_sends_key_and_version() {
        let fake = FakeLlm::start(
            "/v1",
            vec![Step::ok(fake::anthropic_reply("SELECT 1", 30, 5))],
        )
        .await;
        let provider = Anthropic::new(&test_config(
            config::LlmProvider::Anthropic,
            fake.base_url(),
        ));

        let reply = provider.complete(&completion()).await.expect("answers");

        assert_eq!(reply.text, "SELECT 1");
        assert_eq!(
            reply.usage,
            Usage {
                prompt_tokens: 30,
                completion_tokens: 5
            }
        );
        let [request] = fake.requests().try_into().expect("one request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/messages");
        assert_eq!(request.header("x-api-key"), Some("test-key-0123"));
        assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.body,
            json!({
                "model": "test-model",
                "system": "You write SQL.",
                "messages": [
                    {"role": "user", "content": "How many orders?"},
                    {"role": "assistant", "content": "SELECT count(*) FROM order"},
                    {"role": "user", "content": "The table is orders."},
                ],
                "max_tokens": 512,
                "temperature": 0.0,
            })
        );
    }

    #[tokio::test]
    async fn text_blocks_are_joined_and_other_blocks_skipped() {
        let body = json!({
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "The orders table...", "signature": "abc"},
                {"type": "text", "text": "SELECT "},
                {"type": "text", "text": "1"},
            ],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 9, "output_tokens": 2, "cache_read_input_tokens": 0},
        });
        let fake = FakeLlm::start("/v1", vec![Step::ok(body)]).await;
        let provider = Anthropic::new(&test_config(
            config::LlmProvider::Anthropic,
            fake.base_url(),
        ));
        let mut request = completion();
        request.temperature = 1.5;

        let reply = provider.complete(&request).await.expect("answers");

        assert_eq!(reply.text, "SELECT 1");
        let [sent] = fake.requests().try_into().expect("one request");
        assert_eq!(sent.body["temperature"], json!(1.0));
    }

    #[tokio::test]
    async fn an_answer_without_text_names_the_stop_reason() {
        let body = json!({"type": "message", "content": [], "stop_reason": "refusal", "usage": {"input_tokens": 9, "output_tokens": 0}});
        let fake = FakeLlm::start("/v1", vec![Step::ok(body)]).await;
        let provider = Anthropic::new(&test_config(
            config::LlmProvider::Anthropic,
            fake.base_url(),
        ));

        match provider.complete(&completion()).await {
            Err(LlmError::BadResponse(detail)) => {
                assert_eq!(detail, "no text, stop reason `refusal`")
            }
            other => panic!("expected BadResponse, got {other:?}"),
        }
        assert_eq!(fake.requests().len(), 1);
    }

    #[tokio::test]
    async fn check_asks_for_the_model() {
        let fake = FakeLlm::start("/v1", vec![Step::ok(fake::anthropic_model())]).await;
        let provider = Anthropic::new(&test_config(
            config::LlmProvider::Anthropic,
            fake.base_url(),
        ));

        provider.check().await.expect("model exists");

        let [request] = fake.requests().try_into().expect("one request");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/v1/models/test-model");
        assert_eq!(request.header("x-api-key"), Some("test-key-0123"));
        assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    }
}
