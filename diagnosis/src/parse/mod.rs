//! Log parsers: bytes → [`Record`]s, one module per log family.
//!
//! Every parser is line-driven ([`parse_lines`]) so a multi-GB log is streamed; binary `.evtx`
//! files are read through the `evtx` crate and rendered to the same event records as the
//! XML export. Parsers know nothing of bundles: `bundle` feeds them lines and bytes.

mod cbs;
mod event_table;
mod event_text;
mod event_xml;
mod evtx;
mod fragment;
mod grammar;
mod hresult;
#[cfg(test)]
mod props;
mod scm;
mod services;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use cbs::{kb_numbers, os_build_from_package};
pub(crate) use event_text::is_header as is_event_text_header;
pub use fragment::looks_like_log;
pub(crate) use fragment::{Norm, normalise};
pub(crate) use grammar::{Grammar, classify, component_kind, configmgr, setupapi};
pub(crate) use hresult::CODE_PATTERN;
pub(crate) use hresult::signed_decimal;
pub use hresult::{extract_codes, hresult_from_win32};
pub use services::start_type;

/// Does `text` contain one of `words` (lower-case), whatever its case?
pub(crate) fn mentions_any(text: &str, words: &[&str]) -> bool {
    let lower = text.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// What the restart screen says while Windows rolls a failed update back ("We couldn't complete
/// the updates. Undoing changes.", Windows 7's "Failure configuring Windows updates. Reverting
/// changes."), in the languages of Windows' own texts.
const ROLLBACK_SCREEN: [&str; 12] = [
    "undoing changes",
    "reverting changes",
    "änderungen werden rückgängig gemacht",
    "annulation des modifications",
    "deshaciendo cambios",
    "desfazendo alterações",
    "annullamento delle modifiche",
    "отмена изменений",
    "正在撤消更改",
    "正在撤销更改",
    "正在還原變更",
    "変更を元に戻しています",
];

/// Does `text` carry the restart screen of a rollback ("Undoing changes", in Windows' languages)?
pub fn rollback_screen(text: &str) -> bool {
    mentions_any(text, &ROLLBACK_SCREEN)
}

/// One decoded line of a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub no: u64,
    /// Decoded text without the line terminator (CR and LF stripped), truncated to the limit.
    pub text: String,
}

/// Kind of a log file, detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// CBS.log / CbsPersist_*.log.
    Cbs,
    /// DISM.log.
    Dism,
    /// WindowsUpdate.log (Get-WindowsUpdateLog output) or ReportingEvents.log.
    Windowsupdate,
    /// setupapi.dev.log / setupapi.app.log.
    Setupapi,
    /// Binary event log (.evtx).
    Evtx,
    /// `wevtutil qe … /f:text` export (any language).
    EventText,
    /// `wevtutil qe … /f:xml` export.
    EventXml,
    /// `sc qc` / `sc query` / `Get-Service` output.
    Services,
    /// Panther setupact.log / setuperr.log.
    Panther,
    /// Lines copied out of logs (a chat paste, a forum quote, a `log.txt`): each line is read
    /// with the grammar it matches, and each record carries its own kind.
    Fragment,
    /// Any other text.
    Text,
}

impl LogKind {
    /// Name used in JSON and in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Cbs => "cbs",
            LogKind::Dism => "dism",
            LogKind::Windowsupdate => "windowsupdate",
            LogKind::Setupapi => "setupapi",
            LogKind::Evtx => "evtx",
            LogKind::EventText => "event-text",
            LogKind::EventXml => "event-xml",
            LogKind::Services => "services",
            LogKind::Panther => "panther",
            LogKind::Fragment => "fragment",
            LogKind::Text => "text",
        }
    }

    /// True for the three event-log kinds.
    pub fn is_event(self) -> bool {
        matches!(self, LogKind::Evtx | LogKind::EventText | LogKind::EventXml)
    }
}

/// Severity level of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Info / Information / 信息.
    #[default]
    Info,
    /// Warning / 警告.
    Warning,
    /// Error / Critical / 错误.
    Error,
}

/// One logical record: a CBS line with its continuation lines, one event, one service block.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line of the record's first line (event index for evtx).
    pub line: u64,
    /// Timestamp as written (`2024-02-14 10:01:02`), if any.
    pub time: Option<String>,
    /// Level.
    pub level: Level,
    /// Component (`CBS`, `CSI`, `DISM`) or event provider.
    pub component: Option<String>,
    /// Full text: first line, then continuation lines joined with `\n`.
    /// For events: `Provider EventID: message` plus `key: value` data lines.
    pub text: String,
    /// Every HRESULT in the record, normalised (HRESULT_FROM_WIN32(1058) → 0x80070422).
    pub codes: Vec<u32>,
    /// Structured facts, if the parser recognised the record.
    pub fact: Option<Fact>,
    /// The grammar the record was read with when it differs from its file's kind: each record
    /// of a [`LogKind::Fragment`] carries the kind of the lines it came from.
    pub kind: Option<LogKind>,
}

/// Structured facts parsers extract for cross-file rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A service's configured start type from a snapshot (`sc qc`, `Get-Service`, registry). Event
    /// 7040 changes are in that event's data (`service`, `startType`) instead: a snapshot is the
    /// current truth, an old event is not.
    Service {
        /// Service key name as written (`winmgmt`).
        name: String,
        /// Start type.
        start: StartType,
    },
    /// An event-log event (evtx, text or XML export).
    Event {
        /// Provider name (`Microsoft-Windows-WindowsUpdateClient`).
        provider: String,
        /// Event id.
        id: u32,
        /// Channel (`System`, `Setup`), if known.
        channel: Option<String>,
        /// Computer name, if known.
        computer: Option<String>,
        /// Named event data (`errorCode`, `updateTitle`, `PackageIdentifier`, …).
        data: BTreeMap<String, String>,
    },
    /// An advanced installer failed (`Failed execution of queue item Installer: <name> ({guid}) with HRESULT <hr>`).
    InstallerFailed {
        /// Installer name (`WMI`, `HTTP Installer`).
        installer: String,
        /// Installer GUID, if present.
        guid: Option<String>,
        /// Normalised HRESULT.
        hresult: u32,
        /// `Failure will be ignored` was stated.
        ignored: bool,
    },
    /// An advanced installer run completed with `Completion status: S_OK`.
    /// `uninstall` marks the rollback run (`Install mode: uninstall` / `operation flags
    /// Uninstall`), whose S_OK is not a successful installation.
    InstallerDone {
        /// Installer name.
        installer: String,
        /// Installer GUID, if present.
        guid: Option<String>,
        /// The run uninstalled (rollback).
        uninstall: bool,
    },
    /// `WER: Generating failure report for package: <pkg>, status: 0x…, failure source: …`.
    Wer {
        /// Package identity as written.
        package: String,
        /// Normalised status.
        status: u32,
        /// Failure source (`Execute`, `Resolve`, `DOQ`, `CSI Other`).
        source: String,
    },
    /// OS build and UBR from an LCU package name (`…~~19041.4046.1.14` → `19041.4046`).
    OsBuild {
        /// `<build>.<ubr>`.
        build: String,
    },
    /// An update's KB number (package name, event title, Servicing event).
    Update {
        /// `KB5034763`.
        kb: String,
        /// Installed (`Some(true)`), failed (`Some(false)`) or unknown.
        ok: Option<bool>,
    },
}

/// Service start type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartType {
    /// 0 BOOT_START.
    Boot,
    /// 1 SYSTEM_START.
    System,
    /// 2 AUTO_START (also delayed).
    Auto,
    /// 3 DEMAND_START / Manual.
    Manual,
    /// 4 DISABLED.
    Disabled,
}

/// What parsing one file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Lines (or events) read.
    pub read: u64,
    /// Set when only part of the file was readable (an `.evtx` with damaged records or cut off
    /// mid-chunk): what was lost, starting with `evtx: damaged after N records`.
    pub damage: Option<String>,
}

/// Parse a binary `.evtx` log into event records, streaming; says whether part of it was
/// damaged. (`BundleFile::parse` chooses between this and [`parse_line_results`].)
pub fn parse_evtx(
    raw: &mut dyn std::io::Read,
    sink: &mut dyn FnMut(Record),
) -> std::io::Result<Parsed> {
    evtx::parse_evtx_read(raw, sink)
}

/// Parse already-decoded lines of a file of `kind`.
pub fn parse_lines<I>(kind: LogKind, lines: I, sink: &mut dyn FnMut(Record)) -> u64
where
    I: IntoIterator<Item = Line>,
{
    // Infallible input: the only error source is the iterator, which has none here.
    parse_line_results(kind, lines.into_iter().map(Ok), sink).unwrap_or(0)
}

/// Line sink shared by the text parsers: one call per line, then `finish`.
pub(crate) trait LineParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record));
    fn finish(&mut self, sink: &mut dyn FnMut(Record));
    /// Start a record from a message whose prefix (time, level, component) was cut off; the
    /// fragment reader infers `level`. Parsers without prefixes read it as any other line.
    fn start_bare(&mut self, line: Line, level: Level, sink: &mut dyn FnMut(Record)) {
        let _ = level;
        self.line(line, sink);
    }
}

/// Parse decoded lines of a file of `kind`, streaming, until the lines run out or fail to
/// read; what was read before a failure is kept. Returns the number of lines read.
pub fn parse_line_results<I>(
    kind: LogKind,
    lines: I,
    sink: &mut dyn FnMut(Record),
) -> std::io::Result<u64>
where
    I: IntoIterator<Item = std::io::Result<Line>>,
{
    let mut parser = line_parser(kind);
    let mut n = 0;
    for line in lines {
        match line {
            Ok(line) => {
                n = n.max(line.no);
                parser.line(line, sink);
            }
            Err(e) => {
                // Keep what was read before the failure: the pending record is complete so far.
                parser.finish(sink);
                return Err(e);
            }
        }
    }
    parser.finish(sink);
    Ok(n)
}

/// The line parser of a text file of `kind`.
pub(crate) fn line_parser(kind: LogKind) -> Box<dyn LineParser> {
    match kind {
        LogKind::Cbs | LogKind::Dism | LogKind::Panther => Box::new(cbs::CbsParser::new()),
        LogKind::EventText => Box::new(event_text::EventTextParser::new()),
        LogKind::EventXml => Box::new(event_xml::EventXmlParser::new()),
        LogKind::Services => Box::new(services::ServicesParser::new()),
        LogKind::Text => Box::new(event_table::TextParser::new()),
        LogKind::Fragment => Box::new(fragment::FragmentParser::new()),
        _ => Box::new(cbs::PlainParser::new(kind)),
    }
}

/// For the buffer search: does `line` (after the first record of the file) begin a new record
/// of a file of `kind`, so that every line up to the next such line belongs to its record or is
/// a record of its own? `None` for kinds whose records are not delimited that way (they are
/// read line by line).
pub(crate) fn starts_record(kind: LogKind, line: &[u8]) -> Option<bool> {
    match kind {
        LogKind::Cbs | LogKind::Dism | LogKind::Panther => Some(match line.first() {
            // Without decoding for the common cases: a timestamp, an indented line.
            _ if cbs::is_timestamped(line) => true,
            Some(b' ' | b'\t') => false,
            _ => cbs::is_record_start(&String::from_utf8_lossy(line)),
        }),
        LogKind::Setupapi => Some(true),
        _ => None,
    }
}

/// For the buffer search: could the record holding `line` join it to the line above with a
/// space (a line wrapped by a mail client, see the CBS parser)? True unless the line plainly
/// starts a record (a timestamp), is indented or blank, or is a `CSIPERF:` line; setupapi
/// records never join lines. Such lines are read with their record, since a rule phrase may
/// span the join.
pub(crate) fn may_join_with_space(kind: LogKind, line: &[u8]) -> bool {
    match kind {
        LogKind::Cbs | LogKind::Dism | LogKind::Panther => {
            let plain = match line.first() {
                None => true,
                Some(b) if b.is_ascii_whitespace() => true,
                Some(_) => cbs::is_timestamped(line) || line.starts_with(b"CSIPERF:"),
            };
            !plain
        }
        _ => false,
    }
}

/// Words whose records change a parser's state (the CBS advanced-installer blocks): a record
/// holding none of them leaves the parser as it was. Compared ASCII case-insensitively.
pub(crate) fn state_words(kind: LogKind) -> &'static [&'static str] {
    match kind {
        LogKind::Cbs | LogKind::Dism | LogKind::Panther => cbs::STATE_WORDS,
        _ => &[],
    }
}

/// A record with codes extracted from its text.
fn record(
    line: u64,
    time: Option<String>,
    level: Level,
    component: Option<String>,
    text: String,
) -> Record {
    Record {
        line,
        time,
        level,
        component,
        codes: extract_codes(&text),
        text,
        fact: None,
        kind: None,
    }
}

#[cfg(test)]
pub(crate) fn lines_of(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .map(|(i, t)| Line {
            no: i as u64 + 1,
            text: t.to_string(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) fn parse_str(kind: LogKind, text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    parse_lines(kind, lines_of(text), &mut |r| out.push(r));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_error_keeps_the_pending_record() {
        let lines = vec![
            Ok(Line {
                no: 1,
                text: "2024-01-01 00:00:00, Error CBS Failed [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]".into(),
            }),
            Err(std::io::Error::other("disk gone")),
        ];
        let mut out = Vec::new();
        let r = parse_line_results(LogKind::Cbs, lines, &mut |rec| out.push(rec));
        assert_eq!(r.expect_err("error passed on").to_string(), "disk gone");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].codes, vec![0x800f0922]);
    }
}
