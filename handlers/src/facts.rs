//! Purpose: the facts a problem statement names (updates, error codes, OS builds, how many
//! devices), read by `open` to restate the problem and by `diagnose` to name the update when the
//! logs do not.

use std::sync::LazyLock;

use regex::Regex;

/// Facts recognised in a problem statement.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProblemFacts {
    /// KB numbers.
    pub updates: Vec<String>,
    /// Error codes (`0x…`).
    pub codes: Vec<String>,
    /// OS builds / versions (`19041`, `21H2`).
    pub builds: Vec<String>,
    /// Number of devices mentioned.
    pub devices: Option<u32>,
}

// Compiled once; fixed program data.
static KB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bKB ?(\d{6,7})\b").expect("static regex"));
static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b0x[0-9a-f]{8}\b").expect("static regex"));
static BUILD: LazyLock<Regex> = LazyLock::new(|| {
    // Known Windows 10/11/Server builds only, so case ids and counts are not taken for builds.
    Regex::new(concat!(
        r"(?i)\b(?:10240|10586|14393|15063|16299|17134|17763|18362|18363|19041|19042|19043|",
        r"19044|19045|20348|22000|22621|22631|26100)(?:\.\d+)?\b|\b2[0-5]H[12]\b"
    ))
    .expect("static regex")
});
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\d+)\s*(?:devices?|machines?|computers?|pcs?|hosts?|台|个设备)")
        .expect("static regex")
});

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Recognise update, code, build and device-count facts in a problem statement.
pub fn parse_facts(text: &str) -> ProblemFacts {
    let mut f = ProblemFacts::default();
    for c in KB.captures_iter(text) {
        push_unique(&mut f.updates, format!("KB{}", &c[1]));
    }
    for m in CODE.find_iter(text) {
        push_unique(&mut f.codes, m.as_str().to_ascii_lowercase());
    }
    let without_kb = KB.replace_all(text, "");
    for c in BUILD.captures_iter(&without_kb) {
        push_unique(&mut f.builds, c[0].to_ascii_uppercase());
    }
    f.devices = COUNT.captures(text).and_then(|c| c[1].parse().ok());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_the_founding_case_statement() {
        let f = parse_facts("21H2 19044 设备安装 KB5034763 后回滚 0x800F0922，共 2 台");
        assert_eq!(f.updates, vec!["KB5034763"]);
        assert_eq!(f.codes, vec!["0x800f0922"]);
        assert_eq!(f.builds, vec!["21H2", "19044"]);
        assert_eq!(f.devices, Some(2));
    }
}
