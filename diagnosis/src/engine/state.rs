//! Per-bundle matching state: which signals and excludes of which rules matched which records.

use crate::parse::Record;
use crate::rule::{MatchRef, Matcher, Rule, RuleSet, kind_bit, level_rank};

/// One record a signal matched.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Index of the file in the scan's file list.
    pub file: usize,
    pub line: u64,
    /// Evidence text: the record's first line (plus the matched line when it is a later one).
    pub text: String,
    pub codes: Vec<u32>,
    /// Named captures with a non-empty value, trimmed and unquoted.
    pub captures: Vec<(String, String)>,
}

/// Position of a record in bundle order: (file index, line).
pub(crate) type Pos = (usize, u64);

/// What one rule collected over the bundle.
#[derive(Debug, Default)]
pub(crate) struct RuleState {
    /// Hits per signal, at most the rule's `max_evidence` each.
    pub signals: Vec<Vec<Hit>>,
    /// Last record each signal matched (also past `max_evidence`).
    pub last: Vec<Option<Pos>>,
    /// Last record each exclude matched.
    pub excluded: Vec<Option<Pos>>,
}

impl RuleState {
    pub fn new(rule: &Rule) -> RuleState {
        RuleState {
            signals: vec![Vec::new(); rule.signals.len()],
            last: vec![None; rule.signals.len()],
            excluded: vec![None; rule.excludes.len()],
        }
    }

    /// `(dropped, cap)` from the excludes that count (an `after` exclude only past the last
    /// record of a required signal).
    /// True when an exclude of the rule matched: the bundle holds the near miss the rule's
    /// author wrote down (an ignored failure, a repaired store, a later successful retry).
    pub fn near_miss(&self) -> bool {
        self.excluded.iter().any(Option::is_some)
    }

    pub fn exclusion(&self, rule: &Rule) -> (bool, Option<f64>) {
        let last_required = rule
            .signals
            .iter()
            .zip(&self.last)
            .filter(|(s, _)| s.required)
            .filter_map(|(_, p)| *p)
            .max();
        let mut dropped = false;
        let mut cap: Option<f64> = None;
        for (ex, pos) in rule.excludes.iter().zip(&self.excluded) {
            let Some(pos) = pos else { continue };
            if ex.after && last_required.is_some_and(|l| *pos <= l) {
                continue;
            }
            match ex.cap {
                Some(c) => cap = Some(cap.map_or(c, |old| old.min(c))),
                None => dropped = true,
            }
        }
        (dropped, cap)
    }
}

/// Longest evidence text kept (characters).
const MAX_TEXT: usize = 400;

/// Does `m` accept this record (kind already checked by the index)?
fn accepts(m: &Matcher, rank: u8, record: &Record) -> bool {
    if rank < m.min_level {
        return false;
    }
    if !m.codes.is_empty() && !m.codes.iter().any(|c| record.codes.contains(c)) {
        return false;
    }
    if let Some(re) = &m.pattern
        && !re.is_match(&record.text)
    {
        return false;
    }
    !m.unless.iter().any(|u| u.is_match(&record.text))
}

/// The candidate matchers for a record: prefilter hits plus code-only matchers.
pub(crate) fn candidates(
    rules: &RuleSet,
    kind: crate::parse::LogKind,
    record: &Record,
) -> Vec<MatchRef> {
    let bit = kind_bit(kind);
    let Some(index) = rules.kind_index(kind) else {
        return Vec::new();
    };
    let mut out: Vec<MatchRef> = Vec::new();
    if index.one_by_one {
        out.extend(all_pattern_refs(rules, bit));
    } else if !index.refs.is_empty() {
        out.extend(
            index
                .set
                .matches(&record.text)
                .iter()
                .map(|i| index.refs[i]),
        );
    }
    for code in &record.codes {
        if let Some(refs) = index.by_code.get(code) {
            out.extend(refs.iter().copied());
        }
    }
    out.sort_by_key(|r| match r {
        MatchRef::Signal(a, b) => (*a, 0, *b),
        MatchRef::Exclude(a, b) => (*a, 1, *b),
    });
    out.dedup();
    out
}

fn all_pattern_refs(rules: &RuleSet, bit: u16) -> Vec<MatchRef> {
    let mut out = Vec::new();
    for (ri, r) in rules.rules.iter().enumerate() {
        for (si, s) in r.signals.iter().enumerate() {
            if s.m.pattern.is_some() && s.m.kinds & bit != 0 {
                out.push(MatchRef::Signal(ri, si));
            }
        }
        for (ei, e) in r.excludes.iter().enumerate() {
            if e.m.pattern.is_some() && e.m.kinds & bit != 0 {
                out.push(MatchRef::Exclude(ri, ei));
            }
        }
    }
    out
}

/// The candidate matchers that accept `record` (pure: runs where the file is read).
pub(crate) fn accepted(rules: &RuleSet, cands: &[MatchRef], record: &Record) -> Vec<MatchRef> {
    let rank = level_rank(record.level);
    cands
        .iter()
        .copied()
        .filter(|r| {
            let m = match *r {
                MatchRef::Signal(ri, si) => &rules.rules[ri].signals[si].m,
                MatchRef::Exclude(ri, ei) => &rules.rules[ri].excludes[ei].m,
            };
            accepts(m, rank, record)
        })
        .collect()
}

/// Record the matchers that accepted a record (see [`accepted`]); returns the rules whose
/// signals matched it.
pub(crate) fn apply(
    rules: &RuleSet,
    states: &mut [RuleState],
    accepted: &[MatchRef],
    file: usize,
    record: &Record,
    event: bool,
) -> Vec<usize> {
    let mut matched_rules = Vec::new();
    for r in accepted {
        match *r {
            MatchRef::Signal(ri, si) => {
                let rule = &rules.rules[ri];
                let signal = &rule.signals[si];
                matched_rules.push(ri);
                states[ri].last[si] = Some((file, record.line));
                let hits = &mut states[ri].signals[si];
                if hits.len() < rule.max_evidence {
                    hits.push(hit(&signal.m, file, record, event));
                }
            }
            MatchRef::Exclude(ri, ei) => {
                states[ri].excluded[ei] = Some((file, record.line));
            }
        }
    }
    matched_rules.dedup();
    matched_rules
}

fn hit(m: &Matcher, file: usize, record: &Record, event: bool) -> Hit {
    let mut captures = Vec::new();
    let mut match_start = 0;
    if let Some(re) = &m.pattern
        && let Some(caps) = re.captures(&record.text)
    {
        match_start = caps.get(0).map_or(0, |c| c.start());
        for name in re.capture_names().flatten() {
            if let Some(v) = caps.name(name) {
                let v = clean_capture(v.as_str());
                if !v.is_empty() {
                    captures.push((name.to_string(), v));
                }
            }
        }
    }
    Hit {
        file,
        line: record.line,
        text: if event {
            event_text(&record.text)
        } else {
            evidence_text(&record.text, match_start)
        },
        codes: record.codes.clone(),
        captures,
    }
}

/// Trim whitespace and quotes from a capture.
fn clean_capture(s: &str) -> String {
    s.trim()
        .trim_matches(|c: char| matches!(c, '\'' | '"' | '‘' | '’' | '“' | '”'))
        .trim()
        .to_string()
}

/// First line of a record, plus the line holding the match when that is a later one.
pub(crate) fn evidence_text(text: &str, match_start: usize) -> String {
    let first_end = text.find('\n').unwrap_or(text.len());
    let mut out = text[..first_end].trim().to_string();
    if match_start > first_end {
        let line_start = text[..match_start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[match_start..]
            .find('\n')
            .map_or(text.len(), |i| match_start + i);
        out.push_str(" … ");
        out.push_str(text[line_start..line_end].trim());
    }
    truncate(&out, MAX_TEXT)
}

/// An event on one line: `Provider Id: message | key: value | …` (XML exports often have no
/// rendered message, so the data fields are the evidence).
pub(crate) fn event_text(text: &str) -> String {
    let joined: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    truncate(&joined.join(" | "), MAX_TEXT)
}

/// Truncate to `max` characters on a char boundary, marking the cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
