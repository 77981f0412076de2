//! Strict isolation's lockdown in native code: what pool-core's [`LOCKDOWN`](pool_core::js::LOCKDOWN) script
//! does, step for step, with the same result on the built-ins (the tests audit it from JavaScript), except that
//! the override accessors are installed on the built-in prototypes before the prelude runs
//! (`avoid_override_mistake`, whose doc says why) and the prelude's own prototypes get none.
//!
//! Boa's interpreter runs that script's walk over every reachable object and property in about 17 ms and leaves
//! megabytes of property descriptors behind; here it takes about 1.5 ms (a strict instance is created in 2.0 ms,
//! an unisolated one in 0.5 ms: the `boa_heap` example) and makes little garbage. The override accessors are
//! native functions (a closure of the script would keep its whole scope alive).

use std::collections::HashSet;

use boa_engine::builtins::object::OrdinaryObject;
use boa_engine::object::{FunctionObjectBuilder, IntegrityLevel};
use boa_engine::property::{PropertyDescriptor, PropertyKey};
use boa_engine::{
    Context, JsArgs, JsNativeError, JsObject, JsResult, JsSymbol, JsValue, NativeFunction,
    js_string,
};

/// Freezes every object reachable from the global object (through own property values, getters, setters and
/// prototypes) and the hidden intrinsics, avoids the override mistake for the listed names, pins engine-wide
/// settings held behind accessors on `Error`, and makes every existing global non-writable and non-configurable.
/// Returns the number of objects frozen.
/// Avoids the override mistake, before the prelude runs (strict isolation only): on the built-in prototypes, the
/// listed writable data properties become accessors ([`accessors`]), so that `obj.toString = f` on an ordinary
/// object still defines an own property once the prototypes are frozen.
///
/// This runs before the prelude, not in [`lockdown`] after it as the lockdown script does, because of a Boa 0.22
/// bug (`docs/boa-inline-cache.md`): an inline cache keyed on the receiver's shape keeps reading a prototype's
/// property by its old storage slot after a data property before it became an accessor (two slots), so a call
/// site the prelude had run would call the wrong method afterwards. Converted before any script runs, no cache
/// can be stale. The prelude's own prototypes are not converted (that would have to happen after their code
/// ran): under strict isolation an object inheriting from a prelude class cannot be given its own `toString` or
/// `constructor` by assignment (a `TypeError` that names strict isolation); `Object.defineProperty` still can.
/// Until [`lockdown`] freezes the built-ins, the prelude may still assign the listed built-in methods (a
/// polyfill): the accessor then answers the new value.
pub(crate) fn avoid_override_mistake(context: &mut Context) -> JsResult<()> {
    let (queue, protos) = reachable(context)?;
    let mut overridable = context
        .intrinsics()
        .constructors()
        .object()
        .prototype()
        .own_property_keys(context)?;
    overridable.extend(
        ["name", "message", "push", "concat", "bind"]
            .map(|name| PropertyKey::from(js_string!(name))),
    );
    overridable.push(JsSymbol::iterator().into());
    let mut found: Vec<Vec<(JsObject, PropertyDescriptor)>> = vec![Vec::new(); overridable.len()];
    for object in &queue {
        if !protos.contains(object)
            || object.test_integrity_level(IntegrityLevel::Frozen, context)?
        {
            continue;
        }
        for (n, key) in overridable.iter().enumerate() {
            if let Some(desc) = own_property(object, key, context)?
                && desc.writable() == Some(true)
                && desc.configurable() == Some(true)
            {
                found[n].push((object.clone(), desc));
            }
        }
    }
    for (key, holders) in overridable.iter().zip(found) {
        if holders.is_empty() {
            continue;
        }
        let store = JsObject::with_null_proto();
        for (i, (_, desc)) in (0u32..).zip(&holders) {
            store.create_data_property_or_throw(i, desc.expect_value().clone(), context)?;
        }
        let owners: Vec<JsObject> = holders.iter().map(|(holder, _)| holder.clone()).collect();
        let (get, set) = accessors(key, owners, store, context);
        get.set_integrity_level(IntegrityLevel::Frozen, context)?;
        set.set_integrity_level(IntegrityLevel::Frozen, context)?;
        for (holder, desc) in &holders {
            let accessor = PropertyDescriptor::builder()
                .get(get.clone())
                .set(set.clone())
                .enumerable(desc.enumerable().unwrap_or(false))
                // Configurable until the lockdown freezes the holder: the prelude may still delete it.
                .configurable(true);
            holder.define_property_or_throw(key.clone(), accessor, context)?;
        }
    }
    Ok(())
}

/// Freezes every object reachable from the global object (through own property values, getters, setters and
/// prototypes) and the hidden intrinsics, pins engine-wide settings held behind accessors on `Error`, and makes
/// every existing global non-writable and non-configurable. Returns the number of objects frozen. (The override
/// accessors were installed before the prelude: [`avoid_override_mistake`].)
pub(crate) fn lockdown(context: &mut Context) -> JsResult<usize> {
    let global = context.global_object();
    pin_error_settings(context)?;
    let global_keys = global.own_property_keys(context)?;
    let (queue, _) = reachable(context)?;
    for object in &queue {
        object.set_integrity_level(IntegrityLevel::Frozen, context)?;
    }

    // Baseline global bindings become constant; the global object stays extensible.
    for key in &global_keys {
        let Some(desc) = own_property(&global, key, context)? else {
            continue;
        };
        if desc.configurable() == Some(false) && desc.writable() != Some(true) {
            continue;
        }
        let pinned = if desc.is_data_descriptor() {
            PropertyDescriptor::builder()
                .writable(false)
                .configurable(false)
        } else {
            PropertyDescriptor::builder().configurable(false)
        };
        global.define_property_or_throw(key.clone(), pinned, context)?;
    }
    Ok(queue.len())
}

/// Every object reachable from the global object (through own property values, getters, setters and prototypes)
/// and the hidden intrinsics, in the order found, and which of them are prototypes.
fn reachable(context: &mut Context) -> JsResult<(Vec<JsObject>, HashSet<JsObject>)> {
    let global = context.global_object();
    let mut walk = Walk {
        global: global.clone(),
        seen: HashSet::new(),
        queue: Vec::new(),
    };
    let global_keys = global.own_property_keys(context)?;
    for key in &global_keys {
        if let Some(desc) = own_property(&global, key, context)? {
            walk.visit_property(&desc);
        }
    }
    walk.visit(prototype_of(global.clone().into(), context)?);
    for hidden in hidden_intrinsics(context) {
        walk.visit(Some(hidden));
    }
    let mut protos = HashSet::new();
    let mut i = 0;
    while i < walk.queue.len() {
        let object = walk.queue[i].clone();
        i += 1;
        if let Some(proto) = prototype_of(object.clone().into(), context)? {
            protos.insert(proto.clone());
            walk.visit(Some(proto));
        }
        for key in object.own_property_keys(context)? {
            let Some(desc) = own_property(&object, &key, context)? else {
                continue;
            };
            if let Some(value) = desc.value().filter(|v| !v.is_undefined()) {
                if object.is_callable()
                    && key == PropertyKey::from(js_string!("prototype"))
                    && let Some(proto) = value.as_object()
                {
                    protos.insert(proto);
                }
                walk.visit(value.as_object());
            } else {
                walk.visit_property(&desc);
            }
        }
    }
    Ok((walk.queue, protos))
}

/// The objects the walk has seen (every one but the global object) in the order it found them.
struct Walk {
    global: JsObject,
    seen: HashSet<JsObject>,
    queue: Vec<JsObject>,
}

impl Walk {
    fn visit(&mut self, object: Option<JsObject>) {
        if let Some(object) = object
            && object != self.global
            && self.seen.insert(object.clone())
        {
            self.queue.push(object);
        }
    }

    fn visit_property(&mut self, desc: &PropertyDescriptor) {
        for value in [desc.value(), desc.get(), desc.set()].into_iter().flatten() {
            self.visit(value.as_object());
        }
    }
}

/// `Object.getOwnPropertyDescriptor(object, key)`, without allocating one for ordinary properties.
pub(crate) fn own_property(
    object: &JsObject,
    key: &PropertyKey,
    context: &mut Context,
) -> JsResult<Option<PropertyDescriptor>> {
    if let Some(desc) = object.borrow().properties().get(key) {
        return Ok(Some(desc));
    }
    // Exotic objects (proxies, strings, typed arrays) hold some properties outside their property map.
    let desc = OrdinaryObject::get_own_property_descriptor(
        &JsValue::undefined(),
        &[object.clone().into(), key.into()],
        context,
    )?;
    if desc.is_undefined() {
        return Ok(None);
    }
    desc.to_property_descriptor(context).map(Some)
}

/// `Object.getPrototypeOf(value)` (a proxy's trap runs; a primitive is converted to an object).
fn prototype_of(value: JsValue, context: &mut Context) -> JsResult<Option<JsObject>> {
    Ok(OrdinaryObject::get_prototype_of(&JsValue::undefined(), &[value], context)?.as_object())
}

/// Intrinsics that are not reachable from the global object through properties and prototypes: what the
/// lockdown script reaches by creating generators, iterators and async functions.
fn hidden_intrinsics(context: &Context) -> Vec<JsObject> {
    let intrinsics = context.intrinsics();
    let constructors = intrinsics.constructors();
    let objects = intrinsics.objects();
    let iterators = objects.iterator_prototypes();
    vec![
        constructors.generator_function().prototype(),
        constructors.async_function().prototype(),
        constructors.async_generator_function().prototype(),
        objects.generator(),
        objects.async_generator(),
        iterators.async_iterator(),
        iterators.async_from_sync_iterator(),
        iterators.array(),
        iterators.map(),
        iterators.set(),
        iterators.string(),
        iterators.regexp_string(),
        iterators.iterator_helper(),
        iterators.wrap_for_valid_iterator(),
        objects.throw_type_error().into(),
        constructors.typed_array().constructor(),
        constructors.typed_array().prototype(),
    ]
}

/// Engine-wide settings behind accessors on `Error` (V8-style `stackTraceLimit`, `prepareStackTrace`): freezing
/// `Error` does not stop such a setter, so each becomes a read-only data property holding its current value.
fn pin_error_settings(context: &mut Context) -> JsResult<()> {
    let error = context.intrinsics().constructors().error().constructor();
    for name in ["stackTraceLimit", "prepareStackTrace"] {
        let key = PropertyKey::from(js_string!(name));
        let Some(desc) = own_property(&error, &key, context)? else {
            continue;
        };
        if desc.configurable() == Some(true) && desc.is_accessor_descriptor() {
            let value = match desc.get().and_then(JsValue::as_callable) {
                Some(getter) => getter.call(&error.clone().into(), &[], context)?,
                None => JsValue::undefined(),
            };
            let pinned = PropertyDescriptor::builder()
                .value(value)
                .writable(false)
                .enumerable(desc.enumerable().unwrap_or(false))
                .configurable(false);
            error.define_property_or_throw(key, pinned, context)?;
        }
    }
    Ok(())
}

/// The accessor pair for `key`, held by the prototypes `holders`, whose values are `store[i]` (index `i` of
/// `holders`): the getter returns the value of the nearest holder on the receiver's prototype chain (a name held
/// by one prototype gets a getter that just returns its value); the setter defines an own property on the
/// receiver (or assigns an existing own data property), or, on a holder that is not frozen yet (the prelude's
/// polyfill), replaces the holder's value.
fn accessors(
    key: &PropertyKey,
    holders: Vec<JsObject>,
    store: JsObject,
    context: &mut Context,
) -> (JsObject, JsObject) {
    let get = if holders.len() == 1 {
        NativeFunction::from_copy_closure_with_captures(
            |_, _, store: &JsObject, context| store.get(0, context),
            store.clone(),
        )
    } else {
        NativeFunction::from_copy_closure_with_captures(
            dispatch_get,
            (holders.clone(), store.clone()),
        )
    };
    let get = FunctionObjectBuilder::new(context.realm(), get)
        .name(js_string!("get"))
        .build();
    let set = NativeFunction::from_copy_closure_with_captures(
        set_own,
        (JsValue::from(key.clone()), holders, store),
    );
    let set = FunctionObjectBuilder::new(context.realm(), set)
        .name(js_string!("set"))
        .length(1)
        .build();
    (get.into(), set.into())
}

fn dispatch_get(
    this: &JsValue,
    _: &[JsValue],
    (holders, store): &(Vec<JsObject>, JsObject),
    context: &mut Context,
) -> JsResult<JsValue> {
    let mut holder = match this.as_object() {
        Some(object) => Some(object),
        None => prototype_of(this.clone(), context)?,
    };
    while let Some(object) = holder {
        if let Some(i) = holders.iter().position(|h| *h == object) {
            return store.get(i, context);
        }
        holder = prototype_of(object.into(), context)?;
    }
    Ok(JsValue::undefined())
}

fn set_own(
    this: &JsValue,
    args: &[JsValue],
    (key, holders, store): &(JsValue, Vec<JsObject>, JsObject),
    context: &mut Context,
) -> JsResult<JsValue> {
    // A primitive receiver: assignment to a primitive's property has no effect.
    let Some(receiver) = this.as_object() else {
        return Ok(JsValue::undefined());
    };
    let value = args.get_or_undefined(0).clone();
    if let Some(i) = holders.iter().position(|h| *h == receiver) {
        // The built-in itself: replaceable by the prelude, until the lockdown freezes it.
        if receiver.test_integrity_level(IntegrityLevel::Frozen, context)? {
            return Err(JsNativeError::typ()
                .with_message("Cannot assign to a property of a frozen built-in")
                .into());
        }
        store.set(i, value, true, context)?;
        return Ok(JsValue::undefined());
    }
    let key = key.to_property_key(context)?;
    match own_property(&receiver, &key, context)? {
        None => {
            let desc = PropertyDescriptor::builder()
                .value(value)
                .writable(true)
                .enumerable(true)
                .configurable(true);
            receiver.define_property_or_throw(key, desc, context)?;
        }
        Some(desc) if desc.is_data_descriptor() => {
            receiver.set(key, value, true, context)?;
        }
        // An accessor of the receiver's own.
        Some(_) => {
            return Err(JsNativeError::typ()
                .with_message("Cannot assign to a property of a frozen built-in")
                .into());
        }
    }
    Ok(JsValue::undefined())
}
