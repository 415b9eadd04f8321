//! The command table: every command declared once. Each entry names the command, its English
//! and Chinese aliases, its typed arguments, who may run it, its help in both languages, and two
//! small functions that turn the typed argument values into a [`Command`] and back.

use std::fmt::Write as _;

use diagnosis::Lang;

use super::args::{Arg, ArgKind, Values, arg};
use super::model::Command;
use crate::Role;

/// One command.
pub struct Spec {
    /// Canonical name; also the slash command's name.
    pub name: &'static str,
    /// English aliases.
    pub aliases_en: &'static [&'static str],
    /// Chinese aliases.
    pub aliases_zh: &'static [&'static str],
    /// Arguments, in the order they are typed.
    pub args: &'static [Arg],
    /// Who may run it: [`Role::Customer`] means everyone, [`Role::Engineer`] engineers only.
    pub permission: Role,
    /// What it does, in English and Chinese (the help line and the slash description).
    pub help: [&'static str; 2],
    /// Registered as a slash command (`case` only makes sense in the console).
    pub slash: bool,
    /// Text left over after the arguments makes the command malformed (`status foo`).
    pub strict: bool,
    /// Typed values → command; `None` when a value is missing.
    pub build: fn(Values) -> Option<Command>,
    /// Command → typed values; `None` for another command's variant.
    pub values: fn(&Command) -> Option<Values>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec").field("name", &self.name).finish()
    }
}

const NO_ALIASES: &[&str] = &[];

/// Every command, in the order the help lists them.
pub static COMMANDS: &[Spec] = &[
    Spec {
        name: "open",
        aliases_en: NO_ALIASES,
        aliases_zh: &["开案", "新建", "立案"],
        args: &[arg(
            "title",
            ArgKind::Text,
            true,
            ["What fails, on what", "什么失败了，在哪些设备上"],
        )],
        permission: Role::Customer,
        help: ["open a case", "新建案例"],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Open {
                title: v.text("title")?,
            })
        },
        values: |c| match c {
            Command::Open { title } => Some(Values::default().with_text("title", title)),
            _ => None,
        },
    },
    Spec {
        name: "status",
        aliases_en: NO_ALIASES,
        aliases_zh: &["状态"],
        args: &[],
        permission: Role::Customer,
        help: ["show the case status", "查看案例状态"],
        slash: true,
        strict: true,
        build: |_| Some(Command::Status),
        values: |c| matches!(c, Command::Status).then(Values::default),
    },
    Spec {
        name: "collect",
        aliases_en: NO_ALIASES,
        aliases_zh: &["收集"],
        args: &[],
        permission: Role::Customer,
        help: ["how to collect logs", "如何收集日志"],
        slash: true,
        strict: false,
        build: |_| Some(Command::Collect),
        values: |c| matches!(c, Command::Collect).then(Values::default),
    },
    Spec {
        name: "diagnose",
        aliases_en: NO_ALIASES,
        aliases_zh: &["诊断"],
        args: &[
            arg("device", ArgKind::Word, false, ["Device name", "设备名"]),
            arg(
                "bundle",
                ArgKind::Attachment,
                false,
                [
                    "Log bundle (zip, cab, evtx, log)",
                    "日志包（zip、cab、evtx、log）",
                ],
            ),
        ],
        permission: Role::Customer,
        help: [
            "diagnose an attached bundle, or again from stored logs",
            "诊断附带的日志包，或用已保存的日志重新诊断",
        ],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Diagnose {
                device: v.text("device"),
            })
        },
        values: |c| match c {
            Command::Diagnose { device } => {
                Some(Values::default().with_opt_text("device", device.as_deref()))
            }
            _ => None,
        },
    },
    Spec {
        name: "rediagnose",
        aliases_en: &["re-diagnose"],
        aliases_zh: &["重新诊断"],
        args: &[arg(
            "device",
            ArgKind::Word,
            true,
            ["Device name", "设备名"],
        )],
        permission: Role::Engineer,
        help: [
            "diagnose one device again from its stored logs",
            "用已保存的日志重新诊断一台设备",
        ],
        slash: true,
        strict: true,
        build: |mut v| {
            Some(Command::Rediagnose {
                device: v.text("device")?,
            })
        },
        values: |c| match c {
            Command::Rediagnose { device } => Some(Values::default().with_text("device", device)),
            _ => None,
        },
    },
    Spec {
        name: "device",
        aliases_en: NO_ALIASES,
        aliases_zh: &["设备"],
        args: &[
            arg("name", ArgKind::Word, true, ["Device name", "设备名"]),
            arg(
                "state",
                ArgKind::Verdict,
                true,
                ["Verification result", "验证结果"],
            ),
            arg(
                "note",
                ArgKind::Text,
                false,
                ["Anything to add", "补充说明"],
            ),
        ],
        permission: Role::Customer,
        help: ["report whether the fix worked", "反馈修复结果"],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Device {
                name: v.text("name")?,
                verdict: v.verdict("state")?,
                note: v.text("note"),
            })
        },
        values: |c| match c {
            Command::Device {
                name,
                verdict,
                note,
            } => Some(
                Values::default()
                    .with_text("name", name)
                    .with_verdict("state", *verdict)
                    .with_opt_text("note", note.as_deref()),
            ),
            _ => None,
        },
    },
    Spec {
        name: "note",
        aliases_en: NO_ALIASES,
        aliases_zh: &["备注"],
        args: &[arg("text", ArgKind::Text, true, ["The note", "备注内容"])],
        permission: Role::Customer,
        help: ["add a note", "添加备注"],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Note {
                text: v.text("text")?,
            })
        },
        values: |c| match c {
            Command::Note { text } => Some(Values::default().with_text("text", text)),
            _ => None,
        },
    },
    Spec {
        name: "split",
        aliases_en: NO_ALIASES,
        aliases_zh: &["拆分"],
        args: &[
            arg(
                "devices",
                ArgKind::Words,
                true,
                ["Device names, separated by spaces", "设备名，用空格分隔"],
            ),
            arg(
                "title",
                ArgKind::AfterDashes,
                false,
                ["Title of the new case", "新案例的标题"],
            ),
        ],
        permission: Role::Engineer,
        help: ["move devices to a new case", "把设备拆分到新案例"],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Split {
                devices: v.words("devices")?,
                title: v.text("title"),
            })
        },
        values: |c| match c {
            Command::Split { devices, title } => Some(
                Values::default()
                    .with_words("devices", devices)
                    .with_opt_text("title", title.as_deref()),
            ),
            _ => None,
        },
    },
    Spec {
        name: "close",
        aliases_en: NO_ALIASES,
        aliases_zh: &["关闭", "结案"],
        args: &[
            arg(
                "force",
                ArgKind::Flag(&["force", "强制", "--force"]),
                false,
                [
                    "Close even though some devices are not verified",
                    "即使有设备未验证也关闭",
                ],
            ),
            arg("reason", ArgKind::Text, false, ["Why", "原因"]),
        ],
        permission: Role::Engineer,
        help: ["close with a summary", "关闭并生成总结"],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Close {
                force: v.flag("force"),
                reason: v.text("reason"),
            })
        },
        values: |c| match c {
            Command::Close { force, reason } => Some(
                Values::default()
                    .with_flag("force", *force)
                    .with_opt_text("reason", reason.as_deref()),
            ),
            _ => None,
        },
    },
    Spec {
        name: "reopen",
        aliases_en: NO_ALIASES,
        aliases_zh: &["重开", "重新打开"],
        args: &[],
        permission: Role::Engineer,
        help: ["reopen", "重新打开"],
        slash: true,
        strict: false,
        build: |_| Some(Command::Reopen),
        values: |c| matches!(c, Command::Reopen).then(Values::default),
    },
    Spec {
        name: "lang",
        aliases_en: &["language"],
        aliases_zh: &["语言"],
        args: &[arg("lang", ArgKind::Lang, true, ["Language", "语言"])],
        permission: Role::Customer,
        help: ["reply language", "回复语言"],
        slash: true,
        strict: true,
        build: |mut v| v.lang("lang").map(Command::Lang),
        values: |c| match c {
            Command::Lang(lang) => Some(Values::default().with_lang("lang", *lang)),
            _ => None,
        },
    },
    Spec {
        name: "explain",
        aliases_en: NO_ALIASES,
        aliases_zh: &["解释"],
        args: &[arg(
            "code",
            ArgKind::Text,
            true,
            ["e.g. 0x800f0922", "例如 0x800f0922"],
        )],
        permission: Role::Customer,
        help: ["decode an error code", "解释错误代码"],
        slash: true,
        strict: false,
        build: |mut v| {
            Some(Command::Explain {
                code: v.text("code")?,
            })
        },
        values: |c| match c {
            Command::Explain { code } => Some(Values::default().with_text("code", code)),
            _ => None,
        },
    },
    Spec {
        name: "cases",
        aliases_en: NO_ALIASES,
        aliases_zh: &["案例", "列表"],
        args: &[],
        permission: Role::Customer,
        help: ["list cases", "列出案例"],
        slash: true,
        strict: false,
        build: |_| Some(Command::Cases),
        values: |c| matches!(c, Command::Cases).then(Values::default),
    },
    Spec {
        name: "case",
        aliases_en: NO_ALIASES,
        aliases_zh: &["切换"],
        args: &[arg("id", ArgKind::CaseId, true, ["Case id", "案例编号"])],
        permission: Role::Customer,
        help: ["switch to a case", "切换案例"],
        slash: false,
        strict: true,
        build: |mut v| v.case("id").map(Command::Switch),
        values: |c| match c {
            Command::Switch(id) => Some(Values::default().with_case("id", id)),
            _ => None,
        },
    },
    Spec {
        name: "export",
        aliases_en: NO_ALIASES,
        aliases_zh: &["导出"],
        args: &[],
        permission: Role::Customer,
        help: ["summary as Markdown and JSON", "导出 Markdown 和 JSON"],
        slash: true,
        strict: false,
        build: |_| Some(Command::Export),
        values: |c| matches!(c, Command::Export).then(Values::default),
    },
    Spec {
        name: "link",
        aliases_en: &["weblink"],
        aliases_zh: &["链接", "网页"],
        args: &[arg(
            "customer",
            ArgKind::Flag(&["customer", "客户"]),
            false,
            [
                "A link with the customer view, for the customer",
                "给客户的链接（客户视图）",
            ],
        )],
        permission: Role::Engineer,
        help: [
            "a signed link to this case's web view",
            "本案例网页视图的签名链接",
        ],
        slash: true,
        strict: true,
        build: |mut v| {
            Some(Command::Link {
                customer: v.flag("customer"),
            })
        },
        values: |c| match c {
            Command::Link { customer } => Some(Values::default().with_flag("customer", *customer)),
            _ => None,
        },
    },
    Spec {
        name: "help",
        aliases_en: &["?"],
        aliases_zh: &["帮助", "？"],
        args: &[],
        permission: Role::Customer,
        help: ["this help", "显示帮助"],
        slash: true,
        strict: false,
        build: |_| Some(Command::Help),
        values: |c| matches!(c, Command::Help).then(Values::default),
    },
];

/// The command named `name` (canonical name only).
pub(super) fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|s| s.name == name)
}

/// The command a typed word names: its name or an alias, any case, with or without a leading `/`.
pub(super) fn find(word: &str) -> Option<&'static Spec> {
    let w = word.trim_start_matches('/').to_lowercase();
    COMMANDS.iter().find(|s| {
        s.name == w || s.aliases_en.contains(&w.as_str()) || s.aliases_zh.contains(&w.as_str())
    })
}

/// Pick the English or Chinese text of a pair.
pub(crate) fn pick(lang: Lang, pair: &[&'static str; 2]) -> &'static str {
    match lang {
        Lang::En => pair[0],
        Lang::Zh => pair[1],
    }
}

impl Spec {
    /// The usage line, e.g. `device <name> fixed|failing [note]`, derived from the arguments.
    pub fn usage(&self) -> String {
        let mut out = self.name.to_string();
        for a in self.args {
            let token = match (a.kind, a.required) {
                (ArgKind::Attachment, _) => continue,
                (ArgKind::Verdict | ArgKind::Lang, _) => a.kind.choices().join("|"),
                (ArgKind::Flag(words), _) => format!("[{}]", words.first().unwrap_or(&a.name)),
                (ArgKind::Words, true) => format!("<{}…>", a.name),
                (ArgKind::Words, false) => format!("[{}…]", a.name),
                (ArgKind::AfterDashes, _) => format!("[-- {}]", a.name),
                (_, true) => format!("<{}>", a.name),
                (_, false) => format!("[{}]", a.name),
            };
            out.push(' ');
            out.push_str(&token);
        }
        out
    }

    /// The description in `lang`, marked when only engineers may run the command.
    pub fn describe(&self, lang: Lang) -> String {
        let text = pick(lang, &self.help);
        match (self.permission, lang) {
            (Role::Customer, _) => text.to_string(),
            (Role::Engineer, Lang::En) => format!("{text} (engineers)"),
            (Role::Engineer, Lang::Zh) => format!("{text}（工程师）"),
        }
    }

    /// The reply to a malformed use of this command.
    pub(super) fn malformed(&self) -> Command {
        Command::Unknown {
            word: self.name.to_string(),
            usage: Some(self.usage()),
        }
    }
}

impl Command {
    /// The table entry and typed values of this command; `None` for free text, bare verdicts
    /// and unknown input.
    pub fn values(&self) -> Option<(&'static Spec, Values)> {
        COMMANDS
            .iter()
            .find_map(|s| (s.values)(self).map(|v| (s, v)))
    }

    /// The table entry of this command; `None` for free text, bare verdicts and unknown input.
    pub fn spec(&self) -> Option<&'static Spec> {
        self.values().map(|(spec, _)| spec)
    }

    /// Redact secrets from every free-text argument (titles, notes, reasons); returns how many
    /// were found. Text commands are redacted before parsing, typed ones (slash options) here.
    pub fn redact(&mut self) -> usize {
        let mut found = 0;
        let mut clean = |s: String| {
            let r = crate::redact::redact(&s);
            found += r.found;
            r.text
        };
        if let Command::Verify { note: Some(n), .. } = self {
            *n = clean(std::mem::take(n));
        } else if let Some((spec, values)) = self.values()
            && let Some(cmd) = (spec.build)(values.map_text(&mut clean))
        {
            *self = cmd;
        }
        found
    }
}

/// The help reply's list: one line per command, `` - `usage` — description ``.
pub fn help_lines(lang: Lang) -> String {
    let mut out = String::new();
    for spec in COMMANDS {
        let _ = writeln!(out, "- `{}` — {}", spec.usage(), spec.describe(lang));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique() {
        let mut words: Vec<&str> = COMMANDS
            .iter()
            .flat_map(|s| {
                std::iter::once(s.name)
                    .chain(s.aliases_en.iter().copied())
                    .chain(s.aliases_zh.iter().copied())
            })
            .collect();
        let all = words.len();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), all, "a word names two commands");
    }

    #[test]
    fn every_command_is_helped_in_both_languages() {
        for spec in COMMANDS {
            assert!(
                spec.help.iter().all(|h| !h.trim().is_empty()),
                "{}",
                spec.name
            );
            for a in spec.args {
                assert!(a.help.iter().all(|h| !h.trim().is_empty()), "{}", a.name);
            }
            assert!(
                spec.aliases_zh.iter().any(|a| !a.is_ascii()),
                "{} has no Chinese alias",
                spec.name
            );
        }
    }

    #[test]
    fn usage_lines_read_as_before() {
        let usage: Vec<String> = COMMANDS.iter().map(Spec::usage).collect();
        assert_eq!(
            usage,
            [
                "open <title>",
                "status",
                "collect",
                "diagnose [device]",
                "rediagnose <device>",
                "device <name> fixed|failing [note]",
                "note <text>",
                "split <devices…> [-- title]",
                "close [force] [reason]",
                "reopen",
                "lang zh|en",
                "explain <code>",
                "cases",
                "case <id>",
                "export",
                "link [customer]",
                "help",
            ]
        );
    }

    #[test]
    fn help_marks_engineer_commands() {
        let en = help_lines(Lang::En);
        let zh = help_lines(Lang::Zh);
        assert!(en.contains("- `reopen` — reopen (engineers)"), "{en}");
        assert!(
            zh.contains("- `close [force] [reason]` — 关闭并生成总结（工程师）"),
            "{zh}"
        );
        assert!(en.contains("- `open <title>` — open a case\n"), "{en}");
        assert_eq!(en.lines().count(), COMMANDS.len());
    }
}
