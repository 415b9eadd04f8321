//! Group commit: every acknowledged write waits for a flush that started after it committed,
//! and one flush serves every writer waiting at that moment.
//!
//! A writer takes a ticket after its transaction commits. If no flush is running it becomes the
//! leader: it notes the newest ticket, flushes, and marks every ticket up to that one durable. Other
//! writers wait on a condition variable. Under load one fsync acknowledges many writes; a lone
//! writer pays one fsync per write.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::StoreError;

#[derive(Debug, Default)]
struct State {
    /// Last ticket handed out.
    issued: u64,
    /// Every ticket up to this one is on disk.
    durable: u64,
    /// A leader is flushing.
    flushing: bool,
}

/// Coordinates flushes among concurrent writers.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    /// Call after a commit; returns when that commit is durable.
    pub fn wait_durable(
        &self,
        flush: &dyn Fn() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.issued += 1;
        let ticket = state.issued;
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Become the leader: everything issued so far committed before its ticket was taken,
            // so a flush that starts now covers it.
            state.flushing = true;
            let target = state.issued;
            drop(state);
            let result = flush();
            state = self.lock();
            state.flushing = false;
            if result.is_ok() {
                state.durable = state.durable.max(target);
            }
            self.done.notify_all();
            result?;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
