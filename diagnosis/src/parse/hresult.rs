//! HRESULT notation extraction: every form of docs/windows-servicing.md §A.1 normalised to one `u32`.
//!
//! Normalisation choices (the engine and rules rely on them):
//! - `HRESULT_FROM_WIN32(n)` → `0x80070000 | n` (1058 → 0x80070422); a symbolic argument
//!   (`ERROR_FILE_NOT_FOUND`) is resolved through the code table.
//! - `NTSTATUS_FROM_WIN32(x)` → the same HRESULT form as `HRESULT_FROM_WIN32(x)`: the Win32
//!   error is what rules key on, and one code per error keeps matching simple.
//! - `[gle=0x…]` values are kept, including the meaningless `0x80004005`; ignoring that one as
//!   noise is the engine's decision, since in `[HRESULT = 0x80004005 - E_FAIL]` it is real.
//! - Keyed fields (`status: 0x…`, `ErrorCode: …`, `HR=…`) holding a small value (1..=0xFFFF) are
//!   Win32 errors and are promoted to their HRESULT form.
//! - Success (`S_OK`, `0x00000000`) is never returned: `codes` lists failures only. Callers that
//!   need to see success look for `S_OK` in the record text.
//! - Bare hex without a key (CSI sequence numbers like `0000004b`, GUID parts, `[0x01806a]` error
//!   tags, timestamps) is never a code; a `0x`-prefixed 8-digit value counts only when its
//!   severity bit is set (`with error 0x800f0922`, `错误 0x800f0922`, `[0x8024200D]`).

use std::sync::LazyLock;

use regex::bytes::{Captures, Regex};

/// One alternation so a record is scanned once. It is an ASCII byte regex: that keeps the lazy
/// DFA small (fast on multi-GB logs), and any non-ASCII byte counts as a delimiter, so CJK text
/// directly before a code (`错误0x800f0922`) still matches.
pub(crate) const CODE_PATTERN: &str = concat!(
    r"(?i-u)",
    // HRESULT_FROM_WIN32(1058) / NTSTATUS_FROM_WIN32(ERROR_INVALID_DATA)
    r"(?:HRESULT|NTSTATUS)_FROM_WIN32\(\s*(?P<w32>[A-Za-z0-9_]+)\s*\)",
    // HRESULT = 0x800f0922, HRESULT=800F0922, hr:0x…, HR=0x…, ErrorCode: 800706d9
    // and the agent's install history `LogHistory called. … resultMapped=80070643`
    r"|(?:^|[^A-Za-z0-9_])(?:HRESULT|hr|error\s?code|resultMapped)\s*[:=]\s*(?:0x(?P<kh>[0-9a-f]{1,8})|(?P<kh8>[0-9a-f]{8}))(?:$|[^A-Za-z0-9_])",
    // status: 0x800f0922, overall result:0x800f0922, Operation result: 0x…
    r"|(?:^|[^A-Za-z0-9_])(?:status|result)\s*[:=]\s*0x(?P<ks>[0-9a-f]{1,8})(?:$|[^A-Za-z0-9_])",
    // with status -2147023143, Error Value: 2147942402, USO's `[hr] : -2145124322`, and the
    // word "error" of a localised message (WUSA's `en raison de l’erreur 2149842967`)
    r"|(?:^|[^A-Za-z0-9_])(?:hresult|status|result|error\s+value|error|code|\[hr\]|erreur|fehlers?|errore|erro|fout|błąd|ошибк\S*|错误|エラー)\s*[:=]?\s*(?P<dec>-?[0-9]{9,10})(?:$|[^0-9])",
    // Win32 numbers in words: DOQ `INSTALL index: 194, phase: 2, result 13, inf: x.inf`,
    // CSI `Failed in StartService for … with error code 2`
    r"|(?:^|[^A-Za-z0-9_])(?:result (?P<doq>[0-9]{1,5}), inf:|with error code (?P<wec>[0-9]{1,5})(?:$|[^0-9x]))",
    // setup migration: `Error READ, 0x00000570 while gathering/applying object`,
    // `MIG Error 1392 while gathering object` (Win32 errors)
    r"|(?-i:(?:^|[^A-Za-z0-9_])Error\s+(?:[A-Z]+,\s*0x(?P<mig>0000[0-9a-fA-F]{4})|(?P<migd>[0-9]{1,5}))\s+while\s)",
    // Windows Error Reporting `WindowsUpdateFailure*` buckets: the HRESULT is parameter P2,
    // without `0x` (`P2: 8024402c`)
    r"|(?m:^[ \t]*P2:[ \t]*(?P<wer>[89a-f][0-9a-f]{7})[ \t]*\r?$)",
    // DISM console: a line `Error: 14098` (Win32 number alone on the line), in the console's
    // languages (the words of `grammar::DISM_ERROR_WORDS`)
    r"|(?m:^[ \t]*(?:Error|Fehler|Erreur|Errore|Fout|Błąd|Ошибка|Chyba|Hata|Erro|エラー|错误|錯誤|오류)[ \t]*(?::|：)[ \t]*(?P<dism>[0-9]{1,5})[ \t]*\r?$)",
    // CSI failure records: `(F) 80070002 [Warning,Facility=FACILITY_NTWIN32,Code=…]`
    r"|(?:^|[^A-Za-z0-9_])(?P<fx>[0-9a-f]{8})\s*\[(?:Error|Warning),\s*Facility=",
    // WindowsUpdate.log: `Misc *FAILED* [80072F8F] Send request`
    r"|\*FAILED\*\s*\[(?P<wuf>[89a-f][0-9a-f]{7})\]",
    // the Windows 7 update dialog and its copies: `Code 80072EFE Windows Update encountered an
    // unknown error.`, `Windows Update error 80070103` (an HRESULT without `0x` after the word)
    r"|(?:^|[^A-Za-z0-9_])(?:code|error)\s+(?P<ui>(?:80|c0|c1)[0-9a-f]{6})(?:$|[^A-Za-z0-9_])",
    // any 0x-prefixed 8-digit value with the severity bit: 0x80071a91, 0XC01A001D
    // (`@0xff83e97c` is a pointer in a CSI stack trace, not a code)
    r"|(?:^|[^A-Za-z0-9_@])0x(?P<gen>[89a-f][0-9a-f]{7})(?:$|[^A-Za-z0-9_])",
    // symbolic failure names stand alone (STATUS_SXS_COMPONENT_STORE_CORRUPT,
    // CBS_E_INSTALLERS_FAILED, WU_E_PT_HTTP_STATUS_NOT_FOUND, PSFX_E_MATCHING_BINARY_MISSING);
    // a name the code table does not hold is no code
    r"|(?-i:(?P<sym>\b(?:STATUS|CBS_E|PSFX_E|WU_E|SPAPI_E|TRUST_E|CERT_E)_[A-Z0-9_]{3,}))",
);

/// [`CODE_PATTERN`], compiled once.
static CODE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(CODE_PATTERN).expect("code regex is valid"));

/// Every HRESULT notation found in `text`, normalised, in order of appearance, deduplicated.
pub fn extract_codes(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    // Most log lines hold no code: a match test (lazy DFA, no captures) settles them cheaply.
    if !CODE_RE.is_match(text.as_bytes()) {
        return out;
    }
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos <= bytes.len() {
        let Some(caps) = CODE_RE.captures_at(bytes, pos) else {
            break;
        };
        let Some(whole) = caps.get(0) else {
            break;
        };
        if let Some(code) = decode_captures(&caps)
            && code != 0
            && !out.contains(&code)
        {
            out.push(code);
        }
        // The patterns consume one trailing delimiter byte; start the next search on it so
        // that adjacent codes (`0x…,0x…`) are both found.
        let mut next = whole.end();
        if whole.len() > 1 && !bytes[next - 1].is_ascii_alphanumeric() {
            next -= 1;
        }
        pos = next.max(whole.start() + 1);
    }
    out
}

/// A captured group as text (every group matches ASCII only).
fn group<'a>(caps: &Captures<'a>, name: &str) -> Option<&'a str> {
    caps.name(name)
        .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
}

fn decode_captures(caps: &Captures<'_>) -> Option<u32> {
    if let Some(m) = group(caps, "w32") {
        return win32_arg(m);
    }
    if let Some(m) = group(caps, "doq")
        .or_else(|| group(caps, "wec"))
        .or_else(|| group(caps, "dism"))
    {
        return m.parse().ok().map(hresult_from_win32);
    }
    if let Some(m) = group(caps, "mig") {
        return u32::from_str_radix(m, 16).ok().and_then(keyed);
    }
    if let Some(m) = group(caps, "migd") {
        return m.parse().ok().and_then(keyed);
    }
    if let Some(m) = group(caps, "kh").or_else(|| group(caps, "ks")) {
        return u32::from_str_radix(m, 16).ok().and_then(keyed);
    }
    if let Some(m) = group(caps, "kh8").or_else(|| group(caps, "fx")) {
        return u32::from_str_radix(m, 16).ok().and_then(keyed);
    }
    if let Some(m) = group(caps, "dec") {
        return signed_decimal(m);
    }
    if let Some(m) = group(caps, "gen")
        .or_else(|| group(caps, "wuf"))
        .or_else(|| group(caps, "ui"))
        .or_else(|| group(caps, "wer"))
    {
        return u32::from_str_radix(m, 16).ok();
    }
    if let Some(m) = group(caps, "sym") {
        return crate::codes::code_by_name(m);
    }
    None
}

/// `HRESULT_FROM_WIN32(x)`: x is decimal, `0x` hex or a symbolic Win32 name.
fn win32_arg(arg: &str) -> Option<u32> {
    let n = if let Some(hex) = arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if arg.bytes().all(|b| b.is_ascii_digit()) {
        arg.parse::<u32>().ok()?
    } else {
        return crate::codes::code_by_name(arg);
    };
    Some(hresult_from_win32(n))
}

/// `HRESULT_FROM_WIN32`: values that already are HRESULTs (or 0) pass through unchanged.
pub fn hresult_from_win32(n: u32) -> u32 {
    if n == 0 || n & 0x8000_0000 != 0 {
        n
    } else {
        0x8007_0000 | (n & 0xFFFF)
    }
}

/// A keyed field's value: HRESULTs kept, small Win32 errors promoted, anything else dropped.
fn keyed(v: u32) -> Option<u32> {
    match v {
        0 => None,
        1..=0xFFFF => Some(hresult_from_win32(v)),
        v if v & 0x8000_0000 != 0 => Some(v),
        _ => None,
    }
}

/// `-2147023143` (signed) or `2147942402` (unsigned) decimal with the severity bit set (also
/// for `casebot explain` queries).
pub(crate) fn signed_decimal(s: &str) -> Option<u32> {
    let v: i64 = s.parse().ok()?;
    let u = if v < 0 {
        u32::try_from(v + (1_i64 << 32)).ok()?
    } else {
        u32::try_from(v).ok()?
    };
    (u & 0x8000_0000 != 0).then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Vec<u32> {
        extract_codes(text)
    }

    #[test]
    fn cbs_bracket_with_and_without_name() {
        assert_eq!(
            one(
                "Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]"
            ),
            vec![0x800f0922]
        );
        assert_eq!(
            one(
                "Exec: Failed to commit CBS transaction. [HRESULT = 0x80071a91 - ERROR_RM_NOT_ACTIVE]"
            ),
            vec![0x80071a91]
        );
        assert_eq!(
            one("Failed restart attempt. [HRESULT = 0x8007045b - ]"),
            vec![0x8007045b]
        );
        assert_eq!(one("[HRESULT = 0x80071a91]"), vec![0x80071a91]);
    }

    #[test]
    fn win32_wrappers() {
        assert_eq!(
            one("with HRESULT HRESULT_FROM_WIN32(1058)."),
            vec![0x80070422]
        );
        assert_eq!(one("HRESULT_FROM_WIN32(1753)"), vec![0x800706d9]);
        assert_eq!(one("HRESULT_FROM_WIN32(14098)"), vec![0x80073712]);
        assert_eq!(
            one("HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)"),
            vec![0x80070002]
        );
        assert_eq!(
            one("Completion status: HRESULT_FROM_WIN32(ERROR_ADVANCED_INSTALLER_FAILED)"),
            vec![0x80073713]
        );
        assert_eq!(
            one("NTSTATUS_FROM_WIN32(ERROR_INVALID_DATA)"),
            vec![0x8007000d]
        );
        assert_eq!(one("HRESULT_FROM_WIN32(0)"), Vec::<u32>::new());
    }

    #[test]
    fn setup_migration_errors_are_win32() {
        assert_eq!(
            one(
                "Error READ, 0x00000570 while gathering/applying object: File, C:\\x [CN]. Will return 0[gle=0x00000570]"
            ),
            vec![0x80070570]
        );
        assert_eq!(
            one(
                "MIG    Error 1392 while gathering object C:\\x. Shell application requested abort![gle=0x00000570]"
            ),
            vec![0x80070570]
        );
        assert!(one("an error 12 while reading").is_empty());
    }

    #[test]
    fn gle_is_kept() {
        assert_eq!(
            one(
                "(F) Failed execution of queue item Installer: Container Installer ({9edf0f01-1234-4321-aaaa-bbbbccccdddd}) with HRESULT HRESULT_FROM_WIN32(1753).  Failure will not be ignored[gle=0x80004005]"
            ),
            vec![0x800706d9, 0x80004005]
        );
        assert_eq!(one("Failed [gle=0xd015001a]"), vec![0xd015001a]);
    }

    #[test]
    fn bare_hex_and_keyed_fields() {
        assert_eq!(
            one("HRESULT = 800f0207 [Error,Facility=(000f),Code=519 (0x0207)]"),
            vec![0x800f0207]
        );
        assert_eq!(
            one(
                "(F) Installer: Container Installer\tBinary Name: containerai.dll\tErrorCode: 800706d9\tPhase: 39"
            ),
            vec![0x800706d9]
        );
        assert_eq!(one("HR=0x80070002"), vec![0x80070002]);
        assert_eq!(
            one(
                "DISM.EXE: DISM Package Manager processed the command line but failed. HRESULT=800F0922"
            ),
            vec![0x800f0922]
        );
        assert_eq!(
            one(
                "Failed finalizing changes. - CDISMPackageManager::Internal_Finalize(hr:0x800f0906)"
            ),
            vec![0x800f0906]
        );
        assert_eq!(
            one("Error in operation: (null) (CBS HRESULT=0x800f081e) - CCbsConUIHandler::Error"),
            vec![0x800f081e]
        );
    }

    #[test]
    fn decimal_codes_after_a_localised_error_word() {
        assert_eq!(
            one("en raison de l’erreur 2149842967 « »"),
            vec![0x80240017]
        );
        assert_eq!(one("aufgrund des Fehlers -2146498530"), vec![0x800f081e]);
        assert!(one("erreur 12345").is_empty());
    }

    #[test]
    fn update_dialog_codes_without_0x() {
        assert_eq!(
            one("Code 80072EFE Windows Update encountered an unknown error."),
            vec![0x80072efe]
        );
        assert_eq!(one("Windows Update error 80070103"), vec![0x80070103]);
        // a decimal count or a build after the word is no code
        assert!(one("error 10019045 times").is_empty());
        assert!(one("Code 2 lines").is_empty());
    }

    #[test]
    fn wer_problem_signature_p2() {
        assert_eq!(
            one(
                "Event Name: WindowsUpdateFailure3\nP1: 10.0.17763.1\nP2: 8024401c\nP3: 00000000-0000-0000-0000-000000000000\nP4: Scan"
            ),
            vec![0x8024401c]
        );
        // Other parameters and other buckets' versions are not codes.
        assert!(
            one("P1: 10.0.17763.1\nP3: 80000000-0000-0000-0000-000000000000\nP7: 0").is_empty()
        );
        assert!(one("P2: 10.0.17763.1").is_empty());
    }

    #[test]
    fn win32_numbers_in_words() {
        assert_eq!(
            one("INSTALL index: 194, phase: 2, result 13, inf: mshdc.inf"),
            vec![0x8007000d]
        );
        assert_eq!(
            one("INSTALL index: 12, phase: 2, result 0, inf: a.inf"),
            Vec::<u32>::new()
        );
        assert_eq!(
            one(
                "(F) Failed in StartService for [30]\"clr_optimization_v4.0.30319_32\" with error code 2[gle=0x80004005]"
            ),
            vec![0x80070002, 0x80004005]
        );
    }

    #[test]
    fn powershell_and_dism_console() {
        assert_eq!(one("HResult : -2146498270"), vec![0x800f0922]);
        assert_eq!(
            one(
                "Deployment Image Servicing and Management tool\nError: 14098\n\nThe component store has been corrupted."
            ),
            vec![0x80073712]
        );
        assert_eq!(one("Error: 0x800f081f"), vec![0x800f081f]);
        assert!(one("Error: 2 files were skipped").is_empty());
    }

    #[test]
    fn csi_facility_form() {
        assert_eq!(
            one(
                "(F) 80070002 [Warning,Facility=FACILITY_NTWIN32,Code=ERROR_FILE_NOT_FOUND] #17049# from X[gle=0x80070002]"
            ),
            vec![0x80070002]
        );
    }

    #[test]
    fn status_fields() {
        assert_eq!(
            one(
                "WER: Generating failure report for package: Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.4046.1.14, status: 0x800f0922, failure source: Execute, start state: Staged"
            ),
            vec![0x800f0922]
        );
        assert_eq!(
            one("overall result:0x800f0922 (CBS_E_INSTALLERS_FAILED)"),
            vec![0x800f0922]
        );
        assert_eq!(one("Operation result: 0x800f081f"), vec![0x800f081f]);
        assert_eq!(
            one("Setting original failure status: 0x800f0922, last forward"),
            vec![0x800f0922]
        );
    }

    #[test]
    fn signed_and_unsigned_decimal() {
        assert_eq!(
            one("Installer failed with status -2147023143"),
            vec![0x800706d9]
        );
        assert_eq!(one("Error Value: 2147942402"), vec![0x80070002]);
        assert_eq!(
            one(
                "LogHistory called. idUpdate={E0F87EBF}.1, resultMapped=80070643, resultUnMapped=FFFE"
            ),
            vec![0x80070643]
        );
        assert_eq!(
            one("*Error Originate:Handler* -> [hr] : -2145124322"),
            vec![0x8024001e]
        );
        assert_eq!(one("status 1234567890"), Vec::<u32>::new());
    }

    #[test]
    fn generic_0x_and_chinese() {
        assert_eq!(one("错误 0x800f0922"), vec![0x800f0922]);
        assert_eq!(one("安装失败: 错误0x800f0922。"), vec![0x800f0922]);
        assert_eq!(
            one("FATAL: CBS called Error with 0x800f0831"),
            vec![0x800f0831]
        );
        assert_eq!(
            one("<Data Name='errorCode'>0x80073d02</Data>"),
            vec![0x80073d02]
        );
        assert_eq!(one("Process failed: [0x8024200D]"), vec![0x8024200d]);
        assert_eq!(
            one("mispace.mof (1): error SYNTAX 0X8004402f: Error creating temporary file"),
            vec![0x8004402f]
        );
        assert_eq!(one("0x80070005,0x80070020"), vec![0x80070005, 0x80070020]);
    }

    #[test]
    fn symbolic_ntstatus() {
        assert_eq!(
            one("returned STATUS_SXS_COMPONENT_STORE_CORRUPT"),
            vec![0xc015001a]
        );
        assert_eq!(one("Completion status: S_OK"), Vec::<u32>::new());
    }

    #[test]
    fn symbolic_servicing_and_update_names() {
        assert_eq!(one("CBS_E_INSTALLERS_FAILED"), vec![0x800f0922]);
        assert_eq!(
            one("the scan ended in WU_E_PT_HTTP_STATUS_NOT_FOUND"),
            vec![0x80244019]
        );
        // The same code written twice is one code; a name the table lacks is none.
        assert_eq!(
            one("[HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]"),
            vec![0x800f0922]
        );
        assert_eq!(one("CBS_E_NO_SUCH_THING_HERE"), Vec::<u32>::new());
    }

    #[test]
    fn success_is_not_a_code() {
        assert_eq!(
            one("Exec: Processing complete. [HRESULT = 0x00000000 - S_OK]"),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn noise_is_not_a_code() {
        assert!(
            one("2026-10-08 20:55:05, Error      [0x01806a] CSI    0000004b (F) Done").is_empty()
        );
        assert!(one("Installer ID: {9edf0f01-8000-4321-aaaa-bbbbccccdddd}").is_empty());
        assert!(one("00000c61@2016/9/27:20:30:31.455 Begin transaction").is_empty());
        assert!(one("CSIPERF:TXCOMMIT; 15663").is_empty());
        assert!(
            one("Session: 30546173_4261722401 initialized by client WindowsUpdateAgent.")
                .is_empty()
        );
        assert!(one("Flags = 0x00000010, count 0x00000004").is_empty());
        // loghub Windows_2k.log: pointers in a CSI stack trace.
        assert!(one("00000001@2016/9/27:20:30:31.455 WcpInitialize (wcp.dll version 0.0.0.6) called (stack @0x7fed806eb5d @0x7fef9fb9b6d @0xff83e97c @0xff83d799)").is_empty());
        assert!(one("CSI Store 4991456 (0x00000000004c29e0) initialized").is_empty());
    }

    #[test]
    fn dedup_in_order() {
        assert_eq!(
            one(
                "[HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED] then status: 0x80070422 then 0x800f0922"
            ),
            vec![0x800f0922, 0x80070422]
        );
    }
}
