//! `casebot` library: everything behind the binary, so that integration tests can drive the
//! console and the Discord adapter in-process. The binary (`main.rs`) only calls [`entry`].
//!
//! Module owners: `cli` (shared), `diagnose_cmd` (engine helper), `cases_cmd` (store helper),
//! `console` (handlers helper), `serve`/`discord`/`config` (Discord helper).

pub mod cases_cmd;
pub mod cli;
pub mod config;
pub mod console;
pub mod diagnose_cmd;
pub mod discord;
pub mod serve;
pub mod telemetry;

use clap::Parser;

/// Parse the process arguments and run; the process exit code.
pub fn entry() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.verbose);
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("casebot: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
