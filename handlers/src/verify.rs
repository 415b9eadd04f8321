//! Purpose: `device <name> fixed|failing [note]` and the customers' bare `fixed` /
//! `still failing` replies: record the verification and say what happens next.

use crate::command::Verdict;
use crate::error::HandlerError;
use crate::lifecycle;
use crate::render::fmt;
use crate::request::{self, Req};

/// Record a verdict for `device` (or the one device waiting for it).
pub fn handle(
    req: &Req<'_>,
    device: Option<&str>,
    verdict: Verdict,
    note: Option<&str>,
) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let stamp = req.stamp();
    let (case, key) = request::update(req.ctx, &id, |c| {
        let dev = match device {
            Some(d) => d.to_string(),
            None => lifecycle::verify_target(c)?,
        };
        lifecycle::verify(c, &dev, verdict, note, stamp)
    })?;
    let open = lifecycle::unverified(&case);
    let lang = req.lang();
    let waiting = open.join(", ");
    let text = match verdict {
        Verdict::Fixed if open.is_empty() => fmt(
            lang,
            "verify.fixed_all",
            &[("device", &key), ("case", &case.id)],
        ),
        Verdict::Fixed => fmt(
            lang,
            "verify.fixed_waiting",
            &[("device", &key), ("waiting", &waiting)],
        ),
        Verdict::Failing => fmt(lang, "verify.failing", &[("device", &key)]),
    };
    req.say(&text);
    Ok(())
}
