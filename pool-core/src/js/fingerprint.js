// Fingerprint for `verify_reset`. Evaluates to a function; call it once per instance at its baseline (after the
// prelude, the lockdown under strict, and the scrub's own baseline). It returns `check`, a function to call after
// every reset, which compares a cheap fingerprint of the instance with the baseline and returns null when they
// match, or a message naming the first difference. It compares:
//  - the own keys of the global object (names, string and symbol keyed) and its prototype and extensibility;
//  - the value of every baseline global that is a configurable or writable data property (under strict these are
//    constant and skipped: the engine already guarantees them);
//  - for the core prototypes and namespaces (Object.prototype, Array.prototype, Function.prototype, ...), whether
//    they are still frozen if they were frozen at baseline, and their number of own keys (so that prototype
//    pollution such as `Object.prototype.x = 1` is detected even under scrub).
// It never calls code a request could have installed: it reads descriptors, not properties.
// Plain ES2020; works on QuickJS and Boa.
(function makeFingerprint() {
  'use strict';
  const global = globalThis;
  const { getPrototypeOf, getOwnPropertyDescriptor, isExtensible, isFrozen, create } = Object;
  const { ownKeys, apply } = Reflect;
  const hasOwn = Object.prototype.hasOwnProperty;
  const String_ = String;
  const baseProto = getPrototypeOf(global);
  const baseKeys = ownKeys(global);
  const base = create(null);
  const watched = [];
  let watchedCount = 0;
  for (let i = 0; i < baseKeys.length; i++) {
    const desc = getOwnPropertyDescriptor(global, baseKeys[i]);
    base[baseKeys[i]] = true;
    if (apply(hasOwn, desc, ['value']) && (desc.configurable || desc.writable)) {
      watched[watchedCount++] = baseKeys[i];
      watched[watchedCount++] = desc.value;
    }
  }
  const samples = [];
  let sampleCount = 0;
  const sample = (obj) => {
    if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return;
    samples[sampleCount++] = obj;
    samples[sampleCount++] = isFrozen(obj);
    samples[sampleCount++] = ownKeys(obj).length;
  };
  [Object, Object.prototype, Array, Array.prototype, Function, Function.prototype, String.prototype,
    Number.prototype, Boolean.prototype, Symbol.prototype, Error.prototype, Promise, Promise.prototype,
    RegExp.prototype, Date.prototype, Map.prototype, Set.prototype, JSON, Math, Reflect,
    getPrototypeOf(getPrototypeOf([][Symbol.iterator]()))].forEach(sample);
  const describe = (key) => (typeof key === 'symbol' ? String_(key) : '`' + key + '`');

  return function check() {
    if (getPrototypeOf(global) !== baseProto) return 'the prototype of the global object differs';
    if (!isExtensible(global)) return 'the global object is not extensible';
    const keys = ownKeys(global);
    for (let i = 0; i < keys.length; i++) {
      if (base[keys[i]] !== true) return 'global ' + describe(keys[i]) + ' was added';
    }
    if (keys.length !== baseKeys.length) return 'a global was removed';
    for (let i = 0; i < watchedCount; i += 2) {
      const desc = getOwnPropertyDescriptor(global, watched[i]);
      if (desc === undefined || !apply(hasOwn, desc, ['value']) || desc.value !== watched[i + 1]) {
        return 'global ' + describe(watched[i]) + ' was reassigned';
      }
    }
    for (let i = 0; i < sampleCount; i += 3) {
      const obj = samples[i];
      if (samples[i + 1]) {
        // Frozen at baseline: its keys cannot have changed while it stays frozen.
        if (!isFrozen(obj)) return 'a frozen built-in is no longer frozen';
      } else if (ownKeys(obj).length !== samples[i + 2]) {
        return 'properties of a built-in were added or removed';
      }
    }
    return null;
  };
})
