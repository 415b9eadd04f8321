//! The chat Markdown of the founding case, pinned by goldens in both languages and for both
//! roles (`CASEBOT_BLESS=1` rewrites them, like the CLI goldens): each device's diagnosis reply
//! (and the engineer's full report file) from the real engine and rules, then the close summary.

use diagnosis::{Diagnosis, Lang, Limits, RuleSet};
use handlers::command::Verdict;
use handlers::lifecycle::{self, Stamp};
use handlers::render::{CaseView, DiagnosisView, View, diagnosis_replies, first_screen, fmt, msg};
use handlers::summary::summary_markdown;
use handlers::{Reply, Role};
use store::{BundleRef, Case, CaseId, Recurrence};

use crate::diagnose::golden;
use crate::util::fixture;

const AT: Stamp<'static> = Stamp {
    author: "eng",
    now: 1_707_906_006,
};

fn diagnose(rules: &RuleSet, bundle: &str) -> Diagnosis {
    let path = fixture("bundles").join(bundle);
    let mut d = diagnosis::diagnose_as(&path, bundle, rules, &Limits::default())
        .expect("founding-case bundle diagnoses");
    // Goldens pin the diagnosis, not the rule-set hash.
    d.rules_version = "<rules-version>".into();
    d
}

/// The founding case after both devices were diagnosed, fixed and verified, then closed.
fn founding_case(devices: &[(&str, Diagnosis)], lang: Lang) -> Case {
    let id = CaseId::parse("CAS-11694-G2W9Y6").expect("case id");
    let title = "KB5034763 rolls back on 2 devices (21H2 19044)";
    let mut case = lifecycle::new_case(id, title, lang, 1, AT);
    lifecycle::request_logs(&mut case, AT);
    for (name, d) in devices {
        let bundle = BundleRef {
            sha256: format!("{name}-sha"),
            name: format!("{name}.zip"),
            bytes: 1,
            added_at: AT.now,
        };
        lifecycle::add_bundle(&mut case, name, bundle, AT).expect("add bundle");
        lifecycle::record_diagnosis(&mut case, name, d.clone(), AT).expect("record");
        lifecycle::verify(&mut case, name, Verdict::Fixed, None, AT).expect("verify");
    }
    case
}

fn push_replies(out: &mut String, replies: &[Reply]) {
    for (i, reply) in replies.iter().enumerate() {
        out.push_str(&format!("----- reply {} -----\n{}\n", i + 1, reply.text));
        for file in &reply.files {
            let text = String::from_utf8_lossy(&file.bytes);
            out.push_str(&format!("----- file {} -----\n{text}\n", file.name));
        }
    }
}

#[test]
fn chat_replies_and_summaries_of_the_founding_case() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let devices = [
        ("wcc0021z675842", diagnose(&rules, "device1.zip")),
        ("WCC0021Z673965", diagnose(&rules, "device2.zip")),
    ];
    for lang in [Lang::En, Lang::Zh] {
        let mut case = founding_case(&devices, lang);
        let engineer = View {
            lang,
            role: Role::Engineer,
        };
        let summary = summary_markdown(&CaseView::new(&case, &rules, engineer));
        lifecycle::close(&mut case, false, None, summary.clone(), AT).expect("close");
        for role in [Role::Engineer, Role::Customer] {
            let view = View { lang, role };
            let mut out = String::new();
            for (name, d) in &devices {
                out.push_str(&format!("===== diagnosis of {name} =====\n"));
                let d = DiagnosisView::new(d, &rules, view);
                push_replies(
                    &mut out,
                    &diagnosis_replies(&case.id, name, &d, &Recurrence::default()),
                );
            }
            out.push_str("===== close summary =====\n");
            match role {
                Role::Engineer => out.push_str(&summary),
                Role::Customer => {
                    out.push_str(&summary_markdown(&CaseView::new(&case, &rules, view)));
                }
            }
            let role_name = match role {
                Role::Engineer => "engineer",
                Role::Customer => "customer",
            };
            golden(&format!("founding-case.chat.{role_name}.{lang}.md"), &out);
        }
    }
}

/// Lines a phone shows without scrolling, give or take: the first screen must fit.
const PHONE_LINES: usize = 24;

/// The three answers of a first screen, in order: what is wrong, what to run, what to send
/// back. `None` where the screen lacks one.
fn answers(first: &str, view: View, device: &str) -> [Option<usize>; 3] {
    let lang = view.lang;
    let find = |needles: &[String]| needles.iter().filter_map(|n| first.find(n.as_str())).min();
    let bold = |key: &str| format!("**{}:**", msg(lang, key));
    let wrong = [
        bold("label.root_cause"),
        msg(lang, "render.what_wrong").to_string(),
        msg(lang, "render.no_clear_cause_was").to_string(),
    ];
    let run = [
        bold("label.steps"),
        msg(lang, "render.please_do_following").to_string(),
        msg(lang, "render.to_collect").to_string(),
        msg(lang, "render.logs_still_missing_please").to_string(),
    ];
    let device = [("device", &device as &dyn std::fmt::Display)];
    let send = [
        fmt(lang, "render.send_back_verdict", &device),
        fmt(lang, "render.next_reply_hint", &device)
            .trim()
            .to_string(),
        msg(lang, "render.send_back_logs").to_string(),
        // The customer's missing-logs heading asks to collect and attach them.
        msg(lang, "render.logs_still_missing_please").to_string(),
    ];
    [find(&wrong), find(&run), find(&send)]
}

/// The first screen of every chat diagnosis reply answers what is wrong, what to run and what
/// to send back, in that order, within a phone's screen, and it is the first message whole.
/// Pinned by `first-screen.<lang>.md` for the founding devices, a healthy log (no finding, logs
/// to collect) and a pasted line that only gives hints.
#[test]
fn the_first_screen_answers_what_is_wrong_what_to_run_and_what_to_send_back() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let dir = tempfile::tempdir().expect("tempdir");
    let paste = dir.path().join("paste.txt");
    std::fs::write(
        &paste,
        "2024-02-15 09:12:52, Error                 CBS    Startup: Failed to process advanced \
         operation queue, startupPhase: 0.  A rollback transaction will be created. \
         [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]\n",
    )
    .expect("write paste");
    let mut hint = diagnosis::diagnose_path(&paste, &rules, &Limits::default()).expect("paste");
    hint.rules_version = "<rules-version>".into();
    assert!(
        hint.top().is_none() && !hint.findings.is_empty(),
        "hints only"
    );
    let devices = [
        ("wcc0021z675842", diagnose(&rules, "device1.zip")),
        ("WCC0021Z673965", diagnose(&rules, "device2.zip")),
        ("pc3", diagnose(&rules, "healthy-cbs.log")),
        ("pc4", hint),
    ];
    let id = CaseId::parse("CAS-11694-G2W9Y6").expect("case id");
    for lang in [Lang::En, Lang::Zh] {
        let mut out = String::new();
        for role in [Role::Engineer, Role::Customer] {
            let view = View { lang, role };
            for (name, d) in &devices {
                let d = DiagnosisView::new(d, &rules, view);
                let first = first_screen(&id, name, &d);
                let replies = diagnosis_replies(&id, name, &d, &Recurrence::default());
                assert!(
                    replies[0].text.starts_with(first.trim_end()),
                    "the first message starts with the whole first screen:\n{}",
                    replies[0].text
                );
                let lines = first.lines().count();
                assert!(lines <= PHONE_LINES, "{lines} lines:\n{first}");
                let [wrong, run, send] = answers(&first, view, name);
                let (wrong, run, send) = (
                    wrong.expect("what is wrong"),
                    run.unwrap_or_else(|| panic!("what to run:\n{first}")),
                    send.unwrap_or_else(|| panic!("what to send back:\n{first}")),
                );
                assert!(wrong < run && run <= send, "in order:\n{first}");
                out.push_str(&format!("===== {name}, {role:?} =====\n{first}"));
            }
        }
        golden(&format!("first-screen.{lang}.md"), &out);
    }
}
