//! The texts of a rule in every language the rule files carry, for renderers.
//!
//! A diagnosis holds ids and values, with English texts for readers of the JSON; it holds no
//! other language (docs/ARCHITECTURE.md, "The diagnosis contract"). A renderer finds the rule
//! by the finding's rule id ([`RuleSet::rule`]) or, for a finding made from a code prior, by its
//! root cause ([`RuleSet::lender`]), and fills the rule's templates with the finding's `vars`
//! ([`fill`]). Diagnoses stored before `vars` existed get them back from the English text
//! ([`recover`]).

use std::collections::BTreeMap;

use regex::Regex;

use super::{Rule, RuleSet, template};
use crate::report::Lang;

/// One text in each language the rule files carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts<'a> {
    /// English.
    pub en: &'a str,
    /// Simplified Chinese.
    pub zh: &'a str,
}

impl<'a> Texts<'a> {
    /// The text in `lang`; English where the other language is empty.
    pub fn get(&self, lang: Lang) -> &'a str {
        match lang {
            Lang::Zh if !self.zh.trim().is_empty() => self.zh,
            _ => self.en,
        }
    }
}

/// The texts of one `[[step]]`: the templates of what to do (the command is the same in every
/// language).
#[derive(Debug, Clone, Copy)]
pub struct StepTexts<'a> {
    /// What to do, as a template.
    pub text: Texts<'a>,
    /// The command, as a template.
    pub command: Option<&'a str>,
}

impl Rule {
    /// The title.
    pub fn title_texts(&self) -> Texts<'_> {
        Texts {
            en: &self.title,
            zh: &self.title_zh,
        }
    }

    /// The `[[step]]` templates, in order.
    pub fn step_texts(&self) -> impl Iterator<Item = StepTexts<'_>> {
        self.steps.iter().map(|s| StepTexts {
            text: Texts {
                en: &s.text,
                zh: &s.text_zh,
            },
            command: s.command.as_deref(),
        })
    }

    /// What would confirm a hint of this rule (`[hint] confirm`), in order.
    pub fn confirm_texts(&self) -> impl Iterator<Item = Texts<'_>> {
        self.hint.iter().flat_map(|h| {
            h.confirm
                .iter()
                .zip(&h.confirm_zh)
                .map(|(en, zh)| Texts { en, zh })
        })
    }

    /// Why a missing log of `kind` is needed and how to collect it (`[[missing]]`), as
    /// templates.
    pub fn missing_texts(&self, kind: &str) -> Option<(Texts<'_>, Texts<'_>)> {
        self.missing.iter().find(|m| m.kind == kind).map(|m| {
            (
                Texts {
                    en: &m.why,
                    zh: &m.why_zh,
                },
                Texts {
                    en: &m.how,
                    zh: &m.how_zh,
                },
            )
        })
    }
}

impl RuleSet {
    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The rule that lends its title and steps to a finding of `root_cause` made from a code
    /// prior: the most confident rule of that cause (the last of equals), never the fallback.
    pub fn lender(&self, root_cause: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.root_cause == root_cause && !r.fallback)
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
    }
}

/// Fill `template` with `vars` as they are: placeholders replaced (an absent value reads
/// `<name>`), everything else verbatim (missing-log texts).
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> String {
    template::render(template, vars)
}

/// Fill `template` with `vars` the way the engine fills step texts: placeholders replaced
/// (an absent value reads `<name>`), whitespace runs collapsed to one space.
pub fn fill(template: &str, vars: &BTreeMap<String, String>) -> String {
    template::render(template, vars)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The values of `template`'s placeholders in `text`, a rendering of it ([`fill`]); `None`
/// when `text` is not one. A placeholder used twice takes its first value; `{name|lower}`
/// gives the lowercased value, so a plain use of the same name wins.
pub fn recover(template: &str, text: &str) -> Option<BTreeMap<String, String>> {
    let mut pattern = String::from("^");
    let mut groups: Vec<(&str, bool)> = Vec::new();
    let push_literal = |pattern: &mut String, literal: &str| {
        // Whitespace next to a placeholder may vanish with an empty value.
        if literal.starts_with(char::is_whitespace) {
            pattern.push_str(r"\s*");
        }
        let words: Vec<String> = literal.split_whitespace().map(regex::escape).collect();
        pattern.push_str(&words.join(r"\s+"));
        if literal.ends_with(char::is_whitespace) {
            pattern.push_str(r"\s*");
        }
    };
    let mut literal = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        literal.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        match template::parse_placeholder(&after[..close]) {
            Some((name, lower)) => {
                push_literal(&mut pattern, &literal);
                literal.clear();
                pattern.push_str(&format!("(?P<p{}>.*?)", groups.len()));
                groups.push((name, lower));
            }
            None => literal.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    literal.push_str(rest);
    push_literal(&mut pattern, &literal);
    pattern.push('$');
    let caps = Regex::new(&pattern).ok()?.captures(text.trim())?;
    let mut out: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for (i, (name, lower)) in groups.into_iter().enumerate() {
        let value = caps.name(&format!("p{i}")).map_or("", |m| m.as_str());
        // The first plain use wins over any `|lower` one.
        let keep = out
            .get(name)
            .is_some_and(|(_, was_lower)| !was_lower || lower);
        if !keep {
            out.insert(name.to_string(), (value.to_string(), lower));
        }
    }
    Some(out.into_iter().map(|(k, (v, _))| (k, v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn recover_reads_back_what_fill_wrote() {
        let cases = [
            (
                "Install the update {kb} again.",
                vars(&[("kb", "KB5034763")]),
            ),
            ("Install the update {kb} again.", vars(&[("kb", "")])),
            (
                "Set the {service} service back ({service|lower}).",
                vars(&[("service", "Winmgmt")]),
            ),
            (
                "Key {7a4b} of {task}",
                vars(&[("task", "\\Microsoft\\Windows\\X")]),
            ),
            ("{inf}", vars(&[("inf", "oem12.inf")])),
            ("no placeholder   here", vars(&[])),
        ];
        for (template, v) in cases {
            let text = fill(template, &v);
            assert_eq!(recover(template, &text), Some(v), "{template} / {text}");
        }
    }

    /// A stored diagnosis without `vars` is read back through [`recover`]: every template of
    /// every built-in rule must give its values back, including an empty one.
    #[test]
    fn every_builtin_text_reads_back() {
        let rules = RuleSet::builtin().expect("built-in rules compile");
        for rule in rules.rules() {
            let templates = rule.step_texts().map(|s| s.text.en).chain(
                rule.missing
                    .iter()
                    .flat_map(|m| [m.why.as_str(), m.how.as_str()]),
            );
            for template in templates {
                for value in ["Winmgmt", "C:\\Windows\\x (2).log", ""] {
                    let v: BTreeMap<String, String> = template::names(template)
                        .into_iter()
                        .map(|n| (n, value.to_string()))
                        .collect();
                    let text = fill(template, &v);
                    let back = recover(template, &text).expect("reads back");
                    assert_eq!(fill(template, &back), text, "{}: {template}", rule.id);
                }
            }
        }
    }

    #[test]
    fn recover_refuses_other_text() {
        assert_eq!(
            recover("Install the update {kb} again.", "Reboot now."),
            None
        );
    }
}
