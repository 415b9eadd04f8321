//! Property test of config loading: any TOML document built from the real sections and keys
//! (and some unknown ones), with values of any type, gives a config or an error that names a
//! key it holds; arbitrary text never panics.

use proptest::prelude::*;

use super::Config;

/// Sections and their keys as `config.example.toml` documents them, plus one unknown of each.
const SECTIONS: &[(&str, &[&str])] = &[
    ("", &["lang", "token_file", "token", "colour"]),
    (
        "discord",
        &[
            "api_base_url",
            "application_id",
            "allowed_guilds",
            "allowed_channels",
            "engineer_roles",
            "summary_channel",
            "slash_commands",
            "shards",
            "total_shards",
            "token",
            "guild",
        ],
    ),
    (
        "store",
        &["kind", "data_dir", "url_file", "lease_secs", "url", "path"],
    ),
    (
        "download",
        &["allowed_hosts", "max_bytes", "timeout_secs", "max_size"],
    ),
    (
        "limits",
        &[
            "max_unpacked_bytes",
            "max_disk_bytes",
            "max_total_disk_bytes",
            "max_entries",
            "max_depth",
            "max_ratio",
            "max_line_bytes",
            "max_files",
        ],
    ),
    (
        "diagnoses",
        &["max_concurrent", "rules_dir", "rules_poll_secs", "workers"],
    ),
    (
        "rate",
        &[
            "messages_per_minute",
            "uploads_per_minute",
            "engineer_messages_per_minute",
            "engineer_uploads_per_minute",
            "attachments_per_message",
            "diagnoses_per_guild",
            "per_second",
        ],
    ),
    ("retention", &["bundle_days", "days"]),
    ("server", &["port"]),
];

fn value() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        (0i64..4).prop_map(toml::Value::Integer),
        any::<bool>().prop_map(toml::Value::Boolean),
        // Relative names that exist nowhere, so no file is read.
        "[a-z]{0,6}".prop_map(|s| toml::Value::String(format!("no-such-{s}"))),
        prop::sample::select(vec![
            "zh",
            "en",
            "sled",
            "postgres",
            "0-1",
            "https://x.test",
            ""
        ])
        .prop_map(|s| toml::Value::String(s.to_string())),
        prop::collection::vec(any::<u32>(), 0..3)
            .prop_map(|v| toml::Value::Array(v.into_iter().map(|n| i64::from(n).into()).collect())),
        prop::collection::vec("[a-z.]{1,8}", 0..3)
            .prop_map(|v| toml::Value::Array(v.into_iter().map(toml::Value::String).collect())),
        any::<f64>().prop_map(toml::Value::Float),
    ]
}

/// A document: some sections, each with some of its keys set to arbitrary values.
fn document() -> impl Strategy<Value = Vec<(usize, Vec<(usize, toml::Value)>)>> {
    prop::collection::vec(
        (
            0..SECTIONS.len(),
            prop::collection::vec((0usize..16, value()), 1..4),
        ),
        1..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_document_loads_or_names_a_key(doc in document()) {
        let mut table = toml::Table::new();
        let mut keys = Vec::new();
        for (s, entries) in doc {
            let (section, known) = SECTIONS[s];
            for (k, v) in entries {
                let key = known[k % known.len()];
                keys.push(key);
                if section.is_empty() {
                    table.insert(key.to_string(), v);
                } else {
                    keys.push(section);
                    let entry = table
                        .entry(section)
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let Some(t) = entry.as_table_mut() {
                        t.insert(key.to_string(), v);
                    }
                }
            }
        }
        let text = toml::to_string(&table).map_err(|e| TestCaseError::reject(e.to_string()))?;
        if let Err(e) = Config::parse(&text, "p.toml") {
            let shown = e.to_string();
            prop_assert!(shown.starts_with("p.toml"), "{shown}");
            prop_assert!(
                keys.iter().any(|k| shown.contains(k)),
                "no key of the document named in: {shown}\n--- document:\n{text}"
            );
        }
    }

    #[test]
    fn any_text_loads_or_fails_without_panic(text in any::<String>()) {
        let _ = Config::parse(&text, "p.toml");
    }
}
