//! How `limits.timeout` and `limits.stack_kb` become Boa's runtime limits, the native stack every operation runs
//! on, and what those limits cannot stop.
//!
//! - `limits.timeout`: besides the deadline checked by the budgeted loop ([`budget`](crate::budget)), Boa's
//!   loop-iteration limit, [`LOOP_ITERATIONS_PER_SECOND`] per second of timeout (at least 10 000) per call frame;
//!   the deadline is also checked between promise jobs and during result conversion.
//! - `limits.stack_kb`: recursion limit = `stack_kb / 2` (one JavaScript call frame is charged 2 KiB; at least
//!   16) and value-stack limit = `stack_kb` KiB of `JsValue` slots.
//!
//! Boa's runtime-limit errors cannot be caught by JavaScript `try`/`catch` (they are engine errors that unwind to
//! the host), so `for(;;){ try { for(;;){} } catch(e){} }` ends with `timeout`.
//!
//! # The native stack
//! Boa's parser and some of its built-ins recurse on the native stack, and a native stack overflow aborts the
//! process. Every engine operation therefore runs on a stack of at least [`ENGINE_STACK_BYTES`]: if the calling
//! thread has less left, the operation runs on a fresh stack segment of that size (via `stacker`, costing an
//! `mmap` per operation). Giving the carrier threads a stack of `ENGINE_STACK_BYTES` plus a little avoids that.
//! `create` always runs on a fresh segment, unmapped when it returns, so that the stack pages its parsing touches
//! do not stay resident on a carrier thread.
//!
//! # What Boa cannot contain
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

use boa_engine::JsValue;
use boa_engine::vm::RuntimeLimits;
use pool_core::EngineConfig;

/// Native stack every engine operation runs with (parsing and execution): 256 MiB, reserved lazily.
pub const ENGINE_STACK_BYTES: usize = 256 * 1024 * 1024;
/// Loop iterations per call frame allowed per second of `limits.timeout`.
pub const LOOP_ITERATIONS_PER_SECOND: u64 = 10_000_000;
/// Interned strings after which an instance reports itself broken, so that the pool replaces it.
pub const MAX_INTERNED: usize = 500_000;

/// Runs `f` with at least [`ENGINE_STACK_BYTES`] of native stack.
pub(crate) fn on_big_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(ENGINE_STACK_BYTES, ENGINE_STACK_BYTES, f)
}

/// The mapping from `limits` to Boa's runtime limits (see the module docs).
pub(crate) fn runtime_limits(config: &EngineConfig) -> RuntimeLimits {
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
