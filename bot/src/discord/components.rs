//! Discord shapes shared by messages, slash commands and button clicks: the author of an
//! `Incoming`, and the components drawn from the handlers' chat-agnostic `Button`s and `Menu`.

use handlers::{Author, Button, ButtonStyle, Menu, Reply, Role};
use serenity::all::{
    self as discord, CreateActionRow, CreateButton, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption, User,
};

/// The author of a message or an interaction: shown by guild nickname, else global or user name.
pub(super) fn author(user: &User, nick: Option<&String>, role: Role) -> Author {
    let name = nick
        .cloned()
        .or_else(|| user.global_name.clone())
        .unwrap_or_else(|| user.name.clone());
    Author {
        id: user.id.to_string(),
        name,
        role,
    }
}

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

/// The action rows of a reply: its buttons, then its menu on a row of its own.
pub(super) fn reply_rows(reply: &Reply) -> Vec<CreateActionRow> {
    let mut out = rows(&reply.buttons);
    if let Some(menu) = &reply.menu {
        out.push(menu_row(menu));
    }
    out
}

/// A string select menu with one option per choice (label and value alike).
fn menu_row(menu: &Menu) -> CreateActionRow {
    let options = menu
        .choices
        .iter()
        .map(|c| CreateSelectMenuOption::new(c, c))
        .collect();
    CreateActionRow::SelectMenu(
        CreateSelectMenu::new(&menu.custom_id, CreateSelectMenuKind::String { options })
            .placeholder(&menu.placeholder),
    )
}

fn style(s: ButtonStyle) -> discord::ButtonStyle {
    match s {
        ButtonStyle::Success => discord::ButtonStyle::Success,
        ButtonStyle::Danger => discord::ButtonStyle::Danger,
        ButtonStyle::Secondary => discord::ButtonStyle::Secondary,
    }
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
