//! Line grammars of the Windows servicing logs, for lines that may have lost their context:
//! which family a single cleaned line belongs to (CBS/CSI/DISM/Panther with or without the
//! timestamp and level, WindowsUpdate.log in its three layouts, setupapi, event text and XML,
//! `sc` output, localised event messages standing alone). The fragment reader routes lines by
//! it, and kind detection shares its component and setupapi grammar.

use std::sync::LazyLock;

use regex::Regex;

use super::LogKind;
use super::event_text::event_label;

/// The grammar a cleaned line matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    /// A CBS-family record start (`[time,] Level [tag] Component message`), with the kind its
    /// component belongs to (`cbs`, `dism`, `panther`).
    Prefixed(LogKind),
    /// A CBS/CSI or DISM message whose prefix was cut off: `[HRESULT = …]`, `(F)`,
    /// `HRESULT_FROM_WIN32(…)`, a CSI sequence number, a DISM `PID=… TID=…` / `(hr:0x…)`.
    Bare(LogKind),
    /// A CBS continuation that may stand at column 0 (`CSIPERF:`).
    Continuation,
    /// A WindowsUpdate.log / ReportingEvents line, with or without its timestamp.
    WindowsUpdate,
    /// `setupapi.dev.log` lines.
    Setupapi,
    /// A line carrying CBS/CSI notation that starts mid-sentence: the wrapped tail of the line
    /// above, or a bare message when nothing is above it.
    Tail(LogKind),
    /// `Event[0]:` or an event field label (`Log Name:`, `Quelle:`, `ソース:` …).
    EventText,
    /// An event-log message sentence on its own (localised too).
    EventMessage,
    /// Event XML.
    EventXml,
    /// `sc qc` / `Get-Service` output.
    Services,
    /// Prose, or a line of a record above.
    Other,
}

impl Grammar {
    /// True for every grammar of a log family (what makes a text a fragment worth reading).
    pub(crate) fn is_log(self) -> bool {
        !matches!(self, Grammar::Other | Grammar::Continuation)
    }
}

const CBS_COMPONENTS: [&str; 7] = ["CBS", "CSI", "DISM", "TI", "DPX", "SQM", "CMIADAPTER"];
/// Windows Setup (Panther) components, trusted without a timestamp.
const PANTHER_COMPONENTS: [&str; 9] = [
    "SP",
    "MOUPG",
    "PANTHR",
    "CONX",
    "MIG",
    "SYSPRP",
    "IBS",
    "SETUPPLAT",
    "DU",
];
const WU_COMPONENTS: [&str; 27] = [
    "Agent",
    "AUClnt",
    "CDM",
    "DtaStor",
    "Driver",
    "OfflSnc",
    "Shutdwn",
    "CltUI",
    "AU",
    "Handler",
    "Misc",
    "PT",
    "Report",
    "DnldMgr",
    "Setup",
    "ComApi",
    "Shared",
    "IdleTmr",
    "DataStore",
    "SLS",
    "ProtocolTalker",
    "DownloadManager",
    "EEHandler",
    "Deployment",
    "UpdateAgent",
    "SoftwareSynchronization",
    "WuTask",
];

fn level_word(w: &str) -> bool {
    matches!(
        w.trim_end_matches(','),
        "Info" | "Perf" | "Verbose" | "Warning" | "Error" | "Critical" | "Fatal"
    )
}

fn is_timestamp(b: &[u8]) -> bool {
    b.len() >= 19
        && b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-' || *c == b'/',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Component word → kind of a CBS-family line.
pub(crate) fn component_kind(word: &str) -> Option<LogKind> {
    if CBS_COMPONENTS.contains(&word) {
        return Some(if word == "DISM" {
            LogKind::Dism
        } else {
            LogKind::Cbs
        });
    }
    let upper = word.len() >= 2
        && word.len() <= 8
        && word
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    upper.then_some(LogKind::Panther)
}

/// A timestamp cut down to its time (`27:08, Error SP …`, `10:01:02, Info CBS …`) or replaced
/// by a placeholder (`<DateTime>, Error CSI …`, `YYYY-MM-DD HH:MM:SS, Info CBS …`, as support
/// articles publish lines): the rest.
pub(crate) fn partial_time(line: &str) -> Option<&str> {
    let line = line.trim_start();
    // Cheap first-byte test: this runs on every continuation line of a CBS.log.
    if !line.starts_with(|c: char| c.is_ascii_digit() || c == '<' || c == 'Y') {
        return None;
    }
    let (time, rest) = line.split_once(", ")?;
    let cut = (4..=8).contains(&time.len())
        && time.contains(':')
        && time.bytes().all(|c| c.is_ascii_digit() || c == b':');
    // `<DateTime>`, `<date> <time>`
    let placeholder = time.len() <= 32
        && time.split_whitespace().count() <= 3
        && time.split_whitespace().all(|w| {
            w.len() > 2
                && w.starts_with('<')
                && w.ends_with('>')
                && w[1..w.len() - 1]
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        });
    // `YYYY-MM-DD HH:MM:SS`
    let pattern = (8..=26).contains(&time.len())
        && time.contains("HH")
        && time.bytes().all(|c| b"YMDHSmsf-/:. ".contains(&c));
    (cut || placeholder || pattern).then_some(rest.trim_start())
}

/// A prefixed line whose level column was cut off with its timestamp (`CBS    Failed …`).
pub(crate) fn level_cut(line: &str) -> bool {
    let t = line.trim_start();
    !is_timestamp(t.as_bytes())
        && partial_time(t).is_none()
        && t.split_whitespace().next().is_some_and(|w| !level_word(w))
}

/// `[time,] Level [tag] Component …` → the component's kind.
fn prefixed(line: &str) -> Option<LogKind> {
    let line = line.trim_start();
    let b = line.as_bytes();
    let (stamped, rest) = if is_timestamp(b) {
        (true, line[19..].trim_start_matches(',').trim_start())
    } else if let Some(rest) = partial_time(line) {
        (true, rest)
    } else {
        (false, line)
    };
    let mut words = rest.split_whitespace();
    let first = words.next()?;
    if !level_word(first) {
        // `CBS    Failed …`: level cut off as well.
        return (!stamped)
            .then(|| CBS_COMPONENTS.contains(&first).then_some(()))
            .flatten()
            .and_then(|()| component_kind(first))
            .filter(|_| words.next().is_some());
    }
    let mut comp = words.next()?;
    if comp.starts_with("[0x") || comp.starts_with("[HRESULT") {
        comp = words.next()?;
    }
    match component_kind(comp) {
        Some(k) if stamped || k != LogKind::Panther || PANTHER_COMPONENTS.contains(&comp) => {
            Some(k)
        }
        // Without a timestamp only the servicing components are trusted: `Error FOO bar` is prose.
        _ => stamped.then_some(LogKind::Cbs),
    }
}

/// How CBS and CSI messages begin once their timestamp, level and component are cut off: the
/// servicing stack's subsystem tags (`Exec:`, `Shtd:` …) and the wording of its failure and
/// verdict lines (docs/windows-servicing.md §A.1, §A.2).
const CBS_MESSAGE_STARTS: [&str; 30] = [
    "Exec:",
    "SQM:",
    "TI:",
    "Startup:",
    "Shtd:",
    "Appl:",
    "Plan:",
    "Perf:",
    "Session:",
    "Doqe:",
    "Mnfst:",
    "Pkgmgr:",
    "WER:",
    "Failed to ",
    "Failed uninstalling ",
    "Failed while processing ",
    "Failed execution of queue item",
    "Store corruption",
    "Mark store corruption",
    "Attempting to mark store corrupt",
    "Pending transaction content",
    "Rolling back KTM",
    "RegisterTask failed",
    "Reporting package change completion",
    "Setting ExecuteState key",
    "Setting original failure status",
    "Finished running all AIs",
    "==Error Summary",
    "Progress: UI message",
    // SFC's own lines in CBS.log
    "[SR] ",
];

/// A CBS/CSI/DISM message without its prefix: the grammar, and whether the line starts like a
/// message (`Exec:`, `(F)`, a CSI sequence number) rather than carrying notation mid-sentence.
fn bare(line: &str) -> Option<(LogKind, bool)> {
    let t = line.trim_start();
    if dism_console(t) {
        return Some((LogKind::Dism, true));
    }
    if t.starts_with("DISM ") || t.starts_with("DISM.EXE:") || t.starts_with("DISM Package Manager")
    {
        return Some((LogKind::Dism, true));
    }
    if t.contains("(hr:0x") || t.contains("HRESULT=") || (t.contains("PID=") && t.contains("TID="))
    {
        return Some((LogKind::Dism, false));
    }
    let csi_seq = t.len() > 9
        && t.as_bytes()[..8].iter().all(u8::is_ascii_hexdigit)
        && matches!(t.as_bytes()[8], b' ' | b'@');
    let strong = csi_seq
        || t.starts_with("(F)")
        || CBS_MESSAGE_STARTS.iter().any(|s| t.starts_with(s))
        // mofcomp output that advanced installers write into CBS.log
        || (t.contains(".mof") && t.contains("error SYNTAX"));
    let weak = t.contains("[HRESULT = ")
        || t.contains("[HRESULT=")
        || t.contains("HRESULT_FROM_WIN32(")
        || t.contains("NTSTATUS_FROM_WIN32(")
        || t.contains("Failed execution of queue item")
        || t.contains("CBS_E_")
        || t.contains("PSFX_E_");
    (strong || weak).then_some((LogKind::Cbs, strong))
}

/// The DISM console's banner in the languages of its message tables.
const DISM_BANNERS: [&str; 6] = [
    "Deployment Image Servicing and Management tool",
    "Tool zur Abbildverwaltung für die Bereitstellung",
    "Outil Gestion et maintenance des images de déploiement",
    "Herramienta Administración y mantenimiento de imágenes de implementación",
    "展開イメージのサービスと管理",
    "部署映像服务和管理",
];

/// The word the DISM console puts before its result code, per language.
/// `hresult::CODE_PATTERN` reads the same words before a Win32 number.
const DISM_ERROR_WORDS: [&str; 14] = [
    "Error",
    "Fehler",
    "Erreur",
    "Errore",
    "Fout",
    "Błąd",
    "Ошибка",
    "Chyba",
    "Hata",
    "Erro",
    "エラー",
    "错误",
    "錯誤",
    "오류",
];

/// The DISM console's own lines, as people paste a failed `DISM /Online …` run: its banner, and
/// its result line (`Error: 0x800f081f`, `Error: 3017`, `Fehler: 0x800f0915`, `错误: 87`)
/// standing alone.
pub(crate) fn dism_console(t: &str) -> bool {
    DISM_BANNERS.iter().any(|b| t.starts_with(b))
        || t.starts_with("The DISM log file can be found at")
        || dism_result(t)
}

/// The DISM console's result line alone (see [`dism_console`]).
pub(crate) fn dism_result(t: &str) -> bool {
    let Some(rest) = DISM_ERROR_WORDS.iter().find_map(|w| t.strip_prefix(w)) else {
        return false;
    };
    let Some(code) = rest.trim_start().strip_prefix([':', '：']) else {
        return false;
    };
    let code = code.trim();
    match code.strip_prefix("0x").or_else(|| code.strip_prefix("0X")) {
        Some(hex) => hex.len() == 8 && hex.bytes().all(|c| c.is_ascii_hexdigit()),
        None => (1..=5).contains(&code.len()) && code.bytes().all(|c| c.is_ascii_digit()),
    }
}

/// A line of a ConfigMgr client log (WUAHandler.log, UpdatesDeployment.log, ScanAgent.log …):
/// CMTrace's layout (`<![LOG[message]LOG]!><time="…" date="…" component="WUAHandler" …>`) or
/// the older one (`message  $$<WUAHandler><06-15-2022 10:01:02.123+000><thread=1234 (0x4D2)>`).
pub(crate) fn configmgr(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("<![LOG[")
        || t.find("$$<").is_some_and(|i| {
            t[i + 3..]
                .split_once("><")
                .is_some_and(|(component, _)| !component.is_empty() && !component.contains(' '))
        })
}

/// Windows Update messages of the ConfigMgr client and the update agent as a log viewer shows
/// them, the message column alone (what people copy out of CMTrace): line starts.
const WU_MESSAGE_STARTS: [&str; 15] = [
    "FATAL: CBS called Error",
    "FATAL: UH: ",
    "OnSearchComplete - ",
    "Scan failed with error",
    "Failed to download updates to the WUAgent datastore",
    "Failed to Add Update Source for WUAgent",
    "Async searching of updates using WUAgent",
    "Async installation of updates",
    "Unexpected HRESULT for downloading complete",
    "CScanJob::",
    "Job error (0x",
    "Copy update to cache failed",
    "ISusInternal::",
    "Hash check on file",
    "WinVerifyTrust",
];

/// The same, anywhere in the line (`Error: 0x800b0101 when verifying trust for C:\…`).
/// ReportingEvents.log's event tags (`[AGENT_INSTALLING_FAILED]`) mark its lines even when the
/// GUID and time columns in front were cut off or replaced.
const WU_MESSAGE_PARTS: [&str; 3] = [" when verifying trust for ", "CopyUpdateToCache", "[AGENT_"];

/// True when a line starts a Windows Update record by its wording or layout alone.
pub(crate) fn wu_record_start(line: &str) -> bool {
    configmgr(line) || wu_message(line) || wu_ids_component(line)
}

/// `4744 4120 Misc *FAILED* …`: a WindowsUpdate.log line whose timestamp was cut off, still led
/// by its process and thread ids (decimal in the ETW-era log, hex in the older one) and its
/// component.
fn wu_ids_component(line: &str) -> bool {
    ids_then_component(line.split_whitespace())
}

/// A process id, a thread id, then a WindowsUpdate component.
fn ids_then_component<'a>(mut words: impl Iterator<Item = &'a str>) -> bool {
    words.next().is_some_and(wu_id)
        && words.next().is_some_and(wu_id)
        && words
            .next()
            .is_some_and(|c| WU_COMPONENTS.contains(&c) || matches!(c, "WS" | "WIL" | "Reporter"))
}

/// A process or thread id: decimal in the ETW-era log, hex in the older one (`1676 117c`).
fn wu_id(w: &str) -> bool {
    !w.is_empty() && w.len() <= 8 && w.bytes().all(|c| c.is_ascii_hexdigit())
}

fn wu_message(line: &str) -> bool {
    let t = line.trim_start();
    WU_MESSAGE_STARTS.iter().any(|s| t.starts_with(s))
        || WU_MESSAGE_PARTS.iter().any(|s| t.contains(s))
        || wu_ui_failure(t)
}

/// How the Windows Update page of Settings and its update history show a failed update, the
/// text people copy most often: `Install error - 0x800f0922`, `Download error - 0x80248007`,
/// `Failed to install on 1/9/2024 - 0x80070643`, `… (KB5034441) - Error 0x80070643`, and the
/// page's banners that end in the code (`There were some problems installing updates, but we'll
/// try again later. … (0x800f0922)`, `Some update files are missing or have problems. … Error
/// code: (0x80073712)`).
const WU_UI_STARTS: [&str; 9] = [
    "Install error - 0x",
    "Installation error - 0x",
    "Download error - 0x",
    "Failed to install on ",
    "There were some problems installing updates",
    "There were problems installing some updates",
    "Some update files are missing or have problems",
    "We couldn't install this update",
    "We couldn\u{2019}t install this update",
];

/// True for a line of the Windows Update page that reports a failure with its code.
pub(crate) fn wu_ui_failure(line: &str) -> bool {
    let t = line.trim_start();
    (t.contains("0x") || t.contains("0X"))
        && (WU_UI_STARTS.iter().any(|s| t.starts_with(s))
            || (t.contains(") - Error 0x") && t.contains("(KB")))
}

/// `2022/05/21 18:46:43.8925713 8976  5116  Handler …`, the tab-separated forms, the same
/// lines with the timestamp and ids cut off (`Handler FATAL: CBS called Error with 0x800f0831`),
/// and the ConfigMgr client's update logs.
fn windowsupdate(line: &str) -> bool {
    if wu_record_start(line) {
        return true;
    }
    let b = line.as_bytes();
    let stamped = b.len() > 21
        && b[4] == b'/'
        && b[7] == b'/'
        && b[..4].iter().all(u8::is_ascii_digit)
        && line[10..].starts_with(' ')
        && line[11..]
            .split_whitespace()
            .next()
            .is_some_and(|w| w.len() >= 8 && w.as_bytes()[2] == b':' && w.as_bytes()[5] == b':');
    let tabbed = line.split('\t').count() >= 4
        && b.len() > 10
        && (b[..4].iter().all(u8::is_ascii_digit) || b[0] == b'{');
    if stamped || tabbed {
        return true;
    }
    let mut words = line.split_whitespace().peekable();
    // `2015-10-30 17:12:53:980 880 1160 IdleTmr …` and `4744 4120 Misc *FAILED* …`: the time
    // (if any), then process and thread ids before the component.
    if b.len() > 24 && b[4] == b'-' && b[10] == b' ' && b[13] == b':' {
        words.next();
        words.next();
    }
    if words.peek().is_some_and(|w| wu_id(w)) {
        return ids_then_component(words);
    }
    let Some(first) = words.next() else {
        return false;
    };
    WU_COMPONENTS.contains(&first)
        && words.next().is_some_and(|w| {
            w.starts_with('*')
                || w.ends_with(':')
                || w.starts_with("FATAL")
                || w.starts_with("WARNING")
                || w.starts_with("ERROR")
        })
}

pub(crate) fn setupapi(line: &str) -> bool {
    let t = line.trim_start();
    [
        ">>>  [",
        "<<<  [",
        ">>> [",
        "<<< [",
        "[Boot Session:",
        "[Device Install Log]",
    ]
    .iter()
    .any(|p| t.starts_with(p))
        || ((t.starts_with("!!!  ") || t.starts_with("dvi: ") || t.starts_with("sto: "))
            && line.starts_with(' '))
        || setupapi_body(line)
}

/// setupapi's category tags (`dvi:` device install, `sig:` signature checks, …).
const SETUPAPI_TAGS: [&str; 18] = [
    "bak", "cci", "cmi", "cpy", "dev", "dvi", "dvs", "flq", "idb", "inf", "ndv", "pol", "set",
    "sig", "sto", "sys", "ump", "utl",
];

/// A setupapi section's body line: its marker column (`!!!` an error, `!` a warning, or blank)
/// and a category tag (`!    sig:  Verifying file …`, `!!!  dvi:  …`), however a paste
/// collapsed the spaces between them or turned them into tabs.
fn setupapi_body(line: &str) -> bool {
    let pad = |c: char| c == ' ' || c == '\t';
    let rest = if let Some(rest) = line.strip_prefix("!!!").or_else(|| line.strip_prefix('!')) {
        rest
    } else if line.starts_with("     ") || line.starts_with('\t') {
        line
    } else {
        return false;
    };
    let tag = rest.trim_start_matches(pad);
    if tag.len() == rest.len() {
        return false;
    }
    let b = tag.as_bytes();
    b.len() > 5
        && SETUPAPI_TAGS.iter().any(|t| b.starts_with(t.as_bytes()))
        && b[3] == b':'
        && matches!(b[4], b' ' | b'\t')
}

fn services(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with("SERVICE_NAME:") {
        return true;
    }
    if let Some(rest) = t.strip_prefix("[SC] ") {
        // `[SC] OpenService FAILED 1060:` is an error message, read as a line of its own.
        return !rest.chars().any(|c| c.is_ascii_digit());
    }
    let key = t.split(':').next().unwrap_or("").trim();
    t.contains(':')
        && matches!(
            key,
            "START_TYPE" | "DISPLAY_NAME" | "BINARY_PATH_NAME" | "StartType" | "StartMode"
        )
}

/// Event messages that identify their event on their own: provider, id and level, with every
/// language seen in the localised Windows builds' message tables.
pub(super) struct MessageTemplate {
    pub provider: &'static str,
    pub id: u32,
    starts: &'static [&'static str],
}

const MESSAGES: [MessageTemplate; 2] = [
    MessageTemplate {
        provider: "Microsoft-Windows-WindowsUpdateClient",
        id: 20,
        starts: &[
            "Installation Failure: Windows failed to install the following update",
            "安装失败: Windows 无法安装以下更新",
            "安装失败：Windows 无法安装以下更新",
            "Installationsfehler: Windows konnte das folgende Update",
            "インストール エラー: 次の更新プログラムのインストール",
            "インストール エラー：次の更新プログラムのインストール",
            "Échec de l'installation : Windows n'a pas pu installer",
            "Échec de l’installation : Windows n’a pas pu installer",
            "Error de instalación: Windows no pudo instalar",
            "Сбой установки: Windows не удалось установить",
            "Ошибка установки: Windows не удалось установить",
        ],
    },
    MessageTemplate {
        provider: "Microsoft-Windows-WUSA",
        id: 3,
        starts: &[
            "Windows update \"",
            "Windows update KB",
            "Windows-Update \"",
        ],
    },
];

/// The provider and id of an event message standing alone: one of [`MESSAGES`], or a message
/// recognised by its shape in any language (see [`shaped_message`]).
pub(super) fn event_message(line: &str) -> Option<(&'static str, u32)> {
    let t = line.trim_start();
    MESSAGES
        .iter()
        .find(|m| {
            (m.starts.iter().any(|s| t.starts_with(s)) || table_row(t, m))
                && (m.id == 20 || says_failed(t))
        })
        .map(|m| (m.provider, m.id))
        .or_else(|| shaped_message(t))
}

/// Does the message of a Servicing or WUSA event say that it failed (the same events also
/// report success): a code, or the failure word of its English and German wording.
fn says_failed(t: &str) -> bool {
    t.contains("0x")
        || t.contains("failed")
        || t.contains("fehl")
        || !super::extract_codes(t).is_empty()
}

const SCM: &str = "Service Control Manager";

/// Service Control Manager's failure messages as the Event Viewer shows them (en, de, fr, es, zh,
/// ja): the first line names the service and ends in a colon; the Win32 error's text follows on
/// the next line ([`scm_opens`]). Each group's name ends in the event id it stands for.
static SCM_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:The .+? service (?:(?P<en7000>failed to start due to the following error)",
        r"|(?P<en7023>terminated with the following error)",
        r"|(?P<en7001>depends on the .+? service which failed to start because of the following error))",
        r#"|Der Dienst ".+?" (?:(?P<de7000>wurde aufgrund folgenden Fehlers nicht gestartet)"#,
        r"|(?P<de7023>wurde mit folgendem Fehler beendet)",
        r"|(?P<de7001>ist vom Dienst .+? abhängig, der aufgrund folgenden Fehlers nicht gestartet wurde))",
        r"|Le service .+? (?:(?P<fr7000>n.a pas pu démarrer en raison de l.erreur suivante)",
        r"|(?P<fr7023>s.est arrêté avec l.erreur suivante))",
        r"|El servicio .+? (?:(?P<es7000>no pudo iniciarse debido al siguiente error)",
        r"|(?P<es7023>(?:finalizó|terminó) con el siguiente error))",
        r"|(?:由于下列错误，.+? 服务(?P<zh7000>启动失败))",
        r"|.+? 服务(?:(?P<zh7023>因下列错误而停止)|(?P<zh7001>依赖于 .+? 服务，而后者因下列错误而无法启动))",
        r"|.+? サービスは、?次のエラーの(?:ため|ために)(?P<ja7000>開始できませんでした)",
        r"|.+? サービスは、?次のエラーで(?P<ja7023>終了しました)",
        r")",
    ))
    .expect("built-in regex is valid")
});

/// The event id of an [`SCM_MESSAGE`] match: its matched group's name ends in it.
fn scm_id(c: &regex::Captures<'_>) -> u32 {
    SCM_MESSAGE
        .capture_names()
        .flatten()
        .find(|name| c.name(name).is_some())
        .and_then(|name| name.get(2..)?.parse().ok())
        .unwrap_or(7000)
}

/// An event message known by its shape rather than its first words:
/// - Service Control Manager 7000/7001/7023 ([`SCM_MESSAGE`]);
/// - Servicing 3: a package word right before a KB number (`Package KB…`, `Paquete KB5034441 …
///   Estado: 0x80070643`), in any language, when it says it failed;
/// - WUSA 3: the standalone installer's command line (`wusa.exe`), which every language's
///   message quotes, when it says it failed.
fn shaped_message(t: &str) -> Option<(&'static str, u32)> {
    if let Some(c) = SCM_MESSAGE.captures(t) {
        return Some((SCM, scm_id(&c)));
    }
    if PACKAGE_KB.is_match(t) && says_failed(t) {
        return Some(("Microsoft-Windows-Servicing", 3));
    }
    if t.contains("wusa.exe") && says_failed(t) {
        return Some(("Microsoft-Windows-WUSA", 3));
    }
    None
}

/// A package word (en, de, fr, es, it, pt, nl, pl, ru, ja, zh) right before a KB number, as
/// Servicing event 3 names its package.
static PACKAGE_KB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:package|paket|paquete|pacote|pacchetto|pakket|pakiet|пакет[а-я]*|パッケージ|程序包|套件)\s*["«„“「]?\s*KB\d{6,7}\b"#,
    )
    .expect("built-in regex is valid")
});

/// True when `line` is a Service Control Manager message whose error text follows on the next
/// line (it ends in a colon).
pub(super) fn scm_opens(line: &str) -> bool {
    let t = line.trim();
    (t.ends_with(':') || t.ends_with('：')) && SCM_MESSAGE.is_match(t)
}

/// One row of an event list printed as a table (`Get-WinEvent | Format-Table`, a viewer's
/// copy): `Error  PC01.corp  3 Microsoft-Windows-Servicing  N/A  SYSTEM  Package KB… failed …`.
/// The event id stands right before the provider, and the message follows them.
fn table_row(line: &str, m: &MessageTemplate) -> bool {
    let mut words = line.split_whitespace();
    let mut prev = "";
    while let Some(w) = words.next() {
        if w == m.provider && prev.parse() == Ok(m.id) {
            let rest = words.collect::<Vec<_>>().join(" ");
            return m.starts.iter().any(|s| rest.contains(s));
        }
        prev = w;
    }
    false
}

/// The grammar of one cleaned line.
pub(crate) fn classify(line: &str) -> Grammar {
    if line.trim().is_empty() {
        return Grammar::Other;
    }
    if let Some(kind) = prefixed(line) {
        return Grammar::Prefixed(kind);
    }
    if line.starts_with("CSIPERF:") {
        return Grammar::Continuation;
    }
    if windowsupdate(line) {
        return Grammar::WindowsUpdate;
    }
    if setupapi(line) {
        return Grammar::Setupapi;
    }
    let t = line.trim_start();
    if t.starts_with("<Event") || t.starts_with("<Events>") {
        return Grammar::EventXml;
    }
    if super::event_text::is_header(line) || event_label(line) {
        return Grammar::EventText;
    }
    if event_message(line).is_some() {
        return Grammar::EventMessage;
    }
    if services(line) {
        return Grammar::Services;
    }
    match bare(line) {
        Some((kind, true)) => Grammar::Bare(kind),
        Some((kind, false)) => Grammar::Tail(kind),
        None => Grammar::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::event_message;

    #[test]
    fn service_control_manager_messages_are_known_by_their_shape() {
        // Lines written for this test in the wording of each language's message table.
        for (line, id) in [
            (
                "The Windows Update service terminated with the following error: ",
                7023,
            ),
            (
                "The HTTP Service service depends on the MsQuic service which failed to start because of the following error: ",
                7001,
            ),
            (
                "Le service Windows Update n’a pas pu démarrer en raison de l’erreur suivante : ",
                7000,
            ),
            (
                "El servicio Windows Update terminó con el siguiente error: ",
                7023,
            ),
            (
                "Windows Update サービスは、次のエラーのため開始できませんでした: ",
                7000,
            ),
            ("Windows Update 服务因下列错误而停止: ", 7023),
        ] {
            assert_eq!(
                event_message(line),
                Some(("Service Control Manager", id)),
                "{line}"
            );
        }
        assert_eq!(event_message("The service is running."), None);
    }
}
