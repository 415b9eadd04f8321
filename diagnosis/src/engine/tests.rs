//! The matcher over hand-built records (independent of the parsers).

use std::collections::BTreeMap;

use super::*;
use crate::parse::{Fact, Level, StartType};

fn rec(line: u64, level: Level, text: &str, codes: &[u32]) -> Record {
    Record {
        line,
        time: None,
        level,
        component: None,
        text: text.to_string(),
        codes: codes.to_vec(),
        fact: None,
        kind: None,
    }
}

fn service(line: u64, name: &str, start: StartType) -> Record {
    Record {
        line,
        time: None,
        level: Level::Info,
        component: None,
        text: format!("SERVICE_NAME: {name}\n        START_TYPE         : 4   DISABLED"),
        codes: vec![],
        fact: Some(Fact::Service {
            name: name.to_string(),
            start,
        }),
        kind: None,
    }
}

fn event(line: u64, provider: &str, id: u32, channel: &str, text: &str, codes: &[u32]) -> Record {
    let mut data = BTreeMap::new();
    data.insert("PackageIdentifier".to_string(), "KB5034763".to_string());
    Record {
        line,
        time: None,
        level: Level::Error,
        component: Some(provider.to_string()),
        text: format!("{provider} {id}: {text}"),
        codes: codes.to_vec(),
        fact: Some(Fact::Event {
            provider: provider.to_string(),
            id,
            channel: Some(channel.to_string()),
            computer: Some("wcc0021z675842.bank.local".to_string()),
            data,
        }),
        kind: None,
    }
}

const AI_FAILED: &str = "2024-02-15 09:12:40, Error      [0x018003] CSI    0000004b (F) Failed execution of queue item Installer: WMI ({7a4b1f1d-0c2f-4a43-9e0d-2a3c3fbd1d21}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005]";
const QUEUE_FAILED: &str = "2024-02-15 09:12:41, Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]";
const UNINSTALL_OK: &str = "2024-02-15 09:20:02, Info                  CSI    00000012 End executing advanced installer (sequence 51)\n    Completion status: S_OK ";

fn scan_device1(with_services: Option<StartType>) -> Diagnosis {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = Scan::new(&rules);
    scan.begin_file("wcc0021z675842/Logs/CBS/CBS.log", LogKind::Cbs);
    scan.record(&rec(
        10,
        Level::Info,
        "2024-02-15 09:00:00, Info CBS Exec: Processing started. Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.13",
        &[],
    ));
    scan.record(&rec(
        14,
        Level::Error,
        AI_FAILED,
        &[0x8007_0422, 0x8000_4005],
    ));
    scan.record(&rec(20, Level::Error, QUEUE_FAILED, &[0x800f_0922]));
    scan.record(&rec(30, Level::Info, UNINSTALL_OK, &[0]));
    scan.record(&rec(31, Level::Error, QUEUE_FAILED, &[0x800f_0922]));
    if let Some(start) = with_services {
        scan.begin_file("wcc0021z675842/sc_winmgmt.txt", LogKind::Services);
        scan.record(&service(1, "winmgmt", start));
    }
    scan.begin_file("wcc0021z675842/System.txt", LogKind::EventText);
    scan.record(&event(
        3,
        "Service Control Manager",
        7000,
        "System",
        "The Windows Management Instrumentation service failed to start: the service is disabled.",
        &[],
    ));
    scan.begin_file("wcc0021z675842/Setup.txt", LogKind::EventText);
    scan.record(&event(
        4,
        "Microsoft-Windows-Servicing",
        3,
        "Setup",
        "Package KB5034763 failed to be changed to the Installed state. Status: 0x800f0922.",
        &[0x800f_0922],
    ));
    scan.finish(BundleSummary::default())
}

#[test]
fn founding_device_1_with_full_evidence() {
    let d = scan_device1(Some(StartType::Disabled));
    let top = d.top().expect("a confident finding");
    assert_eq!(top.root_cause, "service-disabled-advanced-installer");
    assert!(top.confidence >= 0.9, "{}", top.confidence);
    assert_eq!(
        top.subject.get("service").map(String::as_str),
        Some("Winmgmt")
    );
    assert_eq!(
        top.subject.get("installer").map(String::as_str),
        Some("WMI")
    );
    let cmds: Vec<&str> = top
        .steps
        .iter()
        .filter_map(|s| s.command.as_deref())
        .collect();
    assert!(cmds.contains(&"sc config winmgmt start= auto"), "{cmds:?}");
    assert!(cmds.contains(&"net start winmgmt"), "{cmds:?}");
    assert!(top.steps.iter().any(|s| s.text.contains("KB5034763")));
    assert!(
        top.evidence
            .iter()
            .any(|e| e.line == 14 && e.file.ends_with("CBS.log"))
    );
    assert!(
        top.evidence
            .iter()
            .any(|e| e.file.ends_with("sc_winmgmt.txt"))
    );
    let codes: Vec<&str> = top.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, vec!["0x800f0922", "0x80070422"]);
    assert_eq!(d.device.name.as_deref(), Some("wcc0021z675842"));
    assert_eq!(d.device.os_build.as_deref(), Some("19041.4046"));
    assert_eq!(d.device.updates, vec!["KB5034763".to_string()]);
    // Every failure line belongs to the finding; the rollback's S_OK run changes nothing.
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
    assert!(d.bundle.missing.iter().all(|m| m.kind != "services"));
}

#[test]
fn without_services_snapshot_the_finding_is_likely_and_asks_for_it() {
    let d = scan_device1(None);
    let top = d.top().expect("a confident finding");
    assert_eq!(top.rule, "ai-service-disabled");
    assert!((0.5..0.9).contains(&top.confidence), "{}", top.confidence);
    let m = d
        .bundle
        .missing
        .iter()
        .find(|m| m.kind == "services")
        .expect("services missing");
    assert!(m.how.contains("sc qc winmgmt"), "{}", m.how);
    // The Chinese text is the rule's, found by the rule id the entry names.
    assert_eq!(m.rule.as_deref(), Some("ai-service-disabled"));
    let rules = RuleSet::builtin().unwrap();
    let (_, how) = rules
        .rule("ai-service-disabled")
        .and_then(|r| r.missing_texts("services"))
        .expect("the rule's missing entry");
    assert!(how.zh.contains("sc qc winmgmt"), "{}", how.zh);
}

#[test]
fn service_running_automatic_makes_it_a_hint() {
    let d = scan_device1(Some(StartType::Auto));
    assert!(d.top().is_none_or(|f| f.rule != "ai-service-disabled"));
}

#[test]
fn event_log_code_alone_gives_a_hint_with_what_would_confirm_it() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = Scan::new(&rules);
    scan.begin_file("Setup.txt", LogKind::EventText);
    scan.record(&event(
        1,
        "Microsoft-Windows-Servicing",
        3,
        "Setup",
        "Package KB5034763 failed to be changed to the Installed state. Status: 0x800f0922.",
        &[0x800f_0922],
    ));
    let d = scan.finish(BundleSummary::default());
    assert!(d.top().is_none(), "{:?}", d.findings);
    let hint = d
        .findings
        .iter()
        .find(|f| f.rule == "ai-service-disabled")
        .expect("hint");
    assert!(hint.confidence < 0.5);
    assert!(!hint.confirm.is_empty());
    let zh: Vec<&str> = rules
        .rule(&hint.rule)
        .expect("the hint's rule")
        .confirm_texts()
        .map(|t| t.zh)
        .collect();
    assert_eq!(zh.len(), hint.confirm.len());
    assert!(zh.iter().all(|t| !t.is_empty()));
    assert!(d.bundle.missing.iter().any(|m| m.kind == "cbs"));
}

/// A scan whose CBS.log already holds founding device 2's failed TxF commit.
fn scan_with_txf_commit_failure(rules: &RuleSet) -> Scan<'_> {
    let mut scan = Scan::new(rules);
    scan.begin_file("CBS.log", LogKind::Cbs);
    scan.record(&rec(
        5,
        Level::Error,
        "2024-02-15 10:00:00, Error CBS Exec: Failed to commit CBS transaction. [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]",
        &[0x8007_1ab1],
    ));
    scan
}

#[test]
fn founding_device_2_txf() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = scan_with_txf_commit_failure(&rules);
    scan.begin_file("System.txt", LogKind::EventText);
    scan.record(&event(
        2,
        "Microsoft-Windows-Ntfs",
        136,
        "System",
        "The default transaction resource manager on volume C: encountered a non-retryable error and could not start.",
        &[],
    ));
    let d = scan.finish(BundleSummary::default());
    let top = d.top().expect("finding");
    assert_eq!(top.root_cause, "txf-transaction-log-corrupt");
    assert!(top.confidence >= 0.9);
    let cmds: Vec<&str> = top
        .steps
        .iter()
        .filter_map(|s| s.command.as_deref())
        .collect();
    assert!(
        cmds.contains(&r"fsutil resource setautoreset true C:\"),
        "{cmds:?}"
    );
    assert!(cmds.contains(&"chkdsk C: /f"), "{cmds:?}");
}

#[test]
fn txf_code_in_event_log_only_is_a_hint() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = Scan::new(&rules);
    scan.begin_file("System.evtx", LogKind::Evtx);
    scan.record(&event(
        9,
        "Microsoft-Windows-WindowsUpdateClient",
        20,
        "System",
        "Installation Failure: Windows failed to install the following update with error 0x80071ab1: 2024-02 Cumulative Update (KB5034763).",
        &[0x8007_1ab1],
    ));
    let d = scan.finish(BundleSummary::default());
    let f = d
        .findings
        .iter()
        .find(|f| f.root_cause == "txf-transaction-log-corrupt")
        .expect("hint");
    assert!(f.confidence < 0.5 && !f.confirm.is_empty());
}

#[test]
fn noise_is_never_a_finding_nor_unexplained() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = Scan::new(&rules);
    scan.begin_file("CBS.log", LogKind::Cbs);
    for (i, t) in [
        "2016-09-28 04:30:31, Info CBS SQM: Failed to start upload with file pattern: C:\\Windows\\servicing\\sqm\\*_std.sqm, flags: 0x2 [HRESULT = 0x80004005 - E_FAIL]",
        "2016-09-28 04:30:31, Error CBS Expecting attribute name [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]",
        "2016-09-28 04:30:31, Info CBS Failed to query DisableWerReporting flag. [HRESULT = 0x80070002 - ERROR_FILE_NOT_FOUND]",
        "2016-09-28 04:30:31, Info CBS Not able to add pending.xml.bad to Windows Error Report. [HRESULT = 0x80070002 - ERROR_FILE_NOT_FOUND]",
    ]
    .iter()
    .enumerate()
    {
        let codes = crate::parse::extract_codes(t);
        scan.record(&rec(i as u64 + 1, Level::Error, t, &codes));
    }
    let d = scan.finish(BundleSummary::default());
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    assert!(d.unexplained.is_empty(), "{:?}", d.unexplained);
}

#[test]
fn unknown_failures_are_deduplicated_and_fall_back() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = Scan::new(&rules);
    scan.begin_file("CBS.log", LogKind::Cbs);
    scan.record(&rec(7, Level::Error, "2024-01-01 10:00:00, Error CBS Failed to frobnicate {11111111-2222-3333-4444-555555555555} at C:\\x\\y.dat [HRESULT = 0x80071234]", &[0x8007_1234]));
    scan.record(&rec(9, Level::Error, "2024-01-01 10:00:05, Error CBS Failed to frobnicate {99999999-2222-3333-4444-555555555555} at C:\\z.dat [HRESULT = 0x80075678]", &[0x8007_5678]));
    let d = scan.finish(BundleSummary::default());
    assert_eq!(d.unexplained.len(), 1, "{:?}", d.unexplained);
    assert_eq!(d.unexplained[0].count, 2);
    assert_eq!(d.unexplained[0].line, 7);
    assert_eq!(d.unexplained[0].code.as_deref(), Some("0x80071234"));
    let f = &d.findings[0];
    assert_eq!(f.root_cause, "unknown-servicing-failure");
    assert!(f.confidence < 0.5);
    assert_eq!(f.evidence[0].line, 7);
}

#[test]
fn healthy_log_gives_nothing() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = Scan::new(&rules);
    scan.begin_file("CBS.log", LogKind::Cbs);
    for i in 0..100 {
        scan.record(&rec(
            i,
            Level::Info,
            "2024-01-01 10:00:00, Info CBS Exec: Processing complete.  Session: 1_2, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.13 [HRESULT = 0x00000000 - S_OK]",
            &[0],
        ));
    }
    let d = scan.finish(BundleSummary::default());
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    assert!(d.unexplained.is_empty());
    assert!(d.bundle.missing.iter().any(|m| m.kind == "cbs-persist"));
}

/// A hint is left out only when a confident finding already explains its evidence; next to an
/// unrelated confident finding it stays as an alternative.
#[test]
fn hints_next_to_an_unrelated_confident_finding_stay() {
    let rules = RuleSet::builtin().unwrap();
    let mut scan = scan_with_txf_commit_failure(&rules);
    scan.begin_file("System.txt", LogKind::EventText);
    scan.record(&event(
        9,
        "Microsoft-Windows-WindowsUpdateClient",
        20,
        "System",
        "Installation Failure: Windows failed to install the following update with error 0x800f0922.",
        &[0x800f_0922],
    ));
    let d = scan.finish(BundleSummary::default());
    assert_eq!(
        d.top().map(|f| f.root_cause.as_str()),
        Some("txf-transaction-log-corrupt")
    );
    assert!(
        d.findings
            .iter()
            .any(|f| f.rule == "ai-service-disabled" && f.confidence < 0.5),
        "{:?}",
        d.findings
    );
}

#[test]
fn truncated_evtx_is_read_and_listed_as_damaged() {
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/evtx/language-pack-setup-operational.evtx");
    let bytes = std::fs::read(&sample).expect("sample present");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Setup-cut.evtx");
    std::fs::write(&path, &bytes[..bytes.len() - 1000]).expect("write");
    let bundle = crate::Bundle::open(&path, &crate::Limits::default()).expect("opens");
    let d = run(&bundle, &RuleSet::builtin().expect("builtin rules"));
    let file = &d.bundle.files[0];
    assert!(file.lines > 0, "the records before the damage are read");
    let note = d
        .bundle
        .skipped
        .iter()
        .find(|s| s.path == file.path)
        .expect("the damaged file is listed in bundle.skipped");
    assert!(
        note.reason.starts_with("evtx: damaged after ") && !note.reason.contains("after 0 "),
        "{}",
        note.reason
    );

    // The intact file has no such note.
    let bundle = crate::Bundle::open(&sample, &crate::Limits::default()).expect("opens");
    let d = run(&bundle, &RuleSet::builtin().expect("builtin rules"));
    assert!(d.bundle.skipped.is_empty(), "{:?}", d.bundle.skipped);
}
