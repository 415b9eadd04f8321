use super::*;
use crate::parse::{Fact, parse_str};

fn kinds(text: &str) -> Vec<(u64, Option<LogKind>, Vec<u32>)> {
    parse_str(LogKind::Fragment, text)
        .into_iter()
        .map(|r| (r.line, r.kind, r.codes))
        .collect()
}

#[test]
fn markup_is_stripped_and_elisions_break() {
    assert_eq!(
        normalise("> 2024-01-01 00:00:00, Info CBS x"),
        Norm::Text(Cow::Borrowed("2024-01-01 00:00:00, Info CBS x"))
    );
    assert_eq!(normalise("```"), Norm::Drop);
    assert_eq!(normalise("```text"), Norm::Drop);
    assert_eq!(normalise("..."), Norm::Break);
    assert_eq!(normalise("  [...]"), Norm::Break);
    assert_eq!(normalise("…"), Norm::Break);
    let Norm::Text(t) = normalise("12: Info&nbsp;CBS &quot;x&quot; &lt;y&gt; \u{201c}z\u{201d}")
    else {
        panic!("text expected");
    };
    assert_eq!(t, "Info CBS \"x\" <y> \"z\"");
    // setupapi's own markers are not quotes.
    let Norm::Text(t) = normalise(">>>  [Device Install (Hardware initiated)]") else {
        panic!("text expected");
    };
    assert!(t.starts_with(">>>  ["));
    // Markdown escapes from a page's source; Windows paths keep their backslashes.
    let Norm::Text(t) = normalise(">\\>>> Section start *\\<DateTime>*") else {
        panic!("text expected");
    };
    assert_eq!(t, ">>> Section start *<DateTime>*");
    let Norm::Text(t) = normalise("Copying C:\\_SMSTaskSequence\\x to C:\\$Windows.~BT") else {
        panic!("text expected");
    };
    assert_eq!(t, "Copying C:\\_SMSTaskSequence\\x to C:\\$Windows.~BT");
}

#[test]
fn lines_without_timestamps_are_read_by_their_grammar() {
    let text = "Info CBS Failed to resolve package 'Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.1.1.1' [HRESULT = 0x800f0831 - CBS_E_STORE_CORRUPTION]\n\
Error DISM DISM Package Manager: PID=1 TID=2 Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f081f)\n\
2022/05/21 18:46:43.8925713 8976  5116  Handler         FATAL: CBS called Error with 0x800f0831,\n\
I tried sfc and it did not help, error 0x80070005\n";
    let got = kinds(text);
    assert_eq!(got[0], (1, Some(LogKind::Cbs), vec![0x800f0831]));
    assert_eq!(got[1].1, Some(LogKind::Dism));
    assert_eq!(got[2].1, Some(LogKind::Windowsupdate));
    assert_eq!(got[3].1, Some(LogKind::Text), "prose stays text");
}

#[test]
fn wrapped_lines_are_joined_and_keep_their_first_line_number() {
    let text = "```\n2024-02-14 10:01:02, Info                  CBS    Exec: Failed to commit CBS\ntransaction. [HRESULT = 0x80071a91 - ERROR_RM_NOT_ACTIVE]\n```\n";
    let recs = parse_str(LogKind::Fragment, text);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].line, 2);
    assert!(recs[0].text.contains("Failed to commit CBS transaction."));
    assert_eq!(recs[0].codes, vec![0x80071a91]);
}

#[test]
fn continuation_lines_stay_with_their_record() {
    let text = "Info CSI 0000004a Begin executing advanced installer phase 38 index 11 (sequence 51)\n    Installer name: 'WMI'\nCSIPERF:AIDONE;{1};WMI;1us\n";
    let recs = parse_str(LogKind::Fragment, text);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(recs[0].text.contains("Installer name: 'WMI'"));
}

#[test]
fn localised_event_copies_become_events() {
    // Event Viewer "Copy details as text" layout, German labels; values written for this test.
    let text = "Protokollname: System\nQuelle:        Microsoft-Windows-WindowsUpdateClient\nDatum:         14.02.2024 10:01:02\nEreignis-ID:   20\nEbene:         Fehler\nBeschreibung:\nInstallationsfehler: Windows konnte das folgende Update mit Fehler 0x800F0922 nicht installieren: 2024-02 Kumulatives Update (KB5034763).\n";
    let recs = parse_str(LogKind::Fragment, text);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[0].codes, vec![0x800f0922]);
    match &recs[0].fact {
        Some(Fact::Event { provider, id, .. }) => {
            assert_eq!(provider, "Microsoft-Windows-WindowsUpdateClient");
            assert_eq!(*id, 20);
        }
        other => panic!("not an event: {other:?}"),
    }
}

#[test]
fn configmgr_messages_copied_from_a_log_viewer_are_windows_update_records() {
    // The message column alone, as a log viewer copies it; lines written for this test.
    let text = "we restarted the SUP and it still fails with 0x80244019\n\
OnSearchComplete - Failed to end search job. Error = 0x80244019.\n\
Failed to download updates to the WUAgent datastore. Error = 0x800b0004.\n\
Error: 0x800b0101 when verifying trust for C:\\Windows\\SoftwareDistribution\\Download\\a1b2.cab\n";
    let got = kinds(text);
    assert_eq!(got[0].1, Some(LogKind::Text), "prose stays text");
    assert_eq!(got[1], (2, Some(LogKind::Windowsupdate), vec![0x80244019]));
    assert_eq!(got[2], (3, Some(LogKind::Windowsupdate), vec![0x800b0004]));
    assert_eq!(got[3], (4, Some(LogKind::Windowsupdate), vec![0x800b0101]));
}

#[test]
fn configmgr_layouts_carry_time_component_and_severity() {
    let text = "<![LOG[Scan failed with error = 0x80244019.]LOG]!><time=\"8:30:07.665-060\" date=\"11-06-2025\" component=\"WUAHandler\" context=\"\" type=\"3\" thread=\"3344\" file=\"cwuahandler.cpp:4196\">\n\
<![LOG[Update (Missing): 2025-11 Cumulative Update (KB5068781)]LOG]!><time=\"08:30:07.670-060\" date=\"11-06-2025\" component=\"WUAHandler\" context=\"\" type=\"2\" thread=\"3344\" file=\"cwuahandler.cpp:1181\">\n\
Existing WUA Managed server was already set (http://sup01:8530).  $$<WUAHandler><11-4-2025 09:14:02.433-060><thread=4112 (0x1010)>\n";
    let recs = parse_str(LogKind::Windowsupdate, text);
    assert_eq!(recs.len(), 3, "{recs:?}");
    // A time without its leading zero is not a time the record can carry.
    assert_eq!(recs[0].time, None);
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[1].time.as_deref(), Some("2025-11-06 08:30:07"));
    assert_eq!(recs[1].component.as_deref(), Some("WUAHandler"));
    assert_eq!(recs[1].level, Level::Warning);
    assert_eq!(recs[2].time.as_deref(), Some("2025-11-04 09:14:02"));
    assert_eq!(recs[2].component.as_deref(), Some("WUAHandler"));
    assert_eq!(recs[2].level, Level::Info);
}

#[test]
fn a_code_cut_onto_a_line_of_its_own_joins_the_line_above() {
    // Lines written for this test, wrapped at 80 columns the way a mail client does.
    let text = "Authentication of file C:\\Temp\\CAB1F2.tmp failed because of an untrusted root, error\n0x800b0109\nnext line 0x80070005 failed\n12345678 is a ticket number\n";
    let recs = parse_str(LogKind::Text, text);
    assert_eq!(recs.len(), 3, "{recs:?}");
    assert_eq!(recs[0].line, 1);
    assert_eq!(recs[0].codes, vec![0x800b0109]);
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[1].codes, vec![0x80070005]);
    assert_eq!(recs[2].text, "12345678 is a ticket number");
}

#[test]
fn polish_dutch_and_italian_labels_read_as_events_whatever_their_case() {
    // Values written for this test; the labels are those of the localised Event Viewers, the
    // Dutch one with the capitalised `ID` that copies of it carry.
    for text in [
        "Nazwa dziennika: System\nŹródło: Microsoft-Windows-WindowsUpdateClient\nIdentyfikator zdarzenia: 20\nPoziom: Błąd\nOpis:\nNie można zainstalować aktualizacji, błąd 0x800F0922: KB5034763\n",
        "Logboeknaam: System\nBron: Microsoft-Windows-WindowsUpdateClient\nGebeurtenis-ID: 20\nNiveau: Fout\nBeschrijving:\nInstallatie van update mislukt met fout 0x800F0922: KB5034763\n",
        "Nome registro: System\nOrigine: Microsoft-Windows-WindowsUpdateClient\nID evento: 20\nLivello: Errore\nDescrizione:\nInstallazione non riuscita con errore 0x800F0922: KB5034763\n",
    ] {
        let recs = parse_str(LogKind::Fragment, text);
        assert_eq!(recs.len(), 1, "{text}: {recs:?}");
        assert_eq!(recs[0].level, Level::Error, "{text}");
        assert_eq!(recs[0].codes, vec![0x800f0922], "{text}");
        assert!(
            matches!(&recs[0].fact, Some(Fact::Event { id: 20, provider, .. }) if provider == "Microsoft-Windows-WindowsUpdateClient"),
            "{text}: {:?}",
            recs[0].fact
        );
    }
}

#[test]
fn a_lone_event_message_is_its_event() {
    let recs = parse_str(
        LogKind::Fragment,
        "安装失败: Windows 无法安装以下更新，错误为 0x800F0922: 2024-02 累积更新 (KB5034763)。\n",
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].kind, Some(LogKind::EventText));
    assert!(matches!(&recs[0].fact, Some(Fact::Event { id: 20, .. })));
}

#[test]
fn chat_text_with_log_lines_is_told_from_chat_text_without() {
    assert!(looks_like_log(
        "here is my log:\n```\nInfo CBS Exec: Failed to commit CBS transaction. [HRESULT = 0x80071a91]\n```"
    ));
    assert!(looks_like_log(
        "> 2024-02-14 10:01:02, Error CSI 0000004b (F) Failed execution of queue item"
    ));
    assert!(!looks_like_log("device WCC0021Z673965 fixed"));
    assert!(!looks_like_log("Source: my colleague said so"));
    assert!(!looks_like_log(
        "open KB5034763 fails with 0x800f0922 on 3 devices"
    ));
}

#[test]
fn placeholder_and_cut_timestamps_start_records() {
    // Support articles replace the time with `<DateTime>`; pages cut it to minutes and seconds.
    let text = " <DateTime>, Error      [0x01803e] CSI    00000e64 (F) Failed execution of queue\n\
item Installer: Example Installer ({a}) with HRESULT\n\
HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be\n\
initiated after all the operations in the installer queue are completed;\n\
14:09, Error           SP     Error READ, 0x00000570 while gathering/applying object: File, C:\\x [x]. Will return 0\n\
<date> <time>, Error        DISM   API: PID=1 TID=2 InternalExecute failed - CBaseCommandObject::Execute(hr:0x80070005)\n\
YYYY-MM-DD HH:MM:SS, Info CBS Failed to check capability logic [HRESULT = 0x800f0818 - CBS_E_IDENTITY_MISMATCH]\n";
    let records = parse_str(LogKind::Fragment, text);
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(records[0].line, 1);
    assert_eq!(records[0].level, Level::Error);
    assert!(records[0].codes.contains(&0x8007_0422), "{:?}", records[0]);
    assert_eq!(records[1].line, 5);
    assert_eq!(records[1].level, Level::Error);
    assert_eq!(records[1].codes, vec![0x8007_0570]);
    assert_eq!(records[2].kind, Some(LogKind::Dism));
    assert_eq!(records[2].level, Level::Error);
    assert_eq!(records[3].line, 7);
    assert_eq!(records[3].codes, vec![0x800f_0818]);
}

#[test]
fn a_pasted_dism_console_run_is_a_dism_record_with_its_result_code() {
    let text = "```\n> dism /Online /Cleanup-Image /RestoreHealth\n\nDeployment Image Servicing and Management tool\nVersion: 10.0.26100.1150\n\n[=====60.2%==        ]\nError: 3017\n\nThe requested operation failed.\n```\n";
    let got = kinds(text);
    let result = got
        .iter()
        .find(|r| r.0 == 8)
        .expect("the result line is a record");
    assert_eq!(result.1, Some(LogKind::Dism));
    assert_eq!(
        result.2,
        vec![0x80070bc9],
        "3017 is ERROR_FAIL_REBOOT_REQUIRED"
    );
    // Localised result lines, hex or decimal.
    for (line, code) in [
        ("Fehler: 0x800f0915", 0x800f0915),
        ("错误: 87", 0x80070057),
        ("エラー: 0x800f081f", 0x800f081f),
    ] {
        let got = kinds(line);
        assert_eq!(got[0].1, Some(LogKind::Dism), "{line}");
        assert_eq!(got[0].2, vec![code], "{line}");
    }
    // A sentence about an error is prose, and so is a number that is no Win32 error.
    assert_eq!(
        kinds("Error: the update did not install")[0].1,
        Some(LogKind::Text)
    );
    assert_eq!(kinds("Error: 1234567")[0].1, Some(LogKind::Text));
}

#[test]
fn short_field_lines_at_the_start_are_not_taken_for_wrapped_ones() {
    // `Aufgabenkategorie:` is longer than the lines above it, which once made the id line look
    // wrapped before it and lose its number.
    let text = "Event[0]:\n  Quelle: Service Control Manager\n  Ereignis-ID: 7000\n  Aufgabenkategorie: Keine\n  Ebene: Fehler\n  Beschreibung:\nDer Dienst \"Windows Update\" wurde aufgrund folgenden Fehlers nicht gestartet: \nDer angegebene Dienst kann nicht gestartet werden. Er ist deaktiviert oder nicht mit aktivierten Ger\u{e4}ten verbunden.\n";
    let recs = parse_str(LogKind::Fragment, text);
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert!(
        recs[0].text.starts_with("Service Control Manager 7000:"),
        "{}",
        recs[0].text
    );
    assert_eq!(
        recs[0].codes,
        vec![0x80070422],
        "the German 1058 text is the code"
    );
}

#[test]
fn the_windows_update_page_s_failure_lines_are_windows_update_errors() {
    let text = "2024-01 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5034204)\nInstall error - 0x800f0922\nSecurity Update for Windows (KB5034441) - Error 0x80070643\nThere were some problems installing updates, but we'll try again later. If you keep seeing this and want to search the web or contact support for information, this may help: (0x800f081f)\n";
    let recs = parse_str(LogKind::Fragment, text);
    let failures: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == Some(LogKind::Windowsupdate) && r.level == Level::Error)
        .map(|r| (r.line, r.codes.clone()))
        .collect();
    assert_eq!(
        failures,
        vec![
            (2, vec![0x800f0922]),
            (3, vec![0x80070643]),
            (4, vec![0x800f081f])
        ],
        "{recs:#?}"
    );
    // Prose about an error is not the page's text.
    let prose = parse_str(
        LogKind::Fragment,
        "I got an install error - 0x800f0922 again\n",
    );
    assert!(
        prose.iter().all(|r| r.kind == Some(LogKind::Text)),
        "{prose:#?}"
    );
}

#[test]
fn setupapi_body_lines_are_setupapi_whatever_their_marker() {
    // Lines written for this test in setupapi.dev.log's layout.
    for line in [
        "!    sig:           Verifying file against specific catalog failed! (0x800b0109)",
        "!!!  dvi:           Device not started: Device has problem: 0x1c (CM_PROB_FAILED_INSTALL).",
        "     sto:           {Setup Import Driver Package: C:\\x.inf}",
        "! sig: Verifying file against specific catalog failed! (0x800b0109)",
        "!\tsig:\tVerifying file against specific catalog failed! (0x800b0109)",
        "\tsto:\t{Setup Import Driver Package: C:\\x.inf}",
    ] {
        assert_eq!(classify(line), Grammar::Setupapi, "{line}");
    }
    for line in [
        "! not a tag here",
        "!!! wow: great",
        "Note: 0x80070005 failed",
    ] {
        assert_ne!(classify(line), Grammar::Setupapi, "{line}");
    }
}

#[test]
fn numbered_quotes_and_quoted_numbers_are_both_stripped() {
    // Written for this test: a numbered copy of a quoted paste, and a quote of a numbered copy.
    let line = "2024-02-14 10:01:02, Error                 CBS    Failed to resolve package [HRESULT = 0x800f0831 - CBS_E_STORE_CORRUPTION]";
    for text in [format!("  12: > {line}\n"), format!("> 12: {line}\n")] {
        let recs = parse_str(LogKind::Fragment, &text);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].kind, Some(LogKind::Cbs), "{text}");
        assert_eq!(recs[0].codes, vec![0x800f0831]);
    }
}

#[test]
fn a_code_cut_after_its_equals_sign_joins_the_line_above() {
    // Written for this test: PowerShell wraps its error record at the console width.
    let text = "Add-WindowsCapability : Add-WindowsCapability failed. Error code\n= 0x800f0954\n";
    let recs = parse_str(LogKind::Fragment, text);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].codes, vec![0x800f0954]);
    assert_eq!(recs[0].level, Level::Error);
    let recs = parse_str(LogKind::Text, text);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].codes, vec![0x800f0954]);
}

#[test]
fn a_line_cut_after_its_level_column_keeps_its_failure_level() {
    // Written for this test: a DISM.log line pasted from its component column on.
    let recs = parse_str(
        LogKind::Fragment,
        "DISM   DISM Package Manager: PID=1234 TID=5678 Failed to add package (hr:0x800706be)\nCBS    Exec: Processing started.\n",
    );
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0].kind, Some(LogKind::Dism));
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[1].level, Level::Info);
}

#[test]
fn windows_update_lines_without_their_time_stay_apart() {
    // Written for this test in Get-WindowsUpdateLog's layout, the timestamps cut off.
    let text = "21136   9740  Agent           LogHistory called.   idUpdate={E0F87EBF-B414-4AC7-A225-8FE802CF8618}.1, resultMapped=80070643\n\
17784 19152   ComApi          Reboot required = False |\n\
17784 19152   ComApi          Exit code = 0x00000000;   Call error code = 0x80240022 |\n";
    let recs = parse_str(LogKind::Fragment, text);
    assert_eq!(recs.len(), 3, "{recs:?}");
    assert_eq!(recs[0].codes, vec![0x80070643]);
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[1].level, Level::Info);
    assert_eq!(recs[2].codes, vec![0x80240022]);
}

#[test]
fn an_install_that_completes_with_a_failing_result_is_an_error() {
    // Written for this test in the Windows Update handler's wording, its columns cut off.
    let text = "Handler         Install complete for update ID: {E0F87EBF-B414-4AC7-A225-8FE802CF8618}.200, result: 0x80070643\n\
Handler         Install complete for update ID: {11111111-B414-4AC7-A225-8FE802CF8618}.1, result: 0x00000000\n";
    let recs = parse_str(LogKind::Text, text);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0].level, Level::Error);
    assert_eq!(recs[1].level, Level::Info);
}
