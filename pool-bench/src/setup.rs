//! What a run needs before its first request, shared by the runners: the engine configuration of a job under a
//! pool configuration, and the errors of building the engine and the pool.

use pool_core::{EngineConfig, PoolConfig, ScriptError};

use crate::backend::{EngineKind, NotCompiled};
use crate::workload::Job;

/// The engine configuration `job` runs with under `config`.
pub fn engine_config(job: &Job, config: &PoolConfig) -> EngineConfig {
    EngineConfig::from_pool_config(config, job.prelude.clone())
        .prelude_name(job.prelude_name.clone())
        .host(job.host.clone())
}

/// A failure before any request ran: nothing was measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The engine is not in this build.
    #[error(transparent)]
    NotCompiled(#[from] NotCompiled),
    /// The engine rejected the configuration or the script (a syntax error names the line).
    #[error("cannot build the {engine} engine: {source}")]
    Engine {
        /// The engine.
        engine: EngineKind,
        /// Its error.
        #[source]
        source: ScriptError,
    },
    /// The function to call is not there.
    #[error("{0}")]
    MissingFunction(String),
    /// The pool could not be built (bad configuration, or its warm floor could not be created).
    #[error("cannot build the {engine} pool: {message}")]
    Pool {
        /// The engine.
        engine: EngineKind,
        /// What went wrong.
        message: String,
    },
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Thread(#[source] std::io::Error),
}
