//! What querybot does for each Discord message and interaction: a mention, a DM or a
//! follow-up in a conversation thread becomes a draft in that thread; `/ask` is deferred and
//! becomes a draft that starts a thread; Run and Cancel are deferred updates of the draft;
//! Edit opens a modal whose submission updates the draft in place.
//!
//! An interaction's first response comes from `respond` (the gateway sends it as a callback,
//! the HTTP endpoint as its answer); the slow part follows in [`Discord::follow`].

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use twilight_http::Client;
use twilight_model::application::interaction::{Interaction, InteractionType};
use twilight_model::channel::message::{Message, MessageType};
use twilight_model::channel::{Channel, ChannelType};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, RoleMarker, UserMarker};

use super::outbox::{self, DiscordOutbox};
use super::render;
use super::rest::{self, RestError};
use crate::bot::{
    Bot, ConversationKey, Draft, DraftId, Identity, Person, Platform, Question, StoreError,
    SurfaceState, UserId,
};
use crate::config::{DEFAULT_CONNECTION, DiscordConfig};
use crate::surface::flow::{self, Heard, Hearing};
use crate::surface::receipt::Receipt;
use crate::surface::{Outbox, Reply, SurfaceError};

/// The slash command querybot registers.
pub const ASK_COMMAND: &str = "ask";
/// Its one option.
pub const QUESTION_OPTION: &str = "question";

/// Said once per thread when a follow-up arrives without its text.
pub const NEEDS_MENTION: &str = "I can't read messages here unless they mention me: mention me \
     to continue (@querybot and your question), or an admin can enable the Message Content \
     intent for querybot and set DISCORD_MESSAGE_CONTENT=on.";
const NO_THREAD: &str = "I can't start a thread here: give querybot the Create Public Threads \
     and Send Messages in Threads permissions in this channel, or ask inside a thread.";
const NO_ACCESS: &str = "I can't post in this channel: give querybot the View Channel and Send \
     Messages permissions here, or ask me somewhere else.";
/// Discord's code for "a thread has already been created for this message".
const THREAD_EXISTS: u64 = 160004;

pub(super) const DISCORD_FAILED: &str =
    "Something went wrong talking to Discord; please try again.";

/// The Discord surface, shared by the gateway and the HTTP interactions endpoint.
#[derive(Clone)]
pub struct Discord(Arc<Inner>);

struct Inner {
    bot: Bot,
    state: SurfaceState,
    rest: Client,
    config: DiscordConfig,
    /// Channel id to connection name.
    channels: BTreeMap<String, String>,
    tasks: TaskTracker,
    me: OnceCell<Me>,
}

/// Who querybot is on Discord.
#[derive(Debug, Clone, Copy)]
pub struct Me {
    pub user: Id<UserMarker>,
    pub application: Id<ApplicationMarker>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("a call to Discord failed")]
    Rest(#[from] RestError),
    #[error("Discord's answer could not be read")]
    Body(#[from] twilight_http::response::DeserializeBodyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Flow(SurfaceError),
    #[error("Discord sent an interaction without {0}")]
    Incomplete(&'static str),
    #[error("{0}")]
    Setting(&'static str),
}

/// What is left to do after an interaction's first response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    Ask(String),
    Run(DraftId),
    Cancel(DraftId),
    Stop(DraftId),
    /// 👍 under an answer.
    Approve(DraftId),
    /// `/ask history`, `/ask admin …`.
    Command(flow::ChatCommand),
    /// Re-run beside a question of a history.
    Rerun(DraftId),
    /// 👎 under an answer, with what was wrong.
    Complain(DraftId, String),
}

impl Discord {
    pub fn new(
        bot: Bot,
        state: SurfaceState,
        config: DiscordConfig,
        channels: BTreeMap<String, String>,
        tasks: TaskTracker,
    ) -> Discord {
        let rest = match &config.token {
            Some(token) => rest::client(token, config.api_url.as_deref()),
            None => Client::new(String::new()),
        };
        Discord(Arc::new(Inner {
            bot,
            state,
            rest,
            config,
            channels,
            tasks,
            me: OnceCell::new(),
        }))
    }

    pub(super) fn bot(&self) -> &Bot {
        &self.0.bot
    }

    pub(super) fn config(&self) -> &DiscordConfig {
        &self.0.config
    }

    pub(super) fn rest(&self) -> &Client {
        &self.0.rest
    }

    pub(super) fn state(&self) -> &SurfaceState {
        &self.0.state
    }

    pub(super) fn tasks(&self) -> &TaskTracker {
        &self.0.tasks
    }

    /// Whether the process is shutting down and takes no new deliveries.
    pub(super) fn draining(&self) -> bool {
        self.0.tasks.is_closed()
    }

    /// The bot's user and application, asked of Discord once (this also checks the token).
    pub async fn me(&self) -> Result<Me, DiscordError> {
        let me = self
            .0
            .me
            .get_or_try_init(|| async {
                let user = rest::send("me", || self.0.rest.current_user())
                    .await?
                    .model()
                    .await?;
                let application = match self.0.config.application_id {
                    Some(id) => Id::new(id),
                    None => {
                        rest::send("application", || self.0.rest.current_user_application())
                            .await?
                            .model()
                            .await?
                            .id
                    }
                };
                Ok::<_, DiscordError>(Me {
                    user: user.id,
                    application,
                })
            })
            .await?;
        Ok(*me)
    }

    /// For `doctor`: the bot user Discord knows the token as, and whether the Message Content
    /// intent the settings expect is enabled for the application.
    pub async fn check(&self) -> Result<String, DiscordError> {
        use twilight_model::oauth::ApplicationFlags;
        let user = rest::send("me", || self.0.rest.current_user())
            .await?
            .model()
            .await?;
        let application = rest::send("application", || self.0.rest.current_user_application())
            .await?
            .model()
            .await?;
        let content_flags = ApplicationFlags::GATEWAY_MESSAGE_CONTENT
            | ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED;
        let content = application
            .flags
            .is_some_and(|flags| flags.intersects(content_flags));
        let intent = match (content, self.0.config.message_content) {
            (true, true) => "Message Content intent enabled and used",
            (true, false) => {
                "Message Content intent enabled but not used (set DISCORD_MESSAGE_CONTENT=on \
                 for follow-ups without a mention)"
            }
            (false, true) => {
                return Err(DiscordError::Setting(
                    "the Message Content intent is NOT enabled, but DISCORD_MESSAGE_CONTENT=on: \
                     enable it on the Developer Portal's Bot page, or the gateway will refuse \
                     to connect",
                ));
            }
            (false, false) => "Message Content intent off: follow-ups need a mention",
        };
        Ok(format!(
            "bot user {} ({}), application {}; {intent}",
            user.name, user.id, application.id
        ))
    }

    /// Registers `/ask`: in `DISCORD_GUILD_ID` only when set (instant), else globally.
    pub async fn register_commands(&self) -> Result<(), DiscordError> {
        let me = self.me().await?;
        let commands = [super::respond::ask_command(me.application)];
        let interaction = self.0.rest.interaction(me.application);
        match self.0.config.guild_id {
            Some(guild) => {
                rest::send("commands", || {
                    interaction.set_guild_commands(Id::new(guild), &commands)
                })
                .await?;
            }
            None => {
                rest::send("commands", || interaction.set_global_commands(&commands)).await?;
            }
        }
        Ok(())
    }

    pub(super) fn user(user: Id<UserMarker>) -> UserId {
        UserId::new(format!("discord:{user}"))
    }

    /// Who acts, as the access rules see them: the user, their roles in this server (which
    /// come with every event), and the channels they act in (a thread and its parent).
    pub(super) fn person(
        user: Id<UserMarker>,
        roles: &[Id<RoleMarker>],
        channels: &[Option<Id<ChannelMarker>>],
    ) -> Person {
        let roles = roles
            .iter()
            .map(|role| Identity::group("discord", &role.to_string()));
        let channels = channels
            .iter()
            .flatten()
            .map(|channel| Identity::channel("discord", &channel.to_string()));
        Person::new(Self::user(user)).with(roles.chain(channels))
    }

    fn workspace(guild: Option<impl std::fmt::Display>) -> String {
        guild.map_or_else(|| "@me".to_owned(), |guild| guild.to_string())
    }

    /// The connection for a question asked in `channel` (a thread's own binding first, then
    /// its parent's).
    fn connection_for(&self, channels: &[Option<Id<ChannelMarker>>]) -> String {
        channels
            .iter()
            .flatten()
            .find_map(|channel| self.0.channels.get(&channel.to_string()))
            .cloned()
            .unwrap_or_else(|| DEFAULT_CONNECTION.to_owned())
    }

    fn outbox<'a>(
        &'a self,
        channel: Id<ChannelMarker>,
        user: Id<UserMarker>,
        interaction: Option<outbox::Interaction<'a>>,
    ) -> DiscordOutbox<'a> {
        DiscordOutbox {
            rest: &self.0.rest,
            channel,
            user,
            interaction,
            max_upload: self.0.config.max_upload,
            private_deferral: false,
        }
    }

    /// A message: a question when it mentions querybot, is a DM, or continues a
    /// conversation thread. Such a message is kept in the delivery inbox (and deduplicated)
    /// unless it comes from there already, with its `receipt`.
    pub async fn message(&self, message: Message, receipt: Option<Receipt>) {
        let span = tracing::info_span!("question", platform = "discord", channel = %message.channel_id, user = %message.author.id);
        let mut receipt = receipt;
        async {
            if let Err(error) = self.hear(&message, &mut receipt).await {
                tracing::warn!(error = %crate::bot::error_chain(&error), "message failed");
                let text = match &error {
                    DiscordError::Rest(rest)
                        if matches!(rest::error_code(rest), Some(50001 | 50013)) =>
                    {
                        NO_ACCESS
                    }
                    _ => DISCORD_FAILED,
                };
                let outbox = self.outbox(message.channel_id, message.author.id, None);
                if let Err(error) = outbox.post(Reply::Notice(text)).await {
                    tracing::warn!(%error, "cannot say the message failed");
                }
            }
        }
        .instrument(span)
        .await;
        if let Some(receipt) = receipt {
            receipt.handled().await;
        }
    }

    async fn hear(
        &self,
        message: &Message,
        receipt: &mut Option<Receipt>,
    ) -> Result<(), DiscordError> {
        if message.author.bot || !matches!(message.kind, MessageType::Regular | MessageType::Reply)
        {
            return Ok(());
        }
        let me = self.me().await?;
        let direct = message.guild_id.is_none();
        let mentioned = message.mentions.iter().any(|m| m.id == me.user);
        let workspace = Self::workspace(message.guild_id);
        let here = ConversationKey {
            platform: Platform::Discord,
            workspace: workspace.clone(),
            channel: message.channel_id.to_string(),
            thread: message.channel_id.to_string(),
        };
        // Without the Message Content intent, Discord leaves out the text of messages that do
        // not mention querybot: a follow-up then arrives empty.
        if message.content.trim().is_empty()
            && !mentioned
            && !direct
            && !self.0.config.message_content
        {
            let said_once = format!("discord:needs-mention:{}", message.channel_id);
            if self.0.state.is_conversation(&here).await? && self.first_sighting(&said_once).await {
                self.outbox(message.channel_id, message.author.id, None)
                    .post(Reply::Notice(NEEDS_MENTION))
                    .await
                    .map_err(DiscordError::Flow)?;
            }
            return Ok(());
        }
        // Discord writes a mention `<@id>`, or `<@!id>` for a nickname.
        let text = message
            .content
            .replace(&format!("<@!{}>", me.user), &format!("<@{}>", me.user));
        let mention = format!("<@{}>", me.user);
        let heard = Heard {
            conversation: here.clone(),
            text: &text,
            mention: &mention,
            mentioned,
            direct,
            // Only threads and DMs are conversations, so a message whose channel is one is a
            // follow-up.
            in_thread: true,
        };
        let hearing = flow::hear(&self.0.state, &heard).await?;
        if hearing == Hearing::Nothing {
            return Ok(());
        }
        // A message for querybot is kept, so that another replica (or a redelivery) leaves
        // it alone, and a process that dies before answering it does not lose it.
        if receipt.is_none() {
            let payload = serde_json::to_string(message).unwrap_or_default();
            let id = format!("discord:message:{}", message.id);
            match self.accept(&id, &payload).await {
                (super::Sighting::First, kept) => *receipt = Some(kept),
                _ => return Ok(()),
            }
        }
        let receipt = receipt.clone().unwrap_or_default();
        let question = match hearing {
            Hearing::Nothing => return Ok(()),
            Hearing::Help => {
                self.outbox(message.channel_id, message.author.id, None)
                    .post(Reply::Notice(flow::HELP))
                    .await
                    .map_err(DiscordError::Flow)?;
                return Ok(());
            }
            Hearing::Question(question) => question,
        };
        let roles = message.member.as_ref().map_or(&[][..], |m| &m.roles);
        if let Some(command) = flow::ChatCommand::parse(&question) {
            // Answered where it was asked: no thread for it.
            let by = Self::person(message.author.id, roles, &[Some(message.channel_id)]);
            let outbox = self.outbox(message.channel_id, message.author.id, None);
            return flow::command(&self.0.bot, &outbox, &by, &command)
                .await
                .map_err(DiscordError::Flow);
        }
        let (thread, bindings) = if direct {
            (message.channel_id, vec![Some(message.channel_id)])
        } else {
            let channel = self.channel(message.channel_id).await?;
            if channel.kind.is_thread() {
                (channel.id, vec![Some(channel.id), channel.parent_id])
            } else {
                let thread = self.start_thread(channel.id, message.id, &question).await?;
                (thread, vec![Some(channel.id)])
            }
        };
        let outbox = self.outbox(thread, message.author.id, None);
        let by = Self::person(message.author.id, roles, &bindings);
        let ask = Question {
            conversation: ConversationKey {
                platform: Platform::Discord,
                workspace,
                channel: thread.to_string(),
                thread: thread.to_string(),
            },
            by: by.clone(),
            connection: self.connection_for(&bindings),
            text: question.clone(),
        };
        flow::question(
            &self.0.bot,
            &outbox,
            &receipt,
            &by,
            ask,
            flow::Thread::Known,
        )
        .await
        .map_err(DiscordError::Flow)?;
        Ok(())
    }

    async fn channel(&self, id: Id<ChannelMarker>) -> Result<Channel, DiscordError> {
        Ok(rest::send("channel", || self.0.rest.channel(id))
            .await?
            .model()
            .await?)
    }

    /// A public thread started from `message`, named after the question (or the one an
    /// earlier attempt started); its id is the message's.
    async fn start_thread(
        &self,
        channel: Id<ChannelMarker>,
        message: twilight_model::id::Id<twilight_model::id::marker::MessageMarker>,
        question: &str,
    ) -> Result<Id<ChannelMarker>, DiscordError> {
        let name = render::thread_name(question);
        let started = rest::send("thread", || {
            self.0
                .rest
                .create_thread_from_message(channel, message, &name)
        })
        .await;
        match started {
            Ok(response) => Ok(response.model().await?.id),
            // Started by an earlier attempt at the same delivery: a message's thread has the
            // message's id.
            Err(error) if rest::error_code(&error) == Some(THREAD_EXISTS) => Ok(message.cast()),
            Err(error) => Err(error.into()),
        }
    }

    /// The work after the first response.
    pub async fn follow(&self, interaction: Interaction, follow_up: FollowUp, receipt: &Receipt) {
        let span = tracing::info_span!("interaction", platform = "discord", id = %interaction.id, user = ?interaction.author_id());
        async {
            if let Err(error) = self.follow_up(&interaction, follow_up, receipt).await {
                tracing::warn!(error = %crate::bot::error_chain(&error), "interaction failed");
                let text = match &error {
                    DiscordError::Rest(rest)
                        if matches!(rest::error_code(rest), Some(160002 | 50001 | 50013)) =>
                    {
                        NO_THREAD
                    }
                    _ => DISCORD_FAILED,
                };
                let channel = interaction.channel.as_ref().map(|channel| channel.id);
                let (Some(channel), Some(user)) = (channel, interaction.author_id()) else {
                    return;
                };
                let token = outbox::Interaction {
                    id: interaction.id,
                    application: interaction.application_id,
                    token: &interaction.token,
                };
                let told = self
                    .outbox(channel, user, Some(token))
                    .tell_privately(Reply::Notice(text))
                    .await;
                if let Err(error) = told {
                    tracing::warn!(%error, "cannot say the interaction failed");
                }
            }
        }
        .instrument(span)
        .await;
    }

    async fn follow_up(
        &self,
        interaction: &Interaction,
        follow_up: FollowUp,
        receipt: &Receipt,
    ) -> Result<(), DiscordError> {
        let user = interaction
            .author_id()
            .ok_or(DiscordError::Incomplete("a user"))?;
        let channel = interaction
            .channel
            .as_ref()
            .ok_or(DiscordError::Incomplete("a channel"))?;
        let token = outbox::Interaction {
            id: interaction.id,
            application: interaction.application_id,
            token: &interaction.token,
        };
        let roles = interaction.member.as_ref().map_or(&[][..], |m| &m.roles);
        let by = Self::person(user, roles, &[Some(channel.id), channel.parent_id]);
        // Threads and DMs are conversations themselves; elsewhere a draft starts a thread of
        // its own, whose id is the draft message's.
        let keeps_conversation = channel.kind.is_thread() || channel.kind == ChannelType::Private;
        match follow_up {
            FollowUp::Ask(question) => {
                let progress = render::progress(&question, flow::WRITING_SQL);
                let client = self.0.rest.interaction(interaction.application_id);
                let placeholder = rest::send("deferred", || {
                    client
                        .update_response(&interaction.token)
                        .content(Some(&progress.content))
                })
                .await?
                .model()
                .await?;
                let (thread, bindings) = if keeps_conversation {
                    (channel.id, vec![Some(channel.id), channel.parent_id])
                } else {
                    let thread = self
                        .start_thread(channel.id, placeholder.id, &question)
                        .await?;
                    (thread, vec![Some(channel.id)])
                };
                let ask = Question {
                    conversation: ConversationKey {
                        platform: Platform::Discord,
                        workspace: Self::workspace(interaction.guild_id),
                        channel: thread.to_string(),
                        thread: thread.to_string(),
                    },
                    by,
                    connection: self.connection_for(&bindings),
                    text: question,
                };
                let outbox = self.outbox(thread, user, Some(token));
                let placeholder = outbox::message_ref(placeholder.channel_id, placeholder.id);
                flow::draft_into(&self.0.bot, &outbox, receipt, &placeholder, &ask)
                    .await
                    .map_err(DiscordError::Flow)
            }
            FollowUp::Command(command) => {
                // The private "thinking…" the deferral shows becomes the answer.
                let outbox = DiscordOutbox {
                    private_deferral: true,
                    ..self.outbox(channel.id, user, Some(token))
                };
                flow::command(&self.0.bot, &outbox, &by, &command)
                    .await
                    .map_err(DiscordError::Flow)
            }
            FollowUp::Rerun(draft) => {
                // In a thread or a DM the new draft continues it; in a channel it is a new
                // conversation, whose thread (once Run starts one) has the draft's id.
                let outbox = self.outbox(channel.id, user, Some(token));
                let workspace = Self::workspace(interaction.guild_id);
                let conversation_of = |placeholder: &crate::surface::MessageRef| {
                    let thread = if keeps_conversation {
                        channel.id.to_string()
                    } else {
                        placeholder
                            .0
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                            .to_owned()
                    };
                    ConversationKey {
                        platform: Platform::Discord,
                        workspace,
                        channel: thread.clone(),
                        thread,
                    }
                };
                flow::rerun(&self.0.bot, &outbox, draft, &by, conversation_of)
                    .await
                    .map_err(DiscordError::Flow)
            }
            FollowUp::Approve(draft) => {
                let outbox = self.outbox(channel.id, user, Some(token));
                flow::approve(&self.0.bot, &outbox, draft, &by)
                    .await
                    .map_err(DiscordError::Flow)
            }
            FollowUp::Complain(draft, comment) => {
                let outbox = self.outbox(channel.id, user, Some(token));
                flow::complain(&self.0.bot, &outbox, draft, &by, &comment)
                    .await
                    .map_err(DiscordError::Flow)
            }
            FollowUp::Stop(draft) => {
                // The run's own conversation says it stopped; only a refusal is said here.
                let outbox = self.outbox(channel.id, user, Some(token));
                flow::stop(&self.0.bot, &outbox, draft, &by)
                    .await
                    .map_err(DiscordError::Flow)
            }
            FollowUp::Run(draft) | FollowUp::Cancel(draft) => {
                let message = interaction
                    .message
                    .as_ref()
                    .ok_or(DiscordError::Incomplete("the draft's message"))?;
                let thread = if keeps_conversation {
                    channel.id
                } else {
                    message.id.cast()
                };
                let outbox = self.outbox(thread, user, Some(token));
                let draft_message = outbox::message_ref(message.channel_id, message.id);
                let done = if matches!(follow_up, FollowUp::Run(_)) {
                    flow::run(&self.0.bot, &outbox, receipt, &draft_message, draft, &by).await
                } else {
                    flow::cancel(&self.0.bot, &outbox, &draft_message, draft, &by).await
                };
                done.map_err(DiscordError::Flow)
            }
        }
    }
}

#[async_trait::async_trait]
impl crate::surface::Courier for Discord {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    async fn replay(&self, delivery: crate::bot::Unhandled) {
        let receipt = Receipt::kept(
            self.0.state.clone(),
            delivery.event.clone(),
            delivery.message.map(crate::surface::MessageRef),
        );
        let id = delivery.event.as_str();
        tracing::info!(
            event = id,
            attempt = delivery.attempt,
            "handling a Discord delivery left unhandled"
        );
        let discord = self.clone();
        if id.starts_with("discord:message:") {
            match serde_json::from_str::<Message>(&delivery.payload) {
                Ok(message) => {
                    self.0
                        .tasks
                        .spawn(async move { discord.message(message, Some(receipt)).await });
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, event = id, "a kept Discord message is unreadable")
                }
            }
        } else {
            match serde_json::from_str::<Interaction>(&delivery.payload) {
                // A modal's work (an edit) is its first response itself, which Discord had or
                // reported as failed to the person.
                Ok(interaction) if interaction.kind != InteractionType::ModalSubmit => {
                    self.0.tasks.spawn(async move {
                        // The first response went out, or Discord told the person it failed;
                        // only the work after it is left.
                        if let (_, Some(follow_up)) = discord.first_response(&interaction).await {
                            discord.follow(interaction, follow_up, &receipt).await;
                        }
                        receipt.handled().await;
                    });
                    return;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, event = id, "a kept Discord interaction is unreadable");
                }
            }
        }
        receipt.handled().await;
    }

    async fn tell_interrupted(
        &self,
        conversation: &ConversationKey,
        draft: &Draft,
        what: crate::surface::Interrupted,
    ) -> Result<(), SurfaceError> {
        let channel: Id<ChannelMarker> = conversation.thread.parse()?;
        // Nobody is mentioned in a notice or a draft: the person is the author, for form.
        let author: Id<UserMarker> = draft.author.platform_user().parse().unwrap_or(Id::new(1));
        flow::interrupted_elsewhere(&self.outbox(channel, author, None), draft, what).await
    }
}
