//! Slash commands: the same commands as the @mention ones, registered per allowed guild on
//! connect. An interaction is turned back into command text (`name opt1 opt2 …`) so that both
//! ways of asking take the one `handlers::handle_message` path.

use handlers::{Attachment, AttachmentSource, Author, Incoming, Reply, Role};
use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, Context, CreateAttachment,
    CreateCommand, CreateCommandOption, CreateInteractionResponseFollowup, GuildId,
};

use super::timeout;

/// One option of a slash command.
struct Opt {
    name: &'static str,
    description: &'static str,
    kind: CommandOptionType,
    required: bool,
    choices: &'static [&'static str],
}

const fn text(name: &'static str, description: &'static str, required: bool) -> Opt {
    Opt {
        name,
        description,
        kind: CommandOptionType::String,
        required,
        choices: &[],
    }
}

/// The commands, listed once: name, description, options in the order they join the text.
const COMMANDS: &[(&str, &str, &[Opt])] = &[
    (
        "open",
        "Open a case",
        &[text("title", "What fails, on what", true)],
    ),
    ("status", "Show the case status", &[]),
    ("collect", "How to collect logs", &[]),
    (
        "diagnose",
        "Diagnose a bundle, or re-run the diagnosis",
        &[
            text("device", "Device name", false),
            Opt {
                name: "bundle",
                description: "Log bundle (zip, cab, evtx, log)",
                kind: CommandOptionType::Attachment,
                required: false,
                choices: &[],
            },
        ],
    ),
    (
        "device",
        "Report a device's verification",
        &[
            text("name", "Device name", true),
            Opt {
                name: "state",
                description: "Verification result",
                kind: CommandOptionType::String,
                required: true,
                choices: &["fixed", "failing"],
            },
            text("note", "Anything to add", false),
        ],
    ),
    (
        "note",
        "Add a note to the case",
        &[text("text", "The note", true)],
    ),
    (
        "split",
        "Move devices to a new case",
        &[
            text("devices", "Device names, separated by spaces", true),
            text("title", "Title of the new case", false),
        ],
    ),
    ("close", "Close the case", &[text("reason", "Why", false)]),
    ("reopen", "Reopen the case", &[]),
    (
        "lang",
        "Reply language",
        &[Opt {
            name: "lang",
            description: "Language",
            kind: CommandOptionType::String,
            required: true,
            choices: &["zh", "en"],
        }],
    ),
    (
        "explain",
        "Decode an error code",
        &[text("code", "e.g. 0x800f0922", true)],
    ),
    ("cases", "List cases", &[]),
    ("export", "Export the case", &[]),
    ("help", "What casebot can do", &[]),
];

/// The slash command builders.
fn builders() -> Vec<CreateCommand> {
    COMMANDS
        .iter()
        .map(|(name, description, opts)| {
            let options = opts
                .iter()
                .map(|o| {
                    let mut option = CreateCommandOption::new(o.kind, o.name, o.description)
                        .required(o.required);
                    for choice in o.choices {
                        option = option.add_string_choice(*choice, *choice);
                    }
                    option
                })
                .collect();
            CreateCommand::new(*name)
                .description(*description)
                .set_options(options)
        })
        .collect()
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

/// Answers a slash command through its interaction.
#[derive(Debug, Clone)]
pub(super) struct InteractionReply(Box<CommandInteraction>);

impl InteractionReply {
    /// Acknowledge at once: Discord drops interactions unanswered after 3 seconds.
    pub(super) async fn defer(&self, ctx: &Context) -> anyhow::Result<()> {
        timeout(self.0.defer(&ctx.http)).await
    }

    /// Post a reply as a follow-up of the interaction.
    pub(super) async fn followup(&self, ctx: &Context, reply: Reply) {
        let mut message = CreateInteractionResponseFollowup::new();
        if !reply.text.is_empty() {
            message = message.content(reply.text);
        }
        for file in reply.files {
            message = message.add_file(CreateAttachment::bytes(file.bytes, file.name));
        }
        if let Err(e) = timeout(self.0.create_followup(&ctx.http, message)).await {
            tracing::error!(command = %self.0.data.name, "cannot answer slash command: {e:#}");
        }
    }

    /// Close a deferred interaction that got no reply of its own.
    pub(super) async fn finish(&self, ctx: &Context) {
        let reply = Reply {
            text: "Done.".to_owned(),
            files: Vec::new(),
        };
        self.followup(ctx, reply).await;
    }
}

/// The command text and attachments of an interaction, as if typed after an @mention.
pub(super) fn incoming(cmd: &CommandInteraction, role: Role) -> (Incoming, InteractionReply) {
    let mut words = vec![cmd.data.name.clone()];
    let mut attachments = Vec::new();
    for option in &cmd.data.options {
        match &option.value {
            CommandDataOptionValue::String(s) => words.push(s.clone()),
            CommandDataOptionValue::Integer(n) => words.push(n.to_string()),
            CommandDataOptionValue::Number(n) => words.push(n.to_string()),
            CommandDataOptionValue::Boolean(b) => words.push(b.to_string()),
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
    let user = &cmd.user;
    let name = cmd
        .member
        .as_ref()
        .and_then(|m| m.nick.clone())
        .or_else(|| user.global_name.clone())
        .unwrap_or_else(|| user.name.clone());
    let incoming = Incoming {
        message_id: cmd.id.to_string(),
        author: Author {
            id: user.id.to_string(),
            name,
            role,
        },
        channel_id: cmd.channel_id.get(),
        case_hint: None,
        text: words.join(" "),
        attachments,
    };
    (incoming, InteractionReply(Box::new(cmd.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique_and_valid() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
        for (name, description, opts) in COMMANDS {
            assert!(name.chars().all(|c| c.is_ascii_lowercase()), "{name}");
            assert!(!description.is_empty() && description.len() <= 100);
            // Discord rejects a required option after an optional one.
            let first_optional = opts.iter().position(|o| !o.required).unwrap_or(opts.len());
            assert!(opts[first_optional..].iter().all(|o| !o.required), "{name}");
        }
        assert_eq!(builders().len(), COMMANDS.len());
    }
}
