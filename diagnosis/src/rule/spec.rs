//! The serde shape of rule and table files (`diagnosis/rules/README.md`), before compilation.
//!
//! Every struct denies unknown fields so that a typo is an error, never a silently ignored check.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One rule file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub root_cause: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: String,
    pub confidence: f64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub max_evidence: Option<usize>,
    #[serde(default)]
    pub decode: Vec<String>,
    #[serde(default)]
    pub fixtures: Vec<String>,
    #[serde(default)]
    pub fallback: bool,
    #[serde(default)]
    pub subject: BTreeMap<String, String>,
    #[serde(default, rename = "signal")]
    pub signals: Vec<MatchSpec>,
    #[serde(default, rename = "exclude")]
    pub excludes: Vec<MatchSpec>,
    #[serde(default)]
    pub hint: Option<HintSpec>,
    #[serde(default)]
    pub correlate: Option<CorrelateSpec>,
    #[serde(default, rename = "step")]
    pub steps: Vec<StepSpec>,
    #[serde(default, rename = "missing")]
    pub missing: Vec<MissingSpec>,
}

/// `[[signal]]` and `[[exclude]]` share one shape (serde's `flatten` would defeat
/// `deny_unknown_fields`); the compiler rejects keys that do not belong to the table used.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    pub name: String,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub unless: Vec<String>,
    /// Signals only.
    #[serde(default)]
    pub required: Option<bool>,
    /// Signals only.
    #[serde(default)]
    pub group: Option<String>,
    /// Signals only.
    #[serde(default)]
    pub weight: Option<f64>,
    /// Excludes only.
    #[serde(default)]
    pub cap: Option<f64>,
    /// Excludes only: counts only when matched after the last record of a required signal.
    #[serde(default)]
    pub after: bool,
    /// Signals only: this line by itself names the failure, its phase and its code, so a
    /// match alone makes a finding (at [`crate::rule::DECISIVE`]) even when corroboration is absent.
    #[serde(default)]
    pub decisive: bool,
}

/// `[hint]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HintSpec {
    pub confidence: f64,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub confirm: Vec<String>,
    #[serde(default)]
    pub confirm_zh: Vec<String>,
}

/// `[correlate]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorrelateSpec {
    pub capture: Vec<String>,
    pub table: String,
    pub subject: String,
    #[serde(default)]
    pub expect_start: Vec<String>,
    pub when_expected: f64,
    pub when_other: f64,
    pub when_absent: f64,
    #[serde(default)]
    pub when_unmapped: Option<f64>,
    #[serde(default)]
    pub missing: Option<String>,
}

/// `[[step]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub text: String,
    #[serde(default)]
    pub text_zh: String,
    #[serde(default)]
    pub command: Option<String>,
}

/// `[[missing]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MissingSpec {
    pub kind: String,
    #[serde(default)]
    pub satisfied_by: Vec<String>,
    pub why: String,
    pub how: String,
    #[serde(default)]
    pub why_zh: String,
    #[serde(default)]
    pub how_zh: String,
}

/// A lookup table file (`rules/tables/<name>.toml`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    #[serde(default)]
    pub description: String,
    #[serde(default, rename = "entry")]
    pub entries: Vec<TableEntry>,
    /// Only in `noise.toml`: patterns of failure-looking lines that are not failures.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Only in `noise.toml`: codes that are never a failure on their own.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Only in `noise.toml`: codes that follow from any failure (a rollback's 0x800f0922), explained
    /// whenever some finding is confident.
    #[serde(default)]
    pub consequences: Vec<String>,
    /// `tables/code-priors.toml`: the default root causes of catalogued codes.
    #[serde(default, rename = "prior")]
    pub priors: Vec<PriorSpec>,
}

/// One code prior: the root causes a failing line with this code most likely has, best first.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorSpec {
    /// The code (`0x80071a91`).
    pub code: String,
    /// Root-cause ids, most likely first (at most 3).
    pub causes: Vec<String>,
    /// Why: a note for maintainers.
    #[serde(default)]
    pub note: String,
}

/// One table entry: every key maps to `value`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub value: String,
    pub keys: Vec<String>,
}
