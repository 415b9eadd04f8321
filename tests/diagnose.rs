//! `casebot diagnose` as a user runs it: the real binary over the founding-case bundles, golden
//! JSON and text reports (`CASEBOT_BLESS=1` rewrites them), and inputs that cannot be read.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::catalogue::corpus::healthy_cbs;
use crate::util::fixture;

/// Longest a single CLI run may take (debug build, 50 MB input).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Run the casebot binary with `args`, failing the test if it does not finish in time.
fn casebot(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start casebot");
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(out) => out.expect("casebot output"),
        Err(_) => {
            // Only the process this test started.
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("casebot {args:?} did not finish within {TIMEOUT:?}");
        }
    }
}

fn diagnose_json(path: &Path) -> Value {
    let p = path.to_str().expect("utf-8 path");
    let out = casebot(&["diagnose", p, "--json"]);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn diagnose_text(path: &Path, lang: &str) -> String {
    let p = path.to_str().expect("utf-8 path");
    let out = casebot(&["diagnose", p, "--lang", lang]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 report")
}

/// The rule-set hash changes with every rule edit; goldens pin the diagnosis, not the hash.
fn normalise_json(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "rules_version".into(),
            Value::String("<rules-version>".into()),
        );
    }
    v
}

fn normalise_text(s: &str) -> String {
    s.lines()
        .map(|l| match l.split_once(": ") {
            Some((k, _)) if k == "Rule set" || k == "规则集" => format!("{k}: <rules-version>"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Compare with `tests/fixtures/expected/<name>`, or write it when `CASEBOT_BLESS=1`.
pub(crate) fn golden(name: &str, actual: &str) {
    let path = fixture("expected").join(name);
    if std::env::var_os("CASEBOT_BLESS").is_some() {
        std::fs::create_dir_all(fixture("expected")).expect("mkdir expected");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with CASEBOT_BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n  expected: {:?}\n  actual:   {:?}\n(CASEBOT_BLESS=1 rewrites it)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

fn golden_all(bundle: &str, name: &str) -> Value {
    let path = fixture("bundles").join(bundle);
    let json = normalise_json(diagnose_json(&path));
    let pretty = serde_json::to_string_pretty(&json).expect("json") + "\n";
    golden(&format!("{name}.json"), &pretty);
    golden(
        &format!("{name}.en.txt"),
        &normalise_text(&diagnose_text(&path, "en")),
    );
    golden(
        &format!("{name}.zh.txt"),
        &normalise_text(&diagnose_text(&path, "zh")),
    );
    json
}

fn top(d: &Value) -> &Value {
    let f = &d["findings"][0];
    assert!(
        f["confidence"].as_f64().unwrap_or(0.0) >= 0.5,
        "no confident finding: {d:#}"
    );
    f
}

fn commands(f: &Value) -> Vec<String> {
    f["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["command"].as_str().map(str::to_string))
        .collect()
}

/// Every field name of `v` that names a language (`title_zh`, …), with its path.
fn translated_fields(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k.ends_with("_zh") || k.ends_with("_en") {
                    out.push(k.clone());
                }
                out.extend(translated_fields(child));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| out.extend(translated_fields(i))),
        _ => {}
    }
    out
}

#[test]
fn device1_winmgmt_disabled() {
    let d = golden_all("device1.zip", "device1");
    assert_eq!(d["schema"], "casebot.diagnosis.v2");
    // The contract is data: no field carries a translation.
    assert_eq!(translated_fields(&d), Vec::<String>::new());
    let f = top(&d);
    assert_eq!(f["vars"]["service"], "Winmgmt");
    assert_eq!(f["root_cause"], "service-disabled-advanced-installer");
    assert!(f["confidence"].as_f64().unwrap() >= 0.9);
    assert_eq!(f["subject"]["service"], "Winmgmt");
    assert!(commands(f).contains(&"sc config winmgmt start= auto".to_string()));
    assert_eq!(d["device"]["name"], "wcc0021z675842");
    assert_eq!(d["device"]["os_build"], "19041.4046");
    assert_eq!(d["device"]["updates"][0], "KB5034763");
    let evidence = f["evidence"].as_array().unwrap();
    assert!(evidence.iter().any(|e| {
        e["file"].as_str().unwrap().ends_with("Logs/CBS/CBS.log")
            && e["text"]
                .as_str()
                .unwrap()
                .contains("HRESULT_FROM_WIN32(1058)")
    }));
    let files: Vec<&str> = d["bundle"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["encoding"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"utf-16le") && files.contains(&"gbk"),
        "{files:?}"
    );
}

#[test]
fn device2_txf_log_corrupt() {
    let d = golden_all("device2.zip", "device2");
    let f = top(&d);
    assert_eq!(f["root_cause"], "txf-transaction-log-corrupt");
    let cmds = commands(f);
    assert!(
        cmds.contains(&r"fsutil resource setautoreset true C:\".to_string()),
        "{cmds:?}"
    );
    assert!(cmds.contains(&"chkdsk C: /f".to_string()), "{cmds:?}");
    assert_eq!(d["device"]["name"], "WCC0021Z673965");
}

#[test]
fn healthy_cbs_log_has_no_confident_finding() {
    let d = golden_all("healthy-cbs.log", "healthy-cbs");
    for f in d["findings"].as_array().unwrap() {
        assert!(f["confidence"].as_f64().unwrap() < 0.5, "{f:#}");
    }
    assert!(d["unexplained"].as_array().unwrap().is_empty(), "{d:#}");
}

#[test]
fn healthy_bundle_with_binary_evtx_has_no_finding() {
    let d = golden_all("healthy-evtx", "healthy-evtx");
    assert!(d["findings"].as_array().unwrap().is_empty(), "{d:#}");
    let kinds: Vec<&str> = d["bundle"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"evtx"), "{kinds:?}");
}

/// Built independently of the generated fixtures: the same answer from the documented grammar.
#[test]
fn independently_written_variant_gives_the_same_answer() {
    let d = diagnose_json(&fixture("bundles").join("device1-variant"));
    let f = top(&d);
    assert_eq!(f["root_cause"], "service-disabled-advanced-installer");
    assert_eq!(f["subject"]["service"], "Winmgmt");
    assert!(f["confidence"].as_f64().unwrap() >= 0.9);
    assert!(commands(f).contains(&"net start winmgmt".to_string()));
}

/// The rollback's second boot logs S_OK for the uninstall run: that is not success.
#[test]
fn rollback_s_ok_is_not_success() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(fixture("bundles").join("device1-variant/CBS.log")).unwrap();
    // Only the second boot's lines from the uninstall run on.
    let tail: Vec<&str> = src
        .lines()
        .skip_while(|l| !l.contains("07:52:24"))
        .collect();
    std::fs::write(dir.path().join("CBS.log"), tail.join("\n")).unwrap();
    let d = diagnose_json(&dir.path().join("CBS.log"));
    assert_eq!(top(&d)["root_cause"], "service-disabled-advanced-installer");
}

#[test]
fn text_report_has_the_parts_a_user_needs() {
    let t = diagnose_text(&fixture("bundles").join("device1.zip"), "en");
    for part in [
        "Root cause 1:",
        "confidence 0.",
        "0x80070422 ERROR_SERVICE_DISABLED",
        "Logs/CBS/CBS.log:",
        "1. ",
        "> sc config winmgmt start= auto",
    ] {
        assert!(t.contains(part), "missing {part:?} in:\n{t}");
    }
    let zh = diagnose_text(&fixture("bundles").join("device1.zip"), "zh");
    assert!(zh.contains("根本原因") && zh.contains("解决步骤"), "{zh}");
}

/// A one-line `casebot: <reason>` on stderr, a non-zero exit, no panic.
fn assert_clear_failure(out: &Output, mentions: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {err}");
    assert_ne!(out.status.code(), Some(101), "panicked: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("casebot: "))
        .unwrap_or_else(|| panic!("no `casebot: ` line in {err:?}"));
    assert!(line.contains(mentions), "{line}");
}

/// Either read (exit 0, one JSON document) or refused with a clear one-line reason; never a panic.
fn assert_handled(path: &Path) -> Option<Value> {
    let out = casebot(&["diagnose", path.to_str().expect("utf-8 path"), "--json"]);
    assert_ne!(
        out.status.code(),
        Some(101),
        "panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Some(serde_json::from_slice(&out.stdout).expect("JSON"))
    } else {
        assert_clear_failure(
            &out,
            &path.file_name().expect("file name").to_string_lossy(),
        );
        None
    }
}

#[test]
fn missing_path_is_a_clear_error() {
    let out = casebot(&["diagnose", "/nonexistent/casebot/bundle.zip"]);
    assert_clear_failure(&out, "/nonexistent/casebot/bundle.zip");
}

#[test]
fn corrupt_zip_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("corrupt.zip");
    std::fs::write(&p, b"PK\x03\x04 this is not really a zip archive").unwrap();
    let out = casebot(&["diagnose", p.to_str().unwrap()]);
    assert_clear_failure(&out, "corrupt.zip");
}

#[test]
fn binary_junk_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.bin");
    // Deterministic pseudo-random bytes (xorshift).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&p, bytes).unwrap();
    if let Some(d) = assert_handled(&p) {
        assert!(d["findings"].as_array().unwrap().is_empty());
    }
}

#[test]
fn truncated_evtx_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("System.evtx");
    let full = std::fs::read(fixture("evtx/language-pack-setup-operational.evtx")).unwrap();
    std::fs::write(&p, &full[..full.len() / 3]).unwrap();
    if let Some(d) = assert_handled(&p) {
        assert!(d["findings"].as_array().unwrap().is_empty());
    }
}

#[test]
fn empty_file_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.log");
    std::fs::write(&p, b"").unwrap();
    if let Some(d) = assert_handled(&p) {
        assert!(d["findings"].as_array().unwrap().is_empty());
    }
}

#[test]
fn fifty_megabyte_line_without_newline_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("long.log");
    let mut f = std::fs::File::create(&p).unwrap();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..50 {
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    if let Some(d) = assert_handled(&p) {
        assert!(d["findings"].as_array().unwrap().is_empty());
    }
}

#[test]
fn unknown_language_is_refused() {
    let p = fixture("bundles").join("healthy-cbs.log");
    let out = casebot(&["diagnose", p.to_str().unwrap(), "--lang", "fr"]);
    assert_clear_failure(&out, "fr");
}

#[test]
fn rules_lint_passes_on_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let rules = root.join("diagnosis/rules");
    let out = casebot(&[
        "rules",
        "lint",
        "--rules",
        rules.to_str().unwrap(),
        "--fixtures",
        fixture("rules").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_lint_reports_a_broken_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "id = \"broken\"\nroot_cause = \"no-such-cause\"\ntitle = \"t\"\ntitle_zh = \"t\"\nconfidence = 0.9\n[[signal]]\nname = \"s\"\npattern = \"(unclosed\"\n",
    )
    .unwrap();
    let out = casebot(&[
        "rules",
        "lint",
        "--rules",
        dir.path().to_str().unwrap(),
        "--fixtures",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("broken.toml: root_cause: `no-such-cause`"),
        "{text}"
    );
    assert!(text.contains("broken.toml: signal `s`.pattern"), "{text}");
}

/// The excerpt is found in the middle of 50,000 healthy lines, and the healthy lines alone give
/// no confident finding.
#[test]
fn excerpt_buried_in_50k_healthy_lines() {
    let dir = tempfile::tempdir().unwrap();
    let excerpt =
        std::fs::read_to_string(fixture("bundles").join("device1-variant/CBS.log")).unwrap();
    // The catalogue corpus's generator, so both tests bury excerpts in the same healthy log.
    let mut lines: Vec<String> = healthy_cbs(50_000, 10)
        .lines()
        .map(str::to_string)
        .collect();
    let healthy = dir.path().join("healthy.log");
    std::fs::write(&healthy, lines.join("\r\n")).unwrap();
    let d = diagnose_json(&healthy);
    for f in d["findings"].as_array().unwrap() {
        assert!(f["confidence"].as_f64().unwrap() < 0.5, "{f:#}");
    }
    // Insert at a record start, not between an installer record's continuation lines.
    let at = (25_000..lines.len())
        .find(|&i| lines[i].starts_with("2024-"))
        .unwrap();
    lines.splice(at..at, excerpt.lines().map(str::to_string));
    let buried = dir.path().join("buried.log");
    std::fs::write(&buried, lines.join("\r\n")).unwrap();
    let d = diagnose_json(&buried);
    assert_eq!(top(&d)["root_cause"], "service-disabled-advanced-installer");
    assert!(top(&d)["evidence"][0]["line"].as_u64().unwrap() > 25_000);
}

/// `--rules DIR` loads rules at run time (the bot's reload path); a broken directory is refused
/// with the file and field named.
#[test]
fn rules_dir_at_run_time() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tables")).unwrap();
    for f in [
        "ai-service-disabled.toml",
        "tables/installer-services.toml",
        "tables/noise.toml",
    ] {
        std::fs::copy(root.join("diagnosis/rules").join(f), dir.path().join(f)).unwrap();
    }
    let bundle = fixture("bundles").join("device1.zip");
    let rules = dir.path().to_str().unwrap();
    let out = casebot(&[
        "diagnose",
        bundle.to_str().unwrap(),
        "--json",
        "--rules",
        rules,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["findings"].as_array().unwrap().len(), 1, "{d:#}");
    assert_eq!(top(&d)["rule"], "ai-service-disabled");

    std::fs::write(dir.path().join("tables/noise.toml"), "patterns = ['(']\n").unwrap();
    let out = casebot(&["diagnose", bundle.to_str().unwrap(), "--rules", rules]);
    assert_clear_failure(&out, "tables/noise.toml: patterns[0]");
}

/// Run `casebot diagnose -` (plus `args`) with `input` on standard input.
fn diagnose_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(["diagnose", "-"])
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start casebot");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // casebot may stop reading early (over the limit): a broken pipe here is expected then.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("casebot output");
    writer.join().expect("stdin writer");
    out
}

/// Founding case device 1, pasted from CBS.log without timestamps.
const PASTED_LINES: &str = "\
Error      [0x01806a] CSI    00000007 (F) Failed execution of queue item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005]
Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]
";

/// The JSON document of a successful `casebot diagnose - --json` on `input`.
fn stdin_json(input: &str) -> Value {
    let out = diagnose_stdin(&["--json"], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn diagnose_dash_reads_pasted_lines_from_stdin() {
    let d = stdin_json(PASTED_LINES);
    assert_eq!(top(&d)["root_cause"], "service-disabled-advanced-installer");
    assert_eq!(d["bundle"]["name"], "stdin.txt", "{d:#}");
    let text = diagnose_stdin(&[], format!("```\n{PASTED_LINES}```\n").as_bytes());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("stdin.txt:"),
        "evidence names stdin.txt: {text}"
    );
}

/// The findings of `casebot diagnose - --json` on `input`: (root cause, rule, confidence).
fn pasted_findings(input: &str) -> Vec<(String, String, f64)> {
    stdin_json(input)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["root_cause"].as_str().unwrap_or("").to_string(),
                f["rule"].as_str().unwrap_or("").to_string(),
                f["confidence"].as_f64().unwrap_or(0.0),
            )
        })
        .collect()
}

/// The top finding of [`pasted_findings`]: (root cause, confidence).
fn top_of(f: &[(String, String, f64)]) -> Option<(String, f64)> {
    f.first().map(|(c, _, conf)| (c.clone(), *conf))
}

/// Lines a tool printed rather than a log wrote: the line says that something failed and carries
/// a catalogued code, so the code's default root cause is the finding. Lines written for this
/// test.
#[test]
fn a_pasted_line_that_says_what_failed_gets_its_code_s_default_cause() {
    let confident = |f: &[(String, String, f64)]| {
        f.first()
            .filter(|(_, _, c)| *c >= 0.5)
            .map(|(cause, rule, _)| (cause.clone(), rule.clone()))
    };
    let store = Some((
        "component-store-corruption".to_string(),
        "code-prior".to_string(),
    ));
    // In German, and with the code cut onto a line of its own by a narrow console.
    let de = pasted_findings("Das Update konnte nicht installiert werden: Fehler 0x80073712\n");
    assert_eq!(confident(&de), store, "{de:?}");
    let cut = pasted_findings(
        "Add-WindowsPackage : Add-WindowsPackage failed. Error code\n= 0x80073712\n",
    );
    assert_eq!(confident(&cut), store, "{cut:?}");
    // A localised Servicing message copied alone (Chinese: "cannot change package … to the
    // Installed state") is read as Servicing event 3, so the rule itself names the cause.
    let zh = pasted_findings("无法将程序包 KB5034763 更改为 Installed 状态。状态: 0x80073712。\n");
    assert_eq!(
        confident(&zh),
        Some((
            "component-store-corruption".to_string(),
            "component-store-corrupt".to_string()
        )),
        "{zh:?}"
    );
    // CBS's verdict on a package, logged at Info level, rests its code's prior too.
    let wer = pasted_findings(
        "2024-02-14 10:05:15, Info                  CBS    WER: Generating failure report for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14, status: 0x80073712, failure source: Resolve, start state: Installed, target state: Installed, client id: WindowsUpdateAgent\n",
    );
    assert_eq!(confident(&wer), store, "{wer:?}");
    // The same code in a line that does not say anything failed is no diagnosis.
    let listed = pasted_findings("Package state listed with 0x80073712\n");
    assert_eq!(confident(&listed), None, "{listed:?}");

    // An error event of another provider counts when it concerns servicing ...
    let event = "Log Name:      Microsoft-Windows-ServerManager/Operational\n\
Source:        Microsoft-Windows-ServerManager\n\
Event ID:      1601\n\
Level:         Error\n\
Description:\n\
The component installer could not open the servicing session: COMException (0x800706BE)\n";
    let f = pasted_findings(event);
    assert_eq!(
        confident(&f),
        Some((
            "corrupt-package-catalog".to_string(),
            "code-prior".to_string()
        )),
        "{f:?}"
    );
    // ... and not when it is about something else.
    let other = event.replace(
        "The component installer could not open the servicing session",
        "The print queue could not reach the printer",
    );
    let f = pasted_findings(&other);
    assert_eq!(confident(&f), None, "{f:?}");
}

/// `Get-WinEvent … | Format-List` and its table form, pasted: the events are read as events, so
/// the event rules see them. Lines written for this test.
#[test]
fn pasted_get_winevent_output_is_diagnosed_as_events() {
    let list = "TimeCreated  : 2/14/2024 10:20:31 AM\n\
ProviderName : Microsoft-Windows-WindowsUpdateClient\n\
Id           : 20\n\
Message      : Installation Failure: Windows failed to install the following update with error 0x80073712: 2024-02 Cumulative Update for Windows 10 Version 22H2 for x64-based Systems (KB5034763).\n";
    let f = pasted_findings(list);
    assert_eq!(
        f.first().map(|(c, r, _)| (c.as_str(), r.as_str())),
        Some(("component-store-corruption", "component-store-corrupt")),
        "{f:?}"
    );
    let table = "   ProviderName: Microsoft-Windows-WindowsUpdateClient\n\n\
TimeCreated                      Id LevelDisplayName Message\n\
-----------                      -- ---------------- -------\n\
2/14/2024 10:20:31 AM            20 Error            Installation Failure: Windows failed to install the following update with error 0x80070422: 2024-02 Cumulative Update for Windows 10 (KB5034763).\n";
    let f = pasted_findings(table);
    assert_eq!(
        f.first().map(|(c, _, _)| c.as_str()),
        Some("update-service-disabled"),
        "{f:?}"
    );
    // A successful install in the same form is no failure.
    let ok = list
        .replace("Id           : 20", "Id           : 19")
        .replace(
            "Installation Failure: Windows failed to install the following update with error 0x80073712:",
            "Installation Successful: Windows successfully installed the following update:",
        );
    let f = pasted_findings(&ok);
    assert!(f.iter().all(|(_, _, c)| *c < 0.5), "{f:?}");
}

/// Dialogs and console verdicts people copy without a log, in the languages Windows prints them
/// in: each names its cause (or, for "not applicable", a hint at it). Lines written for this test.
#[test]
fn pasted_dialog_and_console_verdicts_are_read() {
    // The Windows 7 update dialog's code has no `0x`.
    let f = pasted_findings(
        "Windows could not search for new updates\n\
An error occurred while checking for new updates for your computer.\n\
Error(s) found:\n\
Code 80072EFE Windows Update encountered an unknown error.\n",
    );
    assert_eq!(
        top_of(&f).map(|(c, _)| c),
        Some("update-server-connectivity".to_string()),
        "{f:?}"
    );
    // The standalone installer's "not applicable", in English and German: a hint, not a finding.
    for dialog in [
        "Windows Update Standalone Installer\n\nThe update is not applicable to your computer.\n",
        "Eigenständiges Windows Update-Installationsprogramm\n\nDas Update ist nicht auf Ihren Computer anwendbar.\n",
    ] {
        let f = pasted_findings(dialog);
        let (cause, conf) = top_of(&f).expect("a hint");
        assert_eq!(cause, "missing-prerequisite-ssu", "{f:?}");
        assert!(conf < 0.5, "{f:?}");
    }
    // SFC's verdict in Chinese; its "repaired" verdict is no failure.
    let f = pasted_findings("Windows 资源保护找到了损坏文件，但无法修复其中某些文件。\n");
    assert_eq!(
        top_of(&f),
        Some(("component-store-corruption".to_string(), 0.6)),
        "{f:?}"
    );
    let f = pasted_findings("Windows 资源保护找到了损坏文件并成功修复了它们。\n");
    assert!(f.iter().all(|(_, _, c)| *c < 0.5), "{f:?}");
    // The restart screen of a rollback names no code: a servicing failure no rule explains,
    // with what to send, instead of "no problem found".
    for screen in [
        "We couldn't complete the updates. Undoing changes. Don't turn off your computer.\n",
        "Die Updates konnten nicht abgeschlossen werden. Änderungen werden rückgängig gemacht.\n",
    ] {
        let f = pasted_findings(screen);
        assert_eq!(
            top_of(&f),
            Some(("unknown-servicing-failure".to_string(), 0.4)),
            "{f:?}"
        );
    }
}

/// An event's message copied alone from the Event Viewer, without its header, is read as that
/// event by its shape: Service Control Manager's two-line failure, Servicing event 3 and the
/// standalone installer's event 3 in other languages. Lines written for this test.
#[test]
fn event_messages_pasted_alone_are_read_as_their_events() {
    let scm = "The Windows Modules Installer service failed to start due to the following error: \n\
The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.\n";
    let f = pasted_findings(scm);
    assert_eq!(
        top_of(&f).map(|(c, _)| c),
        Some("update-service-disabled".to_string()),
        "{f:?}"
    );
    // Another service's failure is not the update services'.
    let f = pasted_findings(&scm.replace("Windows Modules Installer", "Print Spooler"));
    assert!(f.iter().all(|(_, _, c)| *c < 0.5), "{f:?}");
    // Servicing event 3 for the WinRE update, in French and Spanish.
    for line in [
        "Le package KB5034441 n’a pas pu passer à l’état Installé. État : 0x80070643.\n",
        "No se pudo cambiar el paquete KB5034441 al estado Instalado. Estado: 0x80070643.\n",
    ] {
        let f = pasted_findings(line);
        assert_eq!(
            top_of(&f).map(|(c, _)| c),
            Some("winre-partition-too-small".to_string()),
            "{f:?}"
        );
    }
    // The standalone installer's event 3 in French: its decimal code after "erreur".
    let f = pasted_findings(
        "Impossible d’installer la mise à jour Windows « Mise à jour de sécurité pour Windows (KB5034441) » en raison de l’erreur 2149842967 « » (ligne de commande : « \"C:\\Windows\\system32\\wusa.exe\" \"C:\\x\\windows10.0-kb5034441-x64.msu\" »)\n",
    );
    assert_eq!(
        top_of(&f).map(|(c, _)| c),
        Some("missing-prerequisite-ssu".to_string()),
        "{f:?}"
    );
}

#[test]
fn diagnose_dash_refuses_input_over_the_download_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("casebot.toml");
    std::fs::write(&cfg, "[download]\nmax_bytes = 100\n").expect("config");
    let cfg = cfg.to_str().expect("utf-8 path");
    let out = diagnose_stdin(&["--config", cfg], PASTED_LINES.as_bytes());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("100 bytes") && err.contains("download.max_bytes"),
        "{err}"
    );
}

/// Bytes of the files under `dir` (0 when it is gone).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

#[test]
fn a_gzip_bomb_writes_at_most_the_disk_budget_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 64 MiB of zeros, about 64 KiB packed: the ratio cap of the config allows 64 MB.
    let bomb = dir.path().join("zeros.log.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bomb).expect("bomb"),
        flate2::Compression::best(),
    );
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).expect("bomb");
    }
    gz.finish().expect("bomb");
    let cfg = dir.path().join("casebot.toml");
    std::fs::write(
        &cfg,
        "[limits]\nmax_disk_bytes = 4194304\nmax_ratio = 1000\n",
    )
    .expect("config");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");

    let mut child = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .arg("--config")
        .arg(&cfg)
        .arg("diagnose")
        .arg(&bomb)
        .env("TMPDIR", &tmp)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start casebot");
    // Watch the temp directory while the bomb is unpacked.
    let mut peak = 0;
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(dir_bytes(&tmp));
        assert!(started.elapsed() < TIMEOUT, "casebot did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exceeds max_disk_bytes (4194304)"), "{err}");
    assert!(peak <= 4 << 20, "temp dir reached {peak} bytes");
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").flatten().collect();
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}
