//! Purpose: the engineer-only lifecycle commands — `close [force] [reason]` (with the summary
//! posted to the case and the summary channel), `reopen`, and `split <device…> [-- title]`.

use store::{Applied, Case};

use crate::error::HandlerError;
use crate::lifecycle;
use crate::render::{self, fmt};
use crate::request::Req;
use crate::summary;
use crate::{ReplyFile, Target};

/// `close`.
pub fn close(req: &Req<'_>, force: bool, reason: Option<&str>) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let stamp = req.stamp();
    let rules = req.ctx.rule_set();
    let change = req.change(&id, "close", |c| {
        lifecycle::check_close(c, force, reason)?;
        // The summary shows the close reason, so build it from the case as it will be stored.
        let mut preview = c.clone();
        preview.close_reason = reason.map(str::to_string);
        let view = render::View {
            lang: c.lang,
            role: crate::Role::Engineer,
        };
        let text = summary::summary_markdown(&render::CaseView::new(&preview, &rules, view));
        lifecycle::close(c, force, reason, text, stamp)
    })?;
    let case = change.case();
    let text = case.summary.clone().unwrap_or_default();
    let file = ReplyFile {
        name: format!("{}-summary.md", case.id),
        bytes: text.clone().into_bytes(),
    };
    let head = fmt(case.lang, "close.closed", &[("case", &case.id)]);
    let full = format!("{head}{text}");
    req.post(
        Target::Case(case.id.clone()),
        render::replies(&full, Some(file.clone())),
    );
    req.post(Target::SummaryChannel, render::replies(&text, Some(file)));
    Ok(())
}

/// `reopen`.
pub fn reopen(req: &Req<'_>) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let stamp = req.stamp();
    let change = req.change(&id, "reopen", |c| lifecycle::reopen(c, stamp))?;
    let case = change.case();
    let lang = req.lang();
    let status = crate::case::status_word(case.status, lang);
    let text = fmt(
        lang,
        "close.reopened",
        &[("case", &case.id), ("status", &status)],
    );
    req.say(&text);
    Ok(())
}

/// Leading words that are devices of the case are devices; the rest (if no `--` title) is the title.
fn resolve_split(case: &Case, words: Vec<String>, title: Option<String>) -> (Vec<String>, String) {
    if let Some(title) = title {
        return (words, title);
    }
    let n = words
        .iter()
        .take_while(|w| lifecycle::find_device(case, w).is_some())
        .count()
        .max(1);
    let (devs, rest) = words.split_at(n.min(words.len()));
    let title = if rest.is_empty() {
        format!("{} ({})", case.title, devs.join(", "))
    } else {
        rest.join(" ")
    };
    (devs.to_vec(), title)
}

/// `split`.
pub fn split(req: &Req<'_>, words: Vec<String>, title: Option<String>) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let current = req.case()?;
    let (devices, title) = resolve_split(current, words, title);
    let stamp = req.stamp();
    let store = &req.ctx.store;
    // Two changes, each with its own key: the new case, then the devices leaving this one. A
    // delivery after a crash between them finds the new case and finishes the second.
    let created_key = req.key("split-new");
    let new_id = match store.created_by(&created_key)? {
        Some(new_id) => new_id,
        None => {
            let new_id = store.new_case_id()?;
            // Validate on a copy first, so a refused split creates nothing.
            let new_case = lifecycle::split(
                &mut current.clone(),
                &devices,
                new_id.clone(),
                &title,
                stamp,
            )?;
            match store.create(new_case, Some(&created_key))? {
                Applied::Done(_) => new_id,
                Applied::Duplicate => store.created_by(&created_key)?.ok_or_else(|| {
                    HandlerError::Internal("split: the new case is not recorded".into())
                })?,
            }
        }
    };
    req.change(&id, "split", |c| {
        lifecycle::split(c, &devices, new_id.clone(), &title, stamp).map(|_| ())
    })?;
    if crate::case_thread(req.ctx, &new_id)
        .map_err(|e| HandlerError::Internal(format!("{e:#}")))?
        .is_none()
    {
        req.send(crate::Outgoing::CreateThread {
            case_id: new_id.clone(),
            name: format!("{new_id} {title}").chars().take(100).collect(),
        });
    }
    let lang = req.lang();
    let list = devices.join(", ");
    let text = fmt(
        lang,
        "close.split_moved",
        &[
            ("devices", &list),
            ("case", &id),
            ("new_case", &new_id),
            ("title", &title),
        ],
    );
    req.say(&text);
    let first = fmt(
        lang,
        "close.split_from",
        &[("case", &id), ("devices", &list)],
    );
    req.post(Target::Case(new_id.clone()), vec![render::reply(first)]);
    Ok(())
}
