//! CBS/DISM/WU parser tests. Excerpts follow the shapes quoted in docs/windows-servicing.md §A.1–A.4
//! (Microsoft support articles, loghub Windows_2k.log, the WinMedic capture), re-typed here.

use super::*;
use crate::parse::{LogKind, parse_str};

const ROLLBACK: &str = "\
2026-10-08 20:50:05, Info                  CBS    Startup: Processing advanced operation queue, startupPhase: 0
2026-10-08 20:55:01, Info                  CSI    00000049 Begin executing advanced installer phase 39 index 11 (sequence 51)
    Old component: [l:0]''
    New component: [l:120 ml:121]'Microsoft-Windows-WMI-Core, Culture=neutral, Version=10.0.19041.4046, PublicKeyToken=31bf3856ad364e35, ProcessorArchitecture=amd64, versionScope=NonSxS'
    Install mode: install
    Smart installer: false
    Installer ID: {9edf0f01-1234-4321-aaaa-bbbbccccdddd}
    Installer name: 'WMI'
CSIPERF:AIDONE;{9edf0f01-1234-4321-aaaa-bbbbccccdddd};Microsoft-Windows-WMI-Core;4123us
2026-10-08 20:55:05, Error      [0x01806a] CSI    0000004b (F) Failed execution of queue item Installer: WMI ({9edf0f01-1234-4321-aaaa-bbbbccccdddd}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005]
2026-10-08 20:55:05, Info                  CSI    0000004c End executing advanced installer (sequence 51)
    Completion status: HRESULT_FROM_WIN32(ERROR_ADVANCED_INSTALLER_FAILED)
2026-10-08 20:55:06, Info                  CSI    0000004d Finished running all AIs.
2026-10-08 20:55:06, Info                  CSI    0000004e ==Error Summary Start==
2026-10-08 20:55:06, Info                  CSI    0000004f (F) Installer: WMI\tBinary Name: mofinstaller.dll\tErrorCode: 80070422\tPhase: 39\tMode: Delta\tComponent: NONE
2026-10-08 20:55:07, Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]
2026-10-08 20:55:08, Info                  CBS    WER: Generating failure report for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14, status: 0x800f0922, failure source: Execute, start state: Staged, target state: Installed, client id: WindowsUpdateAgent
2026-10-08 20:55:09, Info                  CBS    Startup: Processing complete. [HRESULT = 0x80070bc2 - ERROR_SUCCESS_REBOOT_REQUIRED]
";

fn facts(recs: &[Record]) -> Vec<Fact> {
    recs.iter().filter_map(|r| r.fact.clone()).collect()
}

#[test]
fn prefix_fields_and_continuations() {
    let recs = parse_str(LogKind::Cbs, ROLLBACK);
    assert_eq!(recs.len(), 10);
    let begin = &recs[1];
    assert_eq!(begin.line, 2);
    assert_eq!(begin.time.as_deref(), Some("2026-10-08 20:55:01"));
    assert_eq!(begin.component.as_deref(), Some("CSI"));
    assert_eq!(begin.level, Level::Info);
    assert!(
        begin
            .text
            .contains("\n    Installer name: 'WMI'\nCSIPERF:AIDONE;")
    );
    let failed = &recs[2];
    assert_eq!(failed.line, 10);
    assert_eq!(failed.level, Level::Error);
    assert_eq!(
        failed.component.as_deref(),
        Some("CSI"),
        "error tag is skipped"
    );
    assert_eq!(failed.codes, vec![0x80070422, 0x80004005]);
}

#[test]
fn founding_rollback_facts() {
    let recs = parse_str(LogKind::Cbs, ROLLBACK);
    let f = facts(&recs);
    let guid = Some("9edf0f01-1234-4321-aaaa-bbbbccccdddd".to_string());
    assert_eq!(
        f[0],
        Fact::InstallerFailed {
            installer: "WMI".into(),
            guid: guid.clone(),
            hresult: 0x80070422,
            ignored: false
        }
    );
    assert_eq!(
        f[1],
        Fact::InstallerFailed {
            installer: "WMI".into(),
            guid,
            hresult: 0x80073713,
            ignored: false
        },
        "End block with a failing completion status"
    );
    assert_eq!(
        f[2],
        Fact::InstallerFailed {
            installer: "WMI".into(),
            guid: None,
            hresult: 0x80070422,
            ignored: false
        },
        "error summary line"
    );
    assert_eq!(
        f[3],
        Fact::Wer {
            package: "Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14".into(),
            status: 0x800f0922,
            source: "Execute".into()
        }
    );
    let queue = recs
        .iter()
        .find(|r| r.text.contains("Failed to process"))
        .map(|r| r.codes.clone());
    assert_eq!(queue, Some(vec![0x800f0922]));
}

#[test]
fn rollback_run_success_is_marked_uninstall() {
    let log = "\
2026-10-08 21:01:00, Info CBS Startup: Processing advanced operation queue, startupPhase: 0
2026-10-08 21:01:01, Info CSI 00000010 Performing 1 operations; operation flags Uninstall
2026-10-08 21:01:02, Info CSI 00000011 Begin executing advanced installer phase 39 index 11 (sequence 51)
    Installer ID: {9edf0f01-1234-4321-aaaa-bbbbccccdddd}
    Installer name: 'Container Installer'
2026-10-08 21:01:03, Info CSI 00000012 End executing advanced installer (sequence 51)
    Completion status: S_OK 
2026-10-08 21:01:04, Info CBS Startup: Processing complete. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]
";
    let f = facts(&parse_str(LogKind::Cbs, log));
    assert_eq!(
        f,
        vec![Fact::InstallerDone {
            installer: "Container Installer".into(),
            guid: Some("9edf0f01-1234-4321-aaaa-bbbbccccdddd".into()),
            uninstall: true
        }]
    );
}

/// The shape of a real Win11 rollback capture: the direction is logged after the Begin block
/// (`Container AI invoked with operation flags Uninstall`), and the removal shows as
/// `New component: (null)`.
#[test]
fn rollback_direction_logged_after_begin() {
    let log = "\
2026-10-08 20:50:05, Info CSI 00000038 Begin executing advanced installer phase 39 index 11 (sequence 51)
    Old component: (null)
    New component: Microsoft-Windows-Containers-DisposableClientVM, version 10.0.26100.9549, arch amd64
    Installer ID: {9edf0f01-1234-4321-aaaa-bbbbccccdddd}
    Installer name: 'Container Installer'
2026-10-08 20:50:05, Info CSI 0000003c Container AI invoked with operation flags Install
2026-10-08 20:50:05, Info CSI 0000003e End executing advanced installer (sequence 51)
    Completion status: S_OK 
2026-10-08 20:55:37, Info CBS Startup: Processing advanced operation queue, startupPhase: 0
2026-10-08 20:55:38, Info CSI 00000033 Begin executing advanced installer phase 39 index 11 (sequence 51)
    Old component: Microsoft-Windows-Containers-DisposableClientVM, version 10.0.26100.9549, arch amd64
    New component: (null)
    Installer ID: {9edf0f01-1234-4321-aaaa-bbbbccccdddd}
    Installer name: 'Container Installer'
2026-10-08 20:55:38, Info CSI 00000037 Container AI invoked with operation flags Uninstall
2026-10-08 20:55:38, Info CSI 00000039 End executing advanced installer (sequence 51)
    Completion status: S_OK 
2026-10-08 20:55:38, Info CSI 0000003f Begin executing advanced installer phase 39 index 0 (sequence 0)
    Old component: (null)
    New component: (null)
    Installer name: 'Container Installer'
2026-10-08 20:55:38, Info CSI 00000041 End executing advanced installer (sequence 0)
    Completion status: S_OK 
";
    let done: Vec<bool> = facts(&parse_str(LogKind::Cbs, log))
        .into_iter()
        .filter_map(|f| match f {
            Fact::InstallerDone { uninstall, .. } => Some(uninstall),
            _ => None,
        })
        .collect();
    assert_eq!(done, vec![false, true, true]);
}

#[test]
fn forward_run_success_is_not_uninstall() {
    let log = "\
2016-09-28 04:30:31, Info CSI 00000011 Begin executing advanced installer phase 38 index 2 (sequence 5)
    Install mode: install
    Installer name: [12]\"Root Devices\"
2016-09-28 04:30:32, Info CSI 00000012 End executing advanced installer (sequence 5)
    Completion status: S_OK
";
    let f = facts(&parse_str(LogKind::Cbs, log));
    assert_eq!(
        f,
        vec![Fact::InstallerDone {
            installer: "Root Devices".into(),
            guid: None,
            uninstall: false
        }]
    );
}

#[test]
fn ignored_failure_and_1753() {
    let line = "2026-10-08 20:55:05, Error [0x01806a] CSI 0000004b (F) Failed execution of queue item Installer: Container Installer ({9edf0f01-1234-4321-aaaa-bbbbccccdddd}) with HRESULT HRESULT_FROM_WIN32(1753).  Failure will be ignored.";
    let f = facts(&parse_str(LogKind::Cbs, line));
    assert!(matches!(
        &f[0],
        Fact::InstallerFailed { installer, hresult: 0x800706d9, ignored: true, .. } if installer == "Container Installer"
    ));
}

#[test]
fn http_installer_ms_article_shape() {
    // MS-SA failed-changed-absent-state-status-0x800f0922-error.md (GUID placeholder kept).
    let line = "2023-06-14 10:00:00, Error      [0x01803e] CSI    00000e64 (F) Failed execution of queue item Installer: HTTP Installer ({<Installer ID>}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated";
    let f = facts(&parse_str(LogKind::Cbs, line));
    assert_eq!(
        f,
        vec![Fact::InstallerFailed {
            installer: "HTTP Installer".into(),
            guid: None,
            hresult: 0x80070422,
            ignored: false
        }]
    );
}

#[test]
fn txf_commit_failure() {
    let log = "2024-02-14 10:01:02, Error CBS Exec: Failed to commit CBS transaction. [HRESULT = 0x80071a91 - ERROR_RM_NOT_ACTIVE]\n";
    let recs = parse_str(LogKind::Cbs, log);
    assert_eq!(recs[0].codes, vec![0x80071a91]);
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[0].component.as_deref(), Some("CBS"));
}

#[test]
fn loghub_win7_lines() {
    let log = "\
2016-09-28 04:30:31, Info                  CBS    Session: 30546173_4261722401 initialized by client WindowsUpdateAgent.
2016-09-28 04:30:31, Info                  CSI    00000004 IAdvancedInstallerAwareStore_ResolvePendingTransactions (call 1) (flags = 00000004, progress = NULL, phase = 0, pdwDisposition = @0x2e6f9d0
2016-09-28 04:30:31, Info                  CBS    Exec: Processing complete.  Session: 30546173_4261722401, Package: Package_for_KB3177467~31bf3856ad364e35~amd64~~6.1.2.0 [HRESULT = 0x00000000 - S_OK]
";
    let recs = parse_str(LogKind::Cbs, log);
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| r.codes.is_empty()), "{recs:?}");
    assert_eq!(
        recs[2].fact,
        Some(Fact::Update {
            kb: "KB3177467".into(),
            ok: None
        })
    );
}

#[test]
fn stripped_timestamps_and_tabs() {
    let log = "Info,\tCSI    00000c61 Begin executing advanced installer phase 38 index 2480 (sequence 2519)\n    Installer name: 'Task Scheduler'\nError\tCSI    00000c63 (F) Logged @: [l:26 ml:27]'JobsHandler::Install enter'\n";
    let recs = parse_str(LogKind::Cbs, log);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].level, Level::Error);
    assert_eq!(recs[1].time, None);
}

#[test]
fn text_before_first_prefix_and_blank_lines() {
    let recs = parse_str(
        LogKind::Cbs,
        "garbage header\n\n2024-01-01 00:00:00, Info CBS hello\n\n",
    );
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].text, "garbage header");
    assert_eq!(recs[1].text, "2024-01-01 00:00:00, Info CBS hello");
}

#[test]
fn huge_continuations_are_capped() {
    let mut log = String::from("2024-01-01 00:00:00, Info CBS start\n");
    for _ in 0..20_000 {
        log.push_str("    continuation line with some text\n");
    }
    let recs = parse_str(LogKind::Cbs, &log);
    assert_eq!(recs.len(), 1);
    assert!(recs[0].text.len() < MAX_RECORD_TEXT);
}

#[test]
fn dism_log_codes() {
    let log = "\
2022-11-18 10:51:27, Info                  DISM   DISM.EXE: <----- Starting Dism.exe session ----->
2022-11-18 10:52:00, Error                 DISM   DISM Package Manager: PID=2980 TID=2948 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f0906)
2022-11-18 10:52:01, Error                 DISM   DISM Package Manager: PID=2980 TID=2948 Error in operation: (null) (CBS HRESULT=0x800f081e) - CCbsConUIHandler::Error
2022-11-18 10:52:02, Error                 DISM   DISM.EXE: DISM Package Manager processed the command line but failed. HRESULT=800F0922
";
    let recs = parse_str(LogKind::Dism, log);
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0].component.as_deref(), Some("DISM"));
    let codes: Vec<u32> = recs.iter().flat_map(|r| r.codes.clone()).collect();
    assert_eq!(codes, vec![0x800f0906, 0x800f081e, 0x800f0922]);
}

#[test]
fn windowsupdate_log() {
    let log = "2022/05/21 18:46:43.8925713 8976  5116  Shared          InitializeSus\n2022/05/21 18:46:44.1000000 8976  5116  Handler         FATAL: CBS called Error with 0x800f0831\n";
    let recs = parse_str(LogKind::Windowsupdate, log);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].time.as_deref(), Some("2022/05/21 18:46:44"));
    assert_eq!(recs[1].component.as_deref(), Some("Handler"));
    assert_eq!(recs[1].level, Level::Error);
    assert_eq!(recs[1].codes, vec![0x800f0831]);
    assert_eq!(recs[0].level, Level::Info);
}

#[test]
fn older_windowsupdate_and_reporting_events() {
    let log = "2015-06-01\t10:26:46:374\t 996\t 1a4\tAgent\t  * WARNING: Exit code = 0x8024402C\n{6E8B1E1C-8F1E-4F55-9A07-3C8B5A8A0C11}\t2019-08-21 10:22:22:398+0800\t1\t162 [AGENT_INSTALLING_FAILED]\t101\t{D5A2F2D6-0000-4000-8000-000000000001}\t200\t80070643\tAutomatic Updates\tFailure\tContent Install\tInstallation Failure: Windows failed to install the following update with error 0x80070643: Security Update (KB5034441).\n";
    let recs = parse_str(LogKind::Windowsupdate, log);
    assert_eq!(recs[0].time.as_deref(), Some("2015-06-01 10:26:46"));
    assert_eq!(recs[0].component.as_deref(), Some("Agent"));
    assert_eq!(recs[0].level, Level::Warning);
    assert_eq!(recs[0].codes, vec![0x8024402c]);
    assert_eq!(recs[1].time.as_deref(), Some("2019-08-21 10:22:22"));
    assert_eq!(recs[1].level, Level::Error);
    assert_eq!(recs[1].codes, vec![0x80070643]);
    assert_eq!(
        recs[1].fact,
        Some(Fact::Update {
            kb: "KB5034441".into(),
            ok: None
        })
    );
}

#[test]
fn build_and_kb_helpers() {
    assert_eq!(
        os_build_from_package("Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14")
            .as_deref(),
        Some("19041.4046")
    );
    assert_eq!(
        os_build_from_package("Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.14"),
        None
    );
    assert_eq!(
        kb_numbers("2024-02 Cumulative Update (KB5034763) and KB5034763, kb890830"),
        vec!["KB5034763", "KB890830"]
    );
    assert!(kb_numbers("KB12345 is too short; XKB1234567 is glued").is_empty());
}

#[test]
fn a_dism_console_run_in_a_dism_log_is_its_own_failure_record() {
    let text = "Deployment Image Servicing and Management tool\nVersion: 10.0.17763.1282\n\nError: 14081\n\nThe referenced assembly could not be found.\n2020-09-09 12:35:01, Info                  DISM   DISM Package Manager: PID=1 TID=2 Error in operation: (null) (CBS HRESULT=0x80073701) - CCbsConUIHandler::Error\nError: 14081\n";
    let recs = parse_str(LogKind::Dism, text);
    let results: Vec<_> = recs
        .iter()
        .filter(|r| r.text.starts_with("Error: 14081"))
        .collect();
    assert_eq!(results.len(), 2, "{recs:#?}");
    for r in results {
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.codes, vec![0x80073701]);
    }
    // The timestamped record keeps only its own text.
    let logged = recs
        .iter()
        .find(|r| r.time.is_some())
        .expect("logged record");
    assert!(!logged.text.contains("Error: 14081"), "{}", logged.text);
}

/// The first branch of `WU_LINE`, as `wu_prefix` reads it, for comparison with `wu_columns`.
fn wu_columns_by_pattern(text: &str) -> Option<(String, String)> {
    let c = WU_LINE.captures(text)?;
    Some((c.name("t")?.as_str().into(), c.name("c")?.as_str().into()))
}

#[test]
fn wu_columns_read_as_the_pattern_does() {
    let lines = [
        "2022/05/21 18:46:43.8925713 8976  5116  Handler         Request to cancel",
        "2022/05/21 18:46:43 8976 5116 Agent x",
        "2022/05/21 18:46:43.8925713 8976  5116  Handler",
        "2022/05/21 18:46:43.8925713 8976  5116  Handler ",
        "2022/05/21 18:46:43. 8976  5116  Handler x",
        "2022/05/21 18:46:43.89x 8976  5116  Handler x",
        "2022/05/21 18:46:43.8925713\t8976\t5116\tHandler\tx",
        "2022/05/21 18:46:43.8925713 8976 \u{0B}5116  Handler x",
        "2022/05/21 18:46:43.8925713 8976\u{a0}5116  Handler x",
        "2022/05/21 18:46:43.8925713 89\u{664}6 5116  Handler x",
        "2022/05/21 18:46:43.8925713 8976  5116  Hand\u{e9}ler x",
        "2022/05/21 18:46:43.8925713 8976  5116  Handler\u{2003}x",
        "2022/05/21 18:46:43.8925713 8976  5116  \u{1c}Handler x",
        "2022-05-21 18:46:43.8925713 8976  5116  Handler x",
        " 2022/05/21 18:46:43.8925713 8976  5116  Handler x",
        "2022/05/21 18:46:43.8925713 8976  5116",
        "2022/05/21 18:46:43.8925713 8976  51a6  Handler x",
        "2022/05/2",
        "",
    ];
    for line in lines {
        let hand = wu_columns(line.as_bytes()).map(|(t, c)| (t.to_string(), c.to_string()));
        // By hand it reads the plain ASCII lines; the pattern agrees wherever it does.
        if hand.is_some() {
            assert_eq!(hand, wu_columns_by_pattern(line), "{line:?}");
        }
    }
    assert!(wu_columns(lines[0].as_bytes()).is_some());
    assert!(wu_columns(lines[6].as_bytes()).is_some());
    assert_eq!(
        wu_prefix(lines[0]),
        (
            Some("2022/05/21 18:46:43".to_string()),
            Some("Handler".to_string())
        )
    );
}

proptest::proptest! {
    #[test]
    fn wu_columns_agree_with_the_pattern(
        line in r"2022/05/21 18:46:43(\.[0-9x]{0,3})?[ \t\u{0B}\u{a0}]{0,2}[0-9\u{664}]{0,2}[ \t]{1,2}[0-9]{1,2}[ \t\u{2003}]{1,2}[A-Za-z\u{e9}\u{1c}]{0,3}[ \t\u{2003}]?x?"
    ) {
        if let Some((t, c)) = wu_columns(line.as_bytes()) {
            proptest::prop_assert_eq!(
                Some((t.to_string(), c.to_string())),
                wu_columns_by_pattern(&line)
            );
        }
    }
}
