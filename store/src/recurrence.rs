//! The recurrence index: what each case's devices concluded → the cases, so that "seen in N
//! other cases" is a lookup whose cost does not grow with the number of cases, not a decode of
//! every case on every diagnosis.
//!
//! A device's conclusion is the root cause and subject of its latest diagnosis's top finding
//! (the finding a reply leads with). Each store keeps, in the same transaction as the case
//! change, one entry per (conclusion, case) ordered by the case's creation, and a count per
//! conclusion. A store opened without the index (written by an older casebot) builds it first.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Case, CaseId};

/// Cases a recurrence lookup names at most (the count covers them all).
pub const RECURRENCE_LISTED: usize = 10;

/// What a device's diagnosis concluded: the root cause and subject of its top finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Conclusion {
    /// Root cause id (`service-disabled-advanced-installer`).
    pub root_cause: String,
    /// What it concerns (`service` → `Winmgmt`).
    pub subject: BTreeMap<String, String>,
}

impl Conclusion {
    /// The conclusion of a finding.
    pub fn of(finding: &diagnosis::report::Finding) -> Conclusion {
        Conclusion {
            root_cause: finding.root_cause.clone(),
            subject: finding.subject.clone(),
        }
    }

    /// The index key: the root cause, a newline, the subject as JSON (keys sorted). Never
    /// holds a NUL byte (JSON escapes it), so stores may end it with one.
    pub(crate) fn key(&self) -> String {
        let subject = serde_json::to_string(&self.subject).unwrap_or_default();
        format!("{}\n{subject}", self.root_cause)
    }
}

/// Other cases with a conclusion: how many, and the most recently created of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recurrence {
    /// Other cases whose devices concluded the same.
    pub count: u64,
    /// The most recently created of them (at most the limit asked for), oldest first.
    pub recent: Vec<CaseId>,
}

impl Case {
    /// The conclusions of the case's diagnosed devices.
    pub fn conclusions(&self) -> BTreeSet<Conclusion> {
        self.devices
            .values()
            .filter_map(|d| d.diagnosis.as_ref()?.top().map(Conclusion::of))
            .collect()
    }
}

/// What the index loses and gains when a case goes from `before` to `after` (`None`: absent).
pub(crate) fn changes(
    before: Option<&Case>,
    after: Option<&Case>,
) -> (Vec<Conclusion>, Vec<Conclusion>) {
    let old = before.map(Case::conclusions).unwrap_or_default();
    let new = after.map(Case::conclusions).unwrap_or_default();
    // Entries are keyed by creation time too: a case whose time changed moves entirely.
    if before
        .zip(after)
        .is_some_and(|(b, a)| b.created_at != a.created_at)
    {
        return (old.into_iter().collect(), new.into_iter().collect());
    }
    (
        old.difference(&new).cloned().collect(),
        new.difference(&old).cloned().collect(),
    )
}

/// The lookup without an index, over every case (oldest first): what the index must answer.
pub(crate) fn scan(
    cases: &[Case],
    conclusion: &Conclusion,
    this: &CaseId,
    limit: usize,
) -> Recurrence {
    let others: Vec<&CaseId> = cases
        .iter()
        .filter(|c| &c.id != this && c.conclusions().contains(conclusion))
        .map(|c| &c.id)
        .collect();
    let skip = others.len().saturating_sub(limit);
    Recurrence {
        count: others.len() as u64,
        recent: others.into_iter().skip(skip).cloned().collect(),
    }
}
