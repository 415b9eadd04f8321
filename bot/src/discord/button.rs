//! Buttons, menus and forms: the handlers' chat-agnostic `Button`s and `Menu`s become Discord
//! buttons and select menus, and a click or a pick
//! becomes an `Incoming` with the typed command read from its custom id
//! (`handlers::command::parse_custom_id`), so a click takes the same dispatch and permission
//! checks as text and slash commands, and works after a restart (nothing is kept in memory).
//! A click that needs more input first (an engineer's Close asks for the reason) opens the
//! handlers' `Form` as a modal under the same custom id; the submitted modal becomes an
//! `Incoming` the same way, with the typed field added to the command.

use handlers::command::{CustomIdError, parse_choice, parse_custom_id, parse_form};
use handlers::{Form, Incoming, Role};
use serenity::all::{
    ActionRowComponent, ComponentInteraction, ComponentInteractionDataKind, CreateActionRow,
    CreateInputText, CreateInteractionResponse, CreateModal, InputTextStyle, ModalInteraction,
};

use super::slash::InteractionReply;

/// The `Incoming` of a click on one of casebot's buttons or a pick from one of its menus: the
/// case and typed command its custom id carries (with the choice picked). `Err` for a custom id
/// casebot cannot read (another bot's component, or a button of a command this version no
/// longer has).
pub(super) fn incoming(
    comp: &ComponentInteraction,
    role: Role,
) -> Result<(Incoming, InteractionReply), CustomIdError> {
    let id = &comp.data.custom_id;
    let (case, command) = match &comp.data.kind {
        // A pick from a menu fills the argument its custom id leaves empty.
        ComponentInteractionDataKind::StringSelect { values } => {
            parse_choice(id, values.first().map_or("", String::as_str))?
        }
        _ => parse_custom_id(id)?,
    };
    let nick = comp.member.as_ref().and_then(|m| m.nick.as_ref());
    let incoming = Incoming {
        // The interaction id: a redelivered click is recognised as already handled.
        message_id: comp.id.to_string(),
        author: super::components::author(&comp.user, nick, role),
        channel_id: comp.channel_id.get(),
        guild_id: comp.guild_id.map(|g| g.get()),
        case_hint: case,
        text: String::new(),
        command: Some(command),
        attachments: Vec::new(),
    };
    Ok((
        incoming,
        InteractionReply::Component(Box::new(comp.clone())),
    ))
}

/// The modal that shows `form`: one paragraph input, named after the argument it fills.
pub(super) fn modal(form: &Form) -> CreateInteractionResponse {
    let input = CreateInputText::new(InputTextStyle::Paragraph, &form.label, form.field)
        .placeholder(&form.placeholder)
        .required(true)
        .max_length(form.max_chars);
    CreateInteractionResponse::Modal(
        CreateModal::new(&form.custom_id, &form.title)
            .components(vec![CreateActionRow::InputText(input)]),
    )
}

/// The `Incoming` of a submitted form: the command of its custom id with the typed fields.
pub(super) fn form_incoming(
    modal: &ModalInteraction,
    role: Role,
) -> Result<(Incoming, InteractionReply), CustomIdError> {
    let fields: Vec<(&str, &str)> = modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|c| match c {
            ActionRowComponent::InputText(input) => Some((
                input.custom_id.as_str(),
                input.value.as_deref().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    let (case, command) = parse_form(&modal.data.custom_id, &fields)?;
    let nick = modal.member.as_ref().and_then(|m| m.nick.as_ref());
    let incoming = Incoming {
        // The interaction id: a redelivered submission is recognised as already handled.
        message_id: modal.id.to_string(),
        author: super::components::author(&modal.user, nick, role),
        channel_id: modal.channel_id.get(),
        guild_id: modal.guild_id.map(|g| g.get()),
        case_hint: case,
        text: String::new(),
        command: Some(command),
        attachments: Vec::new(),
    };
    Ok((incoming, InteractionReply::Modal(Box::new(modal.clone()))))
}
