//! Bounded built-ins, installed natively in every instance before the prelude (the lockdown then freezes them):
//! the built-ins that recurse in native code on data, or allocate in proportion to their arguments in one native
//! call, are wrapped so that deep data and single huge allocations end with typed errors. Boa recurses in these
//! built-ins without a depth check, and a native stack overflow or a failed allocation aborts the process.
//!
//! Native rather than JavaScript: in Boa a closure keeps its scope, compiled code and its script's source text
//! alive, which cost an idle instance about 136 KB for these wrappers.
//!
//! - Recursion through `toString`/`join` (`Array.prototype.join`/`toString`/`toLocaleString`,
//!   `Error.prototype.toString`, `RegExp.prototype.toString`): each wrapper counts its nesting on the thread and,
//!   at Boa's recursion limit, ends the operation with Boa's own (uncatchable) recursion error, kind `stack`.
//! - Chains of proxies and bound functions (`Proxy`, `Proxy.revocable`, `Function.prototype.bind`): longer than
//!   `LIMIT` (1000) is a `RangeError`. `JSON.stringify` and `Array.prototype.flat`: nesting deeper than `LIMIT`
//!   is a `RangeError`.
//! - One call that allocates in proportion to its arguments (`String.prototype.repeat`/`padStart`/`padEnd`,
//!   `Array.prototype.fill`/`join`, `Array.from` of an array-like): refused with a `RangeError` past what the
//!   instance has left under its memory limit (and never more than the limit); the refusal is recorded for the
//!   thread, and the operation then ends with kind `memory` whatever the script did with the error.
//!   Sizes are estimates of Boa's own allocation.

use std::cell::Cell;

use boa_engine::error::RuntimeLimitError;
use boa_engine::gc::Trace;
use boa_engine::object::FunctionObjectBuilder;
use boa_engine::object::builtins::{JsArray, JsWeakMap};
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    Context, JsArgs, JsError, JsNativeError, JsObject, JsResult, JsString, JsSymbol, JsValue,
    NativeFunction, js_string,
};

/// Longest chain of proxies and bound functions, and deepest `JSON.stringify` / `flat` nesting.
pub(crate) const LIMIT: u32 = 1000;

thread_local! {
    /// Nesting of the recursion wrappers on this thread.
    static NESTING: Cell<usize> = const { Cell::new(0) };
    /// What a memory wrapper refused during the operation running on this thread.
    static REFUSED: Cell<Option<String>> = const { Cell::new(None) };
}

/// What a wrapper refused since the last call, on this thread (taken: the next call sees `None`).
pub(crate) fn take_refusal() -> Option<String> {
    REFUSED.take()
}

/// Installs the wrappers in `context`'s realm; `max_bytes` is the instance's memory limit.
pub(crate) fn install(context: &mut Context, max_bytes: f64) -> JsResult<()> {
    let intrinsics = context.intrinsics();
    let array = intrinsics.constructors().array().constructor();
    let array_proto = intrinsics.constructors().array().prototype();
    let error_proto = intrinsics.constructors().error().prototype();
    let regexp_proto = intrinsics.constructors().regexp().prototype();
    let function_proto = intrinsics.constructors().function().prototype();
    let string_proto = intrinsics.constructors().string().prototype();
    let object = intrinsics.constructors().object().constructor();
    let json = intrinsics.objects().json();
    let global = context.global_object();

    let is_array = original(&array, "isArray", context)?;
    let object_keys = original(&object, "keys", context)?;

    // Recursion through toString / join.
    for (holder, name, pass_args) in [
        (&array_proto, "toString", false),
        (&array_proto, "toLocaleString", true),
        (&error_proto, "toString", false),
        (&regexp_proto, "toString", false),
    ] {
        wrap(holder, name, 0, nested_wrapper, pass_args, context)?;
    }
    wrap(&array_proto, "join", 1, join_wrapper, max_bytes, context)?;

    // Chains of proxies and bound functions: [[Get]] and [[Call]] walk them natively.
    let depths = JsWeakMap::new(context);
    let proxy = original(&global, "Proxy", context)?;
    let wrapper: JsObject = FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_copy_closure_with_captures(
            construct_proxy,
            (proxy.clone(), depths.clone()),
        ),
    )
    .name(js_string!("Proxy"))
    .length(2)
    .constructor(true)
    .build()
    .into();
    let revocable = original(&proxy, "revocable", context)?;
    let captures = (proxy, depths.clone());
    let revocable = wrapped(
        revocable,
        "revocable",
        2,
        revocable_proxy,
        captures,
        context,
    );
    define(&wrapper, "revocable", revocable, context)?;
    define(&global, "Proxy", wrapper, context)?;
    wrap(&function_proto, "bind", 1, bind_wrapper, depths, context)?;

    // JSON.stringify recurses natively over the data.
    let captures = (json.clone(), is_array.clone(), object_keys);
    wrap(&json, "stringify", 3, stringify_wrapper, captures, context)?;

    // One native call that allocates in proportion to its arguments.
    wrap(
        &string_proto,
        "repeat",
        1,
        repeat_wrapper,
        max_bytes,
        context,
    )?;
    wrap(
        &string_proto,
        "padStart",
        2,
        pad_wrapper,
        (max_bytes, true),
        context,
    )?;
    wrap(
        &string_proto,
        "padEnd",
        2,
        pad_wrapper,
        (max_bytes, false),
        context,
    )?;
    wrap(&array_proto, "fill", 1, fill_wrapper, max_bytes, context)?;
    wrap(&array, "from", 1, from_wrapper, max_bytes, context)?;

    // flat(depth) recurses natively up to `depth` levels.
    wrap(&array_proto, "flat", 0, flat_wrapper, is_array, context)?;

    Ok(())
}

/// A wrapper's native function: `this`, the arguments, and its captures (the original and `T`).
pub(crate) type Wrapper<T> =
    fn(&JsValue, &[JsValue], &(JsObject, T), &mut Context) -> JsResult<JsValue>;

/// Replaces the method `holder[name]` with `wrapper`, which captures the original and `extra`.
pub(crate) fn wrap<T: Trace + 'static>(
    holder: &JsObject,
    name: &str,
    length: usize,
    wrapper: Wrapper<T>,
    extra: T,
    context: &mut Context,
) -> JsResult<()> {
    let native = original(holder, name, context)?;
    let function = wrapped(native, name, length, wrapper, extra, context);
    define(holder, name, function, context)
}

/// A native function named `name` that runs `wrapper` with `native` (the original) and `extra`.
fn wrapped<T: Trace + 'static>(
    native: JsObject,
    name: &str,
    length: usize,
    wrapper: Wrapper<T>,
    extra: T,
    context: &mut Context,
) -> JsObject {
    let f = NativeFunction::from_copy_closure_with_captures(wrapper, (native, extra));
    FunctionObjectBuilder::new(context.realm(), f)
        .name(JsString::from(name))
        .length(length)
        .build()
        .into()
}

/// The function `holder[name]` holds now.
fn original(holder: &JsObject, name: &str, context: &mut Context) -> JsResult<JsObject> {
    holder
        .get(JsString::from(name), context)?
        .as_callable()
        .ok_or_else(|| {
            JsNativeError::typ()
                .with_message(format!("{name} is not a function"))
                .into()
        })
}

/// Defines `holder[name]` as built-in methods are: writable, configurable, not enumerable.
fn define(holder: &JsObject, name: &str, value: JsObject, context: &mut Context) -> JsResult<()> {
    let desc = PropertyDescriptor::builder()
        .value(value)
        .writable(true)
        .enumerable(false)
        .configurable(true);
    holder.define_property_or_throw(JsString::from(name), desc, context)?;
    Ok(())
}

/// One level of a recursion wrapper on this thread; at Boa's recursion limit, Boa's own recursion error.
struct Nested;

impl Nested {
    fn enter(context: &Context) -> JsResult<Self> {
        let depth = NESTING.get();
        if depth >= context.runtime_limits().recursion_limit() {
            return Err(RuntimeLimitError::Recursion.into());
        }
        NESTING.set(depth + 1);
        Ok(Self)
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.set(NESTING.get().saturating_sub(1));
    }
}

fn nested_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (native, pass_args): &(JsObject, bool),
    context: &mut Context,
) -> JsResult<JsValue> {
    let _nested = Nested::enter(context)?;
    native.call(this, if *pass_args { args } else { &[] }, context)
}

fn limited(what: &str) -> JsError {
    JsNativeError::range()
        .with_message(format!("{what} is deeper than the limit of {LIMIT} levels"))
        .into()
}

/// The most one call may allocate now: what is left under the limit, and never more than the limit.
fn allowed(max_bytes: f64) -> f64 {
    crate::meter::room().min(max_bytes)
}

/// `Ok` when one call may allocate `bytes`; otherwise records the refusal of `what` for the operation and
/// returns the script's `RangeError`.
pub(crate) fn within(bytes: f64, max_bytes: f64, what: impl FnOnce() -> String) -> JsResult<()> {
    if bytes > allowed(max_bytes) {
        return Err(refuse(&what(), bytes, max_bytes));
    }
    Ok(())
}

/// Records the refusal for the operation and returns the script's `RangeError`.
fn refuse(what: &str, bytes: f64, max_bytes: f64) -> JsError {
    REFUSED.set(Some(format!(
        "{what} needs about {} MiB",
        (bytes / 1_048_576.0).ceil()
    )));
    JsNativeError::range()
        .with_message(format!(
            "{what} would exceed the memory limit of {} MiB",
            (max_bytes / 1_048_576.0).floor()
        ))
        .into()
}

/// `ToString(this)` for the string methods; `None` for `null` and `undefined` (the original then throws).
fn this_string(this: &JsValue, context: &mut Context) -> JsResult<Option<JsString>> {
    if this.is_null_or_undefined() {
        return Ok(None);
    }
    this.to_string(context).map(Some)
}

/// `ToIntegerOrInfinity` without the mapping of NaN (a NaN stays NaN: no check applies).
fn integer(value: &JsValue, context: &mut Context) -> JsResult<f64> {
    Ok(value.to_number(context)?.trunc())
}

fn length_of(this: &JsValue, context: &mut Context) -> JsResult<f64> {
    let object = this.to_object(context)?;
    #[allow(clippy::cast_precision_loss)]
    Ok(object
        .get(js_string!("length"), context)?
        .to_length(context)? as f64)
}

/// A relative index argument of `fill` resolved against `len`.
fn relative(value: &JsValue, len: f64, default: f64, context: &mut Context) -> JsResult<f64> {
    if value.is_undefined() {
        return Ok(default);
    }
    let n = integer(value, context)?;
    let n = if n.is_nan() { 0.0 } else { n };
    Ok(if n < 0.0 {
        (len + n).max(0.0)
    } else {
        n.min(len)
    })
}

fn join_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (join, max_bytes): &(JsObject, f64),
    context: &mut Context,
) -> JsResult<JsValue> {
    let len = length_of(this, context)?;
    let separator = args.get_or_undefined(0);
    let (separator_len, pass) = if separator.is_undefined() {
        (1.0, Vec::new())
    } else {
        let s = separator.to_string(context)?;
        #[allow(clippy::cast_precision_loss)]
        (s.len() as f64, vec![JsValue::from(s)])
    };
    // The result holds up to two bytes per code unit.
    let bytes = len * separator_len * 2.0;
    within(bytes, *max_bytes, || {
        format!("Array.prototype.join of {len} elements")
    })?;
    let _nested = Nested::enter(context)?;
    join.call(this, &pass, context)
}

fn repeat_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (repeat, max_bytes): &(JsObject, f64),
    context: &mut Context,
) -> JsResult<JsValue> {
    let Some(s) = this_string(this, context)? else {
        return repeat.call(this, args, context);
    };
    let n = integer(args.get_or_undefined(0), context)?;
    if n.is_finite() && n > 0.0 && !s.is_empty() {
        // Boa builds a list of `n` 24-byte references, then the string (up to 2 bytes per code unit).
        #[allow(clippy::cast_precision_loss)]
        let bytes = n * 24.0 + n * s.len() as f64 * 2.0;
        within(bytes, *max_bytes, || {
            format!("String.prototype.repeat({n})")
        })?;
    }
    repeat.call(&s.into(), &[JsValue::new(n)], context)
}

fn pad_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (pad, (max_bytes, start)): &(JsObject, (f64, bool)),
    context: &mut Context,
) -> JsResult<JsValue> {
    let Some(s) = this_string(this, context)? else {
        return pad.call(this, args, context);
    };
    let n = integer(args.get_or_undefined(0), context)?;
    let fill = args.get_or_undefined(1).clone();
    let empty_fill = fill.as_string().is_some_and(|f| f.is_empty());
    #[allow(clippy::cast_precision_loss)]
    if n.is_finite() && n > s.len() as f64 && !empty_fill {
        let name = if *start { "padStart" } else { "padEnd" };
        within(n * 4.0, *max_bytes, || {
            format!("String.prototype.{name}({n})")
        })?;
    }
    pad.call(&s.into(), &[JsValue::new(n), fill], context)
}

fn fill_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (fill, max_bytes): &(JsObject, f64),
    context: &mut Context,
) -> JsResult<JsValue> {
    let len = length_of(this, context)?;
    let start = relative(args.get_or_undefined(1), len, 0.0, context)?;
    let end = relative(args.get_or_undefined(2), len, len, context)?;
    let count = end - start;
    // A dense array holds a 16-byte value per element, and grows by doubling.
    within(count * 32.0, *max_bytes, || {
        format!("Array.prototype.fill of {count} elements")
    })?;
    fill.call(this, args, context)
}

fn from_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (from, max_bytes): &(JsObject, f64),
    context: &mut Context,
) -> JsResult<JsValue> {
    let items = args.get_or_undefined(0);
    if !items.is_null_or_undefined() {
        let object = items.to_object(context)?;
        if object.get(JsSymbol::iterator(), context)?.is_undefined() {
            let len = length_of(items, context)?;
            within(len * 32.0, *max_bytes, || {
                format!("Array.from of {len} elements")
            })?;
        }
    }
    from.call(this, args, context)
}

fn flat_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (flat, is_array): &(JsObject, JsObject),
    context: &mut Context,
) -> JsResult<JsValue> {
    let depth = args.get_or_undefined(0);
    let depth = if depth.is_undefined() {
        1.0
    } else {
        depth.to_number(context)?
    };
    if depth.is_nan() || depth <= f64::from(LIMIT) {
        return flat.call(this, &[JsValue::new(depth)], context);
    }
    let result = flat.call(this, &[JsValue::new(LIMIT)], context)?;
    if let Some(array) = result.as_object() {
        let array = JsArray::from_object(array)?;
        for i in 0..array.length(context)? {
            let element = array.get(i, context)?;
            if is_array
                .call(&JsValue::undefined(), &[element], context)?
                .to_boolean()
            {
                return Err(limited("the array given to flat"));
            }
        }
    }
    Ok(result)
}

/// The chain length recorded for `value` (0 for anything not made by a wrapper).
fn depth_of(value: &JsValue, depths: &JsWeakMap, context: &mut Context) -> JsResult<f64> {
    match value.as_object() {
        Some(object) => Ok(depths.get(&object, context)?.as_number().unwrap_or(0.0)),
        None => Ok(0.0),
    }
}

/// The chain length of a proxy or bound function made from `target` and `handler`.
fn chained(
    target: &JsValue,
    handler: &JsValue,
    depths: &JsWeakMap,
    context: &mut Context,
) -> JsResult<f64> {
    let depth = depth_of(target, depths, context)?.max(depth_of(handler, depths, context)?) + 1.0;
    if depth > f64::from(LIMIT) {
        return Err(limited("a chain of proxies or bound functions"));
    }
    Ok(depth)
}

fn construct_proxy(
    new_target: &JsValue,
    args: &[JsValue],
    (proxy, depths): &(JsObject, JsWeakMap),
    context: &mut Context,
) -> JsResult<JsValue> {
    if new_target.is_undefined() {
        return Err(JsNativeError::typ()
            .with_message("calling a builtin Proxy constructor without new is forbidden")
            .into());
    }
    let (target, handler) = (args.get_or_undefined(0), args.get_or_undefined(1));
    let depth = chained(target, handler, depths, context)?;
    let made = proxy.construct(&[target.clone(), handler.clone()], None, context)?;
    depths.set(&made, JsValue::new(depth), context)?;
    Ok(made.into())
}

fn revocable_proxy(
    _: &JsValue,
    args: &[JsValue],
    (revocable, (proxy, depths)): &(JsObject, (JsObject, JsWeakMap)),
    context: &mut Context,
) -> JsResult<JsValue> {
    let (target, handler) = (args.get_or_undefined(0), args.get_or_undefined(1));
    let depth = chained(target, handler, depths, context)?;
    let result = revocable.call(
        &proxy.clone().into(),
        &[target.clone(), handler.clone()],
        context,
    )?;
    if let Some(made) = result.as_object()
        && let Some(made) = made.get(js_string!("proxy"), context)?.as_object()
    {
        depths.set(&made, JsValue::new(depth), context)?;
    }
    Ok(result)
}

fn bind_wrapper(
    this: &JsValue,
    args: &[JsValue],
    (bind, depths): &(JsObject, JsWeakMap),
    context: &mut Context,
) -> JsResult<JsValue> {
    let depth = chained(this, &JsValue::undefined(), depths, context)?;
    let bound = bind.call(this, args, context)?;
    if let Some(made) = bound.as_object() {
        depths.set(&made, JsValue::new(depth), context)?;
    }
    Ok(bound)
}

fn stringify_wrapper(
    _: &JsValue,
    args: &[JsValue],
    (stringify, (json, is_array, object_keys)): &(JsObject, (JsObject, JsObject, JsObject)),
    context: &mut Context,
) -> JsResult<JsValue> {
    let (value, replacer, space) = (
        args.get_or_undefined(0),
        args.get_or_undefined(1),
        args.get_or_undefined(2),
    );
    let this = JsValue::from(json.clone());
    if replacer.is_object()
        && !replacer.is_callable()
        && is_array
            .call(
                &JsValue::undefined(),
                std::slice::from_ref(replacer),
                context,
            )?
            .to_boolean()
    {
        // A property list: checked by a walk of its own before the native serialisation.
        check_depth(value, object_keys, context)?;
        return stringify.call(&this, args, context);
    }
    // A replacer runs before each descent: it tracks the depth (and calls the script's replacer first).
    let user = if replacer.is_callable() {
        replacer.clone()
    } else {
        JsValue::undefined()
    };
    let seen = JsWeakMap::new(context);
    let track = FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_copy_closure_with_captures(track_depth, (user, seen)),
    )
    .length(2)
    .build();
    stringify.call(
        &this,
        &[value.clone(), track.into(), space.clone()],
        context,
    )
}

fn track_depth(
    holder: &JsValue,
    args: &[JsValue],
    (user, seen): &(JsValue, JsWeakMap),
    context: &mut Context,
) -> JsResult<JsValue> {
    let key = args.get_or_undefined(0).clone();
    let mut value = args.get_or_undefined(1).clone();
    if let Some(user) = user.as_callable() {
        value = user.call(holder, &[key, value], context)?;
    }
    if let Some(object) = value.as_object()
        && !object.is_callable()
    {
        let depth = depth_of(holder, seen, context)? + 1.0;
        if depth > f64::from(LIMIT) {
            return Err(limited("the value given to JSON.stringify"));
        }
        seen.set(&object, JsValue::new(depth), context)?;
    }
    Ok(value)
}

/// Walks `value`'s own enumerable properties and fails past [`LIMIT`] levels.
fn check_depth(value: &JsValue, object_keys: &JsObject, context: &mut Context) -> JsResult<()> {
    let mut stack = vec![(value.clone(), 0)];
    while let Some((value, depth)) = stack.pop() {
        let Some(object) = value.as_object() else {
            continue;
        };
        if object.is_callable() {
            continue;
        }
        if depth >= LIMIT {
            return Err(limited("the value given to JSON.stringify"));
        }
        let keys =
            object_keys.call(&JsValue::undefined(), std::slice::from_ref(&value), context)?;
        let Some(keys) = keys.as_object() else {
            continue;
        };
        let keys = JsArray::from_object(keys)?;
        for i in 0..keys.length(context)? {
            let key = keys.get(i, context)?.to_property_key(context)?;
            stack.push((object.get(key, context)?, depth + 1));
        }
    }
    Ok(())
}
