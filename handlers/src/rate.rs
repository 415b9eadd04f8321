//! Purpose: rate limits and quotas — messages and uploads per user per minute (engineers get
//! their own, higher limits), attachments per message, and diagnoses in flight per guild. A
//! message over a limit gets a polite reply naming the limit, never silence. Counters live in
//! memory: a restart forgets them, which only ever lets a user through early.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Role;
use crate::render::fmt;

/// The limits, from `[rate]` in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateConfig {
    /// Messages (commands, clicks, uploads) a customer may send per minute.
    pub messages_per_minute: u32,
    /// Uploads (attachments and pasted logs) a customer may send per minute.
    pub uploads_per_minute: u32,
    /// Messages an engineer may send per minute.
    pub engineer_messages_per_minute: u32,
    /// Uploads an engineer may send per minute.
    pub engineer_uploads_per_minute: u32,
    /// Attachments diagnosed from one message; the rest are named and skipped.
    pub attachments_per_message: usize,
    /// Messages with diagnosis work (uploads, pastes, re-diagnoses) being handled at the same
    /// time for one guild; more are refused until one finishes.
    pub diagnoses_per_guild: usize,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            messages_per_minute: 20,
            uploads_per_minute: 6,
            engineer_messages_per_minute: 120,
            engineer_uploads_per_minute: 30,
            attachments_per_message: 10,
            diagnoses_per_guild: 4,
        }
    }
}

impl RateConfig {
    /// (messages, uploads) per minute for `role`.
    fn per_minute(&self, role: Role) -> (u32, u32) {
        match role {
            Role::Engineer => (
                self.engineer_messages_per_minute,
                self.engineer_uploads_per_minute,
            ),
            Role::Customer => (self.messages_per_minute, self.uploads_per_minute),
        }
    }
}

// Which limit a message hit is a user error: the type lives with the errors, below every
// feature module (docs/ARCHITECTURE.md, "Crates": no import circles).
pub use crate::error::Limited;

const WINDOW: Duration = Duration::from_secs(60);

/// Sliding one-minute windows per user, and diagnosis slots per guild.
#[derive(Debug, Default)]
pub struct RateLimiter {
    config: RateConfig,
    /// User id → times of their recent messages / uploads (within the window).
    windows: Mutex<HashMap<String, Window>>,
    /// Guild id → messages with diagnosis work in flight.
    in_flight: Arc<Mutex<HashMap<u64, usize>>>,
}

#[derive(Debug, Default)]
struct Window {
    messages: VecDeque<Instant>,
    uploads: VecDeque<Instant>,
}

/// Drop times older than the window; true if another one fits under `limit`.
fn fits(times: &mut VecDeque<Instant>, now: Instant, limit: u32, n: usize) -> bool {
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
    {
        times.pop_front();
    }
    times.len() + n <= limit as usize
}

/// Holds a guild's diagnosis slot while a message's work runs; released on drop.
#[derive(Debug)]
pub struct Slot {
    guild: u64,
    in_flight: Arc<Mutex<HashMap<u64, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.in_flight.lock()
            && let Some(n) = m.get_mut(&self.guild)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.guild);
            }
        }
    }
}

impl RateLimiter {
    /// A limiter enforcing `config`.
    pub fn new(config: RateConfig) -> RateLimiter {
        RateLimiter {
            config,
            ..RateLimiter::default()
        }
    }

    /// The limits.
    pub fn config(&self) -> &RateConfig {
        &self.config
    }

    /// Count a message with `uploads` uploads from `user`, unless it is over a limit: then
    /// nothing is counted and the limit is returned.
    pub fn admit(&self, user: &str, role: Role, uploads: usize) -> Result<(), Limited> {
        self.admit_at(user, role, uploads, Instant::now())
    }

    /// [`RateLimiter::admit`] at a given time (tests move the clock).
    pub fn admit_at(
        &self,
        user: &str,
        role: Role,
        uploads: usize,
        now: Instant,
    ) -> Result<(), Limited> {
        let (messages, upload_limit) = self.config.per_minute(role);
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        // Forget users who were quiet for a minute, so the map stays small.
        if windows.len() > 10_000 {
            windows.retain(|_, w| {
                w.messages
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < WINDOW)
            });
        }
        let w = windows.entry(user.to_string()).or_default();
        if !fits(&mut w.messages, now, messages, 1) {
            return Err(Limited::Messages(messages));
        }
        if uploads > 0 && !fits(&mut w.uploads, now, upload_limit, uploads) {
            return Err(Limited::Uploads(upload_limit));
        }
        w.messages.push_back(now);
        w.uploads.extend(std::iter::repeat_n(now, uploads));
        Ok(())
    }

    /// Take one of `guild`'s diagnosis slots, or say that all are in use.
    pub fn diagnosis_slot(&self, guild: u64) -> Result<Slot, Limited> {
        let limit = self.config.diagnoses_per_guild;
        let Ok(mut m) = self.in_flight.lock() else {
            return Err(Limited::Diagnoses(limit));
        };
        let n = m.entry(guild).or_insert(0);
        if *n >= limit {
            return Err(Limited::Diagnoses(limit));
        }
        *n += 1;
        Ok(Slot {
            guild,
            in_flight: Arc::clone(&self.in_flight),
        })
    }
}

/// Keep the first `max` attachments of `msg`; returns the names of those dropped.
pub(crate) fn keep_attachments(msg: &mut crate::Incoming, max: usize) -> Vec<String> {
    if msg.attachments.len() <= max {
        return Vec::new();
    }
    msg.attachments
        .split_off(max)
        .into_iter()
        .map(|a| a.name)
        .collect()
}

/// The reply naming the attachments [`keep_attachments`] dropped.
pub(crate) fn skipped_text(req: &crate::request::Req<'_>, skipped: &[String]) -> String {
    let kept = req.msg.attachments.len();
    let names = skipped
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    fmt(
        req.lang(),
        "limit.attachments",
        &[
            ("count", &(kept + skipped.len())),
            ("n", &kept),
            ("names", &names),
        ],
    )
}

/// Count the message against its author's limits and, when it brings diagnosis work, take a
/// slot of its guild (held until the message is handled).
pub(crate) fn admit(
    req: &crate::request::Req<'_>,
    cmd: &crate::command::Command,
) -> Result<Option<Slot>, Limited> {
    use crate::command::Command;
    let msg = req.msg;
    let files = msg.attachments.len();
    let paste = files == 0 && crate::paste::is_paste(&msg.text);
    let uploads = files + usize::from(paste);
    req.ctx
        .rate
        .admit(&msg.author.id, msg.author.role, uploads)?;
    let rerun = matches!(cmd, Command::Diagnose { .. } | Command::Rediagnose { .. });
    if uploads > 0 || rerun {
        return req
            .ctx
            .rate
            .diagnosis_slot(msg.guild_id.unwrap_or(0))
            .map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(RateConfig {
            messages_per_minute: 3,
            uploads_per_minute: 2,
            engineer_messages_per_minute: 5,
            engineer_uploads_per_minute: 4,
            attachments_per_message: 10,
            diagnoses_per_guild: 2,
        })
    }

    #[test]
    fn messages_are_limited_per_user_per_minute_and_the_window_slides() {
        let l = limiter();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.admit_at("ann", Role::Customer, 0, t0), Ok(()));
        }
        assert_eq!(
            l.admit_at("ann", Role::Customer, 0, t0),
            Err(Limited::Messages(3))
        );
        // Another user has a window of their own.
        assert_eq!(l.admit_at("bob", Role::Customer, 0, t0), Ok(()));
        // A refused message is not counted: a minute after the first three, ann may speak.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(l.admit_at("ann", Role::Customer, 0, later), Ok(()));
    }

    #[test]
    fn uploads_count_each_file_and_engineers_have_their_own_limits() {
        let l = limiter();
        let t0 = Instant::now();
        assert_eq!(
            l.admit_at("ann", Role::Customer, 3, t0),
            Err(Limited::Uploads(2))
        );
        assert_eq!(l.admit_at("ann", Role::Customer, 2, t0), Ok(()));
        assert_eq!(
            l.admit_at("ann", Role::Customer, 1, t0),
            Err(Limited::Uploads(2))
        );
        assert_eq!(l.admit_at("eve", Role::Engineer, 4, t0), Ok(()));
        for _ in 0..4 {
            assert_eq!(l.admit_at("eve", Role::Engineer, 0, t0), Ok(()));
        }
        assert_eq!(
            l.admit_at("eve", Role::Engineer, 0, t0),
            Err(Limited::Messages(5))
        );
    }

    #[test]
    fn diagnosis_slots_are_per_guild_and_freed_on_drop() {
        let l = limiter();
        let a = l.diagnosis_slot(1).expect("first");
        let _b = l.diagnosis_slot(1).expect("second");
        assert_eq!(l.diagnosis_slot(1).err(), Some(Limited::Diagnoses(2)));
        let _other = l.diagnosis_slot(2).expect("another guild");
        drop(a);
        assert!(l.diagnosis_slot(1).is_ok());
    }
}
