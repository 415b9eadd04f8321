//! Recurrence and listing benchmark: "seen in N other cases", the `cases` listing and case
//! updates as the store grows from 1,000 to 100,000 cases, on the embedded store and in memory.
//!
//! `cargo bench -p store --bench recurrence` prints, per store and size: the time to fill the
//! store, the mean time of a recurrence lookup (the store's index, as the handlers ask it after
//! every diagnosis), the same lookup done the old way (reading every case) once, the mean time
//! of a `cases` listing (the 20 newest cases, for an engineer and for one customer, from the
//! store's listing index) next to the old way (reading every case) once, and the mean time of
//! an acknowledged update that re-diagnoses a case (moving it in the index). Cases are
//! generated deterministically: case `i` concludes one of 37 root causes about one of 5
//! services, so a lookup at 100,000 cases finds about 540 others, and is opened by one of 50
//! customers. Without `--bench` (as `cargo test --all-targets` runs it) it does a small smoke
//! run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use store::{
    BundleRef, Case, CaseId, CaseStatus, CaseStore, Conclusion, DeviceRecord, DeviceStatus,
    MemStore, RECURRENCE_LISTED, SledStore, TimelineEntry,
};

/// Distinct root causes the generated cases spread over (the catalogue has 37; the index
/// only needs distinct keys).
const CAUSES: usize = 37;
/// Customers the generated cases are opened by.
const OPENERS: usize = 50;
/// Cases a `cases` listing shows.
const LISTED: usize = 20;
const SERVICES: &[&str] = &[
    "Winmgmt",
    "BITS",
    "wuauserv",
    "CryptSvc",
    "TrustedInstaller",
];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sizes, lookups, updates): (&[usize], usize, usize) = if full {
        (&[1_000, 100_000], 2_000, 300)
    } else {
        (&[100, 1_000], 50, 10)
    };
    println!(
        "store      cases    fill        lookup (index)  lookup (read every case)  \
         cases (index)  cases (read every case)  update"
    );
    for &n in sizes {
        let mem = MemStore::new();
        run("memory", &mem, n, lookups, updates);
        let dir = tempfile::tempdir().expect("tempdir");
        let sled = SledStore::open(dir.path().join("store")).expect("open");
        run("sled", &sled, n, lookups, updates);
        sled.flush().expect("flush");
        println!(
            "{:<10} {n:>7}    database {:.1} MiB on disk",
            "sled",
            sled.size_on_disk().expect("size") as f64 / 1048576.0
        );
    }
}

fn run(name: &str, store: &dyn CaseStore, n: usize, lookups: usize, updates: usize) {
    let started = Instant::now();
    let ids = fill(store, n);
    let fill = started.elapsed().as_secs_f64();
    // Lookups as the handlers make them: the conclusion of case k, asked from case k.
    let started = Instant::now();
    let mut found = 0;
    for i in 0..lookups {
        let k = (i * 7919) % n;
        let r = store
            .recurrence(&conclusion(k), &ids[k], RECURRENCE_LISTED)
            .expect("recurrence");
        found += r.count;
    }
    let lookup = started.elapsed().as_secs_f64() / lookups as f64;
    let started = Instant::now();
    let cases = store.list().expect("list");
    let scanned = cases
        .iter()
        .filter(|c| c.id != ids[0] && c.conclusions().contains(&conclusion(0)))
        .count();
    let scan = started.elapsed().as_secs_f64();
    drop(cases);
    let (listing, listing_scan) = listings(store, lookups);
    // Re-diagnoses: each moves a case to another conclusion, acknowledged (fsynced).
    let started = Instant::now();
    for i in 0..updates {
        let k = (i * 104_729) % n;
        let mid = format!("bench-{n}-{i}");
        store
            .update(&ids[k], Some(&mid), &mut |c| {
                *c = diagnosed(c.id.clone(), k + i + 1, c.created_at);
            })
            .expect("update");
    }
    let update = started.elapsed().as_secs_f64() / updates as f64;
    println!(
        "{name:<10} {n:>7}    {fill:>7.2} s   {:>9.1} µs    {:>9.1} ms ({scanned} found)   \
         {:>8.1} µs   {:>9.1} ms               {:>7.3} ms   (mean {} others per lookup)",
        lookup * 1e6,
        scan * 1e3,
        listing * 1e6,
        listing_scan * 1e3,
        update * 1e3,
        found / lookups as u64
    );
}

/// The `cases` listing: the mean time of `rounds` listings from the index (an engineer's, who
/// sees every case, and a customer's, who sees the cases they opened, alternately), and of one
/// done the old way (reading every case, as the command did before the index). Checks that
/// both give the same cases.
fn listings(store: &dyn CaseStore, rounds: usize) -> (f64, f64) {
    let started = Instant::now();
    for i in 0..rounds {
        let customer = opener(i);
        let cases = if i % 2 == 0 {
            store.latest(&mut |_| true, LISTED)
        } else {
            store.latest(&mut |c| c.opener == customer, LISTED)
        };
        assert!(
            !cases.expect("latest").is_empty(),
            "every customer has cases"
        );
    }
    let listing = started.elapsed().as_secs_f64() / rounds as f64;
    let started = Instant::now();
    let customer = opener(1);
    let all = store.list().expect("list");
    let old: Vec<&Case> = all
        .iter()
        .rev()
        .filter(|c| c.opener == customer)
        .take(LISTED)
        .collect();
    let scan = started.elapsed().as_secs_f64();
    let new = store
        .latest(&mut |c| c.opener == customer, LISTED)
        .expect("latest");
    assert!(old.iter().map(|c| &c.id).eq(new.iter().map(|c| &c.id)));
    (listing, scan)
}

/// Who opened case `i`.
fn opener(i: usize) -> String {
    format!("customer-{}", i % OPENERS)
}

/// Fill `store` with `n` diagnosed cases, 16 writers at once.
fn fill(store: &dyn CaseStore, n: usize) -> Vec<CaseId> {
    let next = AtomicUsize::new(0);
    let mut ids: Vec<(usize, CaseId)> = Vec::with_capacity(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        let id = store.new_case_id().expect("id");
                        let case = diagnosed(id.clone(), i, 1_700_000_000 + i as u64);
                        store.create(case, None).expect("create");
                        mine.push((i, id));
                    }
                })
            })
            .collect();
        for h in handles {
            ids.extend(h.join().expect("writer"));
        }
    });
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}

/// What case `i` concludes.
fn conclusion(i: usize) -> Conclusion {
    Conclusion {
        root_cause: format!("root-cause-{}", i % CAUSES),
        subject: BTreeMap::from([(
            "service".to_string(),
            SERVICES[(i / CAUSES) % SERVICES.len()].to_string(),
        )]),
    }
}

/// A case created at `at` whose device concludes [`conclusion`] `i`, with a diagnosis the size
/// of a real one (evidence lines, steps).
fn diagnosed(id: CaseId, i: usize, at: u64) -> Case {
    let c = conclusion(i);
    let evidence: Vec<serde_json::Value> = (0..4)
        .map(|l| {
            serde_json::json!({"file": "PC/Logs/CBS/CBS.log", "line": 1000 + l,
                "text": "2024-02-14 10:01:06, Error CSI 00000022 (F) Failed execution of queue item Installer: WMI ({81a34a10-4256-436a-89d6-794b97ca407c}) with HRESULT HRESULT_FROM_WIN32(1058)."})
        })
        .collect();
    let d = serde_json::json!({
        "schema": "casebot.diagnosis.v2",
        "bundle": {"name": "logs.zip", "sha256": "3f".repeat(32), "bytes": 4_812_331,
                   "files": [{"path": "PC/Logs/CBS/CBS.log", "kind": "cbs", "encoding": "utf-8",
                              "bytes": 4_000_000, "lines": 40_000}],
                   "skipped": []},
        "device": {"name": "PC", "os_build": "19041.4046", "updates": ["KB5034763"]},
        "findings": [{
            "root_cause": c.root_cause, "rule": "r", "title": "A title",
            "confidence": 0.95, "subject": c.subject, "codes": [], "evidence": evidence,
            "steps": [{"text": "Set the service to Automatic",
                       "command": "sc config winmgmt start= auto"}]
        }],
        "unexplained": []
    });
    let device = DeviceRecord {
        name: "PC".into(),
        status: DeviceStatus::Diagnosed,
        bundles: vec![BundleRef {
            sha256: "3f".repeat(32),
            name: "logs.zip".into(),
            bytes: 4_812_331,
            added_at: at,
        }],
        diagnosis: Some(serde_json::from_value(d).expect("diagnosis")),
        verification: None,
    };
    Case {
        id,
        title: "KB5034763 rolls back".into(),
        problem: "The February update rolls back after reboot".into(),
        lang: diagnosis::Lang::En,
        opener: opener(i),
        opener_id: None,
        guild_id: None,
        channel_id: Some(1),
        thread_id: None,
        status: CaseStatus::Diagnosed,
        devices: BTreeMap::from([("PC".to_string(), device)]),
        timeline: vec![TimelineEntry {
            at,
            author: "casebot".into(),
            kind: "diagnosis".into(),
            text: "diagnosed".into(),
        }],
        close_reason: None,
        summary: None,
        created_at: at,
        updated_at: at,
    }
}
