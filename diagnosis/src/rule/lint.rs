//! `casebot rules lint`: checks every rule file against the spec and runs the fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ROOT_CAUSES, RuleSet, compile, read_dir};
use crate::bundle::Limits;

/// One problem found by [`lint`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LintProblem {
    /// The rule file (relative to the rules dir) or fixture path the problem is about.
    pub file: String,
    /// What is wrong, naming the field.
    pub message: String,
}

impl std::fmt::Display for LintProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Check every rule file below `rules_dir` and run the fixtures below `fixtures_dir`
/// (`<root_cause>/{hit,miss}/<file or bundle dir>`). Empty means the catalogue is clean.
pub fn lint(rules_dir: &Path, fixtures_dir: &Path) -> Vec<LintProblem> {
    let problem = |file: &str, message: String| LintProblem {
        file: file.to_string(),
        message,
    };
    let files = match read_dir(rules_dir) {
        Ok(f) => f,
        Err(e) => return vec![problem(&rules_dir.display().to_string(), e.to_string())],
    };
    let (set, compile_problems) = compile::compile_files(&files);
    let mut out: Vec<LintProblem> = compile_problems
        .into_iter()
        .map(|(f, m)| problem(&f, m))
        .collect();
    out.extend(duplicates(&set));
    for rc in ROOT_CAUSES {
        if !set.rules.iter().any(|r| r.root_cause == *rc) {
            out.push(problem(rc, "root cause has no rule".to_string()));
        }
    }
    out.extend(run_root_cause_fixtures(&set, fixtures_dir));
    out.extend(run_listed_fixtures(&set, fixtures_dir));
    out.sort();
    out.dedup();
    out
}

fn duplicates(set: &RuleSet) -> Vec<LintProblem> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out = Vec::new();
    for r in &set.rules {
        if let Some(first) = seen.insert(&r.signature, &r.file) {
            out.push(LintProblem {
                file: r.file.clone(),
                message: format!("signals and excludes are identical to {first}"),
            });
        }
    }
    out
}

/// The fixture entries (files or bundle directories) of `dir`, documentation files left out.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase());
            !name.is_some_and(|n| n.starts_with("readme") || n.starts_with('.'))
        })
        .collect();
    v.sort();
    v
}

/// Highest confidence of a finding with `pred` in the diagnosis of `path`.
fn best(
    set: &RuleSet,
    path: &Path,
    pred: &dyn Fn(&crate::report::Finding) -> bool,
) -> Result<f64, String> {
    let d = crate::diagnose_path(path, set, &Limits::default()).map_err(|e| e.to_string())?;
    Ok(d.findings
        .iter()
        .filter(|f| pred(f))
        .map(|f| f.confidence)
        .fold(0.0, f64::max))
}

fn run_root_cause_fixtures(set: &RuleSet, fixtures: &Path) -> Vec<LintProblem> {
    let mut threshold: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &set.rules {
        let t = threshold.entry(&r.root_cause).or_insert(0.0);
        *t = t.max(r.confidence.min(0.5));
    }
    let mut out = Vec::new();
    for (rc, t) in threshold {
        for side in ["hit", "miss"] {
            let dir = fixtures.join(rc).join(side);
            let list = entries(&dir);
            let shown = format!("{rc}/{side}");
            if list.is_empty() {
                out.push(LintProblem {
                    file: shown.clone(),
                    message: format!("no fixtures in {}", dir.display()),
                });
            }
            for path in list {
                let name = format!("{shown}/{}", file_name(&path));
                match best(set, &path, &|f| f.root_cause == rc) {
                    Err(e) => out.push(LintProblem {
                        file: name,
                        message: format!("cannot be read: {e}"),
                    }),
                    Ok(c) if side == "hit" && c < t => out.push(LintProblem {
                        file: name,
                        message: format!("no `{rc}` finding at {t} or above (best {c:.2})"),
                    }),
                    Ok(c) if side == "miss" && c >= t => out.push(LintProblem {
                        file: name,
                        message: format!("near miss gives a `{rc}` finding at {c:.2}"),
                    }),
                    Ok(_) => {}
                }
            }
        }
    }
    out
}

fn run_listed_fixtures(set: &RuleSet, fixtures: &Path) -> Vec<LintProblem> {
    let mut out = Vec::new();
    for r in &set.rules {
        let t = r.confidence.min(0.5);
        for fx in &r.fixtures {
            let mut problem = |message: String| {
                out.push(LintProblem {
                    file: r.file.clone(),
                    message: format!("fixtures: `{fx}`: {message}"),
                })
            };
            let hit = fx.starts_with(&format!("{}/hit/", r.root_cause));
            let miss = fx.starts_with(&format!("{}/miss/", r.root_cause));
            if !hit && !miss {
                problem(format!("must sit under {}/hit/ or /miss/", r.root_cause));
                continue;
            }
            let path = fixtures.join(fx);
            if !path.exists() {
                problem("does not exist".to_string());
                continue;
            }
            match best(set, &path, &|f| f.rule == r.id) {
                Err(e) => problem(format!("cannot be read: {e}")),
                Ok(c) if hit && c < t => problem(format!("rule does not fire (best {c:.2})")),
                Ok(c) if miss && c >= t => problem(format!("rule fires at {c:.2}")),
                Ok(_) => {}
            }
        }
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
