//! Case records (docs/ARCHITECTURE.md, "Cases"). Stored with a schema version and migrated on read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `CAS-<5 digits>-<6 uppercase alphanumerics>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

impl CaseId {
    /// Parse and validate a case id (case-insensitive input, stored uppercase).
    pub fn parse(s: &str) -> Result<CaseId, String> {
        let up = s.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        let ok = b.len() == 16
            && up.starts_with("CAS-")
            && b[4..9].iter().all(u8::is_ascii_digit)
            && b[9] == b'-'
            && b[10..]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
        if ok {
            Ok(CaseId(up))
        } else {
            Err(format!(
                "`{s}` is not a case id (expected CAS-12345-ABC123)"
            ))
        }
    }

    /// An id built by the store from a known-good format (skips validation).
    pub(crate) fn from_trusted(text: String) -> CaseId {
        CaseId(text)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CaseId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CaseId::parse(&s)
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.0
    }
}

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Case status (docs/ARCHITECTURE.md, "Cases").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStatus {
    /// Just opened.
    Open,
    /// Waiting for log bundles.
    AwaitingLogs,
    /// At least one device diagnosed.
    Diagnosed,
    /// Fix sent, waiting for the customer to verify.
    AwaitingVerification,
    /// Every device verified fixed.
    Resolved,
    /// Closed with a summary.
    Closed,
}

/// Per-device status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceStatus {
    /// No bundle yet.
    AwaitingLogs,
    /// Diagnosed, fix not yet verified.
    Diagnosed,
    /// Verified fixed.
    Fixed,
    /// Verified still failing.
    StillFailing,
}

/// A bundle attached to a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleRef {
    /// Content hash (key in the bundle directory).
    pub sha256: String,
    /// File name as uploaded.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Unix seconds.
    pub added_at: u64,
}

/// One device of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Device (computer) name.
    pub name: String,
    /// Status.
    pub status: DeviceStatus,
    /// Bundles, oldest first.
    pub bundles: Vec<BundleRef>,
    /// Latest diagnosis.
    pub diagnosis: Option<diagnosis::Diagnosis>,
    /// Verification note from the customer/engineer.
    pub verification: Option<String>,
}

/// One timeline event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Unix seconds.
    pub at: u64,
    /// Who (user name, or `casebot`).
    pub author: String,
    /// Event kind (`open`, `bundle`, `diagnosis`, `note`, `device`, `close`, …).
    pub kind: String,
    /// Text (already redacted).
    pub text: String,
}

/// A support case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// Title.
    pub title: String,
    /// Problem definition (restated at open).
    pub problem: String,
    /// Case language (`zh` / `en`).
    pub lang: diagnosis::Lang,
    /// Who opened it.
    pub opener: String,
    /// The opener's chat user id (display names are not unique); `None` for cases stored
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opener_id: Option<String>,
    /// The Discord server (guild) the case was opened in; `None` outside one (the console) and
    /// for cases stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<u64>,
    /// Channel the case was opened in.
    pub channel_id: Option<u64>,
    /// Thread bound to the case.
    pub thread_id: Option<u64>,
    /// Status.
    pub status: CaseStatus,
    /// Devices by name.
    pub devices: BTreeMap<String, DeviceRecord>,
    /// Every event.
    pub timeline: Vec<TimelineEntry>,
    /// Reason given at close.
    pub close_reason: Option<String>,
    /// Close summary (Markdown).
    pub summary: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}
