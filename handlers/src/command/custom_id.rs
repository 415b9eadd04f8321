//! Short custom ids for chat components (buttons, select menus): a command and its typed
//! arguments, plus the case it acts on, in at most 100 characters (Discord's limit), e.g.
//! `cb:device:CAS-11694-G2W9Y6:PC2:fixed`.
//!
//! Layout: `cb:<command>:<case id or empty>:<argument>:<argument>…`, one field per argument in
//! table order (attachments have none), an absent optional argument is an empty field and
//! trailing empty fields are dropped. `%` and `:` in a value are written `%25` and `%3A`; word
//! lists are joined with `,` (and a `,` inside a word is `%2C`).

use store::CaseId;

use super::args::{ArgKind, OptionValue, Value, read_options};
use super::model::{Command, Verdict};
use super::table::spec;

/// The longest custom id Discord accepts.
pub const MAX_CUSTOM_ID: usize = 100;

const PREFIX: &str = "cb";

/// Why a custom id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CustomIdError {
    /// Not one of casebot's ids (another bot's component, or garbage).
    #[error("`{0}` is not a casebot custom id")]
    Foreign(String),
    /// The command is not in the table.
    #[error("custom id names an unknown command `{0}`")]
    UnknownCommand(String),
    /// The case field is not a case id.
    #[error("custom id names an invalid case id `{0}`")]
    BadCase(String),
    /// A field is not a value of its argument's type, or a required one is missing.
    #[error("custom id `{0}` does not carry valid arguments for its command")]
    BadArguments(String),
}

fn escape(s: &str) -> String {
    s.replace('%', "%25").replace(':', "%3A")
}

fn unescape(s: &str) -> String {
    s.replace("%3A", ":")
        .replace("%3a", ":")
        .replace("%2C", ",")
        .replace("%2c", ",")
        .replace("%25", "%")
}

fn field(v: &Value) -> String {
    match v {
        Value::Text(s) => escape(s),
        Value::Words(w) => w
            .iter()
            .map(|s| escape(s).replace(',', "%2C"))
            .collect::<Vec<_>>()
            .join(","),
        Value::Verdict(Verdict::Fixed) => "fixed".into(),
        Value::Verdict(Verdict::Failing) => "failing".into(),
        Value::Lang(l) => l.to_string(),
        Value::Case(id) => id.to_string(),
        Value::Flag => "1".into(),
    }
}

impl Command {
    /// The custom id of a component that runs this command in `case`; `None` when the command
    /// is not in the table or its arguments do not fit in [`MAX_CUSTOM_ID`] characters.
    pub fn custom_id(&self, case: Option<&CaseId>) -> Option<String> {
        let (spec, mut values) = self.values()?;
        let mut fields = vec![
            PREFIX.to_string(),
            spec.name.to_string(),
            case.map(CaseId::to_string).unwrap_or_default(),
        ];
        for arg in spec.args.iter().filter(|a| a.kind != ArgKind::Attachment) {
            let value = values.take(arg.name);
            fields.push(value.as_ref().map(field).unwrap_or_default());
        }
        while fields.last().is_some_and(String::is_empty) && fields.len() > 3 {
            fields.pop();
        }
        let id = fields.join(":");
        (id.len() <= MAX_CUSTOM_ID).then_some(id)
    }
}

/// Read a custom id made by [`Command::custom_id`]: the case it names, if any, and the command.
pub fn parse_custom_id(id: &str) -> Result<(Option<CaseId>, Command), CustomIdError> {
    parse_form(id, &[])
}

/// Read a pick from a menu (a select menu): the command of custom id `id`, with `choice` as the
/// first argument `id` leaves empty.
pub fn parse_choice(id: &str, choice: &str) -> Result<(Option<CaseId>, Command), CustomIdError> {
    let mut fields = id.split(':').skip(1);
    let name = fields.next().unwrap_or_default();
    let spec = spec(name).ok_or_else(|| CustomIdError::UnknownCommand(name.to_string()))?;
    let mut args = spec.args.iter().filter(|a| a.kind != ArgKind::Attachment);
    // Past the case field, one field per argument; missing trailing fields are empty too.
    let empty = fields
        .skip(1)
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(&mut args)
        .find(|(f, _)| f.is_none_or(str::is_empty))
        .map(|(_, a)| a.name)
        .ok_or_else(|| CustomIdError::BadArguments(id.to_string()))?;
    parse_form(id, &[(empty, choice)])
}

/// Read a submitted form (a modal): its custom id, made by [`Command::custom_id`], plus the
/// text typed into its fields, each named after an argument of the command (`reason`). A field
/// left blank is an absent argument; a field the command has no argument for is an error.
pub fn parse_form(
    id: &str,
    typed: &[(&str, &str)],
) -> Result<(Option<CaseId>, Command), CustomIdError> {
    let mut fields = id.split(':');
    if fields.next() != Some(PREFIX) {
        return Err(CustomIdError::Foreign(id.to_string()));
    }
    let name = fields.next().unwrap_or_default();
    let spec = spec(name).ok_or_else(|| CustomIdError::UnknownCommand(name.to_string()))?;
    let case = match fields.next().unwrap_or_default() {
        "" => None,
        c => Some(CaseId::parse(c).map_err(|_| CustomIdError::BadCase(c.to_string()))?),
    };
    let mut options = Vec::new();
    for arg in spec.args.iter().filter(|a| a.kind != ArgKind::Attachment) {
        let raw = fields.next().unwrap_or_default();
        if raw.is_empty() {
            continue;
        }
        let value = match arg.kind {
            ArgKind::Flag(_) => OptionValue::Bool(raw == "1"),
            // Word lists keep their commas as separators; the words are unescaped after splitting.
            ArgKind::Words => OptionValue::Text(raw.to_string()),
            _ => OptionValue::Text(unescape(raw)),
        };
        options.push((arg.name, value));
    }
    if fields.next().is_some() {
        return Err(CustomIdError::BadArguments(id.to_string()));
    }
    for (name, text) in typed {
        let arg = spec
            .args
            .iter()
            .find(|a| a.name == *name && matches!(a.kind, ArgKind::Text | ArgKind::Word))
            .ok_or_else(|| CustomIdError::BadArguments(format!("{id} + {name}")))?;
        if !text.trim().is_empty() {
            options.retain(|(n, _)| *n != arg.name);
            options.push((arg.name, OptionValue::Text(text.trim().to_string())));
        }
    }
    let mut values = read_options(spec.args, &options)
        .ok_or_else(|| CustomIdError::BadArguments(id.to_string()))?;
    values = values.map_words(|w| unescape(&w));
    let cmd = (spec.build)(values).ok_or_else(|| CustomIdError::BadArguments(id.to_string()))?;
    Ok((case, cmd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diagnosis::Lang;

    fn case() -> CaseId {
        CaseId::parse("CAS-11694-G2W9Y6").unwrap()
    }

    #[test]
    fn a_verdict_button_is_short_and_reads_back() {
        let cmd = Command::Device {
            name: "WCC0021Z673965".into(),
            verdict: Verdict::Fixed,
            note: None,
        };
        let id = cmd.custom_id(Some(&case())).unwrap();
        assert_eq!(id, "cb:device:CAS-11694-G2W9Y6:WCC0021Z673965:fixed");
        assert_eq!(parse_custom_id(&id), Ok((Some(case()), cmd)));
    }

    #[test]
    fn every_kind_of_argument_round_trips() {
        let commands = [
            Command::Diagnose {
                device: Some("pc:1".into()),
            },
            Command::Diagnose { device: None },
            Command::Close {
                force: true,
                reason: Some("50% done: customer gone".into()),
            },
            Command::Close {
                force: false,
                reason: None,
            },
            Command::Split {
                devices: vec!["pc2".into(), "odd,name".into()],
                title: Some("Printer".into()),
            },
            Command::Lang(Lang::Zh),
            Command::Switch(case()),
            Command::Status,
            Command::Rediagnose {
                device: "pc:7".into(),
            },
            Command::Device {
                name: "pc3".into(),
                verdict: Verdict::Failing,
                note: Some("same error".into()),
            },
        ];
        for cmd in commands {
            let id = cmd.custom_id(None).unwrap();
            assert!(id.len() <= MAX_CUSTOM_ID, "{id}");
            assert_eq!(parse_custom_id(&id), Ok((None, cmd)), "{id}");
        }
    }

    #[test]
    fn a_form_adds_its_fields_to_the_command() {
        let id = Command::Close {
            force: false,
            reason: None,
        }
        .custom_id(Some(&case()))
        .unwrap();
        assert_eq!(id, "cb:close:CAS-11694-G2W9Y6");
        let closed = Command::Close {
            force: false,
            reason: Some("both devices fixed".into()),
        };
        assert_eq!(
            parse_form(&id, &[("reason", " both devices fixed ")]),
            Ok((Some(case()), closed))
        );
        let blank = parse_form(&id, &[("reason", "  ")]).unwrap().1;
        assert_eq!(
            blank,
            Command::Close {
                force: false,
                reason: None
            }
        );
        assert!(matches!(
            parse_form(&id, &[("force", "1")]),
            Err(CustomIdError::BadArguments(_))
        ));
        assert!(matches!(
            parse_form(&id, &[("title", "x")]),
            Err(CustomIdError::BadArguments(_))
        ));
    }

    #[test]
    fn a_choice_fills_the_argument_the_menu_left_empty() {
        let menu = Command::Device {
            name: String::new(),
            verdict: Verdict::Fixed,
            note: Some("works".into()),
        }
        .custom_id(Some(&case()))
        .unwrap();
        assert_eq!(menu, "cb:device:CAS-11694-G2W9Y6::fixed:works");
        assert_eq!(
            parse_choice(&menu, "PC2"),
            Ok((
                Some(case()),
                Command::Device {
                    name: "PC2".into(),
                    verdict: Verdict::Fixed,
                    note: Some("works".into())
                }
            ))
        );
        assert_eq!(
            parse_choice("cb:rediagnose:CAS-11694-G2W9Y6", "PC9").map(|r| r.1),
            Ok(Command::Rediagnose {
                device: "PC9".into()
            })
        );
        assert!(matches!(
            parse_choice("cb:status:CAS-11694-G2W9Y6", "PC9"),
            Err(CustomIdError::BadArguments(_))
        ));
    }

    #[test]
    fn what_cannot_be_a_button_has_no_id() {
        assert_eq!(Command::Text { device: None }.custom_id(None), None);
        let long = Command::Note {
            text: "x".repeat(120),
        };
        assert_eq!(long.custom_id(None), None);
    }

    #[test]
    fn bad_ids_name_the_problem() {
        assert!(matches!(
            parse_custom_id("other:thing"),
            Err(CustomIdError::Foreign(_))
        ));
        assert!(matches!(
            parse_custom_id("cb:frobnicate:"),
            Err(CustomIdError::UnknownCommand(_))
        ));
        assert!(matches!(
            parse_custom_id("cb:status:CAS-1"),
            Err(CustomIdError::BadCase(_))
        ));
        assert!(matches!(
            parse_custom_id("cb:device::pc1:maybe"),
            Err(CustomIdError::BadArguments(_))
        ));
        assert!(matches!(
            parse_custom_id("cb:device::pc1"),
            Err(CustomIdError::BadArguments(_))
        ));
        assert!(matches!(
            parse_custom_id("cb:status::extra"),
            Err(CustomIdError::BadArguments(_))
        ));
    }
}
