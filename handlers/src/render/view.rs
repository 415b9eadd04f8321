//! Purpose: the typed view model every renderer draws from (docs/ARCHITECTURE.md, "One
//! presentation layer"). A [`DiagnosisView`] or [`CaseView`] is built once from the stored data,
//! the rule set, the language and the audience; the chat replies, the close summary, the
//! terminal report and the web pages then only lay it out.
//!
//! Building a view is where a diagnosis meets its language. The diagnosis holds ids, values and
//! English texts (`casebot.diagnosis.v2`); the other language comes from the rule set, found by
//! the finding's rule id (or, for a finding made from a code prior, its root cause) and filled
//! with the finding's `vars`, and from the code table. A stored diagnosis older than `vars`
//! gets the values back from its English text. Where nothing matches (the rule was removed or
//! rewritten since), the English text is shown rather than a wrong one.
//!
//! A customer's view holds no log line: evidence and unexplained failures are left out when the
//! view is built, so no renderer can show them by mistake.

use std::collections::{BTreeMap, BTreeSet};

use diagnosis::report::{
    BundleSummary, CONFIDENT, Device, Evidence, Finding, Missing, Step, Unexplained,
};
use diagnosis::rule::{Rule, StepTexts, Texts, fill, recover};
use diagnosis::{Diagnosis, Lang, RuleSet};
use store::{BundleRef, Case, CaseId, CaseStatus, DeviceStatus, TimelineEntry};

use super::{View, fmt};
use crate::Role;

/// A decoded error code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeView<'a> {
    /// `0x` + 8 hex digits.
    pub code: &'a str,
    /// Symbolic name (empty if unknown).
    pub name: &'a str,
    /// Meaning in the view's language (empty if unknown).
    pub meaning: String,
}

/// One fix step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepView<'a> {
    /// What to do, in the view's language.
    pub text: String,
    /// The exact command, if any.
    pub command: Option<&'a str>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingView<'a> {
    /// Root-cause id.
    pub root_cause: &'a str,
    /// Rule id (`code-prior` for a finding made from an error code alone).
    pub rule: &'a str,
    /// Title in the view's language.
    pub title: String,
    /// What it is about, for titles: ` (WMI, Winmgmt)` / `（WMI, Winmgmt）`, or empty.
    pub subject_suffix: String,
    /// What it is about, by key (`service` → `Winmgmt`).
    pub subject: &'a BTreeMap<String, String>,
    /// Calibrated confidence 0.0–1.0.
    pub confidence: f64,
    /// At or above [`CONFIDENT`]: a diagnosis, not a hint.
    pub confident: bool,
    /// Decoded codes.
    pub codes: Vec<CodeView<'a>>,
    /// Evidence lines (engineers only).
    pub evidence: &'a [Evidence],
    /// Fix steps.
    pub steps: Vec<StepView<'a>>,
    /// What would confirm a hint.
    pub confirm: Vec<String>,
}

impl FindingView<'_> {
    /// Title and subject: `WMI service disabled (WMI, Winmgmt)`.
    pub fn full_title(&self) -> String {
        format!("{}{}", self.title, self.subject_suffix)
    }
}

/// A log the bundle lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingView<'a> {
    /// Kind (`services`, `event-system`, …).
    pub kind: &'a str,
    /// Why it is needed, in the view's language.
    pub why: String,
    /// How to collect it, in the view's language.
    pub how: String,
}

/// One diagnosis, ready to lay out.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosisView<'a> {
    /// Language of every text.
    pub lang: Lang,
    /// Audience.
    pub role: Role,
    /// Every finding, highest confidence first.
    pub findings: Vec<FindingView<'a>>,
    /// What was read (names, files, skipped files).
    pub bundle: &'a BundleSummary,
    /// The device the bundle came from.
    pub device: &'a Device,
    /// Logs the bundle lacks.
    pub missing: Vec<MissingView<'a>>,
    /// Failures no rule explains (engineers only).
    pub unexplained: &'a [Unexplained],
    /// Version of the rule set that made the diagnosis.
    pub rules_version: &'a str,
}

impl<'a> DiagnosisView<'a> {
    /// The view of `d` for `view`'s reader, with texts from `rules`.
    pub fn new(d: &'a Diagnosis, rules: &RuleSet, view: View) -> DiagnosisView<'a> {
        let engineer = view.role == Role::Engineer;
        DiagnosisView {
            lang: view.lang,
            role: view.role,
            findings: d.findings.iter().map(|f| finding(f, rules, view)).collect(),
            bundle: &d.bundle,
            device: &d.device,
            missing: d
                .bundle
                .missing
                .iter()
                .map(|m| missing(m, rules, view.lang))
                .collect(),
            unexplained: if engineer { &d.unexplained } else { &[] },
            rules_version: &d.rules_version,
        }
    }

    /// The top finding if it is confident.
    pub fn top(&self) -> Option<&FindingView<'a>> {
        self.findings.first().filter(|f| f.confident)
    }

    /// The findings after the top one (all of them when none is confident).
    pub fn alternatives(&self) -> &[FindingView<'a>] {
        let skip = usize::from(self.top().is_some());
        self.findings.get(skip..).unwrap_or_default()
    }
}

/// One device of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceView<'a> {
    /// Device name.
    pub name: &'a str,
    /// Status.
    pub status: DeviceStatus,
    /// Bundles, oldest first.
    pub bundles: &'a [BundleRef],
    /// The verification note.
    pub verification: Option<&'a str>,
    /// The latest diagnosis.
    pub diagnosis: Option<DiagnosisView<'a>>,
}

/// One case, ready to lay out.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView<'a> {
    /// Language of every text.
    pub lang: Lang,
    /// Audience.
    pub role: Role,
    /// Case id.
    pub id: &'a CaseId,
    /// Title.
    pub title: &'a str,
    /// Problem definition.
    pub problem: &'a str,
    /// Status.
    pub status: CaseStatus,
    /// Who opened it.
    pub opener: &'a str,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
    /// Reason given at close.
    pub close_reason: Option<&'a str>,
    /// Devices, by name.
    pub devices: Vec<DeviceView<'a>>,
    /// Every update (KB) the diagnoses name, sorted.
    pub updates: Vec<&'a str>,
    /// Every OS build the diagnoses name, sorted.
    pub builds: Vec<&'a str>,
    /// Every event.
    pub timeline: &'a [TimelineEntry],
}

impl<'a> CaseView<'a> {
    /// The view of `case` for `view`'s reader, with texts from `rules`.
    pub fn new(case: &'a Case, rules: &RuleSet, view: View) -> CaseView<'a> {
        let diagnoses = || case.devices.values().filter_map(|d| d.diagnosis.as_ref());
        let updates: BTreeSet<&str> = diagnoses()
            .flat_map(|d| d.device.updates.iter().map(String::as_str))
            .collect();
        let builds: BTreeSet<&str> = diagnoses()
            .filter_map(|d| d.device.os_build.as_deref())
            .collect();
        CaseView {
            lang: view.lang,
            role: view.role,
            id: &case.id,
            title: &case.title,
            problem: &case.problem,
            status: case.status,
            opener: &case.opener,
            created_at: case.created_at,
            updated_at: case.updated_at,
            close_reason: case.close_reason.as_deref(),
            devices: case
                .devices
                .values()
                .map(|d| DeviceView {
                    name: &d.name,
                    status: d.status,
                    bundles: &d.bundles,
                    verification: d.verification.as_deref(),
                    diagnosis: d
                        .diagnosis
                        .as_ref()
                        .map(|x| DiagnosisView::new(x, rules, view)),
                })
                .collect(),
            updates: updates.into_iter().collect(),
            builds: builds.into_iter().collect(),
            timeline: &case.timeline,
        }
    }

    /// Notes people added by hand, in order.
    pub fn notes(&self) -> impl Iterator<Item = &'a TimelineEntry> {
        self.timeline.iter().filter(|e| e.kind == "note")
    }
}

/// The title of `f` in `lang`, for lists that need nothing else of a finding (dashboards,
/// search results, status lines).
pub fn finding_title(f: &Finding, rules: &RuleSet, lang: Lang) -> String {
    localized(lang, &f.title, rule_of(f, rules).map(Rule::title_texts))
}

/// The rule a finding's texts come from: its own, else (a code prior) the rule that lent them.
fn rule_of<'r>(f: &Finding, rules: &'r RuleSet) -> Option<&'r Rule> {
    rules
        .rule(&f.rule)
        .filter(|r| r.root_cause == f.root_cause)
        .or_else(|| rules.lender(&f.root_cause))
}

/// English from the data; another language from `texts` when there are some.
fn localized(lang: Lang, en: &str, texts: Option<Texts<'_>>) -> String {
    match (lang, texts) {
        (Lang::En, _) | (_, None) => en.to_string(),
        (_, Some(t)) => t.get(lang).to_string(),
    }
}

fn finding<'a>(f: &'a Finding, rules: &RuleSet, view: View) -> FindingView<'a> {
    let lang = view.lang;
    let engineer = view.role == Role::Engineer;
    let rule = rule_of(f, rules);
    FindingView {
        root_cause: &f.root_cause,
        rule: &f.rule,
        title: localized(lang, &f.title, rule.map(Rule::title_texts)),
        subject_suffix: subject_suffix(f, lang),
        subject: &f.subject,
        confidence: f.confidence,
        confident: f.confidence >= CONFIDENT,
        codes: f
            .codes
            .iter()
            .map(|c| CodeView {
                code: &c.code,
                name: &c.name,
                meaning: localized(lang, &c.meaning, diagnosis::codes::meaning_texts(&c.code)),
            })
            .collect(),
        evidence: if engineer { &f.evidence } else { &[] },
        steps: steps(f, rule, lang),
        confirm: confirm(f, rule, lang),
    }
}

fn subject_suffix(f: &Finding, lang: Lang) -> String {
    let values: Vec<&str> = f
        .subject
        .values()
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty() && !v.starts_with('<'))
        .collect();
    if values.is_empty() {
        String::new()
    } else {
        fmt(lang, "render.subject", &[("values", &values.join(", "))])
    }
}

fn steps<'a>(f: &'a Finding, rule: Option<&Rule>, lang: Lang) -> Vec<StepView<'a>> {
    let templates: Vec<StepTexts<'_>> = rule.map(|r| r.step_texts().collect()).unwrap_or_default();
    f.steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepView {
            text: step_text(lang, s, templates.get(i), &f.vars),
            command: s.command.as_deref(),
        })
        .collect()
}

/// A step in `lang`: the rule's template filled with the finding's values. The template must
/// give back the stored English text; values the finding lacks (stored before `vars` existed)
/// are read from that text.
fn step_text(
    lang: Lang,
    step: &Step,
    template: Option<&StepTexts<'_>>,
    vars: &BTreeMap<String, String>,
) -> String {
    let Some(t) = template.filter(|_| lang != Lang::En) else {
        return step.text.clone();
    };
    match values_for(t.text.en, &step.text, vars, fill) {
        Some(v) => fill(t.text.get(lang), &v),
        None => step.text.clone(),
    }
}

/// `vars`, completed from `text` where they do not give it back from `template` with
/// `render`; `None` when `text` is not a rendering of `template`.
fn values_for(
    template: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    render: fn(&str, &BTreeMap<String, String>) -> String,
) -> Option<BTreeMap<String, String>> {
    if render(template, vars) == text {
        return Some(vars.clone());
    }
    let mut v = vars.clone();
    v.extend(recover(template, text)?);
    (render(template, &v)
        .split_whitespace()
        .eq(text.split_whitespace()))
    .then_some(v)
}

/// What would confirm a hint, in `lang`: a code prior's own line, then the rule's `[hint]`
/// lines; the English ones when the rule's do not line up with them.
fn confirm(f: &Finding, rule: Option<&Rule>, lang: Lang) -> Vec<String> {
    if lang == Lang::En || f.confirm.is_empty() {
        return f.confirm.clone();
    }
    let Some(rule) = rule else {
        return f.confirm.clone();
    };
    let mut out = Vec::new();
    if f.rule == "code-prior" {
        let code = f.codes.first().map_or("", |c| c.code.as_str());
        out.push(
            diagnosis::engine::PRIOR_CONFIRM
                .get(lang)
                .replace("{code}", code),
        );
    }
    out.extend(rule.confirm_texts().map(|t| t.get(lang).to_string()));
    if out.len() == f.confirm.len() {
        out
    } else {
        f.confirm.clone()
    }
}

/// A missing log in `lang`: the texts of the rule that asked for it, or the bundle-level ones;
/// a stored entry without a rule id is matched by its English text.
fn missing<'a>(m: &'a Missing, rules: &RuleSet, lang: Lang) -> MissingView<'a> {
    let english = || MissingView {
        kind: &m.kind,
        why: m.why.clone(),
        how: m.how.clone(),
    };
    if lang == Lang::En {
        return english();
    }
    let candidates: Vec<(Texts<'_>, Texts<'_>)> = match &m.rule {
        Some(id) => rules
            .rule(id)
            .and_then(|r| r.missing_texts(&m.kind))
            .into_iter()
            .collect(),
        None => diagnosis::engine::missing_texts(&m.kind)
            .into_iter()
            .chain(
                rules
                    .rules()
                    .iter()
                    .filter_map(|r| r.missing_texts(&m.kind)),
            )
            .collect(),
    };
    let render = diagnosis::rule::render;
    candidates
        .into_iter()
        .find_map(|(why, how)| {
            let v = values_for(why.en, &m.why, &m.vars, render)?;
            let v = values_for(how.en, &m.how, &v, render)?;
            Some(MissingView {
                kind: &m.kind,
                why: render(why.get(lang), &v),
                how: render(how.get(lang), &v),
            })
        })
        .unwrap_or_else(english)
}
