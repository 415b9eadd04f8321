//! Slash commands: the commands of the handlers' command table (`handlers::command::COMMANDS`),
//! registered per allowed guild on connect, with English and Chinese descriptions. An
//! interaction's options are read one by one into the typed `Command`, which takes the one
//! `handlers::handle_message` path like an @mention. Device options are autocompleted with the
//! devices of the channel's case (`handlers::complete`).

use diagnosis::Lang;
use handlers::command::{self, ArgKind, COMMANDS, OptionValue, Spec};
use handlers::{Attachment, AttachmentSource, Incoming, Reply, Role};
use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, ComponentInteraction, Context,
    CreateAttachment, CreateAutocompleteResponse, CreateCommand, CreateCommandOption,
    CreateInteractionResponseFollowup, GuildId, ModalInteraction,
};

use super::timeout;

/// Discord's locale for the Chinese texts of the table.
const ZH: &str = "zh-CN";

/// The option type a table argument is registered with.
fn option_type(kind: ArgKind) -> CommandOptionType {
    match kind {
        ArgKind::Flag(_) => CommandOptionType::Boolean,
        ArgKind::Attachment => CommandOptionType::Attachment,
        _ => CommandOptionType::String,
    }
}

/// A capitalised description, as Discord shows them.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The slash command of one table entry: its options, types, choices and both languages.
fn builder(spec: &Spec) -> CreateCommand {
    let options = spec
        .args
        .iter()
        .map(|a| {
            // A device name is suggested from the devices of the channel's case.
            let mut option = CreateCommandOption::new(option_type(a.kind), a.name, a.help[0])
                .description_localized(ZH, a.help[1])
                .required(a.required)
                .set_autocomplete(a.kind == ArgKind::Word);
            for choice in a.kind.choices() {
                option = option.add_string_choice(*choice, *choice);
            }
            option
        })
        .collect();
    CreateCommand::new(spec.name)
        .description(sentence(&spec.describe(Lang::En)))
        .description_localized(ZH, spec.describe(Lang::Zh))
        .set_options(options)
}

/// The slash command builders, one per table entry registered as a slash command.
fn builders() -> Vec<CreateCommand> {
    COMMANDS.iter().filter(|s| s.slash).map(builder).collect()
}

/// Register the commands in each allowed guild (guild commands appear at once, global ones can
/// take an hour). Failures are logged: @mentions keep working without them.
pub(super) async fn register(ctx: &Context, guilds: &[u64]) {
    for guild in guilds {
        let guild = GuildId::new(*guild);
        if let Err(e) = timeout(guild.set_commands(&ctx.http, builders())).await {
            tracing::warn!(%guild, "cannot register slash commands: {e:#}");
        }
    }
}

/// The suggestions for the option being typed in an autocomplete interaction.
pub(super) fn completions(
    ctx: &handlers::Context,
    cmd: &CommandInteraction,
) -> CreateAutocompleteResponse {
    let focused = cmd.data.autocomplete();
    let kind = focused.as_ref().and_then(|f| {
        COMMANDS
            .iter()
            .find(|s| s.name == cmd.data.name)?
            .args
            .iter()
            .find(|a| a.name == f.name)
            .map(|a| a.kind)
    });
    let names = match (focused, kind) {
        (Some(f), Some(kind)) => handlers::complete(ctx, cmd.channel_id.get(), kind, f.value),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .fold(CreateAutocompleteResponse::new(), |r, n| {
            r.add_string_choice(n.clone(), n)
        })
}

/// Answers a slash command, a button click or a submitted form through its interaction.
#[derive(Debug, Clone)]
pub(super) enum InteractionReply {
    /// A slash command.
    Command(Box<CommandInteraction>),
    /// A click on one of casebot's buttons.
    Component(Box<ComponentInteraction>),
    /// A form (modal) a click opened, submitted.
    Modal(Box<ModalInteraction>),
}

impl InteractionReply {
    /// Acknowledge at once: Discord drops interactions unanswered after 3 seconds. A click is
    /// acknowledged without a "thinking" message, so each answer can be private or public.
    pub(super) async fn defer(&self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            InteractionReply::Command(c) => timeout(c.defer(&ctx.http)).await,
            InteractionReply::Component(c) => timeout(c.defer(&ctx.http)).await,
            InteractionReply::Modal(m) => timeout(m.defer(&ctx.http)).await,
        }
    }

    /// Post a reply as a follow-up of the interaction; a private reply is ephemeral.
    pub(super) async fn followup(&self, ctx: &Context, reply: Reply) {
        let rows = super::components::reply_rows(&reply);
        let mut message = CreateInteractionResponseFollowup::new().ephemeral(reply.private);
        if !reply.text.is_empty() {
            message = message.content(reply.text);
        }
        if !rows.is_empty() {
            message = message.components(rows);
        }
        for file in reply.files {
            message = message.add_file(CreateAttachment::bytes(file.bytes, file.name));
        }
        let sent = match self {
            InteractionReply::Command(c) => timeout(c.create_followup(&ctx.http, message)).await,
            InteractionReply::Component(c) => timeout(c.create_followup(&ctx.http, message)).await,
            InteractionReply::Modal(m) => timeout(m.create_followup(&ctx.http, message)).await,
        };
        if let Err(e) = sent {
            tracing::error!(interaction = %self.name(), "cannot answer interaction: {e:#}");
        }
    }

    /// The command name or custom id, for logs.
    fn name(&self) -> &str {
        match self {
            InteractionReply::Command(c) => &c.data.name,
            InteractionReply::Component(c) => &c.data.custom_id,
            InteractionReply::Modal(m) => &m.data.custom_id,
        }
    }

    /// The user who asked.
    pub(super) fn user_id(&self) -> String {
        match self {
            InteractionReply::Command(c) => c.user.id.to_string(),
            InteractionReply::Component(c) => c.user.id.to_string(),
            InteractionReply::Modal(m) => m.user.id.to_string(),
        }
    }

    /// Close a deferred interaction that got no reply of its own.
    pub(super) async fn finish(&self, ctx: &Context, lang: Lang) {
        let reply = Reply {
            text: handlers::render::msg(lang, "adapter.done").to_owned(),
            ..Reply::default()
        };
        self.followup(ctx, reply).await;
    }
}

/// The typed command and attachments of an interaction: each option is read by its argument's
/// type from the table, with no text in between.
pub(super) fn incoming(cmd: &CommandInteraction, role: Role) -> (Incoming, InteractionReply) {
    let mut options = Vec::new();
    let mut attachments = Vec::new();
    for option in &cmd.data.options {
        let name = option.name.as_str();
        match &option.value {
            CommandDataOptionValue::String(s) => options.push((name, OptionValue::Text(s.clone()))),
            CommandDataOptionValue::Boolean(b) => options.push((name, OptionValue::Bool(*b))),
            CommandDataOptionValue::Attachment(id) => {
                if let Some(a) = cmd.data.resolved.attachments.get(id) {
                    attachments.push(Attachment {
                        name: a.filename.clone(),
                        size: Some(u64::from(a.size)),
                        source: AttachmentSource::Url(a.url.clone()),
                    });
                }
            }
            _ => {}
        }
    }
    let command = command::from_options(&cmd.data.name, &options);
    let nick = cmd.member.as_ref().and_then(|m| m.nick.as_ref());
    let incoming = Incoming {
        message_id: cmd.id.to_string(),
        author: super::components::author(&cmd.user, nick, role),
        channel_id: cmd.channel_id.get(),
        guild_id: cmd.guild_id.map(|g| g.get()),
        case_hint: None,
        text: String::new(),
        command: Some(command),
        attachments,
    };
    (incoming, InteractionReply::Command(Box::new(cmd.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registrations as Discord receives them.
    fn registered() -> Vec<serde_json::Value> {
        builders()
            .iter()
            .map(|b| serde_json::to_value(b).expect("a command builder serialises"))
            .collect()
    }

    #[test]
    fn registrations_come_from_the_command_table() {
        let json = registered();
        let table: Vec<&Spec> = COMMANDS.iter().filter(|s| s.slash).collect();
        assert_eq!(json.len(), table.len());
        for (reg, spec) in json.iter().zip(&table) {
            assert_eq!(reg["name"], spec.name);
            let description = reg["description"].as_str().unwrap_or_default();
            assert!(
                !description.is_empty() && description.len() <= 100,
                "{description}"
            );
            assert_eq!(
                reg["description_localizations"][ZH],
                spec.describe(Lang::Zh)
            );
            let options = reg["options"].as_array().cloned().unwrap_or_default();
            let names: Vec<&str> = options.iter().filter_map(|o| o["name"].as_str()).collect();
            let args: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
            assert_eq!(names, args, "{}", spec.name);
            // Discord rejects a required option after an optional one.
            let required: Vec<bool> = options.iter().map(|o| o["required"] == true).collect();
            assert!(required.windows(2).all(|w| w[0] || !w[1]), "{}", spec.name);
        }
        // `case` switches the console's current case; it is the only text-only command.
        let text_only: Vec<&str> = COMMANDS
            .iter()
            .filter(|s| !s.slash)
            .map(|s| s.name)
            .collect();
        assert_eq!(text_only, ["case"]);
    }

    /// A command that takes a bundle says so in its description, in both languages: the
    /// description is all a user sees in Discord's command picker.
    #[test]
    fn commands_taking_a_bundle_say_so() {
        let json = registered();
        let with_bundle: Vec<&serde_json::Value> = json
            .iter()
            .filter(|c| {
                c["options"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|o| o["type"] == 11))
            })
            .collect();
        assert!(!with_bundle.is_empty());
        for c in with_bundle {
            let en = c["description"].as_str().unwrap_or_default();
            let zh = c["description_localizations"][ZH]
                .as_str()
                .unwrap_or_default();
            assert!(en.contains("attached bundle"), "{}: {en}", c["name"]);
            assert!(zh.contains("日志包"), "{}: {zh}", c["name"]);
        }
    }

    #[test]
    fn choices_and_types_follow_the_argument_types() {
        let json = registered();
        let device = json.iter().find(|c| c["name"] == "device").expect("device");
        assert_eq!(device["options"][1]["name"], "state");
        assert_eq!(device["options"][1]["choices"][0]["value"], "fixed");
        assert_eq!(device["options"][0]["autocomplete"], true, "device names");
        assert_ne!(
            device["options"][1]["autocomplete"], true,
            "choices instead"
        );
        let close = json.iter().find(|c| c["name"] == "close").expect("close");
        assert_eq!(close["options"][0]["name"], "force");
        assert_eq!(close["options"][0]["type"], 5, "a flag is a boolean option");
        let diagnose = json
            .iter()
            .find(|c| c["name"] == "diagnose")
            .expect("diagnose");
        assert_eq!(
            diagnose["options"][1]["type"], 11,
            "the bundle is an attachment option"
        );
    }

    #[test]
    fn every_registered_option_builds_its_command() {
        // Fill every option with a valid value: the handlers build the command from it.
        for spec in COMMANDS.iter().filter(|s| s.slash) {
            let options: Vec<(&str, OptionValue)> = spec
                .args
                .iter()
                .filter_map(|a| {
                    let value = match a.kind {
                        ArgKind::Flag(_) => OptionValue::Bool(true),
                        ArgKind::Attachment => return None,
                        ArgKind::Verdict | ArgKind::Lang => {
                            OptionValue::Text(a.kind.choices()[0].to_string())
                        }
                        ArgKind::CaseId => OptionValue::Text("CAS-11694-G2W9Y6".into()),
                        _ => OptionValue::Text("pc1".into()),
                    };
                    Some((a.name, value))
                })
                .collect();
            let built = command::from_options(spec.name, &options);
            assert_eq!(built.spec().map(|s| s.name), Some(spec.name), "{built:?}");
        }
    }
}
