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
//! # Limits
//! From [`pool_core::Limits`], per instance:
//! - `timeout`: wall clock per `eval`, `call` or `reset`, including the promise jobs run afterwards and the
//!   conversion of the result. Enforced by the runtime's interrupt handler, which keeps saying "interrupt" until
//!   the operation has returned, so a script cannot catch the interruption and carry on. Error kind `timeout`.
//!   QuickJS drops any exception raised while it builds an error's stack, the interruption included, and runs
//!   script code there only through `Error.prepareStackTrace` and `Error.stackTraceLimit` (quickjs-ng's
//!   V8-style settings): both are read-only (`undefined` and 10) under every isolation policy, so that a script
//!   cannot install a looping hook that escapes the time limit.
//!
//!   QuickJS turns an exception thrown inside a promise executor, a `Promise.try` callback or the iteration of
//!   `Promise.all`/`allSettled`/`any`/`race` into a rejected promise, and the uncatchable interruption is no
//!   exception to that: a built-in that loops natively over calls that each make such a promise
//!   (`Iterator.prototype.includes.call({ next: () => new Promise(() => { for (;;) {} }) }, 1)`) would loop for
//!   ever, each interruption swallowed in an executor. So when the handler interrupts, it also lowers the
//!   runtime's stack limit to one byte: every later JavaScript call fails at once, the loop's included, and the
//!   operation ends (module `stop`; the instance is discarded anyway).
//!
//!   Some `Array.prototype` methods loop natively over an array-like's `length` without calling script code or
//!   polling the handler (`join`, `reverse`, `flat`, `copyWithin`, `shift`, `unshift`, `splice`, `concat` of a
//!   spreadable array-like, `sort`, ...): on `{ length: 2 ** 53 - 1 }` they would never return. A real array
//!   cannot be longer than `memory_mb` / 16 elements, so these methods refuse a longer receiver with a
//!   `RangeError` (module `arrays`; a `length` getter runs once more than it otherwise would).
//! - `memory_mb`: enforced by the runtime's allocator, over the whole instance (built-ins, prelude and request
//!   data). Kind `memory`. QuickJS's out-of-memory error is an ordinary, catchable `InternalError`, and QuickJS's
//!   own memory limit tells nobody but the script, so it is not used: every runtime allocates through a wrapper
//!   around rquickjs's `RustAllocator` (module `alloc`, see [Unsafe code](#unsafe-code)) that counts the usable
//!   size of every block QuickJS holds and refuses an allocation, or the growth of a reallocation, that would take
//!   the count past the limit. A refusal is recorded where the interrupt handler sees it: as for the time limit,
//!   the handler then interrupts (uncatchably) until the operation returns, and the operation fails with kind
//!   `memory` whatever the script did with the error, even when it caught the error and returned normally (the
//!   interruption comes at the handler's next poll, every few thousand function calls and loop iterations). A
//!   refusal during creation (the prelude, the lockdown, or building the context) fails the creation, and an
//!   instance that ever had an allocation refused reports itself broken. Once an operation has hit a limit, the
//!   allocator allows a reserve past the limit (1 MiB or 1/16 of the limit, whichever is larger, at most half the
//!   limit): half of it at the first refusal, so that QuickJS can allocate its out-of-memory error, and the rest
//!   when the interrupt handler interrupts, so that the interruption's error object can be allocated even when
//!   the script filled the first half (otherwise QuickJS throws `null`, which a script can catch). So the heap
//!   stays within 1.5 times the limit. The limit counts QuickJS's 4 KiB arena pages whole (free slots included),
//!   so it counts more than [`memory_usage`](pool_core::ScriptEngine::memory_usage) reports, which is still
//!   QuickJS's own estimate of what its objects use (231 KB for an idle strict instance, against 368 KB counted by the
//!   allocator: [`QuickJsVm::heap_bytes`]).
//! - `stack_kb`: the runtime's stack limit; deep recursion ends with kind `stack` instead of overflowing the native
//!   stack. QuickJS ignores limits above 16 MiB, so [`QuickJsEngine::new`] rejects a larger `stack_kb`. The thread
//!   running the instance needs that much stack plus some margin (Rust threads get 2 MiB by default).
//!   QuickJS's stack overflow error is an ordinary, catchable `RangeError`; so that a script cannot catch it and
//!   recurse on, the interrupt handler (polled every few thousand function calls and loop iterations) also
//!   measures the native stack: when it runs deeper than `stack_kb` below the point where the host last entered
//!   QuickJS, the script is at the limit, and from then on the handler interrupts until the operation returns,
//!   which then fails with kind `stack` whatever the script did with the errors. A script that catches one stack
//!   overflow and unwinds before the handler is next polled is not detected (it finishes normally).
//!
//! After a `timeout`, `memory`, `stack` or `internal` error the instance reports
//! [`is_broken`](pool_core::ScriptEngine::is_broken), and the pool discards it.
//!
//! # Isolation
//! [`Isolation::Strict`] (the default) is built from the shared scripts in [`pool_core::js`]:
//! - At creation, after the prelude, the lockdown freezes every object reachable from the global object (the
//!   built-ins, their prototypes, the hidden intrinsics such as `%IteratorPrototype%`, the generator and async
//!   function prototypes and `%TypedArray%`, and the prelude's global objects and functions) and makes every
//!   global that exists at that point non-writable and non-configurable (so the prelude's handlers cannot be
//!   reassigned). QuickJS creates most built-in functions lazily, on first access; the lockdown creates all of
//!   them so that they are frozen too (one created later would not be).
//! - The "override mistake" is avoided for the names most often assigned on ordinary objects: every own property
//!   name of `Object.prototype` (`constructor`, `toString`, `valueOf`, `toLocaleString`, `hasOwnProperty`,
//!   `isPrototypeOf`, `propertyIsEnumerable`, `__defineGetter__`, `__defineSetter__`, `__lookupGetter__`,
//!   `__lookupSetter__`), plus `name`, `message`, `push`, `concat`, `bind` and `Symbol.iterator`. On every
//!   built-in prototype these are accessors whose setter defines an own property on the receiver, so
//!   `obj.toString = f`, `obj.constructor = X`, `e.message = 'x'` on an error, `Foo.prototype.toString = f` and
//!   `Child.prototype.constructor = Child` work (assigning on the built-in itself throws a `TypeError`).
//!   Assigning any other name that a built-in prototype defines, on an object that inherits it (`arr.map = f`,
//!   `map.get = f`, `fn.call = f`), fails as on any frozen prototype: silently in sloppy code, with a
//!   `TypeError` in strict code. `Object.defineProperty`, object literals and class members still create such
//!   properties. (Reading one of the listed names through `Reflect.get` with a receiver that is not below the
//!   prototype holding it can return the value of another built-in prototype on the receiver's chain.)
//! - Request source runs through the original `eval`, called indirectly: its `let`, `const` and `class`
//!   declarations stay local to that evaluation, and its `var` and function declarations become deletable globals.
//! - Promise jobs run after every `eval` and `call`, under the same deadline; if any are still queued at `reset`
//!   (only possible after a limit was hit), the reset fails and the instance is discarded.
//! - `reset` deletes the globals added since creation (string and symbol keyed) and restores the global object's
//!   prototype; if a global cannot be deleted (defined non-configurable) or the global object was made
//!   non-extensible, the reset fails and the pool discards the instance.
//!
//! - `Math.random` draws from `rand`'s thread-local cryptographically secure generator. QuickJS's own keeps
//!   one xorshift64* state per context, seeded once from the clock; two of its numbers give the state back, and
//!   with it the numbers of earlier and later uses.
//! - An Error object among the built-ins that has no stack yet (`DOMException.prototype`) gets an own, constant
//!   `stack` from the lockdown: QuickJS stores the stack of the first throw of such an object in an internal
//!   slot, which would carry one use's function names to every later use.
//!
//! So no use can observe: globals added by another use, its declarations, changes to built-ins or prototypes
//! (`Object.prototype.x = 1`, `Array.prototype.map = ...` and `JSON.parse = ...` have no effect, or throw in strict
//! code), reassigned globals or handlers, its pending promise jobs, or its random numbers.
//!
//! Not covered, by design: state that is not reachable from the global object. That is the prelude's own mutable
//! state: its top-level `let` and `class` bindings (a request can assign a prelude `let`, so use `const`), the
//! variables its functions close over, and the contents of `Map`, `Set`, typed array or `Date` objects it holds
//! (their internal slots cannot be frozen). Also the `Symbol.for` registry, and `FinalizationRegistry` callbacks,
//! which run whenever the garbage collector gets to them. Prelude code that writes to its own global objects fails
//! under strict isolation (they are frozen): keep per-request state in local variables.
//!
//! Cost, measured in release on a 2-core box with a one-function prelude (`memory_usage`; times are medians,
//! creation varies by 2x with machine load):
//!
//! | isolation         | create       | idle instance | reset      | warm `call` |
//! | ----------------- | ------------ | ------------- | ---------- | ----------- |
//! | none              | ~0.09 ms     | 97 KB         | 0          | 3 us        |
//! | scrub             | ~0.2 ms      | 111 KB        | 7 us       | 3 us        |
//! | strict            | ~2.6-3.5 ms  | 231 KB        | 3.4 us     | 3 us        |
//! | strict + verify   | ~2.7-3.5 ms  | 236 KB        | 3.6 us     | 3 us        |
//!
//! Where strict's extra ~135 KB goes: creating the ~460 lazily created built-in functions (~54 KB) and the three
//! built-ins QuickJS compiles from bytecode on first use (`Array.fromAsync`, `Iterator.zip`,
//! `Iterator.zipKeyed`, ~16 KB); giving each of the ~540 frozen objects a hidden class of its own (QuickJS
//! cannot share a shape whose property flags changed, ~47 KB); the override-mistake accessors (~10 KB); the
//! scrub's baseline (~7 KB). The first three are the price of freezing every built-in and do not depend on the
//! scripts. `cargo run --release -p engine-quickjs --example memory_breakdown` prints QuickJS's own accounting by
//! category after each step (a full GC after the set-up frees nothing: the set-up leaves no garbage). Most of the
//! creation time is the lockdown's walk over ~640 objects and ~2,000 properties in interpreted JavaScript.
//! rquickjs can neither snapshot nor clone a context, so every instance pays it.
//!
//! [`Isolation::Scrub`] only runs the scrub: globals added since creation are deleted; built-ins and prototypes are
//! not protected. [`Isolation::None`] does not reset at all, and evaluates request source as a global script (its
//! `let` declarations persist, as in any script).
//!
//! With `verify_reset` (the default), every reset ends by comparing a fingerprint with the baseline taken at
//! creation: the global object's prototype and extensibility and, under scrub, its keys (names and order) and the
//! number of keys of the core built-ins (`Object.prototype`, `Array.prototype`, `Function.prototype`, ...: this
//! catches `Object.prototype.x = 1`). Under strict the keys and built-ins are not compared again: the built-ins
//! are frozen (a frozen object cannot be unfrozen) and every baseline global is non-configurable, so the scrub that
//! ran just before has already restored the exact key list or failed. A mismatch fails the reset with an
//! `internal` error and the pool discards the instance. Under scrub, a replaced global value
//! (`JSON.parse = f`, `handle = f`) is not detected; strict prevents it.
//!
//! # Unsafe code
//! The crate denies `unsafe` code everywhere except in two modules. `alloc` implements rquickjs's
//! `Allocator` trait (an `unsafe trait` with `unsafe` methods, and the only way to give QuickJS an allocator) so
//! that the host, not the script, learns that the memory limit was hit. The wrapper adds no memory handling of its
//! own: every block comes from rquickjs's `RustAllocator` and goes back to it unchanged, each method forwarding the
//! caller's pointer to the same method of `RustAllocator`, so the caller's contract is passed on unchanged. The
//! wrapper only reads block sizes (through `RustAllocator::usable_size`, on blocks `RustAllocator` made) and
//! returns null to refuse an allocation, which the trait allows. The accounting (module `heap`) is safe code.
//! `stop` makes two calls into QuickJS's C API: `JS_GetRuntime` on a live context, when an instance is created,
//! and `JS_SetMaxStackSize` on that runtime from its interrupt handler, which QuickJS calls on the runtime's
//! thread while it runs (rquickjs's safe setter would lock the runtime, which that thread already holds).
//!
//! # Compiled prelude
//! rquickjs offers no safe way to compile a script once and run the compiled form in another context, so every
//! instance parses the prelude; [`QuickJsEngine::new`] creates and drops one instance to report prelude errors
//! (syntax errors name the line) before any pool is built.

#![deny(unsafe_code)]

mod alloc;
mod arrays;
mod convert;
mod deadline;
mod failure;
mod heap;
mod host;
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
            pin_error_settings(&ctx).map_err(internal)?;
            // A dense array holds at least 16 bytes per element.
            arrays::bound(&ctx, limits.memory_bytes() as u64 / 16, &deadline).map_err(internal)?;
            if self.strict() {
                secure_random(&ctx).map_err(internal)?;
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
            let setup = |name: &str, source: &str| run_setup(&ctx, &deadline, limits, name, source);
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
        if source.len() > self.config.max_source_bytes {
            return Err(ScriptError::new(
                ErrorKind::Syntax,
                format!(
                    "source is {} bytes, more than the limit of {} bytes (max_source_bytes)",
                    source.len(),
                    self.config.max_source_bytes
                ),
            ));
        }
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
fn run_setup<'js>(
    ctx: &Ctx<'js>,
    deadline: &Deadline,
    limits: &pool_core::Limits,
    name: &str,
    source: &str,
) -> Result<Option<Function<'js>>, ScriptError> {
    let fail = |e: rquickjs::Error| {
        let err = describe(ctx, deadline, limits, e.into(), Phase::Internal);
        if err.kind() == ErrorKind::Internal {
            ScriptError::new(ErrorKind::Internal, format!("{name}: {}", err.message()))
        } else {
            err
        }
    };
    let mut options = EvalOptions::default();
    options.strict = false;
    options.filename = Some(format!("vmpool:{name}"));
    let make: Function<'js> = ctx.eval_with_options(source, options).map_err(fail)?;
    let made: rquickjs::Value<'js> = make.call(()).map_err(fail)?;
    Ok(made.into_function())
}

/// Makes `Error.stackTraceLimit` and `Error.prepareStackTrace` (quickjs-ng's V8-style settings, accessors whose
/// setters change the context's state) read-only data properties holding their current values, under every
/// isolation policy. QuickJS calls the hook and converts the limit while it builds an error's stack, and drops any
/// exception raised meanwhile, the time limit's uncatchable interruption included: a script that installed a
/// looping hook would never be interrupted. (The lockdown pins them too, under strict.)
fn pin_error_settings(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let error: rquickjs::Object<'_> = ctx.globals().get("Error")?;
    for name in ["stackTraceLimit", "prepareStackTrace"] {
        let value: rquickjs::Value<'_> = error.get(name)?;
        error.prop(name, rquickjs::object::Property::from(value))?;
    }
    Ok(())
}

/// Replaces `Math.random` with a function that draws from `rand`'s thread-local cryptographically secure
/// generator (53 random bits, in `[0, 1)`). QuickJS's own keeps one xorshift64* state per context, seeded once
/// from the clock: each number reveals 52 of its 64 bits and the steps can be reversed, so two numbers let a use
/// compute the numbers of the uses before it and predict those after it.
fn secure_random(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let random = Function::new(ctx.clone(), rand::random::<f64>)?.with_name("random")?;
    let math: rquickjs::Object<'_> = ctx.globals().get("Math")?;
    math.set("random", random)
}

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
