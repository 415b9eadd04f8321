//! Purpose: the commands, declared once in [`COMMANDS`] (name, aliases, typed arguments,
//! permission, help), and the typed [`Command`] built from them. From the table come the text
//! parser ([`parse`]), the slash options reader ([`from_options`]), the help reply and usage
//! lines, the slash registrations (in `bot`) and short custom ids for buttons
//! ([`Command::custom_id`], [`parse_custom_id`]). Parsing is pure: unknown or malformed input
//! becomes [`Command::Unknown`] carrying the usage line to reply with, so the dispatcher never
//! stays silent.

mod args;
mod custom_id;
mod model;
mod table;

pub use args::{Arg, ArgKind, OptionValue, Value, Values};
pub use custom_id::{CustomIdError, MAX_CUSTOM_ID, parse_choice, parse_custom_id, parse_form};
pub use model::{Command, Verdict, device_token, parse_verdict};
pub use table::{COMMANDS, Spec, help_lines};

use model::non_empty;

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
    let Some(spec) = table::find(word) else {
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
    args::read_text(spec.args, spec.strict, rest)
        .and_then(|values| (spec.build)(values))
        .unwrap_or_else(|| spec.malformed())
}

/// Build the command `name` from options given one by one (slash command options), each read by
/// its argument's type: no text is joined and parsed again. Unknown names, missing required
/// options and values that do not read as their type give [`Command::Unknown`] with the usage.
pub fn from_options(name: &str, options: &[(&str, OptionValue)]) -> Command {
    let Some(spec) = table::spec(name) else {
        return Command::Unknown {
            word: name.to_string(),
            usage: None,
        };
    };
    args::read_options(spec.args, options)
        .and_then(|values| (spec.build)(values))
        .unwrap_or_else(|| spec.malformed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diagnosis::Lang;
    use store::CaseId;

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

    /// Text arguments that read as valid values of each kind.
    fn sample(kind: ArgKind) -> Option<&'static str> {
        Some(match kind {
            ArgKind::Word => "pc1",
            ArgKind::Words => "pc1 pc2",
            ArgKind::Text => "something to say",
            ArgKind::AfterDashes => "-- a title",
            ArgKind::Verdict => "fixed",
            ArgKind::Lang => "zh",
            ArgKind::CaseId => "CAS-11694-G2W9Y6",
            ArgKind::Flag(words) => words[0],
            ArgKind::Attachment => return None,
        })
    }

    #[test]
    fn every_name_and_alias_in_the_table_parses_to_its_command() {
        for spec in COMMANDS {
            let args: Vec<&str> = spec.args.iter().filter_map(|a| sample(a.kind)).collect();
            let words = std::iter::once(spec.name)
                .chain(spec.aliases_en.iter().copied())
                .chain(spec.aliases_zh.iter().copied());
            for word in words {
                let text = format!("{word} {}", args.join(" "));
                let cmd = parse(&text);
                assert_eq!(
                    cmd.spec().map(|s| s.name),
                    Some(spec.name),
                    "{text}: {cmd:?}"
                );
                // The parsed command carries every argument that was given.
                let (_, values) = cmd.values().unwrap();
                let given = spec
                    .args
                    .iter()
                    .filter(|a| a.kind != ArgKind::Attachment)
                    .count();
                assert_eq!(values.iter().count(), given, "{text}");
            }
        }
    }

    #[test]
    fn slash_options_build_the_typed_command() {
        let text = |s: &str| OptionValue::Text(s.into());
        assert_eq!(
            from_options(
                "device",
                &[
                    ("name", text("PC2")),
                    ("state", text("failing")),
                    ("note", text("same"))
                ]
            ),
            Command::Device {
                name: "PC2".into(),
                verdict: Verdict::Failing,
                note: Some("same".into())
            }
        );
        // A title with a `--` and a note with a verdict word stay what they were typed as.
        assert_eq!(
            from_options(
                "split",
                &[
                    ("devices", text("pc2, pc3")),
                    ("title", text("Printer -- again"))
                ]
            ),
            Command::Split {
                devices: vec!["pc2".into(), "pc3".into()],
                title: Some("Printer -- again".into())
            }
        );
        assert_eq!(
            from_options("close", &[("force", OptionValue::Bool(true))]),
            Command::Close {
                force: true,
                reason: None
            }
        );
        assert_eq!(
            from_options("open", &[("title", text("status of KB5034763"))]),
            Command::Open {
                title: "status of KB5034763".into()
            }
        );
        assert_eq!(
            from_options("device", &[("name", text("PC2"))]),
            Command::Unknown {
                word: "device".into(),
                usage: Some("device <name> fixed|failing [note]".into())
            }
        );
        assert!(matches!(
            from_options("frobnicate", &[]),
            Command::Unknown { usage: None, .. }
        ));
    }

    #[test]
    fn typed_commands_are_redacted() {
        let mut cmd = Command::Note {
            text: "upload password=S3cr3t! for the bundle".into(),
        };
        assert_eq!(cmd.redact(), 1);
        assert_eq!(
            cmd,
            Command::Note {
                text: "upload password=[REDACTED] for the bundle".into()
            }
        );
        let mut plain = Command::Status;
        assert_eq!(plain.redact(), 0);
    }
}
