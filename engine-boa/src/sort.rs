//! `Array.prototype.sort` / `toSorted` and `%TypedArray%.prototype.sort` / `toSorted` with a merge sort that
//! cannot fail on an inconsistent comparator.
//!
//! Boa sorts with Rust's `slice::sort_by`, which panics when the comparison is not a total order. A comparator
//! that is not one is common in real code (`(a, b) => a > b`, which never returns a negative number, or one that
//! reads changing state), and the language defines the result as an implementation-defined order, never an
//! error. So the adapter replaces these methods before the prelude runs: the array methods follow the
//! specification's `SortIndexedProperties` and `CompareArrayElements` steps natively around a merge sort that
//! accepts any answer of the comparator; the typed-array methods let the original validate the receiver (with a
//! comparator that finds every pair equal, which is a total order) and then sort the same way. An array-like
//! longer than the instance's memory limit has room for (16 bytes per element) is refused with a `RangeError`, as
//! `fill` and `join` are ([`crate::harden`]), instead of a native loop over every index.

use std::cmp::Ordering;

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::object::builtins::JsArray;
use boa_engine::{
    Context, JsArgs, JsNativeError, JsObject, JsResult, JsValue, NativeFunction, js_string,
};

use crate::harden::{within, wrap};

/// Bytes one collected element is taken to use (a `JsValue` plus the vector's growth).
const ELEMENT_BYTES: f64 = 16.0;

/// Replaces the four sort methods of `context`'s realm; `max_bytes` is the instance's memory limit.
pub(crate) fn install(context: &mut Context, max_bytes: f64) -> JsResult<()> {
    let intrinsics = context.intrinsics();
    let array_proto = intrinsics.constructors().array().prototype();
    let typed_proto = intrinsics.constructors().typed_array().prototype();
    wrap(&array_proto, "sort", 1, array_sort, max_bytes, context)?;
    wrap(
        &array_proto,
        "toSorted",
        1,
        array_to_sorted,
        max_bytes,
        context,
    )?;
    wrap(&typed_proto, "sort", 1, typed_sort, false, context)?;
    wrap(&typed_proto, "toSorted", 1, typed_sort, true, context)?;
    Ok(())
}

/// The comparator argument: `undefined` or a function (otherwise the `TypeError` the specification asks for).
fn comparator(args: &[JsValue], method: &str) -> JsResult<Option<JsObject>> {
    let comparefn = args.get_or_undefined(0);
    if comparefn.is_undefined() {
        return Ok(None);
    }
    comparefn.as_callable().map(Some).ok_or_else(|| {
        JsNativeError::typ()
            .with_message(format!(
                "{method}: the comparison function must be a function or undefined"
            ))
            .into()
    })
}

/// `CompareArrayElements`: `undefined` last, then the comparator's answer (`NaN` is equal), or the string order.
fn compare_elements(
    x: &JsValue,
    y: &JsValue,
    comparefn: Option<&JsObject>,
    context: &mut Context,
) -> JsResult<Ordering> {
    match (x.is_undefined(), y.is_undefined()) {
        (true, true) => return Ok(Ordering::Equal),
        (true, false) => return Ok(Ordering::Greater),
        (false, true) => return Ok(Ordering::Less),
        _ => {}
    }
    if let Some(comparefn) = comparefn {
        return call_comparator(comparefn, x, y, context);
    }
    let (x, y) = (x.to_string(context)?, y.to_string(context)?);
    Ok(x.cmp(&y))
}

/// `ToNumber(Call(comparefn, undefined, « x, y »))` as an order (`NaN` is equal).
fn call_comparator(
    comparefn: &JsObject,
    x: &JsValue,
    y: &JsValue,
    context: &mut Context,
) -> JsResult<Ordering> {
    let v = comparefn
        .call(&JsValue::undefined(), &[x.clone(), y.clone()], context)?
        .to_number(context)?;
    Ok(v.partial_cmp(&0.0).unwrap_or(Ordering::Equal))
}

/// A stable merge sort that takes whatever `compare` answers; its first error stops the sort.
fn merge_sort(
    items: Vec<JsValue>,
    context: &mut Context,
    compare: &mut dyn FnMut(&JsValue, &JsValue, &mut Context) -> JsResult<Ordering>,
) -> JsResult<Vec<JsValue>> {
    let mut from = items;
    let n = from.len();
    let mut to = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        to.clear();
        let mut start = 0;
        while start < n {
            let middle = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, middle);
            while i < middle && j < end {
                // The left element first unless the right one is smaller: stable.
                if compare(&from[j], &from[i], context)? == Ordering::Less {
                    to.push(from[j].clone());
                    j += 1;
                } else {
                    to.push(from[i].clone());
                    i += 1;
                }
            }
            to.extend_from_slice(&from[i..middle]);
            to.extend_from_slice(&from[j..end]);
            start = end;
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    Ok(from)
}

/// The receiver's `length`, refused past what the memory limit has room for.
fn bounded_length(
    object: &JsObject,
    method: &str,
    max_bytes: f64,
    context: &mut Context,
) -> JsResult<u64> {
    let len = object
        .get(js_string!("length"), context)?
        .to_length(context)?;
    #[allow(clippy::cast_precision_loss)]
    let elements = len as f64;
    within(elements * ELEMENT_BYTES, max_bytes, || {
        format!("{method} of {len} elements")
    })?;
    Ok(len)
}

/// `SortIndexedProperties` with `CompareArrayElements`: the elements (holes skipped when `skip_holes`), sorted.
fn sorted_elements(
    object: &JsObject,
    len: u64,
    comparefn: Option<&JsObject>,
    skip_holes: bool,
    context: &mut Context,
) -> JsResult<Vec<JsValue>> {
    let mut items = Vec::new();
    for k in 0..len {
        if !skip_holes || object.has_property(k, context)? {
            items.push(object.get(k, context)?);
        }
    }
    merge_sort(items, context, &mut |x, y, context| {
        compare_elements(x, y, comparefn, context)
    })
}

fn array_sort(
    this: &JsValue,
    args: &[JsValue],
    (_original, max_bytes): &(JsObject, f64),
    context: &mut Context,
) -> JsResult<JsValue> {
    let comparefn = comparator(args, "Array.prototype.sort")?;
    let object = this.to_object(context)?;
    let len = bounded_length(&object, "Array.prototype.sort", *max_bytes, context)?;
    let items = sorted_elements(&object, len, comparefn.as_ref(), true, context)?;
    let count = items.len() as u64;
    for (k, item) in (0u64..).zip(items) {
        object.set(k, item, true, context)?;
    }
    for k in count..len {
        object.delete_property_or_throw(k, context)?;
    }
    Ok(object.into())
}

fn array_to_sorted(
    this: &JsValue,
    args: &[JsValue],
    (_original, max_bytes): &(JsObject, f64),
    context: &mut Context,
) -> JsResult<JsValue> {
    let comparefn = comparator(args, "Array.prototype.toSorted")?;
    let object = this.to_object(context)?;
    let len = bounded_length(&object, "Array.prototype.toSorted", *max_bytes, context)?;
    let items = sorted_elements(&object, len, comparefn.as_ref(), false, context)?;
    Ok(JsArray::from_iter(items, context).into())
}

/// A native comparator that finds every pair equal: the original typed-array methods validate their receiver
/// with it (a total order) and leave the order as it is.
fn every_pair_equal(context: &mut Context) -> JsObject {
    FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_fn_ptr(|_, _, _| Ok(JsValue::from(0))),
    )
    .length(2)
    .build()
    .into()
}

/// Sorts the typed array `target` in place with `comparefn` (its elements are numbers or BigInts).
fn sort_typed(target: &JsObject, comparefn: &JsObject, context: &mut Context) -> JsResult<()> {
    let len = target
        .get(js_string!("length"), context)?
        .to_length(context)?;
    let mut items = Vec::new();
    for k in 0..len {
        items.push(target.get(k, context)?);
    }
    let items = merge_sort(items, context, &mut |x, y, context| {
        call_comparator(comparefn, x, y, context)
    })?;
    for (k, item) in (0u64..).zip(items) {
        target.set(k, item, true, context)?;
    }
    Ok(())
}

/// `%TypedArray%.prototype.sort` (`to_sorted` false) and `toSorted` (true): the original validates the receiver
/// (and makes the copy of `toSorted`) with [`every_pair_equal`], then the result is sorted with the comparator.
fn typed_sort(
    this: &JsValue,
    args: &[JsValue],
    (original, to_sorted): &(JsObject, bool),
    context: &mut Context,
) -> JsResult<JsValue> {
    let method = if *to_sorted { "toSorted" } else { "sort" };
    // Without a comparator the original's numeric order is a total order.
    let Some(comparefn) = comparator(args, &format!("%TypedArray%.prototype.{method}"))? else {
        return original.call(this, args, context);
    };
    let equal = every_pair_equal(context);
    let target = original.call(this, &[equal.into()], context)?;
    let Some(target) = target.as_object() else {
        return Ok(target);
    };
    sort_typed(&target, &comparefn, context)?;
    Ok(target.into())
}
