//! Slack's [`Outbox`]: one channel (and thread) of one workspace, and the person who acted.
//! Replies are drawn by `blocks`; the status line names the person as a Slack mention.

use async_trait::async_trait;
use secrecy::SecretString;
use slack_morphism::prelude::SlackMessageContent;

use super::api::{Api, ApiError, Upload};
use super::blocks;
use crate::present::words;
use crate::surface::{Attachment, MessageRef, Outbox, Reply, SurfaceError};

pub(super) struct SlackOutbox<'a> {
    pub(super) api: &'a Api,
    pub(super) token: &'a SecretString,
    pub(super) channel: &'a str,
    /// The conversation's thread; `None` posts into the channel, starting one.
    pub(super) thread: Option<&'a str>,
    /// The Slack user who acted.
    pub(super) user: &'a str,
}

/// Counts a failed Web API call by what it was for, and passes the error on.
fn counted<T>(result: Result<T, ApiError>, call: &'static str) -> Result<T, SurfaceError> {
    result.map_err(|error| {
        ::metrics::counter!("querybot_platform_api_errors_total", "platform" => "slack", "call" => call)
            .increment(1);
        error.into()
    })
}

impl SlackOutbox<'_> {
    fn render(&self, reply: Reply<'_>) -> SlackMessageContent {
        match reply {
            Reply::Progress { question, status } => blocks::progress(question, status),
            Reply::Draft(draft) => blocks::draft(draft),
            Reply::Status { draft, status, by } => {
                let by = format!("<@{}>", by.platform_user());
                blocks::draft_status(
                    draft,
                    &words::status_line(status, &by),
                    crate::surface::Buttons::of(status),
                )
            }
            Reply::Answer(answer) => blocks::answer(answer),
            Reply::Failure(failure) => blocks::failure(failure),
            Reply::Notice(text) => blocks::notice(text),
            Reply::History(entries) => blocks::history(entries),
        }
    }
}

#[async_trait]
impl Outbox for SlackOutbox<'_> {
    async fn post(&self, reply: Reply<'_>) -> Result<MessageRef, SurfaceError> {
        let content = self.render(reply);
        let posted = self
            .api
            .post(self.token, self.channel, self.thread, content)
            .await;
        let ts = counted(posted, "post")?;
        Ok(MessageRef(ts))
    }

    async fn update(&self, message: &MessageRef, reply: Reply<'_>) -> Result<(), SurfaceError> {
        let content = self.render(reply);
        let updated = self
            .api
            .update(self.token, self.channel, &message.0, content)
            .await;
        counted(updated, "update")
    }

    async fn tell_privately(&self, reply: Reply<'_>) -> Result<(), SurfaceError> {
        let content = self.render(reply);
        let told = self
            .api
            .ephemeral(self.token, self.channel, self.user, self.thread, content)
            .await;
        counted(told, "ephemeral")
    }

    async fn attach(&self, files: Vec<Attachment>) -> Result<(), SurfaceError> {
        let thread = self
            .thread
            .ok_or("files go into a thread, and there is none")?;
        for file in files {
            let upload = Upload {
                filename: &file.filename,
                title: &file.title,
                bytes: file.bytes,
            };
            let uploaded = self
                .api
                .upload(self.token, self.channel, thread, upload)
                .await;
            counted(uploaded, "upload")?;
        }
        Ok(())
    }
}
