//! QuickJS (quickjs-ng through `rquickjs`) for vmpool: [`QuickJsEngine`] implements
//! [`pool_core::ScriptEngine`] with instances of type [`QuickJsVm`], which are `Send` (one QuickJS `Runtime` and
//! one `Context` each).
//!
//! ```
//! use engine_quickjs::QuickJsEngine;
//! use pool_core::{EngineConfig, ErrorKind, ScriptEngine};
//! use serde_json::json;
//!
//! let engine = QuickJsEngine::new(EngineConfig::new(
//!     "function handle(input) { return { sum: input.items.reduce((a, b) => a + b, 0) }; }",
//! ))?;
//! let mut vm = engine.create()?;
//! assert_eq!(engine.call(&mut vm, "handle", &[json!({ "items": [1, 2, 3] })])?, json!({ "sum": 6 }));
//!
//! // A request pollutes a prototype and leaves a global behind...
//! let polluted = engine.eval(&mut vm, "Object.prototype.admin = true; var leftover = 1; ({}).admin");
//! assert_eq!(polluted?, json!(null)); // ...but the built-ins are frozen: the pollution had no effect.
//! engine.reset(&mut vm)?; // what the pool does after every use
//! assert_eq!(engine.eval(&mut vm, "typeof leftover")?, json!("undefined"));
//!
//! // Limits end runaway scripts, and the instance then reports itself broken.
//! let err = engine.eval(&mut vm, "for (;;) { try { for (;;) {} } catch (e) {} }").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Timeout);
//! assert!(engine.is_broken(&mut vm));
//! # Ok::<(), pool_core::ScriptError>(())
//! ```
//!
//! # Values
//! As for every vmpool engine: `null`/`undefined` are `null`; numbers that are integral and within +-2^53 are
//! JSON integers, other finite numbers floats, `NaN` and infinities `null`; strings (a string with a lone
//! surrogate is a `conversion` error); arrays; objects with their own enumerable string keys, read through getters
//! and `toJSON` as `JSON.stringify` does (a property whose value is `undefined` is left out). Functions, symbols,
//! BigInts, cyclic structures, nesting deeper than 128 and getters or `toJSON` methods that throw are `conversion`
//! errors. A result that is a promise is settled first: the pending jobs run, then its value is the result (a
//! rejection is an `exception`; a promise still pending when no job is left is a `conversion` error).
//!
//! `call` calls a global function: a property of the global object, or else a top-level `function`, `let` or
//! `const` binding of the prelude (so `const handle = (input) => ...` works too).
//!
//! # Limits and isolation
//! | what | how | error kind | details |
//! | --- | --- | --- | --- |
//! | `limits.timeout` | wall clock per `eval`, `call` or `reset` (jobs and conversion included), enforced by the interrupt handler, which keeps interrupting until the operation returns; native array loops bounded by `memory_mb` / 16 elements | `timeout` | [`deadline`] |
//! | `limits.memory_mb` | the runtime's allocator counts every block QuickJS holds and refuses one past the limit; the handler then interrupts until the operation returns | `memory` | [`heap`] |
//! | `limits.stack_kb` | the runtime's stack limit (at most [`MAX_STACK_KB`]), and the handler measures the native stack so that a caught overflow still ends the operation | `stack` | [`deadline`] |
//! | `Isolation::Strict` | the lockdown freezes everything reachable from the global object after the prelude; the reset deletes added globals; `Math.random` is a CSPRNG | `exception` for a refused write | [`isolation`] |
//! | `Isolation::Scrub` | the reset deletes the globals added since creation | | [`isolation`] |
//! | `verify_reset` | the reset compares a fingerprint with the baseline taken at creation | `internal` | [`isolation`] |
//!
//! After a `timeout`, `memory`, `stack` or `internal` error the instance reports
//! [`is_broken`](pool_core::ScriptEngine::is_broken), and the pool discards it.
//!
//! # Unsafe code
//! The crate denies `unsafe` code everywhere except in two modules. `alloc` implements rquickjs's `Allocator`
//! trait (an `unsafe trait`, the only way to give QuickJS an allocator) as a wrapper that forwards every block to
//! rquickjs's `RustAllocator` unchanged, only reading block sizes and returning null to refuse an allocation, so
//! that the host, not the script, learns that the memory limit was hit; the accounting (module [`heap`]) is safe
//! code. `stop` calls `JS_GetRuntime` on a live context when an instance is created, and `JS_SetMaxStackSize` on
//! that runtime from its interrupt handler (rquickjs's safe setter would lock the runtime, which that thread
//! already holds). Each module's docs give the details.
//!
//! # Compiled prelude
//! rquickjs offers no safe way to compile a script once and run the compiled form in another context, so every
//! instance parses the prelude; [`QuickJsEngine::new`] creates and drops one instance to report prelude errors
//! (syntax errors name the line) before any pool is built.

#![deny(unsafe_code)]

mod alloc;
mod arrays;
mod convert;
pub mod deadline;
mod failure;
pub mod heap;
mod host;
pub mod isolation;
mod stop;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pool_core::host::{CallContext, HostSession};
use pool_core::js::{FINGERPRINT, LOCKDOWN, SCRUB};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError, Value};
use rquickjs::context::EvalOptions;
use rquickjs::function::Rest;
use rquickjs::{Context, Ctx, Function, Persistent, Runtime};

use crate::alloc::LimitedAllocator;
use crate::convert::{Failure, FromJs, Key};
use crate::deadline::Deadline;
use crate::failure::{Phase, describe, memory, tripped};
use crate::heap::Heap;
use crate::host::Link;
use crate::stop::Stopper;

/// Largest `stack_kb` QuickJS honours; it treats larger limits as "no limit".
pub const MAX_STACK_KB: u64 = 16 * 1024;

/// The shortest deadline given to the adapter's own setup scripts (the lockdown walks every built-in).
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The adapter's functions, kept in the runtime's user data where scripts cannot reach them.
pub(crate) type Helpers<'js> = Vec<Option<Function<'js>>>;
const EVAL: usize = 0;
const SCRUB_FN: usize = 1;
const CHECK_FN: usize = 2;
/// A loop that only the interrupt handler ends (module `host`: how a fatal host failure ends the operation).
pub(crate) const STOP_FN: usize = 3;
const HELPERS: usize = 4;

/// The QuickJS engine factory: the configuration every instance shares.
///
/// See the [crate docs](crate) for the values, limits and isolation it implements.
#[derive(Debug)]
pub struct QuickJsEngine {
    config: EngineConfig,
    /// The instance [`QuickJsEngine::new`] made to check the configuration, handed out by the first
    /// [`create`](ScriptEngine::create) (so that its modules and the host calls of its prelude are not run twice).
    spare: Mutex<Option<QuickJsVm>>,
}

impl Clone for QuickJsEngine {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            spare: Mutex::new(None),
        }
    }
}

/// One QuickJS instance: a `Runtime` with one `Context`, its limits, and the isolation baseline.
///
/// `Send` (rquickjs's `parallel` feature), so the pool can move it between threads; every operation takes
/// `&mut`, so one request uses it at a time.
pub struct QuickJsVm {
    // Field order is drop order: the context before its runtime.
    context: Context,
    runtime: Runtime,
    deadline: Arc<Deadline>,
    heap: Arc<Heap>,
    stopper: Arc<Stopper>,
    /// The instance's link to the host API: the current operation's context, deadline and fatal failure.
    session: Arc<HostSession>,
    broken: bool,
}

impl std::fmt::Debug for QuickJsVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuickJsVm")
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl QuickJsVm {
    /// Restores the stack limit the interrupt handler lowered to stop an operation (module `stop`), for a host
    /// that goes on using a broken instance.
    fn resume_calls(&self, limits: &pool_core::Limits) {
        if self.stopper.take_stopped() {
            self.runtime.set_max_stack_size(limits.stack_bytes());
        }
    }

    /// The bytes the memory limit counts: the usable size of every block QuickJS holds from its allocator (its
    /// 4 KiB arena pages for small objects, and larger blocks). More than
    /// [`memory_usage`](pool_core::ScriptEngine::memory_usage), which is QuickJS's own estimate of what its
    /// objects use (the free slots of arena pages are not in it).
    pub fn heap_bytes(&self) -> usize {
        self.heap.used()
    }
}

impl Drop for QuickJsVm {
    fn drop(&mut self) {
        // Release the helper functions while the context is certainly alive.
        self.context.with(|ctx| {
            drop(ctx.remove_userdata::<Helpers<'_>>());
            arrays::release(&ctx);
        });
    }
}

impl QuickJsEngine {
    /// Checks `config` and the prelude: creates (and drops) one instance, so a prelude that does not parse or
    /// throws is reported here rather than by the pool.
    ///
    /// # Errors
    /// - `internal`: a zero limit (which would disable it), or `limits.stack_kb` above 16384 (QuickJS would ignore
    ///   it); the message names the key.
    /// - `syntax`: the prelude does not parse (the message names the line); `exception`: it throws.
    /// - `timeout`, `memory`, `stack`: the prelude or the lockdown ran past a limit.
    pub fn new(config: EngineConfig) -> Result<Self, ScriptError> {
        config.isolation.require_not_snapshot("QuickJS")?;
        config.limits.validate().map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("invalid QuickJS engine configuration: {e}"),
            )
        })?;
        if config.limits.stack_kb > MAX_STACK_KB {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                format!(
                    "invalid QuickJS engine configuration: vm_pool.limits.stack_kb: QuickJS ignores stack limits above \
                     {MAX_STACK_KB} KiB (16 MiB), got {}",
                    config.limits.stack_kb
                ),
            ));
        }
        let engine = Self {
            config,
            spare: Mutex::new(None),
        };
        let first = engine.create()?;
        *engine.spare.lock().unwrap_or_else(PoisonError::into_inner) = Some(first);
        Ok(engine)
    }

    /// The configuration this engine was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn strict(&self) -> bool {
        self.config.isolation == Isolation::Strict
    }

    /// Installs the host API, loads the modules and runs the prelude in a new instance.
    fn load(&self, vm: &mut QuickJsVm) -> Result<(), ScriptError> {
        let limits = &self.config.limits;
        let deadline = Arc::clone(&vm.deadline);
        let link = Arc::new(Link::new(
            Arc::clone(&vm.session),
            Arc::clone(&deadline),
            limits.memory_bytes(),
        ));
        let _armed = deadline.arm(limits.timeout);
        vm.context.with(|ctx| -> Result<(), ScriptError> {
            let internal =
                |e: rquickjs::Error| describe(&ctx, &deadline, limits, e.into(), Phase::Internal);
            // Captured before the prelude can replace it.
            let eval: Function<'_> = ctx.globals().get("eval").map_err(internal)?;
            let mut options = EvalOptions::default();
            options.strict = false;
            options.filename = Some("vmpool:stop".to_owned());
            let stop: Function<'_> = ctx
                .eval_with_options("(function () { for (;;) {} })", options)
                .map_err(internal)?;
            let mut helpers = vec![None; HELPERS];
            helpers[EVAL] = Some(eval);
            helpers[STOP_FN] = Some(stop);
            store_helpers(&ctx, helpers)?;
            isolation::pin_error_settings(&ctx).map_err(internal)?;
            // A dense array holds at least 16 bytes per element.
            arrays::bound(&ctx, limits.memory_bytes() as u64 / 16, &deadline).map_err(internal)?;
            if self.strict() {
                isolation::secure_random(&ctx).map_err(internal)?;
            }
            let installed = host::install(&ctx, &link, limits)?;
            if !self.config.prelude.is_empty() {
                let mut options = EvalOptions::default();
                options.strict = false;
                options.filename = Some(self.config.prelude_name.clone());
                ctx.eval_with_options::<(), _>(self.config.prelude.as_bytes(), options)
                    .map_err(|e| describe(&ctx, &deadline, limits, e.into(), Phase::Prelude))?;
            }
            installed.seal(&ctx, &deadline, limits)
        })?;
        self.drain_jobs(vm)?;
        // A limit the prelude ran into and caught still fails the creation.
        match tripped(&deadline, limits) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs the prelude and sets up isolation in a new instance.
    fn init(&self, vm: &mut QuickJsVm) -> Result<(), ScriptError> {
        let limits = &self.config.limits;
        let deadline = Arc::clone(&vm.deadline);
        // The modules and the prelude run as an operation of the host API: their host calls work, and one that
        // fails fatally fails the creation with its error.
        let session = Arc::clone(&vm.session);
        let active = session.enter(None, limits.timeout);
        let loaded = self.load(vm);
        active.finish(loaded.map(|()| Value::Null))?;
        if self.config.isolation == Isolation::None {
            return Ok(());
        }
        let _armed = deadline.arm(limits.timeout.max(SETUP_TIMEOUT));
        let setup = vm.context.with(|ctx| -> Result<(), ScriptError> {
            let setup = |name: &str, source: &str| {
                isolation::run_setup(&ctx, &deadline, limits, name, source)
            };
            if self.strict() {
                setup("lockdown", LOCKDOWN)?;
            }
            let scrub = setup("scrub", SCRUB)?;
            let check = if self.config.verify_reset {
                setup("fingerprint", FINGERPRINT)?
            } else {
                None
            };
            let mut helpers = ctx
                .remove_userdata::<Helpers<'_>>()
                .ok()
                .flatten()
                .map(|b| *b)
                .unwrap_or_default();
            if helpers.len() < HELPERS {
                helpers.resize(HELPERS, None);
            }
            helpers[SCRUB_FN] = scrub;
            helpers[CHECK_FN] = check;
            store_helpers(&ctx, helpers)
        });
        match tripped(&deadline, limits) {
            Some(e) => Err(e),
            None => setup,
        }
    }

    /// Runs `body` under the deadline, then the pending jobs, then settles and converts the result.
    fn run<F>(&self, vm: &mut QuickJsVm, phase: Phase, body: F) -> Result<Value, ScriptError>
    where
        F: for<'js> FnOnce(&Ctx<'js>) -> Result<rquickjs::Value<'js>, Failure>,
    {
        let mut result = self.run_inner(vm, phase, body);
        // A stack overflow or a refused allocation that the script caught still fails the operation (the interrupt
        // handler ended the rest of it, or it finished before the handler was polled again).
        if let Some(e) = tripped(&vm.deadline, &self.config.limits) {
            result = Err(e);
        }
        if result.as_ref().is_err_and(|e| e.kind().taints_instance()) {
            vm.broken = true;
        }
        result.map_err(|e| pool_core::engine::explain_refused_write(self.config.isolation, e))
    }

    fn run_inner<F>(&self, vm: &mut QuickJsVm, phase: Phase, body: F) -> Result<Value, ScriptError>
    where
        F: for<'js> FnOnce(&Ctx<'js>) -> Result<rquickjs::Value<'js>, Failure>,
    {
        let limits = &self.config.limits;
        vm.resume_calls(limits);
        let deadline = Arc::clone(&vm.deadline);
        let _armed = deadline.arm(limits.timeout);
        let saved = vm.context.with(|ctx| match body(&ctx) {
            Ok(value) => Ok(Persistent::save(&ctx, value)),
            Err(failure) => Err(describe(&ctx, &deadline, limits, failure, phase)),
        });
        let saved = match saved {
            Ok(saved) => saved,
            Err(e) if e.kind().taints_instance() => return Err(e),
            Err(e) => {
                // Jobs the failed source queued still belong to this use: run them now, not in the next one.
                return match self.drain_jobs(vm) {
                    Err(job) if job.kind().taints_instance() => Err(job),
                    _ => Err(e),
                };
            }
        };
        let jobs = self.drain_jobs(vm);
        vm.context.with(|ctx| {
            let value = saved
                .restore(&ctx)
                .map_err(|e| describe(&ctx, &deadline, limits, e.into(), Phase::Internal))?;
            jobs?;
            let value = match value.as_promise() {
                None => value,
                Some(promise) => match promise.result::<rquickjs::Value<'_>>() {
                    None => {
                        return Err(ScriptError::new(
                            ErrorKind::Conversion,
                            "the result is a promise that is still pending after all jobs ran",
                        ));
                    }
                    Some(settled) => settled
                        .map_err(|e| describe(&ctx, &deadline, limits, e.into(), Phase::Call))?,
                },
            };
            FromJs::new(&deadline, limits.memory_bytes())
                .convert(value, Key::Root)
                .map_err(|failure| describe(&ctx, &deadline, limits, failure, Phase::Convert))
        })
    }

    /// Runs the queued promise jobs until none is left, under the armed deadline. A job that hits a limit fails
    /// the operation with that kind; the first job that throws otherwise fails it with an `exception`.
    fn drain_jobs(&self, vm: &mut QuickJsVm) -> Result<(), ScriptError> {
        let limits = &self.config.limits;
        let mut first_error = None;
        loop {
            if vm.deadline.expired() {
                return Err(ScriptError::timeout(limits.timeout));
            }
            vm.deadline.enter();
            match vm.runtime.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                Err(job) => {
                    let err = job.0.with(|ctx| {
                        describe(
                            &ctx,
                            &vm.deadline,
                            limits,
                            Failure::Js(rquickjs::Error::Exception),
                            Phase::Call,
                        )
                    });
                    if err.kind().taints_instance() {
                        return Err(err);
                    }
                    first_error.get_or_insert_with(|| {
                        ScriptError::new(err.kind(), format!("in a promise job: {}", err.message()))
                    });
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn reset_inner(&self, vm: &mut QuickJsVm) -> Result<(), ScriptError> {
        if vm.runtime.is_job_pending() {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "reset failed: promise jobs are still queued (the last use hit a limit)",
            ));
        }
        let limits = &self.config.limits;
        vm.resume_calls(limits);
        let deadline = Arc::clone(&vm.deadline);
        let _armed = deadline.arm(limits.timeout);
        let result = vm.context.with(|ctx| {
            let (scrub, check) = {
                let helpers = ctx.userdata::<Helpers<'_>>();
                let get = |i: usize| helpers.as_ref().and_then(|h| h.get(i).cloned().flatten());
                (get(SCRUB_FN), get(CHECK_FN))
            };
            let scrub = scrub.ok_or_else(|| {
                ScriptError::new(ErrorKind::Internal, "reset failed: the scrub is missing")
            })?;
            let fail =
                |e: rquickjs::Error| describe(&ctx, &deadline, limits, e.into(), Phase::Internal);
            if let Some(problem) = scrub.call::<_, Option<String>>(()).map_err(fail)? {
                return Err(ScriptError::new(
                    ErrorKind::Internal,
                    format!("reset failed: {problem}"),
                ));
            }
            if let Some(check) = check
                && let Some(problem) = check.call::<_, Option<String>>(()).map_err(fail)?
            {
                return Err(ScriptError::new(
                    ErrorKind::Internal,
                    format!("reset verification failed: {problem}"),
                ));
            }
            Ok(())
        });
        // A limit the reset ran into fails it even if the scrub went on (a refused allocation it survived).
        match tripped(&deadline, limits) {
            Some(e) => Err(e),
            None => result,
        }
    }

    /// Runs `body` as one operation of the host API: `context` is current for the host functions it calls, and
    /// a host call's fatal failure replaces its result (and breaks the instance, as a limit does).
    fn operation(
        &self,
        vm: &mut QuickJsVm,
        context: Option<&CallContext>,
        body: impl FnOnce(&mut QuickJsVm) -> Result<Value, ScriptError>,
    ) -> Result<Value, ScriptError> {
        let session = Arc::clone(&vm.session);
        let active = session.enter(context, self.config.limits.timeout);
        let result = active.finish(body(vm));
        if result.as_ref().is_err_and(|e| e.kind().taints_instance()) {
            vm.broken = true;
        }
        result
    }

    /// `eval` within an operation of the host API.
    fn eval_inner(&self, vm: &mut QuickJsVm, source: &str) -> Result<Value, ScriptError> {
        self.config.check_source_size(source)?;
        if self.config.isolation == Isolation::None {
            return self.run(vm, Phase::Script, |ctx| {
                let mut options = EvalOptions::default();
                options.strict = false;
                options.filename = Some("input".to_owned());
                Ok(ctx.eval_with_options(source, options)?)
            });
        }
        self.run(vm, Phase::IndirectEval, |ctx| {
            let eval = ctx
                .userdata::<Helpers<'_>>()
                .and_then(|h| h.get(EVAL).cloned().flatten());
            let eval = eval.ok_or_else(|| {
                ScriptError::new(ErrorKind::Internal, "the original eval is missing")
            })?;
            Ok(eval.call((source,))?)
        })
    }

    /// `call` within an operation of the host API.
    fn call_inner(
        &self,
        vm: &mut QuickJsVm,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        self.run(vm, Phase::Call, |ctx| {
            let mut target: rquickjs::Value<'_> = ctx.globals().get(function)?;
            if !target.is_function() && is_identifier(function) {
                // A top-level `const`/`let` binding of the prelude is not a property of the global object.
                target = ctx.eval(format!(
                    "typeof {function} === 'function' ? {function} : undefined"
                ))?;
            }
            let Some(target) = target.into_function() else {
                return Err(ScriptError::new(
                    ErrorKind::Exception,
                    format!("no global function `{function}`"),
                )
                .into());
            };
            let mut converted = Vec::with_capacity(args.len());
            for arg in args {
                converted.push(convert::to_js(ctx, arg, 0)?);
            }
            Ok(target.call((Rest(converted),))?)
        })
    }
}

/// Evaluates one of the shared isolation scripts and calls the function it evaluates to.
fn store_helpers<'js>(ctx: &Ctx<'js>, helpers: Helpers<'js>) -> Result<(), ScriptError> {
    ctx.store_userdata(helpers).map(drop).map_err(|e| {
        ScriptError::new(
            ErrorKind::Internal,
            format!("cannot store the isolation helpers: {e}"),
        )
    })
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

impl ScriptEngine for QuickJsEngine {
    type Vm = QuickJsVm;
    type Error = ScriptError;

    fn create(&self) -> Result<QuickJsVm, ScriptError> {
        if let Some(vm) = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            return Ok(vm);
        }
        let limits = &self.config.limits;
        let session = HostSession::new(Arc::clone(&self.config.host), limits.memory_bytes());
        let deadline = Arc::new(Deadline::new(limits.stack_bytes()));
        let heap = Arc::new(Heap::new(limits.memory_bytes(), Arc::clone(&deadline)));
        // The allocator enforces the memory limit. QuickJS's own limit (`set_memory_limit`) is left unset: it
        // would refuse before the allocator is asked, and tell nobody but the script.
        let runtime =
            Runtime::new_with_alloc(LimitedAllocator::new(Arc::clone(&heap))).map_err(|e| {
                ScriptError::new(
                    ErrorKind::Internal,
                    format!("cannot create a QuickJS runtime: {e}"),
                )
            })?;
        runtime.set_max_stack_size(limits.stack_bytes());
        let handler_deadline = Arc::clone(&deadline);
        let handler_heap = Arc::clone(&heap);
        let stopper = Arc::new(Stopper::default());
        let handler_stopper = Arc::clone(&stopper);
        let handler_session = Arc::clone(&session);
        runtime.set_interrupt_handler(Some(Box::new(move || {
            // A host call that failed fatally ends the operation as a limit does (module `host`).
            let stop = handler_deadline.interrupt() || handler_session.is_fatal();
            if stop {
                // Room for the interruption's error object, even on a full heap.
                handler_heap.open_reserve();
                // And no JavaScript call from now on (see the module `stop`).
                handler_stopper.stop_calls();
            }
            stop
        })));
        let context = Context::full(&runtime).map_err(|e| match e {
            rquickjs::Error::Allocation => ScriptError::new(
                ErrorKind::Memory,
                format!(
                    "the memory limit of {} MiB is too small for a QuickJS context",
                    limits.memory_mb
                ),
            ),
            _ if heap.refused() => memory(limits),
            e => ScriptError::new(
                ErrorKind::Internal,
                format!("cannot create a QuickJS context: {e}"),
            ),
        })?;
        context.with(|ctx| stopper.attach(&ctx));
        let mut vm = QuickJsVm {
            context,
            runtime,
            deadline,
            heap,
            stopper,
            session,
            broken: false,
        };
        self.init(&mut vm)?;
        // A refusal fails the creation even where no operation was armed to record it (building the context).
        if vm.heap.refused() {
            return Err(memory(limits));
        }
        Ok(vm)
    }

    fn eval(&self, vm: &mut QuickJsVm, source: &str) -> Result<Value, ScriptError> {
        self.operation(vm, None, |vm| self.eval_inner(vm, source))
    }

    fn eval_with(
        &self,
        vm: &mut QuickJsVm,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |vm| self.eval_inner(vm, source))
    }

    fn call(
        &self,
        vm: &mut QuickJsVm,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        self.operation(vm, None, |vm| self.call_inner(vm, function, args))
    }

    fn call_with(
        &self,
        vm: &mut QuickJsVm,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |vm| self.call_inner(vm, function, args))
    }

    fn reset(&self, vm: &mut QuickJsVm) -> Result<(), ScriptError> {
        if self.config.isolation == Isolation::None {
            return Ok(());
        }
        let result = self.reset_inner(vm);
        if result.is_err() {
            vm.broken = true;
        }
        result
    }

    fn is_broken(&self, vm: &mut QuickJsVm) -> bool {
        // An instance whose allocation was ever refused is discarded, whatever its operation reported.
        vm.broken || vm.heap.refused()
    }

    fn memory_usage(&self, vm: &mut QuickJsVm) -> Option<usize> {
        usize::try_from(vm.runtime.memory_usage().memory_used_size).ok()
    }
}
