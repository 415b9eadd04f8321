//! Command line: `casebot [serve | console | diagnose | rules lint | explain | cases …]`.
//!
//! Shared by every helper: add arguments to your own subcommand only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

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
    Serve,
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
    /// Case store tools.
    Cases {
        /// What to do with the cases.
        #[command(subcommand)]
        command: CasesCommand,
    },
}

/// `casebot console` arguments.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Speak as an engineer (full diagnosis) or a customer (guided replies).
    #[arg(long = "as", value_name = "ROLE", default_value = "engineer")]
    pub role: String,
    /// User name shown in the case timeline.
    #[arg(long)]
    pub user: Option<String>,
    /// Reply language (zh or en).
    #[arg(long)]
    pub lang: Option<String>,
    /// Store directory.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl Default for ConsoleArgs {
    /// What `cargo run` without a subcommand uses: an engineer in the default store.
    fn default() -> Self {
        ConsoleArgs {
            role: "engineer".into(),
            user: None,
            lang: None,
            data: None,
        }
    }
}

/// `casebot diagnose` arguments.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The bundle: a file, directory, .zip, .cab, .gz or .evtx; `-` reads it from standard
    /// input (e.g. pasted log lines), up to the configured download limit (download.max_bytes),
    /// and reports it as `stdin.txt`.
    pub path: PathBuf,
    /// Print the casebot.diagnosis.v1 JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Report language (zh or en).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Load rules from this directory instead of the built-in set.
    #[arg(long)]
    pub rules: Option<PathBuf>,
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

/// `casebot explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The code.
    #[arg(allow_negative_numbers = true)]
    pub code: String,
    /// Language (zh or en); both when omitted.
    #[arg(long)]
    pub lang: Option<String>,
}

/// `casebot cases …`.
#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// Dump the whole store as JSON lines.
    Export {
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Store directory.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Restore a JSON-lines dump into the store.
    Import {
        /// The dump.
        file: PathBuf,
        /// Store directory.
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

/// Dispatch.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Diagnose(args)) => crate::diagnose_cmd::run(cli.config.as_deref(), &args),
        Some(Command::Rules {
            command: RulesCommand::Lint { rules, fixtures },
        }) => crate::diagnose_cmd::lint(rules.as_deref(), fixtures.as_deref()),
        Some(Command::Explain(args)) => crate::diagnose_cmd::explain(&args),
        Some(Command::Cases { command }) => crate::cases_cmd::run(cli.config.as_deref(), command),
        Some(Command::Console(args)) => crate::console::run(cli.config.as_deref(), args),
        Some(Command::Serve) => crate::serve::run(cli.config.as_deref(), true),
        None => crate::serve::run(cli.config.as_deref(), false),
    }
}
