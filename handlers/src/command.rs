//! Purpose: turn the text after an @mention into a typed [`Command`]. Parsing is pure: unknown
//! or malformed input becomes [`Command::Unknown`] carrying the usage line to reply with, so the
//! dispatcher never stays silent.

use diagnosis::Lang;
use store::CaseId;

/// A device verification verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The fix worked.
    Fixed,
    /// The device still fails.
    Failing,
}

/// One parsed command. The names match docs/ARCHITECTURE.md, "Cases" and the slash commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `open <title>`: open a case; the title is also the first problem statement.
    Open {
        /// Title (already redacted by the caller).
        title: String,
    },
    /// `status`.
    Status,
    /// `collect`: log collection instructions.
    Collect,
    /// `diagnose [device]`: re-run diagnoses from stored bundles (or diagnose attachments).
    Diagnose {
        /// Only this device.
        device: Option<String>,
    },
    /// `device <name> fixed|failing [note]`.
    Device {
        /// Device name.
        name: String,
        /// Verdict.
        verdict: Verdict,
        /// Optional note.
        note: Option<String>,
    },
    /// A bare `fixed` / `still failing` reply (customers); applies to the one device awaiting it.
    Verify {
        /// Verdict.
        verdict: Verdict,
        /// Optional note.
        note: Option<String>,
    },
    /// `note <text>`.
    Note {
        /// The note.
        text: String,
    },
    /// `split <device…> [-- title]`: move devices into a new case.
    Split {
        /// Devices to move (the handler may reinterpret trailing unknown words as the title).
        devices: Vec<String>,
        /// Title of the new case.
        title: Option<String>,
    },
    /// `close [force] [reason]`.
    Close {
        /// Close even though some devices are not verified.
        force: bool,
        /// Reason.
        reason: Option<String>,
    },
    /// `reopen`.
    Reopen,
    /// `lang zh|en`.
    Lang(Lang),
    /// `explain <code>`.
    Explain {
        /// The code as typed.
        code: String,
    },
    /// `cases`: list cases.
    Cases,
    /// `export`: summary as Markdown and JSON files.
    Export,
    /// `help`.
    Help,
    /// `case <id>`: switch the console's current case.
    Switch(CaseId),
    /// No command word: free text (attachments in it are diagnosed).
    Text {
        /// Device named with `device:<name>`, if any.
        device: Option<String>,
    },
    /// Unknown or malformed command.
    Unknown {
        /// The command word as typed.
        word: String,
        /// Usage line for the command when it was known but malformed.
        usage: Option<&'static str>,
    },
}

/// Usage lines, one per command (the help text is built from them).
pub const USAGE: &[(&str, &str)] = &[
    ("open", "open <title>"),
    ("status", "status"),
    ("collect", "collect"),
    ("diagnose", "diagnose [device]"),
    ("device", "device <name> fixed|failing [note]"),
    ("note", "note <text>"),
    ("split", "split <device…> [-- title]"),
    ("close", "close [force] [reason]"),
    ("reopen", "reopen"),
    ("lang", "lang zh|en"),
    ("explain", "explain <code>"),
    ("cases", "cases"),
    ("case", "case <id>"),
    ("export", "export"),
    ("help", "help"),
];

fn usage(name: &str) -> Option<&'static str> {
    USAGE.iter().find(|(n, _)| *n == name).map(|(_, u)| *u)
}

/// Map a command word (English, Chinese alias, or with a leading `/`) to its canonical name.
fn canonical(word: &str) -> Option<&'static str> {
    let w = word.trim_start_matches('/').to_lowercase();
    let name = match w.as_str() {
        "open" | "开案" | "新建" | "立案" => "open",
        "status" | "状态" => "status",
        "collect" | "收集" => "collect",
        "diagnose" | "诊断" => "diagnose",
        "device" | "设备" => "device",
        "note" | "备注" => "note",
        "split" | "拆分" => "split",
        "close" | "关闭" | "结案" => "close",
        "reopen" | "重开" | "重新打开" => "reopen",
        "lang" | "language" | "语言" => "lang",
        "explain" | "解释" => "explain",
        "cases" | "案例" | "列表" => "cases",
        "case" | "切换" => "case",
        "export" | "导出" => "export",
        "help" | "帮助" | "?" | "？" => "help",
        _ => return None,
    };
    Some(name)
}

/// Parse a verdict word (`fixed`, `failing`, `still failing`, `已修复`, `仍失败`, …) at the start
/// of `rest`; returns the verdict and the remaining text.
pub fn parse_verdict(rest: &str) -> Option<(Verdict, &str)> {
    const WORDS: &[(&str, Verdict)] = &[
        ("still failing", Verdict::Failing),
        ("still-failing", Verdict::Failing),
        ("failing", Verdict::Failing),
        ("仍失败", Verdict::Failing),
        ("仍然失败", Verdict::Failing),
        ("还是失败", Verdict::Failing),
        ("失败", Verdict::Failing),
        ("fixed", Verdict::Fixed),
        ("resolved", Verdict::Fixed),
        ("已修复", Verdict::Fixed),
        ("已解决", Verdict::Fixed),
    ];
    let t = rest.trim_start();
    let lower = t.to_lowercase();
    for (word, verdict) in WORDS {
        if let Some(after) = lower.strip_prefix(word) {
            // Only whole words: `fixedly` is not a verdict.
            let boundary = after.is_empty()
                || after.starts_with(|c: char| c.is_whitespace() || ",.;:!，。：；！".contains(c));
            if boundary {
                // Lowercasing keeps these ASCII/CJK words the same byte length.
                let rest = t.get(word.len()..).unwrap_or("");
                return Some((
                    *verdict,
                    rest.trim_start_matches([',', '，', ':', '：']).trim(),
                ));
            }
        }
    }
    None
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The `device:<name>` token of a message, if any.
pub fn device_token(text: &str) -> Option<String> {
    text.split_whitespace().find_map(|tok| {
        let lower = tok.to_ascii_lowercase();
        let name = lower
            .strip_prefix("device:")
            .or_else(|| lower.strip_prefix("设备:"))
            .or_else(|| lower.strip_prefix("设备："))
            .map(|_| tok.split_once([':', '：']).map(|(_, n)| n).unwrap_or(""))?;
        let name = name.trim_matches(|c: char| c == ',' || c == '.' || c == '，');
        non_empty(name)
    })
}

/// Remove a leading `@casebot` (console users sometimes type it) and surrounding space.
fn strip_mention(text: &str) -> &str {
    let t = text.trim();
    for prefix in ["@casebot", "casebot:", "casebot,"] {
        if t.len() >= prefix.len() && t.is_char_boundary(prefix.len()) {
            let (head, tail) = t.split_at(prefix.len());
            if head.eq_ignore_ascii_case(prefix) {
                return tail.trim_start_matches([':', ',']).trim();
            }
        }
    }
    t
}

/// Parse the text after the mention.
pub fn parse(text: &str) -> Command {
    let text = strip_mention(text);
    if let Some((verdict, note)) = parse_verdict(text) {
        return Command::Verify {
            verdict,
            note: non_empty(note),
        };
    }
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (text, ""),
    };
    let Some(name) = canonical(word) else {
        return if word.starts_with('/') {
            Command::Unknown {
                word: word.to_string(),
                usage: None,
            }
        } else {
            Command::Text {
                device: device_token(text),
            }
        };
    };
    parse_named(name, rest).unwrap_or_else(|| Command::Unknown {
        word: name.to_string(),
        usage: usage(name),
    })
}

/// Parse the arguments of a known command; `None` when they are malformed.
fn parse_named(name: &str, rest: &str) -> Option<Command> {
    let no_args = |cmd: Command| rest.is_empty().then_some(cmd);
    match name {
        "open" => non_empty(rest).map(|title| Command::Open { title }),
        "status" => no_args(Command::Status),
        "collect" => Some(Command::Collect),
        "diagnose" => Some(Command::Diagnose {
            device: rest.split_whitespace().next().map(str::to_string),
        }),
        "device" => parse_device(rest),
        "note" => non_empty(rest).map(|text| Command::Note { text }),
        "split" => parse_split(rest),
        "close" => Some(parse_close(rest)),
        "reopen" => Some(Command::Reopen),
        "lang" => rest.parse::<Lang>().ok().map(Command::Lang),
        "explain" => non_empty(rest).map(|code| Command::Explain { code }),
        "cases" => Some(Command::Cases),
        "case" => CaseId::parse(rest).ok().map(Command::Switch),
        "export" => Some(Command::Export),
        "help" => Some(Command::Help),
        _ => None,
    }
}

fn parse_device(rest: &str) -> Option<Command> {
    let (name, tail) = rest.split_once(char::is_whitespace)?;
    let (verdict, note) = parse_verdict(tail)?;
    Some(Command::Device {
        name: name.to_string(),
        verdict,
        note: non_empty(note),
    })
}

fn parse_split(rest: &str) -> Option<Command> {
    let (devs, title) = match rest.split_once("--") {
        Some((d, t)) => (d, non_empty(t)),
        None => (rest, None),
    };
    let devices: Vec<String> = devs
        .split([' ', ',', '，'])
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    (!devices.is_empty()).then_some(Command::Split { devices, title })
}

fn parse_close(rest: &str) -> Command {
    let (first, tail) = match rest.split_once(char::is_whitespace) {
        Some((f, t)) => (f, t),
        None => (rest, ""),
    };
    let force = matches!(first.to_lowercase().as_str(), "force" | "强制" | "--force");
    let reason = if force {
        non_empty(tail)
    } else {
        non_empty(rest)
    };
    Command::Close { force, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_takes_the_rest_as_title() {
        assert_eq!(
            parse("open KB5034763 rolls back on 2 devices"),
            Command::Open {
                title: "KB5034763 rolls back on 2 devices".into()
            }
        );
        assert_eq!(
            parse("@casebot 开案 KB5034763 安装后回滚"),
            Command::Open {
                title: "KB5034763 安装后回滚".into()
            }
        );
    }

    #[test]
    fn malformed_known_commands_carry_their_usage() {
        for (input, word) in [
            ("open", "open"),
            ("device pc1", "device"),
            ("device pc1 maybe", "device"),
            ("lang fr", "lang"),
            ("case nonsense", "case"),
            ("note", "note"),
            ("explain", "explain"),
        ] {
            match parse(input) {
                Command::Unknown { word: w, usage } => {
                    assert_eq!(w, word, "{input}");
                    assert!(usage.is_some_and(|u| u.starts_with(word)), "{input}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn slash_words_that_are_not_commands_are_unknown() {
        assert_eq!(
            parse("/frobnicate now"),
            Command::Unknown {
                word: "/frobnicate".into(),
                usage: None
            }
        );
        assert_eq!(parse("/status"), Command::Status);
    }

    #[test]
    fn free_text_names_the_device() {
        assert_eq!(
            parse("logs for device:WCC0021Z673965, thanks"),
            Command::Text {
                device: Some("WCC0021Z673965".into())
            }
        );
        assert_eq!(parse("here are the logs"), Command::Text { device: None });
    }

    #[test]
    fn device_verdicts_in_both_languages() {
        assert_eq!(
            parse("device wcc0021z675842 fixed after reboot"),
            Command::Device {
                name: "wcc0021z675842".into(),
                verdict: Verdict::Fixed,
                note: Some("after reboot".into())
            }
        );
        assert_eq!(
            parse("device PC2 still failing"),
            Command::Device {
                name: "PC2".into(),
                verdict: Verdict::Failing,
                note: None
            }
        );
        assert_eq!(
            parse("设备 PC2 已修复"),
            Command::Device {
                name: "PC2".into(),
                verdict: Verdict::Fixed,
                note: None
            }
        );
    }

    #[test]
    fn short_customer_replies() {
        assert_eq!(
            parse("fixed"),
            Command::Verify {
                verdict: Verdict::Fixed,
                note: None
            }
        );
        assert_eq!(
            parse("still failing, same error"),
            Command::Verify {
                verdict: Verdict::Failing,
                note: Some("same error".into())
            }
        );
        assert_eq!(parse("fixedly"), Command::Text { device: None });
    }

    #[test]
    fn split_devices_and_title() {
        assert_eq!(
            parse("split pc2, pc3 -- Printer issue"),
            Command::Split {
                devices: vec!["pc2".into(), "pc3".into()],
                title: Some("Printer issue".into())
            }
        );
        assert!(matches!(parse("split"), Command::Unknown { .. }));
    }

    #[test]
    fn close_force_and_reason() {
        assert_eq!(
            parse("close"),
            Command::Close {
                force: false,
                reason: None
            }
        );
        assert_eq!(
            parse("close force"),
            Command::Close {
                force: true,
                reason: None
            }
        );
        assert_eq!(
            parse("close customer stopped responding"),
            Command::Close {
                force: false,
                reason: Some("customer stopped responding".into())
            }
        );
    }

    #[test]
    fn simple_commands() {
        assert_eq!(parse("lang en"), Command::Lang(Lang::En));
        assert_eq!(parse("语言 zh"), Command::Lang(Lang::Zh));
        assert_eq!(parse("HELP"), Command::Help);
        assert_eq!(parse("cases"), Command::Cases);
        assert_eq!(parse("diagnose"), Command::Diagnose { device: None });
        assert_eq!(
            parse("case cas-11694-g2w9y6"),
            Command::Switch(CaseId::parse("CAS-11694-G2W9Y6").unwrap())
        );
        assert_eq!(
            parse("explain 0x800f0922"),
            Command::Explain {
                code: "0x800f0922".into()
            }
        );
    }
}
