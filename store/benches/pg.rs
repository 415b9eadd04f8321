//! PostgreSQL scale-out benchmark: acknowledged case updates/s and diagnoses/min with 1, 2 and
//! 4 processes sharing one database.
//!
//! `cargo bench -p store --features test-cluster --bench pg` starts a throwaway cluster (as the
//! tests do) and prints the figures. A "process" here is one `PgStore` with its own connection
//! pool and its own worker threads, exactly what a `casebot serve` process holds; they share
//! nothing but the server. Every update carries a message id (idempotency) and goes through the
//! optimistic version check. A diagnosis is the whole job path: take a job over from the job
//! table (`FOR UPDATE SKIP LOCKED`), fetch its bundle, run the engine, record the result on the
//! case with the job's id as message id, remove the job.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use store::pg::cluster::TestCluster;
use store::{Case, CaseId, CaseStatus, CaseStore, JournalEntry, PgStore, TimelineEntry};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (cases, duration, jobs) = if full {
        (1_000, Duration::from_secs(5), 60)
    } else {
        (20, Duration::from_millis(200), 4)
    };
    let cluster = match TestCluster::shared() {
        Ok(c) => c,
        Err(reason) => {
            eprintln!("pg bench skipped: PostgreSQL is unavailable ({reason})");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/bundles/device1.zip");
    for processes in [1, 2, 4] {
        let url = cluster.database();
        let stores: Vec<PgStore> = (0..processes)
            .map(|p| {
                PgStore::open(&url, dir.path().join(format!("{processes}-{p}"))).expect("open")
            })
            .collect();
        let ids = create_cases(&stores[0], cases);
        let (done, secs) = updates(&stores, &ids, 4, duration);
        println!(
            "{processes} process(es) × 4 writers: {done} acknowledged updates in {secs:.2}s = \
             {:.0} updates/s",
            done as f64 / secs
        );
        let (done, secs) = diagnoses(&url, &stores, &ids, &bundle, jobs, dir.path());
        println!(
            "{processes} process(es) × 2 diagnosis workers: {done} diagnoses in {secs:.2}s = \
             {:.0} diagnoses/min",
            done as f64 * 60.0 / secs
        );
    }
}

fn create_cases(store: &PgStore, n: usize) -> Vec<CaseId> {
    (0..n)
        .map(|i| {
            let id = store.new_case_id().expect("id");
            let case = Case {
                id: id.clone(),
                title: format!("KB5034763 rolls back on device {i}"),
                problem: "0x800f0922 after reboot".into(),
                lang: Default::default(),
                opener: "alice".into(),
                opener_id: None,
                guild_id: None,
                channel_id: Some(1),
                thread_id: Some(1_000_000 + i as u64),
                status: CaseStatus::Open,
                devices: Default::default(),
                timeline: Vec::new(),
                close_reason: None,
                summary: None,
                created_at: i as u64,
                updated_at: i as u64,
            };
            store.create(case, None).expect("create");
            id
        })
        .collect()
}

/// Every process's writers update random cases until `duration` has passed.
fn updates(stores: &[PgStore], ids: &[CaseId], writers: usize, duration: Duration) -> (u64, f64) {
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (p, store) in stores.iter().enumerate() {
            for w in 0..writers {
                let done = &done;
                scope.spawn(move || {
                    let mut n = 0u64;
                    while started.elapsed() < duration {
                        n += 1;
                        let pick = (n as usize * 7919 + w * 104_729 + p * 31) % ids.len();
                        let mid = format!("bench-{p}-{w}-{n}");
                        let note = TimelineEntry {
                            at: n,
                            author: "bench".into(),
                            kind: "note".into(),
                            text: mid.clone(),
                        };
                        store
                            .update(&ids[pick], Some(&mid), &mut |c| {
                                c.timeline.push(note.clone())
                            })
                            .expect("update");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        }
    });
    (
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

/// Queue `jobs` diagnoses (left by a process that died), then let every process's workers take
/// them over and finish them.
fn diagnoses(
    url: &str,
    stores: &[PgStore],
    ids: &[CaseId],
    bundle: &Path,
    jobs: usize,
    dir: &Path,
) -> (u64, f64) {
    let dead = PgStore::open(url, dir.join("dead"))
        .expect("open")
        .with_lease(Duration::from_millis(1));
    let stored = dead
        .put_bundle(&mut std::fs::File::open(bundle).expect("fixture bundle"))
        .expect("bundle");
    for i in 0..jobs {
        dead.journal_add(&JournalEntry {
            id: format!("job-{i}"),
            case_id: ids[i % ids.len()].clone(),
            device: "wcc0021z675842".into(),
            bundle_sha256: stored.sha256.clone(),
            bundle_name: "device1.zip".into(),
            author: "bench".into(),
            accepted_at: i as u64,
        })
        .expect("job");
    }
    drop(dead);
    std::thread::sleep(Duration::from_millis(10));
    let rules = diagnosis::RuleSet::builtin().expect("rules");
    let limits = diagnosis::Limits::default();
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for store in stores {
            for _ in 0..2 {
                let (done, rules, limits) = (&done, &rules, &limits);
                scope.spawn(move || {
                    while let Some(job) = store.take_over_at_most(1).expect("take").pop() {
                        let path = store
                            .bundle_path(&job.bundle_sha256)
                            .expect("path")
                            .expect("bundle");
                        let d = diagnosis::diagnose_path(&path, rules, limits).expect("diagnose");
                        let text = d
                            .findings
                            .first()
                            .map(|f| f.root_cause.clone())
                            .unwrap_or_default();
                        store
                            .update(&job.case_id, Some(&job.id), &mut |c| {
                                c.timeline.push(TimelineEntry {
                                    at: 1,
                                    author: "casebot".into(),
                                    kind: "diagnosis".into(),
                                    text: text.clone(),
                                })
                            })
                            .expect("record");
                        store.journal_remove(&job.id).expect("remove");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        }
    });
    (
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}
