//! The [`Pool`]: a bounded set of warm instances of one [`ScriptEngine`], handed out one request at a time.
//!
//! The modules depend on each other in one direction, in the order a request meets them:
//! - [`book`]: what the pool records about each instance ([`Tag`](book::Tag), [`Book`](book::Book), stamps);
//! - [`state`]: everything the main lock protects, with capacity claimed by [`Reservation`](state::Reservation)
//!   tokens (plain data, tested without locks or engines);
//! - [`shards`]: the idle instances, in per-core shards;
//! - [`inner`]: the shared part of a pool and the operations every path uses (creating, admitting, waking);
//! - [`acquire`]: the one acquire state machine and its two drivers, blocking and async;
//! - [`release`]: an instance coming back from its guard;
//! - [`reload`]: a new engine replacing the pool's, as a new generation;
//! - [`maintenance`]: eviction, refilling the warm floor, leak reports and the thread that runs them;
//! - this module: the public [`Pool`] and [`PoolBuilder`].

use std::panic::Location;
use std::time::Duration;

mod acquire;
mod book;
pub(crate) mod inner;
mod maintenance;
mod release;
mod reload;
mod shards;
mod state;

pub use acquire::AcquireFuture;
pub use maintenance::MaintenanceReport;

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, PoolConfig};
use crate::engine::ScriptEngine;
use crate::error::{PoolError, ReloadError};
use crate::guard::{PoolRef, PooledVm};
use crate::metrics::Metrics;
use crate::sync::Arc;
use inner::{Inner, Owner};

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
    owner: std::sync::Arc<Owner<E>>,
}

impl<E: ScriptEngine> Clone for Pool<E> {
    fn clone(&self) -> Self {
        Self {
            owner: self.owner.clone(),
        }
    }
}

impl<E: ScriptEngine> std::fmt::Debug for Pool<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("metrics", &self.owner.inner.metrics())
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
        let inner = Arc::new(Inner::new(self.engine, self.config, self.clock));
        let pool = Pool {
            owner: std::sync::Arc::new(Owner { inner }),
        };
        if let (_, Some(error)) = pool.inner().refill() {
            return Err(BuildError::Preload(error));
        }
        if self.maintenance_thread {
            maintenance::spawn_maintenance(&pool.owner);
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
        &self.owner.inner
    }

    /// The engine (factory) this pool creates instances with: the one it was built with, or the last one
    /// [`reload`](Pool::reload) installed.
    pub fn engine(&self) -> std::sync::Arc<E> {
        self.inner().current().0
    }

    /// Replaces the pool's engine with `engine` (a new prelude, new limits, new host functions) as a new
    /// generation, without stopping the pool; returns the new generation number.
    ///
    /// `engine` first creates one instance: when it cannot, the reload is refused and nothing changes. From the
    /// moment this returns, every acquire gets an instance of the new generation (an acquire already creating an
    /// instance when it was called may still get the old engine's, which is then destroyed on return). Idle
    /// instances of older generations are destroyed at once and those in use when they come back (destroy reason
    /// `reloaded`); they still count toward `max_size` until then. The test instance is the first idle instance
    /// of the new generation, and the maintenance thread refills the rest of the warm floor in the background.
    ///
    /// ```
    /// # use pool_core::{Pool, testing::FakeEngine};
    /// let pool = Pool::builder(FakeEngine::new()).max_size(2).build()?;
    /// let old = pool.acquire()?;
    /// assert_eq!(pool.reload(FakeEngine::new())?, 2);
    /// assert_eq!(pool_core::PooledVm::generation(&pool.acquire()?), 2);
    /// drop(old); // destroyed on return: its generation was replaced
    /// assert_eq!(pool.metrics().destroyed.get(pool_core::DestroyReason::Reloaded), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ReloadError::Create`] (or `CreatePanicked`) naming why the new engine could not create an instance;
    /// [`ReloadError::Closed`] once the pool is closed.
    pub fn reload(&self, engine: E) -> Result<u64, ReloadError<E::Error>> {
        self.inner()
            .reload(engine, None::<fn(&E, &mut E::Vm) -> Result<(), E::Error>>)
    }

    /// As [`reload`](Pool::reload), with a check of the new engine's test instance before it replaces the
    /// current one: a service that calls a script's entry point can refuse a version that does not define it.
    /// The instance is reset after the check.
    ///
    /// ```
    /// # use pool_core::{Pool, ReloadError, testing::FakeEngine};
    /// let pool = Pool::builder(FakeEngine::new()).max_size(1).build()?;
    /// let refused = pool.reload_with(FakeEngine::new(), |engine, vm| {
    ///     pool_core::ScriptEngine::eval(engine, vm, "no-such-command").map(drop)
    /// });
    /// assert!(matches!(refused, Err(ReloadError::Rejected(_))));
    /// assert_eq!(pool.metrics().generation, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`reload`](Pool::reload), and [`ReloadError::Rejected`] with the check's (or the reset's) error.
    pub fn reload_with(
        &self,
        engine: E,
        check: impl FnOnce(&E, &mut E::Vm) -> Result<(), E::Error>,
    ) -> Result<u64, ReloadError<E::Error>> {
        self.inner().reload(engine, Some(check))
    }

    /// The configuration the pool was built with (`max_size` may since have been changed by
    /// [`resize`](Pool::resize); [`Metrics::max_size`] has the current value).
    pub fn config(&self) -> &PoolConfig {
        self.inner().config()
    }

    /// Hands out an instance, waiting up to `acquire_timeout` for one to become free. The guard borrows the pool;
    /// see [`acquire_owned`](Pool::acquire_owned) for one that can outlive the borrow.
    ///
    /// # Errors
    /// [`PoolError::Exhausted`] (`VM pool exhausted`) after the wait; [`PoolError::Closed`] once the pool is
    /// closed; [`PoolError::Create`] when a new instance was needed and could not be made.
    #[track_caller]
    pub fn acquire(&self) -> Result<PooledVm<'_, E>, PoolError<E::Error>> {
        self.acquire_timeout(self.inner().config().acquire_timeout)
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
        self.acquire_owned_within(self.inner().config().acquire_timeout)
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
        AcquireFuture::new(
            self.inner().clone(),
            self.inner().config().acquire_timeout,
            Location::caller(),
        )
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
        self.inner().is_closed()
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
        self.inner().resize(max_size);
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
