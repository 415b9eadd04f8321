//! Criterion bench of the whole pipeline (bundle → parsers → RuleSet → Diagnosis) over the
//! founding device-1 bundle and a generated 50,000-line healthy CBS log, plus compiling the
//! built-in rule set.
//!
//! `cargo bench -p diagnosis --bench engine -- --quick`

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use diagnosis::{Limits, RuleSet, diagnose_path};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/bundles")
        .join(name)
}

/// A healthy CBS log of `n` lines: sessions, CSI transactions, SQM noise, pended and completed.
fn healthy_cbs(path: &Path, n: usize) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let lines = [
        "Info                  CBS    Session: 31094117_2018832011 initialized by client WindowsUpdateAgent, external staging directory: (null), external registry directory: (null)",
        "Info                  CBS    Read out cached package applicability for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.11, ApplicableState: 112, CurrentState:112",
        "Info                  CSI    00000a01 CSI Transaction @0x1f2e3d4c5b6a initialized for deployment engine {d16d444c-56d8-11d5-882d-0080c847b195} with flags 00000002 and client id [10]\"TI5.31094117_2018832011:1/\"",
        "Info                  CBS    SQM: Failed to start upload with file pattern: C:\\Windows\\servicing\\sqm\\*_std.sqm, flags: 0x2 [HRESULT = 0x80004005 - E_FAIL]",
        "Info                  CBS    Exec: Processing complete.  Session: 31094117_2018832011, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.11 [HRESULT = 0x00000000 - S_OK]",
        "Info                  CSI    00000a02 CSI Transaction @0x1f2e3d4c5b6a destroyed",
        "Info                  CBS    Appl: Evaluating package applicability for package Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13, applicable state: Installed",
    ];
    for i in 0..n {
        let s = i % 60;
        writeln!(
            f,
            "2024-03-12 10:{:02}:{s:02}, {}\r",
            (i / 60) % 60,
            lines[i % lines.len()]
        )?;
    }
    f.flush()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let limits = Limits::default();
    c.bench_function("compile built-in rules", |b| {
        b.iter(|| black_box(RuleSet::builtin().expect("compile")))
    });
    let device1 = fixture("device1.zip");
    c.bench_function("diagnose device1.zip", |b| {
        b.iter(|| black_box(diagnose_path(&device1, &rules, &limits).expect("diagnose")))
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("CBS.log");
    healthy_cbs(&big, 50_000).expect("write healthy log");
    let mut group = c.benchmark_group("large");
    group.sample_size(10);
    group.bench_function("diagnose 50k-line healthy CBS.log", |b| {
        b.iter(|| black_box(diagnose_path(&big, &rules, &limits).expect("diagnose")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
