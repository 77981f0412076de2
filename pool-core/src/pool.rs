//! The [`Pool`]: a bounded set of warm instances of one [`ScriptEngine`], handed out one request at a time.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, PoolConfig};
use crate::engine::ScriptEngine;
use crate::error::{PoolError, panic_message};
use crate::guard::{PoolRef, PooledVm};
use crate::metrics::{DestroyReason, Destroyed, Metrics};
use crate::sync::{Arc, AtomicU64, Mutex, MutexGuard, Ordering, lock, thread, thread_index};

/// A failure to build a pool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError<E> {
    /// The configuration is not valid; the message names the key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An instance of the warm floor (`preload_size`) could not be created.
    #[error("VM pool could not preload its VMs: {0}")]
    Preload(#[source] PoolError<E>),
}

/// An instant of the pool's clock as nanoseconds since the pool was built, or none: half the size of an
/// `Option<Instant>`, because this bookkeeping travels with every acquire and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    pub(crate) const NONE: Stamp = Stamp(u64::MAX);

    pub(crate) fn is_none(self) -> bool {
        self == Self::NONE
    }

    /// Whether this deadline is set and `now` has reached it.
    pub(crate) fn reached_by(self, now: Stamp) -> bool {
        !self.is_none() && now.0 >= self.0
    }

    /// Time from this stamp to `now` (zero if `now` is earlier).
    pub(crate) fn elapsed_at(self, now: Stamp) -> Duration {
        Duration::from_nanos(now.0.saturating_sub(self.0))
    }
}

/// What travels with an instance between the idle list and its guard: how often it was handed out, where its
/// [`Book`] is, and (while out) whether it must be destroyed on return. Everything else about the instance stays
/// in the pool's state, so acquire and release move little.
///
/// Two 8-byte words, the second non-zero: `Option<Slot>` keeps its discriminant there, so a guard is the slot and
/// a pool reference with no flag byte, and copying one moves whole words (a byte written and then read as part
/// of a word stalls the CPU's store forwarding, which cost a third of an acquire + release when the taint was a
/// separate byte).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag {
    /// Times handed out, this time included.
    pub(crate) uses: u64,
    /// Low 32 bits: the index of the instance's [`Book`] in [`State::books`] plus one. High 32 bits: 0, or the
    /// index of the [`DestroyReason`] it is tainted with plus one.
    bits: std::num::NonZeroU64,
}

impl Tag {
    pub(crate) fn new(uses: u64, book: u32) -> Self {
        Self {
            uses,
            bits: std::num::NonZeroU64::MIN.saturating_add(u64::from(book)),
        }
    }

    /// Index of the instance's [`Book`] in [`State::books`].
    pub(crate) fn book(self) -> usize {
        (self.bits.get() & u64::from(u32::MAX)) as usize - 1
    }

    /// Why the instance must be destroyed on return, if it must (always `None` in the idle list).
    pub(crate) fn taint(self) -> Option<DestroyReason> {
        let code = (self.bits.get() >> 32) as usize;
        code.checked_sub(1).map(|i| DestroyReason::ALL[i])
    }

    pub(crate) fn set_taint(&mut self, reason: DestroyReason) {
        let book = self.bits.get() & u64::from(u32::MAX);
        self.bits = std::num::NonZeroU64::MIN
            .saturating_add(book - 1 + ((reason.index() as u64 + 1) << 32));
    }
}

/// The bookkeeping of one live instance that acquire and release do not touch (unless leak detection or
/// `max_lifetime` is on).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Book {
    pub(crate) id: u64,
    /// The guard's leak-detection record, when leak detection is on and the instance is out.
    pub(crate) lease: Option<Lease>,
    /// Idle since at least this instant, if `idle_uses` still equals the instance's use count: a maintenance pass
    /// that sees an instance idle with a use count other than `idle_uses` stamps it, so that neither acquire nor
    /// release reads the clock or writes here.
    pub(crate) idle_since: Stamp,
    pub(crate) idle_uses: u64,
    /// When `max_lifetime` (with jitter) retires it.
    pub(crate) expires_at: Stamp,
}

/// An instance with its tag: idle in the pool, or on its way to or from a guard.
pub(crate) struct Slot<V> {
    pub(crate) vm: V,
    pub(crate) tag: Tag,
}

/// A guard out in the world, tracked only when leak detection is on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    pub(crate) acquired_at: Instant,
    pub(crate) location: &'static Location<'static>,
    pub(crate) reported: bool,
}

/// Everything the pool's main lock protects: capacity, waiters, books and lifecycle counters. The idle instances
/// are in the [`Shard`]s; a snapshot that locks this state and then every shard is consistent.
pub(crate) struct State {
    /// Uses by callers that got a new instance (uses of idle instances are counted by their shard).
    pub(crate) total_uses: u64,
    /// Instances alive: in use or idle (one per open book). Acquire and release leave it alone; the number in
    /// use is `live` minus the idle instances of all shards.
    pub(crate) live: usize,
    pub(crate) creating: usize,
    pub(crate) max_size: usize,
    pub(crate) closed: bool,
    /// The value of every shard's `attention` flag.
    attention: bool,
    /// Callers waiting for an instance, first come first served.
    waiters: VecDeque<(u64, Waker)>,
    next_waiter: u64,
    next_id: u64,
    pub(crate) created: u64,
    pub(crate) destroyed: Destroyed,
    pub(crate) create_errors: u64,
    /// Bookkeeping of the live instances, by [`Tag::book`]; `free_books` lists the unused entries.
    pub(crate) books: Vec<Book>,
    free_books: Vec<u32>,
    pub(crate) leaks_suspected: u64,
}

/// One shard's idle instances, in the order they were returned: index 0 is the longest idle, the last the most
/// recently returned (handed out first). The two most recent are kept in the shard itself (`hot`, next to its
/// lock) rather than in the list's buffer, so that acquires and releases that find them touch one cache line.
///
/// Order: `rest`, then `hot[0]`, then `hot[1]`; `hot[1]` is set only when `hot[0]` is.
#[repr(C)]
pub(crate) struct IdleList<V> {
    hot: [Option<Slot<V>>; 2],
    rest: Vec<Slot<V>>,
}

impl<V> Default for IdleList<V> {
    fn default() -> Self {
        Self {
            hot: [None, None],
            rest: Vec::new(),
        }
    }
}

impl<V> IdleList<V> {
    fn hot_len(&self) -> usize {
        usize::from(self.hot[0].is_some()) + usize::from(self.hot[1].is_some())
    }

    pub(crate) fn len(&self) -> usize {
        self.rest.len() + self.hot_len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hot[0].is_none() && self.rest.is_empty()
    }

    /// Adds the most recently returned instance.
    #[inline(always)]
    pub(crate) fn push(&mut self, slot: Slot<V>) {
        if self.hot[0].is_none() {
            self.hot[0] = Some(slot);
        } else if self.hot[1].is_none() {
            self.hot[1] = Some(slot);
        } else {
            self.spill(slot);
        }
    }

    /// `push` with both hot places taken: the older of them moves to `rest`.
    #[cold]
    fn spill(&mut self, slot: Slot<V>) {
        let [older, newer] = std::mem::take(&mut self.hot);
        self.rest.extend(older);
        self.hot = [newer, Some(slot)];
    }

    /// Takes the most recently returned instance.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Slot<V>> {
        if let Some(slot) = self.hot[1].take() {
            return Some(slot);
        }
        match self.hot[0].take() {
            Some(slot) => Some(slot),
            None => self.rest.pop(),
        }
    }

    /// The instance at `index` (0: the longest idle).
    pub(crate) fn get(&self, index: usize) -> Option<&Slot<V>> {
        match self.rest.get(index) {
            Some(slot) => Some(slot),
            None => self.hot.get(index - self.rest.len())?.as_ref(),
        }
    }

    /// Removes the instance at `index` (0: the longest idle).
    pub(crate) fn remove(&mut self, index: usize) -> Option<Slot<V>> {
        if index < self.rest.len() {
            return Some(self.rest.remove(index));
        }
        match index - self.rest.len() {
            0 => {
                let slot = self.hot[0].take();
                // Keep `hot[1]` set only when `hot[0]` is.
                self.hot[0] = self.hot[1].take();
                slot
            }
            1 => self.hot[1].take(),
            _ => None,
        }
    }

    /// Takes every idle instance, longest idle first.
    pub(crate) fn take_all(&mut self) -> Vec<Slot<V>> {
        let mut all = std::mem::take(&mut self.rest);
        let [older, newer] = std::mem::take(&mut self.hot);
        all.extend(older);
        all.extend(newer);
        all
    }
}

/// One of the pool's idle lists, each behind a lock of its own. A thread returns instances to its own shard (see
/// [`Inner::home`]) and takes from it first, so threads that each hold one instance at a time take and return
/// without meeting on a lock. The pool's main lock is taken when the shard is empty or has `attention` set.
///
/// `repr(C)`: the lock, the use counter, the flag and the two hot places come first in the shard's 128-byte block.
#[repr(C)]
pub(crate) struct Shard<V> {
    /// Uses of the instances handed out from this shard.
    pub(crate) total_uses: u64,
    /// Set in every shard (with the main lock held) while acquires and releases must go through the main lock:
    /// callers are waiting, the pool is closed, or it holds more than `max_size` after a shrink. A release then
    /// hands its instance to the main lock's side instead of this shard, so a waiter that set the flag and then
    /// looked at every shard cannot miss an instance, and none becomes idle in a closed or oversized pool.
    attention: bool,
    pub(crate) idle: IdleList<V>,
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Self {
            total_uses: 0,
            attention: false,
            idle: IdleList::default(),
        }
    }
}

impl<V> Shard<V> {
    /// Hands out the most recently returned instance of this shard, counting the use.
    #[inline(always)]
    fn pop(&mut self) -> Option<Slot<V>> {
        let mut slot = self.idle.pop()?;
        self.total_uses += 1;
        slot.tag.uses += 1;
        Some(slot)
    }
}

/// A shard behind its lock, alone in its 128-byte block.
pub(crate) type ShardLock<V> = Aligned<Mutex<Shard<V>>>;

/// The number of idle shards for a pool of `max_size`: one per available core, no more than `max_size` (instances
/// spread over more shards than there are of them would mostly be looked for elsewhere) nor 16, and a power of
/// two. Under loom two, so that the models cover taking from another thread's shard.
fn shard_count(max_size: usize) -> usize {
    if cfg!(loom) {
        return 2;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.min(max_size).clamp(1, 16).next_power_of_two()
}

/// What a caller may do next.
enum Take<V> {
    Idle(Slot<V>),
    /// A creation slot was reserved for the caller.
    Create,
    Full,
    Closed,
}

impl State {
    fn new(max_size: usize) -> Self {
        Self {
            live: 0,
            creating: 0,
            max_size,
            closed: false,
            attention: false,
            waiters: VecDeque::new(),
            next_waiter: 0,
            next_id: 0,
            created: 0,
            destroyed: Destroyed::default(),
            total_uses: 0,
            create_errors: 0,
            books: Vec::new(),
            free_books: Vec::new(),
            leaks_suspected: 0,
        }
    }

    /// Instances alive or on their way: in use, idle and being created.
    pub(crate) fn total(&self) -> usize {
        self.live + self.creating
    }

    /// Registers (or refreshes) a waiter; returns its id and whether it was added to the queue (rather than still
    /// queued).
    fn register(&mut self, id: Option<u64>, waker: &Waker) -> (u64, bool) {
        if let Some(id) = id
            && let Some(entry) = self.waiters.iter_mut().find(|(w, _)| *w == id)
        {
            if !entry.1.will_wake(waker) {
                entry.1 = waker.clone();
            }
            return (id, false);
        }
        self.next_waiter += 1;
        let id = self.next_waiter;
        self.waiters.push_back((id, waker.clone()));
        (id, true)
    }

    /// Removes a waiter that leaves; returns whether it was still queued (not yet woken).
    fn unregister(&mut self, id: u64) -> bool {
        match self.waiters.iter().position(|(w, _)| *w == id) {
            Some(i) => {
                self.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    /// The book of `tag`'s instance.
    pub(crate) fn book(&mut self, tag: Tag) -> &mut Book {
        &mut self.books[tag.book()]
    }

    /// Opens a book for a new instance, which counts as live from now on.
    fn open_book(&mut self, expires_at: Stamp) -> u32 {
        self.live += 1;
        self.next_id += 1;
        let book = Book {
            id: self.next_id,
            lease: None,
            idle_since: Stamp::NONE,
            idle_uses: 0,
            expires_at,
        };
        match self.free_books.pop() {
            Some(i) => {
                self.books[i as usize] = book;
                i
            }
            None => {
                self.books.push(book);
                // At most max_size books are open at once, and max_size is a usize the pool really allocates.
                u32::try_from(self.books.len() - 1)
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .expect("fewer than 2^32 - 1 live instances")
            }
        }
    }

    /// Closes the book of an instance that is destroyed, which no longer counts as live.
    pub(crate) fn close_book(&mut self, tag: Tag) {
        self.live -= 1;
        self.books[tag.book()].lease = None;
        self.free_books
            .push(u32::try_from(tag.book()).expect("book indexes fit in u32"));
    }
}

/// A value alone in its 128-byte block (two cache lines: x86 fetches lines in pairs), so that the pool's lock and
/// hot state share no line with data other threads read or write.
#[repr(align(128))]
pub(crate) struct Aligned<T>(T);

impl<T> std::ops::Deref for Aligned<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The shared part of a pool: engine, configuration, state.
pub(crate) struct Inner<E: ScriptEngine> {
    pub(crate) engine: E,
    pub(crate) config: PoolConfig,
    /// Immutable, so a plain `std` Arc (loom's cannot hold a trait object).
    pub(crate) clock: std::sync::Arc<dyn Clock>,
    /// The clock's reading when the pool was built: the origin of [`Stamp`]s.
    base: Instant,
    pub(crate) state: Aligned<Mutex<State>>,
    /// The idle instances, in shards (a power of two of them).
    pub(crate) shards: Box<[ShardLock<E::Vm>]>,
    pub(crate) script_errors: AtomicU64,
    waits: AtomicU64,
    wait_timeouts: AtomicU64,
    wait_nanos: AtomicU64,
    /// The maintenance thread, woken to refill the warm floor or to stop.
    pub(crate) maintenance: std::sync::OnceLock<std::thread::Thread>,
    /// `max_uses`, or `u64::MAX` when unset: one comparison on release.
    max_uses: u64,
    /// `shards.len() - 1`: a thread's shard is its [`thread_index`] masked with this.
    shard_mask: usize,
    /// Whether release must read the instance's [`Book`] (leak detection or `max_lifetime` is on).
    books_on_release: bool,
}

/// A pool of instances of one engine. Cheap to clone; all clones share the pool, which closes when the last clone is
/// dropped.
///
/// ```
/// use pool_core::testing::FakeEngine;
/// use pool_core::Pool;
///
/// let pool = Pool::builder(FakeEngine::new()).max_size(2).build()?;
/// {
///     let mut vm = pool.acquire()?; // the guard returns the VM when it goes out of scope
///     vm.eval("set 7")?;
/// }
/// // The VM was reset on its way back: the next use sees nothing of the last.
/// assert_eq!(pool.acquire()?.eval("get")?, serde_json::json!(0));
/// assert_eq!(pool.metrics().total_uses, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pool<E: ScriptEngine> {
    handle: std::sync::Arc<Handle<E>>,
}

/// Owned by the `Pool` clones; closes the pool when the last one goes.
pub(crate) struct Handle<E: ScriptEngine> {
    pub(crate) inner: Arc<Inner<E>>,
}

impl<E: ScriptEngine> Drop for Handle<E> {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl<E: ScriptEngine> Clone for Pool<E> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
        }
    }
}

impl<E: ScriptEngine> std::fmt::Debug for Pool<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("metrics", &self.handle.inner.metrics())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Pool`]: configuration, clock, and whether a maintenance thread runs.
#[must_use = "call build() to make the pool"]
pub struct PoolBuilder<E: ScriptEngine> {
    engine: E,
    config: PoolConfig,
    preload_set: bool,
    clock: std::sync::Arc<dyn Clock>,
    maintenance_thread: bool,
}

impl<E: ScriptEngine> PoolBuilder<E>
where
    E::Vm: Send,
{
    /// Replaces the whole configuration (its `preload_size` counts as set).
    pub fn config(mut self, config: PoolConfig) -> Self {
        self.config = config;
        self.preload_set = true;
        self
    }

    /// Sets `max_size`; unless `preload_size` was set, it follows as `max_size / 2`.
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.config.max_size = max_size;
        if !self.preload_set {
            self.config.preload_size = max_size / 2;
        }
        self
    }

    /// Sets `preload_size`, the warm floor.
    pub fn preload_size(mut self, preload_size: usize) -> Self {
        self.config.preload_size = preload_size;
        self.preload_set = true;
        self
    }

    /// Sets how long `acquire` waits.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.config.acquire_timeout = timeout;
        self
    }

    /// Sets `idle_timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Sets `cleanup_interval`.
    pub fn cleanup_interval(mut self, interval: Duration) -> Self {
        self.config.cleanup_interval = interval;
        self
    }

    /// Sets `max_uses`.
    pub fn max_uses(mut self, max_uses: Option<u64>) -> Self {
        self.config.max_uses = max_uses;
        self
    }

    /// Sets `max_lifetime`.
    pub fn max_lifetime(mut self, max_lifetime: Option<Duration>) -> Self {
        self.config.max_lifetime = max_lifetime;
        self
    }

    /// Sets `leak_threshold`.
    pub fn leak_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.config.leak_threshold = threshold;
        self
    }

    /// Sets `enable_metrics` and `metrics_interval`.
    pub fn metrics_logging(mut self, enable: bool, interval: Duration) -> Self {
        self.config.enable_metrics = enable;
        self.config.metrics_interval = interval;
        self
    }

    /// Uses `clock` for eviction decisions instead of the system clock (tests drive a
    /// [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = std::sync::Arc::new(clock);
        self
    }

    /// Uses a shared clock.
    pub fn shared_clock(mut self, clock: std::sync::Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether a background thread evicts idle instances every `cleanup_interval`, refills the warm floor, logs
    /// metrics and reports leaks. Default `true`. Without it, call [`Pool::run_maintenance`] yourself.
    pub fn maintenance_thread(mut self, enabled: bool) -> Self {
        self.maintenance_thread = enabled;
        self
    }

    /// Validates the configuration, creates the warm floor and starts the maintenance thread.
    ///
    /// # Errors
    /// [`BuildError::Config`] naming the bad key before anything is created; [`BuildError::Preload`] when an
    /// instance of the warm floor cannot be created (the ones already made are dropped).
    pub fn build(self) -> Result<Pool<E>, BuildError<E::Error>> {
        self.config.validate()?;
        let max_uses = self.config.max_uses.unwrap_or(u64::MAX);
        let books_on_release =
            self.config.leak_threshold.is_some() || self.config.max_lifetime.is_some();
        let shards = shard_count(self.config.max_size);
        let inner = Arc::new(Inner {
            state: Aligned(Mutex::new(State::new(self.config.max_size))),
            shards: (0..shards)
                .map(|_| Aligned(Mutex::new(Shard::default())))
                .collect(),
            shard_mask: shards - 1,
            engine: self.engine,
            config: self.config,
            base: self.clock.now(),
            clock: self.clock,
            script_errors: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            wait_timeouts: AtomicU64::new(0),
            wait_nanos: AtomicU64::new(0),
            maintenance: std::sync::OnceLock::new(),
            max_uses,
            books_on_release,
        });
        let pool = Pool {
            handle: std::sync::Arc::new(Handle { inner }),
        };
        if let Some(error) = pool.handle.inner.refill() {
            return Err(BuildError::Preload(error));
        }
        if self.maintenance_thread {
            crate::idle::spawn_maintenance(&pool.handle);
        }
        Ok(pool)
    }
}

impl<E: ScriptEngine> Pool<E>
where
    E::Vm: Send,
{
    /// A builder with the guide's defaults (`max_size = 50`, `preload_size = 25`, ...).
    pub fn builder(engine: E) -> PoolBuilder<E> {
        PoolBuilder {
            engine,
            config: PoolConfig::default(),
            preload_set: false,
            clock: std::sync::Arc::new(SystemClock),
            maintenance_thread: true,
        }
    }

    /// A pool with `config`.
    ///
    /// # Errors
    /// As for [`PoolBuilder::build`].
    pub fn new(engine: E, config: PoolConfig) -> Result<Self, BuildError<E::Error>> {
        Self::builder(engine).config(config).build()
    }

    pub(crate) fn inner(&self) -> &Arc<Inner<E>> {
        &self.handle.inner
    }

    /// The engine (factory) this pool creates instances with.
    pub fn engine(&self) -> &E {
        &self.inner().engine
    }

    /// The configuration the pool was built with (`max_size` may since have been changed by
    /// [`resize`](Pool::resize); [`Metrics::max_size`] has the current value).
    pub fn config(&self) -> &PoolConfig {
        &self.inner().config
    }

    /// Hands out an instance, waiting up to `acquire_timeout` for one to become free. The guard borrows the pool;
    /// see [`acquire_owned`](Pool::acquire_owned) for one that can outlive the borrow.
    ///
    /// # Errors
    /// [`PoolError::Exhausted`] (`VM pool exhausted`) after the wait; [`PoolError::Closed`] once the pool is
    /// closed; [`PoolError::Create`] when a new instance was needed and could not be made.
    #[track_caller]
    pub fn acquire(&self) -> Result<PooledVm<'_, E>, PoolError<E::Error>> {
        self.acquire_timeout(self.inner().config.acquire_timeout)
    }

    /// Hands out an instance, waiting up to `timeout`.
    ///
    /// # Errors
    /// As for [`acquire`](Pool::acquire).
    #[track_caller]
    #[inline]
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> Result<PooledVm<'_, E>, PoolError<E::Error>> {
        let slot = self.inner().lend(timeout, Location::caller())?;
        Ok(PooledVm::new(PoolRef::Borrowed(self.inner()), slot))
    }

    /// Hands out an instance if one is idle or can be created now; never waits for one to be returned.
    ///
    /// # Errors
    /// [`PoolError::Exhausted`] at once when every instance is in use; otherwise as for [`acquire`](Pool::acquire).
    #[track_caller]
    #[inline]
    pub fn try_acquire(&self) -> Result<PooledVm<'_, E>, PoolError<E::Error>> {
        self.acquire_timeout(Duration::ZERO)
    }

    /// As [`acquire`](Pool::acquire), but the guard owns a reference to the pool, so it can be moved to another
    /// thread or task and kept after every `Pool` handle is gone (it then drops its instance when released).
    ///
    /// # Errors
    /// As for [`acquire`](Pool::acquire).
    #[track_caller]
    pub fn acquire_owned(&self) -> Result<PooledVm<'static, E>, PoolError<E::Error>> {
        self.acquire_owned_within(self.inner().config.acquire_timeout)
    }

    #[track_caller]
    #[inline]
    fn acquire_owned_within(
        &self,
        timeout: Duration,
    ) -> Result<PooledVm<'static, E>, PoolError<E::Error>> {
        let slot = self.inner().lend(timeout, Location::caller())?;
        Ok(PooledVm::new(PoolRef::Owned(self.inner().clone()), slot))
    }

    /// As [`try_acquire`](Pool::try_acquire), with an owned guard.
    ///
    /// # Errors
    /// As for [`try_acquire`](Pool::try_acquire).
    #[track_caller]
    pub fn try_acquire_owned(&self) -> Result<PooledVm<'static, E>, PoolError<E::Error>> {
        self.acquire_owned_within(Duration::ZERO)
    }

    /// Hands out an instance without blocking the async executor while waiting (up to `acquire_timeout`). Works with
    /// any executor. Dropping the future before it completes leaves the pool as if it had never been called.
    ///
    /// When a new instance is needed, it is created on a thread of its own (named `vmpool-create`), so a slow
    /// `create` never blocks the executor; if the future is dropped meanwhile, the new instance goes to the idle
    /// list.
    ///
    /// ```
    /// # use pool_core::{Pool, testing::FakeEngine};
    /// let pool = Pool::builder(FakeEngine::new()).max_size(1).build()?;
    /// let vm = futures::executor::block_on(pool.acquire_async())?;
    /// drop(vm);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`acquire`](Pool::acquire).
    #[track_caller]
    pub fn acquire_async(&self) -> AcquireFuture<E> {
        AcquireFuture {
            inner: self.inner().clone(),
            location: Location::caller(),
            waiter: None,
            timeout: self.inner().config.acquire_timeout,
            started: None,
            delay: None,
            creation: None,
        }
    }

    /// Acquires an instance, runs `f` on it, and returns it to the pool: the guide's `WithVM`. The closure's error
    /// comes back unchanged; an acquire failure is converted into it.
    ///
    /// ```
    /// # use pool_core::{Pool, PoolError, ScriptError, testing::FakeEngine};
    /// let pool = Pool::builder(FakeEngine::new()).max_size(1).build()?;
    /// let answer = pool.with(|vm| vm.eval("set 42"))?;
    /// assert_eq!(answer, serde_json::json!(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The closure's error, or the acquire error converted with `From`.
    #[track_caller]
    pub fn with<T, X>(&self, f: impl FnOnce(&mut PooledVm<'_, E>) -> Result<T, X>) -> Result<T, X>
    where
        X: From<PoolError<E::Error>>,
    {
        let mut vm = self.acquire()?;
        f(&mut vm)
    }

    /// Closes the pool: waiters and new acquires fail at once with [`PoolError::Closed`], idle instances are
    /// dropped, and guards still out are dropped when they come back. Idempotent.
    pub fn close(&self) {
        self.inner().close();
    }

    /// Whether [`close`](Pool::close) was called (or every `Pool` handle was dropped).
    pub fn is_closed(&self) -> bool {
        lock(&self.inner().state).closed
    }

    /// Changes `max_size` at run time. Shrinking drops idle instances at once (oldest first) and instances in use
    /// when they come back, until the pool fits; growing lets waiters create new instances.
    ///
    /// # Errors
    /// `max_size` of 0.
    pub fn resize(&self, max_size: usize) -> Result<(), ConfigError> {
        if max_size == 0 {
            return Err(ConfigError::Invalid {
                key: "max_size",
                message: "must be at least 1, got 0".into(),
            });
        }
        let inner = self.inner();
        let mut st = lock(&inner.state);
        st.max_size = max_size;
        // Set before the shards are emptied, so that an instance returned meanwhile is dropped by its release.
        inner.refresh_attention(&mut st);
        let mut dropped = Vec::new();
        while st.total() > max_size {
            let Some(slot) = inner.remove_oldest_idle() else {
                break;
            };
            st.close_book(slot.tag);
            dropped.push(slot);
        }
        st.destroyed
            .add(DestroyReason::Resized, dropped.len() as u64);
        let mut wakers = Vec::new();
        while let Some(w) = inner.wake_one(&mut st) {
            wakers.push(w);
            if st.waiters.is_empty() || wakers.len() >= max_size {
                break;
            }
        }
        inner.refresh_attention(&mut st);
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
        drop(dropped);
        Ok(())
    }

    /// A snapshot of the counters; see [`Metrics`] for what is consistent.
    pub fn metrics(&self) -> Metrics {
        self.inner().metrics()
    }

    /// Runs one maintenance pass now, with the pool's clock: evicts instances idle longer than `idle_timeout`
    /// (down to the warm floor) and past `max_lifetime`, refills the warm floor, and reports leaked guards. The
    /// maintenance thread calls this every `cleanup_interval`.
    pub fn run_maintenance(&self) -> MaintenanceReport {
        self.inner().run_maintenance()
    }
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Idle instances removed after `idle_timeout`.
    pub evicted_idle: usize,
    /// Idle instances removed after `max_lifetime`.
    pub evicted_lifetime: usize,
    /// Instances created to refill the warm floor.
    pub created: usize,
    /// Guards newly reported as leaked.
    pub leaks_reported: usize,
}

/// Wakes a thread parked in `acquire`.
struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

impl<E: ScriptEngine> Inner<E> {
    /// The calling thread's shard.
    #[inline(always)]
    fn home(&self) -> usize {
        thread_index() & self.shard_mask
    }

    /// Returns an instance to the calling thread's shard.
    #[inline(always)]
    pub(crate) fn push_home(&self, slot: Slot<E::Vm>) {
        lock(&self.shards[self.home()]).idle.push(slot);
    }

    /// Takes an idle instance from any shard, the calling thread's first (each shard locked in turn).
    pub(crate) fn pop_any(&self) -> Option<Slot<E::Vm>> {
        let home = self.home();
        (0..self.shards.len()).find_map(|k| lock(&self.shards[(home + k) & self.shard_mask]).pop())
    }

    /// Whether any shard holds an idle instance.
    fn has_idle(&self) -> bool {
        self.shards.iter().any(|shard| !lock(shard).idle.is_empty())
    }

    /// Every shard, locked in order (after the main lock, as everywhere).
    pub(crate) fn lock_shards(&self) -> Vec<MutexGuard<'_, Shard<E::Vm>>> {
        self.shards.iter().map(|shard| lock(shard)).collect()
    }

    /// Removes the longest idle instance of the first shard that has one.
    fn remove_oldest_idle(&self) -> Option<Slot<E::Vm>> {
        self.shards
            .iter()
            .find_map(|shard| lock(shard).idle.remove(0))
    }

    /// Takes every idle instance.
    fn take_all_idle(&self) -> Vec<Slot<E::Vm>> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(lock(shard).idle.take_all());
        }
        all
    }

    /// Sets or clears every shard's `attention` flag from the state (called with the main lock held).
    pub(crate) fn refresh_attention(&self, st: &mut State) {
        let needed = st.closed || !st.waiters.is_empty() || st.total() > st.max_size;
        if st.attention != needed {
            st.attention = needed;
            for shard in self.shards.iter() {
                lock(shard).attention = needed;
            }
        }
    }

    /// What a caller holding the main lock may do next.
    fn take(&self, st: &mut State) -> Take<E::Vm> {
        if st.closed {
            return Take::Closed;
        }
        if let Some(slot) = self.pop_any() {
            return Take::Idle(slot);
        }
        if st.total() < st.max_size {
            st.creating += 1;
            return Take::Create;
        }
        Take::Full
    }

    /// Registers a waiter. When it is added to the queue, the shards' `attention` is set and the caller must look
    /// at the shards once more before sleeping (`true`): an instance returned to a shard before the flag was set
    /// wakes no one.
    fn register(&self, st: &mut State, id: Option<u64>, waker: &Waker) -> (u64, bool) {
        let (id, added) = st.register(id, waker);
        if added {
            self.refresh_attention(st);
        }
        (id, added)
    }

    /// The waiter to wake now that an instance or capacity became free.
    pub(crate) fn wake_one(&self, st: &mut State) -> Option<Waker> {
        if !st.waiters.is_empty() && !st.closed && (st.total() < st.max_size || self.has_idle()) {
            st.waiters.pop_front().map(|(_, w)| w)
        } else {
            None
        }
    }

    pub(crate) fn metrics(&self) -> Metrics {
        let st = lock(&self.state);
        debug_assert_eq!(
            st.books.len() - st.free_books.len(),
            st.live,
            "one open book per live instance"
        );
        let shards = self.lock_shards();
        let available: usize = shards.iter().map(|shard| shard.idle.len()).sum();
        let shard_uses: u64 = shards.iter().map(|shard| shard.total_uses).sum();
        drop(shards);
        Metrics {
            created: st.created,
            destroyed: st.destroyed,
            in_use: st.live - available,
            available,
            creating: st.creating,
            max_size: st.max_size,
            total_uses: st.total_uses + shard_uses,
            create_errors: st.create_errors,
            script_errors: self.script_errors.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            wait_timeouts: self.wait_timeouts.load(Ordering::Relaxed),
            wait_time: Duration::from_nanos(self.wait_nanos.load(Ordering::Relaxed)),
            waiting: st.waiters.len(),
            leaks_suspected: st.leaks_suspected,
            closed: st.closed,
        }
    }

    /// The fast path of every acquire: an idle instance of the calling thread's shard, unless the shard's
    /// `attention` is set (a closed pool sets it, so the closed check is left to the slow path).
    #[inline(always)]
    fn take_idle(&self, location: &'static Location<'static>) -> Option<Slot<E::Vm>> {
        let slot = {
            let mut shard = lock(&self.shards[self.home()]);
            if shard.attention {
                return None;
            }
            shard.pop()?
        };
        if self.config.leak_threshold.is_some() {
            let mut st = lock(&self.state);
            self.lease(&mut st, slot.tag, location);
        }
        Some(slot)
    }

    /// An instance for a caller: its shard's, or through the slow path. Only the slot comes back, and the caller
    /// builds its guard once after both paths join, so that the fast path's guard is not first written into the
    /// slow path's result and then copied out of it.
    #[inline(always)]
    fn lend(
        &self,
        timeout: Duration,
        location: &'static Location<'static>,
    ) -> Result<Slot<E::Vm>, PoolError<E::Error>> {
        match self.take_idle(location) {
            Some(slot) => Ok(slot),
            None => self.acquire_slow(timeout, location),
        }
    }

    #[inline(never)]
    fn acquire_slow(
        &self,
        timeout: Duration,
        location: &'static Location<'static>,
    ) -> Result<Slot<E::Vm>, PoolError<E::Error>> {
        self.acquire_blocking(timeout, location)
    }

    fn acquire_blocking(
        &self,
        timeout: Duration,
        location: &'static Location<'static>,
    ) -> Result<Slot<E::Vm>, PoolError<E::Error>> {
        let this = self;
        let mut waiter: Option<u64> = None;
        let mut waker: Option<Waker> = None;
        let mut started: Option<Instant> = None;
        loop {
            let mut st = lock(&this.state);
            let take = this.take(&mut st);
            if !matches!(take, Take::Full) {
                if let Some(id) = waiter {
                    st.unregister(id);
                }
                this.refresh_attention(&mut st);
                if let Some(start) = started {
                    this.record_wait(start);
                }
            }
            match take {
                Take::Idle(slot) => return Ok(this.hand_out(st, slot, location)),
                Take::Create => {
                    drop(st);
                    return this.create_for_use(location);
                }
                Take::Closed => return Err(PoolError::Closed),
                Take::Full => {}
            }
            let now = Instant::now();
            let start = *started.get_or_insert_with(|| {
                if !timeout.is_zero() {
                    this.waits.fetch_add(1, Ordering::Relaxed);
                }
                now
            });
            let waited = now.saturating_duration_since(start);
            if waited >= timeout {
                let pass_on = match waiter {
                    Some(id) if !st.unregister(id) => this.wake_one(&mut st),
                    _ => None,
                };
                this.refresh_attention(&mut st);
                let max_size = st.max_size;
                drop(st);
                if let Some(w) = pass_on {
                    w.wake();
                }
                if !timeout.is_zero() {
                    this.record_wait(start);
                    this.wait_timeouts.fetch_add(1, Ordering::Relaxed);
                }
                return Err(PoolError::Exhausted { max_size, waited });
            }
            let w = waker.get_or_insert_with(|| {
                Waker::from(std::sync::Arc::new(ThreadWaker(thread::current())))
            });
            let (id, added) = this.register(&mut st, waiter, w);
            waiter = Some(id);
            drop(st);
            if !added {
                thread::park_timeout(timeout - waited);
            }
        }
    }

    fn record_wait(&self, start: Instant) {
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Lends a taken slot (the lock is released here).
    #[inline(always)]
    fn hand_out(
        &self,
        mut st: MutexGuard<'_, State>,
        slot: Slot<E::Vm>,
        location: &'static Location<'static>,
    ) -> Slot<E::Vm> {
        if self.config.leak_threshold.is_some() {
            self.lease(&mut st, slot.tag, location);
        }
        drop(st);
        slot
    }

    /// Records a guard for leak detection.
    #[cold]
    fn lease(&self, st: &mut State, tag: Tag, location: &'static Location<'static>) {
        st.book(tag).lease = Some(Lease {
            acquired_at: self.clock.now(),
            location,
            reported: false,
        });
    }

    /// Creates an instance for a caller that reserved a creation slot.
    fn create_for_use(
        &self,
        location: &'static Location<'static>,
    ) -> Result<Slot<E::Vm>, PoolError<E::Error>> {
        let this = self;
        let vm = this.create_reserved()?;
        let mut st = lock(&this.state);
        st.creating -= 1;
        if st.closed {
            st.created += 1;
            st.destroyed.add(DestroyReason::Closed, 1);
            drop(st);
            drop(vm);
            return Err(PoolError::Closed);
        }
        st.created += 1;
        st.total_uses += 1;
        let slot = this.admit(&mut st, vm, 1);
        Ok(this.hand_out(st, slot, location))
    }

    /// Gives a new instance its book and tag (`uses`: 1 when it goes straight to a caller, 0 when it goes idle).
    pub(crate) fn admit(&self, st: &mut State, vm: E::Vm, uses: u64) -> Slot<E::Vm> {
        let expires_at = match self.config.max_lifetime {
            // Up to 10% earlier, so that instances created together do not all expire together.
            Some(lifetime) => {
                self.stamp(self.clock.now() + lifetime.mul_f64(1.0 - 0.1 * fastrand::f64()))
            }
            None => Stamp::NONE,
        };
        let book = st.open_book(expires_at);
        Slot {
            vm,
            tag: Tag::new(uses, book),
        }
    }

    /// `t` as a [`Stamp`] (instants before the pool was built count as its start).
    pub(crate) fn stamp(&self, t: Instant) -> Stamp {
        let nanos = t.saturating_duration_since(self.base).as_nanos();
        Stamp(
            u64::try_from(nanos)
                .unwrap_or(u64::MAX - 1)
                .min(u64::MAX - 1),
        )
    }

    /// Runs `create` for a reserved creation slot. On failure (or panic) the slot is released and a waiter woken.
    pub(crate) fn create_reserved(&self) -> Result<E::Vm, PoolError<E::Error>> {
        let result = catch_unwind(AssertUnwindSafe(|| self.engine.create()));
        let error = match result {
            Ok(Ok(vm)) => return Ok(vm),
            Ok(Err(e)) => PoolError::Create(e),
            Err(panic) => PoolError::CreatePanicked(panic_message(panic.as_ref())),
        };
        let mut st = lock(&self.state);
        st.creating -= 1;
        st.create_errors += 1;
        let waker = self.wake_one(&mut st);
        self.refresh_attention(&mut st);
        drop(st);
        log::warn!("vmpool: {error}");
        if let Some(w) = waker {
            w.wake();
        }
        Err(error)
    }

    /// Takes back an instance from a guard; `reason` says why it must be destroyed, if it must.
    #[inline(always)]
    pub(crate) fn release(&self, vm: E::Vm, tag: Tag, reason: Option<DestroyReason>) {
        // The common case, decided before any lock: nothing to retire, no book to settle. The instance goes to
        // the calling thread's shard unless the shard asks for the main lock's attention.
        if reason.is_none() && tag.uses < self.max_uses && !self.books_on_release {
            let mut shard = lock(&self.shards[self.home()]);
            if !shard.attention {
                shard.idle.push(Slot { vm, tag });
                return;
            }
            drop(shard);
            self.put_back(lock(&self.state), vm, tag, None);
        } else {
            self.release_with_checks(vm, tag, reason);
        }
    }

    /// [`release`](Inner::release) of an instance that may have to be retired (`reason`, `max_uses`) or whose
    /// book must be settled (leak detection, `max_lifetime`).
    #[cold]
    #[inline(never)]
    fn release_with_checks(&self, vm: E::Vm, tag: Tag, mut reason: Option<DestroyReason>) {
        if tag.uses >= self.max_uses {
            reason.get_or_insert(DestroyReason::MaxUses);
        }
        let mut st = lock(&self.state);
        if self.books_on_release {
            self.settle_book(&mut st, tag, &mut reason);
        }
        self.put_back(st, vm, tag, reason);
    }

    /// Returns an instance to the calling thread's shard and wakes a waiter, or destroys it when `reason` says so,
    /// the pool is closed or it was shrunk below what it holds (the main lock is released here).
    fn put_back(
        &self,
        mut st: MutexGuard<'_, State>,
        vm: E::Vm,
        tag: Tag,
        reason: Option<DestroyReason>,
    ) {
        // `total()` still counts this instance, so `<=` means the pool has not been shrunk below what it holds.
        if reason.is_none() && !st.closed && st.total() <= st.max_size {
            self.push_home(Slot { vm, tag });
            let waker = self.wake_one(&mut st);
            self.refresh_attention(&mut st);
            drop(st);
            if let Some(waker) = waker {
                waker.wake();
            }
            return;
        }
        self.destroy_returned(st, vm, tag, reason);
    }

    /// Release's part for leak detection and `max_lifetime`: ends the lease and retires an expired instance.
    #[cold]
    fn settle_book(&self, st: &mut State, tag: Tag, reason: &mut Option<DestroyReason>) {
        let now = self
            .config
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

    /// The rest of [`release`](Inner::release): the instance is destroyed (the lock is released here).
    #[cold]
    fn destroy_returned(
        &self,
        mut st: MutexGuard<'_, State>,
        vm: E::Vm,
        tag: Tag,
        reason: Option<DestroyReason>,
    ) {
        let reason = reason.unwrap_or(if st.closed {
            DestroyReason::Closed
        } else {
            DestroyReason::Resized
        });
        st.destroyed.add(reason, 1);
        st.close_book(tag);
        let waker = self.wake_one(&mut st);
        self.refresh_attention(&mut st);
        let refill = !st.closed && st.total() < self.floor(&st);
        drop(st);
        if let Some(waker) = waker {
            waker.wake();
        }
        drop(vm);
        if refill {
            self.wake_maintenance();
        }
    }

    /// The warm floor: `preload_size`, but never above the current `max_size`.
    pub(crate) fn floor(&self, st: &State) -> usize {
        self.config.preload_size.min(st.max_size)
    }

    pub(crate) fn close(&self) {
        let mut st = lock(&self.state);
        if st.closed {
            return;
        }
        st.closed = true;
        self.refresh_attention(&mut st);
        let idle = self.take_all_idle();
        st.destroyed.add(DestroyReason::Closed, idle.len() as u64);
        for slot in &idle {
            st.close_book(slot.tag);
        }
        let waiters = std::mem::take(&mut st.waiters);
        drop(st);
        for (_, waker) in waiters {
            waker.wake();
        }
        drop(idle);
        self.wake_maintenance();
    }

    pub(crate) fn wake_maintenance(&self) {
        if let Some(thread) = self.maintenance.get() {
            thread.unpark();
        }
    }
}

/// The future returned by [`Pool::acquire_async`].
#[must_use = "futures do nothing unless polled"]
pub struct AcquireFuture<E: ScriptEngine> {
    inner: Arc<Inner<E>>,
    location: &'static Location<'static>,
    waiter: Option<u64>,
    timeout: Duration,
    started: Option<Instant>,
    delay: Option<futures_timer::Delay>,
    /// The creation running on its own thread for this future, once one was needed.
    creation: Option<SharedHandoff<E>>,
}

/// An instance lent to a caller, or why none could be.
type Lent<E> = Result<Slot<<E as ScriptEngine>::Vm>, PoolError<<E as ScriptEngine>::Error>>;

/// Where a creation thread leaves its result for an [`AcquireFuture`], or learns that the future is gone.
struct Handoff<E: ScriptEngine> {
    result: Option<Lent<E>>,
    waker: Option<Waker>,
    abandoned: bool,
}

type SharedHandoff<E> = std::sync::Arc<Mutex<Handoff<E>>>;

/// Creates an instance for an async caller on a thread of its own, so that a slow `create` (a prelude, a
/// lockdown, a carrier thread) never blocks the caller's executor. The caller has reserved a creation slot. When
/// the future is dropped before the instance arrives, the instance is returned to the pool as if it had been used
/// and released. `None` when no thread could be started (or under loom): the caller then creates it itself.
#[cfg(not(loom))]
fn spawn_creation<E: ScriptEngine>(
    inner: &Arc<Inner<E>>,
    location: &'static Location<'static>,
    waker: &Waker,
) -> Option<SharedHandoff<E>>
where
    E::Vm: Send,
{
    let handoff = std::sync::Arc::new(Mutex::new(Handoff {
        result: None,
        waker: Some(waker.clone()),
        abandoned: false,
    }));
    let (inner, theirs) = (inner.clone(), handoff.clone());
    let spawned = std::thread::Builder::new()
        .name("vmpool-create".into())
        .spawn(move || {
            let result = inner.create_for_use(location);
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
        Ok(_) => Some(handoff),
        Err(error) => {
            log::warn!(
                "vmpool: could not start a creation thread, creating on the caller's: {error}"
            );
            None
        }
    }
}

#[cfg(loom)]
fn spawn_creation<E: ScriptEngine>(
    _inner: &Arc<Inner<E>>,
    _location: &'static Location<'static>,
    _waker: &Waker,
) -> Option<SharedHandoff<E>> {
    None
}

impl<E: ScriptEngine> std::fmt::Debug for AcquireFuture<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquireFuture")
            .field("waiting", &self.waiter.is_some())
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
                    Poll::Ready(
                        result.map(|slot| PooledVm::new(PoolRef::Owned(this.inner.clone()), slot)),
                    )
                }
                None => {
                    if !h.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        h.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            };
        }
        let inner = this.inner.clone();
        loop {
            let mut st = lock(&inner.state);
            let take = inner.take(&mut st);
            if !matches!(take, Take::Full) {
                if let Some(id) = this.waiter.take() {
                    st.unregister(id);
                }
                inner.refresh_attention(&mut st);
                if let Some(start) = this.started {
                    inner.record_wait(start);
                }
            }
            match take {
                Take::Idle(slot) => {
                    return Poll::Ready(Ok(PooledVm::new(
                        PoolRef::Owned(inner.clone()),
                        inner.hand_out(st, slot, this.location),
                    )));
                }
                Take::Create => {
                    drop(st);
                    if let Some(creation) = spawn_creation(&inner, this.location, cx.waker()) {
                        this.creation = Some(creation);
                        return Poll::Pending;
                    }
                    return Poll::Ready(
                        inner
                            .create_for_use(this.location)
                            .map(|lent| PooledVm::new(PoolRef::Owned(inner.clone()), lent)),
                    );
                }
                Take::Closed => return Poll::Ready(Err(PoolError::Closed)),
                Take::Full => {}
            }
            let start = *this.started.get_or_insert_with(|| {
                inner.waits.fetch_add(1, Ordering::Relaxed);
                Instant::now()
            });
            let timed_out = this.timeout.is_zero() || {
                let delay = this
                    .delay
                    .get_or_insert_with(|| futures_timer::Delay::new(this.timeout));
                Pin::new(delay).poll(cx).is_ready()
            };
            if timed_out {
                let pass_on = match this.waiter.take() {
                    Some(id) if !st.unregister(id) => inner.wake_one(&mut st),
                    _ => None,
                };
                inner.refresh_attention(&mut st);
                let max_size = st.max_size;
                drop(st);
                if let Some(w) = pass_on {
                    w.wake();
                }
                inner.record_wait(start);
                inner.wait_timeouts.fetch_add(1, Ordering::Relaxed);
                return Poll::Ready(Err(PoolError::Exhausted {
                    max_size,
                    waited: start.elapsed(),
                }));
            }
            let (id, added) = inner.register(&mut st, this.waiter, cx.waker());
            this.waiter = Some(id);
            if !added {
                return Poll::Pending;
            }
            // Newly queued: look at the shards once more (see `Inner::register`).
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
                drop(PooledVm::new(PoolRef::Owned(self.inner.clone()), slot));
            }
        }
        if let Some(id) = self.waiter.take() {
            let mut st = lock(&self.inner.state);
            // Woken but never polled again: pass the wake-up on so that no capacity is left unused.
            let pass_on = if st.unregister(id) {
                None
            } else {
                self.inner.wake_one(&mut st)
            };
            self.inner.refresh_attention(&mut st);
            drop(st);
            if let Some(w) = pass_on {
                w.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{IdleList, Slot, Tag};

    fn slot(n: u64) -> Slot<u64> {
        Slot {
            vm: n,
            tag: Tag::new(n, 0),
        }
    }

    fn order(list: &IdleList<u64>) -> Vec<u64> {
        (0..list.len()).map(|i| list.get(i).unwrap().vm).collect()
    }

    #[test]
    fn an_optional_slot_keeps_its_discriminant_in_the_tag() {
        use std::mem::size_of;
        assert_eq!(size_of::<Tag>(), 16);
        assert_eq!(size_of::<Option<Slot<()>>>(), size_of::<Slot<()>>());
        assert_eq!(size_of::<Option<Slot<u64>>>(), size_of::<Slot<u64>>());
    }

    #[test]
    fn a_tag_keeps_its_book_and_taint_apart() {
        for book in [0, 1, 7, u32::MAX - 1] {
            let mut tag = Tag::new(3, book);
            assert_eq!(
                (tag.uses, tag.book(), tag.taint()),
                (3, book as usize, None)
            );
            for reason in crate::metrics::DestroyReason::ALL {
                tag.set_taint(reason);
                assert_eq!((tag.book(), tag.taint()), (book as usize, Some(reason)));
            }
        }
    }

    #[test]
    fn idle_list_keeps_return_order_and_hands_out_the_most_recent() {
        let mut list = IdleList::default();
        assert!(list.is_empty() && list.pop().is_none());
        for n in 1..=4 {
            list.push(slot(n));
        }
        assert_eq!(order(&list), [1, 2, 3, 4]);
        assert_eq!(list.pop().map(|s| s.vm), Some(4));
        assert_eq!(
            list.pop().map(|s| s.vm),
            Some(3),
            "then the next most recent"
        );
        assert_eq!(list.pop().map(|s| s.vm), Some(2));
        list.push(slot(5));
        list.push(slot(6));
        list.push(slot(7));
        assert_eq!(order(&list), [1, 5, 6, 7]);
        assert_eq!(list.remove(0).map(|s| s.vm), Some(1), "the longest idle");
        assert_eq!(list.remove(1).map(|s| s.vm), Some(6));
        assert_eq!(order(&list), [5, 7]);
        assert_eq!(list.remove(0).map(|s| s.vm), Some(5));
        assert!(list.remove(1).is_none());
        assert_eq!(order(&list), [7]);
        list.push(slot(8));
        let all: Vec<u64> = list.take_all().into_iter().map(|s| s.vm).collect();
        assert_eq!(all, [7, 8]);
        assert!(list.is_empty());
        assert_eq!(list.len(), 0);
    }
}
