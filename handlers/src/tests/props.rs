//! Property tests of the command text parser and button custom ids: arbitrary text never
//! panics, and a command that fits in a custom id reads back the same.

use proptest::prelude::*;

use crate::command::{self, parse_custom_id};

/// Command words (and aliases users type), so generated text reaches the argument readers.
const WORDS: &[&str] = &[
    "open",
    "status",
    "collect",
    "diagnose",
    "device",
    "note",
    "split",
    "close",
    "reopen",
    "lang",
    "explain",
    "cases",
    "case",
    "export",
    "help",
    "/help",
    "@casebot",
    "casebot:",
    "fixed",
    "failing",
    "zh",
    "en",
    "0x800f081f",
    "--all",
    "#12",
    "DESKTOP-1",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (prop::sample::select(WORDS), any::<String>()).prop_map(|(w, t)| format!("{w} {t}")),
        prop::collection::vec(prop::sample::select(WORDS), 0..6).prop_map(|w| w.join(" ")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_parses_to_a_command(text in text()) {
        let cmd = command::parse(&text);
        // Surrounding space changes nothing.
        prop_assert_eq!(command::parse(&format!("  {text}\n ")), cmd);
        let _ = parse_custom_id(&text);
    }

    #[test]
    fn commands_read_back_from_their_custom_id(
        word in prop::sample::select(WORDS),
        args in prop::collection::vec("[a-z0-9]{1,8}", 0..3),
    ) {
        let cmd = command::parse(&format!("{word} {}", args.join(" ")));
        if let Some(id) = cmd.custom_id(None) {
            prop_assert!(id.len() <= command::MAX_CUSTOM_ID);
            let (case, back) = parse_custom_id(&id).map_err(|e| TestCaseError::fail(format!("{id}: {e:?}")))?;
            prop_assert!(case.is_none());
            prop_assert_eq!(back, cmd, "{}", id);
        }
    }
}
