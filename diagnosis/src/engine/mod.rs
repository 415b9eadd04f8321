//! The engine: one pass over every file of a bundle, all rules at once, producing a [`Diagnosis`].
//!
//! Shaped like ripgrep's searcher → matcher → sink: [`run`] streams each file through
//! `BundleFile::parse` into a [`Scan`] (the sink), which asks the compiled [`RuleSet`] which
//! matchers a record may satisfy (one `RegexSet` per file kind plus a code index), records hits,
//! device facts and failure records, and [`Scan::finish`] turns them into findings.

mod facts;
mod findings;
mod literals;
mod missing;
pub use findings::PRIOR_CONFIRM;
pub use missing::missing_texts;
pub use missing::requestable as requestable_logs;
mod parallel;
pub(crate) mod search;
pub use search::prefilter_literals;
pub(crate) mod state;
mod unexplained;

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::Bundle;
use crate::parse::{LogKind, Record};
use crate::progress::{Observer, Progress};
use crate::report::{BundleSummary, Diagnosis, Evidence, Finding, Missing, SCHEMA, Skipped};
use crate::rule::{Rule, RuleSet};
use facts::Facts;
use findings::{Built, Ctx};
use state::RuleState;
use unexplained::Failures;

/// Diagnose `bundle` with `rules`, its files read in parallel on up to as many threads as the
/// machine has cores. Deterministic; never fails (unreadable files become skips).
pub fn run(bundle: &Bundle, rules: &RuleSet) -> Diagnosis {
    run_with(bundle, rules, true, parallel::default_threads(), &())
}

/// [`run`] on at most `threads` threads (1 reads the files one after the other). The result
/// does not depend on `threads`: files are read in parallel but fed to the scan in bundle order.
pub fn run_threads(bundle: &Bundle, rules: &RuleSet, threads: usize) -> Diagnosis {
    run_with(bundle, rules, true, threads, &())
}

/// [`run`], reporting to `observer` each file as the scan takes it and once it is read.
pub fn run_observed(bundle: &Bundle, rules: &RuleSet, observer: &dyn Observer) -> Diagnosis {
    run_with(bundle, rules, true, parallel::default_threads(), observer)
}

/// [`run_threads`], with the buffer search (`search`) or reading every file line by line, and
/// progress reported to `observer`.
pub(crate) fn run_with(
    bundle: &Bundle,
    rules: &RuleSet,
    search: bool,
    threads: usize,
    observer: &dyn Observer,
) -> Diagnosis {
    let mut scan = Scan::new(rules);
    // `summary.files` is `bundle.files` in the same order: fill in line counts as files are read.
    // The input's hash is waited for at the end: it is computed meanwhile on another thread.
    let mut summary = bundle.summary_unhashed();
    let mut progress = Reading::new(bundle, observer);
    // A single file cannot be shared out by files: its text is, if it is large (see `split`).
    let split = if bundle.files.len() == 1 { threads } else { 1 };
    let threads = threads.clamp(1, bundle.files.len().max(1));
    if threads == 1 {
        for (i, file) in bundle.files.iter().enumerate() {
            progress.begin(i);
            scan.begin_file(&file.path, file.kind);
            let sink = &mut |found| scan.take(found);
            let result = read_file_on(rules, file, search, split, sink);
            note_read(&mut summary, i, result);
            progress.end(i);
        }
    } else {
        parallel::read_files(bundle, rules, search, threads, &mut |event| match event {
            parallel::Event::Begin(i) => {
                progress.begin(i);
                let file = &bundle.files[i];
                scan.begin_file(&file.path, file.kind);
            }
            parallel::Event::Found(found) => scan.take(found),
            parallel::Event::End(i, result) => {
                note_read(&mut summary, i, result);
                progress.end(i);
            }
        });
    }
    progress.done();
    summary.sha256 = bundle.sha256().to_string();
    scan.finish(summary)
}

/// The progress of reading a bundle's files, reported as the scan takes each file in bundle
/// order.
struct Reading<'a> {
    bundle: &'a Bundle,
    observer: &'a dyn Observer,
    progress: Progress,
}

impl<'a> Reading<'a> {
    fn new(bundle: &'a Bundle, observer: &'a dyn Observer) -> Reading<'a> {
        let total: u64 = bundle.files.iter().map(|f| f.bytes).sum();
        let progress = Progress {
            files_unpacked: bundle.files.len(),
            bytes_unpacked: total,
            files_total: bundle.files.len(),
            bytes_total: total,
            ..Progress::default()
        };
        Reading {
            bundle,
            observer,
            progress,
        }
    }

    /// File `i` is being read.
    fn begin(&mut self, i: usize) {
        if let Some(file) = self.bundle.files.get(i) {
            self.progress.current.clone_from(&file.path);
            self.observer.progress(&self.progress);
        }
    }

    /// File `i` has been read.
    fn end(&mut self, i: usize) {
        if let Some(file) = self.bundle.files.get(i) {
            self.progress.files_read += 1;
            self.progress.bytes_read += file.bytes;
        }
    }

    /// Every file has been read.
    fn done(&mut self) {
        self.progress.current.clear();
        self.observer.progress(&self.progress);
    }
}

/// Read one file (buffer search or line by line), handing what may matter to `sink` in file
/// order. Pure: runs on any thread.
fn read_file(
    rules: &RuleSet,
    file: &crate::bundle::BundleFile,
    search: bool,
    sink: &mut dyn FnMut(Found),
) -> std::io::Result<crate::parse::Parsed> {
    read_file_on(rules, file, search, 1, sink)
}

/// [`read_file`], the buffer search of a large file shared by `threads` threads.
fn read_file_on(
    rules: &RuleSet,
    file: &crate::bundle::BundleFile,
    search: bool,
    threads: usize,
    sink: &mut dyn FnMut(Found),
) -> std::io::Result<crate::parse::Parsed> {
    let kind = file.kind;
    let items = &mut |item| match item {
        search::Item::Record(r) => {
            if let Some(p) = prepare(rules, kind, r) {
                sink(Found::Record(Box::new(p)));
            }
        }
        search::Item::Servicing(text) => sink(Found::Servicing(text)),
    };
    match prefilter(rules, file).filter(|_| search) {
        Some(pf) if threads > 1 && file.bytes >= search::SPLIT_MIN_BYTES => {
            search::search_file_split(file, pf, threads, items)
        }
        Some(pf) => search::search_file(file, pf, items),
        None => file.parse(&mut |r: Record| {
            if let Some(p) = prepare(rules, kind, r) {
                sink(Found::Record(Box::new(p)));
            }
        }),
    }
}

/// Record how reading file `i` ended in the summary.
fn note_read(summary: &mut BundleSummary, i: usize, result: std::io::Result<crate::parse::Parsed>) {
    let Some(row) = summary.files.get_mut(i) else {
        return;
    };
    let path = row.path.clone();
    match result {
        Ok(p) => {
            // Where opening counted nothing, the parser's count stands in.
            if row.lines == 0 {
                row.lines = p.read;
            }
            // The records before the damage were used; say what was lost.
            if let Some(reason) = p.damage {
                summary.skipped.push(Skipped { path, reason });
            }
        }
        Err(e) => summary.skipped.push(Skipped {
            path,
            reason: format!("read error: {e}"),
        }),
    }
}

/// What reading a file hands to the scan: the part of the work on a record that depends on the
/// record alone, done where the file is read.
pub(crate) enum Found {
    /// A record that may match, fail or teach a fact.
    Record(Box<Prepared>),
    /// The text of a one-line CBS/DISM record that only teaches servicing facts.
    Servicing(String),
}

/// A record with its matchers and failing codes worked out.
pub(crate) struct Prepared {
    record: Record,
    /// The record's grammar (a fragment's records carry their own).
    kind: LogKind,
    /// The matchers that accept it.
    accepted: Vec<crate::rule::MatchRef>,
    /// Its failing, non-noise codes.
    failing: Vec<u32>,
    /// It is a servicing failure.
    failure: bool,
}

/// Work out what `record` (of a file of `file_kind`) means to the scan; `None` when nothing
/// downstream can use it: it matches no rule, is no failure and teaches no fact, or it is noise.
fn prepare(rules: &RuleSet, file_kind: LogKind, record: Record) -> Option<Prepared> {
    // A fragment's records carry the kind of the lines they came from.
    let kind = record.kind.unwrap_or(file_kind);
    let cands = state::candidates(rules, kind, &record);
    let failing = unexplained::failing_codes(&record, &rules.noise.codes);
    let pasted = matches!(file_kind, LogKind::Fragment | LogKind::Text);
    let failure = unexplained::is_failure(kind, &record, &failing, pasted);
    if (!cands.is_empty() || failure) && rules.noise.patterns.is_match(&record.text) {
        // Noise never becomes a finding nor an unexplained failure.
        return None;
    }
    let accepted = state::accepted(rules, &cands, &record);
    let servicing =
        matches!(kind, LogKind::Cbs | LogKind::Dism) && facts::teaches_servicing(&record.text);
    if accepted.is_empty() && !failure && record.fact.is_none() && !servicing {
        return None;
    }
    Some(Prepared {
        record,
        kind,
        accepted,
        failing,
        failure,
    })
}

/// The buffer-search prefilter for `file`, or `None` to read it line by line (binary files,
/// kinds without one).
fn prefilter<'r>(
    rules: &'r RuleSet,
    file: &crate::bundle::BundleFile,
) -> Option<&'r search::Prefilter> {
    if file.encoding == crate::bundle::TextEncoding::Binary {
        return None;
    }
    let i = crate::rule::KINDS.iter().position(|k| *k == file.kind)?;
    rules
        .search
        .get(i)?
        .get_or_init(|| {
            search::Prefilter::build(rules, file.kind)
                .map(|pf| crate::rule::EngineCache(Box::new(pf)))
        })
        .as_ref()?
        .0
        .downcast_ref::<search::Prefilter>()
}

/// One bundle's scan: feed it records file by file, then [`Scan::finish`].
///
/// Public so that tests (and callers with their own parsers) can drive the engine with
/// hand-built [`Record`]s.
pub struct Scan<'r> {
    rules: &'r RuleSet,
    paths: Vec<String>,
    /// Kind of each file, by index.
    kinds: Vec<LogKind>,
    kind: LogKind,
    states: Vec<RuleState>,
    facts: Facts,
    failures: Failures,
}

impl<'r> Scan<'r> {
    /// A scan with nothing read yet.
    pub fn new(rules: &'r RuleSet) -> Scan<'r> {
        Scan {
            rules,
            paths: Vec::new(),
            kinds: Vec::new(),
            kind: LogKind::Text,
            states: rules.rules.iter().map(RuleState::new).collect(),
            facts: Facts::default(),
            failures: Failures::default(),
        }
    }

    /// Start the next file of the bundle (`path` inside the bundle, its detected kind).
    pub fn begin_file(&mut self, path: &str, kind: LogKind) {
        self.paths.push(path.to_string());
        self.kinds.push(kind);
        self.kind = kind;
        self.facts.kinds.insert(kind.as_str());
    }

    /// Feed what the buffer search found in the current file (tests drive the search by hand).
    #[cfg(test)]
    pub(crate) fn item(&mut self, item: search::Item) {
        match item {
            search::Item::Record(r) => self.record(&r),
            search::Item::Servicing(text) => self.take(Found::Servicing(text)),
        }
    }

    /// Feed one record of the current file.
    pub fn record(&mut self, record: &Record) {
        if let Some(p) = prepare(self.rules, self.kind, record.clone()) {
            self.take(Found::Record(Box::new(p)));
        }
    }

    /// Feed what reading the current file found.
    pub(crate) fn take(&mut self, found: Found) {
        let p = match found {
            Found::Record(p) => *p,
            Found::Servicing(text) => return self.facts.observe_servicing_text(&text),
        };
        let file = self.paths.len().saturating_sub(1);
        let record = &p.record;
        self.facts.observe(p.kind, file, record);
        let event = p.kind.is_event();
        let matched = state::apply(
            self.rules,
            &mut self.states,
            &p.accepted,
            file,
            record,
            event,
        );
        if p.failure {
            if matches!(p.kind, LogKind::Cbs | LogKind::Dism) {
                self.facts.servicing_failure = true;
            }
            let path = self.paths.get(file).map_or("", String::as_str);
            self.failures
                .add(file, path, record, p.failing, &matched, p.kind);
        }
    }

    /// Turn what was seen into the diagnosis.
    pub fn finish(self, mut summary: BundleSummary) -> Diagnosis {
        let device = self.facts.device(&self.paths);
        let vars = template_vars(&device);
        let ctx = Ctx {
            rules: self.rules,
            facts: &self.facts,
            paths: &self.paths,
            kinds: &self.kinds,
            vars,
        };
        let mut built: Vec<(usize, Built)> = self
            .rules
            .rules
            .iter()
            .zip(&self.states)
            .enumerate()
            .filter_map(|(i, (rule, st))| findings::evaluate(&ctx, rule, st).map(|b| (i, b)))
            .collect();
        let confidence_of = |built: &[(usize, Built)]| {
            built
                .iter()
                .map(|(_, b)| b.finding.confidence)
                .fold(0.0, f64::max)
        };
        if confidence_of(&built) < crate::report::CONFIDENT {
            // No rule explains the failures: a catalogued code still has a likely cause.
            let priors = self.prior_findings(&built, &ctx);
            built.extend(priors);
        }
        let unexplained = self.unexplained(&built);
        let top = confidence_of(&built);
        if top < crate::report::CONFIDENT
            && !unexplained.is_empty()
            && let Some((i, rule)) = self.rules.fallback()
        {
            built.push((i, fallback(rule, &unexplained, &ctx.vars)));
        }
        drop_redundant_hints(&mut built);
        // Rules' own missing entries: from the confident findings, or from the hints if none is.
        let confident = top >= crate::report::CONFIDENT;
        let mut missing: Vec<Missing> = built
            .iter()
            .filter(|(_, b)| !confident || b.finding.confidence >= crate::report::CONFIDENT)
            .flat_map(|(_, b)| b.missing.clone())
            .collect();
        missing.extend(missing::bundle_missing(&self.facts, top));
        let mut kinds = BTreeSet::new();
        missing.retain(|m| kinds.insert(m.kind.clone()));
        summary.missing = missing;
        let mut findings: Vec<Finding> = built.into_iter().map(|(_, b)| b.finding).collect();
        findings.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.rule.cmp(&b.rule))
        });
        Diagnosis {
            schema: SCHEMA.to_string(),
            bundle: summary,
            device,
            findings,
            unexplained,
            rules_version: self.rules.version().to_string(),
        }
    }

    /// Failure templates no finding explains: not matched by a signal of a rule that produced
    /// a finding, and not carrying only codes a confident finding already explains.
    ///
    /// A hint weaker than the fallback explains nothing: a bare 0x800f0922 that the advanced
    /// installer rules read as a 0.25 hint is still a failure no rule explains, so the code's
    /// prior or the fallback is the finding and the hints stay below it.
    fn unexplained_entries(&self, built: &[(usize, Built)]) -> Vec<&unexplained::Entry> {
        let weakest = self
            .rules
            .fallback()
            .map_or(0.0, |(_, r)| findings::round2(r.confidence));
        let fired: BTreeSet<usize> = built
            .iter()
            .filter(|(_, b)| b.finding.confidence >= weakest)
            .map(|(i, _)| *i)
            .collect();
        let confident: Vec<&Built> = built
            .iter()
            .map(|(_, b)| b)
            .filter(|b| b.finding.confidence >= crate::report::CONFIDENT)
            .collect();
        let mut explained_codes: BTreeSet<u32> = confident
            .iter()
            .flat_map(|b| b.codes.iter().copied())
            .collect();
        if !confident.is_empty() {
            explained_codes.extend(self.rules.noise.consequences.iter().copied());
        }
        let mut out: Vec<&unexplained::Entry> = self
            .failures
            .entries
            .iter()
            .filter(|e| e.rules.is_disjoint(&fired))
            .filter(|e| e.codes.is_empty() || !e.codes.is_subset(&explained_codes))
            .collect();
        out.sort_by_key(|e| (e.file, e.first.line));
        out
    }

    fn unexplained(&self, built: &[(usize, Built)]) -> Vec<crate::report::Unexplained> {
        self.unexplained_entries(built)
            .into_iter()
            .take(unexplained::MAX_REPORTED)
            .map(|e| e.first.clone())
            .collect()
    }

    /// Findings from the code priors: the most telling catalogued code on the unexplained
    /// failures (a specific code before a consequence such as 0x800f0922, then the most frequent,
    /// then the first) gives its default root cause at [`crate::rule::PRIOR`], the rest of its
    /// ranked list as hints.
    ///
    /// Priors rest only on Error-level or `(F)` failures, and never name a cause whose rule
    /// matched one of its excludes: the near misses a rule's author wrote down (an ignored
    /// installer failure, a repaired store) are decisions the code alone must not overturn.
    fn prior_findings(&self, built: &[(usize, Built)], ctx: &Ctx<'_>) -> Vec<(usize, Built)> {
        let priors = &self.rules.noise.priors;
        let mut entries = self.unexplained_entries(built);
        entries.retain(|e| e.severe);
        let judged: BTreeSet<&str> = self
            .rules
            .rules
            .iter()
            .zip(&self.states)
            .filter(|(_, st)| st.near_miss())
            .map(|(r, _)| r.root_cause.as_str())
            .collect();
        let mut seen: Vec<(u32, usize, usize)> = Vec::new(); // (code, count, first)
        for (i, e) in entries.iter().enumerate() {
            for code in e.codes.iter().filter(|c| priors.contains_key(c)) {
                match seen.iter_mut().find(|(c, _, _)| c == code) {
                    Some(s) => s.1 += 1,
                    None => seen.push((*code, 1, i)),
                }
            }
        }
        let consequence = |c: u32| self.rules.noise.consequences.contains(&c);
        let Some(&(code, _, _)) = seen
            .iter()
            .min_by_key(|(c, n, first)| (consequence(*c), std::cmp::Reverse(*n), *first))
        else {
            return Vec::new();
        };
        let evidence: Vec<Evidence> = entries
            .iter()
            .filter(|e| e.codes.contains(&code))
            .map(|e| Evidence {
                file: e.first.file.clone(),
                line: e.first.line,
                text: e.first.text.clone(),
            })
            .collect();
        let causes = priors.get(&code).map(Vec::as_slice).unwrap_or_default();
        causes
            .iter()
            .zip(crate::rule::PRIOR)
            .take_while(|(cause, _)| cause.as_str() != unexplained::UNKNOWN)
            .filter(|(cause, _)| !judged.contains(cause.as_str()))
            .filter_map(|(cause, confidence)| {
                let rule = self.rules.lender(cause)?;
                let i = self
                    .rules
                    .rules
                    .iter()
                    .position(|r| std::ptr::eq(r, rule))?;
                Some((
                    i,
                    findings::from_prior(rule, code, confidence, &evidence, &ctx.vars),
                ))
            })
            .collect()
    }
}

/// The built-in template variables: `kb` (first KB of the device) and `computer`.
fn template_vars(device: &crate::report::Device) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    if let Some(kb) = device.updates.first() {
        vars.insert("kb".to_string(), kb.clone());
    }
    if let Some(name) = &device.name {
        vars.insert("computer".to_string(), name.clone());
    }
    vars
}

/// A hint adds nothing next to a confident finding when its evidence lines are that finding's,
/// or when every failing code it saw is one the confident findings explain (the generic
/// 0x800f0922 of an advanced-installer rollback): leave it out.
fn drop_redundant_hints(built: &mut Vec<(usize, Built)>) {
    let confident: Vec<&Built> = built
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b.finding.confidence >= crate::report::CONFIDENT)
        .collect();
    if confident.is_empty() {
        return;
    }
    let lines: BTreeSet<(String, u64)> = confident
        .iter()
        .flat_map(|b| b.finding.evidence.iter().map(|e| (e.file.clone(), e.line)))
        .collect();
    // Only the confident findings' own codes: a consequence code (0x800f0922) seen next to an
    // unrelated confident finding still leaves the hint worth showing.
    let codes: BTreeSet<u32> = confident
        .iter()
        .flat_map(|b| b.codes.iter().copied())
        .collect();
    built.retain(|(_, b)| {
        let covered = b
            .finding
            .evidence
            .iter()
            .all(|e| lines.contains(&(e.file.clone(), e.line)));
        let explained = !b.codes.is_empty() && b.codes.is_subset(&codes);
        b.finding.confidence >= crate::report::CONFIDENT || !(covered || explained)
    });
}

/// The fallback finding: the unexplained failures are its evidence.
fn fallback(
    rule: &Rule,
    unexplained: &[crate::report::Unexplained],
    vars: &BTreeMap<String, String>,
) -> Built {
    let mut codes = BTreeSet::new();
    let mut decoded = Vec::new();
    for u in unexplained {
        if let Some(c) = u.code.as_deref().and_then(crate::rule::parse_rule_code)
            && codes.insert(c)
            && decoded.len() < 8
        {
            decoded.push(crate::codes::lookup(c));
        }
    }
    Built {
        finding: Finding {
            root_cause: rule.root_cause.clone(),
            rule: rule.id.clone(),
            title: rule.title.clone(),
            confidence: findings::round2(rule.confidence),
            subject: BTreeMap::new(),
            codes: decoded,
            evidence: unexplained
                .iter()
                .take(rule.max_evidence)
                .map(|u| Evidence {
                    file: u.file.clone(),
                    line: u.line,
                    text: u.text.clone(),
                })
                .collect(),
            steps: findings::steps(rule, vars),
            confirm: Vec::new(),
            vars: findings::step_vars(rule, vars),
        },
        missing: Vec::new(),
        codes,
    }
}

#[cfg(test)]
mod tests;
