//! `casebot diagnose`, `casebot rules lint`, `casebot explain`. OWNER: engine helper.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use diagnosis::{Lang, Limits, RuleSet};

use crate::cli::{DiagnoseArgs, ExplainArgs};

/// Default rules directory of `casebot rules lint`, relative to the workspace root.
pub const DEFAULT_RULES_DIR: &str = "diagnosis/rules";
/// Default fixtures directory of `casebot rules lint`, relative to the workspace root.
pub const DEFAULT_FIXTURES_DIR: &str = "tests/fixtures/rules";

/// `casebot diagnose`: exit 0 when the input was read (findings or not); an error (printed by
/// `entry` as one `casebot: <reason>` line, exit 2) when it cannot be read at all.
pub fn run(args: &DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let lang: Lang = args.lang.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let rules = match &args.rules {
        Some(dir) => RuleSet::load_dir(dir)?,
        None => RuleSet::builtin().context("built-in rules")?,
    };
    let d = diagnosis::diagnose_path(&args.path, &rules, &Limits::default())?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&d)?;
        s.push('\n');
        s
    } else {
        diagnosis::render_text(&d, lang)
    };
    print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `casebot rules lint`: prints every problem and exits 1 if there is any.
///
/// Defaults: `diagnosis/rules` and `tests/fixtures/rules` below the current directory (run it
/// from the workspace root).
pub fn lint(rules: Option<&Path>, fixtures: Option<&Path>) -> anyhow::Result<ExitCode> {
    let rules_dir = rules.map_or_else(|| PathBuf::from(DEFAULT_RULES_DIR), Path::to_path_buf);
    let fixtures_dir =
        fixtures.map_or_else(|| PathBuf::from(DEFAULT_FIXTURES_DIR), Path::to_path_buf);
    if !rules_dir.is_dir() {
        anyhow::bail!(
            "{}: no rules directory here (run from the workspace root or pass --rules DIR)",
            rules_dir.display()
        );
    }
    let problems = diagnosis::rule::lint(&rules_dir, &fixtures_dir);
    let mut text = String::new();
    for p in &problems {
        text.push_str(&format!("{p}\n"));
    }
    if problems.is_empty() {
        let set = RuleSet::load_dir(&rules_dir)?;
        text.push_str(&format!(
            "rules lint: {} rules in {}, fixtures in {}: ok\n",
            set.rules().len(),
            rules_dir.display(),
            fixtures_dir.display()
        ));
        print_stdout(&text)?;
        Ok(ExitCode::SUCCESS)
    } else {
        text.push_str(&format!("rules lint: {} problem(s)\n", problems.len()));
        print_stdout(&text)?;
        Ok(ExitCode::from(1))
    }
}

/// `casebot explain`: name and meaning of a code (en, zh or both); exit 1 when unknown.
pub fn explain(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let lang = match args.lang.as_deref() {
        Some(l) => Some(l.parse::<diagnosis::Lang>().map_err(anyhow::Error::msg)?),
        None => None,
    };
    match diagnosis::codes::explain_text(&args.code, lang) {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("casebot explain: {msg}");
            Ok(ExitCode::from(1))
        }
    }
}
