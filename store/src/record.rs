//! Stored record shapes: const tree names, typed keys, versioned envelopes and the migration path.
//!
//! Every value written to the store is a JSON object with a `v` field (its schema version). A value
//! is migrated on read, so a store written by an older casebot opens in a newer one; a value with a
//! version newer than this build knows is refused rather than misread.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Case, CaseId, JournalEntry, StoreError};

/// Tree (table) names. One tree per record type.
pub(crate) mod tree {
    /// `CaseKey` → `CaseEnvelope`.
    pub const CASES: &str = "cases";
    /// `MessageKey` → `ProcessedRecord`.
    pub const PROCESSED: &str = "processed";
    /// `ThreadKey` → `ThreadRecord`.
    pub const THREADS: &str = "threads";
    /// `JournalKey` → `JournalRecord`.
    pub const JOURNAL: &str = "journal";
    /// `MetaKey` → `CounterRecord` / `FormatRecord` / `IndexRecord`.
    pub const META: &str = "meta";
    /// `RecurrenceKey` → nothing: one entry per (conclusion, case).
    pub const RECURRENCE: &str = "recurrence";
    /// Conclusion key → case count (`u64` big-endian).
    pub const RECURRENCE_COUNTS: &str = "recurrence_counts";
    /// `ListingKey` → nothing: every case, in creation order.
    pub const LISTING: &str = "listing";
}

/// Current schema version of every record type.
pub(crate) const CURRENT: u32 = 1;

/// Key of a case: its id, uppercase ASCII.
pub(crate) struct CaseKey<'a>(pub &'a CaseId);

impl CaseKey<'_> {
    pub fn bytes(&self) -> &[u8] {
        self.0.as_str().as_bytes()
    }
}

/// Key of a chat thread binding: the thread id big-endian, so keys sort numerically.
pub(crate) struct ThreadKey(pub u64);

impl ThreadKey {
    pub fn bytes(&self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
    pub fn parse(bytes: &[u8]) -> Result<u64, StoreError> {
        let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Codec {
            what: "thread key".into(),
            reason: format!("expected 8 bytes, found {}", bytes.len()),
        })?;
        Ok(u64::from_be_bytes(arr))
    }
}

/// Key of a processed message id.
pub(crate) struct MessageKey<'a>(pub &'a str);

impl MessageKey<'_> {
    pub fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Key of a journal entry: its id.
pub(crate) struct JournalKey<'a>(pub &'a str);

impl JournalKey<'_> {
    pub fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Keys of the `meta` tree.
pub(crate) enum MetaKey {
    /// The case counter (the 5 digits of a case id).
    Counter,
    /// The store format marker.
    Format,
    /// Written once the recurrence index is complete (absent in stores from older versions).
    RecurrenceIndex,
    /// Present in an encrypted store: the cipher and a value that only its key opens.
    Encryption,
    /// Written once the listing index is complete (absent in stores from older versions).
    ListingIndex,
}

impl MetaKey {
    pub fn bytes(&self) -> &'static [u8] {
        match self {
            MetaKey::Counter => b"case-counter",
            MetaKey::Format => b"format",
            MetaKey::RecurrenceIndex => b"recurrence-index",
            MetaKey::Encryption => b"encryption",
            MetaKey::ListingIndex => b"listing-index",
        }
    }
}

/// Key of one recurrence index entry: the conclusion key (see `Conclusion::key`, never a NUL
/// byte), NUL, the case's creation time big-endian, the case id; so one conclusion's entries
/// are one prefix, in creation order.
pub(crate) struct RecurrenceKey<'a> {
    pub conclusion: &'a str,
    pub created_at: u64,
    pub case: &'a CaseId,
}

impl RecurrenceKey<'_> {
    pub fn bytes(&self) -> Vec<u8> {
        let mut key = RecurrenceKey::prefix(self.conclusion);
        key.extend_from_slice(&self.created_at.to_be_bytes());
        key.extend_from_slice(self.case.as_str().as_bytes());
        key
    }

    /// The prefix of every entry of `conclusion`.
    pub fn prefix(conclusion: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(conclusion.len() + 32);
        key.extend_from_slice(conclusion.as_bytes());
        key.push(0);
        key
    }

    /// The case id of an entry of the conclusion whose prefix is `prefix_len` bytes long.
    pub fn case_of(bytes: &[u8], prefix_len: usize) -> Result<CaseId, StoreError> {
        let id = bytes.get(prefix_len + 8..).unwrap_or_default();
        CaseId::parse(&String::from_utf8_lossy(id)).map_err(|reason| StoreError::Codec {
            what: "recurrence index entry".into(),
            reason,
        })
    }
}

/// Key of a listing index entry: `a`, the case's creation time big-endian, the case id; so
/// every case is one prefix, in creation order (as [`crate::CaseStore::list`] orders them).
pub(crate) struct ListingKey;

impl ListingKey {
    /// The prefix of every entry.
    pub const PREFIX: &'static [u8] = b"a";

    /// The entry of `case`.
    pub fn of(case: &Case) -> Vec<u8> {
        let mut key = ListingKey::PREFIX.to_vec();
        key.extend_from_slice(&case.created_at.to_be_bytes());
        key.extend_from_slice(case.id.as_str().as_bytes());
        key
    }

    /// The case id of an entry.
    pub fn case_of(bytes: &[u8]) -> Result<CaseId, StoreError> {
        let id = bytes
            .get(ListingKey::PREFIX.len() + 8..)
            .unwrap_or_default();
        CaseId::parse(&String::from_utf8_lossy(id)).map_err(|reason| StoreError::Codec {
            what: "listing index entry".into(),
            reason,
        })
    }
}

/// Marks a complete recurrence index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexRecord {
    pub v: u32,
}

/// `{"v":1,"case":{…}}`.
#[derive(Serialize)]
struct CaseEnvelopeRef<'a> {
    v: u32,
    case: &'a Case,
}

/// A processed message id: when it was recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ProcessedRecord {
    pub v: u32,
    /// Unix seconds.
    pub at: u64,
    /// The case `create` inserted with this message id (absent in records written before it
    /// was kept, and for ids that created no case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
}

/// A thread bound to a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ThreadRecord {
    pub v: u32,
    pub case: CaseId,
}

/// Unfinished work, with an insertion sequence so listing is stable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JournalRecord {
    pub v: u32,
    pub seq: u64,
    pub entry: JournalEntry,
}

/// The case counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CounterRecord {
    pub v: u32,
    pub n: u64,
}

/// Marks a directory as a casebot store and says which format wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FormatRecord {
    pub v: u32,
    pub format: String,
}

/// Marks an encrypted store: `check` is [`KEY_CHECK`] sealed with the store key (base64), so a
/// wrong key is told at open, before any record is read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EncryptionRecord {
    pub v: u32,
    /// [`CIPHER_NAME`].
    pub cipher: String,
    pub check: String,
}

/// Value of `EncryptionRecord::cipher`.
pub(crate) const CIPHER_NAME: &str = "xchacha20poly1305";

/// The plain text of `EncryptionRecord::check`.
pub(crate) const KEY_CHECK: &[u8] = b"casebot-store-key-check";

/// Value of `FormatRecord::format`.
pub(crate) const FORMAT_NAME: &str = "casebot-store";

/// Encode a case in its current envelope.
pub(crate) fn encode_case(case: &Case) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&CaseEnvelopeRef { v: CURRENT, case })
        .map_err(|e| codec(&format!("case {}", case.id), e))
}

/// Decode a stored case, migrating older shapes.
pub(crate) fn decode_case(bytes: &[u8]) -> Result<Case, StoreError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| codec("case", e))?;
    migrate_case(value)
}

/// Bring a stored case value of any known version to the current `Case`.
///
/// - v0 (development builds before versioning): a bare case object, `devices` a list of device
///   records, no `lang` (English was the only language), no `close_reason`/`summary`.
/// - v1: `{"v":1,"case":{…}}`.
///
/// Each device's diagnosis is brought to the current diagnosis schema too
/// ([`diagnosis::Diagnosis::migrate`]).
pub fn migrate_case(value: Value) -> Result<Case, StoreError> {
    let value = match version_of(&value) {
        None => migrate_case_v0(value)?,
        Some(1) => match value {
            Value::Object(mut map) => map.remove("case").unwrap_or(Value::Null),
            _ => Value::Null,
        },
        Some(v) => return Err(unknown_version("case", v)),
    };
    let mut case: Case = serde_json::from_value(value).map_err(|e| codec("case", e))?;
    // Diagnoses carry their own schema (`casebot.diagnosis.v1` → v2: the `*_zh` twins were
    // dropped when reading); written back in the current shape by the next update of the case.
    for device in case.devices.values_mut() {
        if let Some(d) = device.diagnosis.as_mut() {
            d.migrate();
        }
    }
    Ok(case)
}

/// v0 → v1 body.
fn migrate_case_v0(value: Value) -> Result<Value, StoreError> {
    let Value::Object(mut map) = value else {
        return Err(StoreError::Codec {
            what: "case".into(),
            reason: "expected a JSON object".into(),
        });
    };
    if let Some(Value::Array(list)) = map.remove("devices") {
        let mut devices = serde_json::Map::new();
        for device in list {
            let name = device
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| StoreError::Codec {
                    what: "case (v0)".into(),
                    reason: "a device has no name".into(),
                })?
                .to_string();
            devices.insert(name, device);
        }
        map.insert("devices".into(), Value::Object(devices));
    }
    map.entry("lang").or_insert_with(|| Value::from("en"));
    map.entry("close_reason").or_insert(Value::Null);
    map.entry("summary").or_insert(Value::Null);
    Ok(Value::Object(map))
}

/// Encode any versioned record.
pub(crate) fn encode<T: Serialize>(what: &str, record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| codec(what, e))
}

/// Decode a versioned record whose only known version is `CURRENT`.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| codec(what, e))?;
    match version_of(&value) {
        Some(CURRENT) => serde_json::from_value(value).map_err(|e| codec(what, e)),
        Some(v) => Err(unknown_version(what, v)),
        None => Err(StoreError::Codec {
            what: what.into(),
            reason: "no schema version".into(),
        }),
    }
}

fn version_of(value: &Value) -> Option<u32> {
    value
        .get("v")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
}

fn unknown_version(what: &str, v: u32) -> StoreError {
    let reason = if v > CURRENT {
        format!("schema version {v} is newer than this casebot understands ({CURRENT})")
    } else {
        format!("schema version {v} is not a version casebot ever wrote")
    };
    StoreError::Codec {
        what: what.into(),
        reason,
    }
}

fn codec(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Codec {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Unix milliseconds now (0 if the clock is before 1970).
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A fresh case id from a counter value and a random suffix.
pub(crate) fn case_id_from_counter(n: u64) -> CaseId {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let suffix: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    let text = format!("CAS-{:05}-{suffix}", n % 100_000);
    CaseId::from_trusted(text)
}
