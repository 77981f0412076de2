//! The reliability figures that are runs, not tests: `vmpool-bench deadline` (how long after its deadline a
//! runaway script's error arrives, over many hostile CPU runs) and `vmpool-bench soak` (resident memory and
//! thread count over a million acquire/run/reset/release cycles).
//!
//! Resident memory and the thread count are read from `/proc/self/status` (`VmRSS`, `Threads`); on a system
//! without it they are reported as `null`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use pool_core::{DestroyReason, EngineConfig, EngineError, ErrorKind, Limits, Pool, ScriptEngine};
use serde_json::json;

use crate::backend::{Backend, BackendVisitor, EngineKind, Language, NotCompiled};

/// A failure to set up a reliability run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReliabilityError {
    /// The engine is not in this build.
    #[error(transparent)]
    NotCompiled(#[from] NotCompiled),
    /// The engine or the pool could not be built, or a cycle of the soak failed.
    #[error("{0}")]
    Setup(String),
}

/// Resident memory (KiB) and thread count of this process, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ProcessStatus {
    /// `VmRSS`, in KiB.
    pub rss_kb: Option<u64>,
    /// `Threads`.
    pub threads: Option<u64>,
}

impl ProcessStatus {
    /// Reads the current values.
    pub fn now() -> Self {
        let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        };
        Self {
            rss_kb: field("VmRSS:"),
            threads: field("Threads:"),
        }
    }
}

/// Options of `vmpool-bench deadline`.
#[derive(Debug, Clone)]
pub struct DeadlineOptions {
    /// Hostile runs to make.
    pub runs: usize,
    /// The engine's `limits.timeout`.
    pub timeout: Duration,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// The runaway scripts of `deadline`, used in turn: loops, loops that catch the timeout, endless job chains,
/// backtracking, loops spread over frames.
pub fn hostile_cpu_scripts(engine: EngineKind) -> &'static [&'static str] {
    match engine.language() {
        Language::Lua => &[
            "while true do end",
            "while true do pcall(function() while true do end end) end",
            "local s = 0 while true do s = s + math.sqrt(s + 1) end",
            "local co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end",
            "return ('a'):rep(1e5):find('.-.-b')",
            "local function f(n) for i = 1, 1e4 do end if n > 0 then f(n - 1) f(n - 1) end end f(40)",
        ],
        // Boa: without the exponential recursion in `eval`, which only the carrier's deadline stops (it cannot
        // stop the thread, so 1000 of them would leave 1000 threads spinning; see engine-boa's docs).
        Language::JavaScript if engine == EngineKind::Boa => &[
            "for (;;) {}",
            "for (;;) { try { for (;;) {} } catch (e) {} }",
            "let s = 0; for (;;) { s += Math.sqrt(s + 1); }",
            "(function f() { return Promise.resolve().then(f); })(); 1",
        ],
        Language::JavaScript => &[
            "for (;;) {}",
            "for (;;) { try { for (;;) {} } catch (e) {} }",
            "let s = 0; for (;;) { s += Math.sqrt(s + 1); }",
            "(function f() { return Promise.resolve().then(f); })(); 1",
            "/^(a+)+$/.test('a'.repeat(40) + 'b')",
            "function f(n) { for (let i = 0; i < 1e4; i++) {} if (n > 0) { f(n - 1); f(n - 1); } } f(40); 1",
        ],
    }
}

/// Milliseconds at the usual percentiles.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort();
        let at = |q: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i].as_secs_f64() * 1000.0
        };
        Self {
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// What `vmpool-bench deadline` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadlineReport {
    /// The engine.
    pub engine: EngineKind,
    /// Hostile runs made.
    pub runs: usize,
    /// The configured `limits.timeout`, in milliseconds.
    pub timeout_ms: f64,
    /// Runs that ended with a `timeout` error.
    pub timeouts: usize,
    /// Runs that ended otherwise, by outcome (`ok`, or the error kind).
    pub other_outcomes: BTreeMap<String, usize>,
    /// From the deadline to the error (the call's duration minus the timeout; an engine whose own limit fires
    /// before the deadline counts 0).
    pub deadline_to_error: Percentiles,
    /// The whole call, from its start to the error, over the runs that timed out.
    pub call_duration: Percentiles,
    /// Instances the pool destroyed as tainted (every timed-out instance must be).
    pub discarded: u64,
    /// The process's thread count before and after the runs (the pool still alive).
    pub threads_before: Option<u64>,
    /// See `threads_before`.
    pub threads_after: Option<u64>,
}

impl fmt::Display for DeadlineReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.deadline_to_error;
        writeln!(
            f,
            "{}: {} hostile CPU runs with a timeout of {} ms: {} timed out, others {:?}",
            self.engine, self.runs, self.timeout_ms, self.timeouts, self.other_outcomes
        )?;
        writeln!(
            f,
            "deadline to error: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            d.p50_ms, d.p90_ms, d.p99_ms, d.max_ms
        )?;
        let c = &self.call_duration;
        writeln!(
            f,
            "call duration: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            c.p50_ms, c.p99_ms, c.max_ms
        )?;
        write!(
            f,
            "instances discarded: {} of {} timed out; threads {} -> {}",
            self.discarded,
            self.timeouts,
            opt(self.threads_before),
            opt(self.threads_after)
        )
    }
}

struct DeadlineRun<'a>(&'a DeadlineOptions);

impl BackendVisitor for DeadlineRun<'_> {
    type Output = Result<DeadlineReport, ReliabilityError>;

    fn visit<B: Backend>(self) -> Self::Output {
        let options = self.0;
        let limits = Limits {
            timeout: options.timeout,
            ..Limits::default()
        };
        let engine = B::pooled(EngineConfig::default().limits(limits)).map_err(|e| setup(&e))?;
        let pool = small_pool(engine)?;
        let scripts = hostile_cpu_scripts(B::KIND);
        let threads_before = ProcessStatus::now().threads;
        let before = pool.metrics().destroyed.get(DestroyReason::Tainted);
        let mut overshoot = Vec::with_capacity(options.runs);
        let mut durations = Vec::with_capacity(options.runs);
        let mut timeouts = 0;
        let mut other_outcomes = BTreeMap::new();
        let bar = options.progress.then(|| quiet_bar(options.runs as u64));
        if let Some(bar) = &bar {
            bar.set_message("hostile runs");
        }
        for i in 0..options.runs {
            let mut vm = pool.acquire().map_err(|e| setup(&e))?;
            let started = Instant::now();
            let result = vm.eval(scripts[i % scripts.len()]);
            let elapsed = started.elapsed();
            drop(vm);
            match result {
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    timeouts += 1;
                    overshoot.push(elapsed.saturating_sub(options.timeout));
                    durations.push(elapsed);
                }
                Err(e) => *other_outcomes.entry(e.kind().to_string()).or_insert(0) += 1,
                Ok(_) => *other_outcomes.entry("ok".to_owned()).or_insert(0) += 1,
            }
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let discarded = pool.metrics().destroyed.get(DestroyReason::Tainted) - before;
        let threads_after = ProcessStatus::now().threads;
        drop(pool);
        Ok(DeadlineReport {
            engine: B::KIND,
            runs: options.runs,
            timeout_ms: options.timeout.as_secs_f64() * 1000.0,
            timeouts,
            other_outcomes,
            deadline_to_error: Percentiles::of(overshoot),
            call_duration: Percentiles::of(durations),
            discarded,
            threads_before,
            threads_after,
        })
    }
}

fn setup(e: &dyn std::error::Error) -> ReliabilityError {
    ReliabilityError::Setup(e.to_string())
}

/// A pool of one or two instances, warm, without waits, with a maintenance thread as a server has.
fn small_pool<E: ScriptEngine>(engine: E) -> Result<Pool<E>, ReliabilityError>
where
    E::Vm: Send,
{
    Pool::builder(engine)
        .max_size(2)
        .preload_size(1)
        .acquire_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| setup(&e))
}

/// Runs `deadline` on `engine`.
///
/// # Errors
/// The engine is not compiled in, or the engine or pool cannot be built.
pub fn deadline(
    engine: EngineKind,
    options: &DeadlineOptions,
) -> Result<DeadlineReport, ReliabilityError> {
    engine.dispatch(DeadlineRun(options))?
}

/// Options of `vmpool-bench soak`.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Acquire/run/reset/release cycles in all.
    pub cycles: u64,
    /// Cycles before the baseline reading (memory grows while caches and the allocator warm up).
    pub warmup: u64,
    /// Readings taken after the warm-up (evenly spaced; the last at the end).
    pub samples: u64,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl SoakOptions {
    /// `cycles` cycles, a warm-up of 10% (at least 1000, at most half), 20 readings.
    pub fn new(cycles: u64) -> Self {
        Self {
            cycles,
            warmup: (cycles / 10).max(1000).min(cycles / 2),
            samples: 20,
            progress: false,
        }
    }
}

/// The handler every soak cycle calls: it reads its input, allocates, and leaves a global behind for the reset
/// to remove.
pub fn soak_prelude(language: Language) -> &'static str {
    match language {
        Language::JavaScript => {
            "function handle(input, i) {\n  globalThis['left' + (i % 8)] = { i, items: input.items.map((x) => x * 2) };\n  return input.items.reduce((a, b) => a + b, 0) + i;\n}\n"
        }
        Language::Lua => {
            "function handle(input, i)\n  _G['left' .. (i % 8)] = { i = i }\n  local s = 0\n  for _, v in ipairs(input.items) do s = s + v * 2 end\n  return s + i\nend\n"
        }
    }
}

/// One reading of the soak.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SoakSample {
    /// Cycles done when it was taken.
    pub cycle: u64,
    /// The process's status then.
    #[serde(flatten)]
    pub status: ProcessStatus,
}

/// What `vmpool-bench soak` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SoakReport {
    /// The engine.
    pub engine: EngineKind,
    /// Cycles made.
    pub cycles: u64,
    /// Cycles before the baseline.
    pub warmup: u64,
    /// Cycles that failed (must be 0).
    pub errors: u64,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// Resident memory after the warm-up, in KiB.
    pub rss_kb_baseline: Option<u64>,
    /// Resident memory at the end, in KiB.
    pub rss_kb_end: Option<u64>,
    /// Largest resident memory after the warm-up, in KiB.
    pub rss_kb_max: Option<u64>,
    /// `(end - baseline) / baseline`, in percent.
    pub rss_drift_percent: Option<f64>,
    /// `(max - baseline) / baseline`, in percent.
    pub rss_max_drift_percent: Option<f64>,
    /// Thread count after the warm-up.
    pub threads_baseline: Option<u64>,
    /// Fewest and most threads over the readings after the warm-up.
    pub threads_min: Option<u64>,
    /// See `threads_min`.
    pub threads_max: Option<u64>,
    /// Instances created over the run (a steady pool creates none after the warm-up).
    pub created: u64,
    /// Instances destroyed over the run.
    pub destroyed: u64,
    /// The readings.
    pub samples: Vec<SoakSample>,
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} acquire/run/reset/release cycles in {:.1} s ({} errors), warm-up {} cycles",
            self.engine, self.cycles, self.seconds, self.errors, self.warmup
        )?;
        writeln!(
            f,
            "resident memory: {} KiB after warm-up, {} KiB at the end (drift {} %), max {} KiB ({} %)",
            opt(self.rss_kb_baseline),
            opt(self.rss_kb_end),
            pct(self.rss_drift_percent),
            opt(self.rss_kb_max),
            pct(self.rss_max_drift_percent)
        )?;
        write!(
            f,
            "threads: {} after warm-up, {}..{} over the run; instances created {}, destroyed {}",
            opt(self.threads_baseline),
            opt(self.threads_min),
            opt(self.threads_max),
            self.created,
            self.destroyed
        )
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:+.2}"))
}

/// A progress bar that redraws only when moved: no ticker thread, which the thread counts of `deadline` and
/// `soak` would see.
fn quiet_bar(steps: u64) -> indicatif::ProgressBar {
    let bar = crate::format::steps_bar(steps);
    bar.disable_steady_tick();
    bar
}

/// Soak cycles between moves of the progress bar (a cycle takes microseconds).
const BAR_STEP: u64 = 1024;

struct SoakRun<'a>(&'a SoakOptions);

impl BackendVisitor for SoakRun<'_> {
    type Output = Result<SoakReport, ReliabilityError>;

    fn visit<B: Backend>(self) -> Self::Output {
        let options = self.0;
        let engine = B::pooled(EngineConfig::new(soak_prelude(B::KIND.language())))
            .map_err(|e| setup(&e))?;
        let pool = small_pool(engine)?;
        let input = json!({ "items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
        let started = Instant::now();
        let mut errors = 0u64;
        let mut baseline: Option<ProcessStatus> = None;
        let mut samples = Vec::new();
        let every = ((options.cycles - options.warmup) / options.samples.max(1)).max(1);
        let bar = options.progress.then(|| quiet_bar(options.cycles));
        if let Some(bar) = &bar {
            bar.set_message("cycles");
        }
        for i in 0..options.cycles {
            if let Some(bar) = &bar
                && i % BAR_STEP == 0
            {
                bar.set_position(i);
            }
            let result = pool
                .acquire()
                .map_err(|e| e.to_string())
                .and_then(|mut vm| {
                    vm.call("handle", &[input.clone(), json!(i)])
                        .map_err(|e| e.to_string())
                });
            if result.is_err() {
                errors += 1;
            }
            let done = i + 1;
            if done == options.warmup {
                baseline = Some(ProcessStatus::now());
            } else if done > options.warmup
                && ((done - options.warmup).is_multiple_of(every) || done == options.cycles)
            {
                samples.push(SoakSample {
                    cycle: done,
                    status: ProcessStatus::now(),
                });
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let m = pool.metrics();
        drop(pool);
        let baseline = baseline.unwrap_or_else(ProcessStatus::now);
        let end = samples.last().map_or(baseline, |s| s.status);
        let rss_max = samples.iter().filter_map(|s| s.status.rss_kb).max();
        let drift = |to: Option<u64>| match (baseline.rss_kb, to) {
            #[allow(clippy::cast_precision_loss)]
            (Some(b), Some(t)) if b > 0 => Some((t as f64 - b as f64) / b as f64 * 100.0),
            _ => None,
        };
        Ok(SoakReport {
            engine: B::KIND,
            cycles: options.cycles,
            warmup: options.warmup,
            errors,
            seconds,
            rss_kb_baseline: baseline.rss_kb,
            rss_kb_end: end.rss_kb,
            rss_kb_max: rss_max,
            rss_drift_percent: drift(end.rss_kb),
            rss_max_drift_percent: drift(rss_max),
            threads_baseline: baseline.threads,
            threads_min: samples.iter().filter_map(|s| s.status.threads).min(),
            threads_max: samples.iter().filter_map(|s| s.status.threads).max(),
            created: m.created,
            destroyed: m.destroyed.total(),
            samples,
        })
    }
}

/// Runs `soak` on `engine`.
///
/// # Errors
/// The engine is not compiled in, or the engine or pool cannot be built.
pub fn soak(engine: EngineKind, options: &SoakOptions) -> Result<SoakReport, ReliabilityError> {
    engine.dispatch(SoakRun(options))?
}
