//! Per-file text encoding: detection from the first bytes, a streaming line decoder, and a
//! line counter that agrees with the decoder without decoding.
//!
//! Windows writes logs in several encodings: CBS.log is UTF-8 (often ASCII), `sc qc > x.txt`
//! from PowerShell is UTF-16LE with a BOM, and `wevtutil /f:text` on Chinese Windows is GBK
//! (code page 936). Detection looks at BOMs, then at NUL placement (UTF-16 without BOM), then
//! at control-byte density (binary), then at UTF-8 validity, then at GBK validity.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, GBK, UTF_8, UTF_16BE, UTF_16LE};

use super::{Line, TextEncoding};

/// How many leading bytes encoding and kind detection look at.
pub(crate) const SNIFF_BYTES: usize = 64 * 1024;

/// Magic of a binary event log file.
pub(crate) const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// Size of one raw read while decoding lines.
const READ_CHUNK: usize = 64 * 1024;

/// Detect the encoding of a file from its first bytes (up to [`SNIFF_BYTES`]).
pub(crate) fn detect_encoding(head: &[u8]) -> TextEncoding {
    if head.starts_with(EVTX_MAGIC) {
        return TextEncoding::Binary;
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return TextEncoding::Utf8Bom;
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return TextEncoding::Utf16Le;
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return TextEncoding::Utf16Be;
    }
    if let Some(utf16) = sniff_utf16(head) {
        return utf16;
    }
    if looks_binary(head) {
        return TextEncoding::Binary;
    }
    utf8_or_gbk(head)
}

/// UTF-8 unless the bytes are invalid UTF-8 and valid GBK. UTF-8 text with a few damaged bytes
/// stays UTF-8; bytes that are neither decode as UTF-8 with replacement characters.
fn utf8_or_gbk(bytes: &[u8]) -> TextEncoding {
    if is_utf8_prefix(bytes) || mostly_utf8(bytes) || !is_gbk_prefix(bytes) {
        TextEncoding::Utf8
    } else {
        TextEncoding::Gbk
    }
}

/// Far more valid multi-byte UTF-8 characters than invalid sequences. GBK read as UTF-8 forms a
/// valid character only by chance (about one pair in twelve), so GBK text fails this.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    multibyte >= 8 * invalid
}

/// Re-decide a file that looked like ASCII (so UTF-8) in its head, from the bytes starting at
/// its first non-ASCII byte: GBK text often has a long ASCII preamble (CBS-style headers).
pub(crate) fn refine_after_ascii(window: &[u8]) -> TextEncoding {
    utf8_or_gbk(window)
}

/// UTF-16 without BOM: ASCII-heavy text has a NUL in every other byte. Little endian puts the
/// NUL at odd offsets, big endian at even ones; the other parity is almost never NUL.
fn sniff_utf16(head: &[u8]) -> Option<TextEncoding> {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    // At least a fifth of the units are ASCII-range, and the other parity is ten times rarer.
    if odd * 5 >= pairs && even * 10 < odd {
        Some(TextEncoding::Utf16Le)
    } else if even * 5 >= pairs && odd * 10 < even {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// Binary when control bytes other than tab/CR/LF/FF/ESC exceed 5% of the non-NUL bytes.
/// NUL bytes alone do not make a file binary: a log preallocated before a crash holds NUL runs.
fn looks_binary(head: &[u8]) -> bool {
    let mut nul = 0usize;
    let mut control = 0usize;
    for &b in head {
        match b {
            0 => nul += 1,
            b'\t' | b'\n' | b'\r' | 0x0c | 0x1b => {}
            0x01..=0x1f | 0x7f => control += 1,
            _ => {}
        }
    }
    let non_nul = head.len() - nul;
    if non_nul == 0 {
        return !head.is_empty();
    }
    control * 20 > non_nul
}

/// Valid UTF-8, allowing a sequence cut off by the end of the sample.
fn is_utf8_prefix(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Valid GBK (GB18030) without a single malformed sequence.
fn is_gbk_prefix(head: &[u8]) -> bool {
    let mut decoder = GBK.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(head.len())
        .unwrap_or(head.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let (result, _) = decoder.decode_to_string_without_replacement(head, &mut out, false);
    matches!(result, DecoderResult::InputEmpty)
}

/// The encoding_rs encoding used to decode text of `enc`, or `None` for binary files.
fn encoding_of(enc: TextEncoding) -> Option<&'static Encoding> {
    match enc {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => Some(UTF_8),
        TextEncoding::Utf16Le => Some(UTF_16LE),
        TextEncoding::Utf16Be => Some(UTF_16BE),
        TextEncoding::Gbk => Some(GBK),
        TextEncoding::Binary => None,
    }
}

/// A fresh decoder that drops a leading BOM of the encoding (present or not).
fn new_decoder(enc: TextEncoding) -> Option<Decoder> {
    encoding_of(enc).map(Encoding::new_decoder_with_bom_removal)
}

/// Decode a sample (the head of a file) with replacement characters, for kind detection.
pub(crate) fn decode_sample(head: &[u8], enc: TextEncoding) -> String {
    let Some(mut decoder) = new_decoder(enc) else {
        return String::new();
    };
    let mut out = String::new();
    decode_into(&mut decoder, head, &mut out, false);
    out
}

/// Decode `src` completely into `out`, growing `out` as needed.
fn decode_into(decoder: &mut Decoder, mut src: &[u8], out: &mut String, last: bool) {
    loop {
        let need = decoder
            .max_utf8_buffer_length(src.len())
            .unwrap_or(src.len().saturating_mul(3).saturating_add(16));
        out.reserve(need);
        let (result, read, _) = decoder.decode_to_string(src, out, last);
        src = &src[read..];
        if matches!(result, CoderResult::InputEmpty) {
            return;
        }
    }
}

/// Streaming decoded lines of one file. Holds at most one raw chunk, its decoded text and one
/// line of at most `max` bytes: the rest of a longer line is read and discarded.
pub(crate) struct LineReader<R> {
    src: R,
    decoder: Decoder,
    raw: Vec<u8>,
    text: String,
    pos: usize,
    line: String,
    /// Any character (even a lone CR) belongs to the current line.
    pending: bool,
    truncated: bool,
    no: u64,
    max: usize,
    /// The decoder has been flushed (end of input or a read error).
    done: bool,
    /// Text after which a line also ends (see [`LineReader::break_after`]).
    token: Option<&'static str>,
    /// Cached end of the next `token` in `text` at or after `pos` (`usize::MAX`: none).
    token_end: Option<usize>,
    /// Lines truncated so far.
    truncated_lines: u64,
}

impl<R: Read> LineReader<R> {
    /// Lines of `src` decoded as `enc`; `None` for binary files.
    pub(crate) fn new(src: R, enc: TextEncoding, max: usize) -> Option<Self> {
        Some(LineReader {
            src,
            decoder: new_decoder(enc)?,
            raw: vec![0; READ_CHUNK],
            text: String::new(),
            pos: 0,
            line: String::new(),
            pending: false,
            truncated: false,
            no: 0,
            max,
            done: false,
            token: None,
            token_end: None,
            truncated_lines: 0,
        })
    }

    /// Also end a line right after each `token` (and a line break directly following it).
    /// Event XML exports put every event on one line; ending lines at `</Event>` keeps each
    /// event whole instead of truncating the file at the line limit.
    pub(crate) fn break_after(mut self, token: &'static str) -> Self {
        self.token = Some(token);
        self
    }

    /// Where the next line ends in `text`: (end of its text, where the next line starts).
    fn next_break(&mut self) -> Option<(usize, usize)> {
        let bytes = self.text.as_bytes();
        let newline = bytes[self.pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| self.pos + i);
        if let Some(token) = self.token {
            // A cached end at or before `pos` belongs to a token already consumed.
            if self.token_end.is_none_or(|t| t <= self.pos) {
                let found = self.text[self.pos..].find(token);
                self.token_end = Some(found.map_or(usize::MAX, |i| self.pos + i + token.len()));
            }
            let end = self.token_end.unwrap_or(usize::MAX);
            if end <= newline.unwrap_or(usize::MAX) && end != usize::MAX {
                let rest = &bytes[end..];
                let eol = [&b"\r\n"[..], b"\n"]
                    .into_iter()
                    .find(|e| rest.starts_with(e));
                return Some((end, end + eol.map_or(0, <[u8]>::len)));
            }
        }
        newline.map(|n| (n, n + 1))
    }

    /// Append `text[pos..end]` to the line, keeping at most `max` bytes on a char boundary.
    fn push_segment(&mut self, end: usize) {
        let seg = &self.text[self.pos..end];
        if seg.is_empty() {
            return;
        }
        self.pending = true;
        if self.truncated {
            return;
        }
        let room = self.max.saturating_sub(self.line.len());
        if seg.len() <= room {
            self.line.push_str(seg);
            return;
        }
        let mut cut = room;
        while !seg.is_char_boundary(cut) {
            cut -= 1;
        }
        self.line.push_str(&seg[..cut]);
        self.truncated = true;
    }

    /// Lines cut at the limit so far.
    pub(crate) fn truncated_lines(&self) -> u64 {
        self.truncated_lines
    }

    fn take_line(&mut self) -> Line {
        if self.line.ends_with('\r') {
            self.line.pop();
        }
        self.truncated_lines += u64::from(self.truncated);
        self.no += 1;
        self.pending = false;
        self.truncated = false;
        Line {
            no: self.no,
            text: std::mem::take(&mut self.line),
        }
    }

    /// Read and decode the next raw chunk into `text`.
    fn fill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.src.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        let last = n == 0;
        decode_into(&mut self.decoder, &self.raw[..n], &mut self.text, last);
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Iterator for LineReader<R> {
    type Item = io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((end, next)) = self.next_break() {
                self.push_segment(end);
                self.pos = next;
                return Some(Ok(self.take_line()));
            }
            self.push_segment(self.text.len());
            self.text.clear();
            self.pos = 0;
            self.token_end = None;
            if self.done {
                return self.pending.then(|| Ok(self.take_line()));
            }
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

/// The text of one file as UTF-8 bytes in large blocks, for the buffer search: UTF-8 files are
/// passed through raw (invalid bytes stay as they are; the searcher decodes the few lines it
/// keeps), other encodings are decoded streaming. A leading BOM is dropped, as
/// [`LineReader`] drops it.
pub(crate) struct TextBlocks<R> {
    src: R,
    /// `None`: UTF-8, passed through.
    decoder: Option<Decoder>,
    raw: Vec<u8>,
    /// No byte read yet (the BOM check is still to do).
    first: bool,
    done: bool,
}

impl<R: Read> TextBlocks<R> {
    /// Blocks of `src` in `enc`; `None` for binary files.
    pub(crate) fn new(src: R, enc: TextEncoding) -> Option<Self> {
        let decoder = match enc {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => None,
            other => Some(new_decoder(other)?),
        };
        Some(TextBlocks {
            src,
            decoder,
            raw: Vec::new(),
            first: true,
            done: false,
        })
    }

    /// Append about `want` bytes of text to `out`; false once the input is exhausted.
    pub(crate) fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let n = match &mut self.decoder {
            None => {
                let start = out.len();
                out.resize(start + want, 0);
                let n = read_full(&mut self.src, &mut out[start..])?;
                out.truncate(start + n);
                if self.first && out[start..].starts_with(&[0xEF, 0xBB, 0xBF]) {
                    out.drain(start..start + 3);
                }
                n
            }
            Some(decoder) => {
                // UTF-16 shrinks (two bytes per ASCII character), GBK stays about even.
                self.raw.resize(want, 0);
                let n = read_full(&mut self.src, &mut self.raw)?;
                let mut src = &self.raw[..n];
                loop {
                    let need = decoder
                        .max_utf8_buffer_length(src.len())
                        .unwrap_or(src.len() * 3 + 16);
                    let start = out.len();
                    out.resize(start + need, 0);
                    let (result, read, written, _) =
                        decoder.decode_to_utf8(src, &mut out[start..], n == 0);
                    out.truncate(start + written);
                    src = &src[read..];
                    if matches!(result, CoderResult::InputEmpty) {
                        break;
                    }
                }
                n
            }
        };
        self.first = false;
        self.done = n == 0;
        Ok(!self.done)
    }
}

/// Read until `buf` is full or the input ends; the number of bytes read.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Counts the lines [`LineReader`] would yield, from raw bytes, without decoding: a line per
/// LF code unit plus one for trailing text without LF. The BOM is not text.
#[derive(Debug)]
pub(crate) struct LineCounter {
    width: Width,
    /// BOM bytes still to drop.
    skip: usize,
    /// Bytes seen after the BOM.
    seen: u64,
    /// First byte of a half-seen UTF-16 code unit.
    prev: u8,
    newlines: u64,
    last_is_newline: bool,
    /// The line limit in raw units (bytes, or UTF-16 code units).
    max: u64,
    /// Units of the current line so far.
    current: u64,
    /// Lines longer than `max` units: [`LineReader`] truncates them.
    long: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    /// UTF-8 and GBK: byte 0x0A is always LF (GBK trail bytes start at 0x40).
    Byte,
    Utf16Le,
    Utf16Be,
}

impl LineCounter {
    /// A counter for text in `enc` whose head is `head`, with the line limit `max` (bytes of
    /// UTF-8; measured here in raw units, exact for UTF-8 and close for the others).
    pub(crate) fn new(enc: TextEncoding, head: &[u8], max: usize) -> Self {
        let (width, bom): (Width, &[u8]) = match enc {
            TextEncoding::Utf16Le => (Width::Utf16Le, &[0xFF, 0xFE]),
            TextEncoding::Utf16Be => (Width::Utf16Be, &[0xFE, 0xFF]),
            TextEncoding::Utf8Bom => (Width::Byte, &[0xEF, 0xBB, 0xBF]),
            _ => (Width::Byte, &[]),
        };
        let skip = if head.starts_with(bom) { bom.len() } else { 0 };
        LineCounter {
            width,
            skip,
            seen: 0,
            prev: 0,
            newlines: 0,
            last_is_newline: false,
            max: max as u64,
            current: 0,
            long: 0,
        }
    }

    /// A line ended after `len` units.
    fn end_line(&mut self, len: u64) {
        self.newlines += 1;
        self.long += u64::from(len > self.max);
        self.current = 0;
    }

    pub(crate) fn feed(&mut self, mut buf: &[u8]) {
        let drop = self.skip.min(buf.len());
        self.skip -= drop;
        buf = &buf[drop..];
        if buf.is_empty() {
            return;
        }
        match self.width {
            Width::Byte => {
                let mut start = 0;
                for i in memchr::memchr_iter(b'\n', buf) {
                    self.end_line(self.current + (i - start) as u64);
                    start = i + 1;
                }
                self.current += (buf.len() - start) as u64;
                self.last_is_newline = buf.last() == Some(&b'\n');
            }
            Width::Utf16Le | Width::Utf16Be => self.feed_utf16(buf),
        }
        self.seen += buf.len() as u64;
    }

    fn feed_utf16(&mut self, buf: &[u8]) {
        let le = self.width == Width::Utf16Le;
        for (i, &b) in buf.iter().enumerate() {
            if (self.seen + i as u64).is_multiple_of(2) {
                self.prev = b;
                continue;
            }
            let unit = if le { [self.prev, b] } else { [b, self.prev] };
            let newline = unit == [b'\n', 0];
            if newline {
                self.end_line(self.current);
            } else {
                self.current += 1;
            }
            self.last_is_newline = newline;
        }
    }

    /// Number of lines.
    pub(crate) fn finish(&self) -> u64 {
        // An odd trailing byte of UTF-16 decodes to U+FFFD: text after the last LF.
        let half_unit = self.width != Width::Byte && self.seen % 2 == 1;
        let tail = self.seen > 0 && (!self.last_is_newline || half_unit);
        self.newlines + u64::from(tail)
    }

    /// Number of lines longer than the limit (including a final line without LF).
    pub(crate) fn long_lines(&self) -> u64 {
        self.long + u64::from(self.current > self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in s.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    fn utf16be(s: &str) -> Vec<u8> {
        let mut out = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            out.extend_from_slice(&u.to_be_bytes());
        }
        out
    }

    fn lines(bytes: &[u8], max: usize) -> Vec<String> {
        let enc = detect_encoding(bytes);
        LineReader::new(bytes, enc, max)
            .expect("text")
            .map(|l| l.expect("line").text)
            .collect()
    }

    /// The counter must agree with the reader on every input.
    fn count(bytes: &[u8]) -> u64 {
        let enc = detect_encoding(bytes);
        let mut counter = LineCounter::new(enc, bytes, 100);
        // Feed in odd-sized pieces to cross UTF-16 unit and BOM boundaries.
        for piece in bytes.chunks(3) {
            counter.feed(piece);
        }
        counter.finish()
    }

    #[test]
    fn detects_boms_and_plain_utf8() {
        assert_eq!(detect_encoding(b"plain ascii\n"), TextEncoding::Utf8);
        assert_eq!(
            detect_encoding("中文 utf8\n".as_bytes()),
            TextEncoding::Utf8
        );
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFbom\n"), TextEncoding::Utf8Bom);
        assert_eq!(
            detect_encoding(&utf16le("x\r\n", true)),
            TextEncoding::Utf16Le
        );
        assert_eq!(detect_encoding(&utf16be("x\r\n")), TextEncoding::Utf16Be);
        assert_eq!(detect_encoding(b""), TextEncoding::Utf8);
    }

    #[test]
    fn detects_utf16le_without_bom_from_nul_placement() {
        let bytes = utf16le("SERVICE_NAME: winmgmt\r\n", false);
        assert_eq!(detect_encoding(&bytes), TextEncoding::Utf16Le);
        assert_eq!(lines(&bytes, 100), vec!["SERVICE_NAME: winmgmt"]);
    }

    #[test]
    fn detects_gbk_and_decodes_it() {
        let (gbk, _, _) = GBK.encode("事件[0]:\r\n  日志名称: System\r\n");
        assert_eq!(detect_encoding(&gbk), TextEncoding::Gbk);
        assert_eq!(lines(&gbk, 100), vec!["事件[0]:", "  日志名称: System"]);
    }

    #[test]
    fn damaged_utf8_stays_utf8_and_gbk_is_not_mistaken_for_it() {
        let mut bytes = "信息 日志 中文内容 更新失败 服务已禁用\n"
            .repeat(20)
            .into_bytes();
        bytes.insert(30, 0xFF);
        assert_eq!(detect_encoding(&bytes), TextEncoding::Utf8);
        let text = "信息 日志 中文内容 更新失败 服务已禁用\n".repeat(20);
        let (gbk, _, _) = GBK.encode(&text);
        assert_eq!(detect_encoding(&gbk), TextEncoding::Gbk);
    }

    #[test]
    fn utf16_lines_strip_bom_and_crlf() {
        let bytes = utf16le("第一行\r\nsecond\r\n", true);
        assert_eq!(lines(&bytes, 100), vec!["第一行", "second"]);
        assert_eq!(lines(&utf16be("a\nb"), 100), vec!["a", "b"]);
    }

    #[test]
    fn crlf_lf_and_missing_final_newline() {
        assert_eq!(lines(b"a\r\nb\nc", 100), vec!["a", "b", "c"]);
        assert_eq!(lines(b"a\n\n", 100), vec!["a", ""]);
        assert!(lines(b"", 100).is_empty());
        assert_eq!(lines(b"\xEF\xBB\xBFx\r\n", 100), vec!["x"]);
    }

    #[test]
    fn long_lines_are_truncated_on_a_char_boundary() {
        let text = format!("{}\nshort\n", "é".repeat(10));
        assert_eq!(lines(text.as_bytes(), 5), vec!["éé", "short"]);
    }

    #[test]
    fn one_line_event_xml_breaks_after_each_event() {
        let event = |i: usize| format!("<Event xmlns='x'><EventID>{i}</EventID></Event>");
        let one_line: String = (0..5000).map(event).collect::<String>() + "\r\n";
        let got: Vec<String> = LineReader::new(one_line.as_bytes(), TextEncoding::Utf8, 100)
            .expect("text")
            .break_after("</Event>")
            .map(|l| l.expect("line").text)
            .collect();
        assert_eq!(got.len(), 5000, "no empty line after the last event");
        assert_eq!(got[0], event(0));
        assert_eq!(got[4999], event(4999));
        let pretty = "<Events>\n<Event>\n<EventID>1</EventID>\n</Event>\n</Events>\n";
        let got: Vec<String> = LineReader::new(pretty.as_bytes(), TextEncoding::Utf8, 100)
            .expect("text")
            .break_after("</Event>")
            .map(|l| l.expect("line").text)
            .collect();
        assert_eq!(
            got,
            [
                "<Events>",
                "<Event>",
                "<EventID>1</EventID>",
                "</Event>",
                "</Events>"
            ]
        );
    }

    #[test]
    fn bad_bytes_become_replacement_characters() {
        let got = lines(b"ok\xFF\xFE\xFDtail\n", 100);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("ok") && got[0].ends_with("tail"));
    }

    #[test]
    fn binary_junk_is_binary_and_nul_runs_are_not() {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(detect_encoding(&junk), TextEncoding::Binary);
        assert_eq!(detect_encoding(b"ElfFile\0rest"), TextEncoding::Binary);
        let mut padded = b"2024-02-14 10:01:02, Info   CBS    x\r\n".to_vec();
        padded.extend(std::iter::repeat_n(0u8, 64));
        assert_eq!(detect_encoding(&padded), TextEncoding::Utf8);
    }

    #[test]
    fn counter_counts_long_lines_like_the_reader_truncates_them() {
        let text = format!(
            "{}\r\nshort\n{}\n{}",
            "a".repeat(99),
            "b".repeat(101),
            "c".repeat(150)
        );
        let samples = [text.as_bytes().to_vec(), utf16le(&text, true)];
        for bytes in samples {
            let enc = detect_encoding(&bytes);
            let mut counter = LineCounter::new(enc, &bytes, 100);
            for piece in bytes.chunks(7) {
                counter.feed(piece);
            }
            let mut reader = LineReader::new(&bytes[..], enc, 100).expect("text");
            let lines: Vec<Line> = reader.by_ref().map(|l| l.expect("line")).collect();
            assert_eq!(lines[0].text.len(), 99, "CR stripped after the limit check");
            assert_eq!(counter.long_lines(), 2);
            assert_eq!(reader.truncated_lines(), 2);
        }
    }

    #[test]
    fn counter_agrees_with_reader() {
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"a\n".to_vec(),
            b"a\r\nb\r\nc".to_vec(),
            b"\xEF\xBB\xBF".to_vec(),
            b"\xEF\xBB\xBFone\ntwo\n".to_vec(),
            utf16le("上\n一\r\nx", true),
            utf16le("上\n", true),
            utf16le("no bom\nline two\n", false),
            utf16be("a\nb\n"),
            vec![0xFF, 0xFE, b'a', 0, b'\n', 0, b'z'],
            GBK.encode("事件[0]:\r\n来源: x\r\n").0.into_owned(),
        ];
        for s in samples {
            assert_eq!(count(&s), lines(&s, 100).len() as u64, "sample {s:?}");
        }
    }
}
