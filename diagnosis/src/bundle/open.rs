//! Walking an input (file or directory) into [`BundleFile`]s, with the bookkeeping every input
//! shares: the entry and byte budgets, the private temp directory, and the skip list.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

use super::digest::{Digest, Hashing};
use super::encoding::LineReader;
use super::kind::detect_kind;
use super::scan::{PumpError, Scan, evtx_records, pump};
use super::{BundleFile, Data, Limits, TextEncoding};
use crate::error::DiagnosisError;
use crate::parse::LogKind;
use crate::report::Skipped;

/// Archive formats, recognised by magic bytes (or by extension when the magic is damaged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    Zip,
    Gzip,
    Cab,
}

/// The archive format of a file from its head, or from its name when the head is not text.
pub(super) fn container_of(head: &[u8], name: &str, encoding: TextEncoding) -> Option<Container> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Container::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Container::Gzip);
    }
    if head.starts_with(b"MSCF") {
        return Some(Container::Cab);
    }
    // A damaged archive should be reported as one ("not a valid zip archive"), not as junk.
    if encoding != TextEncoding::Binary && !head.is_empty() {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    [
        (".zip", Container::Zip),
        (".gz", Container::Gzip),
        (".cab", Container::Cab),
    ]
    .into_iter()
    .find(|(ext, _)| lower.ends_with(ext))
    .map(|(_, container)| container)
}

/// Lines of an event-xml file as [`BundleFile::lines`] yields them, and how many of them are
/// cut at the limit (a second, decoding pass; such exports are small next to CBS logs).
fn count_lines(disk: &Path, encoding: TextEncoding, max: usize) -> Option<(u64, u64)> {
    let file = BufReader::new(File::open(disk).ok()?);
    let mut reader = LineReader::new(file, encoding, max)?.break_after(super::EVENT_END);
    let lines = reader.by_ref().count() as u64;
    Some((lines, reader.truncated_lines()))
}

/// Why a non-archive file cannot be read as a log, if it cannot.
fn refusal(rel: &str, scan: &Scan, kind: LogKind) -> Option<String> {
    let head = &scan.head;
    let lower = rel.to_ascii_lowercase();
    // A text export renamed `.evtx` is still read by its content.
    let not_text = scan.encoding == TextEncoding::Binary || scan.bytes == 0;
    if lower.ends_with(".evtx") && kind != LogKind::Evtx && not_text {
        return Some("not a valid evtx file: no ElfFile header".to_string());
    }
    let other_archive = if head.starts_with(b"7z\xBC\xAF\x27\x1C") {
        Some("7z")
    } else if head.starts_with(b"Rar!\x1A\x07") {
        Some("rar")
    } else if head.get(257..262) == Some(b"ustar") {
        Some("tar")
    } else {
        None
    };
    if let Some(format) = other_archive {
        return Some(format!(
            "unsupported archive format ({format}): repack as .zip"
        ));
    }
    if scan.encoding != TextEncoding::Binary || kind == LogKind::Evtx {
        return None;
    }
    Some(if lower.ends_with(".etl") {
        "binary file, not a log (ETW trace: run Get-WindowsUpdateLog on the device and add \
         the WindowsUpdate.log it writes)"
            .to_string()
    } else {
        "binary file, not a log".to_string()
    })
}

/// `prefix/name`, or `name` at the top.
pub(super) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// How many bytes one entry may unpack to, and the limit that sets it.
pub(super) struct Cap {
    pub bytes: u64,
    pub reason: String,
}

/// A temp file that charges every byte written to the bundle's disk counter.
struct Counted<'a> {
    file: File,
    written: &'a mut u64,
}

impl io::Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        *self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// State of one [`super::Bundle::open`] call.
pub(super) struct Opener<'a> {
    pub limits: &'a Limits,
    /// Told of every file unpacked.
    observer: &'a dyn crate::Observer,
    progress: crate::Progress,
    temp: Option<TempDir>,
    next_id: u64,
    files: Vec<BundleFile>,
    skipped: Vec<Skipped>,
    /// Files seen so far (directory files and archive entries), against `max_entries`.
    entries: usize,
    /// Bytes unpacked from archives so far, against `max_unpacked_bytes`.
    unpacked: u64,
    /// Bytes written to the temp directory so far, against `max_disk_bytes`: every byte counts,
    /// also those of entries refused half-way and of nested archives deleted once expanded.
    written: u64,
    /// Name of the input, used where a skip concerns the whole top-level archive.
    top: String,
    /// Archive entries unpacked without error.
    extracted: usize,
}

/// What an [`Opener`] produced.
pub(super) struct Opened {
    pub files: Vec<BundleFile>,
    pub skipped: Vec<Skipped>,
    pub temp: Option<TempDir>,
    /// Bytes written to the temp directory (see `max_disk_bytes`).
    pub written: u64,
}

impl<'a> Opener<'a> {
    pub fn new(limits: &'a Limits, observer: &'a dyn crate::Observer) -> Self {
        Opener {
            limits,
            observer,
            progress: crate::Progress::default(),
            temp: None,
            next_id: 0,
            files: Vec::new(),
            skipped: Vec::new(),
            entries: 0,
            unpacked: 0,
            written: 0,
            top: String::new(),
            extracted: 0,
        }
    }

    /// Archive entries unpacked without error so far.
    pub fn unpacked_count(&self) -> usize {
        self.extracted
    }

    pub fn skipped_len(&self) -> usize {
        self.skipped.len()
    }

    /// Forget skips recorded after the first `len` (used when an archive is judged unreadable
    /// as a whole).
    pub fn truncate_skipped(&mut self, len: usize) {
        self.skipped.truncate(len);
    }

    /// The path to report for an archive whose entries are named `prefix/…`.
    pub fn label(&self, prefix: &str) -> String {
        if prefix.is_empty() {
            self.top.clone()
        } else {
            prefix.to_string()
        }
    }

    pub fn finish(mut self) -> Opened {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Opened {
            files: self.files,
            skipped: self.skipped,
            temp: self.temp,
            written: self.written,
        }
    }

    pub fn skip(&mut self, path: &str, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            path: path.to_string(),
            reason: reason.into(),
        });
    }

    /// Count one more file against `max_entries`; false once the limit is reached.
    pub fn take_entry(&mut self) -> bool {
        if self.entries >= self.limits.max_entries {
            return false;
        }
        self.entries += 1;
        true
    }

    /// The skip reason for files beyond `max_entries`.
    pub fn entries_reason(&self, left: usize) -> String {
        format!(
            "{left} more file(s) not read: exceeds max_entries ({})",
            self.limits.max_entries
        )
    }

    /// The unpack budget of one entry of `packed` bytes: the tightest of the ratio cap, the
    /// unpacked bytes left and the temp disk left (the ratio applies to the container's packed
    /// size when entries have none of their own, as in gzip and cab).
    pub fn cap_for(&self, packed: u64) -> Cap {
        let l = self.limits;
        let ratio = packed.max(1).saturating_mul(l.max_ratio);
        let unpacked = l.max_unpacked_bytes.saturating_sub(self.unpacked);
        let disk = l.max_disk_bytes.saturating_sub(self.written);
        if disk <= unpacked && disk <= ratio {
            Cap {
                bytes: disk,
                reason: format!(
                    "exceeds max_disk_bytes ({}): the bundle's unpacked files may take at most \
                     that many bytes of temp disk",
                    l.max_disk_bytes
                ),
            }
        } else if unpacked <= ratio {
            Cap {
                bytes: unpacked,
                reason: format!("exceeds max_unpacked_bytes ({})", l.max_unpacked_bytes),
            }
        } else {
            Cap {
                bytes: ratio,
                reason: format!(
                    "exceeds max_ratio ({}): unpacks to more than {}x its packed size of {packed} bytes",
                    l.max_ratio, l.max_ratio
                ),
            }
        }
    }

    /// A new empty file in the private temp directory (created on first use).
    fn temp_file(&mut self) -> io::Result<(PathBuf, File)> {
        if self.temp.is_none() {
            self.temp = Some(
                tempfile::Builder::new()
                    .prefix("casebot-bundle-")
                    .tempdir()?,
            );
        }
        let dir = self
            .temp
            .as_ref()
            .map(TempDir::path)
            .unwrap_or(Path::new("."));
        self.next_id += 1;
        let path = dir.join(format!("{:06}", self.next_id));
        let file = File::create(&path)?;
        Ok((path, file))
    }

    /// Unpack one archive entry to a temp file within `cap`, then add it at `depth`.
    pub fn extract(&mut self, rel: String, reader: impl io::Read, cap: Cap, depth: usize) {
        let (path, file) = match self.temp_file() {
            Ok(pair) => pair,
            Err(e) => return self.skip(&rel, format!("cannot write temp file: {e}")),
        };
        let mut sink = io::BufWriter::new(Counted {
            file,
            written: &mut self.written,
        });
        let result = pump(
            reader,
            Some(&mut sink),
            None,
            cap.bytes,
            self.limits.max_line_bytes,
        );
        drop(sink);
        match result {
            Ok(scan) => {
                self.unpacked += scan.bytes;
                self.extracted += 1;
                self.add(rel, path, scan, depth, true);
            }
            Err(e) => {
                // Removed at once, so a refused entry holds no disk while the rest is unpacked
                // (the temp dir goes with the bundle in any case, also on error and unwind).
                let _ = std::fs::remove_file(&path);
                let reason = match e {
                    PumpError::Cap => cap.reason,
                    PumpError::Io(e) => format!("corrupt or unreadable entry: {e}"),
                    PumpError::Write(e) => format!("cannot write temp file: {e}"),
                };
                self.skip(&rel, reason);
            }
        }
    }

    /// Add a scanned file at `disk`: expand it if it is an archive, skip it if it is binary
    /// junk, keep it otherwise. `owned` files live in the temp dir and may be deleted.
    pub fn add(&mut self, rel: String, disk: PathBuf, scan: Scan, depth: usize, owned: bool) {
        if let Some(container) = container_of(&scan.head, &rel, scan.encoding) {
            let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
            if let Err(reason) = self.expand(&rel, &name, &disk, container, depth, scan.bytes) {
                self.skip(&rel, reason);
            }
            if owned {
                let _ = std::fs::remove_file(&disk);
            }
            return;
        }
        let kind = detect_kind(&rel, &scan.head, scan.encoding);
        if let Some(reason) = refusal(&rel, &scan, kind) {
            self.skip(&rel, reason);
            if owned {
                let _ = std::fs::remove_file(&disk);
            }
            return;
        }
        let (lines, long) = match kind {
            LogKind::Evtx => (evtx_records(&disk), 0),
            // Lines also end at `</Event>` there, which the byte counter cannot see.
            LogKind::EventXml => count_lines(&disk, scan.encoding, self.limits.max_line_bytes)
                .unwrap_or((scan.lines, scan.long_lines)),
            _ => (scan.lines, scan.long_lines),
        };
        if long > 0 {
            // The file is read; the limit hit is still reported where limits are reported.
            let max = self.limits.max_line_bytes;
            let reason = format!(
                "{long} line(s) cut at max_line_bytes ({max}); the rest of the file was read"
            );
            self.skip(&rel, reason);
        }
        self.progress.files_unpacked += 1;
        self.progress.bytes_unpacked += scan.bytes;
        self.progress.current.clone_from(&rel);
        self.observer.progress(&self.progress);
        self.files.push(BundleFile {
            path: rel,
            kind,
            encoding: scan.encoding,
            bytes: scan.bytes,
            lines,
            max_line_bytes: self.limits.max_line_bytes,
            data: Data::Disk(disk),
        });
    }

    /// Unpack an archive found at `depth` (its entries are at `depth + 1`), naming its entries
    /// `prefix/…`. Errors when the archive itself cannot be opened.
    pub fn expand(
        &mut self,
        prefix: &str,
        name: &str,
        disk: &Path,
        container: Container,
        depth: usize,
        packed: u64,
    ) -> Result<(), String> {
        if depth + 1 > self.limits.max_depth {
            let max = self.limits.max_depth;
            self.skip(
                &self.label(prefix),
                format!("nested archive exceeds max_depth ({max})"),
            );
            return Ok(());
        }
        match container {
            Container::Zip => self.expand_zip(prefix, disk, depth + 1),
            Container::Gzip => self.expand_gz(prefix, name, disk, depth + 1, packed),
            Container::Cab => self.expand_cab(prefix, disk, depth + 1, packed),
        }
    }

    /// Open a single input file: expand or add it. Returns (sha256, bytes). The file is hashed
    /// on a thread of its own from the start: an archive's hash is waited for once it is
    /// unpacked, a log's only when the hash is asked for (see [`Digest`]).
    pub fn open_file(&mut self, path: &Path, name: &str) -> Result<(Digest, u64), DiagnosisError> {
        let io_err = |source| DiagnosisError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let hashing = Hashing::start(path).map_err(io_err)?;
        let max_line = self.limits.max_line_bytes;
        let scan = match pump(BufReader::new(file), None, None, u64::MAX, max_line) {
            Ok(scan) => scan,
            Err(e) => return Err(io_err(e.into_io())),
        };
        let bytes = scan.bytes;
        let name = name.to_string();
        self.top.clone_from(&name);
        match container_of(&scan.head, &name, scan.encoding) {
            Some(container) => {
                self.expand("", &name, path, container, 0, bytes)
                    .map_err(|reason| DiagnosisError::Unreadable {
                        path: path.to_path_buf(),
                        reason,
                    })?;
                let sha = hashing.wait().map_err(io_err)?;
                Ok((Digest::done(sha), bytes))
            }
            None => {
                self.add(name, path.to_path_buf(), scan, 0, false);
                Ok((Digest::pending(hashing), bytes))
            }
        }
    }

    /// Open a directory recursively. Symbolic links are not followed (no loops, no escapes).
    /// The hash covers, for each regular file in byte order of its relative path: the path, a
    /// NUL byte, the length as 8 little-endian bytes, and the contents. Returns (sha256, bytes).
    pub fn open_dir(&mut self, root: &Path) -> Result<(String, u64), DiagnosisError> {
        self.top = super::display_name(root);
        let found = self.list_dir(root)?;
        let mut hash = Sha256::new();
        let mut total = 0u64;
        let max_line = self.limits.max_line_bytes;
        for (i, (rel, path)) in found.iter().enumerate() {
            if !self.take_entry() {
                let reason = self.entries_reason(found.len() - i);
                self.skip(rel, reason);
                break;
            }
            let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            hash.update(rel.as_bytes());
            hash.update([0]);
            hash.update(len.to_le_bytes());
            let scan = File::open(path).map_err(PumpError::Io).and_then(|file| {
                pump(
                    BufReader::new(file),
                    None,
                    Some(&mut hash),
                    u64::MAX,
                    max_line,
                )
            });
            match scan {
                Ok(scan) => {
                    total += scan.bytes;
                    self.add(rel.clone(), path.clone(), scan, 0, false);
                }
                Err(e) => self.skip(rel, format!("cannot read: {}", e.into_io())),
            }
        }
        Ok((hex::encode(hash.finalize()), total))
    }

    /// Regular files under `root`, sorted by relative `/`-separated path.
    /// The walk stops once more files than `max_entries` are listed (only that many can be
    /// read): pointing casebot at a whole disk ends quickly with a skip naming the limit.
    fn list_dir(&mut self, root: &Path) -> Result<Vec<(String, PathBuf)>, DiagnosisError> {
        let mut found = Vec::new();
        let mut stack = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            if found.len() > self.limits.max_entries {
                let reason = format!(
                    "directory not fully listed: more than {} files, exceeds max_entries ({})",
                    self.limits.max_entries, self.limits.max_entries
                );
                self.skip(&self.label(&rel), reason);
                break;
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(source) if rel.is_empty() => {
                    return Err(DiagnosisError::Io { path: dir, source });
                }
                Err(e) => {
                    self.skip(&rel, format!("cannot read directory: {e}"));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let child = join(&rel, &entry.file_name().to_string_lossy());
                match entry.file_type() {
                    Ok(t) if t.is_symlink() => self.skip(&child, "symbolic link, not followed"),
                    Ok(t) if t.is_dir() => stack.push((entry.path(), child)),
                    Ok(t) if t.is_file() => found.push((child, entry.path())),
                    Ok(_) => self.skip(&child, "not a regular file"),
                    Err(e) => self.skip(&child, format!("cannot read: {e}")),
                }
            }
        }
        found.sort();
        Ok(found)
    }
}
