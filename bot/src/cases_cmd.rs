//! `casebot cases export|import`.
//!
//! Both work on a store directory that no running bot holds (the store is single-process; a
//! running bot makes them fail with "in use", naming the path).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use store::{CaseStore, SledStore};

use clap::Subcommand;

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
use crate::config::Config;

/// Run a `cases` subcommand.
///
/// The store directory is `--data`, else `[store] data_dir` of the config (`--config`, or
/// `./casebot.toml` if present), else `./casebot-data`: the directory `serve` would use.
pub fn run(config: Option<&Path>, cmd: CasesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CasesCommand::Export { out, data } => {
            export(&Config::store_dir(config, data)?, out.as_deref())
        }
        CasesCommand::Import { file, data } => import(&Config::store_dir(config, data)?, &file),
    }
}

fn export(dir: &Path, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    if !SledStore::exists(dir) {
        anyhow::bail!(
            "no case store at {} (nothing to export; use --data DIR)",
            dir.display()
        );
    }
    let store = SledStore::open(dir)?;
    let records = match out {
        Some(path) => {
            let result = export_to_file(&store, path);
            if result.is_err() {
                // Do not leave a truncated dump that looks like a backup.
                let _ = std::fs::remove_file(path);
            }
            result?
        }
        None => {
            let stdout = std::io::stdout();
            let mut writer = BufWriter::new(stdout.lock());
            store.export(&mut writer)?
        }
    };
    let target = out.map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    eprintln!(
        "exported {records} records from {} to {target}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn export_to_file(store: &SledStore, path: &Path) -> anyhow::Result<u64> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = BufWriter::new(file);
    let records = store.export(&mut writer)?;
    let file = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all().map(|()| f))
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(file);
    Ok(records)
}

fn import(dir: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let input = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = SledStore::open(dir)?;
    let written = store
        .import(&mut BufReader::new(input))
        .with_context(|| format!("importing {} into {}", file.display(), dir.display()))?;
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "imported {written} new records from {} into {} (records already present were kept)",
        file.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
