//! The one error type of the `diagnosis` crate.

use std::path::PathBuf;

/// Everything that can stop a diagnosis from starting at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiagnosisError {
    /// The input path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// The input exists but could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input was read but holds nothing that can be diagnosed (e.g. a corrupt archive).
    #[error("{path}: {reason}")]
    Unreadable {
        /// The path being read.
        path: PathBuf,
        /// A one-line reason naming the problem.
        reason: String,
    },
    /// A rule file is invalid.
    #[error("rule file {file}: {reason}")]
    Rule {
        /// The rule file (relative to the rules directory).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
}
