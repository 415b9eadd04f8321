//! Purpose: log lines pasted into a message (plain, in a code fence, after some prose). The text
//! is stored in the bundle store like an upload, as `paste-<message id>.txt`, so that it is
//! content-addressed and re-diagnosed from the store after a rule change. In a case it is
//! diagnosed for the device the message names, or the case's only device. Outside any case the
//! diagnosis is the reply, with an offer to open a case with the paste: the author's next
//! `open <title>` in that channel takes it as the case's first bundle.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diagnosis::Lang;
use store::{CaseStatus, StoredBundle};

use crate::diagnose::{self, PASTE_PREFIX, Progress, Received};
use crate::error::{HandlerError, UserError};
use crate::render::{self, msg};
use crate::request::Req;
use crate::{Outgoing, Target};

/// How long an offer to open a case with a paste stays valid.
const OFFER_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Offers kept at most (the oldest go first); one per user and channel is the usual number.
const MAX_OFFERS: usize = 1000;

/// Does this message text hold log lines (rather than only chat)?
pub(crate) fn is_paste(text: &str) -> bool {
    diagnosis::parse::looks_like_log(text)
}

/// A paste diagnosed outside any case, waiting for its author's `open <title>`.
#[derive(Debug, Clone)]
struct Offer {
    sha256: String,
    /// Size of the paste.
    bytes: u64,
    name: String,
    at: Instant,
}

/// Offers to open a case with a paste, by (channel, author id).
///
/// Held in memory only: the pasted bytes themselves are in the bundle store, but the store has no
/// record for "a diagnosis outside any case", and an offer is a short-lived conversational
/// follow-up. After a restart the offer is gone and `open` opens an empty case; pasting the lines
/// again in its thread diagnoses them there.
#[derive(Debug, Default)]
pub struct PendingPastes(Mutex<HashMap<(u64, String), Offer>>);

impl PendingPastes {
    fn offer(&self, channel: u64, author: &str, offer: Offer) {
        let Ok(mut m) = self.0.lock() else { return };
        m.retain(|_, o| o.at.elapsed() < OFFER_TTL);
        m.insert((channel, author.to_string()), offer);
        while m.len() > MAX_OFFERS {
            let oldest = m.iter().min_by_key(|(_, o)| o.at).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => m.remove(&k),
                None => break,
            };
        }
    }

    fn take(&self, channel: u64, author: &str) -> Option<Offer> {
        let mut m = self.0.lock().ok()?;
        m.remove(&(channel, author.to_string()))
            .filter(|o| o.at.elapsed() < OFFER_TTL)
    }
}

/// The stored name of the lines pasted in message `message_id`.
fn paste_name(message_id: &str) -> String {
    let safe: String = message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("{PASTE_PREFIX}{safe}.txt")
}

/// Put the message text into the bundle store, within the download size limit.
async fn store_text(req: &Req<'_>) -> Result<StoredBundle, HandlerError> {
    let limit = req.ctx.config.download.max_bytes;
    let bytes = req.msg.text.clone().into_bytes();
    if bytes.len() as u64 > limit {
        return Err(UserError::PasteTooLarge { limit }.into());
    }
    let store = req.ctx.store.clone();
    tokio::task::spawn_blocking(move || Ok(store.put_bundle(&mut bytes.as_slice())?))
        .await
        .map_err(|e| HandlerError::Internal(format!("bundle store task: {e}")))?
}

/// Log lines in a message: diagnose them in the case, or outside any case with an offer.
pub(crate) async fn handle(req: &Req<'_>, device: Option<String>) -> Result<(), HandlerError> {
    match req.case_id {
        Some(_) => in_case(req, device).await,
        None => outside(req).await,
    }
}

/// The device a paste in `case` belongs to: named, else the only one; `None` lets the engine
/// (or the bundle's hash) name the first device. Several devices and none named: ask.
fn paste_device(case: &store::Case, named: Option<String>) -> Result<Option<String>, UserError> {
    if named.is_some() {
        return Ok(named);
    }
    let names: Vec<String> = case.devices.values().map(|d| d.name.clone()).collect();
    match names.len() {
        0 => Ok(None),
        1 => Ok(names.into_iter().next()),
        _ => Err(UserError::PasteWhichDevice(names)),
    }
}

async fn in_case(req: &Req<'_>, device: Option<String>) -> Result<(), HandlerError> {
    let case = req.case()?;
    if case.status == CaseStatus::Closed {
        return Err(UserError::CaseClosed(case.id.clone()).into());
    }
    let device = paste_device(case, device)?;
    req.send(Outgoing::Typing);
    let stored = store_text(req).await?;
    let name = paste_name(&req.msg.message_id);
    diagnose::stored_bundle(
        req,
        case,
        &stored,
        &name,
        device.as_deref(),
        Received::Paste,
    )
    .await
}

async fn outside(req: &Req<'_>) -> Result<(), HandlerError> {
    req.send(Outgoing::Typing);
    let stored = store_text(req).await?;
    let name = paste_name(&req.msg.message_id);
    let progress = Progress::quiet(req.out, req.lang(), &name);
    let d = diagnose::run_engine(req.ctx, "", &stored.sha256, &progress).await?;
    let view = render::DiagnosisView::new(&d, &req.ctx.rule_set(), req.view);
    req.post(Target::Origin, render::loose_replies(&name, &view));
    req.ctx.pending_pastes.offer(
        req.msg.channel_id,
        &req.msg.author.id,
        Offer {
            sha256: stored.sha256,
            bytes: stored.bytes,
            name,
            at: Instant::now(),
        },
    );
    req.say(offer_text(req.lang()));
    Ok(())
}

fn offer_text(lang: Lang) -> &'static str {
    msg(lang, "paste.reply_open_title_open")
}

/// After `open`: the paste its author was offered to open the case with, diagnosed in the new
/// case as its first bundle (`req` is the opening message, bound to the new case).
pub(crate) async fn open_with_offer(req: &Req<'_>) -> Result<(), HandlerError> {
    let Some(offer) = req
        .ctx
        .pending_pastes
        .take(req.msg.channel_id, &req.msg.author.id)
    else {
        return Ok(());
    };
    let Some(path) = req.ctx.store.bundle_path(&offer.sha256)? else {
        return Ok(());
    };
    let case = req.case()?;
    let stored = StoredBundle {
        sha256: offer.sha256,
        bytes: offer.bytes,
        path,
        // The paste is already stored; a failure must not delete it under another reference.
        duplicate: true,
    };
    diagnose::stored_bundle(req, case, &stored, &offer.name, None, Received::Paste).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paste_names_keep_only_safe_characters() {
        assert_eq!(paste_name("1234"), "paste-1234.txt");
        assert_eq!(paste_name("console-1-2/../x"), "paste-console-1-2x.txt");
    }

    #[test]
    fn offers_are_per_channel_and_author_and_taken_once() {
        let p = PendingPastes::default();
        let offer = Offer {
            sha256: "ab".into(),
            bytes: 2,
            name: "paste-1.txt".into(),
            at: Instant::now(),
        };
        p.offer(1, "u", offer);
        assert!(p.take(2, "u").is_none());
        assert!(p.take(1, "v").is_none());
        assert_eq!(p.take(1, "u").map(|o| o.name), Some("paste-1.txt".into()));
        assert!(p.take(1, "u").is_none());
    }

    #[test]
    fn log_lines_are_a_paste_and_chat_is_not() {
        assert!(is_paste(
            "it fails:\n```\nError CBS Startup: Failed to process advanced operation queue, startupPhase: 0. A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]\n```"
        ));
        assert!(!is_paste("the update fails with 0x800f0922, any idea?"));
    }
}
