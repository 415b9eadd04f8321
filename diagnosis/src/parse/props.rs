//! Property tests: no parser, code extractor or query reader panics on arbitrary text, and
//! codes written in the usual notations are found again.

use proptest::prelude::*;

use super::*;
use crate::codes;

/// Line starts the parsers branch on, so generated lines reach past the first check.
const STARTS: &[&str] = &[
    "2024-02-14 10:01:02, Error                 CBS    ",
    "2024-02-14 10:01:02, Info                  CSI    00000a01 ",
    "2024-02-14 10:01:02, Warning               DISM   DISM Package Manager: PID=1 TID=2 ",
    "2024/02/14 10:01:02.123 1234 5678 Agent *FAILED* [",
    "[HRESULT = 0x",
    "HRESULT_FROM_WIN32(",
    "(F) 80070002 [Error,Facility=",
    "Error: ",
    "Log Name:      ",
    "Event ID:      ",
    "日志名称:          ",
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
    "<Data Name='ErrorCode'>",
    "SERVICE_NAME: ",
    "        START_TYPE         : ",
    "[SC] ",
    ">>>  [Device Install (Hardware initiated)",
    "     dvi: ",
    "Status                         : ",
    "0x",
    "-2147",
    "STATUS_",
    "```",
    "> ",
];

/// One line: arbitrary text, or a known line start followed by arbitrary text.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,120}",
        (prop::sample::select(STARTS), any::<String>()).prop_map(|(s, t)| format!("{s}{t}")),
        (
            prop::sample::select(STARTS),
            "[0-9a-fA-FxX\\]\\[ ,:=()-]{0,40}"
        )
            .prop_map(|(s, t)| format!("{s}{t}")),
    ]
}

fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(line(), 0..24)
}

const TEXT_KINDS: [LogKind; 10] = [
    LogKind::Cbs,
    LogKind::Dism,
    LogKind::Windowsupdate,
    LogKind::Setupapi,
    LogKind::EventText,
    LogKind::EventXml,
    LogKind::Services,
    LogKind::Panther,
    LogKind::Fragment,
    LogKind::Text,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_line_parser_takes_any_lines(texts in lines()) {
        let n = texts.len() as u64;
        for kind in TEXT_KINDS {
            let numbered = texts.iter().enumerate().map(|(i, t)| Line {
                no: i as u64 + 1,
                text: t.clone(),
            });
            let mut records = Vec::new();
            let read = parse_lines(kind, numbered, &mut |r| records.push(r));
            prop_assert_eq!(read, n);
            for r in &records {
                prop_assert!(r.line <= n.max(1), "{:?}: record line {} of {}", kind, r.line, n);
            }
        }
    }

    #[test]
    fn line_classifiers_take_any_text(text in line()) {
        let _ = classify(&text);
        let _ = setupapi(&text);
        let _ = component_kind(&text);
        let _ = normalise(&text);
        let _ = looks_like_log(&text);
        let _ = is_event_text_header(&text);
        let _ = start_type(&text);
        let _ = kb_numbers(&text);
        let _ = os_build_from_package(&text);
        let _ = signed_decimal(&text);
    }

    #[test]
    fn extracted_codes_are_normalised_and_unique(text in line()) {
        let found = extract_codes(&text);
        let mut unique = found.clone();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(unique.len(), found.len(), "duplicates in {:?}", found);
    }

    #[test]
    fn a_failure_code_in_hex_is_found_in_any_surroundings(
        code in 0x8000_0000u32..=0xFFFF_FFFF,
        before in "[ -~]{0,40}",
        after in "[ -~]{0,40}",
    ) {
        // A separator on each side, as in any log line that quotes a code.
        let text = format!("{before} 0x{code:08x} {after}");
        prop_assert!(extract_codes(&text).contains(&code), "{text}");
        let upper = format!("{before} [HRESULT = 0x{code:08X}] {after}");
        prop_assert!(extract_codes(&upper).contains(&code), "{upper}");
    }

    #[test]
    fn win32_codes_normalise_into_facility_win32(n in any::<u32>()) {
        let h = hresult_from_win32(n);
        if n == 0 || n & 0x8000_0000 != 0 {
            prop_assert_eq!(h, n);
        } else {
            prop_assert_eq!(h, 0x8007_0000 | (n & 0xFFFF));
        }
    }

    #[test]
    fn signed_decimals_round_trip(code in 0x8000_0000u32..=0xFFFF_FFFF) {
        prop_assert_eq!(signed_decimal(&(code as i32).to_string()), Some(code));
        prop_assert_eq!(signed_decimal(&code.to_string()), Some(code));
    }

    #[test]
    fn code_queries_take_any_text(text in line()) {
        let _ = codes::parse_query(&text);
        let _ = codes::code_by_name(&text);
        let _ = codes::win32_by_name(&text);
        let _ = codes::explain_text(&text, None);
    }
}
