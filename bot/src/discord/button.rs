//! Buttons: the handlers' chat-agnostic `Button`s become Discord buttons, and a click becomes an
//! `Incoming` with the typed command read from its custom id
//! (`handlers::command::parse_custom_id`), so a click takes the same dispatch and permission
//! checks as text and slash commands, and works after a restart (nothing is kept in memory).

use handlers::command::{CustomIdError, parse_custom_id};
use handlers::{Author, Button, ButtonStyle, Incoming, Role};
use serenity::all::{self as discord, ComponentInteraction, CreateActionRow, CreateButton};

use super::slash::InteractionReply;

/// Discord's limit of buttons in one action row.
const PER_ROW: usize = 5;

/// The action rows for `buttons`, five to a row.
pub(super) fn rows(buttons: &[Button]) -> Vec<CreateActionRow> {
    buttons
        .chunks(PER_ROW)
        .map(|row| {
            CreateActionRow::Buttons(
                row.iter()
                    .map(|b| {
                        CreateButton::new(b.custom_id.clone())
                            .label(b.label.clone())
                            .style(style(b.style))
                    })
                    .collect(),
            )
        })
        .collect()
}

fn style(s: ButtonStyle) -> discord::ButtonStyle {
    match s {
        ButtonStyle::Success => discord::ButtonStyle::Success,
        ButtonStyle::Danger => discord::ButtonStyle::Danger,
        ButtonStyle::Secondary => discord::ButtonStyle::Secondary,
    }
}

/// The `Incoming` of a click on one of casebot's buttons: the case and typed command its custom
/// id carries. `Err` for a custom id casebot cannot read (another bot's component, or a button
/// of a command this version no longer has).
pub(super) fn incoming(
    comp: &ComponentInteraction,
    role: Role,
) -> Result<(Incoming, InteractionReply), CustomIdError> {
    let (case, command) = parse_custom_id(&comp.data.custom_id)?;
    let user = &comp.user;
    let name = comp
        .member
        .as_ref()
        .and_then(|m| m.nick.clone())
        .or_else(|| user.global_name.clone())
        .unwrap_or_else(|| user.name.clone());
    let incoming = Incoming {
        // The interaction id: a redelivered click is recognised as already handled.
        message_id: comp.id.to_string(),
        author: Author {
            id: user.id.to_string(),
            name,
            role,
        },
        channel_id: comp.channel_id.get(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_fill_rows_of_five() {
        let button = |n: usize| Button {
            label: format!("b{n}"),
            custom_id: format!("cb:status::{n}"),
            style: ButtonStyle::Secondary,
        };
        let buttons: Vec<Button> = (0..7).map(button).collect();
        let json: Vec<serde_json::Value> = rows(&buttons)
            .iter()
            .map(|r| serde_json::to_value(r).expect("a row serialises"))
            .collect();
        assert_eq!(json.len(), 2);
        assert_eq!(json[0]["components"].as_array().map(Vec::len), Some(5));
        assert_eq!(json[1]["components"][1]["custom_id"], "cb:status::6");
        assert_eq!(json[1]["components"][1]["label"], "b6");
    }
}
