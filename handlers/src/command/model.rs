//! The typed commands and the small word readers they share (verdicts, `device:<name>`).

use diagnosis::Lang;
use store::CaseId;

/// A device verification verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The fix worked.
    Fixed,
    /// The device still fails.
    Failing,
}

/// One parsed command. The names match docs/ARCHITECTURE.md, "Cases" and the slash commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `open <title>`: open a case; the title is also the first problem statement.
    Open {
        /// Title (already redacted by the caller).
        title: String,
    },
    /// `status`.
    Status,
    /// `collect`: log collection instructions.
    Collect,
    /// `diagnose [device]`: re-run diagnoses from stored bundles (or diagnose attachments).
    Diagnose {
        /// Only this device.
        device: Option<String>,
    },
    /// `rediagnose <device>`: engineers re-run one device's diagnosis from its stored bundle
    /// (the Re-diagnose button under a diagnosis).
    Rediagnose {
        /// The device.
        device: String,
    },
    /// `device <name> fixed|failing [note]`.
    Device {
        /// Device name.
        name: String,
        /// Verdict.
        verdict: Verdict,
        /// Optional note.
        note: Option<String>,
    },
    /// A bare `fixed` / `still failing` reply (customers); applies to the one device awaiting it.
    Verify {
        /// Verdict.
        verdict: Verdict,
        /// Optional note.
        note: Option<String>,
    },
    /// `note <text>`.
    Note {
        /// The note.
        text: String,
    },
    /// `split <device…> [-- title]`: move devices into a new case.
    Split {
        /// Devices to move (the handler may reinterpret trailing unknown words as the title).
        devices: Vec<String>,
        /// Title of the new case.
        title: Option<String>,
    },
    /// `close [force] [reason]`.
    Close {
        /// Close even though some devices are not verified.
        force: bool,
        /// Reason.
        reason: Option<String>,
    },
    /// `reopen`.
    Reopen,
    /// `lang zh|en`.
    Lang(Lang),
    /// `explain <code>`.
    Explain {
        /// The code as typed.
        code: String,
    },
    /// `cases`: list cases.
    Cases,
    /// `export`: summary as Markdown and JSON files.
    Export,
    /// `link [customer]`: a signed, expiring link to the case's web view.
    Link {
        /// A link with the customer view, to pass on to the customer.
        customer: bool,
    },
    /// `help`.
    Help,
    /// `case <id>`: switch the console's current case.
    Switch(CaseId),
    /// No command word: free text (attachments in it are diagnosed).
    Text {
        /// Device named with `device:<name>`, if any.
        device: Option<String>,
    },
    /// Unknown or malformed command.
    Unknown {
        /// The command word as typed.
        word: String,
        /// Usage line for the command when it was known but malformed.
        usage: Option<String>,
    },
}

/// Parse a verdict word (`fixed`, `failing`, `still failing`, `已修复`, `仍失败`, …) at the start
/// of `rest`; returns the verdict and the remaining text.
pub fn parse_verdict(rest: &str) -> Option<(Verdict, &str)> {
    const WORDS: &[(&str, Verdict)] = &[
        ("still failing", Verdict::Failing),
        ("still-failing", Verdict::Failing),
        ("failing", Verdict::Failing),
        ("仍失败", Verdict::Failing),
        ("仍然失败", Verdict::Failing),
        ("还是失败", Verdict::Failing),
        ("失败", Verdict::Failing),
        ("fixed", Verdict::Fixed),
        ("resolved", Verdict::Fixed),
        ("已修复", Verdict::Fixed),
        ("已解决", Verdict::Fixed),
    ];
    let t = rest.trim_start();
    let lower = t.to_lowercase();
    for (word, verdict) in WORDS {
        if let Some(after) = lower.strip_prefix(word) {
            // Only whole words: `fixedly` is not a verdict.
            let boundary = after.is_empty()
                || after.starts_with(|c: char| c.is_whitespace() || ",.;:!，。：；！".contains(c));
            if boundary {
                // Lowercasing keeps these ASCII/CJK words the same byte length.
                let rest = t.get(word.len()..).unwrap_or("");
                return Some((
                    *verdict,
                    rest.trim_start_matches([',', '，', ':', '：']).trim(),
                ));
            }
        }
    }
    None
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The `device:<name>` token of a message, if any.
pub fn device_token(text: &str) -> Option<String> {
    text.split_whitespace().find_map(|tok| {
        let lower = tok.to_ascii_lowercase();
        let name = lower
            .strip_prefix("device:")
            .or_else(|| lower.strip_prefix("设备:"))
            .or_else(|| lower.strip_prefix("设备："))
            .map(|_| tok.split_once([':', '：']).map(|(_, n)| n).unwrap_or(""))?;
        let name = name.trim_matches(|c: char| c == ',' || c == '.' || c == '，');
        non_empty(name)
    })
}
