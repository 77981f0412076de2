//! A bound on the `Array.prototype` methods that QuickJS runs as native loops over an array-like's `length`.
//!
//! `join`, `reverse`, `flat`, `copyWithin`, `shift`, `unshift`, `splice`, `sort`, `concat` (of a spreadable
//! argument) and the like visit every index below `length` in one native call, without calling script code for an
//! absent element and without polling the interrupt handler. On `{ length: 2 ** 53 - 1 }`, whose elements are all
//! absent, such a call allocates nothing and never returns: the time limit cannot stop it. A real array cannot
//! hold more elements than `memory_mb` has room for (16 bytes each), so a longer `length` belongs to a sparse
//! array or an array-like: each of these methods is replaced, before any script runs, by a host function that
//! refuses such a receiver (or spreadable `concat` argument) with a `RangeError` and otherwise calls the original.
//! The wrappers keep the originals' names and lengths; a `length` getter runs once more than it would.

use std::sync::Arc;

use rquickjs::convert::Coerced;
use rquickjs::function::{Rest, This};
use rquickjs::{Ctx, Exception, Function, Object, Value};

use crate::deadline::Deadline;

/// The methods bounded, with their `length`.
const METHODS: &[(&str, usize)] = &[
    ("join", 1),
    ("toLocaleString", 0),
    ("reverse", 0),
    ("flat", 0),
    ("flatMap", 1),
    ("copyWithin", 2),
    ("shift", 0),
    ("unshift", 1),
    ("splice", 2),
    ("sort", 1),
    ("concat", 1),
    ("lastIndexOf", 1),
];

/// The original methods, after `Symbol.isConcatSpreadable` (index 0), in the order of [`METHODS`]; kept in the
/// context's user data, which the instance releases before the context (a JavaScript value held by a Rust
/// closure would be invisible to QuickJS's collector and outlive the runtime).
type Originals<'js> = Vec<Value<'js>>;

/// Replaces the methods of `Array.prototype` listed in [`METHODS`] with bounded ones: an array-like longer than
/// `max_length` is refused.
///
/// A wrapper checks the native stack before it calls the original ([`Deadline::check_stack`]): `join` of nested
/// arrays recurses through it.
pub(crate) fn bound<'js>(
    ctx: &Ctx<'js>,
    max_length: u64,
    deadline: &Arc<Deadline>,
) -> rquickjs::Result<()> {
    let array: Object<'js> = ctx.globals().get("Array")?;
    let prototype: Object<'js> = array.get("prototype")?;
    let symbol: Object<'js> = ctx.globals().get("Symbol")?;
    let mut originals: Originals<'js> = vec![symbol.get("isConcatSpreadable")?];
    for (index, &(name, length)) in METHODS.iter().enumerate() {
        originals.push(prototype.get(name)?);
        let spreads = name == "concat";
        let deadline = Arc::clone(deadline);
        let wrapper = Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  this: This<Value<'js>>,
                  args: Rest<Value<'js>>|
                  -> rquickjs::Result<Value<'js>> {
                let kept = ctx.userdata::<Originals<'js>>().and_then(|originals| {
                    Some((
                        originals.first()?.clone(),
                        originals.get(index + 1)?.clone(),
                    ))
                });
                let Some((key, original)) = kept else {
                    return Err(Exception::throw_internal(
                        &ctx,
                        "the array methods' originals are gone",
                    ));
                };
                deadline.check_stack(&ctx)?;
                check(&ctx, &this.0, max_length, name)?;
                if spreads {
                    for arg in args.iter() {
                        if is_concat_spreadable(&key, arg)? {
                            check(&ctx, arg, max_length, name)?;
                        }
                    }
                }
                let original = original.into_function().ok_or_else(|| {
                    Exception::throw_internal(&ctx, "an array method's original is not a function")
                })?;
                original.call((this, args))
            },
        )?
        .with_name(name)?;
        wrapper.set_length(length)?;
        prototype.set(name, wrapper)?;
    }
    ctx.store_userdata(originals)
        .map(drop)
        .map_err(|e| Exception::throw_internal(ctx, &format!("cannot keep the array methods: {e}")))
}

/// Releases the originals (before the context goes).
pub(crate) fn release(ctx: &Ctx<'_>) {
    drop(ctx.remove_userdata::<Originals<'_>>());
}

/// Refuses an object whose `length` (as `ToLength` reads it) is past `max_length`.
fn check(ctx: &Ctx<'_>, value: &Value<'_>, max_length: u64, name: &str) -> rquickjs::Result<()> {
    let Some(object) = value.as_object() else {
        // A primitive: a string's length is bounded by the memory limit, and the others have none.
        return Ok(());
    };
    // ToNumber, as `ToLength` applies it (NaN, undefined and negative lengths are 0).
    let Coerced(length) = object.get::<_, Coerced<f64>>("length")?;
    if length.is_nan() || length <= max_length as f64 {
        return Ok(());
    }
    Err(Exception::throw_range(
        ctx,
        &format!(
            "Array.prototype.{name}: a length of {length} is past what this instance can hold ({max_length} \
             elements), and {name} would visit every index"
        ),
    ))
}

/// `IsConcatSpreadable`: `value[Symbol.isConcatSpreadable]` if defined, else whether it is an array.
fn is_concat_spreadable<'js>(key: &Value<'js>, value: &Value<'js>) -> rquickjs::Result<bool> {
    let Some(object) = value.as_object() else {
        return Ok(false);
    };
    let spreadable: Value<'js> = object.get(key.clone())?;
    if spreadable.is_undefined() {
        return Ok(value.is_array());
    }
    // ToBoolean.
    let Coerced(spreadable) = spreadable.get::<Coerced<bool>>()?;
    Ok(spreadable)
}
