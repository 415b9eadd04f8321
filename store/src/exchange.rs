//! Export/import as JSON lines, shared by every `CaseStore`.
//!
//! The dump starts with a header line, then one line per record:
//!
//! ```text
//! {"kind":"header","format":"casebot-store","v":1}
//! {"kind":"counter","v":1,"n":42}
//! {"kind":"case","v":1,"case":{…}}
//! {"kind":"thread","v":1,"thread":123,"case":"CAS-00042-AB12CD"}
//! {"kind":"processed","v":1,"id":"1234","at":1700000000}
//! {"kind":"journal","v":1,"entry":{…}}
//! {"kind":"bundle","v":1,"sha256":"…","bytes":3416}
//! {"kind":"bundle-data","v":1,"sha256":"…","data":"<base64>"}
//! ```
//!
//! Every stored bundle follows the records: a `bundle` line, then its content in `bundle-data`
//! lines of at most 192 KiB each (base64), so a dump moves a whole store, bundles included, and
//! no line is large. Import stages bundle content in a temporary directory and checks its size
//! and sha256 before anything is written; a damaged bundle refuses the import naming its line.
//!
//! Import validates the whole input before writing anything, then merges: records missing from the
//! store are added, identical ones are skipped, and a record that would replace different content
//! (a case, thread binding or journal entry with the same key) refuses the import naming the line.
//! Nothing already stored is lost or changed, apart from the counter rising to the dump's value.
//! Bundles are written before the records (content before the references to it, and a bundle
//! already present is recognised), so a refused import may leave new bundles behind, never
//! changed ones.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{CURRENT, FORMAT_NAME, migrate_case};
use crate::{Case, CaseId, JournalEntry, StoreError};

/// One line of a dump.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum Line {
    Header {
        format: String,
        v: u32,
    },
    Counter {
        v: u32,
        n: u64,
    },
    Case {
        v: u32,
        case: Value,
    },
    Thread {
        v: u32,
        thread: u64,
        case: CaseId,
    },
    Processed {
        v: u32,
        id: String,
        at: u64,
    },
    Journal {
        v: u32,
        entry: JournalEntry,
    },
    Bundle {
        v: u32,
        sha256: String,
        bytes: u64,
    },
    BundleData {
        v: u32,
        sha256: String,
        data: String,
    },
}

/// Raw bytes per `bundle-data` line.
const BUNDLE_LINE_BYTES: usize = 192 * 1024;

/// A bundle in a dump: on export the file the store keeps, on import the staged copy.
#[derive(Debug)]
pub(crate) struct DumpBundle {
    pub sha256: String,
    pub bytes: u64,
    pub path: PathBuf,
    /// Opens the file when the store keeps it sealed; the dump holds the plain content.
    pub cipher: Option<crate::crypt::Cipher>,
}

/// A bundle being read from a dump.
struct Incoming {
    line: u64,
    sha256: String,
    bytes: u64,
    written: u64,
    file: File,
    path: PathBuf,
    hasher: Sha256,
}

/// The whole store, in memory. `lines` of imported records give error positions.
#[derive(Debug, Default)]
pub(crate) struct Dump {
    pub counter: u64,
    pub cases: Vec<(u64, Case)>,
    pub threads: Vec<(u64, u64, CaseId)>,
    pub processed: Vec<(u64, String, u64)>,
    pub journal: Vec<(u64, JournalEntry)>,
    pub bundles: Vec<DumpBundle>,
    /// Where imported bundles are staged; removed with the dump.
    pub staging: Option<tempfile::TempDir>,
}

impl Dump {
    /// Number of records (every line but the header).
    pub fn records(&self) -> u64 {
        (1 + self.cases.len()
            + self.threads.len()
            + self.processed.len()
            + self.journal.len()
            + self.bundles.len()) as u64
    }

    /// Write as JSON lines; returns records written.
    pub fn write(&self, out: &mut dyn Write) -> Result<u64, StoreError> {
        let mut put = |line: &Line| -> Result<(), StoreError> {
            serde_json::to_writer(&mut *out, line)
                .map_err(|e| StoreError::Io(format!("writing export: {e}")))?;
            out.write_all(b"\n")
                .map_err(|e| StoreError::Io(format!("writing export: {e}")))
        };
        put(&Line::Header {
            format: FORMAT_NAME.into(),
            v: CURRENT,
        })?;
        put(&Line::Counter {
            v: CURRENT,
            n: self.counter,
        })?;
        for (_, case) in &self.cases {
            let case = serde_json::to_value(case)
                .map_err(|e| StoreError::Io(format!("encoding case {}: {e}", case.id)))?;
            put(&Line::Case { v: CURRENT, case })?;
        }
        for (_, thread, case) in &self.threads {
            put(&Line::Thread {
                v: CURRENT,
                thread: *thread,
                case: case.clone(),
            })?;
        }
        for (_, id, at) in &self.processed {
            put(&Line::Processed {
                v: CURRENT,
                id: id.clone(),
                at: *at,
            })?;
        }
        for (_, entry) in &self.journal {
            put(&Line::Journal {
                v: CURRENT,
                entry: entry.clone(),
            })?;
        }
        for bundle in &self.bundles {
            put(&Line::Bundle {
                v: CURRENT,
                sha256: bundle.sha256.clone(),
                bytes: bundle.bytes,
            })?;
            let io = |e: std::io::Error| {
                StoreError::Io(format!("reading bundle {}: {e}", bundle.path.display()))
            };
            let file = File::open(&bundle.path).map_err(io)?;
            let mut file: Box<dyn Read> = match &bundle.cipher {
                Some(cipher) => Box::new(cipher.open_reader(file).map_err(io)?),
                None => Box::new(file),
            };
            let mut buf = vec![0u8; BUNDLE_LINE_BYTES];
            loop {
                let n = read_full(&mut file, &mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                put(&Line::BundleData {
                    v: CURRENT,
                    sha256: bundle.sha256.clone(),
                    data: BASE64.encode(&buf[..n]),
                })?;
            }
        }
        out.flush()
            .map_err(|e| StoreError::Io(format!("writing export: {e}")))?;
        Ok(self.records())
    }

    /// Parse and validate a dump. Any problem → `StoreError::Import` with its 1-based line.
    pub fn read(input: &mut dyn BufRead) -> Result<Dump, StoreError> {
        let mut dump = Dump::default();
        let mut seen_header = false;
        let mut case_lines: HashMap<CaseId, u64> = HashMap::new();
        let mut buf = String::new();
        let mut line_no = 0u64;
        let mut incoming: Option<Incoming> = None;
        loop {
            buf.clear();
            line_no += 1;
            let n = input.read_line(&mut buf).map_err(|e| StoreError::Import {
                line: line_no,
                reason: format!("cannot read: {e}"),
            })?;
            if n == 0 {
                break;
            }
            if buf.trim().is_empty() {
                continue;
            }
            let err = |reason: String| StoreError::Import {
                line: line_no,
                reason,
            };
            let line: Line = serde_json::from_str(buf.trim()).map_err(|e| err(e.to_string()))?;
            if !seen_header {
                match line {
                    Line::Header { ref format, v } if format == FORMAT_NAME && v <= CURRENT => {
                        seen_header = true;
                        continue;
                    }
                    _ => {
                        return Err(err(format!(
                            "not a casebot store export (expected a `{FORMAT_NAME}` header line)"
                        )));
                    }
                }
            }
            match line {
                Line::BundleData { v, sha256, data } => {
                    incoming_data(&mut incoming, v, &sha256, &data).map_err(err)?;
                    continue;
                }
                line => {
                    dump.finish_bundle(incoming.take())?;
                    if let Line::Bundle { v, sha256, bytes } = line {
                        incoming = Some(dump.start_bundle(line_no, v, sha256, bytes).map_err(err)?);
                    } else {
                        dump.add(line, line_no, &mut case_lines).map_err(err)?;
                    }
                }
            }
        }
        dump.finish_bundle(incoming.take())?;
        if !seen_header {
            return Err(StoreError::Import {
                line: 1,
                reason: "empty input: not a casebot store export".into(),
            });
        }
        Ok(dump)
    }

    fn add(
        &mut self,
        line: Line,
        no: u64,
        case_lines: &mut HashMap<CaseId, u64>,
    ) -> Result<(), String> {
        let check = |v: u32| {
            if v > CURRENT {
                Err(format!(
                    "record version {v} is newer than this casebot ({CURRENT})"
                ))
            } else {
                Ok(())
            }
        };
        match line {
            Line::Header { .. } => return Err("a second header line".into()),
            Line::Counter { v, n } => {
                check(v)?;
                self.counter = self.counter.max(n);
            }
            Line::Case { v, case } => {
                check(v)?;
                // v0 cases predate the envelope: the bare object is the stored shape.
                let stored = if v == 0 {
                    case
                } else {
                    serde_json::json!({ "v": v, "case": case })
                };
                let case = migrate_case(stored).map_err(|e| e.to_string())?;
                if let Some(first) = case_lines.insert(case.id.clone(), no) {
                    return Err(format!("case {} already appeared on line {first}", case.id));
                }
                self.cases.push((no, case));
            }
            Line::Thread { v, thread, case } => {
                check(v)?;
                self.threads.push((no, thread, case));
            }
            Line::Processed { v, id, at } => {
                check(v)?;
                self.processed.push((no, id, at));
            }
            Line::Journal { v, entry } => {
                check(v)?;
                self.journal.push((no, entry));
            }
            Line::Bundle { .. } | Line::BundleData { .. } => {
                unreachable!("bundle lines are handled by `read`")
            }
        }
        Ok(())
    }

    /// Begin staging the bundle announced on line `no`.
    fn start_bundle(
        &mut self,
        no: u64,
        v: u32,
        sha256: String,
        bytes: u64,
    ) -> Result<Incoming, String> {
        if v > CURRENT {
            return Err(format!(
                "record version {v} is newer than this casebot ({CURRENT})"
            ));
        }
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(format!("{sha256:?} is not a lowercase sha256"));
        }
        if self.bundles.iter().any(|b| b.sha256 == sha256) {
            return Err(format!("bundle {sha256} appears twice"));
        }
        if self.staging.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("casebot-import-")
                .tempdir()
                .map_err(|e| format!("cannot stage bundles: {e}"))?;
            self.staging = Some(dir);
        }
        let path = self
            .staging
            .as_ref()
            .map(|d| d.path().join(&sha256))
            .unwrap_or_default();
        let file = File::create(&path).map_err(|e| format!("cannot stage bundles: {e}"))?;
        Ok(Incoming {
            line: no,
            sha256,
            bytes,
            written: 0,
            file,
            path,
            hasher: Sha256::new(),
        })
    }

    /// Check a staged bundle's size and hash, and keep it.
    fn finish_bundle(&mut self, incoming: Option<Incoming>) -> Result<(), StoreError> {
        let Some(b) = incoming else {
            return Ok(());
        };
        let err = |reason: String| StoreError::Import {
            line: b.line,
            reason,
        };
        if b.written != b.bytes {
            return Err(err(format!(
                "bundle {} is truncated: {} of {} bytes",
                b.sha256, b.written, b.bytes
            )));
        }
        let actual = hex::encode(b.hasher.finalize());
        if actual != b.sha256 {
            return Err(err(format!(
                "bundle {} is damaged: its content hashes to {actual}",
                b.sha256
            )));
        }
        drop(b.file);
        self.bundles.push(DumpBundle {
            sha256: b.sha256,
            bytes: b.bytes,
            path: b.path,
            cipher: None,
        });
        Ok(())
    }

    /// Store every bundle of the dump with `put`; returns how many were new.
    pub fn put_bundles(
        &self,
        put: &dyn Fn(&mut dyn Read) -> Result<crate::StoredBundle, StoreError>,
    ) -> Result<u64, StoreError> {
        let mut new = 0;
        for bundle in &self.bundles {
            let mut file = File::open(&bundle.path)
                .map_err(|e| StoreError::Io(format!("{}: {e}", bundle.path.display())))?;
            if !put(&mut file)?.duplicate {
                new += 1;
            }
        }
        Ok(new)
    }
}

/// Append one `bundle-data` line to the bundle being staged.
fn incoming_data(
    incoming: &mut Option<Incoming>,
    v: u32,
    sha256: &str,
    data: &str,
) -> Result<(), String> {
    let Some(b) = incoming.as_mut().filter(|b| b.sha256 == sha256) else {
        return Err(format!(
            "bundle data for {sha256} without its `bundle` line just before"
        ));
    };
    if v > CURRENT {
        return Err(format!(
            "record version {v} is newer than this casebot ({CURRENT})"
        ));
    }
    let bytes = BASE64
        .decode(data)
        .map_err(|e| format!("bundle data is not base64: {e}"))?;
    b.written += bytes.len() as u64;
    if b.written > b.bytes {
        return Err(format!(
            "bundle {sha256} has more data than its {} bytes",
            b.bytes
        ));
    }
    b.hasher.update(&bytes);
    b.file
        .write_all(&bytes)
        .map_err(|e| format!("cannot stage bundle {sha256}: {e}"))
}

/// Read until `buf` is full or the input ends (also used to chunk bundles into PostgreSQL).
pub(crate) fn read_full(file: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// What a store offers the import merge. `E` is the store's error inside its transaction.
pub(crate) trait MergeTarget {
    type Err;
    fn fail(&self, e: StoreError) -> Self::Err;
    fn get_case(&mut self, id: &CaseId) -> Result<Option<Case>, Self::Err>;
    fn put_case(&mut self, case: &Case) -> Result<(), Self::Err>;
    fn get_thread(&mut self, thread: u64) -> Result<Option<CaseId>, Self::Err>;
    fn put_thread(&mut self, thread: u64, case: &CaseId) -> Result<(), Self::Err>;
    fn has_processed(&mut self, id: &str) -> Result<bool, Self::Err>;
    fn put_processed(&mut self, id: &str, at: u64) -> Result<(), Self::Err>;
    fn get_journal(&mut self, id: &str) -> Result<Option<JournalEntry>, Self::Err>;
    fn put_journal(&mut self, entry: &JournalEntry) -> Result<(), Self::Err>;
    fn counter(&mut self) -> Result<u64, Self::Err>;
    fn set_counter(&mut self, n: u64) -> Result<(), Self::Err>;
}

/// Merge `dump` into `target`: check everything first, then write only what is new.
/// Returns the number of records written.
pub(crate) fn merge<T: MergeTarget>(dump: &Dump, target: &mut T) -> Result<u64, T::Err> {
    let cases = new_cases(dump, target)?;
    let threads = new_threads(dump, target)?;
    let journal = new_journal(dump, target)?;
    let mut written = 0u64;
    for case in cases {
        target.put_case(case)?;
        written += 1;
    }
    for (thread, case) in threads {
        target.put_thread(thread, case)?;
        written += 1;
    }
    for (_, id, at) in &dump.processed {
        if !target.has_processed(id)? {
            target.put_processed(id, *at)?;
            written += 1;
        }
    }
    for entry in journal {
        target.put_journal(entry)?;
        written += 1;
    }
    if dump.counter > target.counter()? {
        target.set_counter(dump.counter)?;
        written += 1;
    }
    Ok(written)
}

fn conflict(line: u64, reason: String) -> StoreError {
    StoreError::Import {
        line,
        reason: format!("{reason}; nothing was imported"),
    }
}

/// Cases of the dump missing from the store; a different case under the same id is a conflict.
fn new_cases<'d, T: MergeTarget>(dump: &'d Dump, target: &mut T) -> Result<Vec<&'d Case>, T::Err> {
    let mut new = Vec::new();
    for (line, case) in &dump.cases {
        match target.get_case(&case.id)? {
            None => new.push(case),
            Some(existing) if existing == *case => {}
            Some(_) => {
                let reason = format!(
                    "case {} already exists in the store with different content",
                    case.id
                );
                return Err(target.fail(conflict(*line, reason)));
            }
        }
    }
    Ok(new)
}

/// Thread bindings missing from the store; each must name a case of the dump or the store.
fn new_threads<'d, T: MergeTarget>(
    dump: &'d Dump,
    target: &mut T,
) -> Result<Vec<(u64, &'d CaseId)>, T::Err> {
    let in_dump: HashSet<&CaseId> = dump.cases.iter().map(|(_, c)| &c.id).collect();
    let mut new = Vec::new();
    for (line, thread, case) in &dump.threads {
        let known = in_dump.contains(case) || target.get_case(case)?.is_some();
        if !known {
            let reason = format!("thread {thread} is bound to {case}, which is not in the dump");
            return Err(target.fail(conflict(*line, reason)));
        }
        match target.get_thread(*thread)? {
            None => new.push((*thread, case)),
            Some(existing) if existing == *case => {}
            Some(existing) => {
                let reason = format!(
                    "thread {thread} is bound to {existing} in the store but to {case} in the dump"
                );
                return Err(target.fail(conflict(*line, reason)));
            }
        }
    }
    Ok(new)
}

/// Journal entries missing from the store; a different entry under the same id is a conflict.
fn new_journal<'d, T: MergeTarget>(
    dump: &'d Dump,
    target: &mut T,
) -> Result<Vec<&'d JournalEntry>, T::Err> {
    let mut new = Vec::new();
    for (line, entry) in &dump.journal {
        match target.get_journal(&entry.id)? {
            None => new.push(entry),
            Some(existing) if existing == *entry => {}
            Some(_) => {
                let reason = format!(
                    "journal entry {} differs from the one in the store",
                    entry.id
                );
                return Err(target.fail(conflict(*line, reason)));
            }
        }
    }
    Ok(new)
}
