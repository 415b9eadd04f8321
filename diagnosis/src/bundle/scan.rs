//! One streaming pass over a file's bytes: copy them (when unpacking), hash them (the input),
//! keep the head for detection and count lines — so no file is read twice to open a bundle.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::TextEncoding;
use super::encoding::{LineCounter, SNIFF_BYTES, detect_encoding};

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
}

/// Why a pass stopped early.
#[derive(Debug)]
pub(crate) enum PumpError {
    /// More than `cap` bytes came out of the reader.
    Cap,
    Io(io::Error),
}

/// Accumulates a [`Scan`] chunk by chunk.
#[derive(Debug, Default)]
struct Scanner {
    head: Vec<u8>,
    counter: Option<LineCounter>,
    encoding: Option<TextEncoding>,
    bytes: u64,
}

impl Scanner {
    fn feed(&mut self, buf: &[u8]) {
        self.bytes += buf.len() as u64;
        if let Some(counter) = &mut self.counter {
            counter.feed(buf);
            return;
        }
        let take = (SNIFF_BYTES - self.head.len()).min(buf.len());
        self.head.extend_from_slice(&buf[..take]);
        if self.head.len() == SNIFF_BYTES {
            self.decide();
            if let Some(counter) = &mut self.counter {
                counter.feed(&buf[take..]);
            }
        }
    }

    /// Detect the encoding from the head and start counting lines.
    fn decide(&mut self) {
        let encoding = detect_encoding(&self.head);
        let mut counter = LineCounter::new(encoding, &self.head);
        counter.feed(&self.head);
        self.encoding = Some(encoding);
        self.counter = Some(counter);
    }

    fn finish(mut self) -> Scan {
        if self.counter.is_none() {
            self.decide();
        }
        let encoding = self.encoding.unwrap_or(TextEncoding::Binary);
        let lines = match (&self.counter, encoding) {
            (_, TextEncoding::Binary) | (None, _) => 0,
            (Some(counter), _) => counter.finish(),
        };
        Scan {
            head: self.head,
            bytes: self.bytes,
            encoding,
            lines,
        }
    }
}

/// Read `src` to the end: write every byte to `sink` (if any) and to `hash` (if any), and scan
/// it. Stops with [`PumpError::Cap`] as soon as more than `cap` bytes were read.
pub(crate) fn pump(
    mut src: impl Read,
    mut sink: Option<&mut dyn Write>,
    mut hash: Option<&mut Sha256>,
    cap: u64,
) -> Result<Scan, PumpError> {
    let mut scanner = Scanner::default();
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
            sink.write_all(chunk).map_err(PumpError::Io)?;
        }
        if let Some(hash) = hash.as_deref_mut() {
            hash.update(chunk);
        }
        scanner.feed(chunk);
    }
    if let Some(sink) = sink {
        sink.flush().map_err(PumpError::Io)?;
    }
    Ok(scanner.finish())
}

/// Event records in an `.evtx` file, from its chunk headers (first and last record number of
/// each 64 KiB chunk after the 4 KiB file header). Cheap: one small read per chunk. Damaged
/// chunks are not counted; the evtx parser reports what it can actually read.
pub(crate) fn evtx_records(path: &Path) -> u64 {
    const HEADER: u64 = 4096;
    const CHUNK: u64 = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return 0;
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut records = 0u64;
    let mut offset = HEADER;
    while offset + 24 <= size {
        let mut head = [0u8; 24];
        let read = file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut head));
        if read.is_err() {
            break;
        }
        if head.starts_with(b"ElfChnk\0") {
            let first = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
            let last = u64::from_le_bytes(head[16..24].try_into().unwrap_or_default());
            if last >= first && last - first < CHUNK {
                records += last - first + 1;
            }
        }
        offset += CHUNK;
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
        let scan = pump(&data[..], Some(&mut out), Some(&mut hash), 1 << 20).expect("pump");
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
            pump(&data[..], None, None, 100_000),
            Err(PumpError::Cap)
        ));
        assert!(pump(&data[..], None, None, 200_000).is_ok());
    }

    #[test]
    fn lines_are_counted_past_the_sniffed_head() {
        let data = "x\n".repeat(100_000);
        let scan = pump(data.as_bytes(), None, None, u64::MAX).expect("pump");
        assert_eq!(scan.lines, 100_000);
        assert_eq!(scan.head.len(), SNIFF_BYTES);
    }
}
