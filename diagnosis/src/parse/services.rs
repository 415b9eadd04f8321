//! Service configuration snapshots: one [`Fact::Service`] record per service whose start type
//! is stated. Understood shapes (keywords are English in every Windows language):
//! - `sc qc <svc>`: `SERVICE_NAME: winmgmt` … `START_TYPE : 4   DISABLED`;
//! - PowerShell `Get-Service | Select Name,StartType` tables (columns found from the dashes line)
//!   and `Format-List` blocks (`Name : Winmgmt` / `StartType : Disabled`, also WMI's
//!   `StartMode`);
//! - `reg query …\Services\<svc> /v Start` and `.reg` exports (`"Start"=dword:00000004`).
//!
//! `sc query` output carries no start type and yields no record.

use super::Line;
use super::{Fact, Level, LineParser, Record, StartType};

/// Decode a start type written as a number (`4`), an `sc` word (`DISABLED`, `AUTO_START`) or a
/// PowerShell/WMI value (`Disabled`, `Automatic`, `Auto`, `Manual`).
pub fn start_type(value: &str) -> Option<StartType> {
    let first = value.split_whitespace().next()?;
    let word = first.trim_start_matches("0x").to_ascii_lowercase();
    Some(match word.as_str() {
        "0" | "00000000" | "boot" | "boot_start" => StartType::Boot,
        "1" | "00000001" | "system" | "system_start" => StartType::System,
        "2" | "00000002" | "auto" | "automatic" | "auto_start" | "automaticdelayedstart" => {
            StartType::Auto
        }
        "3" | "00000003" | "manual" | "demand_start" => StartType::Manual,
        "4" | "00000004" | "disabled" => StartType::Disabled,
        _ => return None,
    })
}

/// `key : value` (sc and Format-List use spaces around the colon; names have no colon).
fn key_value(text: &str) -> Option<(&str, &str)> {
    let (k, v) = text.split_once(':')?;
    let k = k.trim();
    (!k.is_empty() && !k.contains(' ')).then_some((k, v.trim()))
}

#[derive(Default)]
struct Pending {
    line: u64,
    name: Option<String>,
    start: Option<StartType>,
    text: String,
}

/// Column layout of a PowerShell table.
struct Table {
    /// Char ranges of the columns, from the dashes line.
    cols: Vec<(usize, usize)>,
    name: usize,
    start: usize,
}

/// Line-driven services parser.
pub(super) struct ServicesParser {
    block: Pending,
    /// The previous line could be a table header (several words, no `key : value`).
    header: bool,
    header_line: String,
    table: Option<Table>,
    reg_service: Option<(u64, String)>,
}

impl ServicesParser {
    pub(super) fn new() -> Self {
        ServicesParser {
            block: Pending::default(),
            header: false,
            header_line: String::new(),
            table: None,
            reg_service: None,
        }
    }

    fn flush(&mut self, sink: &mut dyn FnMut(Record)) {
        let b = std::mem::take(&mut self.block);
        if let (Some(name), Some(start)) = (b.name, b.start) {
            sink(service_record(b.line, name, start, b.text));
        }
    }

    fn table_row(&mut self, line: &Line, sink: &mut dyn FnMut(Record)) -> bool {
        let Some(t) = &self.table else {
            return false;
        };
        if line.text.trim().is_empty() {
            self.table = None;
            return true;
        }
        let chars: Vec<char> = line.text.chars().collect();
        let (name, start) = (cell(&chars, t.cols[t.name]), cell(&chars, t.cols[t.start]));
        if let (false, Some(st)) = (name.is_empty(), start_type(&start)) {
            sink(service_record(
                line.no,
                name,
                st,
                line.text.trim_end().to_string(),
            ));
        }
        true
    }

    /// A dashes line under a header starts a table.
    fn table_start(&mut self, text: &str) -> bool {
        if !std::mem::take(&mut self.header) {
            return false;
        }
        if !text.trim_start().starts_with('-') || text.chars().any(|c| c != '-' && c != ' ') {
            return false;
        }
        let chars: Vec<char> = text.chars().collect();
        let mut cols = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '-' {
                let s = i;
                while i < chars.len() && chars[i] == '-' {
                    i += 1;
                }
                cols.push(s);
            } else {
                i += 1;
            }
        }
        let ranges: Vec<(usize, usize)> = cols
            .iter()
            .enumerate()
            .map(|(k, s)| (*s, cols.get(k + 1).copied().unwrap_or(usize::MAX)))
            .collect();
        // Column names from the header, cut at the same positions.
        let hchars: Vec<char> = self.header_line.chars().collect();
        let names: Vec<String> = ranges
            .iter()
            .map(|&range| cell(&hchars, range).to_ascii_lowercase())
            .collect();
        let name = names.iter().position(|n| n == "name" || n == "servicename");
        let start = names
            .iter()
            .position(|n| n == "starttype" || n == "startmode" || n == "startuptype");
        if let (Some(name), Some(start)) = (name, start) {
            self.table = Some(Table {
                cols: ranges,
                name,
                start,
            });
            return true;
        }
        false
    }

    fn registry(&mut self, line: &Line, sink: &mut dyn FnMut(Record)) -> bool {
        let t = line.text.trim();
        let lower = t.to_ascii_lowercase();
        if let Some(i) = lower.find("\\services\\") {
            let name = t[i + 10..].trim_end_matches(']').trim();
            if !name.is_empty() && !name.contains('\\') {
                self.reg_service = Some((line.no, name.to_string()));
            } else {
                self.reg_service = None;
            }
            return true;
        }
        let Some((no, name)) = &self.reg_service else {
            return false;
        };
        let value = if let Some(v) = lower.strip_prefix("\"start\"=dword:") {
            v.trim().to_string()
        } else if lower.starts_with("start") && lower.contains("reg_dword") {
            lower
                .split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_string()
        } else {
            return false;
        };
        let Some(st) = u32::from_str_radix(value.trim_start_matches("0x"), 16)
            .ok()
            .and_then(|n| start_type(&n.to_string()))
        else {
            return false;
        };
        let text = format!("{name}\n{t}");
        sink(service_record(*no, name.clone(), st, text));
        true
    }
}

/// The trimmed text of a column, given as a char range (the last column's end is `usize::MAX`),
/// cut short or empty where the line is shorter.
fn cell(chars: &[char], (start, end): (usize, usize)) -> String {
    let end = end.min(chars.len());
    chars[start.min(end)..end]
        .iter()
        .collect::<String>()
        .trim()
        .to_string()
}

fn service_record(line: u64, name: String, start: StartType, text: String) -> Record {
    Record {
        line,
        time: None,
        level: Level::Info,
        component: Some("services".into()),
        codes: Vec::new(),
        text,
        fact: Some(Fact::Service { name, start }),
        kind: None,
    }
}

impl LineParser for ServicesParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        if self.table_row(&line, sink) || self.table_start(&line.text) || self.registry(&line, sink)
        {
            return;
        }
        let text = line.text.trim();
        if text.is_empty() {
            self.flush(sink);
            return;
        }
        let Some((key, value)) = key_value(text) else {
            if text.split_whitespace().nth(1).is_some() {
                self.header_line = line.text.clone();
                self.header = true;
            }
            return;
        };
        match key.to_ascii_uppercase().as_str() {
            "SERVICE_NAME" | "NAME" | "SERVICENAME" => {
                if self.block.name.is_some() && self.block.start.is_some() {
                    // A new service starts: the previous block is complete.
                    self.flush(sink);
                } else if self.block.name.is_some() {
                    // `Select *` lists both Name and ServiceName, or `sc query` blocks carry no
                    // start type: the later name replaces the earlier one.
                    self.block.text.clear();
                }
                if self.block.start.is_none() {
                    self.block.line = line.no;
                }
                self.block.name = Some(value.to_string());
            }
            "START_TYPE" | "STARTTYPE" | "STARTMODE" => {
                if self.block.name.is_none() {
                    self.block.line = line.no;
                }
                self.block.start = start_type(value);
            }
            _ => return,
        }
        if !self.block.text.is_empty() {
            self.block.text.push('\n');
        }
        self.block.text.push_str(text);
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        self.flush(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{LogKind, parse_str};

    fn services(text: &str) -> Vec<(String, StartType, u64)> {
        parse_str(LogKind::Services, text)
            .into_iter()
            .filter_map(|r| match r.fact {
                Some(Fact::Service { name, start }) => Some((name, start, r.line)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sc_qc_disabled() {
        let text = "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: winmgmt\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        START_TYPE         : 4   DISABLED\r\n        ERROR_CONTROL      : 0   IGNORE\r\n        BINARY_PATH_NAME   : C:\\WINDOWS\\system32\\svchost.exe -k netsvcs -p\r\n        DISPLAY_NAME       : Windows Management Instrumentation\r\n";
        assert_eq!(
            services(text),
            vec![("winmgmt".into(), StartType::Disabled, 3)]
        );
    }

    #[test]
    fn sc_qc_several_and_chinese_status_line() {
        let text = "[SC] QueryServiceConfig 成功\n\nSERVICE_NAME: CmService\n        START_TYPE         : 3   DEMAND_START\n\nSERVICE_NAME: wuauserv\n        START_TYPE         : 2   AUTO_START  (DELAYED)\n";
        assert_eq!(
            services(text),
            vec![
                ("CmService".into(), StartType::Manual, 3),
                ("wuauserv".into(), StartType::Auto, 6)
            ]
        );
    }

    #[test]
    fn sc_query_has_no_start_type() {
        let text = "SERVICE_NAME: winmgmt\nDISPLAY_NAME: Windows Management Instrumentation\n        TYPE               : 30  WIN32\n        STATE              : 1  STOPPED\n";
        assert!(services(text).is_empty());
    }

    #[test]
    fn get_service_table() {
        let text = "\nName                StartType Status  DisplayName\n----                --------- ------  -----------\nWinmgmt              Disabled Stopped Windows Management Instrumentation\nHTTP                   Manual Running HTTP Service\nwuauserv            Automatic Running Windows Update\n\n";
        assert_eq!(
            services(text),
            vec![
                ("Winmgmt".into(), StartType::Disabled, 4),
                ("HTTP".into(), StartType::Manual, 5),
                ("wuauserv".into(), StartType::Auto, 6)
            ]
        );
    }

    #[test]
    fn get_service_format_list() {
        let text = "\nName      : Winmgmt\nStartType : Disabled\nStatus    : Stopped\n\nName      : CmService\nStartType : Manual\n";
        assert_eq!(
            services(text),
            vec![
                ("Winmgmt".into(), StartType::Disabled, 2),
                ("CmService".into(), StartType::Manual, 6)
            ]
        );
    }

    #[test]
    fn wmi_start_mode_and_registry() {
        let text = "StartMode : Disabled\nName      : Winmgmt\n\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\HTTP\n    Start    REG_DWORD    0x3\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\winmgmt]\n\"Start\"=dword:00000004\n";
        assert_eq!(
            services(text),
            vec![
                ("Winmgmt".into(), StartType::Disabled, 1),
                ("HTTP".into(), StartType::Manual, 4),
                ("winmgmt".into(), StartType::Disabled, 7)
            ]
        );
    }

    #[test]
    fn select_all_with_name_and_service_name() {
        let text = "Name                : winmgmt\nRequiredServices    : {RPCSS}\nDisplayName         : Windows Management Instrumentation\nServiceName         : winmgmt\nStatus              : Stopped\nStartType           : Disabled\n\nName                : HTTP\nServiceName         : HTTP\nStartType           : Manual\n";
        assert_eq!(
            services(text),
            vec![
                ("winmgmt".into(), StartType::Disabled, 4),
                ("HTTP".into(), StartType::Manual, 9)
            ]
        );
    }

    #[test]
    fn queryex_then_qc_in_one_file() {
        // The bot's collection script: `sc queryex type= service state= all > services.txt`
        // then `sc qc winmgmt >> services.txt`.
        let text = "\r\nSERVICE_NAME: BITS\r\nDISPLAY_NAME: 后台智能传送服务\r\n        TYPE               : 20  WIN32_SHARE_PROCESS  \r\n        STATE              : 4  RUNNING \r\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\r\n        WIN32_EXIT_CODE    : 0  (0x0)\r\n        PID                : 1234\r\n        FLAGS              : \r\n\r\nSERVICE_NAME: Winmgmt\r\nDISPLAY_NAME: Windows Management Instrumentation\r\n        STATE              : 1  STOPPED \r\n        WIN32_EXIT_CODE    : 1058  (0x422)\r\n\r\n[SC] QueryServiceConfig 成功\r\n\r\nSERVICE_NAME: winmgmt\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        START_TYPE         : 4   DISABLED\r\n        DEPENDENCIES       : RPCSS\r\n";
        assert_eq!(
            services(text),
            vec![("winmgmt".into(), StartType::Disabled, 18)]
        );
    }

    #[test]
    fn start_type_words() {
        assert_eq!(start_type("4   DISABLED"), Some(StartType::Disabled));
        assert_eq!(start_type("AutomaticDelayedStart"), Some(StartType::Auto));
        assert_eq!(start_type("1 SYSTEM_START"), Some(StartType::System));
        assert_eq!(start_type("whatever"), None);
    }
}
