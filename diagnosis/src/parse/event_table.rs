//! Event exports that arrive as plain text rather than `wevtutil` output:
//! - Event Viewer "Save events as… Text (tab delimited)" / CSV: a header
//!   `Level<TAB>Date and Time<TAB>Source<TAB>Event ID<TAB>Task Category` (zh-CN:
//!   `级别 日期和时间 来源 事件 ID 任务类别`), then one row per event whose last column, the
//!   description, may be quoted and run over several lines;
//! - PowerShell `Get-WinEvent … | Format-List` blocks (`TimeCreated :`, `ProviderName :`,
//!   `Id :`, `Message :` with indented continuation lines);
//! - PowerShell `Get-WinEvent` default tables, grouped under `ProviderName: X` lines, with the
//!   columns `TimeCreated  Id LevelDisplayName Message` (messages may be cut with `...`).
//!
//! Any other text goes to the one-record-per-line parser.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Line;
use super::cbs::PlainParser;
use super::event_text::level;
use super::event_xml::{EventInfo, event_record};
use super::{LineParser, LogKind, Record};

/// Longest description kept per event.
const MAX_MESSAGE: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    Level,
    Date,
    Source,
    Id,
    Other,
}

fn column(name: &str) -> Col {
    match name.trim().trim_matches('"') {
        "Level" | "级别" => Col::Level,
        "Date and Time" | "日期和时间" => Col::Date,
        "Source" | "来源" => Col::Source,
        "Event ID" | "事件 ID" | "事件ID" => Col::Id,
        _ => Col::Other,
    }
}

/// The header of a tab or CSV export, if `text` is one.
fn table_header(text: &str) -> Option<(char, Vec<Col>)> {
    let sep = if text.contains('\t') { '\t' } else { ',' };
    let cols: Vec<Col> = text.split(sep).map(column).collect();
    (cols.contains(&Col::Source) && cols.contains(&Col::Id) && cols.len() >= 4)
        .then_some((sep, cols))
}

struct Current {
    line: u64,
    ev: EventInfo,
    message: String,
}

enum Mode {
    Plain,
    Table { sep: char, cols: Vec<Col> },
    List { blank: bool },
    WinEvent,
}

/// A `Get-WinEvent` table row: time (`2/14/2024 10:01:02 AM` or `2024/2/14 10:01:02`), id,
/// level word, message.
static WINEVENT_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<t>\S+ \d{1,2}:\d{2}:\d{2}(?: ?[AaPp][Mm])?)\s+(?P<id>\d{1,5})\s+(?P<lvl>\S+)\s+(?P<msg>.*)$")
        .expect("built-in regex is valid")
});

fn is_winevent_header(text: &str) -> bool {
    let w: Vec<&str> = text.split_whitespace().collect();
    w.first() == Some(&"TimeCreated") && w.contains(&"Id") && w.contains(&"Message")
}

/// `   ProviderName: Microsoft-Windows-WindowsUpdateClient` group line of a `Get-WinEvent` table.
fn group_provider(text: &str) -> Option<&str> {
    text.trim_start()
        .strip_prefix("ProviderName:")
        .map(str::trim)
        .filter(|p| !p.is_empty() && text.starts_with(' '))
}

/// Text files: event tables and lists when recognised, else one record per line.
pub(super) struct TextParser {
    plain: PlainParser,
    mode: Mode,
    cur: Option<Current>,
    /// Provider of the current `Get-WinEvent` table group.
    provider: String,
}

impl TextParser {
    pub(super) fn new() -> Self {
        TextParser {
            plain: PlainParser::new(LogKind::Text),
            mode: Mode::Plain,
            cur: None,
            provider: String::new(),
        }
    }

    fn flush(&mut self, sink: &mut dyn FnMut(Record)) {
        let Some(mut c) = self.cur.take() else {
            return;
        };
        let m = c.message.trim().trim_matches('"').replace("\"\"", "\"");
        if !m.is_empty() {
            c.ev.message = Some(m);
        }
        // An event read out of a table or list is an event, whatever the file around it.
        let mut rec = event_record(c.line, c.ev);
        rec.kind = Some(LogKind::EventText);
        sink(rec);
    }

    fn push_message(&mut self, text: &str) {
        if let Some(c) = &mut self.cur
            && c.message.len() < MAX_MESSAGE
        {
            if !c.message.is_empty() {
                c.message.push('\n');
            }
            c.message.push_str(text.trim());
        }
    }

    /// A row of the table, or a continuation of the previous row's description.
    fn table_line(&mut self, sep: char, cols: &[Col], line: &Line, sink: &mut dyn FnMut(Record)) {
        // Event Viewer's header names no description column: it is the extra last field.
        let fields: Vec<&str> = line.text.splitn(cols.len() + 1, sep).collect();
        let id = cols
            .iter()
            .position(|c| *c == Col::Id)
            .and_then(|i| fields.get(i))
            .and_then(|v| v.trim().trim_matches('"').parse::<u32>().ok());
        let (true, Some(id)) = (fields.len() >= cols.len(), id) else {
            self.push_message(&line.text);
            return;
        };
        self.flush(sink);
        let mut ev = EventInfo {
            id,
            data: BTreeMap::new(),
            ..EventInfo::default()
        };
        for (c, v) in cols.iter().zip(&fields) {
            let v = v.trim().trim_matches('"').to_string();
            match c {
                Col::Level => ev.level = level(&v),
                Col::Date => ev.time = Some(v),
                Col::Source => ev.provider = v,
                Col::Id | Col::Other => {}
            }
        }
        let message = fields
            .get(cols.len())
            .map_or(String::new(), |s| s.to_string());
        self.cur = Some(Current {
            line: line.no,
            ev,
            message,
        });
    }

    /// A row of a `Get-WinEvent` table, a group line, or a wrapped message line.
    fn winevent_line(&mut self, line: &Line, sink: &mut dyn FnMut(Record)) {
        let t = line.text.trim_end();
        if t.trim().is_empty() || is_winevent_header(t) || t.trim_start().starts_with("---") {
            return;
        }
        if let Some(p) = group_provider(t) {
            self.flush(sink);
            self.provider = p.to_string();
            return;
        }
        let Some(c) = WINEVENT_ROW.captures(t) else {
            self.push_message(t);
            return;
        };
        self.flush(sink);
        self.cur = Some(Current {
            line: line.no,
            ev: EventInfo {
                provider: self.provider.clone(),
                id: c["id"].parse().unwrap_or(0),
                level: level(&c["lvl"]),
                time: Some(c["t"].to_string()),
                ..EventInfo::default()
            },
            message: c["msg"].to_string(),
        });
    }

    /// `Key : value` lines of `Format-List`; indented lines continue the message.
    fn list_line(&mut self, line: &Line, blank_before: bool, sink: &mut dyn FnMut(Record)) {
        let kv = (!line.text.starts_with(' '))
            .then(|| line.text.split_once(':'))
            .flatten()
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, _)| !k.is_empty() && !k.contains(' '));
        let Some((key, value)) = kv else {
            if blank_before {
                self.push_message("");
            }
            self.push_message(&line.text);
            return;
        };
        let starts_block = matches!(key, "TimeCreated" | "ProviderName" | "LogName" | "Id");
        let has = |c: &Current| match key {
            "TimeCreated" => c.ev.time.is_some(),
            "ProviderName" => !c.ev.provider.is_empty(),
            "LogName" => c.ev.channel.is_some(),
            "Id" => c.ev.id != 0,
            _ => false,
        };
        if self
            .cur
            .as_ref()
            .is_none_or(|c| (blank_before && starts_block) || has(c))
        {
            self.flush(sink);
            self.cur = Some(Current {
                line: line.no,
                ev: EventInfo::default(),
                message: String::new(),
            });
        }
        let Some(c) = &mut self.cur else {
            return;
        };
        match key {
            "TimeCreated" => c.ev.time = Some(value.to_string()),
            "ProviderName" => c.ev.provider = value.to_string(),
            "LogName" => c.ev.channel = Some(value.to_string()),
            "MachineName" => c.ev.computer = Some(value.to_string()),
            "Id" => c.ev.id = value.parse().unwrap_or(0),
            "LevelDisplayName" => c.ev.level = level(value),
            "Message" => c.message = value.to_string(),
            _ => {}
        }
    }
}

fn is_list_start(text: &str) -> bool {
    text.split_once(':').is_some_and(|(k, _)| {
        matches!(k.trim_end(), "TimeCreated" | "ProviderName") && !k.starts_with(' ')
    })
}

impl LineParser for TextParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        match &mut self.mode {
            Mode::Table { sep, cols } => {
                if !line.text.trim().is_empty() {
                    // Move the columns out of `mode` for the row (and back) instead of cloning per line.
                    let (sep, cols) = (*sep, std::mem::take(cols));
                    self.table_line(sep, &cols, &line, sink);
                    self.mode = Mode::Table { sep, cols };
                }
            }
            Mode::List { blank } => {
                if line.text.trim().is_empty() {
                    *blank = true;
                } else {
                    let b = std::mem::take(blank);
                    self.list_line(&line, b, sink);
                }
            }
            Mode::WinEvent => self.winevent_line(&line, sink),
            Mode::Plain => {
                if let Some(p) = group_provider(&line.text) {
                    self.plain.finish(sink);
                    self.provider = p.to_string();
                } else if is_winevent_header(&line.text) {
                    self.plain.finish(sink);
                    self.mode = Mode::WinEvent;
                } else if let Some((sep, cols)) = table_header(&line.text) {
                    self.plain.finish(sink);
                    self.mode = Mode::Table { sep, cols };
                } else if is_list_start(&line.text) {
                    // The plain lines above end where the list starts.
                    self.plain.finish(sink);
                    self.mode = Mode::List { blank: false };
                    self.list_line(&line, true, sink);
                } else {
                    self.plain.line(line, sink);
                }
            }
        }
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        self.plain.finish(sink);
        self.flush(sink);
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::{Fact, Level, LogKind, parse_str};

    fn ids(recs: &[crate::parse::Record]) -> Vec<(String, u32, u64)> {
        recs.iter()
            .filter_map(|r| match &r.fact {
                Some(Fact::Event { provider, id, .. }) => Some((provider.clone(), *id, r.line)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn event_viewer_tab_export() {
        let text = "Level\tDate and Time\tSource\tEvent ID\tTask Category\n\
Error\t2/14/2024 10:01:02 AM\tMicrosoft-Windows-WindowsUpdateClient\t20\tWindows Update Agent\tInstallation Failure: Windows failed to install the following update with error 0x800F0922: 2024-02 Cumulative Update (KB5034763).\n\
Information\t2/14/2024 10:02:00 AM\tService Control Manager\t7040\tNone\t\"The start type of the Windows Management Instrumentation service was changed from auto start to disabled.\n\
Second line of the description.\"\n";
        let recs = parse_str(LogKind::Text, text);
        assert_eq!(recs.len(), 2);
        assert_eq!(
            ids(&recs),
            vec![
                ("Microsoft-Windows-WindowsUpdateClient".into(), 20, 2),
                ("Service Control Manager".into(), 7040, 3)
            ]
        );
        assert_eq!(recs[0].level, Level::Error);
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        assert_eq!(recs[0].time.as_deref(), Some("2/14/2024 10:01:02 AM"));
        assert!(
            matches!(&recs[1].fact, Some(Fact::Event { data, .. }) if data["service"] == "Winmgmt")
        );
    }

    #[test]
    fn chinese_csv_export() {
        let text = "级别,日期和时间,来源,事件 ID,任务类别\n错误,2024/2/14 10:01:02,Microsoft-Windows-Servicing,3,无,\"无法将程序包 KB5034763 更改为 Installed 状态。状态: 0x800f0922。\"\n";
        let recs = parse_str(LogKind::Text, text);
        assert_eq!(
            ids(&recs),
            vec![("Microsoft-Windows-Servicing".into(), 3, 2)]
        );
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        assert_eq!(recs[0].level, Level::Error);
        assert!(
            matches!(&recs[0].fact, Some(Fact::Event { data, .. }) if data["kb"] == "KB5034763")
        );
    }

    #[test]
    fn get_winevent_format_list() {
        let text = "\n\nTimeCreated  : 2/14/2024 10:01:02 AM\nProviderName : Microsoft-Windows-WindowsUpdateClient\nId           : 20\nMessage      : Installation Failure: Windows failed to install the following update with error\n               0x800F0922: 2024-02 Cumulative Update (KB5034763).\n\nTimeCreated  : 2/14/2024 10:00:00 AM\nProviderName : Microsoft-Windows-WindowsUpdateClient\nId           : 43\nMessage      : Installation Started.\n";
        let recs = parse_str(LogKind::Text, text);
        assert_eq!(
            ids(&recs),
            vec![
                ("Microsoft-Windows-WindowsUpdateClient".into(), 20, 3),
                ("Microsoft-Windows-WindowsUpdateClient".into(), 43, 9)
            ]
        );
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        assert!(
            recs[0]
                .text
                .contains("0x800F0922: 2024-02 Cumulative Update")
        );
    }

    #[test]
    fn get_winevent_table() {
        let text = "\n\n   ProviderName: Microsoft-Windows-WindowsUpdateClient\n\nTimeCreated                      Id LevelDisplayName Message\n-----------                      -- ---------------- -------\n2/14/2024 10:01:02 AM            20 Error            Installation Failure: Windows failed to install the following update with error 0x800F0922: 2024-02 Cumulat...\n2/14/2024 9:58:10 AM             43 Information      Installation Started: Windows has started installing the following update: 2024-02 Cumul...\n\n   ProviderName: Service Control Manager\n\nTimeCreated                      Id LevelDisplayName Message\n-----------                      -- ---------------- -------\n2/14/2024 9:00:00 AM           7000 Error            The Windows Management Instrumentation service failed to start due to the following error: ...\n";
        let recs = parse_str(LogKind::Text, text);
        assert_eq!(
            ids(&recs),
            vec![
                ("Microsoft-Windows-WindowsUpdateClient".into(), 20, 7),
                ("Microsoft-Windows-WindowsUpdateClient".into(), 43, 8),
                ("Service Control Manager".into(), 7000, 14)
            ]
        );
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        assert_eq!(recs[0].level, Level::Error);
        assert_eq!(recs[0].time.as_deref(), Some("2/14/2024 10:01:02 AM"));
    }

    #[test]
    fn other_text_is_line_records() {
        let recs = parse_str(LogKind::Text, "hello\nFailed with error 0x80070005\n");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].codes, vec![0x80070005]);
        assert_eq!(recs[1].level, Level::Error);
    }
}
