//! Binary `.evtx` logs through the `evtx` crate: each record is rendered to XML and read by the
//! same code as `wevtutil /f:xml` exports, so both give identical [`Record`]s.
//!
//! A truncated or damaged file yields the records before (and after) the damage and a note of
//! what was lost ([`Parsed::damage`]); only a file with no readable record at all is an error. The crate needs `Read + Seek`, and a bundle file
//! is only guaranteed to be `Read`, so the bytes are spooled to an anonymous temp file first.

use std::io::{self, Read, Seek};

use evtx::EvtxParser;

use super::event_xml::{event_record, parse_event_xml};
use super::{Parsed, Record};

/// Damaged records tolerated before giving up on a file (each is skipped).
const MAX_ERRORS: usize = 10_000;

/// Size of an evtx chunk; the file is a header block followed by whole chunks.
const CHUNK_SIZE: u64 = 65_536;

/// Size of the file header block of every evtx file written by Windows.
const HEADER_BLOCK: u64 = 4096;

/// Parse an `.evtx` stream: the events read and, if part of the file was unreadable, why.
pub(super) fn parse_evtx_read(
    raw: &mut dyn Read,
    sink: &mut dyn FnMut(Record),
) -> io::Result<Parsed> {
    let mut spool = tempfile::tempfile()?;
    let len = io::copy(raw, &mut spool)?;
    // The crate skips a partial last chunk; padded with zeros it reads the records before the cut.
    let tail = len.saturating_sub(HEADER_BLOCK) % CHUNK_SIZE;
    if len > HEADER_BLOCK && tail != 0 {
        spool.set_len(len + (CHUNK_SIZE - tail))?;
    }
    spool.rewind()?;
    parse_evtx(spool, len, sink)
}

/// Parse a seekable `.evtx` stream of `len` bytes.
pub(super) fn parse_evtx<R: Read + Seek>(
    data: R,
    len: u64,
    sink: &mut dyn FnMut(Record),
) -> io::Result<Parsed> {
    // The crate is defensive, but a parser bug on hostile input must not take the process down:
    // turn a panic into an error for this one file.
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parse_inner(data, len, sink)
    }));
    match out {
        Ok(r) => r,
        Err(_) => Err(invalid(
            "evtx: the event log is corrupt (parser aborted)".into(),
        )),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Why the file is shorter than its header says: the crate silently ignores a partial last
/// chunk, so a cut-off file would otherwise look complete.
fn truncation(header_block: u64, chunks_in_header: u64, len: u64) -> Option<String> {
    let body = len.saturating_sub(header_block);
    let whole = body / CHUNK_SIZE;
    if !body.is_multiple_of(CHUNK_SIZE) {
        Some(format!(
            "file cut off inside chunk {} ({} of {CHUNK_SIZE} bytes present)",
            whole + 1,
            body % CHUNK_SIZE
        ))
    } else if whole < chunks_in_header {
        Some(format!(
            "file holds {whole} of the {chunks_in_header} chunks its header lists"
        ))
    } else {
        None
    }
}

fn parse_inner<R: Read + Seek>(
    data: R,
    len: u64,
    sink: &mut dyn FnMut(Record),
) -> io::Result<Parsed> {
    // Default settings: setting num_threads without the crate's multithreading feature (off here)
    // only logs a warning.
    let mut parser = EvtxParser::from_read_seek(data)
        .map_err(|e| invalid(format!("evtx: not a readable event log: {e}")))?;
    let header = parser.header();
    let cut = truncation(
        u64::from(header.header_block_size),
        u64::from(header.chunk_count),
        len,
    );
    let mut n = 0_u64;
    let mut errors = 0_usize;
    // Events read before the first damaged record, and that record's error.
    let mut first_error: Option<(u64, String)> = None;
    for rec in parser.records() {
        match rec {
            Ok(r) => {
                n += 1;
                if let Some(ev) = parse_event_xml(&r.data) {
                    sink(event_record(n, ev));
                }
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| (n, e.to_string()));
                if errors >= MAX_ERRORS {
                    break;
                }
            }
        }
    }
    if n == 0
        && let Some((_, e)) = &first_error
    {
        return Err(invalid(format!(
            "evtx: no readable event ({errors} damaged records; first: {e})"
        )));
    }
    let damage = match (first_error, cut) {
        (Some((before, e)), cut) => Some(format!(
            "evtx: damaged after {before} records: {errors} unreadable (first: {e}){}; {n} events read",
            cut.map(|c| format!("; {c}")).unwrap_or_default()
        )),
        (None, Some(c)) => Some(format!("evtx: damaged after {n} records: {c}")),
        (None, None) => None,
    };
    Ok(Parsed { read: n, damage })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Fact;
    use std::path::PathBuf;

    fn sample() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/evtx/language-pack-setup-operational.evtx")
    }

    fn read_all(bytes: Vec<u8>) -> (io::Result<Parsed>, Vec<Record>) {
        let mut out = Vec::new();
        let r = parse_evtx_read(&mut bytes.as_slice(), &mut |rec| out.push(rec));
        (r, out)
    }

    #[test]
    fn sample_gives_events() {
        let bytes = std::fs::read(sample()).expect("sample present");
        let (r, recs) = read_all(bytes);
        let p = r.expect("sample parses");
        assert_eq!(p.damage, None, "an intact file has no damage note");
        let n = p.read;
        assert!(n > 0);
        assert_eq!(recs.len() as u64, n);
        let named = recs
            .iter()
            .filter(|r| {
                matches!(
                    &r.fact,
                    Some(Fact::Event {
                        channel: Some(_),
                        ..
                    })
                )
            })
            .count();
        assert!(named * 10 >= recs.len() * 9, "{named} of {}", recs.len());
        for (i, rec) in recs.iter().enumerate() {
            assert_eq!(rec.line, i as u64 + 1);
            let Some(Fact::Event {
                provider,
                id,
                channel,
                ..
            }) = &rec.fact
            else {
                panic!("not an event: {rec:?}");
            };
            assert!(
                provider.contains("LanguagePackSetup"),
                "{provider} {}",
                rec.text
            );
            assert!(*id > 0);
            // One record of this sample has an empty channel; all others name it.
            assert!(
                channel.is_none()
                    || channel.as_deref()
                        == Some("Microsoft-Windows-LanguagePackSetup/Operational")
            );
            assert!(rec.time.is_some());
        }
    }

    #[test]
    fn truncated_file_keeps_earlier_records_or_fails_cleanly() {
        let bytes = std::fs::read(sample()).expect("sample present");
        let dir = tempfile::tempdir().expect("tempdir");
        for cut in [bytes.len() - 1000, 4096 + 65536 / 2, 4096 + 100, 100, 0] {
            let path = dir.path().join(format!("cut-{cut}.evtx"));
            std::fs::write(&path, &bytes[..cut]).expect("write");
            let mut f = std::fs::File::open(&path).expect("open");
            let mut out = Vec::new();
            match parse_evtx_read(&mut f, &mut |rec| out.push(rec)) {
                Ok(p) => {
                    assert_eq!(out.len() as u64, p.read, "cut {cut}");
                    if cut == bytes.len() - 1000 {
                        assert!(p.read > 0, "records before the cut are kept");
                    }
                    let note = p.damage.expect("a cut file is reported as damaged");
                    assert!(note.starts_with("evtx: damaged after "), "{note}");
                }
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "cut {cut}");
                    assert!(e.to_string().starts_with("evtx: "), "{e}");
                }
            }
        }
    }

    #[test]
    fn through_the_bundle() {
        let bundle = crate::Bundle::open(&sample(), &crate::Limits::default()).expect("opens");
        assert_eq!(bundle.files.len(), 1);
        let file = &bundle.files[0];
        assert_eq!(file.kind, crate::parse::LogKind::Evtx);
        let mut n = 0;
        let read = file.parse(&mut |_| n += 1).expect("parses").read;
        assert!(n > 0);
        assert_eq!(read, n);
    }

    /// Records every warning the `log` facade receives (the evtx crate logs through it).
    struct Warnings(std::sync::Mutex<Vec<String>>);

    impl log::Log for Warnings {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.level() <= log::Level::Warn
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata())
                && let Ok(mut v) = self.0.lock()
            {
                v.push(r.args().to_string());
            }
        }
        fn flush(&self) {}
    }

    static WARNINGS: Warnings = Warnings(std::sync::Mutex::new(Vec::new()));

    #[test]
    fn parsing_logs_no_warning() {
        // Only this test installs a logger in this test binary.
        log::set_logger(&WARNINGS).expect("logger installed once");
        log::set_max_level(log::LevelFilter::Warn);
        let bytes = std::fs::read(sample()).expect("sample present");
        let (r, recs) = read_all(bytes);
        r.expect("sample parses");
        assert!(!recs.is_empty());
        let seen = WARNINGS.0.lock().expect("not poisoned").clone();
        assert!(
            !seen.iter().any(|w| w.contains("num_threads")),
            "evtx settings warned: {seen:?}"
        );
    }

    #[test]
    fn junk_is_an_error() {
        let (r, recs) = read_all(b"this is not an event log at all".repeat(100));
        assert!(recs.is_empty());
        let e = r.expect_err("junk must not parse");
        assert!(e.to_string().contains("not a readable event log"), "{e}");
    }

    #[test]
    fn damaged_chunk_is_skipped() {
        let mut bytes = std::fs::read(sample()).expect("sample present");
        // Overwrite the middle of the first chunk's records with junk.
        for b in bytes.iter_mut().skip(4096 + 1024).take(4096) {
            *b = 0xAB;
        }
        let (r, recs) = read_all(bytes);
        match r {
            Ok(p) => {
                assert_eq!(recs.len() as u64, p.read);
                let note = p.damage.expect("junk in a chunk is reported");
                assert!(note.starts_with("evtx: damaged after "), "{note}");
            }
            Err(e) => assert!(e.to_string().starts_with("evtx: "), "{e}"),
        }
    }
}
