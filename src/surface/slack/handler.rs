//! What querybot does for each Slack interaction, after it has been acknowledged: questions
//! become draft messages, button clicks run, edit or cancel drafts, answers go to the
//! draft's thread with the chart and CSV as files.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use slack_morphism::prelude::SlackView;
use tokio::sync::OnceCell;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::api::{Api, ApiError};
use super::blocks;
use super::crypto::TokenCipher;
use super::outbox::SlackOutbox;
use super::payload::{
    Action, ActionKind, Command, EditSubmission, EditTarget, Event, FeedbackSubmission, Message,
};
use crate::bot::{
    Bot, ConversationKey, Draft, Identity, Person, Platform, Question, StoreError, SurfaceState,
    UserId,
};
use crate::config::{DEFAULT_CONNECTION, SlackConfig};
use crate::surface::flow::{self, Heard, Hearing};
use crate::surface::receipt::Receipt;
use crate::surface::{MessageRef, Outbox, Reply, SurfaceError};

/// The Slack surface: shared by the HTTP endpoints and Socket Mode connections.
#[derive(Clone)]
pub struct Slack(Arc<Inner>);

struct Inner {
    bot: Bot,
    state: SurfaceState,
    api: Api,
    config: SlackConfig,
    cipher: Option<TokenCipher>,
    /// Channel id to connection name.
    channels: BTreeMap<String, String>,
    /// Work started for acknowledged deliveries; closed when the process drains.
    tasks: TaskTracker,
    /// The bot user of `SLACK_BOT_TOKEN`, asked of Slack once.
    single_bot_user: OnceCell<String>,
    /// Members of the user groups the access rules name.
    groups: super::groups::Groups,
}

/// Who asked, and where.
#[derive(Clone, Copy)]
struct Asker<'a> {
    team: &'a str,
    channel: &'a str,
    user: &'a str,
}

/// A workspace querybot can talk to: its token and its own user id.
struct Workspace {
    token: SecretString,
    bot_user: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("workspace {0} has not installed querybot")]
    NotInstalled(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cipher(#[from] super::crypto::CipherError),
    #[error("cannot prepare the answer's files")]
    Files(#[from] std::io::Error),
    #[error("{0}")]
    Flow(SurfaceError),
}

impl Slack {
    pub fn new(
        bot: Bot,
        state: SurfaceState,
        config: SlackConfig,
        channels: BTreeMap<String, String>,
        tasks: TaskTracker,
    ) -> Result<Slack, SlackError> {
        let cipher = match &config.oauth {
            Some(oauth) => Some(TokenCipher::new(&oauth.token_key)?),
            None => None,
        };
        Ok(Slack(Arc::new(Inner {
            api: Api::new(&config.api_url)?,
            bot,
            state,
            config,
            cipher,
            channels,
            tasks,
            single_bot_user: OnceCell::new(),
            groups: Default::default(),
        })))
    }

    pub(super) fn config(&self) -> &SlackConfig {
        &self.0.config
    }

    pub(super) fn bot(&self) -> &Bot {
        &self.0.bot
    }

    pub(super) fn state(&self) -> &SurfaceState {
        &self.0.state
    }

    pub(super) fn api(&self) -> &Api {
        &self.0.api
    }

    /// Where work for an acknowledged delivery runs, so shutdown can wait for it.
    pub(super) fn tasks(&self) -> &TaskTracker {
        &self.0.tasks
    }

    /// Whether the process is shutting down and takes no new deliveries.
    pub(super) fn draining(&self) -> bool {
        self.0.tasks.is_closed()
    }

    pub(super) fn cipher(&self) -> Option<&TokenCipher> {
        self.0.cipher.as_ref()
    }

    /// Whether Slack accepts the single-workspace token; `Ok` names the bot user (or says
    /// that tokens come from OAuth installs).
    pub async fn check(&self) -> Result<String, SlackError> {
        match &self.0.config.bot_token {
            Some(token) => Ok(format!("bot user {}", self.0.api.bot_user(token).await?)),
            None => Ok("tokens come from OAuth installs".to_owned()),
        }
    }

    /// The help text a bare `/ask` gets back at once.
    pub(super) fn help() -> &'static str {
        flow::HELP
    }

    /// The token and bot user for a team: its OAuth installation, else `SLACK_BOT_TOKEN`.
    async fn workspace(&self, team: &str) -> Result<Workspace, SlackError> {
        let allowed = self
            .0
            .config
            .oauth
            .as_ref()
            .is_none_or(|o| o.allowed_teams.allows(team));
        if let Some(install) = self
            .0
            .state
            .slack_installation(team)
            .await?
            .filter(|_| allowed)
        {
            let cipher = self
                .0
                .cipher
                .as_ref()
                .ok_or_else(|| SlackError::NotInstalled(team.into()))?;
            return Ok(Workspace {
                token: cipher.decrypt(&install.bot_token)?,
                bot_user: install.bot_user_id,
            });
        }
        let token = self
            .0
            .config
            .bot_token
            .clone()
            .ok_or_else(|| SlackError::NotInstalled(team.into()))?;
        let bot_user = self
            .0
            .single_bot_user
            .get_or_try_init(|| self.0.api.bot_user(&token))
            .await?
            .clone();
        Ok(Workspace { token, bot_user })
    }

    fn connection_for(&self, channel: &str) -> String {
        self.0
            .channels
            .get(channel)
            .cloned()
            .unwrap_or_else(|| DEFAULT_CONNECTION.to_owned())
    }

    fn user(team: &str, user: &str) -> UserId {
        UserId::new(format!("slack:{team}:{user}"))
    }

    /// Who acts, as the access rules see them: the user, the channel they act in, and those
    /// of the user groups the rules name that they belong to.
    async fn person(&self, workspace: &Workspace, team: &str, user: &str, channel: &str) -> Person {
        let named = self.0.bot.access().slack_groups();
        let groups = if named.is_empty() {
            Vec::new()
        } else {
            self.0
                .groups
                .of(&self.0.api, &workspace.token, team, user, &named)
                .await
        };
        Person::new(Self::user(team, user)).with(
            groups
                .iter()
                .map(|group| Identity::group("slack", group))
                .chain([Identity::channel("slack", channel)]),
        )
    }

    /// `/ask ...`: a progress message in the channel becomes the draft; its thread is the
    /// conversation.
    pub async fn command(&self, command: Command, receipt: &Receipt) {
        let span = tracing::info_span!("question", platform = "slack", workspace = %command.team, channel = %command.channel, user = %command.user);
        async {
            if let Err(error) = self.ask_in_channel(&command, receipt).await {
                tracing::warn!(error = %crate::bot::error_chain(&error), "slash command failed");
                let text = match error.code() {
                    Some("not_in_channel" | "channel_not_found") => {
                        "I'm not in this channel yet: invite me with `/invite @querybot`, then ask again."
                    }
                    _ => "Something went wrong talking to Slack; please try again.",
                };
                self.respond(&command.response_url, text).await;
            }
        }
        .instrument(span)
        .await;
    }

    async fn ask_in_channel(&self, command: &Command, receipt: &Receipt) -> Result<(), SlackError> {
        let workspace = self.workspace(&command.team).await?;
        let asker = Asker {
            team: &command.team,
            channel: &command.channel,
            user: &command.user,
        };
        self.draft_in(&workspace, asker, None, command.text.trim(), receipt)
            .await
    }

    /// Posts a "writing SQL…" placeholder into `thread` (or, with `None`, into the channel,
    /// where it starts the conversation's thread), then turns it into the draft or the
    /// failure.
    async fn draft_in(
        &self,
        workspace: &Workspace,
        asker: Asker<'_>,
        thread: Option<&str>,
        question: &str,
        receipt: &Receipt,
    ) -> Result<(), SlackError> {
        let outbox = self.outbox(workspace, asker.channel, thread, asker.user);
        let by = self
            .person(workspace, asker.team, asker.user, asker.channel)
            .await;
        let in_thread = |thread: &str| ConversationKey {
            platform: Platform::Slack,
            workspace: asker.team.to_owned(),
            channel: asker.channel.to_owned(),
            thread: thread.to_owned(),
        };
        // Without a thread, the placeholder starts one; until it is posted (the LLM does not
        // wait for it) the conversation goes by a provisional key.
        let (conversation, starts) = match thread {
            Some(thread) => (in_thread(thread), flow::Thread::Known),
            None => {
                let provisional = format!("pending:{}", uuid::Uuid::new_v4());
                let (team, channel) = (asker.team.to_owned(), asker.channel.to_owned());
                let starts = flow::Thread::StartedBy(Box::new(move |placeholder: &MessageRef| {
                    ConversationKey {
                        platform: Platform::Slack,
                        workspace: team,
                        channel,
                        thread: placeholder.0.clone(),
                    }
                }));
                (in_thread(&provisional), starts)
            }
        };
        let ask = Question {
            conversation,
            by: by.clone(),
            connection: self.connection_for(asker.channel),
            text: question.to_owned(),
        };
        flow::question(&self.0.bot, &outbox, receipt, &by, ask, starts)
            .await
            .map_err(SlackError::Flow)?;
        Ok(())
    }

    fn outbox<'a>(
        &'a self,
        workspace: &'a Workspace,
        channel: &'a str,
        thread: Option<&'a str>,
        user: &'a str,
    ) -> SlackOutbox<'a> {
        SlackOutbox {
            api: &self.0.api,
            token: &workspace.token,
            channel,
            thread,
            user,
        }
    }

    /// An Events API event, already deduplicated.
    pub async fn event(&self, team: &str, event: Event, receipt: &Receipt) {
        let result = match event {
            Event::Uninstalled => self
                .0
                .state
                .delete_slack_installation(team)
                .await
                .map(|known| tracing::info!(team, known, "workspace uninstalled querybot"))
                .map_err(SlackError::from),
            Event::Mention(message) => self.message(team, message, true, receipt).await,
            Event::Message(message) => self.message(team, message, false, receipt).await,
        };
        if let Err(error) = result {
            tracing::warn!(team, error = %crate::bot::error_chain(&error), "event failed");
        }
    }

    /// A mention, a DM, or a reply in a thread querybot is part of: a (follow-up) question.
    async fn message(
        &self,
        team: &str,
        message: Message,
        mentioned: bool,
        receipt: &Receipt,
    ) -> Result<(), SlackError> {
        let workspace = self.workspace(team).await?;
        if message.user == workspace.bot_user {
            return Ok(());
        }
        let mention = format!("<@{}>", workspace.bot_user);
        // A mention also arrives as a plain message event; the app_mention copy handles it.
        // Direct messages get no app_mention copy, so there the message itself counts.
        if !mentioned && !message.is_direct() && message.text.contains(&mention) {
            return Ok(());
        }
        let heard = Heard {
            conversation: ConversationKey {
                platform: Platform::Slack,
                workspace: team.to_owned(),
                channel: message.channel.clone(),
                thread: message.thread().to_owned(),
            },
            text: &message.text,
            mention: &mention,
            mentioned,
            direct: message.is_direct(),
            in_thread: message.thread_ts.is_some(),
        };
        let thread = Some(message.thread());
        let question = match flow::hear(&self.0.state, &heard).await? {
            Hearing::Nothing => return Ok(()),
            Hearing::Question(question) => question,
            Hearing::Help => {
                self.outbox(&workspace, &message.channel, thread, &message.user)
                    .post(Reply::Notice(flow::HELP))
                    .await
                    .map_err(SlackError::Flow)?;
                return Ok(());
            }
        };
        let span = tracing::info_span!("question", platform = "slack", workspace = %team, channel = %message.channel, user = %message.user);
        let asker = Asker {
            team,
            channel: &message.channel,
            user: &message.user,
        };
        self.draft_in(&workspace, asker, thread, &question, receipt)
            .instrument(span)
            .await
    }

    /// A click on Run, Edit, Cancel or Stop, already deduplicated.
    pub async fn action(&self, action: Action, receipt: &Receipt) {
        let span = tracing::info_span!("click", platform = "slack", workspace = %action.team, channel = %action.channel, user = %action.user, draft_id = %action.draft);
        async {
            let result = match action.kind {
                ActionKind::Run => self.run(&action, receipt).await,
                ActionKind::Edit => self.open_editor(&action).await,
                ActionKind::Cancel => self.cancel(&action).await,
                ActionKind::Stop => self.stop(&action).await,
                ActionKind::Good => self.approve(&action).await,
                ActionKind::Bad => self.ask_what_was_wrong(&action).await,
                ActionKind::Rerun => self.rerun(&action).await,
            };
            if let Err(error) = result {
                tracing::warn!(error = %crate::bot::error_chain(&error), "click failed");
            }
        }
        .instrument(span)
        .await;
    }

    async fn run(&self, action: &Action, receipt: &Receipt) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.action_outbox(&workspace, action);
        let draft_message = MessageRef(action.message_ts.clone());
        flow::run(
            &self.0.bot,
            &outbox,
            receipt,
            &draft_message,
            action.draft,
            &by,
        )
        .await
        .map_err(SlackError::Flow)
    }

    /// The workspace of a click and the person who clicked, as the access rules see them.
    async fn clicker(&self, action: &Action) -> Result<(Workspace, Person), SlackError> {
        let workspace = self.workspace(&action.team).await?;
        let by = self
            .person(&workspace, &action.team, &action.user, &action.channel)
            .await;
        Ok((workspace, by))
    }

    /// The outbox for a click: the draft's channel and thread, the person who clicked.
    fn action_outbox<'a>(
        &'a self,
        workspace: &'a Workspace,
        action: &'a Action,
    ) -> SlackOutbox<'a> {
        self.outbox(
            workspace,
            &action.channel,
            Some(&action.thread_ts),
            &action.user,
        )
    }

    async fn open_editor(&self, action: &Action) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.action_outbox(&workspace, action);
        let draft = match self.0.bot.draft_for(action.draft, &by).await {
            Ok(draft) => draft,
            Err(failure) => {
                return flow::tell(&outbox, &failure)
                    .await
                    .map_err(SlackError::Flow);
            }
        };
        let Ok(mut view) = blocks::edit_modal(&draft) else {
            let text = "This SQL is longer than Slack's 3,000-character editor; ask a narrower \
                        question or run it as it is.";
            return outbox
                .tell_privately(Reply::Notice(text))
                .await
                .map_err(SlackError::Flow);
        };
        // The submission must find the draft's message again to update it.
        let target = EditTarget {
            draft: draft.id,
            channel: action.channel.clone(),
            message_ts: action.message_ts.clone(),
        };
        if let SlackView::Modal(modal) = &mut view {
            modal.private_metadata = serde_json::to_string(&target).ok();
        }
        self.0
            .api
            .open_modal(&workspace.token, &action.trigger_id, view)
            .await?;
        Ok(())
    }

    /// A submitted edit: `Err` carries the message to show inside the modal.
    pub async fn submit_edit(&self, edit: &EditSubmission) -> Result<(), String> {
        let workspace = self
            .workspace(&edit.team)
            .await
            .map_err(|_| "querybot cannot reach this workspace right now; try again.".to_owned())?;
        let by = self
            .person(&workspace, &edit.team, &edit.user, &edit.target.channel)
            .await;
        let draft = self
            .0
            .bot
            .edit(edit.target.draft, &by, &edit.sql)
            .await
            .map_err(|f| f.user_message)?;
        let slack = self.clone();
        let target = edit.target.clone();
        let team = edit.team.clone();
        // The modal must close within three seconds; the message update can follow.
        self.0.tasks.spawn(async move {
            if let Err(error) = slack.show_edited(&team, &target, &draft).await {
                tracing::warn!(error = %crate::bot::error_chain(&error), "edited draft not shown");
            }
        });
        Ok(())
    }

    async fn show_edited(
        &self,
        team: &str,
        target: &EditTarget,
        draft: &Draft,
    ) -> Result<(), SlackError> {
        let workspace = self.workspace(team).await?;
        // Nobody is mentioned in a draft, so the outbox's person does not matter here.
        let outbox = self.outbox(&workspace, &target.channel, None, "");
        flow::show_edited(&outbox, &MessageRef(target.message_ts.clone()), draft)
            .await
            .map_err(SlackError::Flow)
    }

    async fn cancel(&self, action: &Action) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.action_outbox(&workspace, action);
        let draft_message = MessageRef(action.message_ts.clone());
        flow::cancel(&self.0.bot, &outbox, &draft_message, action.draft, &by)
            .await
            .map_err(SlackError::Flow)
    }

    /// Re-run from a history: the new draft starts a conversation in the channel.
    async fn rerun(&self, action: &Action) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.outbox(&workspace, &action.channel, None, &action.user);
        let conversation_of = |placeholder: &MessageRef| ConversationKey {
            platform: Platform::Slack,
            workspace: action.team.clone(),
            channel: action.channel.clone(),
            thread: placeholder.0.clone(),
        };
        flow::rerun(&self.0.bot, &outbox, action.draft, &by, conversation_of)
            .await
            .map_err(SlackError::Flow)
    }

    async fn approve(&self, action: &Action) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.action_outbox(&workspace, action);
        flow::approve(&self.0.bot, &outbox, action.draft, &by)
            .await
            .map_err(SlackError::Flow)
    }

    /// A 👎 opens "what was wrong?"; its submission comes back as [`Slack::feedback`].
    async fn ask_what_was_wrong(&self, action: &Action) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.action_outbox(&workspace, action);
        let draft = match self.0.bot.draft_for_feedback(action.draft, &by).await {
            Ok(draft) => draft,
            Err(failure) => {
                return flow::tell(&outbox, &failure)
                    .await
                    .map_err(SlackError::Flow);
            }
        };
        let target = EditTarget {
            draft: draft.id,
            channel: action.channel.clone(),
            message_ts: action.message_ts.clone(),
        };
        let metadata = serde_json::to_string(&target).unwrap_or_default();
        self.0
            .api
            .open_modal(
                &workspace.token,
                &action.trigger_id,
                blocks::feedback_modal(&draft, metadata),
            )
            .await?;
        Ok(())
    }

    /// What was wrong with an answer, submitted from the 👎 modal.
    pub async fn feedback(&self, feedback: FeedbackSubmission) {
        let span = tracing::info_span!("feedback", platform = "slack", workspace = %feedback.team, user = %feedback.user, draft_id = %feedback.target.draft);
        async {
            let done = async {
                let workspace = self.workspace(&feedback.team).await?;
                let by = self
                    .person(
                        &workspace,
                        &feedback.team,
                        &feedback.user,
                        &feedback.target.channel,
                    )
                    .await;
                let outbox =
                    self.outbox(&workspace, &feedback.target.channel, None, &feedback.user);
                flow::complain(
                    &self.0.bot,
                    &outbox,
                    feedback.target.draft,
                    &by,
                    &feedback.comment,
                )
                .await
                .map_err(SlackError::Flow)
            };
            if let Err(error) = done.await {
                tracing::warn!(error = %crate::bot::error_chain(&error), "feedback not recorded");
            }
        }
        .instrument(span)
        .await;
    }

    async fn stop(&self, action: &Action) -> Result<(), SlackError> {
        let (workspace, by) = self.clicker(action).await?;
        let outbox = self.action_outbox(&workspace, action);
        flow::stop(&self.0.bot, &outbox, action.draft, &by)
            .await
            .map_err(SlackError::Flow)
    }

    /// Answers through a slash command's `response_url` (works even where the bot cannot post).
    async fn respond(&self, response_url: &str, text: &str) {
        if response_url.is_empty() {
            return;
        }
        let body = serde_json::json!({ "response_type": "ephemeral", "text": text });
        if let Err(error) = reqwest::Client::new()
            .post(response_url)
            .json(&body)
            .send()
            .await
        {
            tracing::warn!(%error, "response_url unreachable");
        }
    }
}

impl SlackError {
    fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api(error) => error.code(),
            SlackError::Flow(error) => error.downcast_ref::<ApiError>()?.code(),
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl crate::surface::Courier for Slack {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn replay(&self, delivery: crate::bot::Unhandled) {
        super::ingress::replay(self.clone(), delivery);
    }

    async fn tell_interrupted(
        &self,
        conversation: &ConversationKey,
        draft: &Draft,
        what: crate::surface::Interrupted,
    ) -> Result<(), SurfaceError> {
        let workspace = self
            .workspace(&conversation.workspace)
            .await
            .map_err(|e| -> SurfaceError { Box::new(e) })?;
        // Nobody is mentioned in a notice or a draft.
        let outbox = self.outbox(
            &workspace,
            &conversation.channel,
            Some(&conversation.thread),
            "",
        );
        flow::interrupted_elsewhere(&outbox, draft, what).await
    }
}
