//! Integration tests: console. The real `casebot console` process walks the founding case
//! (docs/ARCHITECTURE.md, "The founding case") from stdin scripts, on a sled store in a temp dir, with the real engine and rules.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::fixture;

const SECRET: &str = "Upl0ad#2024";

/// Run `casebot console` with `args`, feeding `script` on stdin; stdout+stderr, with a timeout.
fn console(data: &Path, args: &[&str], script: &str) -> String {
    let (status, out) = console_with_env(data, &[], args, script);
    assert!(status.success(), "console failed: {status}\n{out}");
    out
}

/// [`console`] with environment variables `env` set, whatever its exit status.
pub(crate) fn console_with_env(
    data: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    script: &str,
) -> (std::process::ExitStatus, String) {
    console_through(&[], data, env, args, script)
}

/// [`console_with_env`] started through `wrap` (a command and its arguments ahead of the
/// binary, e.g. `prlimit`; none when empty).
pub(crate) fn console_through(
    wrap: &[&str],
    data: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    script: &str,
) -> (std::process::ExitStatus, String) {
    let bin = env!("CARGO_BIN_EXE_casebot-cli");
    let mut cmd = match wrap.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let mut child = cmd
        .arg("console")
        .arg("--data")
        .arg(data)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start casebot console");
    let mut stdin = child.stdin.take().expect("stdin");
    let script = script.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(script.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("casebot console did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    writer.join().expect("stdin writer");
    let (out, err) = (out.join().expect("stdout"), err.join().expect("stderr"));
    (status, format!("{out}{err}"))
}

/// Device 1 of the founding case: WMI advanced installer fails with 1058 (Winmgmt disabled).
pub(crate) const DEVICE1_CBS: &str = "\
2024-02-14 10:20:01, Info                  CBS    Starting TrustedInstaller initialization.
2024-02-14 10:20:02, Info                  CBS    Startup: Processing advanced operation queue, startupPhase: 0
2024-02-14 10:20:05, Info                  CSI    00000004 Begin executing advanced installer phase 38 index 4 (sequence 44)
    Installer name: 'WMI'
2024-02-14 10:20:06, Error      [0x01806a] CSI    00000007 (F) Failed execution of queue item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005]
2024-02-14 10:20:08, Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]
2024-02-14 10:20:08, Info                  CBS    WER: Generating failure report for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14, status: 0x800f0922, failure source: Execute, start state: Staged, target state: Installed, client id: WindowsUpdateAgent
";

/// Device 2: the servicing transaction cannot grow the NTFS transaction log (0x80071ab1).
const DEVICE2_CBS: &str = "\
2024-02-14 10:20:01, Info                  CBS    Starting TrustedInstaller initialization.
2024-02-14 10:20:02, Info                  CBS    Startup: Processing advanced operation queue, startupPhase: 0
2024-02-14 10:20:09, Error                 CBS    Poqexec: Failed to process pending operations [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]
2024-02-14 10:20:09, Error                 CBS    Exec: Failed to commit CBS transaction. [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]
2024-02-14 10:20:11, Info                  CBS    WER: Generating failure report for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14, status: 0x80071ab1, failure source: Execute, start state: Staged, target state: Installed, client id: WindowsUpdateAgent
";

/// The attach line for a device: the shared fixture bundle when present (device found in the
/// bundle), else a minimal CBS.log written to `tmp`, named with `device:`.
fn attach(tmp: &Path, zip: &str, device: &str, cbs: &str) -> String {
    let shared = fixture(&format!("bundles/{zip}"));
    if shared.is_file() {
        return format!("file:{}", shared.display());
    }
    let dir: PathBuf = tmp.join(device);
    std::fs::create_dir_all(&dir).expect("fixture dir");
    let path = dir.join("CBS.log");
    std::fs::write(&path, cbs).expect("fixture");
    format!("日志 file:{} device:{device}", path.display())
}

fn files_text(data: &Path) -> String {
    let mut all = String::new();
    if let Ok(entries) = std::fs::read_dir(data.join("files")) {
        for e in entries.flatten() {
            all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    all
}

#[test]
fn founding_case_end_to_end_and_after_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let dev1 = attach(tmp.path(), "device1.zip", "wcc0021z675842", DEVICE1_CBS);
    let dev2 = attach(tmp.path(), "device2.zip", "WCC0021Z673965", DEVICE2_CBS);
    let script = format!(
        "open KB5034763 推送后两台设备回滚（19044），上传密码: {SECRET}\n\
         collect\n{dev1}\n{dev2}\n\
         device wcc0021z675842 fixed\n\
         device WCC0021Z673965 fixed 已重新安装成功\n\
         close\nexport\n"
    );
    let out = console(
        &data,
        &["--as", "engineer", "--user", "li.wei", "--lang", "zh"],
        &script,
    );
    assert!(out.contains("help"), "start-up line names help: {out}");
    assert!(
        out.contains("问题定义") && out.contains("KB5034763"),
        "{out}"
    );
    assert!(out.contains("如何收集日志"), "{out}");
    assert!(out.contains("⚠️"), "secret warning: {out}");
    // Device 1: Winmgmt disabled; device 2: TxF log corrupt, with fsutil and chkdsk.
    assert!(out.contains("service-disabled-advanced-installer"), "{out}");
    assert!(
        out.to_lowercase().contains("sc config winmgmt start= auto"),
        "{out}"
    );
    assert!(out.contains("txf-transaction-log-corrupt"), "{out}");
    assert!(
        out.contains("fsutil resource setautoreset true C:\\"),
        "{out}"
    );
    assert!(out.to_lowercase().contains("chkdsk c: /f"), "{out}");
    assert!(
        out.contains("CBS.log:"),
        "engineer sees evidence file:line: {out}"
    );
    for heading in ["## 问题定义", "## 问题总结", "## 排查详情"] {
        assert!(out.contains(heading), "{heading}: {out}");
    }
    let summary = &out[out.find("## 问题总结").unwrap_or(0)..];
    assert!(
        summary.contains("service-disabled-advanced-installer"),
        "{summary}"
    );
    assert!(summary.contains("txf-transaction-log-corrupt"), "{summary}");
    assert!(
        out.contains("-summary.md") && out.contains(".json"),
        "export files: {out}"
    );
    let files = files_text(&data);
    assert!(
        files.contains("排查详情"),
        "exported summary written to the data dir"
    );
    assert!(
        !out.contains(SECRET) && !files.contains(SECRET),
        "the secret leaked"
    );

    let again = console(&data, &["--as", "engineer", "--lang", "zh"], "cases\n");
    assert!(
        again.contains("已关闭") && again.contains("问题总结"),
        "{again}"
    );
    assert!(again.contains("txf-transaction-log-corrupt"), "{again}");
    assert!(!again.contains(SECRET));
}

#[test]
fn customer_gets_guidance_without_evidence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let dev1 = attach(tmp.path(), "device1.zip", "wcc0021z675842", DEVICE1_CBS);
    let script = format!("open KB5034763 rolled back on one PC\n{dev1}\nclose\n");
    let out = console(
        &data,
        &["--as", "customer", "--user", "bank-it", "--lang", "en"],
        &script,
    );
    assert!(
        out.to_lowercase().contains("sc config winmgmt start= auto"),
        "{out}"
    );
    assert!(
        out.to_lowercase().contains("device wcc0021z675842 fixed"),
        "what to reply next: {out}"
    );
    assert!(
        !out.contains("CBS.log:"),
        "no evidence lines for customers: {out}"
    );
    assert!(
        !out.contains("HRESULT_FROM_WIN32(1058)"),
        "no raw log lines: {out}"
    );
    assert!(
        out.contains("only support engineers"),
        "close is refused politely: {out}"
    );
}

#[test]
fn bad_arguments_and_unknown_commands() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = console(
        &tmp.path().join("d"),
        &["--lang", "en"],
        "frobnicate\n/nope\nstatus\n",
    );
    assert!(out.contains("I didn't find a command"), "{out}");
    assert!(out.contains("`/nope`"), "{out}");
    assert!(out.contains("No case here"), "{out}");
    let status = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(["console", "--as", "admin", "--data"])
        .arg(tmp.path().join("e"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("--as"));
}

/// What the English console answers to chat `lines`, on a store of its own.
fn chat_en(lines: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    console(&tmp.path().join("d"), &["--lang", "en"], lines)
}

#[test]
fn the_rollback_screen_in_chat_gets_what_it_means_and_what_to_send() {
    let out = chat_en("my pc says We couldn't complete the updates, undoing changes, every time\n");
    assert!(out.contains("rolled it back"), "{out}");
    assert!(out.contains("CbsPersist_*.log"), "{out}");
    assert!(!out.contains("I didn't find a command"), "{out}");
}

#[test]
fn a_question_naming_an_error_code_gets_its_meaning_and_what_to_send() {
    let out = chat_en("the update fails with 0x800f0922, any idea?\nhow are you today?\n");
    assert!(out.contains("CBS_E_INSTALLERS_FAILED"), "{out}");
    assert!(out.contains("Paste the log lines around it"), "{out}");
    assert_eq!(
        out.matches("I didn't find a command").count(),
        1,
        "the chat line without a code still gets the usage reply: {out}"
    );
}

/// Founding case device 1 as pasted from CBS.log: timestamps cut off, with a continuation line.
const PASTED_LINES: &str = "\
Error      [0x01806a] CSI    00000007 (F) Failed execution of queue item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005]
    Installer name: 'WMI'
Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]
";

#[test]
fn pasted_log_lines_are_diagnosed_as_one_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = format!("open KB5034763 rolls back\n{PASTED_LINES}status\n");
    let out = console(&tmp.path().join("d"), &["--lang", "en"], &script);
    assert_eq!(
        out.matches("Received the pasted log lines").count(),
        1,
        "one paste, not one message per line: {out}"
    );
    assert!(
        out.contains("`service-disabled-advanced-installer`"),
        "{out}"
    );
    assert!(!out.contains("I didn't find a command"), "{out}");
    // `status` after the paste is a command again, and shows the device the paste diagnosed.
    assert!(out.contains("awaiting verification"), "{out}");
}

#[test]
fn a_code_block_pasted_outside_a_case_can_open_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = format!("```\n{PASTED_LINES}```\nopen WMI installer fails\nstatus\n");
    let out = console(
        &tmp.path().join("d"),
        &["--as", "customer", "--lang", "en"],
        &script,
    );
    let offer = "Reply `open <title>` to open a case with this log";
    let at = out.find(offer).unwrap_or_else(|| panic!("no offer: {out}"));
    assert!(
        out[..at].contains("An advanced installer needs a service that is disabled"),
        "diagnosed before the offer: {out}"
    );
    let opened = &out[out.find("Opened case").expect("case opened")..];
    assert!(
        opened.contains("Received the pasted log lines")
            && opened.contains("An advanced installer needs a service that is disabled"),
        "the paste is the case's first bundle: {opened}"
    );
    assert!(opened.contains("awaiting verification"), "{opened}");
}
