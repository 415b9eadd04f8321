//! The buffer search of one large file on several threads.
//!
//! A bundle of one large log gains nothing from reading files in parallel, so its text is cut
//! into pieces of about one block, each ending just before a line that starts a record (or at
//! the end of the file), and piece `i` is searched by worker `i % threads`. A piece then holds
//! whole records only: a fresh [`Searcher`] that starts at its first line, in the mode the
//! serial search would be in there, takes exactly the decisions the serial search takes on the
//! same lines. The workers do not parse: they record the steps of their piece (lines for the
//! parser, servicing lines), and the calling thread replays them in file order into the one
//! parser of the file, whose state (the advanced-installer blocks) runs through the whole
//! file. So the records, their line numbers and their order are those of a serial run.
//!
//! Reading stays streaming: one thread reads (and decodes) the text block by block, cutting
//! lines over the limit as the serial search does, and hands the pieces out through bounded
//! channels; each worker holds one piece and has at most one waiting, and spent buffers go back
//! to the reader.

use std::io;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::{BLOCK, Item, MAX_HELD, Mode, Prefilter, Searcher, Step, TextBuf, drive};
use crate::bundle::BundleFile;
use crate::parse::{LineParser, Parsed, line_parser};

/// Files smaller than this are searched on one thread: too few pieces to share.
pub(crate) const SPLIT_MIN_BYTES: u64 = 4 * BLOCK as u64;

/// A piece of the text, whole lines.
struct Piece {
    text: Vec<u8>,
    /// The serial search's mode at its first line.
    mode: Mode,
    /// Every line goes to the parser: the tail of a record held too long (see `MAX_HELD`).
    feed_all: bool,
}

/// What a worker made of a piece.
struct Searched {
    /// Steps with line numbers counted from the piece's first line (1).
    steps: Vec<Step>,
    /// Lines the piece held (the serial search's count: a last line without a newline counts
    /// only when it is fed).
    lines: u64,
}

/// Search `file` like [`super::search_file`], on `threads` workers.
pub(crate) fn search_file_split(
    file: &BundleFile,
    pf: &Prefilter,
    threads: usize,
    sink: &mut dyn FnMut(Item),
) -> io::Result<Parsed> {
    search_split(file, pf, BLOCK, threads, sink)
}

/// [`search_file_split`] in pieces of about `block` bytes.
pub(super) fn search_split(
    file: &BundleFile,
    pf: &Prefilter,
    block: usize,
    threads: usize,
    sink: &mut dyn FnMut(Item),
) -> io::Result<Parsed> {
    let text = TextBuf::open(file, block)?;
    let max_line = file.max_line_bytes();
    let threads = threads.max(1);
    // Buffers the workers are done with, for the reader to fill again.
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let mut inputs = Vec::with_capacity(threads);
        let mut outputs = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (tx_in, rx_in) = sync_channel::<Piece>(1);
            let (tx_out, rx_out) = sync_channel::<Searched>(2);
            let spare = &spare;
            s.spawn(move || work(pf, max_line, &rx_in, &tx_out, spare));
            inputs.push(tx_in);
            outputs.push(rx_out);
        }
        let reader = s.spawn(|| cut(text, pf, max_line, inputs, &spare));
        let mut parser = line_parser(pf.kind);
        let read = replay(&mut *parser, &outputs, sink);
        drop(outputs);
        match reader.join() {
            Ok(Ok(())) => {
                // As the serial search, which finishes the parser only when the text has ended.
                drive(&mut *parser, Step::Finish, sink);
                Ok(Parsed { read, damage: None })
            }
            Ok(Err(e)) => Err(e),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Take the pieces' steps in file order and carry them out with `parser`; returns the lines
/// read.
fn replay(
    parser: &mut dyn LineParser,
    outputs: &[Receiver<Searched>],
    sink: &mut dyn FnMut(Item),
) -> u64 {
    // Lines before the current piece.
    let mut base = 0u64;
    for i in 0.. {
        // The pieces go round the workers: once one has no piece `i`, there is none after.
        let Ok(searched) = outputs[i % outputs.len()].recv() else {
            break;
        };
        for step in searched.steps {
            let step = match step {
                Step::Line(mut line) => {
                    line.no += base;
                    Step::Line(line)
                }
                other => other,
            };
            drive(parser, step, sink);
        }
        base += searched.lines;
    }
    base
}

/// Search the pieces that come through `input` until it closes (or the results are no longer
/// wanted).
fn work(
    pf: &Prefilter,
    max_line: usize,
    input: &Receiver<Piece>,
    output: &SyncSender<Searched>,
    spare: &Mutex<Vec<Vec<u8>>>,
) {
    while let Ok(piece) = input.recv() {
        let mut steps = Vec::new();
        let mut s = Searcher::new(pf, max_line, piece.mode);
        let out = &mut |step| steps.push(step);
        if piece.feed_all {
            s.feed_held(&piece.text, out);
        } else {
            s.block(&piece.text, true, out);
        }
        let mut text = piece.text;
        text.clear();
        spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(text);
        let lines = s.line_no - 1;
        if output.send(Searched { steps, lines }).is_err() {
            return;
        }
    }
}

/// Read the text and hand it out in pieces, round the workers. Mirrors the reading loop of
/// [`super::search_blocks`]: the same blocks, the same long-line cuts, the same record held
/// back (a piece ends where the serial search would hold the rest back), and the same
/// `MAX_HELD` rule.
fn cut(
    mut text: TextBuf,
    pf: &Prefilter,
    max_line: usize,
    inputs: Vec<SyncSender<Piece>>,
    spare: &Mutex<Vec<Vec<u8>>>,
) -> io::Result<()> {
    let probe = Searcher::new(pf, max_line, Mode::Head);
    let mut mode = Mode::Head;
    let mut n = 0usize;
    // Hand `buf[..at]` to the next worker; false once the results are no longer wanted.
    let mut send = |buf: &mut Vec<u8>, at: usize, mode: Mode, feed_all: bool| {
        let text = take(buf, at, spare);
        let ok = inputs[n % inputs.len()]
            .send(Piece {
                text,
                mode,
                feed_all,
            })
            .is_ok();
        n += 1;
        ok
    };
    while text.more {
        let end = text.fill()?;
        let (cut, next) = if text.more {
            probe.piece_end(&text.buf[..end], mode)
        } else {
            (text.buf.len(), mode)
        };
        if cut > 0 {
            if !send(&mut text.buf, cut, mode, false) {
                return Ok(());
            }
            mode = next;
        }
        if text.more && text.buf.len() > MAX_HELD {
            // As the serial search: the held record is parsed as it goes.
            let end = memchr::memrchr(b'\n', &text.buf).map_or(0, |i| i + 1);
            if end > 0 {
                if !send(&mut text.buf, end, mode, true) {
                    return Ok(());
                }
                mode = Mode::Feeding;
            }
        }
    }
    Ok(())
}

/// Split off `buf[..at]`, leaving the rest in `buf` (in a spare buffer, so that the block's
/// bytes are not moved).
fn take(buf: &mut Vec<u8>, at: usize, spare: &Mutex<Vec<Vec<u8>>>) -> Vec<u8> {
    let mut rest = spare
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(buf.capacity()));
    rest.extend_from_slice(&buf[at..]);
    let mut piece = std::mem::replace(buf, rest);
    piece.truncate(at);
    piece
}

impl Searcher<'_> {
    /// Where a piece of the complete lines `text`, starting in `mode`, ends: before the last
    /// line that starts a record (the serial search holds that record back), or after every
    /// line while no record has started. Also the mode the next piece starts in.
    fn piece_end(&self, text: &[u8], mode: Mode) -> (usize, Mode) {
        let floor = match mode {
            Mode::Idle => 0,
            Mode::Head | Mode::Feeding => match self.first_record_start(text) {
                Some(at) => at,
                None => return (text.len(), mode),
            },
        };
        (self.last_record_start(text, floor), Mode::Idle)
    }

    /// The first line of `text` that starts a record.
    fn first_record_start(&self, text: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < text.len() {
            if self.starts(text, at) {
                return Some(at);
            }
            at = super::next_line(text, super::line_end(text, at));
        }
        None
    }
}
