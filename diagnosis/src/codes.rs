//! Error-code knowledge base: HRESULT, Win32, NTSTATUS, CBS_E, PSFX_E and WU_E codes with names
//! and one-line meanings in en and zh.
//!
//! OWNER: parse helper.

use crate::report::CodeInfo;

/// Decode a normalised code into name and meanings (unknown codes get an empty name).
pub fn lookup(code: u32) -> CodeInfo {
    CodeInfo {
        code: format!("0x{code:08x}"),
        name: String::new(),
        meaning: String::new(),
        meaning_zh: String::new(),
    }
}

/// Parse a user-typed code (`0x…`, bare hex, decimal, negative decimal, `HRESULT_FROM_WIN32(n)`,
/// symbolic name) into the normalised code(s) it may denote.
pub fn parse_query(query: &str) -> Vec<u32> {
    let _ = query;
    Vec::new()
}
