//! Purpose: `device <name> fixed|failing [note]` and the customers' bare `fixed` /
//! `still failing` replies: record the verification and say what happens next. A bare reply
//! while several devices wait asks which one, with a menu of them.

use store::CaseId;

use crate::command::{Command, Verdict};
use crate::error::{HandlerError, UserError};
use crate::lifecycle;
use crate::render::{self, fmt, msg};
use crate::request::{Change, Req};
use crate::{Menu, Target};

/// Discord's limit of choices in one menu.
const MAX_CHOICES: usize = 25;

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
    });
    let change = match change {
        Err(HandlerError::User(UserError::WhichDevice(devices))) => {
            ask_device(req, &id, verdict, note, devices);
            return Ok(());
        }
        other => other?,
    };
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

/// A bare verdict while several devices wait: ask which device, with a menu of the waiting
/// devices that applies the verdict (and note) to the one picked.
fn ask_device(
    req: &Req<'_>,
    id: &CaseId,
    verdict: Verdict,
    note: Option<&str>,
    devices: Vec<String>,
) {
    let lang = req.lang();
    let text = UserError::WhichDevice(devices.clone()).message(lang);
    let pick = |note: Option<&str>| {
        Command::Device {
            name: String::new(),
            verdict,
            note: note.map(str::to_string),
        }
        .custom_id(Some(id))
    };
    // A note too long for the custom id is left out of the menu rather than the menu itself.
    let menu = pick(note).or_else(|| pick(None)).map(|custom_id| Menu {
        custom_id,
        placeholder: msg(lang, "verify.pick_device").to_string(),
        choices: devices.into_iter().take(MAX_CHOICES).collect(),
    });
    let reply = crate::Reply {
        menu,
        private: true,
        ..render::reply(text)
    };
    req.post(Target::Origin, vec![reply]);
}
