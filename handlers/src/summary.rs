//! Purpose: the close summary (问题定义 / 问题总结 / 排查详情, or Problem definition / Summary /
//! Details in English) and `export` (the summary as Markdown plus the case as JSON). The summary
//! is built from stored, already redacted case data; log lines are masked again on the way out.

use std::fmt::Write as _;

use diagnosis::{Lang, RuleSet};
use store::{Case, DeviceStatus};

use crate::redact::redact;
use crate::render::view::{CaseView, DeviceView, FindingView};
use crate::render::{View, msg};
use crate::{ReplyFile, Role};

/// Schema id of the JSON export.
pub const EXPORT_SCHEMA: &str = "casebot.case-export.v1";

fn status_word(s: DeviceStatus, lang: Lang) -> &'static str {
    match s {
        DeviceStatus::AwaitingLogs => msg(lang, "case.awaiting_logs"),
        DeviceStatus::Diagnosed => msg(lang, "summary.diagnosed_not_verified"),
        DeviceStatus::Fixed => msg(lang, "summary.fixed_verified"),
        DeviceStatus::StillFailing => msg(lang, "case.still_failing"),
    }
}

fn top<'v>(d: &'v DeviceView<'_>) -> Option<&'v FindingView<'v>> {
    d.diagnosis.as_ref().and_then(|x| x.top())
}

fn root_cause_line(d: &DeviceView<'_>, lang: Lang) -> String {
    match top(d) {
        Some(f) => format!("{} (`{}`)", f.full_title(), f.root_cause),
        None => msg(lang, "summary.not_determined").to_string(),
    }
}

fn push_definition(out: &mut String, case: &CaseView<'_>) {
    let lang = case.lang;
    let _ = writeln!(out, "## {}\n", msg(lang, "summary.problem_definition"));
    let _ = writeln!(out, "{}\n", case.problem);
    let (builds, updates) = (&case.builds, &case.updates);
    let names: Vec<&str> = case.devices.iter().map(|d| d.name).collect();
    let _ = writeln!(
        out,
        "- {}: {} ({})",
        msg(lang, "summary.devices"),
        names.len(),
        names.join(", ")
    );
    if !updates.is_empty() {
        let _ = writeln!(
            out,
            "- {}: {}",
            msg(lang, "summary.updates"),
            updates.join(", ")
        );
    }
    if !builds.is_empty() {
        let _ = writeln!(
            out,
            "- {}: {}",
            msg(lang, "label.os_build"),
            builds.join(", ")
        );
    }
}

fn push_overview(out: &mut String, case: &CaseView<'_>) {
    let lang = case.lang;
    let _ = writeln!(out, "\n## {}\n", msg(lang, "summary.summary"));
    for d in &case.devices {
        let _ = writeln!(
            out,
            "- `{}`: {} — {}",
            d.name,
            root_cause_line(d, lang),
            status_word(d.status, lang)
        );
    }
    if case.devices.is_empty() {
        let _ = writeln!(out, "- {}", msg(lang, "summary.no_device_was_diagnosed"));
    }
    if let Some(r) = case.close_reason {
        let _ = writeln!(out, "\n{}: {r}", msg(lang, "summary.close_reason"));
    }
}

fn push_device(out: &mut String, d: &DeviceView<'_>, lang: Lang, evidence: bool) {
    let _ = writeln!(out, "\n### {} `{}`\n", msg(lang, "label.device"), d.name);
    let top = top(d);
    let symptom = match top {
        Some(f) if !f.codes.is_empty() => f
            .codes
            .iter()
            .map(|c| format!("`{}` {}", c.code, c.name).trim().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        _ => msg(lang, "summary.update_failed_rolled_back").to_string(),
    };
    let _ = writeln!(out, "- {}: {symptom}", msg(lang, "summary.symptom"));
    let _ = writeln!(
        out,
        "- {}: {}",
        msg(lang, "label.root_cause"),
        root_cause_line(d, lang)
    );
    if let Some(f) = top {
        if evidence {
            push_evidence(out, f, lang);
        }
        let _ = writeln!(out, "- {}:", msg(lang, "summary.action"));
        for (i, s) in f.steps.iter().enumerate() {
            let cmd = s.command.map(|c| format!(" `{c}`")).unwrap_or_default();
            let _ = writeln!(out, "  {}. {}{cmd}", i + 1, s.text);
        }
    }
    let note = d
        .verification
        .map(|n| format!(" — {n}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "- {}: {}{note}",
        msg(lang, "summary.result"),
        status_word(d.status, lang)
    );
}

fn push_evidence(out: &mut String, f: &FindingView<'_>, lang: Lang) {
    let _ = writeln!(out, "- {}:", msg(lang, "label.evidence"));
    for e in f.evidence.iter().take(3) {
        let line: String = crate::render::code_span_text(&e.text)
            .chars()
            .take(200)
            .collect();
        let _ = writeln!(out, "  - `{}:{}` `{line}`", e.file, e.line);
    }
}

/// The close summary in Markdown; a customer's view has no log lines (no evidence).
pub fn summary_markdown(case: &CaseView<'_>) -> String {
    let lang = case.lang;
    let evidence = case.role == Role::Engineer;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} {} — {}\n",
        case.id,
        msg(lang, "summary.case_summary"),
        case.title
    );
    push_definition(&mut out, case);
    push_overview(&mut out, case);
    let _ = writeln!(out, "\n## {}", msg(lang, "summary.details"));
    for d in &case.devices {
        push_device(&mut out, d, lang, evidence);
    }
    push_notes(&mut out, case);
    out
}

/// Notes from the timeline: what people added by hand belongs in the record.
fn push_notes(out: &mut String, case: &CaseView<'_>) {
    let lang = case.lang;
    let notes: Vec<_> = case.notes().collect();
    if notes.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {}\n", msg(lang, "summary.notes"));
    for n in notes {
        let _ = writeln!(out, "- {}: {}", n.author, n.text);
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC` (civil-from-days; no date crate needed for this).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// The short part of a summary (up to the details), for listings.
pub fn summary_head(summary: &str) -> &str {
    // A stored summary may be in either language: cut at the details heading of any.
    let cut = [Lang::En, Lang::Zh]
        .iter()
        .filter_map(|lang| summary.find(&format!("\n## {}", msg(*lang, "summary.details"))))
        .min()
        .unwrap_or(summary.len());
    summary[..cut].trim_end()
}

/// `export`: the summary (the stored one if closed) plus the timeline as Markdown, and for
/// engineers the case record as JSON. Customers get the summary without log lines.
pub fn export_files(
    case: &Case,
    rules: &RuleSet,
    view: View,
) -> Result<Vec<ReplyFile>, serde_json::Error> {
    let (lang, role) = (view.lang, view.role);
    let mut md = match (role, &case.summary) {
        (Role::Engineer, Some(s)) => s.clone(),
        _ => summary_markdown(&CaseView::new(case, rules, view)),
    };
    let _ = writeln!(md, "\n## {}\n", msg(lang, "summary.timeline"));
    for e in &case.timeline {
        let _ = writeln!(md, "- {} {} `{}` {}", utc(e.at), e.author, e.kind, e.text);
    }
    let md_file = ReplyFile {
        name: format!("{}-summary.md", case.id),
        bytes: redact(&md).text.into_bytes(),
    };
    if role == Role::Customer {
        return Ok(vec![md_file]);
    }
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "schema": EXPORT_SCHEMA,
        "case": case,
        "summary_markdown": md,
    }))?;
    // Stored text is redacted on the way in; log lines inside diagnoses are masked here.
    Ok(vec![
        md_file,
        ReplyFile {
            name: format!("{}.json", case.id),
            bytes: redact(&json).text.into_bytes(),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Verdict;
    use crate::lifecycle::{self, Stamp};
    use store::{BundleRef, CaseId};

    const AT: Stamp<'static> = Stamp {
        author: "eng",
        now: 1,
    };

    fn summary_markdown(case: &Case, lang: Lang) -> String {
        let view = View {
            lang,
            role: Role::Engineer,
        };
        super::summary_markdown(&CaseView::new(case, crate::render::tests::rules(), view))
    }

    fn export_files(case: &Case, lang: Lang, role: Role) -> Vec<ReplyFile> {
        let rules = crate::render::tests::rules();
        super::export_files(case, rules, View { lang, role }).unwrap()
    }

    fn closed_case() -> Case {
        let id = CaseId::parse("CAS-11694-G2W9Y6").unwrap();
        let mut c = lifecycle::new_case(id, "KB5034763 回滚", Lang::Zh, 1, AT);
        let b = BundleRef {
            sha256: "a".into(),
            name: "device1.zip".into(),
            bytes: 1,
            added_at: 1,
        };
        lifecycle::add_bundle(&mut c, "wcc0021z675842", b.clone(), AT).unwrap();
        lifecycle::add_bundle(
            &mut c,
            "pc2",
            BundleRef {
                sha256: "b".into(),
                ..b
            },
            AT,
        )
        .unwrap();
        let d = crate::render::tests::winmgmt();
        lifecycle::record_diagnosis(&mut c, "wcc0021z675842", d, AT).unwrap();
        lifecycle::verify(&mut c, "wcc0021z675842", Verdict::Fixed, None, AT).unwrap();
        lifecycle::log(&mut c, AT, "note", "C: 盘无第三方加密");
        c
    }

    #[test]
    fn zh_summary_has_the_three_headings_and_per_device_details() {
        let c = closed_case();
        let s = summary_markdown(&c, Lang::Zh);
        for h in [
            "## 问题定义",
            "## 问题总结",
            "## 排查详情",
            "### 设备 `wcc0021z675842`",
            "### 设备 `pc2`",
        ] {
            assert!(s.contains(h), "{h} missing in\n{s}");
        }
        assert!(s.contains("高级安装程序依赖的服务被禁用"), "{s}");
        assert!(s.contains("`wcc0021z675842/CBS.log:14`"), "{s}");
        assert!(s.contains("`sc config winmgmt start= auto`"), "{s}");
        assert!(s.contains("结果: 已修复（已验证）"), "{s}");
        assert!(
            s.contains("（Winmgmt） (`service-disabled-advanced-installer`)"),
            "{s}"
        );
        assert!(s.contains("### 备注\n\n- eng: C: 盘无第三方加密"), "{s}");
        assert!(s.contains("结果: 等待日志"), "{s}");
        assert!(s.contains("KB5034763") && s.contains("19041.4046"), "{s}");
        assert!(!summary_head(&s).contains("排查详情"));
    }

    #[test]
    fn customer_export_has_no_log_lines_and_no_json() {
        let files = export_files(&closed_case(), Lang::Zh, Role::Customer);
        assert_eq!(files.len(), 1);
        let md = String::from_utf8(files[0].bytes.clone()).unwrap();
        assert!(md.contains("## 排查详情") && md.contains("sc config winmgmt start= auto"));
        assert!(!md.contains("CBS.log"), "{md}");
        assert!(md.contains("1970-01-01 00:00 UTC"), "{md}");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_707_906_006), "2024-02-14 10:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn en_summary_headings() {
        let s = summary_markdown(&closed_case(), Lang::En);
        for h in ["## Problem definition", "## Summary", "## Details"] {
            assert!(s.contains(h), "{h} missing in\n{s}");
        }
    }

    #[test]
    fn export_gives_markdown_and_valid_json_without_secrets() {
        let mut c = closed_case();
        let d = c.devices.get_mut("wcc0021z675842").unwrap();
        d.diagnosis.as_mut().unwrap().findings[0].evidence[0].text =
            "mapped with password=Upl0ad!".into();
        let files = export_files(&c, Lang::En, Role::Engineer);
        assert_eq!(files[0].name, "CAS-11694-G2W9Y6-summary.md");
        assert_eq!(files[1].name, "CAS-11694-G2W9Y6.json");
        let json: serde_json::Value = serde_json::from_slice(&files[1].bytes).unwrap();
        assert_eq!(json["schema"], EXPORT_SCHEMA);
        assert_eq!(json["case"]["id"], "CAS-11694-G2W9Y6");
        for f in &files {
            assert!(!String::from_utf8_lossy(&f.bytes).contains("Upl0ad!"));
        }
    }
}
