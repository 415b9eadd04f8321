//! `casebot diagnose`, `casebot rules lint`, `casebot explain`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use diagnosis::{Lang, Limits, RuleSet};

use clap::Args;

/// `casebot diagnose` arguments.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The bundle: a file, directory, .zip, .cab, .gz or .evtx; `-` reads it from standard
    /// input (e.g. pasted log lines), up to the configured download limit (download.max_bytes),
    /// and reports it as `stdin.txt`.
    pub path: PathBuf,
    /// Print the casebot.diagnosis.v2 JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Report language (zh or en).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Load rules from this directory instead of the built-in set.
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

/// `casebot explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The code.
    #[arg(allow_negative_numbers = true)]
    pub code: String,
    /// Language (zh or en); both when omitted.
    #[arg(long)]
    pub lang: Option<String>,
}

/// Default rules directory of `casebot rules lint`, relative to the workspace root.
pub const DEFAULT_RULES_DIR: &str = "diagnosis/rules";
/// Default fixtures directory of `casebot rules lint`, relative to the workspace root.
pub const DEFAULT_FIXTURES_DIR: &str = "tests/fixtures/rules";

/// The name a bundle read from standard input is diagnosed under (kind comes from the content).
pub const STDIN_NAME: &str = "stdin.txt";

/// `casebot diagnose`: exit 0 when the input was read (findings or not); an error (printed by
/// `entry` as one `casebot: <reason>` line, exit 2) when it cannot be read at all. The path `-`
/// is standard input, capped at the configured download limit (`config`, as for `serve`).
pub fn run(config: Option<&Path>, args: &DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let lang: Lang = args.lang.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let rules = match &args.rules {
        Some(dir) => RuleSet::load_dir(dir)?,
        None => RuleSet::builtin().context("built-in rules")?,
    };
    // Limits come from the config, as for `serve` (the defaults when there is none).
    let handlers = crate::config::Config::load(config)?.handlers;
    let limits = handlers.limits;
    let d = if args.path.as_os_str() == "-" {
        let bytes = read_capped(std::io::stdin().lock(), handlers.download.max_bytes)?;
        diagnose_bytes(&bytes, &rules, &limits)?
    } else {
        use std::io::IsTerminal as _;
        // A bar only at a terminal (a redirected stderr stays clean), and only once the work
        // is large: a bundle that has scanned BAR_FROM_BYTES (a small zip can unpack to much).
        let terminal = std::io::stderr().is_terminal();
        let bar = std::sync::OnceLock::new();
        let observer = |p: &diagnosis::Progress| {
            if terminal && (bar.get().is_some() || p.bytes_scanned() >= BAR_FROM_BYTES) {
                show_progress(bar.get_or_init(progress_bar), p);
            }
        };
        let d = diagnosis::diagnose_path_observed(&args.path, &rules, &limits, &observer);
        if let Some(bar) = bar.get() {
            bar.finish_and_clear();
        }
        d?
    };
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&d)?;
        s.push('\n');
        s
    } else {
        let view = handlers::render::View {
            lang,
            role: handlers::Role::Engineer,
        };
        handlers::render::terminal::render_text(&handlers::render::DiagnosisView::new(
            &d, &rules, view,
        ))
    };
    print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A diagnosis that has scanned this many bytes shows a progress bar (when stderr is a
/// terminal).
const BAR_FROM_BYTES: u64 = 4 << 20;

/// The progress bar on stderr.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Show `p` on `bar`: while unpacking, the files and bytes so far; while reading, the bytes
/// read out of all of them.
fn show_progress(bar: &indicatif::ProgressBar, p: &diagnosis::Progress) {
    if p.reading() {
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_read);
        bar.set_message(format!(
            "read {}/{} files {}",
            p.files_read, p.files_total, p.current
        ));
    } else {
        bar.set_message(format!(
            "unpacking: {} files ({}) {}",
            p.files_unpacked,
            handlers::size(p.bytes_unpacked),
            p.current
        ));
    }
}

/// Read all of `input`, failing with a message naming the limit when it holds more than `max`
/// bytes.
fn read_capped(input: impl std::io::Read, max: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    input
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .context("reading standard input")?;
    if bytes.len() as u64 > max {
        anyhow::bail!(
            "standard input is larger than the download limit of {} (download.max_bytes = {max}); \
             save it to a file and diagnose the file",
            handlers::size(max)
        );
    }
    Ok(bytes)
}

/// Diagnose bytes read from standard input under [`STDIN_NAME`]: the engine reads bundles from
/// a path, so they go to a private temporary file first.
fn diagnose_bytes(
    bytes: &[u8],
    rules: &RuleSet,
    limits: &Limits,
) -> anyhow::Result<diagnosis::Diagnosis> {
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = dir.join(format!("casebot-stdin-{}-{nanos}.txt", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let written = file.write_all(bytes).and_then(|()| file.flush());
    drop(file);
    let result = written
        .with_context(|| format!("writing {}", path.display()))
        .and_then(|()| {
            diagnosis::diagnose_as(&path, STDIN_NAME, rules, limits).map_err(anyhow::Error::from)
        });
    let _ = std::fs::remove_file(&path);
    result
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `casebot rules lint`: prints every problem and exits 1 if there is any.
///
/// Defaults: `diagnosis/rules` and `tests/fixtures/rules` below the current directory (run it
/// from the workspace root).
pub fn lint(rules: Option<&Path>, fixtures: Option<&Path>) -> anyhow::Result<ExitCode> {
    let rules_dir = rules.map_or_else(|| PathBuf::from(DEFAULT_RULES_DIR), Path::to_path_buf);
    let fixtures_dir =
        fixtures.map_or_else(|| PathBuf::from(DEFAULT_FIXTURES_DIR), Path::to_path_buf);
    if !rules_dir.is_dir() {
        anyhow::bail!(
            "{}: no rules directory here (run from the workspace root or pass --rules DIR)",
            rules_dir.display()
        );
    }
    let problems = diagnosis::rule::lint(&rules_dir, &fixtures_dir);
    let mut text = String::new();
    for p in &problems {
        text.push_str(&format!("{p}\n"));
    }
    if problems.is_empty() {
        let set = RuleSet::load_dir(&rules_dir)?;
        text.push_str(&format!(
            "rules lint: {} rules in {}, fixtures in {}: ok\n",
            set.rules().len(),
            rules_dir.display(),
            fixtures_dir.display()
        ));
        print_stdout(&text)?;
        Ok(ExitCode::SUCCESS)
    } else {
        text.push_str(&format!("rules lint: {} problem(s)\n", problems.len()));
        print_stdout(&text)?;
        Ok(ExitCode::from(1))
    }
}

/// `casebot explain`: name and meaning of a code (en, zh or both); exit 1 when unknown.
pub fn explain(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let lang = match args.lang.as_deref() {
        Some(l) => Some(l.parse::<diagnosis::Lang>().map_err(anyhow::Error::msg)?),
        None => None,
    };
    match diagnosis::codes::explain_text(&args.code, lang) {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("casebot explain: {msg}");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_over_the_limit_names_the_limit() {
        let err = read_capped(&[b'x'; 2048][..], 1024)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 KB") && err.contains("download.max_bytes"),
            "{err}"
        );
        assert_eq!(read_capped(&b"abc"[..], 3).unwrap(), b"abc");
    }
}
