// Lockdown for `Isolation::Strict`. Evaluates to a function; call it once per instance, after the prelude and
// before any request code. It
//  1. freezes every object reachable from the global object (through own property values, getters, setters and
//     prototypes) plus the hidden intrinsics that are not reachable that way (iterator, generator and async
//     prototypes), except the global object itself;
//  2. avoids the "override mistake": each writable data property of an object that serves as a prototype becomes
//     an accessor pair whose setter defines an own property on the receiver, so `obj.toString = f` on a new
//     object still works after `Object.prototype` is frozen (assigning on the prototype itself still fails);
//  3. makes every existing global binding non-writable and non-configurable; the global object stays extensible
//     so that requests can add globals, which the scrub script removes.
// Returns the number of objects frozen. Plain ES2020; works on QuickJS and Boa.
(function lockdown() {
  'use strict';
  const global = globalThis;
  const { getPrototypeOf, getOwnPropertyDescriptor, defineProperty, freeze, isFrozen } = Object;
  const { ownKeys, apply } = Reflect;
  const hasOwn = Object.prototype.hasOwnProperty;

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

  // Walk the object graph. `seen` is a Set created before any request code ran, so its methods are the originals.
  const seen = new Set();
  const has = Set.prototype.has;
  const add = Set.prototype.add;
  const queue = [];
  let queued = 0;
  const visit = (value) => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
    if (value === global || apply(has, seen, [value])) return;
    apply(add, seen, [value]);
    defineProperty(queue, queued++, { value, writable: true, enumerable: true, configurable: true });
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
    if (proto !== null) apply(add, protos, [proto]);
    visit(proto);
    const keys = ownKeys(obj);
    for (let k = 0; k < keys.length; k++) {
      const desc = getOwnPropertyDescriptor(obj, keys[k]);
      if (keys[k] === 'prototype' && typeof obj === 'function' && desc.value) apply(add, protos, [desc.value]);
      visit(desc.value);
      visit(desc.get);
      visit(desc.set);
    }
  }

  // The override mistake: writable data properties of prototypes become accessors.
  const makeAccessor = (obj, key, value, enumerable) => {
    // Methods, so that the accessor functions have no `prototype` object; both are frozen like everything else.
    const accessor = {
      get() {
        return value;
      },
      set(newValue) {
        if (this === obj) throw new TypeError('Cannot assign to a property of a frozen built-in');
        // A primitive receiver: assignment to a primitive's property has no effect.
        if ((typeof this !== 'object' && typeof this !== 'function') || this === null) return;
        if (apply(hasOwn, this, [key])) {
          this[key] = newValue;
        } else {
          defineProperty(this, key, { value: newValue, writable: true, enumerable: true, configurable: true });
        }
      },
    };
    freeze(accessor.get);
    freeze(accessor.set);
    defineProperty(obj, key, { get: accessor.get, set: accessor.set, enumerable, configurable: false });
  };
  for (let i = 0; i < queued; i++) {
    const obj = queue[i];
    if (isFrozen(obj)) continue;
    if (apply(has, protos, [obj])) {
      const keys = ownKeys(obj);
      for (let k = 0; k < keys.length; k++) {
        const desc = getOwnPropertyDescriptor(obj, keys[k]);
        if (desc.writable === true && desc.configurable === true) {
          makeAccessor(obj, keys[k], desc.value, desc.enumerable);
        }
      }
    }
    freeze(obj);
  }

  // Baseline global bindings become constant; the global object stays extensible.
  for (let i = 0; i < globalKeys.length; i++) {
    const key = globalKeys[i];
    const desc = getOwnPropertyDescriptor(global, key);
    if (desc.configurable === false && desc.writable !== true) continue;
    if (apply(hasOwn, desc, ['value'])) {
      defineProperty(global, key, { writable: false, configurable: false });
    } else {
      defineProperty(global, key, { configurable: false });
    }
  }
  return queued;
})
