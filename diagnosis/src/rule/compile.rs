//! Rule files → compiled [`RuleSet`]: validation (every problem names the file and the field),
//! regex compilation, and the per-kind prefilter index.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::spec::{MatchSpec, RuleSpec, TableSpec};
use super::{
    Correlate, Exclude, Hint, KINDS, KindIndex, KindSet, MatchRef, Matcher, Noise, ROOT_CAUSES,
    Rule, RuleSet, Signal, Table, kind_bit, normalise_key, parse_rule_code, template, version_of,
};

/// `(file, reason)`.
pub(crate) type Problem = (String, String);

/// Regex size limit per pattern: generous for rule authors, bounded against accidents.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// Compile every file; the set holds the rules that compiled, `problems` the rest.
pub(crate) fn compile_files(files: &[(String, String)]) -> (RuleSet, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut tables = BTreeMap::new();
    let mut noise = Noise::default();
    for (path, text) in files.iter().filter(|(p, _)| is_table(p)) {
        let name = stem(path);
        match compile_table(text) {
            Ok((table, n)) => {
                if name == "noise" {
                    let priors = std::mem::take(&mut noise.priors);
                    noise = n;
                    noise.priors.extend(priors);
                } else if name == "code-priors" {
                    noise.priors = n.priors;
                }
                tables.insert(name.to_string(), table);
            }
            Err(reason) => problems.push((path.clone(), reason)),
        }
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| !is_table(p)) {
        match compile_rule(path, text, &tables) {
            Ok(rule) => {
                if let Some(other) = rules.iter().find(|r| r.id == rule.id) {
                    let reason = format!("id: `{}` is also used by {}", rule.id, other.file);
                    problems.push((path.clone(), reason));
                } else {
                    rules.push(rule);
                }
            }
            Err(errs) => problems.extend(errs.into_iter().map(|e| (path.clone(), e))),
        }
    }
    // A prior's finding takes its title and steps from a rule of its root cause.
    for (code, causes) in &noise.priors {
        for cause in causes {
            if !rules.iter().any(|r| &r.root_cause == cause && !r.fallback)
                && cause != "unknown-servicing-failure"
            {
                problems.push((
                    "tables/code-priors.toml".to_string(),
                    format!("prior {code:#010x}: no rule has root cause `{cause}`"),
                ));
            }
        }
    }
    (build(rules, tables, noise, version_of(files)), problems)
}

fn is_table(path: &str) -> bool {
    path.starts_with("tables/")
}

fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".toml").unwrap_or(name)
}

/// Assemble a rule set and its prefilter index.
pub(crate) fn build(
    rules: Vec<Rule>,
    tables: BTreeMap<String, Table>,
    noise: Noise,
    version: String,
) -> RuleSet {
    RuleSet {
        rules,
        tables,
        noise,
        index: KINDS.iter().map(|_| std::sync::OnceLock::new()).collect(),
        set_cache: std::sync::Mutex::default(),
        search: KINDS.iter().map(|_| std::sync::OnceLock::new()).collect(),
        version,
    }
}

/// The prefilter of one kind. Kinds read by the same patterns share one compiled set
/// (`cache`; RegexSet clones are cheap).
pub(crate) fn kind_index(
    rules: &[Rule],
    bit: KindSet,
    cache: &mut HashMap<Vec<String>, Option<RegexSet>>,
) -> KindIndex {
    let mut patterns = Vec::new();
    let mut refs = Vec::new();
    let mut by_code: HashMap<u32, Vec<MatchRef>> = HashMap::new();
    let mut add = |m: &Matcher, r: MatchRef| {
        if m.kinds & bit == 0 {
            return;
        }
        match &m.pattern {
            Some(re) => {
                patterns.push(re.as_str().to_string());
                refs.push(r);
            }
            None => {
                for c in &m.codes {
                    by_code.entry(*c).or_default().push(r);
                }
            }
        }
    };
    for (ri, rule) in rules.iter().enumerate() {
        for (si, s) in rule.signals.iter().enumerate() {
            add(&s.m, MatchRef::Signal(ri, si));
        }
        for (ei, e) in rule.excludes.iter().enumerate() {
            add(&e.m, MatchRef::Exclude(ri, ei));
        }
    }
    // Every pattern compiled on its own already; should the combined set exceed its size limit,
    // the matchers run one by one instead.
    let built = cache.entry(patterns.clone()).or_insert_with(|| {
        RegexSetBuilder::new(&patterns)
            .size_limit(REGEX_SIZE_LIMIT * 8)
            .build()
            .ok()
    });
    let Some(set) = built.clone() else {
        return KindIndex {
            set: RegexSet::empty(),
            refs: Vec::new(),
            by_code,
            one_by_one: !patterns.is_empty(),
        };
    };
    KindIndex {
        set,
        refs,
        by_code,
        one_by_one: false,
    }
}

fn compile_table(text: &str) -> Result<(Table, Noise), String> {
    let spec: TableSpec = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
    let mut map = HashMap::new();
    for (i, entry) in spec.entries.iter().enumerate() {
        if entry.value.trim().is_empty() {
            return Err(format!("entry[{i}].value: empty"));
        }
        for key in &entry.keys {
            map.insert(normalise_key(key), entry.value.clone());
        }
    }
    let mut patterns = Vec::new();
    for (i, p) in spec.patterns.iter().enumerate() {
        let re = compile_regex(p, false).map_err(|e| format!("patterns[{i}]: {e}"))?;
        patterns.push(re.as_str().to_string());
    }
    let patterns = RegexSet::new(&patterns).map_err(|e| format!("patterns: {e}"))?;
    let parse = |list: &[String], field: &str| -> Result<Vec<u32>, String> {
        list.iter()
            .map(|c| parse_rule_code(c).ok_or_else(|| format!("{field}: `{c}` is not a code")))
            .collect()
    };
    let codes = parse(&spec.codes, "codes")?;
    let consequences = parse(&spec.consequences, "consequences")?;
    let mut priors = BTreeMap::new();
    for (i, p) in spec.priors.iter().enumerate() {
        let code = parse_rule_code(&p.code)
            .ok_or_else(|| format!("prior[{i}].code: `{}` is not a code", p.code))?;
        if p.causes.is_empty() || p.causes.len() > 3 {
            return Err(format!("prior[{i}] ({}): name 1 to 3 causes", p.code));
        }
        if let Some(bad) = p.causes.iter().find(|c| !ROOT_CAUSES.contains(&c.as_str())) {
            return Err(format!(
                "prior[{i}] ({}): unknown root cause `{bad}`",
                p.code
            ));
        }
        if priors.insert(code, p.causes.clone()).is_some() {
            return Err(format!("prior[{i}]: code {} is listed twice", p.code));
        }
    }
    Ok((
        Table { map },
        Noise {
            patterns,
            codes,
            consequences,
            priors,
        },
    ))
}

/// First line of a (possibly multi-line) error message.
fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn compile_regex(pattern: &str, case_sensitive: bool) -> Result<Regex, String> {
    let source = if case_sensitive {
        pattern.to_string()
    } else {
        format!("(?i){pattern}")
    };
    RegexBuilder::new(&source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| one_line(&e.to_string()))
}

/// Compile one rule file; every problem found, each naming its field.
pub(crate) fn compile_rule(
    path: &str,
    text: &str,
    tables: &BTreeMap<String, Table>,
) -> Result<Rule, Vec<String>> {
    let spec: RuleSpec = toml::from_str(text).map_err(|e| vec![one_line(&e.to_string())])?;
    let mut errs = Vec::new();
    check_header(path, &spec, &mut errs);
    let signals = compile_signals(&spec, &mut errs);
    let excludes = compile_excludes(&spec, &mut errs);
    let hint = compile_hint(&spec, &mut errs);
    let correlate = compile_correlate(&spec, tables, &mut errs);
    check_templates(&spec, &signals, &mut errs);
    let decode = codes(&spec.decode, "decode", &mut errs);
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Rule {
        signature: signature(&spec),
        id: spec.id,
        root_cause: spec.root_cause,
        title: spec.title,
        title_zh: spec.title_zh,
        confidence: spec.confidence,
        fixtures: spec.fixtures,
        fallback: spec.fallback,
        file: path.to_string(),
        max_evidence: spec.max_evidence.unwrap_or(12),
        decode,
        subject: spec.subject,
        signals,
        excludes,
        hint,
        correlate,
        steps: spec.steps,
        missing: spec.missing,
    })
}

fn check_header(path: &str, spec: &RuleSpec, errs: &mut Vec<String>) {
    if spec.id != stem(path) {
        errs.push(format!(
            "id: `{}` must equal the file stem `{}`",
            spec.id,
            stem(path)
        ));
    }
    if !ROOT_CAUSES.contains(&spec.root_cause.as_str()) {
        errs.push(format!(
            "root_cause: `{}` is not in the root-cause vocabulary",
            spec.root_cause
        ));
    }
    if !(spec.confidence > 0.0 && spec.confidence < 1.0) {
        errs.push(format!(
            "confidence: {} must be between 0 and 1",
            spec.confidence
        ));
    }
    if let Some(s) = &spec.status
        && s != "stable"
        && s != "experimental"
    {
        errs.push(format!("status: `{s}` (expected stable or experimental)"));
    }
    if spec.title.trim().is_empty() || spec.title_zh.trim().is_empty() {
        errs.push("title/title_zh: both must be given".to_string());
    }
    if spec.max_evidence == Some(0) {
        errs.push("max_evidence: must be at least 1".to_string());
    }
    if spec.fallback && !spec.signals.is_empty() {
        errs.push("signal: a fallback rule has no signals".to_string());
    }
    if !spec.fallback && !spec.signals.iter().any(|s| s.required.unwrap_or(true)) {
        errs.push("signal: at least one required signal is needed".to_string());
    }
    for (i, step) in spec.steps.iter().enumerate() {
        if step.text.trim().is_empty() || step.text_zh.trim().is_empty() {
            errs.push(format!("step[{i}]: text and text_zh must both be given"));
        }
    }
    for (i, m) in spec.missing.iter().enumerate() {
        if m.kind.trim().is_empty() || m.why_zh.is_empty() || m.how_zh.is_empty() {
            errs.push(format!(
                "missing[{i}]: kind, why, how, why_zh and how_zh are required"
            ));
        }
        for k in &m.satisfied_by {
            if parse_kinds(std::slice::from_ref(k)).is_err() {
                errs.push(format!("missing[{i}].satisfied_by: unknown kind `{k}`"));
            }
        }
    }
}

fn codes(list: &[String], field: &str, errs: &mut Vec<String>) -> Vec<u32> {
    let mut out = Vec::new();
    for c in list {
        match parse_rule_code(c) {
            Some(v) => out.push(v),
            None => errs.push(format!("{field}: `{c}` is not a code")),
        }
    }
    out
}

/// Parse kind names; empty means every kind.
pub(crate) fn parse_kinds(kinds: &[String]) -> Result<KindSet, String> {
    if kinds.is_empty() {
        return Ok(KindSet::MAX);
    }
    let mut set = 0;
    for k in kinds {
        set |= match k.as_str() {
            "any" => KindSet::MAX,
            "event" => {
                kind_bit(crate::parse::LogKind::Evtx)
                    | kind_bit(crate::parse::LogKind::EventText)
                    | kind_bit(crate::parse::LogKind::EventXml)
            }
            other => match KINDS.iter().find(|kind| kind.as_str() == other) {
                Some(kind) => kind_bit(*kind),
                None => return Err(format!("unknown kind `{other}`")),
            },
        };
    }
    Ok(set)
}

fn compile_matcher(m: &MatchSpec, field: &str, errs: &mut Vec<String>) -> Option<Matcher> {
    let before = errs.len();
    let kinds = parse_kinds(&m.kinds)
        .map_err(|e| errs.push(format!("{field}.kinds: {e}")))
        .unwrap_or(0);
    let pattern = m.pattern.as_deref().and_then(|p| {
        compile_regex(p, m.case_sensitive)
            .map_err(|e| errs.push(format!("{field}.pattern: {e}")))
            .ok()
    });
    let codes = codes(&m.codes, &format!("{field}.codes"), errs);
    if m.pattern.is_none() && m.codes.is_empty() {
        errs.push(format!("{field}: needs a pattern or codes"));
    }
    let min_level = match m.level.as_deref() {
        None | Some("info") => 0,
        Some("warning") => 1,
        Some("error") => 2,
        Some(other) => {
            errs.push(format!(
                "{field}.level: `{other}` (expected info, warning or error)"
            ));
            0
        }
    };
    let mut unless = Vec::new();
    for (i, u) in m.unless.iter().enumerate() {
        match compile_regex(u, m.case_sensitive) {
            Ok(re) => unless.push(re),
            Err(e) => errs.push(format!("{field}.unless[{i}]: {e}")),
        }
    }
    (errs.len() == before).then(|| Matcher {
        kinds,
        pattern,
        codes,
        min_level,
        unless,
    })
}

fn compile_signals(spec: &RuleSpec, errs: &mut Vec<String>) -> Vec<Signal> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for s in &spec.signals {
        let field = format!("signal `{}`", s.name);
        if s.name.trim().is_empty() || !names.insert(s.name.clone()) {
            errs.push(format!("{field}: name must be non-empty and unique"));
        }
        if s.cap.is_some() || s.after {
            errs.push(format!("{field}: cap and after belong to excludes"));
        }
        if s.decisive && !s.required.unwrap_or(true) {
            errs.push(format!("{field}: a decisive signal must be required"));
        }
        let weight = s.weight.unwrap_or(0.05);
        if !(0.0..1.0).contains(&weight) {
            errs.push(format!("{field}.weight: {weight} must be in 0..1"));
        }
        if let Some(m) = compile_matcher(s, &field, errs) {
            out.push(Signal {
                m,
                decisive: s.decisive,
                required: s.required.unwrap_or(true),
                group: s.group.clone().unwrap_or_else(|| s.name.clone()),
                weight,
            });
        }
    }
    out
}

fn compile_excludes(spec: &RuleSpec, errs: &mut Vec<String>) -> Vec<Exclude> {
    let mut out = Vec::new();
    for e in &spec.excludes {
        let field = format!("exclude `{}`", e.name);
        if e.required.is_some() || e.group.is_some() || e.weight.is_some() || e.decisive {
            errs.push(format!(
                "{field}: required, group, weight and decisive belong to signals"
            ));
        }
        if let Some(cap) = e.cap
            && !(0.0..1.0).contains(&cap)
        {
            errs.push(format!("{field}.cap: {cap} must be in 0..1"));
        }
        if let Some(m) = compile_matcher(e, &field, errs) {
            out.push(Exclude {
                m,
                cap: e.cap,
                after: e.after,
            });
        }
    }
    out
}

fn compile_hint(spec: &RuleSpec, errs: &mut Vec<String>) -> Option<Hint> {
    let h = spec.hint.as_ref()?;
    if !(h.confidence > 0.0 && h.confidence < 0.5) {
        errs.push(format!(
            "hint.confidence: {} must be above 0 and below 0.5",
            h.confidence
        ));
    }
    let any = match h.when.as_deref() {
        None | Some("any-required") => false,
        Some("any") => true,
        Some(other) => {
            errs.push(format!(
                "hint.when: `{other}` (expected any-required or any)"
            ));
            false
        }
    };
    if h.confirm.len() != h.confirm_zh.len() {
        errs.push("hint.confirm_zh: needs one entry per confirm entry".to_string());
    }
    Some(Hint {
        confidence: h.confidence,
        any,
        confirm: h.confirm.clone(),
        confirm_zh: h.confirm_zh.clone(),
    })
}

fn compile_correlate(
    spec: &RuleSpec,
    tables: &BTreeMap<String, Table>,
    errs: &mut Vec<String>,
) -> Option<Correlate> {
    let c = spec.correlate.as_ref()?;
    if !tables.contains_key(&c.table) {
        errs.push(format!("correlate.table: no file tables/{}.toml", c.table));
    }
    let rates = [
        ("when_expected", c.when_expected),
        ("when_other", c.when_other),
        ("when_absent", c.when_absent),
        ("when_unmapped", c.when_unmapped.unwrap_or(spec.confidence)),
    ];
    for (name, v) in rates {
        if !(0.0..1.0).contains(&v) {
            errs.push(format!("correlate.{name}: {v} must be in 0..1"));
        }
    }
    Some(Correlate {
        capture: c.capture.clone(),
        table: c.table.clone(),
        subject: c.subject.clone(),
        expect_start: c.expect_start.iter().map(|s| s.to_lowercase()).collect(),
        when_expected: c.when_expected,
        when_other: c.when_other,
        when_absent: c.when_absent,
        when_unmapped: c.when_unmapped.unwrap_or(spec.confidence),
        missing: c.missing.clone(),
    })
}

/// Template variables the engine always provides (from device facts): the first KB number and
/// the computer name.
pub(crate) const BUILTIN_VARS: &[&str] = &["kb", "computer"];

/// Templates may only use captures some signal defines, or the correlated subject.
fn check_templates(spec: &RuleSpec, signals: &[Signal], errs: &mut Vec<String>) {
    let mut known: BTreeSet<String> = signals
        .iter()
        .filter_map(|s| s.m.pattern.as_ref())
        .flat_map(|re| re.capture_names().flatten().map(str::to_string))
        .collect();
    // Filled in by the engine from device facts.
    for builtin in BUILTIN_VARS {
        known.insert((*builtin).to_string());
    }
    if let Some(c) = &spec.correlate {
        known.insert(c.subject.clone());
        for cap in &c.capture {
            if !known.contains(cap) {
                errs.push(format!(
                    "correlate.capture: no signal defines `(?P<{cap}>…)`"
                ));
            }
        }
    }
    let mut check = |field: String, t: &str| {
        for name in template::names(t) {
            if !known.contains(&name) {
                errs.push(format!(
                    "{field}: `{{{name}}}` is not a capture of any signal"
                ));
            }
        }
    };
    for (k, v) in &spec.subject {
        check(format!("subject.{k}"), v);
    }
    for (i, s) in spec.steps.iter().enumerate() {
        check(format!("step[{i}].text"), &s.text);
        check(format!("step[{i}].text_zh"), &s.text_zh);
        if let Some(c) = &s.command {
            check(format!("step[{i}].command"), c);
        }
    }
    for (i, m) in spec.missing.iter().enumerate() {
        for (name, t) in [
            ("why", &m.why),
            ("how", &m.how),
            ("why_zh", &m.why_zh),
            ("how_zh", &m.how_zh),
        ] {
            check(format!("missing[{i}].{name}"), t);
        }
    }
}

/// The matching part of a rule without names, to find rules that are copies of each other.
fn signature(spec: &RuleSpec) -> String {
    let strip = |m: &MatchSpec| {
        let mut m = m.clone();
        m.name.clear();
        format!("{m:?}")
    };
    let mut sig: Vec<String> = spec.signals.iter().map(strip).collect();
    sig.sort();
    let mut ex: Vec<String> = spec.excludes.iter().map(strip).collect();
    ex.sort();
    format!("{}|{sig:?}|{ex:?}", spec.fallback)
}
