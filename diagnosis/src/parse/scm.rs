//! Service Control Manager events: start-type changes (7040) are decoded into the event data
//! (`service`, `startType`), and the Win32 errors SCM reports as message text (7000/7001/7023/
//! 7024: "The service cannot be started, either because it is disabled …") or as `%%1058`
//! insertions become codes.
//!
//! A 7040 event is deliberately not a [`super::Fact::Service`]: a tool that edits the registry
//! leaves no 7040, so an old event must never override the start type of a services snapshot.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{StartType, hresult_from_win32};

/// Distinctive parts of Win32 error messages, English and Chinese (zh-CN), as SCM renders them.
const MESSAGES: &[(&str, u32)] = &[
    (
        "either because it is disabled or because it has no enabled devices",
        1058,
    ),
    ("已被禁用或与其相关联的设备没有启动", 1058),
    // ERROR_SERVICE_DISABLED as localised Windows builds render it: de as a German Windows prints
    // it (a public WSL error report), es from the Spanish Microsoft Learn system error codes page,
    // ru from a public program's copy of the Russian message table; fr and ja by the part their
    // published renderings share (the French one with either apostrophe).
    (
        "deaktiviert oder nicht mit aktivierten Geräten verbunden",
        1058,
    ),
    ("porque está deshabilitado o porque no tiene", 1058),
    (
        "поскольку она отключена или все связанные с ней устройства отключены",
        1058,
    ),
    ("il est désactivé", 1058),
    ("有効なデバイスが関連付けられていない", 1058),
    ("The dependency service or group failed to start", 1068),
    ("服务或组无法启动", 1068),
    (
        "did not respond to the start or control request in a timely fashion",
        1053,
    ),
    ("没有及时响应启动或控制请求", 1053),
    ("no more endpoints available from the endpoint mapper", 1753),
    ("终结点映射器中没有更多的终结点可用", 1753),
    (
        "The specified service does not exist as an installed service",
        1060,
    ),
    ("指定的服务未安装", 1060),
];

static INSERTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^%%(\d{1,5})$").expect("built-in regex is valid"));
static CHANGE_EN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"The start type of the (.+?) service was changed from (.+?) to (.+?)\.")
        .expect("built-in regex is valid")
});
static CHANGE_ZH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\S.*?)\s*服务的启动类型从\s*(.+?)\s*更改为\s*(.+?)\s*。")
        .expect("built-in regex is valid")
});

/// Service key names of display names that matter for servicing (en and zh-CN).
const DISPLAY: &[(&str, &str)] = &[
    ("Windows Management Instrumentation", "Winmgmt"),
    ("HTTP Service", "HTTP"),
    ("Windows Update", "wuauserv"),
    ("Background Intelligent Transfer Service", "BITS"),
    ("后台智能传送服务", "BITS"),
    ("Cryptographic Services", "CryptSvc"),
    ("加密服务", "CryptSvc"),
    ("Windows Modules Installer", "TrustedInstaller"),
    ("Container Manager Service", "CmService"),
    ("Task Scheduler", "Schedule"),
    ("Windows Event Log", "EventLog"),
    ("Update Orchestrator Service", "UsoSvc"),
    ("Remote Procedure Call (RPC)", "RpcSs"),
];

pub(super) fn is_scm(provider: &str) -> bool {
    provider == "Service Control Manager"
        || provider.eq_ignore_ascii_case("Service Control Manager")
}

/// Codes SCM states in words or as `%%n` insertions.
pub(super) fn scm_codes(text: &str, data: &BTreeMap<String, String>) -> Vec<u32> {
    let mut out = Vec::new();
    for (needle, win32) in MESSAGES {
        if text.contains(needle) {
            out.push(hresult_from_win32(*win32));
        }
    }
    for v in data.values() {
        if let Some(c) = INSERTION.captures(v.trim())
            && let Ok(n) = c[1].parse::<u32>()
        {
            out.push(hresult_from_win32(n));
        }
    }
    out
}

fn start_words(s: &str) -> Option<StartType> {
    let s = s.trim().to_ascii_lowercase();
    Some(match s.as_str() {
        "auto start" | "automatic" | "自动启动" | "自动" => StartType::Auto,
        "demand start" | "manual" | "按需启动" | "手动" => StartType::Manual,
        "disabled" | "已禁用" | "禁用" => StartType::Disabled,
        "boot start" | "引导启动" => StartType::Boot,
        "system start" | "系统启动" => StartType::System,
        _ => return None,
    })
}

fn key_name(display: &str) -> String {
    DISPLAY
        .iter()
        .find(|(d, _)| d.eq_ignore_ascii_case(display.trim()))
        .map_or_else(|| display.trim().to_string(), |(_, k)| (*k).to_string())
}

/// The name used for a start type in event data (as in the JSON output).
pub(super) fn start_name(start: StartType) -> &'static str {
    match start {
        StartType::Boot => "boot",
        StartType::System => "system",
        StartType::Auto => "auto",
        StartType::Manual => "manual",
        StartType::Disabled => "disabled",
    }
}

/// Event 7040's service and new start type: the key name from `param4` when the event data has
/// it (XML/evtx), else the display name from the message, mapped to its key name when known.
pub(super) fn start_change(
    id: u32,
    text: &str,
    data: &BTreeMap<String, String>,
) -> Option<(String, StartType)> {
    if id != 7040 {
        return None;
    }
    if let (Some(to), Some(name)) = (
        data.get("param3"),
        data.get("param4").or(data.get("param1")),
    ) && let Some(start) = start_words(to)
    {
        return Some((key_name(name), start));
    }
    let c = CHANGE_EN
        .captures(text)
        .or_else(|| CHANGE_ZH.captures(text))?;
    Some((key_name(&c[1]), start_words(&c[3])?))
}

#[cfg(test)]
mod tests {
    use crate::parse::{Fact, LogKind, Record, parse_str};

    fn change(r: &Record) -> (u32, Option<&str>, Option<&str>) {
        match &r.fact {
            Some(Fact::Event { id, data, .. }) => (
                *id,
                data.get("service").map(String::as_str),
                data.get("startType").map(String::as_str),
            ),
            other => panic!("not an event: {other:?}"),
        }
    }

    const SCM_TEXT: &str = "\
Event[0]:
  Log Name: System
  Source: Service Control Manager
  Date: 2024-02-14T10:24:58.100
  Event ID: 7001
  Level: Error
  Computer: PC-1
  Description: 
The HTTP Service service depends on the MsQuic service which failed to start because of the following error: 
The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.
Event[1]:
  Log Name: System
  Source: Service Control Manager
  Date: 2024-02-14T10:02:00.000
  Event ID: 7040
  Level: Information
  Computer: PC-1
  Description: The start type of the Windows Management Instrumentation service was changed from auto start to disabled.
事件[2]:
  日志名称: System
  来源: Service Control Manager
  事件 ID: 7040
  级别: 信息
  描述:
Background Intelligent Transfer Service 服务的启动类型从 自动启动 更改为 按需启动。
";

    #[test]
    fn scm_text_events() {
        let recs = parse_str(LogKind::EventText, SCM_TEXT);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].codes, vec![0x80070422]);
        assert!(matches!(recs[0].fact, Some(Fact::Event { id: 7001, .. })));
        assert_eq!(change(&recs[1]), (7040, Some("Winmgmt"), Some("disabled")));
        assert_eq!(change(&recs[2]), (7040, Some("BITS"), Some("manual")));
        assert!(!recs[1].text.contains("startType"), "text stays as logged");
    }

    #[test]
    fn scm_xml_events() {
        let xml = "<Event><System><Provider Name='Service Control Manager'/><EventID Qualifiers='16384'>7040</EventID><Level>4</Level><Channel>System</Channel></System><EventData><Data Name='param1'>Windows Management Instrumentation</Data><Data Name='param2'>auto start</Data><Data Name='param3'>disabled</Data><Data Name='param4'>Winmgmt</Data></EventData></Event>\n<Event><System><Provider Name='Service Control Manager'/><EventID Qualifiers='49152'>7000</EventID><Level>2</Level></System><EventData><Data Name='param1'>Windows Management Instrumentation</Data><Data Name='param2'>%%1058</Data></EventData></Event>";
        let recs = parse_str(LogKind::EventXml, xml);
        assert_eq!(recs.len(), 2);
        assert_eq!(change(&recs[0]), (7040, Some("Winmgmt"), Some("disabled")));
        assert_eq!(recs[1].codes, vec![0x80070422]);
    }

    #[test]
    fn other_providers_are_untouched() {
        let text = "Event[0]:\n  Source: Some App\n  Event ID: 7040\n  Description: The start type of the X service was changed from auto start to disabled.\n";
        let recs = parse_str(LogKind::EventText, text);
        assert_eq!(change(&recs[0]), (7040, None, None));
    }
}
