//! Helper process for the store crash and lock tests (`tests/store.rs`).
//!
//! `store-crash-writer <dir> write`: opens a `SledStore` in `<dir>` and writes from four threads
//! until killed, printing one line on stdout after each acknowledged write:
//! - `ack create <case-id> <message-id>`: a case created with that message id;
//! - `ack update <case-id> <message-id>`: a timeline entry whose text is the message id;
//! - `ack journal <entry-id>` / `ack unjournal <entry-id>`: a journal entry added / removed
//!   (`removing <entry-id>` is printed before a removal starts);
//! - `ack bundle <sha256>`: a bundle stored;
//! - `ack mark <message-id>`: a message id recorded without a case change.
//!
//! `store-crash-writer <dir> hold`: opens the store, prints `ready`, and keeps it open until
//! stdin closes (so another process can observe the lock).

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use store::{Applied, Case, CaseStatus, CaseStore, JournalEntry, SledStore, StoreError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(mode)) = (args.first(), args.get(1)) else {
        eprintln!("usage: store-crash-writer <dir> write|hold");
        return ExitCode::from(2);
    };
    let store = match open_retrying(dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("store-crash-writer: {e}");
            return ExitCode::from(1);
        }
    };
    match mode.as_str() {
        "hold" => {
            say("ready");
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            ExitCode::SUCCESS
        }
        "write" => {
            say("ready");
            let tag: u64 = rand_u64();
            std::thread::scope(|scope| {
                for t in 0..4 {
                    let store = &store;
                    scope.spawn(move || writer(store, tag, t));
                }
            });
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("store-crash-writer: unknown mode `{other}`");
            ExitCode::from(2)
        }
    }
}

/// The previous holder may have just exited; its lock goes away with it.
fn open_retrying(dir: &str) -> Result<SledStore, StoreError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match SledStore::open(dir) {
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

static STDOUT: Mutex<()> = Mutex::new(());

fn say(line: &str) {
    let _guard = STDOUT.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn new_case(store: &SledStore, mid: &str) -> Option<store::CaseId> {
    let id = store.new_case_id().ok()?;
    let case = Case {
        id: id.clone(),
        title: "crash test".into(),
        problem: "writes until killed".into(),
        lang: Default::default(),
        opener: "crash-writer".into(),
        opener_id: None,
        guild_id: None,
        channel_id: None,
        thread_id: None,
        status: CaseStatus::Open,
        devices: Default::default(),
        timeline: Vec::new(),
        close_reason: None,
        summary: None,
        created_at: 0,
        updated_at: 0,
    };
    match store.create(case, Some(mid)) {
        Ok(Applied::Done(_)) => Some(id),
        _ => None,
    }
}

/// One writer thread: a new case every 40 operations, otherwise journal, bundle and case updates.
fn writer(store: &SledStore, tag: u64, t: u32) {
    let mut case = None;
    let mut journal: Vec<String> = Vec::new();
    for i in 0u64.. {
        let mid = format!("{tag:016x}-{t}-{i}");
        if i % 40 == 0 || case.is_none() {
            case = new_case(store, &mid);
            if let Some(id) = &case {
                say(&format!("ack create {id} {mid}"));
            }
            continue;
        }
        let Some(id) = case.clone() else { continue };
        match i % 10 {
            3 => add_job(store, id, mid, i, &mut journal),
            6 if !journal.is_empty() => {
                let job = journal.remove(0);
                // Announced first: if the kill lands during the removal, either outcome is right.
                say(&format!("removing {job}"));
                if store.journal_remove(&job).is_ok() {
                    say(&format!("ack unjournal {job}"));
                }
            }
            9 => {
                if let Ok(true) = store.mark_processed(&mid) {
                    say(&format!("ack mark {mid}"));
                }
            }
            8 => {
                let mut data = mid.into_bytes();
                data.resize(8192, b'x');
                if let Ok(bundle) = store.put_bundle(&mut data.as_slice()) {
                    say(&format!("ack bundle {}", bundle.sha256));
                }
            }
            _ => {
                let entry = store::TimelineEntry {
                    at: i,
                    author: "crash-writer".into(),
                    kind: "note".into(),
                    text: mid.clone(),
                };
                let result = store.update(&id, Some(&mid), &mut |c| c.timeline.push(entry.clone()));
                if let Ok(Applied::Done(_)) = result {
                    say(&format!("ack update {id} {mid}"));
                }
            }
        }
    }
}

fn add_job(store: &SledStore, case_id: store::CaseId, id: String, i: u64, jobs: &mut Vec<String>) {
    let entry = JournalEntry {
        id,
        case_id,
        device: "PC".into(),
        bundle_sha256: "00".repeat(32),
        bundle_name: "b.zip".into(),
        author: "crash-writer".into(),
        accepted_at: i,
    };
    if store.journal_add(&entry).is_ok() {
        say(&format!("ack journal {}", entry.id));
        jobs.push(entry.id);
    }
}
