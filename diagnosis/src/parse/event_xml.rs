//! Event XML (`wevtutil qe … /f:xml`, Event Viewer "Save as XML", and the rendering of binary
//! `.evtx` records), parsed tolerantly by hand: the shape is fixed (`<System>`, `<EventData>`,
//! `<UserData>`), and a broken event must not stop the rest of the file.
//!
//! Events are found by scanning for `<Event` … `</Event>`, so one-line exports holding many
//! events and pretty-printed exports both work.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Line;
use super::{Fact, Level, LineParser, Record, extract_codes, kb_numbers, scm};

/// Longest event kept while waiting for `</Event>`; beyond it the partial event is dropped.
const MAX_EVENT_BYTES: usize = 4 << 20;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in regex is valid")
}

static PROVIDER: LazyLock<Regex> =
    LazyLock::new(|| re(r#"<Provider\s[^>]*?Name\s*=\s*['"]([^'"]*)['"]"#));
static EVENT_ID: LazyLock<Regex> = LazyLock::new(|| re(r"<EventID[^>]*>\s*(\d+)\s*</EventID>"));
static LEVEL: LazyLock<Regex> = LazyLock::new(|| re(r"<Level>\s*(\d+)\s*</Level>"));
static TIME: LazyLock<Regex> =
    LazyLock::new(|| re(r#"<TimeCreated\s[^>]*?SystemTime\s*=\s*['"]([^'"]*)['"]"#));
static CHANNEL: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<Channel>(.*?)</Channel>"));
static COMPUTER: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<Computer>(.*?)</Computer>"));
static MESSAGE: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<Message>(.*?)</Message>"));
static DATA: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?s)<Data(?:\s+Name\s*=\s*['"]([^'"]*)['"])?\s*(?:/>|>(.*?)</Data>)"#));
static LEAF: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?s)<([A-Za-z_][\w.-]*)(?:\s[^>]*)?>([^<]*)</([A-Za-z_][\w.-]*)>"));
static EVENT_START: LazyLock<Regex> = LazyLock::new(|| re(r"<Event[\s>]"));

/// The parts of one event the engine uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct EventInfo {
    pub provider: String,
    pub id: u32,
    pub level: Level,
    pub time: Option<String>,
    pub channel: Option<String>,
    pub computer: Option<String>,
    pub message: Option<String>,
    pub data: BTreeMap<String, String>,
}

/// `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&#39;`, `&nbsp;` and numeric references, as web pages
/// and XML escape log text.
pub(super) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|&e| e > 1 && e <= 10);
        let ch = end.and_then(|e| match &rest[1..e] {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            ent => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        });
        match (ch, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Undo XML escaping (`&amp;`, `&lt;`, numeric references), trimmed.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.trim().to_string();
    }
    decode_entities(s).trim().to_string()
}

fn first(re: &Regex, xml: &str) -> Option<String> {
    re.captures(xml)
        .and_then(|c| c.get(1))
        .map(|m| unescape(m.as_str()))
        .filter(|s| !s.is_empty())
}

fn section<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}"))?;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Named `<Data>` values (unnamed ones become `Data1`, `Data2`, …) and `<UserData>` leaves.
fn event_data(xml: &str) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    if let Some(ed) = section(xml, "EventData") {
        for (i, c) in DATA.captures_iter(ed).enumerate() {
            let key = c
                .get(1)
                .map_or_else(|| format!("Data{}", i + 1), |m| m.as_str().to_string());
            let value = c.get(2).map(|m| unescape(m.as_str())).unwrap_or_default();
            data.insert(key, value);
        }
    }
    if let Some(ud) = section(xml, "UserData") {
        for c in LEAF.captures_iter(ud) {
            if c[1] == c[3] {
                data.insert(c[1].to_string(), unescape(&c[2]));
            }
        }
    }
    data
}

/// Parse one `<Event>…</Event>`; `None` if it has no provider and no event id.
pub(super) fn parse_event_xml(xml: &str) -> Option<EventInfo> {
    let provider = first(&PROVIDER, xml);
    let id = first(&EVENT_ID, xml).and_then(|s| s.parse().ok());
    if provider.is_none() && id.is_none() {
        return None;
    }
    let level = match first(&LEVEL, xml).and_then(|s| s.parse::<u32>().ok()) {
        Some(1 | 2) => Level::Error,
        Some(3) => Level::Warning,
        _ => Level::Info,
    };
    Some(EventInfo {
        provider: provider.unwrap_or_default(),
        id: id.unwrap_or(0),
        level,
        time: first(&TIME, xml),
        channel: first(&CHANNEL, xml),
        computer: first(&COMPUTER, xml),
        message: first(&MESSAGE, xml),
        data: event_data(xml),
    })
}

/// The record of an event: text `Provider ID: message` plus `key: value` data lines; KB numbers
/// from titles and package identifiers are added to the data as `kb`, and a Service Control
/// Manager start-type change (7040) as `service` (key name) and `startType`.
pub(super) fn event_record(line: u64, ev: EventInfo) -> Record {
    let mut data = ev.data;
    let scm = scm::is_scm(&ev.provider);
    let mut text = format!("{} {}:", ev.provider, ev.id);
    if let Some(m) = &ev.message {
        text.push(' ');
        text.push_str(m);
    }
    for (k, v) in &data {
        text.push('\n');
        text.push_str(k);
        text.push_str(": ");
        text.push_str(v);
    }
    let kbs = kb_numbers(&text);
    if !kbs.is_empty() && !data.contains_key("kb") {
        let kb = kbs.join(",");
        text.push_str("\nkb: ");
        text.push_str(&kb);
        data.insert("kb".into(), kb);
    }
    // Decoded start-type changes go to the data only; the text stays as the log wrote it.
    if scm
        && let Some((name, start)) =
            scm::start_change(ev.id, ev.message.as_deref().unwrap_or(""), &data)
    {
        data.insert("service".into(), name);
        data.insert("startType".into(), scm::start_name(start).into());
    }
    let mut codes = extract_codes(&text);
    if scm {
        for c in scm::scm_codes(&text, &data) {
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
    }
    Record {
        line,
        time: ev.time,
        level: ev.level,
        component: Some(ev.provider.clone()),
        codes,
        text,
        fact: Some(Fact::Event {
            provider: ev.provider,
            id: ev.id,
            channel: ev.channel,
            computer: ev.computer,
            data,
        }),
        kind: None,
    }
}

/// Line-driven XML export parser.
pub(super) struct EventXmlParser {
    buf: String,
    start_line: u64,
}

impl EventXmlParser {
    pub(super) fn new() -> Self {
        EventXmlParser {
            buf: String::new(),
            start_line: 0,
        }
    }

    /// Emit every complete event in the buffer; keep the unfinished tail. Events after the
    /// first one drained start on `cur_line` (the line holding the first one's end).
    fn drain(&mut self, cur_line: u64, sink: &mut dyn FnMut(Record)) {
        loop {
            let Some(start) = EVENT_START.find(&self.buf).map(|m| m.start()) else {
                // Nothing starts an event: only a partial `<Even` tag at the end can matter.
                let mut keep = self.buf.len().saturating_sub(8);
                while !self.buf.is_char_boundary(keep) {
                    keep += 1;
                }
                self.buf.drain(..keep);
                return;
            };
            let Some(end) = self.buf[start..].find("</Event>").map(|e| e + start + 8) else {
                self.buf.drain(..start);
                if self.buf.len() > MAX_EVENT_BYTES {
                    self.buf.clear();
                }
                return;
            };
            if let Some(ev) = parse_event_xml(&self.buf[start..end]) {
                sink(event_record(self.start_line, ev));
            }
            self.buf.drain(..end);
            self.start_line = cur_line;
        }
    }
}

impl LineParser for EventXmlParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        if !EVENT_START.is_match(&self.buf) {
            self.start_line = line.no;
        }
        self.buf.push_str(&line.text);
        self.buf.push('\n');
        if line.text.contains("</Event>") || self.buf.len() > MAX_EVENT_BYTES {
            self.drain(line.no, sink);
        }
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        self.drain(self.start_line, sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{LogKind, parse_str};

    // Shape of a WindowsUpdateClient event 20 as exported by `wevtutil qe System /f:xml`
    // (fields per docs/windows-servicing.md §A.6; values written for this test).
    const WU20: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WindowsUpdateClient' Guid='{945a8954-c147-4acd-923f-40c45405a658}'/><EventID>20</EventID><Version>1</Version><Level>2</Level><Task>1</Task><TimeCreated SystemTime='2024-02-14T10:01:02.1234567Z'/><EventRecordID>4711</EventRecordID><Channel>System</Channel><Computer>DESKTOP-7Q1&amp;X</Computer></System><EventData><Data Name='errorCode'>0x800f0922</Data><Data Name='updateTitle'>2024-02 Cumulative Update for Windows 10 Version 22H2 for x64-based Systems (KB5034763)</Data><Data Name='updateGuid'>{12345678-1234-1234-1234-123456789abc}</Data><Data Name='updateRevisionNumber'>1</Data><Data Name='serviceGuid'>{7971f918-a847-4430-9279-4a52d1efe18d}</Data></EventData></Event>"#;

    const SERVICING: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Microsoft-Windows-Servicing" Guid="{BD12F3B8-FC40-4A61-A307-B7A013A069C1}" />
    <EventID>3</EventID>
    <Level>0</Level>
    <TimeCreated SystemTime="2024-02-14T10:05:00.000000000Z" />
    <Channel>Setup</Channel>
    <Computer>PC-2</Computer>
  </System>
  <UserData>
    <CbsPackageChangeState xmlns="http://manifests.microsoft.com/win/2004/08/windows/setup_provider">
      <PackageIdentifier>KB5027222</PackageIdentifier>
      <IntendedPackageState>5112</IntendedPackageState>
      <IntendedPackageStateTextized>Absent</IntendedPackageStateTextized>
      <ErrorCode>0x800f0922</ErrorCode>
      <Client>WindowsUpdateAgent</Client>
    </CbsPackageChangeState>
  </UserData>
</Event>"#;

    #[test]
    fn wu_event_20() {
        let recs = parse_str(LogKind::EventXml, WU20);
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.codes, vec![0x800f0922]);
        assert_eq!(r.time.as_deref(), Some("2024-02-14T10:01:02.1234567Z"));
        let Some(Fact::Event {
            provider,
            id,
            channel,
            computer,
            data,
        }) = &r.fact
        else {
            panic!("no event fact: {r:?}");
        };
        assert_eq!(provider, "Microsoft-Windows-WindowsUpdateClient");
        assert_eq!(*id, 20);
        assert_eq!(channel.as_deref(), Some("System"));
        assert_eq!(computer.as_deref(), Some("DESKTOP-7Q1&X"));
        assert_eq!(data["errorCode"], "0x800f0922");
        assert_eq!(data["kb"], "KB5034763");
    }

    #[test]
    fn servicing_userdata_pretty_printed() {
        let recs = parse_str(LogKind::EventXml, SERVICING);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].line, 1);
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        let Some(Fact::Event {
            id, channel, data, ..
        }) = &recs[0].fact
        else {
            panic!("no event fact");
        };
        assert_eq!(*id, 3);
        assert_eq!(channel.as_deref(), Some("Setup"));
        assert_eq!(data["PackageIdentifier"], "KB5027222");
        assert_eq!(data["IntendedPackageStateTextized"], "Absent");
        assert_eq!(data["kb"], "KB5027222");
    }

    #[test]
    fn several_events_lines_and_wrapper() {
        let text =
            format!("<?xml version=\"1.0\"?>\n<Events>\n{WU20}{WU20}\n{SERVICING}\n</Events>\n");
        let recs = parse_str(LogKind::EventXml, &text);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].line, 3);
        assert_eq!(recs[1].line, 3);
        assert_eq!(recs[2].line, 4);
    }

    #[test]
    fn broken_xml_is_tolerated() {
        let text = format!(
            "<Event><System><Provider Name='X'/>\nnot closed\n{WU20}\n<Event>garbage</Event>\n<Event><System>"
        );
        let recs = parse_str(LogKind::EventXml, &text);
        // The unclosed first event swallows up to the first `</Event>`: one event, not a panic.
        assert!(!recs.is_empty());
        assert!(
            recs.iter()
                .all(|r| matches!(r.fact, Some(Fact::Event { .. })))
        );
    }

    #[test]
    fn unescape_entities() {
        assert_eq!(
            unescape("a &lt;b&gt; &amp; &#x41;&#66; &bogus"),
            "a <b> & AB &bogus"
        );
    }
}
