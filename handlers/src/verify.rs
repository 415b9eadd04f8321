//! Purpose: `device <name> fixed|failing [note]` and the customers' bare `fixed` /
//! `still failing` replies: record the verification and say what happens next.

use crate::command::Verdict;
use crate::error::HandlerError;
use crate::lifecycle;
use crate::render::fmt;
use crate::request::{Change, Req};

/// Record a verdict for `device` (or the one device waiting for it).
pub fn handle(
    req: &Req<'_>,
    device: Option<&str>,
    verdict: Verdict,
    note: Option<&str>,
) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let stamp = req.stamp();
    let change = req.change(&id, "verify", |c| {
        let dev = match device {
            Some(d) => d.to_string(),
            None => lifecycle::verify_target(c)?,
        };
        lifecycle::verify(c, &dev, verdict, note, stamp)
    })?;
    let (case, key) = match change {
        Change::Done(case, key) => (case, key),
        // Recorded before a restart: the device is the one named, else the last one verified.
        Change::Earlier(case) => {
            let key = device
                .and_then(|d| lifecycle::find_device(&case, d))
                .or_else(|| lifecycle::last_verified(&case))
                .unwrap_or_default();
            (case, key)
        }
    };
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
