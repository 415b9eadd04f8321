//! Purpose: render diagnoses into chat-agnostic [`Reply`]s in zh-CN or en, for customers (plain
//! words, numbered steps, what to reply next, missing logs) or engineers (also confidence,
//! alternatives, decoded codes, evidence `file:line`). Every reply respects
//! [`MAX_MESSAGE_CHARS`]: long text is split on line boundaries (code fences are closed and
//! reopened across the cut) and the full report is attached as a file.

use std::fmt::Write as _;

use diagnosis::Lang;
use store::{CaseId, Recurrence};

use crate::command::{Command, Verdict, parse_custom_id};
use crate::redact::redact;
use crate::{Button, ButtonStyle, MAX_MESSAGE_CHARS, Reply, ReplyFile, Role};

mod catalogue;
pub mod terminal;
pub mod view;

pub use catalogue::{fmt, msg};
pub use view::{CaseView, DiagnosisView, FindingView, finding_title};

/// Who a text is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Language.
    pub lang: Lang,
    /// Audience.
    pub role: Role,
}

/// Split `text` into chunks of at most [`MAX_MESSAGE_CHARS`] characters at line boundaries.
/// A chunk cut inside a code fence closes it and the next chunk reopens it.
pub fn chunk(text: &str) -> Vec<String> {
    // Room for a closing fence plus newline on a cut inside a code block.
    const FENCE: usize = 4;
    let limit = MAX_MESSAGE_CHARS - FENCE;
    let mut chunks = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    let mut in_fence = false;
    for raw in text.lines() {
        // A single line longer than the limit is cut into pieces itself.
        let pieces = split_long(raw, limit - FENCE);
        for line in pieces {
            let len = line.chars().count() + 1;
            if cur_len + len > limit && !cur.is_empty() {
                if in_fence {
                    cur.push_str("```\n");
                }
                let done = std::mem::take(&mut cur).trim_end().to_string();
                // Blank lines alone make no message (chat platforms refuse empty ones).
                if !done.trim().is_empty() {
                    chunks.push(done);
                }
                cur_len = 0;
                if in_fence {
                    cur.push_str("```\n");
                    cur_len = 4;
                }
            }
            cur.push_str(&line);
            cur.push('\n');
            cur_len += len;
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
            }
        }
    }
    if !cur.trim().is_empty() {
        chunks.push(cur.trim_end().to_string());
    }
    chunks
}

/// Cut a line longer than `limit` into pieces of at most `limit` characters. A piece after the
/// first that would begin with three backticks would open or close a code block on its own
/// line: its first backtick is escaped (`\``), which Markdown shows as the backtick itself.
fn split_long(line: &str, limit: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= limit {
        return vec![line.to_string()];
    }
    chars
        .chunks(limit - 1)
        .enumerate()
        .map(|(i, c)| {
            let piece: String = c.iter().collect();
            let lead = piece.len() - piece.trim_start().len();
            if i > 0 && piece[lead..].starts_with("```") {
                format!("{}\\{}", &piece[..lead], &piece[lead..])
            } else {
                piece
            }
        })
        .collect()
}

/// Replies for `text`, with `file` attached to the last one.
pub fn replies(text: &str, file: Option<ReplyFile>) -> Vec<Reply> {
    replies_of(chunk(text), file)
}

/// Replies for a text in two parts: one message when it fits, else the first screen on its own
/// (so a phone shows it whole) and the detail after it.
fn replies_first(first: &str, detail: &str, file: Option<ReplyFile>) -> Vec<Reply> {
    let whole = format!("{first}{detail}");
    if whole.trim_end().chars().count() <= MAX_MESSAGE_CHARS {
        return replies(&whole, file);
    }
    let mut chunks = chunk(first);
    chunks.extend(chunk(detail));
    replies_of(chunks, file)
}

fn replies_of(chunks: Vec<String>, file: Option<ReplyFile>) -> Vec<Reply> {
    let mut out: Vec<Reply> = chunks
        .into_iter()
        .map(|text| Reply {
            text,
            ..Reply::default()
        })
        .collect();
    if let Some(f) = file {
        match out.last_mut() {
            Some(last) => last.files.push(f),
            None => out.push(Reply {
                files: vec![f],
                ..Reply::default()
            }),
        }
    }
    out
}

/// `replies` with `buttons` under the last one.
pub fn with_buttons(mut replies: Vec<Reply>, buttons: Vec<Button>) -> Vec<Reply> {
    match replies.last_mut() {
        Some(last) => last.buttons = buttons,
        None => replies.push(Reply {
            buttons,
            ..Reply::default()
        }),
    }
    replies
}

/// The buttons under a device's diagnosis, labelled in `lang`: **Fixed** and **Still failing**
/// (anyone in the case) and **Re-diagnose** (engineers; the command table says so). A device
/// whose name does not fit in a custom id gets no buttons; typed commands still work.
pub fn device_buttons(case_id: &CaseId, device: &str, lang: Lang) -> Vec<Button> {
    let verdict = |verdict| Command::Device {
        name: device.to_string(),
        verdict,
        note: None,
    };
    let rediagnose = Command::Rediagnose {
        device: device.to_string(),
    };
    [
        (
            verdict(Verdict::Fixed),
            "button.fixed",
            ButtonStyle::Success,
        ),
        (
            verdict(Verdict::Failing),
            "button.still_failing",
            ButtonStyle::Danger,
        ),
        (rediagnose, "button.rediagnose", ButtonStyle::Secondary),
    ]
    .into_iter()
    .filter_map(|(cmd, key, style)| command_button(case_id, cmd, msg(lang, key), style))
    .collect()
}

/// The button that runs `cmd` in case `case_id`; `None` when the command cannot be a button
/// (its custom id would not read back as the same command and case).
pub fn command_button(
    case_id: &CaseId,
    cmd: Command,
    label: &str,
    style: ButtonStyle,
) -> Option<Button> {
    let custom_id = cmd.custom_id(Some(case_id))?;
    let read = parse_custom_id(&custom_id).ok()?;
    (read == (Some(case_id.clone()), cmd)).then(|| Button {
        label: label.to_string(),
        custom_id,
        style,
    })
}

/// A one-chunk reply (the text is short by construction).
pub fn reply(text: impl Into<String>) -> Reply {
    Reply {
        text: text.into(),
        ..Reply::default()
    }
}

/// A log line fit for one code span: secrets masked, backticks neutralised.
pub(crate) fn code_span_text(text: &str) -> String {
    redact(text).text.replace('`', "'")
}

/// Evidence text as one code span, cut at 300 characters.
fn evidence_line(text: &str) -> String {
    let clean = code_span_text(text);
    let mut s: String = clean.chars().take(300).collect();
    if clean.chars().count() > 300 {
        s.push('…');
    }
    s
}

fn push_steps(out: &mut String, steps: &[view::StepView<'_>]) {
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {}", i + 1, step.text);
        if let Some(cmd) = &step.command {
            let _ = writeln!(out, "```\n{cmd}\n```");
        }
    }
}

fn push_missing(out: &mut String, missing: &[view::MissingView<'_>], lang: Lang) {
    if missing.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", msg(lang, "render.logs_still_missing_please"));
    for m in missing {
        let _ = writeln!(out, "- `{}`: {}\n  {}", m.kind, m.why, m.how);
    }
}

fn next_reply_hint(out: &mut String, device: &str, lang: Lang) {
    let hint = fmt(lang, "render.next_reply_hint", &[("device", &device)]);
    let _ = writeln!(out, "{hint}");
}

/// The customer's view: plain words, numbered steps, what to reply next, missing logs.
pub fn customer_text(device: &str, d: &DiagnosisView<'_>) -> String {
    let (first, detail) = customer_parts(device, d);
    first + &detail
}

/// The customer's reply in two parts: the first screen, then the missing logs (when a finding
/// was made; without one, the logs to collect are the first screen).
fn customer_parts(device: &str, d: &DiagnosisView<'_>) -> (String, String) {
    let mut first = format!("**{} `{device}`**\n", msg(d.lang, "label.device"));
    let mut detail = String::new();
    push_customer_body(&mut first, &mut detail, d, Some(device));
    (first, detail)
}

/// The customer's first screen (what is wrong in plain words, the steps, what to reply) into
/// `first` and the missing logs into `detail`; `hint_device` adds what to reply after the fix
/// (only in a case: outside one there is no device to verify). Without a finding the missing
/// logs, with how to collect them, are what to run and send back.
fn push_customer_body(
    first: &mut String,
    detail: &mut String,
    d: &DiagnosisView<'_>,
    hint_device: Option<&str>,
) {
    let lang = d.lang;
    match d.top() {
        Some(f) => {
            let _ = writeln!(
                first,
                "{}{}",
                msg(lang, "render.what_wrong"),
                f.full_title()
            );
            if !f.steps.is_empty() {
                let _ = writeln!(first, "\n{}", msg(lang, "render.please_do_following"));
                push_steps(first, &f.steps);
            }
            if let Some(device) = hint_device {
                next_reply_hint(first, device, lang);
            }
            push_missing(detail, &d.missing, lang);
        }
        None => {
            let _ = writeln!(first, "{}", msg(lang, "render.no_clear_cause_was"));
            push_missing(first, &d.missing, lang);
        }
    }
}

/// The first screen of a device's diagnosis reply in a case, as a phone shows it before
/// anything else: what is wrong, what to run, what to send back. The first message of
/// [`diagnosis_replies`] is this text, whole, whenever it fits in one message.
pub fn first_screen(case_id: &CaseId, device: &str, d: &DiagnosisView<'_>) -> String {
    match d.role {
        Role::Engineer => engineer_parts(case_id, device, d, &Recurrence::default(), 5).0,
        Role::Customer => customer_parts(device, d).0,
    }
}

fn push_finding_detail(out: &mut String, f: &FindingView<'_>, lang: Lang, max_evidence: usize) {
    let subject: Vec<String> = f.subject.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "{}: `{}` · {} `{}` · {} {:.0}%{}",
        msg(lang, "label.root_cause"),
        f.root_cause,
        msg(lang, "label.rule"),
        f.rule,
        msg(lang, "label.confidence"),
        f.confidence * 100.0,
        if subject.is_empty() {
            String::new()
        } else {
            format!(" · {}", subject.join(", "))
        }
    );
    for c in &f.codes {
        let mut line = format!("- `{}`", c.code);
        if !c.name.is_empty() {
            line.push(' ');
            line.push_str(c.name);
        }
        if !c.meaning.is_empty() {
            line.push_str(" — ");
            line.push_str(&c.meaning);
        }
        let _ = writeln!(out, "{line}");
    }
    push_list(
        out,
        msg(lang, "label.evidence"),
        f.evidence,
        max_evidence,
        |e| format!("`{}:{}` `{}`", e.file, e.line, evidence_line(&e.text)),
    );
    if f.evidence.len() > max_evidence {
        let more = f.evidence.len() - max_evidence;
        let _ = writeln!(
            out,
            "- … +{more} ({})",
            msg(lang, "render.see_attached_report")
        );
    }
}

fn push_alternatives(out: &mut String, d: &DiagnosisView<'_>) {
    let lang = d.lang;
    let alts = d.alternatives();
    if alts.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}:", msg(lang, "label.alternatives"));
    for f in alts.iter().take(5) {
        let hint = if !f.confident {
            msg(lang, "render.hint")
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "- {} `{}` {:.0}%{hint}",
            f.title,
            f.root_cause,
            f.confidence * 100.0
        );
        for c in &f.confirm {
            let _ = writeln!(out, "  - {}: {c}", msg(lang, "label.to_confirm"));
        }
    }
}

fn push_bundle_facts(out: &mut String, d: &DiagnosisView<'_>, max: usize) {
    let lang = d.lang;
    let dev = d.device;
    let _ = writeln!(
        out,
        "\n{}: `{}` · {} {} · build {} · {}",
        msg(lang, "render.bundle"),
        d.bundle.name,
        d.bundle.files.len(),
        msg(lang, "render.files"),
        dev.os_build.as_deref().unwrap_or("?"),
        if dev.updates.is_empty() {
            "-".to_string()
        } else {
            dev.updates.join(", ")
        }
    );
    for s in d.bundle.skipped.iter().take(max) {
        let _ = writeln!(
            out,
            "- {}: `{}` — {}",
            msg(lang, "render.skipped"),
            s.path,
            s.reason
        );
    }
    push_list(
        out,
        msg(lang, "label.unexplained"),
        d.unexplained,
        max,
        |u| {
            format!(
                "`{}:{}` ×{} `{}`",
                u.file,
                u.line,
                u.count,
                evidence_line(&u.text)
            )
        },
    );
}

/// `heading:` and the first `max` of `items` as a bullet list; nothing when there are none.
fn push_list<T>(
    out: &mut String,
    heading: &str,
    items: &[T],
    max: usize,
    line: impl Fn(&T) -> String,
) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{heading}:");
    for item in items.iter().take(max) {
        let _ = writeln!(out, "- {}", line(item));
    }
}

/// The engineer's view; `max` bounds evidence and list lengths (the file report is unbounded).
pub fn engineer_text(
    case_id: &CaseId,
    device: &str,
    d: &DiagnosisView<'_>,
    recurrence: &Recurrence,
    max: usize,
) -> String {
    let (first, detail) = engineer_parts(case_id, device, d, recurrence, max);
    first + &detail
}

/// The engineer's reply in two parts: the first screen, then the detail.
fn engineer_parts(
    case_id: &CaseId,
    device: &str,
    d: &DiagnosisView<'_>,
    recurrence: &Recurrence,
    max: usize,
) -> (String, String) {
    let mut first = format!("**{case_id} · `{device}`**\n");
    push_engineer_first_screen(&mut first, d, Some(device));
    let mut detail = String::new();
    push_engineer_detail(&mut detail, d, recurrence, max);
    (first, detail)
}

/// What a phone shows first, for an engineer: what is wrong (root cause and confidence), what
/// to run (the steps, or the logs to collect), what to send back. `device` is the case's
/// device to verify (none outside a case).
fn push_engineer_first_screen(out: &mut String, d: &DiagnosisView<'_>, device: Option<&str>) {
    let lang = d.lang;
    let root_cause = msg(lang, "label.root_cause");
    match d.top() {
        Some(f) => {
            let _ = writeln!(
                out,
                "**{root_cause}:** {} · {:.0}%",
                f.full_title(),
                f.confidence * 100.0
            );
            if !f.steps.is_empty() {
                let _ = writeln!(out, "**{}:**", msg(lang, "label.steps"));
                push_steps(out, &f.steps);
            }
        }
        None => {
            let none = msg(lang, "render.no_finding_at_or");
            let _ = writeln!(out, "**{root_cause}:** {none}");
            if !d.missing.is_empty() {
                let _ = writeln!(out, "{}", msg(lang, "render.to_collect"));
                for (i, m) in d.missing.iter().enumerate() {
                    let _ = writeln!(out, "{}. `{}`: {}", i + 1, m.kind, m.how);
                }
            }
        }
    }
    if let Some(line) = send_back(d, device) {
        let _ = writeln!(out, "{line}");
    }
}

/// The "send back" line of the first screen: the verdict to reply after the fix (in a case),
/// or the logs to attach; none when there is nothing to ask for.
fn send_back(d: &DiagnosisView<'_>, device: Option<&str>) -> Option<String> {
    let lang = d.lang;
    let kinds: Vec<String> = d.missing.iter().map(|m| format!("`{}`", m.kind)).collect();
    match (d.top(), device) {
        (Some(_), Some(device)) => {
            let mut line = fmt(lang, "render.send_back_verdict", &[("device", &device)]);
            if !kinds.is_empty() {
                line.push_str(&fmt(
                    lang,
                    "render.send_back_logs_too",
                    &[("kinds", &kinds.join(", "))],
                ));
            }
            Some(line)
        }
        (Some(_), None) => Some(msg(lang, "render.send_back_loose").to_string()),
        (None, _) if !kinds.is_empty() => Some(msg(lang, "render.send_back_logs").to_string()),
        (None, _) => None,
    }
}

/// The engineer's detail: the finding's root-cause line, codes and evidence, recurrence,
/// alternatives, bundle facts and the missing logs (with why) when a finding was made.
fn push_engineer_detail(
    out: &mut String,
    d: &DiagnosisView<'_>,
    recurrence: &Recurrence,
    max: usize,
) {
    let lang = d.lang;
    let _ = writeln!(out, "\n{}", msg(lang, "render.details"));
    if let Some(f) = d.top() {
        push_finding_detail(out, f, lang, max);
    }
    push_recurrence(out, recurrence, lang);
    push_alternatives(out, d);
    push_bundle_facts(out, d, max);
    if d.top().is_some() {
        push_missing(out, &d.missing, lang);
    }
}

/// "Seen in N other case(s)", naming the most recent of them (`…` when there are more).
fn push_recurrence(out: &mut String, others: &Recurrence, lang: Lang) {
    if others.count == 0 {
        return;
    }
    let mut list: Vec<&str> = others.recent.iter().map(CaseId::as_str).collect();
    if (list.len() as u64) < others.count {
        list.insert(0, "…");
    }
    let line = fmt(
        lang,
        "render.recurrence",
        &[("count", &others.count), ("cases", &list.join(", "))],
    );
    let _ = writeln!(out, "{line}");
}

/// File name of a device report: `CAS-…-device.md`.
pub fn report_file_name(case_id: &CaseId, device: &str) -> String {
    let safe: String = device
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{case_id}-{safe}.md")
}

/// The replies for one device's diagnosis. Engineers always get the full report as a file;
/// customers get one only when the message had to be split.
pub fn diagnosis_replies(
    case_id: &CaseId,
    device: &str,
    d: &DiagnosisView<'_>,
    recurrence: &Recurrence,
) -> Vec<Reply> {
    let name = report_file_name(case_id, device);
    match d.role {
        Role::Engineer => {
            let full = engineer_text(case_id, device, d, recurrence, usize::MAX);
            let (first, detail) = engineer_parts(case_id, device, d, recurrence, 5);
            let file = ReplyFile {
                name,
                bytes: full.into_bytes(),
            };
            replies_first(&first, &detail, Some(file))
        }
        Role::Customer => {
            let (first, detail) = customer_parts(device, d);
            let text = format!("{first}{detail}");
            let file = (text.chars().count() > MAX_MESSAGE_CHARS).then(|| ReplyFile {
                name,
                bytes: text.into_bytes(),
            });
            replies_first(&first, &detail, file)
        }
    }
}

/// The replies for a diagnosis made outside any case (log lines pasted in a channel): headed by
/// the name the lines were stored under, with no case id and nothing to verify yet. Engineers
/// get the full report as a file, as in a case.
pub fn loose_replies(name: &str, d: &DiagnosisView<'_>) -> Vec<Reply> {
    let head = format!("**`{name}`**\n");
    match d.role {
        Role::Engineer => {
            let mut first = head;
            push_engineer_first_screen(&mut first, d, None);
            let (mut full, mut detail) = (first.clone(), String::new());
            push_engineer_detail(&mut full, d, &Recurrence::default(), usize::MAX);
            push_engineer_detail(&mut detail, d, &Recurrence::default(), 5);
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            let file = ReplyFile {
                name: format!("{stem}.md"),
                bytes: full.into_bytes(),
            };
            replies_first(&first, &detail, Some(file))
        }
        Role::Customer => {
            let (mut first, mut detail) = (head, String::new());
            push_customer_body(&mut first, &mut detail, d, None);
            replies_first(&first, &detail, None)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use diagnosis::RuleSet;
    use diagnosis::report::{BundleSummary, Device, Diagnosis, Evidence, Finding, Missing, Step};
    use std::sync::{Arc, OnceLock};

    /// The built-in rule set, compiled once for every test.
    pub(crate) fn rules() -> &'static Arc<RuleSet> {
        static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
        RULES.get_or_init(|| Arc::new(RuleSet::builtin().expect("built-in rules compile")))
    }

    /// A Winmgmt-disabled diagnosis like the founding case's first device, with the texts of
    /// the built-in rule `ai-service-disabled`.
    pub(crate) fn winmgmt() -> Diagnosis {
        let rule = rules().rule("ai-service-disabled").expect("rule");
        let vars: std::collections::BTreeMap<String, String> = [
            ("service".to_string(), "Winmgmt".to_string()),
            ("kb".to_string(), "KB5034763".to_string()),
        ]
        .into();
        let (why, how) = rule.missing_texts("services").expect("missing entry");
        let finding = Finding {
            root_cause: "service-disabled-advanced-installer".into(),
            rule: "ai-service-disabled".into(),
            title: rule.title.clone(),
            confidence: 0.95,
            subject: [("service".to_string(), "Winmgmt".to_string())].into(),
            codes: vec![diagnosis::codes::lookup(0x8007_0422)],
            evidence: vec![Evidence {
                file: "wcc0021z675842/CBS.log".into(),
                line: 14,
                text: "Failed execution of queue item Installer: WMI ({guid}) with HRESULT_FROM_WIN32(1058)".into(),
            }],
            steps: rule
                .step_texts()
                .map(|t| Step {
                    text: diagnosis::rule::fill(t.text.en, &vars),
                    command: t.command.map(|c| diagnosis::rule::render(c, &vars)),
                })
                .collect(),
            confirm: vec![],
            vars,
        };
        Diagnosis {
            schema: diagnosis::report::SCHEMA.into(),
            bundle: BundleSummary {
                name: "device1.zip".into(),
                missing: vec![Missing {
                    kind: "services".into(),
                    why: why.en.into(),
                    how: how.en.into(),
                    rule: Some(rule.id.clone()),
                    vars: Default::default(),
                }],
                ..Default::default()
            },
            device: Device {
                name: Some("wcc0021z675842".into()),
                os_build: Some("19041.4046".into()),
                updates: vec!["KB5034763".into()],
            },
            findings: vec![finding],
            unexplained: vec![],
            rules_version: "v1".into(),
        }
    }

    /// `d` for `lang` and `role`.
    pub(crate) fn view(d: &Diagnosis, lang: Lang, role: Role) -> DiagnosisView<'_> {
        DiagnosisView::new(d, rules(), View { lang, role })
    }

    fn id() -> CaseId {
        CaseId::parse("CAS-11694-G2W9Y6").unwrap()
    }

    #[test]
    fn device_buttons_carry_their_command_and_the_case_language() {
        let buttons = device_buttons(&id(), "PC2", Lang::Zh);
        let labels: Vec<&str> = buttons.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["已修复", "仍失败", "重新诊断"]);
        let commands: Vec<_> = buttons
            .iter()
            .map(|b| parse_custom_id(&b.custom_id).unwrap())
            .collect();
        assert_eq!(
            commands[1],
            (
                Some(id()),
                Command::Device {
                    name: "PC2".into(),
                    verdict: Verdict::Failing,
                    note: None
                }
            )
        );
        assert_eq!(
            commands[2].1,
            Command::Rediagnose {
                device: "PC2".into()
            }
        );
        // A name too long for a custom id gets no buttons rather than broken ones.
        assert!(device_buttons(&id(), &"x".repeat(90), Lang::En).is_empty());
        let replies = with_buttons(vec![reply("a"), reply("b")], buttons);
        assert!(replies[0].buttons.is_empty());
        assert_eq!(replies[1].buttons.len(), 3);
    }

    #[test]
    fn customer_sees_steps_and_next_reply_but_no_evidence() {
        let d = winmgmt();
        let r = diagnosis_replies(
            &id(),
            "wcc0021z675842",
            &view(&d, Lang::Zh, Role::Customer),
            &Recurrence::default(),
        );
        let text: String = r.iter().map(|r| r.text.as_str()).collect();
        assert!(text.contains("高级安装程序依赖的服务被禁用"), "{text}");
        assert!(
            text.contains("1. 将 Winmgmt 服务改回自动启动（以管理员身份运行命令提示符）。\n```\nsc config winmgmt start= auto\n```"),
            "{text}"
        );
        assert!(
            text.contains("`@casebot device wcc0021z675842 fixed`"),
            "{text}"
        );
        assert!(text.contains("替换为失败安装程序对应的服务名"), "{text}");
        assert!(!text.contains("CBS.log"), "{text}");
        assert!(!text.contains("95%"), "{text}");
        assert!(r.iter().all(|r| r.files.is_empty()));
    }

    #[test]
    fn engineer_sees_evidence_confidence_codes_and_a_report_file() {
        let other = CaseId::parse("CAS-00001-AAAAAA").unwrap();
        let d = winmgmt();
        let r = diagnosis_replies(
            &id(),
            "wcc0021z675842",
            &view(&d, Lang::En, Role::Engineer),
            &Recurrence {
                count: 1,
                recent: vec![other],
            },
        );
        let text: String = r.iter().map(|r| r.text.as_str()).collect();
        assert!(text.contains("`wcc0021z675842/CBS.log:14`"), "{text}");
        assert!(text.contains("95%"), "{text}");
        assert!(
            text.contains("`0x80070422` ERROR_SERVICE_DISABLED"),
            "{text}"
        );
        assert!(
            text.contains("Seen in 1 other case(s): CAS-00001-AAAAAA"),
            "{text}"
        );
        let files: Vec<&ReplyFile> = r.iter().flat_map(|r| &r.files).collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "CAS-11694-G2W9Y6-wcc0021z675842.md");
    }

    #[test]
    fn a_long_recurrence_names_the_latest_cases_and_counts_them_all() {
        let recent: Vec<CaseId> = ["CAS-00249-AAAAAA", "CAS-00250-BBBBBB"]
            .iter()
            .map(|s| CaseId::parse(s).unwrap())
            .collect();
        let d = winmgmt();
        let text = engineer_text(
            &id(),
            "pc",
            &view(&d, Lang::En, Role::Engineer),
            &Recurrence { count: 250, recent },
            5,
        );
        assert!(
            text.contains("Seen in 250 other case(s): …, CAS-00249-AAAAAA, CAS-00250-BBBBBB"),
            "{text}"
        );
    }

    #[test]
    fn long_reports_are_split_under_the_limit_with_fences_balanced() {
        let mut d = winmgmt();
        let ev = d.findings[0].evidence[0].clone();
        d.findings[0].evidence = vec![ev; 400];
        d.findings[0].steps[0].command = Some("x\n".repeat(3000));
        let r = diagnosis_replies(
            &id(),
            "pc",
            &view(&d, Lang::En, Role::Engineer),
            &Recurrence::default(),
        );
        assert!(r.len() > 1);
        for reply in &r {
            assert!(reply.text.chars().count() <= MAX_MESSAGE_CHARS);
            assert_eq!(reply.text.matches("```").count() % 2, 0, "{}", reply.text);
        }
        let full = String::from_utf8(r.last().unwrap().files[0].bytes.clone()).unwrap();
        assert_eq!(full.matches("CBS.log:14").count(), 400);
    }

    #[test]
    fn a_single_huge_line_is_cut() {
        let text = "é".repeat(5000);
        let chunks = chunk(&text);
        assert_eq!(chunks.len(), 3);
        assert!(
            chunks
                .iter()
                .all(|c| c.chars().count() <= MAX_MESSAGE_CHARS)
        );
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn secrets_in_evidence_lines_are_masked() {
        let mut d = winmgmt();
        d.findings[0].evidence[0].text = "net use \\\\srv password=Upl0ad! failed".into();
        let r = diagnosis_replies(
            &id(),
            "pc",
            &view(&d, Lang::En, Role::Engineer),
            &Recurrence::default(),
        );
        for reply in &r {
            assert!(!reply.text.contains("Upl0ad!"));
            assert!(!String::from_utf8_lossy(&reply.files[0].bytes).contains("Upl0ad!"));
        }
    }
}
