//! Discord's [`Outbox`]: one channel (a thread or a DM) and the person who acted. Messages
//! are posted and edited with the bot token; what only the clicker should see goes through
//! the interaction's token as an ephemeral follow-up.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use twilight_http::Client;
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::attachment::Attachment as Upload;
use twilight_model::id::Id;
use twilight_model::id::marker::{
    ApplicationMarker, ChannelMarker, InteractionMarker, MessageMarker, UserMarker,
};

use super::render::{self, Drawn};
use super::rest;
use crate::present::words;
use crate::surface::{Attachment, MessageRef, Outbox, Reply, SurfaceError};

/// The interaction a reply may answer privately, while its token lasts (15 minutes).
#[derive(Clone, Copy)]
pub(super) struct Interaction<'a> {
    pub(super) id: Id<InteractionMarker>,
    pub(super) application: Id<ApplicationMarker>,
    pub(super) token: &'a str,
}

/// How long an interaction token takes follow-ups: Discord's 15 minutes, less a margin.
const TOKEN_LIFE: Duration = Duration::from_secs(14 * 60);
/// Discord's epoch, the start of 2015, in Unix milliseconds; ids count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

impl Interaction<'_> {
    /// Whether the token still takes follow-ups; an id says when it was made.
    fn token_alive(&self) -> bool {
        let created = UNIX_EPOCH + Duration::from_millis((self.id.get() >> 22) + DISCORD_EPOCH_MS);
        SystemTime::now()
            .duration_since(created)
            .is_ok_and(|age| age < TOKEN_LIFE)
            || SystemTime::now() < created
    }
}

pub(super) struct DiscordOutbox<'a> {
    pub(super) rest: &'a Client,
    /// Where posts go: the conversation's thread, or the DM.
    pub(super) channel: Id<ChannelMarker>,
    /// The person who acted.
    pub(super) user: Id<UserMarker>,
    pub(super) interaction: Option<Interaction<'a>>,
    /// The largest file Discord takes from this bot.
    pub(super) max_upload: u64,
    /// The interaction's first response was a private deferral ("thinking…"): the private
    /// reply replaces it rather than following it.
    pub(super) private_deferral: bool,
}

/// How querybot finds one of its messages again: its channel and its id.
pub(super) fn message_ref(channel: Id<ChannelMarker>, message: Id<MessageMarker>) -> MessageRef {
    MessageRef(format!("{channel}/{message}"))
}

fn parse_ref(message: &MessageRef) -> Result<(Id<ChannelMarker>, Id<MessageMarker>), SurfaceError> {
    let (channel, id) = message
        .0
        .split_once('/')
        .ok_or_else(|| format!("not a Discord message reference: {}", message.0))?;
    Ok((channel.parse()?, id.parse()?))
}

impl DiscordOutbox<'_> {
    fn render(&self, reply: Reply<'_>) -> Drawn {
        match reply {
            Reply::Progress { question, status } => render::progress(question, status),
            Reply::Draft(draft) => render::draft(draft),
            Reply::Status { draft, status, by } => {
                let by = format!("<@{}>", by.platform_user());
                render::draft_status(
                    draft,
                    &words::status_line(status, &by),
                    crate::surface::Buttons::of(status),
                )
            }
            Reply::Answer(answer) => render::answer(answer),
            Reply::Failure(failure) => render::failure(failure),
            Reply::Notice(text) => render::notice(text),
            Reply::History(entries) => render::history(entries),
        }
    }
}

#[async_trait]
impl Outbox for DiscordOutbox<'_> {
    async fn post(&self, reply: Reply<'_>) -> Result<MessageRef, SurfaceError> {
        let drawn = self.render(reply);
        let message = rest::send("post", || {
            self.rest
                .create_message(self.channel)
                .content(&drawn.content)
                .components(&drawn.components)
        })
        .await?
        .model()
        .await?;
        Ok(message_ref(self.channel, message.id))
    }

    async fn update(&self, message: &MessageRef, reply: Reply<'_>) -> Result<(), SurfaceError> {
        let (channel, id) = parse_ref(message)?;
        let drawn = self.render(reply);
        rest::send("update", || {
            self.rest
                .update_message(channel, id)
                .content(Some(&drawn.content))
                .components(Some(&drawn.components))
        })
        .await?;
        Ok(())
    }

    async fn tell_privately(&self, reply: Reply<'_>) -> Result<(), SurfaceError> {
        let drawn = self.render(reply);
        match self.interaction.filter(Interaction::token_alive) {
            Some(interaction) if self.private_deferral => {
                let client = self.rest.interaction(interaction.application);
                rest::send("deferred", || {
                    client
                        .update_response(interaction.token)
                        .content(Some(&drawn.content))
                        .components(Some(&drawn.components))
                })
                .await?;
            }
            Some(interaction) => {
                let client = self.rest.interaction(interaction.application);
                rest::send("ephemeral", || {
                    client
                        .create_followup(interaction.token)
                        .content(&drawn.content)
                        .components(&drawn.components)
                        .flags(MessageFlags::EPHEMERAL)
                })
                .await?;
            }
            // Only an interaction can answer one person privately (and only while its token
            // lasts); a message can only be addressed to them.
            None => {
                let content = format!("<@{}> {}", self.user, drawn.content);
                let content = super::markdown::cut(&content, render::MESSAGE_CHARS);
                rest::send("post", || {
                    self.rest
                        .create_message(self.channel)
                        .content(&content)
                        .components(&drawn.components)
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn attach(&self, files: Vec<Attachment>) -> Result<(), SurfaceError> {
        let mut notes = Vec::new();
        let uploads: Vec<Upload> = files
            .into_iter()
            .zip(1..)
            .map(|(file, id)| {
                let bytes = if file.filename.ends_with(".csv") {
                    let (bytes, kept_rows) = cut_csv(file.bytes, self.max_upload);
                    if let Some(rows) = kept_rows {
                        notes.push(words::csv_cut_note(rows, self.max_upload));
                    }
                    bytes
                } else {
                    file.bytes
                };
                let mut upload = Upload::from_bytes(file.filename, bytes, id);
                upload.description(super::markdown::cut(&file.title, 1_000));
                upload
            })
            .collect();
        let content = notes.join("\n");
        rest::send("upload", || {
            let request = self.rest.create_message(self.channel).attachments(&uploads);
            if content.is_empty() {
                request
            } else {
                request.content(&content)
            }
        })
        .await?;
        Ok(())
    }
}

/// A CSV cut at the last row boundary within `limit` bytes (a newline outside quotes), and
/// how many data rows it keeps when it had to be cut.
pub(super) fn cut_csv(mut bytes: Vec<u8>, limit: u64) -> (Vec<u8>, Option<u64>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if bytes.len() <= limit {
        return (bytes, None);
    }
    let mut quoted = false;
    let mut end = 0;
    let mut lines: u64 = 0;
    for (index, byte) in bytes.iter().enumerate().take(limit) {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                end = index + 1;
                lines += 1;
            }
            _ => {}
        }
    }
    bytes.truncate(end);
    // The first line is the header.
    (bytes, Some(lines.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_is_cut_at_a_row_boundary_outside_quotes() {
        let csv = b"name,note\na,\"line one\nline two\"\nb,plain\n".to_vec();
        assert_eq!(cut_csv(csv.clone(), 1_000), (csv.clone(), None));
        // 30 bytes end inside the quoted note of row a: only the header survives.
        let (cut, rows) = cut_csv(csv.clone(), 30);
        assert_eq!((cut.as_slice(), rows), (&b"name,note\n"[..], Some(0)));
        let (cut, rows) = cut_csv(csv.clone(), csv.len() as u64 - 1);
        assert_eq!(
            (cut.as_slice(), rows),
            (&b"name,note\na,\"line one\nline two\"\n"[..], Some(1))
        );
    }

    #[test]
    fn an_interaction_token_lasts_fourteen_minutes_by_its_id() {
        let id_at = |age: Duration| {
            let at = SystemTime::now() - age;
            let ms = at
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis() as u64;
            Id::new((ms - DISCORD_EPOCH_MS) << 22)
        };
        let interaction = |id| Interaction {
            id,
            application: Id::new(1),
            token: "t",
        };
        assert!(interaction(id_at(Duration::from_secs(60))).token_alive());
        assert!(!interaction(id_at(Duration::from_secs(15 * 60))).token_alive());
    }

    #[test]
    fn references_name_channel_and_message() {
        let reference = message_ref(Id::new(12), Id::new(34));
        assert_eq!(reference.0, "12/34");
        let (channel, message) = parse_ref(&reference).expect("parses");
        assert_eq!((channel.get(), message.get()), (12, 34));
        assert!(parse_ref(&MessageRef("1234".into())).is_err());
    }
}
