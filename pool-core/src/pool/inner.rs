//! [`Inner`], the shared part of a pool, and the operations every path uses: the locks, waking, creating and
//! admitting instances ([`Creation`]), counters, closing and resizing. Acquire, release and maintenance build on
//! these; the guard uses only what this module exports.

use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::task::Waker;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::book::{Lease, Stamp};
pub(crate) use super::book::{Slot, Tag};
use super::shards::Shards;
use super::state::{Reservation, State};
use crate::clock::Clock;
use crate::config::PoolConfig;
use crate::engine::ScriptEngine;
use crate::error::{PoolError, panic_message};
use crate::metrics::{DestroyReason, Metrics};
use crate::sync::{Arc, AtomicU64, Mutex, MutexGuard, Ordering, lock};

/// An instance lent to a caller, or why none could be.
pub(super) type Lent<E> = Result<Slot<Instance<E>>, PoolError<<E as ScriptEngine>::Error>>;

/// An engine instance with the engine (factory) that made it: its calls, checks and reset go through that
/// engine, which stays the same for its whole life even when the pool is reloaded with another. The engine is
/// shared by reference count, cloned once per instance created, so handing an instance out moves a pointer and
/// counts nothing.
#[repr(C)]
pub(crate) struct Instance<E: ScriptEngine> {
    pub(crate) engine: std::sync::Arc<E>,
    pub(crate) vm: E::Vm,
}

/// The engine new instances are made with, and its generation.
pub(super) struct Current<E> {
    pub(super) generation: u64,
    pub(super) engine: std::sync::Arc<E>,
}

/// The shared part of a pool: engine, configuration, state, idle shards and counters.
pub(crate) struct Inner<E: ScriptEngine> {
    /// Written only with the main lock held (by a reload, together with the state's generation), read by
    /// creations without it. Lock order: the main lock, then this.
    pub(super) current: Mutex<Current<E>>,
    config: PoolConfig,
    /// Immutable, so a plain `std` Arc (loom's cannot hold a trait object).
    pub(super) clock: std::sync::Arc<dyn Clock>,
    /// The clock's reading when the pool was built: the origin of [`Stamp`]s.
    base: Instant,
    /// The main lock, alone in its cache-line block.
    state: CachePadded<Mutex<State>>,
    pub(super) shards: Shards<Instance<E>>,
    script_errors: AtomicU64,
    waits: AtomicU64,
    wait_timeouts: AtomicU64,
    wait_nanos: AtomicU64,
    /// The maintenance thread, woken to refill the warm floor or to stop.
    pub(super) maintenance: std::sync::OnceLock<std::thread::Thread>,
    /// `max_uses`, or `u64::MAX` when unset: one comparison on release.
    pub(super) max_uses: u64,
    /// Whether release must read the instance's book (leak detection or `max_lifetime` is on).
    pub(super) books_on_release: bool,
}

/// Held by the `Pool` clones (and by nothing else): closes the pool when the last one goes. The maintenance
/// thread holds it weakly.
pub(crate) struct Owner<E: ScriptEngine> {
    pub(crate) inner: Arc<Inner<E>>,
}

impl<E: ScriptEngine> Drop for Owner<E> {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl<E: ScriptEngine> Inner<E> {
    /// An empty pool of `config` (validated): no instance is created yet.
    pub(super) fn new(engine: E, config: PoolConfig, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            state: CachePadded::new(Mutex::new(State::new(config.max_size))),
            shards: Shards::new(config.max_size),
            max_uses: config.max_uses.unwrap_or(u64::MAX),
            books_on_release: config.leak_threshold.is_some() || config.max_lifetime.is_some(),
            current: Mutex::new(Current {
                generation: 1,
                engine: std::sync::Arc::new(engine),
            }),
            config,
            base: clock.now(),
            clock,
            script_errors: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            wait_timeouts: AtomicU64::new(0),
            wait_nanos: AtomicU64::new(0),
            maintenance: std::sync::OnceLock::new(),
        }
    }

    /// The engine (factory) new instances are made with, and its generation.
    pub(crate) fn current(&self) -> (std::sync::Arc<E>, u64) {
        let current = lock(&self.current);
        (current.engine.clone(), current.generation)
    }

    /// The configuration the pool was built with.
    #[inline(always)]
    pub(crate) fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The main lock.
    #[inline(always)]
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.state().is_closed()
    }

    /// The id of `tag`'s instance within the pool.
    pub(crate) fn instance_id(&self, tag: Tag) -> u64 {
        self.state().book(tag).id
    }

    /// The generation of `tag`'s instance.
    pub(crate) fn instance_generation(&self, tag: Tag) -> u64 {
        self.state().book(tag).generation
    }

    /// Counts an `eval`/`call` that returned an error.
    #[inline]
    pub(crate) fn count_script_error(&self) {
        self.script_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// `t` as a [`Stamp`].
    pub(super) fn stamp(&self, t: Instant) -> Stamp {
        Stamp::since(self.base, t)
    }

    /// The warm floor: `preload_size`, but never above the current `max_size`.
    pub(super) fn floor(&self, st: &State) -> usize {
        self.config.preload_size.min(st.max_size())
    }

    // --- Waking -----------------------------------------------------------------------------------------------

    /// Sets or clears every shard's `attention` flag from the state (called with the main lock held).
    pub(super) fn refresh_attention(&self, st: &mut State) {
        if let Some(attention) = st.attention_change() {
            self.shards.set_attention(attention);
        }
    }

    /// The waiter to wake now that an instance or capacity became free.
    pub(super) fn wake_one(&self, st: &mut State) -> Option<Waker> {
        st.next_waiter(|| self.shards.has_idle())
    }

    /// Offers what just became free (an instance, or capacity) to the first waiter and updates the shards'
    /// `attention`, then releases the main lock and wakes that waiter.
    pub(super) fn hand_on(&self, mut st: MutexGuard<'_, State>) {
        let waker = self.wake_one(&mut st);
        self.refresh_attention(&mut st);
        drop(st);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the maintenance thread (to refill the warm floor, or to stop).
    pub(super) fn wake_maintenance(&self) {
        if let Some(thread) = self.maintenance.get() {
            thread.unpark();
        }
    }

    // --- Waits ------------------------------------------------------------------------------------------------

    /// Counts an acquire that started to wait.
    pub(super) fn count_wait(&self) {
        self.waits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a wait that ended without an instance.
    pub(super) fn count_wait_timeout(&self) {
        self.wait_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds the time since `start` to the time spent waiting.
    pub(super) fn record_wait(&self, start: Instant) {
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    // --- Lending and creating ---------------------------------------------------------------------------------

    /// Records a guard for leak detection.
    #[cold]
    pub(super) fn lease(&self, st: &mut State, tag: Tag, location: &'static Location<'static>) {
        st.book(tag).lease = Some(Lease {
            acquired_at: self.clock.now(),
            location,
            reported: false,
        });
    }

    /// When a new instance retires by `max_lifetime`: up to 10% earlier than the lifetime says, so that instances
    /// created together do not all expire together. Read before the main lock is taken (the clock is the
    /// caller's code).
    pub(super) fn expiry(&self) -> Stamp {
        match self.config.max_lifetime {
            Some(lifetime) => {
                self.stamp(self.clock.now() + lifetime.mul_f64(1.0 - 0.1 * fastrand::f64()))
            }
            None => Stamp::NONE,
        }
    }

    /// Creates an instance for a caller that holds `reservation`, and lends it.
    pub(super) fn create_for_use(
        &self,
        reservation: Reservation,
        location: &'static Location<'static>,
    ) -> Lent<E> {
        let mut creation = Creation::new(self, reservation);
        let instance = creation.create()?;
        let expires_at = self.expiry();
        let mut st = self.state();
        if st.is_closed() {
            creation.refuse(&mut st, DestroyReason::Closed);
            drop(st);
            drop(instance);
            return Err(PoolError::Closed);
        }
        // Made by the engine of a generation a reload has since replaced: the caller, whose acquire began before
        // the reload, still gets it (so it waits for one creation only), and it is destroyed when it comes back.
        let slot = creation.admit(&mut st, instance, 1, expires_at);
        self.refresh_attention(&mut st);
        if self.config.leak_threshold.is_some() {
            self.lease(&mut st, slot.tag, location);
        }
        drop(st);
        Ok(slot)
    }

    // --- Whole-pool operations --------------------------------------------------------------------------------

    pub(super) fn metrics(&self) -> Metrics {
        let st = self.state();
        let shards = self.shards.lock_all();
        let available: usize = shards.iter().map(|shard| shard.idle.len()).sum();
        let idle_uses: u64 = shards.iter().map(|shard| shard.total_uses).sum();
        drop(shards);
        Metrics {
            script_errors: self.script_errors.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            wait_timeouts: self.wait_timeouts.load(Ordering::Relaxed),
            wait_time: Duration::from_nanos(self.wait_nanos.load(Ordering::Relaxed)),
            ..st.metrics(available, idle_uses)
        }
    }

    /// Closes the pool: fails the waiters, drops the idle instances, stops the maintenance thread. Idempotent.
    pub(super) fn close(&self) {
        let mut st = self.state();
        if st.is_closed() {
            return;
        }
        let waiters = st.close();
        self.refresh_attention(&mut st);
        let idle = self.shards.take_all();
        for slot in &idle {
            st.destroy(slot.tag, DestroyReason::Closed);
        }
        drop(st);
        for (_, waker) in waiters {
            waker.wake();
        }
        drop(idle);
        self.wake_maintenance();
    }

    /// Sets `max_size` (at least 1): drops idle instances (oldest first) until the pool fits and wakes waiters
    /// that can now create.
    pub(super) fn resize(&self, max_size: usize) {
        let mut st = self.state();
        st.set_max_size(max_size);
        // Set before the shards are emptied, so that an instance returned meanwhile is dropped by its release.
        self.refresh_attention(&mut st);
        let mut dropped = Vec::new();
        while st.total() > max_size {
            let Some(slot) = self.shards.remove_oldest() else {
                break;
            };
            st.destroy(slot.tag, DestroyReason::Resized);
            dropped.push(slot);
        }
        let mut wakers = Vec::new();
        while let Some(w) = self.wake_one(&mut st) {
            wakers.push(w);
            if st.waiting() == 0 || wakers.len() >= max_size {
                break;
            }
        }
        self.refresh_attention(&mut st);
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
        drop(dropped);
    }
}

/// Capacity reserved for one new instance while it is being made: a [`Reservation`] with the pool it was taken
/// from. Consumed exactly once: [`admit`](Creation::admit)ted with the new instance, [`refuse`](Creation::refuse)d
/// (made, but the pool no longer wants it), failed by [`create`](Creation::create) when the engine's `create`
/// fails or panics, or cancelled when it is dropped unconsumed (anything that unwinds in between). The last two
/// offer the capacity to a waiter, so `creating` never drifts and no waiter sleeps on capacity no one uses.
///
/// Never dropped unconsumed while its thread holds the main lock: every method that takes the lock's state takes
/// the reservation out first.
#[must_use = "a creation holds capacity until it is admitted or refused"]
pub(super) struct Creation<'a, E: ScriptEngine> {
    inner: &'a Inner<E>,
    reservation: Option<Reservation>,
    /// The generation of the engine that made the instance, once made.
    generation: u64,
}

impl<'a, E: ScriptEngine> Creation<'a, E> {
    /// Takes charge of `reservation`, made with `inner`'s main lock.
    pub(super) fn new(inner: &'a Inner<E>, reservation: Reservation) -> Self {
        Self {
            inner,
            reservation: Some(reservation),
            generation: 0,
        }
    }

    fn take(&mut self) -> Reservation {
        self.reservation
            .take()
            .expect("a creation's reservation is consumed once")
    }

    /// Runs the current engine's `create`. When it fails or panics, the reservation is consumed (counted as a
    /// failed creation) and its capacity offered to a waiter.
    pub(super) fn create(&mut self) -> Result<Instance<E>, PoolError<E::Error>> {
        let (engine, generation) = self.inner.current();
        let error = match create_with(&*engine) {
            Ok(vm) => {
                self.generation = generation;
                return Ok(Instance { vm, engine });
            }
            Err(error) => error,
        };
        let reservation = self.take();
        let mut st = self.inner.state();
        st.fail(reservation);
        self.inner.hand_on(st);
        log::warn!("vmpool: {error}");
        Err(error)
    }

    /// Whether the instance made is of the pool's current generation (no reload came in between).
    pub(super) fn is_current(&self, st: &State) -> bool {
        self.generation == st.generation()
    }

    /// The new instance takes the reservation's place: it gets its book and tag (`uses`: 1 when it goes
    /// straight to a caller, 0 when it goes idle).
    pub(super) fn admit(
        mut self,
        st: &mut State,
        instance: Instance<E>,
        uses: u64,
        expires_at: Stamp,
    ) -> Slot<Instance<E>> {
        let reservation = self.take();
        Slot {
            tag: st.admit(reservation, self.generation, uses, expires_at),
            vm: instance,
        }
    }

    /// The new instance was made but does not fit (the pool was closed or shrunk meanwhile): it counts as created
    /// and destroyed for `reason`; the caller drops it after releasing the lock.
    pub(super) fn refuse(mut self, st: &mut State, reason: DestroyReason) {
        let reservation = self.take();
        st.refuse(reservation, reason);
    }
}

/// `engine.create()`, with a panic caught and reported as [`PoolError::CreatePanicked`].
pub(super) fn create_with<E: ScriptEngine>(engine: &E) -> Result<E::Vm, PoolError<E::Error>> {
    match catch_unwind(AssertUnwindSafe(|| engine.create())) {
        Ok(Ok(vm)) => Ok(vm),
        Ok(Err(e)) => Err(PoolError::Create(e)),
        Err(panic) => Err(PoolError::CreatePanicked(panic_message(panic.as_ref()))),
    }
}

impl<E: ScriptEngine> Drop for Creation<'_, E> {
    fn drop(&mut self) {
        if let Some(reservation) = self.reservation.take() {
            let mut st = self.inner.state();
            st.cancel(reservation);
            self.inner.hand_on(st);
        }
    }
}
