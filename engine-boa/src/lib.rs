//! The [Boa](https://boajs.dev) backend of vmpool: [`BoaEngine`] implements [`pool_core::ScriptEngine`] over a
//! `boa_engine` 0.22 [`Context`]. Calls and request source run under the time, stack, source and memory limits
//! of the [`EngineConfig`], values cross as JSON-like [`Value`]s, the host API is installed in every instance,
//! and the reset after each use applies the isolation policy.
//!
//! ```
//! use engine_boa::BoaEngine;
//! use pool_core::{EngineConfig, ScriptEngine, Value};
//!
//! let engine = BoaEngine::new(EngineConfig::new(
//!     "function handle(input) { return { sum: input.items.reduce((a, b) => a + b, 0) }; }",
//! ))?;
//! let mut vm = engine.create()?;
//! let out = engine.call(&mut vm, "handle", &[serde_json::json!({ "items": [1, 2, 3] })])?;
//! assert_eq!(out, serde_json::json!({ "sum": 6 }));
//! engine.reset(&mut vm)?; // what the pool does after every use
//! assert_eq!(engine.eval(&mut vm, "1 + 1")?, Value::from(2));
//! # Ok::<(), pool_core::ScriptError>(())
//! ```
//!
//! # Threads
//! A Boa `Context` holds `Rc`s and thread-local garbage-collected pointers, so [`BoaVm`] is **not `Send`** (a test
//! pins this) and never will be: no `unsafe impl Send`. The factory [`BoaEngine`] is `Send + Sync`. For a shared
//! pool, [`BoaEngine::pooled`] wraps it in pool-core's carrier, which keeps each instance on a dedicated thread
//! with [`ENGINE_STACK_BYTES`] of stack for its whole life and stops waiting for it at the wall-clock deadline.
//!
//! # Limits and isolation
//! | what | how | error kind | details |
//! | --- | --- | --- | --- |
//! | `limits.timeout` | deadline checked every [`BUDGET`] cost units of Boa's budgeted loop, between promise jobs and during conversion; Boa's loop-iteration limit ([`LOOP_ITERATIONS_PER_SECOND`]) | `timeout` | [`budget`], [`limits`] |
//! | `limits.stack_kb` | Boa's recursion and value-stack limits; every operation on [`ENGINE_STACK_BYTES`] of native stack; bounded wrappers for built-ins that recurse natively | `stack` | [`limits`], [`harden`] |
//! | source size and nesting | `max_source_bytes`, [`MAX_NESTING`], [`MAX_CHAIN`], checked before parsing (also for `eval`/`Function` called by scripts) | `syntax`, `stack` | [`source`] |
//! | `limits.memory_mb` | with [`CountingAllocator`] as the global allocator: the heap checked between slices and jobs; built-ins refuse single results over what is left; past [`HARD_LIMIT_PERCENT`] a carrier thread parks | `memory` | [`meter`], [`harden`], [`sort`] |
//! | promise jobs | at most [`MAX_JOBS_PER_RUN`] per call | `timeout` | |
//! | interned strings | past [`MAX_INTERNED`] the instance reports itself broken | | [`limits`] |
//! | `Isolation::Strict` | built-ins frozen natively after the prelude; the reset deletes added globals and drops jobs | `exception` for a refused write | [`lockdown`], [`baseline`] |
//! | `Isolation::Scrub` | the reset deletes added globals and drops jobs | | [`baseline`] |
//! | `verify_reset` | the reset compares a fingerprint taken at creation | `internal` | [`baseline`] |
//!
//! Runtime-limit errors cannot be caught by JavaScript. After `timeout`, `stack` or `internal` the instance
//! reports [`is_broken`](pool_core::ScriptEngine::is_broken). How errors are classified and described:
//! [`errors`]; how `call` reaches a function: [`trampoline`]. What Boa cannot contain (native built-ins and
//! native callbacks outside the budgeted loop, regular-expression backtracking, memory within one slice) is
//! listed in [`limits`] and [`meter`], with the idle instance's heap. Built-ins whose Boa behaviour gave real
//! libraries wrong answers are replaced natively: [`sort`] (inconsistent comparators) and [`regexp_source`]
//! (`RegExp.prototype.source`).
//!
//! The prelude is parsed and compiled once per instance: a parsed Boa `Script` is bound to the realm of the context
//! that parsed it and holds thread-local GC pointers, so it cannot be shared between instances or threads (the
//! same holds for the set-up scripts). `new` parses it once, standalone, to report syntax errors with their line,
//! then creates a trial instance to report a prelude that throws.

#![deny(unsafe_code)]

pub mod baseline;
pub mod budget;
mod convert;
pub mod errors;
pub mod harden;
mod heap;
mod host;
mod jobs;
pub mod limits;
pub mod lockdown;
pub mod meter;
pub mod regexp_source;
mod scan;
pub mod sort;
pub mod source;
pub mod trampoline;

use std::rc::Rc;
use std::time::{Duration, Instant};

use boa_engine::vm::RuntimeLimits;
use boa_engine::{Context, JsError, JsObject, JsString, JsValue, Script, Source, js_string};
use pool_core::host::CallContext;
use pool_core::{Carrier, EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError, Value};

pub use budget::BUDGET;
pub use heap::CountingAllocator;
pub use jobs::MAX_JOBS_PER_RUN;
pub use limits::{ENGINE_STACK_BYTES, LOOP_ITERATIONS_PER_SECOND, MAX_INTERNED};
pub use meter::{HARD_LIMIT_PERCENT, instances_on_this_thread};
pub use scan::{MAX_CHAIN, MAX_NESTING};

/// How long after `limits.timeout` the carrier of [`BoaEngine::pooled`] stops waiting.
pub const CARRIER_GRACE: Duration = Duration::from_millis(250);

/// The Boa engine factory: limits, isolation policy and prelude shared by its instances.
#[derive(Debug, Clone)]
pub struct BoaEngine {
    config: EngineConfig,
    runtime_limits: RuntimeLimits,
    /// Whether an allocation past [`HARD_LIMIT_PERCENT`] of the memory limit parks the thread for good (only on
    /// a carrier's threads: see [`BoaEngine::pooled`]).
    park_past_cap: bool,
}

/// One Boa instance: a [`Context`] with its baseline, scrub and fingerprint. Not `Send`.
pub struct BoaVm {
    context: Context,
    jobs: Rc<jobs::Jobs>,
    eval: JsObject,
    object_keys: JsObject,
    /// The trampoline scripts `call` runs through.
    calls: trampoline::Trampolines,
    /// The global object's baseline, for the reset (scrub and strict).
    baseline_globals: Option<baseline::Baseline>,
    /// The instance's link to the host API (also in the context's host-defined data, for the trampolines).
    host: Rc<host::HostLink>,
    broken: Option<String>,
    /// The instance's heap in bytes as its thread's [`CountingAllocator`] count saw it grow and shrink during
    /// creation and every operation (0 without the allocator), never below `baseline`.
    heap: isize,
    /// The heap right after creation (all set-up garbage collected).
    baseline: isize,
    /// Counts this instance among the live instances of its thread.
    _live: meter::LiveOnThread,
}

impl std::fmt::Debug for BoaVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoaVm")
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl BoaVm {
    /// Number of promise jobs still queued (after a call they normally all ran; a reset drops the rest).
    pub fn pending_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Number of strings Boa has interned in this instance (grows with every new identifier parsed).
    pub fn interned_strings(&mut self) -> usize {
        self.context.interner_mut().len()
    }

    /// The underlying context, for embedders that need Boa's own API. Changing it can defeat the isolation
    /// policy.
    pub fn context(&mut self) -> &mut Context {
        &mut self.context
    }
}

impl BoaEngine {
    /// A factory for instances configured by `config`.
    ///
    /// # Errors
    /// A `syntax` error naming the line when the prelude does not parse, or a `stack` error when it nests too
    /// deeply; an `internal` error for a zero `limits.timeout` or `limits.stack_kb` (which would disable a limit).
    /// `new` creates (and drops) one instance, so a prelude that throws fails here with `exception` (or with
    /// `timeout`/`stack` when it runs past a limit).
    pub fn new(config: EngineConfig) -> Result<Self, ScriptError> {
        config.isolation.require_not_snapshot("Boa")?;
        if config.limits.timeout.is_zero() {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "limits.timeout must be longer than zero",
            ));
        }
        if config.limits.stack_kb == 0 {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "limits.stack_kb must be at least 1",
            ));
        }
        if config.limits.memory_mb == 0 {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "limits.memory_mb must be at least 1",
            ));
        }
        source::check_source(&config.prelude, usize::MAX).map_err(|e| {
            ScriptError::new(
                e.kind(),
                format!("prelude `{}`: {}", config.prelude_name, e.message()),
            )
        })?;
        if let Some(message) = source::parse_error(&config.prelude) {
            return Err(ScriptError::new(
                ErrorKind::Syntax,
                format!(
                    "syntax error in prelude `{}`: {message}",
                    config.prelude_name
                ),
            ));
        }
        let runtime_limits = limits::runtime_limits(&config);
        let engine = Self {
            config,
            runtime_limits,
            park_past_cap: false,
        };
        // A trial instance, as the QuickJS adapter does: a prelude that throws (or runs past a limit) is reported
        // here rather than by the pool.
        drop(engine.create()?);
        // Its objects are garbage on this thread's collector, which may never run again here.
        boa_engine::gc::force_collect();
        Ok(engine)
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// A factory ready for a shared [`Pool`](pool_core::Pool): this engine in a [`Carrier`] whose threads have
    /// [`ENGINE_STACK_BYTES`] of stack (plus 1 MiB) and which stops waiting [`CARRIER_GRACE`] after
    /// `limits.timeout`, so that the engine's own `timeout` error normally arrives first and the carrier's
    /// deadline only catches what the engine cannot stop (see [`limits`] and [`meter`]).
    ///
    /// ```
    /// use pool_core::{EngineConfig, Pool};
    ///
    /// let engine = engine_boa::BoaEngine::pooled(EngineConfig::new("function handle(x) { return x * 2; }"))?;
    /// let pool = Pool::builder(engine).max_size(2).preload_size(0).build()?;
    /// assert_eq!(pool.acquire()?.call("handle", &[21.into()])?, serde_json::json!(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`BoaEngine::new`].
    pub fn pooled(config: EngineConfig) -> Result<Carrier<BoaEngine>, ScriptError> {
        let timeout = config.limits.timeout;
        let mut engine = Self::new(config)?;
        engine.park_past_cap = true;
        Ok(Carrier::new(engine)
            .timeout(timeout + CARRIER_GRACE)
            .stack_size(ENGINE_STACK_BYTES + (1 << 20)))
    }

    /// `limits.memory_mb` in bytes.
    fn limit_bytes(&self) -> isize {
        isize::try_from(self.config.limits.memory_bytes()).unwrap_or(isize::MAX)
    }

    /// Runs one operation on `vm` with its heap metered (with a [`CountingAllocator`] installed): the operation
    /// gets the meter for its checks between slices and jobs, the thread's allocation cap is set for its length
    /// (carrier threads only), and afterwards the instance's heap is updated; an instance still over the limit
    /// after a garbage collection ends the operation with `memory`.
    fn metered<T>(
        &self,
        vm: &mut BoaVm,
        op: impl FnOnce(&mut BoaVm, Option<&meter::Meter>) -> Result<T, ScriptError>,
    ) -> Result<T, ScriptError> {
        // A refusal left over from outside an operation (the prelude's) is not this operation's.
        let _ = harden::take_refusal();
        let meter = meter::Meter::new(vm.heap, self.limit_bytes());
        let hard = self
            .park_past_cap
            .then(|| self.limit_bytes().saturating_mul(HARD_LIMIT_PERCENT) / 100);
        let metering = meter.as_ref().map(|m| meter::Metering::new(m, hard));
        let mut result = op(vm, meter.as_ref());
        drop(metering);
        if let Some(m) = &meter {
            // Also after a failure: an instance left over its limit (by source that ran through `eval`, which is
            // not checked between slices) must not be used again.
            let already = matches!(&result, Err(e) if e.kind() == ErrorKind::Memory);
            if !already && m.over() {
                result = Err(m.error(self.config.limits.memory_mb));
            }
            // Garbage made outside an operation (by the conversion of its result) is freed by a collection
            // inside a later one, which the count sees as this instance shrinking: never below its baseline.
            vm.heap = m.used().max(vm.baseline);
        }
        result
    }

    /// The Boa runtime limits derived from the configuration (see [`limits`] for the mapping).
    pub fn runtime_limits(&self) -> RuntimeLimits {
        self.runtime_limits
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.config.limits.timeout
    }

    fn create_inner(&self) -> Result<BoaVm, ScriptError> {
        let jobs = Rc::new(jobs::Jobs::default());
        let mut context = Context::builder()
            .job_executor(jobs.clone())
            .host_hooks(Rc::new(source::Hooks {
                max_source_bytes: self.config.max_source_bytes,
            }))
            .build()
            .map_err(|e| {
                ScriptError::new(
                    ErrorKind::Internal,
                    format!("cannot create a Boa context: {e}"),
                )
            })?;
        context.set_runtime_limits(self.runtime_limits);
        let eval: JsObject = context.intrinsics().objects().eval().into();
        let object_keys = context
            .intrinsics()
            .constructors()
            .object()
            .constructor()
            .get(js_string!("keys"), &mut context)
            .ok()
            .and_then(|v| v.as_object())
            .ok_or_else(|| ScriptError::new(ErrorKind::Internal, "Object.keys is missing"))?;
        let calls = trampoline::Trampolines::install(&mut context)?;
        // The host functions, namespaces and console, before any script runs (so that the lockdown freezes and
        // pins them with the built-ins under strict; they are frozen and pinned under every policy).
        let limits = &self.config.limits;
        let (host, mut installed) = host::install(
            &mut context,
            &self.config.host,
            limits.memory_bytes(),
            limits.memory_mb,
            limits.timeout,
            object_keys.clone(),
        )
        .map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("cannot install the host functions: {e}"),
            )
        })?;
        let mut vm = BoaVm {
            context,
            jobs,
            eval,
            object_keys,
            calls,
            baseline_globals: None,
            host,
            broken: None,
            _live: meter::LiveOnThread::new(),
            heap: 0,
            baseline: 0,
        };
        let deadline = self.deadline();
        // Before anything else runs: built-ins that recurse natively on data or allocate in one native call get
        // bounded wrappers (module `harden`).
        #[allow(clippy::cast_precision_loss)]
        let max_bytes = self.config.limits.memory_bytes() as f64;
        harden::install(&mut vm.context, max_bytes)
            // Sorting that an inconsistent comparator cannot make fail.
            .and_then(|()| sort::install(&mut vm.context, max_bytes))
            // `RegExp.prototype.source` without Boa's doubled escapes.
            .and_then(|()| regexp_source::install(&mut vm.context))
            .map_err(|e| {
                ScriptError::new(
                    ErrorKind::Internal,
                    format!("cannot install the bounded built-ins: {e}"),
                )
            })?;

        // Strict: the override accessors on the built-ins, before any script code runs (module `lockdown`).
        if self.config.isolation == Isolation::Strict {
            lockdown::avoid_override_mistake(&mut vm.context).map_err(|e| {
                ScriptError::new(
                    ErrorKind::Internal,
                    format!("cannot install the override accessors: {e}"),
                )
            })?;
        }

        // The modules, then the prelude: one operation of the host API, without a context.
        let link = Rc::clone(&vm.host);
        let active = link.session().enter(None, self.config.limits.timeout);
        link.begin(self.config.limits.timeout);
        let setup = self.run_setup(&mut vm, &mut installed, deadline);
        let host_failed = link.is_fatal();
        let setup = link.end(setup.map(|()| Value::Null));
        active.finish(setup).map_err(|e| {
            if host_failed {
                ScriptError::new(
                    e.kind(),
                    format!("creating an instance failed: {}", e.message()),
                )
            } else {
                e
            }
        })?;
        installed.seal(&mut vm.context).map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("cannot make the host globals read-only: {e}"),
            )
        })?;
        if self.config.isolation == Isolation::Strict {
            lockdown::lockdown(&mut vm.context).map_err(|e| {
                ScriptError::new(ErrorKind::Internal, format!("the lockdown failed: {e}"))
            })?;
        }
        if self.config.isolation != Isolation::None {
            let taken = baseline::Baseline::take(&mut vm.context, self.config.verify_reset)
                .map_err(|e| {
                    ScriptError::new(
                        ErrorKind::Internal,
                        format!("cannot take the isolation baseline: {e}"),
                    )
                })?;
            vm.baseline_globals = Some(taken);
        }
        // What the set-up left behind (parsed scripts, the lockdown's working set) goes now, not when some later
        // allocation crosses the collector's threshold.
        boa_engine::gc::force_collect();
        Ok(vm)
    }

    /// Loads the host API's modules and runs the prelude (with its jobs).
    fn run_setup(
        &self,
        vm: &mut BoaVm,
        installed: &mut host::Installed,
        deadline: Instant,
    ) -> Result<(), ScriptError> {
        let link = Rc::clone(&vm.host);
        host::load_modules(&link, installed, &mut vm.context).map_err(|failure| {
            let e = match failure.error {
                host::ModuleError::Source(e) => e,
                host::ModuleError::Js(e) => self.js_error(vm, e, true),
            };
            let what = match failure.module {
                Some(name) => format!("module `{name}`"),
                None => "the modules".to_owned(),
            };
            ScriptError::new(e.kind(), format!("{what} failed to load: {}", e.message()))
        })?;
        // The prelude: a script, so that its function declarations become global functions.
        if !self.config.prelude.is_empty() {
            // Only the prelude's own refusals count (not one left on this thread by an operation that panicked).
            let _ = harden::take_refusal();
            let script = Script::parse(
                Source::from_bytes(&self.config.prelude),
                None,
                &mut vm.context,
            )
            .map_err(|e| self.prelude_error(vm, e))?;
            script
                .evaluate(&mut vm.context)
                .map_err(|e| self.prelude_error(vm, e))?;
            self.run_jobs(vm, deadline, None)
                .map_err(|e| self.prelude_failure(e))?;
            // A bounded built-in refused an allocation: the prelude ran into the memory limit, even if it caught
            // the error.
            self.memory_outcome(Ok(()))
                .map_err(|e| self.prelude_failure(e))?;
        }
        Ok(())
    }

    fn prelude_error(&self, vm: &mut BoaVm, e: JsError) -> ScriptError {
        let e = self.js_error(vm, e, false);
        self.prelude_failure(e)
    }

    fn prelude_failure(&self, e: ScriptError) -> ScriptError {
        ScriptError::new(
            e.kind(),
            format!(
                "prelude `{}` failed: {}",
                self.config.prelude_name,
                e.message()
            ),
        )
    }

    fn run_jobs(
        &self,
        vm: &mut BoaVm,
        deadline: Instant,
        meter: Option<&meter::Meter>,
    ) -> Result<(), ScriptError> {
        let over_memory = || meter.is_some_and(meter::Meter::over);
        match vm.jobs.run(&mut vm.context, deadline, &over_memory) {
            Ok(()) => Ok(()),
            Err(jobs::JobsStop::Engine(e)) => Err(self.js_error(vm, e, false)),
            Err(jobs::JobsStop::Deadline) => Err(ScriptError::timeout(self.config.limits.timeout)),
            Err(jobs::JobsStop::Memory) => Err(meter::stopped(meter, self.config.limits.memory_mb)),
            Err(jobs::JobsStop::TooMany) => Err(ScriptError::new(
                ErrorKind::Timeout,
                format!(
                    "promise jobs kept queueing more jobs past the limit of {MAX_JOBS_PER_RUN} per call"
                ),
            )),
        }
    }

    /// Classifies a Boa error (module [`errors`]). `from_eval`: a native `SyntaxError` may be the request
    /// source's parse error.
    fn js_error(&self, vm: &mut BoaVm, e: JsError, from_eval: bool) -> ScriptError {
        errors::classify(
            e,
            &mut vm.context,
            &self.runtime_limits,
            &self.config,
            from_eval,
        )
    }

    /// Marks the instance broken when `result` failed with a kind that taints it.
    fn settle<T>(vm: &mut BoaVm, result: Result<T, ScriptError>) -> Result<T, ScriptError> {
        if let Err(e) = &result
            && e.kind().taints_instance()
            && vm.broken.is_none()
        {
            vm.broken = Some(e.to_string());
        }
        result
    }

    /// Ends the call with `memory` if a hardened built-in refused an allocation during it (whatever the script made
    /// of the RangeError it threw), and clears the record.
    fn memory_outcome<T>(&self, result: Result<T, ScriptError>) -> Result<T, ScriptError> {
        let Some(what) = harden::take_refusal() else {
            return result;
        };
        Err(ScriptError::new(
            ErrorKind::Memory,
            format!(
                "script ran past the memory limit of {} MiB: {}",
                self.config.limits.memory_mb, what
            ),
        ))
    }

    /// Runs `op` as one operation of the host API with `context` current (or none): a fatal failure of a host
    /// call replaces its result, and a result that taints the instance marks it broken.
    fn operation(
        &self,
        vm: &mut BoaVm,
        context: Option<&CallContext>,
        op: impl FnOnce(&mut BoaVm) -> Result<Value, ScriptError>,
    ) -> Result<Value, ScriptError> {
        let link = Rc::clone(&vm.host);
        let active = link.session().enter(context, self.config.limits.timeout);
        link.begin(self.config.limits.timeout);
        let result = op(vm);
        let result = active.finish(link.end(result));
        Self::settle(vm, result)
    }

    fn eval_in(
        &self,
        vm: &mut BoaVm,
        context: Option<&CallContext>,
        source: &str,
    ) -> Result<Value, ScriptError> {
        Self::refuse_broken(vm)?;
        // Rejected before anything parsed it: the instance is untouched and stays usable.
        source::check_source(source, self.config.max_source_bytes)?;
        self.operation(vm, context, |vm| self.eval_op(vm, source))
    }

    fn eval_op(&self, vm: &mut BoaVm, source: &str) -> Result<Value, ScriptError> {
        let result = limits::on_big_stack(|| {
            let (value, deadline) =
                self.metered(vm, |vm, meter| self.eval_inner(vm, source, meter))?;
            self.convert(vm, &value, deadline)
        });
        self.memory_outcome(result)
    }

    fn call_op(
        &self,
        vm: &mut BoaVm,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        Self::refuse_broken(vm)?;
        let result = limits::on_big_stack(|| {
            let (value, deadline) =
                self.metered(vm, |vm, meter| self.call_inner(vm, function, args, meter))?;
            self.convert(vm, &value, deadline)
        });
        self.memory_outcome(result)
    }

    fn refuse_broken(vm: &BoaVm) -> Result<(), ScriptError> {
        match &vm.broken {
            Some(why) => Err(ScriptError::new(
                ErrorKind::Internal,
                format!("the instance is broken ({why})"),
            )),
            None => Ok(()),
        }
    }

    /// Evaluates request source: as a block of a script run in Boa's budgeted loop when that means the same as
    /// `eval` (see [`block_script`](Self::block_script)), through the original `eval` otherwise. Returns the
    /// settled result and the call's deadline (for the conversion).
    fn eval_inner(
        &self,
        vm: &mut BoaVm,
        source: &str,
        meter: Option<&meter::Meter>,
    ) -> Result<(JsValue, Instant), ScriptError> {
        let deadline = self.deadline();
        let value = match budget::block_script(&mut vm.context, source) {
            Some(script) => {
                let outcome =
                    budget::run_budgeted(&script, &mut vm.context, deadline, meter, &vm.host);
                self.finish_budgeted(vm, outcome, meter)?
            }
            None => {
                let eval = vm.eval.clone();
                let result = eval.call(
                    &JsValue::undefined(),
                    &[JsValue::new(JsString::from(source))],
                    &mut vm.context,
                );
                match result {
                    Ok(v) => v,
                    Err(e) => {
                        let is_native_syntax = e.as_native().is_some_and(|n| n.is_syntax());
                        if is_native_syntax && let Some(message) = source::parse_error(source) {
                            return Err(ScriptError::new(
                                ErrorKind::Syntax,
                                format!("SyntaxError: {message}"),
                            ));
                        }
                        return Err(self.js_error(vm, e, false));
                    }
                }
            }
        };
        self.run_jobs(vm, deadline, meter)?;
        Ok((errors::settle_promise(value, &mut vm.context)?, deadline))
    }

    /// The value of a script run by [`run_budgeted`], or the error that ended it.
    fn finish_budgeted(
        &self,
        vm: &mut BoaVm,
        outcome: budget::Budgeted,
        meter: Option<&meter::Meter>,
    ) -> Result<JsValue, ScriptError> {
        match outcome {
            budget::Budgeted::Done(Ok(v)) => Ok(v),
            budget::Budgeted::Done(Err(e)) => Err(self.js_error(vm, e, false)),
            budget::Budgeted::Deadline => Err(ScriptError::timeout(self.config.limits.timeout)),
            budget::Budgeted::Memory => Err(meter::stopped(meter, self.config.limits.memory_mb)),
            budget::Budgeted::HostFatal => Err(ScriptError::new(
                ErrorKind::Internal,
                "a host call failed fatally",
            )),
        }
    }

    /// Converts an operation's result to a [`Value`], under the operation's deadline.
    fn convert(
        &self,
        vm: &mut BoaVm,
        value: &JsValue,
        deadline: Instant,
    ) -> Result<Value, ScriptError> {
        convert::FromJs::new(&vm.object_keys.clone(), deadline)
            .convert(value, &mut vm.context)
            .map_err(|f| f.into_error(&mut vm.context, &self.runtime_limits, &self.config))
    }

    fn call_inner(
        &self,
        vm: &mut BoaVm,
        function: &str,
        args: &[Value],
        meter: Option<&meter::Meter>,
    ) -> Result<(JsValue, Instant), ScriptError> {
        let deadline = self.deadline();
        let global = vm.context.global_object();
        let target = global
            .get(JsString::from(function), &mut vm.context)
            .map_err(|e| self.js_error(vm, e, false))?;
        let Some(target) = target.as_callable() else {
            return Err(ScriptError::new(
                ErrorKind::Exception,
                format!("no global function `{function}`"),
            ));
        };
        let mut values = Vec::with_capacity(args.len() + 1);
        values.push(JsValue::from(target));
        for arg in args {
            values.push(
                convert::to_js(arg, &mut vm.context, 0).map_err(|f| {
                    f.into_error(&mut vm.context, &self.runtime_limits, &self.config)
                })?,
            );
        }
        let script = vm.calls.load(&mut vm.context, values)?;
        let outcome = budget::run_budgeted(&script, &mut vm.context, deadline, meter, &vm.host);
        vm.calls.clear(&mut vm.context);
        let value = self.finish_budgeted(vm, outcome, meter)?;
        self.run_jobs(vm, deadline, meter)?;
        Ok((errors::settle_promise(value, &mut vm.context)?, deadline))
    }

    fn reset_inner(&self, vm: &mut BoaVm) -> Result<(), ScriptError> {
        if self.config.isolation == Isolation::None {
            return Ok(());
        }
        vm.jobs.clear();
        vm.context.clear_kept_objects();
        let fail = |what: &str, m: String| {
            ScriptError::new(ErrorKind::Internal, format!("reset failed: {what}: {m}"))
        };
        if let Some(base) = &vm.baseline_globals {
            if let Some(m) = base
                .scrub(&mut vm.context)
                .map_err(|e| fail("scrub", e.to_string()))?
            {
                return Err(fail("scrub", m));
            }
            if let Some(m) = base
                .check(&mut vm.context)
                .map_err(|e| fail("verify", e.to_string()))?
            {
                return Err(fail("the instance differs from its baseline", m));
            }
        }
        // Jobs queued by the scrub or check themselves (none expected) must not survive either.
        vm.jobs.clear();
        Ok(())
    }
}

impl ScriptEngine for BoaEngine {
    type Vm = BoaVm;
    type Error = ScriptError;

    fn create(&self) -> Result<BoaVm, ScriptError> {
        let start = CountingAllocator::thread_net_bytes();
        // Always on a fresh stack segment, unmapped when creation returns: parsing and compiling the set-up
        // scripts recurse deeply, and on a carrier thread the stack pages they touch would otherwise stay
        // resident for the instance's whole life (about 180 KiB).
        let mut vm = stacker::grow(ENGINE_STACK_BYTES, || self.create_inner())?;
        vm.heap = (CountingAllocator::thread_net_bytes() - start).max(0);
        vm.baseline = vm.heap;
        Ok(vm)
    }

    fn eval(&self, vm: &mut BoaVm, source: &str) -> Result<Value, ScriptError> {
        self.eval_in(vm, None, source)
    }

    fn call(&self, vm: &mut BoaVm, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
        self.operation(vm, None, |vm| self.call_op(vm, function, args))
    }

    /// The host functions the source calls run on the calling thread (a carrier's instance thread: no hop) and
    /// see `context` through `HostCall::context` and `vmpool.context()`.
    fn eval_with(
        &self,
        vm: &mut BoaVm,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, ScriptError> {
        self.eval_in(vm, Some(context), source)
    }

    /// As [`eval_with`](ScriptEngine::eval_with).
    fn call_with(
        &self,
        vm: &mut BoaVm,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |vm| self.call_op(vm, function, args))
    }

    fn reset(&self, vm: &mut BoaVm) -> Result<(), ScriptError> {
        Self::refuse_broken(vm)?;
        let result = limits::on_big_stack(|| self.metered(vm, |vm, _| self.reset_inner(vm)));
        Self::settle(vm, result)
    }

    /// The instance's heap as its thread's [`CountingAllocator`] count saw it, after a garbage collection (of
    /// the thread's heap: only this instance on a carrier thread); `None` without the allocator.
    fn memory_usage(&self, vm: &mut BoaVm) -> Option<usize> {
        if !CountingAllocator::is_installed() {
            return None;
        }
        let before = CountingAllocator::thread_net_bytes();
        boa_engine::gc::force_collect();
        vm.heap = (vm.heap + (CountingAllocator::thread_net_bytes() - before)).max(vm.baseline);
        usize::try_from(vm.heap).ok()
    }

    fn is_broken(&self, vm: &mut BoaVm) -> bool {
        vm.broken.is_some() || vm.context.interner_mut().len() > MAX_INTERNED
    }
}
