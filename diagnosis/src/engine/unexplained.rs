//! Failure records that no finding explains, deduplicated by template (numbers, GUIDs, paths
//! masked) with counts, so that a new failure kind is visible instead of silent.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use crate::parse::{Level, LogKind, Record, mentions_any};
use crate::report::Unexplained;

/// Templates kept per bundle (bounds memory on pathological logs).
const MAX_TEMPLATES: usize = 5_000;
/// The fallback root cause; a code prior naming it leaves the failure to the fallback rule.
pub(crate) const UNKNOWN: &str = "unknown-servicing-failure";
/// Entries reported in `unexplained`.
pub(crate) const MAX_REPORTED: usize = 50;

static MASKS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"\{?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?",
            "<guid>",
        ),
        (r#"(?:[A-Za-z]:|\\\\[?.]\\)\\[^\s,;"'\]\)]*"#, "<path>"),
        (r"(?i)\b0x[0-9a-f]+\b", "<hex>"),
        (r"(?i)\b[0-9a-f]*[0-9][0-9a-f]*\b", "<n>"),
    ]
    .into_iter()
    .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, r)))
    .collect()
});

/// `[gle=0x80004005]`: the thread's last error at logging time, usually meaningless.
static GLE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?i)\[gle=0x[0-9a-f]+\]").ok());

/// Mask the variable parts of a record's first line.
pub(crate) fn template(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut t = first.to_string();
    for (re, with) in MASKS.iter() {
        t = re.replace_all(&t, *with).into_owned();
    }
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One template with its first occurrence.
#[derive(Debug)]
pub(crate) struct Entry {
    pub first: Unexplained,
    /// File index of the first occurrence (for ordering).
    pub file: usize,
    /// Failing codes seen on its records.
    pub codes: BTreeSet<u32>,
    /// Rules whose signals matched one of its records.
    pub rules: BTreeSet<usize>,
    /// One of its records was logged at Error level or as a CSI `(F)` failure: what a code
    /// prior may rest on (an Info line with a code is often a probe that was retried).
    pub severe: bool,
}

/// Failure records of the bundle, by template.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    pub entries: Vec<Entry>,
    by_template: HashMap<String, usize>,
}

/// Is this record a servicing failure? (`failing` = its failing, non-noise codes.)
///
/// `pasted`: the record comes from lines someone chose to share (a fragment or a plain text
/// file), not from a whole log. There an error-level event of any provider and a text line that
/// reports a failure with a failing code count too: the asker picked them for the failure, so
/// the code may rest a prior. In a whole event log, only servicing providers' events count.
pub(crate) fn is_failure(kind: LogKind, record: &Record, failing: &[u32], pasted: bool) -> bool {
    // What a paste may add: an Error-level line with a failing code whose text says so.
    let pasted_error = pasted && record.level == Level::Error && !failing.is_empty();
    let servicing = match kind {
        LogKind::Cbs | LogKind::Dism | LogKind::Windowsupdate => true,
        // Setup's own verdict on an upgrade (`ImageExit: Initializing SetupResult: [0x800f0818]`),
        // or an error of one of its phases that names a failing code (`Error SP CMountWIM::
        // DoExecute: Failed to mount WIM file … Error 0xC1420121`); an error with only a
        // `[gle=…]` stamp is Setup's everyday noise.
        LogKind::Panther => {
            record.text.contains("SetupResult: [0x")
                || (record.level == Level::Error && !failing.is_empty())
        }
        k if k.is_event() => {
            record
                .component
                .as_deref()
                .is_some_and(super::facts::is_servicing_provider)
                || (pasted_error && mentions_any(&record.text, &SERVICING_WORDS))
        }
        // A text line is at Error level when it says that something failed next to its code.
        LogKind::Text => pasted_error,
        _ => false,
    };
    // The screen Windows shows while it rolls an update back at restart names no code, but it
    // is a servicing failure all the same: the fallback says what to send.
    if pasted && kind == LogKind::Text && crate::parse::rollback_screen(&record.text) {
        return true;
    }
    // `Failure will be ignored`: CBS carries on past this installer; it is not why an update failed.
    servicing
        && (record.level == Level::Error || record.text.contains("(F)") || !failing.is_empty())
        && !record.text.contains("Failure will be ignored")
}

/// Words that tie an event of another provider to servicing (an update, a package, an
/// installer, a role or feature), in the languages of the event exports casebot reads.
const SERVICING_WORDS: [&str; 21] = [
    "update",
    "package",
    "install",
    "servicing",
    "component",
    "feature",
    "cbs",
    "dism",
    "trustedinstaller",
    "winsxs",
    "paket",
    "aktualisierung",
    "mise à jour",
    "actualización",
    "обновлен",
    "пакет",
    "更新",
    "パッケージ",
    "程序包",
    "安装",
    "インストール",
];

/// The failing codes of a record: ≥ 0x80000000, not noise, not only a `[gle=…]` stamp.
pub(crate) fn failing_codes(record: &Record, noise: &[u32]) -> Vec<u32> {
    let mut codes: Vec<u32> = record
        .codes
        .iter()
        .copied()
        .filter(|c| *c >= 0x8000_0000 && !noise.contains(c))
        .collect();
    if !codes.is_empty()
        && let Some(re) = GLE.as_ref()
        && re.is_match(&record.text)
    {
        let stripped = re.replace_all(&record.text, "");
        let real = crate::parse::extract_codes(&stripped);
        codes.retain(|c| real.contains(c));
    }
    codes
}

impl Failures {
    /// Add one failure record.
    pub fn add(
        &mut self,
        file: usize,
        path: &str,
        record: &Record,
        failing: Vec<u32>,
        rules: &[usize],
        kind: LogKind,
    ) {
        let event = kind.is_event();
        // Setup's phase errors are reported, but only its verdict may carry a code prior: the
        // priors' causes are servicing causes.
        let severe = severe(record)
            && (kind != LogKind::Panther || record.text.contains("SetupResult: [0x"));
        let key = template(&record.text);
        if let Some(&i) = self.by_template.get(&key) {
            let e = &mut self.entries[i];
            e.first.count += 1;
            e.codes.extend(failing);
            e.rules.extend(rules.iter().copied());
            e.severe |= severe;
            return;
        }
        if self.entries.len() >= MAX_TEMPLATES {
            return;
        }
        self.by_template.insert(key, self.entries.len());
        self.entries.push(Entry {
            first: Unexplained {
                file: path.to_string(),
                line: record.line,
                text: if event {
                    super::state::event_text(&record.text)
                } else {
                    super::state::evidence_text(&record.text, 0)
                },
                code: failing.first().map(|c| format!("0x{c:08x}")),
                count: 1,
            },
            file,
            codes: failing.into_iter().collect(),
            rules: rules.iter().copied().collect(),
            severe,
        });
    }
}

/// May this failure rest a code prior? Error level, a CSI `(F)` record, or a servicing verdict
/// that CBS and DISM log at Info level.
fn severe(record: &Record) -> bool {
    record.level == Level::Error
        || record.text.contains("(F)")
        || VERDICTS.iter().any(|v| record.text.contains(v))
}

/// Lines that state how a servicing operation ended, which CBS and DISM log at Info level
/// (docs/windows-servicing.md §A.2, "verdict lines"): a package's failure report and its change's
/// completion, DISM's last word, a package that could not be resolved, and a store marked corrupt.
const VERDICTS: [&str; 6] = [
    "WER: Generating failure report for package",
    "Reporting package change completion for package",
    "processed the command line but failed",
    "Failed to resolve package",
    "Failed to resolve execution package",
    "Mark store corruption flag",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_mask_numbers_guids_and_paths() {
        let a = template(
            r"2024-02-14 10:01:02, Error CSI 0000004b (F) Failed execution of queue item Installer: WMI ({7a4b1f1d-0c2f-4a43-9e0d-2a3c3fbd1d21}) with HRESULT HRESULT_FROM_WIN32(1058). C:\Windows\x.mof",
        );
        let b = template(
            r"2024-03-01 11:22:33, Error CSI 000000ff (F) Failed execution of queue item Installer: WMI ({00000000-1111-2222-3333-444444444444}) with HRESULT HRESULT_FROM_WIN32(1753). D:\other\y.mof",
        );
        assert_eq!(a, b);
        assert!(a.contains("<guid>") && a.contains("<path>"), "{a}");
    }
}
