//! From matching state to findings: required groups, hints, correlation, excludes, evidence,
//! decoded codes, subject and steps.

use std::collections::{BTreeMap, BTreeSet};

use super::facts::Facts;
use super::state::{Hit, RuleState};
use crate::parse::StartType;
use crate::report::{Evidence, Finding, Missing, Step};
use crate::rule::{Correlate, Rule, RuleSet, render_template};

/// A finding plus what the engine needs afterwards.
pub(crate) struct Built {
    pub finding: Finding,
    /// Missing entries this finding asks for.
    pub missing: Vec<Missing>,
    /// Failing codes on the records of its matched signals (explained by it when confident).
    pub codes: BTreeSet<u32>,
}

/// Context shared by every rule's evaluation.
pub(crate) struct Ctx<'a> {
    pub rules: &'a RuleSet,
    pub facts: &'a Facts,
    pub paths: &'a [String],
    /// Kind of each file, by index (servicing logs come first in evidence).
    pub kinds: &'a [crate::parse::LogKind],
    /// Built-in template variables (kb, computer).
    pub vars: BTreeMap<String, String>,
}

/// Result of the correlation step.
struct Correlation {
    confidence: f64,
    value: Option<String>,
    evidence: Option<Evidence>,
    absent: bool,
}

/// Evaluate one rule; `None` when it does not fire and gives no hint.
pub(crate) fn evaluate(ctx: &Ctx<'_>, rule: &Rule, st: &RuleState) -> Option<Built> {
    let (dropped, cap) = st.exclusion(rule);
    if rule.fallback || dropped {
        return None;
    }
    let mut groups: BTreeMap<&str, bool> = BTreeMap::new();
    let mut support = 0.0;
    let mut any_support = false;
    let mut decisive = false;
    for (s, hits) in rule.signals.iter().zip(&st.signals) {
        decisive |= s.decisive && !hits.is_empty();
        if s.required {
            *groups.entry(&s.group).or_default() |= !hits.is_empty();
        } else if !hits.is_empty() {
            support += s.weight;
            any_support = true;
        }
    }
    let all = groups.values().all(|v| *v);
    let some = groups.values().any(|v| *v);
    let mut vars = captures(st);
    vars.extend(ctx.vars.clone());
    let (mut confidence, correlation, hint) = if all {
        let c = rule.correlate.as_ref().map(|c| correlate(ctx, c, &vars));
        let base = c.as_ref().map_or(rule.confidence, |c| c.confidence);
        (base + support, c, false)
    } else if decisive {
        // The line names the failure by itself: a finding, with what would confirm it.
        let base = crate::rule::DECISIVE.min(rule.confidence);
        (base + support, None, true)
    } else {
        let h = rule.hint.as_ref()?;
        if !(some || (h.any && any_support)) {
            return None;
        }
        (h.confidence, None, true)
    };
    if let Some(cap) = cap {
        confidence = confidence.min(cap);
    }
    confidence = round2(confidence.clamp(0.0, 0.99));
    if let (Some(c), Some(corr)) = (&rule.correlate, &correlation)
        && let Some(v) = &corr.value
    {
        vars.insert(c.subject.clone(), v.clone());
    }
    let correlated = correlation.as_ref().and_then(|c| c.evidence.clone());
    let evidence = evidence(ctx, rule, st, correlated);
    let missing = missing(ctx, rule, correlation.as_ref(), &vars);
    let codes = hit_codes(st);
    Some(Built {
        finding: Finding {
            root_cause: rule.root_cause.clone(),
            rule: rule.id.clone(),
            title: rule.title.clone(),
            confidence,
            subject: subject(rule, &vars),
            codes: decoded(rule, &codes),
            evidence,
            steps: steps(rule, &vars),
            confirm: rule
                .hint
                .as_ref()
                .filter(|_| hint)
                .map(|h| h.confirm.clone())
                .unwrap_or_default(),
            vars: step_vars(rule, &vars),
        },
        missing,
        codes,
    })
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Captures of every hit, in signal order; the first non-empty value of a name wins.
fn captures(st: &RuleState) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for hits in &st.signals {
        for h in hits {
            for (k, v) in &h.captures {
                vars.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    vars
}

fn all_capture_values<'a>(st_vars: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    st_vars.get(name).map(String::as_str)
}

fn correlate(ctx: &Ctx<'_>, c: &Correlate, vars: &BTreeMap<String, String>) -> Correlation {
    let table = ctx.rules.tables.get(&c.table);
    let mapped = c
        .capture
        .iter()
        .filter_map(|name| all_capture_values(vars, name))
        .find_map(|v| table.and_then(|t| t.get(v)))
        .map(str::to_string);
    let Some(service) = mapped else {
        return Correlation {
            confidence: c.when_unmapped,
            value: None,
            evidence: None,
            absent: false,
        };
    };
    match ctx.facts.services.get(&service.to_lowercase()) {
        Some(fact) => {
            let start = start_name(fact.start);
            let expected = c.expect_start.iter().any(|e| e == start);
            Correlation {
                confidence: if expected {
                    c.when_expected
                } else {
                    c.when_other
                },
                value: Some(service),
                evidence: Some(Evidence {
                    file: ctx.paths.get(fact.file).cloned().unwrap_or_default(),
                    line: fact.line,
                    text: fact.text.clone(),
                }),
                absent: false,
            }
        }
        None => Correlation {
            confidence: c.when_absent,
            value: Some(service),
            evidence: None,
            absent: true,
        },
    }
}

/// Start-type names used in `expect_start`.
pub(crate) fn start_name(s: StartType) -> &'static str {
    match s {
        StartType::Boot => "boot",
        StartType::System => "system",
        StartType::Auto => "auto",
        StartType::Manual => "manual",
        StartType::Disabled => "disabled",
    }
}

/// Evidence, at most `max_evidence`: the required signals' records (file/line order), then the
/// correlated service record, then the supporting signals' records.
fn evidence(
    ctx: &Ctx<'_>,
    rule: &Rule,
    st: &RuleState,
    correlated: Option<Evidence>,
) -> Vec<Evidence> {
    let mut seen = BTreeSet::new();
    let mut pick = |required: bool| {
        let mut v: Vec<&Hit> = rule
            .signals
            .iter()
            .zip(&st.signals)
            .filter(|(s, _)| s.required == required)
            .flat_map(|(_, hits)| hits)
            .filter(|h| seen.insert((h.file, h.line)))
            .collect();
        v.sort_by_key(|h| (kind_rank(ctx.kinds.get(h.file)), h.file, h.line));
        v.into_iter()
            .map(|h| Evidence {
                file: ctx.paths.get(h.file).cloned().unwrap_or_default(),
                line: h.line,
                text: h.text.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut out = pick(true);
    out.extend(correlated);
    out.extend(pick(false));
    out.truncate(rule.max_evidence);
    out
}

/// Evidence order between files: the servicing logs, then service snapshots, then events.
fn kind_rank(kind: Option<&crate::parse::LogKind>) -> u8 {
    use crate::parse::LogKind as K;
    match kind {
        Some(K::Cbs | K::Dism) => 0,
        Some(K::Windowsupdate | K::Setupapi | K::Panther) => 1,
        Some(K::Services) => 2,
        Some(K::Evtx | K::EventText | K::EventXml) => 3,
        _ => 4,
    }
}

fn hit_codes(st: &RuleState) -> BTreeSet<u32> {
    st.signals
        .iter()
        .flatten()
        .flat_map(|h| h.codes.iter().copied())
        .filter(|c| *c >= 0x8000_0000)
        .collect()
}

/// `decode` codes seen on the evidence, in `decode` order; without `decode`, every failing code.
fn decoded(rule: &Rule, seen: &BTreeSet<u32>) -> Vec<crate::report::CodeInfo> {
    let list: Vec<u32> = if rule.decode.is_empty() {
        seen.iter().copied().take(8).collect()
    } else {
        rule.decode
            .iter()
            .copied()
            .filter(|c| seen.contains(c))
            .collect()
    };
    list.into_iter().map(crate::codes::lookup).collect()
}

fn subject(rule: &Rule, vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    rule.subject
        .iter()
        .filter(|(_, t)| {
            crate::rule::template_names(t)
                .iter()
                .all(|n| vars.contains_key(n))
        })
        .map(|(k, t)| (k.clone(), render_template(t, vars)))
        .collect()
}

pub(crate) fn steps(rule: &Rule, vars: &BTreeMap<String, String>) -> Vec<Step> {
    // An unknown KB reads better as "install the update again" than as "<kb>".
    let mut vars = vars.clone();
    vars.entry("kb".to_string()).or_default();
    let text = |t: &str| {
        render_template(t, &vars)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    rule.steps
        .iter()
        .map(|s| Step {
            text: text(&s.text),
            command: s.command.as_deref().map(|c| render_template(c, &vars)),
        })
        .collect()
}

/// The values the rule's step texts (in any language) need, so that a renderer can fill them:
/// the finding's `vars`. An unknown KB is kept empty, as the steps read it.
pub(crate) fn step_vars(rule: &Rule, vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let names: BTreeSet<String> = rule
        .steps
        .iter()
        .flat_map(|s| [s.text.as_str(), s.text_zh.as_str()])
        .flat_map(crate::rule::template_names)
        .collect();
    names
        .into_iter()
        .map(|n| {
            let v = vars.get(&n).cloned().unwrap_or_default();
            (n, v)
        })
        .filter(|(n, v)| !v.is_empty() || n == "kb")
        .collect()
}

/// The rule's `[[missing]]` entries the bundle does not satisfy, and the correlation's one.
fn missing(
    ctx: &Ctx<'_>,
    rule: &Rule,
    corr: Option<&Correlation>,
    vars: &BTreeMap<String, String>,
) -> Vec<Missing> {
    let corr_kind = rule
        .correlate
        .as_ref()
        .and_then(|c| c.missing.as_deref())
        .filter(|_| corr.is_some_and(|c| c.absent));
    rule.missing
        .iter()
        .filter(|m| {
            let by: Vec<&str> = if m.satisfied_by.is_empty() {
                vec![m.kind.as_str()]
            } else {
                m.satisfied_by.iter().map(String::as_str).collect()
            };
            corr_kind == Some(m.kind.as_str()) || !by.iter().any(|k| ctx.facts.has(k))
        })
        .map(|m| Missing {
            kind: m.kind.clone(),
            why: render_template(&m.why, vars),
            how: render_template(&m.how, vars),
            rule: Some(rule.id.clone()),
            vars: [&m.why, &m.how, &m.why_zh, &m.how_zh]
                .into_iter()
                .flat_map(|t| crate::rule::template_names(t))
                .filter_map(|n| vars.get(&n).map(|v| (n, v.clone())))
                .collect(),
        })
        .collect()
}

/// Confirmation asked for by a finding that rests on an error code alone (`{code}`: the code).
/// It comes first in the finding's `confirm`, before the lending rule's own.
pub const PRIOR_CONFIRM: crate::rule::Texts<'static> = crate::rule::Texts {
    en: "Only the error code {code} points to this cause. Send the full logs (C:\\Windows\\Logs\\CBS\\*, C:\\Windows\\Logs\\DISM\\dism.log and the System and Setup event logs) to confirm it.",
    zh: "仅凭错误代码 {code} 推断出此原因。请发送完整日志（C:\\Windows\\Logs\\CBS\\*、C:\\Windows\\Logs\\DISM\\dism.log 以及系统和 Setup 事件日志）以便确认。",
};

/// A finding from a code prior: `rule` lends the title and steps of its root cause; the
/// evidence is the failing lines that carry `code`.
pub(crate) fn from_prior(
    rule: &Rule,
    code: u32,
    confidence: f64,
    evidence: &[Evidence],
    vars: &BTreeMap<String, String>,
) -> Built {
    let hex = format!("{code:#010x}");
    let mut confirm = vec![PRIOR_CONFIRM.en.replace("{code}", &hex)];
    if let Some(h) = &rule.hint {
        confirm.extend(h.confirm.iter().cloned());
    }
    Built {
        finding: Finding {
            root_cause: rule.root_cause.clone(),
            rule: "code-prior".to_string(),
            title: rule.title.clone(),
            confidence: round2(confidence),
            subject: BTreeMap::new(),
            codes: vec![crate::codes::lookup(code)],
            evidence: evidence.iter().take(rule.max_evidence).cloned().collect(),
            steps: steps(rule, vars),
            confirm,
            vars: step_vars(rule, vars),
        },
        missing: Vec::new(),
        codes: BTreeSet::from([code]),
    }
}
