//! `SledStore`: the embedded default, one directory.
//!
//! Layout of the store directory:
//! - `db/`: the sled database (trees `cases`, `processed`, `threads`, `journal`, `meta`, the
//!   recurrence index `recurrence` and `recurrence_counts`, and the listing index `listing`);
//! - `bundles/`: uploaded bundles by sha256;
//! - `casebot.lock`: held (advisory lock) while a process has the store open;
//! - `casebot-store`: marker written once the database is initialised.
//!
//! An encrypted store (opened with [`SledStore::open_keyed`]) seals the values of the `cases`
//! and `journal` trees and every bundle file; the `meta` tree's `encryption` record tells it
//! apart and checks the key at open. Keys, thread bindings, processed message ids and the
//! recurrence index stay plain: they hold ids, times and root-cause names, no customer text.
//!
//! Everything sled-specific lives in this file, so moving to another embedded database is a
//! change to this one file.

use std::cell::RefCell;
use std::fs::{self, File};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use sled::{Transactional, Tree};

use crate::bundles::BundleDir;
use crate::crypt::{KeyDecision, Seal, StoreKey, decide};
use crate::exchange::{Dump, MergeTarget, merge};
use crate::group_commit::GroupCommit;
use crate::record::{
    CURRENT, CaseKey, CounterRecord, EncryptionRecord, FORMAT_NAME, FormatRecord, IndexRecord,
    JournalKey, JournalRecord, ListingKey, MessageKey, MetaKey, ProcessedRecord, RecurrenceKey,
    ThreadKey, ThreadRecord, case_id_from_counter, decode, decode_case, encode, encode_case,
    now_secs, tree,
};
use crate::recurrence::{Conclusion, Recurrence, changes};
use crate::{Applied, Case, CaseId, CaseStore, JournalEntry, StoreError, StoredBundle};

/// Lock file inside the store directory.
const LOCK_FILE: &str = "casebot.lock";

/// Written beside the database once the database holds its format record. If the marker exists
/// but the database has no format record, the database files were damaged or removed: sled
/// recovers an unreadable log as an empty database, and that must not pass for a new store.
const MARKER_FILE: &str = "casebot-store";

/// The sled-backed `CaseStore`.
#[derive(Debug)]
pub struct SledStore {
    path: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) cases: Tree,
    processed: Tree,
    threads: Tree,
    journal: Tree,
    meta: Tree,
    recurrence: Tree,
    recurrence_counts: Tree,
    listing: Tree,
    bundles: BundleDir,
    /// Seals case and journal values in an encrypted store.
    seal: Seal,
    commits: GroupCommit,
    /// Held for the life of the store; released by the OS if the process dies.
    _lock: File,
}

impl SledStore {
    /// Open (creating if needed) the store in `dir`.
    ///
    /// Fails with `Locked` if another process has it open, `NotWritable` if the directory cannot
    /// be created or written, `Corrupt` if the database files are damaged. Each names the path.
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore, StoreError> {
        SledStore::open_keyed(dir, None)
    }

    /// Open (creating if needed) the store in `dir`, encrypted with `key` if one is given.
    ///
    /// A new store opened with a key is encrypted for life. Besides the errors of
    /// [`SledStore::open`]: `KeyRequired` for an encrypted store opened without a key,
    /// `WrongKey` for a key it was not encrypted with, `NotEncrypted` for a key given to a
    /// plain store that already holds records. None of them changes anything stored.
    pub fn open_keyed(
        dir: impl AsRef<Path>,
        key: Option<&StoreKey>,
    ) -> Result<SledStore, StoreError> {
        let path = dir.as_ref().to_path_buf();
        prepare_dir(&path)?;
        let lock = take_lock(&path)?;
        let db_path = path.join("db");
        let db = open_db(&db_path)?;
        let open_tree = |name: &str| db.open_tree(name).map_err(|e| open_error(&db_path, e));
        let mut store = SledStore {
            cases: open_tree(tree::CASES)?,
            processed: open_tree(tree::PROCESSED)?,
            threads: open_tree(tree::THREADS)?,
            journal: open_tree(tree::JOURNAL)?,
            meta: open_tree(tree::META)?,
            recurrence: open_tree(tree::RECURRENCE)?,
            recurrence_counts: open_tree(tree::RECURRENCE_COUNTS)?,
            listing: open_tree(tree::LISTING)?,
            bundles: BundleDir::open(path.join("bundles"))?,
            db,
            path,
            seal: Seal::default(),
            commits: GroupCommit::default(),
            _lock: lock,
        };
        store.check_format()?;
        store.check_key(key)?;
        store.check_recurrence_index()?;
        store.check_listing_index()?;
        Ok(store)
    }

    /// Is the store encrypted?
    pub fn is_encrypted(&self) -> bool {
        self.seal.cipher().is_some()
    }

    /// Check `key` against the store (see [`SledStore::open_keyed`]) and start sealing.
    fn check_key(&mut self, key: Option<&StoreKey>) -> Result<(), StoreError> {
        let record_key = MetaKey::Encryption.bytes();
        let record = match self.meta.get(record_key).map_err(db_err)? {
            Some(bytes) => Some(
                decode::<EncryptionRecord>("store encryption record", &bytes).map_err(|e| {
                    StoreError::Corrupt {
                        path: self.path.clone(),
                        reason: e.to_string(),
                    }
                })?,
            ),
            None => None,
        };
        let empty =
            self.cases.is_empty() && self.journal.is_empty() && self.bundles.list()?.is_empty();
        let cipher = match decide(record, key, empty, &self.path)? {
            KeyDecision::Plain => return Ok(()),
            KeyDecision::Encrypted(cipher) => cipher,
            KeyDecision::Start(cipher, record) => {
                let bytes = encode("store encryption record", &record)?;
                self.meta.insert(record_key, bytes).map_err(db_err)?;
                self.durable()?;
                cipher
            }
        };
        self.bundles.seal_with(cipher.clone());
        self.seal = Seal::new(Some(cipher));
        Ok(())
    }

    /// Is there a store in `dir` (one that `open` would open rather than create)?
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        let dir = dir.as_ref();
        dir.join(MARKER_FILE).exists() || dir.join("db").exists()
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the database uses on disk (excluding bundles).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(db_err)
    }

    /// Mark a new store, or check that an existing one is a casebot store this build can read.
    fn check_format(&self) -> Result<(), StoreError> {
        let key = MetaKey::Format.bytes();
        let corrupt = |reason: String| StoreError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        match self.meta.get(key).map_err(|e| open_error(&self.path, e))? {
            Some(bytes) => {
                let record: FormatRecord =
                    decode("store format", &bytes).map_err(|e| corrupt(e.to_string()))?;
                if record.format != FORMAT_NAME {
                    return Err(corrupt(format!("not a casebot store ({})", record.format)));
                }
            }
            None => {
                if self.path.join(MARKER_FILE).exists() {
                    return Err(StoreError::Corrupt {
                        path: self.path.join("db"),
                        reason: "the database files are damaged or missing (the store was \
                                 created here, but its records cannot be found); move the \
                                 directory aside and restore an export with `casebot cases import`"
                            .into(),
                    });
                }
                if !self.cases.is_empty() {
                    return Err(corrupt("cases present but no format marker".into()));
                }
                let record = FormatRecord {
                    v: CURRENT,
                    format: FORMAT_NAME.into(),
                };
                self.meta
                    .insert(key, encode("store format", &record)?)
                    .map_err(db_err)?;
                self.durable()?;
            }
        }
        write_marker(&self.path)?;
        // Walk every tree once so damage shows now, naming the path, not mid-conversation.
        for tree in [&self.cases, &self.processed, &self.threads, &self.journal] {
            for item in tree.iter() {
                item.map_err(|e| open_error(&self.path, e))?;
            }
        }
        Ok(())
    }

    /// Build the recurrence index if the store has none (one written by an older casebot, or
    /// a build interrupted before it finished: the marker is written last).
    fn check_recurrence_index(&self) -> Result<(), StoreError> {
        let key = MetaKey::RecurrenceIndex.bytes();
        if self.meta.get(key).map_err(db_err)?.is_some() {
            return Ok(());
        }
        self.recurrence.clear().map_err(db_err)?;
        self.recurrence_counts.clear().map_err(db_err)?;
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for item in self.cases.iter() {
            let (key, bytes) = item.map_err(db_err)?;
            let case = open_case(&self.seal, &key, &bytes)?;
            for c in case.conclusions() {
                let conclusion = c.key();
                let entry = RecurrenceKey {
                    conclusion: &conclusion,
                    created_at: case.created_at,
                    case: &case.id,
                };
                self.recurrence
                    .insert(entry.bytes(), &[] as &[u8])
                    .map_err(db_err)?;
                *counts.entry(conclusion).or_default() += 1;
            }
        }
        for (conclusion, n) in counts {
            self.recurrence_counts
                .insert(conclusion.as_bytes(), &n.to_be_bytes())
                .map_err(db_err)?;
        }
        let record = encode("recurrence index", &IndexRecord { v: CURRENT })?;
        self.meta.insert(key, record).map_err(db_err)?;
        self.durable()
    }

    /// Build the listing index if the store has none (as [`Self::check_recurrence_index`]).
    fn check_listing_index(&self) -> Result<(), StoreError> {
        let key = MetaKey::ListingIndex.bytes();
        if self.meta.get(key).map_err(db_err)?.is_some() {
            return Ok(());
        }
        self.listing.clear().map_err(db_err)?;
        for item in self.cases.iter() {
            let (key, bytes) = item.map_err(db_err)?;
            let entry = ListingKey::of(&open_case(&self.seal, &key, &bytes)?);
            self.listing.insert(entry, &[] as &[u8]).map_err(db_err)?;
        }
        let record = encode("listing index", &IndexRecord { v: CURRENT })?;
        self.meta.insert(key, record).map_err(db_err)?;
        self.durable()
    }

    /// Return once everything committed so far is on disk (group commit).
    fn durable(&self) -> Result<(), StoreError> {
        self.commits
            .wait_durable(&|| self.db.flush().map(|_| ()).map_err(db_err))
    }

    fn snapshot(&self) -> Result<Dump, StoreError> {
        let mut dump = Dump {
            counter: self.counter()?,
            cases: self.list()?.into_iter().map(|c| (0, c)).collect(),
            ..Dump::default()
        };
        for item in self.threads.iter() {
            let (k, v) = item.map_err(db_err)?;
            let record: ThreadRecord = decode("thread binding", &v)?;
            dump.threads.push((0, ThreadKey::parse(&k)?, record.case));
        }
        for item in self.processed.iter() {
            let (k, v) = item.map_err(db_err)?;
            let record: ProcessedRecord = decode("processed id", &v)?;
            dump.processed
                .push((0, String::from_utf8_lossy(&k).into_owned(), record.at));
        }
        dump.journal = self.journal_list()?.into_iter().map(|e| (0, e)).collect();
        dump.bundles = self.bundles.dump_list()?;
        Ok(dump)
    }

    fn counter(&self) -> Result<u64, StoreError> {
        match self.meta.get(MetaKey::Counter.bytes()).map_err(db_err)? {
            Some(bytes) => Ok(decode::<CounterRecord>("case counter", &bytes)?.n),
            None => Ok(0),
        }
    }
}

/// Create the directory (refusing one that holds something else) and prove it can be written.
fn prepare_dir(path: &Path) -> Result<(), StoreError> {
    let not_writable = |e: std::io::Error| StoreError::NotWritable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    fs::create_dir_all(path).map_err(not_writable)?;
    if !path.join(MARKER_FILE).exists() && !path.join("db").exists() {
        // Names a first open may leave behind if it was interrupted.
        let ours = |name: &str| {
            [LOCK_FILE, "bundles", "db"].contains(&name) || name.starts_with(".write-probe-")
        };
        let entries = fs::read_dir(path).map_err(not_writable)?;
        if let Some(other) = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|name| !ours(name))
        {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                example: other,
            });
        }
    }
    let probe = path.join(format!(".write-probe-{}", std::process::id()));
    File::create(&probe)
        .and_then(|mut f| f.write_all(b"casebot"))
        .map_err(not_writable)?;
    fs::remove_file(&probe).map_err(not_writable)
}

/// Create the marker file (fsynced, with its directory entry) if it is not there yet.
fn write_marker(path: &Path) -> Result<(), StoreError> {
    let marker = path.join(MARKER_FILE);
    if marker.exists() {
        return Ok(());
    }
    let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", marker.display()));
    let mut file = File::create(&marker).map_err(io)?;
    file.write_all(format!("{FORMAT_NAME} v{CURRENT}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    File::open(path).and_then(|d| d.sync_all()).map_err(io)
}

/// Take the advisory lock that marks the store as in use.
fn take_lock(path: &Path) -> Result<File, StoreError> {
    let lock_path = path.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::NotWritable {
            path: lock_path.clone(),
            reason: e.to_string(),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: path.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(StoreError::Io(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

/// Open sled, turning its errors (and panics on damaged files) into startup errors.
fn open_db(db_path: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(db_path).mode(sled::Mode::LowSpace);
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
    match opened {
        Ok(result) => result.map_err(|e| open_error(db_path, e)),
        Err(_) => Err(StoreError::Corrupt {
            path: db_path.to_path_buf(),
            reason: "the database failed while reading its files".into(),
        }),
    }
}

/// Map a sled error seen while opening to the startup error naming the path.
fn open_error(path: &Path, e: sled::Error) -> StoreError {
    use std::io::ErrorKind;
    let path = path.to_path_buf();
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked { path }
        }
        sled::Error::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            StoreError::NotWritable {
                path,
                reason: io.to_string(),
            }
        }
        sled::Error::Io(io)
            if matches!(io.kind(), ErrorKind::InvalidData | ErrorKind::UnexpectedEof) =>
        {
            StoreError::Corrupt {
                path,
                reason: io.to_string(),
            }
        }
        sled::Error::Io(io) => StoreError::Io(format!("{}: {io}", path.display())),
        other => StoreError::Corrupt {
            path,
            reason: other.to_string(),
        },
    }
}

fn db_err(e: sled::Error) -> StoreError {
    match &e {
        sled::Error::Io(io) => {
            StoreError::cannot_write(io).unwrap_or_else(|| StoreError::Io(e.to_string()))
        }
        _ => StoreError::Io(e.to_string()),
    }
}

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => db_err(e),
    }
}

fn abort<T>(e: StoreError) -> ConflictableTransactionResult<T, StoreError> {
    Err(ConflictableTransactionError::Abort(e))
}

/// Point thread bindings at `after` (and drop the old binding if it was this case's).
fn bind_threads(
    threads: &TransactionalTree,
    before: Option<&Case>,
    after: &Case,
) -> ConflictableTransactionResult<(), StoreError> {
    let old = before.and_then(|c| c.thread_id);
    if old == after.thread_id {
        return Ok(());
    }
    if let Some(old) = old {
        let key = ThreadKey(old).bytes();
        if let Some(bytes) = threads.get(key)? {
            let record: ThreadRecord = decode("thread binding", &bytes).or_else(abort)?;
            if record.case == after.id {
                threads.remove(&key[..])?;
            }
        }
    }
    if let Some(new) = after.thread_id {
        let record = ThreadRecord {
            v: CURRENT,
            case: after.id.clone(),
        };
        let bytes = encode("thread binding", &record).or_else(abort)?;
        threads.insert(&ThreadKey(new).bytes()[..], bytes)?;
    }
    Ok(())
}

/// Keep the recurrence index in step with a case going from `before` to `after`.
fn tx_index(
    entries: &TransactionalTree,
    counts: &TransactionalTree,
    before: Option<&Case>,
    after: &Case,
) -> Result<(), TxErr> {
    let (lost, gained) = changes(before, Some(after));
    let was_created = before.map_or(after.created_at, |b| b.created_at);
    for (c, gained) in lost
        .iter()
        .map(|c| (c, false))
        .chain(gained.iter().map(|c| (c, true)))
    {
        let conclusion = c.key();
        let key = RecurrenceKey {
            conclusion: &conclusion,
            created_at: if gained {
                after.created_at
            } else {
                was_created
            },
            case: &after.id,
        }
        .bytes();
        let was = if gained {
            entries.insert(key, &[] as &[u8])?
        } else {
            entries.remove(key)?
        };
        // Count only real changes, so the count is the number of entries.
        if was.is_some() != gained {
            let n = match counts.get(conclusion.as_bytes())? {
                Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
                None => 0,
            };
            let n = if gained { n + 1 } else { n.saturating_sub(1) };
            if n == 0 {
                counts.remove(conclusion.as_bytes())?;
            } else {
                counts.insert(conclusion.as_bytes(), &n.to_be_bytes())?;
            }
        }
    }
    Ok(())
}

/// The stored form of a case.
fn seal_case(seal: &Seal, case: &Case) -> Result<Vec<u8>, StoreError> {
    let key = CaseKey(&case.id);
    Ok(seal.wrap(tree::CASES, key.bytes(), encode_case(case)?))
}

/// A case from its stored form under `key`.
fn open_case(seal: &Seal, key: &[u8], bytes: &[u8]) -> Result<Case, StoreError> {
    decode_case(&seal.unwrap("case", tree::CASES, key, bytes)?)
}

/// The stored form of a journal record.
fn seal_journal(seal: &Seal, record: &JournalRecord) -> Result<Vec<u8>, StoreError> {
    let key = JournalKey(&record.entry.id);
    Ok(seal.wrap(tree::JOURNAL, key.bytes(), encode("journal entry", record)?))
}

/// A journal record from its stored form under `key`.
fn open_journal(seal: &Seal, key: &[u8], bytes: &[u8]) -> Result<JournalRecord, StoreError> {
    let what = "journal entry";
    decode(what, &seal.unwrap(what, tree::JOURNAL, key, bytes)?)
}

/// Keep the listing index in step with a case going from `before` to `after` (`None`: deleted).
fn tx_listing(
    listing: &TransactionalTree,
    before: Option<&Case>,
    after: Option<&Case>,
) -> Result<(), TxErr> {
    let old = before.map(ListingKey::of);
    let new = after.map(ListingKey::of);
    if old == new {
        return Ok(());
    }
    if let Some(key) = old {
        listing.remove(key)?;
    }
    if let Some(key) = new {
        listing.insert(key, &[] as &[u8])?;
    }
    Ok(())
}

/// A processed-id record; `case` names the case a `create` inserted with the id.
fn processed_value(case: Option<&CaseId>) -> Result<Vec<u8>, StoreError> {
    encode(
        "processed id",
        &ProcessedRecord {
            v: CURRENT,
            at: now_secs(),
            case: case.cloned(),
        },
    )
}

fn tx_counter(meta: &TransactionalTree) -> Result<u64, TxErr> {
    match meta.get(MetaKey::Counter.bytes())? {
        Some(bytes) => decode::<CounterRecord>("case counter", &bytes)
            .map(|r| r.n)
            .map_err(abort_err),
        None => Ok(0),
    }
}

fn tx_set_counter(meta: &TransactionalTree, n: u64) -> Result<(), TxErr> {
    let bytes = encode("case counter", &CounterRecord { v: CURRENT, n }).map_err(abort_err)?;
    meta.insert(MetaKey::Counter.bytes(), bytes)?;
    Ok(())
}

/// The import merge inside one transaction over every tree.
struct TxMerge<'a> {
    seal: &'a Seal,
    cases: &'a TransactionalTree,
    processed: &'a TransactionalTree,
    threads: &'a TransactionalTree,
    journal: &'a TransactionalTree,
    meta: &'a TransactionalTree,
    recurrence: &'a TransactionalTree,
    recurrence_counts: &'a TransactionalTree,
    listing: &'a TransactionalTree,
}

type TxErr = ConflictableTransactionError<StoreError>;

fn abort_err(e: StoreError) -> TxErr {
    ConflictableTransactionError::Abort(e)
}

impl MergeTarget for TxMerge<'_> {
    type Err = TxErr;
    fn fail(&self, e: StoreError) -> TxErr {
        abort_err(e)
    }
    fn get_case(&mut self, id: &CaseId) -> Result<Option<Case>, TxErr> {
        let key = CaseKey(id);
        match self.cases.get(key.bytes())? {
            Some(bytes) => open_case(self.seal, key.bytes(), &bytes)
                .map(Some)
                .map_err(abort_err),
            None => Ok(None),
        }
    }
    fn put_case(&mut self, case: &Case) -> Result<(), TxErr> {
        let key = CaseKey(&case.id);
        let bytes = seal_case(self.seal, case).map_err(abort_err)?;
        let before = match self.cases.insert(key.bytes(), bytes)? {
            Some(old) => Some(open_case(self.seal, key.bytes(), &old).map_err(abort_err)?),
            None => None,
        };
        tx_index(
            self.recurrence,
            self.recurrence_counts,
            before.as_ref(),
            case,
        )?;
        tx_listing(self.listing, before.as_ref(), Some(case))
    }
    fn get_thread(&mut self, thread: u64) -> Result<Option<CaseId>, TxErr> {
        match self.threads.get(ThreadKey(thread).bytes())? {
            Some(bytes) => decode::<ThreadRecord>("thread binding", &bytes)
                .map(|r| Some(r.case))
                .map_err(abort_err),
            None => Ok(None),
        }
    }
    fn put_thread(&mut self, thread: u64, case: &CaseId) -> Result<(), TxErr> {
        let record = ThreadRecord {
            v: CURRENT,
            case: case.clone(),
        };
        let bytes = encode("thread binding", &record).map_err(abort_err)?;
        self.threads.insert(&ThreadKey(thread).bytes()[..], bytes)?;
        Ok(())
    }
    fn has_processed(&mut self, id: &str) -> Result<bool, TxErr> {
        Ok(self.processed.get(MessageKey(id).bytes())?.is_some())
    }
    fn put_processed(&mut self, id: &str, at: u64) -> Result<(), TxErr> {
        let bytes = encode(
            "processed id",
            &ProcessedRecord {
                v: CURRENT,
                at,
                case: None,
            },
        )
        .map_err(abort_err)?;
        self.processed.insert(MessageKey(id).bytes(), bytes)?;
        Ok(())
    }
    fn get_journal(&mut self, id: &str) -> Result<Option<JournalEntry>, TxErr> {
        let key = JournalKey(id);
        match self.journal.get(key.bytes())? {
            Some(bytes) => open_journal(self.seal, key.bytes(), &bytes)
                .map(|r| Some(r.entry))
                .map_err(abort_err),
            None => Ok(None),
        }
    }
    fn put_journal(&mut self, entry: &JournalEntry) -> Result<(), TxErr> {
        let record = JournalRecord {
            v: CURRENT,
            seq: self.journal.generate_id()?,
            entry: entry.clone(),
        };
        let bytes = seal_journal(self.seal, &record).map_err(abort_err)?;
        self.journal.insert(JournalKey(&entry.id).bytes(), bytes)?;
        Ok(())
    }
    fn counter(&mut self) -> Result<u64, TxErr> {
        tx_counter(self.meta)
    }
    fn set_counter(&mut self, n: u64) -> Result<(), TxErr> {
        tx_set_counter(self.meta, n)
    }
}

impl CaseStore for SledStore {
    fn new_case_id(&self) -> Result<CaseId, StoreError> {
        // Not flushed on its own: an id only matters once a case using it is written, and that
        // write's flush carries the counter too (sled persists in commit order). The random
        // suffix keeps ids apart even if a crash rolled the counter back.
        let id = (&self.meta, &self.cases)
            .transaction(|(meta, cases)| {
                let mut n = tx_counter(meta)?;
                loop {
                    n += 1;
                    let id = case_id_from_counter(n);
                    if cases.get(CaseKey(&id).bytes())?.is_none() {
                        tx_set_counter(meta, n)?;
                        return Ok(id);
                    }
                }
            })
            .map_err(tx_err)?;
        Ok(id)
    }

    fn create(&self, case: Case, message_id: Option<&str>) -> Result<Applied<Case>, StoreError> {
        let key = CaseKey(&case.id);
        let bytes = seal_case(&self.seal, &case)?;
        let processed_bytes = processed_value(Some(&case.id))?;
        let trees = (
            &self.cases,
            &self.processed,
            &self.threads,
            &self.recurrence,
            &self.recurrence_counts,
            &self.listing,
        );
        let applied = trees
            .transaction(|(cases, processed, threads, entries, counts, listing)| {
                if let Some(mid) = message_id
                    && processed.get(MessageKey(mid).bytes())?.is_some()
                {
                    return Ok(false);
                }
                if cases.get(key.bytes())?.is_some() {
                    return abort(StoreError::Exists(case.id.to_string()));
                }
                cases.insert(key.bytes(), bytes.clone())?;
                bind_threads(threads, None, &case)?;
                tx_index(entries, counts, None, &case)?;
                tx_listing(listing, None, Some(&case))?;
                if let Some(mid) = message_id {
                    processed.insert(MessageKey(mid).bytes(), processed_bytes.clone())?;
                }
                Ok(true)
            })
            .map_err(tx_err)?;
        self.durable()?;
        Ok(if applied {
            Applied::Done(case)
        } else {
            Applied::Duplicate
        })
    }

    fn created_by(&self, message_id: &str) -> Result<Option<CaseId>, StoreError> {
        match self
            .processed
            .get(MessageKey(message_id).bytes())
            .map_err(db_err)?
        {
            Some(bytes) => Ok(decode::<ProcessedRecord>("processed id", &bytes)?.case),
            None => Ok(None),
        }
    }

    fn get(&self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        let key = CaseKey(id);
        match self.cases.get(key.bytes()).map_err(db_err)? {
            Some(bytes) => open_case(&self.seal, key.bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn update(
        &self,
        id: &CaseId,
        message_id: Option<&str>,
        f: &mut dyn FnMut(&mut Case),
    ) -> Result<Applied<Case>, StoreError> {
        let key = CaseKey(id);
        let processed_bytes = processed_value(None)?;
        // sled may re-run the closure on conflict; `f` is documented to be pure.
        let f = RefCell::new(f);
        let trees = (
            &self.cases,
            &self.processed,
            &self.threads,
            &self.recurrence,
            &self.recurrence_counts,
            &self.listing,
        );
        let (applied, wrote) = trees
            .transaction(|(cases, processed, threads, entries, counts, listing)| {
                if let Some(mid) = message_id
                    && processed.get(MessageKey(mid).bytes())?.is_some()
                {
                    return Ok((Applied::Duplicate, false));
                }
                let Some(bytes) = cases.get(key.bytes())? else {
                    return abort(StoreError::NotFound(id.to_string()));
                };
                let before = open_case(&self.seal, key.bytes(), &bytes).or_else(abort)?;
                let mut after = before.clone();
                (f.borrow_mut())(&mut after);
                if after.id != before.id {
                    return abort(StoreError::IdChanged(before.id.to_string()));
                }
                let changed = after != before;
                if changed {
                    cases.insert(key.bytes(), seal_case(&self.seal, &after).or_else(abort)?)?;
                    bind_threads(threads, Some(&before), &after)?;
                    tx_index(entries, counts, Some(&before), &after)?;
                    tx_listing(listing, Some(&before), Some(&after))?;
                }
                if let Some(mid) = message_id {
                    processed.insert(MessageKey(mid).bytes(), processed_bytes.clone())?;
                }
                Ok((Applied::Done(after), changed || message_id.is_some()))
            })
            .map_err(tx_err)?;
        // A duplicate is acknowledged too: the write that recorded the id may still be in the
        // group being flushed by another caller.
        if wrote || matches!(applied, Applied::Duplicate) {
            self.durable()?;
        }
        Ok(applied)
    }

    fn is_processed(&self, message_id: &str) -> Result<bool, StoreError> {
        self.processed
            .contains_key(MessageKey(message_id).bytes())
            .map_err(db_err)
    }

    fn mark_processed(&self, message_id: &str) -> Result<bool, StoreError> {
        let bytes = processed_value(None)?;
        let swapped = self
            .processed
            .compare_and_swap(
                MessageKey(message_id).bytes(),
                None as Option<&[u8]>,
                Some(bytes),
            )
            .map_err(db_err)?;
        self.durable()?;
        Ok(swapped.is_ok())
    }

    fn prune_processed(&self, before: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        for item in self.processed.iter() {
            let (key, bytes) = item.map_err(db_err)?;
            let record: ProcessedRecord = decode("processed id", &bytes)?;
            // Compare-and-swap so an id re-recorded meanwhile is kept.
            if record.at < before
                && self
                    .processed
                    .compare_and_swap(&key, Some(&bytes), None as Option<&[u8]>)
                    .map_err(db_err)?
                    .is_ok()
            {
                removed += 1;
            }
        }
        if removed > 0 {
            self.durable()?;
        }
        Ok(removed)
    }

    fn list(&self) -> Result<Vec<Case>, StoreError> {
        let mut cases = Vec::with_capacity(self.cases.len());
        for item in self.cases.iter() {
            let (key, bytes) = item.map_err(db_err)?;
            cases.push(open_case(&self.seal, &key, &bytes)?);
        }
        cases.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(cases)
    }

    fn latest(
        &self,
        keep: &mut dyn FnMut(&Case) -> bool,
        limit: usize,
    ) -> Result<Vec<Case>, StoreError> {
        let mut cases = Vec::new();
        for item in self.listing.scan_prefix(ListingKey::PREFIX).rev() {
            if cases.len() >= limit {
                break;
            }
            let (key, _) = item.map_err(db_err)?;
            // An entry is removed with its case; one left by a crash between the two is passed.
            let Some(case) = self.get(&ListingKey::case_of(&key)?)? else {
                continue;
            };
            if keep(&case) {
                cases.push(case);
            }
        }
        Ok(cases)
    }

    fn recurrence(
        &self,
        conclusion: &Conclusion,
        this: &CaseId,
        limit: usize,
    ) -> Result<Recurrence, StoreError> {
        let key = conclusion.key();
        let count = match self.recurrence_counts.get(key.as_bytes()).map_err(db_err)? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
            None => return Ok(Recurrence::default()),
        };
        // `this` is counted when one of its own devices concluded the same.
        let listed = match self.get(this)? {
            Some(case) => {
                let entry = RecurrenceKey {
                    conclusion: &key,
                    created_at: case.created_at,
                    case: this,
                };
                self.recurrence
                    .contains_key(entry.bytes())
                    .map_err(db_err)?
            }
            None => false,
        };
        let prefix = RecurrenceKey::prefix(&key);
        let mut recent = Vec::with_capacity(limit);
        for item in self.recurrence.scan_prefix(&prefix).rev() {
            if recent.len() == limit {
                break;
            }
            let (k, _) = item.map_err(db_err)?;
            let id = RecurrenceKey::case_of(&k, prefix.len())?;
            if &id != this {
                recent.push(id);
            }
        }
        recent.reverse();
        Ok(Recurrence {
            count: count.saturating_sub(u64::from(listed)),
            recent,
        })
    }

    fn case_by_thread(&self, thread_id: u64) -> Result<Option<CaseId>, StoreError> {
        match self
            .threads
            .get(ThreadKey(thread_id).bytes())
            .map_err(db_err)?
        {
            Some(bytes) => Ok(Some(decode::<ThreadRecord>("thread binding", &bytes)?.case)),
            None => Ok(None),
        }
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

    fn open_bundle(&self, sha256: &str) -> Result<Option<crate::PlainBundle>, StoreError> {
        self.bundles.open_plain(sha256)
    }

    fn delete_bundle(&self, sha256: &str) -> Result<bool, StoreError> {
        self.bundles.remove(sha256)
    }

    fn delete_case(&self, id: &CaseId) -> Result<bool, StoreError> {
        if !crate::forget_conclusions(self, id)? {
            return Ok(false);
        }
        let key = CaseKey(id);
        let removed = (&self.cases, &self.threads, &self.listing)
            .transaction(|(cases, threads, listing)| {
                let Some(bytes) = cases.remove(key.bytes())? else {
                    return Ok(false);
                };
                let case = open_case(&self.seal, key.bytes(), &bytes).or_else(abort)?;
                tx_listing(listing, Some(&case), None)?;
                if let Some(thread) = case.thread_id {
                    let tkey = ThreadKey(thread).bytes();
                    if let Some(bytes) = threads.get(tkey)? {
                        let record: ThreadRecord =
                            decode("thread binding", &bytes).or_else(abort)?;
                        if record.case == *id {
                            threads.remove(&tkey[..])?;
                        }
                    }
                }
                Ok(true)
            })
            .map_err(tx_err)?;
        for entry in self.journal_list()? {
            if entry.case_id == *id {
                self.journal
                    .remove(JournalKey(&entry.id).bytes())
                    .map_err(db_err)?;
            }
        }
        self.durable()?;
        Ok(removed)
    }

    fn journal_add(&self, entry: &JournalEntry) -> Result<(), StoreError> {
        let key = JournalKey(&entry.id);
        let journal = &self.journal;
        journal
            .transaction(|tx| {
                let seq = match tx.get(key.bytes())? {
                    Some(bytes) => {
                        open_journal(&self.seal, key.bytes(), &bytes)
                            .or_else(abort)?
                            .seq
                    }
                    None => tx.generate_id()?,
                };
                let record = JournalRecord {
                    v: CURRENT,
                    seq,
                    entry: entry.clone(),
                };
                tx.insert(
                    key.bytes(),
                    seal_journal(&self.seal, &record).or_else(abort)?,
                )?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.durable()
    }

    fn journal_remove(&self, id: &str) -> Result<(), StoreError> {
        self.journal
            .remove(JournalKey(id).bytes())
            .map_err(db_err)?;
        self.durable()
    }

    fn journal_list(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let mut records = Vec::new();
        for item in self.journal.iter() {
            let (key, bytes) = item.map_err(db_err)?;
            records.push(open_journal(&self.seal, &key, &bytes)?);
        }
        records.sort_by_key(|r| (r.entry.accepted_at, r.seq));
        Ok(records.into_iter().map(|r| r.entry).collect())
    }

    fn export(&self, out: &mut dyn Write) -> Result<u64, StoreError> {
        self.snapshot()?.write(out)
    }

    fn import(&self, input: &mut dyn BufRead) -> Result<u64, StoreError> {
        let dump = Dump::read(input)?;
        let bundles = dump.put_bundles(&|r| self.bundles.put(r))?;
        let written = (
            &self.cases,
            &self.processed,
            &self.threads,
            &self.journal,
            &self.meta,
            &self.recurrence,
            &self.recurrence_counts,
            &self.listing,
        )
            .transaction(
                |(
                    cases,
                    processed,
                    threads,
                    journal,
                    meta,
                    recurrence,
                    recurrence_counts,
                    listing,
                )| {
                    let mut target = TxMerge {
                        seal: &self.seal,
                        cases,
                        processed,
                        threads,
                        journal,
                        meta,
                        recurrence,
                        recurrence_counts,
                        listing,
                    };
                    merge(&dump, &mut target)
                },
            )
            .map_err(tx_err)?;
        self.durable()?;
        Ok(bundles + written)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.durable()
    }
}
