//! Error-code knowledge base: HRESULT, Win32, NTSTATUS, CBS_E, PSFX_E and WU_E codes with names
//! and one-line meanings in en and zh.
//!
//! OWNER: parse helper.
//!
//! Codes are stored in their normalised form: Win32 errors as `HRESULT_FROM_WIN32(n)`
//! (`0x8007xxxx`), NTSTATUS values as themselves (`0xC…`). [`lookup`] also decodes the
//! `HRESULT_FROM_NT` form (`0xD…`) and raw Win32 numbers through those entries.

mod table;

use crate::parse::hresult_from_win32;
use crate::report::CodeInfo;

use table::{CODES, Entry};

fn find(code: u32) -> Option<&'static Entry> {
    CODES.iter().find(|e| e.code == code)
}

/// Decode a normalised code into name and meanings (unknown codes get an empty name).
pub fn lookup(code: u32) -> CodeInfo {
    let entry = find(code)
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
        });
    match entry {
        Some(e) => CodeInfo {
            code: format!("0x{code:08x}"),
            name: e.name.to_string(),
            meaning: e.en.to_string(),
            meaning_zh: e.zh.to_string(),
        },
        None => CodeInfo {
            code: format!("0x{code:08x}"),
            name: String::new(),
            meaning: String::new(),
            meaning_zh: String::new(),
        },
    }
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
    if let Some(neg) = q.strip_prefix('-') {
        return neg
            .parse::<i64>()
            .ok()
            .filter(|v| (1..=1_i64 << 31).contains(v))
            .and_then(|v| u32::try_from((1_i64 << 32) - v).ok())
            .into_iter()
            .collect();
    }
    if q.bytes().all(|b| b.is_ascii_digit()) {
        return decimal_query(q);
    }
    if q.len() <= 8 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u32::from_str_radix(q, 16).ok().into_iter().collect();
    }
    Vec::new()
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
            assert!(
                !info.meaning.is_empty() && !info.meaning_zh.is_empty(),
                "{name}"
            );
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
