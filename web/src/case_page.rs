//! The case page: problem definition, devices with their status, each diagnosis (root cause,
//! confidence, decoded codes, steps with copy buttons) and the timeline. Engineers see every
//! finding with its evidence references; customers see the guided view of the chat (the top
//! confident finding in plain words and its steps), never a log line. The page is laid out from
//! the same typed view model as the chat (`handlers::render::view`).

use askama::Template;
use diagnosis::Lang;
use handlers::Role;
use handlers::render::view::{self, CaseView, DiagnosisView};
use handlers::render::{View, msg};
use store::{Case, CaseStatus, DeviceStatus};

use crate::page::{Page, time};

/// Case status in words.
pub fn case_status(s: CaseStatus, lang: Lang) -> &'static str {
    match s {
        CaseStatus::Open => msg(lang, "web.open"),
        CaseStatus::AwaitingLogs => msg(lang, "web.awaiting_logs"),
        CaseStatus::Diagnosed => msg(lang, "web.diagnosed"),
        CaseStatus::AwaitingVerification => msg(lang, "web.awaiting_verification"),
        CaseStatus::Resolved => msg(lang, "web.resolved"),
        CaseStatus::Closed => msg(lang, "web.closed"),
    }
}

fn device_status(s: DeviceStatus, lang: Lang) -> (&'static str, &'static str) {
    match s {
        DeviceStatus::AwaitingLogs => (msg(lang, "web.awaiting_logs"), "waiting"),
        DeviceStatus::Diagnosed => (msg(lang, "web.diagnosed"), "diagnosed"),
        DeviceStatus::Fixed => (msg(lang, "web.fixed_verified"), "fixed"),
        DeviceStatus::StillFailing => (msg(lang, "web.still_failing"), "failing"),
    }
}

/// A decoded error code.
pub struct CodeView {
    pub code: String,
    pub name: String,
    pub meaning: String,
}

/// One fix step; `command` gets a copy button.
pub struct StepView {
    pub text: String,
    pub command: Option<String>,
}

/// An evidence reference (`file:line`), linked to the evidence view.
pub struct EvidenceRef {
    pub file: String,
    pub line: u64,
    pub anchor: String,
}

/// One finding of a device's diagnosis.
pub struct FindingView {
    pub title: String,
    pub root_cause: String,
    pub rule: String,
    pub confidence: String,
    /// Below the confidence threshold: a hint, not a diagnosis.
    pub hint: bool,
    pub codes: Vec<CodeView>,
    pub evidence: Vec<EvidenceRef>,
    pub steps: Vec<StepView>,
}

/// A missing log and how to collect it.
pub struct MissingView {
    pub kind: String,
    pub why: String,
    pub how: String,
}

/// One device.
pub struct DeviceView {
    pub name: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub bundles: Vec<String>,
    pub os_build: String,
    pub updates: String,
    pub verification: String,
    pub diagnosed: bool,
    pub findings: Vec<FindingView>,
    pub missing: Vec<MissingView>,
    pub evidence_url: String,
}

/// One timeline event.
pub struct EventView {
    pub at: String,
    pub author: String,
    pub kind: String,
    pub text: String,
}

/// The case page.
#[derive(Template)]
#[template(path = "case.html")]
pub struct CasePage {
    pub page: Page,
    pub id: String,
    pub title: String,
    pub problem: String,
    pub status: &'static str,
    pub opener: String,
    pub created: String,
    pub updated: String,
    pub close_reason: String,
    pub devices: Vec<DeviceView>,
    pub timeline: Vec<EventView>,
}

impl CasePage {
    /// The page for `case` as `page`'s viewer sees it.
    pub fn build(page: Page, case: &Case) -> CasePage {
        let lang = page.lang;
        let role = if page.engineer {
            Role::Engineer
        } else {
            Role::Customer
        };
        let rules = std::sync::Arc::clone(&page.rules);
        let view = CaseView::new(case, &rules, View { lang, role });
        let devices = view
            .devices
            .iter()
            .map(|d| device_view(&page, case, d))
            .collect();
        let timeline = case
            .timeline
            .iter()
            .map(|e| EventView {
                at: time(e.at),
                author: e.author.clone(),
                kind: e.kind.clone(),
                // Timeline text was redacted when recorded; redacting again is harmless and
                // keeps a record from an older casebot safe too.
                text: handlers::redact::redact(&e.text).text,
            })
            .collect();
        CasePage {
            id: case.id.to_string(),
            title: handlers::redact::redact(&case.title).text,
            problem: handlers::redact::redact(&case.problem).text,
            status: case_status(case.status, lang),
            opener: case.opener.clone(),
            created: time(case.created_at),
            updated: time(case.updated_at),
            close_reason: case.close_reason.clone().unwrap_or_default(),
            devices,
            timeline,
            page,
        }
    }
}

fn device_view(page: &Page, case: &Case, d: &view::DeviceView<'_>) -> DeviceView {
    let lang = page.lang;
    let (status, status_class) = device_status(d.status, lang);
    let diag = d.diagnosis.as_ref();
    let findings = diag.map(findings).unwrap_or_default();
    let missing = diag
        .map(|x| {
            x.missing
                .iter()
                .map(|m| MissingView {
                    kind: m.kind.to_string(),
                    why: m.why.clone(),
                    how: m.how.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    DeviceView {
        name: d.name.to_string(),
        status,
        status_class,
        bundles: d.bundles.iter().map(|b| b.name.clone()).collect(),
        os_build: diag
            .and_then(|x| x.device.os_build.clone())
            .unwrap_or_default(),
        updates: diag
            .map(|x| x.device.updates.join(", "))
            .unwrap_or_default(),
        verification: d.verification.unwrap_or_default().to_string(),
        diagnosed: diag.is_some(),
        findings,
        missing,
        evidence_url: page.evidence_url(case.id.as_str(), d.name),
    }
}

/// Engineers: every finding; customers: the top confident one without codes (their view holds
/// no evidence).
fn findings(d: &DiagnosisView<'_>) -> Vec<FindingView> {
    match d.role {
        Role::Engineer => d
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| finding_view(f, i))
            .collect(),
        Role::Customer => d
            .top()
            .map(|f| FindingView {
                codes: Vec::new(),
                ..finding_view(f, 0)
            })
            .into_iter()
            .collect(),
    }
}

fn finding_view(f: &view::FindingView<'_>, index: usize) -> FindingView {
    FindingView {
        title: f.full_title(),
        root_cause: f.root_cause.to_string(),
        rule: f.rule.to_string(),
        confidence: format!("{:.0}%", f.confidence * 100.0),
        hint: !f.confident,
        codes: f
            .codes
            .iter()
            .map(|c| CodeView {
                code: c.code.to_string(),
                name: c.name.to_string(),
                meaning: c.meaning.clone(),
            })
            .collect(),
        evidence: f
            .evidence
            .iter()
            .enumerate()
            .map(|(j, e)| EvidenceRef {
                file: e.file.clone(),
                line: e.line,
                anchor: crate::evidence::anchor(index, j),
            })
            .collect(),
        steps: f
            .steps
            .iter()
            .map(|s| StepView {
                text: s.text.clone(),
                command: s.command.map(str::to_string),
            })
            .collect(),
    }
}
