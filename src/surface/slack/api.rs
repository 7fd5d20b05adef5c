//! The Slack Web API calls querybot makes, through slack-morphism, against the configured
//! base URL. Rate control is querybot's: posts are paced per channel (Slack's limit is about
//! one message a second per channel, with short bursts), and any call answered 429 waits its
//! `Retry-After` and is sent again. slack-morphism's own throttle is off: without a team id on
//! the token it paces every post of the process in one line, one a second.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota};

use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

/// Retries after a 429 before a call fails.
const RATE_LIMIT_RETRIES: usize = 3;
/// Posts a channel takes at once before the one-a-second pace applies.
const POST_BURST: u32 = 3;
/// The wait after a 429 that names none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

pub(super) type Client = SlackClient<SlackClientHyperHttpsConnector>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot build the Slack client: {0}")]
    Setup(String),
    #[error("Slack API call failed: {0}")]
    Call(#[from] SlackClientError),
}

impl ApiError {
    /// Slack's error code (`not_in_channel`, `channel_not_found`, ...), when it gave one.
    pub(super) fn code(&self) -> Option<&str> {
        match self {
            ApiError::Call(SlackClientError::ApiError(error)) => Some(&error.code),
            _ => None,
        }
    }
}

/// One connection pool to the Web API; cheap to clone.
#[derive(Clone)]
pub(super) struct Api {
    client: Arc<Client>,
    /// Posts per channel id.
    posts: Arc<DefaultKeyedRateLimiter<String>>,
}

/// A file to share into a thread.
pub(super) struct Upload<'a> {
    pub(super) filename: &'a str,
    pub(super) title: &'a str,
    pub(super) bytes: Vec<u8>,
}

impl Api {
    /// A client for `api_url`; plain `http://` is allowed so tests and proxies can stand in.
    pub(super) fn new(api_url: &str) -> Result<Api, ApiError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| ApiError::Setup(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector = SlackClientHyperConnector::from(https).with_slack_api_url(api_url);
        let burst = NonZeroU32::new(POST_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(NonZeroU32::MIN).allow_burst(burst);
        Ok(Api {
            client: Arc::new(SlackClient::new(connector)),
            posts: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        })
    }

    /// Sends a call, again after a 429 once Slack's `Retry-After` has passed.
    async fn retrying<T, F, Fut>(call: &'static str, mut send: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SlackClientError>>,
    {
        let mut retries = 0;
        loop {
            match send().await {
                Err(SlackClientError::RateLimitError(limited)) if retries < RATE_LIMIT_RETRIES => {
                    let wait = limited.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                    tracing::info!(
                        call,
                        wait_ms = wait.as_millis() as u64,
                        "Slack rate limit: waiting"
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                result => return Ok(result?),
            }
        }
    }

    fn token(token: &SecretString) -> SlackApiToken {
        SlackApiToken::new(SlackApiTokenValue::new(token.expose_secret().to_owned()))
    }

    /// Posts a message; returns its `ts`.
    pub(super) async fn post(
        &self,
        token: &SecretString,
        channel: &str,
        thread_ts: Option<&str>,
        content: SlackMessageContent,
    ) -> Result<String, ApiError> {
        let request = SlackApiChatPostMessageRequest::new(channel.into(), content)
            .opt_thread_ts(thread_ts.map(Into::into));
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        self.posts.until_key_ready(&channel.to_owned()).await;
        let response =
            Self::retrying("chat.postMessage", || session.chat_post_message(&request)).await?;
        Ok(response.ts.to_string())
    }

    pub(super) async fn update(
        &self,
        token: &SecretString,
        channel: &str,
        ts: &str,
        content: SlackMessageContent,
    ) -> Result<(), ApiError> {
        let request = SlackApiChatUpdateRequest::new(channel.into(), content, ts.into());
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        Self::retrying("chat.update", || session.chat_update(&request)).await?;
        Ok(())
    }

    /// A message only `user` sees.
    pub(super) async fn ephemeral(
        &self,
        token: &SecretString,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        content: SlackMessageContent,
    ) -> Result<(), ApiError> {
        let request = SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content)
            .opt_thread_ts(thread_ts.map(Into::into));
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        Self::retrying("chat.postEphemeral", || {
            session.chat_post_ephemeral(&request)
        })
        .await?;
        Ok(())
    }

    pub(super) async fn open_modal(
        &self,
        token: &SecretString,
        trigger_id: &str,
        view: SlackView,
    ) -> Result<(), ApiError> {
        let request = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        Self::retrying("views.open", || session.views_open(&request)).await?;
        Ok(())
    }

    /// Files upload v2: reserve an upload URL, send the bytes there, then share the file
    /// into the thread.
    pub(super) async fn upload(
        &self,
        token: &SecretString,
        channel: &str,
        thread_ts: &str,
        file: Upload<'_>,
    ) -> Result<(), ApiError> {
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        let reserve = SlackApiFilesGetUploadUrlExternalRequest::new(
            file.filename.to_owned(),
            file.bytes.len(),
        );
        let reserved = Self::retrying("files.getUploadURLExternal", || {
            session.get_upload_url_external(&reserve)
        })
        .await?;
        let content_type = if file.filename.ends_with(".png") {
            "image/png"
        } else {
            "text/csv"
        };
        session
            .files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
                reserved.upload_url,
                file.bytes,
                content_type.to_owned(),
            ))
            .await?;
        let shared = SlackApiFilesComplete::new(reserved.file_id).with_title(file.title.to_owned());
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![shared])
            .with_channel_id(channel.into())
            .with_thread_ts(thread_ts.into());
        Self::retrying("files.completeUploadExternal", || {
            session.files_complete_upload_external(&complete)
        })
        .await?;
        Ok(())
    }

    /// The members of a user group (`usergroups.users.list`, scope `usergroups:read`).
    pub(super) async fn group_members(
        &self,
        token: &SecretString,
        group: &str,
    ) -> Result<Vec<String>, ApiError> {
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        let request = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId::new(group.into()));
        let listed = Self::retrying("usergroups.users.list", || {
            session.usergroups_users_list(&request)
        })
        .await?;
        Ok(listed.users.into_iter().map(|u| u.to_string()).collect())
    }

    /// The bot user behind a token (for a single-workspace `SLACK_BOT_TOKEN`).
    pub(super) async fn bot_user(&self, token: &SecretString) -> Result<String, ApiError> {
        let token = Self::token(token);
        let session = self.client.open_session(&token);
        let identity = session.auth_test().await?;
        Ok(identity.user_id.to_string())
    }

    /// A single-use Socket Mode WebSocket URL, opened with the app-level token.
    pub(super) async fn open_socket(&self, app_token: &SecretString) -> Result<String, ApiError> {
        let token = Self::token(app_token);
        let session = self.client.open_session(&token);
        let opened = session
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await?;
        Ok(opened.url.0.to_string())
    }

    /// Exchanges an OAuth code for the workspace's installation.
    pub(super) async fn oauth_access(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SlackOAuthV2AccessTokenResponse, ApiError> {
        let request = SlackOAuthV2AccessTokenRequest::new(
            client_id.into(),
            client_secret.expose_secret().to_owned().into(),
            SlackOAuthCode(code.to_owned()),
        )
        .opt_redirect_uri(url::Url::parse(redirect_uri).ok());
        Ok(self.client.oauth2_access(&request).await?)
    }
}
