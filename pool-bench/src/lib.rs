//! Workloads and runners shared by the criterion benches and the `vmpool-bench` CLI.
//!
//! The CLI (`src/main.rs`) is a thin layer over [`cli`]; everything it measures goes through [`runner::run`],
//! [`compare::compare`] and [`memory::idle_memory`], which are generic over the engine ([`backend::Backend`]),
//! so each engine is one line of dispatch ([`EngineKind::dispatch`]).
//!
//! ```
//! use pool_bench::{EngineKind, Mode, Plan, Workload};
//! use pool_core::PoolConfig;
//!
//! # let engine = EngineKind::compiled()[0];
//! // 50 requests of the engine issues' JSON handler through a pool of 2 VMs, from 2 threads.
//! let config = PoolConfig { max_size: 2, preload_size: 1, ..PoolConfig::default() };
//! let job = Workload::JsonHandler.job(engine.language());
//! let report = pool_bench::runner::run(engine, &job, &config, &Plan::new(50, 2, Mode::Pooled))?;
//! assert_eq!(report.ok, 50);
//! assert_eq!(report.results[r#""{\"sum\":55,\"n\":10}""#], 50);
//! assert_eq!(report.metrics.total_uses, 50);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod backend;
pub mod cli;
pub mod compare;
pub mod format;
pub mod host;
pub mod memory;
mod noop;
pub mod reliability;
pub mod report;
pub mod runner;
pub mod scale;
pub mod setup;
pub mod workload;

pub use backend::{Backend, BackendVisitor, EngineKind, Language};
pub use compare::{CompareOptions, CompareReport, CompareRow};
pub use memory::{MemoryMethod, MemoryReading};
pub use noop::NoopEngine;
pub use reliability::{DeadlineOptions, DeadlineReport, SoakOptions, SoakReport};
pub use runner::{MetricsSummary, Mode, Plan, RunReport};
pub use scale::{ScaleOptions, ScaleReport, ScaleRound, ScaleRow};
pub use setup::SetupError;
pub use workload::{Job, Request, Workload};
