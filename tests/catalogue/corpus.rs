//! The real-world corpus: public log excerpts copied exactly as they were published
//! (`tests/fixtures/corpus/<source kind>/`, described in `manifest.toml`), diagnosed as they are
//! and in the forms people paste them in (timestamps stripped, whitespace collapsed, CRLF,
//! wrapped at 80 columns, in a code fence, quoted with `>`).
//!
//! The corpus is split by source into a dev half, which rules may be tuned on, and a test half,
//! which is only reported: the half of an excerpt is a hash of its source URL, so every excerpt
//! of one page or thread falls in the same half.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use diagnosis::{Diagnosis, RuleSet};

use super::{CONFIDENT, ROOT_CAUSES, corpus_dir, describe, diagnose};

/// Floor for the share of excerpts whose top finding is the expected root cause, on the whole
/// corpus. The goal is 0.9 (0.8 per source kind); these floors hold what the engine reaches
/// today (0.779 overall on 272 excerpts: dev half 0.901, test half 0.646; the weakest kind,
/// GitHub issues, 0.706, after excerpts of hard forms were added: rollback screens typed into a
/// sentence and failures of apps that are not Windows servicing) so that a change that loses
/// ground fails.
const MIN_ACCURACY: f64 = 0.77;
/// Floor per source kind.
const MIN_KIND_ACCURACY: f64 = 0.70;
/// Floor for the corpus size.
const MIN_EXCERPTS: usize = 150;
/// Source kinds a manifest entry may name.
const SOURCE_KINDS: [&str; 6] = ["vendor-kb", "ms-qa", "forum", "reddit", "github", "blog"];
/// The fallback root cause: failures no rule explains.
const UNKNOWN: &str = "unknown-servicing-failure";

/// One manifest entry.
pub(crate) struct Case {
    pub file: PathBuf,
    pub rel: String,
    pub source_url: String,
    pub source_kind: String,
    pub language: String,
    /// A root cause, or `healthy`.
    pub expect: String,
    /// Root causes also accepted as right (two ids describing the same cause).
    pub accept: Vec<String>,
}

impl Case {
    /// `dev` or `test`: FNV-1a of the source URL (without a `#fragment`), so the split follows
    /// the source and cannot be chosen excerpt by excerpt.
    pub fn half(&self) -> &'static str {
        let url = self.source_url.split('#').next().unwrap_or("");
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in url.trim_end_matches('/').bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        if h.is_multiple_of(2) { "dev" } else { "test" }
    }

    fn healthy(&self) -> bool {
        self.expect == "healthy"
    }
}

pub(crate) fn load_manifest() -> Vec<Case> {
    let path = corpus_dir().join("manifest.toml");
    let text = std::fs::read_to_string(&path).expect("read corpus manifest");
    let table: toml::Table = text.parse().expect("corpus manifest is TOML");
    let entries = table
        .get("case")
        .and_then(|v| v.as_array())
        .expect("[[case]] entries");
    entries
        .iter()
        .map(|e| {
            let get = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let rel = get("file");
            let case = Case {
                file: corpus_dir().join(&rel),
                rel: rel.clone(),
                source_url: get("source_url"),
                source_kind: get("source_kind"),
                language: get("language"),
                expect: get("expect"),
                accept: e
                    .get("accept")
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            assert!(case.file.is_file(), "corpus file {rel} is missing");
            assert!(
                case.source_url.starts_with("http"),
                "corpus entry {rel} names no source URL"
            );
            assert!(
                SOURCE_KINDS.contains(&case.source_kind.as_str()),
                "corpus entry {rel}: unknown source kind `{}`",
                case.source_kind
            );
            assert!(!get("why").is_empty(), "corpus entry {rel} says not why");
            assert!(
                !case.language.is_empty(),
                "corpus entry {rel} names no language"
            );
            for id in std::iter::once(&case.expect).chain(&case.accept) {
                assert!(
                    id == "healthy" || ROOT_CAUSES.contains(&id.as_str()),
                    "corpus entry {rel}: unknown root cause `{id}`"
                );
            }
            case
        })
        .collect()
}

/// The top finding as the corpus scores it: its root cause and confidence.
fn top(d: &Diagnosis) -> Option<(&str, f64)> {
    d.findings
        .first()
        .map(|f| (f.root_cause.as_str(), f.confidence))
}

/// Whether the diagnosis is right for the case.
fn right(case: &Case, d: &Diagnosis) -> bool {
    if case.healthy() {
        return d.findings.iter().all(|f| f.confidence < CONFIDENT);
    }
    let Some((cause, confidence)) = top(d) else {
        return false;
    };
    let named = cause == case.expect || case.accept.iter().any(|a| a == cause);
    // The fallback is a hint by design; any other cause must be a diagnosis (>= 0.5).
    named && (cause == UNKNOWN || confidence >= CONFIDENT)
}

/// The forms people paste an excerpt in.
pub(crate) const MUTATIONS: [&str; 11] = [
    "no-timestamps",
    "collapsed-whitespace",
    "crlf",
    "wrapped-80",
    "code-fence",
    "quoted",
    "line-numbers",
    "html-entities",
    "smart-quotes",
    "tabs",
    "utf16le",
];

/// `2024-02-14 10:01:02, ` (CBS family) and `2022/05/21 18:46:43.8925713 ` (WindowsUpdate) at
/// the start of a line.
fn strip_timestamp(line: &str) -> &str {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let stamped = b.len() > 19
        && digits(0..4)
        && matches!(b[4], b'-' | b'/')
        && digits(5..7)
        && matches!(b[7], b'-' | b'/')
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':';
    if !stamped {
        return line;
    }
    let rest = &line[19..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ':');
    rest.strip_prefix(',').unwrap_or(rest).trim_start()
}

/// Word-wrap at `width` columns, breaking at the last space (the space is dropped, as mail
/// clients and forums do); a word longer than the width is cut.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = line.chars().collect();
    while rest.len() > width {
        let cut = rest[..=width]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|&i| i > 0);
        match cut {
            Some(i) => {
                out.push(rest[..i].iter().collect());
                rest.drain(..=i);
            }
            None => {
                out.push(rest[..width].iter().collect());
                rest.drain(..width);
            }
        }
    }
    out.push(rest.into_iter().collect());
    out
}

/// The file a user attaches in the form `mutation` names: `utf16le` is the text as PowerShell 5's
/// `>` and Notepad's "Unicode" save it (UTF-16LE with a byte-order mark, CRLF); the others are
/// UTF-8.
pub(crate) fn mutated_bytes(text: &str, mutation: &str) -> Vec<u8> {
    if mutation != "utf16le" {
        return mutate(text, mutation).into_bytes();
    }
    let crlf = mutate(text, "crlf");
    let mut out = vec![0xff, 0xfe];
    out.extend(crlf.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// `text` in the form `mutation` names.
pub(crate) fn mutate(text: &str, mutation: &str) -> String {
    let lines = text.lines();
    match mutation {
        "no-timestamps" => lines.map(strip_timestamp).collect::<Vec<_>>().join("\n"),
        "collapsed-whitespace" => lines
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n"),
        "crlf" => lines.collect::<Vec<_>>().join("\r\n") + "\r\n",
        "wrapped-80" => lines
            .flat_map(|l| wrap(l, 80))
            .collect::<Vec<_>>()
            .join("\n"),
        "code-fence" => format!("```\n{}\n```\n", lines.collect::<Vec<_>>().join("\n")),
        "quoted" => lines
            .map(|l| format!("> {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        // An editor's or a code viewer's gutter copied with the lines.
        "line-numbers" => lines
            .enumerate()
            .map(|(i, l)| format!("{:>4}: {l}", i + 1))
            .collect::<Vec<_>>()
            .join("\n"),
        // The page source of a forum post: markup characters escaped.
        "html-entities" => text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
        // A word processor's or a chat client's typographic quotes.
        "smart-quotes" => {
            let mut open = true;
            text.chars()
                .map(|c| match c {
                    '\'' => '\u{2019}',
                    '"' => {
                        open = !open;
                        if open { '\u{201d}' } else { '\u{201c}' }
                    }
                    c => c,
                })
                .collect()
        }
        // Runs of column padding turned into tabs.
        "tabs" => lines
            .map(|l| {
                let mut out = String::new();
                let mut spaces = 0;
                for c in l.chars() {
                    if c == ' ' {
                        spaces += 1;
                        continue;
                    }
                    match spaces {
                        0 => {}
                        1 => out.push(' '),
                        _ => out.push('\t'),
                    }
                    spaces = 0;
                    out.push(c);
                }
                out
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("unknown mutation {other}"),
    }
}

/// Tally of right answers.
#[derive(Default, Clone, Copy)]
struct Score {
    right: usize,
    total: usize,
}

impl Score {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.right += usize::from(ok);
    }

    fn share(self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.right as f64 / self.total as f64
        }
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} = {:.1} %",
            self.right,
            self.total,
            100.0 * self.share()
        )
    }
}

/// Confidence bands of the calibration table (lower bounds, highest first).
const BANDS: [(f64, &str); 5] = [
    (0.9, "0.90-0.99"),
    (0.75, "0.75-0.89"),
    (0.5, "0.50-0.74"),
    (0.3, "0.30-0.49 (hint)"),
    (0.0, "0.00-0.29 (hint)"),
];

fn band(confidence: f64) -> usize {
    BANDS
        .iter()
        .position(|(low, _)| confidence >= *low)
        .unwrap_or(BANDS.len() - 1)
}

/// Everything the corpus test reports.
struct Report {
    all: Score,
    by_half: BTreeMap<&'static str, Score>,
    by_kind: BTreeMap<String, Score>,
    by_kind_half: BTreeMap<(String, &'static str), Score>,
    /// Failure excerpts per band of their top finding: (top finding right, total).
    calibration: Vec<Score>,
    no_finding: Score,
    healthy_confident: Vec<String>,
    dev_misses: Vec<String>,
    test_misses: usize,
}

fn evaluate(cases: &[Case], results: &[Diagnosis]) -> Report {
    let mut r = Report {
        all: Score::default(),
        by_half: BTreeMap::new(),
        by_kind: BTreeMap::new(),
        by_kind_half: BTreeMap::new(),
        calibration: vec![Score::default(); BANDS.len()],
        no_finding: Score::default(),
        healthy_confident: Vec::new(),
        dev_misses: Vec::new(),
        test_misses: 0,
    };
    for (case, d) in cases.iter().zip(results) {
        let ok = right(case, d);
        r.all.add(ok);
        r.by_half.entry(case.half()).or_default().add(ok);
        r.by_kind
            .entry(case.source_kind.clone())
            .or_default()
            .add(ok);
        r.by_kind_half
            .entry((case.source_kind.clone(), case.half()))
            .or_default()
            .add(ok);
        if case.healthy() {
            if !ok {
                r.healthy_confident.push(format!(
                    "{} [{}]: {}",
                    case.rel,
                    case.half(),
                    describe(d)
                ));
            }
            continue;
        }
        match top(d) {
            Some((cause, c)) => {
                let named = cause == case.expect || case.accept.iter().any(|a| a == cause);
                r.calibration[band(c)].add(named);
            }
            None => r.no_finding.add(false),
        }
        if !ok {
            if case.half() == "dev" {
                r.dev_misses.push(format!(
                    "{}: expected {}, got {}",
                    case.rel,
                    case.expect,
                    describe(d)
                ));
            } else {
                r.test_misses += 1;
            }
        }
    }
    r
}

fn print_report(cases: &[Case], r: &Report) -> String {
    let mut out = String::new();
    let count = |f: &dyn Fn(&Case) -> String| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for c in cases {
            *m.entry(f(c)).or_default() += 1;
        }
        m.into_iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "corpus: {} excerpts", cases.len());
    let _ = writeln!(out, "  by language: {}", count(&|c| c.language.clone()));
    let _ = writeln!(out, "  by expectation: {}", count(&|c| c.expect.clone()));
    let _ = writeln!(out, "top-1, all: {}", r.all);
    for (half, s) in &r.by_half {
        let _ = writeln!(out, "top-1, {half} half: {s}");
    }
    for (kind, s) in &r.by_kind {
        let dev = r
            .by_kind_half
            .get(&(kind.clone(), "dev"))
            .copied()
            .unwrap_or_default();
        let test = r
            .by_kind_half
            .get(&(kind.clone(), "test"))
            .copied()
            .unwrap_or_default();
        let _ = writeln!(out, "top-1, {kind}: {s} (dev {dev}, test {test})");
    }
    let _ = writeln!(
        out,
        "calibration (failure excerpts by the top finding's confidence):"
    );
    for ((_, name), s) in BANDS.iter().zip(&r.calibration) {
        let _ = writeln!(out, "  {name:<18} top finding right {s}");
    }
    let _ = writeln!(out, "  no finding         {} excerpts", r.no_finding.total);
    let _ = writeln!(
        out,
        "healthy excerpts with a finding at >= 0.5: {}",
        r.healthy_confident.len()
    );
    out
}

/// Diagnose every case of the corpus, as published.
fn diagnose_all(rules: &RuleSet, cases: &[Case]) -> Vec<Diagnosis> {
    cases.iter().map(|c| diagnose(rules, &c.file)).collect()
}

#[test]
fn corpus_top1_by_source_kind_and_half_with_calibration() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let cases = load_manifest();
    assert!(
        cases.len() >= MIN_EXCERPTS,
        "the corpus needs at least {MIN_EXCERPTS} excerpts"
    );
    let results = diagnose_all(&rules, &cases);
    let r = evaluate(&cases, &results);
    let report = print_report(&cases, &r);
    println!("{report}");
    println!("dev-half misses:\n{}", r.dev_misses.join("\n"));
    println!(
        "test-half misses: {} (not listed: the test half is only reported)",
        r.test_misses
    );
    assert!(
        r.healthy_confident.is_empty(),
        "healthy excerpts got findings at >= 0.5:\n{}",
        r.healthy_confident.join("\n")
    );
    assert!(
        r.all.share() >= MIN_ACCURACY,
        "top-1 on the whole corpus {} < {MIN_ACCURACY}\n{report}",
        r.all
    );
    for (kind, s) in &r.by_kind {
        assert!(
            s.share() >= MIN_KIND_ACCURACY,
            "top-1 for {kind} {s} < {MIN_KIND_ACCURACY}\n{report}"
        );
    }
}

#[test]
fn corpus_mutations_keep_the_top_finding() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let cases = load_manifest();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut changed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(&case.file) else {
            continue; // binary excerpts (evtx) have no pasted form
        };
        let base = diagnose(&rules, &case.file);
        let want = top(&base).map(|(c, conf)| (c.to_string(), conf >= CONFIDENT));
        for m in MUTATIONS {
            let dir = tmp.path().join(format!("{i}-{m}"));
            std::fs::create_dir_all(&dir).expect("mutation dir");
            let name = case.file.file_name().expect("file name");
            let path = dir.join(name);
            std::fs::write(&path, mutated_bytes(&text, m)).expect("write mutation");
            let d = diagnose(&rules, &path);
            let got = top(&d).map(|(c, conf)| (c.to_string(), conf >= CONFIDENT));
            if got != want {
                changed.push(format!(
                    "{} [{m}]: as published {:?}, mutated {}",
                    case.rel,
                    want,
                    describe(&d)
                ));
            }
        }
    }
    assert!(
        changed.is_empty(),
        "{} mutated excerpts changed their top finding:\n{}",
        changed.len(),
        changed.join("\n")
    );
}

#[test]
fn mutations_do_what_they_say() {
    let text =
        "2024-02-14 10:01:02, Info                  CBS    Exec: Failed\n    Installer name: 'WMI'";
    assert_eq!(
        mutate(text, "no-timestamps"),
        "Info                  CBS    Exec: Failed\n    Installer name: 'WMI'"
    );
    assert_eq!(
        mutate(text, "collapsed-whitespace"),
        "2024-02-14 10:01:02, Info CBS Exec: Failed\nInstaller name: 'WMI'"
    );
    assert!(mutate(text, "crlf").contains("Failed\r\n    Installer"));
    assert!(mutate(text, "quoted").starts_with("> 2024-02-14"));
    assert!(mutate(text, "code-fence").starts_with("```\n2024"));
    let long = format!("2024-02-14 10:01:02, Info CBS {}", "word ".repeat(40));
    assert!(
        mutate(&long, "wrapped-80")
            .lines()
            .all(|l| l.chars().count() <= 80)
    );
    assert!(mutate(text, "line-numbers").starts_with("   1: 2024-02-14"));
    assert!(mutate("<a> & \"b\"", "html-entities") == "&lt;a&gt; &amp; &quot;b&quot;");
    assert_eq!(
        mutate("'a' \"b\"", "smart-quotes"),
        "\u{2019}a\u{2019} \u{201c}b\u{201d}"
    );
    assert_eq!(mutate("a    b c", "tabs"), "a\tb c");
    assert_eq!(
        mutated_bytes("a\n", "utf16le"),
        vec![0xff, 0xfe, b'a', 0, b'\r', 0, b'\n', 0]
    );
    let wu = "2022/05/21 18:46:43.8925713 8976  5116  Handler         FATAL: x";
    assert_eq!(
        mutate(wu, "no-timestamps"),
        "8976  5116  Handler         FATAL: x"
    );
}

/// Healthy CBS lines: sessions, applicability, successful advanced installers and the benign noise
/// of the servicing log grammar. Deterministic; `n` lines starting at `first_hour`.
pub(crate) fn healthy_cbs(n: usize, first_hour: u32) -> String {
    let mut out = String::with_capacity(n * 150);
    let mut lines = 0usize;
    let mut i = 0u32;
    while lines < n {
        let secs = i * 7;
        let ts = format!(
            "2024-02-14 {:02}:{:02}:{:02}",
            (first_hour + secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60
        );
        let seq = 0x100 + i;
        let body: [String; 10] = [
            format!("Info                  CBS    Session: {}_{} initialized by client WindowsUpdateAgent, external staging directory: (null), external registry directory: (null)", 31087400 + i, 1283346000 + i),
            format!("Info                  CBS    Read out cached package applicability for package: Package_{}_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.14, ApplicableState: 112, CurrentState:112", i % 4000),
            "Info                  CBS    Appl: detectParent: package: Microsoft-Windows-Hyper-V-Package~31bf3856ad364e35~amd64~~10.0.19041.1, no parent found, go absent".to_string(),
            "Info                  CBS    SQM: Failed to start upload with file pattern: C:\\Windows\\servicing\\sqm\\*_std.sqm, flags: 0x2 [HRESULT = 0x80004005 - E_FAIL]".to_string(),
            format!("Info                  CSI    {seq:08x} Begin executing advanced installer phase 38 index {} (sequence {})\n    Old component: (null)\n    New component: Microsoft-Windows-Shell-Setup, version 10.0.19041.4046, arch amd64\n    Install mode: delta\n    Smart installer: false\n    Installer ID: {{81a34a10-4256-436a-89d6-794b97ca407c}}\n    Installer name: 'Generic Command'", i % 300, i % 300 + 40),
            format!("Info                  CSI    {:08x} End executing advanced installer (sequence {})\n    Completion status: S_OK ", seq + 1, i % 300 + 40),
            "Info                  CBS    Not able to query DisableWerReporting flag.  Assuming not set... [HRESULT = 0x80070002 - ERROR_FILE_NOT_FOUND]".to_string(),
            "Info                  CBS    Expecting attribute name [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]".to_string(),
            "Info                  CBS    Exec: Processing complete.  Session: 31087412_1283346719, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14 [HRESULT = 0x00000000 - S_OK]".to_string(),
            "Info                  CBS    Not able to add pending.xml.bad to Windows Error Report. [HRESULT = 0x80070002 - ERROR_FILE_NOT_FOUND]".to_string(),
        ];
        let line = &body[(i % 10) as usize];
        let _ = writeln!(out, "{ts}, {line}");
        lines += 1 + line.matches('\n').count();
        i += 1;
    }
    out
}

#[test]
fn fifty_thousand_generated_healthy_lines_stay_healthy() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let tmp = tempfile::tempdir().expect("tempdir");
    let filler = tmp.path().join("CBS.log");
    std::fs::write(&filler, healthy_cbs(50_000, 1)).expect("write filler");
    let d = diagnose(&rules, &filler);
    assert!(
        d.findings.iter().all(|f| f.confidence < CONFIDENT),
        "generated healthy log got findings: {}",
        describe(&d)
    );
}

/// Every file below `dir`, recursively.
fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn corpus_is_held_out_from_the_rule_fixtures() {
    // A corpus excerpt copied into the fixtures would make the accuracy figure meaningless.
    let mut fixtures = Vec::new();
    all_files(&super::rule_fixtures_dir(), &mut fixtures);
    let fixture_lines: std::collections::HashSet<String> = fixtures
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.len() > 60)
        .collect();
    let mut corpus = Vec::new();
    all_files(&corpus_dir(), &mut corpus);
    let shared: Vec<String> = corpus
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| fixture_lines.contains(l))
        .collect();
    assert!(
        shared.is_empty(),
        "corpus lines also in rule fixtures:\n{}",
        shared.join("\n")
    );
}

#[test]
fn every_corpus_file_is_in_the_manifest() {
    let listed: std::collections::BTreeSet<PathBuf> =
        load_manifest().into_iter().map(|c| c.file).collect();
    let mut files = Vec::new();
    all_files(&corpus_dir(), &mut files);
    let stray: Vec<String> = files
        .iter()
        .filter(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name != "manifest.toml" && name != "README.md" && !listed.contains(*f)
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        stray.is_empty(),
        "corpus files not in the manifest:\n{}",
        stray.join("\n")
    );
}
