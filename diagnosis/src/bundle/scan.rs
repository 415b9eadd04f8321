//! One streaming pass over a file's bytes: copy them (when unpacking), hash them (the input),
//! keep the head for detection and count lines — so no file is read twice to open a bundle.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::TextEncoding;
use super::encoding::{LineCounter, SNIFF_BYTES, detect_encoding, refine_after_ascii};

/// Bytes looked at when the first non-ASCII byte appears after an all-ASCII head.
const LATE_WINDOW: usize = 4096;

/// What one pass learned about a file.
#[derive(Debug)]
pub(crate) struct Scan {
    /// The first [`SNIFF_BYTES`] bytes.
    pub head: Vec<u8>,
    /// Total bytes.
    pub bytes: u64,
    pub encoding: TextEncoding,
    /// Lines as [`super::BundleFile::lines`] yields them (0 for binary files).
    pub lines: u64,
    /// Lines longer than the line limit (see [`LineCounter::long_lines`]).
    pub long_lines: u64,
}

/// Why a pass stopped early.
#[derive(Debug)]
pub(crate) enum PumpError {
    /// More than `cap` bytes came out of the reader.
    Cap,
    /// Reading (or decompressing) failed.
    Io(io::Error),
    /// Writing the copy failed (e.g. the temp disk is full).
    Write(io::Error),
}

impl PumpError {
    /// As an I/O error, for passes without a cap or copy (where only `Io` can happen).
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            PumpError::Cap => io::Error::other("more bytes than the size limit"),
            PumpError::Io(e) | PumpError::Write(e) => e,
        }
    }
}

/// Accumulates a [`Scan`] chunk by chunk.
#[derive(Debug, Default)]
struct Scanner {
    max_line: usize,
    head: Vec<u8>,
    counter: Option<LineCounter>,
    encoding: Option<TextEncoding>,
    /// The head was all ASCII and no later non-ASCII byte has been seen yet.
    ascii_so_far: bool,
    bytes: u64,
}

impl Scanner {
    fn feed(&mut self, buf: &[u8]) {
        self.bytes += buf.len() as u64;
        if let Some(counter) = &mut self.counter {
            counter.feed(buf);
            self.watch_ascii(buf);
            return;
        }
        let take = (SNIFF_BYTES - self.head.len()).min(buf.len());
        self.head.extend_from_slice(&buf[..take]);
        if self.head.len() == SNIFF_BYTES {
            self.decide();
            if let Some(counter) = &mut self.counter {
                counter.feed(&buf[take..]);
            }
            self.watch_ascii(&buf[take..]);
        }
    }

    /// Detect the encoding from the head and start counting lines.
    fn decide(&mut self) {
        let encoding = detect_encoding(&self.head);
        let mut counter = LineCounter::new(encoding, &self.head, self.max_line);
        counter.feed(&self.head);
        self.encoding = Some(encoding);
        self.counter = Some(counter);
        self.ascii_so_far = encoding == TextEncoding::Utf8 && self.head.is_ascii();
    }

    /// After an all-ASCII head, decide UTF-8 versus GBK at the first non-ASCII byte. (UTF-8 and
    /// GBK count lines the same way, so the counter is unaffected.)
    fn watch_ascii(&mut self, buf: &[u8]) {
        // `is_ascii` checks a word at a time: the common all-ASCII chunk costs little.
        if !self.ascii_so_far || buf.is_ascii() {
            return;
        }
        if let Some(i) = buf.iter().position(|b| !b.is_ascii()) {
            let window = &buf[i..buf.len().min(i + LATE_WINDOW)];
            self.encoding = Some(refine_after_ascii(window));
            self.ascii_so_far = false;
        }
    }

    fn finish(mut self) -> Scan {
        if self.counter.is_none() {
            self.decide();
        }
        let encoding = self.encoding.unwrap_or(TextEncoding::Binary);
        let (lines, long_lines) = match (&self.counter, encoding) {
            (_, TextEncoding::Binary) | (None, _) => (0, 0),
            (Some(counter), _) => (counter.finish(), counter.long_lines()),
        };
        Scan {
            head: self.head,
            bytes: self.bytes,
            encoding,
            lines,
            long_lines,
        }
    }
}

/// Read `src` to the end: write every byte to `sink` (if any) and to `hash` (if any), and scan
/// it (lines longer than `max_line` are counted). Stops with [`PumpError::Cap`] as soon as more
/// than `cap` bytes were read.
pub(crate) fn pump(
    mut src: impl Read,
    mut sink: Option<&mut dyn Write>,
    mut hash: Option<&mut Sha256>,
    cap: u64,
    max_line: usize,
) -> Result<Scan, PumpError> {
    let mut scanner = Scanner {
        max_line,
        ..Scanner::default()
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PumpError::Io(e)),
        };
        if scanner.bytes + n as u64 > cap {
            return Err(PumpError::Cap);
        }
        let chunk = &buf[..n];
        if let Some(sink) = sink.as_deref_mut() {
            sink.write_all(chunk).map_err(PumpError::Write)?;
        }
        if let Some(hash) = hash.as_deref_mut() {
            hash.update(chunk);
        }
        scanner.feed(chunk);
    }
    if let Some(sink) = sink {
        sink.flush().map_err(PumpError::Write)?;
    }
    Ok(scanner.finish())
}

/// Event records in an `.evtx` file: each 64 KiB chunk after the 4 KiB file header is walked
/// record by record (`**\0\0` magic and size) up to the chunk's free-space offset. The chunk
/// header's own first/last record numbers are not trusted: damaged or truncated files claim
/// records they no longer hold. Costs one sequential read of the file.
pub(crate) fn evtx_records(path: &Path) -> u64 {
    const HEADER: u64 = 4096;
    const CHUNK: usize = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return 0;
    };
    if file.seek(SeekFrom::Start(HEADER)).is_err() {
        return 0;
    }
    let mut chunk = vec![0u8; CHUNK];
    let mut records = 0u64;
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            match file.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        records += chunk_records(&chunk[..filled]);
        if filled < CHUNK {
            return records;
        }
    }
}

/// Records in one evtx chunk (see [`evtx_records`]).
fn chunk_records(chunk: &[u8]) -> u64 {
    const FIRST_RECORD: usize = 512;
    let u32_at = |at: usize| -> usize {
        chunk
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    };
    if !chunk.starts_with(b"ElfChnk\0") {
        return 0;
    }
    let end = u32_at(48).min(chunk.len());
    let mut pos = FIRST_RECORD;
    let mut records = 0;
    while pos + 28 <= end && chunk[pos..].starts_with(b"**\0\0") {
        let size = u32_at(pos + 4);
        if size < 28 || pos + size > end {
            break;
        }
        records += 1;
        pos += size;
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pump_copies_hashes_and_counts() {
        let data = b"one\r\ntwo\r\nthree";
        let mut out = Vec::new();
        let mut hash = Sha256::new();
        let scan =
            pump(&data[..], Some(&mut out), Some(&mut hash), 1 << 20, 1 << 16).expect("pump");
        assert_eq!(out, data);
        assert_eq!(scan.bytes, data.len() as u64);
        assert_eq!(scan.lines, 3);
        assert_eq!(scan.encoding, TextEncoding::Utf8);
        assert_eq!(
            hex::encode(hash.finalize()),
            hex::encode(Sha256::digest(data))
        );
    }

    #[test]
    fn pump_stops_at_the_cap() {
        let data = vec![b'a'; 200_000];
        assert!(matches!(
            pump(&data[..], None, None, 100_000, 1 << 16),
            Err(PumpError::Cap)
        ));
        assert!(pump(&data[..], None, None, 200_000, 1 << 16).is_ok());
    }

    #[test]
    fn lines_are_counted_past_the_sniffed_head() {
        let data = "x\n".repeat(100_000);
        let scan = pump(data.as_bytes(), None, None, u64::MAX, 1 << 16).expect("pump");
        assert_eq!(scan.lines, 100_000);
        assert_eq!(scan.head.len(), SNIFF_BYTES);
    }

    #[test]
    fn gbk_after_a_long_ascii_head_is_still_gbk() {
        let mut data = "2024-02-14 10:01:02, Info header line\r\n"
            .repeat(3000)
            .into_bytes();
        assert!(data.len() > SNIFF_BYTES);
        data.extend_from_slice(&encoding_rs::GBK.encode("  来源: 服务控制管理器\r\n").0);
        let scan = pump(&data[..], None, None, u64::MAX, 1 << 16).expect("pump");
        assert_eq!(scan.encoding, TextEncoding::Gbk);
        assert_eq!(scan.lines, 3001);

        let mut utf8 = "ascii\n".repeat(20_000).into_bytes();
        utf8.extend_from_slice("来源\n".as_bytes());
        let scan = pump(&utf8[..], None, None, u64::MAX, 1 << 16).expect("pump");
        assert_eq!(scan.encoding, TextEncoding::Utf8);
    }
}
