//! `diagnosis`: the pure engine that turns a Windows log bundle into root causes.
//!
//! Layout (pipeline order, like ripgrep's searcher → matcher → sink):
//! - [`bundle`]: open a file, directory, zip (nested), gz, cab or evtx into a [`bundle::Bundle`]
//!   of files, each with a content-detected [`parse::LogKind`] and encoding; limits and skips.
//! - [`parse`]: per-family parsers turning a file's lines into [`parse::Record`]s (CBS/CSI, DISM,
//!   event logs, services output), with every HRESULT notation normalised to one code.
//! - [`rule`]: rules as TOML data compiled into a [`rule::RuleSet`].
//! - [`engine`]: runs a `RuleSet` over a `Bundle` and produces a [`report::Diagnosis`].
//! - [`codes`]: the error-code knowledge base (names and meanings, en and zh).
//! - [`report`]: the `casebot.diagnosis.v2` JSON contract: ids, values and English texts; the
//!   rule set ([`rule::Texts`]) and the code table hold every language, and `handlers::render`
//!   draws the terminal report and chat replies from both.
//! - [`progress`]: how far a running diagnosis has come, reported to an [`Observer`].
//!
//! No tokio, serenity, sled or reqwest here: the engine is synchronous and deterministic.
#![deny(missing_docs)]

pub mod bundle;
pub mod codes;
pub mod engine;
pub mod error;
pub mod parse;
pub mod progress;
pub mod report;
pub mod rule;

pub use bundle::{Bundle, Limits};
pub use error::DiagnosisError;
pub use progress::{Observer, Progress};
pub use report::{Diagnosis, Lang};
pub use rule::RuleSet;

use std::path::Path;

/// Open `path` as a bundle within `limits` and diagnose it with `rules`.
///
/// Fails only when the input cannot be read at all (missing path, not a readable bundle);
/// unreadable parts of a readable bundle are listed in `bundle.skipped` instead.
pub fn diagnose_path(
    path: &Path,
    rules: &RuleSet,
    limits: &Limits,
) -> Result<Diagnosis, DiagnosisError> {
    diagnose_path_observed(path, rules, limits, &())
}

/// [`diagnose_path`], reporting to `observer` how far the work has come.
pub fn diagnose_path_observed(
    path: &Path,
    rules: &RuleSet,
    limits: &Limits,
    observer: &dyn Observer,
) -> Result<Diagnosis, DiagnosisError> {
    let bundle = Bundle::open_path_observed(path, limits, observer)?;
    Ok(engine::run_observed(&bundle, rules, observer))
}

/// [`diagnose_path`] for an input stored under another name: see [`Bundle::open_as`].
pub fn diagnose_as(
    path: &Path,
    name: &str,
    rules: &RuleSet,
    limits: &Limits,
) -> Result<Diagnosis, DiagnosisError> {
    diagnose_observed(path, name, rules, limits, &())
}

/// [`diagnose_as`], reporting to `observer` how far the work has come (files unpacked, files
/// and bytes read, the current file) for a progress display.
pub fn diagnose_observed(
    path: &Path,
    name: &str,
    rules: &RuleSet,
    limits: &Limits,
    observer: &dyn Observer,
) -> Result<Diagnosis, DiagnosisError> {
    let bundle = Bundle::open_observed(path, name, limits, observer)?;
    Ok(engine::run_observed(&bundle, rules, observer))
}
