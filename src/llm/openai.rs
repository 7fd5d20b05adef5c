//! OpenAI's chat completions API, spoken by OpenAI, Ollama (`/v1`), vLLM, llama.cpp, LM Studio.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::transport::{KeyHeader, Transport};
use super::{Completion, Endpoint, LlmError, LlmProvider, Reply, Role, Usage};
use crate::config::{self, LlmConfig};

#[derive(Debug)]
pub struct OpenAi {
    transport: Transport,
}

impl OpenAi {
    pub fn new(config: &LlmConfig) -> OpenAi {
        OpenAi {
            transport: Transport::new(config, KeyHeader::Bearer, &[]),
        }
    }
}

#[async_trait]
impl LlmProvider for OpenAi {
    fn endpoint(&self) -> &Endpoint {
        self.transport.endpoint()
    }

    async fn complete(&self, request: &Completion) -> Result<Reply, LlmError> {
        let body = ChatRequest::new(self.model(), request);
        self.transport
            .complete("/chat/completions", &body, ChatResponse::into_reply)
            .await
    }

    async fn check(&self) -> Result<(), LlmError> {
        let models: ModelList = self.transport.get("/models").await?;
        // Ollama answers only for models it has pulled; other servers may serve a model under
        // any name, so only Ollama's list is authoritative.
        if self.name() == config::LlmProvider::Ollama.as_str() {
            let model = self.model();
            let latest = format!("{model}:latest");
            if !models.data.iter().any(|m| m.id == model || m.id == latest) {
                return Err(LlmError::BadRequest {
                    status: 404,
                    message: format!("model `{model}` is not pulled; run `ollama pull {model}`"),
                });
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    // `max_tokens` rather than the newer `max_completion_tokens`: every compatible server
    // reads it, and OpenAI still does for chat models.
    max_tokens: u32,
    temperature: f32,
    stream: bool,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

impl<'a> ChatRequest<'a> {
    fn new(model: &'a str, request: &'a Completion) -> ChatRequest<'a> {
        let system = Some(request.system.as_str())
            .filter(|s| !s.is_empty())
            .map(|content| ChatMessage {
                role: "system",
                content,
            });
        let turns = request.messages.iter().map(|message| ChatMessage {
            role: match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &message.content,
        });
        ChatRequest {
            model,
            messages: system.into_iter().chain(turns).collect(),
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            stream: false,
        }
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct ChatUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl ChatResponse {
    fn into_reply(self) -> Result<Reply, LlmError> {
        let usage = self.usage.map_or(Usage::default(), |u| Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        });
        let choice = self
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::BadResponse("the reply has no choices".to_owned()))?;
        let message = choice.message.unwrap_or_default();
        match message.content.filter(|text| !text.trim().is_empty()) {
            Some(text) => Ok(Reply { text, usage }),
            None => Err(LlmError::BadResponse(
                match (message.refusal, choice.finish_reason) {
                    (Some(refusal), _) => format!("the model refused: {refusal}"),
                    (None, Some(reason)) => format!("no text, finish reason `{reason}`"),
                    (None, None) => "no text".to_owned(),
                },
            )),
        }
    }
}

#[derive(Deserialize)]
struct ModelList {
    #[serde(default)]
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::llm::fake::{self, FakeLlm, Step};
    use crate::llm::tests::{completion, test_config};

    #[tokio::test]
    async fn sends_the_system_prompt_first_and_the_key_as_a_bearer_token() {
        let fake =
            FakeLlm::start("/v1", vec![Step::ok(fake::openai_reply("SELECT 1", 12, 3))]).await;
        let provider = OpenAi::new(&test_config(config::LlmProvider::OpenAi, fake.base_url()));

        let reply = provider.complete(&completion()).await.expect("answers");

        assert_eq!(reply.text, "SELECT 1");
        assert_eq!(
            reply.usage,
            Usage {
                prompt_tokens: 12,
                completion_tokens: 3
            }
        );
        let [request] = fake.requests().try_into().expect("one request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(
            request.header("authorization"),
            Some("Bearer test-key-0123")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(
            request.body,
            json!({
                "model": "test-model",
                "messages": [
                    {"role": "system", "content": "You write SQL."},
                    {"role": "user", "content": "How many orders?"},
                    {"role": "assistant", "content": "SELECT count(*) FROM order"},
                    {"role": "user", "content": "The table is orders."},
                ],
                "max_tokens": 512,
                "temperature": 0.0,
                "stream": false,
            })
        );
    }

    #[tokio::test]
    async fn ollama_needs_no_key_and_names_itself() {
        let fake =
            FakeLlm::start("/v1", vec![Step::ok(fake::openai_reply("SELECT 1", 0, 0))]).await;
        let mut config = test_config(config::LlmProvider::Ollama, fake.base_url());
        config.api_key = None;
        let provider = super::super::connect(&config);

        provider.complete(&completion()).await.expect("answers");

        assert_eq!(provider.name(), "ollama");
        let [request] = fake.requests().try_into().expect("one request");
        assert_eq!(request.header("authorization"), None);
    }

    #[tokio::test]
    async fn missing_usage_counts_as_zero_and_an_empty_system_prompt_is_left_out() {
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "SELECT 2"}, "finish_reason": "stop"}]});
        let fake = FakeLlm::start("/v1", vec![Step::ok(body)]).await;
        let provider = OpenAi::new(&test_config(config::LlmProvider::OpenAi, fake.base_url()));
        let mut request = completion();
        request.system.clear();

        let reply = provider.complete(&request).await.expect("answers");

        assert_eq!(reply.usage, Usage::default());
        let [sent] = fake.requests().try_into().expect("one request");
        assert_eq!(sent.body["messages"][0]["role"], "user");
    }

    #[tokio::test]
    async fn a_reply_without_text_says_why() {
        let cases = [
            (json!({"choices": []}), "the reply has no choices"),
            (
                json!({"choices": [{"message": {"role": "assistant", "content": null}, "finish_reason": "content_filter"}]}),
                "no text, finish reason `content_filter`",
            ),
            (
                json!({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]}),
                "the model refused: I can't help with that.",
            ),
            (json!({"object": "error"}), "the reply has no choices"),
        ];
        for (body, expected) in cases {
            let fake = FakeLlm::start("/v1", vec![Step::ok(body.clone())]).await;
            let provider = OpenAi::new(&test_config(config::LlmProvider::OpenAi, fake.base_url()));
            match provider.complete(&completion()).await {
                Err(LlmError::BadResponse(detail)) => assert_eq!(detail, expected, "{body}"),
                other => panic!("{body}: expected BadResponse, got {other:?}"),
            }
            assert_eq!(fake.requests().len(), 1, "a bad reply is not retried");
        }
    }

    #[tokio::test]
    async fn ollama_check_names_a_model_that_is_not_pulled() {
        let models = json!({"object": "list", "data": [{"id": "llama3.2:latest", "object": "model", "owned_by": "library"}]});
        let fake = FakeLlm::start("/v1", vec![Step::ok(models)]).await;
        let mut config = test_config(config::LlmProvider::Ollama, fake.base_url());
        config.api_key = None;

        config.model = "llama3.2".to_owned();
        OpenAi::new(&config)
            .check()
            .await
            .expect("llama3.2 means llama3.2:latest");

        config.model = "qwen2.5-coder:7b".to_owned();
        let error = OpenAi::new(&config).check().await.expect_err("not pulled");
        assert!(
            error
                .user_message("ollama", fake.base_url())
                .contains("ollama pull qwen2.5-coder:7b"),
            "{error}"
        );
        let requests = fake.requests();
        assert_eq!(requests.len(), 2);
        assert!(
            requests
                .iter()
                .all(|r| r.method == "GET" && r.path == "/v1/models")
        );
    }
}
