//! The behaviour every `CaseStore` must have. Each function gets a fresh, empty store.

use std::collections::HashSet;
use std::io::Cursor;

use super::{sample_case, sample_diagnosis, sample_job, with_device};
use crate::recurrence::scan;
use crate::{
    Applied, CaseId, CaseStatus, CaseStore, Conclusion, Recurrence, StoreError, TimelineEntry,
};

fn note(text: &str) -> TimelineEntry {
    TimelineEntry {
        at: 5,
        author: "alice".into(),
        kind: "note".into(),
        text: text.into(),
    }
}

fn created(store: &dyn CaseStore, at: u64, thread: Option<u64>) -> CaseId {
    let id = store.new_case_id().expect("id");
    let case = sample_case(id.clone(), at, thread);
    assert!(matches!(store.create(case, None), Ok(Applied::Done(_))));
    id
}

/// The content of a stored bundle, read the way the engine reads it.
fn bundle_content(store: &dyn CaseStore, sha256: &str) -> Vec<u8> {
    let plain = store.open_bundle(sha256).expect("open").expect("stored");
    std::fs::read(plain.path()).expect("read")
}

fn export_text(store: &dyn CaseStore) -> String {
    let mut out = Vec::new();
    store.export(&mut out).expect("export");
    String::from_utf8(out).expect("utf-8")
}

pub fn ids_are_well_formed_and_unique(store: &dyn CaseStore) {
    let mut seen = HashSet::new();
    for _ in 0..500 {
        let id = store.new_case_id().expect("id");
        assert_eq!(CaseId::parse(id.as_str()), Ok(id.clone()));
        assert!(seen.insert(id), "duplicate id");
    }
}

pub fn latest_cases_come_newest_first_as_kept(store: &dyn CaseStore) {
    let opened = |at: u64, opener: &str| {
        let id = store.new_case_id().expect("id");
        let mut case = sample_case(id.clone(), at, None);
        case.opener = opener.into();
        assert!(matches!(store.create(case, None), Ok(Applied::Done(_))));
        id
    };
    let ids = |cases: Vec<crate::Case>| cases.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let all = &mut |_: &crate::Case| true;
    assert_eq!(ids(store.latest(all, 20).expect("latest")), []);
    let a1 = opened(100, "alice");
    let b1 = opened(300, "bob");
    let a2 = opened(200, "alice");
    let a3 = opened(400, "alice");
    assert_eq!(
        ids(store.latest(all, 20).expect("latest")),
        [a3.clone(), b1.clone(), a2.clone(), a1.clone()]
    );
    assert_eq!(
        ids(store.latest(all, 2).expect("latest")),
        [a3.clone(), b1.clone()]
    );
    let alice = &mut |c: &crate::Case| c.opener == "alice";
    assert_eq!(
        ids(store.latest(alice, 2).expect("latest")),
        [a3.clone(), a2.clone()]
    );
    let carol = &mut |c: &crate::Case| c.opener == "carol";
    assert_eq!(ids(store.latest(carol, 20).expect("latest")), []);
    // An update shows in what is listed; a deleted case is gone from it.
    store
        .update(&a2, None, &mut |c| c.timeline.push(note("listed")))
        .expect("update");
    let listed = store.latest(alice, 20).expect("latest");
    assert_eq!(
        listed[1].timeline.last().map(|t| t.text.as_str()),
        Some("listed")
    );
    assert!(store.delete_case(&a3).expect("delete"));
    assert_eq!(ids(store.latest(alice, 20).expect("latest")), [a2, a1]);
    assert_eq!(ids(store.latest(all, 1).expect("latest")), [b1]);
    // More cases than one page of a store that reads in pages, with the kept ones far apart: the
    // same cases, in the same order, as sorting the whole list.
    for i in 0..260u64 {
        opened(1_000 + i % 37, if i % 11 == 0 { "dora" } else { "erin" });
    }
    let dora = &mut |c: &crate::Case| c.opener == "dora";
    let mut expected: Vec<crate::Case> = store.list().expect("list");
    expected.retain(|c| c.opener == "dora");
    expected.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    expected.truncate(20);
    assert_eq!(expected.len(), 20);
    assert_eq!(ids(store.latest(dora, 20).expect("latest")), ids(expected));
}

pub fn create_get_update_list(store: &dyn CaseStore) {
    let later = created(store, 200, None);
    let earlier = created(store, 100, None);
    let got = store.get(&later).expect("get").expect("present");
    assert_eq!(got.created_at, 200);
    let updated = store
        .update(&later, None, &mut |c| {
            c.status = CaseStatus::AwaitingLogs;
            c.timeline.push(note("first"));
        })
        .expect("update");
    let Applied::Done(updated) = updated else {
        panic!("update without message id must apply")
    };
    assert_eq!(updated.status, CaseStatus::AwaitingLogs);
    assert_eq!(store.get(&later).expect("get"), Some(updated));
    let ids: Vec<CaseId> = store
        .list()
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![earlier, later], "oldest first");
    let unknown = CaseId::parse("CAS-99999-ZZZZZZ").expect("id");
    assert_eq!(store.get(&unknown).expect("get"), None);
}

pub fn redelivered_create_is_duplicate(store: &dyn CaseStore) {
    let id = store.new_case_id().expect("id");
    let first = store.create(sample_case(id.clone(), 1, Some(7)), Some("msg-1"));
    assert!(matches!(first, Ok(Applied::Done(_))));
    assert!(store.is_processed("msg-1").expect("processed"));
    // The redelivered event allocates another id but must not create a second case.
    let other = store.new_case_id().expect("id");
    let again = store.create(sample_case(other.clone(), 1, Some(8)), Some("msg-1"));
    assert!(matches!(again, Ok(Applied::Duplicate)));
    assert_eq!(store.list().expect("list").len(), 1);
    assert_eq!(store.get(&other).expect("get"), None);
    assert_eq!(store.case_by_thread(8).expect("thread"), None);
}

pub fn a_created_case_is_found_by_its_message_id(store: &dyn CaseStore) {
    let id = store.new_case_id().expect("id");
    store
        .create(sample_case(id.clone(), 1, None), Some("msg-open"))
        .expect("create");
    // The redelivered message finds the case its first delivery created.
    assert_eq!(store.created_by("msg-open").expect("created by"), Some(id));
    let other = created(store, 2, None);
    store
        .update(&other, Some("msg-note"), &mut |c| {
            c.timeline.push(note("x"))
        })
        .expect("update");
    assert_eq!(store.created_by("msg-note").expect("created by"), None);
    assert!(store.mark_processed("msg-help").expect("mark"));
    assert_eq!(store.created_by("msg-help").expect("created by"), None);
    assert_eq!(store.created_by("never-seen").expect("created by"), None);
}

pub fn deleting_a_case_and_a_bundle_leaves_the_rest(store: &dyn CaseStore) {
    let gone = created(store, 1, Some(31));
    let kept = created(store, 2, Some(32));
    store
        .journal_add(&sample_job("job-gone", &gone, 1))
        .expect("journal");
    store
        .journal_add(&sample_job("job-kept", &kept, 1))
        .expect("journal");
    let a = store.put_bundle(&mut &b"bundle a"[..]).expect("put");
    let b = store.put_bundle(&mut &b"bundle b"[..]).expect("put");
    assert!(store.delete_case(&gone).expect("delete"));
    assert!(
        !store.delete_case(&gone).expect("delete again"),
        "already gone"
    );
    assert_eq!(store.get(&gone).expect("get"), None);
    assert_eq!(store.case_by_thread(31).expect("thread"), None);
    assert_eq!(
        store.case_by_thread(32).expect("thread"),
        Some(kept.clone())
    );
    let jobs: Vec<String> = store
        .journal_list()
        .expect("journal")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(jobs, vec!["job-kept".to_string()]);
    assert!(store.get(&kept).expect("get").is_some());
    // A deleted case leaves the recurrence index too.
    const WMI: &str = "service-disabled-advanced-installer";
    let first = diagnosed(store, 40, WMI, "Winmgmt");
    let second = diagnosed(store, 50, WMI, "Winmgmt");
    assert!(store.delete_case(&first).expect("delete"));
    let winmgmt = conclusion(WMI, "Winmgmt");
    assert_eq!(
        store.recurrence(&winmgmt, &second, 10).expect("recurrence"),
        Recurrence::default()
    );
    assert_index_matches_a_scan(store, &[winmgmt]);
    assert!(store.delete_bundle(&a.sha256).expect("delete bundle"));
    assert!(!store.delete_bundle(&a.sha256).expect("again"));
    assert_eq!(store.bundle_path(&a.sha256).expect("path"), None);
    assert!(store.bundle_path(&b.sha256).expect("path").is_some());
}

pub fn redelivered_update_changes_nothing(store: &dyn CaseStore) {
    let id = created(store, 1, None);
    let mut push = |c: &mut crate::Case| c.timeline.push(note("once"));
    assert!(matches!(
        store.update(&id, Some("m-2"), &mut push),
        Ok(Applied::Done(_))
    ));
    let before = export_text(store);
    let again = store.update(&id, Some("m-2"), &mut push).expect("update");
    assert_eq!(again, Applied::Duplicate);
    assert_eq!(
        export_text(store),
        before,
        "a duplicate must change nothing"
    );
    let case = store.get(&id).expect("get").expect("present");
    assert_eq!(case.timeline.len(), 1);
}

pub fn update_of_missing_case_is_not_found(store: &dyn CaseStore) {
    let id = CaseId::parse("CAS-00001-ABCDEF").expect("id");
    let err = store.update(&id, Some("m"), &mut |c| c.title.push('!'));
    assert!(matches!(err, Err(StoreError::NotFound(ref s)) if s == "CAS-00001-ABCDEF"));
    assert!(
        !store.is_processed("m").expect("processed"),
        "failed update records no id"
    );
}

pub fn update_may_not_change_id(store: &dyn CaseStore) {
    let id = created(store, 1, None);
    let other = CaseId::parse("CAS-00077-QQQQQQ").expect("id");
    let err = store.update(&id, Some("m"), &mut |c| c.id = other.clone());
    assert!(matches!(err, Err(StoreError::IdChanged(_))));
    assert!(store.get(&id).expect("get").is_some());
    assert_eq!(store.get(&other).expect("get"), None);
    assert!(!store.is_processed("m").expect("processed"));
}

pub fn create_with_existing_id_is_refused(store: &dyn CaseStore) {
    let id = created(store, 1, None);
    let mut clash = sample_case(id.clone(), 2, None);
    clash.title = "other".into();
    let err = store.create(clash, Some("m"));
    assert!(matches!(err, Err(StoreError::Exists(_))));
    let kept = store.get(&id).expect("get").expect("present");
    assert_eq!(kept.created_at, 1, "the stored case is untouched");
    assert!(!store.is_processed("m").expect("processed"));
}

pub fn mark_processed_once(store: &dyn CaseStore) {
    assert!(!store.is_processed("help-1").expect("processed"));
    assert!(store.mark_processed("help-1").expect("mark"));
    assert!(
        !store.mark_processed("help-1").expect("mark"),
        "second time is not new"
    );
    assert!(store.is_processed("help-1").expect("processed"));
}

pub fn thread_bindings_follow_the_case(store: &dyn CaseStore) {
    let id = created(store, 1, Some(555));
    assert_eq!(store.case_by_thread(555).expect("thread"), Some(id.clone()));
    store
        .update(&id, None, &mut |c| c.thread_id = Some(556))
        .expect("update");
    assert_eq!(store.case_by_thread(555).expect("thread"), None);
    assert_eq!(store.case_by_thread(556).expect("thread"), Some(id));
}

/// The names in the directory holding `path`.
fn names_beside(path: &std::path::Path) -> Vec<String> {
    let dir = path.parent().expect("a bundle lives in a directory");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("bundle directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A download streamed into `bundle_writer` is adopted: stored under the sha256 of its plain
/// content (the received file renamed, not copied), a second copy of the same bundle is
/// recognised and dropped, and a writer dropped half-way (a failed download) stores nothing.
pub fn downloaded_bundles_are_adopted(store: &dyn CaseStore) {
    use sha2::{Digest, Sha256};
    let data = b"2024-02-01 CBS line of a bundle as it arrives\r\n".repeat(20_000);
    let sha256 = hex::encode(Sha256::digest(&data));
    let receive = || {
        let mut writer = store.bundle_writer().expect("writer");
        for piece in data.chunks(7_000) {
            writer.append(piece).expect("append");
        }
        assert_eq!(writer.bytes(), data.len() as u64);
        let temp = writer.path().to_path_buf();
        assert!(temp.is_file(), "the download is received into a file");
        (writer, temp)
    };
    let (writer, temp) = receive();
    let first = store.adopt_bundle(writer).expect("adopt");
    assert_eq!(first.sha256, sha256);
    assert_eq!(first.bytes, data.len() as u64);
    assert!(!first.duplicate);
    assert!(first.path.is_file());
    assert!(!temp.exists(), "the received file is the stored one");
    assert_eq!(bundle_content(store, &sha256), data);
    assert_eq!(
        store.bundle_path(&sha256).expect("path"),
        Some(first.path.clone())
    );

    let (writer, temp) = receive();
    let second = store.adopt_bundle(writer).expect("adopt again");
    assert!(second.duplicate, "the same bundle is recognised");
    assert_eq!(
        (second.sha256.as_str(), &second.path),
        (sha256.as_str(), &first.path)
    );
    assert!(!temp.exists(), "the second copy is dropped");
    assert_eq!(names_beside(&first.path), vec![sha256.clone()], "one copy");

    let mut writer = store.bundle_writer().expect("writer");
    writer.append(b"half a bundle").expect("append");
    let temp = writer.path().to_path_buf();
    drop(writer);
    assert!(!temp.exists(), "a failed download leaves no file");
    let half = hex::encode(Sha256::digest(b"half a bundle"));
    assert_eq!(store.bundle_path(&half).expect("path"), None);
    assert_eq!(names_beside(&first.path), vec![sha256]);
}

pub fn bundles_are_content_addressed(store: &dyn CaseStore) {
    let data = b"hello".to_vec();
    let first = store
        .put_bundle(&mut Cursor::new(data.clone()))
        .expect("put");
    assert_eq!(
        first.sha256,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(first.bytes, 5);
    assert!(!first.duplicate);
    assert_eq!(bundle_content(store, &first.sha256), data);
    let second = store.put_bundle(&mut Cursor::new(data)).expect("put");
    assert!(second.duplicate, "same content is recognised");
    assert_eq!(second.path, first.path);
    assert_eq!(
        store.bundle_path(&first.sha256).expect("path"),
        Some(first.path.clone())
    );
    assert_eq!(store.bundle_path(&"0".repeat(64)).expect("path"), None);
    assert_eq!(store.bundle_path("../../etc/passwd").expect("path"), None);
    let dir = first.path.parent().expect("dir");
    let files = std::fs::read_dir(dir).expect("list").count();
    assert_eq!(files, 1, "no temp files left behind");
}

pub fn journal_add_list_remove(store: &dyn CaseStore) {
    let case = created(store, 1, None);
    store
        .journal_add(&sample_job("j2", &case, 20))
        .expect("add");
    store
        .journal_add(&sample_job("j1", &case, 10))
        .expect("add");
    store
        .journal_add(&sample_job("j3", &case, 20))
        .expect("add");
    let ids = |store: &dyn CaseStore| -> Vec<String> {
        store
            .journal_list()
            .expect("list")
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    assert_eq!(
        ids(store),
        ["j1", "j2", "j3"],
        "oldest first, ties in insertion order"
    );
    store.journal_remove("j2").expect("remove");
    store
        .journal_remove("not-there")
        .expect("removing an absent entry is fine");
    assert_eq!(ids(store), ["j1", "j3"]);
}

/// A store with every record type.
fn populate(store: &dyn CaseStore) -> CaseId {
    let a = created(store, 1, Some(42));
    let b = created(store, 2, None);
    store
        .update(&a, Some("m-1"), &mut |c| {
            c.timeline.push(note("日本語 and \"quotes\"\nnewline"));
            c.status = CaseStatus::Diagnosed;
        })
        .expect("update");
    store.mark_processed("help-9").expect("mark");
    store
        .journal_add(&sample_job("job-1", &b, 3))
        .expect("journal");
    a
}

pub fn export_import_round_trip(store: &dyn CaseStore) {
    populate(store);
    let text = export_text(store);
    assert_eq!(
        text.lines().count(),
        1 + 1 + 2 + 1 + 2 + 1,
        "header, counter, records"
    );
    let target = crate::MemStore::new();
    let written = target
        .import(&mut Cursor::new(text.clone()))
        .expect("import");
    assert_eq!(
        written, 7,
        "counter, 2 cases, 1 thread, 2 processed ids, 1 journal entry"
    );
    assert_eq!(export_text(&target), text, "round trip is exact");
    assert_eq!(
        store.import(&mut Cursor::new(text.clone())).expect("again"),
        0
    );
    assert_eq!(
        export_text(store),
        text,
        "importing the same dump twice changes nothing"
    );
    // Ids allocated after an import do not reuse the imported counter.
    let next = target.new_case_id().expect("id");
    assert_eq!(&next.as_str()[4..9], "00003");
}

pub fn import_merges_into_non_empty_store(store: &dyn CaseStore) {
    let source = crate::MemStore::new();
    populate(&source);
    let dump = export_text(&source);
    let own = created(store, 50, Some(99));
    store.mark_processed("own-msg").expect("mark");
    store.import(&mut Cursor::new(dump)).expect("import");
    assert_eq!(store.list().expect("list").len(), 3, "both sides kept");
    assert!(store.get(&own).expect("get").is_some());
    assert_eq!(store.case_by_thread(99).expect("thread"), Some(own));
    assert!(store.is_processed("own-msg").expect("p") && store.is_processed("m-1").expect("p"));
    assert_eq!(store.journal_list().expect("journal").len(), 1);
}

pub fn import_conflict_changes_nothing(store: &dyn CaseStore) {
    let id = populate(store);
    let dump = export_text(store);
    store
        .update(&id, None, &mut |c| {
            c.title = "changed since the export".into()
        })
        .expect("update");
    let before = export_text(store);
    let err = store.import(&mut Cursor::new(dump)).expect_err("conflict");
    match err {
        StoreError::Import { line, reason } => {
            assert_eq!(line, 3, "the first case line");
            assert!(reason.contains(id.as_str()), "{reason}");
        }
        other => panic!("expected an import error, got {other:?}"),
    }
    assert_eq!(export_text(store), before);
}

pub fn import_bad_input_names_the_line(store: &dyn CaseStore) {
    populate(store);
    let before = export_text(store);
    let source = crate::MemStore::new();
    let fresh = created(&source, 7, None);
    let mut lines: Vec<String> = export_text(&source).lines().map(str::to_string).collect();
    lines.insert(
        3,
        "{\"kind\":\"case\",\"v\":1,\"case\":{\"id\":\"nope\"}}".into(),
    );
    let bad = lines.join("\n");
    let check = |input: &str, want_line: u64| {
        let err = store
            .import(&mut Cursor::new(input.to_string()))
            .expect_err("bad input");
        assert!(
            matches!(err, StoreError::Import { line, .. } if line == want_line),
            "{err:?} for {input:?}"
        );
        assert_eq!(
            export_text(store),
            before,
            "nothing stored is lost or changed"
        );
    };
    check(&bad, 4);
    check("", 1);
    check("{\"kind\":\"case\"}\n", 1);
    check(
        &before.replacen("\"kind\":\"counter\"", "\"kind\":\"countr\"", 1),
        2,
    );
    check(
        &format!("{before}\u{0}\u{1}binary junk\n"),
        before.lines().count() as u64 + 1,
    );
    let future = before.replacen(
        "{\"kind\":\"case\",\"v\":1",
        "{\"kind\":\"case\",\"v\":9",
        1,
    );
    check(&future, 3);
    assert_eq!(store.get(&fresh).expect("get"), None);
}

pub fn concurrent_updates_lose_nothing(store: &dyn CaseStore) {
    let id = created(store, 1, None);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let id = &id;
            scope.spawn(move || {
                for i in 0..25 {
                    let text = format!("{t}-{i}");
                    let mid = format!("msg-{t}-{i}");
                    store
                        .update(id, Some(&mid), &mut |c| c.timeline.push(note(&text)))
                        .expect("update");
                }
            });
        }
    });
    let case = store.get(&id).expect("get").expect("present");
    assert_eq!(case.timeline.len(), 100, "every read-modify-write kept");
}

pub fn prune_forgets_only_old_message_ids(store: &dyn CaseStore) {
    store.mark_processed("old").expect("mark");
    let id = created(store, 1, None);
    store
        .update(&id, Some("also-old"), &mut |c| c.title.push('!'))
        .expect("update");
    assert_eq!(
        store.prune_processed(0).expect("prune"),
        0,
        "nothing is older than 1970"
    );
    assert!(store.is_processed("old").expect("p"));
    assert_eq!(store.prune_processed(u64::MAX).expect("prune"), 2);
    assert!(!store.is_processed("old").expect("p") && !store.is_processed("also-old").expect("p"));
    assert!(
        store.get(&id).expect("get").is_some(),
        "cases are untouched"
    );
}

pub fn import_migrates_old_case_lines(store: &dyn CaseStore) {
    let dump = concat!(
        "{\"kind\":\"header\",\"format\":\"casebot-store\",\"v\":1}\n",
        "{\"kind\":\"case\",\"v\":0,\"case\":{\"id\":\"CAS-00003-OLD000\",",
        "\"title\":\"old\",\"problem\":\"p\",\"opener\":\"o\",\"channel_id\":null,",
        "\"thread_id\":null,\"status\":\"open\",\"devices\":[{\"name\":\"PC1\",",
        "\"status\":\"awaiting-logs\",\"bundles\":[],\"diagnosis\":null,",
        "\"verification\":null}],\"timeline\":[],\"created_at\":1,\"updated_at\":1}}\n",
    );
    assert_eq!(store.import(&mut Cursor::new(dump)).expect("import"), 1);
    let id = CaseId::parse("CAS-00003-OLD000").expect("id");
    let case = store.get(&id).expect("get").expect("imported");
    assert!(case.devices.contains_key("PC1"));
    assert_eq!(case.lang, diagnosis::Lang::En);
}

pub fn export_import_carries_bundles(store: &dyn CaseStore) {
    let id = populate(store);
    // Larger than one dump line, and an empty one.
    let big: Vec<u8> = (0..500_000u32).map(|i| (i % 253) as u8).collect();
    let stored = store
        .put_bundle(&mut Cursor::new(big.clone()))
        .expect("put");
    let empty = store.put_bundle(&mut Cursor::new(Vec::new())).expect("put");
    let text = export_text(store);
    let target = crate::MemStore::new();
    let written = target
        .import(&mut Cursor::new(text.clone()))
        .expect("import");
    assert_eq!(written, 7 + 2, "records and both bundles");
    assert_eq!(bundle_content(&target, &stored.sha256), big);
    assert_eq!(bundle_content(&target, &empty.sha256).len(), 0);
    assert_eq!(export_text(&target), text, "round trip is exact");
    assert!(target.get(&id).expect("get").is_some());
    // A damaged bundle is refused naming its line, and nothing is written.
    let fresh = crate::MemStore::new();
    let line = text
        .lines()
        .position(|l| l.contains("\"kind\":\"bundle-data\""))
        .expect("data line");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[line] = lines[line].replacen("\"data\":\"A", "\"data\":\"B", 1);
    let err = fresh
        .import(&mut Cursor::new(lines.join("\n")))
        .expect_err("damaged");
    assert!(
        matches!(err, StoreError::Import { line: l, ref reason } if l == line as u64
            && reason.contains("damaged")),
        "{err:?}"
    );
    assert!(fresh.list().expect("list").is_empty());
}

pub(crate) fn conclusion(root_cause: &str, service: &str) -> Conclusion {
    Conclusion {
        root_cause: root_cause.into(),
        subject: [("service".to_string(), service.to_string())].into(),
    }
}

/// Create a case at `at` whose device `pc` concluded `root_cause` about `service`.
pub(crate) fn diagnosed(store: &dyn CaseStore, at: u64, root_cause: &str, service: &str) -> CaseId {
    let id = store.new_case_id().expect("id");
    let d = sample_diagnosis(root_cause, service, true);
    let case = with_device(sample_case(id.clone(), at, None), "pc", Some(d));
    assert!(matches!(store.create(case, None), Ok(Applied::Done(_))));
    id
}

/// Every lookup the index answers equals the one over every case.
fn assert_index_matches_a_scan(store: &dyn CaseStore, conclusions: &[Conclusion]) {
    let cases = store.list().expect("list");
    for c in conclusions {
        for this in &cases {
            for limit in [0, 1, 10] {
                assert_eq!(
                    store.recurrence(c, &this.id, limit).expect("recurrence"),
                    scan(&cases, c, &this.id, limit),
                    "{c:?} from {} (limit {limit})",
                    this.id
                );
            }
        }
    }
}

pub fn recurrence_index_follows_every_case_change(store: &dyn CaseStore) {
    const WMI: &str = "service-disabled-advanced-installer";
    const TXF: &str = "txf-transaction-log-corrupt";
    let winmgmt = conclusion(WMI, "Winmgmt");
    let bits = conclusion(WMI, "BITS");
    let txf = conclusion(TXF, "Winmgmt");
    let a = diagnosed(store, 10, WMI, "Winmgmt");
    let b = diagnosed(store, 20, TXF, "Winmgmt");
    let c = diagnosed(store, 30, WMI, "Winmgmt");
    let all = [winmgmt.clone(), bits.clone(), txf.clone()];
    assert_eq!(
        store.recurrence(&winmgmt, &b, 10).expect("recurrence"),
        Recurrence {
            count: 2,
            recent: vec![a.clone(), c.clone()],
        }
    );
    // The same root cause about another subject is another conclusion.
    assert_eq!(
        store.recurrence(&bits, &b, 10).expect("recurrence"),
        Recurrence::default()
    );
    assert_index_matches_a_scan(store, &all);
    // A re-diagnosis moves the case; a second device adds a conclusion; a hint concludes nothing.
    store
        .update(&c, None, &mut |case| {
            let d = sample_diagnosis(TXF, "Winmgmt", true);
            *case = with_device(case.clone(), "pc", Some(d));
        })
        .expect("update");
    store
        .update(&b, None, &mut |case| {
            let d = sample_diagnosis(WMI, "BITS", true);
            *case = with_device(case.clone(), "laptop", Some(d));
        })
        .expect("update");
    store
        .update(&a, None, &mut |case| {
            let d = sample_diagnosis(WMI, "Winmgmt", false);
            *case = with_device(case.clone(), "pc", Some(d));
        })
        .expect("update");
    assert_eq!(
        store.recurrence(&txf, &a, 10).expect("recurrence"),
        Recurrence {
            count: 2,
            recent: vec![b.clone(), c.clone()],
        }
    );
    assert_eq!(
        store.recurrence(&winmgmt, &b, 10).expect("recurrence"),
        Recurrence::default()
    );
    assert_index_matches_a_scan(store, &all);
    // A change that leaves the conclusions alone leaves the index alone.
    store
        .update(&b, Some("m-1"), &mut |case| case.title = "renamed".into())
        .expect("update");
    assert_index_matches_a_scan(store, &all);
}

pub fn recurrence_lists_the_latest_and_counts_them_all(store: &dyn CaseStore) {
    const CAUSE: &str = "component-store-corruption";
    // Created out of order: the index orders by creation time, as `list` does.
    let ids: Vec<CaseId> = [50, 10, 40, 20, 30]
        .into_iter()
        .map(|at| diagnosed(store, at, CAUSE, "x"))
        .collect();
    let c = conclusion(CAUSE, "x");
    let from_outside = diagnosed(store, 60, "disk-space-insufficient", "x");
    let r = store.recurrence(&c, &from_outside, 2).expect("recurrence");
    assert_eq!(r.count, 5);
    assert_eq!(
        r.recent,
        vec![ids[2].clone(), ids[0].clone()],
        "at 40, then 50"
    );
    // Asked from one of them: the others only.
    let r = store.recurrence(&c, &ids[0], 3).expect("recurrence");
    assert_eq!(r.count, 4);
    assert_eq!(
        r.recent,
        vec![ids[3].clone(), ids[4].clone(), ids[2].clone()]
    );
    assert_index_matches_a_scan(store, &[c]);
}

pub fn imported_cases_are_in_the_recurrence_index(store: &dyn CaseStore) {
    let source = crate::MemStore::new();
    let a = diagnosed(&source, 1, "reboot-pending", "x");
    let b = diagnosed(&source, 2, "reboot-pending", "x");
    let mut dump = Vec::new();
    source.export(&mut dump).expect("export");
    store.import(&mut Cursor::new(dump)).expect("import");
    let c = conclusion("reboot-pending", "x");
    assert_eq!(
        store.recurrence(&c, &a, 10).expect("recurrence"),
        Recurrence {
            count: 1,
            recent: vec![b],
        }
    );
    assert_index_matches_a_scan(store, &[c]);
}
