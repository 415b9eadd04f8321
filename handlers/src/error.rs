//! The one error type of the `handlers` crate, and the user-facing problems it carries.
//!
//! `UserError` text goes to the chat in the user's language; everything else is internal: the
//! adapter logs it with the case id and the user sees a generic line.

use diagnosis::Lang;
use store::{CaseId, StoreError};

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

fn pick(lang: Lang, en: String, zh: String) -> String {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

impl UserError {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        use UserError as U;
        match self {
            U::NoCase => pick(
                lang,
                "No case here. Start one with `open <title>` or switch with `case <id>`.".into(),
                "这里还没有案例。请用 `open <标题>` 新建，或用 `case <编号>` 切换。".into(),
            ),
            U::NoSuchCase(id) => pick(
                lang,
                format!("No case `{id}`."),
                format!("没有案例 `{id}`。"),
            ),
            U::CaseClosed(id) => pick(
                lang,
                format!("Case {id} is closed. An engineer can `reopen` it."),
                format!("案例 {id} 已关闭。工程师可以用 `reopen` 重新打开。"),
            ),
            U::NotClosed(id) => pick(
                lang,
                format!("Case {id} is not closed."),
                format!("案例 {id} 没有关闭。"),
            ),
            U::UnknownDevice { name, known } => {
                let list = if known.is_empty() {
                    "—".to_string()
                } else {
                    known.join(", ")
                };
                pick(
                    lang,
                    format!("This case has no device `{name}`. Devices: {list}."),
                    format!("本案例没有设备 `{name}`。已有设备：{list}。"),
                )
            }
            U::NothingToVerify => pick(
                lang,
                "No device is waiting for verification in this case.".into(),
                "本案例没有等待验证的设备。".into(),
            ),
            U::WhichDevice(devs) => pick(
                lang,
                format!(
                    "Which device? Reply `@casebot device <name> fixed` or `… failing`. Waiting: {}.",
                    devs.join(", ")
                ),
                format!(
                    "请指明设备：回复 `@casebot device <设备名> fixed` 或 `… failing`。等待验证：{}。",
                    devs.join(", ")
                ),
            ),
            U::SplitAll => pick(
                lang,
                "`split` must leave at least one device in this case.".into(),
                "`split` 之后本案例至少要保留一台设备。".into(),
            ),
            U::CloseNeedsConfirmation(devs) => pick(
                lang,
                format!(
                    "Not every device is verified fixed ({}). Close anyway with `close force` or `close <reason>`.",
                    devs.join(", ")
                ),
                format!(
                    "还有设备未验证修复（{}）。如仍要关闭，请使用 `close force` 或 `close <原因>`。",
                    devs.join(", ")
                ),
            ),
            U::EngineersOnly(cmd) => pick(
                lang,
                format!(
                    "Sorry, only support engineers can use `{cmd}`. An engineer will follow up."
                ),
                format!("抱歉，只有支持工程师可以使用 `{cmd}`。工程师会跟进处理。"),
            ),
            other => other.bundle_message(lang),
        }
    }

    /// Messages about bundles, downloads and codes (split from [`UserError::message`]).
    fn bundle_message(&self, lang: Lang) -> String {
        use UserError as U;
        match self {
            U::NoBundles => pick(
                lang,
                "No log bundle is stored for this case yet. Attach one (see `collect`).".into(),
                "本案例还没有日志包。请上传日志包（见 `collect`）。".into(),
            ),
            U::Download(d) => d.message(lang),
            U::UnknownCode(c) => pick(
                lang,
                format!("I don't know the code `{c}`. Try the hex form, e.g. `0x800f0922`."),
                format!("不认识代码 `{c}`。请尝试十六进制形式，例如 `0x800f0922`。"),
            ),
            U::PasteWhichDevice(devs) => pick(
                lang,
                format!(
                    "Which device are these log lines from? Post them again with `device:<name>`. Devices: {}.",
                    devs.join(", ")
                ),
                format!(
                    "这些日志行来自哪台设备？请加上 `device:<设备名>` 重新发送。已有设备：{}。",
                    devs.join(", ")
                ),
            ),
            U::PasteTooLarge { limit } => pick(
                lang,
                format!(
                    "The pasted text is larger than the {} limit. Please attach the log file instead.",
                    size(*limit)
                ),
                format!(
                    "粘贴的文本超过 {} 的限制。请改为上传日志文件。",
                    size(*limit)
                ),
            ),
            U::Unreadable { name, reason } => pick(
                lang,
                format!(
                    "Cannot read `{name}`: {reason}. Please upload the zip produced by the collector (see `collect`)."
                ),
                format!(
                    "无法读取 `{name}`：{reason}。请上传日志收集工具生成的 zip 包（见 `collect`）。"
                ),
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
            D::BadUrl(u) => pick(
                lang,
                format!("`{u}` is not a valid link."),
                format!("`{u}` 不是有效链接。"),
            ),
            D::HostNotAllowed(h) => pick(
                lang,
                format!(
                    "Attachments from `{h}` are not accepted; please attach the file directly."
                ),
                format!("不接受来自 `{h}` 的附件，请直接上传文件。"),
            ),
            D::NotFound(code) => pick(
                lang,
                format!(
                    "The attachment is gone ({code}): the link expired or the file was deleted. Please upload it again."
                ),
                format!("附件已不存在（{code}）：链接已过期或文件被删除。请重新上传。"),
            ),
            D::Status(s) => pick(
                lang,
                format!("Downloading the attachment failed (HTTP {s}). Please try again."),
                format!("下载附件失败（HTTP {s}）。请重试。"),
            ),
            D::TooLarge { limit } => pick(
                lang,
                format!(
                    "The attachment is larger than the {} limit. Please upload only the collector's zip.",
                    size(*limit)
                ),
                format!(
                    "附件超过 {} 的限制。请只上传收集工具生成的 zip 包。",
                    size(*limit)
                ),
            ),
            D::Timeout { secs } => pick(
                lang,
                format!("Downloading the attachment took longer than {secs} s. Please try again."),
                format!("下载附件超过 {secs} 秒。请重试。"),
            ),
            D::Network(e) => pick(
                lang,
                format!("Downloading the attachment failed: {e}."),
                format!("下载附件失败：{e}。"),
            ),
            D::File(e) => pick(
                lang,
                format!("Cannot read the file: {e}."),
                format!("无法读取文件：{e}。"),
            ),
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
