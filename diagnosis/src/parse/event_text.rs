//! `wevtutil qe <log> /f:text` exports, English or Chinese-localised:
//!
//! ```text
//! Event[0]:                          事件[0]:
//!   Log Name: System                   日志名称: System
//!   Source: Microsoft-Windows-…        来源: Microsoft-Windows-…
//!   Date: 2024-02-14T10:01:02.123      日期: 2024-02-14T10:01:02.123
//!   Event ID: 20                       事件 ID: 20
//!   Level: Error                       级别: 错误
//!   Computer: PC-1                     计算机: PC-1
//!   Description:                       描述:
//! Installation Failure: …            安装失败: …
//! ```
//!
//! The description runs to the next `Event[N]:` header. Labels may use a full-width colon.

use std::collections::BTreeMap;

use super::Line;
use super::event_xml::{EventInfo, event_record};
use super::{Level, LineParser, Record};

/// Longest description kept per event.
const MAX_DESCRIPTION: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Channel,
    Provider,
    Date,
    Id,
    Level,
    Computer,
    Description,
    Other,
}

/// Field labels of `wevtutil /f:text` and of Event Viewer's "Copy details as text", in the
/// languages of localised Windows builds (en, zh-CN, ja, de, fr, es, ru, pl, nl, it, pt),
/// compared case-insensitively (`Event ID`, `Gebeurtenis-ID`).
fn field(label: &str) -> Option<Field> {
    let label = label
        .trim()
        .trim_end_matches(['\u{a0}', ' '])
        .to_lowercase();
    Some(match label.as_str() {
        "log name"
        | "日志名称"
        | "ログの名前"
        | "protokollname"
        | "nom du journal"
        | "nombre de registro"
        | "имя журнала"
        | "nazwa dziennika"
        | "logboeknaam"
        | "nome registro"
        | "nome do log" => Field::Channel,
        "source" | "来源" | "ソース" | "quelle" | "origen" | "источник" | "źródło" | "bron"
        | "origine" | "fonte" => Field::Provider,
        // The older viewer's "copy to clipboard" layout (Windows Server 2003, still how some
        // server products' events are shared): `Event Type`, `Event Source`, `Event Category`.
        "event source"
        | "イベント ソース"
        | "事件来源"
        | "ereignisquelle"
        | "source de l'événement"
        | "source de l’événement"
        | "origen del evento" => Field::Provider,
        "event type"
        | "イベントの種類"
        | "事件类型"
        | "ereignistyp"
        | "type de l'événement"
        | "type de l’événement"
        | "tipo de evento" => Field::Level,
        "date" | "日期" | "日付" | "datum" | "fecha" | "дата" | "data" => Field::Date,
        "event id"
        | "事件 id"
        | "事件id"
        | "イベント id"
        | "ereignis-id"
        | "id de l'événement"
        | "id de l’événement"
        | "id. del evento"
        | "id. de evento"
        | "код события"
        | "identyfikator zdarzenia"
        | "gebeurtenis-id"
        | "id evento"
        | "identificação do evento" => Field::Id,
        "level" | "级别" | "レベル" | "ebene" | "niveau" | "nivel" | "уровень" | "poziom"
        | "livello" | "nível" => Field::Level,
        "computer"
        | "计算机"
        | "コンピューター"
        | "ordinateur"
        | "equipo"
        | "компьютер"
        | "komputer"
        | "computador" => Field::Computer,
        "description" | "描述" | "説明" | "beschreibung" | "descripción" | "описание" | "opis"
        | "beschrijving" | "descrizione" | "descrição" => Field::Description,
        "task"
        | "任务"
        | "任务类别"
        | "task category"
        | "タスクのカテゴリ"
        | "aufgabenkategorie"
        | "catégorie de la tâche"
        | "categoría de la tarea"
        | "категория задачи"
        | "kategoria zadania"
        | "taakcategorie"
        | "categoria attività"
        | "categoria da tarefa"
        | "słowa kluczowe"
        | "trefwoorden"
        | "parole chiave"
        | "palavras-chave"
        | "użytkownik"
        | "gebruiker"
        | "utente"
        | "usuário"
        | "opcode"
        | "操作代码"
        | "keyword"
        | "keywords"
        | "关键字"
        | "キーワード"
        | "schlüsselwörter"
        | "mots-clés"
        | "palabras clave"
        | "ключевые слова"
        | "user"
        | "用户"
        | "ユーザー"
        | "benutzer"
        | "utilisateur"
        | "usuario"
        | "пользователь"
        | "user name"
        | "用户名"
        | "event category"
        | "イベント カテゴリ"
        | "事件种类"
        | "ereigniskategorie"
        | "time"
        | "時刻"
        | "时间"
        | "zeit" => Field::Other,
        _ => return None,
    })
}

/// True when `text` is an event field line (`Log Name: System`, `Quelle: …`): how the fragment
/// reader recognises an event pasted without its `Event[0]:` header.
pub(super) fn event_label(text: &str) -> bool {
    label_value(text).is_some_and(|(f, _)| f != Field::Other)
}

/// Level word of an export, in the languages of `field` (event_table's exports use the same words).
pub(super) fn level(value: &str) -> Level {
    match value.trim() {
        "Error"
        | "Critical"
        | "错误"
        | "关键"
        | "严重"
        | "エラー"
        | "重大"
        | "Fehler"
        | "Kritisch"
        | "Erreur"
        | "Critique"
        | "Crítico"
        | "Ошибка"
        | "Критический"
        | "Błąd"
        | "Krytyczny"
        | "Fout"
        | "Kritiek"
        | "Errore"
        | "Critico"
        | "Erro" => Level::Error,
        "Warning"
        | "警告"
        | "Warnung"
        | "Avertissement"
        | "Advertencia"
        | "Предупреждение"
        | "Ostrzeżenie"
        | "Waarschuwing"
        | "Avviso"
        | "Aviso" => Level::Warning,
        _ => Level::Info,
    }
}

/// `Event[12]:` / `事件[12]:` header (kind detection uses it too, so both agree).
pub(crate) fn is_header(text: &str) -> bool {
    let t = text.trim();
    let t = t
        .strip_suffix(':')
        .or_else(|| t.strip_suffix('：'))
        .unwrap_or(t);
    let Some(rest) = t.strip_prefix("Event[").or_else(|| t.strip_prefix("事件[")) else {
        return false;
    };
    rest.strip_suffix(']')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `Label: value` with an ASCII or full-width colon.
/// True when `text` is a field line of an event export, whatever the field (`Task Category: None`
/// too): such a line is never the wrapped rest of the line above.
pub(super) fn is_field_line(text: &str) -> bool {
    label_value(text).is_some()
}

fn label_value(text: &str) -> Option<(Field, &str)> {
    let (i, sep) = text.char_indices().find(|(_, c)| *c == ':' || *c == '：')?;
    let f = field(&text[..i])?;
    Some((f, text[i + sep.len_utf8()..].trim()))
}

struct Building {
    line: u64,
    ev: EventInfo,
    description: String,
    in_description: bool,
}

/// Line-driven text export parser.
pub(super) struct EventTextParser {
    cur: Option<Building>,
}

impl EventTextParser {
    pub(super) fn new() -> Self {
        EventTextParser { cur: None }
    }

    fn flush(&mut self, sink: &mut dyn FnMut(Record)) {
        let Some(mut b) = self.cur.take() else {
            return;
        };
        let d = b.description.trim();
        if !d.is_empty() {
            b.ev.message = Some(d.to_string());
        }
        sink(event_record(b.line, b.ev));
    }
}

impl EventTextParser {
    fn start(&mut self, no: u64, sink: &mut dyn FnMut(Record)) {
        self.flush(sink);
        self.cur = Some(Building {
            line: no,
            ev: EventInfo {
                data: BTreeMap::new(),
                ..EventInfo::default()
            },
            description: String::new(),
            in_description: false,
        });
    }

    /// Event Viewer's "Copy details as text" has no `Event[N]:` header: a `Log Name:` line
    /// starts an event, and so do `Source:` and a level (`Event Type:` opens the older layout)
    /// when no event is open or the open one has a source already.
    fn starts_event(&self, text: &str) -> bool {
        let Some((f, _)) = label_value(text) else {
            return false;
        };
        match (&self.cur, f) {
            // The older viewer's layout opens with `Event Type:`, before its source.
            (None, Field::Channel | Field::Provider | Field::Level) => true,
            (Some(b), Field::Channel) => b.ev.channel.is_some() || !b.ev.provider.is_empty(),
            (Some(b), Field::Provider | Field::Level) => {
                b.in_description && !b.ev.provider.is_empty()
            }
            _ => false,
        }
    }
}

impl LineParser for EventTextParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        if is_header(&line.text) {
            self.start(line.no, sink);
            return;
        }
        if self.starts_event(&line.text) {
            self.start(line.no, sink);
        }
        let Some(b) = &mut self.cur else {
            return;
        };
        if b.in_description {
            // Event Viewer's copy ends the description with the event's XML.
            if line.text.trim_start().starts_with("Event Xml:") {
                b.in_description = false;
                return;
            }
            if b.description.len() < MAX_DESCRIPTION {
                b.description.push_str(line.text.trim_end());
                b.description.push('\n');
            }
            return;
        }
        let Some((f, value)) = label_value(&line.text) else {
            return;
        };
        let value = value.to_string();
        match f {
            Field::Channel => b.ev.channel = Some(value),
            Field::Provider => b.ev.provider = value,
            Field::Date => b.ev.time = Some(value),
            Field::Id => b.ev.id = value.parse().unwrap_or(0),
            Field::Level => b.ev.level = level(&value),
            Field::Computer => b.ev.computer = Some(value),
            Field::Description => {
                b.in_description = true;
                if !value.is_empty() {
                    b.description.push_str(&value);
                    b.description.push('\n');
                }
            }
            Field::Other => {}
        }
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        self.flush(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Fact, LogKind, parse_str};

    // Layout of `wevtutil qe System /f:text` (English); values written for this test.
    const EN: &str = "\
Event[0]:
  Log Name: System
  Source: Microsoft-Windows-WindowsUpdateClient
  Date: 2024-02-14T10:01:02.1230000Z
  Event ID: 20
  Task: Windows Update Agent
  Level: Error
  Opcode: Installation
  Keyword: Failure,Installation
  User: S-1-5-18
  User Name: NT AUTHORITY\\SYSTEM
  Computer: DESKTOP-1
  Description: 
Installation Failure: Windows failed to install the following update with error 0x800F0922: 2024-02 Cumulative Update for Windows 10 Version 22H2 for x64-based Systems (KB5034763).

Event[1]:
  Log Name: System
  Source: Service Control Manager
  Date: 2024-02-14T10:02:00.0000000Z
  Event ID: 7040
  Level: Information
  Computer: DESKTOP-1
  Description: The start type of the Windows Management Instrumentation service was changed from auto start to disabled.
";

    // Chinese-localised export (labels as produced by zh-CN Windows); values written for this test.
    const ZH: &str = "\
事件[0]:
  日志名称: Setup
  来源: Microsoft-Windows-Servicing
  日期: 2024-02-14T10:05:00.000
  事件 ID: 3
  任务类别: 无
  级别: 错误
  关键字: 经典
  用户: S-1-5-18
  用户名: NT AUTHORITY\\SYSTEM
  计算机: 李的电脑
  描述:
无法将程序包 KB5034763 更改为 Installed 状态。状态: 0x800f0922。
事件[1]:
  日志名称：System
  来源：Microsoft-Windows-WindowsUpdateClient
  事件 ID：20
  级别：错误
  描述：安装失败: Windows 无法安装以下更新，错误 0x800f0922: 2024-02 适用于 Windows 10 Version 22H2 的累积更新 (KB5034763)。
";

    fn event(
        r: &Record,
    ) -> (
        &str,
        u32,
        Option<&str>,
        Option<&str>,
        &BTreeMap<String, String>,
    ) {
        match &r.fact {
            Some(Fact::Event {
                provider,
                id,
                channel,
                computer,
                data,
            }) => (provider, *id, channel.as_deref(), computer.as_deref(), data),
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn english_export() {
        let recs = parse_str(LogKind::EventText, EN);
        assert_eq!(recs.len(), 2);
        let (p, id, ch, comp, data) = event(&recs[0]);
        assert_eq!(
            (p, id, ch, comp),
            (
                "Microsoft-Windows-WindowsUpdateClient",
                20,
                Some("System"),
                Some("DESKTOP-1")
            )
        );
        assert_eq!(data["kb"], "KB5034763");
        assert_eq!(recs[0].level, Level::Error);
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        assert_eq!(recs[0].line, 1);
        assert_eq!(
            recs[0].time.as_deref(),
            Some("2024-02-14T10:01:02.1230000Z")
        );
        assert!(
            recs[0]
                .text
                .starts_with("Microsoft-Windows-WindowsUpdateClient 20: Installation Failure:")
        );
        assert_eq!(recs[1].line, 16);
        assert_eq!(recs[1].level, Level::Info);
        assert!(recs[1].text.contains("changed from auto start to disabled"));
    }

    #[test]
    fn the_older_viewers_clipboard_layout_is_an_event() {
        // Written for this test in the layout of Windows Server 2003's event viewer.
        let text = "Event Type:\tError\nEvent Source:\tWindows Server Update Services\nEvent Category:\tSynchronization\nEvent ID:\t364\nDate:\t1/12/2024\nTime:\t3:00:11 AM\nUser:\tN/A\nComputer:\tWSUS01\nDescription:\nContent file download failed. Reason: The operation timed out.\n";
        let recs = parse_fragment(text);
        assert_eq!(recs.len(), 1, "{recs:?}");
        let (p, id, _, comp, _) = event(&recs[0]);
        assert_eq!(
            (p, id, comp),
            ("Windows Server Update Services", 364, Some("WSUS01"))
        );
        assert_eq!(recs[0].level, Level::Error);
        assert!(recs[0].text.contains("Content file download failed"));
    }

    fn parse_fragment(text: &str) -> Vec<Record> {
        parse_str(LogKind::Fragment, text)
    }

    #[test]
    fn chinese_export() {
        let recs = parse_str(LogKind::EventText, ZH);
        assert_eq!(recs.len(), 2);
        let (p, id, ch, comp, data) = event(&recs[0]);
        assert_eq!(
            (p, id, ch, comp),
            (
                "Microsoft-Windows-Servicing",
                3,
                Some("Setup"),
                Some("李的电脑")
            )
        );
        assert_eq!(data["kb"], "KB5034763");
        assert_eq!(recs[0].level, Level::Error);
        assert_eq!(recs[0].codes, vec![0x800f0922]);
        let (p, id, ch, _, _) = event(&recs[1]);
        assert_eq!(
            (p, id, ch),
            ("Microsoft-Windows-WindowsUpdateClient", 20, Some("System"))
        );
        assert_eq!(recs[1].codes, vec![0x800f0922]);
    }

    #[test]
    fn headers() {
        assert!(is_header("Event[0]:"));
        assert!(is_header("  事件[12]: "));
        assert!(!is_header("Event[x]:"));
        assert!(!is_header("Event ID: 20"));
    }
}
