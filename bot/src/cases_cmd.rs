//! `casebot cases export|import|purge|keygen`.
//!
//! They work on the store `serve` would use (`[store]` of the config), or on the sled store in
//! `--data DIR`. A sled store must not be held by a running bot (the commands then fail with "in
//! use", naming the path); a PostgreSQL store may be shared, and an import there waits while
//! running bots write. Moving between stores is an export from one and an import into the
//! other: `casebot cases export --data ./casebot-data --out dump.jsonl`, then, with
//! `store.kind = "postgres"`, `casebot cases import dump.jsonl` (and back the same way).
//!
//! An encrypted store is opened with the key in `CASEBOT_STORE_KEY` or `CASEBOT_STORE_KEY_FILE`;
//! its export holds the records and bundles decrypted, and an import into a new store opened
//! with another key encrypts them with that key: that is how a key is rotated, and how a plain
//! store becomes an encrypted one (README, "Encryption at rest").

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use store::{CaseStore, SledStore};

use clap::Subcommand;

use crate::config::{Config, StoreConfig, StoreKind};

/// `casebot cases …`.
#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// Dump the whole store (cases, records and bundles) as JSON lines.
    Export {
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The sled store in this directory (default: the configured store).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Restore a JSON-lines dump into the store.
    Import {
        /// The dump.
        file: PathBuf,
        /// The sled store in this directory (default: the configured store).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Delete a case's stored bundles and pastes, its devices, diagnoses and timeline; its
    /// close summary is kept unless `--with-summary` is given. Files another case still uses
    /// are kept.
    Purge {
        /// The case id (CAS-12345-ABC123).
        case: String,
        /// Delete the close summary too: nothing of the case is left.
        #[arg(long)]
        with_summary: bool,
        /// The sled store in this directory (default: the configured store).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Print a new random store encryption key (64 hex digits), for `CASEBOT_STORE_KEY` or
    /// the file named by `CASEBOT_STORE_KEY_FILE`.
    Keygen,
}

/// Run a `cases` subcommand.
///
/// The store is the sled store in `--data` if given, else the configured store (`--config`, or
/// `./casebot.toml` if present; `./casebot-data` without either): the one `serve` would use.
pub fn run(config: Option<&Path>, cmd: CasesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CasesCommand::Export { out, data } => {
            export(&Config::offline_store(config, data)?, out.as_deref())
        }
        CasesCommand::Import { file, data } => import(&Config::offline_store(config, data)?, &file),
        CasesCommand::Purge {
            case,
            with_summary,
            data,
        } => purge(&Config::offline_store(config, data)?, &case, with_summary),
        CasesCommand::Keygen => {
            println!("{}", store::StoreKey::generate().to_hex());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn purge(cfg: &StoreConfig, case: &str, with_summary: bool) -> anyhow::Result<ExitCode> {
    let id = store::CaseId::parse(case).map_err(anyhow::Error::msg)?;
    if cfg.kind == StoreKind::Sled && !SledStore::exists(&cfg.data_dir) {
        anyhow::bail!(
            "no case store at {} (use --data DIR)",
            cfg.data_dir.display()
        );
    }
    let store = cfg.open()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let deleted = match handlers::retention::purge(&*store, &id, with_summary, now) {
        Err(store::StoreError::NotFound(_)) => {
            anyhow::bail!("no case {id} in {}", cfg.describe())
        }
        other => other?,
    };
    store.flush()?;
    let kept = if with_summary {
        "nothing of it was kept"
    } else {
        "its close summary was kept"
    };
    eprintln!(
        "purged {id} from {}: {} stored bundle(s) deleted; {kept}",
        cfg.describe(),
        deleted.bundles
    );
    Ok(ExitCode::SUCCESS)
}

fn export(cfg: &StoreConfig, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    if cfg.kind == StoreKind::Sled && !SledStore::exists(&cfg.data_dir) {
        anyhow::bail!(
            "no case store at {} (nothing to export; use --data DIR)",
            cfg.data_dir.display()
        );
    }
    let store = cfg.open()?;
    let records = match out {
        Some(path) => {
            let result = export_to_file(&*store, path);
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
        cfg.describe()
    );
    Ok(ExitCode::SUCCESS)
}

fn export_to_file(store: &dyn CaseStore, path: &Path) -> anyhow::Result<u64> {
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

fn import(cfg: &StoreConfig, file: &Path) -> anyhow::Result<ExitCode> {
    let input = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = cfg.open()?;
    let written = store
        .import(&mut BufReader::new(input))
        .with_context(|| format!("importing {} into {}", file.display(), cfg.describe()))?;
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "imported {written} new records from {} into {} (records already present were kept)",
        file.display(),
        cfg.describe()
    );
    Ok(ExitCode::SUCCESS)
}
