//! The `casebot.diagnosis.v2` output contract (docs/ARCHITECTURE.md, "The diagnosis contract").
//!
//! The contract is data: ids (root cause, rule, missing-log kind, error code), the values the
//! rule's texts were filled with (`vars`), evidence, and the English texts for readers of the
//! JSON. Other languages are not in it: a renderer looks the texts up by id in the rule set and
//! the code table (`handlers::render::view`).
//!
//! `casebot.diagnosis.v1` carried `*_zh` twins of every text. A v1 document still deserialises
//! (the twins are ignored, `vars` is empty); [`Diagnosis::migrate`] brings it to v2.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Schema id written into every [`Diagnosis`].
pub const SCHEMA: &str = "casebot.diagnosis.v2";

/// The previous schema id: texts with `*_zh` twins, no `vars`.
pub const SCHEMA_V1: &str = "casebot.diagnosis.v1";

/// Findings at or above this confidence are diagnoses; below it they are hints (alternatives).
pub const CONFIDENT: f64 = 0.5;

/// Output language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese (zh-CN).
    Zh,
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" | "english" => Ok(Lang::En),
            "zh" | "zh-cn" | "cn" | "chinese" | "中文" => Ok(Lang::Zh),
            other => Err(format!("unknown language `{other}` (expected zh or en)")),
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        })
    }
}

/// One complete diagnosis of one bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What was read.
    pub bundle: BundleSummary,
    /// Facts about the device the bundle came from.
    pub device: Device,
    /// Findings, highest confidence first. Empty means nothing wrong was found.
    pub findings: Vec<Finding>,
    /// Failure lines that no rule explains, deduplicated by template.
    pub unexplained: Vec<Unexplained>,
    /// Version (hash) of the rule set that produced this diagnosis.
    #[serde(default)]
    pub rules_version: String,
}

impl Diagnosis {
    /// The top finding if it is confident (≥ [`CONFIDENT`]).
    pub fn top(&self) -> Option<&Finding> {
        self.findings.first().filter(|f| f.confidence >= CONFIDENT)
    }

    /// Bring a diagnosis read from an older schema to [`SCHEMA`]; true when it changed.
    ///
    /// v1 → v2: deserialising already dropped the `*_zh` twins; `vars` stays empty (v1 did not
    /// record them), and renderers recover a value from the English text where they need one.
    /// Any other schema id is left alone: it is either current or not one casebot wrote.
    pub fn migrate(&mut self) -> bool {
        if self.schema == SCHEMA_V1 {
            self.schema = SCHEMA.to_string();
            true
        } else {
            false
        }
    }
}

/// What the bundle held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BundleSummary {
    /// File name of the input.
    pub name: String,
    /// sha256 of the input file (of the directory listing for a directory), lowercase hex.
    pub sha256: String,
    /// Size of the input in bytes.
    pub bytes: u64,
    /// Every file that was read.
    pub files: Vec<FileSummary>,
    /// Every file that was not read, with the reason.
    pub skipped: Vec<Skipped>,
    /// What the bundle lacks to decide, and how to collect it.
    #[serde(default)]
    pub missing: Vec<Missing>,
}

/// One file that was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSummary {
    /// Path inside the bundle, `/`-separated (nested archives joined with `/`).
    pub path: String,
    /// Detected kind (`cbs`, `dism`, `evtx`, …).
    pub kind: String,
    /// Detected encoding (`utf-8`, `utf-8-bom`, `utf-16le`, `utf-16be`, `gbk`, `binary`).
    pub encoding: String,
    /// Size in bytes (decompressed).
    pub bytes: u64,
    /// Number of lines (records for evtx).
    pub lines: u64,
}

/// A file that was not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Path inside the bundle.
    pub path: String,
    /// Why it was skipped (names the limit or the problem).
    pub reason: String,
}

/// Something the bundle lacks to decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    /// Kind of log that is missing (`services`, `cbs-persist`, `event-system`, …).
    pub kind: String,
    /// Why it is needed (en).
    pub why: String,
    /// How to collect it, with exact commands (en).
    pub how: String,
    /// The rule that asks for it; absent for what every diagnosis needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Values filled into the rule's texts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

/// Facts about the device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Computer name, if found in the logs (or the bundle's top folder).
    pub name: Option<String>,
    /// OS build with UBR, e.g. `19041.4046`.
    pub os_build: Option<String>,
    /// KB numbers involved, e.g. `KB5034763`.
    pub updates: Vec<String>,
}

/// One root cause with its evidence and fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Root-cause id from the root-cause vocabulary (docs/ARCHITECTURE.md, "Root causes").
    pub root_cause: String,
    /// Id of the rule that produced the finding.
    pub rule: String,
    /// Title (en).
    pub title: String,
    /// Calibrated confidence 0.0–1.0; below [`CONFIDENT`] it is a hint.
    pub confidence: f64,
    /// What the finding is about, e.g. `service` → `Winmgmt`, `installer` → `WMI`.
    pub subject: BTreeMap<String, String>,
    /// Error codes involved, decoded.
    pub codes: Vec<CodeInfo>,
    /// Evidence lines.
    pub evidence: Vec<Evidence>,
    /// Numbered fix steps.
    pub steps: Vec<Step>,
    /// What would confirm this finding (for hints), en.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirm: Vec<String>,
    /// Values filled into the rule's texts (captures such as `service`, and `kb`, `computer`),
    /// so that a renderer can fill the same texts in another language.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

/// A decoded error code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeInfo {
    /// Normalised code, `0x` + 8 lowercase hex digits.
    pub code: String,
    /// Symbolic name, e.g. `CBS_E_INSTALLERS_FAILED` (empty if unknown).
    pub name: String,
    /// One-line meaning (en).
    pub meaning: String,
}

/// One evidence line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Path inside the bundle.
    pub file: String,
    /// 1-based line number (record number for evtx).
    pub line: u64,
    /// The line, trimmed.
    pub text: String,
}

/// One fix step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What to do (en).
    pub text: String,
    /// Exact command to run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A failure line that no rule explains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unexplained {
    /// Path inside the bundle of the first occurrence.
    pub file: String,
    /// Line of the first occurrence.
    pub line: u64,
    /// The first occurrence's text.
    pub text: String,
    /// The failing code on the line, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// How many lines share this template.
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}
