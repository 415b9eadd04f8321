//! The message catalogue: every fixed user-visible text of casebot, keyed, once per language
//! (`en.rs`, `zh.rs`). Code asks for a key ([`msg`], or [`fmt`] for texts with `{name}`
//! placeholders) and never carries inline translations. Adding a language is one more list
//! with the same keys; the tests fail when a key lacks a language, when the placeholders of a
//! key differ between languages, or when code asks for a key no list has.

use std::collections::HashMap;
use std::sync::LazyLock;

use diagnosis::Lang;

mod en;
mod zh;

fn table(messages: &'static [(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    messages.iter().copied().collect()
}

static EN: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| table(en::MESSAGES));
static ZH: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| table(zh::MESSAGES));

/// The text of `key` in `lang`. A key missing from `lang` falls back to English, and a key no
/// list has shows as itself (the tests keep both from happening).
pub fn msg(lang: Lang, key: &str) -> &'static str {
    let in_lang = match lang {
        Lang::En => EN.get(key),
        Lang::Zh => ZH.get(key),
    };
    in_lang.or_else(|| EN.get(key)).copied().unwrap_or_else(|| {
        tracing::error!(key, "message key missing from the catalogue");
        // The key is not 'static, so a fixed marker stands in; the tests keep it unseen.
        "[missing message]"
    })
}

/// The text of `key` in `lang` with each `{name}` replaced by its value.
pub fn fmt(lang: Lang, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = msg(lang, key).to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(messages: &[(&str, &str)]) -> BTreeSet<String> {
        messages.iter().map(|(k, _)| k.to_string()).collect()
    }

    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end)
                    if after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    out.insert(after[..end].to_string());
                    rest = &after[end + 1..];
                }
                _ => rest = after,
            }
        }
        out
    }

    #[test]
    fn every_key_exists_in_every_language_with_the_same_placeholders() {
        let (en, zh) = (keys(en::MESSAGES), keys(zh::MESSAGES));
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(
            only_en.is_empty(),
            "keys without a Chinese text: {only_en:?}"
        );
        assert!(
            only_zh.is_empty(),
            "keys without an English text: {only_zh:?}"
        );
        assert_eq!(
            en.len(),
            en::MESSAGES.len(),
            "a key is listed twice in en.rs"
        );
        assert_eq!(
            zh.len(),
            zh::MESSAGES.len(),
            "a key is listed twice in zh.rs"
        );
        for (key, text) in en::MESSAGES {
            assert!(!text.trim().is_empty(), "{key} is empty in English");
            let other = ZH[key];
            assert!(!other.trim().is_empty(), "{key} is empty in Chinese");
            assert_eq!(placeholders(text), placeholders(other), "{key}");
        }
    }

    /// Every key-shaped string in the sources (what `msg(…, "key")` and `fmt(…, "key", …)` are
    /// given) names a listed key.
    #[test]
    fn every_key_the_code_asks_for_is_listed() {
        // This crate and the chat adapters in `bot`, which use the catalogue for their own lines.
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![crate_dir.join("src"), crate_dir.join("../bot/src")];
        let groups: BTreeSet<&str> = en::MESSAGES
            .iter()
            .filter_map(|(k, _)| k.split_once('.').map(|(g, _)| g))
            .collect();
        let mut missing = Vec::new();
        let mut seen = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("read src") {
                    files.push(entry.expect("dir entry").path());
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            // Every string literal shaped like a key of a known group (`dispatch.usage`), so
            // that keys chosen in a `match` before the call are checked too.
            for literal in text.split('"').skip(1).step_by(2) {
                let Some((group, name)) = literal.split_once('.') else {
                    continue;
                };
                let shaped = !name.is_empty()
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c));
                if shaped && groups.contains(group) {
                    seen += 1;
                    if !EN.contains_key(literal) {
                        missing.push(format!("{}: {literal}", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys not in the catalogue: {missing:?}");
        assert!(seen > 50, "the scan found only {seen} keys");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            placeholders("{a} and {b_c}, not { x }"),
            BTreeSet::from(["a".into(), "b_c".into()])
        );
    }
}
