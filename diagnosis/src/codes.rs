//! Error-code knowledge base: HRESULT, Win32, NTSTATUS, CBS_E, PSFX_E and WU_E codes with names
//! and one-line meanings in en and zh.
//!
//! Codes are stored in their normalised form: Win32 errors as `HRESULT_FROM_WIN32(n)`
//! (`0x8007xxxx`), NTSTATUS values as themselves (`0xC…`). [`lookup`] also decodes the
//! `HRESULT_FROM_NT` form (`0xD…`) and raw Win32 numbers through those entries.

mod table;

use crate::parse::hresult_from_win32;
use crate::report::{CodeInfo, Lang};

use table::{CODES, Entry};

fn find(code: u32) -> Option<&'static Entry> {
    CODES.iter().find(|e| e.code == code)
}

/// Decode a normalised code into name and English meaning (unknown codes get an empty name).
pub fn lookup(code: u32) -> CodeInfo {
    match entry(code) {
        Some(e) => CodeInfo {
            code: format!("0x{code:08x}"),
            name: e.name.to_string(),
            meaning: e.en.to_string(),
        },
        None => CodeInfo {
            code: format!("0x{code:08x}"),
            name: String::new(),
            meaning: String::new(),
        },
    }
}

/// The meaning of a code in every language the knowledge base carries; `code` as in
/// [`CodeInfo::code`](crate::report::CodeInfo) (`0x` + hex) or as a number.
pub fn meaning_texts(code: &str) -> Option<crate::rule::Texts<'static>> {
    let code = code.trim();
    let n = match code.strip_prefix("0x").or_else(|| code.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => code.parse().ok()?,
    };
    entry(n).map(|e| crate::rule::Texts { en: e.en, zh: e.zh })
}

/// The table entry of `code`, directly or through its Win32/NT form.
fn entry(code: u32) -> Option<&'static Entry> {
    find(code)
        .or_else(|| {
            // HRESULT_FROM_NT: an NTSTATUS with the N bit set (0xd015001a → 0xc015001a).
            (code & 0xF000_0000 == 0xD000_0000)
                .then(|| find(code & !0x1000_0000))
                .flatten()
        })
        .or_else(|| {
            (code != 0 && code <= 0xFFFF)
                .then(|| find(hresult_from_win32(code)))
                .flatten()
        })
}

/// Every catalogued code, in table order.
pub fn catalogued() -> impl Iterator<Item = u32> {
    CODES.iter().map(|e| e.code)
}

/// True when the knowledge base has an entry for `code` (directly or through its Win32/NT form).
pub fn is_known(code: u32) -> bool {
    !lookup(code).name.is_empty()
}

/// The code of a symbolic name (`CBS_E_INSTALLERS_FAILED`, `ERROR_SERVICE_DISABLED`,
/// `STATUS_LOG_FULL`), case-insensitive. Win32 names give their HRESULT form.
pub fn code_by_name(name: &str) -> Option<u32> {
    let name = name.trim();
    CODES
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name) || e.alias.eq_ignore_ascii_case(name))
        .map(|e| e.code)
}

/// The Win32 error number of a symbolic Win32 name (`ERROR_SERVICE_DISABLED` → 1058).
pub fn win32_by_name(name: &str) -> Option<u32> {
    code_by_name(name)
        .filter(|c| c & 0xFFFF_0000 == 0x8007_0000)
        .map(|c| c & 0xFFFF)
}

/// Parse a user-typed code (`0x…`, bare hex, decimal, negative decimal, `HRESULT_FROM_WIN32(n)`,
/// symbolic name) into the normalised code(s) it may denote.
///
/// Decimal numbers up to 65535 are Win32 error numbers and give their HRESULT form
/// (`1058` → `0x80070422`); a digits-only 8-character string that is no plausible decimal
/// code is read as bare hex (`80070422`). An empty result means the query is not a code.
pub fn parse_query(query: &str) -> Vec<u32> {
    let q = query.trim();
    if q.is_empty() {
        return Vec::new();
    }
    if let Some(code) = code_by_name(q) {
        return vec![code];
    }
    let codes = crate::parse::extract_codes(q);
    if q.to_ascii_uppercase().contains("_FROM_WIN32(") && !codes.is_empty() {
        return codes;
    }
    if let Some(hex) = q.strip_prefix("0x").or_else(|| q.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .ok()
            .map(|c| {
                if c <= 0xFFFF {
                    hresult_from_win32(c)
                } else {
                    c
                }
            })
            .into_iter()
            .collect();
    }
    if q.starts_with('-') {
        return crate::parse::signed_decimal(q).into_iter().collect();
    }
    if q.bytes().all(|b| b.is_ascii_digit()) {
        return decimal_query(q);
    }
    if q.len() <= 8 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u32::from_str_radix(q, 16).ok().into_iter().collect();
    }
    Vec::new()
}

/// Facility of an HRESULT, by name where it matters for servicing.
fn facility(code: u32) -> String {
    if code & 0xC000_0000 == 0xC000_0000 && code & 0x1000_0000 == 0 {
        return "NTSTATUS".into();
    }
    let f = (code >> 16) & 0x7FF;
    match f {
        0 => "NULL".into(),
        4 => "ITF (COM interface)".into(),
        7 => format!("WIN32 (Win32 error {})", code & 0xFFFF),
        15 => "SETUPAPI/CBS (0x800f…)".into(),
        36 => "WINDOWSUPDATE (0x8024…)".into(),
        f => format!("{f}"),
    }
}

/// Other notations of the same code, as they appear in logs.
fn notations(code: u32) -> String {
    let mut out = vec![format!("0x{code:08x}"), format!("{}", code as i32)];
    if code & 0xFFFF_0000 == 0x8007_0000 {
        out.push(format!("HRESULT_FROM_WIN32({})", code & 0xFFFF));
        out.push(format!("Win32 {}", code & 0xFFFF));
    }
    out.join(" = ")
}

/// The answer of `casebot explain <query>`: name and meaning of every code the query may
/// denote, in `lang` (both languages when `None`). `Err` holds the message for a query that is
/// no code or a code the knowledge base does not know.
pub fn explain_text(query: &str, lang: Option<Lang>) -> Result<String, String> {
    let codes = parse_query(query);
    if codes.is_empty() {
        return Err(format!(
            "`{}` is not an error code; try 0x80070422, 80070422, 1058, -2146498270, \
             HRESULT_FROM_WIN32(1753) or CBS_E_INSTALLERS_FAILED",
            query.trim()
        ));
    }
    let mut out = String::new();
    let mut known = false;
    for code in codes {
        let info = lookup(code);
        if code == 0 {
            known = true;
            out.push_str("0x00000000  S_OK\n  en: Success.\n  zh: 成功。\n");
            continue;
        }
        if info.name.is_empty() {
            out.push_str(&format!(
                "{}  (unknown)\n  facility: {}\n",
                info.code,
                facility(code)
            ));
            continue;
        }
        known = true;
        out.push_str(&format!("{}  {}\n", info.code, info.name));
        out.push_str(&format!("  forms: {}\n", notations(code)));
        let zh = entry(code).map_or("", |e| e.zh);
        if lang != Some(Lang::Zh) {
            out.push_str(&format!("  en: {}\n", info.meaning));
        }
        if lang != Some(Lang::En) {
            out.push_str(&format!("  zh: {zh}\n"));
        }
    }
    if known {
        Ok(out)
    } else {
        Err(format!(
            "{} is not in the knowledge base\n{out}",
            query.trim()
        ))
    }
}

fn decimal_query(q: &str) -> Vec<u32> {
    let Ok(v) = q.parse::<u64>() else {
        return Vec::new();
    };
    match v {
        0 => vec![0],
        1..=0xFFFF => vec![hresult_from_win32(v as u32)],
        _ if v >= 0x8000_0000 && v <= u64::from(u32::MAX) => vec![v as u32],
        _ if q.len() == 8 => u32::from_str_radix(q, 16).ok().into_iter().collect(),
        _ => u32::try_from(v).ok().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn founding_codes_have_names_and_meanings() {
        for (code, name) in [
            (0x800f0922, "CBS_E_INSTALLERS_FAILED"),
            (0x80070422, "ERROR_SERVICE_DISABLED"),
            (0x80071a91, "ERROR_RM_NOT_ACTIVE"),
            (0x80071ab1, "ERROR_LOG_GROWTH_FAILED"),
            (0x800706d9, "EPT_S_NOT_REGISTERED"),
        ] {
            let info = lookup(code);
            assert_eq!(info.name, name);
            let texts = meaning_texts(&info.code).expect("catalogued");
            assert!(!info.meaning.is_empty() && !texts.zh.is_empty(), "{name}");
            assert_eq!(texts.en, info.meaning);
        }
    }

    #[test]
    fn nt_and_win32_forms_decode() {
        assert_eq!(
            lookup(0xd015001a).name,
            "STATUS_SXS_COMPONENT_STORE_CORRUPT"
        );
        assert_eq!(lookup(0xd015001a).code, "0xd015001a");
        assert_eq!(lookup(1058).name, "ERROR_SERVICE_DISABLED");
        assert_eq!(lookup(0x1234_5678).name, "");
    }

    #[test]
    fn names_resolve() {
        assert_eq!(code_by_name("cbs_e_installers_failed"), Some(0x800f0922));
        assert_eq!(win32_by_name("ERROR_SERVICE_DISABLED"), Some(1058));
        assert_eq!(win32_by_name("CBS_E_INSTALLERS_FAILED"), None);
    }

    #[test]
    fn explain_issue_queries() {
        for (q, name) in [
            ("0x80071ab1", "ERROR_LOG_GROWTH_FAILED"),
            ("1058", "ERROR_SERVICE_DISABLED"),
            ("-2146498270", "CBS_E_INSTALLERS_FAILED"),
            ("HRESULT_FROM_WIN32(1753)", "EPT_S_NOT_REGISTERED"),
            ("CBS_E_INSTALLERS_FAILED", "CBS_E_INSTALLERS_FAILED"),
        ] {
            let text = explain_text(q, None).expect(q);
            assert!(text.contains(name), "{q}: {text}");
            assert!(
                text.contains("  en: ") && text.contains("  zh: "),
                "{q}: {text}"
            );
        }
        let en = explain_text("1058", Some(Lang::En)).expect("known");
        assert!(en.contains("0x80070422") && en.contains("HRESULT_FROM_WIN32(1058)"));
        assert!(en.contains("disabled") && !en.contains("zh:"));
        let zh = explain_text("0x80070422", Some(Lang::Zh)).expect("known");
        assert!(zh.contains("服务已被禁用") && !zh.contains("en:"));
    }

    #[test]
    fn explain_unknown_and_junk() {
        let e = explain_text("0x12345678", None).expect_err("unknown");
        assert!(e.contains("not in the knowledge base"), "{e}");
        let e = explain_text("0x800f0845", None).expect_err("no public name");
        assert!(e.contains("SETUPAPI/CBS"), "{e}");
        let e = explain_text("hello", None).expect_err("junk");
        assert!(e.contains("not an error code"), "{e}");
    }

    #[test]
    fn every_entry_is_complete_and_unique() {
        for (i, e) in CODES.iter().enumerate() {
            assert!(
                !e.name.is_empty() && !e.en.is_empty() && !e.zh.is_empty(),
                "{}",
                e.name
            );
            assert!(e.code & 0x8000_0000 != 0, "{} has no severity bit", e.name);
            assert!(
                CODES[i + 1..]
                    .iter()
                    .all(|o| o.code != e.code && o.name != e.name),
                "duplicate {}",
                e.name
            );
        }
    }

    #[test]
    fn domain_reference_codes_are_known() {
        // Every code named in docs/windows-servicing.md §A–B.
        let codes = [
            0x800f0922, 0x80071a91, 0x80071ab1, 0x800719e4, 0xc01a001d, 0xd015001a, 0x800f0207,
            0x80070422, 0x800706d9, 0x80073712, 0x8007045b, 0x80070bc2, 0x80070bc9, 0x800f0920,
            0x800f0821, 0x80073701, 0x800736b3, 0x8007371b, 0x800736cc, 0x800f0825, 0x800f0831,
            0x800f081f, 0x800f0906, 0x800f0907, 0x800f0950, 0x800f0954, 0x800f0982, 0x800f0983,
            0x800f0984, 0x800f0985, 0x800f0986, 0x800f0987, 0x800f0988, 0x800f0989, 0x800f0991,
            0x8007000d, 0x800705b9, 0x800f0900, 0x800f080d, 0x80070003, 0x80070490, 0x800f0823,
            0x800f081e, 0x80070005, 0x80070020, 0x80070570, 0x80070002, 0x80070070, 0x800f0828,
            0x8024200d, 0x80240034, 0x80242006, 0x80246007, 0x8024402c, 0x80244022, 0x8024401b,
            0x80072efe, 0x80072ee2, 0x80072f8f, 0x8024401c, 0x80242014, 0x80242016, 0x800706be,
            0x80073d02, 0x8004402f, 0x80004005, 0x80070643, 0x800f0830, 0x800f0911, 0x800f0905,
            0x800f0904, 0x800f0805, 0x8007041d, 0x80070424, 0x8007042c, 0x80071a92, 0x80071aa1,
            0x80071aae, 0x8007001f, 0x800f0906, 0x80070302, 0xc1900101, 0xc1900104,
        ];
        for c in codes {
            assert!(is_known(c), "0x{c:08x}");
        }
        for w in [
            2, 3, 5, 13, 32, 112, 1053, 1058, 1060, 1068, 1115, 1392, 1753, 3010, 3017, 6801, 6802,
            6817, 6830, 6833, 14098,
        ] {
            assert!(is_known(hresult_from_win32(w)), "Win32 {w}");
        }
    }

    #[test]
    fn queries() {
        assert_eq!(parse_query("0x80071ab1"), vec![0x80071ab1]);
        assert_eq!(parse_query("80071AB1"), vec![0x80071ab1]);
        assert_eq!(parse_query("1058"), vec![0x80070422]);
        assert_eq!(parse_query("-2146498270"), vec![0x800f0922]);
        assert_eq!(parse_query("-2147023143"), vec![0x800706d9]);
        assert_eq!(parse_query("2147942402"), vec![0x80070002]);
        assert_eq!(parse_query("HRESULT_FROM_WIN32(1753)"), vec![0x800706d9]);
        assert_eq!(
            parse_query("hresult_from_win32(ERROR_SERVICE_DISABLED)"),
            vec![0x80070422]
        );
        assert_eq!(parse_query("CBS_E_INSTALLERS_FAILED"), vec![0x800f0922]);
        assert_eq!(parse_query(" 0x422 "), vec![0x80070422]);
        assert_eq!(parse_query("80070422"), vec![0x80070422]);
        assert!(parse_query("not a code").is_empty());
        assert!(parse_query("").is_empty());
    }
}
