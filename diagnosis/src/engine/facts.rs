//! Device facts gathered while scanning: computer name, OS build + UBR, KB numbers, service start
//! types and which event channels the bundle holds.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::parse::{Fact, LogKind, Record, StartType, kb_numbers};
use crate::report::Device;

/// `Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.13` → build 19041, UBR 4046.
static ROLLUP: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)Package_for_RollupFix~[0-9a-f]+~\w*~[^~]*~(\d{4,5})\.(\d{1,5})\.").ok()
});
static PACKAGE_KB: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)Package_(?:\d+_)?for_KB(\d{6,8})").ok());

/// A service start type seen in the bundle, with where it was seen.
#[derive(Debug, Clone)]
pub(crate) struct ServiceFact {
    pub start: StartType,
    pub file: usize,
    pub line: u64,
    pub text: String,
}

/// Facts collected over the whole bundle.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// Computer names from events → how often seen.
    computers: BTreeMap<String, usize>,
    /// (build, ubr) of the newest RollupFix package seen.
    rollup: Option<(u32, u32)>,
    /// KB → (priority, first-seen order); priority 0 = seen in a failure/servicing context.
    kbs: BTreeMap<String, (u8, usize)>,
    /// Lowercased service name → start type (the last one seen wins: the newest snapshot).
    pub services: BTreeMap<String, ServiceFact>,
    /// Event channels seen (lowercase: `system`, `setup`, …).
    pub channels: BTreeSet<String>,
    /// File kinds present.
    pub kinds: BTreeSet<&'static str>,
    /// Some CBS/DISM record is a failure.
    pub servicing_failure: bool,
    /// Messages [`Facts::observe_servicing_text`] has learnt from (a healthy log repeats the
    /// same package lines with new timestamps; learning from one twice changes nothing).
    servicing_seen: HashSet<Box<str>>,
}

/// Most messages remembered in [`Facts::servicing_seen`]; past it, new ones are read each time.
const MAX_SEEN: usize = 4096;

/// Providers whose events concern servicing (their KB numbers are the update's).
pub(crate) fn is_servicing_provider(provider: &str) -> bool {
    let p = provider.to_ascii_lowercase();
    [
        "windowsupdateclient",
        "servicing",
        "wusa",
        "cbs",
        "trustedinstaller",
    ]
    .iter()
    .any(|s| p.contains(s))
}

/// Can [`Facts::observe_servicing_text`] learn anything from `text`? (The words it looks for
/// before running its patterns.)
pub(crate) fn teaches_servicing(text: &str) -> bool {
    text.contains("RollupFix")
        || text.contains("_for_KB")
        || text.contains("_for_kb")
        || text.contains("WER:")
}

/// `text` without a leading `YYYY-MM-DD HH:MM:SS` (the rest keeps its `, ` so that what
/// follows has the same neighbour as before).
fn strip_timestamp(text: &str) -> &str {
    let b = text.as_bytes();
    let stamped = b.len() >= 19
        && b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if stamped { &text[19..] } else { text }
}

impl Facts {
    /// Learn from one record of a file of `kind`.
    pub fn observe(&mut self, kind: LogKind, file: usize, record: &Record) {
        match &record.fact {
            Some(Fact::Service { name, start }) => {
                let text = service_text(&record.text);
                self.services.insert(
                    name.to_lowercase(),
                    ServiceFact {
                        start: *start,
                        file,
                        line: record.line,
                        text,
                    },
                );
            }
            Some(Fact::Event {
                provider,
                id,
                channel,
                computer,
                data,
            }) => self.observe_event(
                provider,
                *id,
                channel.as_deref(),
                computer.as_deref(),
                data,
                record,
            ),
            _ => {}
        }
        if matches!(kind, LogKind::Cbs | LogKind::Dism) {
            self.observe_servicing_text(&record.text);
        }
    }

    fn observe_event(
        &mut self,
        provider: &str,
        id: u32,
        channel: Option<&str>,
        computer: Option<&str>,
        data: &BTreeMap<String, String>,
        record: &Record,
    ) {
        if let Some(c) = channel {
            self.channels.insert(channel_key(c));
        }
        if let Some(c) = computer.map(short_name).filter(|c| !c.is_empty()) {
            *self.computers.entry(c).or_default() += 1;
        }
        if !is_servicing_provider(provider) {
            return;
        }
        // WindowsUpdateClient 19 (installed) includes Defender definitions and the like: lower priority.
        let priority = u8::from(
            provider
                .to_ascii_lowercase()
                .contains("windowsupdateclient")
                && id == 19,
        );
        for v in data.values() {
            self.add_kbs(v, priority);
        }
        self.add_kbs(&record.text, priority);
    }

    /// Learn from the text of a CBS or DISM record: the RollupFix build and KB numbers (see
    /// [`teaches_servicing`]).
    pub(crate) fn observe_servicing_text(&mut self, text: &str) {
        if !teaches_servicing(text) {
            return;
        }
        // What it learns depends on the message alone, not on its timestamp (no pattern below
        // can match inside one), and learning it again changes nothing (the newest build, each
        // KB's first place and best priority stay): read each message once.
        let message = strip_timestamp(text);
        if self.servicing_seen.contains(message) {
            return;
        }
        if self.servicing_seen.len() < MAX_SEEN {
            self.servicing_seen.insert(message.into());
        }
        if text.contains("RollupFix")
            && let Some(re) = ROLLUP.as_ref()
        {
            for c in re.captures_iter(text) {
                let build = c[1].parse().unwrap_or(0);
                let ubr = c[2].parse().unwrap_or(0);
                if self.rollup.is_none_or(|old| (build, ubr) > old) {
                    self.rollup = Some((build, ubr));
                }
            }
        }
        if text.contains("_for_KB") || text.contains("_for_kb") {
            if let Some(re) = PACKAGE_KB.as_ref() {
                let found: Vec<String> = re.captures_iter(text).map(|c| c[1].to_string()).collect();
                for n in found {
                    self.add_kb(&n, 0);
                }
            }
        } else if text.contains("WER:") {
            self.add_kbs(text, 0);
        }
    }

    fn add_kbs(&mut self, text: &str, priority: u8) {
        for kb in kb_numbers(text) {
            self.add_kb(kb.trim_start_matches("KB"), priority);
        }
    }

    fn add_kb(&mut self, digits: &str, priority: u8) {
        let order = self.kbs.len();
        let e = self
            .kbs
            .entry(format!("KB{digits}"))
            .or_insert((priority, order));
        e.0 = e.0.min(priority);
    }

    /// Does the bundle hold `name`: a file kind, `event` (any event log), or an event channel
    /// (`event-system`, `event-setup`, …; without channel information any event log counts)?
    pub fn has(&self, name: &str) -> bool {
        let events = ["evtx", "event-text", "event-xml"]
            .iter()
            .any(|k| self.kinds.contains(k));
        match name {
            "event" => events,
            _ => match name.strip_prefix("event-") {
                Some(channel) if !["text", "xml"].contains(&channel) => {
                    self.channels.contains(channel) || (events && self.channels.is_empty())
                }
                _ => self.kinds.contains(name),
            },
        }
    }

    /// The device part of the diagnosis; `paths` are the bundle's file paths (for the top folder).
    pub fn device(&self, paths: &[String]) -> Device {
        let name = self
            .computers
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(n, _)| n.clone())
            .or_else(|| top_folder(paths));
        let mut kbs: Vec<(&String, &(u8, usize))> = self.kbs.iter().collect();
        kbs.sort_by_key(|(_, (p, o))| (*p, *o));
        Device {
            name,
            os_build: self.rollup.map(|(b, u)| format!("{b}.{u}")),
            updates: kbs.into_iter().map(|(k, _)| k.clone()).collect(),
        }
    }
}

/// A service block on one line: its first line and the lines stating the start type.
fn service_text(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut parts: Vec<&str> = lines.next().into_iter().collect();
    parts.extend(lines.filter(|l| l.to_ascii_lowercase().contains("start")));
    crate::engine::state::truncate(&parts.join(" | "), 400)
}

/// `System`, `Microsoft-Windows-…/Operational`, `系统` → a lowercase key (`system`, `setup`, …).
fn channel_key(c: &str) -> String {
    match c.trim() {
        "系统" => "system".to_string(),
        "安装程序" | "设置" => "setup".to_string(),
        "应用程序" => "application".to_string(),
        other => other.to_lowercase(),
    }
}

/// `WCC0021Z673965.corp.example` → `WCC0021Z673965`.
fn short_name(c: &str) -> String {
    c.trim().split('.').next().unwrap_or("").to_string()
}

/// Folder and archive names that are never a computer name.
const GENERIC: &[&str] = &[
    "logs",
    "log",
    "cbs",
    "windows",
    "bundle",
    "logbundle",
    "collect",
    "collected",
    "files",
    "data",
    "output",
    "system32",
    "panther",
    "winevt",
    "evtx",
    "events",
    "export",
    "temp",
    "tmp",
];

/// The bundle's top folder when every file sits below the same one and it looks like a host name.
fn top_folder(paths: &[String]) -> Option<String> {
    let firsts: BTreeSet<&str> = paths
        .iter()
        .filter(|p| p.contains('/'))
        .filter_map(|p| p.split('/').next())
        .collect();
    let [only] = firsts.into_iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let name = [".zip", ".cab", ".gz", ".7z"]
        .iter()
        .fold(only.to_string(), |n, ext| {
            n.strip_suffix(ext).map_or(n.clone(), str::to_string)
        });
    let host_like = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().any(|c| c.is_ascii_digit())
        && !GENERIC.contains(&name.to_lowercase().as_str());
    host_like.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_folder_names_the_device() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            top_folder(&p(&[
                "wcc0021z675842.zip/Logs/CBS/CBS.log",
                "wcc0021z675842.zip/sc.txt"
            ])),
            Some("wcc0021z675842".to_string())
        );
        assert_eq!(top_folder(&p(&["Logs/CBS.log"])), None);
        assert_eq!(top_folder(&p(&["a1/x.log", "b2/y.log"])), None);
        assert_eq!(top_folder(&p(&["CBS.log"])), None);
    }

    #[test]
    fn rollup_version_and_kbs() {
        let mut f = Facts::default();
        let rec = |text: &str| Record {
            line: 1,
            time: None,
            level: crate::parse::Level::Info,
            component: None,
            text: text.to_string(),
            codes: vec![],
            fact: None,
            kind: None,
        };
        f.observe(LogKind::Cbs, 0, &rec("Exec: Processing started. Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.13"));
        f.observe(LogKind::Cbs, 0, &rec("Exec: Installing Package: Package_1_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13"));
        f.observe(
            LogKind::Cbs,
            0,
            &rec("Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.3996.1.4"),
        );
        let d = f.device(&[]);
        assert_eq!(d.os_build.as_deref(), Some("19041.4046"));
        assert_eq!(d.updates, vec!["KB5034763".to_string()]);
    }
}
