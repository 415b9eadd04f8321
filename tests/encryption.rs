//! Integration tests: encryption at rest. The real `casebot console` stores a case and its
//! uploaded log in an encrypted sled store (key from `CASEBOT_STORE_KEY`); the disk holds
//! neither in clear; the store refuses to open without its key or with another; `casebot cases
//! export` and `import` rotate the key; a key in the config file is refused.

use std::path::Path;
use std::process::Command;

use crate::console::{DEVICE1_CBS, console_with_env};

const CLI: &str = env!("CARGO_BIN_EXE_casebot-cli");

/// A CBS line of device 1 that only the uploaded log holds.
const LOG_LINE: &str = "Failed execution of queue item Installer: WMI";
/// The case title, only in the case record.
const TITLE: &str = "KB5034763 rolled back at Harbour Savings branch 17";

fn cli(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(CLI)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("run casebot");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn keygen(dir: &Path) -> String {
    let (ok, out, err) = cli(dir, &[], &["cases", "keygen"]);
    assert!(ok, "{err}");
    let key = out.trim().to_string();
    assert!(
        key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key:?}"
    );
    key
}

/// Every file under `dir`, concatenated, but for the console's `files/`: the reply attachments
/// it hands to the person at the terminal (what a chat user would download), not the store.
fn raw_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "files") {
            continue;
        }
        if path.is_dir() {
            out.extend(raw_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).expect("read"));
        }
    }
    out
}

fn holds(dir: &Path, text: &str) -> bool {
    raw_bytes(dir)
        .windows(text.len())
        .any(|w| w == text.as_bytes())
}

#[test]
fn an_encrypted_store_keeps_cases_and_bundles_sealed_and_rotates_by_export_and_import() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    let (old_key, new_key) = (keygen(work), keygen(work));
    assert_ne!(old_key, new_key);
    let log_dir = work.join("upload");
    std::fs::create_dir_all(&log_dir).expect("dir");
    std::fs::write(log_dir.join("CBS.log"), DEVICE1_CBS).expect("log");
    let script = format!(
        "open {TITLE}\nlogs file:{} device:wcc0021z675842\n",
        log_dir.join("CBS.log").display()
    );
    let old = [("CASEBOT_STORE_KEY", old_key.as_str())];

    // The same session on a plain store leaves both texts on disk: the check below can fail.
    let plain = work.join("plain");
    let (status, out) = console_with_env(&plain, &[], &["--as", "engineer"], &script);
    assert!(status.success(), "{out}");
    assert!(holds(&plain, TITLE) && holds(&plain, LOG_LINE));

    let data = work.join("data");
    let (status, out) = console_with_env(&data, &old, &["--as", "engineer"], &script);
    assert!(status.success(), "{out}");
    assert!(
        out.contains("service-disabled-advanced-installer"),
        "the engine read the stored bundle: {out}"
    );
    assert!(!holds(&data, TITLE), "the case title is on disk in clear");
    assert!(
        !holds(&data, LOG_LINE),
        "the uploaded log is on disk in clear"
    );
    let leftovers: Vec<_> = std::fs::read_dir(data.join("bundles"))
        .expect("bundles")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "decrypted copies left: {leftovers:?}");

    // Without the key, or with another, the store does not open, and says why.
    let (status, out) = console_with_env(&data, &[], &["--as", "engineer"], "cases\n");
    assert!(!status.success());
    assert!(
        out.contains("is encrypted and no store key was given")
            && out.contains("CASEBOT_STORE_KEY"),
        "{out}"
    );
    let wrong = [("CASEBOT_STORE_KEY", new_key.as_str())];
    let (ok, _, err) = cli(work, &wrong, &["cases", "export", "--data", "data"]);
    assert!(!ok);
    assert!(err.contains("encrypted with another key"), "{err}");
    assert!(!err.contains(&new_key), "the key is never printed: {err}");

    // Rotation: export with the old key, import into a new store with the new key (from a file).
    let (ok, _, err) = cli(
        work,
        &old,
        &["cases", "export", "--data", "data", "--out", "dump.jsonl"],
    );
    assert!(ok, "{err}");
    let dump = std::fs::read_to_string(work.join("dump.jsonl")).expect("dump");
    assert!(dump.contains(TITLE), "the export is decrypted");
    std::fs::write(work.join("new.key"), format!("{new_key}\n")).expect("key file");
    let key_file = work.join("new.key");
    let new = [("CASEBOT_STORE_KEY_FILE", key_file.to_str().expect("utf-8"))];
    let (ok, _, err) = cli(
        work,
        &new,
        &["cases", "import", "dump.jsonl", "--data", "rotated"],
    );
    assert!(ok, "{err}");
    let rotated = work.join("rotated");
    assert!(!holds(&rotated, TITLE) && !holds(&rotated, LOG_LINE));
    let (ok, again, err) = cli(work, &new, &["cases", "export", "--data", "rotated"]);
    assert!(ok, "{err}");
    assert_eq!(
        again, dump,
        "the rotated store holds the same records and bundles"
    );
    let (status, out) = console_with_env(&rotated, &new, &["--as", "engineer"], "cases\n");
    assert!(status.success() && out.contains(TITLE), "{out}");
    let (ok, _, err) = cli(work, &old, &["cases", "export", "--data", "rotated"]);
    assert!(!ok && err.contains("encrypted with another key"), "{err}");
}

#[test]
fn store_key_mistakes_get_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    let key = keygen(work);
    // A key in the config file is refused, naming the key and never echoing it.
    std::fs::write(
        work.join("casebot.toml"),
        format!("[store]\ndata_dir = \"data\"\nkey = \"{key}\"\n"),
    )
    .expect("config");
    let (ok, _, err) = cli(work, &[], &["cases", "export"]);
    assert!(!ok);
    assert!(
        err.contains("store.key") && err.contains("CASEBOT_STORE_KEY"),
        "{err}"
    );
    assert!(!err.contains(&key), "{err}");
    std::fs::remove_file(work.join("casebot.toml")).expect("rm");

    let plain = work.join("plain");
    let (status, out) = console_with_env(
        &plain,
        &[],
        &["--as", "engineer"],
        &format!("open {TITLE}\n"),
    );
    assert!(status.success(), "{out}");

    // A key that is not 32 bytes, and a key given twice.
    let short = [("CASEBOT_STORE_KEY", "00ff")];
    let (ok, _, err) = cli(work, &short, &["cases", "export", "--data", "plain"]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("CASEBOT_STORE_KEY: the store key must be 32 bytes, found 2"),
        "{err}"
    );
    let twice = [
        ("CASEBOT_STORE_KEY", key.as_str()),
        ("CASEBOT_STORE_KEY_FILE", "/nonexistent/key"),
    ];
    let (ok, _, err) = cli(work, &twice, &["cases", "export", "--data", "plain"]);
    assert!(!ok && err.contains("the store key is set twice"), "{err}");

    // A key for a plain store that holds a case: refused, and the store is left as it was.
    let keyed = [("CASEBOT_STORE_KEY", key.as_str())];
    let (ok, _, err) = cli(work, &keyed, &["cases", "export", "--data", "plain"]);
    assert!(!ok);
    assert!(err.contains("holds unencrypted records"), "{err}");
    let (ok, out, err) = cli(work, &[], &["cases", "export", "--data", "plain"]);
    assert!(ok && out.contains(TITLE), "{err}");
}
