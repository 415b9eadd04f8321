//! Purpose: the one place commands are dispatched and errors are handled:
//! redact, parse, resolve the case and the reader's language, call the feature module, and turn
//! user errors into replies.

use store::{CaseId, StoreError};

use crate::command::{self, Command};
use crate::error::{HandlerError, UserError};
use crate::render::{View, fmt, msg};
use crate::request::{JobsDone, Req};
use crate::{Context, Incoming, Outbox, Role};

fn resolve_case(ctx: &Context, msg: &Incoming) -> Result<Option<CaseId>, HandlerError> {
    if let Some(id) = &msg.case_hint {
        return Ok(Some(id.clone()));
    }
    Ok(ctx.store.case_by_thread(msg.channel_id)?)
}

fn warn_secret(req: &Req<'_>) {
    req.say(msg(req.lang(), "dispatch.message_contained_password_token"));
}

/// Handle one message (see [`crate::handle_message`]).
#[tracing::instrument(skip_all, fields(message_id = %msg.message_id, case_id))]
pub(crate) async fn handle(ctx: &Context, mut msg: Incoming, out: &Outbox) -> anyhow::Result<()> {
    if ctx.store.is_processed(&msg.message_id)? {
        return Ok(());
    }
    let redacted = crate::redact::redact(&msg.text);
    msg.text = redacted.text;
    let mut secrets = redacted.found;
    let cmd = match msg.command.take() {
        Some(mut cmd) => {
            secrets += cmd.redact();
            cmd
        }
        None => command::parse(&msg.text),
    };
    let skipped =
        crate::rate::keep_attachments(&mut msg, ctx.rate.config().attachments_per_message);
    let case_id = resolve_case(ctx, &msg)?;
    if let Some(id) = &case_id {
        tracing::Span::current().record("case_id", id.as_str());
    }
    // The one load of the case for this message; feature modules read it from `Req`.
    let case = match &case_id {
        Some(id) => ctx.store.get(id)?,
        None => None,
    };
    let lang = ctx
        .user_lang(&msg.author.id)
        .or(case.as_ref().map(|c| c.lang))
        .unwrap_or(ctx.config.default_lang);
    let done = JobsDone::default();
    let req = Req {
        ctx,
        view: View {
            lang,
            role: msg.author.role,
        },
        case_id,
        case,
        msg: &msg,
        out,
        done: &done,
    };
    if secrets > 0 {
        warn_secret(&req);
    }
    // Over a limit: a polite reply, and nothing from the message is handled or stored.
    let slot = match crate::rate::admit(&req, &cmd) {
        Ok(slot) => slot,
        Err(limited) => {
            req.say_private(&limited.message(lang));
            return Ok(());
        }
    };
    if !skipped.is_empty() {
        req.say(&crate::rate::skipped_text(&req, &skipped));
    }
    // A case named by a button that the sender may not act on is answered like one that does
    // not exist (a forged custom id must not reach another server's or channel's case).
    if let (Some(case), true) = (&req.case, msg.case_hint.is_some())
        && !req.may_act(case)
    {
        req.say_private(&UserError::NoSuchCase(case.id.to_string()).message(lang));
        return Ok(());
    }
    tracing::debug!(?cmd, message_id = %msg.message_id, "command");
    match run(&req, cmd).await {
        Ok(()) => {}
        Err(HandlerError::User(e)) => req.say_private(&e.message(req.view.lang)),
        // The disk is full or the store became read-only: say so, and keep answering what only
        // reads (sled refuses every write after the first failure, until a restart).
        Err(HandlerError::Store(StoreError::CannotWrite { reason, detail })) => {
            tracing::error!("cannot save: {reason} ({detail})");
            let case = req
                .case_id
                .as_ref()
                .map(CaseId::to_string)
                .unwrap_or_default();
            req.say(&fmt(
                lang,
                "dispatch.cannot_save",
                &[("case", &for_case(&case)), ("reason", &reason)],
            ));
        }
        Err(e) => {
            let case = req
                .case_id
                .as_ref()
                .map(CaseId::to_string)
                .unwrap_or_default();
            tracing::error!(case_id = %case, "handler failed: {e:#}");
            let line = fmt(
                lang,
                "dispatch.internal_error",
                &[("case", &for_case(&case))],
            );
            req.say(&line);
        }
    }
    // The message's diagnoses have replied: free the guild's slot first, then remove their
    // journal entries (each an fsync), which no longer hold back the guild's next upload.
    drop(slot);
    for id in done.take() {
        if let Err(e) = crate::diagnose::journal_remove(ctx, &id).await {
            // The reply went out; a restart would diagnose this job again.
            tracing::error!(job = %id, "removing a finished job from the journal: {e:#}");
        }
    }
    Ok(())
}

fn for_case(case: &str) -> String {
    if case.is_empty() {
        String::new()
    } else {
        format!(" ({case})")
    }
}

/// The name of a command only engineers may run (the table says which).
fn engineer_only(cmd: &Command) -> Option<&'static str> {
    cmd.spec()
        .filter(|spec| spec.permission == Role::Engineer)
        .map(|spec| spec.name)
}

async fn run(req: &Req<'_>, cmd: Command) -> Result<(), HandlerError> {
    if let Some(name) = engineer_only(&cmd).filter(|_| !req.engineer()) {
        return Err(UserError::EngineersOnly(name).into());
    }
    let has_files = !req.msg.attachments.is_empty();
    let is_paste = !has_files && crate::paste::is_paste(&req.msg.text);
    match cmd {
        Command::Open { title } => crate::open::handle(req, &title).await,
        Command::Collect => crate::collect::handle(req),
        Command::Status => crate::case::status(req),
        Command::Cases => crate::case::cases(req),
        Command::Switch(id) => crate::case::switch(req, &id),
        Command::Note { text } => crate::case::note(req, &text),
        Command::Lang(lang) => crate::case::lang(req, lang),
        Command::Export => crate::case::export(req),
        Command::Link { customer } => crate::link::handle(req, customer),
        Command::Help => crate::case::help(req),
        Command::Explain { code } => crate::case::explain(req, &code),
        Command::Device {
            name,
            verdict,
            note,
        } => crate::verify::handle(req, Some(&name), verdict, note.as_deref()),
        Command::Verify { verdict, note } => {
            crate::verify::handle(req, None, verdict, note.as_deref())
        }
        Command::Split { devices, title } => crate::close::split(req, devices, title),
        Command::Close { force, reason } => crate::close::close(req, force, reason.as_deref()),
        Command::Reopen => crate::close::reopen(req),
        Command::Diagnose { device } if has_files => {
            crate::diagnose::attachments(req, device).await
        }
        // `diagnose` followed by pasted lines: the word after it is part of the paste.
        Command::Diagnose { .. } if is_paste => {
            crate::paste::handle(req, command::device_token(&req.msg.text)).await
        }
        Command::Diagnose { device } => crate::diagnose::rerun(req, device.as_deref()).await,
        Command::Rediagnose { device } => crate::diagnose::rerun(req, Some(&device)).await,
        Command::Text { device } if has_files => crate::diagnose::attachments(req, device).await,
        Command::Text { .. } | Command::Unknown { .. } if has_files => {
            crate::diagnose::attachments(req, command::device_token(&req.msg.text)).await
        }
        Command::Text { device } if is_paste => crate::paste::handle(req, device).await,
        Command::Text { .. } => match chat_codes(&req.msg.text) {
            Some(codes) => code_in_chat(req, &codes),
            // "It says Undoing changes": what that screen means, and what to send.
            None if diagnosis::parse::rollback_screen(&req.msg.text) => {
                req.say(msg(req.lang(), "dispatch.rollback_in_chat"));
                Ok(())
            }
            None => unknown(req, None, None),
        },
        Command::Unknown { word, usage } => unknown(req, Some(&word), usage.as_deref()),
    }
}

/// The catalogued failure codes a chat message names (`the update fails with 0x800f0922`), when
/// it is no paste: what `explain` would say about them.
fn chat_codes(text: &str) -> Option<Vec<diagnosis::report::CodeInfo>> {
    let infos: Vec<_> = diagnosis::parse::extract_codes(text)
        .into_iter()
        .filter(|&c| c >= 0x8000_0000)
        .map(diagnosis::codes::lookup)
        .filter(|i| !i.name.is_empty())
        .take(3)
        .collect();
    (!infos.is_empty()).then_some(infos)
}

/// A question naming an error code: what the code means, and what would tell why it failed.
fn code_in_chat(req: &Req<'_>, infos: &[diagnosis::report::CodeInfo]) -> Result<(), HandlerError> {
    let lang = req.lang();
    let mut out = crate::case::code_lines(infos, lang);
    out.push_str(msg(lang, "dispatch.code_in_chat"));
    req.say(&out);
    Ok(())
}

fn unknown(req: &Req<'_>, word: Option<&str>, usage: Option<&str>) -> Result<(), HandlerError> {
    let lang = req.lang();
    let text = match (usage, word) {
        (Some(u), _) => fmt(lang, "dispatch.usage", &[("usage", &u)]),
        (None, Some(w)) => fmt(lang, "dispatch.unknown_command", &[("word", &w)]),
        (None, None) => msg(lang, "dispatch.nothing_understood").to_string(),
    };
    req.say(&text);
    Ok(())
}
