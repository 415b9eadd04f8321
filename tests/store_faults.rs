//! Integration tests: store faults with the real `casebot console` process on a real sled store.
//!
//! The faults are real refusals by the kernel, not injected errors:
//! - a full disk: the process runs under a file size limit (`prlimit --fsize`, the kernel
//!   refuses to grow a file past it with EFBIG, as a full disk refuses with ENOSPC; mounting a
//!   small file system would need privileges CI does not grant). sled writes in segments of
//!   512 KiB, so with a limit of one segment the store opens and fills up after a few dozen
//!   notes;
//! - a read-only store directory: `chmod 0555`. Root ignores file modes, so when the tests run
//!   as root the process runs without `CAP_DAC_OVERRIDE` (`setpriv`), which makes the kernel
//!   apply them.
//!
//! Either way the bot says that new work cannot be saved, keeps answering `status`, `cases`,
//! `explain` and `help`, and every change it acknowledged is still there afterwards.

use std::path::Path;
use std::process::Command;

use store::{CaseStore, SledStore};

use crate::console::{DEVICE1_CBS, console_through};

const CANNOT_SAVE: &str = "I cannot save new work right now";

/// Run `casebot console --as engineer --lang en` on the store `data`, feeding `script`; the
/// program is started through `wrap` (a command and its arguments ahead of the binary).
fn console(wrap: &[&str], data: &Path, script: &str) -> (bool, String) {
    let args = ["--as", "engineer", "--lang", "en"];
    let (status, out) = console_through(wrap, data, &[], &args, script);
    (status.success(), out)
}

/// A store with one open case; its id.
fn store_with_a_case(data: &Path) -> String {
    let (ok, out) = console(&[], data, "open KB5034763 rolls back on two devices\n");
    assert!(ok, "{out}");
    out.split("**")
        .find(|s| s.starts_with("CAS-"))
        .unwrap_or_else(|| panic!("no case id in {out}"))
        .to_string()
}

/// What only reads answers, after the store refused a write.
fn assert_reads_still_answer(out: &str, case: &str) {
    let after = &out[out.find(CANNOT_SAVE).expect("the refusal")..];
    assert!(
        after.contains(&format!("**{case}** · awaiting logs")),
        "status and cases after the refusal:\n{after}"
    );
    assert!(
        after.contains("CBS_E_INSTALLERS_FAILED"),
        "explain:\n{after}"
    );
    assert!(after.contains("casebot commands"), "help:\n{after}");
}

const READS: &str = "status\ncases\nexplain 0x800f0922\nhelp\n";

#[test]
fn a_full_disk_is_said_reads_keep_answering_and_saved_notes_survive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let case = store_with_a_case(&data);
    // Each note rewrites the case with its timeline, so the segment fills within 60 notes.
    let mut script = format!("case {case}\n");
    for n in 0..60 {
        script.push_str(&format!("note n{n:02} {}\n", "x".repeat(1500)));
    }
    script.push_str(READS);
    // The kernel signals SIGXFSZ on a refused write; ignored, the write fails with EFBIG
    // instead (an ignored signal stays ignored across exec).
    let wrap = [
        "bash",
        "-c",
        "trap '' XFSZ; exec prlimit --fsize=524288 \"$@\"",
        "prlimit-wrapper",
    ];
    let (_, out) = console(&wrap, &data, &script);
    // The console answers to the end of its input; its last flush at exit fails and says why.
    assert!(
        out.contains("casebot: the store cannot save changes"),
        "{out}"
    );
    let refusal = out
        .lines()
        .find(|l| l.contains(CANNOT_SAVE))
        .unwrap_or_else(|| panic!("no refusal; did the store fill up?\n{out}"));
    assert!(refusal.contains(&case), "{refusal}");
    assert!(refusal.contains("file size limit"), "{refusal}");
    assert!(!out.contains("Something went wrong"), "{out}");
    assert_reads_still_answer(&out, &case);
    let noted = out.lines().filter(|l| *l == "Noted.").count();
    assert!(
        noted >= 5,
        "notes saved before the disk was full: {noted}\n{out}"
    );

    // Every acknowledged note is on disk, the record reads, and with space again the store
    // takes writes.
    {
        let store = SledStore::open(&data).expect("the store opens after the fault");
        let stored = store.list().expect("every record decodes");
        assert_eq!(stored.len(), 1);
        let notes: Vec<&str> = stored[0]
            .timeline
            .iter()
            .filter(|e| e.kind == "note")
            .map(|e| e.text.as_str())
            .collect();
        for n in 0..noted {
            let head = format!("n{n:02} ");
            assert!(
                notes.iter().any(|t| t.starts_with(&head)),
                "acknowledged note {n} is lost ({} notes stored)",
                notes.len()
            );
        }
    }
    let (ok, out) = console(&[], &data, &format!("case {case}\nnote disk freed\n"));
    assert!(ok && out.contains("Noted."), "{out}");
}

/// `setpriv` ahead of the binary when running as root, so that file modes apply.
fn as_unprivileged() -> Vec<&'static str> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        vec![
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
        ]
    } else {
        Vec::new()
    }
}

#[test]
fn a_read_only_store_directory_is_said_and_nothing_is_lost() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let case = store_with_a_case(&data);
    let log = dir.path().join("CBS.log");
    std::fs::write(&log, DEVICE1_CBS).expect("write log");
    // Uploads are kept beside the database, in `bundles/`: that directory turns read-only.
    let bundles = data.join("bundles");
    let mode = |m| std::fs::set_permissions(&bundles, std::fs::Permissions::from_mode(m));
    mode(0o555).expect("chmod");
    let script = format!(
        "case {case}\nnote before the upload\ndevice:pc1 file:{}\n{READS}",
        log.display()
    );
    let (ok, out) = console(&as_unprivileged(), &data, &script);
    mode(0o755).expect("chmod back");
    assert!(ok, "{out}");
    let refusal = out
        .lines()
        .find(|l| l.contains(CANNOT_SAVE))
        .unwrap_or_else(|| panic!("no refusal:\n{out}"));
    assert!(refusal.contains("permission denied"), "{refusal}");
    assert!(!out.contains("Something went wrong"), "{out}");
    assert_reads_still_answer(&out, &case);

    let store = SledStore::open(&data).expect("store");
    let stored = store
        .get(&store::CaseId::parse(&case).expect("id"))
        .expect("get");
    let stored = stored.expect("the case");
    assert!(stored.devices.is_empty(), "no half-stored upload");
    assert!(
        stored
            .timeline
            .iter()
            .any(|e| e.text == "before the upload"),
        "the note saved before is kept"
    );

    // The whole store read-only at start: a clear error naming it, not a half-started bot.
    let all = |m| {
        for p in [data.join("db/db"), data.join("db/conf"), data.clone()] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).expect("chmod");
        }
    };
    all(0o555);
    let (ok, out) = console(&as_unprivileged(), &data, "status\n");
    all(0o755);
    assert!(!ok, "{out}");
    assert!(out.contains("not writable"), "{out}");
    assert!(out.contains(&data.display().to_string()), "{out}");
}
