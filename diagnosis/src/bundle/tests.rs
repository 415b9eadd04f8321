//! Bundle opening end to end: fixtures are built in temp dirs with the zip, flate2 and cab
//! crates, so every archive shape under test is visible here.

use std::io::{Cursor, Read, Write};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use zip::write::SimpleFileOptions;

use super::*;

const CBS_CRLF: &str = "2024-02-14 10:01:02, Info                  CBS    Loaded Servicing Stack v10.0.19041.4163\r\n\
2024-02-14 10:01:03, Error                 CBS    Failed to execute advanced installer. [HRESULT = 0x80070422]\r\n";

const SC_QC: &str = "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: winmgmt\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        START_TYPE         : 4   DISABLED\r\n";

fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// A zip of `(name, bytes)` entries, deflated.
fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

fn gz_bytes(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gz");
    e.finish().expect("gz finish")
}

fn write(dir: &TempDir, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, data).expect("write fixture");
    path
}

fn open(path: &Path) -> Bundle {
    Bundle::open(path, &Limits::default()).expect("bundle opens")
}

fn texts(file: &BundleFile) -> Vec<String> {
    file.lines()
        .expect("text file")
        .map(|l| l.expect("line").text)
        .collect()
}

fn file<'b>(bundle: &'b Bundle, path: &str) -> &'b BundleFile {
    bundle
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", paths(bundle)))
}

fn paths(bundle: &Bundle) -> Vec<&str> {
    bundle.files.iter().map(|f| f.path.as_str()).collect()
}

fn skip_reason<'b>(bundle: &'b Bundle, path: &str) -> &'b str {
    bundle
        .skipped
        .iter()
        .find(|s| s.path == path)
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("{path} not skipped: {:?}", bundle.skipped))
}

#[test]
fn zip_in_zip_with_crlf_cbs_and_utf16_services() {
    let inner = zip_bytes(&[("Logs\\CBS\\CBS.log", CBS_CRLF.as_bytes())]);
    let sc = utf16le_bom(SC_QC);
    let outer = zip_bytes(&[
        ("device1/inner.zip", &inner),
        ("device1/sc_winmgmt.txt", &sc),
        ("device1/empty/", b""),
    ]);
    let dir = TempDir::new().expect("tmp");
    let path = write(&dir, "bundle.zip", &outer);
    let bundle = open(&path);
    assert_eq!(
        paths(&bundle),
        vec![
            "device1/inner.zip/Logs/CBS/CBS.log",
            "device1/sc_winmgmt.txt"
        ]
    );
    let cbs = file(&bundle, "device1/inner.zip/Logs/CBS/CBS.log");
    assert_eq!((cbs.kind, cbs.encoding), (LogKind::Cbs, TextEncoding::Utf8));
    let lines = texts(cbs);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].ends_with("[HRESULT = 0x80070422]"),
        "CR stripped: {lines:?}"
    );
    let svc = file(&bundle, "device1/sc_winmgmt.txt");
    assert_eq!(
        (svc.kind, svc.encoding),
        (LogKind::Services, TextEncoding::Utf16Le)
    );
    assert!(texts(svc).contains(&"SERVICE_NAME: winmgmt".to_string()));

    let summary = bundle.summary();
    assert_eq!(summary.name, "bundle.zip");
    assert_eq!(summary.bytes, outer.len() as u64);
    assert_eq!(summary.sha256, hex::encode(Sha256::digest(&outer)));
    assert_eq!(summary.files[0].lines, 2);
    assert_eq!(summary.files[1].lines, 5);
    assert_eq!(summary.files[1].encoding, "utf-16le");
    assert_eq!(summary.files[1].kind, "services");
}

#[test]
fn gz_at_top_and_inside_a_zip() {
    let dir = TempDir::new().expect("tmp");
    let gz = gz_bytes(CBS_CRLF.as_bytes());
    let bundle = open(&write(&dir, "CbsPersist_20240214.log.gz", &gz));
    assert_eq!(paths(&bundle), vec!["CbsPersist_20240214.log"]);
    assert_eq!(bundle.files[0].kind, LogKind::Cbs);
    assert_eq!(texts(&bundle.files[0]).len(), 2);

    let zip = zip_bytes(&[("logs/cbs.log.gz", &gz)]);
    let bundle = open(&write(&dir, "b.zip", &zip));
    assert_eq!(paths(&bundle), vec!["logs/cbs.log.gz/cbs.log"]);
}

#[test]
fn gbk_event_text_in_a_directory_and_renamed_cbs() {
    let dir = TempDir::new().expect("tmp");
    let (gbk, _, _) = encoding_rs::GBK.encode(
        "事件[0]:\r\n  日志名称: System\r\n  来源: Service Control Manager\r\n  事件 ID: 7022\r\n",
    );
    write(&dir, "dev/System.txt", &gbk);
    write(&dir, "dev/log.txt", CBS_CRLF.as_bytes());
    let bundle = open(dir.path());
    assert_eq!(paths(&bundle), vec!["dev/System.txt", "dev/log.txt"]);
    let events = file(&bundle, "dev/System.txt");
    assert_eq!(
        (events.kind, events.encoding),
        (LogKind::EventText, TextEncoding::Gbk)
    );
    assert_eq!(texts(events)[1], "  日志名称: System");
    assert_eq!(file(&bundle, "dev/log.txt").kind, LogKind::Cbs);
    // The directory hash is stable and depends on names and contents.
    assert_eq!(open(dir.path()).sha256(), bundle.sha256());
    write(&dir, "dev/log.txt", b"changed\n");
    assert_ne!(open(dir.path()).sha256(), bundle.sha256());
}

#[test]
fn one_line_event_xml_export_keeps_every_event() {
    let event = |i: u32| {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
             <Provider Name='Service Control Manager'/><EventID>{i}</EventID></System></Event>"
        )
    };
    let xml: String = (0..2000).map(event).collect();
    assert!(xml.len() > Limits::default().max_line_bytes);
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "System.xml", xml.as_bytes()));
    let f = &bundle.files[0];
    assert_eq!(f.kind, LogKind::EventXml);
    let lines = texts(f);
    assert_eq!(lines.len(), 2000);
    assert_eq!(lines[1999], event(1999));
    assert_eq!(f.line_count(), 2000);
}

#[test]
fn path_traversal_and_absolute_entries_are_refused() {
    let zip = zip_bytes(&[
        ("../evil.log", CBS_CRLF.as_bytes()),
        ("/abs.log", b"x\n"),
        ("ok.log", CBS_CRLF.as_bytes()),
    ]);
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "b.zip", &zip));
    assert_eq!(paths(&bundle), vec!["ok.log"]);
    assert!(skip_reason(&bundle, "../evil.log").contains("unsafe path"));
    assert!(skip_reason(&bundle, "/abs.log").contains("unsafe path"));
}

#[test]
fn ratio_bomb_and_unpacked_budget_are_skipped_naming_the_limit() {
    let zeros = vec![b'0'; 4 << 20];
    let zip = zip_bytes(&[("bomb.log", &zeros), ("ok.log", CBS_CRLF.as_bytes())]);
    let dir = TempDir::new().expect("tmp");
    let path = write(&dir, "b.zip", &zip);
    let limits = Limits {
        max_ratio: 100,
        ..Limits::default()
    };
    let bundle = Bundle::open(&path, &limits).expect("opens");
    assert_eq!(paths(&bundle), vec!["ok.log"]);
    assert!(skip_reason(&bundle, "bomb.log").contains("exceeds max_ratio (100)"));

    let limits = Limits {
        max_unpacked_bytes: 1 << 20,
        max_ratio: 1_000,
        ..Limits::default()
    };
    let bundle = Bundle::open(&path, &limits).expect("opens");
    assert_eq!(
        skip_reason(&bundle, "bomb.log"),
        "exceeds max_unpacked_bytes (1048576)"
    );
}

#[test]
fn entry_count_limit() {
    let names: Vec<String> = (0..5).map(|i| format!("f{i}.log")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x\n"[..])).collect();
    let dir = TempDir::new().expect("tmp");
    let path = write(&dir, "b.zip", &zip_bytes(&entries));
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let bundle = Bundle::open(&path, &limits).expect("opens");
    assert_eq!(paths(&bundle), vec!["f0.log", "f1.log", "f2.log"]);
    assert_eq!(bundle.skipped.len(), 1);
    assert_eq!(bundle.skipped[0].path, "b.zip");
    assert!(bundle.skipped[0].reason.contains("2 more file(s)"));
    assert!(bundle.skipped[0].reason.contains("exceeds max_entries (3)"));
}

#[test]
fn entry_count_limit_in_a_directory() {
    let dir = TempDir::new().expect("tmp");
    for d in 0..4 {
        for f in 0..3 {
            write(&dir, &format!("d{d}/f{f}.log"), b"x\n");
        }
    }
    let limits = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    let bundle = Bundle::open(dir.path(), &limits).expect("opens");
    assert_eq!(bundle.files.len(), 5);
    let limit_skips: Vec<&Skipped> = bundle
        .skipped
        .iter()
        .filter(|s| s.reason.contains("exceeds max_entries (5)"))
        .collect();
    assert!(!limit_skips.is_empty(), "{:?}", bundle.skipped);
    assert_eq!(open(dir.path()).files.len(), 12);
}

#[test]
fn nesting_depth_limit() {
    let level3 = zip_bytes(&[("deep.log", b"deep\n")]);
    let level2 = zip_bytes(&[("c.zip", &level3), ("mid.log", b"mid\n")]);
    let level1 = zip_bytes(&[("b.zip", &level2), ("top.log", b"top\n")]);
    let dir = TempDir::new().expect("tmp");
    let path = write(&dir, "a.zip", &level1);
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let bundle = Bundle::open(&path, &limits).expect("opens");
    assert_eq!(paths(&bundle), vec!["b.zip/mid.log", "top.log"]);
    assert_eq!(
        skip_reason(&bundle, "b.zip/c.zip"),
        "nested archive exceeds max_depth (2)"
    );
    assert_eq!(open(&path).files.len(), 3, "default depth reads all three");
}

#[test]
fn corrupt_zip_at_top_is_an_error_and_nested_is_a_skip() {
    let dir = TempDir::new().expect("tmp");
    let mut bad = b"PK\x03\x04".to_vec();
    bad.extend((0..300u32).map(|i| (i * 31 % 256) as u8));
    let path = write(&dir, "bad.zip", &bad);
    let err = Bundle::open(&path, &Limits::default()).expect_err("corrupt");
    let msg = err.to_string();
    assert!(
        msg.contains("bad.zip") && msg.contains("not a valid zip archive"),
        "{msg}"
    );

    let junk: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    let msg = Bundle::open(&write(&dir, "junk.zip", &junk), &Limits::default())
        .expect_err("junk")
        .to_string();
    assert!(msg.contains("not a valid zip archive"), "{msg}");

    let outer = zip_bytes(&[("inner.zip", &bad), ("ok.log", b"fine\n")]);
    let bundle = open(&write(&dir, "outer.zip", &outer));
    assert_eq!(paths(&bundle), vec!["ok.log"]);
    assert!(skip_reason(&bundle, "inner.zip").starts_with("not a valid zip archive"));
}

#[test]
fn truncated_zip_yields_the_entries_before_the_cut() {
    let big: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let zip = zip_bytes(&[("first.log", CBS_CRLF.as_bytes()), ("second.log", &big)]);
    let dir = TempDir::new().expect("tmp");
    // Cut inside the second entry's data: no central directory, first entry intact.
    let path = write(&dir, "cut.zip", &zip[..zip.len() / 2]);
    let bundle = open(&path);
    assert_eq!(paths(&bundle), vec!["first.log"]);
    assert_eq!(bundle.files[0].kind, LogKind::Cbs);
    assert!(skip_reason(&bundle, "second.log").starts_with("corrupt or unreadable entry"));
    let damage = skip_reason(&bundle, "cut.zip");
    assert!(damage.starts_with("damaged zip archive ("), "{damage}");
    assert!(
        damage.contains("1 entry recovered from local headers"),
        "{damage}"
    );
}

#[test]
fn unsupported_zip_compression_is_named() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("big.log", stored).expect("start");
    w.write_all(b"stored text\n").expect("write");
    w.start_file("ok.log", stored).expect("start");
    w.write_all(b"fine\n").expect("write");
    let mut bytes = w.finish().expect("finish").into_inner();
    // Mark the first entry as Deflate64 (method 9), as Explorer does for large files: the
    // method field sits at offset 8 of the local header and 10 of the central header.
    bytes[8] = 9;
    let central = bytes
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    bytes[central + 10] = 9;
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "b.zip", &bytes));
    assert_eq!(paths(&bundle), vec!["ok.log"]);
    assert_eq!(
        skip_reason(&bundle, "big.log"),
        "unsupported zip compression (deflate64): repack the bundle as a standard (deflate) zip"
    );
}

#[test]
fn damaged_archives_never_panic() {
    let dir = TempDir::new().expect("tmp");
    let good = zip_bytes(&[("a.log", CBS_CRLF.as_bytes()), ("b.log", b"x\n")]);
    let gz = gz_bytes(CBS_CRLF.as_bytes());
    let mut seed = 0x2545_f491_u64;
    for round in 0..60 {
        // Flip a few bytes of a valid archive, or cut it short.
        let source = if round % 2 == 0 { &good } else { &gz };
        let mut bytes = source.clone();
        for _ in 0..(round % 5 + 1) {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let at = (seed >> 33) as usize % bytes.len();
            bytes[at] ^= (seed >> 24) as u8 | 1;
        }
        if round % 3 == 0 {
            bytes.truncate(bytes.len() * 2 / 3);
        }
        let name = if round % 2 == 0 { "r.zip" } else { "r.log.gz" };
        let path = write(&dir, name, &bytes);
        match Bundle::open(&path, &Limits::default()) {
            Ok(bundle) => assert!(!bundle.files.is_empty()),
            Err(DiagnosisError::Unreadable { reason, .. }) => assert!(!reason.is_empty()),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
}

#[test]
fn empty_file_is_one_empty_text_file() {
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "empty.log", b""));
    assert_eq!(paths(&bundle), vec!["empty.log"]);
    let f = &bundle.files[0];
    assert_eq!(
        (f.kind, f.encoding, f.bytes),
        (LogKind::Text, TextEncoding::Utf8, 0)
    );
    assert!(texts(f).is_empty());
    assert_eq!(bundle.summary().files[0].lines, 0);
}

#[test]
fn missing_path_and_empty_archives() {
    let dir = TempDir::new().expect("tmp");
    let err = Bundle::open(&dir.path().join("nope.zip"), &Limits::default()).expect_err("missing");
    assert!(matches!(err, DiagnosisError::NotFound { .. }), "{err:?}");
    #[cfg(unix)]
    {
        let err = Bundle::open(Path::new("/dev/zero"), &Limits::default()).expect_err("device");
        assert!(
            err.to_string().ends_with("not a regular file or directory"),
            "{err}"
        );
    }
    let err = Bundle::open(dir.path(), &Limits::default()).expect_err("empty dir");
    assert!(err.to_string().contains("holds no files"), "{err}");
    let err = Bundle::open(&write(&dir, "e.zip", &zip_bytes(&[])), &Limits::default())
        .expect_err("empty zip");
    assert!(err.to_string().contains("holds no files"), "{err}");
}

#[test]
fn fifty_megabyte_line_without_newline_is_truncated() {
    let dir = TempDir::new().expect("tmp");
    let path = dir.path().join("huge.log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let block = vec![b'a'; 1 << 20];
    for _ in 0..50 {
        out.write_all(&block).expect("write");
    }
    drop(out);
    let limits = Limits::default();
    let bundle = Bundle::open(&path, &limits).expect("opens");
    let f = &bundle.files[0];
    assert_eq!(f.bytes, 50 << 20);
    assert_eq!(f.line_count(), 1);
    let lines = texts(f);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].len(), limits.max_line_bytes);
    assert_eq!(
        skip_reason(&bundle, "huge.log"),
        "1 line(s) cut at max_line_bytes (65536); the rest of the file was read"
    );
}

#[test]
fn binary_junk_is_skipped_or_unreadable_alone() {
    let dir = TempDir::new().expect("tmp");
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = Bundle::open(&write(&dir, "junk.bin", &junk), &Limits::default()).expect_err("junk");
    assert!(
        err.to_string()
            .ends_with("junk.bin: binary file, not a log"),
        "{err}"
    );
    let msg = Bundle::open(&write(&dir, "x.log.gz", &junk), &Limits::default())
        .expect_err("not gzip")
        .to_string();
    assert!(
        msg.ends_with("x.log.gz: not a valid gzip file: no gzip header"),
        "{msg}"
    );

    let zip = zip_bytes(&[("junk.bin", &junk), ("ok.log", b"fine\n")]);
    let bundle = open(&write(&dir, "b.zip", &zip));
    assert_eq!(paths(&bundle), vec!["ok.log"]);
    assert_eq!(skip_reason(&bundle, "junk.bin"), "binary file, not a log");
}

#[test]
fn other_archives_etl_and_fake_evtx_are_skipped_with_a_reason() {
    let mut tar = vec![0u8; 1024];
    tar[..7].copy_from_slice(b"CBS.log");
    tar[257..262].copy_from_slice(b"ustar");
    let etl: Vec<u8> = (0..4096u32).map(|i| (i * 13 % 256) as u8).collect();
    let zip = zip_bytes(&[
        ("logs.7z", b"7z\xBC\xAF\x27\x1C\x00\x04rest"),
        ("logs.tar", &tar),
        ("WindowsUpdate.20240214.etl", &etl),
        ("System.evtx", b"Event[0]:\n  Log Name: System\n"),
        ("Empty.evtx", b""),
        ("Setup.evtx", &etl),
        ("ok.log", b"fine\n"),
    ]);
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "b.zip", &zip));
    assert_eq!(paths(&bundle), vec!["System.evtx", "ok.log"]);
    assert_eq!(bundle.files[0].kind, LogKind::EventText, "content decides");
    assert_eq!(
        skip_reason(&bundle, "logs.7z"),
        "unsupported archive format (7z): repack as .zip"
    );
    assert!(skip_reason(&bundle, "logs.tar").contains("(tar)"));
    assert!(skip_reason(&bundle, "WindowsUpdate.20240214.etl").contains("Get-WindowsUpdateLog"));
    for evtx in ["Setup.evtx", "Empty.evtx"] {
        assert_eq!(
            skip_reason(&bundle, evtx),
            "not a valid evtx file: no ElfFile header"
        );
    }
}

/// A minimal evtx: file header magic, then one chunk whose header claims records 1..=5 but
/// which holds three 100-byte records before its free-space offset (like a truncated log).
fn fake_evtx() -> Vec<u8> {
    let mut data = vec![0u8; 4096 + 65536];
    data[..8].copy_from_slice(b"ElfFile\0");
    let chunk = &mut data[4096..];
    chunk[..8].copy_from_slice(b"ElfChnk\0");
    chunk[8..16].copy_from_slice(&1u64.to_le_bytes());
    chunk[16..24].copy_from_slice(&5u64.to_le_bytes());
    chunk[48..52].copy_from_slice(&812u32.to_le_bytes());
    for at in [512, 612, 712] {
        chunk[at..at + 4].copy_from_slice(b"**\0\0");
        chunk[at + 4..at + 8].copy_from_slice(&100u32.to_le_bytes());
    }
    data
}

#[test]
fn evtx_is_binary_with_records_counted() {
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "renamed.dat", &fake_evtx()));
    let f = &bundle.files[0];
    assert_eq!((f.kind, f.encoding), (LogKind::Evtx, TextEncoding::Binary));
    assert_eq!(f.line_count(), 3);
    let err = f.lines().err().expect("binary has no lines");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let mut head = [0u8; 8];
    f.open_raw()
        .expect("raw")
        .read_exact(&mut head)
        .expect("read");
    assert_eq!(&head, b"ElfFile\0");
}

#[test]
fn cab_entries_are_unpacked() {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    folder.add_file("CbsPersist_20240214100102.log");
    folder.add_file("sub\\notes.txt");
    let mut writer = builder.build(Cursor::new(Vec::new())).expect("cab");
    let contents: [&[u8]; 2] = [CBS_CRLF.as_bytes(), b"hello\n"];
    let mut i = 0;
    while let Some(mut w) = writer.next_file().expect("next") {
        w.write_all(contents[i]).expect("write");
        i += 1;
    }
    let cab = writer.finish().expect("finish").into_inner();
    let dir = TempDir::new().expect("tmp");
    let bundle = open(&write(&dir, "CbsPersist_20240214100102.cab", &cab));
    assert_eq!(
        paths(&bundle),
        vec!["CbsPersist_20240214100102.log", "sub/notes.txt"]
    );
    assert_eq!(bundle.files[0].kind, LogKind::Cbs);
    assert_eq!(texts(&bundle.files[0]).len(), 2);
}

#[test]
fn unpacked_files_live_as_long_as_the_bundle() {
    let dir = TempDir::new().expect("tmp");
    let path = write(&dir, "b.zip", &zip_bytes(&[("a.log", b"one\ntwo\n")]));
    let bundle = open(&path);
    let Data::Disk(unpacked) = &bundle.files[0].data;
    let unpacked = unpacked.clone();
    assert!(unpacked.exists());
    drop(bundle);
    assert!(!unpacked.exists(), "temp dir removed with the bundle");
}

/// A chat upload kept under its hash is read under the name it was posted with.
#[test]
fn a_stored_upload_is_opened_under_its_posted_name() {
    let dir = TempDir::new().unwrap();
    let cbs = b"2024-02-14 10:20:08, Error                 CBS    Startup: Failed to process advanced operation queue [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]\r\n";
    let stored = write(&dir, "9f86d081884c7d659a2feaa0c55ad015", cbs);
    let bundle = Bundle::open_as(&stored, "uploads/CBS.log", &Limits::default()).unwrap();
    assert_eq!(bundle.name, "CBS.log");
    assert_eq!(paths(&bundle), ["CBS.log"]);
    assert_eq!(file(&bundle, "CBS.log").kind, LogKind::Cbs);

    let zipped = write(
        &dir,
        "e3b0c44298fc1c14",
        &zip_bytes(&[("pc7/CBS.log", cbs)]),
    );
    let bundle = Bundle::open_as(&zipped, "pc7.zip", &Limits::default()).unwrap();
    assert_eq!(bundle.name, "pc7.zip");
    assert_eq!(paths(&bundle), ["pc7/CBS.log"]);
}

/// A CBS.log of about `bytes` bytes with the variety of a real one: advancing timestamps,
/// session and transaction ids, several packages, component paths and result codes.
fn realistic_cbs(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 512);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let packages = [
        "Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.11",
        "Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13",
        "Microsoft-Windows-Client-LanguagePack-Package~31bf3856ad364e35~amd64~zh-CN~10.0.19041.3803",
        "Package_for_ServicingStack_4163~31bf3856ad364e35~amd64~~19041.4163.1.0",
    ];
    let components = [
        "amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4163_none_7e4fd2d6b2f7a8c1",
        "wow64_microsoft-windows-shell32_31bf3856ad364e35_10.0.19041.3996_none_1b2c3d4e5f607182",
        "x86_microsoft.windows.common-controls_6595b64144ccf1df_6.0.19041.3636_none_a8625c1886757984",
    ];
    let (mut secs, mut line) = (36_000u64, 0u64);
    while out.len() < bytes {
        secs += next() % 3;
        line += 1;
        let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let r = next();
        let pkg = packages[(r % 4) as usize];
        let comp = components[(r >> 8) as usize % 3];
        let text = match r >> 16 & 7 {
            0 => format!(
                "Info                  CBS    Session: {}_{} initialized by client WindowsUpdateAgent, external staging directory: (null)",
                30_000_000 + r % 9_999_999,
                r >> 32 & 0xffff_ffff
            ),
            1 => format!(
                "Info                  CBS    Read out cached package applicability for package: {pkg}, ApplicableState: {}, CurrentState:{}",
                r >> 20 & 0x7f,
                r >> 28 & 0x7f
            ),
            2 => format!(
                "Info                  CSI    {:08x} CSI Transaction @0x{:x} initialized for deployment engine {{d16d444c-56d8-11d5-882d-0080c847b195}} with flags 00000002",
                line,
                r >> 12
            ),
            3 => format!(
                "Info                  CSI    {:08x} Hashes for file member [l:{}]\"{}.dll\" do not match; store: {{l:32 {:016x}}}",
                line,
                r % 40,
                &comp[6..20],
                r
            ),
            4 => format!(
                "Info                  CBS    Exec: Processing complete.  Session: {}_{}, Package: {pkg} [HRESULT = 0x{:08x}]",
                30_000_000 + r % 9_999_999,
                r >> 40,
                if r % 5 == 0 { 0x800f_081f_u64 } else { 0 }
            ),
            5 => format!(
                "Info                  CSI    {:08x} Creating NT transaction (seq {}), objectname [6]\"(null)\" for component {comp}",
                line,
                r % 100
            ),
            6 => format!(
                "Info                  CBS    Appl: detect Parent, Package: {pkg}, Parent: Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~10.0.19041.{}, Disposition = Detect, VersionComp: {}",
                r % 5000,
                ["EQ", "GT", "LT"][(r >> 50) as usize % 3]
            ),
            _ => "Info                  CBS    SQM: Failed to start upload with file pattern: C:\\Windows\\servicing\\sqm\\*_std.sqm, flags: 0x2 [HRESULT = 0x80004005 - E_FAIL]"
                .to_string(),
        };
        out.extend_from_slice(format!("2024-03-12 {h:02}:{m:02}:{s:02}, {text}\r\n").as_bytes());
    }
    out
}

/// Deflated size over raw size, at the default level (as Explorer's and PowerShell's zips).
fn deflate_ratio(data: &[u8]) -> f64 {
    let packed = gz_bytes(data);
    data.len() as f64 / packed.len() as f64
}

#[test]
fn realistic_logs_compress_far_below_the_ratio_cap() {
    let cbs = realistic_cbs(4 << 20);
    let healthy = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/bundles/healthy-cbs.log"),
    )
    .expect("fixture");
    let evtx = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/evtx/language-pack-setup-operational.evtx"),
    )
    .expect("fixture");
    let cap = Limits::default().max_ratio as f64;
    for (name, data) in [
        ("generated CBS.log", &cbs),
        ("healthy-cbs.log", &healthy),
        ("one-chunk evtx", &evtx),
    ] {
        let ratio = deflate_ratio(data);
        eprintln!("{name}: {} bytes deflate {ratio:.1}:1", data.len());
        assert!(
            ratio > 1.5,
            "{name} barely compresses ({ratio:.1}): not realistic"
        );
        assert!(
            ratio * 5.0 < cap,
            "{name} deflates {ratio:.1}:1, too close to max_ratio {cap}"
        );
    }
    // And such a log unpacks with the default limits, as one zip entry and as a gzip.
    let dir = TempDir::new().expect("tmp");
    let zip = write(&dir, "logs.zip", &zip_bytes(&[("CBS.log", &cbs)]));
    assert_eq!(paths(&open(&zip)), vec!["CBS.log"]);
    let gz = write(&dir, "CBS.log.gz", &gz_bytes(&cbs));
    assert_eq!(paths(&open(&gz)), vec!["CBS.log"]);
}

/// A gzip of `bytes` zeros, written in chunks (never held in memory).
fn gzip_bomb(path: &Path, bytes: u64) {
    let file = std::fs::File::create(path).expect("create");
    let mut e = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64);
        e.write_all(&chunk[..n as usize]).expect("bomb");
        left -= n;
    }
    e.finish().expect("bomb finish");
}

/// A zip holding a small CBS.log, then `entries` text entries of `bytes` bytes each (lines of
/// `0` digits, which deflate about 1000:1).
fn zip_bomb(path: &Path, entries: usize, bytes: u64) {
    let file = std::fs::File::create(path).expect("create");
    let mut w = zip::ZipWriter::new(file);
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(bytes >= 1 << 32);
    w.start_file("CBS.log", opts).expect("start");
    w.write_all(CBS_CRLF.as_bytes()).expect("write");
    let mut chunk = vec![b'0'; 1 << 20];
    chunk[(1 << 20) - 1] = b'\n';
    for i in 0..entries {
        w.start_file(format!("zeros{i}.log"), opts).expect("start");
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64);
            w.write_all(&chunk[..n as usize]).expect("bomb");
            left -= n;
        }
    }
    w.finish().expect("finish");
}

#[test]
fn gzip_bomb_stops_at_the_disk_budget_naming_it() {
    let dir = TempDir::new().expect("tmp");
    let bomb = dir.path().join("zeros.log.gz");
    gzip_bomb(&bomb, 128 << 20);
    let packed = std::fs::metadata(&bomb).expect("meta").len();
    assert!(packed < 1 << 20, "the bomb is small packed: {packed}");
    // The ratio alone would let it write 1000x its packed size; the disk budget stops it.
    let limits = Limits {
        max_disk_bytes: 8 << 20,
        max_ratio: 1_000,
        ..Limits::default()
    };
    let err = Bundle::open(&bomb, &limits).expect_err("nothing readable");
    assert!(
        err.to_string().contains("exceeds max_disk_bytes (8388608)"),
        "{err}"
    );
    // With the default limits, the ratio cap stops it before the disk budget.
    let err = Bundle::open(&bomb, &Limits::default()).expect_err("nothing readable");
    assert!(err.to_string().contains("exceeds max_ratio (200)"), "{err}");
}

#[test]
fn zip_bomb_writes_at_most_the_disk_budget() {
    let dir = TempDir::new().expect("tmp");
    let bomb = dir.path().join("bomb.zip");
    // Six entries of 8 MiB of `0` lines: each passes a ratio cap of 2000, together they would
    // write 48 MiB; entries refused half-way count too.
    zip_bomb(&bomb, 6, 8 << 20);
    let budget = 20 << 20;
    let limits = Limits {
        max_disk_bytes: budget,
        max_ratio: 2_000,
        ..Limits::default()
    };
    let bundle = Bundle::open(&bomb, &limits).expect("CBS.log is read");
    assert_eq!(paths(&bundle), vec!["CBS.log", "zeros0.log", "zeros1.log"]);
    assert!(
        bundle.temp_bytes_written <= budget,
        "{}",
        bundle.temp_bytes_written
    );
    for i in 2..6 {
        let reason = skip_reason(&bundle, &format!("zeros{i}.log"));
        assert!(
            reason.contains("exceeds max_disk_bytes (20971520)"),
            "{reason}"
        );
    }
}
