//! `casebot console`: the bot in a terminal. OWNER: handlers helper.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::ConsoleArgs;

/// Run the console until end of input.
pub fn run(config: Option<&Path>, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let _ = (config, args);
    anyhow::bail!("not implemented yet")
}
