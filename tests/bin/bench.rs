//! The performance benchmark (README "Performance"): generates its inputs deterministically in a
//! temporary directory (removed afterwards) and prints, in one run,
//! - time for 1, 10, 100 and 1000 MB CBS logs (linear growth);
//! - on 512 MB and 1 GB: casebot's time and peak RSS next to GNU `grep -E -c` over the same
//!   literals casebot's prefilter searches for, with the ratio;
//! - a 200 MB zip bundle of 50 mixed files (CBS, CbsPersist, DISM, WindowsUpdate, UTF-16
//!   exports, evtx), end to end, with its files read one after the other and in parallel.
//!
//! `cargo run --release -p casebot-tests --bin bench` (`-- --quick` skips the 1 GB sizes).
//! Each diagnosis runs in a child process (this binary, `diagnose <path> [threads]`), so that
//! its peak RSS is its own; the time is the whole pipeline: open (hash, detect, count lines), search,
//! findings.

use std::io::{BufWriter, Read as _, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use diagnosis::parse::LogKind;
use diagnosis::{Bundle, Limits, RuleSet};

const MB: u64 = 1 << 20;
/// Runs per figure; the median is printed.
const RUNS: usize = 3;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("diagnose") {
        let path = args.get(1).context("diagnose <path> [threads]")?;
        let threads = match args.get(2) {
            Some(t) => t.parse().context("threads: a number")?,
            None => cores(),
        };
        return child(Path::new(path), threads);
    }
    if args.first().map(String::as_str) == Some("generate") {
        // `generate <MB> <path>`: the CBS log the benchmark uses, for profiling by hand.
        let mb: u64 = args.get(1).context("generate <MB> <path>")?.parse()?;
        let path = args.get(2).context("generate <MB> <path>")?;
        return cbs_log(Path::new(path), mb * MB);
    }
    if args.first().map(String::as_str) == Some("generate-bundle") {
        // `generate-bundle <path>`: the 200 MB zip of 50 files, for profiling by hand.
        let path = args.get(1).context("generate-bundle <path>")?;
        return bundle_zip(Path::new(path));
    }
    if args.first().map(String::as_str) == Some("pattern") {
        // `pattern`: the grep -E pattern the benchmark compares with.
        println!("{}", grep_pattern(&RuleSet::builtin()?)?);
        return Ok(());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let dir = tempfile::tempdir()?;
    let rules = RuleSet::builtin()?;
    println!("casebot benchmark ({} cores)", cores());
    linear(dir.path(), quick)?;
    versus_grep(dir.path(), &rules, quick)?;
    bundle(dir.path())?;
    Ok(())
}

/// Child mode: diagnose `path` reading files on `threads` threads, print
/// `seconds peak_kib findings`.
fn child(path: &Path, threads: usize) -> Result<()> {
    let rules = RuleSet::builtin()?;
    let start = Instant::now();
    let bundle = Bundle::open(path, &Limits::default())?;
    let d = diagnosis::engine::run_threads(&bundle, &rules, threads);
    drop(bundle);
    let secs = start.elapsed().as_secs_f64();
    let findings: Vec<&str> = d.findings.iter().map(|f| f.root_cause.as_str()).collect();
    println!("{secs} {} {}", peak_kib(), findings.join(","));
    Ok(())
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// One diagnosis in a child process on `threads` threads: (seconds, peak KiB, root causes).
fn diagnose(path: &Path, threads: usize) -> Result<(f64, u64, String)> {
    let out = Command::new(std::env::current_exe()?)
        .arg("diagnose")
        .arg(path)
        .arg(threads.to_string())
        .output()?;
    if !out.status.success() {
        bail!("diagnose failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8(out.stdout)?;
    let mut parts = text.split_whitespace();
    let secs: f64 = parts.next().context("secs")?.parse()?;
    let peak: u64 = parts.next().context("peak")?.parse()?;
    Ok((secs, peak, parts.next().unwrap_or("-").to_string()))
}

/// The median of `RUNS` diagnoses on every core (peak RSS: the largest).
fn diagnose_median(path: &Path) -> Result<(f64, u64, String)> {
    diagnose_median_on(path, cores())
}

/// The median of `RUNS` diagnoses on `threads` threads (peak RSS: the largest).
fn diagnose_median_on(path: &Path, threads: usize) -> Result<(f64, u64, String)> {
    let mut times = Vec::new();
    let mut peak = 0;
    let mut causes = String::new();
    for _ in 0..RUNS {
        let (s, p, c) = diagnose(path, threads)?;
        times.push(s);
        peak = peak.max(p);
        causes = c;
    }
    Ok((median(&mut times), peak, causes))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The device-1 CBS.log (the WMI advanced-installer failure), from the nested fixture zip.
fn device1_cbs() -> Result<Vec<u8>> {
    let outer = std::fs::read(fixture("bundles/device1.zip"))?;
    let mut outer = zip::ZipArchive::new(std::io::Cursor::new(outer))?;
    let mut inner = Vec::new();
    outer.by_index(0)?.read_to_end(&mut inner)?;
    let mut inner = zip::ZipArchive::new(std::io::Cursor::new(inner))?;
    let name = inner
        .file_names()
        .find(|n| n.ends_with("CBS.log"))
        .context("device1 has a CBS.log")?
        .to_string();
    let mut cbs = Vec::new();
    inner.by_name(&name)?.read_to_end(&mut cbs)?;
    Ok(cbs)
}

/// One healthy servicing session as CBS.log writes it: mostly applicability, planning and CSI
/// transaction lines, a few with HRESULTs, KB numbers and the RollupFix build.
const SESSION: &[&str] = &[
    "Info                  CBS    TI: --- Initializing Trusted Installer ---",
    "Info                  CBS    Starting TrustedInstaller initialization.",
    "Info                  CBS    Lock: New lock added: CCbsPublicSessionClassFactory, level: 30, total lock:4",
    "Info                  CBS    Ending TrustedInstaller initialization.",
    "Info                  CBS    Starting the TrustedInstaller main loop.",
    "Info                  CBS    TrustedInstaller service starts successfully.",
    "Info                  CBS    Session: 31094117_2018832011 initialized by client WindowsUpdateAgent, external staging directory: (null), external registry directory: (null)",
    "Info                  CBS    Appl: detect Parent, Package: Microsoft-Windows-Client-Desktop-Required-Package0515~31bf3856ad364e35~amd64~~10.0.19041.4170, Parent: Microsoft-Windows-Client-Features-Package0015~31bf3856ad364e35~amd64~~10.0.19041.4170, Disposition = Detect, VersionComp: EQ, BuildComp: EQ, RevisionComp: EQ, Exist: present",
    "Info                  CBS    Appl: detectParent: package: Microsoft-Windows-Client-Desktop-Required-Package0515~31bf3856ad364e35~amd64~~10.0.19041.4170, parent found: Microsoft-Windows-Client-Features-Package0015~31bf3856ad364e35~amd64~~10.0.19041.4170, state: Installed",
    "Info                  CBS    Appl: Evaluating applicability block(non detectUpdate part), disposition is: Detect, applyTo is: Detect, applicable state: Installed",
    "Info                  CBS    Appl: Selfupdate, Component: amd64_microsoft-windows-shell32_31bf3856ad364e35_10.0.19041.4170_none_2b4c9e1f6d7a8e3c, elevation:4, lower version revision holder: 10.0.19041.4170",
    "Info                  CBS    Plan: Package: Microsoft-Windows-Client-Desktop-Required-Package0515~31bf3856ad364e35~amd64~~10.0.19041.4170, Update: 4577531-22, Current: Installed, Pending: Default, Start: Installed, Applicable: Installed, Targeted: Installed, Limit: Installed",
    "Info                  CBS    Exec: Skipping Package: Microsoft-Windows-Client-Desktop-Required-Package0515~31bf3856ad364e35~amd64~~10.0.19041.4170, Update: 4577531-22 because it is already in the correct state.",
    "Info                  CSI    00000a01 CSI Store 2226472176528 (0x00000206674a4f90) initialized",
    "Info                  CSI    00000a02 Creating NT transaction (seq 1), objectname [6]\"(null)\"",
    "Info                  CSI    00000a03 Created NT transaction (seq 1), handle @0x1a4",
    "Info                  CSI    00000a04@2024/3/12:10:06:18.411 Beginning NT transaction commit...",
    "Info                  CSI    00000a05@2024/3/12:10:06:18.452 CSI perf trace:",
    "CSIPERF:TXCOMMIT;41203",
    "Info                  CBS    Appl: detect Parent, Package: Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~10.0.19041.1, Parent: Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.19041.4170, Disposition = Detect, VersionComp: EQ, BuildComp: EQ, RevisionComp: GE, Exist: present",
    "Info                  CBS    Appl: Evaluating applicability block(detectUpdate part), disposition is: Detect, applyTo is: Detect, applicable state: Installed",
    "Info                  CBS    Plan: Package: Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~10.0.19041.1, Update: Microsoft-Windows-Foundation-Package-Update, Current: Installed, Pending: Default, Start: Installed, Applicable: Installed, Targeted: Installed, Limit: Installed",
    "Info                  CBS    Read out cached package applicability for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.11, ApplicableState: 112, CurrentState:112",
    "Info                  CBS    Appl: Package: Package_1_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13, Update: 4577531-23, Applicable: Installed, Disposition: Installed",
    "Info                  CBS    Exec: Processing complete.  Session: 31094117_2018832011, Package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4170.1.11 [HRESULT = 0x00000000 - S_OK]",
    "Info                  CBS    Session: 31094117_2018832011 finalized. Reboot required: no [HRESULT = 0x00000000 - S_OK]",
    "Info                  CBS    Ending the TrustedInstaller main loop.",
    "Info                  CBS    Starting TrustedInstaller finalization.",
    "Info                  CBS    Lock: Lock removed: CCbsPublicSessionClassFactory, level: 30, total lock:3",
    "Info                  CBS    Ending TrustedInstaller finalization.",
];

/// A CBS log of about `bytes`: healthy sessions over and over (with advancing timestamps), then
/// the device-1 failure.
fn cbs_log(path: &Path, bytes: u64) -> Result<()> {
    healthy_log(path, bytes, &device1_cbs()?)
}

/// Healthy sessions up to about `bytes`, then `tail`.
fn healthy_log(path: &Path, bytes: u64, tail: &[u8]) -> Result<()> {
    let mut f = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0u64;
    let mut n = 0u64;
    while written + (tail.len() as u64) < bytes {
        let line = SESSION[(n % SESSION.len() as u64) as usize];
        let text = if line.starts_with("CSIPERF") {
            format!("{line}\r\n")
        } else {
            let s = n / 7;
            format!(
                "2024-03-{:02} {:02}:{:02}:{:02}, {line}\r\n",
                1 + (s / 86_400) % 28,
                (s / 3600) % 24,
                (s / 60) % 60,
                s % 60
            )
        };
        f.write_all(text.as_bytes())?;
        written += text.len() as u64;
        n += 1;
    }
    f.write_all(tail)?;
    f.flush()?;
    Ok(())
}

fn linear(dir: &Path, quick: bool) -> Result<()> {
    println!("\nCBS.log size → diagnosis time (linear growth)");
    let sizes: &[u64] = if quick {
        &[1, 10, 100]
    } else {
        &[1, 10, 100, 1000]
    };
    for &mb in sizes {
        let p = dir.join(format!("linear-{mb}.log"));
        cbs_log(&p, mb * MB)?;
        let (secs, peak, causes) = diagnose_median(&p)?;
        println!(
            "  {mb:>5} MB  {secs:>7.3} s  {:>7.0} MB/s  peak {:>4} MB  {causes}",
            mb as f64 / secs,
            peak / 1024
        );
        std::fs::remove_file(&p)?;
    }
    Ok(())
}

/// `grep -E -c` over the literals casebot's CBS prefilter searches for (case-insensitive, as the
/// prefilter compares them).
fn grep_pattern(rules: &RuleSet) -> Result<String> {
    let lits = diagnosis::engine::prefilter_literals(rules, LogKind::Cbs)
        .context("the CBS prefilter has literals")?;
    let escaped: Vec<String> = lits
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| {
                    if r".[]()*+?{}|^$\".contains(c) {
                        format!("\\{c}")
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    Ok(escaped.join("|"))
}

fn grep_secs(pattern: &str, path: &Path) -> Result<(f64, String)> {
    let mut times = Vec::new();
    let mut count = String::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new("grep")
            .env("LC_ALL", "C")
            .args(["-E", "-i", "-c", "-e", pattern])
            .arg(path)
            .output()?;
        times.push(start.elapsed().as_secs_f64());
        count = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    Ok((median(&mut times), count))
}

fn versus_grep(dir: &Path, rules: &RuleSet, quick: bool) -> Result<()> {
    let pattern = grep_pattern(rules)?;
    println!(
        "\ncasebot vs LC_ALL=C grep -E -i -c over the {} prefilter literals",
        pattern.split('|').count()
    );
    let sizes: &[u64] = if quick { &[512] } else { &[512, 1024] };
    for &mb in sizes {
        let p = dir.join(format!("CBS-{mb}.log"));
        cbs_log(&p, mb * MB)?;
        // Warm the page cache for both.
        let _ = grep_secs(&pattern, &p)?;
        let (grep, lines) = grep_secs(&pattern, &p)?;
        let (secs, peak, causes) = diagnose_median(&p)?;
        println!(
            "  {mb:>5} MB  casebot {secs:>6.3} s (peak RSS {} MB, {causes})  grep {grep:>6.3} s ({lines} lines)  ratio {:.2}x",
            peak / 1024,
            secs / grep
        );
        std::fs::remove_file(&p)?;
    }
    Ok(())
}

/// The 200 MB zip bundle, end to end, on one thread and on every core.
fn bundle(dir: &Path) -> Result<()> {
    let zpath = dir.join("bundle.zip");
    bundle_zip(&zpath)?;
    let packed = std::fs::metadata(&zpath)?.len();
    println!(
        "\n200 MB zip bundle of 50 files ({} MB packed), end to end",
        packed / MB
    );
    for threads in [1, cores()] {
        let (secs, peak, causes) = diagnose_median_on(&zpath, threads)?;
        println!(
            "  files read on {threads} thread(s): {secs:.3} s, peak RSS {} MB, {causes}",
            peak / 1024
        );
    }
    std::fs::remove_file(&zpath)?;
    Ok(())
}

/// A 200 MB zip of 50 files at `zpath`: 20 CbsPersist logs, 10 DISM logs, 8 UTF-16LE CBS
/// exports, 8 WindowsUpdate logs, 4 evtx; the device-1 failure in one CBS.log.
fn bundle_zip(zpath: &Path) -> Result<()> {
    let unit = zpath.with_extension("unit");
    healthy_log(&unit, MB, b"")?;
    let healthy = std::fs::read(&unit)?;
    std::fs::remove_file(&unit)?;
    let dism: Vec<u8> = String::from_utf8_lossy(&healthy)
        .replace("  CBS  ", " DISM  ")
        .into_bytes();
    let wu = "2024/03/12 10:02:11.1234567 1234  5678  Agent           * START *  Finding updates CallerId = UpdateOrchestrator  Id = 1\r\n\
              2024/03/12 10:02:12.1234567 1234  5678  ComApi          * END *   Search ClientId = UpdateOrchestrator, Updates found = 0\r\n";
    let evtx = std::fs::read(fixture("evtx/language-pack-setup-operational.evtx"))?;
    let per = 4 * MB as usize;
    let repeat = |unit: &[u8]| -> Vec<u8> {
        let mut v = Vec::with_capacity(per + unit.len());
        while v.len() < per {
            v.extend_from_slice(unit);
        }
        v
    };
    let mut z = zip::ZipWriter::new(std::fs::File::create(zpath)?);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut add = |name: String, data: &[u8]| -> Result<()> {
        z.start_file(name, opts)?;
        z.write_all(data)?;
        Ok(())
    };
    let mut cbs = repeat(&healthy);
    cbs.extend_from_slice(&device1_cbs()?);
    add("PC-0042/Logs/CBS/CBS.log".into(), &cbs)?;
    let persist = repeat(&healthy);
    for i in 0..19 {
        add(
            format!("PC-0042/Logs/CBS/CbsPersist_2024031210{i:02}00.log"),
            &persist,
        )?;
    }
    let dism = repeat(&dism);
    for i in 0..10 {
        add(format!("PC-0042/Logs/DISM/dism{i}.log"), &dism)?;
    }
    let mut utf16 = vec![0xFF, 0xFE];
    for u in String::from_utf8_lossy(&repeat(&healthy)).encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    utf16.truncate(per);
    for i in 0..8 {
        add(format!("PC-0042/export/cbs-export-{i}.txt"), &utf16)?;
    }
    let wu = repeat(wu.as_bytes());
    for i in 0..8 {
        add(format!("PC-0042/WindowsUpdate{i}.log"), &wu)?;
    }
    for i in 0..4 {
        add(format!("PC-0042/winevt/Setup{i}.evtx"), &evtx)?;
    }
    z.finish()?;
    Ok(())
}
