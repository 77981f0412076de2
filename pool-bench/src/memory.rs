//! Memory per idle instance: what an instance holds while it waits in the pool (after one use and its reset).

use std::path::Path;

use pool_core::{EngineError, PoolConfig, ScriptEngine};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendVisitor, EngineKind};
use crate::setup::{SetupError, engine_config};
use crate::workload::{Job, Workload};

/// How a memory figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryMethod {
    /// The engine's own heap accounting (`ScriptEngine::memory_usage`: QuickJS's runtime memory usage, Lua's
    /// `used_memory`), averaged over the instances.
    Engine,
    /// Growth of the process's resident set (`VmRSS`) while the instances were created, divided by their number.
    /// Measured in a fresh process where possible, since a process that freed memory before reuses it and
    /// under-reports.
    Rss,
}

impl MemoryMethod {
    /// The method's lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            MemoryMethod::Engine => "engine",
            MemoryMethod::Rss => "rss",
        }
    }
}

/// Memory per idle instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReading {
    /// Bytes per instance.
    pub bytes: u64,
    /// How it was measured.
    pub method: MemoryMethod,
    /// Instances measured.
    pub instances: usize,
}

/// Measures memory per idle instance of `engine` for `job`: creates `instances` bare instances (with the
/// isolation of `config`), runs one request on each and resets it, then asks the engine
/// ([`MemoryMethod::Engine`]) or, when the engine cannot tell or `force_rss` is set, measures the growth of this
/// process's resident set ([`MemoryMethod::Rss`]) while they are made, after one warm-up instance.
///
/// # Errors
/// The engine cannot be built or an instance cannot be created.
pub fn idle_memory(
    engine: EngineKind,
    job: &Job,
    config: &PoolConfig,
    instances: usize,
    force_rss: bool,
) -> Result<MemoryReading, SetupError> {
    engine.dispatch(MemoryVisitor {
        job,
        config,
        instances: instances.max(1),
        force_rss,
    })?
}

struct MemoryVisitor<'a> {
    job: &'a Job,
    config: &'a PoolConfig,
    instances: usize,
    force_rss: bool,
}

impl BackendVisitor for MemoryVisitor<'_> {
    type Output = Result<MemoryReading, SetupError>;
    fn visit<B: Backend>(self) -> Self::Output {
        let kind = B::KIND;
        let to_setup = |e: &dyn EngineError| SetupError::Engine {
            engine: kind,
            source: pool_core::ScriptError::new(e.kind(), e.to_string()),
        };
        let engine =
            B::bare(engine_config(self.job, self.config)).map_err(|source| SetupError::Engine {
                engine: kind,
                source,
            })?;
        let idle_instance = || {
            let mut vm = engine.create().map_err(|e| to_setup(&e))?;
            // One use and the reset the pool would do: the state an idle pooled instance is in. A failing request
            // still leaves a representative instance.
            let _ = self.job.request.run(&engine, &mut vm, 0);
            let _ = engine.reset(&mut vm);
            // Read now, while the garbage of this instance's request is the only garbage: an engine that counts
            // per thread (Boa) would otherwise credit its collection to whichever instance collects next.
            let size = engine.memory_usage(&mut vm);
            Ok::<_, SetupError>((vm, size))
        };
        // One instance made before the window and kept alive through it: what the first instance of a process
        // costs once (code pages, the engine's statics, the allocator's first arenas) is not charged to each.
        let warm_up = idle_instance()?;
        let before = resident_bytes();
        let mut vms = Vec::with_capacity(self.instances);
        for _ in 0..self.instances {
            vms.push(idle_instance()?);
        }
        let after = resident_bytes();
        let reported: Option<Vec<usize>> = vms.iter().map(|(_, size)| *size).collect();
        let n = self.instances as u64;
        let reading = match (reported, self.force_rss) {
            (Some(sizes), false) => MemoryReading {
                bytes: sizes.iter().map(|&b| b as u64).sum::<u64>() / n,
                method: MemoryMethod::Engine,
                instances: self.instances,
            },
            _ => MemoryReading {
                bytes: after.saturating_sub(before) / n,
                method: MemoryMethod::Rss,
                instances: self.instances,
            },
        };
        drop(vms);
        drop(warm_up);
        Ok(reading)
    }
}

/// Measures like [`idle_memory`], and when the engine cannot tell and `exe` is given, runs the RSS measurement in
/// a fresh process: `exe memory-probe --engine E --workload W --instances N`, which prints a [`MemoryReading`]
/// as JSON.
///
/// # Errors
/// As for [`idle_memory`]. A failing child process is not an error: the in-process RSS reading is kept.
pub fn idle_memory_of_workload(
    engine: EngineKind,
    workload: Workload,
    config: &PoolConfig,
    instances: usize,
    exe: Option<&Path>,
) -> Result<MemoryReading, SetupError> {
    let job = workload.job(engine.language());
    let reading = idle_memory(engine, &job, config, instances, false)?;
    if reading.method == MemoryMethod::Engine {
        return Ok(reading);
    }
    let Some(exe) = exe else { return Ok(reading) };
    let output = std::process::Command::new(exe)
        .args([
            "memory-probe",
            "--engine",
            engine.name(),
            "--workload",
            workload.name(),
            "--instances",
            &instances.to_string(),
            "--isolation",
            config.isolation.as_str(),
        ])
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            Ok(serde_json::from_slice::<MemoryReading>(&out.stdout).unwrap_or(reading))
        }
        _ => Ok(reading),
    }
}

/// The process's resident set in bytes (`VmRSS` in `/proc/self/status`), 0 where unavailable.
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kb = line
                    .strip_prefix("VmRSS:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim();
                kb.parse::<u64>().ok()
            })
        })
        .map_or(0, |kb| kb * 1024)
}
