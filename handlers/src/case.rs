//! Purpose: the read-mostly case commands — `status`, `cases`, `case <id>`, `note`, `lang`,
//! `export`, `help` and `explain`.

use std::fmt::Write as _;

use diagnosis::{Lang, RuleSet};
use store::{Case, CaseId, CaseStatus};

use crate::command;
use crate::error::{HandlerError, UserError};
use crate::lifecycle;
use crate::render::{finding_title, fmt, msg};
use crate::request::{self, Req};
use crate::summary;
use crate::{Outgoing, Reply, Role, Target};

/// Status word in `lang`.
pub fn status_word(s: CaseStatus, lang: Lang) -> &'static str {
    match s {
        CaseStatus::Open => msg(lang, "case.open"),
        CaseStatus::AwaitingLogs => msg(lang, "case.awaiting_logs"),
        CaseStatus::Diagnosed => msg(lang, "case.diagnosed"),
        CaseStatus::AwaitingVerification => msg(lang, "case.awaiting_verification"),
        CaseStatus::Resolved => msg(lang, "case.resolved"),
        CaseStatus::Closed => msg(lang, "case.closed"),
    }
}

fn device_word(s: store::DeviceStatus, lang: Lang) -> &'static str {
    use store::DeviceStatus as D;
    match s {
        D::AwaitingLogs => msg(lang, "case.awaiting_logs"),
        D::Diagnosed => msg(lang, "case.diagnosed"),
        D::Fixed => msg(lang, "case.fixed"),
        D::StillFailing => msg(lang, "case.still_failing"),
    }
}

/// `**id** · status · title`, the line that names a case in `status` and `cases`.
fn headline(case: &Case, lang: Lang) -> String {
    format!(
        "**{}** · {} · {}",
        case.id,
        status_word(case.status, lang),
        case.title
    )
}

/// The status text of a case for `role`.
pub fn status_text(case: &Case, rules: &RuleSet, lang: Lang, role: Role) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(case, lang));
    for d in case.devices.values() {
        let finding = d.diagnosis.as_ref().and_then(|x| x.top());
        let cause = match (finding, role) {
            (Some(f), Role::Engineer) => format!(
                "{} (`{}`, {:.0}%)",
                finding_title(f, rules, lang),
                f.root_cause,
                f.confidence * 100.0
            ),
            (Some(f), Role::Customer) => finding_title(f, rules, lang),
            (None, _) => "—".to_string(),
        };
        let _ = writeln!(
            out,
            "- `{}`: {} · {cause}",
            d.name,
            device_word(d.status, lang)
        );
    }
    if case.devices.is_empty() {
        let _ = writeln!(out, "{}", msg(lang, "case.no_device_bundle_yet"));
    }
    if let Some(s) = &case.summary {
        let shown = match role {
            Role::Engineer => s.as_str(),
            Role::Customer => summary::summary_head(s),
        };
        let _ = writeln!(out, "\n{shown}");
    }
    out
}

/// `status`.
pub fn status(req: &Req<'_>) -> Result<(), HandlerError> {
    let case = req.case()?;
    req.say(&status_text(
        case,
        &req.ctx.rule_set(),
        req.lang(),
        req.view.role,
    ));
    Ok(())
}

/// `cases`: newest first, of this Discord server only; customers see only the cases they
/// opened (see `Req::may_see`).
pub fn cases(req: &Req<'_>) -> Result<(), HandlerError> {
    let lang = req.lang();
    let mine = req.ctx.store.latest(&mut |c| req.may_see(c), 20)?;
    if mine.is_empty() {
        req.say(msg(lang, "case.no_cases_yet_start"));
        return Ok(());
    }
    let mut out = String::new();
    for c in &mine {
        let _ = writeln!(out, "- {}", headline(c, lang));
        if let Some(s) = &c.summary {
            for line in summary::summary_head(s)
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
            {
                let _ = writeln!(out, "  > {line}");
            }
        }
    }
    req.say(&out);
    Ok(())
}

/// `case <id>`: switch the console to another case. A case the sender may not see is
/// answered like one that does not exist, so ids cannot be probed.
pub fn switch(req: &Req<'_>, id: &CaseId) -> Result<(), HandlerError> {
    let case = request::load(req.ctx, id)?;
    if !req.may_see(&case) {
        return Err(UserError::NoSuchCase(id.to_string()).into());
    }
    req.send(Outgoing::SwitchCase(case.id.clone()));
    req.say(&status_text(
        &case,
        &req.ctx.rule_set(),
        req.lang(),
        req.view.role,
    ));
    Ok(())
}

/// `note <text>` (allowed on closed cases too: notes explain after the fact).
pub fn note(req: &Req<'_>, text: &str) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let stamp = req.stamp();
    req.change(&id, "note", |c| {
        lifecycle::log(c, stamp, "note", text);
        Ok(())
    })?;
    req.say(msg(req.lang(), "case.noted"));
    Ok(())
}

/// `lang zh|en`: the user's language, and the case's when in an open case.
pub fn lang(req: &Req<'_>, lang: Lang) -> Result<(), HandlerError> {
    req.ctx.set_user_lang(&req.msg.author.id, lang);
    if let Some(id) = &req.case_id {
        let open = req.case()?.status != CaseStatus::Closed;
        if open {
            req.change(id, "lang", |c| {
                c.lang = lang;
                Ok(())
            })?;
        }
    }
    req.say(msg(lang, "case.i_will_reply_english"));
    Ok(())
}

/// `export`: summary as Markdown and the case as JSON.
pub fn export(req: &Req<'_>) -> Result<(), HandlerError> {
    let case = req.case()?;
    let files = summary::export_files(case, &req.ctx.rule_set(), req.view)
        .map_err(|e| HandlerError::Internal(format!("export: {e}")))?;
    let key = match files.len() {
        1 => "case.export_summary",
        _ => "case.export_summary_and_record",
    };
    let text = fmt(req.lang(), key, &[("case", &case.id)]);
    req.post(
        Target::Origin,
        vec![Reply {
            text,
            files,
            ..Reply::default()
        }],
    );
    Ok(())
}

/// `help`.
pub fn help(req: &Req<'_>) -> Result<(), HandlerError> {
    let lang = req.lang();
    let mut out = String::from(msg(lang, "case.casebot_commands"));
    out.push_str(&command::help_lines(lang));
    out.push_str(msg(lang, "case.attach_log_bundle_zip"));
    req.say(&out);
    Ok(())
}

/// `explain <code>`.
pub fn explain(req: &Req<'_>, code: &str) -> Result<(), HandlerError> {
    let lang = req.lang();
    let infos: Vec<_> = diagnosis::codes::parse_query(code)
        .into_iter()
        .map(diagnosis::codes::lookup)
        .filter(|i| !i.name.is_empty() || !i.meaning.is_empty())
        .collect();
    if infos.is_empty() {
        return Err(UserError::UnknownCode(code.to_string()).into());
    }
    req.say(&code_lines(&infos, lang));
    Ok(())
}

/// One line per code: its name and meaning in `lang` (what `explain` answers).
pub(crate) fn code_lines(infos: &[diagnosis::report::CodeInfo], lang: Lang) -> String {
    let mut out = String::new();
    for i in infos {
        let meaning =
            diagnosis::codes::meaning_texts(&i.code).map_or(i.meaning.as_str(), |t| t.get(lang));
        let _ = writeln!(out, "`{}` **{}** — {meaning}", i.code, i.name);
    }
    out
}
