//! Files of one bundle read in parallel, scanned in bundle order.
//!
//! Reading a file (decoding, the buffer search, parsing, and the work on a record that depends
//! on the record alone: candidate matchers, their patterns, failing codes) runs on up to
//! `threads` scoped threads, one file per thread at a time. The scan, which holds the bundle's
//! state (rule hits, facts, failures), stays on the calling thread and takes each file's
//! results in bundle order, so the diagnosis is the one a serial run gives.
//!
//! Memory stays bounded by the thread count, not the file count: each file's results travel in
//! a bounded channel (a reader waits while its channel is full), and a reader starts a file only
//! when it is at most [`AHEAD`] files ahead of the one being scanned. Decoding stays streaming
//! (each reader holds one block of its file).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex, PoisonError};

use super::{Found, read_file};
use crate::bundle::Bundle;
use crate::parse::Parsed;
use crate::rule::RuleSet;

/// Results sent per message.
const BATCH: usize = 256;
/// Messages a file's channel holds before its reader waits.
const DEPTH: usize = 4;
/// How many files past the one being scanned a reader may start, per thread.
const AHEAD: usize = 2;

/// The threads [`super::run`] uses: the machine's cores.
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// What the scan gets, in bundle order.
pub(crate) enum Event {
    /// File `i` starts.
    Begin(usize),
    /// Something file `i` holds.
    Found(Found),
    /// File `i` ended so.
    End(usize, io::Result<Parsed>),
}

enum Msg {
    Found(Vec<Found>),
    End(io::Result<Parsed>),
}

/// The file the scan is on, for readers that must not run too far ahead.
struct Progress {
    scanning: Mutex<usize>,
    moved: Condvar,
}

impl Progress {
    /// Wait until file `i` is within `window` files of the one being scanned.
    fn wait_for(&self, i: usize, window: usize) {
        let mut at = self.scanning.lock().unwrap_or_else(PoisonError::into_inner);
        while i >= *at + window {
            at = self.moved.wait(at).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn set(&self, i: usize) {
        *self.scanning.lock().unwrap_or_else(PoisonError::into_inner) = i;
        self.moved.notify_all();
    }
}

/// Read every file of `bundle` on up to `threads` threads; `sink` (on the calling thread) gets
/// each file's events in bundle order.
pub(crate) fn read_files(
    bundle: &Bundle,
    rules: &RuleSet,
    search: bool,
    threads: usize,
    sink: &mut dyn FnMut(Event),
) {
    let n = bundle.files.len();
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n)
        .map(|_| {
            let (tx, rx) = sync_channel::<Msg>(DEPTH);
            (Mutex::new(Some(tx)), rx)
        })
        .unzip();
    let next = AtomicUsize::new(0);
    let progress = Progress {
        scanning: Mutex::new(0),
        moved: Condvar::new(),
    };
    let window = threads * AHEAD;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = senders.get(i) else { break };
                    progress.wait_for(i, window);
                    // Taken, so that the sender goes when this reader is done (or panics).
                    let tx = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                    if let Some(tx) = tx {
                        read_one(bundle, rules, search, i, &tx);
                    }
                }
            });
        }
        for (i, rx) in receivers.into_iter().enumerate() {
            progress.set(i);
            sink(Event::Begin(i));
            let result = drain(&rx, sink);
            sink(Event::End(i, result));
        }
        // Wake readers waiting for a window that no longer matters (there are none left).
        progress.set(n);
    });
}

/// Read file `i` into its channel; stops sending once the scan has gone away.
fn read_one(bundle: &Bundle, rules: &RuleSet, search: bool, i: usize, tx: &SyncSender<Msg>) {
    let Some(file) = bundle.files.get(i) else {
        return;
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut open = true;
    let result = read_file(rules, file, search, &mut |found| {
        if !open {
            return;
        }
        batch.push(found);
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            open = tx.send(Msg::Found(full)).is_ok();
        }
    });
    if open && !batch.is_empty() {
        open = tx.send(Msg::Found(batch)).is_ok();
    }
    if open {
        let _ = tx.send(Msg::End(result));
    }
}

/// Hand one file's results to `sink` until its end.
fn drain(rx: &Receiver<Msg>, sink: &mut dyn FnMut(Event)) -> io::Result<Parsed> {
    loop {
        match rx.recv() {
            Ok(Msg::Found(batch)) => batch.into_iter().for_each(|f| sink(Event::Found(f))),
            Ok(Msg::End(result)) => return result,
            // Only when its reader panicked; the scope passes the panic on.
            Err(_) => return Err(io::Error::other("the file's reader stopped")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::bundle::{Bundle, Limits};
    use crate::engine::run_with;
    use crate::engine::search::tests::{files_below, fixtures};
    use crate::rule::RuleSet;

    fn json(d: &crate::report::Diagnosis) -> String {
        serde_json::to_string_pretty(d).expect("serialise")
    }

    /// Serial and parallel runs (buffer search and line path) give the same diagnosis.
    fn assert_same(path: &Path, rules: &RuleSet) -> usize {
        let Ok(bundle) = Bundle::open(path, &Limits::default()) else {
            return 0;
        };
        for search in [true, false] {
            let serial = json(&run_with(&bundle, rules, search, 1, &()));
            for threads in [2, 3, 8] {
                assert_eq!(
                    json(&run_with(&bundle, rules, search, threads, &())),
                    serial,
                    "{} on {threads} threads (search: {search})",
                    path.display()
                );
            }
        }
        bundle.files.len()
    }

    #[test]
    fn parallel_and_serial_runs_agree_on_every_fixture() {
        let rules = RuleSet::builtin().expect("builtin rules");
        let mut inputs = Vec::new();
        for dir in ["bundles", "rules", "corpus"] {
            files_below(&fixtures().join(dir), &mut inputs);
        }
        // Directory bundles too (every file of a fixture folder at once).
        for dir in ["bundles/device1-variant", "bundles/healthy-evtx", "evtx"] {
            inputs.push(fixtures().join(dir));
        }
        inputs.sort();
        let multi = inputs
            .iter()
            .map(|p| assert_same(p, &rules))
            .filter(|&files| files > 1)
            .count();
        assert!(multi >= 3, "bundles with several files: {multi}");
    }

    /// A bundle of many files, some with thousands of records (many batches each), in every
    /// encoding; the failure is in one file in the middle, facts in others.
    #[test]
    fn parallel_run_of_many_large_files_matches_the_serial_run() {
        let rules = RuleSet::builtin().expect("builtin rules");
        let dir = tempfile::tempdir().expect("tempdir");
        let healthy = "2024-02-14 10:01:02, Info                  CBS    Appl: package Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13\r\n";
        let failing = "2024-02-14 10:01:06, Error                 CSI    00000022 (F) Failed execution of queue item Installer: WMI ({81a34a10-4256-436a-89d6-794b97ca407c}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable\r\n";
        let other = "2024-02-14 10:01:07, Error                 CBS    Failed to resolve package [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]\r\n";
        for i in 0..24 {
            let mut text = String::new();
            for n in 0..(300 * (i % 4 + 1)) {
                text.push_str(if n % 50 == 0 { other } else { healthy });
            }
            if i == 11 {
                text.push_str(failing);
            }
            let bytes = match i % 3 {
                0 => text.into_bytes(),
                1 => {
                    let mut v = vec![0xFF, 0xFE];
                    text.encode_utf16()
                        .for_each(|u| v.extend_from_slice(&u.to_le_bytes()));
                    v
                }
                _ => encoding_rs::GBK.encode(&text).0.into_owned(),
            };
            std::fs::write(dir.path().join(format!("CbsPersist_{i:02}.log")), bytes)
                .expect("write");
        }
        assert_eq!(assert_same(dir.path(), &rules), 24);
        let d = run_with(
            &Bundle::open(dir.path(), &Limits::default()).expect("open"),
            &rules,
            true,
            4,
            &(),
        );
        assert!(
            d.findings
                .iter()
                .any(|f| f.evidence.iter().any(|e| e.file == "CbsPersist_11.log")),
            "{:#?}",
            d.findings
        );
    }
}
