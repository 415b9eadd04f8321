//! Integration tests: store. A real process writes and is killed with SIGKILL; another holds the
//! store so opening reports "in use"; `casebot cases export|import` round-trips a store.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use store::{CaseId, CaseStore, SledStore, StoreError};

const WRITER: &str = env!("CARGO_BIN_EXE_store-crash-writer");
const CLI: &str = env!("CARGO_BIN_EXE_casebot-cli");

fn random_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(salt)
}

/// Spawn the writer; its stdout lines arrive on the returned channel until it dies.
fn spawn_writer(dir: &Path, mode: &str) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(WRITER)
        .arg(dir)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn store-crash-writer");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// What the killed writer acknowledged, accumulated over rounds.
#[derive(Default)]
struct Acks {
    /// message id → case id (creates and updates).
    updates: Vec<(String, String, bool)>,
    /// entry id → Some(present) when known, None while a removal was in flight.
    journal: HashMap<String, Option<bool>>,
    bundles: Vec<String>,
    marks: Vec<String>,
}

impl Acks {
    fn record(&mut self, line: &str) {
        let parts: Vec<&str> = line.split(' ').collect();
        // A line cut short by the kill is not an acknowledgement the test saw; skip it.
        match parts.as_slice() {
            ["ack", "create", case, mid] => {
                self.updates.push((case.to_string(), mid.to_string(), true))
            }
            ["ack", "update", case, mid] => {
                self.updates
                    .push((case.to_string(), mid.to_string(), false))
            }
            ["ack", "journal", id] => {
                self.journal.insert(id.to_string(), Some(true));
            }
            ["removing", id] => {
                self.journal.insert(id.to_string(), None);
            }
            ["ack", "unjournal", id] => {
                self.journal.insert(id.to_string(), Some(false));
            }
            ["ack", "bundle", sha] if sha.len() == 64 => self.bundles.push(sha.to_string()),
            ["ack", "mark", mid] => self.marks.push(mid.to_string()),
            _ => {}
        }
    }

    fn extend(&mut self, later: Acks) {
        self.updates.extend(later.updates);
        self.journal.extend(later.journal);
        self.bundles.extend(later.bundles);
        self.marks.extend(later.marks);
    }

    fn verify(&self, store: &SledStore, context: &str) {
        for (case, mid, is_create) in &self.updates {
            let id = CaseId::parse(case).expect("case id");
            let stored = store.get(&id).expect("get");
            let stored =
                stored.unwrap_or_else(|| panic!("{context}: acknowledged case {case} lost"));
            if !is_create {
                assert!(
                    stored.timeline.iter().any(|e| e.text == *mid),
                    "{context}: acknowledged update {mid} of {case} lost"
                );
            }
            assert!(
                store.is_processed(mid).expect("processed"),
                "{context}: message id {mid} lost"
            );
        }
        let listed: HashMap<String, ()> = store
            .journal_list()
            .expect("journal")
            .into_iter()
            .map(|e| (e.id, ()))
            .collect();
        for (id, present) in &self.journal {
            if let Some(present) = present {
                assert_eq!(
                    listed.contains_key(id),
                    *present,
                    "{context}: journal entry {id}"
                );
            }
        }
        for mid in &self.marks {
            assert!(
                store.is_processed(mid).expect("processed"),
                "{context}: mark {mid} lost"
            );
        }
        for sha in &self.bundles {
            let path = store.bundle_path(sha).expect("bundle path");
            let path = path.unwrap_or_else(|| panic!("{context}: acknowledged bundle {sha} lost"));
            let data = std::fs::read(&path).expect("read bundle");
            assert_eq!(data.len(), 8192, "{context}: bundle {sha} is complete");
        }
    }
}

/// A bundle being written when the kill landed is a temp file; reopening removes it.
fn assert_no_partial_bundles(dir: &Path, context: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{context}: unexpected file {name} in the bundle directory"
        );
    }
}

fn open_after_kill(dir: &Path) -> SledStore {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match SledStore::open(dir) {
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other.expect("the store opens after a crash"),
        }
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let mut acks = Acks::default();
    let started = Instant::now();
    let rounds = 50;
    for round in 0..rounds {
        let (mut child, lines) = spawn_writer(&path, "write");
        // Kill anywhere from mid-startup to well into steady writing.
        let delay = Duration::from_millis(random_u64(round) % 300);
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        // Each round checks its own acknowledgements; every tenth round re-checks all of them, so
        // later crashes cannot silently damage earlier writes (checking all every round is slow).
        let full = round % 10 == 9;
        let mut this_round = if full {
            std::mem::take(&mut acks)
        } else {
            Acks::default()
        };
        let mut count = 0;
        while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
            this_round.record(&line);
            count += 1;
        }
        let store = open_after_kill(&path);
        let context = format!("round {round} (killed after {delay:?}, {count} lines)");
        this_round.verify(&store, &context);
        assert_no_partial_bundles(&path.join("bundles"), &context);
        if full {
            acks = this_round;
        } else {
            acks.extend(this_round);
        }
    }
    let store = open_after_kill(&path);
    acks.verify(&store, "after the last round");
    assert!(
        acks.updates.len() > 100,
        "the writer made progress: {}",
        acks.updates.len()
    );
    eprintln!(
        "crash test: {rounds} rounds, {} acknowledged case writes, {} bundles, {:?}",
        acks.updates.len(),
        acks.bundles.len(),
        started.elapsed()
    );
}

#[test]
fn store_in_use_by_another_process_fails_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (mut child, lines) = spawn_writer(&path, "hold");
    assert_eq!(
        lines.recv_timeout(Duration::from_secs(10)).as_deref(),
        Ok("ready")
    );
    let err = SledStore::open(&path).expect_err("in use");
    assert!(
        matches!(err, StoreError::Locked { path: ref p } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "store {} is in use by another casebot process",
            path.display()
        )
    );
    // The CLI says the same and exits non-zero.
    let out = Command::new(CLI)
        .args(["cases", "export", "--data"])
        .arg(&path)
        .output()
        .expect("run casebot");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is in use by another casebot process"),
        "{stderr}"
    );
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    drop(child.stdin.take());
    child.wait().expect("holder exits when stdin closes");
    SledStore::open(&path).expect("free again once the holder is gone");
}

fn cli(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(CLI)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run casebot")
}

#[test]
fn cases_export_import_round_trip_through_the_cli() {
    let work = tempfile::tempdir().expect("tempdir");
    let source = work.path().join("casebot-data");
    let id = {
        let store = SledStore::open(&source).expect("open");
        let id = store.new_case_id().expect("id");
        let mut case = sample(id.clone());
        case.thread_id = Some(77);
        store.create(case, Some("m-1")).expect("create");
        id
    };
    // Default --data is ./casebot-data; default output is stdout.
    let out = cli(&["cases", "export"], work.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8(out.stdout).expect("utf-8");
    assert!(dump.contains(id.as_str()));
    let out = cli(&["cases", "export", "--out", "dump.jsonl"], work.path());
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(work.path().join("dump.jsonl")).expect("file"),
        dump
    );

    let out = cli(
        &["cases", "import", "dump.jsonl", "--data", "restored"],
        work.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = SledStore::open(work.path().join("restored")).expect("open");
    assert_eq!(
        restored.case_by_thread(77).expect("thread"),
        Some(id.clone())
    );
    assert!(restored.is_processed("m-1").expect("processed"));
    let mut again = Vec::new();
    restored.export(&mut again).expect("export");
    assert_eq!(String::from_utf8(again).expect("utf-8"), dump);
}

#[test]
fn cases_cli_uses_the_configured_data_dir() {
    let work = tempfile::tempdir().expect("tempdir");
    let configured = work.path().join("configured-store");
    let id = {
        let store = SledStore::open(&configured).expect("open");
        let id = store.new_case_id().expect("id");
        store.create(sample(id.clone()), None).expect("create");
        id
    };
    std::fs::write(
        work.path().join("casebot.toml"),
        "[store]\ndata_dir = \"configured-store\"\n",
    )
    .expect("config");
    let out = cli(&["cases", "export"], work.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(id.as_str()));
    assert!(!work.path().join("casebot-data").exists());
}

/// The close summary of [`closed_case_with_bundle`].
pub(crate) const CLOSED_SUMMARY: &str = "**Problem definition** KB5034763 rolls back";

/// A case closed at `closed_at` (seconds) with one device and one stored bundle; (id, bundle).
pub(crate) fn closed_case_with_bundle(
    store: &SledStore,
    content: &[u8],
    closed_at: u64,
) -> (CaseId, store::StoredBundle) {
    let id = store.new_case_id().expect("id");
    let stored = store.put_bundle(&mut &content[..]).expect("put");
    let mut case = sample(id.clone());
    case.status = store::CaseStatus::Closed;
    case.summary = Some(CLOSED_SUMMARY.into());
    case.timeline.push(store::TimelineEntry {
        at: closed_at,
        author: "eve".into(),
        kind: "close".into(),
        text: String::new(),
    });
    case.devices.insert(
        "pc1".into(),
        store::DeviceRecord {
            name: "pc1".into(),
            status: store::DeviceStatus::Fixed,
            bundles: vec![store::BundleRef {
                sha256: stored.sha256.clone(),
                name: "pc1.zip".into(),
                bytes: stored.bytes,
                added_at: closed_at,
            }],
            diagnosis: None,
            verification: None,
        },
    );
    store.create(case, None).expect("create");
    (id, stored)
}

#[test]
fn cases_purge_deletes_the_files_and_keeps_the_summary_unless_told() {
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("casebot-data");
    let ((kept, kept_sha), (gone, gone_sha)) = {
        let store = SledStore::open(&data).expect("open");
        let closed = |content: &[u8]| {
            let (id, stored) = closed_case_with_bundle(&store, content, 1);
            (id, stored.sha256)
        };
        (closed(b"logs of pc1"), closed(b"logs of pc2"))
    };
    let out = cli(&["cases", "purge", kept.as_str()], work.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 stored bundle(s) deleted") && stderr.contains("summary was kept"),
        "{stderr}"
    );
    let out = cli(
        &["cases", "purge", gone.as_str(), "--with-summary"],
        work.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = SledStore::open(&data).expect("open");
    let case = store.get(&kept).expect("get").expect("the summary is kept");
    assert!(case.devices.is_empty());
    assert_eq!(case.summary.as_deref(), Some(CLOSED_SUMMARY));
    assert_eq!(store.get(&gone).expect("get"), None);
    for sha in [&kept_sha, &gone_sha] {
        assert_eq!(store.bundle_path(sha).expect("path"), None);
    }
    drop(store);
    let out = cli(&["cases", "purge", "CAS-12345-NOPE00"], work.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no case CAS-12345-NOPE00"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["cases", "purge", "case-7"], work.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a case id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cases_cli_errors_are_clear() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = cli(&["cases", "export", "--data", "nowhere"], work.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no case store at nowhere"), "{stderr}");
    assert!(
        !work.path().join("nowhere").exists(),
        "export creates no store"
    );

    let out = cli(&["cases", "import", "missing.jsonl"], work.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read missing.jsonl"), "{stderr}");

    let mut bad = std::fs::File::create(work.path().join("bad.jsonl")).expect("create");
    writeln!(
        bad,
        "{{\"kind\":\"header\",\"format\":\"casebot-store\",\"v\":1}}"
    )
    .expect("w");
    writeln!(bad, "{{\"kind\":\"case\",\"v\":1,\"case\":42}}").expect("w");
    drop(bad);
    let out = cli(
        &["cases", "import", "bad.jsonl", "--data", "d"],
        work.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.jsonl") && stderr.contains("line 2"),
        "{stderr}"
    );
}

pub(crate) fn sample(id: CaseId) -> store::Case {
    store::Case {
        id,
        title: "t".into(),
        problem: "p".into(),
        lang: Default::default(),
        opener: "o".into(),
        opener_id: None,
        guild_id: None,
        channel_id: None,
        thread_id: None,
        status: store::CaseStatus::Open,
        devices: Default::default(),
        timeline: Vec::new(),
        close_reason: None,
        summary: None,
        created_at: 1,
        updated_at: 1,
    }
}
