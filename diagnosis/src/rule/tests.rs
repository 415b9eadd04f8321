use super::*;

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

const TABLE: &str = r#"
description = "t"
[[entry]]
value = "Winmgmt"
keys = ["WMI Installer", "{11111111-2222-3333-4444-555555555555}"]
"#;

const RULE: &str = r#"
id = "r1"
root_cause = "service-disabled-advanced-installer"
title = "T"
title_zh = "标题"
confidence = 0.9
[subject]
service = "{service}"
[[signal]]
name = "ai"
kinds = ["cbs"]
pattern = 'Installer:\s*(?P<installer>\w+)'
codes = ["HRESULT_FROM_WIN32(1058)"]
[correlate]
capture = ["installer"]
table = "installers"
subject = "service"
expect_start = ["disabled"]
when_expected = 0.95
when_other = 0.3
when_absent = 0.7
[[step]]
text = "sc {service|lower}"
text_zh = "sc {service}"
command = "sc config {service|lower} start= auto"
"#;

/// The error text of loading `rule` as `path` next to the installers table.
fn load_err(path: &str, rule: &str) -> String {
    RuleSet::from_files(&files(&[(path, rule), ("tables/installers.toml", TABLE)]))
        .unwrap_err()
        .to_string()
}

#[test]
fn compiles_a_rule_with_its_table() {
    let set = RuleSet::from_files(&files(&[
        ("r1.toml", RULE),
        ("tables/installers.toml", TABLE),
    ]))
    .unwrap();
    assert_eq!(set.rules().len(), 1);
    let r = &set.rules()[0];
    assert_eq!(r.signals[0].m.codes, vec![0x8007_0422]);
    assert_eq!(
        set.tables["installers"].get("'wmi  INSTALLER'"),
        Some("Winmgmt")
    );
    assert_eq!(
        set.tables["installers"].get("11111111-2222-3333-4444-555555555555"),
        Some("Winmgmt")
    );
    assert_eq!(set.version().len(), 64);
}

#[test]
fn errors_name_file_and_field() {
    let bad = RULE.replace(r"(?P<installer>\w+)", r"(?P<installer>\w+");
    let err = load_err("r1.toml", &bad);
    assert!(
        err.contains("r1.toml") && err.contains("signal `ai`.pattern"),
        "{err}"
    );

    let typo = RULE.replace("kinds = [\"cbs\"]", "kind = [\"cbs\"]");
    let err = load_err("r1.toml", &typo);
    assert!(err.contains("unknown field `kind`"), "{err}");

    let wrong_rc = RULE.replace("service-disabled-advanced-installer", "made-up");
    let err = load_err("r1.toml", &wrong_rc);
    assert!(err.contains("root_cause: `made-up`"), "{err}");

    let err = RuleSet::from_files(&files(&[("r1.toml", RULE)]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("correlate.table"), "{err}");

    let err = load_err("other.toml", RULE);
    assert!(err.contains("file stem"), "{err}");
}

#[test]
fn templates_must_use_known_captures() {
    let bad = RULE.replace(
        "command = \"sc config {service|lower} start= auto\"",
        "command = \"x {nope}\"",
    );
    let err = load_err("r1.toml", &bad);
    assert!(
        err.contains("step[0].command") && err.contains("{nope}"),
        "{err}"
    );
}

#[test]
fn version_changes_with_content_not_order() {
    let a = files(&[("r1.toml", RULE), ("tables/installers.toml", TABLE)]);
    let mut b = a.clone();
    b.reverse();
    assert_eq!(version_of(&a), version_of(&b));
    let c = files(&[
        ("r1.toml", &RULE.replace("0.9", "0.8")),
        ("tables/installers.toml", TABLE),
    ]);
    assert_ne!(version_of(&a), version_of(&c));
}

#[test]
fn template_rendering() {
    let mut vars = BTreeMap::new();
    vars.insert("service".to_string(), "Winmgmt".to_string());
    assert_eq!(
        render_template("sc config {service|lower} start= auto", &vars),
        "sc config winmgmt start= auto"
    );
    assert_eq!(
        render_template("net start {service}", &vars),
        "net start Winmgmt"
    );
    assert_eq!(render_template("{missing} {a-b}", &vars), "<missing> {a-b}");
}

#[test]
fn rule_codes_parse() {
    assert_eq!(parse_rule_code("0x800F0922"), Some(0x800f_0922));
    assert_eq!(parse_rule_code("80071ab1"), Some(0x8007_1ab1));
    assert_eq!(
        parse_rule_code("HRESULT_FROM_WIN32(1753)"),
        Some(0x8007_06d9)
    );
    assert_eq!(parse_rule_code("nope"), None);
}

#[test]
fn builtin_rules_compile() {
    let set = RuleSet::builtin().unwrap();
    assert!(set.rules().iter().any(|r| r.id == "ai-service-disabled"));
    assert!(set.rules().iter().any(|r| r.fallback));
}

#[test]
fn root_cause_vocabulary_has_37_ids() {
    assert_eq!(ROOT_CAUSES.len(), 37);
    let unique: std::collections::BTreeSet<_> = ROOT_CAUSES.iter().collect();
    assert_eq!(unique.len(), 37);
}

#[test]
#[ignore = "developer aid: CASEBOT_RULES_DIR=<dir> cargo test -p diagnosis -- --ignored compile_dir"]
fn compile_dir() {
    let dir = std::env::var("CASEBOT_RULES_DIR").unwrap();
    let files = read_dir(std::path::Path::new(&dir)).unwrap();
    let (_, problems) = compile::compile_files(&files);
    for p in &problems {
        println!("{}: {}", p.0, p.1);
    }
    assert!(problems.is_empty());
}

/// Lint runs the fixtures: a hit that does not fire and a miss that does are both reported.
#[test]
fn lint_runs_fixtures() {
    let rules = tempfile::tempdir().unwrap();
    let fixtures = tempfile::tempdir().unwrap();
    let rule = r#"
id = "txf"
root_cause = "txf-transaction-log-corrupt"
title = "T"
title_zh = "T"
confidence = 0.9
[[signal]]
name = "commit"
kinds = ["cbs"]
pattern = 'Failed to commit CBS transaction'
"#;
    std::fs::write(rules.path().join("txf.toml"), rule).unwrap();
    let rc = fixtures.path().join("txf-transaction-log-corrupt");
    std::fs::create_dir_all(rc.join("hit")).unwrap();
    std::fs::create_dir_all(rc.join("miss")).unwrap();
    let line = "2024-02-16 14:20:55, Error                 CBS    Exec: Failed to commit CBS transaction. [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]\n";
    let healthy = "2024-02-16 14:20:55, Info                  CBS    Exec: Processing complete. [HRESULT = 0x00000000 - S_OK]\n";
    std::fs::write(rc.join("hit/ok.log"), line).unwrap();
    std::fs::write(rc.join("hit/bad.log"), healthy).unwrap();
    std::fs::write(rc.join("miss/ok.log"), healthy).unwrap();
    std::fs::write(rc.join("miss/bad.log"), line).unwrap();
    let problems = lint(rules.path(), fixtures.path());
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter().any(|p| p.starts_with(
            "txf-transaction-log-corrupt/hit/bad.log: no `txf-transaction-log-corrupt` finding"
        )),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|p| p.starts_with("txf-transaction-log-corrupt/miss/bad.log: near miss gives")),
        "{text:#?}"
    );
    assert!(!text.iter().any(|p| p.contains("/ok.log")), "{text:#?}");
    // Every other root cause has no rule in this directory.
    assert!(
        text.iter()
            .any(|p| p == "reboot-pending: root cause has no rule"),
        "{text:#?}"
    );
}

#[test]
fn lint_reports_identical_rules() {
    let rules = tempfile::tempdir().unwrap();
    for id in ["a", "b"] {
        let r = RULE.replace("id = \"r1\"", &format!("id = \"{id}\""));
        std::fs::write(rules.path().join(format!("{id}.toml")), r).unwrap();
    }
    std::fs::create_dir_all(rules.path().join("tables")).unwrap();
    std::fs::write(rules.path().join("tables/installers.toml"), TABLE).unwrap();
    let problems = lint(rules.path(), rules.path());
    assert!(
        problems
            .iter()
            .any(|p| p.file == "b.toml" && p.message.contains("identical to a.toml")),
        "{problems:#?}"
    );
}

#[test]
fn every_catalogued_code_has_a_prior_naming_a_known_cause() {
    let rules = RuleSet::builtin().expect("built-in rules compile");
    let missing: Vec<String> = crate::codes::catalogued()
        .filter(|c| !rules.noise.priors.contains_key(c))
        .map(|c| format!("{c:#010x}"))
        .collect();
    assert!(missing.is_empty(), "codes without a prior: {missing:?}");
    for causes in rules.noise.priors.values() {
        for cause in causes {
            assert!(super::ROOT_CAUSES.contains(&cause.as_str()), "{cause}");
        }
    }
}

#[test]
fn a_prior_naming_an_unknown_cause_is_a_lint_problem() {
    let bad = files(&[(
        "tables/code-priors.toml",
        "[[prior]]\ncode = \"0x80071a91\"\ncauses = [\"txf-log-broken\"]\n",
    )]);
    let (_, problems) = super::compile::compile_files(&bad);
    assert!(
        problems.iter().any(|(f, r)| f == "tables/code-priors.toml"
            && r.contains("unknown root cause `txf-log-broken`")),
        "{problems:?}"
    );
}
