//! `MemStore`: everything in memory behind one `Mutex`, for tests and the console's throwaway mode.
//! Bundles still go to a directory (the engine reads them from disk): a private temporary
//! directory removed on drop, or one the caller names.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::bundles::BundleDir;
use crate::exchange::{Dump, MergeTarget, merge};
use crate::record::{case_id_from_counter, now_secs};
use crate::recurrence::{Conclusion, Recurrence, changes};
use crate::{Applied, Case, CaseId, CaseStore, JournalEntry, StoreError, StoredBundle};

#[derive(Debug, Default)]
struct Inner {
    counter: u64,
    cases: BTreeMap<CaseId, Case>,
    processed: BTreeMap<String, u64>,
    /// Message id → the case `create` inserted with it.
    created: BTreeMap<String, CaseId>,
    threads: BTreeMap<u64, CaseId>,
    /// id → (insertion sequence, entry).
    journal: BTreeMap<String, (u64, JournalEntry)>,
    journal_seq: u64,
    /// The recurrence index: conclusion key → (created_at, case) of every case with it.
    recurrence: BTreeMap<String, BTreeSet<(u64, CaseId)>>,
}

/// In-memory `CaseStore`. Nothing survives the process.
#[derive(Debug)]
pub struct MemStore {
    inner: Mutex<Inner>,
    bundles: BundleDir,
    /// Set when the bundle directory is ours to delete.
    owned_dir: Option<PathBuf>,
}

impl MemStore {
    /// A store whose bundles go to a fresh temporary directory, removed when the store drops.
    /// The directory is created on the first bundle.
    pub fn new() -> MemStore {
        let dir = std::env::temp_dir().join(format!(
            "casebot-memstore-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let mut store = MemStore::with_bundle_dir(dir.clone());
        store.owned_dir = Some(dir);
        store
    }

    /// A store whose bundles go to `dir` (created on the first bundle, kept after drop).
    pub fn with_bundle_dir(dir: impl Into<PathBuf>) -> MemStore {
        MemStore {
            inner: Mutex::new(Inner::default()),
            bundles: BundleDir::lazy(dir.into()),
            owned_dir: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in another caller cannot leave `Inner` half-updated: every method builds the
        // new value before it assigns, so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemStore {
    fn default() -> MemStore {
        MemStore::new()
    }
}

impl Drop for MemStore {
    fn drop(&mut self) {
        if let Some(dir) = &self.owned_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Inner {
    fn bind_threads(&mut self, before: Option<&Case>, after: &Case) {
        let old = before.and_then(|c| c.thread_id);
        if old == after.thread_id {
            return;
        }
        if let Some(old) = old
            && self.threads.get(&old) == Some(&after.id)
        {
            self.threads.remove(&old);
        }
        if let Some(new) = after.thread_id {
            self.threads.insert(new, after.id.clone());
        }
    }

    /// Keep the recurrence index in step with a case going from `before` to `after`.
    fn index(&mut self, before: Option<&Case>, after: &Case) {
        let (lost, gained) = changes(before, Some(after));
        let was = (
            before.map_or(after.created_at, |b| b.created_at),
            after.id.clone(),
        );
        let entry = (after.created_at, after.id.clone());
        for c in lost {
            let key = c.key();
            if let Some(set) = self.recurrence.get_mut(&key) {
                set.remove(&was);
                if set.is_empty() {
                    self.recurrence.remove(&key);
                }
            }
        }
        for c in gained {
            self.recurrence
                .entry(c.key())
                .or_default()
                .insert(entry.clone());
        }
    }

    fn snapshot(&self) -> Dump {
        let mut cases: Vec<Case> = self.cases.values().cloned().collect();
        cases.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let mut journal: Vec<&(u64, JournalEntry)> = self.journal.values().collect();
        journal.sort_by_key(|(seq, e)| (e.accepted_at, *seq));
        Dump {
            counter: self.counter,
            cases: cases.into_iter().map(|c| (0, c)).collect(),
            threads: self
                .threads
                .iter()
                .map(|(t, c)| (0, *t, c.clone()))
                .collect(),
            processed: self
                .processed
                .iter()
                .map(|(id, at)| (0, id.clone(), *at))
                .collect(),
            journal: journal.into_iter().map(|(_, e)| (0, e.clone())).collect(),
            ..Dump::default()
        }
    }
}

impl MergeTarget for Inner {
    type Err = StoreError;
    fn fail(&self, e: StoreError) -> StoreError {
        e
    }
    fn get_case(&mut self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        Ok(self.cases.get(id).cloned())
    }
    fn put_case(&mut self, case: &Case) -> Result<(), StoreError> {
        let before = self.cases.insert(case.id.clone(), case.clone());
        self.index(before.as_ref(), case);
        Ok(())
    }
    fn get_thread(&mut self, thread: u64) -> Result<Option<CaseId>, StoreError> {
        Ok(self.threads.get(&thread).cloned())
    }
    fn put_thread(&mut self, thread: u64, case: &CaseId) -> Result<(), StoreError> {
        self.threads.insert(thread, case.clone());
        Ok(())
    }
    fn has_processed(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self.processed.contains_key(id))
    }
    fn put_processed(&mut self, id: &str, at: u64) -> Result<(), StoreError> {
        self.processed.insert(id.to_string(), at);
        Ok(())
    }
    fn get_journal(&mut self, id: &str) -> Result<Option<JournalEntry>, StoreError> {
        Ok(self.journal.get(id).map(|(_, e)| e.clone()))
    }
    fn put_journal(&mut self, entry: &JournalEntry) -> Result<(), StoreError> {
        self.journal_seq += 1;
        let seq = self.journal_seq;
        self.journal.insert(entry.id.clone(), (seq, entry.clone()));
        Ok(())
    }
    fn counter(&mut self) -> Result<u64, StoreError> {
        Ok(self.counter)
    }
    fn set_counter(&mut self, n: u64) -> Result<(), StoreError> {
        self.counter = n;
        Ok(())
    }
}

impl CaseStore for MemStore {
    fn new_case_id(&self) -> Result<CaseId, StoreError> {
        let mut inner = self.lock();
        loop {
            inner.counter += 1;
            let id = case_id_from_counter(inner.counter);
            if !inner.cases.contains_key(&id) {
                return Ok(id);
            }
        }
    }

    fn create(&self, case: Case, message_id: Option<&str>) -> Result<Applied<Case>, StoreError> {
        let mut inner = self.lock();
        if let Some(mid) = message_id
            && inner.processed.contains_key(mid)
        {
            return Ok(Applied::Duplicate);
        }
        if inner.cases.contains_key(&case.id) {
            return Err(StoreError::Exists(case.id.to_string()));
        }
        inner.bind_threads(None, &case);
        inner.index(None, &case);
        inner.cases.insert(case.id.clone(), case.clone());
        if let Some(mid) = message_id {
            inner.processed.insert(mid.to_string(), now_secs());
            inner.created.insert(mid.to_string(), case.id.clone());
        }
        Ok(Applied::Done(case))
    }

    fn created_by(&self, message_id: &str) -> Result<Option<CaseId>, StoreError> {
        Ok(self.lock().created.get(message_id).cloned())
    }

    fn get(&self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        Ok(self.lock().cases.get(id).cloned())
    }

    fn update(
        &self,
        id: &CaseId,
        message_id: Option<&str>,
        f: &mut dyn FnMut(&mut Case),
    ) -> Result<Applied<Case>, StoreError> {
        let mut inner = self.lock();
        if let Some(mid) = message_id
            && inner.processed.contains_key(mid)
        {
            return Ok(Applied::Duplicate);
        }
        let before = inner
            .cases
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let mut after = before.clone();
        f(&mut after);
        if after.id != before.id {
            return Err(StoreError::IdChanged(before.id.to_string()));
        }
        if after != before {
            inner.bind_threads(Some(&before), &after);
            inner.index(Some(&before), &after);
            inner.cases.insert(after.id.clone(), after.clone());
        }
        if let Some(mid) = message_id {
            inner.processed.insert(mid.to_string(), now_secs());
        }
        Ok(Applied::Done(after))
    }

    fn is_processed(&self, message_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().processed.contains_key(message_id))
    }

    fn mark_processed(&self, message_id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.processed.contains_key(message_id) {
            return Ok(false);
        }
        inner.processed.insert(message_id.to_string(), now_secs());
        Ok(true)
    }

    fn prune_processed(&self, before: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let count = inner.processed.len();
        inner.processed.retain(|_, at| *at >= before);
        let Inner {
            processed, created, ..
        } = &mut *inner;
        created.retain(|mid, _| processed.contains_key(mid));
        Ok((count - inner.processed.len()) as u64)
    }

    /// Newest first, cloning only the cases kept.
    fn latest(
        &self,
        keep: &mut dyn FnMut(&Case) -> bool,
        limit: usize,
    ) -> Result<Vec<Case>, StoreError> {
        let inner = self.lock();
        let mut order: Vec<&Case> = inner.cases.values().collect();
        order.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(order
            .into_iter()
            .filter(|c| keep(c))
            .take(limit)
            .cloned()
            .collect())
    }

    fn list(&self) -> Result<Vec<Case>, StoreError> {
        Ok(self
            .lock()
            .snapshot()
            .cases
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    fn recurrence(
        &self,
        conclusion: &Conclusion,
        this: &CaseId,
        limit: usize,
    ) -> Result<Recurrence, StoreError> {
        let inner = self.lock();
        let Some(set) = inner.recurrence.get(&conclusion.key()) else {
            return Ok(Recurrence::default());
        };
        let listed = inner
            .cases
            .get(this)
            .is_some_and(|c| set.contains(&(c.created_at, c.id.clone())));
        let mut recent: Vec<CaseId> = set
            .iter()
            .rev()
            .filter(|(_, id)| id != this)
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect();
        recent.reverse();
        Ok(Recurrence {
            count: (set.len() - usize::from(listed)) as u64,
            recent,
        })
    }

    fn case_by_thread(&self, thread_id: u64) -> Result<Option<CaseId>, StoreError> {
        Ok(self.lock().threads.get(&thread_id).cloned())
    }

    fn put_bundle(&self, data: &mut dyn Read) -> Result<StoredBundle, StoreError> {
        self.bundles.put(data)
    }

    fn bundle_writer(&self) -> Result<crate::BundleWriter, StoreError> {
        self.bundles.writer()
    }

    fn adopt_bundle(&self, writer: crate::BundleWriter) -> Result<StoredBundle, StoreError> {
        self.bundles.adopt(writer)
    }

    fn bundle_path(&self, sha256: &str) -> Result<Option<PathBuf>, StoreError> {
        self.bundles.path(sha256)
    }

    fn delete_bundle(&self, sha256: &str) -> Result<bool, StoreError> {
        self.bundles.remove(sha256)
    }

    fn delete_case(&self, id: &CaseId) -> Result<bool, StoreError> {
        if !crate::forget_conclusions(self, id)? {
            return Ok(false);
        }
        let mut inner = self.lock();
        let Some(case) = inner.cases.remove(id) else {
            return Ok(false);
        };
        if let Some(thread) = case.thread_id
            && inner.threads.get(&thread) == Some(id)
        {
            inner.threads.remove(&thread);
        }
        inner.journal.retain(|_, (_, e)| e.case_id != *id);
        Ok(true)
    }

    fn journal_add(&self, entry: &JournalEntry) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let seq = match inner.journal.get(&entry.id) {
            Some((seq, _)) => *seq,
            None => {
                inner.journal_seq += 1;
                inner.journal_seq
            }
        };
        inner.journal.insert(entry.id.clone(), (seq, entry.clone()));
        Ok(())
    }

    fn journal_remove(&self, id: &str) -> Result<(), StoreError> {
        self.lock().journal.remove(id);
        Ok(())
    }

    fn journal_list(&self) -> Result<Vec<JournalEntry>, StoreError> {
        Ok(self
            .lock()
            .snapshot()
            .journal
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    fn export(&self, out: &mut dyn Write) -> Result<u64, StoreError> {
        let mut dump = self.lock().snapshot();
        dump.bundles = self.bundles.dump_list()?;
        dump.write(out)
    }

    fn import(&self, input: &mut dyn BufRead) -> Result<u64, StoreError> {
        let dump = Dump::read(input)?;
        let bundles = dump.put_bundles(&|r| self.bundles.put(r))?;
        let mut inner = self.lock();
        Ok(bundles + merge(&dump, &mut *inner)?)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
