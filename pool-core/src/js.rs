//! The JavaScript isolation policies: the lockdown, scrub and fingerprint scripts. engine-quickjs runs them;
//! engine-boa implements the same steps natively (its conformance tests hold both engines to the same behaviour).
//!
//! Each script is plain ES2020 whose completion value is a function; an adapter evaluates it once per instance as
//! an ordinary (non-module) script and calls the function with no arguments at the moments given below.
//! (engine-boa implements all three natively, with the same semantics and messages: its interpreter runs the
//! lockdown's walk ten times slower, and a Boa closure keeps its whole scope, code and source text alive.) None of
//! them defines a global: what they return is held by the adapter, out of reach of scripts.
//!
//! | when (per instance)                              | script          | policies       |
//! | ------------------------------------------------ | --------------- | -------------- |
//! | after the prelude                                | [`LOCKDOWN`]    | strict         |
//! | then, to take the baseline                       | [`SCRUB`]       | strict, scrub  |
//! | then, to take the baseline                       | [`FINGERPRINT`] | with `verify_reset` |
//!
//! Request source must then be evaluated with the engine's original `eval` called *indirectly* (capture
//! `globalThis.eval` before the prelude runs and call it as a plain function): each evaluation then gets its own
//! lexical scope, so `let`, `const` and `class` declarations vanish with it, and `var` and function declarations
//! become configurable global properties that the scrub can delete.
//!
//! # What strict isolation covers
//! Frozen at creation: every object reachable from the global object (through property values, getters, setters and
//! prototypes), including the prelude's global objects and functions, and the hidden intrinsics (iterator,
//! generator and async prototypes, `%TypedArray%`, `%ThrowTypeError%`). Baseline globals become non-writable and
//! non-configurable (so the prelude's handlers cannot be reassigned). The override mistake is avoided for the
//! names listed under [`LOCKDOWN`] only: assigning another inherited built-in method on an object (`arr.map = f`)
//! fails as on any frozen prototype (silently in sloppy code, `TypeError` in strict code). The scrub removes globals added by a use and
//! restores the global object's prototype. It does not cover state that is not reachable from the global object:
//! the prelude's top-level `let`/`class` bindings and the variables its functions close over, the contents of
//! collections (`Map`, `Set`, typed arrays) held there, the `Symbol.for` registry, and callbacks of
//! `FinalizationRegistry` objects that run when the garbage collector gets to them.

/// The lockdown for `Isolation::Strict`: a function expression. Calling it once per instance, after the prelude,
/// freezes every object reachable from the global object plus the hidden intrinsics (except the global object,
/// which stays extensible), and makes every baseline global binding non-writable and non-configurable. Returns the
/// number of objects it froze.
///
/// The "override mistake": on every prototype, the writable data properties named like an own property of
/// `Object.prototype` (`constructor`, `toString`, `valueOf`, `hasOwnProperty`, ...) or `name`, `message`, `push`,
/// `concat`, `bind` or `Symbol.iterator` become accessor pairs whose setter defines an own property on the
/// receiver, so `obj.toString = f`, `obj.constructor = X` and `e.message = 'x'` still work. The accessor functions
/// are shared per name (each frozen function costs memory): a name held by several prototypes has a getter that
/// returns the value held for the nearest of them on the receiver's prototype chain. Other prototype properties
/// stay frozen data properties.
pub const LOCKDOWN: &str = include_str!("js/lockdown.js");

/// The scrub for `Isolation::Scrub` and `Isolation::Strict`: a function expression. Calling it at the baseline
/// returns a function `scrub()` that deletes the globals added since, restores the global object's prototype, and
/// returns `null`, or a message naming what it could not undo (the adapter then fails the reset).
pub const SCRUB: &str = include_str!("js/scrub.js");

/// The verification fingerprint for `verify_reset`: a function expression. Calling it at the baseline returns a
/// function `check()` that returns `null` when the global object's keys (names and order), prototype and
/// extensibility and the state of the core built-ins (still frozen if they were; otherwise the same number of own
/// keys) match the baseline, or a message naming the first difference. It does not compare global values.
pub const FINGERPRINT: &str = include_str!("js/fingerprint.js");

/// The module loader of the host API ([`crate::host`]): a function expression. An adapter calls it once per
/// instance, before the prelude, with an array of `[name, kind, value]` entries, one per module registered for
/// JavaScript: kind `"javascript"` with the function evaluated from [`MODULE_PREFIX`] + source +
/// [`MODULE_SUFFIX`], or kind `"namespace"` with the namespace object. It evaluates every module once (in order; a
/// module's own `require` of another loads that one first, and a cycle sees the partial exports, as in Node) and
/// returns `require`, which the adapter makes the global `require`. An unknown name throws an `Error` with code
/// `MODULE_NOT_FOUND`.
pub const REQUIRE: &str = include_str!("js/require.js");

/// Put before a JavaScript module's source to make it a function of `module`, `exports` and `require`.
pub const MODULE_PREFIX: &str = "(function (module, exports, require) {";

/// Put after a JavaScript module's source (on a line of its own, so that a trailing line comment cannot swallow it).
pub const MODULE_SUFFIX: &str = "\n})";
