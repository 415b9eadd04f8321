//! Kind detection from content: the first lines of a file are scored against the line grammar of
//! each log family, and the highest score wins. The file name only breaks ties, because
//! bundles arrive with renamed files (`log.txt`, `cbs (2).log`).

use crate::parse::{
    Grammar, LogKind, Norm, classify, component_kind, configmgr, is_event_text_header, normalise,
    setupapi,
};

use super::TextEncoding;
use super::encoding::{EVTX_MAGIC, decode_sample};

/// Bytes of the head decoded for kind detection.
const KIND_SAMPLE_BYTES: usize = 16 * 1024;
/// Lines of the head scored.
const KIND_SAMPLE_LINES: usize = 200;

/// Kinds in tie-break order when the name does not decide (most specific first: a CBS.log
/// never has `DISM` component lines, a DISM.log hosts CBS lines).
const ORDER: [LogKind; 9] = [
    LogKind::Dism,
    LogKind::Cbs,
    LogKind::Windowsupdate,
    LogKind::Setupapi,
    LogKind::EventText,
    LogKind::EventXml,
    LogKind::Services,
    LogKind::Panther,
    LogKind::Text,
];

/// Detect the kind of a file from its head (first bytes), its encoding and its name.
pub(crate) fn detect_kind(name: &str, head: &[u8], enc: TextEncoding) -> LogKind {
    if head.starts_with(EVTX_MAGIC) {
        return LogKind::Evtx;
    }
    if enc == TextEncoding::Binary {
        return LogKind::Text;
    }
    let sample = decode_sample(&head[..head.len().min(KIND_SAMPLE_BYTES)], enc);
    let mut scores = [0u32; ORDER.len()];
    let mut recognised = 0usize;
    for line in sample.lines().take(KIND_SAMPLE_LINES) {
        if let Some((kind, weight)) = score_line(line) {
            scores[index(kind)] += weight;
            recognised += 1;
        }
    }
    let best = scores.iter().copied().max().unwrap_or(0);
    let hint = kind_from_name(name);
    if is_fragment(&sample, best, recognised) {
        return LogKind::Fragment;
    }
    if let Some(hint) = hint.filter(|&h| scores[index(h)] == best) {
        return hint;
    }
    if best == 0 {
        return LogKind::Text;
    }
    ORDER
        .iter()
        .zip(scores)
        .find(|&(_, s)| s == best)
        .map_or(LogKind::Text, |(&k, _)| k)
}

/// A fragment: lines copied out of logs rather than a log file. Either no family recognises the
/// raw lines while the cleaned ones have a log grammar (timestamps stripped, quoted, fenced,
/// numbered), or a short text mixes families (a CBS line next to an event and a WU line).
/// `raw_best` and `recognised` are the whole-log scoring's best score and recognised lines.
fn is_fragment(sample: &str, raw_best: u32, recognised: usize) -> bool {
    let mut families = [0u32; 6];
    let mut lines = 0usize;
    let mut log_lines = 0usize;
    // Lines the cleaning changed: quoted, fenced, numbered or HTML-wrapped text.
    let mut marked = 0usize;
    for raw in sample.lines().take(KIND_SAMPLE_LINES) {
        let t = match normalise(raw) {
            Norm::Text(t) => t,
            Norm::Drop | Norm::Break => {
                marked += 1;
                continue;
            }
        };
        if t.trim() != raw.trim() {
            marked += 1;
        }
        if t.trim().is_empty() {
            continue;
        }
        lines += 1;
        let family = match classify(&t) {
            Grammar::Prefixed(_) | Grammar::Bare(_) | Grammar::Tail(_) => 0,
            Grammar::WindowsUpdate => 1,
            Grammar::EventText | Grammar::EventMessage => 2,
            Grammar::EventXml => 3,
            Grammar::Services => 4,
            Grammar::Setupapi => 5,
            Grammar::Continuation | Grammar::Other => continue,
        };
        families[family] += 1;
        log_lines += 1;
    }
    if log_lines == 0 {
        // Prose or an unknown log, quoted or fenced: read it cleaned of the markup.
        return raw_best == 0 && marked > 0;
    }
    if raw_best == 0 {
        return true;
    }
    // A whole log is one family from its first line; a paste of a few lines may mix them.
    let mixed = families.iter().filter(|&&n| n > 0).count() >= 2;
    mixed && lines < KIND_SAMPLE_LINES && !sample.contains("<Events>") || recognised * 2 < log_lines
}

fn index(kind: LogKind) -> usize {
    ORDER
        .iter()
        .position(|&k| k == kind)
        .unwrap_or(ORDER.len() - 1)
}

/// The kind a line is evidence for, with a weight (header-like lines weigh more).
fn score_line(raw: &str) -> Option<(LogKind, u32)> {
    let line = raw.trim_start_matches('\u{feff}');
    if let Some(component) = timestamp_component(line) {
        // SP, MOUPG, PANTHR, CONX, MIG, SYSPRP, IBS, … all come from setup (Panther).
        let kind = component_kind(component).unwrap_or(LogKind::Panther);
        // DISM.log also carries CBS/CSI lines of the sessions it hosts; its own lines decide.
        let weight = if kind == LogKind::Dism { 3 } else { 1 };
        return Some((kind, weight));
    }
    if line.starts_with("CSIPERF:") {
        return Some((LogKind::Cbs, 1));
    }
    if is_windowsupdate(line) || configmgr(line) {
        return Some((LogKind::Windowsupdate, 1));
    }
    if setupapi(line) {
        return Some((LogKind::Setupapi, 3));
    }
    if line.contains("<Events>") || line.contains("<Event xmlns=") {
        return Some((LogKind::EventXml, 3));
    }
    score_event_text(line).or_else(|| score_services(line))
}

/// Component of a CBS-family line: `2024-02-14 10:01:02, Info                  CBS    …`.
/// CBS.log, DISM.log and Panther setupact.log all share this layout.
fn timestamp_component(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    if b.len() < 21 || !shape(&b[..20], b"dddd-dd-dd dd:dd:dd,") {
        return None;
    }
    let mut words = line[20..].split_whitespace();
    let level = words.next()?;
    if !level.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    // Error lines may carry a tag between level and component: `Error      [0x01806a] CSI`.
    let word = words.next()?;
    if word.starts_with("[0x") && word.ends_with(']') {
        words.next()
    } else {
        Some(word)
    }
}

/// `d` matches an ASCII digit, any other byte itself.
fn shape(bytes: &[u8], pattern: &[u8]) -> bool {
    bytes.len() >= pattern.len()
        && pattern.iter().zip(bytes).all(|(&p, &b)| match p {
            b'd' => b.is_ascii_digit(),
            _ => p == b,
        })
}

/// Get-WindowsUpdateLog (`2022/05/21 18:46:43.8925713 8976  5116  Shared …`), the older
/// tab-separated WindowsUpdate.log (`2015-06-01\t10:26:46:374\t…`) and ReportingEvents.log
/// (`{GUID}\t2019-08-21 10:22:22:398+0800\t…`).
fn is_windowsupdate(line: &str) -> bool {
    let b = line.as_bytes();
    shape(b, b"dddd/dd/dd dd:dd:dd.d")
        || shape(b, b"dddd-dd-dd\tdd:dd:dd:ddd")
        // The same two with the separators a web page or a copy made: `2015-10-30 17:12:53:980
        // 880 1160 IdleTmr …`, `2021-09-02 20:56:37.3260259 26408 27196 DownloadManager …`.
        || ((shape(b, b"dddd-dd-dd dd:dd:dd:ddd ") || shape(b, b"dddd-dd-dd dd:dd:dd.ddddddd "))
            && line[24..]
                .split_whitespace()
                .next()
                .is_some_and(|w| w.bytes().all(|c| c.is_ascii_digit())))
        || (b.len() > 40
            && b[0] == b'{'
            && b[37] == b'}'
            && b[38] == b'\t'
            && b[39].is_ascii_digit())
}

/// `wevtutil qe … /f:text`: `Event[0]:` headers and indented `Log Name:` fields, in English
/// or Chinese (`事件[0]:`, `日志名称:`).
fn score_event_text(line: &str) -> Option<(LogKind, u32)> {
    if is_event_text_header(line) {
        return Some((LogKind::EventText, 3));
    }
    if !line.starts_with(' ') {
        return None;
    }
    const FIELDS: [&str; 10] = [
        "Log Name",
        "Source",
        "Event ID",
        "Level",
        "Date",
        "日志名称",
        "来源",
        "事件 ID",
        "级别",
        "日期",
    ];
    let field = line.trim_start().split([':', '：']).next()?;
    FIELDS
        .contains(&field.trim_end())
        .then_some((LogKind::EventText, 1))
}

/// `sc qc` / `sc query` blocks, `Get-Service` tables and `Format-List` output.
fn score_services(line: &str) -> Option<(LogKind, u32)> {
    let trimmed = line.trim();
    if trimmed.starts_with("SERVICE_NAME:") {
        return Some((LogKind::Services, 3));
    }
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let header = words.starts_with(&["Status", "Name", "DisplayName"])
        || (words.contains(&"Name")
            && (words.contains(&"StartType") || words.contains(&"StartMode")));
    if header {
        return Some((LogKind::Services, 3));
    }
    let key = trimmed.split(':').next().map(str::trim_end)?;
    let weight = match key {
        "START_TYPE" | "STATE" | "DISPLAY_NAME" | "BINARY_PATH_NAME" => 1,
        "StartType" | "StartMode" | "ServiceName" => 2,
        _ => return None,
    };
    trimmed.contains(':').then_some((LogKind::Services, weight))
}

/// The kind the file name suggests, used only to break ties.
/// The ConfigMgr client's software-update logs, read with the update agent's.
const CONFIGMGR_UPDATE_LOGS: [&str; 5] = [
    "wuahandler",
    "updatesdeployment",
    "updateshandler",
    "updatesstore",
    "scanagent",
];

fn kind_from_name(name: &str) -> Option<LogKind> {
    let file = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    // Only the Windows log names (`CBS.log`, `CbsPersist_….log`, `dism (2).log`), not notes.
    if !file.ends_with(".log") {
        return None;
    }
    let kind = if file.starts_with("cbs") {
        LogKind::Cbs
    } else if file.starts_with("dism") {
        LogKind::Dism
    } else if file.starts_with("windowsupdate")
        || file.starts_with("reportingevents")
        || CONFIGMGR_UPDATE_LOGS.iter().any(|l| file.starts_with(l))
    {
        LogKind::Windowsupdate
    } else if file.starts_with("setupapi") {
        LogKind::Setupapi
    } else if file.starts_with("setupact") || file.starts_with("setuperr") {
        LogKind::Panther
    } else {
        return None;
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, text: &str) -> LogKind {
        detect_kind(name, text.as_bytes(), TextEncoding::Utf8)
    }

    const CBS: &str = "2024-02-14 10:01:02, Info                  CBS    Loaded Servicing Stack v10.0.19041.4163\r\n\
2024-02-14 10:01:03, Info                  CSI    00000001@2024/2/14:10:01:03.123 WcpInitialize\r\n";

    #[test]
    fn cbs_is_detected_from_content_whatever_the_name() {
        assert_eq!(kind("log.txt", CBS), LogKind::Cbs);
        assert_eq!(kind("cbs (2).log", CBS), LogKind::Cbs);
        assert_eq!(
            kind("CBS.log", ""),
            LogKind::Cbs,
            "name breaks the all-zero tie"
        );
        assert_eq!(kind("notes.txt", ""), LogKind::Text);
        assert_eq!(kind("cbs notes.txt", "what I tried\n"), LogKind::Text);
        assert_eq!(kind("CbsPersist_20240214.log", ""), LogKind::Cbs);
    }

    #[test]
    fn error_tags_and_collapsed_padding_still_read_as_cbs() {
        // Line shapes from docs/windows-servicing.md §A.1 (published Microsoft samples).
        let text = "2026-10-08 20:55:05, Error      [0x01806a] CSI    0000004b (F) Failed execution of queue item\n\
2016-09-28 04:30:31, Info CBS Session: 30546173_4261722401 initialized by client WindowsUpdateAgent.\n";
        assert_eq!(kind("x.txt", text), LogKind::Cbs);
    }

    #[test]
    fn dism_log_with_hosted_cbs_lines_is_dism() {
        let text = "2022-11-18 10:51:27, Info                  DISM   DISM.EXE: <----- Starting Dism.exe session ----->\n\
2022-11-18 10:51:28, Info                  CBS    Session: 1_2 initialized by client DISM Package Manager Provider\n\
2022-11-18 10:51:28, Info                  CBS    Loaded Servicing Stack\n\
2022-11-18 10:51:28, Info                  CSI    00000001 WcpInitialize\n";
        assert_eq!(kind("x.txt", text), LogKind::Dism);
    }

    #[test]
    fn dism_and_panther_share_the_layout_but_not_the_component() {
        let dism =
            "2024-02-14 10:01:02, Info                  DISM   DISM.EXE: Executing command line\n";
        assert_eq!(kind("x.log", dism), LogKind::Dism);
        let panther = "2024-02-14 10:01:02, Info                  SP     Setup phase\n\
2024-02-14 10:01:02, Info                  MOUPG  Starting\n";
        assert_eq!(kind("x.log", panther), LogKind::Panther);
    }

    #[test]
    fn windowsupdate_formats() {
        let etl =
            "2022/05/21 18:46:43.8925713 8976  5116  Shared          * START *   Service startup\n";
        assert_eq!(kind("wu.txt", etl), LogKind::Windowsupdate);
        let re = "{6E8B1E1C-8F1E-4F55-9A07-3C8B5A8A0C11}\t2019-08-21 10:22:22:398+0800\t1\t147 [AGENT]\n";
        assert_eq!(kind("re.log", re), LogKind::Windowsupdate);
    }

    #[test]
    fn configmgr_update_logs_read_as_windows_update() {
        // Both layouts of the ConfigMgr client's logs; lines written for this test.
        let cmtrace = "<![LOG[Async searching of updates using WUAgent started.]LOG]!><time=\"08:30:05.118-060\" date=\"11-06-2025\" component=\"WUAHandler\" context=\"\" type=\"1\" thread=\"3344\" file=\"cwuahandler.cpp:3960\">\n";
        assert_eq!(kind("log.txt", cmtrace), LogKind::Windowsupdate);
        let trailer = "Its a WSUS Update Source type ({3DA21691-E39D-4DA6-8A4B-B43877BCB1B7}), adding it.  $$<WUAHandler><11-04-2025 09:14:02.417-060><thread=4112 (0x1010)>\n";
        assert_eq!(kind("log.txt", trailer), LogKind::Windowsupdate);
        assert_eq!(kind("wuahandler.log", cmtrace), LogKind::Windowsupdate);
    }

    #[test]
    fn setupapi_and_event_xml() {
        let sa = "[Device Install Log]\n[Boot Session: 2024/02/14 10:00:00.500]\n>>>  [Device Install (Hardware initiated) - USB]\n";
        assert_eq!(kind("a.log", sa), LogKind::Setupapi);
        let xml = "<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>";
        assert_eq!(kind("a.txt", xml), LogKind::EventXml);
    }

    #[test]
    fn event_text_in_english_and_chinese() {
        let en =
            "Event[0]:\n  Log Name: System\n  Source: Service Control Manager\n  Event ID: 7000\n";
        assert_eq!(kind("system.txt", en), LogKind::EventText);
        let zh = "事件[0]:\n  日志名称: System\n  来源: Service Control Manager\n  事件 ID: 7000\n";
        assert_eq!(kind("system.txt", zh), LogKind::EventText);
    }

    #[test]
    fn services_outputs() {
        let qc = "[SC] QueryServiceConfig SUCCESS\n\nSERVICE_NAME: winmgmt\n        TYPE               : 20  WIN32_SHARE_PROCESS\n        START_TYPE         : 4   DISABLED\n";
        assert_eq!(kind("out.txt", qc), LogKind::Services);
        let table = "\nStatus   Name               DisplayName\n------   ----               -----------\nStopped  Winmgmt            Windows Management Instrumentation\n";
        assert_eq!(kind("svc.txt", table), LogKind::Services);
        let cim =
            "Name     StartMode State\n----     --------- -----\nWinmgmt  Disabled  Stopped\n";
        assert_eq!(kind("svc.txt", cim), LogKind::Services);
        let list = "Name      : Winmgmt\nStartType : Disabled\n";
        assert_eq!(kind("svc.txt", list), LogKind::Services);
    }

    #[test]
    fn plain_text_and_evtx_magic() {
        assert_eq!(kind("readme.txt", "hello\nworld\n"), LogKind::Text);
        assert_eq!(
            detect_kind("x.bin", b"ElfFile\0\0\0", TextEncoding::Binary),
            LogKind::Evtx
        );
    }
}
