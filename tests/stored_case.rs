//! A case stored by an older casebot still opens and reads as it did: the record
//! `fixtures/stored/case-v1.json` was written by the store before the diagnosis contract
//! dropped its Chinese twins (`casebot.diagnosis.v1`: `title_zh`, `confirm_zh`, `text_zh`, …).
//! Its rendering — chat replies for both roles, the terminal report and the close summary, in
//! both languages — is pinned by `stored-case-v1.<lang>.md`, captured from the code that wrote
//! the record.

use diagnosis::Lang;
use handlers::render::{View, diagnosis_replies};
use handlers::summary::{customer_summary, summary_markdown};
use handlers::{Reply, Role};
use serde_json::Value;
use store::Case;

use crate::diagnose::golden;
use crate::util::fixture;

fn raw_record() -> Value {
    let text = std::fs::read_to_string(fixture("stored").join("case-v1.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
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

/// Everything a user can read of `case`, in `lang`.
fn rendered(case: &Case, lang: Lang) -> String {
    let mut out = String::new();
    for (name, device) in &case.devices {
        let Some(d) = &device.diagnosis else { continue };
        for role in [Role::Engineer, Role::Customer] {
            out.push_str(&format!("===== {name}, {role:?} =====\n"));
            push_replies(
                &mut out,
                &diagnosis_replies(&case.id, name, d, View { lang, role }, &[]),
            );
        }
        out.push_str(&format!("===== {name}, terminal report =====\n"));
        out.push_str(&handlers::render::terminal::render_text(d, lang));
    }
    out.push_str("===== close summary =====\n");
    out.push_str(&summary_markdown(case, lang));
    out.push_str("===== customer summary =====\n");
    out.push_str(&customer_summary(case, lang));
    out
}

#[test]
fn a_stored_v1_case_reads_as_before_in_both_languages() {
    let case = store::migrate_case(raw_record()).expect("the v1 record migrates");
    assert_eq!(case.devices.len(), 4);
    for lang in [Lang::En, Lang::Zh] {
        golden(&format!("stored-case-v1.{lang}.md"), &rendered(&case, lang));
    }
}
