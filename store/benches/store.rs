//! Store benchmark: acknowledged case-update throughput and on-disk size for 10,000 cases.
//!
//! `cargo bench -p store` prints the figures. Every update counted here is acknowledged in the
//! crate's sense (committed and fsynced, group commit) and carries a message id, as in the bot.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small smoke run.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use store::{
    BundleRef, Case, CaseId, CaseStatus, CaseStore, DeviceRecord, DeviceStatus, SledStore,
    TimelineEntry,
};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (cases, duration) = if full {
        (10_000, Duration::from_secs(5))
    } else {
        (200, Duration::from_millis(200))
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path().join("store")).expect("open");
    let started = Instant::now();
    let ids = create_cases(&store, cases, 16);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "create: {cases} cases with 16 writers in {secs:.2}s ({:.0} acknowledged creates/s)",
        cases as f64 / secs
    );
    report_size(&store, dir.path(), cases, "after create");
    for writers in [1, 4, 16, 64] {
        let (done, secs) = update_for(&store, &ids, writers, duration);
        println!(
            "update: {writers:>2} concurrent writers: {done} acknowledged updates in {secs:.2}s \
             = {:.0} updates/s",
            done as f64 / secs
        );
    }
    report_size(&store, dir.path(), cases, "after updates");
    drop(store);
    let store = SledStore::open(dir.path().join("store")).expect("reopen");
    report_size(&store, dir.path(), cases, "after reopen");
    compact_by_export(&store, cases);
}

/// Export and import into a fresh store: the figures for the compaction path.
fn compact_by_export(store: &SledStore, cases: usize) {
    let mut dump = Vec::new();
    let started = Instant::now();
    let records = store.export(&mut dump).expect("export");
    let exported = started.elapsed().as_secs_f64();
    let fresh = tempfile::tempdir().expect("tempdir");
    let copy = SledStore::open(fresh.path().join("store")).expect("open");
    let started = Instant::now();
    copy.import(&mut dump.as_slice()).expect("import");
    let imported = started.elapsed().as_secs_f64();
    println!(
        "export: {records} records, {:.1} MiB of JSON lines in {exported:.2}s; import into an \
         empty store in {imported:.2}s",
        dump.len() as f64 / 1048576.0
    );
    report_size(&copy, fresh.path(), cases, "after export+import");
}

fn report_size(store: &SledStore, dir: &Path, cases: usize, when: &str) {
    store.flush().expect("flush");
    let db = store.size_on_disk().expect("size");
    let total = dir_size(dir);
    println!(
        "size {when}: database {:.1} MiB (sled's count), directory {:.1} MiB, {:.0} bytes/case",
        db as f64 / 1048576.0,
        total as f64 / 1048576.0,
        total as f64 / cases as f64
    );
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn create_cases(store: &SledStore, n: usize, writers: usize) -> Vec<CaseId> {
    let next = AtomicU64::new(0);
    let mut ids = Vec::with_capacity(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while (next.fetch_add(1, Ordering::Relaxed) as usize) < n {
                        let id = store.new_case_id().expect("id");
                        let mid = format!("open-{id}");
                        store
                            .create(realistic_case(id.clone()), Some(&mid))
                            .expect("create");
                        mine.push(id);
                    }
                    mine
                })
            })
            .collect();
        for handle in handles {
            ids.extend(handle.join().expect("writer"));
        }
    });
    ids
}

/// `writers` threads update random cases until `duration` passes; returns (updates, seconds).
fn update_for(store: &SledStore, ids: &[CaseId], writers: u64, duration: Duration) -> (u64, f64) {
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let done = &done;
            scope.spawn(move || {
                let mut i = 0u64;
                while started.elapsed() < duration {
                    let pick = (w * 7919 + i * 104_729) as usize % ids.len();
                    let mid = format!("bench-{writers}-{w}-{i}");
                    store
                        .update(&ids[pick], Some(&mid), &mut |c| {
                            c.timeline.push(entry("engineer", "note", &mid));
                            c.updated_at += 1;
                        })
                        .expect("update");
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    (
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

fn entry(author: &str, kind: &str, text: &str) -> TimelineEntry {
    TimelineEntry {
        at: 1_700_000_000,
        author: author.into(),
        kind: kind.into(),
        text: text.into(),
    }
}

/// A case the size of a typical one: a device with a bundle, a few timeline events.
fn realistic_case(id: CaseId) -> Case {
    let device = DeviceRecord {
        name: "LAPTOP-042".into(),
        status: DeviceStatus::AwaitingLogs,
        bundles: vec![BundleRef {
            sha256: "3f".repeat(32),
            name: "CBS-logs.zip".into(),
            bytes: 4_812_331,
            added_at: 1_700_000_000,
        }],
        diagnosis: None,
        verification: None,
    };
    Case {
        id,
        title: "KB5034441 fails with 0x80070643 on three laptops".into(),
        problem: "The January security update rolls back after reboot on three of our \
                  laptops; WinRE partition may be too small."
            .into(),
        lang: diagnosis::Lang::En,
        opener: "customer-1234".into(),
        opener_id: None,
        guild_id: None,
        channel_id: Some(1_100_000_000_000_000_000),
        thread_id: None,
        status: CaseStatus::AwaitingLogs,
        devices: BTreeMap::from([("LAPTOP-042".to_string(), device)]),
        timeline: vec![
            entry("customer-1234", "open", "opened the case"),
            entry("casebot", "note", "asked for CBS and WindowsUpdate logs"),
            entry("customer-1234", "bundle", "uploaded CBS-logs.zip"),
        ],
        close_reason: None,
        summary: None,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
    }
}
