//! Reload: a new engine (a new prelude, new limits, new host functions) replaces the pool's, as a new generation.
//!
//! The new engine first makes one instance, which the caller may check (and which is then reset); if it cannot,
//! or the check fails, nothing changes. Otherwise, under the main lock, the generation is bumped, the idle
//! instances of older generations are destroyed and the test instance becomes the first idle instance of the new
//! one. Instances of older generations still in use set every shard's `attention`
//! (see [`State::stale`](super::state::State::stale)), so they come back through the main lock, which destroys them
//! (`reloaded`); the warm floor is refilled by the maintenance thread, outside the locks.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::book::Slot;
use super::inner::{Current, Inner, Instance, create_with};
use crate::engine::ScriptEngine;
use crate::error::{PoolError, ReloadError, panic_message};
use crate::metrics::DestroyReason;
use crate::sync::lock;

impl<E: ScriptEngine> Inner<E> {
    /// Replaces the engine with `engine` once its test instance passed `check`, if there is one (and then a
    /// reset); returns the new generation.
    pub(super) fn reload<F>(
        &self,
        engine: E,
        check: Option<F>,
    ) -> Result<u64, ReloadError<E::Error>>
    where
        F: FnOnce(&E, &mut E::Vm) -> Result<(), E::Error>,
    {
        if self.is_closed() {
            return Err(ReloadError::Closed);
        }
        let engine = std::sync::Arc::new(engine);
        let mut test = match create_with(&*engine) {
            Ok(vm) => Instance {
                vm,
                engine: engine.clone(),
            },
            Err(PoolError::Create(error)) => return Err(ReloadError::Create(error)),
            Err(PoolError::CreatePanicked(message)) => {
                return Err(ReloadError::CreatePanicked(message));
            }
            Err(_) => unreachable!("create_with fails only with Create or CreatePanicked"),
        };
        if let Some(check) = check {
            let checked = catch_unwind(AssertUnwindSafe(|| {
                check(&engine, &mut test.vm).and_then(|()| engine.reset(&mut test.vm))
            }));
            match checked {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(ReloadError::Rejected(error)),
                Err(panic) => {
                    return Err(ReloadError::CreatePanicked(panic_message(panic.as_ref())));
                }
            }
        }
        let expires_at = self.expiry();
        let mut st = self.state();
        if st.is_closed() {
            drop(st);
            drop(test);
            return Err(ReloadError::Closed);
        }
        let generation = st.reload();
        *lock(&self.current) = Current { generation, engine };
        // Every live instance is stale now: `attention` is set in every shard before they are emptied, so that an
        // instance returned meanwhile comes to the main lock (and is destroyed) instead of going idle.
        self.refresh_attention(&mut st);
        let old = self.shards.take_all();
        for slot in &old {
            st.destroy(slot.tag, DestroyReason::Reloaded);
        }
        let unkept = match st.reserve() {
            Some(reservation) => {
                let tag = st.admit(reservation, generation, 0, expires_at);
                self.shards.home().idle.push(Slot { vm: test, tag });
                None
            }
            None => {
                // Every place is taken by instances in use: the test instance is not kept.
                st.discard_unadmitted(DestroyReason::Reloaded);
                Some(test)
            }
        };
        // The destroyed idle instances freed capacity: wake as many waiters as can now take or create one.
        let mut wakers = Vec::new();
        while let Some(waker) = self.wake_one(&mut st) {
            wakers.push(waker);
            if st.waiting() == 0 || wakers.len() > old.len() {
                break;
            }
        }
        self.refresh_attention(&mut st);
        let refill = st.total() - st.stale() < self.floor(&st);
        drop(st);
        wakers.into_iter().for_each(std::task::Waker::wake);
        drop(old);
        drop(unkept);
        if refill {
            self.wake_maintenance();
        }
        log::info!("vmpool: reloaded; generation {generation} serves from now on");
        Ok(generation)
    }
}
