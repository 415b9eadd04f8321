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
            drop(state);
            // Let writers that are about to commit get in first: one more in this flush is one
            // fewer fsync. Cheap when nobody else is runnable.
            std::thread::yield_now();
            let target = self.lock().issued;
            let leader = Leader { group: self };
            let result = flush();
            drop(leader);
            state = self.lock();
            if result.is_ok() {
                state.durable = state.durable.max(target);
            }
            result?;
        }
    }

    /// Hand leadership back and wake the waiters. Done on drop so that a panicking flush does not
    /// leave every later writer waiting for a leader that is gone.
    fn release(&self) {
        self.lock().flushing = false;
        self.done.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Releases leadership when dropped (normal return or unwinding).
struct Leader<'a> {
    group: &'a GroupCommit,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.group.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn one_flush_serves_many_writers_and_none_is_skipped() {
        let group = GroupCommit::default();
        let flushes = AtomicU64::new(0);
        // A "commit" bumps `committed`; a flush makes durable what was committed when it started.
        let committed = AtomicU64::new(0);
        let durable = AtomicU64::new(0);
        let flush = || {
            let upto = committed.load(Ordering::SeqCst);
            flushes.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            durable.fetch_max(upto, Ordering::SeqCst);
            Ok(())
        };
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..10 {
                        let mine = committed.fetch_add(1, Ordering::SeqCst) + 1;
                        group.wait_durable(&flush).expect("durable");
                        assert!(durable.load(Ordering::SeqCst) >= mine, "acknowledged early");
                    }
                });
            }
        });
        let flushes = flushes.load(Ordering::SeqCst);
        assert!(
            flushes >= 10,
            "each writer's 10 sequential writes need 10 flushes"
        );
        assert!(flushes < 160, "flushes were shared: {flushes}");
    }

    #[test]
    fn a_failed_flush_is_reported_and_the_next_caller_retries() {
        let group = GroupCommit::default();
        let fail = || Err(StoreError::Io("disk full".into()));
        assert!(group.wait_durable(&fail).is_err());
        let ok = || Ok(());
        group.wait_durable(&ok).expect("a later flush succeeds");
    }

    #[test]
    fn a_panicking_flush_does_not_block_later_writers() {
        let group = GroupCommit::default();
        let boom = || -> Result<(), StoreError> { panic!("flush panicked") };
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| group.wait_durable(&boom)));
        assert!(caught.is_err());
        group.wait_durable(&|| Ok(())).expect("not stuck");
    }
}
