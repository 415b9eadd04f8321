//! One behaviour suite, run against every `CaseStore` implementation (`mem::` and `sled::`
//! modules below), plus sled-only tests for persistence, migration and startup errors.

mod encrypted;
mod pg_only;
mod sled_only;
mod suite;

use std::collections::BTreeMap;

use crate::{Case, CaseId, CaseStatus, JournalEntry};

/// A case as handlers would create it.
pub(crate) fn sample_case(id: CaseId, created_at: u64, thread: Option<u64>) -> Case {
    Case {
        id,
        title: "KB5034441 fails with 0x80070643".into(),
        problem: "Monthly update rolls back on three laptops".into(),
        lang: diagnosis::Lang::En,
        opener: "alice".into(),
        opener_id: None,
        guild_id: None,
        channel_id: Some(10),
        thread_id: thread,
        status: CaseStatus::Open,
        devices: BTreeMap::new(),
        timeline: Vec::new(),
        close_reason: None,
        summary: None,
        created_at,
        updated_at: created_at,
    }
}

/// A diagnosis whose top finding is `root_cause` about `service` (a confident one), or with
/// only a hint below the confidence threshold when `confident` is false.
pub(crate) fn sample_diagnosis(
    root_cause: &str,
    service: &str,
    confident: bool,
) -> diagnosis::Diagnosis {
    let json = serde_json::json!({
        "schema": "casebot.diagnosis.v2",
        "bundle": {"name": "logs.zip", "sha256": "ab", "bytes": 1, "files": [], "skipped": []},
        "device": {"name": null, "os_build": null, "updates": []},
        "findings": [{
            "root_cause": root_cause, "rule": "r", "title": "t",
            "confidence": if confident { 0.95 } else { 0.3 },
            "subject": {"service": service}, "codes": [], "evidence": [], "steps": []
        }],
        "unexplained": []
    });
    serde_json::from_value(json).expect("a diagnosis")
}

/// `case` with device `name` diagnosed as `d`.
pub(crate) fn with_device(mut case: Case, name: &str, d: Option<diagnosis::Diagnosis>) -> Case {
    case.devices.insert(
        name.into(),
        crate::DeviceRecord {
            name: name.into(),
            status: crate::DeviceStatus::Diagnosed,
            bundles: Vec::new(),
            diagnosis: d,
            verification: None,
        },
    );
    case
}

/// A journal entry for `case`.
pub(crate) fn sample_job(id: &str, case: &CaseId, accepted_at: u64) -> JournalEntry {
    JournalEntry {
        id: id.into(),
        case_id: case.clone(),
        device: "LAPTOP-7".into(),
        bundle_sha256: "ab".repeat(32),
        bundle_name: "logs.zip".into(),
        author: "bob".into(),
        accepted_at,
    }
}

/// Generate one `#[test]` per suite function for a backend.
macro_rules! run_suite {
    ($backend:ident, $make:expr, [$($name:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    let (store, _guard) = $make;
                    super::suite::$name(&store);
                }
            )*
        }
    };
}

/// The suite against PostgreSQL: one database per test in the shared throwaway cluster; skipped
/// with a printed reason when no server can be started (a failure when CI requires it).
macro_rules! run_pg_suite {
    ([$($name:ident),* $(,)?]) => {
        mod pg {
            $(
                #[test]
                fn $name() {
                    if let Some((store, _guard)) = super::pg_store(concat!("pg::", stringify!($name))) {
                        super::suite::$name(&store);
                    }
                }
            )*
        }
    };
}

/// The suite against an encrypted PostgreSQL store, like [`run_pg_suite`].
macro_rules! run_pg_encrypted_suite {
    ([$($name:ident),* $(,)?]) => {
        mod pg_encrypted {
            $(
                #[test]
                fn $name() {
                    let test = concat!("pg_encrypted::", stringify!($name));
                    if let Some((store, _guard)) = super::pg_encrypted_store(test) {
                        super::suite::$name(&store);
                    }
                }
            )*
        }
    };
}

/// An encrypted `PgStore` on a fresh database, or `None` (reason printed) without PostgreSQL.
pub(crate) fn pg_encrypted_store(test: &str) -> Option<(crate::PgStore, tempfile::TempDir)> {
    let cluster = crate::pg::cluster::TestCluster::or_skip(test)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = crate::StoreKey::generate();
    let url = cluster.database();
    let store = crate::PgStore::open_keyed(&url, dir.path().join("cache"), Some(&key));
    Some((store.expect("open"), dir))
}

/// A `PgStore` on a fresh database, or `None` (reason printed) without PostgreSQL.
pub(crate) fn pg_store(test: &str) -> Option<(crate::PgStore, tempfile::TempDir)> {
    let cluster = crate::pg::cluster::TestCluster::or_skip(test)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::PgStore::open(&cluster.database(), dir.path().join("cache")).expect("open");
    Some((store, dir))
}

macro_rules! all_backends {
    ($($name:ident),* $(,)?) => {
        run_suite!(mem, (crate::MemStore::new(), ()), [$($name),*]);
        run_suite!(sled, {
            let dir = tempfile::tempdir().expect("tempdir");
            (crate::SledStore::open(dir.path().join("store")).expect("open"), dir)
        }, [$($name),*]);
        // The same behaviour from an encrypted store.
        run_suite!(sled_encrypted, {
            let dir = tempfile::tempdir().expect("tempdir");
            let key = crate::StoreKey::generate();
            let store = crate::SledStore::open_keyed(dir.path().join("store"), Some(&key));
            (store.expect("open"), dir)
        }, [$($name),*]);
        run_pg_suite!([$($name),*]);
        run_pg_encrypted_suite!([$($name),*]);
    };
}

all_backends!(
    ids_are_well_formed_and_unique,
    create_get_update_list,
    latest_cases_come_newest_first_as_kept,
    redelivered_create_is_duplicate,
    a_created_case_is_found_by_its_message_id,
    deleting_a_case_and_a_bundle_leaves_the_rest,
    redelivered_update_changes_nothing,
    update_of_missing_case_is_not_found,
    update_may_not_change_id,
    create_with_existing_id_is_refused,
    mark_processed_once,
    thread_bindings_follow_the_case,
    bundles_are_content_addressed,
    downloaded_bundles_are_adopted,
    journal_add_list_remove,
    export_import_round_trip,
    import_merges_into_non_empty_store,
    import_conflict_changes_nothing,
    import_bad_input_names_the_line,
    concurrent_updates_lose_nothing,
    prune_forgets_only_old_message_ids,
    import_migrates_old_case_lines,
    export_import_carries_bundles,
    recurrence_index_follows_every_case_change,
    recurrence_lists_the_latest_and_counts_them_all,
    imported_cases_are_in_the_recurrence_index,
);
