//! Typed argument values, read from the text after a command word or from slash options one by
//! one, by the [`ArgKind`] the table gives each argument.

use diagnosis::Lang;
use store::CaseId;

use super::model::{Verdict, non_empty, parse_verdict};

/// The type of one argument: how it is read from text and from a slash option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// One word (a device name).
    Word,
    /// Several words separated by spaces or commas, up to a `--`.
    Words,
    /// The rest of the line.
    Text,
    /// The rest of the line after a `--` (follows [`ArgKind::Words`]).
    AfterDashes,
    /// `fixed` or `failing` (and their aliases, `still failing`, `已修复`, …).
    Verdict,
    /// `zh` or `en`.
    Lang,
    /// A case id.
    CaseId,
    /// An optional keyword that switches something on; the first word is the canonical one.
    Flag(&'static [&'static str]),
    /// A file: the bundle of a slash command (a text command's attachments come with the message).
    Attachment,
}

impl ArgKind {
    /// The fixed values a slash option offers, if any.
    pub fn choices(self) -> &'static [&'static str] {
        match self {
            ArgKind::Verdict => &["fixed", "failing"],
            ArgKind::Lang => &["zh", "en"],
            _ => &[],
        }
    }
}

/// One argument of a command.
#[derive(Debug)]
pub struct Arg {
    /// Name; also the slash option's name.
    pub name: &'static str,
    /// Type.
    pub kind: ArgKind,
    /// Whether the command is malformed without it.
    pub required: bool,
    /// What to give, in English and Chinese (the slash option's description).
    pub help: [&'static str; 2],
}

pub(super) const fn arg(
    name: &'static str,
    kind: ArgKind,
    required: bool,
    help: [&'static str; 2],
) -> Arg {
    Arg {
        name,
        kind,
        required,
        help,
    }
}

/// One typed argument value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A word or a free text.
    Text(String),
    /// A list of words.
    Words(Vec<String>),
    /// A verdict.
    Verdict(Verdict),
    /// A language.
    Lang(Lang),
    /// A case id.
    Case(CaseId),
    /// A flag that was given.
    Flag,
}

/// The values of one command's arguments, by argument name; absent optional ones are missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(Vec<(&'static str, Value)>);

/// One slash option's value as the chat platform delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    /// A string option (typed text or a chosen value).
    Text(String),
    /// A boolean option.
    Bool(bool),
}

impl Values {
    /// The values in argument order.
    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, Value)> {
        self.0.iter()
    }

    pub(super) fn take(&mut self, name: &str) -> Option<Value> {
        let i = self.0.iter().position(|(n, _)| *n == name)?;
        Some(self.0.remove(i).1)
    }

    fn push(mut self, name: &'static str, value: Value) -> Values {
        self.0.push((name, value));
        self
    }

    /// Take a text value.
    pub fn text(&mut self, name: &str) -> Option<String> {
        match self.take(name)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Take a list of words.
    pub fn words(&mut self, name: &str) -> Option<Vec<String>> {
        match self.take(name)? {
            Value::Words(w) => Some(w),
            _ => None,
        }
    }

    /// Take a verdict.
    pub fn verdict(&mut self, name: &str) -> Option<Verdict> {
        match self.take(name)? {
            Value::Verdict(v) => Some(v),
            _ => None,
        }
    }

    /// Take a language.
    pub fn lang(&mut self, name: &str) -> Option<Lang> {
        match self.take(name)? {
            Value::Lang(l) => Some(l),
            _ => None,
        }
    }

    /// Take a case id.
    pub fn case(&mut self, name: &str) -> Option<CaseId> {
        match self.take(name)? {
            Value::Case(c) => Some(c),
            _ => None,
        }
    }

    /// Whether a flag was given.
    pub fn flag(&mut self, name: &str) -> bool {
        matches!(self.take(name), Some(Value::Flag))
    }

    /// Add a text value.
    pub fn with_text(self, name: &'static str, text: &str) -> Values {
        self.push(name, Value::Text(text.to_string()))
    }

    /// Add a text value if there is one.
    pub fn with_opt_text(self, name: &'static str, text: Option<&str>) -> Values {
        match text {
            Some(t) => self.with_text(name, t),
            None => self,
        }
    }

    /// Add a list of words.
    pub fn with_words(self, name: &'static str, words: &[String]) -> Values {
        self.push(name, Value::Words(words.to_vec()))
    }

    /// Add a verdict.
    pub fn with_verdict(self, name: &'static str, verdict: Verdict) -> Values {
        self.push(name, Value::Verdict(verdict))
    }

    /// Add a language.
    pub fn with_lang(self, name: &'static str, lang: Lang) -> Values {
        self.push(name, Value::Lang(lang))
    }

    /// Add a case id.
    pub fn with_case(self, name: &'static str, id: &CaseId) -> Values {
        self.push(name, Value::Case(id.clone()))
    }

    /// Add a flag if it is set.
    pub fn with_flag(self, name: &'static str, on: bool) -> Values {
        if on {
            self.push(name, Value::Flag)
        } else {
            self
        }
    }

    /// Map every word of every word list; other values are kept.
    pub(super) fn map_words(self, mut f: impl FnMut(String) -> String) -> Values {
        let values = self
            .0
            .into_iter()
            .map(|(n, v)| match v {
                Value::Words(w) => (n, Value::Words(w.into_iter().map(&mut f).collect())),
                other => (n, other),
            })
            .collect();
        Values(values)
    }

    /// Map every text value (redaction); other values are kept.
    pub(super) fn map_text(self, mut f: impl FnMut(String) -> String) -> Values {
        let values = self
            .0
            .into_iter()
            .map(|(n, v)| match v {
                Value::Text(s) => (n, Value::Text(f(s))),
                other => (n, other),
            })
            .collect();
        Values(values)
    }
}

/// The first whitespace-separated word of `text` and the trimmed rest.
fn first_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim_start()),
        None => (text, ""),
    }
}

fn split_words(text: &str) -> Vec<String> {
    text.split([' ', ',', '，'])
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// What reading one argument from text found.
enum Read<'a> {
    /// A value and the text after it.
    Found(Value, &'a str),
    /// Nothing there (fine for an optional argument).
    Absent,
    /// Something there that is not a value of this type.
    Bad,
}

/// Read one argument of `kind` at the start of `text`.
fn read_one(kind: ArgKind, text: &str) -> Read<'_> {
    let text = text.trim();
    if text.is_empty() && !matches!(kind, ArgKind::Flag(_)) {
        return Read::Absent;
    }
    match kind {
        ArgKind::Word => {
            let (w, rest) = first_word(text);
            Read::Found(Value::Text(w.to_string()), rest)
        }
        ArgKind::Words => {
            let end = text.find("--").unwrap_or(text.len());
            let (list, rest) = text.split_at(end);
            match split_words(list) {
                words if words.is_empty() => Read::Absent,
                words => Read::Found(Value::Words(words), rest),
            }
        }
        ArgKind::Text => Read::Found(Value::Text(text.to_string()), ""),
        ArgKind::AfterDashes => match text.strip_prefix("--").map(non_empty) {
            Some(Some(title)) => Read::Found(Value::Text(title), ""),
            Some(None) => Read::Absent,
            None => Read::Bad,
        },
        ArgKind::Verdict => match parse_verdict(text) {
            Some((v, rest)) => Read::Found(Value::Verdict(v), rest),
            None => Read::Bad,
        },
        ArgKind::Lang => {
            let (w, rest) = first_word(text);
            match w.parse::<Lang>() {
                Ok(l) => Read::Found(Value::Lang(l), rest),
                Err(_) => Read::Bad,
            }
        }
        ArgKind::CaseId => {
            let (w, rest) = first_word(text);
            match CaseId::parse(w) {
                Ok(id) => Read::Found(Value::Case(id), rest),
                Err(_) => Read::Bad,
            }
        }
        ArgKind::Flag(words) => {
            let (w, rest) = first_word(text);
            if words.contains(&w.to_lowercase().as_str()) {
                Read::Found(Value::Flag, rest)
            } else {
                Read::Absent
            }
        }
        ArgKind::Attachment => Read::Absent,
    }
}

/// Read `args` from the text after the command word; `None` when malformed (with `strict`, also
/// when text is left over).
pub(super) fn read_text(args: &[Arg], strict: bool, mut text: &str) -> Option<Values> {
    let mut values = Values::default();
    for arg in args {
        match read_one(arg.kind, text) {
            Read::Found(v, rest) => {
                values = values.push(arg.name, v);
                text = rest;
            }
            Read::Absent if !arg.required => {}
            Read::Absent | Read::Bad => return None,
        }
    }
    (!strict || text.trim().is_empty()).then_some(values)
}

/// Read one slash option's value by its argument's type; the whole value is the argument.
fn read_option(kind: ArgKind, value: &OptionValue) -> Option<Value> {
    let text = match value {
        OptionValue::Bool(on) => {
            return matches!(kind, ArgKind::Flag(_))
                .then_some(Value::Flag)
                .filter(|_| *on);
        }
        OptionValue::Text(t) => t.trim(),
    };
    match kind {
        ArgKind::Word | ArgKind::Text | ArgKind::AfterDashes => non_empty(text).map(Value::Text),
        ArgKind::Words => Some(split_words(text))
            .filter(|w| !w.is_empty())
            .map(Value::Words),
        ArgKind::Verdict => match parse_verdict(text) {
            Some((v, "")) => Some(Value::Verdict(v)),
            _ => None,
        },
        ArgKind::Lang => text.parse().ok().map(Value::Lang),
        ArgKind::CaseId => CaseId::parse(text).ok().map(Value::Case),
        ArgKind::Flag(words) => words
            .contains(&text.to_lowercase().as_str())
            .then_some(Value::Flag),
        ArgKind::Attachment => None,
    }
}

/// Read `args` from named options; `None` when a required one is missing or a
/// value does not read as its type. Options the command does not declare are ignored, and so
/// are attachments (they travel with the message).
pub(super) fn read_options(args: &[Arg], options: &[(&str, OptionValue)]) -> Option<Values> {
    let mut values = Values::default();
    for arg in args {
        let given = options.iter().find(|(n, _)| *n == arg.name).map(|(_, v)| v);
        let value = match given {
            Some(OptionValue::Bool(false)) => None,
            Some(v) => Some(read_option(arg.kind, v)?),
            None => None,
        };
        match value {
            Some(v) => values = values.push(arg.name, v),
            None if arg.required && arg.kind != ArgKind::Attachment => return None,
            None => {}
        }
    }
    Some(values)
}
