use std::path::{Path, PathBuf};

use super::*;
use crate::bundle::{Bundle, Limits};
use crate::engine::{Scan, run_with};
use crate::report::Diagnosis;

fn json(d: &Diagnosis) -> String {
    serde_json::to_string_pretty(d).expect("serialise")
}

/// The diagnosis with the buffer search in blocks of `block` bytes, each file's text shared by
/// `threads` threads (1: the serial search).
fn searched_on(bundle: &Bundle, rules: &RuleSet, block: usize, threads: usize) -> Diagnosis {
    let mut scan = Scan::new(rules);
    let mut summary = bundle.summary();
    for (file, row) in bundle.files.iter().zip(&mut summary.files) {
        scan.begin_file(&file.path, file.kind);
        let pf = super::super::prefilter(rules, file);
        let parsed = match pf {
            Some(pf) if threads > 1 => {
                split::search_split(file, pf, block, threads, &mut |i| scan.item(i))
            }
            Some(pf) => search_blocks(file, pf, block, &mut |i| scan.item(i)),
            None => file.parse(&mut |r| scan.record(&r)),
        }
        .expect("readable");
        if row.lines == 0 {
            row.lines = parsed.read;
        }
    }
    scan.finish(summary)
}

fn searched(bundle: &Bundle, rules: &RuleSet, block: usize) -> Diagnosis {
    searched_on(bundle, rules, block, 1)
}

/// Both paths agree on `path`, whole and in tiny blocks (every record crosses a boundary).
/// Returns how many of its files were searched.
fn assert_agree(path: &Path, rules: &RuleSet) -> usize {
    let Ok(bundle) = Bundle::open(path, &Limits::default()) else {
        return 0;
    };
    let lines = json(&run_with(&bundle, rules, false, 1, &()));
    assert_eq!(
        json(&run_with(&bundle, rules, true, 1, &())),
        lines,
        "{}",
        path.display()
    );
    for block in [7, 4096] {
        assert_eq!(
            json(&searched(&bundle, rules, block)),
            lines,
            "{} in blocks of {block}",
            path.display()
        );
        // The text cut into pieces searched on several threads, one parser replaying them.
        for threads in [2, 3] {
            assert_eq!(
                json(&searched_on(&bundle, rules, block, threads)),
                lines,
                "{} in blocks of {block} on {threads} threads",
                path.display()
            );
        }
    }
    bundle
        .files
        .iter()
        .filter(|f| super::super::prefilter(rules, f).is_some())
        .count()
}

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub(crate) fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_below(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn search_and_line_path_agree_on_every_fixture() {
    let rules = RuleSet::builtin().expect("builtin rules");
    let mut files = Vec::new();
    for dir in ["bundles", "rules", "corpus"] {
        files_below(&fixtures().join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 50, "fixtures found: {}", files.len());
    let searched: usize = files.iter().map(|f| assert_agree(f, &rules)).sum();
    assert!(searched > 20, "files searched: {searched}");
}

/// A CBS log with what makes record boundaries hard: continuation lines (indented and
/// `CSIPERF:`), wrapped lines, blank lines, text before the first record, a hit in a
/// continuation line, CRLF and LF, a bad byte, a long line, facts-only lines.
fn tricky_cbs() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"collected by tool v2\r\nerror 0x80070005 before any record\r\n\r\n");
    let healthy = "2024-02-14 10:01:02, Info                  CBS    Session: 31094117_2018832011 initialized by client WindowsUpdateAgent\r\n";
    for i in 0..40 {
        s.extend_from_slice(healthy.as_bytes());
        match i % 8 {
            0 => s.extend_from_slice(b"2024-02-14 10:01:03, Info                  CBS    Read out cached package applicability for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.13, ApplicableState: 112\r\n"),
            1 => s.extend_from_slice(b"2024-02-14 10:01:04, Info                  CBS    Appl: package Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13\n"),
            2 => s.extend_from_slice(b"2024-02-14 10:01:05, Info                  CSI    00000021 Begin executing advanced installer phase 38 index 1 (sequence 61)\r\n    Old component: [l:0]''\r\n    New component: [ml:140{70},l:138{69}]\"Microsoft-Windows-WMI-Core\"\r\n    Install mode: install\r\n    Installer ID: {81a34a10-4256-436a-89d6-794b97ca407c}\r\n    Installer name: 'WMI'\r\n\r\n"),
            3 => s.extend_from_slice(b"2024-02-14 10:01:06, Error                 CSI    00000022 (F) Failed execution of queue item Installer: WMI ({81a34a10-4256-436a-89d6-794b97ca407c}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable\r\n"),
            4 => s.extend_from_slice(b"2024-02-14 10:01:07, Info                  CSI    00000023 Performing 1 operations as follows:\r\nCSIPERF: txn commit took 5 ms [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]\r\n"),
            5 => s.extend_from_slice(b"2024-02-14 10:01:08, Info                  CBS    A message wrapped by a mail client after more than sixty characters of text, and its tail\r\nbelongs to it: Winmgmt service is disabled\r\n"),
            6 => s.extend_from_slice(b"2024-02-14 10:01:09, Info                  CBS    bad byte \xff here WER: Generating failure report for package: Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13, status: 0x800f0922, failure source: Execute, start state: Staged, target state: Installed, client id: WindowsUpdateAgent\r\n"),
            _ => {
                s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CBS    long ");
                s.extend(std::iter::repeat_n(b'x', 70_000));
                s.extend_from_slice(b" 0x800f0922 past the limit\r\n");
            }
        }
    }
    // Code notations without a code (S_OK), next to facts, codes and continuation lines.
    s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CBS    Session: 31094117_2018832011 finalized. Reboot required: no [HRESULT = 0x00000000 - S_OK]\r\n");
    s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CBS    Exec: Processing complete.  Session: 31094117_2018832011, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.11 [HRESULT = 0x00000000 - S_OK]\r\n");
    s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CBS    Appl: Package_for_KB5034765~31bf3856ad364e35~amd64~~19041.4170.1.11, status: 0x00000000\r\n");
    s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CSI    Failed in StartService for \"winmgmt\" with error code 1058\r\n");
    s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CBS    Operation result = 0x0, hr=0\r\n    continued: result = 0x800F0922\r\n");
    s.extend_from_slice(b"2024-02-14 10:01:10, Info                  CBS    hr:0x80070005 in lower case and HRESULT = 0x00000000\n");
    s.extend_from_slice(b"2024-02-14 10:01:11, Info                  CBS    last line without a newline [HRESULT = 0x80071ab1]");
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn search_and_line_path_agree_on_hard_record_boundaries() {
    let rules = RuleSet::builtin().expect("builtin rules");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = tricky_cbs();
    assert_eq!(
        assert_agree(&write(dir.path(), "CBS.log", &text), &rules),
        1
    );
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(&text);
    assert_eq!(assert_agree(&write(dir.path(), "bom.log", &bom), &rules), 1);
    // UTF-16LE with BOM and GBK are decoded in blocks.
    let lossy = String::from_utf8_lossy(&text).into_owned();
    let mut utf16 = vec![0xFF, 0xFE];
    for u in lossy.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    assert_eq!(
        assert_agree(&write(dir.path(), "utf16.log", &utf16), &rules),
        1
    );
    let gbk = encoding_rs::GBK
        .encode(&format!(
            "{lossy}\r\n2024-02-14 10:01:12, Error CBS 错误 0x800f0922 服务已禁用\r\n"
        ))
        .0
        .into_owned();
    assert_eq!(assert_agree(&write(dir.path(), "gbk.log", &gbk), &rules), 1);
    // setupapi logs: every line a record of its own, with no joins.
    let setupapi = ">>>  [Device Install (Hardware initiated) - SWD\\WPDBUSENUM\\{5a0c}]\r\n\
                    >>>  Section start 2024/02/14 10:01:02.123\r\n\
                    \x20    ump: Creating Install Process: DrvInst.exe 10:01:02.125\r\n\
                    !!!  dvi: Device not started: Device has problem: 0x1c (CM_PROB_FAILED_INSTALL), problem status: 0xc0000490.\r\n\
                    !!!  dvi: Install failed with error 0x800f0247 because the driver store is corrupt\r\n\
                    <<<  Section end 2024/02/14 10:01:03.456\r\n\
                    <<<  [Exit status: FAILURE(0xe0000219)]\r\n";
    assert_eq!(
        assert_agree(
            &write(dir.path(), "setupapi.dev.log", setupapi.as_bytes()),
            &rules
        ),
        1
    );
}

#[test]
fn a_pattern_without_a_required_literal_reads_its_kind_line_by_line() {
    let rule = r#"
id = "no-literal"
root_cause = "unknown-servicing-failure"
title = "t"
title_zh = "t"
confidence = 0.9
fixtures = []

[[signal]]
name = "shape"
kinds = ["cbs"]
pattern = '''[A-Z]{3}\d{4}[a-z]{2}'''
decisive = true

[[step]]
text = "x"
text_zh = "x"
"#;
    let files = vec![("no-literal.toml".to_string(), rule.to_string())];
    let rules = RuleSet::from_files(&files).expect("compiles");
    assert!(Prefilter::build(&rules, LogKind::Cbs).is_none());
    let dir = tempfile::tempdir().expect("tempdir");
    let log = "2024-02-14 10:01:02, Info CBS Session initialized\r\n\
               2024-02-14 10:01:03, Info CBS component ABC1234xy loaded\r\n";
    let p = write(dir.path(), "CBS.log", log.as_bytes());
    let d = crate::diagnose_path(&p, &rules, &Limits::default()).expect("diagnose");
    assert_eq!(
        d.findings.first().map(|f| f.rule.as_str()),
        Some("no-literal")
    );
    assert_eq!(d.findings[0].evidence[0].line, 2);
    // With a literal the kind is searched, and the same line is found.
    let with_literal = rule.replace(r"[A-Z]{3}\d{4}[a-z]{2}", r"component\s+[A-Z]{3}\d{4}");
    let rules =
        RuleSet::from_files(&[("no-literal.toml".to_string(), with_literal)]).expect("compiles");
    assert!(Prefilter::build(&rules, LogKind::Cbs).is_some());
    let d = crate::diagnose_path(&p, &rules, &Limits::default()).expect("diagnose");
    assert_eq!(d.findings[0].evidence[0].line, 2);
}

/// A record longer than `MAX_HELD` without a hit is parsed as it goes, in pieces too; text
/// before the first record is read line by line.
#[test]
fn split_search_agrees_on_a_record_longer_than_max_held() {
    let rules = RuleSet::builtin().expect("builtin rules");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = Vec::new();
    text.extend_from_slice(b"collected by tool v2\r\nerror 0x80070005 before any record\r\n");
    text.extend_from_slice(
        b"2024-02-14 10:01:02, Info                  CBS    Starting a long record\r\n",
    );
    let filler = "    continuation line of a very long record, nothing to see here at all\r\n";
    while text.len() < MAX_HELD + (2 << 20) {
        text.extend_from_slice(filler.as_bytes());
    }
    text.extend_from_slice(&tricky_cbs());
    let p = write(dir.path(), "CBS.log", &text);
    let bundle = Bundle::open(&p, &Limits::default()).expect("open");
    let serial = json(&searched(&bundle, &rules, 1 << 20));
    assert!(serial.contains("0x80071ab1"), "{serial}");
    for threads in [2, 3] {
        assert_eq!(
            json(&searched_on(&bundle, &rules, 1 << 20, threads)),
            serial,
            "{threads} threads"
        );
    }
}
