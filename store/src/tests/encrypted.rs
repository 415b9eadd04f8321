//! Encryption at rest of the sled store: what reaches the disk, the startup errors for a missing
//! or wrong key, and key rotation by export and import.

use std::io::Cursor;
use std::path::Path;

use super::{sample_case, sample_job};
use crate::{Applied, CaseId, CaseStore, SledStore, StoreError, StoreKey, TimelineEntry};

/// Text that appears in a case record, a journal entry and a bundle, and nowhere else.
const CASE_TEXT: &str = "Winmgmt disabled on WCC0021Z675842 per Zhang Wei";
const LOG_LINE: &str = "2024-02-20 10:12:01, Error CSI 00000001 (F) Mof compile failed 0x80070422";
const BUNDLE_NAME: &str = "wcc0021z675842-private.zip";

fn key(byte: u8) -> StoreKey {
    StoreKey::parse(&hex::encode([byte; 32])).expect("key")
}

/// A store at `path` holding one case, one journal entry and one bundle that carry the texts
/// above; returns the case id and the bundle's sha256.
fn populate(path: &Path, key: Option<&StoreKey>) -> (CaseId, String) {
    let store = SledStore::open_keyed(path, key).expect("open");
    let id = store.new_case_id().expect("id");
    let mut case = sample_case(id.clone(), 1, Some(42));
    case.timeline.push(TimelineEntry {
        at: 2,
        author: "alice".into(),
        kind: "note".into(),
        text: CASE_TEXT.into(),
    });
    assert!(matches!(
        store.create(case, Some("m-1")),
        Ok(Applied::Done(_))
    ));
    let mut job = sample_job("job-1", &id, 3);
    job.bundle_name = BUNDLE_NAME.into();
    store.journal_add(&job).expect("journal");
    let mut log = format!("{LOG_LINE}\r\n").repeat(2000).into_bytes();
    log.extend_from_slice(b"the end\r\n");
    let bundle = store.put_bundle(&mut Cursor::new(log)).expect("bundle");
    store.flush().expect("flush");
    (id, bundle.sha256)
}

/// Every file under `dir`, concatenated.
fn raw_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(raw_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).expect("read"));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn export(store: &dyn CaseStore) -> String {
    let mut out = Vec::new();
    store.export(&mut out).expect("export");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn an_encrypted_store_keeps_no_case_text_or_log_line_in_clear_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The same records in a plain store are on disk in clear: the scan below can find them.
    let plain = dir.path().join("plain");
    populate(&plain, None);
    let raw = raw_bytes(&plain);
    for text in [CASE_TEXT, LOG_LINE, BUNDLE_NAME] {
        assert!(
            contains(&raw, text),
            "a plain store keeps {text:?} in clear"
        );
    }

    let sealed = dir.path().join("sealed");
    let (id, sha) = populate(&sealed, Some(&key(7)));
    let raw = raw_bytes(&sealed);
    for text in [CASE_TEXT, LOG_LINE, BUNDLE_NAME, "KB5034441"] {
        assert!(!contains(&raw, text), "{text:?} is on disk in clear");
    }
    let bundle_file = std::fs::read(sealed.join("bundles").join(&sha)).expect("bundle file");
    assert!(!contains(&bundle_file, "Mof compile failed"));

    // With the key everything reads back.
    let store = SledStore::open_keyed(&sealed, Some(&key(7))).expect("reopen");
    assert!(store.is_encrypted());
    let case = store.get(&id).expect("get").expect("case");
    assert_eq!(case.timeline[0].text, CASE_TEXT);
    assert_eq!(
        store.journal_list().expect("journal")[0].bundle_name,
        BUNDLE_NAME
    );
    assert_eq!(store.list().expect("list").len(), 1);
    assert_eq!(store.case_by_thread(42).expect("thread"), Some(id));
    let plain_copy = store.open_bundle(&sha).expect("open").expect("stored");
    let text = std::fs::read_to_string(plain_copy.path()).expect("read");
    assert!(text.starts_with(LOG_LINE) && text.ends_with("the end\r\n"));
    let copy = plain_copy.path().to_path_buf();
    drop(plain_copy);
    assert!(!copy.exists(), "the decrypted copy is removed once read");
}

#[test]
fn an_encrypted_store_without_its_key_or_with_another_fails_at_open_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (id, sha) = populate(&path, Some(&key(1)));

    let err = SledStore::open(&path).expect_err("no key");
    assert!(matches!(err, StoreError::KeyRequired { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is encrypted and no store key was given")
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    let err = SledStore::open_keyed(&path, Some(&key(2))).expect_err("wrong key");
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    assert!(
        err.to_string().contains("encrypted with another key"),
        "{err}"
    );

    let store = SledStore::open_keyed(&path, Some(&key(1))).expect("right key");
    let case = store.get(&id).expect("get").expect("still there");
    assert_eq!(case.timeline[0].text, CASE_TEXT);
    assert!(store.open_bundle(&sha).expect("bundle").is_some());
}

#[test]
fn a_key_for_a_plain_store_that_holds_records_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (id, _) = populate(&path, None);
    let err = SledStore::open_keyed(&path, Some(&key(3))).expect_err("plain store");
    assert!(matches!(err, StoreError::NotEncrypted { .. }), "{err:?}");
    assert!(err.to_string().contains("casebot cases export"), "{err}");
    // Still a plain store with its case.
    let store = SledStore::open(&path).expect("plain");
    assert!(!store.is_encrypted());
    assert!(store.get(&id).expect("get").is_some());
    drop(store);
    // A new (empty) store opened with a key is encrypted from then on.
    let fresh = dir.path().join("fresh");
    drop(SledStore::open_keyed(&fresh, Some(&key(3))).expect("new"));
    let err = SledStore::open(&fresh).expect_err("now encrypted");
    assert!(matches!(err, StoreError::KeyRequired { .. }), "{err:?}");
}

#[test]
fn a_damaged_encrypted_bundle_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let (_, sha) = populate(&path, Some(&key(4)));
    let file = path.join("bundles").join(&sha);
    let mut bytes = std::fs::read(&file).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&file, bytes).expect("write");
    let store = SledStore::open_keyed(&path, Some(&key(4))).expect("open");
    let err = store.open_bundle(&sha).expect_err("damaged");
    assert!(err.to_string().contains("does not decrypt"), "{err}");
}

#[test]
fn keys_rotate_by_export_and_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old_key, new_key) = (key(5), key(6));
    let old_path = dir.path().join("old");
    let (id, sha) = populate(&old_path, Some(&old_key));
    let dump = {
        let old = SledStore::open_keyed(&old_path, Some(&old_key)).expect("old");
        export(&old)
    };
    assert!(
        dump.contains(CASE_TEXT),
        "the export holds the decrypted records"
    );

    let new_path = dir.path().join("new");
    let new = SledStore::open_keyed(&new_path, Some(&new_key)).expect("new");
    new.import(&mut Cursor::new(dump.clone())).expect("import");
    assert_eq!(
        export(&new),
        dump,
        "the records and bundles round-trip exactly"
    );
    assert_eq!(
        new.get(&id).expect("get").expect("case").timeline[0].text,
        CASE_TEXT
    );
    let copy = new.open_bundle(&sha).expect("open").expect("bundle");
    assert!(
        std::fs::read_to_string(copy.path())
            .expect("read")
            .starts_with(LOG_LINE)
    );
    drop((copy, new));

    let raw = raw_bytes(&new_path);
    assert!(!contains(&raw, CASE_TEXT) && !contains(&raw, LOG_LINE));
    let err = SledStore::open_keyed(&new_path, Some(&old_key)).expect_err("old key");
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    SledStore::open_keyed(&new_path, Some(&new_key)).expect("the new key opens it");
}

#[test]
fn a_downloaded_bundle_is_sealed_as_it_arrives_and_at_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open_keyed(dir.path().join("store"), Some(&key(3))).expect("open");
    let log = format!("{LOG_LINE}\r\n").repeat(2000);
    let mut writer = store.bundle_writer().expect("writer");
    for piece in log.as_bytes().chunks(5_000) {
        writer.append(piece).expect("append");
    }
    let received = std::fs::read(writer.path()).expect("the file being received");
    assert!(received.len() > 64 * 1024, "sealed chunks reach the file");
    assert!(!contains(&received, "Mof compile failed"));
    let stored = store.adopt_bundle(writer).expect("adopt");
    let at_rest = std::fs::read(&stored.path).expect("stored file");
    assert!(!contains(&at_rest, "Mof compile failed"));
    let plain = store
        .open_bundle(&stored.sha256)
        .expect("open")
        .expect("stored");
    assert_eq!(std::fs::read_to_string(plain.path()).expect("read"), log);
}
