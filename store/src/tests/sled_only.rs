//! Sled-only tests: persistence across reopen, migration of old records, startup errors.

use std::path::Path;

use super::suite::{conclusion, diagnosed};
use super::{sample_case, sample_job};
use crate::record::{CaseKey, MetaKey, tree};
use crate::{Applied, CaseId, CaseStore, Recurrence, SledStore, StoreError};

fn open(path: &Path) -> SledStore {
    SledStore::open(path).expect("open")
}

#[test]
fn everything_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (id, text) = {
        let store = open(&path);
        let id = store.new_case_id().expect("id");
        store
            .create(sample_case(id.clone(), 1, Some(3)), Some("m-1"))
            .expect("create");
        store
            .update(&id, Some("m-2"), &mut |c| c.title = "renamed".into())
            .expect("update");
        store
            .journal_add(&sample_job("j", &id, 4))
            .expect("journal");
        let mut out = Vec::new();
        store.export(&mut out).expect("export");
        (id, out)
    };
    let store = open(&path);
    let mut again = Vec::new();
    store.export(&mut again).expect("export");
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&text)
    );
    assert_eq!(store.get(&id).expect("get").expect("case").title, "renamed");
    assert_eq!(
        store
            .update(&id, Some("m-2"), &mut |c| c.title.clear())
            .expect("update"),
        Applied::Duplicate
    );
    let next = store.new_case_id().expect("id");
    assert_eq!(
        &next.as_str()[4..9],
        "00002",
        "the counter continues after a restart"
    );
}

#[test]
fn v0_case_is_migrated_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let id = CaseId::parse("CAS-00012-OLD000").expect("id");
    // The pre-versioning shape: a bare object, devices as a list, no lang/close_reason/summary.
    let v0 = serde_json::json!({
        "id": "CAS-00012-OLD000", "title": "old", "problem": "p", "opener": "o",
        "channel_id": null, "thread_id": null, "status": "diagnosed",
        "devices": [{"name": "PC1", "status": "fixed", "bundles": [],
                     "diagnosis": null, "verification": "ok"}],
        "timeline": [], "created_at": 1, "updated_at": 2
    });
    store
        .cases
        .insert(CaseKey(&id).bytes(), serde_json::to_vec(&v0).expect("json"))
        .expect("insert");
    let case = store.get(&id).expect("migrated").expect("present");
    assert_eq!(case.lang, diagnosis::Lang::En);
    assert_eq!(case.devices["PC1"].verification.as_deref(), Some("ok"));
    assert_eq!(case.close_reason, None);
    // The next write stores it in the current envelope.
    store
        .update(&id, None, &mut |c| c.title = "new".into())
        .expect("update");
    let raw = store
        .cases
        .get(CaseKey(&id).bytes())
        .expect("get")
        .expect("raw");
    let value: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(value["v"], 1);
    assert_eq!(value["case"]["title"], "new");
}

#[test]
fn newer_record_version_is_refused_not_misread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let id = CaseId::parse("CAS-00001-NEW000").expect("id");
    let mut case = serde_json::to_value(sample_case(id.clone(), 1, None)).expect("json");
    case["new_field"] = "x".into();
    let raw = serde_json::json!({ "v": 2, "case": case });
    store
        .cases
        .insert(
            CaseKey(&id).bytes(),
            serde_json::to_vec(&raw).expect("json"),
        )
        .expect("insert");
    let err = store.get(&id).expect_err("newer");
    assert!(err.to_string().contains("schema version 2"), "{err}");
}

/// A store at `path` holding two cases diagnosed with the same conclusion (oldest first), then
/// stripped of the index `trees` and of its `marker`, as a store written before that index
/// existed.
fn two_cases_without_index(
    path: &Path,
    trees: &[&str],
    marker: MetaKey,
) -> (SledStore, CaseId, CaseId) {
    let store = open(path);
    let a = diagnosed(&store, 1, "reboot-pending", "x");
    let b = diagnosed(&store, 2, "reboot-pending", "x");
    for name in trees {
        store
            .db
            .open_tree(name)
            .expect("tree")
            .clear()
            .expect("clear");
    }
    let meta = store.db.open_tree(tree::META).expect("meta");
    meta.remove(marker.bytes()).expect("remove");
    store.flush().expect("flush");
    (store, a, b)
}

#[test]
fn a_store_without_the_recurrence_index_builds_it_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (a, b) = {
        let (store, a, b) = two_cases_without_index(
            &path,
            &[tree::RECURRENCE, tree::RECURRENCE_COUNTS],
            MetaKey::RecurrenceIndex,
        );
        assert_eq!(
            store
                .recurrence(&conclusion("reboot-pending", "x"), &a, 10)
                .expect("recurrence"),
            Recurrence::default(),
            "the index is gone"
        );
        (a, b)
    };
    let store = open(&path);
    assert_eq!(
        store
            .recurrence(&conclusion("reboot-pending", "x"), &a, 10)
            .expect("recurrence"),
        Recurrence {
            count: 1,
            recent: vec![b],
        }
    );
}

#[test]
fn a_store_without_the_listing_index_builds_it_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (a, b) = {
        let (store, a, b) = two_cases_without_index(&path, &[tree::LISTING], MetaKey::ListingIndex);
        assert_eq!(store.latest(&mut |_| true, 10).expect("latest"), vec![]);
        (a, b)
    };
    let store = open(&path);
    let ids = |cases: Vec<crate::Case>| cases.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.latest(&mut |_| true, 10).expect("latest")),
        [b, a]
    );
}

#[test]
fn tree_names_are_stable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut names: Vec<String> = store
        .db
        .tree_names()
        .into_iter()
        .map(|n| String::from_utf8_lossy(n.as_ref()).into_owned())
        .filter(|n| !n.starts_with("__sled"))
        .collect();
    names.sort();
    let mut want = [
        tree::CASES,
        tree::JOURNAL,
        tree::META,
        tree::PROCESSED,
        tree::THREADS,
        tree::RECURRENCE,
        tree::RECURRENCE_COUNTS,
        tree::LISTING,
    ];
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn second_open_reports_in_use_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = open(dir.path());
    let err = SledStore::open(dir.path()).expect_err("locked");
    assert!(matches!(err, StoreError::Locked { ref path } if path == dir.path()));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn corrupt_database_files_are_reported_with_the_path() {
    for victim in ["conf", "db"] {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = open(dir.path());
            let id = store.new_case_id().expect("id");
            store
                .create(sample_case(id, 1, None), None)
                .expect("create");
        }
        let file = dir.path().join("db").join(victim);
        let len = std::fs::metadata(&file).expect("meta").len() as usize;
        let junk: Vec<u8> = (0..len.max(64)).map(|i| (i * 7 + 13) as u8).collect();
        std::fs::write(&file, junk).expect("write");
        let err = match SledStore::open(dir.path()) {
            Ok(_) => panic!("{victim}: a damaged store opened"),
            Err(e) => e,
        };
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "{victim}: expected Corrupt, got {err}"
        );
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn a_path_that_cannot_be_a_directory_is_not_writable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let path = file.join("store");
    let err = SledStore::open(&path).expect_err("not writable");
    assert!(
        matches!(err, StoreError::NotWritable { path: ref p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("plain-file/store"), "{err}");
}

#[test]
fn read_only_directory_is_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    std::fs::create_dir(&path).expect("mkdir");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    if std::fs::write(path.join("probe"), b"x").is_ok() {
        // Running as root: permissions are not enforced, so there is nothing to observe.
        eprintln!("note: skipping the read-only directory check (permissions not enforced)");
        return;
    }
    let err = SledStore::open(&path).expect_err("not writable");
    assert!(
        matches!(err, StoreError::NotWritable { path: ref p, .. } if *p == path),
        "{err:?}"
    );
}

#[test]
fn a_directory_holding_other_files_is_not_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), b"mine").expect("write");
    let err = SledStore::open(dir.path()).expect_err("not a store");
    assert!(matches!(err, StoreError::NotAStore { ref example, .. } if example == "notes.txt"));
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
    assert!(!dir.path().join("db").exists(), "nothing created");
    // A store may hold extra files once it exists (an operator's README, say).
    let store_dir = dir.path().join("store");
    drop(open(&store_dir));
    std::fs::write(store_dir.join("README"), b"backups nightly").expect("write");
    drop(open(&store_dir));
}
