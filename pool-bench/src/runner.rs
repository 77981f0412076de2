//! Runs a [`Job`] through a pool (or on a fresh instance per request) from several threads and measures it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pool_core::host::{CallContext, ConsoleLine};
use pool_core::{
    EngineError, ErrorKind, Isolation, Metrics, Pool, PoolConfig, ScriptEngine, ScriptError, Value,
};
use serde::Serialize;

use crate::backend::{Backend, BackendVisitor, EngineKind, Language};
use crate::setup::{SetupError, engine_config};
use crate::workload::{Job, Request};

/// Most distinct result values listed in a report; the rest are counted under `other`.
pub const MAX_DISTINCT_RESULTS: usize = 20;

/// Distinct result values each worker tracks before counting new ones as `other` (bounds memory when every
/// request returns something different).
const TRACKED_RESULTS: usize = 1024;

/// How requests get an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Through a [`Pool`]: acquire, request, release (the reset included).
    Pooled,
    /// A fresh instance per request: create (with the prelude), request, drop, as without a pool. Fresh
    /// instances are built with `Isolation::None`: an instance used once needs no reset, and strict lockdown
    /// would add several milliseconds to every QuickJS creation.
    Fresh,
    /// No pool: each thread creates one instance before the clock starts (under the configured isolation) and
    /// resets it after every request, as the pool would; an instance whose request or reset failed is replaced.
    /// The pool's own cost is the difference from [`Mode::Pooled`]. Used by `vmpool-bench scale`; not offered by
    /// `run`.
    #[value(skip)]
    Private,
}

impl Mode {
    /// The mode's lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Pooled => "pooled",
            Mode::Fresh => "fresh",
            Mode::Private => "private",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much to run and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Requests to make (request indices `0..requests`).
    pub requests: u64,
    /// Threads making requests at once.
    pub concurrency: usize,
    /// Pooled or fresh.
    pub mode: Mode,
    /// Stop starting new requests after this long (each thread still makes at least one). `None`: run them all.
    pub time_budget: Option<Duration>,
    /// A progress bar to advance, if any.
    pub progress: Option<indicatif::ProgressBar>,
    /// Whether every request (pooled and fresh modes) runs with a [`CallContext`] of its own, as a server attaches
    /// one per request (`call_with`; the id is the request's index). `vmpool-bench run` sets it.
    pub contexts: bool,
    /// The first this many requests (pooled and fresh modes) capture their console lines into
    /// [`RunReport::console`] (with a context of their own, whatever [`contexts`](Plan::contexts) says).
    pub console_requests: u64,
    /// Pooled mode: after every this many requests, a thread of its own builds the engine again and
    /// [reloads](pool_core::Pool::reload) the pool with it while the requests go on (`vmpool-bench run
    /// --reload-every N`).
    pub reload_every: Option<u64>,
}

impl Plan {
    /// `requests` requests from `concurrency` threads in `mode`, no time budget, no progress bar, no contexts.
    pub fn new(requests: u64, concurrency: usize, mode: Mode) -> Self {
        Self {
            requests,
            concurrency,
            mode,
            time_budget: None,
            progress: None,
            contexts: false,
            console_requests: 0,
            reload_every: None,
        }
    }

    /// The context request `index` runs with, if any.
    fn context(&self, index: u64) -> Option<CallContext> {
        if index < self.console_requests {
            Some(CallContext::new(index.to_string()).capture_console())
        } else {
            self.contexts.then(|| CallContext::new(index.to_string()))
        }
    }
}

/// The console lines one request logged (`vmpool-bench run --logs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestConsole {
    /// The request's index.
    pub request: u64,
    /// The lines, in order, within the per-call caps.
    pub lines: Vec<ConsoleLine>,
    /// Lines dropped past the caps.
    pub dropped: u64,
}

/// Collects the console of the first requests of a run.
#[derive(Default)]
struct Consoles(Mutex<Vec<RequestConsole>>);

impl Consoles {
    fn keep(&self, plan: &Plan, index: u64, context: Option<&CallContext>) {
        if index >= plan.console_requests {
            return;
        }
        if let Some(ctx) = context {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(RequestConsole {
                    request: index,
                    lines: ctx.console(),
                    dropped: ctx.dropped_lines(),
                });
        }
    }

    fn into_sorted(self) -> Vec<RequestConsole> {
        let mut all = self.0.into_inner().unwrap_or_else(PoisonError::into_inner);
        all.sort_by_key(|c| c.request);
        all
    }
}

/// The pool's counters after a run, in the guide's terms. For fresh runs: one instance created and destroyed per
/// request that got one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricsSummary {
    /// Instances created since the start.
    pub created: u64,
    /// Instances destroyed since the start.
    pub destroyed: u64,
    /// Instances in use at the end.
    pub in_use: u64,
    /// Idle instances at the end.
    pub available: u64,
    /// Instances handed out.
    pub total_uses: u64,
    /// Errors as the guide counts them (failed creations plus failed calls).
    pub errors: u64,
}

impl From<&Metrics> for MetricsSummary {
    fn from(m: &Metrics) -> Self {
        Self {
            created: m.created,
            destroyed: m.destroyed.total(),
            in_use: m.in_use as u64,
            available: m.available as u64,
            total_uses: m.total_uses,
            errors: m.errors(),
        }
    }
}

impl MetricsSummary {
    /// The counters of a run without a pool: every instance created is destroyed by the end.
    fn unpooled(created: u64, total_uses: u64, tally: &Tally) -> Self {
        Self {
            created,
            destroyed: created,
            in_use: 0,
            available: 0,
            total_uses,
            errors: tally.errors.values().sum(),
        }
    }
}

/// The guide's line, as pool-core prints it (`Created` counts live instances).
impl fmt::Display for MetricsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[VM Pool Metrics] Created: {}, InUse: {}, Available: {}, TotalUses: {}, Errors: {}",
            self.created.saturating_sub(self.destroyed),
            self.in_use,
            self.available,
            self.total_uses,
            self.errors
        )
    }
}

/// The measurements of one run; serialises to the `vmpool-bench run --json` object.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The engine.
    pub engine: EngineKind,
    /// Pooled or fresh.
    pub mode: Mode,
    /// The isolation policy of the pooled instances (`none` for fresh ones).
    pub isolation: Isolation,
    /// Requests made (fewer than planned only when a time budget ran out).
    pub requests: u64,
    /// Threads making requests at once.
    pub concurrency: usize,
    /// Requests that returned a value.
    pub ok: u64,
    /// Failed requests by error kind (every kind is listed, most with 0).
    pub errors: BTreeMap<&'static str, u64>,
    /// The first error message seen of each kind that occurred.
    pub error_examples: BTreeMap<&'static str, String>,
    /// Wall time of the requests (after the pool was built).
    pub elapsed_s: f64,
    /// Requests per second.
    pub ops_per_s: f64,
    /// Median request latency, in microseconds.
    pub p50_us: f64,
    /// 99th percentile request latency, in microseconds.
    pub p99_us: f64,
    /// The pool's counters at the end.
    pub metrics: MetricsSummary,
    /// Each distinct result (as JSON text) with its count; at most [`MAX_DISTINCT_RESULTS`] of them, the rest
    /// under the key `other` (never valid JSON, so it cannot clash with a result).
    pub results: BTreeMap<String, u64>,
    /// The console lines of the first [`Plan::console_requests`] requests, by request (left out of the JSON when
    /// there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub console: Vec<RequestConsole>,
    /// With [`Plan::reload_every`]: what the reloads cost (left out of the JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reloads: Option<ReloadSummary>,
}

/// The reloads of a run with [`Plan::reload_every`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReloadSummary {
    /// Reloads that replaced the engine.
    pub reloads: u64,
    /// Reloads that failed (the pool kept its engine).
    pub failed: u64,
    /// Mean time of one reload: building the engine and [`Pool::reload`](pool_core::Pool::reload).
    pub mean_reload_ms: f64,
    /// Requests that started while a reload ran or among the first `concurrency` after it returned (those that
    /// meet the old generation's instances being destroyed and the new one's being created).
    pub affected_requests: u64,
    /// The 99th percentile latency of those requests, in microseconds.
    pub affected_p99_us: f64,
    /// The pool's generation at the end.
    pub generation: u64,
}

impl RunReport {
    /// Failed requests, all kinds together.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The human summary: throughput, latency, errors by kind, results, and the metrics line last.
impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} ({} isolation), {} requests from {} thread(s)",
            self.engine, self.mode, self.isolation, self.requests, self.concurrency
        )?;
        writeln!(
            f,
            "  throughput  {} ops/s ({:.3} s)",
            crate::format::ops(self.ops_per_s),
            self.elapsed_s
        )?;
        writeln!(
            f,
            "  latency     p50 {}, p99 {}",
            crate::format::micros(self.p50_us),
            crate::format::micros(self.p99_us)
        )?;
        writeln!(f, "  ok          {}", self.ok)?;
        let failed: Vec<String> = self
            .errors
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        if failed.is_empty() {
            writeln!(f, "  errors      0")?;
        } else {
            writeln!(
                f,
                "  errors      {} ({})",
                self.error_count(),
                failed.join(", ")
            )?;
            for (kind, message) in &self.error_examples {
                writeln!(f, "    {kind}, e.g. {message}")?;
            }
        }
        if !self.results.is_empty() {
            writeln!(f, "  results")?;
            let mut by_count: Vec<_> = self.results.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (value, count) in by_count {
                let shown = if value.chars().count() > 70 {
                    let cut: String = value.chars().take(67).collect();
                    format!("{cut}...")
                } else {
                    value.clone()
                };
                writeln!(f, "    {count:>8} x {shown}")?;
            }
        }
        if let Some(r) = &self.reloads {
            writeln!(
                f,
                "  reloads     {} ({} failed; {:.2} ms each), now generation {}; p99 of the {} requests during a reload {}",
                r.reloads,
                r.failed,
                r.mean_reload_ms,
                r.generation,
                r.affected_requests,
                crate::format::micros(r.affected_p99_us)
            )?;
        }
        if !self.console.is_empty() {
            writeln!(
                f,
                "  console of the first {} request(s)",
                self.console.len()
            )?;
            for request in &self.console {
                if request.lines.is_empty() && request.dropped == 0 {
                    writeln!(f, "    request {}: no lines", request.request)?;
                }
                for line in &request.lines {
                    writeln!(
                        f,
                        "    request {} {:<5} {}",
                        request.request, line.level, line.text
                    )?;
                }
                if request.dropped > 0 {
                    writeln!(
                        f,
                        "    request {}: {} more line(s) dropped (past the console caps)",
                        request.request, request.dropped
                    )?;
                }
            }
        }
        write!(f, "{}", self.metrics)
    }
}

/// Runs `job` on `engine` as `plan` says, with the pool (and engine limits and isolation) of `config`.
///
/// Requests that fail are counted by kind and the run goes on. Before any request, the function a
/// [`Request::Call`] names is checked on a probe instance.
///
/// # Errors
/// [`SetupError`]: the engine is not compiled in, the engine or the pool cannot be built (naming the key or the
/// line), the function to call does not exist, or a thread cannot start.
pub fn run(
    engine: EngineKind,
    job: &Job,
    config: &PoolConfig,
    plan: &Plan,
) -> Result<RunReport, SetupError> {
    engine.dispatch(RunVisitor { job, config, plan })?
}

struct RunVisitor<'a> {
    job: &'a Job,
    config: &'a PoolConfig,
    plan: &'a Plan,
}

impl BackendVisitor for RunVisitor<'_> {
    type Output = Result<RunReport, SetupError>;
    fn visit<B: Backend>(self) -> Self::Output {
        run_backend::<B>(self.job, self.config, self.plan)
    }
}

fn run_backend<B: Backend>(
    job: &Job,
    config: &PoolConfig,
    plan: &Plan,
) -> Result<RunReport, SetupError> {
    let kind = B::KIND;
    let engine_error = |source| SetupError::Engine {
        engine: kind,
        source,
    };
    let stack = B::thread_stack_bytes(&config.limits);
    let request = &job.request;
    let consoles = Consoles::default();
    let (tally, elapsed, metrics, isolation) = match plan.mode {
        Mode::Pooled => {
            let engine = B::pooled(engine_config(job, config)).map_err(engine_error)?;
            check_function(&engine, kind, request)?;
            let pool = Pool::new(engine, config.clone()).map_err(|e| SetupError::Pool {
                engine: kind,
                message: e.to_string(),
            })?;
            let reloader = plan
                .reload_every
                .map(|every| Reloader::new(every.max(1), plan.concurrency));
            let (tally, elapsed) = std::thread::scope(|scope| {
                let reloads = reloader.as_ref().map(|r| {
                    let build = || B::pooled(engine_config(job, config));
                    let pool = &pool;
                    scope.spawn(move || {
                        r.serve(|| build().map(|engine| pool.reload(engine).map(drop)))
                    })
                });
                let driven = drive(
                    plan,
                    stack,
                    || (),
                    |(), index| {
                        // The request's own start, for the reloader only (the driver times every request).
                        let began = reloader.as_ref().map(|_| Instant::now());
                        let outcome = match pool.acquire() {
                            Ok(mut vm) => {
                                let context = plan.context(index);
                                let result =
                                    request.run_pooled_with(&mut vm, context.as_ref(), index);
                                drop(vm); // the release (and reset) is part of the request's cost
                                consoles.keep(plan, index, context.as_ref());
                                result.map_err(|e| (e.kind(), e.to_string()))
                            }
                            Err(e) => Err((e.kind(), e.to_string())),
                        };
                        if let (Some(r), Some(began)) = (&reloader, began) {
                            r.after_request(index, began);
                        }
                        outcome
                    },
                );
                if let Some(r) = &reloader {
                    r.finish();
                }
                if let Some(handle) = reloads {
                    let _ = handle.join();
                }
                driven
            })?;
            let final_metrics = pool.metrics();
            let metrics = MetricsSummary::from(&final_metrics);
            let summary = reloader.map(|r| r.summary(final_metrics.generation));
            let mut report = tally.into_report(kind, plan, config.isolation, elapsed, metrics);
            report.console = consoles.into_sorted();
            report.reloads = summary;
            return Ok(report);
        }
        Mode::Fresh => {
            let engine = B::bare(engine_config(job, config).isolation(Isolation::None))
                .map_err(engine_error)?;
            check_function(&engine, kind, request)?;
            let created = AtomicU64::new(0);
            let (tally, elapsed) = drive(
                plan,
                stack,
                || (),
                |(), index| match engine.create() {
                    Ok(mut vm) => {
                        created.fetch_add(1, Ordering::Relaxed);
                        let context = plan.context(index);
                        let result = request.run_with(&engine, &mut vm, context.as_ref(), index);
                        drop(vm);
                        consoles.keep(plan, index, context.as_ref());
                        result.map_err(|e| (e.kind(), e.to_string()))
                    }
                    Err(e) => Err((e.kind(), e.to_string())),
                },
            )?;
            let created = created.into_inner();
            let metrics = MetricsSummary::unpooled(created, created, &tally);
            (tally, elapsed, metrics, Isolation::None)
        }
        Mode::Private => {
            let engine = B::bare(engine_config(job, config)).map_err(engine_error)?;
            check_function(&engine, kind, request)?;
            let created = AtomicU64::new(0);
            let create = || {
                let vm = engine.create().map_err(|e| (e.kind(), e.to_string()));
                if vm.is_ok() {
                    created.fetch_add(1, Ordering::Relaxed);
                }
                vm
            };
            let (tally, elapsed) = drive(plan, stack, create, |vm, index| {
                let outcome = match vm {
                    Ok(vm) => request
                        .run(&engine, vm, index)
                        .map_err(|e| (e.kind(), e.to_string()))
                        .and_then(|value| {
                            engine.reset(vm).map_err(|e| (e.kind(), e.to_string()))?;
                            Ok(value)
                        }),
                    Err(e) => Err(e.clone()),
                };
                if outcome.is_err() {
                    *vm = create();
                }
                outcome
            })?;
            let uses = tally.latencies_ns.len() as u64;
            let metrics = MetricsSummary::unpooled(created.into_inner(), uses, &tally);
            (tally, elapsed, metrics, config.isolation)
        }
    };
    let mut report = tally.into_report(kind, plan, isolation, elapsed, metrics);
    report.console = consoles.into_sorted();
    Ok(report)
}

/// Checks on a probe instance that the function a call request names exists.
fn check_function<E: ScriptEngine>(
    engine: &E,
    kind: EngineKind,
    request: &Request,
) -> Result<(), SetupError> {
    let Request::Call { function, .. } = request else {
        return Ok(());
    };
    let valid = !function.is_empty()
        && !function.starts_with(|c: char| c.is_ascii_digit())
        && function.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '_' || (c == '$' && kind.language() != Language::Lua)
        });
    if !valid {
        return Err(SetupError::MissingFunction(format!(
            "`{function}` is not a valid global function name"
        )));
    }
    let check = match kind.language() {
        Language::JavaScript => format!("typeof {function} === 'function'"),
        Language::Lua => format!("type({function}) == 'function'"),
    };
    let mut vm = engine.create().map_err(|e| SetupError::Engine {
        engine: kind,
        source: ScriptError::new(e.kind(), e.to_string()),
    })?;
    match engine.eval(&mut vm, &check) {
        Ok(Value::Bool(true)) => Ok(()),
        Ok(_) => Err(SetupError::MissingFunction(format!(
            "the script defines no global function `{function}` (each request calls it; name another with --call)"
        ))),
        Err(e) => Err(SetupError::MissingFunction(format!(
            "cannot check that the global function `{function}` exists: {e}"
        ))),
    }
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: BTreeMap<ErrorKind, u64>,
    examples: BTreeMap<ErrorKind, String>,
    results: HashMap<String, u64>,
    other_results: u64,
    latencies_ns: Vec<u64>,
}

impl Tally {
    fn record(&mut self, outcome: Result<Value, (ErrorKind, String)>, latency: Duration) {
        self.latencies_ns
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
        match outcome {
            Ok(value) => {
                self.ok += 1;
                let text = serde_json::to_string(&value).unwrap_or_else(|_| "null".to_owned());
                if let Some(n) = self.results.get_mut(&text) {
                    *n += 1;
                } else if self.results.len() < TRACKED_RESULTS {
                    self.results.insert(text, 1);
                } else {
                    self.other_results += 1;
                }
            }
            Err((kind, message)) => {
                *self.errors.entry(kind).or_default() += 1;
                self.examples.entry(kind).or_insert_with(|| {
                    // Engine errors print as "kind: message"; the kind is already the key.
                    let prefix = format!("{kind}: ");
                    message
                        .strip_prefix(&prefix)
                        .map_or(message.clone(), str::to_owned)
                });
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        for (k, m) in other.examples {
            self.examples.entry(k).or_insert(m);
        }
        for (v, n) in other.results {
            *self.results.entry(v).or_default() += n;
        }
        self.other_results += other.other_results;
        self.latencies_ns.extend(other.latencies_ns);
    }

    fn into_report(
        mut self,
        engine: EngineKind,
        plan: &Plan,
        isolation: Isolation,
        elapsed: Duration,
        metrics: MetricsSummary,
    ) -> RunReport {
        self.latencies_ns.sort_unstable();
        let requests = self.latencies_ns.len() as u64;
        let elapsed_s = elapsed.as_secs_f64();
        let mut distinct: Vec<(String, u64)> = self.results.into_iter().collect();
        distinct.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut other = self.other_results;
        for (_, n) in distinct.drain(distinct.len().min(MAX_DISTINCT_RESULTS)..) {
            other += n;
        }
        let mut results: BTreeMap<String, u64> = distinct.into_iter().collect();
        if other > 0 {
            results.insert("other".to_owned(), other);
        }
        RunReport {
            engine,
            mode: plan.mode,
            isolation,
            requests,
            concurrency: plan.concurrency,
            ok: self.ok,
            errors: ErrorKind::ALL
                .iter()
                .map(|k| (k.as_str(), self.errors.get(k).copied().unwrap_or(0)))
                .collect(),
            error_examples: self
                .examples
                .into_iter()
                .map(|(k, m)| (k.as_str(), m))
                .collect(),
            elapsed_s,
            ops_per_s: rate(requests, elapsed),
            p50_us: percentile(&self.latencies_ns, 0.50) / 1000.0,
            p99_us: percentile(&self.latencies_ns, 0.99) / 1000.0,
            metrics,
            results,
            console: Vec::new(),
            reloads: None,
        }
    }
}

/// Reloads a pool every `every` requests from a thread of its own, and measures what that costs the requests.
struct Reloader {
    every: u64,
    concurrency: u64,
    /// The index of the last request that asked for a reload (`u64::MAX`: none yet), and whether the run ended.
    wanted: Mutex<(u64, bool)>,
    wake: Condvar,
    /// Set while a reload runs.
    busy: AtomicBool,
    /// Requests with an index below this started within `concurrency` requests after a reload returned.
    affected_below: AtomicU64,
    affected_ns: Mutex<Vec<u64>>,
    done: AtomicU64,
    failed: AtomicU64,
    reload_ns: AtomicU64,
    /// The index of the next request to start, as the reloader last saw it.
    started: AtomicU64,
}

impl Reloader {
    fn new(every: u64, concurrency: usize) -> Self {
        Self {
            every,
            concurrency: concurrency as u64,
            wanted: Mutex::new((u64::MAX, false)),
            wake: Condvar::new(),
            busy: AtomicBool::new(false),
            affected_below: AtomicU64::new(0),
            affected_ns: Mutex::new(Vec::new()),
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            reload_ns: AtomicU64::new(0),
            started: AtomicU64::new(0),
        }
    }

    /// Notes request `index`, which began at `began`: its latency if a reload affected it, and a reload to do
    /// when it completes another `every` requests.
    fn after_request(&self, index: u64, began: Instant) {
        self.started.fetch_max(index + 1, Ordering::Relaxed);
        if self.busy.load(Ordering::Relaxed) || index < self.affected_below.load(Ordering::Relaxed)
        {
            let ns = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.affected_ns
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(ns);
        }
        if (index + 1).is_multiple_of(self.every) {
            let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
            wanted.0 = index;
            self.wake.notify_one();
        }
    }

    /// Ends [`serve`](Reloader::serve).
    fn finish(&self) {
        self.wanted.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
        self.wake.notify_one();
    }

    /// Runs `reload` each time requests ask for one (once for several that ask while one runs), until
    /// [`finish`](Reloader::finish) with no reload pending.
    fn serve<X, Y>(&self, reload: impl Fn() -> Result<Result<(), Y>, X>) {
        let mut served = u64::MAX;
        loop {
            {
                let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
                while wanted.0 == served && !wanted.1 {
                    wanted = self
                        .wake
                        .wait(wanted)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                // A reload asked for is made even when the run ended meanwhile.
                if wanted.0 == served {
                    return;
                }
                served = wanted.0;
            }
            self.busy.store(true, Ordering::Relaxed);
            let began = Instant::now();
            let ok = matches!(reload(), Ok(Ok(())));
            let ns = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.reload_ns.fetch_add(ns, Ordering::Relaxed);
            self.affected_below.store(
                self.started.load(Ordering::Relaxed) + self.concurrency,
                Ordering::Relaxed,
            );
            self.busy.store(false, Ordering::Relaxed);
            if ok {
                self.done.fetch_add(1, Ordering::Relaxed);
            } else {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn summary(self, generation: u64) -> ReloadSummary {
        let (done, failed) = (self.done.into_inner(), self.failed.into_inner());
        let mut affected = self
            .affected_ns
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        affected.sort_unstable();
        let attempts = done + failed;
        ReloadSummary {
            reloads: done,
            failed,
            mean_reload_ms: if attempts == 0 {
                0.0
            } else {
                self.reload_ns.into_inner() as f64 / attempts as f64 / 1e6
            },
            affected_requests: affected.len() as u64,
            affected_p99_us: percentile(&affected, 0.99) / 1000.0,
            generation,
        }
    }
}

/// The nearest-rank percentile of sorted values (0 for none).
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// Runs `one(state, index)` for every request index from `plan.concurrency` threads, each with its own `state`
/// made by `init` on that thread; returns the merged tally and the wall time from the moment every thread had made
/// its state to the end of the last request.
fn drive<S>(
    plan: &Plan,
    stack_bytes: usize,
    init: impl Fn() -> S + Sync,
    one: impl Fn(&mut S, u64) -> Result<Value, (ErrorKind, String)> + Sync,
) -> Result<(Tally, Duration), SetupError> {
    let threads = plan.concurrency.max(1);
    let next = AtomicU64::new(0);
    let gate = Gate::default();
    let ready = Barrier::new(threads + 1);
    // The first worker's start and the last worker's end.
    let (mut start, mut end) = (None::<Instant>, None::<Instant>);
    let mut total = Tally::default();
    std::thread::scope(|scope| -> Result<(), SetupError> {
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let spawned = std::thread::Builder::new()
                .name(format!("vmpool-bench-{i}"))
                .stack_size(stack_bytes)
                .spawn_scoped(scope, || {
                    if !gate.wait() {
                        let now = Instant::now();
                        return (Tally::default(), now, now);
                    }
                    // Every started worker reaches the barrier, even if making its state panics.
                    let state = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&init));
                    ready.wait();
                    match state {
                        Ok(mut state) => {
                            let began = Instant::now();
                            let tally = worker(plan, &next, &mut |index| one(&mut state, index));
                            // The last request's end, before the state (an instance) is dropped.
                            let ended = Instant::now();
                            drop(state);
                            (tally, began, ended)
                        }
                        Err(payload) => std::panic::resume_unwind(payload),
                    }
                });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    gate.open(false);
                    return Err(SetupError::Thread(e));
                }
            }
        }
        gate.open(true);
        ready.wait();
        for w in workers {
            match w.join() {
                Ok((tally, began, ended)) => {
                    total.merge(tally);
                    start = Some(start.map_or(began, |s| s.min(began)));
                    end = Some(end.map_or(ended, |e| e.max(ended)));
                }
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        Ok(())
    })?;
    let elapsed = match (start, end) {
        (Some(start), Some(end)) => end.saturating_duration_since(start),
        _ => Duration::ZERO,
    };
    if let Some(pb) = &plan.progress {
        pb.finish_and_clear();
    }
    Ok((total, elapsed))
}

/// Requests per second of `one`, run as `plan` says (its mode is not looked at), with no engine and no pool.
pub(crate) fn rate_of(
    plan: &Plan,
    one: impl Fn(u64) -> Result<Value, (ErrorKind, String)> + Sync,
) -> Result<f64, SetupError> {
    let (tally, elapsed) = drive(plan, 1 << 20, || (), |(), index| one(index))?;
    Ok(rate(tally.latencies_ns.len() as u64, elapsed))
}

/// Requests per second (0 when no time passed).
fn rate(requests: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        requests as f64 / seconds
    } else {
        0.0
    }
}

/// Holds the workers until every one is started, so that none races ahead while others are being spawned; or
/// sends them home if one could not be started.
#[derive(Default)]
struct Gate {
    state: Mutex<Option<bool>>,
    opened: Condvar,
}

impl Gate {
    fn open(&self, go: bool) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Some(go);
        self.opened.notify_all();
    }

    /// Whether to run.
    fn wait(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(go) = *state {
                return go;
            }
            state = self
                .opened
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

fn worker(
    plan: &Plan,
    next: &AtomicU64,
    one: &mut impl FnMut(u64) -> Result<Value, (ErrorKind, String)>,
) -> Tally {
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut unreported = 0u64;
    let mut last_report = started;
    loop {
        if let Some(budget) = plan.time_budget
            && !tally.latencies_ns.is_empty()
            && started.elapsed() >= budget
        {
            break;
        }
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.requests {
            break;
        }
        let t = Instant::now();
        let outcome = one(index);
        let latency = t.elapsed();
        tally.record(outcome, latency);
        if let Some(pb) = &plan.progress {
            unreported += 1;
            if unreported >= 64 || last_report.elapsed() >= Duration::from_millis(100) {
                pb.inc(unreported);
                unreported = 0;
                last_report = Instant::now();
            }
        }
    }
    if let Some(pb) = &plan.progress {
        pb.inc(unreported);
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler that fails when a global from an earlier request is still there (so it passes only if every
    /// instance is reset between requests), and throws on every index ending in 3.
    fn leak_detecting_job(language: crate::backend::Language) -> Job {
        let prelude = match language {
            crate::backend::Language::Lua => {
                "function handle(input, i)\n  if seen ~= nil then error('state leaked') end\n  seen = true\n  \
                 if i % 10 == 3 then error('boom') end\n  return 1\nend\n"
            }
            crate::backend::Language::JavaScript => {
                "function handle(input, i) { if (globalThis.seen) throw new Error('state leaked'); \
                 globalThis.seen = true; if (i % 10 === 3) throw new Error('boom'); return 1; }"
            }
        };
        Job {
            prelude: prelude.to_owned(),
            prelude_name: "leak".to_owned(),
            request: Request::Call {
                function: "handle".to_owned(),
                input: Value::Null,
            },
            host: pool_core::host::HostApi::new(),
        }
    }

    #[test]
    fn private_mode_resets_each_instance_and_replaces_one_that_failed() {
        for engine in EngineKind::compiled() {
            let job = leak_detecting_job(engine.language());
            let plan = Plan::new(40, 2, Mode::Private);
            let report = run(engine, &job, &PoolConfig::default(), &plan).expect("runs");
            assert_eq!(report.mode, Mode::Private);
            assert_eq!(report.isolation, Isolation::Strict);
            assert_eq!(report.requests, 40, "{engine}");
            assert_eq!(report.ok, 36, "{engine}: {:?}", report.error_examples);
            assert_eq!(report.errors["exception"], 4, "{engine}");
            assert_eq!(report.results["1"], 36, "{engine}");
            // One instance per thread, and one more for each failed request.
            assert_eq!(report.metrics.created, 2 + 4, "{engine}");
            assert_eq!(report.metrics.total_uses, 40, "{engine}");
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn results_beyond_twenty_distinct_are_other() {
        let mut tally = Tally::default();
        for i in 0..30u64 {
            // Value i occurs i + 1 times, so the 20 most frequent are 10..30.
            for _ in 0..=i {
                tally.record(Ok(Value::from(i)), Duration::from_micros(1));
            }
        }
        tally.record(
            Err((ErrorKind::Exception, "boom".into())),
            Duration::from_micros(1),
        );
        let report = tally.into_report(
            EngineKind::Lua,
            &Plan::new(0, 1, Mode::Pooled),
            Isolation::Strict,
            Duration::from_secs(1),
            MetricsSummary {
                created: 1,
                destroyed: 0,
                in_use: 0,
                available: 1,
                total_uses: 466,
                errors: 1,
            },
        );
        assert_eq!(report.results.len(), MAX_DISTINCT_RESULTS + 1);
        assert_eq!(report.results["other"], (1..=10).sum::<u64>());
        assert_eq!(report.results["29"], 30);
        assert!(!report.results.contains_key("9"));
        assert_eq!(report.errors["exception"], 1);
        assert_eq!(report.errors["timeout"], 0);
        assert_eq!(report.requests, 466);
        assert_eq!(report.ok, 465);
        assert!(report.to_string().ends_with(
            "[VM Pool Metrics] Created: 1, InUse: 0, Available: 1, TotalUses: 466, Errors: 1"
        ));
    }
}
