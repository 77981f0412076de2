//! The [Boa](https://boajs.dev) backend of vmpool: [`BoaEngine`] implements [`pool_core::ScriptEngine`] over a
//! `boa_engine` 0.22 [`Context`].
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
//! pins this) and never will be: no `unsafe impl Send`. The factory [`BoaEngine`] is `Send + Sync`. To put Boa in
//! a shared pool, wrap the engine in pool-core's carrier, which keeps each instance on a dedicated thread for its
//! whole life and stops waiting for it at the wall-clock deadline.
//!
//! Boa's parser and some of its built-ins recurse on the native stack, and a native stack overflow aborts the
//! process. Every engine operation therefore runs on a stack of at least [`ENGINE_STACK_BYTES`]: if the calling
//! thread has less left, the operation runs on a fresh stack segment of that size (via `stacker`, costing an
//! `mmap` per operation). Giving the carrier threads a stack of `ENGINE_STACK_BYTES` plus a little avoids that.
//! `create` always runs on a fresh segment, unmapped when it returns, so that the stack pages its parsing touches
//! do not stay resident on a carrier thread (see "Memory").
//!
//! # Limits
//! | limit | how | error kind |
//! | --- | --- | --- |
//! | `limits.timeout` in `call` and `eval` | the call runs through a cached trampoline script evaluated with Boa's budgeted interpreter loop (`Script::evaluate_async_with_budget`), polled with a no-op waker; the deadline is checked between slices of [`BUDGET`] cost units. Request source without `var`s, top-level functions or `use strict` runs the same way, as one block of a script (`{` + source + `}`, which means what `eval` means for such source); other source goes through `eval`, which Boa runs to completion in one native call | `timeout` |
//! | `limits.timeout` everywhere | Boa's loop-iteration limit, [`LOOP_ITERATIONS_PER_SECOND`] per second of timeout (at least 10 000) per call frame; the deadline is also checked between promise jobs and during result conversion | `timeout` |
//! | `limits.stack_kb` | recursion limit = `stack_kb / 2` (one JavaScript call frame is charged 2 KiB; at least 16) and value-stack limit = `stack_kb` KiB of `JsValue` slots | `stack` |
//! | source size | `max_source_bytes`, checked before parsing (also for `eval`/`Function` called by scripts) | `syntax` |
//! | source nesting | a pre-parse scan: brackets deeper than [`MAX_NESTING`] or expression chains longer than [`MAX_CHAIN`] tokens are rejected before parsing (also for `eval`/`Function` called by scripts) | `stack` |
//! | `limits.memory_mb` | needs [`CountingAllocator`] as the binary's global allocator (Boa keeps no account of its heap; a library cannot choose the allocator). It counts, per thread, the bytes allocated minus freed; an instance's heap is its size after creation plus what its thread allocated minus freed during its operations. Past `memory_mb` between two slices of the budgeted loop or two promise jobs (after a garbage collection), or after an operation, the call ends with `memory`. The built-ins that allocate in proportion to their arguments in one native call (`String.prototype.repeat`, `padStart`, `padEnd`, `Array.prototype.fill`, `join`, `Array.from` of an array-like) refuse a result estimated over what is left (a `memory` error, even if the script catches the RangeError they throw; in the prelude, the creation fails). Through [`BoaEngine::pooled`], an allocation that would take the instance past [`HARD_LIMIT_PERCENT`] of `memory_mb` parks its thread for good (see below). `memory_usage` collects garbage and returns the heap. Without the allocator: no heap limit, only the built-ins' refusal of single results over `memory_mb`, and `memory_usage` returns `None`. | `memory` |
//!
//! A result that is a promise is settled first, as in every vmpool engine: its value once the jobs ran, an
//! `exception` for a rejection, a `conversion` error while it is still pending. The message of an `exception`
//! is made without running script code: a thrown object's `name` and `message` are read only where they are data
//! properties (a getter would run after the call, outside every limit), and an error object whose `name` is
//! not one is named after the built-in error type it inherits from.
//!
//! Boa's runtime-limit errors cannot be caught by JavaScript `try`/`catch` (they are engine errors that unwind to
//! the host), so `for(;;){ try { for(;;){} } catch(e){} }` ends with `timeout`. After `timeout`, `stack` or
//! `internal` the instance reports [`is_broken`](pool_core::ScriptEngine::is_broken).
//!
//! What Boa cannot contain:
//! - **memory within one slice, and without the carrier**: the heap is checked between slices of [`BUDGET`] cost
//!   units, so growth that is fast within a slice (a string doubled twenty times, `new Array(n)` spread) is seen
//!   late. Through [`BoaEngine::pooled`], the allocation that would take the instance past [`HARD_LIMIT_PERCENT`]
//!   of `memory_mb` parks its thread for good instead of being made (no Boa state is shared between threads, and
//!   a failed allocation would abort the process): the carrier's deadline then ends the call with `timeout`, the
//!   instance is discarded, and what the thread holds (at most the cap) stays until the process exits;
//!   [`CountingAllocator::parked_threads`] counts them. A [`BoaEngine`] used directly has no such cap. The heap
//!   of instances that share a thread is counted together during each one's operations (exact on a carrier
//!   thread, where an instance is alone).
//! - **native built-ins ignore the loop limit**: one call such as `'x'.repeat(n)`, `Array(n).fill(0)` or
//!   `arr.sort()` runs to completion in native code; the deadline is noticed only after it returns.
//! - **code run from native callbacks** (`[].forEach(f)`, getters, `toString`, promise jobs) and request source
//!   that goes through `eval` (with `var`s or top-level functions) runs in Boa's synchronous interpreter loop,
//!   where only the loop and recursion limits apply: a runaway there that uses neither (exponential recursion
//!   `f(n){ f(n-1); f(n-1) }`) is stopped only by the carrier's deadline, which discards the instance but cannot
//!   stop the thread.
//! - **native recursion on data** is bounded by native wrappers installed at creation (before the prelude, so the
//!   lockdown freezes them): `Array.prototype.join`/`toString`/`toLocaleString`, `Error.prototype.toString` and
//!   `RegExp.prototype.toString` count their nesting on the thread and, at the recursion limit, end the operation
//!   with Boa's own uncatchable recursion error, so `String()` of deeply nested arrays ends with `stack`; `Proxy`
//!   and `Function.prototype.bind` refuse chains longer than 1000 (a RangeError); `JSON.stringify` and
//!   `Array.prototype.flat` refuse nesting deeper than 1000 (a RangeError). Without them these recursed natively
//!   and overflowed even the [`ENGINE_STACK_BYTES`] stack, which aborts the process. Other native recursion on
//!   data, if Boa has any left, is not covered.
//! - **sorting**: Boa's own sort panics on a comparator that is not a consistent order (`(a, b) => a > b`); the
//!   adapter's `Array.prototype.sort`/`toSorted` and `%TypedArray%.prototype.sort`/`toSorted` sort with a merge
//!   sort that accepts any comparator, and refuse an array-like longer than `memory_mb` has room for.
//! - **regular expressions**: Boa's regex engine runs a match in one native call with no step limit, so a
//!   backtracking pattern (`/^(a+)+$/` on 34 `a`s and a `b`) is stopped only by the carrier's deadline.
//! - **interned strings**: Boa interns every identifier and literal it parses for the life of the instance;
//!   [`is_broken`](pool_core::ScriptEngine::is_broken) reports an instance with more than [`MAX_INTERNED`]
//!   interned strings so that the pool replaces it.
//!
//! # Isolation
//! The policies do what pool-core's shared JavaScript ([`pool_core::js`]) describes, in native code with the same
//! semantics and messages: the lockdown (strict; module `lockdown`), the scrub (strict, scrub) and the
//! fingerprint (`verify_reset`; module `baseline`). Boa's interpreter runs the lockdown script's walk in about
//! 17 ms (natively: about 1.5 ms), and a Boa closure keeps its whole scope, compiled code and source text alive (the
//! scripts' closures cost an idle instance about 200 KB). Request source given to `eval` is evaluated as the original `eval`
//! called indirectly would evaluate it, so its `let`/`const`/`class` declarations stay local to that evaluation and
//! its `var` and function declarations become deletable global properties (source without the latter runs as one
//! block of a script, which means the same; see "Limits").
//! - `Strict`: at creation, after the prelude, every object reachable from the global object and the hidden
//!   intrinsics are frozen (before the prelude, the commonly overridden properties of the built-in prototypes,
//!   every own name of `Object.prototype` plus `name`, `message`, `push`, `concat`, `bind` and
//!   `Symbol.iterator`, become accessors, so `obj.toString = f` or `err.message = m` still work on new objects;
//!   before and not after the prelude because of a Boa bug, see module `lockdown`, so the prelude's own
//!   prototypes keep plain properties; assigning another inherited built-in name such as `arr.map = f` fails as
//!   on any frozen prototype, while `Object.defineProperty` works), and the baseline
//!   globals (including the prelude's functions) become non-writable and
//!   non-configurable. A reset drops pending promise jobs, deletes the globals added since creation and restores
//!   the global object's prototype. Not covered: state that is not reachable from the global object — the
//!   prelude's top-level `let`/`const`/`class` bindings and variables its functions close over, the contents of
//!   `Map`/`Set`/typed arrays held by the prelude, the `Symbol.for` registry, and the interned-string table.
//! - `Scrub`: the reset drops pending jobs and deletes the globals added since creation; built-ins and prototypes
//!   stay mutable, so `Object.prototype.x = 1` survives (with `verify_reset` the fingerprint sees the changed key
//!   count of the core built-ins and fails the reset). Reassigning a baseline global (`handle = f`,
//!   `JSON.parse = f`) is neither undone nor detected under scrub.
//! - `None`: no reset, no verification. `let`/`const` in `eval`'d source stay local to that evaluation under
//!   every policy; `var` and assignments to undeclared names persist under `None`.
//!
//! With `verify_reset` (strict and scrub) the reset compares the fingerprint taken at creation and fails with
//! `internal` on a mismatch, so the pool discards the instance.
//!
//! # Memory
//! An idle instance's heap, as [`CountingAllocator`] counts it (what `memory_usage` and pool-bench's memory
//! column report): strict isolation with `verify_reset`, the JSON handler, after one call and its reset, release
//! (`cargo run --release -p engine-boa --example boa_heap`):
//! - about 337 KB: a bare `Context` 289 KB; the bounded built-ins (native wrappers) about 4 KB; the prelude, one
//!   call and its trampoline script (about 9 KB per call arity) about 23 KB; the lockdown about 20 KB (mostly
//!   its native accessors; the frozen objects themselves cost almost nothing); the scrub and fingerprint
//!   baselines about 1 KB. `Isolation::None`: about 316 KB.
//! - resident-set growth per instance (the `boa_memory` example: 20 instances in a fresh process): 342 KiB on
//!   the creating thread (`None`: 319 KiB); through a carrier (a thread per instance) about 453 KiB (`None`:
//!   369 KiB), of which the thread's own allocator arena and stack hold the rest.
//!
//! What set-up does to keep that down: everything the set-up leaves in the instance is native (module `harden`
//! for the bounded built-ins, `lockdown` for the lockdown and its accessors, `baseline` for the scrub and the
//! fingerprint): a Boa closure keeps its whole scope, compiled code and source text alive, and the JavaScript
//! versions cost about 330 KB per instance. Every creation ends with a
//! garbage collection; creation runs on a stack segment that is unmapped afterwards. [`BoaEngine::new`] creates a
//! trial instance, so process-wide first-use costs (code pages, Boa's statics) are paid there rather than by the
//! first instance. Creating a strict instance takes about 2 ms (`None`: about 0.5 ms).
//!
//! The prelude is parsed and compiled once per instance: a parsed Boa `Script` is bound to the realm of the context
//! that parsed it and holds thread-local GC pointers, so it cannot be shared between instances or threads (the
//! same holds for the set-up scripts). `new` parses it once, standalone, to report syntax errors with their line,
//! then creates a trial instance to report a prelude that throws.

#![deny(unsafe_code)]

mod baseline;
mod convert;
mod harden;
mod heap;
mod host;
mod jobs;
mod lockdown;
mod scan;
mod sort;

use std::future::Future;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use boa_engine::builtins::promise::PromiseState;
use boa_engine::context::HostHooks;
use boa_engine::error::{EngineError, RuntimeLimitError};
use boa_engine::object::builtins::{JsArray, JsPromise};
use boa_engine::parser::Parser;
use boa_engine::property::Attribute;
use boa_engine::realm::Realm;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{
    Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, Script,
    Source, js_string,
};
use pool_core::host::CallContext;
use pool_core::{Carrier, EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError, Value};

pub use heap::CountingAllocator;
pub use jobs::MAX_JOBS_PER_RUN;
pub use scan::{MAX_CHAIN, MAX_NESTING};

/// Native stack every engine operation runs with (parsing and execution): 256 MiB, reserved lazily.
pub const ENGINE_STACK_BYTES: usize = 256 * 1024 * 1024;
/// How long after `limits.timeout` the carrier of [`BoaEngine::pooled`] stops waiting.
pub const CARRIER_GRACE: Duration = Duration::from_millis(250);
/// Loop iterations per call frame allowed per second of `limits.timeout`.
pub const LOOP_ITERATIONS_PER_SECOND: u64 = 10_000_000;
/// Cost units Boa's budgeted interpreter runs between two checks of the deadline and the heap.
pub const BUDGET: u32 = 5_000;
/// Interned strings after which an instance reports itself broken, so that the pool replaces it.
pub const MAX_INTERNED: usize = 500_000;

/// The hidden global through which `call` passes the function and arguments to its trampoline script.
const CALL_SLOT: &str = "__vmpool_boa_call__";

/// The Boa engine factory: limits, isolation policy and prelude shared by its instances.
#[derive(Debug, Clone)]
pub struct BoaEngine {
    config: EngineConfig,
    runtime_limits: RuntimeLimits,
    /// Whether an allocation past [`HARD_LIMIT_PERCENT`] of the memory limit parks the thread for good (only on
    /// a carrier's threads: see [`BoaEngine::pooled`]).
    park_past_cap: bool,
}

/// With a [`CountingAllocator`] installed: an instance whose heap passes `limits.memory_mb` between two slices of
/// Boa's budgeted loop (or two promise jobs), even after a garbage collection, ends the call with `memory`.
/// Through [`BoaEngine::pooled`], a single allocation that would take it past this percentage of the limit parks
/// its thread for good instead (see the crate docs, "Limits").
pub const HARD_LIMIT_PERCENT: isize = 125;

/// One Boa instance: a [`Context`] with its baseline, scrub and fingerprint. Not `Send`.
pub struct BoaVm {
    context: Context,
    jobs: Rc<jobs::Jobs>,
    eval: JsObject,
    object_keys: JsObject,
    slots: JsArray,
    trampolines: Vec<Option<Script>>,
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
    _live: LiveOnThread,
}

/// An instance's heap during one operation: its size before, plus what its thread allocated minus freed since.
#[derive(Clone, Copy)]
struct Meter {
    start: isize,
    base: isize,
    limit: isize,
}

impl Meter {
    /// `None` without a [`CountingAllocator`].
    fn new(base: isize, limit: isize) -> Option<Self> {
        CountingAllocator::is_installed().then(|| Self {
            start: CountingAllocator::thread_net_bytes(),
            base,
            limit,
        })
    }

    fn used(&self) -> isize {
        self.base + (CountingAllocator::thread_net_bytes() - self.start)
    }

    /// Whether the instance is over the limit, once garbage is collected.
    fn over(&self) -> bool {
        if self.used() <= self.limit {
            return false;
        }
        boa_engine::gc::force_collect();
        self.used() > self.limit
    }

    /// Whether `extra` more bytes fit under the limit, once garbage is collected if they do not at first.
    fn fits(&self, extra: usize) -> bool {
        let extra = isize::try_from(extra).unwrap_or(isize::MAX);
        if self.used().saturating_add(extra) <= self.limit {
            return true;
        }
        boa_engine::gc::force_collect();
        self.used().saturating_add(extra) <= self.limit
    }
}

thread_local! {
    /// The meter of the operation running on this thread, for the hardened built-ins.
    static ACTIVE_METER: std::cell::Cell<Option<Meter>> = const { std::cell::Cell::new(None) };
}

/// Bytes the instance whose operation runs on this thread has left under its limit (infinite when nothing is
/// metered): the hardened built-ins refuse one call's allocation past it.
fn room() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    ACTIVE_METER
        .with(std::cell::Cell::get)
        .map_or(f64::INFINITY, |m| (m.limit - m.used()) as f64)
}

/// One metered operation's hold on its thread: the meter the hardened built-ins read and, on a carrier thread,
/// the allocation cap. Both are undone on drop, also when the operation panics.
struct Metering {
    previous: Option<Meter>,
    capped: bool,
}

impl Metering {
    fn new(meter: &Meter, hard: Option<isize>) -> Self {
        let previous = ACTIVE_METER.replace(Some(*meter));
        if let Some(hard) = hard {
            heap::set_thread_cap(Some(meter.start + (hard - meter.base)));
        }
        Self {
            previous,
            capped: hard.is_some(),
        }
    }
}

impl Drop for Metering {
    fn drop(&mut self) {
        ACTIVE_METER.set(self.previous);
        if self.capped {
            heap::set_thread_cap(None);
        }
    }
}

thread_local! {
    /// Live [`BoaVm`]s on this thread (they share the thread's garbage collector).
    static LIVE_ON_THREAD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Membership in [`LIVE_ON_THREAD`], from creation to drop.
struct LiveOnThread;

impl LiveOnThread {
    fn new() -> Self {
        LIVE_ON_THREAD.with(|n| n.set(n.get() + 1));
        LiveOnThread
    }
}

impl Drop for LiveOnThread {
    fn drop(&mut self) {
        LIVE_ON_THREAD.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Number of Boa instances alive on the calling thread (they share its garbage collector and its heap count).
pub fn instances_on_this_thread() -> usize {
    LIVE_ON_THREAD.with(std::cell::Cell::get)
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

/// Host hooks that apply the source checks to `eval` and `Function` called by scripts.
struct Hooks {
    max_source_bytes: usize,
}

impl HostHooks for Hooks {
    fn ensure_can_compile_strings(
        &self,
        _realm: Realm,
        parameters: &[JsString],
        body: &JsString,
        _direct: bool,
        _context: &mut Context,
    ) -> JsResult<()> {
        let mut source = body.to_std_string_lossy();
        for p in parameters {
            source.push(',');
            source.push_str(&p.to_std_string_lossy());
        }
        match check_source(&source, self.max_source_bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(JsNativeError::syntax()
                .with_message(e.message().to_owned())
                .into()),
        }
    }
}

/// Source size and nesting checks, before anything parses `source`.
fn check_source(source: &str, max_source_bytes: usize) -> Result<(), ScriptError> {
    if source.len() > max_source_bytes {
        return Err(ScriptError::new(
            ErrorKind::Syntax,
            format!(
                "source is {} bytes, over the limit of {max_source_bytes} bytes (max_source_bytes)",
                source.len()
            ),
        ));
    }
    scan::check(source).map_err(|e| match e {
        scan::TooDeep::Nesting { line } => ScriptError::new(
            ErrorKind::Stack,
            format!("source nests brackets deeper than the limit of {MAX_NESTING} levels (line {line})"),
        ),
        scan::TooDeep::Chain { line } => ScriptError::new(
            ErrorKind::Stack,
            format!("source has an expression chain longer than the limit of {MAX_CHAIN} tokens (line {line})"),
        ),
    })
}

/// Runs `f` with at least [`ENGINE_STACK_BYTES`] of native stack.
fn on_big_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(ENGINE_STACK_BYTES, ENGINE_STACK_BYTES, f)
}

/// Parses `source` standalone (own interner, no context); the parser's message names line and column.
fn parse_error(source: &str) -> Option<String> {
    on_big_stack(|| {
        let mut interner = boa_engine::interner::Interner::default();
        let scope = boa_engine::ast::scope::Scope::new_global();
        Parser::new(Source::from_bytes(source))
            .parse_script(&scope, &mut interner)
            .err()
            .map(|e| e.to_string())
    })
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
        check_source(&config.prelude, usize::MAX).map_err(|e| {
            ScriptError::new(
                e.kind(),
                format!("prelude `{}`: {}", config.prelude_name, e.message()),
            )
        })?;
        if let Some(message) = parse_error(&config.prelude) {
            return Err(ScriptError::new(
                ErrorKind::Syntax,
                format!(
                    "syntax error in prelude `{}`: {message}",
                    config.prelude_name
                ),
            ));
        }
        let runtime_limits = runtime_limits(&config);
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
    /// deadline only catches what the engine cannot stop (see the crate docs).
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
        op: impl FnOnce(&mut BoaVm, Option<&Meter>) -> Result<T, ScriptError>,
    ) -> Result<T, ScriptError> {
        // A refusal left over from outside an operation (the prelude's) is not this operation's.
        let _ = harden::take_refusal();
        let meter = Meter::new(vm.heap, self.limit_bytes());
        let hard = self
            .park_past_cap
            .then(|| self.limit_bytes().saturating_mul(HARD_LIMIT_PERCENT) / 100);
        let metering = meter.as_ref().map(|m| Metering::new(m, hard));
        let mut result = op(vm, meter.as_ref());
        drop(metering);
        if let Some(m) = &meter {
            // Also after a failure: an instance left over its limit (by source that ran through `eval`, which is
            // not checked between slices) must not be used again.
            let already = matches!(&result, Err(e) if e.kind() == ErrorKind::Memory);
            if !already && m.over() {
                result = Err(self.memory_error(m));
            }
            // Garbage made outside an operation (by the conversion of its result) is freed by a collection
            // inside a later one, which the count sees as this instance shrinking: never below its baseline.
            vm.heap = m.used().max(vm.baseline);
        }
        result
    }

    /// The error of an operation its meter stopped (only a metered operation is stopped for memory).
    fn memory_stop(&self, meter: Option<&Meter>) -> ScriptError {
        match meter {
            Some(m) => self.memory_error(m),
            None => ScriptError::new(ErrorKind::Memory, "memory limit"),
        }
    }

    fn memory_error(&self, meter: &Meter) -> ScriptError {
        ScriptError::new(
            ErrorKind::Memory,
            format!(
                "script ran past the memory limit of {} MiB (limits.memory_mb; its heap reached {} MiB)",
                self.config.limits.memory_mb,
                meter.used() >> 20
            ),
        )
    }

    /// The Boa runtime limits derived from the configuration (see the crate docs for the mapping).
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
            .host_hooks(Rc::new(Hooks {
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
        let slots = JsArray::new(&mut context).map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("cannot create the call slots: {e}"),
            )
        })?;
        let slot_fn = NativeFunction::from_copy_closure_with_captures(
            |_: &JsValue, args: &[JsValue], slots: &JsArray, context: &mut Context| {
                let index = args.first().and_then(JsValue::as_number).unwrap_or(-1.0);
                if index >= 0.0 && index < f64::from(u32::MAX) {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    return slots.get(index as u32, context);
                }
                Ok(JsValue::undefined())
            },
            slots.clone(),
        )
        .to_js_function(context.realm());
        context
            .register_global_property(js_string!(CALL_SLOT), slot_fn, Attribute::empty())
            .map_err(|e| {
                ScriptError::new(
                    ErrorKind::Internal,
                    format!("cannot install the call slot: {e}"),
                )
            })?;
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
            slots,
            trampolines: Vec::new(),
            baseline_globals: None,
            host,
            broken: None,
            _live: LiveOnThread::new(),
            heap: 0,
            baseline: 0,
        };
        let deadline = self.deadline();
        // Before anything else runs: built-ins that recurse natively on data or allocate in one native call get
        // bounded wrappers (module `harden`).
        #[allow(clippy::cast_precision_loss)]
        let max_bytes = self.config.limits.memory_bytes() as f64;
        harden::install(&mut vm.context, max_bytes).map_err(|e| {
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
        meter: Option<&Meter>,
    ) -> Result<(), ScriptError> {
        let over_memory = || meter.is_some_and(Meter::over);
        match vm.jobs.run(&mut vm.context, deadline, &over_memory) {
            Ok(()) => Ok(()),
            Err(jobs::JobsStop::Engine(e)) => Err(self.js_error(vm, e, false)),
            Err(jobs::JobsStop::Deadline) => Err(ScriptError::timeout(self.config.limits.timeout)),
            Err(jobs::JobsStop::Memory) => Err(self.memory_stop(meter)),
            Err(jobs::JobsStop::TooMany) => Err(ScriptError::new(
                ErrorKind::Timeout,
                format!(
                    "promise jobs kept queueing more jobs past the limit of {MAX_JOBS_PER_RUN} per call"
                ),
            )),
        }
    }

    /// Classifies a Boa error. `from_eval`: a native `SyntaxError` may be the request source's parse error.
    fn js_error(&self, vm: &mut BoaVm, e: JsError, from_eval: bool) -> ScriptError {
        if let Some(engine) = e.as_engine() {
            return match engine {
                EngineError::RuntimeLimit(RuntimeLimitError::LoopIteration) => ScriptError::new(
                    ErrorKind::Timeout,
                    format!(
                        "script ran past the loop iteration limit of {} per call frame (Boa's in-engine stand-in for \
                         the time limit of {:?})",
                        self.runtime_limits.loop_iteration_limit(),
                        self.config.limits.timeout
                    ),
                ),
                EngineError::RuntimeLimit(RuntimeLimitError::Recursion) => ScriptError::new(
                    ErrorKind::Stack,
                    format!(
                        "script ran past the recursion limit of {} calls (limits.stack_kb = {})",
                        self.runtime_limits.recursion_limit(),
                        self.config.limits.stack_kb
                    ),
                ),
                EngineError::RuntimeLimit(RuntimeLimitError::StackSize) => ScriptError::new(
                    ErrorKind::Stack,
                    format!(
                        "script ran past the value stack limit of {} slots (limits.stack_kb = {})",
                        self.runtime_limits.stack_size_limit(),
                        self.config.limits.stack_kb
                    ),
                ),
                other => {
                    ScriptError::new(ErrorKind::Internal, format!("Boa engine error: {other}"))
                }
            };
        }
        if from_eval && e.as_native().is_some_and(|n| n.is_syntax()) {
            return ScriptError::new(
                ErrorKind::Syntax,
                format!("SyntaxError: {}", native_message(&e)),
            );
        }
        let error = ScriptError::new(ErrorKind::Exception, exception_message(&e, &mut vm.context));
        pool_core::engine::explain_refused_write(self.config.isolation, error)
    }

    fn conversion(&self, vm: &mut BoaVm, fail: convert::Fail) -> ScriptError {
        match fail {
            convert::Fail::Conversion(m) => {
                ScriptError::new(ErrorKind::Conversion, format!("cannot convert: {m}"))
            }
            convert::Fail::TooLarge | convert::Fail::Memory => ScriptError::new(
                ErrorKind::Memory,
                format!(
                    "cannot convert: the value does not fit the memory limit of {} MiB",
                    self.config.limits.memory_mb
                ),
            ),
            convert::Fail::Deadline => ScriptError::timeout(self.config.limits.timeout),
            convert::Fail::Js(e) => {
                let e = self.js_error(vm, e, false);
                if e.kind() == ErrorKind::Exception {
                    ScriptError::new(
                        ErrorKind::Conversion,
                        format!("cannot convert: script code threw: {}", e.message()),
                    )
                } else {
                    e
                }
            }
        }
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
        check_source(source, self.config.max_source_bytes)?;
        self.operation(vm, context, |vm| self.eval_op(vm, source))
    }

    fn eval_op(&self, vm: &mut BoaVm, source: &str) -> Result<Value, ScriptError> {
        let result = on_big_stack(|| {
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
        let result = on_big_stack(|| {
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
        meter: Option<&Meter>,
    ) -> Result<(JsValue, Instant), ScriptError> {
        let deadline = self.deadline();
        let value = match block_script(vm, source) {
            Some(script) => {
                let outcome = run_budgeted(&script, &mut vm.context, deadline, meter, &vm.host);
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
                        if is_native_syntax && let Some(message) = parse_error(source) {
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
        Ok((self.settle_promise(vm, value)?, deadline))
    }

    /// The value of a script run by [`run_budgeted`], or the error that ended it.
    fn finish_budgeted(
        &self,
        vm: &mut BoaVm,
        outcome: Budgeted,
        meter: Option<&Meter>,
    ) -> Result<JsValue, ScriptError> {
        match outcome {
            Budgeted::Done(Ok(v)) => Ok(v),
            Budgeted::Done(Err(e)) => Err(self.js_error(vm, e, false)),
            Budgeted::Deadline => Err(ScriptError::timeout(self.config.limits.timeout)),
            Budgeted::Memory => Err(self.memory_stop(meter)),
            Budgeted::HostFatal => Err(ScriptError::new(
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
            .map_err(|f| self.conversion(vm, f))
    }

    /// A result that is a promise is replaced by its value once the jobs ran (as in every vmpool engine): its
    /// fulfilment value, an `exception` for a rejection, a `conversion` error if it is still pending.
    fn settle_promise(&self, vm: &mut BoaVm, value: JsValue) -> Result<JsValue, ScriptError> {
        let Some(object) = value.as_object() else {
            return Ok(value);
        };
        let Ok(promise) = JsPromise::from_object(object) else {
            return Ok(value);
        };
        match promise.state() {
            PromiseState::Fulfilled(v) => Ok(v),
            PromiseState::Rejected(reason) => {
                let e = JsError::from_opaque(reason);
                Err(ScriptError::new(
                    ErrorKind::Exception,
                    format!(
                        "promise rejected: {}",
                        exception_message(&e, &mut vm.context)
                    ),
                ))
            }
            PromiseState::Pending => Err(ScriptError::new(
                ErrorKind::Conversion,
                "cannot convert: the result is a promise still pending when no job is left",
            )),
        }
    }

    /// The cached trampoline script for `values.len() - 1` arguments (parsed on first use), with the native slot
    /// function's `vm.slots` filled with `values`: the function to call, then its arguments.
    fn load_trampoline(vm: &mut BoaVm, values: Vec<JsValue>) -> Result<Script, ScriptError> {
        let arity = values.len().saturating_sub(1);
        if vm.trampolines.len() <= arity {
            vm.trampolines.resize(arity + 1, None);
        }
        let script = match &vm.trampolines[arity] {
            Some(s) => s.clone(),
            None => {
                let args: Vec<String> = (1..=arity).map(|i| format!("{CALL_SLOT}({i})")).collect();
                let text = format!("{CALL_SLOT}(0)({})", args.join(","));
                // On a stack segment of its own: the parser's recursion would leave stack pages resident on a
                // carrier thread (see `create`).
                let s = stacker::grow(ENGINE_STACK_BYTES, || {
                    Script::parse(Source::from_bytes(&text), None, &mut vm.context)
                })
                .map_err(|e| ScriptError::new(ErrorKind::Internal, format!("trampoline: {e}")))?;
                vm.trampolines[arity] = Some(s.clone());
                s
            }
        };
        for (i, v) in values.into_iter().enumerate() {
            let i = u32::try_from(i)
                .map_err(|_| ScriptError::new(ErrorKind::Conversion, "too many arguments"))?;
            vm.slots
                .set(i, v, true, &mut vm.context)
                .map_err(|e| ScriptError::new(ErrorKind::Internal, format!("call slot: {e}")))?;
        }
        Ok(script)
    }

    fn call_inner(
        &self,
        vm: &mut BoaVm,
        function: &str,
        args: &[Value],
        meter: Option<&Meter>,
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
            values
                .push(convert::to_js(arg, &mut vm.context, 0).map_err(|f| self.conversion(vm, f))?);
        }
        let script = Self::load_trampoline(vm, values)?;
        let outcome = run_budgeted(&script, &mut vm.context, deadline, meter, &vm.host);
        vm.slots
            .set(js_string!("length"), 0, true, &mut vm.context)
            .ok();
        let value = self.finish_budgeted(vm, outcome, meter)?;
        self.run_jobs(vm, deadline, meter)?;
        Ok((self.settle_promise(vm, value)?, deadline))
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

/// How a script run in Boa's budgeted loop ended.
enum Budgeted {
    Done(JsResult<JsValue>),
    /// The deadline passed (the context is left mid-execution and must be discarded).
    Deadline,
    /// The instance's heap passed the memory limit (the same).
    Memory,
    /// A host call failed fatally (the operation's error is that failure).
    HostFatal,
}

/// Evaluates `script` in Boa's budgeted loop, checking `deadline`, the heap and the host calls between slices.
fn run_budgeted(
    script: &Script,
    context: &mut Context,
    deadline: Instant,
    meter: Option<&Meter>,
    host: &host::HostLink,
) -> Budgeted {
    let future = script.evaluate_async_with_budget(context, BUDGET);
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(result) => return Budgeted::Done(result),
            Poll::Pending => {
                if Instant::now() >= deadline {
                    return Budgeted::Deadline;
                }
                if meter.is_some_and(Meter::over) {
                    return Budgeted::Memory;
                }
                if host.is_fatal() {
                    return Budgeted::HostFatal;
                }
            }
        }
    }
}

/// Request source as a script that evaluates it as one block, `{` + source + `}`, when that means what `eval`
/// means: the source is one block's worth of statements (the wrapped text parses as exactly one block, so the
/// source cannot close it and declare at the top level), it declares no `var`s and no top-level functions (which
/// `eval` would make deletable globals and a script would make permanent ones), and it has no `use strict` (a
/// directive in `eval`, a plain string in a block). Its `let`, `const` and `class` stay in the block, as they stay
/// in an `eval`, and the completion value is the same. Such a script runs in Boa's budgeted loop, where the
/// deadline and the heap are checked between slices; `eval` runs to completion in one native call.
fn block_script(vm: &mut BoaVm, source: &str) -> Option<Script> {
    use boa_engine::ast::operations::var_declared_names;
    use boa_engine::ast::{Declaration, Statement, StatementListItem};

    if source.contains("use strict") {
        return None;
    }
    let wrapped = format!("{{\n{source}\n}}");
    let one_plain_block = on_big_stack(|| {
        let mut interner = boa_engine::interner::Interner::default();
        let scope = boa_engine::ast::scope::Scope::new_global();
        let Ok(ast) = Parser::new(Source::from_bytes(&wrapped)).parse_script(&scope, &mut interner)
        else {
            return false;
        };
        let [StatementListItem::Statement(statement)] = ast.statements().statements() else {
            return false;
        };
        let Statement::Block(block) = statement.as_ref() else {
            return false;
        };
        let body = block.statement_list();
        var_declared_names(body).is_empty()
            && body.statements().iter().all(|item| match item {
                StatementListItem::Statement(_) => true,
                StatementListItem::Declaration(d) => {
                    matches!(
                        d.as_ref(),
                        Declaration::Lexical(_) | Declaration::ClassDeclaration(_)
                    )
                }
            })
    });
    if !one_plain_block {
        return None;
    }
    on_big_stack(|| Script::parse(Source::from_bytes(&wrapped), None, &mut vm.context)).ok()
}

fn native_message(e: &JsError) -> String {
    e.as_native()
        .map(|n| n.message().to_owned())
        .unwrap_or_default()
}

/// "Name: message" (or "Name [code]: message" when it has a string `code`) for a thrown error object, the string
/// form of any other thrown value. Runs no script code:
/// `name` and `message` are read only where they are data properties (see [`data_property`]), so that a getter
/// the script defined (`throw { get message() { for (;;) {} } }`) cannot run, unlimited, while the host describes
/// the error. An error object whose `name` is not data (under strict isolation it is an accessor on the built-in
/// prototypes) is named after the built-in error prototype on its chain.
fn exception_message(e: &JsError, context: &mut Context) -> String {
    if let Some(native) = e.as_native() {
        return format!("{}: {}", native.kind(), native.message());
    }
    let Some(value) = e.as_opaque() else {
        return e.to_string();
    };
    if let Some(object) = value.as_object() {
        let text = |v: JsValue| v.as_string().map(|s| s.to_std_string_escaped());
        let message = data_property(&object, "message").and_then(text);
        let error = error_name(&object, context);
        if message.is_some() || error.is_some() {
            let name = data_property(&object, "name")
                .and_then(text)
                .or_else(|| error.map(str::to_owned))
                .unwrap_or_else(|| "Error".to_owned());
            // A `code` (host errors have one: `Error [E_NOT_FOUND]: no such key`, as Node shows its errors).
            return match data_property(&object, "code").and_then(text) {
                Some(code) => format!("{name} [{code}]: {}", message.unwrap_or_default()),
                None => format!("{name}: {}", message.unwrap_or_default()),
            };
        }
        // Not Boa's display of the object: it has no bound (an object graph that shares its parts is printed
        // out in full, exponentially).
        let kind = if object.is_callable() {
            "function"
        } else {
            "object"
        };
        return format!("(a thrown {kind}, with no `message`)");
    }
    match value.as_string() {
        Some(s) => s.to_std_string_escaped(),
        None => value.display().to_string(),
    }
}

/// The value of `key` on `object` or the nearest object of its prototype chain that has it, if that is a data
/// property. Reads the objects' property maps and prototype slots only, so neither a getter nor a proxy's trap
/// runs; `None` for an accessor, or when the chain is longer than 64 objects.
fn data_property(object: &JsObject, key: &str) -> Option<JsValue> {
    let key = boa_engine::property::PropertyKey::from(JsString::from(key));
    let mut current = Some(object.clone());
    for _ in 0..64 {
        let o = current?;
        if let Some(desc) = o.borrow().properties().get(&key) {
            return desc.value().cloned();
        }
        current = o.prototype();
    }
    None
}

/// The name of the built-in error type whose prototype is nearest on `object`'s prototype chain.
fn error_name(object: &JsObject, context: &Context) -> Option<&'static str> {
    let c = context.intrinsics().constructors();
    let kinds = [
        (c.type_error().prototype(), "TypeError"),
        (c.range_error().prototype(), "RangeError"),
        (c.reference_error().prototype(), "ReferenceError"),
        (c.syntax_error().prototype(), "SyntaxError"),
        (c.eval_error().prototype(), "EvalError"),
        (c.uri_error().prototype(), "URIError"),
        (c.aggregate_error().prototype(), "AggregateError"),
        (c.error().prototype(), "Error"),
    ];
    let mut current = object.prototype();
    for _ in 0..64 {
        let o = current?;
        if let Some((_, name)) = kinds.iter().find(|(proto, _)| *proto == o) {
            return Some(name);
        }
        current = o.prototype();
    }
    None
}

/// The mapping from `limits` to Boa's runtime limits (documented in the crate docs).
fn runtime_limits(config: &EngineConfig) -> RuntimeLimits {
    let mut limits = RuntimeLimits::default();
    let millis = u64::try_from(config.limits.timeout.as_millis()).unwrap_or(u64::MAX);
    let loops = (millis.saturating_mul(LOOP_ITERATIONS_PER_SECOND) / 1000).max(10_000);
    limits.set_loop_iteration_limit(loops);
    let stack_kb = usize::try_from(config.limits.stack_kb).unwrap_or(usize::MAX);
    limits.set_recursion_limit((stack_kb / 2).clamp(16, 100_000));
    let slots = config.limits.stack_bytes() / std::mem::size_of::<JsValue>();
    limits.set_stack_size_limit(slots.clamp(1024, 1 << 24));
    limits
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
        let result = on_big_stack(|| self.metered(vm, |vm, _| self.reset_inner(vm)));
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
