//! CBS/CSI, DISM and Panther logs (`YYYY-MM-DD HH:MM:SS, Level [0x…tag] Component message`),
//! plus the simple one-line-per-record families (WindowsUpdate.log, setupapi, plain text).
//!
//! The prefix is split on whitespace, not fixed columns: published samples collapse the padding.
//! Any line without a timestamp prefix continues the record above it (indented `Installer name:`
//! lines, `CSIPERF:` lines at column 0, wrapped messages), joined with `\n`.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Line;
use super::{Fact, Level, LineParser, LogKind, Record, extract_codes, record};

/// Longest record text kept; further continuation lines are counted but not stored, so a log
/// with millions of unprefixed lines cannot grow one record without bound.
const MAX_RECORD_TEXT: usize = 64 << 10;

/// A physical line at least this long may have been wrapped by a mail client or a web page: an
/// unindented line after it is its tail, not a continuation line.
const WRAPPED_LINE: usize = 60;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in regex is valid")
}

static QUEUE_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"Failed execution of queue item Installer:\s*(?P<name>.*?)\s*\((?P<guid>\{[^}]*\})\)\s*with HRESULT\s+(?P<hr>\S+)",
    )
});
static SUMMARY_FAILED: LazyLock<Regex> =
    LazyLock::new(|| re(r"\(F\)\s*Installer:\s*(?P<name>.+?)\s+Binary Name:"));
static AI_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r#"Installer name:\s*(?:\[\d+\])?\s*['"](?P<name>[^'"]+)['"]"#));
static AI_ID: LazyLock<Regex> = LazyLock::new(|| re(r"Installer ID:\s*\{(?P<id>[^}]*)\}"));
static AI_SEQ: LazyLock<Regex> = LazyLock::new(|| re(r"\(sequence (?P<seq>\d+)\)"));
static UNINSTALL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)install mode:\s*uninstall|operation flags\s+uninstall"));
static WER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:WER: Generating failure report|Reporting package change completion) for package:\s*(?P<pkg>[^,\s]+),\s*status:\s*(?P<st>0x[0-9a-fA-F]+),\s*failure source:\s*(?P<src>[^,]+)",
    )
});
static ROLLUP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)Package_for_RollupFix~[0-9a-f]*~[a-z0-9]*~[^~]*~(?P<b>\d{4,5})\.(?P<u>\d+)\.")
});
static KB: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|[^A-Za-z0-9])KB(?P<n>\d{6,8})(?:$|[^0-9])"));

/// OS build and UBR from an LCU package name (`Package_for_RollupFix~…~~19041.4046.1.14` →
/// `19041.4046`).
pub fn os_build_from_package(text: &str) -> Option<String> {
    if !text.contains("RollupFix") && !text.contains("rollupfix") {
        return None;
    }
    ROLLUP
        .captures(text)
        .map(|c| format!("{}.{}", &c["b"], &c["u"]))
}

/// Every `KB1234567` number in `text` (upper-case, deduplicated, in order).
pub fn kb_numbers(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if !text.contains("KB") && !text.contains("kb") && !text.contains("Kb") {
        return out;
    }
    for c in KB.captures_iter(text) {
        let kb = format!("KB{}", &c["n"]);
        if !out.contains(&kb) {
            out.push(kb);
        }
    }
    out
}

/// Timestamp, level, component and the byte offset of the message, for a prefixed line.
struct Prefix {
    time: Option<String>,
    level: Level,
    component: Option<String>,
}

fn level_word(w: &str) -> Option<Level> {
    match w.trim_end_matches(',') {
        "Info" | "Perf" | "Verbose" => Some(Level::Info),
        "Warning" => Some(Level::Warning),
        "Error" | "Critical" | "Fatal" => Some(Level::Error),
        _ => None,
    }
}

fn is_timestamp(s: &[u8]) -> bool {
    s.len() >= 19
        && s[..19].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
}

/// Parse `YYYY-MM-DD HH:MM:SS, Level [tag] Component message`. Lines whose timestamp was
/// stripped (`Info CSI 00000029 …`, as in several published excerpts) are accepted when a level
/// word is followed by an upper-case component.
fn parse_prefix(text: &str) -> Option<Prefix> {
    // A page or a quote may indent a whole line, timestamp and all.
    let lead = text.trim_start();
    let b = lead.as_bytes();
    let (time, rest) = if is_timestamp(b) && b.get(19) == Some(&b',') {
        (Some(lead[..19].to_string()), &lead[20..])
    } else if let Some(rest) = super::grammar::partial_time(text) {
        // `27:08, Error SP …`: a timestamp cut down to its time is no usable time.
        (None, rest)
    } else if !text.starts_with(char::is_whitespace) {
        (None, text)
    } else {
        return None;
    };
    let mut words = rest.split_whitespace();
    let level = words.next().and_then(level_word);
    let Some(level) = level else {
        return time.map(|t| Prefix {
            time: Some(t),
            level: Level::Info,
            component: None,
        });
    };
    let mut comp = words.next();
    if comp.is_some_and(|w| w.starts_with("[0x") || w.starts_with("[HRESULT")) {
        comp = words.next();
    }
    let comp = comp.filter(|w| {
        w.len() <= 16
            && w.bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            && w.bytes().any(|c| c.is_ascii_uppercase())
    });
    if time.is_none() && comp.is_none() {
        return None;
    }
    Some(Prefix {
        time,
        level,
        component: comp.map(str::to_string),
    })
}

/// Does `text` start a record (a prefixed line)? Every other line continues the record above.
pub(super) fn is_record_start(text: &str) -> bool {
    is_timestamped(text.as_bytes()) || parse_prefix(text).is_some()
}

/// A line starting `YYYY-MM-DD HH:MM:SS,` always starts a record (checked on raw bytes).
pub(super) fn is_timestamped(line: &[u8]) -> bool {
    is_timestamp(line) && line.get(19) == Some(&b',')
}

/// What [`CbsParser::fact`] looks for: a record holding none of these leaves the parser's state
/// as it was (lowercase; compared ASCII case-insensitively). Package names alone (`Package_`)
/// are left out: their facts ([`Fact::OsBuild`], [`Fact::Update`]) change no state.
pub(super) const STATE_WORDS: &[&str] = &[
    "processing advanced operation queue",
    "operation flags",
    "failed execution of queue item",
    "binary name:",
    "begin executing advanced installer",
    "end executing advanced installer",
    "completion status:",
    "failure source",
];

/// An advanced installer seen in a `Begin executing advanced installer` block.
#[derive(Debug, Clone, Default)]
struct AiInfo {
    name: String,
    guid: Option<String>,
    uninstall: bool,
}

struct Pending {
    line: u64,
    prefix: Prefix,
    text: String,
    /// Length of the record's last physical line (a long one may have been wrapped).
    last_len: usize,
}

/// CBS.log / CbsPersist / DISM.log / Panther parser.
pub(super) struct CbsParser {
    cur: Option<Pending>,
    /// Installers by sequence number, from `Begin executing advanced installer` blocks.
    ai: HashMap<u64, AiInfo>,
    last_ai: Option<AiInfo>,
    /// Sequence number of the last `Begin executing advanced installer` block.
    last_seq: Option<u64>,
    /// An `End executing` record without its `Completion status:` yet.
    awaiting_status: Option<AiInfo>,
    /// `operation flags Uninstall` was logged since the queue started: this is a rollback run.
    rollback_run: bool,
}

impl CbsParser {
    pub(super) fn new() -> Self {
        CbsParser {
            cur: None,
            ai: HashMap::new(),
            last_ai: None,
            last_seq: None,
            awaiting_status: None,
            rollback_run: false,
        }
    }

    fn flush(&mut self, sink: &mut dyn FnMut(Record)) {
        let Some(p) = self.cur.take() else {
            return;
        };
        let mut rec = record(
            p.line,
            p.prefix.time,
            p.prefix.level,
            p.prefix.component,
            p.text,
        );
        rec.fact = self.fact(&rec);
        sink(rec);
    }

    fn fact(&mut self, rec: &Record) -> Option<Fact> {
        let t = rec.text.as_str();
        if t.contains("Processing advanced operation queue") {
            self.rollback_run = false;
        }
        // `Container AI invoked with operation flags Uninstall|Install` follows the Begin block
        // of the installer it belongs to and sets the direction of the run from there on.
        if t.contains("operation flags") && !t.contains("Begin executing advanced installer") {
            let uninstall = t.contains("ninstall") && UNINSTALL.is_match(t);
            self.rollback_run = uninstall;
            if let Some(ai) = &mut self.last_ai {
                ai.uninstall = uninstall;
            }
            if let Some(ai) = self.last_seq.and_then(|s| self.ai.get_mut(&s)) {
                ai.uninstall = uninstall;
            }
        }
        if t.contains("Failed execution of queue item")
            && let Some(f) = queue_failed(t)
        {
            return Some(f);
        }
        if t.contains("Binary Name:")
            && let Some(c) = SUMMARY_FAILED.captures(t)
        {
            let hresult = rec.codes.first().copied().unwrap_or(0);
            return Some(Fact::InstallerFailed {
                installer: c["name"].trim().to_string(),
                guid: None,
                hresult,
                ignored: false,
            });
        }
        if let Some(f) = self.advanced_installer(t) {
            return Some(f);
        }
        if t.contains("failure source")
            && let Some(c) = WER.captures(t)
        {
            return Some(Fact::Wer {
                package: c["pkg"].to_string(),
                status: extract_codes(&format!("status: {}", &c["st"]))
                    .first()
                    .copied()
                    .unwrap_or(0),
                source: c["src"].trim().to_string(),
            });
        }
        package_fact(t)
    }

    /// Begin/End blocks of advanced installers; the End block's `Completion status` decides.
    fn advanced_installer(&mut self, t: &str) -> Option<Fact> {
        if t.contains("Begin executing advanced installer") {
            let info = AiInfo {
                name: AI_NAME
                    .captures(t)
                    .map(|c| c["name"].trim().to_string())
                    .unwrap_or_default(),
                guid: AI_ID.captures(t).map(|c| c["id"].to_string()),
                uninstall: self.rollback_run || UNINSTALL.is_match(t) || removes_component(t),
            };
            self.last_seq = sequence(t);
            if let Some(seq) = self.last_seq {
                self.ai.insert(seq, info.clone());
            }
            self.last_ai = Some(info);
            return None;
        }
        if t.contains("End executing advanced installer") {
            let info = sequence(t)
                .and_then(|s| self.ai.remove(&s))
                .or_else(|| self.last_ai.clone())?;
            self.awaiting_status = Some(info);
        }
        let pos = t.find("Completion status:")?;
        let info = self.awaiting_status.take()?;
        if info.name.is_empty() {
            return None;
        }
        let status = extract_codes(&t[pos..]).first().copied().unwrap_or(0);
        Some(if status == 0 {
            Fact::InstallerDone {
                installer: info.name,
                guid: info.guid,
                uninstall: info.uninstall,
            }
        } else {
            Fact::InstallerFailed {
                installer: info.name,
                guid: info.guid,
                hresult: status,
                ignored: false,
            }
        })
    }
}

/// `Old component: <X>` with `New component: (null)`: the installer removes a component.
fn removes_component(t: &str) -> bool {
    let field = |name: &str| {
        t.find(name)
            .map(|i| t[i + name.len()..].lines().next().unwrap_or("").trim())
    };
    let empty = |v: &str| v.is_empty() || v == "(null)" || v.starts_with("[l:0]");
    matches!(
        (field("Old component:"), field("New component:")),
        (Some(old), Some(new)) if !empty(old) && empty(new)
    )
}

fn sequence(t: &str) -> Option<u64> {
    AI_SEQ.captures(t).and_then(|c| c["seq"].parse().ok())
}

fn queue_failed(t: &str) -> Option<Fact> {
    let c = QUEUE_FAILED.captures(t)?;
    let guid = c["guid"]
        .trim_matches(|ch| ch == '{' || ch == '}')
        .to_string();
    let guid = guid
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'-')
        .then_some(guid)
        .filter(|g| !g.is_empty());
    // The HRESULT notation may contain spaces (`HRESULT_FROM_WIN32( 1058 )`): decode from the
    // `with HRESULT` keyword to the end of the sentence.
    let from = c.name("hr").map_or(0, |m| m.start());
    let tail = &t[from..];
    let end = tail.find("Failure will").unwrap_or(tail.len());
    let hresult = extract_codes(&tail[..end]).first().copied().unwrap_or(0);
    Some(Fact::InstallerFailed {
        installer: c["name"].trim().to_string(),
        guid,
        hresult,
        ignored: t.contains("Failure will be ignored"),
    })
}

/// OS build from an LCU package name, else the first KB number of a package name.
fn package_fact(t: &str) -> Option<Fact> {
    if !t.contains("Package_") {
        return None;
    }
    if let Some(build) = os_build_from_package(t) {
        return Some(Fact::OsBuild { build });
    }
    let kb = kb_numbers(t).into_iter().next()?;
    Some(Fact::Update { kb, ok: None })
}

impl LineParser for CbsParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        if let Some(prefix) = parse_prefix(&line.text) {
            self.flush(sink);
            // The line is owned: trim it in place rather than copy it (once per record).
            let mut text = line.text;
            text.truncate(text.trim_end().len());
            self.cur = Some(Pending {
                line: line.no,
                prefix,
                last_len: text.len(),
                text,
            });
            return;
        }
        let cont = line.text.trim_end();
        if cont.trim().is_empty() {
            return;
        }
        // A DISM console run pasted into a log: its lines are records of their own, and its
        // result line is the run's failure (as in a fragment). The console does not indent
        // them; CBS indents its own continuation lines, which are not looked at.
        if !cont.starts_with(char::is_whitespace) && super::grammar::dism_console(cont) {
            let level = if super::grammar::dism_result(cont) {
                Level::Error
            } else {
                Level::Info
            };
            self.start_bare(line, level, sink);
            return;
        }
        match &mut self.cur {
            Some(p) => {
                if p.text.len() + cont.len() < MAX_RECORD_TEXT {
                    // CBS indents its continuation lines (or starts them with `CSIPERF:`); an
                    // unindented one is the rest of a line a mail client or a page wrapped.
                    let wrapped = !cont.starts_with(char::is_whitespace)
                        && !cont.starts_with("CSIPERF:")
                        && p.last_len >= WRAPPED_LINE;
                    p.text.push(if wrapped { ' ' } else { '\n' });
                    p.text.push_str(cont);
                    p.last_len = if wrapped { p.last_len + 1 } else { 0 } + cont.len();
                }
            }
            // Text before the first prefixed line stands alone.
            None => sink(record(line.no, None, Level::Info, None, cont.to_string())),
        }
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        self.flush(sink);
    }

    fn start_bare(&mut self, line: Line, level: Level, sink: &mut dyn FnMut(Record)) {
        self.flush(sink);
        let mut text = line.text;
        text.truncate(text.trim_end().len());
        self.cur = Some(Pending {
            line: line.no,
            prefix: Prefix {
                time: None,
                level,
                component: None,
            },
            last_len: text.len(),
            text,
        });
    }
}

/// One record per non-empty line: WindowsUpdate.log, setupapi logs, plain text.
pub(super) struct PlainParser {
    kind: LogKind,
    /// WindowsUpdate.log and plain text: the last record, held until the next line shows whether
    /// a mail client or a page wrapped it (a line without the WU prefix after a long one, a code
    /// alone on its line).
    pending: Option<Record>,
}

impl PlainParser {
    pub(super) fn new(kind: LogKind) -> Self {
        PlainParser {
            kind,
            pending: None,
        }
    }

    /// Append `text` to the held record as the tail of its last line, when there is one and
    /// it has room. `after_long_line` asks in addition that `text` starts at column 0 and the
    /// held line reached a wrap width (a WindowsUpdate line without its prefix after a long
    /// one); without it any text joins (a code cut onto a line of its own). False when `text`
    /// is a record of its own.
    fn join(&mut self, text: &str, after_long_line: bool) -> bool {
        let Some(p) = &mut self.pending else {
            return false;
        };
        let joins = p.text.len() < MAX_RECORD_TEXT
            && (!after_long_line
                || (!text.starts_with(char::is_whitespace)
                    && p.text
                        .lines()
                        .last()
                        .is_some_and(|l| l.len() >= WRAPPED_LINE)));
        if joins {
            p.text.push(' ');
            p.text.push_str(text.trim());
            p.codes = extract_codes(&p.text);
            p.level = plain_level(self.kind, &p.text, &p.codes);
        }
        joins
    }
}

/// `0x800b0004`, `0x800B0004.`, `[800f0922]`, `(hr:0x80073633)`: a line that is one code and
/// nothing else.
fn lone_code(text: &str) -> bool {
    // `= 0x800f0954`: the rest of `… Error code` cut off by a narrow console.
    let t = text
        .trim()
        .trim_start_matches(['=', ':', ' '])
        .trim_end_matches(['.', ',', ';', ':'])
        .trim_matches(['[', ']', '(', ')']);
    let t = t.strip_prefix("hr:").or(t.strip_prefix("hr=")).unwrap_or(t);
    let hex = t.strip_prefix("0x").or(t.strip_prefix("0X")).unwrap_or(t);
    hex.len() == 8 && hex.bytes().all(|c| c.is_ascii_hexdigit()) && !extract_codes(t).is_empty()
}

/// Level of a one-line record: setupapi's `!!!`/`!` marks, else failure words with a code.
fn plain_level(kind: LogKind, text: &str, codes: &[u32]) -> Level {
    let trimmed = text.trim_start();
    if kind == LogKind::Setupapi && trimmed.starts_with("!!!") {
        Level::Error
    } else if kind == LogKind::Setupapi && trimmed.starts_with('!') {
        Level::Warning
    } else if text.contains("FATAL")
        || (!codes.is_empty()
            && (failure_words(text)
                // The agent's install history names a failed install by its mapped result, and
                // its handlers end an install with `result: 0x80070643`.
                || text.contains("resultMapped=")
                || (codes.iter().any(|&c| c >= 0x8000_0000) && result_field(text))
                || (kind == LogKind::Text && super::mentions_any(text, &TEXT_FAILURE_WORDS))
                // The Windows Update page's banners name no failure word before their code.
                || (kind == LogKind::Windowsupdate && super::grammar::wu_ui_failure(text))))
    {
        Level::Error
    } else if let Some(level) = (kind == LogKind::Windowsupdate)
        .then(|| configmgr_severity(text))
        .flatten()
    {
        level
    } else if text.contains("WARNING") {
        Level::Warning
    } else {
        Level::Info
    }
}

/// Get-WindowsUpdateLog (`2022/05/21 18:46:43.8925713 8976  5116  Handler …`), the older
/// tab-separated WindowsUpdate.log (`2015-06-01\t10:26:46:374\t 996\t 1a4\tAgent\t…`) and
/// ReportingEvents.log (`{GUID}\t2019-08-21 10:22:22:398+0800\t1\t147 [AGENT]\t…`).
static WU_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:(?P<t>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)?\s+\d+\s+\d+\s+(?P<c>\S+)\s",
        r"|(?P<d2>\d{4}-\d{2}-\d{2})[\t ](?P<t2>\d{2}:\d{2}:\d{2})[:.]\d{3,7}[\t ]\s*[0-9a-fA-F]+[\t ]\s*[0-9a-fA-F]+[\t ]\s*(?P<c2>\S+)\s",
        r"|\{[0-9A-Fa-f-]{36}\}\t(?P<d3>\d{4}-\d{2}-\d{2}) (?P<t3>\d{2}:\d{2}:\d{2}))"
    ))
});

/// The ConfigMgr client's layouts (`<![LOG[…]LOG]!><time="10:01:02.123+000" date="06-15-2022"
/// component="WUAHandler" …>`, `…  $$<WUAHandler><06-15-2022 10:01:02.123+000><thread=…>`):
/// component, month, day, year and time.
static CONFIGMGR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r#"\]LOG\]!><time="(?P<t>\d{2}:\d{2}:\d{2})[^"]*"\s+date="(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4})"\s+component="(?P<c>[^"]*)""#,
        r"|\$\$<(?P<c2>[^<>\s]+)><(?P<m2>\d{1,2})-(?P<d2>\d{1,2})-(?P<y2>\d{4}) (?P<t2>\d{2}:\d{2}:\d{2})"
    ))
});

/// Time and component of a WindowsUpdate/ReportingEvents line.
fn wu_prefix(text: &str) -> (Option<String>, Option<String>) {
    if let Some((time, component)) = wu_columns(text.as_bytes()) {
        return (Some(time.to_string()), Some(component.to_string()));
    }
    let Some(c) = WU_LINE.captures(text) else {
        return configmgr_prefix(text);
    };
    let get = |n: &str| c.name(n).map(|m| m.as_str().trim().to_string());
    let time = get("t")
        .or_else(|| Some(format!("{} {}", get("d2")?, get("t2")?)))
        .or_else(|| Some(format!("{} {}", get("d3")?, get("t3")?)));
    (time, get("c").or_else(|| get("c2")))
}

/// The common layout of [`WU_LINE`] (Get-WindowsUpdateLog: `2022/05/21 18:46:43.8925713 8976
/// 5116  Handler …`) read by hand: time and component, as its first branch captures them. `None`
/// when the line does not have that layout in ASCII (the pattern decides then: its `\d`, `\s`
/// and `\S` are Unicode classes).
fn wu_columns(b: &[u8]) -> Option<(&str, &str)> {
    // `\s` of ASCII characters (Unicode White_Space, so with the vertical tab).
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    let time = b.get(..19)?;
    let fixed = time.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'/',
        10 => *c == b' ',
        13 | 16 => *c == b':',
        _ => c.is_ascii_digit(),
    });
    if !fixed {
        return None;
    }
    let mut at = 19;
    // A run of `class` bytes from `at`; `None` when it is empty or ends at a non-ASCII byte.
    let run = |at: usize, class: &dyn Fn(u8) -> bool| -> Option<usize> {
        let n = b[at..].iter().take_while(|c| class(**c)).count();
        let end = at + n;
        (n > 0 && b.get(end).is_none_or(u8::is_ascii)).then_some(end)
    };
    if b.get(at) == Some(&b'.') {
        at = run(at + 1, &|c| c.is_ascii_digit())?;
    }
    at = run(at, &space)?;
    at = run(at, &|c| c.is_ascii_digit())?;
    at = run(at, &space)?;
    at = run(at, &|c| c.is_ascii_digit())?;
    at = run(at, &space)?;
    let comp = at;
    at = run(at, &|c| c.is_ascii() && !space(c))?;
    if !b.get(at).copied().is_some_and(space) {
        return None;
    }
    // ASCII throughout: the slices are on character boundaries.
    let text = std::str::from_utf8(&b[..at]).ok()?;
    Some((&text[..19], &text[comp..at]))
}

/// Time and component of a ConfigMgr client log line; the time as `YYYY-MM-DD hh:mm:ss`.
fn configmgr_prefix(text: &str) -> (Option<String>, Option<String>) {
    if !text.contains("]LOG]!>") && !text.contains("$$<") {
        return (None, None);
    }
    let Some(c) = CONFIGMGR_LINE.captures(text) else {
        return (None, None);
    };
    let get = |a: &str, b: &str| c.name(a).or_else(|| c.name(b)).map(|m| m.as_str());
    let time = (|| {
        let (y, m, d, t) = (
            get("y", "y2")?,
            get("m", "m2")?,
            get("d", "d2")?,
            get("t", "t2")?,
        );
        Some(format!("{y}-{m:0>2}-{d:0>2} {t}"))
    })();
    (time, get("c", "c2").map(str::to_string))
}

/// CMTrace's severity attribute: `type="3"` is an error, `type="2"` a warning.
fn configmgr_severity(text: &str) -> Option<Level> {
    let i = text.find("]LOG]!>")?;
    let attrs = &text[i..];
    if attrs.contains(" type=\"3\"") {
        Some(Level::Error)
    } else if attrs.contains(" type=\"2\"") {
        Some(Level::Warning)
    } else {
        None
    }
}

fn failure_words(t: &str) -> bool {
    let l = t.to_ascii_lowercase();
    l.contains("fail") || l.contains("error") || l.contains("fatal")
}

/// `result: 0x…` / `result = 0x…`: an operation's outcome field.
fn result_field(t: &str) -> bool {
    t.match_indices("result").any(|(i, _)| {
        t[i + "result".len()..]
            .trim_start()
            .strip_prefix([':', '='])
            .is_some_and(|r| r.trim_start().starts_with("0x"))
    })
}

/// More words that say something failed, for lines of plain text (what a tool printed, a
/// translated message), in the languages of the event exports casebot reads.
const TEXT_FAILURE_WORDS: [&str; 28] = [
    "exception",
    "unable",
    "could not",
    "couldn't",
    "cannot",
    "can't",
    "fehler",
    "fehlgeschlagen",
    "konnte nicht",
    "erreur",
    "échec",
    "échoué",
    "n'a pas pu",
    "falló",
    "fallo",
    "no se pudo",
    "no pudo",
    "ошибк",
    "не удалось",
    "не удается",
    "błąd",
    "失败",
    "错误",
    "无法",
    "無法",
    "失敗",
    "エラー",
    "できません",
];

impl LineParser for PlainParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        // The line is owned: trim it in place and move it into the record rather than copy it.
        let mut text = line.text;
        text.truncate(text.trim_end().len());
        if text.trim().is_empty() {
            return;
        }
        let (time, component) = if self.kind == LogKind::Windowsupdate {
            wu_prefix(&text)
        } else {
            (None, None)
        };
        // A line without a time continues a wrapped one, unless it is a message of its own
        // (copied from a log viewer's message column, or a ConfigMgr line whose time is off).
        if self.kind == LogKind::Windowsupdate
            && time.is_none()
            && !super::grammar::wu_record_start(&text)
            && self.join(&text, true)
        {
            return;
        }
        // A code alone on a line is the tail of the line above, cut by a wrap at its width.
        if time.is_none() && lone_code(&text) && self.join(&text, false) {
            return;
        }
        let mut rec = record(line.no, time, Level::Info, component, text);
        rec.level = plain_level(self.kind, &rec.text, &rec.codes);
        rec.fact = package_fact(&rec.text).or_else(|| {
            kb_numbers(&rec.text)
                .into_iter()
                .next()
                .map(|kb| Fact::Update { kb, ok: None })
        });
        if matches!(self.kind, LogKind::Windowsupdate | LogKind::Text) {
            if let Some(prev) = self.pending.replace(rec) {
                sink(prev);
            }
        } else {
            sink(rec);
        }
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        if let Some(prev) = self.pending.take() {
            sink(prev);
        }
    }
}

#[cfg(test)]
mod tests;
