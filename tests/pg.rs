//! Integration tests: PostgreSQL. `casebot cases export` from sled and `import` into PostgreSQL
//! and back, bundles included, through the real binary; a real throwaway cluster
//! (`store::pg::cluster`), skipped with a printed reason when none can be started (a failure
//! when `CASEBOT_PG_REQUIRE` is set, as in CI).

use std::path::Path;
use std::process::Command;

use store::pg::cluster::TestCluster;
use store::{CaseId, CaseStatus, CaseStore, PgStore, SledStore};

mod serve;

const CLI: &str = env!("CARGO_BIN_EXE_casebot-cli");

/// Run the casebot binary in `dir` with the database URL in its environment.
fn cli(args: &[&str], dir: &Path, url: &str) -> std::process::Output {
    Command::new(CLI)
        .args(args)
        .current_dir(dir)
        .env("CASEBOT_DATABASE_URL", url)
        .output()
        .expect("run casebot")
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn export_text(store: &dyn CaseStore) -> String {
    let mut out = Vec::new();
    store.export(&mut out).expect("export");
    String::from_utf8(out).expect("utf-8")
}

/// A sled store with an open case (thread, device, bundle, timeline), a processed message id
/// and an unfinished diagnosis.
fn sled_with_cases(dir: &Path) -> (CaseId, String) {
    let store = SledStore::open(dir).expect("open");
    let bundle = store
        .put_bundle(
            &mut std::fs::File::open(crate::util::fixture("bundles/device1.zip")).expect("fixture"),
        )
        .expect("bundle");
    let id = store.new_case_id().expect("id");
    let mut case = crate::store::sample(id.clone());
    case.thread_id = Some(4242);
    case.status = CaseStatus::AwaitingLogs;
    store.create(case, Some("m-open")).expect("create");
    store
        .journal_add(&store::JournalEntry {
            id: "job-1".into(),
            case_id: id.clone(),
            device: "wcc0021z675842".into(),
            bundle_sha256: bundle.sha256.clone(),
            bundle_name: "device1.zip".into(),
            author: "alice".into(),
            accepted_at: 5,
        })
        .expect("journal");
    (id, bundle.sha256)
}

#[test]
fn sled_to_postgres_and_back_is_lossless() {
    let Some(cluster) = TestCluster::or_skip("pg::sled_to_postgres_and_back_is_lossless") else {
        return;
    };
    let url = cluster.database();
    let work = tempfile::tempdir().expect("tempdir");
    let (id, sha) = sled_with_cases(&work.path().join("sled"));
    std::fs::write(
        work.path().join("pg.toml"),
        "[store]\nkind = \"postgres\"\ndata_dir = \"pg-cache\"\n",
    )
    .expect("config");

    ok(&cli(
        &[
            "cases",
            "export",
            "--data",
            "sled",
            "--out",
            "from-sled.jsonl",
        ],
        work.path(),
        &url,
    ));
    let dump = std::fs::read_to_string(work.path().join("from-sled.jsonl")).expect("dump");
    assert!(dump.contains(&format!("\"kind\":\"bundle\",\"v\":1,\"sha256\":\"{sha}\"")));
    let out = cli(
        &["--config", "pg.toml", "cases", "import", "from-sled.jsonl"],
        work.path(),
        &url,
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the PostgreSQL database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another process on the same database sees the case, its thread, its bundle and its job.
    let pg = PgStore::open(&url, work.path().join("other-cache")).expect("open");
    assert_eq!(pg.case_by_thread(4242).expect("thread"), Some(id.clone()));
    assert!(pg.is_processed("m-open").expect("processed"));
    assert_eq!(pg.journal_list().expect("jobs").len(), 1);
    let bundle = pg
        .bundle_path(&sha)
        .expect("path")
        .expect("bundle in the database");
    assert_eq!(
        std::fs::read(bundle).expect("read"),
        std::fs::read(crate::util::fixture("bundles/device1.zip")).expect("fixture")
    );
    assert_eq!(
        export_text(&pg),
        dump,
        "PostgreSQL holds exactly what sled held"
    );

    // And back: export from PostgreSQL, import into a new sled store.
    ok(&cli(
        &[
            "--config",
            "pg.toml",
            "cases",
            "export",
            "--out",
            "from-pg.jsonl",
        ],
        work.path(),
        &url,
    ));
    assert_eq!(
        std::fs::read_to_string(work.path().join("from-pg.jsonl")).expect("dump"),
        dump
    );
    ok(&cli(
        &["cases", "import", "from-pg.jsonl", "--data", "sled-again"],
        work.path(),
        &url,
    ));
    let back = SledStore::open(work.path().join("sled-again")).expect("open");
    assert_eq!(export_text(&back), dump);
    assert!(back.bundle_path(&sha).expect("path").is_some());
}

#[test]
fn postgres_config_problems_name_the_key() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        work.path().join("pg.toml"),
        "[store]\nkind = \"postgres\"\n",
    )
    .expect("config");
    let out = Command::new(CLI)
        .args(["--config", "pg.toml", "cases", "export"])
        .current_dir(work.path())
        .env_remove("CASEBOT_DATABASE_URL")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CASEBOT_DATABASE_URL") && stderr.contains("store.url_file"),
        "{stderr}"
    );
    std::fs::write(
        work.path().join("inline.toml"),
        "[store]\nkind = \"postgres\"\nurl = \"postgres://casebot:secret@db/cases\"\n",
    )
    .expect("config");
    let out = cli(
        &["--config", "inline.toml", "cases", "export"],
        work.path(),
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("store.url:"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}

/// Spawn a worker process; its stdout lines arrive on the returned channel until it dies.
fn spawn_worker(
    url: &str,
    cache: &Path,
    lease_ms: u64,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pg-worker"))
        .arg(url)
        .arg(cache)
        .arg(lease_ms.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn pg-worker");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

#[test]
fn jobs_of_a_killed_process_finish_on_the_other_after_the_lease() {
    use std::time::{Duration, Instant};
    let Some(cluster) =
        TestCluster::or_skip("pg::jobs_of_a_killed_process_finish_on_the_other_after_the_lease")
    else {
        return;
    };
    let url = cluster.database();
    let work = tempfile::tempdir().expect("tempdir");
    let lease_ms = 1500;
    // Jobs accepted by a process that is gone (its leases already expired), for 8 cases.
    let queue = PgStore::open(&url, work.path().join("q"))
        .expect("open")
        .with_lease(Duration::from_millis(1));
    let cases: Vec<CaseId> = (0..8)
        .map(|i| {
            let id = queue.new_case_id().expect("id");
            queue
                .create(crate::store::sample(id.clone()), Some(&format!("open-{i}")))
                .expect("create");
            id
        })
        .collect();
    let jobs = 40;
    for i in 0..jobs {
        queue
            .journal_add(&store::JournalEntry {
                id: format!("job-{i:02}"),
                case_id: cases[i % cases.len()].clone(),
                device: format!("PC-{i}"),
                bundle_sha256: "ab".repeat(32),
                bundle_name: "logs.zip".into(),
                author: "alice".into(),
                accepted_at: i as u64,
            })
            .expect("job");
    }
    drop(queue);
    std::thread::sleep(Duration::from_millis(20));

    let (mut victim, victim_out) = spawn_worker(&url, &work.path().join("a"), lease_ms);
    let (mut survivor, survivor_out) = spawn_worker(&url, &work.path().join("b"), lease_ms);
    // Kill the first worker with SIGKILL while it holds a job it has not finished.
    let mut victim_took = Vec::new();
    let mut victim_done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let in_flight = loop {
        let line = victim_out
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the first worker takes jobs");
        if let Some(id) = line.strip_prefix("took ") {
            victim_took.push(id.to_string());
            if victim_took.len() == 3 {
                victim.kill().expect("SIGKILL");
                let _ = victim.wait();
                break id.to_string();
            }
        } else if let Some(id) = line.strip_prefix("done ") {
            victim_done.push(id.to_string());
        }
    };
    let killed_at = Instant::now();
    // Lines already written before the kill still count.
    victim_done.extend(
        victim_out
            .try_iter()
            .filter_map(|l| l.strip_prefix("done ").map(str::to_string)),
    );
    assert!(!victim_done.contains(&in_flight), "the kill landed mid-job");

    // The survivor finishes everything, the killed worker's job included.
    let mut survivor_done = Vec::new();
    let mut took_over_at = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while victim_done.len() + survivor_done.len() < jobs {
        let line = survivor_out
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "stalled with {} of {jobs} jobs done",
                    victim_done.len() + survivor_done.len()
                )
            });
        if line == format!("took {in_flight}") {
            took_over_at = Some(killed_at.elapsed());
        }
        if let Some(id) = line.strip_prefix("done ") {
            survivor_done.push(id.to_string());
        }
    }
    let _ = survivor.kill();
    let _ = survivor.wait();
    let waited = took_over_at.expect("the killed worker's job was taken over");
    assert!(
        waited >= Duration::from_millis(lease_ms / 2),
        "taken over only after the lease ran out ({waited:?})"
    );
    assert!(survivor_done.contains(&in_flight));

    // Every job finished exactly once, and its effect is on its case exactly once.
    let mut all: Vec<String> = victim_done.iter().chain(&survivor_done).cloned().collect();
    all.sort();
    let want: Vec<String> = (0..jobs).map(|i| format!("job-{i:02}")).collect();
    assert_eq!(all, want, "each job done once");
    let check = PgStore::open(&url, work.path().join("check")).expect("open");
    assert!(
        check.journal_list().expect("jobs").is_empty(),
        "no job left"
    );
    let mut recorded: Vec<String> = cases
        .iter()
        .flat_map(|id| check.get(id).expect("get").expect("case kept").timeline)
        .map(|e| e.text)
        .collect();
    recorded.sort();
    assert_eq!(recorded, want, "each result recorded once, no case lost");
}
