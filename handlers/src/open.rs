//! Purpose: `open <title>`. The first reply of a case restates the problem
//! definition (product, update, codes, devices) and the scope, then asks for logs with exact
//! collection steps, as the engineer did in the case that defines the product (docs/ARCHITECTURE.md, "The founding case").

use std::fmt::Write as _;

use diagnosis::Lang;

use crate::command::Command;
use crate::error::HandlerError;
use crate::facts::{ProblemFacts, parse_facts};
use crate::lifecycle::{self, Stamp};
use crate::render::{View, command_button, fmt, msg};
use crate::request::{self, Req, now};
use crate::{Button, ButtonStyle, Outgoing, Target};
use store::{Applied, Case};

/// Log collection instructions, per language.
pub fn collect_text(lang: Lang) -> String {
    let intro = msg(lang, "open.how_collect_logs_each");
    let cmds = "```\nmkdir C:\\casebot-logs\ncopy /y C:\\Windows\\Logs\\CBS\\*.* C:\\casebot-logs\\\ncopy /y C:\\Windows\\Logs\\DISM\\dism.log C:\\casebot-logs\\\nwevtutil epl System C:\\casebot-logs\\System.evtx\nwevtutil epl Setup C:\\casebot-logs\\Setup.evtx\nwevtutil epl Application C:\\casebot-logs\\Application.evtx\nsc queryex type= service state= all > C:\\casebot-logs\\services.txt\nsc qc winmgmt >> C:\\casebot-logs\\services.txt\n```";
    let ps = "```\npowershell -NoProfile -Command \"Get-WindowsUpdateLog -LogPath C:\\casebot-logs\\WindowsUpdate.log; Compress-Archive C:\\casebot-logs C:\\$env:COMPUTERNAME.zip -Force\"\n```";
    let outro = msg(lang, "open.attach_zip_here");
    format!("{intro}\n{cmds}\n{}\n{ps}\n{outro}", msg(lang, "open.then"))
}

fn definition_text(id: &str, title: &str, facts: &ProblemFacts, lang: Lang) -> String {
    let none = msg(lang, "open.not_stated_yet");
    let list = |v: &[String]| {
        if v.is_empty() {
            none.to_string()
        } else {
            v.join(", ")
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", fmt(lang, "open.opened", &[("case", &id)]));
    let _ = writeln!(out, "- {}: {title}", msg(lang, "open.problem"));
    let _ = writeln!(
        out,
        "- {}: {}",
        msg(lang, "open.update"),
        list(&facts.updates)
    );
    let _ = writeln!(
        out,
        "- {}: {}",
        msg(lang, "label.codes"),
        list(&facts.codes)
    );
    let _ = writeln!(
        out,
        "- {}: {}",
        msg(lang, "open.os_version"),
        list(&facts.builds)
    );
    let devices = facts
        .devices
        .map(|n| n.to_string())
        .unwrap_or_else(|| none.to_string());
    let _ = writeln!(out, "- {}: {devices}", msg(lang, "open.affected_devices"));
    let scope = msg(lang, "open.scope_case_covers_problem");
    let _ = writeln!(out, "{scope}");
    if facts.updates.len() > 1 || facts.codes.len() > 1 {
        let mixed = msg(lang, "open.report_names_several_updates");
        let _ = writeln!(out, "{mixed}");
    }
    out.push('\n');
    out
}

/// `open <title>`.
pub async fn handle(req: &Req<'_>, title: &str) -> Result<(), HandlerError> {
    let ctx = req.ctx;
    let has_cjk = title
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let lang =
        ctx.user_lang(&req.msg.author.id)
            .unwrap_or(if has_cjk { Lang::Zh } else { req.lang() });
    let case = create(req, title, lang)?;
    let id = case.id.clone();
    // A delivery after a crash may find the thread made already.
    if case.thread_id.is_none() {
        req.send(Outgoing::CreateThread {
            case_id: id.clone(),
            name: thread_name(&id, title),
        });
    }
    req.send(Outgoing::SwitchCase(id.clone()));
    let facts = parse_facts(title);
    let text = format!(
        "{}{}",
        definition_text(id.as_str(), title, &facts, lang),
        collect_text(lang)
    );
    let mut replies = crate::render::replies(&text, None);
    if let Some(last) = replies.last_mut() {
        last.buttons = case_buttons(&id, lang);
    }
    req.post(Target::Case(id.clone()), replies);
    let inner = Req {
        ctx,
        msg: req.msg,
        case_id: Some(id),
        case: Some(case),
        view: View {
            lang,
            role: req.view.role,
        },
        out: req.out,
        done: req.done,
    };
    // Log lines the author pasted outside any case just before, offered for this case.
    crate::paste::open_with_offer(&inner).await?;
    if !req.msg.attachments.is_empty() {
        let device = crate::command::device_token(&req.msg.text);
        crate::diagnose::attachments(&inner, device).await?;
    }
    Ok(())
}

/// The case this message opens: created now, together with the message's key, or found when
/// an earlier delivery of the message created it and stopped before replying.
fn create(req: &Req<'_>, title: &str, lang: Lang) -> Result<Case, HandlerError> {
    let (ctx, key) = (req.ctx, req.key("open"));
    if let Some(id) = ctx.store.created_by(&key)? {
        return request::load(ctx, &id);
    }
    let stamp = Stamp {
        author: &req.msg.author.name,
        now: now(),
    };
    let mut case = lifecycle::new_case(
        ctx.store.new_case_id()?,
        title,
        lang,
        req.msg.channel_id,
        stamp,
    );
    case.opener_id = Some(req.msg.author.id.clone());
    case.guild_id = req.msg.guild_id;
    lifecycle::request_logs(&mut case, stamp);
    match ctx.store.create(case, Some(&key))? {
        Applied::Done(case) => {
            crate::fault::point(crate::fault::AFTER_COMMIT);
            Ok(case)
        }
        Applied::Duplicate => match ctx.store.created_by(&key)? {
            Some(id) => request::load(ctx, &id),
            None => Err(HandlerError::Internal(
                "open: the case is not recorded".into(),
            )),
        },
    }
}

/// The buttons on a case's opening message: Status and How to collect logs for everyone, and
/// Close for engineers (the adapter asks for the reason first; see [`crate::click_form`]).
pub fn case_buttons(case_id: &store::CaseId, lang: Lang) -> Vec<Button> {
    let close = Command::Close {
        force: false,
        reason: None,
    };
    [
        (Command::Status, "button.status", ButtonStyle::Secondary),
        (Command::Collect, "button.collect", ButtonStyle::Success),
        (close, "button.close", ButtonStyle::Danger),
    ]
    .into_iter()
    .filter_map(|(cmd, key, style)| command_button(case_id, cmd, msg(lang, key), style))
    .collect()
}

/// Discord thread names are at most 100 characters.
fn thread_name(id: &store::CaseId, title: &str) -> String {
    let name = format!("{id} {title}");
    name.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_restates_and_scopes() {
        let f = parse_facts("KB5034763 rolls back on 2 devices");
        let text = definition_text(
            "CAS-11694-G2W9Y6",
            "KB5034763 rolls back on 2 devices",
            &f,
            Lang::En,
        );
        assert!(text.contains("**Problem definition**"));
        assert!(text.contains("- Update: KB5034763"));
        assert!(text.contains("- Affected devices: 2"));
        assert!(text.contains("**Scope**"));
        assert!(!text.contains("⚠️"));
        let mixed = parse_facts("KB5034763 fails with 0x800f0922, KB5034441 with 0x80070643");
        let text = definition_text("CAS-11694-G2W9Y6", "x", &mixed, Lang::En);
        assert!(text.contains("`split`") && text.contains("⚠️"), "{text}");
        assert!(collect_text(Lang::Zh).contains("wevtutil epl System"));
        assert!(collect_text(Lang::Zh).chars().count() < 1500);
    }
}
