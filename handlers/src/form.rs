//! Purpose: forms a click opens before its command runs. An engineer's Close on the case's
//! opening message asks for the reason (Discord shows a modal); the submitted form carries the
//! same custom id plus the typed field, read back by `command::parse_form`. Nothing is kept in
//! memory between the click and the submission.

use diagnosis::Lang;
use store::CaseStatus;

use crate::command::{Command, parse_custom_id};
use crate::render::{fmt, msg};
use crate::{Context, Role};

/// A form with one text field (Discord: a modal with one text input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The custom id to submit the form under (the clicked button's).
    pub custom_id: String,
    /// Title, at most 45 characters.
    pub title: String,
    /// The field: the command argument it fills.
    pub field: &'static str,
    /// The field's label, at most 45 characters.
    pub label: String,
    /// Example text shown in the empty field.
    pub placeholder: String,
    /// Longest accepted answer.
    pub max_chars: u16,
}

/// Longest close reason a form accepts (it ends up in the close summary).
const MAX_REASON: u16 = 500;

/// The form a click on `custom_id` must open before anything runs, if any: an engineer's Close
/// without a reason, on a case that is not closed. Everything else goes to
/// [`crate::handle_message`] at once: a customer's Close is refused there, and a click on a
/// closed case says that the case is closed.
pub fn click_form(ctx: &Context, custom_id: &str, user_id: &str, role: Role) -> Option<Form> {
    let (case_id, cmd) = parse_custom_id(custom_id).ok()?;
    if !matches!(cmd, Command::Close { reason: None, .. }) || role != Role::Engineer {
        return None;
    }
    let case = ctx.store.get(case_id.as_ref()?).ok()??;
    if case.status == CaseStatus::Closed {
        return None;
    }
    let lang: Lang = ctx.user_lang(user_id).unwrap_or(case.lang);
    Some(Form {
        custom_id: custom_id.to_string(),
        title: fmt(lang, "form.close_title", &[("case", &case.id)]),
        field: "reason",
        label: msg(lang, "form.close_reason").to_string(),
        placeholder: msg(lang, "form.close_reason_example").to_string(),
        max_chars: MAX_REASON,
    })
}
