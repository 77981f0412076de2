// Lockdown for `Isolation::Strict`. Evaluates to a function; call it once per instance, after the prelude and
// before any request code. It
//  1. freezes every object reachable from the global object (through own property values, getters, setters and
//     prototypes) plus the hidden intrinsics that are not reachable that way (iterator, generator and async
//     prototypes), except the global object itself;
//  2. avoids the "override mistake" for the names most often assigned on ordinary objects: on every object that
//     serves as a prototype, a writable data property named like an own property of `Object.prototype`
//     (`constructor`, `toString`, `valueOf`, `hasOwnProperty`, ...) or `name`, `message`, `push`, `concat`, `bind`
//     or `Symbol.iterator` becomes an accessor pair whose setter defines an own property on the receiver, so
//     `obj.toString = f`, `e.message = 'x'` or `Foo.prototype.constructor = Foo` still work after the prototypes
//     are frozen (assigning on the prototype itself throws). Other inherited built-in methods stay frozen data
//     properties: assigning one on an object that inherits it (`arr.map = f`) fails as it does on any frozen
//     prototype, silently in sloppy code and with a TypeError in strict code; `Object.defineProperty`, object
//     literals and class members still create such properties;
//  3. pins engine-wide settings kept behind accessors on `Error` (`stackTraceLimit`, `prepareStackTrace`) as
//     read-only data properties, since freezing does not stop a setter;
//  4. gives every built-in Error object that has no stack yet (`DOMException.prototype` in QuickJS) an own,
//     constant `stack`, so that throwing it cannot store one use's stack in it;
//  5. makes every existing global binding non-writable and non-configurable; the global object stays extensible
//     so that requests can add globals, which the scrub script removes.
// Cost model (QuickJS): the walk creates every lazily created built-in function so that it can be frozen (an
// intrinsic created later would not be), and each frozen object gets a hidden class of its own; the
// override-mistake accessors cost one getter and one setter per listed name, plus a Map for the names held by
// several prototypes.
// Returns the number of objects frozen. Plain ES2020; works on QuickJS and Boa.
(function lockdown() {
  'use strict';
  const global = globalThis;
  const { getPrototypeOf, getOwnPropertyDescriptor, defineProperty, freeze, isFrozen } = Object;
  const { ownKeys } = Reflect;
  const TypeError_ = TypeError;

  // Engine-wide settings behind accessors on `Error` (V8-style `stackTraceLimit`, `prepareStackTrace`, which
  // quickjs-ng implements with a setter that changes the runtime's state): freezing `Error` does not stop such a
  // setter, so pin each one as a read-only data property holding its current value.
  for (const name of ['stackTraceLimit', 'prepareStackTrace']) {
    const d = getOwnPropertyDescriptor(Error, name);
    if (d !== undefined && d.configurable && (d.get !== undefined || d.set !== undefined)) {
      const value = d.get !== undefined ? d.get.call(Error) : undefined;
      defineProperty(Error, name, { value, writable: false, enumerable: d.enumerable, configurable: false });
    }
  }

  const hidden = [];
  const tryAdd = (make) => {
    try {
      const value = make();
      if ((typeof value === 'object' && value !== null) || typeof value === 'function') hidden.push(value);
    } catch (e) {
      // An engine without this intrinsic: nothing to freeze.
    }
  };
  const fn = (src) => (0, eval)('(' + src + ')');
  tryAdd(() => getPrototypeOf(fn('function* () {}')));
  tryAdd(() => getPrototypeOf(fn('async function () {}')));
  tryAdd(() => getPrototypeOf(fn('async function* () {}')));
  tryAdd(() => getPrototypeOf(fn('async function* () {}')).prototype);
  tryAdd(() => getPrototypeOf(getPrototypeOf(getPrototypeOf(fn('async function* () {}')).prototype)));
  tryAdd(() => getPrototypeOf([][Symbol.iterator]()));
  tryAdd(() => getPrototypeOf(new Map().entries()));
  tryAdd(() => getPrototypeOf(new Set().values()));
  tryAdd(() => getPrototypeOf(''[Symbol.iterator]()));
  tryAdd(() => getPrototypeOf(/a/[Symbol.matchAll]('a')));
  tryAdd(() => getPrototypeOf([].values().map((x) => x)));
  tryAdd(() => getPrototypeOf(Iterator.from({ next() { return { done: true }; } })));
  tryAdd(() => getPrototypeOf(new Intl.Segmenter().segment('a')));
  tryAdd(() => getPrototypeOf(new Intl.Segmenter().segment('a')[Symbol.iterator]()));
  tryAdd(() => getPrototypeOf(fn('function () { return arguments; }')()));

  // Walk the object graph. No request code has run yet; the prelude is trusted not to sabotage Set or arrays.
  const seen = new Set();
  const queue = [];
  let queued = 0;
  const visit = (value) => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
    if (value === global || seen.has(value)) return;
    seen.add(value);
    queue[queued++] = value;
  };
  const protos = new Set();
  const globalKeys = ownKeys(global);
  for (let i = 0; i < globalKeys.length; i++) {
    const desc = getOwnPropertyDescriptor(global, globalKeys[i]);
    visit(desc.value);
    visit(desc.get);
    visit(desc.set);
  }
  visit(getPrototypeOf(global));
  for (let i = 0; i < hidden.length; i++) visit(hidden[i]);
  for (let i = 0; i < queued; i++) {
    const obj = queue[i];
    const proto = getPrototypeOf(obj);
    if (proto !== null) {
      protos.add(proto);
      visit(proto);
    }
    const keys = ownKeys(obj);
    for (let k = 0; k < keys.length; k++) {
      const desc = getOwnPropertyDescriptor(obj, keys[k]);
      const value = desc.value;
      if (value !== undefined) {
        if (keys[k] === 'prototype' && typeof obj === 'function') protos.add(value);
        visit(value);
      } else {
        visit(desc.get);
        visit(desc.set);
      }
    }
  }

  // The override mistake: listed writable data properties of prototypes become accessors. Accessor functions
  // are shared per name (each frozen function costs memory, and ~60 prototypes hold these names): the setter
  // defines an own property on the receiver; the getter returns the value held for the nearest prototype on
  // the receiver's chain that holds the name (for a name held by a single prototype, just its value). So that the
  // getter never calls itself, it uses only Map methods and `Object.getPrototypeOf`, none of them listed.
  const overridable = ownKeys(Object.prototype).concat(['name', 'message', 'push', 'concat', 'bind', Symbol.iterator]);
  // Methods, so that the accessor functions have no `prototype` object; all of them are frozen.
  const makeSetter = (key) => {
    const accessor = {
      set(newValue) {
        const receiver = this;
        // A primitive receiver: assignment to a primitive's property has no effect.
        if ((typeof receiver !== 'object' && typeof receiver !== 'function') || receiver === null) return;
        const own = getOwnPropertyDescriptor(receiver, key);
        if (own === undefined) {
          defineProperty(receiver, key, { value: newValue, writable: true, enumerable: true, configurable: true });
        } else if ('value' in own) {
          receiver[key] = newValue;
        } else {
          // The receiver holds the accessor itself: a frozen built-in.
          throw new TypeError_('Cannot assign to a property of a frozen built-in');
        }
      },
    };
    return freeze(accessor.set);
  };
  const makeGetter = (value) => {
    const accessor = {
      get() {
        return value;
      },
    };
    return freeze(accessor.get);
  };
  const makeDispatchGetter = (values) => {
    const accessor = {
      get() {
        let holder = this;
        if ((typeof holder !== 'object' && typeof holder !== 'function') || holder === null) {
          holder = getPrototypeOf(holder);
        }
        while (holder !== null) {
          if (values.has(holder)) return values.get(holder);
          holder = getPrototypeOf(holder);
        }
        return undefined;
      },
    };
    return freeze(accessor.get);
  };
  // Collect first (holders per name), then convert, then freeze.
  const found = [];
  for (let i = 0; i < queued; i++) {
    const obj = queue[i];
    if (!protos.has(obj) || isFrozen(obj)) continue;
    for (let n = 0; n < overridable.length; n++) {
      const desc = getOwnPropertyDescriptor(obj, overridable[n]);
      if (desc !== undefined && desc.writable === true && desc.configurable === true) {
        if (found[n] === undefined) found[n] = [];
        found[n].push(obj, desc);
      }
    }
  }
  for (let n = 0; n < overridable.length; n++) {
    const holders = found[n];
    if (holders === undefined) continue;
    const key = overridable[n];
    const set = makeSetter(key);
    let get;
    if (holders.length === 2) {
      get = makeGetter(holders[1].value);
    } else {
      const values = new Map();
      for (let h = 0; h < holders.length; h += 2) values.set(holders[h], holders[h + 1].value);
      get = makeDispatchGetter(values);
    }
    for (let h = 0; h < holders.length; h += 2) {
      defineProperty(holders[h], key, { get, set, enumerable: holders[h + 1].enumerable, configurable: false });
    }
  }
  // An Error object keeps its stack in an internal slot, which QuickJS fills the first time the object is thrown
  // if the slot is empty and the object has no own `stack`: an Error object among the built-ins
  // (`DOMException.prototype`) would carry the stack of one use's throw, function names and all, to every later
  // use. An own, constant `stack` keeps such a slot empty (reading it gives `undefined`, as before).
  const isError = typeof Error.isError === 'function' ? Error.isError : undefined;
  const stackDesc = getOwnPropertyDescriptor(Error.prototype, 'stack');
  const readStack = stackDesc !== undefined ? stackDesc.get : undefined;
  if (isError !== undefined) {
    for (let i = 0; i < queued; i++) {
      const obj = queue[i];
      if (!isError(obj) || getOwnPropertyDescriptor(obj, 'stack') !== undefined) continue;
      if (readStack !== undefined && readStack.call(obj) !== undefined) continue;
      defineProperty(obj, 'stack', { value: undefined, writable: false, enumerable: false, configurable: false });
    }
  }
  for (let i = 0; i < queued; i++) freeze(queue[i]);

  // Baseline global bindings become constant; the global object stays extensible.
  for (let i = 0; i < globalKeys.length; i++) {
    const key = globalKeys[i];
    const desc = getOwnPropertyDescriptor(global, key);
    if (desc.configurable === false && desc.writable !== true) continue;
    if ('value' in desc) {
      defineProperty(global, key, { writable: false, configurable: false });
    } else {
      defineProperty(global, key, { configurable: false });
    }
  }
  // The accessor functions above are closures of this scope; engines that keep a closure's whole scope (Boa)
  // would otherwise keep the walk's working set alive for the instance's life.
  seen.clear();
  protos.clear();
  queue.length = 0;
  found.length = 0;
  hidden.length = 0;
  globalKeys.length = 0;
  return queued;
})
