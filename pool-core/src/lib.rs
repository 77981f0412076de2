//! The engine-agnostic core of vmpool: the [`ScriptEngine`] trait, the bounded [`Pool`] with its guard
//! [`PooledVm`], the `[vm_pool]` configuration, metrics, idle cleanup, and the [`Carrier`] for engines whose
//! instances are not `Send`.
//!
//! ```
//! use pool_core::testing::FakeEngine;
//! use pool_core::{Pool, PoolConfig};
//!
//! let config = PoolConfig::from_toml("[vm_pool]\nmax_size = 4\npreload_size = 2\n")?;
//! let pool = Pool::new(FakeEngine::new(), config)?;
//! {
//!     let mut vm = pool.acquire()?; // like `defer vmManager.ReleaseVM(instance)`: returned on drop
//!     assert_eq!(vm.eval("set 3")?, serde_json::json!(3));
//! }
//! let metrics = pool.metrics();
//! assert_eq!(metrics.to_string(), "[VM Pool Metrics] Created: 2, InUse: 0, Available: 2, TotalUses: 1, Errors: 0");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The trait
//! A backend implements [`ScriptEngine`]: a factory (`self`, shared by all threads) that creates instances
//! (`ScriptEngine::Vm`) and evaluates, calls, resets and checks them. Values cross the boundary as [`Value`]
//! (JSON-like), so the same request runs on every engine. Errors carry an [`ErrorKind`] shared by all engines.
//!
//! # The pool
//! In use + idle + being created never exceeds `max_size`; instances are created outside the locks. Idle instances
//! are kept in per-core shards, each behind a lock of its own: a thread returns instances to its shard and takes
//! from it first, so threads that each use one instance at a time do not contend. `preload_size`
//! instances are created at start and kept as a warm floor. [`Pool::acquire`] waits up to `acquire_timeout` and
//! then fails with `VM pool exhausted`; [`Pool::try_acquire`] never waits; [`Pool::acquire_async`] waits without
//! blocking an executor. The guard resets the instance on the way back and destroys it instead when it hit a
//! limit, is broken, failed its reset, or the thread panicked.
//!
//! # Maintenance
//! A thread (holding only a weak reference) evicts instances idle longer than `idle_timeout` down to the warm floor
//! every `cleanup_interval`, retires instances past `max_uses`/`max_lifetime`, refills the floor after discards,
//! logs the metrics line every `metrics_interval` when `enable_metrics` is set, and reports guards held longer
//! than `leak_threshold`. Time is injected through [`Clock`], so all of it is testable without sleeping.
//!
//! # Engines that are not `Send`
//! [`Carrier`] runs each instance on its own thread and hands the pool a `Send` handle; see its module docs.

#![forbid(unsafe_code)]

pub mod carrier;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
mod guard;
pub mod host;
pub mod js;
pub mod metrics;
mod pool;
mod sync;
#[cfg(any(test, doc, feature = "test-support"))]
pub mod testing;

pub use carrier::{CarriedVm, Carrier, CarrierError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigError, Isolation, Limits, PoolConfig};
pub use engine::{EngineConfig, ScriptEngine, Value};
pub use error::{EngineError, ErrorKind, PoolError, ReloadError, ScriptError};
pub use guard::PooledVm;
pub use host::{CallContext, HostApi, HostError};
pub use metrics::{DestroyReason, Destroyed, GenerationCount, Metrics};
pub use pool::{AcquireFuture, BuildError, MaintenanceReport, Pool, PoolBuilder};
