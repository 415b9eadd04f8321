//! Helper process for the PostgreSQL takeover test (`tests/pg.rs`): one diagnosis worker of a
//! casebot process on a shared store.
//!
//! `pg-worker <database-url> <cache-dir> <lease-ms>`: opens a `PgStore` with that job lease,
//! renews its leases every third of it, and takes jobs one at a time from the job table (those
//! whose lease expired: left by a process that died). For each job it prints `took <job-id>`,
//! works on it for a while, records the result on the job's case with the job id as message
//! id, removes the job and prints `done <job-id>`. It runs until killed.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use store::{CaseStore, PgStore, TimelineEntry};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(cache), Some(lease)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: pg-worker <database-url> <cache-dir> <lease-ms>");
        return ExitCode::from(2);
    };
    let lease = Duration::from_millis(lease.parse().unwrap_or(1000));
    let store = match PgStore::open(url, cache) {
        Ok(store) => store.with_lease(lease),
        Err(e) => {
            eprintln!("pg-worker: {e}");
            return ExitCode::from(1);
        }
    };
    say(&format!("ready {}", store.owner()));
    std::thread::scope(|scope| {
        let store = &store;
        scope.spawn(move || {
            loop {
                std::thread::sleep(lease / 3);
                if let Err(e) = store.journal_renew() {
                    eprintln!("pg-worker: renew: {e}");
                }
            }
        });
        loop {
            let job = match store.take_over_at_most(1) {
                Ok(mut jobs) => jobs.pop(),
                Err(e) => {
                    eprintln!("pg-worker: take: {e}");
                    None
                }
            };
            let Some(job) = job else {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            say(&format!("took {}", job.id));
            // The diagnosis itself: long enough that a kill lands while jobs are in flight.
            std::thread::sleep(Duration::from_millis(150));
            let note = TimelineEntry {
                at: job.accepted_at,
                author: store.owner().to_string(),
                kind: "diagnosis".into(),
                text: job.id.clone(),
            };
            let recorded = store.update(&job.case_id, Some(&job.id), &mut |c| {
                c.timeline.push(note.clone())
            });
            if let Err(e) = recorded.and_then(|_| store.journal_remove(&job.id)) {
                eprintln!("pg-worker: finishing {}: {e}", job.id);
                continue;
            }
            say(&format!("done {}", job.id));
        }
    });
    ExitCode::SUCCESS
}
