//! Property tests of chat chunking: replies are cut to Discord's message limit, and a cut never
//! breaks a Markdown code fence. A cut inside a fence closes it and the next message reopens
//! it, so every line reads in the same place (in a code block or not) as in the whole text.

use proptest::prelude::*;

use crate::MAX_MESSAGE_CHARS;
use crate::render::chunk;

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// Every visible character of `lines` with whether it sits in a code block, fence lines left
/// out. A backslash before backticks at the start of a line is Markdown's escape, not shown.
fn placed<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(char, bool)> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for line in lines {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        let shown = line.trim_start();
        let shown = shown
            .strip_prefix("\\`")
            .map_or(shown.to_string(), |rest| format!("`{rest}"));
        out.extend(
            shown
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| (c, in_fence)),
        );
    }
    out
}

/// Reply-like text: prose, commands and log lines (some longer than a message, some with
/// backticks where a cut may fall), fences with and without a language, blank lines.
fn reply_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => "[a-zA-Z0-9 .,:;()-]{0,80}",
        2 => "[a-z `'é中]{0,120}",
        // Longer than a message, backticks anywhere but at the start (a fence line that long
        // is no reply's).
        1 => ("[a-z`é]{1,3}", 100usize..4500).prop_map(|(s, n)| format!("x{}", s.repeat(n))),
        2 => Just("```".to_string()),
        1 => Just("```powershell".to_string()),
        1 => Just(String::new()),
        1 => Just("  ".to_string()),
    ];
    prop::collection::vec(line, 0..120).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn chunks_fit_a_message_and_never_break_a_code_fence(text in reply_text()) {
        let chunks = chunk(&text);
        let fences_in_text = text.lines().filter(|l| is_fence(l)).count();
        for (i, c) in chunks.iter().enumerate() {
            prop_assert!(c.chars().count() <= MAX_MESSAGE_CHARS, "chunk {} too long", i);
            prop_assert!(!c.trim().is_empty(), "chunk {} is empty", i);
            let fences = c.lines().filter(|l| is_fence(l)).count();
            if i + 1 < chunks.len() {
                prop_assert!(fences % 2 == 0, "chunk {} leaves a code block open:\n{}", i, c);
            } else {
                // The last one is open only when the whole text was.
                prop_assert_eq!(fences % 2, fences_in_text % 2);
            }
        }
        let before = placed(text.lines());
        let after = placed(chunks.iter().flat_map(|c| c.lines()));
        prop_assert_eq!(before, after);
    }
}
