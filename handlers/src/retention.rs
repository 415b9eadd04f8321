//! Purpose: data retention — the bundles and pastes of cases closed more than N days ago are
//! deleted (`sweep`), and `purge` deletes one case and its files on request, keeping its close
//! summary unless told otherwise. Bundles are content-addressed and may be shared by several
//! cases: a bundle is deleted only when no case that keeps its files still names it.

use std::collections::HashSet;

use store::{Case, CaseId, CaseStatus, CaseStore, StoreError};

use crate::lifecycle::{self, Stamp};

/// Who retention and purges are recorded as on the timeline.
const AUTHOR: &str = "casebot";

/// What a sweep or a purge deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Cases whose files were deleted (or, for a purge, the case itself).
    pub cases: Vec<CaseId>,
    /// Bundles and pastes deleted.
    pub bundles: u64,
}

/// When a case was closed: its latest `close` event, else its last change.
fn closed_at(case: &Case) -> u64 {
    case.timeline
        .iter()
        .rev()
        .find(|e| e.kind == "close")
        .map_or(case.updated_at, |e| e.at)
}

fn expired(case: &Case, cutoff: u64) -> bool {
    case.status == CaseStatus::Closed && closed_at(case) < cutoff
}

fn hashes(case: &Case) -> impl Iterator<Item = &str> {
    case.devices
        .values()
        .flat_map(|d| d.bundles.iter().map(|b| b.sha256.as_str()))
}

/// Delete the stored files of `case` that no case in `keep` names; how many were deleted.
fn delete_files(
    store: &dyn CaseStore,
    case: &Case,
    keep: &HashSet<String>,
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    let mine: HashSet<&str> = hashes(case).collect();
    for sha in mine {
        if !keep.contains(sha) && store.delete_bundle(sha)? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Bundles named by the cases `retain` keeps the files of.
fn kept_hashes(cases: &[Case], retain: impl Fn(&Case) -> bool) -> HashSet<String> {
    cases
        .iter()
        .filter(|c| retain(c))
        .flat_map(|c| hashes(c).map(str::to_string))
        .collect()
}

/// Delete the bundles and pastes of cases closed more than `days` days before `now` (Unix
/// seconds), except those another case still needs; the case records stay, with a timeline
/// event saying what was deleted.
pub fn sweep(store: &dyn CaseStore, now: u64, days: u64) -> Result<Deleted, StoreError> {
    let cutoff = now.saturating_sub(days.saturating_mul(24 * 3600));
    let cases = store.list()?;
    let keep = kept_hashes(&cases, |c| !expired(c, cutoff));
    let mut out = Deleted::default();
    for case in cases.iter().filter(|c| expired(c, cutoff)) {
        let n = delete_files(store, case, &keep)?;
        if n == 0 {
            continue;
        }
        let text = format!("{n} stored bundle(s) deleted {days} days after the case was closed");
        let stamp = Stamp {
            author: AUTHOR,
            now,
        };
        store.update(&case.id, None, &mut |c| {
            lifecycle::log(c, stamp, "retention", &text)
        })?;
        out.cases.push(case.id.clone());
        out.bundles += n;
    }
    Ok(out)
}

/// Delete case `id` and its files on request. Without `with_summary` the case record is cut
/// down to its id, title, status and close summary (devices, diagnoses and timeline go); with
/// it the record goes too. `Err(StoreError::NotFound)` if there is no such case.
pub fn purge(
    store: &dyn CaseStore,
    id: &CaseId,
    with_summary: bool,
    now: u64,
) -> Result<Deleted, StoreError> {
    let cases = store.list()?;
    let Some(case) = cases.iter().find(|c| &c.id == id) else {
        return Err(StoreError::NotFound(id.to_string()));
    };
    let keep = kept_hashes(&cases, |c| &c.id != id);
    let bundles = delete_files(store, case, &keep)?;
    if with_summary {
        store.delete_case(id)?;
    } else {
        let stamp = Stamp {
            author: AUTHOR,
            now,
        };
        store.update(id, None, &mut |c| {
            c.devices.clear();
            c.timeline.clear();
            c.problem = c.title.clone();
            c.status = CaseStatus::Closed;
            lifecycle::log(
                c,
                stamp,
                "purge",
                "case data deleted on request; summary kept",
            );
        })?;
    }
    Ok(Deleted {
        cases: vec![id.clone()],
        bundles,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use store::{BundleRef, DeviceRecord, DeviceStatus, SledStore, TimelineEntry};

    use super::*;

    const DAY: u64 = 24 * 3600;

    /// A case with one device and the given bundles, closed at `closed` (or open).
    fn case(store: &SledStore, bundles: &[&str], closed: Option<u64>) -> (CaseId, Vec<String>) {
        let id = store.new_case_id().expect("id");
        let mut shas = Vec::new();
        let mut refs = Vec::new();
        for b in bundles {
            let stored = store.put_bundle(&mut b.as_bytes()).expect("put");
            shas.push(stored.sha256.clone());
            refs.push(BundleRef {
                sha256: stored.sha256,
                name: format!("{b}.zip"),
                bytes: stored.bytes,
                added_at: 0,
            });
        }
        let mut devices = BTreeMap::new();
        devices.insert(
            "pc1".to_string(),
            DeviceRecord {
                name: "pc1".into(),
                status: DeviceStatus::Fixed,
                bundles: refs,
                diagnosis: None,
                verification: None,
            },
        );
        let mut timeline = vec![TimelineEntry {
            at: 0,
            author: "ann".into(),
            kind: "open".into(),
            text: "KB5034763 fails".into(),
        }];
        if let Some(at) = closed {
            timeline.push(TimelineEntry {
                at,
                author: "eve".into(),
                kind: "close".into(),
                text: String::new(),
            });
        }
        let case = Case {
            id: id.clone(),
            title: "KB5034763 fails".into(),
            problem: "KB5034763 fails on pc1 with 0x800f0922".into(),
            lang: diagnosis::Lang::En,
            opener: "ann".into(),
            opener_id: None,
            guild_id: None,
            channel_id: Some(1),
            thread_id: None,
            status: if closed.is_some() {
                CaseStatus::Closed
            } else {
                CaseStatus::Diagnosed
            },
            devices,
            timeline,
            close_reason: None,
            summary: closed.map(|_| "**问题定义** KB5034763 fails".to_string()),
            created_at: 0,
            updated_at: closed.unwrap_or(0),
        };
        store.create(case, None).expect("create");
        (id, shas)
    }

    #[test]
    fn sweep_deletes_files_of_long_closed_cases_only_and_keeps_shared_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let now = 100 * DAY;
        let (old, old_shas) = case(&store, &["old-a", "shared"], Some(now - 31 * DAY));
        let (recent, recent_shas) = case(&store, &["recent"], Some(now - 5 * DAY));
        let (open, open_shas) = case(&store, &["open", "shared"], None);
        let deleted = sweep(&store, now, 30).expect("sweep");
        assert_eq!(deleted.cases, vec![old.clone()]);
        assert_eq!(deleted.bundles, 1, "the shared bundle is still needed");
        let present = |sha: &str| store.bundle_path(sha).expect("path").is_some();
        assert!(!present(&old_shas[0]));
        assert!(present(&old_shas[1]), "an open case still names it");
        assert!(recent_shas.iter().chain(&open_shas).all(|s| present(s)));
        let old = store.get(&old).expect("get").expect("kept");
        assert_eq!(
            old.timeline.last().map(|e| e.kind.as_str()),
            Some("retention")
        );
        assert!(old.summary.is_some(), "the record and its summary stay");
        // Nothing left to delete: a second sweep changes nothing.
        assert_eq!(sweep(&store, now, 30).expect("sweep"), Deleted::default());
        assert!(store.get(&recent).expect("get").is_some());
        assert!(store.get(&open).expect("get").is_some());
    }

    #[test]
    fn purge_keeps_the_summary_unless_told_and_never_a_shared_bundle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let (a, a_shas) = case(&store, &["a", "shared"], Some(10));
        let (b, b_shas) = case(&store, &["b", "shared"], Some(10));
        let deleted = purge(&store, &a, false, 20).expect("purge");
        assert_eq!(deleted.bundles, 1);
        assert_eq!(store.bundle_path(&a_shas[0]).expect("path"), None);
        assert!(store.bundle_path(&a_shas[1]).expect("path").is_some());
        let kept = store.get(&a).expect("get").expect("summary kept");
        assert!(kept.devices.is_empty());
        assert_eq!(
            kept.summary.as_deref(),
            Some("**问题定义** KB5034763 fails")
        );
        assert_eq!(kept.timeline.len(), 1);
        assert_eq!(kept.timeline[0].kind, "purge");
        let deleted = purge(&store, &b, true, 20).expect("purge");
        assert_eq!(deleted.bundles, 2, "no other case names them now");
        assert_eq!(store.get(&b).expect("get"), None);
        assert!(
            b_shas
                .iter()
                .all(|s| store.bundle_path(s).expect("path").is_none())
        );
        let missing = CaseId::parse("CAS-99999-ZZZZZZ").expect("id");
        assert!(matches!(
            purge(&store, &missing, false, 20),
            Err(StoreError::NotFound(_))
        ));
    }
}
