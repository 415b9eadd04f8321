//! The evidence view: each evidence line of a device's diagnosis with the lines around it, read
//! from the stored bundle (the chat can only quote the line itself). The file's kind and
//! encoding are shown; every line is redacted exactly as the chat redacts it
//! (`handlers::redact`), and the template escapes it: a log line is only ever text.

use std::collections::BTreeMap;
use std::path::Path;

use askama::Template;
use diagnosis::{Bundle, Diagnosis, Limits};
use handlers::render::msg;
use store::{CaseStore, DeviceRecord};

use crate::page::Page;

/// Lines shown before and after each evidence line.
pub const CONTEXT: u64 = 20;

/// The HTML id of evidence line `j` of finding `i` (the case page links to it).
pub fn anchor(finding: usize, evidence: usize) -> String {
    format!("f{finding}-e{evidence}")
}

/// One line of context.
#[derive(Clone)]
pub struct ContextLine {
    pub no: u64,
    pub text: String,
    /// The evidence line itself.
    pub hit: bool,
}

/// One evidence line with its context.
pub struct Excerpt {
    pub anchor: String,
    pub file: String,
    pub line: u64,
    pub kind: String,
    pub encoding: String,
    pub lines: Vec<ContextLine>,
    /// Why no context could be shown (binary file, file not in the bundle…); empty otherwise.
    pub note: String,
}

/// A finding and its excerpts.
pub struct FindingExcerpts {
    pub title: String,
    pub root_cause: String,
    pub confidence: String,
    pub excerpts: Vec<Excerpt>,
}

/// A file of the bundle, as detected.
pub struct FileRow {
    pub path: String,
    pub kind: String,
    pub encoding: String,
    pub lines: u64,
}

/// The evidence page.
#[derive(Template)]
#[template(path = "evidence.html")]
pub struct EvidencePage {
    pub page: Page,
    pub case_id: String,
    pub case_url: String,
    pub device: String,
    pub bundle: String,
    pub files: Vec<FileRow>,
    pub findings: Vec<FindingExcerpts>,
    /// Why the bundle could not be read; empty otherwise.
    pub problem: String,
}

/// A wanted line: (file, line) → where to put its excerpt.
type Wanted = BTreeMap<String, Vec<u64>>;

/// Build the page for `device` of case `case_id` (blocking: reads the stored bundle).
pub fn build(
    page: Page,
    store: &dyn CaseStore,
    limits: &Limits,
    case_id: &str,
    device: &DeviceRecord,
) -> EvidencePage {
    let lang = page.lang;
    let mut out = EvidencePage {
        case_url: page.case_url(case_id),
        case_id: case_id.to_string(),
        device: device.name.clone(),
        bundle: String::new(),
        files: Vec::new(),
        findings: Vec::new(),
        problem: String::new(),
        page,
    };
    let Some(diag) = device.diagnosis.as_ref() else {
        out.problem = msg(lang, "web.not_diagnosed_yet_2").to_string();
        return out;
    };
    out.bundle = diag.bundle.name.clone();
    out.files = diag
        .bundle
        .files
        .iter()
        .map(|f| FileRow {
            path: f.path.clone(),
            kind: f.kind.clone(),
            encoding: f.encoding.clone(),
            lines: f.lines,
        })
        .collect();
    let mut wanted = Wanted::new();
    for f in &diag.findings {
        for e in &f.evidence {
            wanted.entry(e.file.clone()).or_default().push(e.line);
        }
    }
    // The readable copy (decrypted, in an encrypted store) lives until the context is read.
    let read = open_bundle(store, limits, device, diag)
        .map(|(_copy, bundle)| read_context(&bundle, &wanted, lang));
    let context = match read {
        Ok(c) => c,
        Err(why) => {
            out.problem = why;
            BTreeMap::new()
        }
    };
    out.findings = excerpts(diag, &context, &out.files, &out.page.rules, lang);
    out
}

/// Context per (file, line).
type Context = BTreeMap<(String, u64), Result<Vec<ContextLine>, String>>;

fn excerpts(
    diag: &Diagnosis,
    context: &Context,
    files: &[FileRow],
    rules: &diagnosis::RuleSet,
    lang: diagnosis::Lang,
) -> Vec<FindingExcerpts> {
    diag.findings
        .iter()
        .enumerate()
        .map(|(i, f)| FindingExcerpts {
            title: handlers::render::finding_title(f, rules, lang),
            root_cause: f.root_cause.clone(),
            confidence: format!("{:.0}%", f.confidence * 100.0),
            excerpts: f
                .evidence
                .iter()
                .enumerate()
                .map(|(j, e)| {
                    let file = files.iter().find(|r| r.path == e.file);
                    let (lines, note) = match context.get(&(e.file.clone(), e.line)) {
                        Some(Ok(lines)) => (lines.clone(), String::new()),
                        Some(Err(note)) => (only_line(e.line, &e.text), note.clone()),
                        None => (only_line(e.line, &e.text), String::new()),
                    };
                    Excerpt {
                        anchor: anchor(i, j),
                        file: e.file.clone(),
                        line: e.line,
                        kind: file.map(|r| r.kind.clone()).unwrap_or_default(),
                        encoding: file.map(|r| r.encoding.clone()).unwrap_or_default(),
                        lines,
                        note,
                    }
                })
                .collect(),
        })
        .collect()
}

/// The evidence line alone (as the diagnosis quoted it), when the file gives no context.
fn only_line(no: u64, text: &str) -> Vec<ContextLine> {
    vec![ContextLine {
        no,
        text: handlers::redact::redact(text).text,
        hit: true,
    }]
}

/// Open the bundle the diagnosis was made from, as it was stored, with the readable copy it was
/// opened from.
fn open_bundle(
    store: &dyn CaseStore,
    limits: &Limits,
    device: &DeviceRecord,
    diag: &Diagnosis,
) -> Result<(store::PlainBundle, Bundle), String> {
    let sha = &diag.bundle.sha256;
    let name = device
        .bundles
        .iter()
        .find(|b| &b.sha256 == sha)
        .map_or(diag.bundle.name.as_str(), |b| b.name.as_str());
    let copy = store
        .open_bundle(sha)
        .map_err(|e| format!("stored bundle: {e}"))?
        .ok_or_else(|| format!("the stored bundle {name} is no longer on disk"))?;
    let bundle = open_stored(copy.path(), name, limits)?;
    Ok((copy, bundle))
}

fn open_stored(path: &Path, name: &str, limits: &Limits) -> Result<Bundle, String> {
    Bundle::open_as(path, name, limits).map_err(|e| e.to_string())
}

/// Read the ±[`CONTEXT`] lines around every wanted line, one pass per file.
fn read_context(bundle: &Bundle, wanted: &Wanted, lang: diagnosis::Lang) -> Context {
    let mut out = Context::new();
    for (path, lines) in wanted {
        let Some(file) = bundle.files.iter().find(|f| &f.path == path) else {
            for &l in lines {
                let note = msg(lang, "web.this_file_is_not_in");
                out.insert((path.clone(), l), Err(note.to_string()));
            }
            continue;
        };
        let windows = match file_windows(file, lines) {
            Ok(w) => w,
            Err(_) => {
                let note = msg(lang, "web.binary_event_log_the_event");
                for &l in lines {
                    out.insert((path.clone(), l), Err(note.to_string()));
                }
                continue;
            }
        };
        for (l, w) in windows {
            out.insert((path.clone(), l), Ok(w));
        }
    }
    out
}

/// Stream `file` once, keeping the lines within [`CONTEXT`] of each wanted line.
fn file_windows(
    file: &diagnosis::bundle::BundleFile,
    wanted: &[u64],
) -> std::io::Result<BTreeMap<u64, Vec<ContextLine>>> {
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let last = wanted.last().copied().unwrap_or(0) + CONTEXT;
    let mut windows: BTreeMap<u64, Vec<ContextLine>> =
        wanted.iter().map(|&l| (l, Vec::new())).collect();
    for line in file.lines()? {
        let line = line?;
        if line.no > last {
            break;
        }
        let near: Vec<u64> = wanted
            .iter()
            .copied()
            .filter(|&w| line.no + CONTEXT >= w && line.no <= w + CONTEXT)
            .collect();
        if near.is_empty() {
            continue;
        }
        let text = handlers::redact::redact(&line.text).text;
        for w in near {
            if let Some(v) = windows.get_mut(&w) {
                v.push(ContextLine {
                    no: line.no,
                    text: text.clone(),
                    hit: line.no == w,
                });
            }
        }
    }
    Ok(windows)
}
