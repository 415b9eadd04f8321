//! `casebot serve` and the default command. OWNER: Discord helper.

use std::path::Path;
use std::process::ExitCode;

/// Serve Discord; with `explicit == false` and no token, fall back to the console with a hint.
pub fn run(config: Option<&Path>, explicit: bool) -> anyhow::Result<ExitCode> {
    if !explicit {
        eprintln!("casebot: no Discord token configured (set DISCORD_TOKEN); starting the console");
        return crate::console::run(config, crate::cli::ConsoleArgs::default());
    }
    anyhow::bail!("not implemented yet")
}
