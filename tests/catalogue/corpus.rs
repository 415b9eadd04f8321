//! Held-out corpus: real log excerpts from public sources (`tests/fixtures/corpus/manifest.toml`
//! names each file's source and expected root cause, or `healthy`), diagnosed as they are and
//! buried in 50,000 lines of generated healthy CBS log.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use diagnosis::{Diagnosis, RuleSet};

use super::{CONFIDENT, ROOT_CAUSES, corpus_dir, describe, diagnose};

/// Required share of failure excerpts whose top finding is the expected root cause.
const MIN_ACCURACY: f64 = 0.9;

/// The fallback root cause: failures no rule explains.
const UNKNOWN: &str = "unknown-servicing-failure";

/// Lines of healthy CBS log around a buried excerpt (half before, half after).
const FILLER_LINES: usize = 50_000;

/// One manifest entry.
struct Case {
    file: PathBuf,
    expect: String,
    /// `inline`: a CBS excerpt, inserted in the middle of the healthy log;
    /// `beside`: another kind of file, placed next to the healthy CBS.log in a bundle directory.
    bury: String,
}

fn load_manifest() -> Vec<Case> {
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
            let case = Case {
                file: corpus_dir().join(get("file")),
                expect: get("expect"),
                bury: get("bury"),
            };
            assert!(
                case.file.exists(),
                "corpus file {} is missing",
                case.file.display()
            );
            assert!(
                !get("source").is_empty(),
                "corpus entry {} names no source",
                get("file")
            );
            assert!(
                case.expect == "healthy" || ROOT_CAUSES.contains(&case.expect.as_str()),
                "corpus entry {}: unknown expectation `{}`",
                get("file"),
                case.expect
            );
            case
        })
        .collect()
}

/// Compare a diagnosis with the expectation; `None` when it is right.
fn verdict(case: &Case, d: &Diagnosis) -> Option<String> {
    let ok = if case.expect == "healthy" {
        d.findings.iter().all(|f| f.confidence < CONFIDENT)
    } else if case.expect == UNKNOWN {
        // The fallback is a hint by design: on top, and nothing else confident.
        d.findings.first().is_some_and(|f| f.root_cause == UNKNOWN)
    } else {
        d.findings
            .first()
            .is_some_and(|f| f.root_cause == case.expect && f.confidence >= CONFIDENT)
    };
    (!ok).then(|| {
        format!(
            "{}: expected {}, got {}",
            case.file.display(),
            case.expect,
            describe(d)
        )
    })
}

/// Check accuracy on failures (≥ [`MIN_ACCURACY`]) and that every healthy file stays healthy.
fn assert_scores(label: &str, cases: &[Case], results: &[Option<String>]) {
    let mut failures_total = 0usize;
    let mut failures_right = 0usize;
    let mut healthy_wrong = Vec::new();
    let mut misses = Vec::new();
    for (case, result) in cases.iter().zip(results) {
        if case.expect == "healthy" {
            if let Some(m) = result {
                healthy_wrong.push(m.clone());
            }
        } else {
            failures_total += 1;
            match result {
                None => failures_right += 1,
                Some(m) => misses.push(m.clone()),
            }
        }
    }
    assert!(
        failures_total >= 20,
        "{label}: the corpus needs at least 20 failure excerpts"
    );
    let accuracy = failures_right as f64 / failures_total as f64;
    assert!(
        accuracy >= MIN_ACCURACY,
        "{label}: top-1 accuracy {failures_right}/{failures_total} = {accuracy:.2} < {MIN_ACCURACY}:\n{}",
        misses.join("\n")
    );
    assert!(
        healthy_wrong.is_empty(),
        "{label}: healthy files got findings:\n{}",
        healthy_wrong.join("\n")
    );
}

#[test]
fn corpus_top1_accuracy_and_healthy_files_stay_healthy() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let cases = load_manifest();
    let results: Vec<Option<String>> = cases
        .iter()
        .map(|c| verdict(c, &diagnose(&rules, &c.file)))
        .collect();
    assert_scores("corpus", &cases, &results);
}

/// Healthy CBS lines: sessions, applicability, successful advanced installers and the benign noise
/// of domain doc §A.2 item 8. Deterministic; `n` lines starting at `first_hour`.
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

/// Write `case` buried in healthy CBS log under `dir`; returns the path to diagnose.
///
/// `inline`: the excerpt (a CBS log) is inserted between `before` and `after`; `beside`: the excerpt
/// (a file, or every file of a bundle directory) is placed next to a healthy CBS log of both halves.
fn bury(case: &Case, dir: &Path, before: &str, after: &str) -> PathBuf {
    let name = case.file.file_name().expect("file name");
    let bundle = dir.join(name).with_extension("bundle");
    std::fs::create_dir_all(&bundle).expect("bundle dir");
    if case.bury == "inline" {
        let excerpt = std::fs::read(&case.file).expect("read corpus file");
        let mut text = Vec::with_capacity(before.len() + excerpt.len() + after.len() + 2);
        text.extend_from_slice(before.as_bytes());
        text.extend_from_slice(&excerpt);
        if !excerpt.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(after.as_bytes());
        std::fs::write(bundle.join("CBS.log"), text).expect("write buried CBS.log");
        return bundle;
    }
    std::fs::write(bundle.join("healthy-CBS.log"), format!("{before}{after}"))
        .expect("write healthy CBS.log");
    let files: Vec<PathBuf> = if case.file.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&case.file)
            .expect("read corpus bundle")
            .map(|e| e.expect("dir entry").path())
            .collect();
        v.sort();
        v
    } else {
        vec![case.file.clone()]
    };
    for f in files {
        let target = bundle.join(f.file_name().expect("file name"));
        std::fs::copy(&f, target).expect("copy excerpt beside");
    }
    bundle
}

#[test]
fn corpus_buried_in_fifty_thousand_healthy_lines() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let cases = load_manifest();
    let tmp = tempfile::tempdir().expect("tempdir");
    let before = healthy_cbs(FILLER_LINES / 2, 1);
    let after = healthy_cbs(FILLER_LINES / 2, 13);
    // The filler alone is healthy.
    let filler = tmp.path().join("healthy-only.log");
    std::fs::write(&filler, format!("{before}{after}")).expect("write filler");
    let d = diagnose(&rules, &filler);
    assert!(
        d.findings.iter().all(|f| f.confidence < CONFIDENT),
        "generated healthy log got findings: {}",
        describe(&d)
    );
    // Two workers: the machine is shared, and each case is a 50,000-line bundle.
    let results: Vec<Option<String>> = std::thread::scope(|s| {
        let chunks: Vec<&[Case]> = cases.chunks(cases.len().div_ceil(2).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (rules, tmp, before, after) = (&rules, tmp.path(), &before, &after);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|c| verdict(c, &diagnose(rules, &bury(c, tmp, before, after))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    assert_scores("buried corpus", &cases, &results);
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
