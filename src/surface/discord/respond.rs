//! An interaction's first response, due within Discord's three seconds and the same for the
//! gateway (sent as a callback) and the HTTP endpoint (sent as the answer): `/ask` is deferred,
//! Run and Cancel are deferred updates, Edit opens the SQL modal, a submitted edit updates the
//! draft in place or explains the refusal privately. What takes longer is a [`FollowUp`].

use twilight_model::application::command::{Command, CommandOptionType, CommandType};
use twilight_model::application::interaction::application_command::CommandOptionValue;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_model::id::Id;
use twilight_model::id::marker::ApplicationMarker;

use super::handler::{
    ASK_COMMAND, DISCORD_FAILED, Discord, DiscordError, FollowUp, QUESTION_OPTION,
};
use super::render::{self, Drawn};
use crate::bot::{DraftId, Person};
use crate::surface::flow;

const UNKNOWN_BUTTON: &str = "This button belongs to a draft querybot no longer knows; ask the \
     question again.";
const SQL_TOO_LONG: &str = "This SQL is longer than Discord's 4,000-character editor; ask a \
     narrower question or run it as it is.";

impl Discord {
    /// The interaction's first response, due within three seconds, and what follows it.
    pub async fn first_response(
        &self,
        interaction: &Interaction,
    ) -> (InteractionResponse, Option<FollowUp>) {
        match self.respond(interaction).await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(error = %crate::bot::error_chain(&error), "interaction failed");
                (ephemeral(DISCORD_FAILED), None)
            }
        }
    }

    async fn respond(
        &self,
        interaction: &Interaction,
    ) -> Result<(InteractionResponse, Option<FollowUp>), DiscordError> {
        let user = interaction
            .author_id()
            .ok_or(DiscordError::Incomplete("a user"))?;
        let roles = interaction.member.as_ref().map_or(&[][..], |m| &m.roles);
        let channel = interaction.channel.as_ref();
        let by = Self::person(
            user,
            roles,
            &[channel.map(|c| c.id), channel.and_then(|c| c.parent_id)],
        );
        Ok(match (&interaction.kind, &interaction.data) {
            (InteractionType::Ping, _) => (response(InteractionResponseType::Pong, None), None),
            (
                InteractionType::ApplicationCommand,
                Some(InteractionData::ApplicationCommand(command)),
            ) => {
                let question = command
                    .options
                    .iter()
                    .find(|option| option.name == QUESTION_OPTION)
                    .and_then(|option| match &option.value {
                        CommandOptionValue::String(text) => Some(text.trim().to_owned()),
                        _ => None,
                    })
                    .unwrap_or_default();
                if question.is_empty() {
                    (ephemeral(flow::HELP), None)
                } else if let Some(command) = flow::ChatCommand::parse(&question) {
                    // Answered privately: the deferral is private too.
                    let private = InteractionResponseData {
                        flags: Some(MessageFlags::EPHEMERAL),
                        ..Default::default()
                    };
                    (
                        response(
                            InteractionResponseType::DeferredChannelMessageWithSource,
                            Some(private),
                        ),
                        Some(FollowUp::Command(command)),
                    )
                } else {
                    (
                        response(
                            InteractionResponseType::DeferredChannelMessageWithSource,
                            None,
                        ),
                        Some(FollowUp::Ask(question)),
                    )
                }
            }
            (InteractionType::MessageComponent, Some(InteractionData::MessageComponent(data))) => {
                let Some((action, draft)) = render::parse_custom_id(&data.custom_id) else {
                    return Ok((ephemeral(UNKNOWN_BUTTON), None));
                };
                match action {
                    render::ACTION_RUN => (deferred_update(), Some(FollowUp::Run(draft))),
                    render::ACTION_CANCEL => (deferred_update(), Some(FollowUp::Cancel(draft))),
                    render::ACTION_STOP => (deferred_update(), Some(FollowUp::Stop(draft))),
                    render::ACTION_GOOD => (deferred_update(), Some(FollowUp::Approve(draft))),
                    render::ACTION_RERUN => (deferred_update(), Some(FollowUp::Rerun(draft))),
                    render::ACTION_BAD => (self.feedback_modal(draft, &by).await, None),
                    render::ACTION_EDIT => (self.editor(draft, &by).await, None),
                    _ => (ephemeral(UNKNOWN_BUTTON), None),
                }
            }
            (InteractionType::ModalSubmit, Some(InteractionData::ModalSubmit(data)))
                if render::parse_custom_id(&data.custom_id)
                    .is_some_and(|(action, _)| action == render::FEEDBACK_MODAL) =>
            {
                let draft = render::parse_custom_id(&data.custom_id).map(|(_, draft)| draft);
                let comment = data
                    .components
                    .iter()
                    .flat_map(|row| &row.components)
                    .find(|input| input.custom_id == render::FEEDBACK_INPUT)
                    .and_then(|input| input.value.clone())
                    .unwrap_or_default();
                match draft {
                    Some(draft) => (deferred_update(), Some(FollowUp::Complain(draft, comment))),
                    None => (ephemeral(UNKNOWN_BUTTON), None),
                }
            }
            (InteractionType::ModalSubmit, Some(InteractionData::ModalSubmit(data))) => {
                let draft = render::parse_custom_id(&data.custom_id)
                    .filter(|(action, _)| *action == render::EDIT_MODAL)
                    .map(|(_, draft)| draft);
                let sql = data
                    .components
                    .iter()
                    .flat_map(|row| &row.components)
                    .find(|input| input.custom_id == render::EDIT_INPUT)
                    .and_then(|input| input.value.clone());
                match (draft, sql) {
                    (Some(draft), Some(sql)) => match self.bot().edit(draft, &by, &sql).await {
                        // The edited draft replaces the message the modal was opened from.
                        Ok(draft) => (update_message(render::draft(&draft)), None),
                        Err(failure) => (ephemeral_drawn(render::failure(&failure)), None),
                    },
                    _ => (ephemeral(UNKNOWN_BUTTON), None),
                }
            }
            _ => (ephemeral(UNKNOWN_BUTTON), None),
        })
    }

    /// Edit's first response: the modal, or why there is none.
    async fn feedback_modal(&self, draft: DraftId, by: &Person) -> InteractionResponse {
        let draft = match self.bot().draft_for_feedback(draft, by).await {
            Ok(draft) => draft,
            Err(failure) => return ephemeral_drawn(render::failure(&failure)),
        };
        modal(render::feedback_modal(&draft))
    }

    async fn editor(&self, draft: DraftId, by: &Person) -> InteractionResponse {
        let draft = match self.bot().draft_for(draft, by).await {
            Ok(draft) => draft,
            Err(failure) => return ephemeral_drawn(render::failure(&failure)),
        };
        match render::edit_modal(&draft) {
            Some(drawn) => modal(drawn),
            None => ephemeral(SQL_TOO_LONG),
        }
    }
}

/// `/ask question:<text>`, usable in servers and in DMs with the bot.
pub(super) fn ask_command(application: Id<ApplicationMarker>) -> Command {
    use twilight_model::application::command::CommandOption;
    #[allow(deprecated)]
    Command {
        application_id: Some(application),
        contexts: None,
        default_member_permissions: None,
        dm_permission: Some(true),
        description: "Ask a question about your data; I'll show the SQL before anything runs."
            .to_owned(),
        description_localizations: None,
        guild_id: None,
        id: None,
        integration_types: None,
        kind: CommandType::ChatInput,
        name: ASK_COMMAND.to_owned(),
        name_localizations: None,
        nsfw: None,
        options: vec![CommandOption {
            autocomplete: None,
            channel_types: None,
            choices: None,
            description: "For example: how many orders per month in 2024?".to_owned(),
            description_localizations: None,
            kind: CommandOptionType::String,
            max_length: Some(1_000),
            max_value: None,
            min_length: Some(1),
            min_value: None,
            name: QUESTION_OPTION.to_owned(),
            name_localizations: None,
            options: None,
            required: Some(true),
        }],
        version: Id::new(1),
    }
}

fn response(
    kind: InteractionResponseType,
    data: Option<InteractionResponseData>,
) -> InteractionResponse {
    InteractionResponse { kind, data }
}

fn deferred_update() -> InteractionResponse {
    response(InteractionResponseType::DeferredUpdateMessage, None)
}

fn update_message(drawn: Drawn) -> InteractionResponse {
    response(
        InteractionResponseType::UpdateMessage,
        Some(InteractionResponseData {
            content: Some(drawn.content),
            components: Some(drawn.components),
            ..Default::default()
        }),
    )
}

/// A modal from its custom id, title and components.
fn modal(
    (custom_id, title, components): (
        String,
        String,
        Vec<twilight_model::channel::message::Component>,
    ),
) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some(custom_id),
            title: Some(title),
            components: Some(components),
            ..Default::default()
        }),
    }
}

/// The first response to an interaction querybot cannot record: the store does not answer.
pub(super) fn store_down() -> InteractionResponse {
    ephemeral(crate::bot::STORE_DOWN)
}

fn ephemeral(text: &str) -> InteractionResponse {
    ephemeral_drawn(render::notice(text))
}

fn ephemeral_drawn(drawn: Drawn) -> InteractionResponse {
    response(
        InteractionResponseType::ChannelMessageWithSource,
        Some(InteractionResponseData {
            content: Some(drawn.content),
            flags: Some(MessageFlags::EPHEMERAL),
            allowed_mentions: Some(Default::default()),
            ..Default::default()
        }),
    )
}
