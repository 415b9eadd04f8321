//! Unpacking `.zip`, `.gz` and `.cab` archives by streaming each entry into the bundle's temp
//! directory, within the limits. Entry names never become file-system paths (temp files are
//! numbered), yet unsafe names are still refused so that reports never show them.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;
use zip::read::ZipFile;
use zip::{CompressionMethod, ZipArchive};

use super::open::{Opener, join};

/// Why an entry name is refused.
const UNSAFE_PATH: &str = "unsafe path in archive (`..` or absolute), refused";

/// A `/`-separated relative path from an archive entry name (which may use `\`), or `None`
/// when the name is absolute, has a drive letter, climbs with `..`, or is empty.
pub(super) fn safe_path(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    if name.starts_with(['/', '\\']) || drive {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Entry name bytes as text: UTF-8 when valid, else GBK — zips made by Explorer on Chinese
/// Windows store names in the OEM code page (936) without the UTF-8 flag.
fn entry_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GBK
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    }
}

/// Why entry `i` cannot be unpacked, when the cause is its encryption or compression method.
fn zip_refusal(zip: &mut ZipArchive<BufReader<File>>, i: usize) -> Option<String> {
    let raw = zip.by_index_raw(i).ok()?;
    if raw.encrypted() {
        return Some("encrypted zip entry (password protected), not read".to_string());
    }
    let method = raw.compression();
    if matches!(
        method,
        CompressionMethod::Stored | CompressionMethod::Deflated
    ) {
        return None;
    }
    let known = [
        (CompressionMethod::DEFLATE64, "deflate64"),
        (CompressionMethod::BZIP2, "bzip2"),
        (CompressionMethod::LZMA, "lzma"),
        (CompressionMethod::ZSTD, "zstd"),
        (CompressionMethod::XZ, "xz"),
        (CompressionMethod::PPMD, "ppmd"),
        (CompressionMethod::AES, "aes"),
    ];
    let method = known
        .iter()
        .find(|(m, _)| *m == method)
        .map_or_else(|| method.to_string(), |(_, name)| (*name).to_string());
    Some(format!(
        "unsupported zip compression ({method}): repack the bundle as a standard (deflate) zip"
    ))
}

impl Opener<'_> {
    /// Unpack the entries of the zip at `disk` (entries at `depth`). When the central directory
    /// cannot be read (a truncated upload), entries are recovered from their local headers.
    pub(super) fn expand_zip(
        &mut self,
        prefix: &str,
        disk: &Path,
        depth: usize,
    ) -> Result<(), String> {
        let file = File::open(disk).map_err(|e| format!("cannot open zip archive: {e}"))?;
        let mut zip = match ZipArchive::new(BufReader::new(file)) {
            Ok(zip) => zip,
            Err(e) => return self.salvage_zip(prefix, disk, depth, &e.to_string()),
        };
        let total = zip.len();
        for i in 0..total {
            if !self.zip_entry(&mut zip, i, prefix, depth) {
                let reason = self.entries_reason(total - i);
                self.skip(&self.label(prefix), reason);
                break;
            }
        }
        Ok(())
    }

    /// Entry `i` of a readable zip; false when `max_entries` stops the archive.
    fn zip_entry(
        &mut self,
        zip: &mut ZipArchive<BufReader<File>>,
        i: usize,
        prefix: &str,
        depth: usize,
    ) -> bool {
        let listed = zip
            .name_for_index(i)
            .map_or_else(|| format!("entry #{i}"), str::to_string);
        if listed.ends_with(['/', '\\']) {
            return true; // a directory entry: nothing to read, not counted
        }
        // Counted before reading, so that failing entries cannot flood the skip list.
        if !self.take_entry() {
            return false;
        }
        let error = match zip.by_index(i) {
            Ok(entry) => {
                self.unpack_zip_file(entry, prefix, depth);
                return true;
            }
            Err(e) => e.to_string(),
        };
        let reason =
            zip_refusal(zip, i).unwrap_or_else(|| format!("unreadable zip entry: {error}"));
        self.skip(&join(prefix, &listed), reason);
        true
    }

    /// Read entries one by one from their local headers, up to the first damage.
    fn salvage_zip(
        &mut self,
        prefix: &str,
        disk: &Path,
        depth: usize,
        error: &str,
    ) -> Result<(), String> {
        let invalid = || format!("not a valid zip archive: {error}");
        let file = File::open(disk).map_err(|_| invalid())?;
        let mut reader = BufReader::new(file);
        let (skipped_before, unpacked_before) = (self.skipped_len(), self.unpacked_count());
        let stop = loop {
            let entry = match zip::read::read_zipfile_from_stream(&mut reader) {
                Ok(Some(entry)) => entry,
                Ok(None) => break None,
                Err(e) => break Some(e.to_string()),
            };
            if entry.is_dir() {
                continue;
            }
            if !self.take_entry() {
                break Some(self.entries_reason(1));
            }
            self.unpack_zip_file(entry, prefix, depth);
        };
        let recovered = self.unpacked_count() - unpacked_before;
        if recovered == 0 {
            // Junk that merely starts like a zip: report the archive, not bogus entries.
            self.truncate_skipped(skipped_before);
            return Err(invalid());
        }
        let after = stop.map_or_else(String::new, |e| format!("; stopped at: {e}"));
        let noun = if recovered == 1 { "entry" } else { "entries" };
        let reason = format!(
            "damaged zip archive ({error}): {recovered} {noun} recovered from local headers{after}"
        );
        self.skip(&self.label(prefix), reason);
        Ok(())
    }

    /// Check one zip entry's name, kind and size, then unpack it.
    fn unpack_zip_file<R: Read>(&mut self, entry: ZipFile<'_, R>, prefix: &str, depth: usize) {
        let name = entry_name(entry.name_raw());
        let Some(rel) = safe_path(&name).map(|p| join(prefix, &p)) else {
            self.skip(&join(prefix, &name), UNSAFE_PATH);
            return;
        };
        if entry.is_symlink() {
            self.skip(&rel, "symbolic link in archive, not followed");
            return;
        }
        if entry.is_dir() {
            return;
        }
        let cap = self.cap_for(entry.compressed_size());
        if entry.size() > cap.bytes {
            self.skip(&rel, cap.reason);
            return;
        }
        // The declared size may lie: the cap is enforced again while unpacking.
        self.extract(rel, entry, cap, depth);
    }

    /// Unpack a gzip file (all members, as one stream) named `name` (entry at `depth`).
    pub(super) fn expand_gz(
        &mut self,
        prefix: &str,
        name: &str,
        disk: &Path,
        depth: usize,
        packed: u64,
    ) -> Result<(), String> {
        let mut file = File::open(disk).map_err(|e| format!("cannot open gzip file: {e}"))?;
        let mut magic = [0u8; 2];
        let has_magic = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
        if !has_magic || file.seek(SeekFrom::Start(0)).is_err() {
            return Err("not a valid gzip file: no gzip header".to_string());
        }
        let lower = name.to_ascii_lowercase();
        let inner = if lower.ends_with(".gz") {
            name[..name.len() - 3].to_string()
        } else {
            format!("{name}.unpacked")
        };
        let rel = join(prefix, &inner);
        if !self.take_entry() {
            let reason = self.entries_reason(1);
            self.skip(&self.label(prefix), reason);
            return Ok(());
        }
        let cap = self.cap_for(packed);
        self.extract(rel, MultiGzDecoder::new(BufReader::new(file)), cap, depth);
        Ok(())
    }

    /// Unpack the files of a cabinet (CbsPersist_*.cab). Cab compresses folders, not files, so
    /// the ratio limit applies to the cabinet's size.
    pub(super) fn expand_cab(
        &mut self,
        prefix: &str,
        disk: &Path,
        depth: usize,
        packed: u64,
    ) -> Result<(), String> {
        let file = File::open(disk).map_err(|e| format!("cannot open cab archive: {e}"))?;
        let mut cab = cab::Cabinet::new(BufReader::new(file))
            .map_err(|e| format!("not a valid cab archive: {e}"))?;
        let names: Vec<(String, u64)> = cab
            .folder_entries()
            .flat_map(|folder| folder.file_entries())
            .map(|f| (f.name().to_string(), u64::from(f.uncompressed_size())))
            .collect();
        let total = names.len();
        for (i, (name, size)) in names.into_iter().enumerate() {
            if !self.take_entry() {
                let reason = self.entries_reason(total - i);
                self.skip(&self.label(prefix), reason);
                break;
            }
            let Some(rel) = safe_path(&name).map(|p| join(prefix, &p)) else {
                self.skip(&join(prefix, &name), UNSAFE_PATH);
                continue;
            };
            let cap = self.cap_for(packed);
            if size > cap.bytes {
                self.skip(&rel, cap.reason);
                continue;
            }
            match cab.read_file(&name) {
                Ok(reader) => self.extract(rel, reader, cap, depth),
                Err(e) => self.skip(&rel, format!("unreadable cab entry: {e}")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_are_normalised_and_unsafe_ones_refused() {
        assert_eq!(
            safe_path("Logs\\CBS\\CBS.log").as_deref(),
            Some("Logs/CBS/CBS.log")
        );
        assert_eq!(safe_path("./a//b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(safe_path("../evil.txt"), None);
        assert_eq!(safe_path("a/../../evil.txt"), None);
        assert_eq!(safe_path("/etc/passwd"), None);
        assert_eq!(safe_path("\\Windows\\x"), None);
        assert_eq!(safe_path("C:\\Windows\\x"), None);
        assert_eq!(safe_path(""), None);
    }

    #[test]
    fn entry_names_fall_back_to_gbk() {
        let (gbk, _, _) = encoding_rs::GBK.encode("日志/系统.txt");
        assert_eq!(entry_name(&gbk), "日志/系统.txt");
        assert_eq!(entry_name("utf8/名.txt".as_bytes()), "utf8/名.txt");
    }
}
