//! Buttons: the handlers' chat-agnostic `Button`s become Discord buttons, and a click becomes an
//! `Incoming` with the typed command read from its custom id
//! (`handlers::command::parse_custom_id`), so a click takes the same dispatch and permission
//! checks as text and slash commands, and works after a restart (nothing is kept in memory).

use handlers::command::{CustomIdError, parse_custom_id};
use handlers::{Incoming, Role};
use serenity::all::ComponentInteraction;

use super::slash::InteractionReply;

/// The `Incoming` of a click on one of casebot's buttons: the case and typed command its custom
/// id carries. `Err` for a custom id casebot cannot read (another bot's component, or a button
/// of a command this version no longer has).
pub(super) fn incoming(
    comp: &ComponentInteraction,
    role: Role,
) -> Result<(Incoming, InteractionReply), CustomIdError> {
    let (case, command) = parse_custom_id(&comp.data.custom_id)?;
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
