//! `casebot` library: everything behind the binary, so that integration tests can drive the
//! console and the Discord adapter in-process. The binary (`main.rs`) only calls [`entry`].
//!
//! Layout: `cli` declares the command line from the argument types of the subcommand modules
//! (`diagnose_cmd`, `cases_cmd`, `console`, `serve`), and [`run`] calls them; `discord` is the
//! only serenity code, `config` loads and validates the configuration.

pub mod cases_cmd;
pub mod cli;
pub mod config;
pub mod console;
pub mod diagnose_cmd;
pub mod discord;
pub mod serve;
pub mod shards;
pub mod store_config;
pub mod telemetry;
pub mod web_cmd;

use clap::Parser;

/// Parse the process arguments and run; the process exit code.
pub fn entry() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("casebot: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Run the subcommand `cli` names.
pub fn run(cli: cli::Cli) -> anyhow::Result<std::process::ExitCode> {
    use cli::{Command, RulesCommand};
    match cli.command {
        Some(Command::Diagnose(args)) => crate::diagnose_cmd::run(cli.config.as_deref(), &args),
        Some(Command::Rules {
            command: RulesCommand::Lint { rules, fixtures },
        }) => crate::diagnose_cmd::lint(rules.as_deref(), fixtures.as_deref()),
        Some(Command::Explain(args)) => crate::diagnose_cmd::explain(&args),
        Some(Command::Cases { command }) => crate::cases_cmd::run(cli.config.as_deref(), command),
        Some(Command::Console(args)) => crate::console::run(cli.config.as_deref(), args),
        Some(Command::Link(args)) => crate::web_cmd::run(&args),
        Some(Command::Serve(args)) => crate::serve::run(cli.config.as_deref(), Some(args)),
        None => crate::serve::run(cli.config.as_deref(), None),
    }
}
