//! The one error type of the `handlers` crate, and the user-facing problems it carries.
//!
//! `UserError` text goes to the chat in the user's language; everything else is internal: the
//! adapter logs it with the case id and the user sees a generic line.

use diagnosis::Lang;
use store::{CaseId, StoreError};

use crate::render::{fmt, msg};

/// A problem the user caused or can fix; rendered into the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserError {
    /// The command needs a case and none is bound to this channel.
    NoCase,
    /// `case <id>` / lookups of an id that does not exist.
    NoSuchCase(String),
    /// The case is closed; only `reopen`, `note`, `status` and `export` work.
    CaseClosed(CaseId),
    /// `reopen` on a case that is not closed.
    NotClosed(CaseId),
    /// A device name that is not part of the case.
    UnknownDevice {
        /// Name as typed.
        name: String,
        /// Devices of the case.
        known: Vec<String>,
    },
    /// A bare `fixed`/`still failing` with no device waiting for verification.
    NothingToVerify,
    /// A bare `fixed`/`still failing` with several devices waiting.
    WhichDevice(Vec<String>),
    /// `split` would leave the case without devices.
    SplitAll,
    /// `close` with unverified devices and neither `force` nor a reason.
    CloseNeedsConfirmation(Vec<String>),
    /// Engineer-only command from a customer.
    EngineersOnly(&'static str),
    /// `diagnose` with nothing stored to diagnose.
    NoBundles,
    /// The attachment could not be fetched.
    Download(DownloadError),
    /// `explain` with a code the knowledge base does not know.
    UnknownCode(String),
    /// Log lines pasted in a case with several devices, and no `device:<name>` saying whose.
    PasteWhichDevice(Vec<String>),
    /// Pasted text longer than `download.max_bytes`.
    PasteTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A rate limit or quota was hit.
    RateLimited(Limited),
    /// The bundle could not be opened at all.
    Unreadable {
        /// File name.
        name: String,
        /// Why (from the engine).
        reason: String,
    },
}

/// Why an attachment could not be fetched. Nothing is stored in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadError {
    /// The link is not a valid http(s) URL.
    BadUrl(String),
    /// The host is not in `download.allowed_hosts`.
    HostNotAllowed(String),
    /// The server answered 403/404/410: the link expired or the file was deleted.
    NotFound(u16),
    /// Any other non-success status.
    Status(u16),
    /// Larger than `download.max_bytes` (announced or while streaming).
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The download took longer than `download.timeout`.
    Timeout {
        /// The limit in seconds.
        secs: u64,
    },
    /// Connection failures.
    Network(String),
    /// A local (console) file that cannot be read.
    File(String),
}

/// Handler failures: user errors are replied, the rest are logged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// Shown to the user.
    #[error("{}", .0.message(Lang::En))]
    User(UserError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Anything else (a panicked diagnosis task, I/O on temp files).
    #[error("{0}")]
    Internal(String),
}

impl From<UserError> for HandlerError {
    fn from(e: UserError) -> Self {
        HandlerError::User(e)
    }
}

/// A byte count for people: `200 MB`, `64 KB`, `512 bytes`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MB", b >> 20),
        b if b >= 1 << 10 => format!("{} KB", b >> 10),
        b => format!("{b} bytes"),
    }
}

impl UserError {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        use UserError as U;
        match self {
            U::NoCase => msg(lang, "error.no_case").to_string(),
            U::NoSuchCase(id) => fmt(lang, "error.no_such_case", &[("id", id)]),
            U::CaseClosed(id) => fmt(lang, "error.case_closed", &[("id", id)]),
            U::NotClosed(id) => fmt(lang, "error.not_closed", &[("id", id)]),
            U::UnknownDevice { name, known } => {
                let list = if known.is_empty() {
                    "—".to_string()
                } else {
                    known.join(", ")
                };
                fmt(
                    lang,
                    "error.unknown_device",
                    &[("name", name), ("list", &list)],
                )
            }
            U::NothingToVerify => msg(lang, "error.nothing_to_verify").to_string(),
            U::WhichDevice(devs) => {
                fmt(lang, "error.which_device", &[("devices", &devs.join(", "))])
            }
            U::SplitAll => msg(lang, "error.split_all").to_string(),
            U::CloseNeedsConfirmation(devs) => fmt(
                lang,
                "error.close_needs_confirmation",
                &[("devices", &devs.join(", "))],
            ),
            U::EngineersOnly(cmd) => fmt(lang, "error.engineers_only", &[("cmd", cmd)]),
            U::RateLimited(limit) => limit.message(lang),
            other => other.bundle_message(lang),
        }
    }

    /// Messages about bundles, downloads and codes (split from [`UserError::message`]).
    fn bundle_message(&self, lang: Lang) -> String {
        use UserError as U;
        match self {
            U::NoBundles => msg(lang, "error.no_bundles").to_string(),
            U::Download(d) => d.message(lang),
            U::UnknownCode(c) => fmt(lang, "error.unknown_code", &[("c", c)]),
            U::PasteWhichDevice(devs) => fmt(
                lang,
                "error.paste_which_device",
                &[("devices", &devs.join(", "))],
            ),
            U::PasteTooLarge { limit } => {
                fmt(lang, "error.paste_too_large", &[("limit", &size(*limit))])
            }
            U::Unreadable { name, reason } => fmt(
                lang,
                "error.unreadable",
                &[("name", name), ("reason", reason)],
            ),
            // Case messages are answered by `message` itself and never reach here; a debug form
            // (rather than calling back into `message`) keeps a forgotten variant from looping.
            other => format!("{other:?}"),
        }
    }
}

impl DownloadError {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        use DownloadError as D;
        match self {
            D::BadUrl(u) => fmt(lang, "error.download_bad_url", &[("u", u)]),
            D::HostNotAllowed(h) => fmt(lang, "error.download_host_not_allowed", &[("h", h)]),
            D::NotFound(code) => fmt(lang, "error.download_not_found", &[("code", code)]),
            D::Status(s) => fmt(lang, "error.download_status", &[("s", s)]),
            D::TooLarge { limit } => fmt(
                lang,
                "error.download_too_large",
                &[("limit", &size(*limit))],
            ),
            D::Timeout { secs } => fmt(lang, "error.download_timeout", &[("secs", secs)]),
            D::Network(e) => fmt(lang, "error.download_network", &[("e", e)]),
            D::File(e) => fmt(lang, "error.download_file", &[("e", e)]),
        }
    }
}

/// Which limit a message hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Too many messages this minute.
    Messages(u32),
    /// Too many uploads this minute.
    Uploads(u32),
    /// Too many diagnoses in flight for the guild.
    Diagnoses(usize),
}

impl Limited {
    /// The polite reply, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Limited::Messages(n) => fmt(lang, "limit.messages", &[("n", n)]),
            Limited::Uploads(n) => fmt(lang, "limit.uploads", &[("n", n)]),
            Limited::Diagnoses(n) => fmt(lang, "limit.diagnoses", &[("n", n)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_error_has_a_sentence_in_both_languages() {
        let id = CaseId::parse("CAS-11694-G2W9Y6").unwrap();
        let all = [
            UserError::NoCase,
            UserError::NoSuchCase("CAS-1".into()),
            UserError::CaseClosed(id.clone()),
            UserError::NotClosed(id),
            UserError::UnknownDevice {
                name: "pc".into(),
                known: vec![],
            },
            UserError::NothingToVerify,
            UserError::WhichDevice(vec!["a".into(), "b".into()]),
            UserError::SplitAll,
            UserError::CloseNeedsConfirmation(vec!["a".into()]),
            UserError::EngineersOnly("close"),
            UserError::NoBundles,
            UserError::Download(DownloadError::TooLarge { limit: 200 << 20 }),
            UserError::UnknownCode("x".into()),
            UserError::PasteWhichDevice(vec!["a".into(), "b".into()]),
            UserError::PasteTooLarge { limit: 1 << 20 },
            UserError::Unreadable {
                name: "a.zip".into(),
                reason: "not a zip".into(),
            },
        ];
        for e in all {
            let en = e.message(Lang::En);
            let zh = e.message(Lang::Zh);
            assert!(en.ends_with(['.', ')']) || en.ends_with('`'), "{e:?}: {en}");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{e:?}: {zh}"
            );
            assert_ne!(en, zh);
        }
        assert_eq!(size(200 << 20), "200 MB");
        assert_eq!(size(2048), "2 KB");
    }
}
