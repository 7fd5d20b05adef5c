//! Google's Gemini API (`models/{model}:generateContent`).

use async_trait::async_trait;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::transport::{KeyHeader, Transport};
use super::{Completion, Endpoint, LlmError, LlmProvider, Reply, Role, Usage};
use crate::config::LlmConfig;

#[derive(Debug)]
pub struct Gemini {
    transport: Transport,
    /// `/models/{model}`, without the `models/` prefix doubled when the setting carries it.
    model_path: String,
}

impl Gemini {
    pub fn new(config: &LlmConfig) -> Gemini {
        Gemini {
            transport: Transport::new(config, KeyHeader::Named("x-goog-api-key"), &[]),
            model_path: format!("/models/{}", config.model.trim_start_matches("models/")),
        }
    }
}

#[async_trait]
impl LlmProvider for Gemini {
    fn endpoint(&self) -> &Endpoint {
        self.transport.endpoint()
    }

    async fn complete(&self, request: &Completion) -> Result<Reply, LlmError> {
        let path = format!("{}:generateContent", self.model_path);
        self.transport
            .complete(
                &path,
                &GenerateRequest::new(request),
                GenerateResponse::into_reply,
            )
            .await
    }

    /// Fetches the model's description: proves the key works and the model exists.
    async fn check(&self) -> Result<(), LlmError> {
        let _: IgnoredAny = self.transport.get(&self.model_path).await?;
        Ok(())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Content<'a>>,
    contents: Vec<Content<'a>>,
    generation_config: GenerationConfig,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    temperature: f32,
    max_output_tokens: u32,
}

impl<'a> GenerateRequest<'a> {
    fn new(request: &'a Completion) -> GenerateRequest<'a> {
        let system_instruction =
            Some(request.system.as_str())
                .filter(|s| !s.is_empty())
                .map(|text| Content {
                    role: None,
                    parts: [Part { text }],
                });
        let contents = request
            .messages
            .iter()
            .map(|message| Content {
                role: Some(match message.role {
                    Role::User => "user",
                    Role::Assistant => "model",
                }),
                parts: [Part {
                    text: &message.content,
                }],
            })
            .collect();
        GenerateRequest {
            system_instruction,
            contents,
            generation_config: GenerationConfig {
                temperature: request.temperature,
                max_output_tokens: request.max_tokens,
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<CandidateContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<ResponsePart>,
}

#[derive(Deserialize)]
struct ResponsePart {
    #[serde(default)]
    text: Option<String>,
    /// Thinking models may return their thoughts as parts; they are not the answer.
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

impl GenerateResponse {
    fn into_reply(self) -> Result<Reply, LlmError> {
        // Thinking tokens are billed as output, so they count as completion tokens.
        let usage = self.usage_metadata.map_or(Usage::default(), |u| Usage {
            prompt_tokens: u.prompt_token_count,
            completion_tokens: u
                .candidates_token_count
                .saturating_add(u.thoughts_token_count),
        });
        let Some(candidate) = self.candidates.into_iter().next() else {
            let reason = self
                .prompt_feedback
                .and_then(|feedback| feedback.block_reason)
                .map_or("no candidates".to_owned(), |reason| {
                    format!("the prompt was blocked, reason `{reason}`")
                });
            return Err(LlmError::BadResponse(reason));
        };
        let text: String = candidate
            .content
            .into_iter()
            .flat_map(|content| content.parts)
            .filter(|part| !part.thought)
            .filter_map(|part| part.text)
            .collect();
        if text.trim().is_empty() {
            let reason = candidate.finish_reason.as_deref().unwrap_or("none given");
            return Err(LlmError::BadResponse(format!(
                "no text, finish reason `{reason}`"
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
    async fn puts_the_system_prompt_in_system_instruction_and_the_key_in_its_header() {
        let fake = FakeLlm::start(
            "/v1beta",
            vec![Step::ok(fake::gemini_reply("SELECT 1", 20, 4))],
        )
        .await;
        let provider = Gemini::new(&test_config(config::LlmProvider::Gemini, fake.base_url()));

        let reply = provider.complete(&completion()).await.expect("answers");

        assert_eq!(reply.text, "SELECT 1");
        assert_eq!(
            reply.usage,
            Usage {
                prompt_tokens: 20,
                completion_tokens: 4
            }
        );
        let [request] = fake.requests().try_into().expect("one request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1beta/models/test-model:generateContent");
        assert_eq!(request.header("x-goog-api-key"), Some("test-key-0123"));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.body,
            json!({
                "systemInstruction": {"parts": [{"text": "You write SQL."}]},
                "contents": [
                    {"role": "user", "parts": [{"text": "How many orders?"}]},
                    {"role": "model", "parts": [{"text": "SELECT count(*) FROM order"}]},
                    {"role": "user", "parts": [{"text": "The table is orders."}]},
                ],
                "generationConfig": {"temperature": 0.0, "maxOutputTokens": 512},
            })
        );
    }

    #[tokio::test]
    async fn a_models_prefix_in_the_setting_is_not_doubled() {
        let fake = FakeLlm::start("/v1beta", vec![Step::ok(fake::gemini_model())]).await;
        let mut config = test_config(config::LlmProvider::Gemini, fake.base_url());
        config.model = "models/gemini-2.5-flash".to_owned();

        Gemini::new(&config).check().await.expect("model exists");

        let [request] = fake.requests().try_into().expect("one request");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/v1beta/models/gemini-2.5-flash");
    }

    #[tokio::test]
    async fn thoughts_are_skipped_in_the_text_and_counted_in_the_usage() {
        let body = json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Let me think about the schema.", "thought": true},
                    {"text": "SELECT "},
                    {"text": "1"},
                ]},
                "finishReason": "STOP",
            }],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 3, "thoughtsTokenCount": 40},
        });
        let fake = FakeLlm::start("/v1beta", vec![Step::ok(body)]).await;
        let provider = Gemini::new(&test_config(config::LlmProvider::Gemini, fake.base_url()));

        let reply = provider.complete(&completion()).await.expect("answers");

        assert_eq!(reply.text, "SELECT 1");
        assert_eq!(
            reply.usage,
            Usage {
                prompt_tokens: 10,
                completion_tokens: 43
            }
        );
    }

    #[tokio::test]
    async fn blocked_and_empty_answers_say_why() {
        let cases = [
            (
                json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7}}),
                "the prompt was blocked, reason `SAFETY`",
            ),
            (
                json!({"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]}),
                "no text, finish reason `SAFETY`",
            ),
            (
                json!({"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}]}),
                "no text, finish reason `MAX_TOKENS`",
            ),
            (json!({}), "no candidates"),
        ];
        for (body, expected) in cases {
            let fake = FakeLlm::start("/v1beta", vec![Step::ok(body.clone())]).await;
            let provider = Gemini::new(&test_config(config::LlmProvider::Gemini, fake.base_url()));
            match provider.complete(&completion()).await {
                Err(LlmError::BadResponse(detail)) => assert_eq!(detail, expected, "{body}"),
                other => panic!("{body}: expected BadResponse, got {other:?}"),
            }
            assert_eq!(fake.requests().len(), 1, "a blocked answer is not retried");
        }
    }
}
