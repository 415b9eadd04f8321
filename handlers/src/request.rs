//! Purpose: the request context every feature module works with — one message being handled
//! ([`Req`]) and the case load / read-modify-write helpers. It sits below the feature modules
//! and imports none of them.

use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use diagnosis::Lang;
use store::{Applied, Case, CaseId, StoreError};

use crate::error::{HandlerError, UserError};
use crate::lifecycle::Stamp;
use crate::render::{self, View};
use crate::{Context, Incoming, Outbox, Outgoing, Reply, Role, Target};

/// One message being handled: everything a feature module needs.
pub(crate) struct Req<'a> {
    pub ctx: &'a Context,
    pub msg: &'a Incoming,
    /// The case this message belongs to, if any.
    pub case_id: Option<CaseId>,
    /// That case as it was when the message arrived: loaded once per message.
    pub case: Option<Case>,
    /// Language and audience of the replies.
    pub view: View,
    pub out: &'a Outbox,
    /// Journal entries of the diagnoses this message finished and replied to, removed once the
    /// message's work is over and its guild's diagnosis slot is free again.
    pub done: &'a JobsDone,
}

/// Journal ids of finished diagnoses (see [`Req::done`]).
#[derive(Debug, Default)]
pub(crate) struct JobsDone(Mutex<Vec<String>>);

impl JobsDone {
    /// The diagnosis journalled as `id` has replied: remove its entry when the message is done.
    pub fn push(&self, id: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id.to_string());
    }

    /// The ids pushed so far, emptied.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Req<'_> {
    /// Push an outgoing item; a closed outbox means the adapter is gone, which is not an error here.
    pub fn send(&self, o: Outgoing) {
        let _ = self.out.send(o);
    }

    /// Post replies to `target`.
    pub fn post(&self, target: Target, replies: Vec<Reply>) {
        for reply in replies {
            self.send(Outgoing::Reply {
                target: target.clone(),
                reply,
            });
        }
    }

    /// Post `text` (split if long) to where the message came from.
    pub fn say(&self, text: &str) {
        self.post(Target::Origin, render::replies(text, None));
    }

    /// Like [`Req::say`], for the asker only where the adapter can do that (a refusal, an
    /// error): the others in the thread need not see it.
    pub fn say_private(&self, text: &str) {
        let replies = render::replies(text, None)
            .into_iter()
            .map(|r| Reply { private: true, ..r })
            .collect();
        self.post(Target::Origin, replies);
    }

    /// Timeline stamp for this message's author.
    pub fn stamp(&self) -> Stamp<'_> {
        Stamp {
            author: &self.msg.author.name,
            now: now(),
        }
    }

    /// Whether the sender may see `case` listed or switch to it (docs/ARCHITECTURE.md,
    /// "Cases"): never a case of another Discord server; a customer only the cases they opened
    /// and the case of the thread they write in (which Discord already shows them).
    pub fn may_see(&self, case: &Case) -> bool {
        let opened = match &case.opener_id {
            Some(id) => *id == self.msg.author.id,
            None => case.opener == self.msg.author.name,
        };
        self.same_server(case)
            && (self.engineer() || opened || case.thread_id == Some(self.msg.channel_id))
    }

    /// Whether the sender may act on `case` when a button names it: a case of this Discord
    /// server, in the channel or thread the click came from (for customers). In the console,
    /// whose current case the operator chose, always.
    pub fn may_act(&self, case: &Case) -> bool {
        let here = case.thread_id == Some(self.msg.channel_id)
            || case.channel_id == Some(self.msg.channel_id);
        self.msg.guild_id.is_none() || (self.same_server(case) && (self.engineer() || here))
    }

    /// `case` belongs to the server the message came from. Outside a server (the console) any
    /// case does. A case stored before servers were kept belongs where it was opened.
    fn same_server(&self, case: &Case) -> bool {
        let msg = self.msg;
        match (msg.guild_id, case.guild_id) {
            (None, _) => true,
            (Some(asked), Some(opened)) => asked == opened,
            (Some(_), None) => {
                case.thread_id == Some(msg.channel_id) || case.channel_id == Some(msg.channel_id)
            }
        }
    }

    /// The case, or the "no case here" error.
    pub fn case_id(&self) -> Result<CaseId, UserError> {
        self.case_id.clone().ok_or(UserError::NoCase)
    }

    /// The current case, as loaded when the message arrived.
    pub fn case(&self) -> Result<&Case, UserError> {
        let id = self.case_id()?;
        self.case
            .as_ref()
            .ok_or_else(|| UserError::NoSuchCase(id.to_string()))
    }

    pub fn lang(&self) -> Lang {
        self.view.lang
    }

    pub fn engineer(&self) -> bool {
        self.view.role == Role::Engineer
    }

    /// The idempotency key of this message's change `what` (docs/ARCHITECTURE.md,
    /// "Idempotency").
    pub fn key(&self, what: &str) -> String {
        effect_key(&self.msg.message_id, what)
    }

    /// [`change`] of case `id` for this message, keyed `what`.
    pub fn change<T>(
        &self,
        id: &CaseId,
        what: &str,
        f: impl FnMut(&mut Case) -> Result<T, UserError>,
    ) -> Result<Change<T>, HandlerError> {
        change(self.ctx, (id, self.case.as_ref()), &self.key(what), f)
    }
}

/// The idempotency key of change `what` made for message `message_id`. The bare message id
/// means "handled and answered" ([`crate::delivered`]), so a change's key always has a suffix.
pub(crate) fn effect_key(message_id: &str, what: &str) -> String {
    format!("{message_id}#{what}")
}

/// What a change made for a message did.
pub(crate) enum Change<T> {
    /// Committed now, with the transition's result.
    Done(Case, T),
    /// Committed by an earlier delivery of the same message that stopped before it replied:
    /// the case as it is now. The transition is not run again.
    Earlier(Case),
}

impl<T> Change<T> {
    /// The case after the change.
    pub fn case(&self) -> &Case {
        match self {
            Change::Done(c, _) | Change::Earlier(c) => c,
        }
    }
}

/// Load a case or fail with a user error naming the id.
pub(crate) fn load(ctx: &Context, id: &CaseId) -> Result<Case, HandlerError> {
    ctx.store
        .get(id)?
        .ok_or_else(|| UserError::NoSuchCase(id.to_string()).into())
}

/// Read-modify-write one case with a transition that either succeeds or leaves it untouched,
/// for work no message asked for (a thread binding, a re-diagnosis after a rules change).
pub(crate) fn update<T>(
    ctx: &Context,
    id: &CaseId,
    f: impl FnMut(&mut Case) -> Result<T, UserError>,
) -> Result<(Case, T), HandlerError> {
    match apply(ctx, id, None, f)? {
        Change::Done(case, v) => Ok((case, v)),
        Change::Earlier(_) => Err(HandlerError::Internal("unexpected duplicate".into())),
    }
}

/// Like [`update`], for a change a message asked for: the change commits in the same store
/// transaction as its idempotency `key` ([`Req::key`]), so a message redelivered after a crash
/// is not applied twice; it gets [`Change::Earlier`] and answers from the case as it is.
///
/// The store records a key with every update it is given, so a transition is first tried on a
/// copy of `seen` (the case as the message found it; loaded when `None`): a refusal (a user
/// error) records nothing and is answered again on a redelivery.
pub(crate) fn change<T>(
    ctx: &Context,
    (id, seen): (&CaseId, Option<&Case>),
    key: &str,
    mut f: impl FnMut(&mut Case) -> Result<T, UserError>,
) -> Result<Change<T>, HandlerError> {
    if ctx.store.is_processed(key)? {
        return Ok(Change::Earlier(load(ctx, id)?));
    }
    match seen.filter(|c| &c.id == id) {
        Some(case) => f(&mut case.clone())?,
        None => f(&mut load(ctx, id)?)?,
    };
    let change = apply(ctx, id, Some(key), f)?;
    if let Change::Done(..) = change {
        crate::fault::point(crate::fault::AFTER_COMMIT);
    }
    Ok(change)
}

fn apply<T>(
    ctx: &Context,
    id: &CaseId,
    key: Option<&str>,
    mut f: impl FnMut(&mut Case) -> Result<T, UserError>,
) -> Result<Change<T>, HandlerError> {
    let mut result = None;
    let applied = ctx.store.update(id, key, &mut |c| {
        // A refused transition leaves the case as it was.
        let before = c.clone();
        let r = f(c);
        if r.is_err() {
            *c = before;
        }
        result = Some(r);
    });
    let case = match applied {
        Ok(Applied::Done(case)) => case,
        Ok(Applied::Duplicate) => return Ok(Change::Earlier(load(ctx, id)?)),
        Err(StoreError::NotFound(_)) => return Err(UserError::NoSuchCase(id.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    match result {
        Some(Ok(v)) => Ok(Change::Done(case, v)),
        Some(Err(e)) => Err(e.into()),
        None => Err(HandlerError::Internal("case update did not run".into())),
    }
}
