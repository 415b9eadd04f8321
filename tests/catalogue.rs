//! Rule catalogue: every root cause has rules, every rule has hit and miss fixtures, hits are the
//! top finding and misses stay below 0.5; `casebot rules lint` passes; a held-out corpus of real
//! public log excerpts is diagnosed top-1 correctly, also when buried in 50,000 lines of healthy CBS log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diagnosis::{Diagnosis, Limits, RuleSet};

/// The `root_cause` vocabulary of docs/ARCHITECTURE.md ("Root causes"), in its order. Deliberately a second copy, written
/// from the design rather than imported from `diagnosis::rule`, so that a rename or a dropped id in
/// the engine fails this test instead of silently changing the vocabulary.
const ROOT_CAUSES: &[&str] = &[
    "service-disabled-advanced-installer",
    "dependent-service-not-running-advanced-installer",
    "mof-compile-failed-temp-unwritable",
    "wmi-repository-corrupt",
    "corrupt-scheduled-task-advanced-installer",
    "stale-device-registry-advanced-installer",
    "edge-removed-by-third-party-tool",
    "event-log-channel-registration-conflict",
    "spp-folder-permissions",
    "system-partition-too-small",
    "winre-partition-too-small",
    "txf-transaction-log-corrupt",
    "txr-registry-log-full",
    "pending-transaction-stuck",
    "trustedinstaller-hang-timeout",
    "component-store-corruption",
    "store-corruption-missing-package-payload",
    "store-corruption-missing-manifest",
    "component-store-corruption-no-repair-source",
    "repair-source-unavailable-wu-disabled",
    "psfx-delta-hydration-failure",
    "corrupt-package-catalog",
    "driver-update-failure-doq",
    "driver-files-missing-doq",
    "missing-prerequisite-ssu",
    "access-denied-servicing-files",
    "sharing-violation-file-locked",
    "file-or-disk-corruption",
    "disk-space-insufficient",
    "update-service-disabled",
    "download-cache-corruption",
    "update-server-connectivity",
    "reboot-pending",
    "os-components-removed",
    "express-package-assembly-failure",
    "unrelated-update-failure",
    "unknown-servicing-failure",
];

/// Confidence at which a finding is a diagnosis rather than a hint (docs/ARCHITECTURE.md, "Root causes").
const CONFIDENT: f64 = diagnosis::report::CONFIDENT;

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules_dir() -> PathBuf {
    tests_dir().join("..").join("diagnosis").join("rules")
}

fn rule_fixtures_dir() -> PathBuf {
    tests_dir().join("fixtures").join("rules")
}

fn corpus_dir() -> PathBuf {
    tests_dir().join("fixtures").join("corpus")
}

/// What the catalogue test needs from one rule file.
struct RuleFile {
    path: PathBuf,
    id: String,
    root_cause: String,
    confidence: f64,
    /// The rule's own `fixtures` list (optional: without it the root cause's directories cover it).
    fixtures: Vec<String>,
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "tables") {
                continue;
            }
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn load_rule_files() -> Vec<RuleFile> {
    let mut paths = Vec::new();
    toml_files(&rules_dir(), &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read rule file");
            let value: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
            let str_of = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or("");
            let fixtures = value
                .get("fixtures")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            RuleFile {
                id: str_of("id").to_string(),
                root_cause: str_of("root_cause").to_string(),
                confidence: value
                    .get("confidence")
                    .and_then(|v| v.as_float())
                    .unwrap_or(0.0),
                fixtures,
                path,
            }
        })
        .collect()
}

/// Entries of `tests/fixtures/rules/<root_cause>/<side>/` (files or bundle directories).
fn fixture_entries(root_cause: &str, side: &str) -> Vec<PathBuf> {
    let dir = rule_fixtures_dir().join(root_cause).join(side);
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read.map(|e| e.expect("dir entry").path()).collect();
    out.sort();
    out
}

fn diagnose(rules: &RuleSet, path: &Path) -> Diagnosis {
    diagnosis::diagnose_path(path, rules, &Limits::default())
        .unwrap_or_else(|e| panic!("diagnose {}: {e}", path.display()))
}

fn describe(d: &Diagnosis) -> String {
    let top: Vec<String> = d
        .findings
        .iter()
        .take(4)
        .map(|f| format!("{} ({}) {:.2}", f.root_cause, f.rule, f.confidence))
        .collect();
    if top.is_empty() {
        "no findings".to_string()
    } else {
        top.join(", ")
    }
}

#[test]
fn the_engine_vocabulary_is_the_design_vocabulary() {
    // Lint checks ids against the engine's list; this list is the one in docs/ARCHITECTURE.md. They must not drift.
    assert_eq!(diagnosis::rule::ROOT_CAUSES, ROOT_CAUSES);
}

#[test]
fn every_root_cause_has_a_rule_with_hit_and_miss_fixtures() {
    let rules = load_rule_files();
    let mut problems = Vec::new();
    let covered: BTreeSet<&str> = rules.iter().map(|r| r.root_cause.as_str()).collect();
    for rc in ROOT_CAUSES {
        if !covered.contains(rc) {
            problems.push(format!("root cause `{rc}` has no rule"));
        }
        for side in ["hit", "miss"] {
            if fixture_entries(rc, side).is_empty() {
                problems.push(format!("root cause `{rc}` has no {side} fixture"));
            }
        }
    }
    for rule in &rules {
        let name = rule.path.display();
        if !ROOT_CAUSES.contains(&rule.root_cause.as_str()) {
            problems.push(format!(
                "{name}: root_cause `{}` is not in the root-cause vocabulary",
                rule.root_cause
            ));
        }
        // A rule that lists its fixtures lists both sides; one that does not is covered by its root
        // cause's directories (checked above) and must be fired by one of its hits (next test).
        for side in ["hit", "miss"] {
            let prefix = format!("{}/{side}/", rule.root_cause);
            if !rule.fixtures.is_empty() && !rule.fixtures.iter().any(|f| f.starts_with(&prefix)) {
                problems.push(format!("{name}: lists fixtures but none under {prefix}"));
            }
        }
        for f in &rule.fixtures {
            if !rule_fixtures_dir().join(f).exists() {
                problems.push(format!("{name}: fixture {f} does not exist"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "catalogue gaps:\n{}",
        problems.join("\n")
    );
}

/// The confidence a hit must reach: 0.5, or less for a root cause whose rules are all hints
/// (the fallback `unknown-servicing-failure`), like `casebot rules lint`.
fn hit_threshold(rules: &[RuleFile], root_cause: &str) -> f64 {
    let best = rules
        .iter()
        .filter(|r| r.root_cause == root_cause)
        .map(|r| r.confidence)
        .fold(0.0, f64::max);
    CONFIDENT.min(best)
}

#[test]
fn hit_fixtures_are_the_top_finding_and_misses_stay_below_half() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let files = load_rule_files();
    let mut fired: BTreeSet<String> = BTreeSet::new();
    let mut problems = Vec::new();
    for rc in ROOT_CAUSES {
        let threshold = hit_threshold(&files, rc);
        for hit in fixture_entries(rc, "hit") {
            let d = diagnose(&rules, &hit);
            fired.extend(
                d.findings
                    .iter()
                    .filter(|f| f.root_cause == *rc && f.confidence >= threshold)
                    .map(|f| f.rule.clone()),
            );
            match d.findings.first() {
                Some(top) if top.root_cause == *rc && top.confidence >= threshold => {}
                _ => problems.push(format!(
                    "hit {}: expected {rc} on top, got {}",
                    hit.display(),
                    describe(&d)
                )),
            }
        }
        for miss in fixture_entries(rc, "miss") {
            let d = diagnose(&rules, &miss);
            if d.findings
                .iter()
                .any(|f| f.root_cause == *rc && f.confidence >= CONFIDENT)
            {
                problems.push(format!(
                    "miss {}: {rc} fired: {}",
                    miss.display(),
                    describe(&d)
                ));
            }
        }
    }
    for rule in &files {
        if !fired.contains(&rule.id) {
            problems.push(format!(
                "rule {} ({}): no hit fixture fires it",
                rule.id,
                rule.path.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} fixture failures:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Run the casebot binary with `args`, killing it after `timeout`.
fn run_casebot(args: &[&std::ffi::OsStr], timeout: Duration) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn casebot");
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(_status) = child.try_wait().expect("wait casebot") {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("casebot {args:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("casebot output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn rules_lint_passes() {
    let rules = rules_dir();
    let fixtures = rule_fixtures_dir();
    let args = [
        "rules".as_ref(),
        "lint".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--fixtures".as_ref(),
        fixtures.as_os_str(),
    ];
    let (ok, output) = run_casebot(&args, Duration::from_secs(120));
    assert!(ok, "casebot rules lint failed:\n{output}");
}

pub(crate) mod corpus;
