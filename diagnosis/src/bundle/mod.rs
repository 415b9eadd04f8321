//! Bundles: open a file, directory, `.zip` (nested), `.gz`, `.cab` or `.evtx` into a list of
//! files with a content-detected kind and encoding, within [`Limits`].
//!
//! The public API below is the contract with `parse` and `engine`. Layout:
//! - `open`: walking a file or directory, budgets, temp dir, skip list;
//! - `archive`: zip (nested), gzip and cab unpacking;
//! - `scan`: the single streaming pass per file (copy, hash, head, line count);
//! - `encoding`: encoding detection and the streaming line decoder;
//! - `kind`: kind detection from content.
//!
//! Archives are unpacked entry by entry into a private temp directory owned by the [`Bundle`],
//! never into memory, and deleted with it. Every file is read once while opening (to hash,
//! detect and count lines) and again by whoever calls [`BundleFile::lines`]; line counts in
//! [`Bundle::summary`] therefore cost no extra pass (except event-xml files, whose lines also
//! end at `</Event>`, and evtx files, whose records are counted from their chunks).
//!
//! What is refused and listed in [`Bundle::skipped`]: entries with `..`, absolute or drive
//! paths; symbolic links; binary files that are not evtx; archives nested deeper than the limit
//! or in an unsupported format (7z, rar, tar); damaged archives and entries; anything beyond a
//! limit. Kind and encoding rules are in the `kind` and `encoding` modules.

mod archive;
mod digest;
mod encoding;
pub(crate) use encoding::TextBlocks;
mod kind;
mod open;
mod scan;

use std::path::Path;

use crate::error::DiagnosisError;
pub use crate::parse::Line;
use crate::parse::{LogKind, Parsed, Record};
use crate::report::{BundleSummary, FileSummary, Skipped};

/// Safe defaults against zip bombs and runaway inputs; every limit is named in skip reasons
/// (e.g. `exceeds max_unpacked_bytes (8589934592)`), and hitting one skips only what is beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes unpacked from archives (files of an input directory are not unpacked and do
    /// not count). Enforced while streaming, whatever sizes the archive declares.
    pub max_unpacked_bytes: u64,
    /// Total entries (files) across all archives and input directories.
    pub max_entries: usize,
    /// Archive nesting depth (a zip in a zip is depth 2).
    pub max_depth: usize,
    /// Bytes the bundle may write to its temp directory, all entries together: every byte
    /// written counts, also those of an entry refused half-way and of a nested archive deleted
    /// once expanded, so the temp disk used never exceeds it. Enforced while streaming.
    pub max_disk_bytes: u64,
    /// Maximum compression ratio of one entry (unpacked / packed). For gzip and cab, which have
    /// no per-file packed size, the packed size of the whole archive is used. Deflate cannot
    /// exceed about 1032:1, so a cap must sit well below that to mean anything; real logs stay
    /// far below it (see [`DEFAULT_MAX_RATIO`]).
    pub max_ratio: u64,
    /// Longest line kept, in bytes of UTF-8 text; longer lines are truncated on a character
    /// boundary (and the file still read).
    pub max_line_bytes: usize,
}

/// Default [`Limits::max_disk_bytes`]: 800 MiB, four times the default largest download
/// (`download.max_bytes`, 200 MiB), so a bundle that unpacks as much as a generous log archive
/// fits, and a bomb stops there.
pub const DEFAULT_MAX_DISK_BYTES: u64 = 800 << 20;

/// Default [`Limits::max_ratio`]: 200. Measured (test `realistic_logs_compress_far_below_the_ratio_cap`
/// in the bundle tests): a generated CBS.log with realistic variety (timestamps, session ids,
/// packages, paths) deflates about 14.5:1, the healthy-cbs.log fixture about 3:1, and a
/// one-chunk evtx file about 25:1; so 200 leaves headroom of 8x over the most compressible real
/// log and stops a deflate bomb (up to 1032:1) at a fifth of what it would unpack.
pub const DEFAULT_MAX_RATIO: u64 = 200;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 8 << 30,
            max_disk_bytes: DEFAULT_MAX_DISK_BYTES,
            max_entries: 10_000,
            max_depth: 4,
            max_ratio: DEFAULT_MAX_RATIO,
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

/// Where a line also ends in event-xml files.
const EVENT_END: &str = "</Event>";

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
    /// Lines (records for evtx), counted while opening.
    lines: u64,
    /// `Limits::max_line_bytes` of the open call.
    max_line_bytes: usize,
    // Where the bytes live: the original path on disk or a spilled temp file.
    data: Data,
}

#[derive(Debug)]
enum Data {
    Disk(std::path::PathBuf),
}

impl BundleFile {
    /// Parse the file into records, calling `sink` for each, streaming; says how much was read
    /// and whether part of a readable file was damaged.
    pub fn parse(&self, sink: &mut dyn FnMut(Record)) -> std::io::Result<Parsed> {
        if self.kind == LogKind::Evtx {
            return crate::parse::parse_evtx(&mut self.open_raw()?, sink);
        }
        let read = crate::parse::parse_line_results(self.kind, self.lines()?, sink)?;
        Ok(Parsed { read, damage: None })
    }

    /// Stream the decoded lines of a text file. Never holds the whole file in memory: lines
    /// longer than the limit given to [`Bundle::open`] are cut there (on a character boundary)
    /// and the rest of the line is read and dropped. Bad bytes become U+FFFD.
    /// In event-xml files a line also ends after each `</Event>`: `wevtutil qe /f:xml` writes
    /// all events on one line, and each event must survive the line limit.
    /// Fails with `InvalidInput` for binary files (evtx): use [`BundleFile::open_raw`].
    pub fn lines(&self) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<Line>> + '_>> {
        let Data::Disk(p) = &self.data;
        let file = std::io::BufReader::new(std::fs::File::open(p)?);
        match encoding::LineReader::new(file, self.encoding, self.max_line_bytes) {
            Some(reader) if self.kind == LogKind::EventXml => {
                Ok(Box::new(reader.break_after(EVENT_END)))
            }
            Some(reader) => Ok(Box::new(reader)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is a binary file; read it with open_raw", self.path),
            )),
        }
    }

    /// The file's text as UTF-8 in large blocks, for the buffer search; `None` for binary files.
    pub(crate) fn text_blocks(
        &self,
    ) -> std::io::Result<Option<encoding::TextBlocks<std::fs::File>>> {
        let Data::Disk(p) = &self.data;
        Ok(encoding::TextBlocks::new(
            std::fs::File::open(p)?,
            self.encoding,
        ))
    }

    /// The line limit of the open call (`Limits::max_line_bytes`).
    pub(crate) fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    /// Number of lines [`BundleFile::lines`] yields, counted while opening (for evtx: event
    /// records found by walking its chunks).
    pub fn line_count(&self) -> u64 {
        self.lines
    }

    /// Open the raw (undecoded) bytes, buffered, e.g. for the evtx parser.
    pub fn open_raw(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        let Data::Disk(p) = &self.data;
        Ok(Box::new(std::io::BufReader::new(std::fs::File::open(p)?)))
    }
}

/// An opened bundle: its files and what was skipped.
#[derive(Debug)]
pub struct Bundle {
    /// Input file or directory name.
    pub name: String,
    /// sha256 of the input (see [`Bundle::sha256`]).
    sha256: digest::Digest,
    /// Input size in bytes.
    pub bytes: u64,
    /// Files that can be read, in a stable order (sorted by path).
    pub files: Vec<BundleFile>,
    /// Files that were not read, with reasons.
    pub skipped: Vec<Skipped>,
    /// Bytes written to the temp directory while opening (never more than
    /// [`Limits::max_disk_bytes`]).
    pub temp_bytes_written: u64,
    // Unpacked archive entries live here until the bundle is dropped.
    _temp: Option<tempfile::TempDir>,
}

impl Bundle {
    /// Open `path` (file, directory or archive). Fails only if nothing can be read at all:
    /// a missing path, an archive that cannot be opened, or an input whose every file was
    /// skipped (the reason of the first skip is given). Unreadable parts of a readable bundle
    /// are listed in [`Bundle::skipped`].
    ///
    /// `sha256`/`bytes` are those of the input file; for a directory, see `open::Opener::open_dir`
    /// (hash over sorted relative paths, lengths and contents; bytes summed).
    pub fn open(path: &Path, limits: &Limits) -> Result<Bundle, DiagnosisError> {
        Bundle::open_path_observed(path, limits, &())
    }

    /// [`Bundle::open`], reporting each file unpacked to `observer`.
    pub fn open_path_observed(
        path: &Path,
        limits: &Limits,
        observer: &dyn crate::Observer,
    ) -> Result<Bundle, DiagnosisError> {
        Bundle::open_observed(path, &display_name(path), limits, observer)
    }

    /// [`Bundle::open`] for an input stored under another name (a chat upload kept by its
    /// hash): the bundle, and a single file's entry, are called `name`, and kind detection
    /// uses `name` where it would use the file name. Only its last path component counts.
    pub fn open_as(path: &Path, name: &str, limits: &Limits) -> Result<Bundle, DiagnosisError> {
        Bundle::open_observed(path, name, limits, &())
    }

    /// [`Bundle::open_as`], reporting each file unpacked to `observer`.
    pub fn open_observed(
        path: &Path,
        name: &str,
        limits: &Limits,
        observer: &dyn crate::Observer,
    ) -> Result<Bundle, DiagnosisError> {
        let name = Path::new(name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| display_name(path));
        let meta = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                DiagnosisError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                DiagnosisError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        if !meta.is_dir() && !meta.is_file() {
            // A device or pipe may never end (`/dev/zero`): refuse rather than hash forever.
            return Err(DiagnosisError::Unreadable {
                path: path.to_path_buf(),
                reason: "not a regular file or directory".to_string(),
            });
        }
        let mut opener = open::Opener::new(limits, observer);
        let (sha256, bytes) = if meta.is_dir() {
            let (sha256, bytes) = opener.open_dir(path)?;
            (digest::Digest::done(sha256), bytes)
        } else {
            opener.open_file(path, &name)?
        };
        let opened = opener.finish();
        if opened.files.is_empty() {
            return Err(DiagnosisError::Unreadable {
                path: path.to_path_buf(),
                reason: nothing_readable(&name, &opened.skipped),
            });
        }
        Ok(Bundle {
            name,
            sha256,
            bytes,
            files: opened.files,
            skipped: opened.skipped,
            temp_bytes_written: opened.written,
            _temp: opened.temp,
        })
    }

    /// sha256 of the input, lowercase hex. A single log file is hashed on a thread of its own
    /// while the engine reads it: this waits for the hash if it is still being computed.
    pub fn sha256(&self) -> &str {
        self.sha256.get()
    }

    /// The `bundle` part of the JSON output (without `missing`, which the engine adds).
    pub fn summary(&self) -> BundleSummary {
        let mut summary = self.summary_unhashed();
        summary.sha256 = self.sha256().to_string();
        summary
    }

    /// [`Bundle::summary`] without waiting for the hash (`sha256` is left empty).
    pub(crate) fn summary_unhashed(&self) -> BundleSummary {
        BundleSummary {
            name: self.name.clone(),
            sha256: String::new(),
            bytes: self.bytes,
            files: self
                .files
                .iter()
                .map(|f| FileSummary {
                    path: f.path.clone(),
                    kind: f.kind.as_str().to_string(),
                    encoding: f.encoding.as_str().to_string(),
                    bytes: f.bytes,
                    lines: f.lines,
                })
                .collect(),
            skipped: self.skipped.clone(),
            missing: Vec::new(),
        }
    }
}

/// The reason given when an input named `name` yields no readable file.
fn nothing_readable(name: &str, skipped: &[Skipped]) -> String {
    match skipped {
        [] => "holds no files".to_string(),
        [only] if only.path.is_empty() || only.path == name => only.reason.clone(),
        [only] => format!("{}: {}", only.path, only.reason),
        [first, rest @ ..] => format!(
            "no readable file ({} skipped; first: {}: {})",
            rest.len() + 1,
            first.path,
            first.reason
        ),
    }
}

/// Last component of `path`; for `.` and the like, that of its canonical form.
fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            let canonical = path.canonicalize().ok()?;
            Some(canonical.file_name()?.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests;
