//! `vmpool-bench compare`: every built-in workload on every engine compiled in, pooled and fresh.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pool_core::PoolConfig;
use serde::Serialize;

use crate::backend::EngineKind;
use crate::memory::{MemoryMethod, idle_memory_of_workload};
use crate::runner::{Mode, Plan, RunReport, run};
use crate::setup::SetupError;
use crate::workload::Workload;

/// How much a comparison runs.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Engines to compare (default: every engine compiled in).
    pub engines: Vec<EngineKind>,
    /// Workloads to run (default: all).
    pub workloads: Vec<Workload>,
    /// Most requests per (engine, workload, mode) cell.
    pub requests: u64,
    /// Time after which a cell stops starting requests (each thread makes at least one).
    pub budget: Duration,
    /// Threads making requests at once (the pool's `max_size` and `preload_size`).
    pub concurrency: usize,
    /// Instances measured for the memory column.
    pub memory_instances: usize,
    /// This program, to measure RSS in a fresh process for engines that do not report their memory.
    pub memory_probe: Option<PathBuf>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl CompareOptions {
    /// `--quick`: under two minutes on a 2-core machine for all three engines (at most 20 000 requests or 0.7 s
    /// per cell, 20 instances for memory).
    pub fn quick() -> Self {
        Self {
            engines: EngineKind::compiled(),
            workloads: Workload::ALL.to_vec(),
            requests: 20_000,
            budget: Duration::from_millis(700),
            concurrency: 1,
            memory_instances: 20,
            memory_probe: None,
            progress: false,
        }
    }

    /// The full run: at most 200 000 requests or 5 s per cell, 40 instances for memory.
    pub fn full() -> Self {
        Self {
            requests: 200_000,
            budget: Duration::from_secs(5),
            memory_instances: 40,
            ..Self::quick()
        }
    }

    /// The pool configuration every cell uses: the guide's defaults with `max_size = preload_size =
    /// concurrency`, strict isolation, and a 30 s timeout so that slow workloads on slow engines are measured
    /// rather than cut off.
    pub fn pool_config(&self) -> PoolConfig {
        let mut config = PoolConfig {
            max_size: self.concurrency.max(1),
            preload_size: self.concurrency.max(1),
            ..PoolConfig::default()
        };
        config.limits.timeout = Duration::from_secs(30);
        config
    }
}

/// One line of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// The engine.
    pub engine: EngineKind,
    /// The workload's name.
    pub workload: &'static str,
    /// Pooled or fresh.
    pub mode: Mode,
    /// Requests made.
    pub requests: u64,
    /// Requests that returned the expected value.
    pub ok: u64,
    /// Requests that failed or returned something else.
    pub errors: u64,
    /// Requests per second.
    pub ops_per_s: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
    /// Pooled throughput over fresh throughput (on both rows of a pair).
    pub speedup: Option<f64>,
    /// Memory per idle instance in bytes (pooled rows).
    pub memory_per_idle_bytes: Option<u64>,
    /// Memory per idle instance in bytes of the same engine and prelude built with `Isolation::None` (pooled
    /// rows): the difference is what strict isolation's lockdown costs in memory.
    pub memory_unisolated_bytes: Option<u64>,
    /// How the memory was measured.
    pub memory_method: Option<MemoryMethod>,
}

/// A whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// The rows: per engine, per workload, pooled then fresh.
    pub rows: Vec<CompareRow>,
    /// Most requests per cell.
    pub requests_per_cell: u64,
    /// Time budget per cell, in seconds.
    pub budget_s: f64,
    /// Threads per cell.
    pub concurrency: usize,
    /// The machine.
    pub machine: Machine,
    /// Wall time of the whole comparison, in seconds.
    pub elapsed_s: f64,
}

/// What the numbers were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs available.
    pub cpus: usize,
    /// The CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
}

impl Machine {
    /// This machine.
    pub fn current() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines().find_map(|l| {
                    let (key, value) = l.split_once(':')?;
                    (key.trim() == "model name").then(|| value.trim().to_owned())
                })
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
        }
    }
}

/// Runs the comparison.
///
/// # Errors
/// An engine or pool that cannot be built (a bug in a built-in workload or engine).
pub fn compare(options: &CompareOptions) -> Result<CompareReport, SetupError> {
    let started = Instant::now();
    let config = options.pool_config();
    let cells = (options.engines.len() * options.workloads.len() * 2) as u64;
    let bar = options.progress.then(|| crate::format::steps_bar(cells));
    let mut rows = Vec::new();
    for &engine in &options.engines {
        for &workload in &options.workloads {
            let job = workload.job(engine.language());
            let mut pair: Vec<CompareRow> = Vec::with_capacity(2);
            for mode in [Mode::Pooled, Mode::Fresh] {
                if let Some(bar) = &bar {
                    bar.set_message(format!("{engine} {workload} {mode}"));
                }
                let plan = Plan {
                    time_budget: Some(options.budget),
                    ..Plan::new(options.requests, options.concurrency, mode)
                };
                let report = run(engine, &job, &config, &plan)?;
                pair.push(row(engine, workload, &report));
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            }
            if let Some(bar) = &bar {
                bar.set_message(format!("{engine} {workload} memory"));
            }
            let memory = idle_memory_of_workload(
                engine,
                workload,
                &config,
                options.memory_instances,
                options.memory_probe.as_deref(),
            )?;
            let speedup = (pair[1].ops_per_s > 0.0).then(|| pair[0].ops_per_s / pair[1].ops_per_s);
            for r in &mut pair {
                r.speedup = speedup;
            }
            let unisolated = idle_memory_of_workload(
                engine,
                workload,
                &PoolConfig {
                    isolation: pool_core::Isolation::None,
                    ..config.clone()
                },
                options.memory_instances,
                options.memory_probe.as_deref(),
            )?;
            pair[0].memory_per_idle_bytes = Some(memory.bytes);
            pair[0].memory_unisolated_bytes = Some(unisolated.bytes);
            pair[0].memory_method = Some(memory.method);
            rows.extend(pair);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(CompareReport {
        rows,
        requests_per_cell: options.requests,
        budget_s: options.budget.as_secs_f64(),
        concurrency: options.concurrency,
        machine: Machine::current(),
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

fn row(engine: EngineKind, workload: Workload, report: &RunReport) -> CompareRow {
    let expected = serde_json::to_string(&workload.expected()).unwrap_or_default();
    let ok = report.results.get(&expected).copied().unwrap_or(0);
    CompareRow {
        engine,
        workload: workload.name(),
        mode: report.mode,
        requests: report.requests,
        ok,
        errors: report.requests - ok,
        ops_per_s: report.ops_per_s,
        p50_us: report.p50_us,
        p99_us: report.p99_us,
        speedup: None,
        memory_per_idle_bytes: None,
        memory_unisolated_bytes: None,
        memory_method: None,
    }
}
