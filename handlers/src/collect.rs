//! Purpose: `collect`. The reply attaches `casebot-collect.ps1`, a log collector generated from
//! the logs the engine can ask for in `bundle.missing` (`diagnosis::engine::requestable_logs`),
//! and shows the one command that runs it. The script is for Windows PowerShell 5.1 with no
//! extra modules: it copies the logs, exports the event logs and the configuration of the
//! services the rules check, runs `Get-WindowsUpdateLog`, and zips everything into a file named
//! after the computer. It collects no credentials: no registry hives, credential stores, keys
//! or user files.

mod script;

pub use script::{SCRIPT_NAME, script};

use store::CaseStatus;

use crate::error::{HandlerError, UserError};
use crate::render::{fmt, msg};
use crate::request::Req;
use crate::{ReplyFile, Target};

/// The command that runs the attached script, shown in the reply.
pub const RUN_COMMAND: &str =
    "powershell -NoProfile -ExecutionPolicy Bypass -File .\\casebot-collect.ps1";

/// The reply text of `collect` in `lang`.
pub fn collect_reply_text(lang: diagnosis::Lang) -> String {
    format!(
        "{}\n```\n{RUN_COMMAND}\n```\n{}",
        fmt(lang, "collect.save_and_run", &[("script", &SCRIPT_NAME)]),
        msg(lang, "collect.what_it_does"),
    )
}

/// `collect`: the script, generated from the current rule set, and how to run it.
pub(crate) fn handle(req: &Req<'_>) -> Result<(), HandlerError> {
    // A closed case's "How to collect logs" button says the case is closed.
    if let Some(case) = req.case.as_ref().filter(|c| c.status == CaseStatus::Closed) {
        return Err(UserError::CaseClosed(case.id.clone()).into());
    }
    let file = ReplyFile {
        name: SCRIPT_NAME.to_string(),
        bytes: script(&req.ctx.rule_set()).into_bytes(),
    };
    let text = collect_reply_text(req.lang());
    req.post(Target::Origin, crate::render::replies(&text, Some(file)));
    Ok(())
}
