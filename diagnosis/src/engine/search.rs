//! Search the buffer, not the lines: one multi-literal prefilter runs over large blocks of a
//! file's text, and only the records around its hits are cut into lines and parsed.
//!
//! The prefilter of a file kind holds every literal that something downstream needs before a
//! record can matter (see [`Prefilter::build`]): the required literals of every rule pattern
//! reading that kind, of the HRESULT notations, the failure level words, the words that change
//! the parser's state, and the servicing facts (KB numbers, the RollupFix build). A record
//! without any of them matches no rule, carries no code, is no failure and teaches no fact, so
//! skipping it changes nothing; a record with one goes through the same parser and the same
//! [`super::Scan::record`] as on the line path. Kinds whose records are not delimited line by
//! line, and kinds with a pattern that has no required literal, stay on the line path.
//!
//! Records are whole: the search backs up from a hit to the line that starts its record and
//! reads on to the next one, so CBS continuation lines and wrapped lines stay joined. Line
//! numbers come from counting newlines (memchr), not from reading lines.

use std::io;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input};

use crate::bundle::BundleFile;
use crate::parse::{
    Line, LineParser, LogKind, Parsed, Record, line_parser, may_join_with_space, starts_record,
};
use crate::rule::{RuleSet, kind_bit};

/// Text read per block.
const BLOCK: usize = 4 << 20;
/// A record without hits longer than this is parsed as it goes rather than held back (bounds
/// memory on a file whose lines never start a record).
const MAX_HELD: usize = 16 << 20;

/// The literals of one file kind (see the module docs).
#[derive(Debug)]
pub(crate) struct Prefilter {
    kind: LogKind,
    /// Every literal, lowercase (see [`prefilter_literals`]).
    literals: Vec<String>,
    /// Every literal.
    all: AhoCorasick,
    /// What a hit of each literal of `all` means.
    roles: Vec<Role>,
    /// Per branch of a rule matcher's pattern: the other literal sets it needs, each present in
    /// the record before it can match (`reboot\s+required` needs `reboot` and `required`).
    /// Matchers that can match only a record parsed anyway have none (see [`needs`]).
    checks: Vec<Vec<AhoCorasick>>,
    /// Records of this kind may join lines with a space (see [`may_join_with_space`]).
    joins: bool,
}

/// What a literal's hit means.
#[derive(Debug, Default, Clone)]
struct Role {
    /// The record may be a failure or change the parser's state: parse it.
    always: bool,
    /// The record may carry a code (a notation such as `HRESULT =`): parse it if it does.
    code: bool,
    /// The record may teach a servicing fact (CBS and DISM).
    fact: bool,
    /// Rule matchers (indices of [`Prefilter::checks`]) whose chosen literal this is.
    owners: Vec<usize>,
}

/// What a record with hits needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing downstream can use it.
    Skip,
    /// Only its servicing facts.
    Facts,
    /// The parser and the scan.
    Parse,
}

/// Failure level words and marks (`Error`, `(F)`): a failure record carries one of them or a code.
const FAILURE_WORDS: &[&str] = &["error", "critical", "fatal", "(f)"];
/// What `Facts::observe_servicing_text` looks for.
const FACT_WORDS: &[&str] = &["rollupfix", "_for_kb", "wer:"];

/// Literals being collected, each with its role.
#[derive(Default)]
struct Lits {
    lits: Vec<Vec<u8>>,
    roles: Vec<Role>,
}

impl Lits {
    fn role(&mut self, lit: Vec<u8>) -> &mut Role {
        let i = match self.lits.iter().position(|l| *l == lit) {
            Some(i) => i,
            None => {
                self.lits.push(lit);
                self.roles.push(Role::default());
                self.lits.len() - 1
            }
        };
        &mut self.roles[i]
    }
}

fn automaton(lits: &[Vec<u8>]) -> Option<AhoCorasick> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(lits)
        .ok()
}

/// What a matcher needs besides its pattern, in a record of `kind` without codes, failure
/// words or state words (those records are parsed anyway): `None` when it cannot match such a
/// record (it needs codes, or the Error level, whose words are failure words); else the literal
/// sets to check (a CBS Warning-level matcher needs the word `warning`).
fn needs(m: &crate::rule::Matcher, kind: LogKind) -> Option<Vec<Vec<Vec<u8>>>> {
    let prefixed = matches!(kind, LogKind::Cbs | LogKind::Dism | LogKind::Panther);
    if !prefixed {
        return Some(Vec::new());
    }
    match (m.codes.is_empty(), m.min_level) {
        (false, _) | (_, 2..) => None,
        (true, 1) => Some(vec![vec![b"warning".to_vec()]]),
        (true, _) => Some(Vec::new()),
    }
}

impl Prefilter {
    /// The prefilter of `kind`, or `None` when files of that kind must be read line by line.
    pub(crate) fn build(rules: &RuleSet, kind: LogKind) -> Option<Prefilter> {
        starts_record(kind, b"")?;
        let bit = kind_bit(kind);
        let mut lits = Lits::default();
        let mut checks = Vec::new();
        for rule in &rules.rules {
            let matchers = rule
                .signals
                .iter()
                .map(|s| &s.m)
                .chain(rule.excludes.iter().map(|e| &e.m));
            // Code-only matchers are found through the codes (below).
            for m in matchers.filter(|m| m.kinds & bit != 0 && m.pattern.is_some()) {
                let re = m.pattern.as_ref()?;
                // A matcher that can match only records parsed anyway (they carry a code or a
                // failure word, both searched for below) needs no literal of its own: its
                // anchors would only make the search stop at records it then skips.
                let Some(extra) = needs(m, kind) else {
                    continue;
                };
                for mut sets in super::literals::branches_of_pattern(re.as_str())? {
                    let anchor = sets.remove(0);
                    let owner = checks.len();
                    sets.extend(extra.iter().cloned());
                    checks.push(
                        sets.iter()
                            .map(|s| automaton(s))
                            .collect::<Option<Vec<_>>>()?,
                    );
                    for lit in anchor {
                        lits.role(lit).owners.push(owner);
                    }
                }
            }
        }
        for lit in super::literals::of_bytes_pattern(crate::parse::CODE_PATTERN)? {
            lits.role(lit).code = true;
        }
        let words = FAILURE_WORDS.iter().chain(crate::parse::state_words(kind));
        for w in words {
            lits.role(w.as_bytes().to_vec()).always = true;
        }
        if matches!(kind, LogKind::Cbs | LogKind::Dism) {
            for w in FACT_WORDS {
                lits.role(w.as_bytes().to_vec()).fact = true;
            }
        }
        Some(Prefilter {
            kind,
            literals: lits
                .lits
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect(),
            all: automaton(&lits.lits)?,
            roles: lits.roles,
            checks,
            joins: matches!(kind, LogKind::Cbs | LogKind::Dism | LogKind::Panther),
        })
    }

    /// What the record `rec` (its raw lines) needs, from every literal in it; `first` is the
    /// literal the search stopped at, when it lies in `rec`. The second value says that a code
    /// notation was seen: the record needs parsing if it carries a code after all (see
    /// [`Searcher::carries_code`]).
    fn judge(&self, rec: &[u8], first: Option<usize>) -> (Verdict, bool) {
        // A failure or state word needs no look at the other literals.
        if first.is_some_and(|p| self.roles[p].always) {
            return (Verdict::Parse, false);
        }
        let mut fact = false;
        let mut code = false;
        for m in self.all.find_overlapping_iter(rec) {
            let role = &self.roles[m.pattern().as_usize()];
            let verified = |&o: &usize| self.checks[o].iter().all(|ac| ac.is_match(rec));
            if role.always || role.owners.iter().any(verified) {
                return (Verdict::Parse, false);
            }
            fact |= role.fact;
            code |= role.code;
        }
        let verdict = if fact { Verdict::Facts } else { Verdict::Skip };
        (verdict, code)
    }
}

/// The literals the buffer search looks for in files of `kind` (lowercase, compared ASCII
/// case-insensitively), or `None` when such files are read line by line. For benchmarks and
/// `rules lint`-style checks: a rule whose pattern has no required literal shows up here.
pub fn prefilter_literals(rules: &RuleSet, kind: LogKind) -> Option<Vec<String>> {
    Prefilter::build(rules, kind).map(|p| p.literals)
}

/// What the search hands to the scan, in file order.
pub(crate) enum Item {
    /// A record that may match.
    Record(Record),
    /// The text of a one-line CBS/DISM record that only teaches servicing facts.
    Servicing(String),
}

/// What the search asks of the parser and the scan, in file order. The search decides which
/// lines matter; a parser of the file's kind turns them into records (see [`drive`]), so the
/// search of one file can be cut into pieces whose steps are replayed in order (see `split`).
pub(crate) enum Step {
    /// Hand this line to the parser.
    Line(Line),
    /// Let the parser finish the record it holds.
    Finish,
    /// The text of a one-line CBS/DISM record that only teaches servicing facts.
    Servicing(String),
}

/// Carry out `step` with `parser`, handing what comes of it to `sink`.
fn drive(parser: &mut dyn LineParser, step: Step, sink: &mut dyn FnMut(Item)) {
    match step {
        Step::Line(line) => parser.line(line, &mut |r| sink(Item::Record(r))),
        Step::Finish => parser.finish(&mut |r| sink(Item::Record(r))),
        Step::Servicing(text) => sink(Item::Servicing(text)),
    }
}

/// Where the search stands between lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before the first record start: every line is parsed (text before it stands alone).
    Head,
    /// At a record start; nothing of the current record parsed.
    Idle,
    /// The parser holds a record that continues while lines do not start a new one (after a
    /// record held back too long).
    Feeding,
}

/// Search one text file of the prefilter's kind; `sink` gets its records in order.
pub(crate) fn search_file(
    file: &BundleFile,
    pf: &Prefilter,
    sink: &mut dyn FnMut(Item),
) -> io::Result<Parsed> {
    search_blocks(file, pf, BLOCK, sink)
}

/// [`search_file`] reading `block` bytes at a time.
fn search_blocks(
    file: &BundleFile,
    pf: &Prefilter,
    block: usize,
    sink: &mut dyn FnMut(Item),
) -> io::Result<Parsed> {
    let mut text = TextBuf::open(file, block)?;
    let mut s = Searcher::new(pf, file.max_line_bytes(), Mode::Head);
    let mut parser = line_parser(pf.kind);
    let out = &mut |step| drive(&mut *parser, step, sink);
    while text.more {
        let end = text.fill()?;
        let pos = s.block(&text.buf[..end], !text.more, out);
        text.buf.drain(..pos);
        if text.more && text.buf.len() > MAX_HELD {
            // A held record grew too long without a hit: parse it as it goes.
            let pos = s.feed_held(&text.buf, out);
            text.buf.drain(..pos);
        }
    }
    out(Step::Finish);
    let tail = u64::from(!text.buf.is_empty());
    Ok(Parsed {
        read: s.line_no - 1 + tail,
        damage: None,
    })
}

/// A file's text read block by block into `buf`, lines longer than the limit cut as they come.
struct TextBuf {
    blocks: crate::bundle::TextBlocks<std::fs::File>,
    /// Text read and not yet taken by the caller.
    buf: Vec<u8>,
    block: usize,
    /// The file has more text.
    more: bool,
    /// Inside a line longer than the limit: its bytes past the limit are dropped as they come.
    discarding: bool,
    /// Bytes of an unfinished line kept (a little more than the line limit).
    keep: usize,
}

impl TextBuf {
    fn open(file: &BundleFile, block: usize) -> io::Result<TextBuf> {
        let Some(blocks) = file.text_blocks()? else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is a binary file", file.path),
            ));
        };
        Ok(TextBuf {
            blocks,
            buf: Vec::with_capacity(block + (64 << 10)),
            block,
            more: true,
            discarding: false,
            keep: file.max_line_bytes() + 8,
        })
    }

    /// Append the next block to `buf`; returns where its complete lines end (all of it once
    /// the input has ended).
    fn fill(&mut self) -> io::Result<usize> {
        let buf = &mut self.buf;
        let before = buf.len();
        self.more = self.blocks.fill(buf, self.block)?;
        if self.discarding {
            match memchr::memchr(b'\n', &buf[before..]) {
                Some(i) => {
                    buf.drain(before..before + i);
                    self.discarding = false;
                }
                None => buf.truncate(before),
            }
        }
        let tail = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
        if self.more && buf.len() - tail > self.keep {
            buf.truncate(tail + self.keep);
            self.discarding = true;
        }
        // Complete lines only, unless the input has ended.
        Ok(if self.more {
            memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1)
        } else {
            buf.len()
        })
    }
}

struct Searcher<'p> {
    pf: &'p Prefilter,
    max_line: usize,
    /// Number of the line at the current position.
    line_no: u64,
    mode: Mode,
}

impl<'p> Searcher<'p> {
    fn new(pf: &'p Prefilter, max_line: usize, mode: Mode) -> Searcher<'p> {
        Searcher {
            pf,
            max_line,
            line_no: 1,
            mode,
        }
    }

    /// Search the complete lines `text` (all of the rest of the file when `last`); returns how
    /// far it got: the rest (a record held back) is searched again with the next block.
    fn block(&mut self, text: &[u8], last: bool, items: &mut dyn FnMut(Step)) -> usize {
        let mut pos = 0;
        while pos < text.len() {
            match self.mode {
                Mode::Head | Mode::Feeding => {
                    let end = line_end(text, pos);
                    let line = &text[pos..end];
                    let start = starts_record(self.pf.kind, line).unwrap_or(true);
                    if start && !line_is_blank(line) {
                        self.mode = Mode::Idle;
                        continue;
                    }
                    self.feed(text, pos, items);
                    pos = next_line(text, end);
                }
                Mode::Idle => {
                    let input = Input::new(text).span(pos..text.len());
                    let found = self.pf.all.find(input);
                    let hit = found.map(|m| line_start(text, pos, m.start()));
                    // A line that may be joined to its record with a space counts as a hit: a
                    // phrase may span the join.
                    let joining = self.first_joining(text, pos, hit.unwrap_or(text.len()));
                    let Some(ls) = joining.or(hit) else {
                        // No hit: skip the whole records, hold back the last one (it may go on).
                        let held = if last {
                            text.len()
                        } else {
                            self.last_record_start(text, pos)
                        };
                        self.skip(text, pos, held);
                        return held;
                    };
                    let rs = self.record_start(text, pos, ls);
                    let Some(re) = self.record_end(text, ls, last) else {
                        // The record may go on in the next block: hold it back.
                        self.skip(text, pos, rs);
                        return rs;
                    };
                    self.skip(text, pos, rs);
                    let single = next_line(text, line_end(text, rs)) >= re;
                    let verdict = if self.first_joining(text, rs, re).is_some() {
                        Verdict::Parse
                    } else {
                        let first = found
                            .filter(|m| m.end() <= re)
                            .map(|m| m.pattern().as_usize());
                        let (verdict, code) = self.pf.judge(&text[rs..re], first);
                        // Only a one-line record is read for codes here.
                        if code && (!single || self.carries_code(text, rs)) {
                            Verdict::Parse
                        } else {
                            verdict
                        }
                    };
                    match verdict {
                        Verdict::Skip => self.skip(text, rs, re),
                        Verdict::Facts if single => {
                            // The record held by the parser comes first.
                            items(Step::Finish);
                            let line = self.line(text, rs);
                            self.skip(text, rs, re);
                            items(Step::Servicing(line.text.trim_end().to_string()));
                        }
                        Verdict::Facts | Verdict::Parse => {
                            let mut at = rs;
                            while at < re {
                                let end = line_end(text, at);
                                self.feed(text, at, items);
                                at = next_line(text, end);
                            }
                        }
                    }
                    pos = re;
                }
            }
        }
        pos
    }

    /// Does the one-line record at `rs` carry a code? Its literals only said it may: most
    /// `HRESULT = 0x00000000` of a healthy log are no code (S_OK is none). Read from the text
    /// exactly as the parser would get it; unsure (not UTF-8, longer than the line limit) is yes.
    fn carries_code(&self, text: &[u8], rs: usize) -> bool {
        let raw = &text[rs..line_end(text, rs)];
        if raw.len() > self.max_line {
            return true;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            return true;
        };
        let line = line.strip_suffix('\r').unwrap_or(line).trim_end();
        !crate::parse::extract_codes(line).is_empty()
    }

    /// Where the record holding the line at `ls` ends (the next record start, or the end of
    /// the text when it is the last); `None` when that is beyond this block.
    fn record_end(&self, text: &[u8], ls: usize, last: bool) -> Option<usize> {
        let mut at = next_line(text, line_end(text, ls));
        loop {
            if at >= text.len() {
                return last.then_some(text.len());
            }
            if self.starts(text, at) {
                return Some(at);
            }
            at = next_line(text, line_end(text, at));
        }
    }

    /// The first line starting in `text[from..to)` that its record may join with a space.
    fn first_joining(&self, text: &[u8], from: usize, to: usize) -> Option<usize> {
        if !self.pf.joins || from >= to {
            return None;
        }
        if may_join_with_space(self.pf.kind, &text[from..]) {
            return Some(from);
        }
        memchr::memchr_iter(b'\n', &text[from..to])
            .map(|i| from + i + 1)
            .take_while(|&ls| ls < to)
            .find(|&ls| may_join_with_space(self.pf.kind, &text[ls..]))
    }

    /// Parse the held record from its start and go on reading it line by line.
    fn feed_held(&mut self, text: &[u8], items: &mut dyn FnMut(Step)) -> usize {
        let end = memchr::memrchr(b'\n', text).map_or(0, |i| i + 1);
        let mut pos = 0;
        while pos < end {
            let e = line_end(text, pos);
            self.feed(text, pos, items);
            pos = next_line(text, e);
        }
        if pos > 0 {
            self.mode = Mode::Feeding;
        }
        pos
    }

    /// Hand the line at `pos` to the parser.
    fn feed(&mut self, text: &[u8], pos: usize, items: &mut dyn FnMut(Step)) {
        let line = self.line(text, pos);
        self.line_no += 1;
        items(Step::Line(line));
    }

    /// The line at `pos` as the line reader yields it: decoded (bad bytes as U+FFFD), cut at
    /// the line limit on a character boundary, without its CR.
    fn line(&self, text: &[u8], pos: usize) -> Line {
        let raw = &text[pos..line_end(text, pos)];
        let mut s = String::from_utf8_lossy(raw).into_owned();
        if s.len() > self.max_line {
            let mut cut = self.max_line;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        if s.ends_with('\r') {
            s.pop();
        }
        Line {
            no: self.line_no,
            text: s,
        }
    }

    /// Skip `text[from..to]` (whole lines), counting them.
    fn skip(&mut self, text: &[u8], from: usize, to: usize) {
        self.line_no += memchr::memchr_iter(b'\n', &text[from..to]).count() as u64;
    }

    /// The start of the record holding the line at `ls`: the nearest line at or before it that
    /// starts a record, not before `floor` (itself a record start).
    fn record_start(&self, text: &[u8], floor: usize, ls: usize) -> usize {
        let mut at = ls;
        loop {
            if at <= floor || self.starts(text, at) {
                return at.max(floor);
            }
            at = line_start(text, floor, at - 1);
        }
    }

    /// The start of the last record beginning in `text[floor..]`.
    fn last_record_start(&self, text: &[u8], floor: usize) -> usize {
        if text.len() <= floor {
            return floor;
        }
        self.record_start(text, floor, line_start(text, floor, text.len() - 1))
    }

    fn starts(&self, text: &[u8], at: usize) -> bool {
        let line = &text[at..line_end(text, at)];
        !line_is_blank(line) && starts_record(self.pf.kind, line).unwrap_or(true)
    }
}

/// Start of the line holding byte `at`, not before `floor`.
fn line_start(text: &[u8], floor: usize, at: usize) -> usize {
    memchr::memrchr(b'\n', &text[floor..at]).map_or(floor, |i| floor + i + 1)
}

/// End of the line starting at `pos` (its LF, or the end of the text).
fn line_end(text: &[u8], pos: usize) -> usize {
    memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i)
}

/// Where the line after the one ending at `end` starts.
fn next_line(text: &[u8], end: usize) -> usize {
    (end + 1).min(text.len())
}

fn line_is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

mod split;
pub(crate) use split::{SPLIT_MIN_BYTES, search_file_split};

#[cfg(test)]
pub(crate) mod tests;
