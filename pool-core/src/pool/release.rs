//! Release: an instance comes back from its guard (checked and reset by then) and goes to the calling thread's
//! shard, to a waiter, or is destroyed when it must be retired or no longer fits.

use super::inner::{Inner, Instance, Slot, Tag};
use super::state::State;
use crate::engine::ScriptEngine;
use crate::metrics::DestroyReason;
use crate::sync::MutexGuard;

impl<E: ScriptEngine> Inner<E> {
    /// Takes back an instance from a guard; `reason` says why it must be destroyed, if it must.
    #[inline(always)]
    pub(crate) fn release(&self, vm: Instance<E>, tag: Tag, reason: Option<DestroyReason>) {
        // The common case, decided before any lock: nothing to retire, no book to settle. The instance goes to
        // the calling thread's shard unless the shard asks for the main lock's attention.
        if reason.is_none() && tag.uses < self.max_uses && !self.books_on_release {
            let mut shard = self.shards.home();
            if !shard.attention {
                shard.idle.push(Slot { vm, tag });
                return;
            }
            drop(shard);
            self.put_back(self.state(), vm, tag, None);
        } else {
            self.release_with_checks(vm, tag, reason);
        }
    }

    /// [`release`](Inner::release) of an instance that may have to be retired (`reason`, `max_uses`) or whose
    /// book must be settled (leak detection, `max_lifetime`).
    #[cold]
    #[inline(never)]
    fn release_with_checks(&self, vm: Instance<E>, tag: Tag, mut reason: Option<DestroyReason>) {
        if tag.uses >= self.max_uses {
            reason.get_or_insert(DestroyReason::MaxUses);
        }
        let mut st = self.state();
        if self.books_on_release {
            self.settle_book(&mut st, tag, &mut reason);
        }
        self.put_back(st, vm, tag, reason);
    }

    /// Ends the lease (leak detection) and retires an instance past `max_lifetime`.
    #[cold]
    fn settle_book(&self, st: &mut State, tag: Tag, reason: &mut Option<DestroyReason>) {
        let now = self
            .config()
            .max_lifetime
            .map(|_| self.stamp(self.clock.now()));
        let book = st.book(tag);
        book.lease = None;
        if let Some(now) = now
            && book.expires_at.reached_by(now)
        {
            reason.get_or_insert(DestroyReason::Lifetime);
        }
    }

    /// Returns an instance to the calling thread's shard and wakes a waiter, or destroys it when `reason` says so,
    /// the pool is closed, it was shrunk below what it holds, or the instance is of a generation a reload replaced
    /// (the main lock is released here).
    fn put_back(
        &self,
        st: MutexGuard<'_, State>,
        vm: Instance<E>,
        tag: Tag,
        reason: Option<DestroyReason>,
    ) {
        // `total()` still counts this instance.
        if reason.is_none() && st.fits() && st.is_current(tag) {
            self.shards.home().idle.push(Slot { vm, tag });
            self.hand_on(st);
            return;
        }
        self.destroy_returned(st, vm, tag, reason);
    }

    /// The instance is destroyed; its capacity may wake a waiter or need a refill (the main lock is released
    /// here).
    #[cold]
    fn destroy_returned(
        &self,
        mut st: MutexGuard<'_, State>,
        vm: Instance<E>,
        tag: Tag,
        reason: Option<DestroyReason>,
    ) {
        let reason = reason.unwrap_or(if st.is_closed() {
            DestroyReason::Closed
        } else if !st.is_current(tag) {
            DestroyReason::Reloaded
        } else {
            DestroyReason::Resized
        });
        st.destroy(tag, reason);
        let waker = self.wake_one(&mut st);
        self.refresh_attention(&mut st);
        let refill = !st.is_closed() && st.total() < self.floor(&st);
        drop(st);
        if let Some(waker) = waker {
            waker.wake();
        }
        drop(vm);
        if refill {
            self.wake_maintenance();
        }
    }
}
