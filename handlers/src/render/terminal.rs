//! The terminal report of a [`DiagnosisView`] (`casebot diagnose`
//! without `--json`), in zh or en: root cause, confidence, decoded codes, evidence `file:line`, numbered steps with commands,
//! then alternatives, what is missing, and unexplained failures (log lines with secrets masked;
//! the `--json` document keeps them as read). Its labels come from the
//! catalogue, shared with the chat replies and summaries.

use std::fmt::Write as _;

use diagnosis::report::Lang;

use super::msg;
use super::view::{DiagnosisView, FindingView};

/// A quoted log line with its secrets masked, as in chat: the report is often pasted on.
fn masked(text: &str) -> String {
    crate::redact::redact(text).text
}

/// Labels in one language.
struct Labels {
    device: &'static str,
    os_build: &'static str,
    updates: &'static str,
    unknown: &'static str,
    no_problem: &'static str,
    root_cause: &'static str,
    confidence: &'static str,
    subject: &'static str,
    codes: &'static str,
    evidence: &'static str,
    steps: &'static str,
    alternatives: &'static str,
    hints_below: &'static str,
    confirm: &'static str,
    missing: &'static str,
    how: &'static str,
    unexplained: &'static str,
    files: &'static str,
    skipped: &'static str,
    rules: &'static str,
    rule: &'static str,
    lines: &'static str,
}

impl Labels {
    /// The labels in `lang`, from the catalogue: the chat replies and summaries use the same
    /// keys for the same things.
    fn new(lang: Lang) -> Labels {
        let m = |key| msg(lang, key);
        Labels {
            device: m("label.device"),
            os_build: m("label.os_build"),
            updates: m("terminal.updates"),
            unknown: m("label.unknown"),
            no_problem: m("terminal.no_problem"),
            root_cause: m("label.root_cause"),
            confidence: m("label.confidence"),
            subject: m("terminal.subject"),
            codes: m("label.codes"),
            evidence: m("label.evidence"),
            steps: m("label.steps"),
            alternatives: m("label.alternatives"),
            hints_below: m("terminal.hints_below"),
            confirm: m("label.to_confirm"),
            missing: m("terminal.missing"),
            how: m("terminal.how"),
            unexplained: m("label.unexplained"),
            files: m("terminal.files"),
            skipped: m("terminal.skipped"),
            rules: m("terminal.rules"),
            rule: m("label.rule"),
            lines: m("terminal.lines"),
        }
    }
}

/// Render the terminal report of `d` (an engineer's view: it shows every log line).
pub fn render_text(d: &DiagnosisView<'_>) -> String {
    let l = &Labels::new(d.lang);
    let mut out = String::new();
    header(&mut out, d, l);
    let confident: Vec<&FindingView<'_>> = d.findings.iter().filter(|f| f.confident).collect();
    if confident.is_empty() {
        let _ = writeln!(out, "\n{}", l.no_problem);
    }
    for (i, f) in confident.iter().enumerate() {
        finding(&mut out, i + 1, f, l);
    }
    alternatives(&mut out, d, l);
    missing(&mut out, d, l);
    unexplained(&mut out, d, l);
    footer(&mut out, d, l);
    out
}

fn header(out: &mut String, d: &DiagnosisView<'_>, l: &Labels) {
    let short = d.bundle.sha256.get(..12).unwrap_or(&d.bundle.sha256);
    let _ = writeln!(
        out,
        "casebot diagnose: {} ({} bytes, sha256 {short}…)",
        d.bundle.name, d.bundle.bytes
    );
    let name = d.device.name.as_deref().unwrap_or(l.unknown);
    let build = d.device.os_build.as_deref().unwrap_or(l.unknown);
    let updates = if d.device.updates.is_empty() {
        l.unknown.to_string()
    } else {
        d.device.updates.join(", ")
    };
    let _ = writeln!(
        out,
        "{}: {name} · {}: {build} · {}: {updates}",
        l.device, l.os_build, l.updates
    );
}

fn finding(out: &mut String, n: usize, f: &FindingView<'_>, l: &Labels) {
    let _ = writeln!(
        out,
        "\n{} {n}: {}\n  {} · {} {:.2} · {} {}",
        l.root_cause, f.title, f.root_cause, l.confidence, f.confidence, l.rule, f.rule
    );
    if !f.subject.is_empty() {
        let s: Vec<String> = f.subject.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "  {}: {}", l.subject, s.join(", "));
    }
    if !f.codes.is_empty() {
        let _ = writeln!(out, "  {}:", l.codes);
        for c in &f.codes {
            let name = if c.name.is_empty() { "?" } else { c.name };
            let _ = writeln!(out, "    {} {name} — {}", c.code, c.meaning);
        }
    }
    if !f.evidence.is_empty() {
        let _ = writeln!(out, "  {}:", l.evidence);
        for e in f.evidence {
            let _ = writeln!(out, "    {}:{}  {}", e.file, e.line, masked(&e.text));
        }
    }
    if !f.steps.is_empty() {
        let _ = writeln!(out, "  {}:", l.steps);
        for (i, s) in f.steps.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", i + 1, s.text);
            if let Some(c) = &s.command {
                let _ = writeln!(out, "       > {c}");
            }
        }
    }
}

fn alternatives(out: &mut String, d: &DiagnosisView<'_>, l: &Labels) {
    let hints: Vec<&FindingView<'_>> = d.findings.iter().filter(|f| !f.confident).collect();
    if hints.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}{}:", l.alternatives, l.hints_below);
    for f in hints {
        let _ = writeln!(
            out,
            "  - {} ({}, {:.2})",
            f.title, f.root_cause, f.confidence
        );
        for c in &f.confirm {
            let _ = writeln!(out, "    {}: {c}", l.confirm);
        }
        for e in f.evidence.iter().take(3) {
            let _ = writeln!(out, "    {}:{}  {}", e.file, e.line, masked(&e.text));
        }
    }
}

fn missing(out: &mut String, d: &DiagnosisView<'_>, l: &Labels) {
    if d.missing.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}:", l.missing);
    for m in &d.missing {
        let _ = writeln!(out, "  - {}: {}", m.kind, m.why);
        let _ = writeln!(out, "    {}: {}", l.how, m.how);
    }
}

fn unexplained(out: &mut String, d: &DiagnosisView<'_>, l: &Labels) {
    if d.unexplained.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{} ({}):", l.unexplained, d.unexplained.len());
    for u in d.unexplained {
        let _ = writeln!(
            out,
            "  {}:{} ×{}  {}",
            u.file,
            u.line,
            u.count,
            masked(&u.text)
        );
    }
}

fn footer(out: &mut String, d: &DiagnosisView<'_>, l: &Labels) {
    let _ = writeln!(out, "\n{}: {}", l.files, d.bundle.files.len());
    for f in &d.bundle.files {
        let _ = writeln!(
            out,
            "  {} [{}, {}, {} {}]",
            f.path, f.kind, f.encoding, f.lines, l.lines
        );
    }
    if !d.bundle.skipped.is_empty() {
        let _ = writeln!(out, "{}: {}", l.skipped, d.bundle.skipped.len());
        for s in &d.bundle.skipped {
            let _ = writeln!(out, "  {} — {}", s.path, s.reason);
        }
    }
    let short = d.rules_version.get(..12).unwrap_or(d.rules_version);
    let _ = writeln!(out, "{}: {short}", l.rules);
}
