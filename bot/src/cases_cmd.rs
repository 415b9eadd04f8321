//! `casebot cases export|import`. OWNER: store helper.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::CasesCommand;

/// Run a `cases` subcommand.
pub fn run(config: Option<&Path>, cmd: CasesCommand) -> anyhow::Result<ExitCode> {
    let _ = (config, cmd);
    anyhow::bail!("not implemented yet")
}
