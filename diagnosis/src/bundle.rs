//! Bundles: open a file, directory, `.zip` (nested), `.gz`, `.cab` or `.evtx` into a list of
//! files with a content-detected kind and encoding, within [`Limits`].
//!
//! OWNER: bundle helper. The public API below is the contract with `parse` and `engine`.

use std::path::Path;

use crate::error::DiagnosisError;
use crate::parse::LogKind;
use crate::report::{BundleSummary, Skipped};

/// Safe defaults against zip bombs and runaway inputs; every limit is named in skip reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes unpacked from archives.
    pub max_unpacked_bytes: u64,
    /// Total entries (files) across all archives.
    pub max_entries: usize,
    /// Archive nesting depth (a zip in a zip is depth 2).
    pub max_depth: usize,
    /// Maximum compression ratio of one entry (unpacked / packed).
    pub max_ratio: u64,
    /// Longest line kept; longer lines are truncated (and the file still read).
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 8 << 30,
            max_entries: 10_000,
            max_depth: 4,
            max_ratio: 1_000,
            max_line_bytes: 64 << 10,
        }
    }
}

/// Text encoding detected for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without BOM (also plain ASCII).
    Utf8,
    /// UTF-8 with BOM.
    Utf8Bom,
    /// UTF-16 little endian with BOM.
    Utf16Le,
    /// UTF-16 big endian with BOM.
    Utf16Be,
    /// GBK / code page 936.
    Gbk,
    /// Not text (evtx and other binary files).
    Binary,
}

impl TextEncoding {
    /// Name used in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf8Bom => "utf-8-bom",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::Gbk => "gbk",
            TextEncoding::Binary => "binary",
        }
    }
}

/// One decoded line of a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub no: u64,
    /// Decoded text without the line terminator (CR and LF stripped), truncated to the limit.
    pub text: String,
}

/// One file of a bundle.
#[derive(Debug)]
pub struct BundleFile {
    /// Path inside the bundle, `/`-separated.
    pub path: String,
    /// Kind detected from content (and name as a tie-breaker).
    pub kind: LogKind,
    /// Detected encoding.
    pub encoding: TextEncoding,
    /// Decompressed size in bytes.
    pub bytes: u64,
    // Where the bytes live: the original path on disk or a spilled temp file.
    data: Data,
}

#[derive(Debug)]
enum Data {
    Disk(std::path::PathBuf),
}

impl BundleFile {
    /// Stream the decoded lines of a text file. Never holds the whole file in memory.
    pub fn lines(&self) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<Line>> + '_>> {
        let Data::Disk(p) = &self.data;
        let _ = p;
        Err(std::io::Error::other("not implemented"))
    }

    /// Open the raw (undecoded) bytes, e.g. for the evtx parser.
    pub fn open_raw(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        let Data::Disk(p) = &self.data;
        Ok(Box::new(std::fs::File::open(p)?))
    }
}

/// An opened bundle: its files and what was skipped.
#[derive(Debug)]
pub struct Bundle {
    /// Input file or directory name.
    pub name: String,
    /// sha256 of the input, lowercase hex.
    pub sha256: String,
    /// Input size in bytes.
    pub bytes: u64,
    /// Files that can be read, in a stable order (sorted by path).
    pub files: Vec<BundleFile>,
    /// Files that were not read, with reasons.
    pub skipped: Vec<Skipped>,
}

impl Bundle {
    /// Open `path` (file, directory or archive). Fails only if nothing can be read at all.
    pub fn open(path: &Path, limits: &Limits) -> Result<Bundle, DiagnosisError> {
        let _ = limits;
        Err(DiagnosisError::Unreadable {
            path: path.to_path_buf(),
            reason: "bundle opening is not implemented yet".into(),
        })
    }

    /// The `bundle` part of the JSON output (without `missing`, which the engine adds).
    pub fn summary(&self) -> BundleSummary {
        BundleSummary {
            name: self.name.clone(),
            sha256: self.sha256.clone(),
            bytes: self.bytes,
            files: Vec::new(),
            skipped: self.skipped.clone(),
            missing: Vec::new(),
        }
    }
}
