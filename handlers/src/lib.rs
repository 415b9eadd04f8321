//! `handlers`: chat-agnostic behaviour of casebot. Sits between the chat adapters (`bot`'s
//! Discord and console) and the engine/store: a message becomes a typed `Command`, one module per
//! feature handles it, and the result is rendered into chat-agnostic [`Reply`]s.
//!
//! Layout (a message's path through the crate):
//! - `dispatch`: the one place that redacts, parses ([`command`]), resolves the case and the
//!   reader's language and role, calls a feature module, and turns [`UserError`]s into replies.
//! - `request`: the context of one message (`Req`) and the case load/update helpers; feature
//!   modules use it, it uses none of them.
//! - feature modules: `open` (open), `collect` (the log collector script), `case` (status,
//!   cases, case, note, lang, export, help, explain), `verify` (device fixed/failing), `close`
//!   (close, reopen, split — engineers), `diagnose` (attachments, re-runs, resume after restart, rule reloads, recurrence), `paste`
//!   (log lines pasted into a message, in a case or outside one).
//! - pure parts: [`command`], [`lifecycle`] (status transitions), [`redact`] (secrets),
//!   [`render`] (zh/en, customer/engineer, 2000-character splitting), [`summary`] (close summary
//!   and export).
//! - [`download`]: attachment fetching with host allowlist, size caps and timeout.
//! - [`rate`]: rate limits and quotas, checked by `dispatch` before a command runs.
//! - [`disk`]: the temp disk shared by running diagnoses, and the process's temp directory.
//! - [`retention`]: deleting the files of long-closed cases, and purging a case on request.
//!
//! Feature modules push [`Outgoing`] items into an [`Outbox`] instead of returning one reply, so
//! that typing and "diagnosing …" progress reach the chat before a long diagnosis finishes.

mod case;
mod close;
pub mod collect;
pub mod command;
mod complete;
mod diagnose;
pub mod disk;
mod dispatch;
pub mod download;
mod error;
mod facts;
mod fault;
mod form;
pub mod lifecycle;
pub mod link;
mod open;
mod paste;
pub mod rate;
pub mod redact;
pub mod render;
mod request;
pub mod retention;
pub mod summary;
mod verify;

pub use complete::complete;
pub use error::{DownloadError, HandlerError, UserError, size};
pub use form::{Form, click_form};
pub use paste::PendingPastes;
pub use rate::{RateConfig, RateLimiter};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use diagnosis::{Diagnosis, Lang, Limits, RuleSet};
use store::{CaseId, CaseStore};

/// Who is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Member of a configured engineer role: full diagnosis, may close/split/reopen.
    Engineer,
    /// Everyone else: guided replies.
    Customer,
}

/// The author of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Stable user id (Discord snowflake as text, or console user name).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Where an attachment comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentSource {
    /// A URL to download (Discord CDN); checked against the allowed hosts.
    Url(String),
    /// A local file (console).
    Path(PathBuf),
}

/// An attachment on an incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name as posted.
    pub name: String,
    /// Size announced by the chat platform, if any (checked before downloading).
    pub size: Option<u64>,
    /// Where to get it.
    pub source: AttachmentSource,
}

/// One incoming chat message addressed to casebot (mention already stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Platform message id (for idempotency); console uses a generated id.
    pub message_id: String,
    /// Author.
    pub author: Author,
    /// Channel (or thread) the message was posted in.
    pub channel_id: u64,
    /// Guild (server) the message was posted in; `None` outside a guild (the console).
    pub guild_id: Option<u64>,
    /// Case the message belongs to, if the adapter already knows it (console's current case,
    /// the case a button's custom id names).
    pub case_hint: Option<CaseId>,
    /// The text after the mention.
    pub text: String,
    /// The command, when the platform delivered it typed (a slash command's options, a
    /// button); `None` means parse it from `text`.
    pub command: Option<command::Command>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// A file attached to a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFile {
    /// File name.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A chat-agnostic reply. `text` is Markdown and at most [`MAX_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Message text.
    pub text: String,
    /// Files to attach (full reports, exports).
    pub files: Vec<ReplyFile>,
    /// Buttons under the message (adapters without buttons leave them out).
    pub buttons: Vec<Button>,
    /// A menu to pick from under the message (adapters without menus leave it out; the text
    /// says what to type instead).
    pub menu: Option<Menu>,
    /// Meant only for the person who asked: adapters that can show a reply to one person
    /// (Discord's ephemeral interaction answers) do so; others post it normally.
    pub private: bool,
    /// A status message (a diagnosis's "Diagnosing …"): adapters that can edit messages
    /// remember it under this key, edit it on [`Outgoing::Progress`], and replace it with a
    /// later reply carrying the same key (the answer); others post each reply.
    pub status: Option<String>,
}

/// A button under a reply. Its `custom_id` is [`command::Command::custom_id`]: a click carries
/// the command and the case it acts on, so it works after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Label, in the case's language.
    pub label: String,
    /// The command and case, as [`command::parse_custom_id`] reads them.
    pub custom_id: String,
    /// How it looks.
    pub style: ButtonStyle,
}

/// A menu of choices under a reply (Discord: a select menu). Picking one runs the command of
/// `custom_id` with the choice as the first argument the id leaves empty
/// ([`command::parse_choice`]), so, like a button, it works after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The command and case, with the argument the choice fills left empty.
    pub custom_id: String,
    /// Shown before anything is picked.
    pub placeholder: String,
    /// The choices, each shown as it is (device names).
    pub choices: Vec<String>,
}

/// The look of a [`Button`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    /// The expected answer (green).
    Success,
    /// A problem remains (red).
    Danger,
    /// Anything else (grey).
    Secondary,
}

/// Discord's message length limit; every `Reply.text` respects it.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Where a reply goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The channel/thread the message came from.
    Origin,
    /// The case's thread (adapters resolve it through the store; fall back to origin).
    Case(CaseId),
    /// The configured summary channel (adapters without one drop it).
    SummaryChannel,
}

/// Something the adapter must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Post a reply.
    Reply {
        /// Where.
        target: Target,
        /// What.
        reply: Reply,
    },
    /// Create a thread for a new case, then call [`bind_thread`] with its id.
    CreateThread {
        /// The case.
        case_id: CaseId,
        /// Thread name.
        name: String,
    },
    /// Show that work is in progress (typing indicator).
    Typing,
    /// How far a long piece of work has come: edit the status message posted under `key` to
    /// `text`. Adapters that cannot edit may show it in place (a terminal's updating line) or
    /// drop it; the work's answer follows as a reply either way.
    Progress {
        /// The status message's key ([`Reply::status`]).
        key: String,
        /// One line.
        text: String,
    },
    /// The console should switch its current case.
    SwitchCase(CaseId),
}

/// The channel handlers push [`Outgoing`] items into, so that progress can be shown before the
/// work is done.
pub type Outbox = tokio::sync::mpsc::UnboundedSender<Outgoing>;

/// Attachment download settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadConfig {
    /// Hosts attachments may be fetched from (exact host names).
    pub allowed_hosts: Vec<String>,
    /// Largest attachment in bytes.
    pub max_bytes: u64,
    /// Whole-download timeout.
    pub timeout: std::time::Duration,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        DownloadConfig {
            allowed_hosts: vec!["cdn.discordapp.com".into(), "media.discordapp.net".into()],
            max_bytes: 200 << 20,
            timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// Handler settings.
#[derive(Debug, Clone)]
pub struct HandlersConfig {
    /// Default language for new users/cases.
    pub default_lang: Lang,
    /// Attachment download.
    pub download: DownloadConfig,
    /// Bundle limits.
    pub limits: Limits,
    /// Concurrent diagnoses.
    pub max_concurrent_diagnoses: usize,
    /// Temp disk all running diagnoses together may write (`limits.max_total_disk_bytes`).
    pub max_total_disk_bytes: u64,
    /// Rate limits and quotas.
    pub rate: RateConfig,
    /// A diagnosis running longer than this shows its progress in its status message.
    pub progress_after: std::time::Duration,
    /// The status message of a diagnosis is edited at most this often.
    pub progress_every: std::time::Duration,
}

impl Default for HandlersConfig {
    fn default() -> Self {
        HandlersConfig {
            default_lang: Lang::Zh,
            download: DownloadConfig::default(),
            limits: Limits::default(),
            max_concurrent_diagnoses: 2,
            max_total_disk_bytes: disk::DEFAULT_MAX_TOTAL_DISK_BYTES,
            rate: RateConfig::default(),
            progress_after: std::time::Duration::from_secs(2),
            progress_every: std::time::Duration::from_secs(2),
        }
    }
}

/// The diagnosis function: `diagnosis::diagnose_observed` (a stored bundle, the name it was
/// posted with, and where to report progress) in production; tests may substitute one.
pub type Engine = Arc<
    dyn Fn(
            &std::path::Path,
            &str,
            &RuleSet,
            &Limits,
            &dyn diagnosis::Observer,
        ) -> Result<Diagnosis, diagnosis::DiagnosisError>
        + Send
        + Sync,
>;

/// Shared state: cheap-clone handles.
#[derive(Clone)]
pub struct Context {
    /// The case store.
    pub store: Arc<dyn CaseStore>,
    /// The current rule set (swapped on reload).
    pub rules: Arc<RwLock<Arc<RuleSet>>>,
    /// Settings.
    pub config: Arc<HandlersConfig>,
    /// Bounds concurrent diagnoses.
    pub diagnoses: Arc<tokio::sync::Semaphore>,
    /// Temp disk shared by the running diagnoses (`config.max_total_disk_bytes`).
    pub disk: Arc<disk::DiskPool>,
    /// Rate limits and quotas (`config.rate`).
    pub rate: Arc<RateLimiter>,
    /// HTTP client for attachments.
    pub http: reqwest::Client,
    /// Runs a diagnosis (blocking; called inside `spawn_blocking`).
    pub engine: Engine,
    /// Language chosen per user with `lang` (user id → language); not persisted.
    pub user_langs: Arc<Mutex<HashMap<String, Lang>>>,
    /// Pastes diagnosed outside any case, offered for the author's next `open`; not persisted.
    pub pending_pastes: Arc<PendingPastes>,
    /// A diagnosis running longer than this shows its progress in its status message.
    pub progress_after: std::time::Duration,
    /// The status message of a diagnosis is edited at most this often.
    pub progress_every: std::time::Duration,
    /// How often the typing indicator is refreshed while a diagnosis runs.
    pub typing_every: std::time::Duration,
    /// Signs links to the web view for the `link` command; `None` when the web view is off.
    pub links: Option<Arc<link::LinkIssuer>>,
}

impl Context {
    /// Build a context; `rules` is an owned rule set or one already shared (an `Arc`).
    pub fn new(
        store: Arc<dyn CaseStore>,
        rules: impl Into<Arc<RuleSet>>,
        config: HandlersConfig,
    ) -> Context {
        let permits = config.max_concurrent_diagnoses.max(1);
        let disk = Arc::new(disk::DiskPool::new(config.max_total_disk_bytes));
        let rate = Arc::new(RateLimiter::new(config.rate.clone()));
        let (progress_after, progress_every) = (config.progress_after, config.progress_every);
        Context {
            rate,
            store,
            rules: Arc::new(RwLock::new(rules.into())),
            http: download::client(&config.download),
            config: Arc::new(config),
            diagnoses: Arc::new(tokio::sync::Semaphore::new(permits)),
            disk,
            engine: Arc::new(diagnosis::diagnose_observed),
            user_langs: Arc::new(Mutex::new(HashMap::new())),
            pending_pastes: Arc::new(PendingPastes::default()),
            progress_after,
            progress_every,
            typing_every: std::time::Duration::from_secs(8),
            links: None,
        }
    }

    /// Turn on the `link` command: links to the web view signed by `issuer`.
    pub fn with_links(mut self, issuer: link::LinkIssuer) -> Context {
        self.links = Some(Arc::new(issuer));
        self
    }

    /// Replace the diagnosis function (tests use a fake engine; production keeps the default).
    pub fn with_engine(mut self, engine: Engine) -> Context {
        self.engine = engine;
        self
    }

    /// Set a user's reply language (the console's `--lang`, or the `lang` command).
    pub fn set_user_lang(&self, user_id: &str, lang: Lang) {
        if let Ok(mut m) = self.user_langs.lock() {
            m.insert(user_id.to_string(), lang);
        }
    }

    /// A user's chosen language, if any.
    pub fn user_lang(&self, user_id: &str) -> Option<Lang> {
        self.user_langs.lock().ok()?.get(user_id).copied()
    }

    /// The language to answer `user_id` in when no case says otherwise (chat adapters' own
    /// lines): the user's choice, else the configured default.
    pub fn reply_lang(&self, user_id: &str) -> Lang {
        self.user_lang(user_id).unwrap_or(self.config.default_lang)
    }

    /// The current rule set.
    pub fn rule_set(&self) -> Arc<RuleSet> {
        match self.rules.read() {
            Ok(r) => Arc::clone(&r),
            // A writer panicked mid-swap; the Arc inside is still a whole rule set.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// Handle one incoming message: parse, dispatch, push replies into `out`.
///
/// Every change the message makes commits together with its idempotency key, so a message
/// delivered again is never applied twice. A message already [`delivered`] produces no output;
/// one delivered again before that (the process stopped between a change and its reply) is
/// answered from the stored case. Errors meant for the user are pushed as replies; `Err` is
/// only for internal failures, which the adapter logs and answers with a generic line.
pub async fn handle_message(ctx: &Context, msg: Incoming, out: &Outbox) -> anyhow::Result<()> {
    dispatch::handle(ctx, msg, out).await
}

/// Record that the replies to `message_id` were delivered: a later delivery of the same
/// message is ignored. Adapters call it after they performed everything [`handle_message`]
/// pushed into its outbox.
pub fn delivered(ctx: &Context, message_id: &str) -> anyhow::Result<()> {
    ctx.store.mark_processed(message_id)?;
    Ok(())
}

/// Record that `case_id` is discussed in thread `thread_id` (after `Outgoing::CreateThread`).
pub async fn bind_thread(ctx: &Context, case_id: &CaseId, thread_id: u64) -> anyhow::Result<()> {
    request::update(ctx, case_id, |c| {
        c.thread_id = Some(thread_id);
        Ok(())
    })?;
    Ok(())
}

/// The thread case `case_id` is discussed in, if it has one (where [`Target::Case`] replies go).
pub fn case_thread(ctx: &Context, case_id: &CaseId) -> anyhow::Result<Option<u64>> {
    Ok(ctx.store.get(case_id)?.and_then(|c| c.thread_id))
}

/// Whether `channel_id` is the thread of a case (case threads are always served).
pub fn is_case_thread(ctx: &Context, channel_id: u64) -> anyhow::Result<bool> {
    Ok(ctx.store.case_by_thread(channel_id)?.is_some())
}

/// After a restart: finish journaled work, then re-diagnose open cases whose conclusions came
/// from another rule-set version (an upgraded casebot), pushing replies into `out`.
pub async fn resume(ctx: &Context, out: &Outbox) -> anyhow::Result<()> {
    diagnose::resume(ctx, out).await?;
    Ok(diagnose::rediagnose_stale(ctx, out).await?)
}

/// On a store shared by several processes: finish the journaled work of processes that died
/// (their job leases expired), pushing replies into `out`. Called periodically while serving.
pub async fn take_over(ctx: &Context, out: &Outbox) -> anyhow::Result<()> {
    Ok(diagnose::resume(ctx, out).await?)
}

/// Swap in a new rule set; if its version differs, re-diagnose open cases and post changes.
pub async fn reload_rules(ctx: &Context, rules: RuleSet, out: &Outbox) -> anyhow::Result<()> {
    Ok(diagnose::reload_rules(ctx, rules, out).await?)
}

#[cfg(test)]
mod tests;
