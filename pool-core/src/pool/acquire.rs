//! Acquire: one state machine, [`Inner::poll_take`], that takes an idle instance, reserves capacity for a new one
//! or queues the caller, and the two thin ways of driving it: [`Inner::lend`] parks the calling thread on it, and
//! [`AcquireFuture`] polls it (creating on a thread of its own, so that a slow `create` never blocks an executor).
//!
//! A wait starts when a caller that may wait (a non-zero timeout) finds every instance in use and no room to
//! create. It is counted in [`Metrics::waits`](crate::Metrics::waits) once, however often the caller is woken;
//! its time goes to [`Metrics::wait_time`](crate::Metrics::wait_time) when it ends, and a wait that ends without
//! an instance is counted in [`Metrics::wait_timeouts`](crate::Metrics::wait_timeouts). A caller with a zero
//! timeout (`try_acquire`) never waits, so it counts in none of them. Both drivers count alike because the
//! counting is here, in the state machine.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::inner::{Inner, Instance, Lent, Slot};
use super::state::{Reservation, State};
use crate::engine::ScriptEngine;
use crate::error::PoolError;
use crate::guard::{PoolRef, PooledVm};
use crate::sync::{Arc, Delay, Mutex, lock, thread};

/// A caller in the acquire state machine: what it asked for, and how far its wait has come.
pub(super) struct Waiting {
    location: &'static Location<'static>,
    timeout: Duration,
    /// Its id in the waiter queue, while queued.
    queued: Option<u64>,
    /// When it first found the pool full.
    since: Option<Instant>,
    /// Set by the async driver when its timer has fired (the state machine also reads the time itself).
    expired: bool,
}

impl Waiting {
    pub(super) fn new(location: &'static Location<'static>, timeout: Duration) -> Self {
        Self {
            location,
            timeout,
            queued: None,
            since: None,
            expired: false,
        }
    }

    /// Whether this caller may wait, and so counts as a wait when it finds the pool full.
    fn may_wait(&self) -> bool {
        !self.timeout.is_zero()
    }

    /// What is left of the timeout.
    fn remaining(&self) -> Duration {
        let waited = self.since.map_or(Duration::ZERO, |since| since.elapsed());
        self.timeout.saturating_sub(waited)
    }
}

/// What the state machine gives a caller.
pub(super) enum Taken<V> {
    /// An idle instance, its use counted and (with leak detection on) its lease recorded.
    Idle(Slot<V>),
    /// Capacity for a new instance, which the caller creates (outside the locks).
    Create(Reservation),
}

/// One step of the acquire state machine: an instance or capacity, an error, or `Pending` (queued).
type TakeStep<E> = Poll<Result<Taken<Instance<E>>, PoolError<<E as ScriptEngine>::Error>>>;

impl<E: ScriptEngine> Inner<E> {
    /// The acquire state machine, shared by the blocking and the async driver. With the main lock held: fails
    /// once the pool is closed; takes an idle instance from any shard; reserves capacity for a new one. Otherwise
    /// the pool is full: the caller gives up once its timeout has passed (at once with a zero timeout), or is
    /// queued with `waker` (or its waker refreshed) to be woken when an instance or capacity becomes free, and
    /// `Pending` comes back.
    pub(super) fn poll_take(&self, waiting: &mut Waiting, waker: &Waker) -> TakeStep<E> {
        let mut st = self.state();
        let taken = loop {
            if st.is_closed() {
                break Err(PoolError::Closed);
            }
            if let Some(slot) = self.shards.pop_any() {
                break Ok(Taken::Idle(slot));
            }
            if let Some(reservation) = st.reserve() {
                break Ok(Taken::Create(reservation));
            }
            let now = Instant::now();
            let since = match waiting.since {
                Some(since) => since,
                None => {
                    if waiting.may_wait() {
                        self.count_wait();
                    }
                    *waiting.since.insert(now)
                }
            };
            let waited = now.saturating_duration_since(since);
            if waiting.expired || waited >= waiting.timeout {
                if waiting.may_wait() {
                    self.count_wait_timeout();
                }
                break Err(PoolError::Exhausted {
                    max_size: st.max_size(),
                    waited,
                });
            }
            let (id, added) = st.register(waiting.queued, waker);
            waiting.queued = Some(id);
            if !added {
                return Poll::Pending;
            }
            // Newly queued, and so the shards' `attention` newly set: an instance returned to a shard before the
            // flag was set wakes no one, so look at the shards once more before sleeping.
            self.refresh_attention(&mut st);
        };
        if let Ok(Taken::Idle(slot)) = &taken
            && self.config().leak_threshold.is_some()
        {
            self.lease(&mut st, slot.tag, waiting.location);
        }
        let pass_on = self.leave(&mut st, waiting, taken.is_err());
        drop(st);
        if let Some(w) = pass_on {
            w.wake();
        }
        if let Some(since) = waiting.since
            && waiting.may_wait()
        {
            self.record_wait(since);
        }
        Poll::Ready(taken)
    }

    /// Takes a caller that is done out of the queue, if it is in it. One that was woken and leaves without an
    /// instance (`empty_handed`) passes the wake-up on, so that no capacity is left unused: the waiter to wake.
    fn leave(&self, st: &mut State, waiting: &mut Waiting, empty_handed: bool) -> Option<Waker> {
        let woken = waiting.queued.take().is_some_and(|id| !st.unregister(id));
        let pass_on = if woken && empty_handed {
            self.wake_one(st)
        } else {
            None
        };
        self.refresh_attention(st);
        pass_on
    }

    /// An instance for a caller, waiting up to `timeout`: its shard's, or through the state machine with the
    /// calling thread parked while it waits. Only the slot comes back, and the caller builds its guard once after
    /// both paths join, so that the fast path's guard is not first written into the slow path's result and then
    /// copied out of it.
    #[inline(always)]
    pub(super) fn lend(&self, timeout: Duration, location: &'static Location<'static>) -> Lent<E> {
        match self.take_idle(location) {
            Some(slot) => Ok(slot),
            None => self.lend_blocking(timeout, location),
        }
    }

    /// The fast path of every acquire: an idle instance of the calling thread's shard, unless the shard's
    /// `attention` is set (a closed pool sets it, so the closed check is left to the state machine).
    #[inline(always)]
    fn take_idle(&self, location: &'static Location<'static>) -> Option<Slot<Instance<E>>> {
        let slot = {
            let mut shard = self.shards.home();
            if shard.attention {
                return None;
            }
            shard.pop()?
        };
        if self.config().leak_threshold.is_some() {
            self.lease(&mut self.state(), slot.tag, location);
        }
        Some(slot)
    }

    /// The blocking driver: polls the state machine, parking the thread between polls.
    #[inline(never)]
    fn lend_blocking(&self, timeout: Duration, location: &'static Location<'static>) -> Lent<E> {
        let mut waiting = Waiting::new(location, timeout);
        let taken = thread::with_waker(|waker| {
            loop {
                match self.poll_take(&mut waiting, waker) {
                    Poll::Ready(taken) => return taken,
                    Poll::Pending => thread::park_timeout(waiting.remaining()),
                }
            }
        })?;
        match taken {
            Taken::Idle(slot) => Ok(slot),
            Taken::Create(reservation) => self.create_for_use(reservation, location),
        }
    }
}

/// The future returned by [`Pool::acquire_async`](crate::Pool::acquire_async): the async driver of the acquire
/// state machine.
#[must_use = "futures do nothing unless polled"]
pub struct AcquireFuture<E: ScriptEngine> {
    inner: Arc<Inner<E>>,
    waiting: Waiting,
    /// Fires when the timeout has passed; armed once the caller is queued.
    delay: Option<Delay>,
    /// The creation running on its own thread for this future, once one was needed.
    creation: Option<SharedHandoff<E>>,
}

impl<E: ScriptEngine> AcquireFuture<E> {
    pub(super) fn new(
        inner: Arc<Inner<E>>,
        timeout: Duration,
        location: &'static Location<'static>,
    ) -> Self {
        Self {
            inner,
            waiting: Waiting::new(location, timeout),
            delay: None,
            creation: None,
        }
    }

    fn guard(&self, slot: Slot<Instance<E>>) -> PooledVm<'static, E> {
        PooledVm::new(PoolRef::Owned(self.inner.clone()), slot)
    }
}

impl<E: ScriptEngine> std::fmt::Debug for AcquireFuture<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireFuture")
            .field("waiting", &self.waiting.queued.is_some())
            .finish_non_exhaustive()
    }
}

impl<E: ScriptEngine> Unpin for AcquireFuture<E> {}

impl<E: ScriptEngine> Future for AcquireFuture<E>
where
    E::Vm: Send,
{
    type Output = Result<PooledVm<'static, E>, PoolError<E::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(creation) = &this.creation {
            let mut h = lock(creation);
            return match h.result.take() {
                Some(result) => {
                    drop(h);
                    this.creation = None;
                    Poll::Ready(result.map(|slot| this.guard(slot)))
                }
                None => {
                    if !h.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        h.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            };
        }
        loop {
            match this.inner.poll_take(&mut this.waiting, cx.waker()) {
                Poll::Ready(Ok(Taken::Idle(slot))) => return Poll::Ready(Ok(this.guard(slot))),
                Poll::Ready(Ok(Taken::Create(reservation))) => {
                    let location = this.waiting.location;
                    return match spawn_creation(&this.inner, reservation, location, cx.waker()) {
                        Ok(creation) => {
                            this.creation = Some(creation);
                            Poll::Pending
                        }
                        Err(reservation) => Poll::Ready(
                            this.inner
                                .create_for_use(reservation, location)
                                .map(|slot| this.guard(slot)),
                        ),
                    };
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => {}
            }
            let remaining = this.waiting.remaining();
            let delay = this.delay.get_or_insert_with(|| Delay::new(remaining));
            if Pin::new(delay).poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.waiting.expired = true;
        }
    }
}

impl<E: ScriptEngine> Drop for AcquireFuture<E> {
    fn drop(&mut self) {
        if let Some(creation) = self.creation.take() {
            // The instance is returned to the pool: now if it has arrived, by the creation thread otherwise.
            let mut h = lock(&creation);
            h.abandoned = true;
            let arrived = h.result.take();
            drop(h);
            if let Some(Ok(slot)) = arrived {
                drop(self.guard(slot));
            }
        }
        if self.waiting.queued.is_some() {
            // Woken but never polled again: `leave` passes the wake-up on so that no capacity is left unused.
            let mut st = self.inner.state();
            let pass_on = self.inner.leave(&mut st, &mut self.waiting, true);
            drop(st);
            if let Some(w) = pass_on {
                w.wake();
            }
        }
    }
}

/// Where a creation thread finds its reservation and leaves its result for an [`AcquireFuture`], or learns that
/// the future is gone.
struct Handoff<E: ScriptEngine> {
    /// Taken by the creation thread when it starts (under loom there is none: the caller creates).
    #[cfg_attr(loom, allow(dead_code))]
    reservation: Option<Reservation>,
    result: Option<Lent<E>>,
    waker: Option<Waker>,
    abandoned: bool,
}

type SharedHandoff<E> = std::sync::Arc<Mutex<Handoff<E>>>;

/// Creates an instance for `reservation` on a thread of its own, so that a slow `create` (a prelude, a lockdown,
/// a carrier thread) never blocks the caller's executor. When the future is dropped before the instance arrives,
/// the instance is returned to the pool as if it had been used and released. The reservation comes back when no
/// thread could be started (or under loom): the caller then creates the instance itself.
#[cfg(not(loom))]
fn spawn_creation<E: ScriptEngine>(
    inner: &Arc<Inner<E>>,
    reservation: Reservation,
    location: &'static Location<'static>,
    waker: &Waker,
) -> Result<SharedHandoff<E>, Reservation>
where
    E::Vm: Send,
{
    let handoff = std::sync::Arc::new(Mutex::new(Handoff {
        reservation: Some(reservation),
        result: None,
        waker: Some(waker.clone()),
        abandoned: false,
    }));
    let (inner, theirs) = (inner.clone(), handoff.clone());
    let spawned = std::thread::Builder::new()
        .name("vmpool-create".into())
        .spawn(move || {
            let Some(reservation) = lock(&theirs).reservation.take() else {
                return;
            };
            let result = inner.create_for_use(reservation, location);
            let mut h = lock(&theirs);
            if h.abandoned {
                drop(h);
                if let Ok(slot) = result {
                    drop(PooledVm::new(PoolRef::Owned(inner), slot));
                }
                return;
            }
            h.result = Some(result);
            let waker = h.waker.take();
            drop(h);
            if let Some(waker) = waker {
                waker.wake();
            }
        });
    match spawned {
        Ok(_) => Ok(handoff),
        Err(error) => {
            log::warn!(
                "vmpool: could not start a creation thread, creating on the caller's: {error}"
            );
            // The closure was dropped unrun, so its reservation is still in the hand-off.
            let unused = lock(&handoff).reservation.take();
            unused.map_or(Ok(handoff), Err)
        }
    }
}

#[cfg(loom)]
fn spawn_creation<E: ScriptEngine>(
    _inner: &Arc<Inner<E>>,
    reservation: Reservation,
    _location: &'static Location<'static>,
    _waker: &Waker,
) -> Result<SharedHandoff<E>, Reservation> {
    Err(reservation)
}

#[cfg(test)]
mod tests {
    use std::task::Context;

    use super::*;
    use crate::Pool;
    use crate::testing::FakeEngine;

    fn full_pool() -> (Pool<FakeEngine>, PooledVm<'static, FakeEngine>) {
        let pool = Pool::builder(FakeEngine::new())
            .max_size(1)
            .preload_size(1)
            .maintenance_thread(false)
            .build()
            .unwrap();
        let held = pool.acquire_owned().unwrap();
        (pool, held)
    }

    /// The wait counters of a snapshot: waits, wait timeouts, wait time, callers waiting.
    fn counters(pool: &Pool<FakeEngine>) -> (u64, u64, Duration, usize) {
        let m = pool.metrics();
        (m.waits, m.wait_timeouts, m.wait_time, m.waiting)
    }

    #[test]
    fn a_caller_that_may_not_wait_counts_no_wait_through_either_driver() {
        let (pool, _held) = full_pool();
        let blocking = pool.inner().lend(Duration::ZERO, Location::caller());
        assert!(matches!(
            blocking,
            Err(PoolError::Exhausted { max_size: 1, .. })
        ));
        assert_eq!(counters(&pool), (0, 0, Duration::ZERO, 0));
        let future = AcquireFuture::new(pool.inner().clone(), Duration::ZERO, Location::caller());
        let asynchronous = futures::executor::block_on(future);
        assert!(matches!(
            asynchronous,
            Err(PoolError::Exhausted { max_size: 1, .. })
        ));
        assert_eq!(
            counters(&pool),
            (0, 0, Duration::ZERO, 0),
            "the async driver counts alike"
        );
    }

    #[test]
    fn the_state_machine_queues_a_full_pools_caller_once_and_lets_it_go_when_expired() {
        let (pool, held) = full_pool();
        let inner = pool.inner();
        let waker = futures::task::noop_waker();
        let mut waiting = Waiting::new(Location::caller(), Duration::from_secs(3600));
        assert!(inner.poll_take(&mut waiting, &waker).is_pending());
        assert!(
            inner.poll_take(&mut waiting, &waker).is_pending(),
            "polled again: still queued"
        );
        assert_eq!(inner.metrics().waiting, 1, "queued once");
        waiting.expired = true;
        let Poll::Ready(Err(PoolError::Exhausted { .. })) = inner.poll_take(&mut waiting, &waker)
        else {
            panic!("an expired caller of a full pool gives up")
        };
        assert!(waiting.queued.is_none());
        let m = inner.metrics();
        assert_eq!((m.waits, m.wait_timeouts, m.waiting), (1, 1, 0));
        drop(held);
        let mut again = Waiting::new(Location::caller(), Duration::from_secs(3600));
        let Poll::Ready(Ok(Taken::Idle(slot))) = inner.poll_take(&mut again, &waker) else {
            panic!("the returned instance is taken")
        };
        assert_eq!(slot.tag.uses, 2);
        drop(PooledVm::new(PoolRef::Borrowed(inner), slot));
        assert_eq!(
            inner.metrics().waits,
            1,
            "found an instance at once: no wait"
        );
    }

    #[test]
    fn a_woken_waiter_that_leaves_empty_handed_passes_the_wake_up_on() {
        let (pool, held) = full_pool();
        let inner = pool.inner();
        let waker = futures::task::noop_waker();
        let mut first =
            AcquireFuture::new(inner.clone(), Duration::from_secs(3600), Location::caller());
        let mut second =
            AcquireFuture::new(inner.clone(), Duration::from_secs(3600), Location::caller());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut first).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut second).poll(&mut cx).is_pending());
        drop(held); // dequeues and wakes `first`
        assert_eq!(inner.metrics().waiting, 1);
        let mut st = inner.state();
        let pass_on = inner.leave(&mut st, &mut first.waiting, true);
        drop(st);
        assert!(pass_on.is_some(), "the wake-up goes to `second`");
        assert_eq!(inner.metrics().waiting, 0);
        let Poll::Ready(Ok(vm)) = Pin::new(&mut second).poll(&mut cx) else {
            panic!("`second` gets the instance")
        };
        drop(vm);
    }
}
