//! PostgreSQL-only behaviour: migrations at start-up, a database newer than the binary, bundles
//! shared between processes, and concurrent writers in different processes (two stores on one
//! database stand for two processes: they share nothing but the server).

use std::io::Cursor;

use crate::pg::cluster::TestCluster;
use crate::{Applied, CaseStore, PgStore, Recurrence, StoreError, TimelineEntry};

use super::sample_case;
use super::suite::{conclusion, diagnosed};

fn cluster(test: &str) -> Option<&'static TestCluster> {
    TestCluster::or_skip(test)
}

fn open(url: &str, cache: &std::path::Path) -> PgStore {
    PgStore::open(url, cache).expect("open")
}

#[test]
fn migrations_are_applied_once_and_recorded() {
    let Some(cluster) = cluster("pg_only::migrations_are_applied_once_and_recorded") else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = open(&url, &dir.path().join("a"));
    assert_eq!(
        first.schema_version().expect("version"),
        PgStore::latest_schema_version()
    );
    // A second process starting on the same database applies nothing and keeps the data.
    let id = first.new_case_id().expect("id");
    first
        .create(sample_case(id.clone(), 1, Some(9)), None)
        .expect("create");
    let second = open(&url, &dir.path().join("b"));
    assert_eq!(second.get(&id).expect("get").map(|c| c.id), Some(id));
    let name = url.rsplit('/').next().expect("db name");
    let rows = cluster
        .psql(name, "SELECT count(*) FROM casebot_schema")
        .expect("psql");
    assert_eq!(rows, PgStore::latest_schema_version().to_string());
}

#[test]
fn the_recurrence_migration_indexes_existing_cases() {
    let Some(cluster) = cluster("pg_only::the_recurrence_migration_indexes_existing_cases") else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = {
        let store = open(&url, &dir.path().join("a"));
        let a = diagnosed(&store, 1, "reboot-pending", "x");
        let b = diagnosed(&store, 2, "reboot-pending", "x");
        (a, b)
    };
    // As a database of schema version 2, before the index existed.
    let name = url.rsplit('/').next().expect("db name");
    cluster
        .psql(
            name,
            "DROP TABLE recurrence, recurrence_counts, store_encryption; \
             DELETE FROM casebot_schema WHERE version >= 3",
        )
        .expect("psql");
    let store = open(&url, &dir.path().join("b"));
    assert_eq!(
        store.schema_version().expect("version"),
        PgStore::latest_schema_version()
    );
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
fn a_database_newer_than_the_binary_is_refused() {
    let Some(cluster) = cluster("pg_only::a_database_newer_than_the_binary_is_refused") else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(&url, &dir.path().join("a")));
    let name = url.rsplit('/').next().expect("db name");
    let future = PgStore::latest_schema_version() + 1;
    cluster
        .psql(
            name,
            &format!("INSERT INTO casebot_schema (version) VALUES ({future})"),
        )
        .expect("psql");
    let err = PgStore::open(&url, dir.path().join("b")).expect_err("refused");
    assert!(
        matches!(err, StoreError::TooNew { found, .. } if found == future),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&format!("schema version {future}")), "{text}");
    assert!(text.contains(name), "names the database: {text}");
}

#[test]
fn unreachable_server_names_the_target_not_the_password() {
    // A port nothing listens on: bind one and close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("postgres://casebot:hunter2@127.0.0.1:{port}/cases");
    let err = PgStore::open(&url, dir.path()).expect_err("no server");
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(text.contains(&format!("127.0.0.1:{port}/cases")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let bad = PgStore::open("postgres://[broken", dir.path()).expect_err("bad url");
    assert!(
        bad.to_string().contains("not a valid PostgreSQL URL"),
        "{bad}"
    );
}

#[test]
fn bundles_live_in_the_database_and_reach_every_process() {
    let Some(cluster) = cluster("pg_only::bundles_live_in_the_database_and_reach_every_process")
    else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = open(&url, &dir.path().join("a"));
    let b = open(&url, &dir.path().join("b"));
    // Larger than one chunk, not a multiple of it.
    let data: Vec<u8> = (0..2_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let put = a.put_bundle(&mut Cursor::new(data.clone())).expect("put");
    assert!(!put.duplicate);
    let path = b
        .bundle_path(&put.sha256)
        .expect("path")
        .expect("the other process finds it");
    assert!(path.starts_with(dir.path().join("b")), "{path:?}");
    assert_eq!(std::fs::read(&path).expect("read"), data);
    let again = b.put_bundle(&mut Cursor::new(data)).expect("put");
    assert!(again.duplicate, "stored by another process");
    let name = url.rsplit('/').next().expect("db name");
    let chunks = cluster
        .psql(name, "SELECT count(*) FROM bundle_chunks")
        .expect("psql");
    assert_eq!(chunks, "3", "2.5 MB in 1 MiB chunks");
    // Damage in the database is detected, not served.
    let c = open(&url, &dir.path().join("c"));
    cluster
        .psql(
            name,
            "UPDATE bundle_chunks SET data = overlay(data placing '\\x00'::bytea from 5) \
             WHERE n = 1",
        )
        .expect("psql");
    let err = c.bundle_path(&put.sha256).expect_err("damaged");
    assert!(err.to_string().contains(&put.sha256), "{err}");
}

#[test]
fn two_processes_updating_one_case_lose_nothing() {
    let Some(cluster) = cluster("pg_only::two_processes_updating_one_case_lose_nothing") else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = [
        open(&url, &dir.path().join("a")),
        open(&url, &dir.path().join("b")),
    ];
    let id = stores[0].new_case_id().expect("id");
    stores[0]
        .create(sample_case(id.clone(), 1, None), None)
        .expect("create");
    std::thread::scope(|scope| {
        for (p, store) in stores.iter().enumerate() {
            for t in 0..3 {
                let id = &id;
                scope.spawn(move || {
                    for i in 0..20 {
                        let mid = format!("m-{t}-{i}");
                        let note = TimelineEntry {
                            at: 1,
                            author: format!("engineer-{p}"),
                            kind: "note".into(),
                            text: format!("{p}-{t}-{i}"),
                        };
                        // Both processes receive every event (a redelivery): one applies it.
                        store
                            .update(id, Some(&mid), &mut |c| c.timeline.push(note.clone()))
                            .expect("update");
                    }
                });
            }
        }
    });
    let case = stores[1].get(&id).expect("get").expect("present");
    let mut texts: Vec<&str> = case.timeline.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts.len(), 60, "each message applied exactly once");
    texts.sort_by_key(|t| t[2..].to_string());
    texts.dedup_by_key(|t| t[2..].to_string());
    assert_eq!(texts.len(), 60, "no message applied twice");
    assert!(matches!(
        stores[0].update(&id, Some("m-0-0"), &mut |c| c.title.push('!')),
        Ok(Applied::Duplicate)
    ));
}

#[test]
fn jobs_of_a_dead_process_are_taken_over_once_after_the_lease() {
    let Some(cluster) =
        cluster("pg_only::jobs_of_a_dead_process_are_taken_over_once_after_the_lease")
    else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("tempdir");
    let lease = std::time::Duration::from_millis(600);
    let dying = open(&url, &dir.path().join("a")).with_lease(lease);
    let alive = open(&url, &dir.path().join("b")).with_lease(lease);
    let case = dying.new_case_id().expect("id");
    dying
        .create(sample_case(case.clone(), 1, None), None)
        .expect("create");
    for i in 0..40 {
        dying
            .journal_add(&super::sample_job(&format!("job-{i:02}"), &case, i))
            .expect("add");
    }
    // While the accepting process lives and renews, nobody else takes its jobs.
    assert!(alive.journal_take_over().expect("take").is_empty());
    std::thread::sleep(lease / 2);
    dying.journal_renew().expect("renew");
    std::thread::sleep(lease / 2);
    assert!(
        alive.journal_take_over().expect("take").is_empty(),
        "renewed"
    );
    // The process dies (no more renewals); after the lease, the jobs are taken over, each by
    // exactly one of several takers racing for them.
    drop(dying);
    std::thread::sleep(lease + std::time::Duration::from_millis(100));
    let takers: Vec<PgStore> = (0..3)
        .map(|i| open(&url, &dir.path().join(format!("t{i}"))).with_lease(lease))
        .chain([alive])
        .collect();
    let mut taken: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = takers
            .iter()
            .map(|t| scope.spawn(move || t.journal_take_over().expect("take")))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("join"))
            .map(|e| e.id)
            .collect()
    });
    taken.sort();
    let want: Vec<String> = (0..40).map(|i| format!("job-{i:02}")).collect();
    assert_eq!(taken, want, "every job taken over exactly once");
    // Now leased to their new owners: nobody takes them again.
    assert!(
        takers
            .iter()
            .all(|t| t.journal_take_over().expect("take").is_empty())
    );
    assert_eq!(
        takers[0].journal_list().expect("list").len(),
        40,
        "still unfinished"
    );
}

#[test]
fn a_restarted_single_process_store_resumes_everything() {
    // The embedded stores hand out all unfinished work after a restart (no leases).
    let store = crate::MemStore::new();
    let case = crate::CaseId::parse("CAS-00001-ABCDEF").expect("id");
    store
        .journal_add(&super::sample_job("j", &case, 1))
        .expect("add");
    assert_eq!(store.journal_take_over().expect("take").len(), 1);
    assert_eq!(store.lease(), None);
}

#[test]
fn an_encrypted_database_keeps_no_case_text_or_log_line_in_clear() {
    let Some(cluster) =
        cluster("pg_only::an_encrypted_database_keeps_no_case_text_or_log_line_in_clear")
    else {
        return;
    };
    const NOTE: &str = "Winmgmt disabled on WCC0021Z675842 per Zhang Wei";
    const LOG_LINE: &str = "Failed execution of queue item Installer: WMI";
    let key = crate::StoreKey::generate();
    let url = cluster.database();
    let name = url.rsplit('/').next().expect("db name");
    let dir = tempfile::tempdir().expect("tempdir");
    let (id, sha) = {
        let store = PgStore::open_keyed(&url, dir.path().join("a"), Some(&key)).expect("open");
        assert!(store.is_encrypted());
        let id = store.new_case_id().expect("id");
        let mut case = sample_case(id.clone(), 1, Some(5));
        case.timeline.push(TimelineEntry {
            at: 2,
            author: "alice".into(),
            kind: "note".into(),
            text: NOTE.into(),
        });
        store.create(case, None).expect("create");
        let mut job = super::sample_job("job-1", &id, 3);
        job.bundle_name = "private-bundle.zip".into();
        store.journal_add(&job).expect("job");
        let log = format!("{LOG_LINE}\n").repeat(5000);
        let sha = store
            .put_bundle(&mut Cursor::new(log))
            .expect("bundle")
            .sha256;
        (id, sha)
    };
    // What the server holds: no note, job or log line in clear (and the columns are there).
    let raw = cluster
        .psql(
            name,
            "SELECT doc::text FROM cases UNION ALL SELECT entry::text FROM jobs \
             UNION ALL SELECT encode(data, 'escape') FROM bundle_chunks",
        )
        .expect("psql");
    assert!(raw.contains("sealed"), "{raw}");
    for text in [NOTE, LOG_LINE, "private-bundle.zip", "KB5034441"] {
        assert!(!raw.contains(text), "{text:?} is in the database in clear");
    }

    // Another process (its own cache) with the key reads everything back.
    let other = PgStore::open_keyed(&url, dir.path().join("b"), Some(&key)).expect("open");
    let case = other.get(&id).expect("get").expect("case");
    assert_eq!(case.timeline[0].text, NOTE);
    assert_eq!(
        other.journal_list().expect("jobs")[0].bundle_name,
        "private-bundle.zip"
    );
    let copy = other.open_bundle(&sha).expect("open").expect("bundle");
    let text = std::fs::read_to_string(copy.path()).expect("read");
    assert!(text.starts_with(LOG_LINE));
    drop(copy);
    assert!(other.delete_case(&id).expect("delete"));
    assert!(
        other.journal_list().expect("jobs").is_empty(),
        "its jobs went with it"
    );

    // Without the key, with another, or a key for a plain database that holds records: refused.
    let err = PgStore::open(&url, dir.path().join("c")).expect_err("no key");
    assert!(matches!(err, StoreError::KeyRequired { .. }), "{err:?}");
    let wrong = crate::StoreKey::generate();
    let err = PgStore::open_keyed(&url, dir.path().join("c"), Some(&wrong)).expect_err("wrong");
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    let plain_url = cluster.database();
    let plain = open(&plain_url, &dir.path().join("d"));
    let id = plain.new_case_id().expect("id");
    plain
        .create(sample_case(id, 1, None), None)
        .expect("create");
    let err = PgStore::open_keyed(&plain_url, dir.path().join("e"), Some(&key)).expect_err("plain");
    assert!(matches!(err, StoreError::NotEncrypted { .. }), "{err:?}");
}
