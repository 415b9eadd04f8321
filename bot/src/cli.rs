//! Command line: `casebot [serve | console | diagnose | rules lint | explain | cases …]`. Each
//! subcommand's arguments live in its own module; [`crate::run`] dispatches.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cases_cmd::CasesCommand;
use crate::console::ConsoleArgs;
use crate::diagnose_cmd::{DiagnoseArgs, ExplainArgs};

/// casebot: diagnoses Windows update failures from log bundles and keeps support cases.
#[derive(Debug, Parser)]
#[command(name = "casebot", version, about)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Config file (default: ./casebot.toml if present, else built-in defaults).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// What to do. Without a subcommand: `serve` if a Discord token is configured, else `console`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to Discord and serve the configured channels.
    Serve(crate::shards::ServeArgs),
    /// The same bot in this terminal: one message per line.
    Console(ConsoleArgs),
    /// Diagnose a log bundle offline (file, directory, zip, cab, gz, evtx; `-` reads pasted
    /// log lines from standard input).
    Diagnose(DiagnoseArgs),
    /// Rule catalogue tools.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Decode an error code (0x…, hex, decimal, HRESULT_FROM_WIN32(n), symbolic name).
    Explain(ExplainArgs),
    /// Print a signed, expiring link to the web view (or write a new link key).
    Link(crate::web_cmd::LinkArgs),
    /// Case store tools.
    Cases {
        /// What to do with the cases.
        #[command(subcommand)]
        command: CasesCommand,
    },
}

/// `casebot rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check every rule file: schema, regexes, ids, fixtures, duplicates.
    Lint {
        /// Rules directory (default: ./diagnosis/rules, i.e. run from the workspace root).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Fixtures directory (default: ./tests/fixtures/rules).
        #[arg(long)]
        fixtures: Option<PathBuf>,
    },
}
