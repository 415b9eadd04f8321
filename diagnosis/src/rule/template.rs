//! `{name}` templates in subjects, step texts and commands.
//!
//! `{name}` is replaced by the capture or correlated value; `{name|lower}` lowercases it
//! (service names in commands read best lowercase: `sc config winmgmt start= auto`). An absent
//! value renders as `<name>` so the user sees what to fill in.

use std::collections::BTreeMap;

/// Render `template` with `vars`.
pub(crate) fn render(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        match parse_placeholder(inner) {
            Some((name, lower)) => match vars.get(name) {
                Some(v) if lower => out.push_str(&v.to_lowercase()),
                Some(v) => out.push_str(v),
                None => {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                }
            },
            // Not a placeholder (e.g. a GUID in braces): keep it verbatim.
            None => {
                out.push('{');
                out.push_str(inner);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The placeholder names used in `template`.
pub(crate) fn names(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        if let Some((name, _)) = parse_placeholder(&after[..close]) {
            out.push(name.to_string());
        }
        rest = &after[close + 1..];
    }
    out
}

pub(crate) fn parse_placeholder(inner: &str) -> Option<(&str, bool)> {
    let (name, lower) = match inner.split_once('|') {
        Some((n, "lower")) => (n, true),
        Some(_) => return None,
        None => (inner, false),
    };
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    ok.then_some((name, lower))
}
