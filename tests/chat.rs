//! The chat Markdown of the founding case, pinned by goldens in both languages and for both
//! roles (`CASEBOT_BLESS=1` rewrites them, like the CLI goldens): each device's diagnosis reply
//! (and the engineer's full report file) from the real engine and rules, then the close summary.

use diagnosis::{Diagnosis, Lang, Limits, RuleSet};
use handlers::command::Verdict;
use handlers::lifecycle::{self, Stamp};
use handlers::render::{CaseView, DiagnosisView, View, diagnosis_replies};
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
