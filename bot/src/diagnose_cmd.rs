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

/// `casebot explain`.
pub fn explain(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("not implemented yet")
}
