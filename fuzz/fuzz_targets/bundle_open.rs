//! Bundle opening on arbitrary bytes: the first byte picks the file name (and so the archive
//! format tried when the magic bytes are damaged), the rest is the file. Opening may fail with
//! a reason, never panic, and must stay within small limits.

#![no_main]

use diagnosis::{Bundle, Limits};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "bundle.zip",
    "CBS.log.gz",
    "CbsPersist_20240101.cab",
    "CBS.log",
    "System.evtx",
    "services.txt",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(NAMES[usize::from(pick) % NAMES.len()]);
    std::fs::write(&path, bytes).expect("write input");
    let limits = Limits {
        max_disk_bytes: 16 << 20,
        max_unpacked_bytes: 16 << 20,
        ..Limits::default()
    };
    if let Ok(bundle) = Bundle::open(&path, &limits) {
        assert!(bundle.temp_bytes_written <= limits.max_disk_bytes);
        for file in &bundle.files {
            let _ = file.parse(&mut |_| {});
        }
    }
});
