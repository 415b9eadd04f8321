//! Purpose: diagnose bundles in a case. An attachment is stored (content-addressed) and
//! journaled before it is acknowledged; the engine runs in `spawn_blocking` under the
//! `ctx.diagnoses` semaphore with typing/progress updates; the result is recorded on the device
//! and rendered for the reader, noting other cases with the same root cause ("recurrence").
//! Journaled work is resumed after a restart, and open cases are re-diagnosed from their stored
//! bundles when the rule-set version changes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diagnosis::report::Finding;
use diagnosis::{Diagnosis, DiagnosisError, Lang, RuleSet};
use store::{
    BundleRef, Case, CaseId, CaseStatus, Conclusion, JournalEntry, RECURRENCE_LISTED, Recurrence,
    StoredBundle,
};

use crate::download::micros;
use crate::error::{HandlerError, UserError};
use crate::lifecycle::{self, Stamp};
use crate::render::{self, DiagnosisView, View, fmt, msg};
use crate::request::{self, Change, Req, now};
use crate::{Attachment, Context, Outbox, Outgoing, Reply, Role, Target};

/// Pasted lines are stored under `paste-<message id>.txt` (`paste` names them; a device is never
/// named after them).
pub(crate) const PASTE_PREFIX: &str = "paste-";

/// Where progress of a running diagnosis is shown.
pub(crate) struct Progress<'a> {
    pub out: &'a Outbox,
    pub lang: Lang,
    pub name: String,
    /// The key of the status message ("Diagnosing …") to edit with the progress, if one was
    /// posted.
    pub status: Option<String>,
    /// Set once the status message was edited: the answer then replaces it.
    pub shown: AtomicBool,
}

impl<'a> Progress<'a> {
    /// Progress of work with no status message: typing only.
    pub fn quiet(out: &'a Outbox, lang: Lang, name: &str) -> Progress<'a> {
        Progress {
            out,
            lang,
            name: name.to_string(),
            status: None,
            shown: AtomicBool::new(false),
        }
    }

    /// The answer's replies: when the status message showed progress, the first one replaces
    /// it (opening with the time taken); otherwise they are posted after it.
    pub fn answer(&self, mut replies: Vec<Reply>, started: Instant) -> Vec<Reply> {
        if !self.shown.load(Ordering::SeqCst) {
            return replies;
        }
        if let Some(first) = replies.first_mut() {
            let secs = started.elapsed().as_secs();
            let head = fmt(
                self.lang,
                "diagnose.done_in",
                &[("name", &self.name), ("secs", &secs)],
            );
            let text = format!("{head}\n\n{}", first.text);
            if text.chars().count() <= crate::MAX_MESSAGE_CHARS {
                first.text = text;
            }
            first.status.clone_from(&self.status);
        }
        replies
    }
}

fn unreadable(name: &str, e: &DiagnosisError) -> UserError {
    // The engine's messages name the stored path (a hash); users know the file by its name.
    let reason = match e {
        DiagnosisError::Unreadable { reason, .. } => reason.clone(),
        DiagnosisError::Io { source, .. } => source.to_string(),
        DiagnosisError::NotFound { .. } => "the stored file is missing".into(),
        other => other.to_string(),
    };
    UserError::Unreadable {
        name: name.to_string(),
        reason,
    }
}

/// Run the engine on the stored bundle `sha256` off the async threads, bounded by the
/// semaphore; the engine reads it through `CaseStore::open_bundle` (a decrypted temporary copy
/// in an encrypted store, removed when the engine is done). `problem` is the
/// case's problem statement (empty outside a case); it names the update when the logs do not.
/// Past `ctx.progress_after`, the status message of `progress` (if any) is edited with the
/// engine's progress at most once every `ctx.progress_every`. Logs (debug) how long the
/// diagnosis waited for its turn (a slot and temp disk) and how long the engine ran, which the bot-path benchmark
/// subtracts from message-to-reply times.
pub(crate) async fn run_engine(
    ctx: &Context,
    problem: &str,
    sha256: &str,
    progress: &Progress<'_>,
) -> Result<Diagnosis, HandlerError> {
    let slot = take_slot(ctx).await?;
    run_engine_in(ctx, slot, problem, sha256, progress).await
}

/// A diagnosis slot (a permit of `ctx.diagnoses`) and how long it took to get.
pub(crate) struct Slot {
    permit: tokio::sync::OwnedSemaphorePermit,
    waited: Duration,
}

/// Wait for a diagnosis slot.
pub(crate) async fn take_slot(ctx: &Context) -> Result<Slot, HandlerError> {
    let waiting = Instant::now();
    let permit = ctx
        .diagnoses
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| HandlerError::Internal(format!("diagnosis pool closed: {e}")))?;
    Ok(Slot {
        permit,
        waited: waiting.elapsed(),
    })
}

/// [`run_engine`] in a slot already taken. Time the slot sat taken before this call (its
/// bundle was still being stored) is not counted as waiting for it.
#[tracing::instrument(skip(ctx, slot, problem, progress), fields(bundle = %progress.name))]
pub(crate) async fn run_engine_in(
    ctx: &Context,
    slot: Slot,
    problem: &str,
    sha256: &str,
    progress: &Progress<'_>,
) -> Result<Diagnosis, HandlerError> {
    let waiting = Instant::now();
    let permit = slot.permit;
    let (engine, rules, mut limits) = (
        ctx.engine.clone(),
        ctx.rule_set(),
        ctx.config.limits.clone(),
    );
    // The readable bundle (in an encrypted store, a decrypted temporary copy), opened off the
    // async threads; it lives until the engine is done with it.
    let opened = {
        let (store, sha256) = (ctx.store.clone(), sha256.to_string());
        tokio::task::spawn_blocking(move || store.open_bundle(&sha256))
            .await
            .map_err(|e| HandlerError::Internal(format!("opening the bundle failed: {e}")))??
    };
    let Some(plain) = opened else {
        let path = PathBuf::from(sha256);
        return Err(unreadable(&progress.name, &DiagnosisError::NotFound { path }).into());
    };
    // The bundle's temp disk budget is its share of the pool (docs/ARCHITECTURE.md, "Where
    // each concern lives": temp disk); a file that unpacks nothing takes none.
    let want = if crate::disk::may_unpack(plain.path()) {
        limits.max_disk_bytes
    } else {
        0
    };
    let grant = ctx.disk.grant(want).await;
    let granted = grant.bytes.min(want);
    limits.max_disk_bytes = granted;
    let pool_limited = granted < want;
    // Waiting for a diagnosis slot and for temp disk is waiting for other diagnoses.
    let queued = slot.waited + waiting.elapsed();
    let name = progress.name.clone();
    // The engine notes how far it is; this task shows it at its own pace.
    let latest = Arc::new(Mutex::new(None::<diagnosis::Progress>));
    let noted = Arc::clone(&latest);
    // The bundle is stored under its hash; the engine reads it under the name it was posted
    // with, so kind detection and evidence paths (`CBS.log:14`) use the name people know.
    let task = spawn_background(move || {
        let _permit = permit;
        let _grant = grant;
        let observer = |p: &diagnosis::Progress| {
            if let Ok(mut slot) = noted.lock() {
                *slot = Some(p.clone());
            }
        };
        let running = Instant::now();
        let result = engine(plain.path(), &name, &rules, &limits, &observer);
        (result, running.elapsed())
    });
    let mut task = task?;
    let started = Instant::now();
    let mut typing = tokio::time::interval(ctx.typing_every);
    let mut edits = tokio::time::interval_at(
        tokio::time::Instant::now() + ctx.progress_after,
        ctx.progress_every,
    );
    // A late tick waits a whole interval again: edits never come closer than `progress_every`.
    edits.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shown = None;
    let joined = loop {
        tokio::select! {
            r = &mut task => break r,
            _ = typing.tick() => {
                let _ = progress.out.send(Outgoing::Typing);
            }
            _ = edits.tick(), if progress.status.is_some() => {
                let now = latest.lock().ok().and_then(|p| p.clone());
                if let (Some(key), Some(p)) = (&progress.status, now)
                    && shown.as_ref() != Some(&p)
                {
                    let text = progress_text(progress, &p, started.elapsed());
                    let _ = progress.out.send(Outgoing::Progress { key: key.clone(), text });
                    shown = Some(p);
                    progress.shown.store(true, Ordering::SeqCst);
                }
            }
        }
    };
    let (result, ran) =
        joined.map_err(|e| HandlerError::Internal(format!("diagnosis task failed: {e}")))?;
    tracing::debug!(
        bundle = %progress.name,
        queued_us = micros(queued),
        engine_us = micros(ran),
        "diagnosis finished"
    );
    let total = ctx.disk.total();
    let mut d = result.map_err(|e| {
        let mut user = unreadable(&progress.name, &e);
        if let (true, UserError::Unreadable { reason, .. }) = (pool_limited, &mut user) {
            crate::disk::name_pool_limit(reason, granted, total);
        }
        user
    })?;
    if pool_limited {
        for s in &mut d.bundle.skipped {
            crate::disk::name_pool_limit(&mut s.reason, granted, total);
        }
    }
    fill_updates(&mut d, problem);
    // Log lines may carry passwords and keys: nothing quoted from a bundle is kept or shown
    // unmasked (docs/ARCHITECTURE.md, "Where each concern lives": secrets redaction).
    crate::redact::redact_diagnosis(&mut d);
    Ok(d)
}

/// How much lower than the bot's own threads a diagnosis runs (a nice increment, Linux).
#[cfg(target_os = "linux")]
const ENGINE_NICE: i32 = 10;

/// Run `work` (a diagnosis) on a thread of its own, at a lower CPU priority than the bot's
/// async threads where the platform allows it (the engine's reader threads inherit it). A
/// diagnosis is batch work that keeps every core busy; downloads, store writes and replies are
/// short and someone is waiting for them, so they go first instead of queueing behind the
/// engines for CPU. Once they are done the engines have the whole machine again. A thread of
/// its own, because a thread's priority cannot be raised back without privileges: a pooled
/// thread would stay lowered for the next, unrelated, job.
fn spawn_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<tokio::sync::oneshot::Receiver<T>, HandlerError> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("diagnosis".into())
        .spawn(move || {
            lower_priority();
            // The receiver is gone only when the handler was cancelled: nobody wants it.
            let _ = done.send(work());
        })
        .map_err(|e| HandlerError::Internal(format!("cannot start a diagnosis thread: {e}")))?;
    Ok(result)
}

/// Lower the calling thread's CPU priority by [`ENGINE_NICE`] (on Linux the nice value is per
/// thread). Best effort: a diagnosis at the normal priority is still correct.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let now = getpriority_process(None).unwrap_or(0);
        if let Err(e) = setpriority_process(None, (now + ENGINE_NICE).min(19)) {
            tracing::debug!("cannot lower the diagnosis thread's priority: {e}");
        }
    }
}

/// The status line of a running diagnosis: unpacking, or reading with the bytes scanned.
fn progress_text(progress: &Progress<'_>, p: &diagnosis::Progress, elapsed: Duration) -> String {
    let mb = |b: u64| format!("{:.1}", b as f64 / (1024.0 * 1024.0));
    let secs = elapsed.as_secs();
    let name = &progress.name;
    if p.reading() {
        fmt(
            progress.lang,
            "diagnose.progress_reading",
            &[
                ("name", name),
                ("read", &p.files_read),
                ("files", &p.files_total),
                ("mb", &mb(p.bytes_scanned())),
                ("current", &p.current),
                ("secs", &secs),
            ],
        )
    } else {
        fmt(
            progress.lang,
            "diagnose.progress_unpacking",
            &[
                ("name", name),
                ("files", &p.files_unpacked),
                ("mb", &mb(p.bytes_scanned())),
                ("current", &p.current),
                ("secs", &secs),
            ],
        )
    }
}

/// When the logs do not name the update, the case's problem statement does: record it and fill
/// the `<kb>` placeholder a rule's step may leave.
fn fill_updates(d: &mut Diagnosis, problem: &str) {
    let stated = crate::facts::parse_facts(problem).updates;
    if d.device.updates.is_empty() {
        d.device.updates = stated;
    }
    let Some(kb) = d.device.updates.first().cloned() else {
        return;
    };
    for step in d.findings.iter_mut().flat_map(|f| f.steps.iter_mut()) {
        step.text = step.text.replace("<kb>", &kb);
        if let Some(c) = step.command.as_mut() {
            *c = c.replace("<kb>", &kb);
        }
    }
}

/// The device a bundle belongs to: named in the message, else found by the engine (computer
/// name or top folder), else the file name without extension.
fn device_name(named: &str, d: &Diagnosis, file: &str, sha: &str) -> String {
    if !named.trim().is_empty() {
        return named.trim().to_string();
    }
    if let Some(n) = d.device.name.as_deref().filter(|n| !n.trim().is_empty()) {
        return n.trim().to_string();
    }
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    // A log's own name says nothing about the device: fall back to a name unique per bundle.
    const GENERIC: &[&str] = &[
        "",
        "cbs",
        "dism",
        "setupapi",
        "windowsupdate",
        "system",
        "setup",
        "application",
        "log",
        "logs",
        "bundle",
        "collect",
        "casebot-logs",
        "services",
    ];
    let lower = stem.to_ascii_lowercase();
    // Pasted lines are stored as `paste-<message id>.txt`: the name says nothing either.
    if GENERIC.contains(&lower.as_str()) || lower.starts_with(PASTE_PREFIX) {
        format!("device-{}", sha.get(..6).unwrap_or(sha))
    } else {
        stem.to_string()
    }
}

fn same_conclusion(a: &Finding, b: &Finding) -> bool {
    a.root_cause == b.root_cause && a.subject == b.subject
}

/// Other cases whose devices ended with the same root cause and subject, from the store's
/// recurrence index (its cost does not grow with the number of cases).
fn recurrence_of(ctx: &Context, id: &CaseId, d: &Diagnosis) -> Result<Recurrence, HandlerError> {
    match d.top() {
        Some(f) => Ok(ctx
            .store
            .recurrence(&Conclusion::of(f), id, RECURRENCE_LISTED)?),
        None => Ok(Recurrence::default()),
    }
}

/// Record a finished diagnosis on its device. Returns the device. The journal entry stays until
/// the caller has handed the replies to the outbox: a process killed in between leaves the job
/// to be taken over, and the taker finds the diagnosis recorded (`Change::Earlier`) and posts
/// the replies, instead of the reply being lost with the job gone.
fn finish(
    ctx: &Context,
    seen: Option<&Case>,
    entry: &JournalEntry,
    d: Diagnosis,
) -> Result<String, HandlerError> {
    let device = device_name(&entry.device, &d, &entry.bundle_name, &entry.bundle_sha256);
    let bundle = BundleRef {
        sha256: entry.bundle_sha256.clone(),
        name: entry.bundle_name.clone(),
        bytes: d.bundle.bytes,
        added_at: now(),
    };
    let stamp = Stamp {
        author: &entry.author,
        now: now(),
    };
    // The same key whether the message's handler or `resume` finishes the job, so the bundle
    // and its diagnosis are recorded once.
    let key = request::effect_key(&entry.id, "diagnosis");
    let result = request::change(ctx, (&entry.case_id, seen), &key, |c| {
        let key = lifecycle::add_bundle(c, &device, bundle.clone(), stamp)?;
        lifecycle::record_diagnosis(c, &key, d.clone(), stamp)?;
        Ok(key)
    });
    Ok(match result? {
        Change::Done(_, key) => key,
        Change::Earlier(case) => lifecycle::find_device(&case, &device).unwrap_or(device),
    })
}

/// How a bundle reached casebot, for the acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// An uploaded file.
    Upload,
    /// Log lines pasted into a message, stored as a text file.
    Paste,
}

/// Say the bundle was received and is being diagnosed, as the status message `status` that
/// progress edits and the answer replaces.
fn acknowledge(
    req: &Req<'_>,
    name: &str,
    bytes: u64,
    duplicate: bool,
    how: Received,
    status: &str,
) {
    let kb = bytes.div_ceil(1024);
    let key = match (how, duplicate) {
        (Received::Paste, _) => "diagnose.received_paste",
        (Received::Upload, false) => "diagnose.received_upload",
        (Received::Upload, true) => "diagnose.received_again",
    };
    let text = fmt(req.lang(), key, &[("name", &name), ("kb", &kb)]);
    let reply = Reply {
        status: Some(status.to_string()),
        ..render::reply(text)
    };
    req.post(Target::Origin, vec![reply]);
}

async fn attachment(
    req: &Req<'_>,
    case: &Case,
    att: &Attachment,
    device: Option<&str>,
) -> Result<(), HandlerError> {
    let ctx = req.ctx;
    tracing::debug!(bundle = %att.name, "attachment received");
    req.send(Outgoing::Typing);
    let fetched =
        crate::download::receive(&ctx.http, &ctx.config.download, ctx.store.clone(), att).await?;
    let stored = crate::download::keep(ctx.store.clone(), fetched);
    diagnose_bundle(req, case, stored, &att.name, device, Received::Upload).await
}

/// Diagnose a bundle already in the bundle store (an upload, or pasted lines) for `device` of
/// `case`: journal it, acknowledge it, run the engine, record the result and post it.
pub(crate) async fn stored_bundle(
    req: &Req<'_>,
    case: &Case,
    stored: &StoredBundle,
    name: &str,
    device: Option<&str>,
    how: Received,
) -> Result<(), HandlerError> {
    let stored = std::future::ready(Ok(stored.clone()));
    diagnose_bundle(req, case, stored, name, device, how).await
}

/// Diagnose the bundle `stored` stores (the store writes it, or it is stored already) for
/// `device` of `case`: journal it, acknowledge it, run the engine, record the result and post
/// it. The diagnosis slot is waited for while the bundle and its journal entry are written
/// (each waits for an fsync): the engine starts only once both are durable and it has a slot,
/// but neither wait adds to the other.
async fn diagnose_bundle(
    req: &Req<'_>,
    case: &Case,
    stored: impl Future<Output = Result<StoredBundle, HandlerError>>,
    name: &str,
    device: Option<&str>,
    how: Received,
) -> Result<(), HandlerError> {
    let storing = Instant::now();
    let durable = async {
        let stored = stored.await?;
        let journaling = Instant::now();
        let entry = journal(req, case, &stored, name, device).await?;
        let journaled = journaling.elapsed();
        acknowledge(req, name, stored.bytes, stored.duplicate, how, &entry.id);
        Ok::<_, HandlerError>((stored, entry, journaled, storing.elapsed()))
    };
    let (slot, (stored, entry, journaled, durable)) =
        tokio::try_join!(take_slot(req.ctx), durable)?;
    // The part of storing and journaling that the wait for a slot did not cover.
    let after_slot = durable.saturating_sub(slot.waited);
    let ctx = req.ctx;
    let progress = Progress {
        status: Some(entry.id.clone()),
        ..Progress::quiet(req.out, req.lang(), name)
    };
    let started = Instant::now();
    let d = match run_engine_in(ctx, slot, &case.problem, &stored.sha256, &progress).await {
        Ok(d) => d,
        Err(e) => {
            journal_remove(ctx, &entry.id).await?;
            if matches!(e, HandlerError::User(UserError::Unreadable { .. })) && !stored.duplicate {
                // Nothing refers to a bundle this message just stored and the engine cannot
                // read: drop it, so a bad upload leaves nothing behind. (`bundle_path` checks
                // that the file exists, so the store stays consistent.)
                if let Err(err) = std::fs::remove_file(&stored.path) {
                    tracing::warn!(path = %stored.path.display(), "removing an unreadable bundle: {err}");
                }
            }
            return Err(e);
        }
    };
    let recording = Instant::now();
    let recorded = {
        let (ctx, case, entry, d) = (ctx.clone(), case.clone(), entry.clone(), d.clone());
        blocking(move || {
            let others = recurrence_of(&ctx, &case.id, &d)?;
            Ok((others, finish(&ctx, Some(&case), &entry, d)))
        })
        .await?
    };
    let (others, device) = match recorded {
        (others, Ok(device)) => (others, device),
        (_, Err(e)) => {
            journal_remove(ctx, &entry.id).await?;
            return Err(e);
        }
    };
    let rendering = Instant::now();
    let replies = device_replies(&req.ctx.rule_set(), case, &device, &d, req.view, &others);
    let replies = progress.answer(replies, started);
    // Stage times for the bot-path benchmark; the event marks the hand-off to the outbox.
    tracing::debug!(
        bundle = %name,
        journal_us = micros(journaled),
        after_slot_us = micros(after_slot),
        record_us = micros(rendering - recording),
        render_us = micros(rendering.elapsed()),
        "diagnosis replied"
    );
    req.post(Target::Origin, replies);
    // The reply is in the outbox: the job's journal entry goes when the message is done, after
    // its guild slot is released, so the next upload is not refused while it is removed.
    req.done.push(&entry.id);
    Ok(())
}

/// Record the job of diagnosing `stored` (durable when this returns), before it is
/// acknowledged.
async fn journal(
    req: &Req<'_>,
    case: &Case,
    stored: &StoredBundle,
    name: &str,
    device: Option<&str>,
) -> Result<JournalEntry, HandlerError> {
    let entry = JournalEntry {
        id: format!(
            "{}-{}",
            req.msg.message_id,
            stored.sha256.get(..16).unwrap_or(&stored.sha256)
        ),
        case_id: case.id.clone(),
        device: device.unwrap_or_default().to_string(),
        bundle_sha256: stored.sha256.clone(),
        bundle_name: name.to_string(),
        author: req.msg.author.name.clone(),
        accepted_at: now(),
    };
    let (store, job) = (req.ctx.store.clone(), entry.clone());
    blocking(move || Ok(store.journal_add(&job)?)).await?;
    Ok(entry)
}

/// Run blocking store work (a write waits for its fsync) off the async threads, which would
/// otherwise stall every other case's download and replies meanwhile.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HandlerError> + Send + 'static,
) -> Result<T, HandlerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| HandlerError::Internal(format!("store task failed: {e}")))?
}

/// Remove a finished job from the journal, off the async threads.
pub(crate) async fn journal_remove(ctx: &Context, id: &str) -> Result<(), HandlerError> {
    let (store, id) = (ctx.store.clone(), id.to_string());
    blocking(move || Ok(store.journal_remove(&id)?)).await
}

/// Diagnose every attachment of the message in the current case. A failing attachment gets
/// its own reply and does not stop the others.
pub async fn attachments(req: &Req<'_>, device: Option<String>) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let case = req.case()?;
    if case.status == CaseStatus::Closed {
        return Err(UserError::CaseClosed(id).into());
    }
    for att in &req.msg.attachments {
        match attachment(req, case, att, device.as_deref()).await {
            Ok(()) => {}
            Err(HandlerError::User(e)) => req.say(&e.message(req.lang())),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The latest stored bundle of each device (or of `only`): device, bundle name and sha256.
fn latest_bundles(
    ctx: &Context,
    case: &Case,
    only: Option<&str>,
) -> Result<Vec<(String, String, String)>, HandlerError> {
    let mut out = Vec::new();
    for d in case.devices.values() {
        if only.is_some_and(|o| !o.eq_ignore_ascii_case(&d.name)) {
            continue;
        }
        let Some(b) = d.bundles.last() else { continue };
        if ctx.store.bundle_path(&b.sha256)?.is_some() {
            out.push((d.name.clone(), b.name.clone(), b.sha256.clone()));
        }
    }
    Ok(out)
}

/// Record a re-diagnosis of `device`, for the message `req` when a message asked for it.
fn record(
    (ctx, req): (&Context, Option<&Req<'_>>),
    id: &CaseId,
    device: &str,
    d: &Diagnosis,
    author: &str,
) -> Result<(), HandlerError> {
    let stamp = Stamp { author, now: now() };
    let f = |c: &mut Case| lifecycle::record_diagnosis(c, device, d.clone(), stamp);
    match req {
        Some(req) => req
            .change(id, &format!("rediagnose-{device}"), f)
            .map(|_| ()),
        None => request::update(ctx, id, f).map(|_| ()),
    }
}

/// `diagnose [device]`: run again from the stored bundles (e.g. after the rules changed).
pub async fn rerun(req: &Req<'_>, only: Option<&str>) -> Result<(), HandlerError> {
    let case = req.case()?;
    if case.status == CaseStatus::Closed {
        return Err(UserError::CaseClosed(case.id.clone()).into());
    }
    if let Some(name) = only {
        lifecycle::find_device(case, name).ok_or_else(|| UserError::UnknownDevice {
            name: name.to_string(),
            known: case.devices.keys().cloned().collect(),
        })?;
    }
    let bundles = latest_bundles(req.ctx, case, only)?;
    if bundles.is_empty() {
        return Err(UserError::NoBundles.into());
    }
    for (device, name, sha256) in bundles {
        req.send(Outgoing::Typing);
        req.say(&fmt(
            req.lang(),
            "diagnose.again_from",
            &[("device", &device), ("name", &name)],
        ));
        let progress = Progress::quiet(req.out, req.lang(), &name);
        let d = match run_engine(req.ctx, &case.problem, &sha256, &progress).await {
            Ok(d) => d,
            Err(HandlerError::User(e)) => {
                req.say(&e.message(req.lang()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let others = recurrence_of(req.ctx, &case.id, &d)?;
        record(
            (req.ctx, Some(req)),
            &case.id,
            &device,
            &d,
            &req.msg.author.name,
        )?;
        req.post(
            Target::Origin,
            device_replies(&req.ctx.rule_set(), case, &device, &d, req.view, &others),
        );
    }
    Ok(())
}

/// The replies for one device's diagnosis in `case`, with its buttons (labelled in the case's
/// language, since everyone in the case's thread sees them) under the last one.
fn device_replies(
    rules: &RuleSet,
    case: &Case,
    device: &str,
    d: &Diagnosis,
    view: View,
    others: &Recurrence,
) -> Vec<Reply> {
    let d = DiagnosisView::new(d, rules, view);
    render::with_buttons(
        render::diagnosis_replies(&case.id, device, &d, others),
        render::device_buttons(&case.id, device, case.lang),
    )
}

fn post(out: &Outbox, target: &Target, replies: Vec<Reply>) {
    for reply in replies {
        let _ = out.send(Outgoing::Reply {
            target: target.clone(),
            reply,
        });
    }
}

/// Finish journaled diagnoses after a restart (or, on a shared store, those of a process that
/// died: `CaseStore::journal_take_over`); replies go to the case (customer view, since the
/// reader is not known any more).
pub async fn resume(ctx: &Context, out: &Outbox) -> Result<(), HandlerError> {
    for entry in ctx.store.journal_take_over()? {
        let case = ctx.store.get(&entry.case_id)?;
        let stored = ctx.store.bundle_path(&entry.bundle_sha256)?;
        let (Some(case), Some(_)) = (case, stored) else {
            ctx.store.journal_remove(&entry.id)?;
            continue;
        };
        let target = Target::Case(case.id.clone());
        let progress = Progress::quiet(out, case.lang, &entry.bundle_name);
        let d = match run_engine(ctx, &case.problem, &entry.bundle_sha256, &progress).await {
            Ok(d) => d,
            Err(HandlerError::User(e)) => {
                ctx.store.journal_remove(&entry.id)?;
                post(out, &target, vec![render::reply(e.message(case.lang))]);
                continue;
            }
            Err(e) => return Err(e),
        };
        let others = recurrence_of(ctx, &case.id, &d)?;
        let device = match finish(ctx, Some(&case), &entry, d.clone()) {
            Err(HandlerError::User(e)) => {
                post(out, &target, vec![render::reply(e.message(case.lang))]);
                ctx.store.journal_remove(&entry.id)?;
                continue;
            }
            Err(e) => {
                ctx.store.journal_remove(&entry.id)?;
                return Err(e);
            }
            Ok(device) => device,
        };
        let note = fmt(
            case.lang,
            "diagnose.resumed",
            &[("name", &entry.bundle_name)],
        );
        post(out, &target, vec![render::reply(note)]);
        let view = View {
            lang: case.lang,
            role: Role::Customer,
        };
        post(
            out,
            &target,
            device_replies(&ctx.rule_set(), &case, &device, &d, view, &others),
        );
        ctx.store.journal_remove(&entry.id)?;
    }
    Ok(())
}

fn conclusion(rules: &RuleSet, d: Option<&Diagnosis>, lang: Lang) -> String {
    match d.and_then(Diagnosis::top) {
        Some(f) => format!(
            "{} (`{}`)",
            render::finding_title(f, rules, lang),
            f.root_cause
        ),
        None => msg(lang, "diagnose.no_confident_finding").to_string(),
    }
}

fn changed(old: Option<&Diagnosis>, new: &Diagnosis) -> bool {
    match (old.and_then(Diagnosis::top), new.top()) {
        (Some(a), Some(b)) => !same_conclusion(a, b),
        (None, None) => false,
        _ => true,
    }
}

/// Swap in `rules`; if the version changed, re-diagnose open cases and post changed conclusions.
pub async fn reload_rules(
    ctx: &Context,
    rules: diagnosis::RuleSet,
    out: &Outbox,
) -> Result<(), HandlerError> {
    let old_version = ctx.rule_set().version().to_string();
    let new_version = rules.version().to_string();
    match ctx.rules.write() {
        Ok(mut r) => *r = std::sync::Arc::new(rules),
        Err(poisoned) => *poisoned.into_inner() = std::sync::Arc::new(rules),
    }
    if old_version == new_version {
        return Ok(());
    }
    for case in ctx
        .store
        .list()?
        .into_iter()
        .filter(|c| c.status != CaseStatus::Closed)
    {
        rediagnose_case(ctx, &case, out).await?;
    }
    Ok(())
}

/// Re-diagnose open cases whose stored conclusions came from another rule-set version: casebot
/// was upgraded, or its rules changed, while it was down. Called from [`resume`] at start-up.
pub async fn rediagnose_stale(ctx: &Context, out: &Outbox) -> Result<(), HandlerError> {
    let version = ctx.rule_set().version().to_string();
    for case in ctx.store.list()? {
        let stale = case.status != CaseStatus::Closed
            && case.devices.values().any(|r| {
                r.status != store::DeviceStatus::Fixed
                    && r.diagnosis
                        .as_ref()
                        .is_some_and(|d| d.rules_version != version)
            });
        if stale {
            rediagnose_case(ctx, &case, out).await?;
        }
    }
    Ok(())
}

/// Store a re-diagnosis whose conclusion did not change, silently: the case keeps its status and
/// timeline, and the stored rule-set version is current so the device is not re-run next start.
fn refresh(ctx: &Context, id: &CaseId, device: &str, d: &Diagnosis) -> Result<(), HandlerError> {
    request::update(ctx, id, |c| {
        if let Some(r) = c.devices.get_mut(device) {
            r.diagnosis = Some(d.clone());
        }
        Ok(())
    })?;
    Ok(())
}

/// Re-diagnose the devices of one open case that are not verified fixed (a verified fix stays
/// verified whatever the new rules say) and post the conclusions that changed.
async fn rediagnose_case(ctx: &Context, case: &Case, out: &Outbox) -> Result<(), HandlerError> {
    let target = Target::Case(case.id.clone());
    for (device, name, sha256) in latest_bundles(ctx, case, None)? {
        let old = case.devices.get(&device);
        if old.is_some_and(|r| r.status == store::DeviceStatus::Fixed) {
            continue;
        }
        let old = old.and_then(|r| r.diagnosis.as_ref());
        let progress = Progress::quiet(out, case.lang, &name);
        let d = match run_engine(ctx, &case.problem, &sha256, &progress).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(case_id = %case.id, %device, "re-diagnosis failed: {e:#}");
                continue;
            }
        };
        if !changed(old, &d) {
            refresh(ctx, &case.id, &device, &d)?;
            continue;
        }
        let before = conclusion(&ctx.rule_set(), old, case.lang);
        record((ctx, None), &case.id, &device, &d, "casebot")?;
        let after = conclusion(&ctx.rule_set(), Some(&d), case.lang);
        let head = fmt(
            case.lang,
            "diagnose.rules_updated",
            &[("device", &device), ("after", &after), ("before", &before)],
        );
        post(out, &target, vec![render::reply(head)]);
        let view = View {
            lang: case.lang,
            role: Role::Customer,
        };
        let others = recurrence_of(ctx, &case.id, &d)?;
        let replies = device_replies(&ctx.rule_set(), case, &device, &d, view, &others);
        post(out, &target, replies);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_statement_names_the_update_when_the_logs_do_not() {
        let mut d = crate::render::tests::winmgmt();
        d.device.updates.clear();
        let last = d.findings[0].steps.len() - 1;
        d.findings[0].steps[last].text = "Install the update <kb> again (Windows Update / WSUS, or the .msu from the Microsoft Update Catalog).".into();
        d.findings[0].vars.clear();
        fill_updates(&mut d, "KB5034763 rolls back on 2 devices");
        assert_eq!(d.device.updates, vec!["KB5034763"]);
        assert_eq!(
            d.findings[0].steps[last].text,
            "Install the update KB5034763 again (Windows Update / WSUS, or the .msu from the Microsoft Update Catalog)."
        );
        // The Chinese step, filled from the rule's template, names it too.
        let view = View {
            lang: Lang::Zh,
            role: Role::Customer,
        };
        let zh = DiagnosisView::new(&d, crate::render::tests::rules(), view);
        assert!(
            zh.findings[0].steps[last]
                .text
                .starts_with("重新安装更新 KB5034763（"),
            "{}",
            zh.findings[0].steps[last].text
        );
    }

    #[test]
    fn updates_found_in_the_logs_win() {
        let mut d = crate::render::tests::winmgmt();
        fill_updates(&mut d, "KB5000000 fails");
        assert_eq!(d.device.updates, vec!["KB5034763"]);
    }

    #[test]
    fn device_names_from_message_bundle_or_file() {
        let mut d = crate::render::tests::winmgmt();
        assert_eq!(device_name(" pc7 ", &d, "x.zip", "abcdef12"), "pc7");
        assert_eq!(device_name("", &d, "x.zip", "abcdef12"), "wcc0021z675842");
        d.device.name = None;
        assert_eq!(
            device_name("", &d, "WCC0021Z673965.zip", "abcdef12"),
            "WCC0021Z673965"
        );
        assert_eq!(device_name("", &d, "CBS.log", "abcdef12"), "device-abcdef");
    }
}
