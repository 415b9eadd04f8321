//! A case stored by an older casebot still opens and reads as it did: the record
//! `fixtures/stored/case-v1.json` was written by the store before the diagnosis contract
//! dropped its Chinese twins (`casebot.diagnosis.v1`: `title_zh`, `confirm_zh`, `text_zh`, …).
//! Its rendering — chat replies for both roles, the terminal report and the close summary, in
//! both languages — is pinned by `stored-case-v1.<lang>.md`, captured from the code that wrote
//! the record.

use diagnosis::{Lang, RuleSet};
use handlers::render::{CaseView, DiagnosisView, View, diagnosis_replies};
use handlers::summary::summary_markdown;
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
fn rendered(case: &Case, rules: &RuleSet, lang: Lang) -> String {
    let mut out = String::new();
    let engineer = View {
        lang,
        role: Role::Engineer,
    };
    for (name, device) in &case.devices {
        let Some(d) = &device.diagnosis else { continue };
        for role in [Role::Engineer, Role::Customer] {
            out.push_str(&format!("===== {name}, {role:?} =====\n"));
            let view = DiagnosisView::new(d, rules, View { lang, role });
            push_replies(
                &mut out,
                &diagnosis_replies(&case.id, name, &view, &store::Recurrence::default()),
            );
        }
        out.push_str(&format!("===== {name}, terminal report =====\n"));
        let view = DiagnosisView::new(d, rules, engineer);
        out.push_str(&handlers::render::terminal::render_text(&view));
    }
    out.push_str("===== close summary =====\n");
    out.push_str(&summary_markdown(&CaseView::new(case, rules, engineer)));
    out.push_str("===== customer summary =====\n");
    let customer = View {
        lang,
        role: Role::Customer,
    };
    out.push_str(&summary_markdown(&CaseView::new(case, rules, customer)));
    out
}

#[test]
fn a_stored_v1_case_reads_as_before_in_both_languages() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let case = store::migrate_case(raw_record()).expect("the v1 record migrates");
    assert_eq!(case.devices.len(), 4);
    for lang in [Lang::En, Lang::Zh] {
        golden(
            &format!("stored-case-v1.{lang}.md"),
            &rendered(&case, &rules, lang),
        );
    }
}

/// The Chinese titles the v1 record carried, by device, in finding order.
fn v1_titles_zh(record: &Value) -> Vec<(String, Vec<String>)> {
    let devices = record["case"]["devices"].as_object().expect("devices");
    devices
        .iter()
        .map(|(name, d)| {
            let titles = d["diagnosis"]["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(|f| f["title_zh"].as_str().expect("a v1 title_zh").to_string())
                .collect();
            (name.clone(), titles)
        })
        .collect()
}

/// Through a real store on disk: the v1 record is imported, read back as the current schema
/// (no `*_zh` field left, `casebot.diagnosis.v2`) and keeps its Chinese titles.
#[test]
fn a_stored_v1_case_is_migrated_by_the_store() {
    let record = raw_record();
    assert!(record.to_string().contains("\"title_zh\""));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store::SledStore::open(dir.path().join("store")).expect("open");
    let mut dump = String::from("{\"kind\":\"header\",\"format\":\"casebot-store\",\"v\":1}\n");
    let mut line = record.clone();
    line["kind"] = Value::from("case");
    dump.push_str(&format!("{line}\n"));
    use store::CaseStore as _;
    store.import(&mut dump.as_bytes()).expect("import");
    let id = store::CaseId::parse("CAS-00001-0BKYUT").expect("id");
    let case = store.get(&id).expect("read").expect("the case");
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let view = View {
        lang: Lang::Zh,
        role: Role::Engineer,
    };
    let titles: Vec<(String, Vec<String>)> = CaseView::new(&case, &rules, view)
        .devices
        .iter()
        .map(|d| {
            let d_view = d.diagnosis.as_ref().expect("diagnosed");
            let titles = d_view.findings.iter().map(|f| f.title.clone()).collect();
            (d.name.to_string(), titles)
        })
        .collect();
    assert_eq!(titles, v1_titles_zh(&record));
    for d in case.devices.values() {
        let diagnosis = d.diagnosis.as_ref().expect("diagnosed");
        assert_eq!(diagnosis.schema, diagnosis::report::SCHEMA);
    }
    // What the next write (or an export) stores: the current shape.
    let written = serde_json::to_string(&case).expect("json");
    assert!(!written.contains("_zh\""), "{written}");
    assert!(!written.contains(diagnosis::report::SCHEMA_V1));
}
