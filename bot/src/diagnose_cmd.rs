//! `casebot diagnose`, `casebot rules lint`, `casebot explain`. OWNER: engine helper.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{DiagnoseArgs, ExplainArgs};

/// `casebot diagnose`.
pub fn run(args: &DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("not implemented yet")
}

/// `casebot rules lint`.
pub fn lint(rules: Option<&Path>, fixtures: Option<&Path>) -> anyhow::Result<ExitCode> {
    let _ = (rules, fixtures);
    anyhow::bail!("not implemented yet")
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
