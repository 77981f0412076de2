//! Isolation between uses: the set-up that strict isolation adds to an instance (the shared lockdown, scrub and
//! fingerprint scripts of [`pool_core::js`], the pinned error settings and the secure `Math.random`), and what
//! each policy covers.
//!
//! [`Isolation::Strict`](pool_core::Isolation::Strict) (the default) is built from the shared scripts in
//! [`pool_core::js`]:
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
//! [`Isolation::Scrub`](pool_core::Isolation::Scrub) only runs the scrub: globals added since creation are deleted;
//! built-ins and prototypes are not protected. [`Isolation::None`](pool_core::Isolation::None) does not reset at all,
//! and evaluates request source as a global script (its `let` declarations persist, as in any script).
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

use pool_core::{ErrorKind, ScriptError};
use rquickjs::context::EvalOptions;
use rquickjs::{Ctx, Function};

use crate::deadline::Deadline;
use crate::failure::{Phase, describe};

/// Evaluates one of the set-up scripts (`name`: the lockdown, the scrub, the fingerprint), which returns a
/// function that makes its helper; returns the helper, if it is a function. A failure names the script.
pub(crate) fn run_setup<'js>(
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
pub(crate) fn pin_error_settings(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
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
pub(crate) fn secure_random(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let random = Function::new(ctx.clone(), rand::random::<f64>)?.with_name("random")?;
    let math: rquickjs::Object<'_> = ctx.globals().get("Math")?;
    math.set("random", random)
}
