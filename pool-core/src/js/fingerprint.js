// Fingerprint for `verify_reset`. Evaluates to a function; call it once per instance at its baseline (after the
// prelude, the lockdown under strict, and the scrub's own baseline). It returns `check`, a function to call after
// every reset, which compares a cheap fingerprint of the instance with the baseline and returns null when they
// match, or a message naming the first difference. It compares:
//  - the own keys of the global object (names and order, string and symbol keyed; just their number when every
//    baseline global is non-configurable, as under strict), its prototype and whether it is extensible;
//  - for the core built-ins (Object.prototype, Array.prototype, Function.prototype, String.prototype,
//    Promise.prototype, Object, JSON, Math, Reflect and %IteratorPrototype%): if they were frozen at baseline,
//    that they still are (non-extensible: a frozen object cannot be unfrozen in JavaScript, so this guards
//    against a lockdown that did not hold); otherwise, that they have the same number of own keys (so that
//    prototype pollution such as `Object.prototype.x = 1` is caught under scrub).
// Under strict (every baseline global non-configurable, every sampled built-in frozen) only the prototype and
// extensibility are compared again: the rest is immutable or was just restored by the scrub.
// It does not compare the values of globals: under strict they are constant, under scrub replacing one
// (`JSON.parse = f`, `handle = f`) is not detected. It never runs code a request could have installed.
// Plain ES2020; works on QuickJS and Boa.
(function makeFingerprint() {
  'use strict';
  const global = globalThis;
  const { getPrototypeOf, isExtensible, isFrozen } = Object;
  const { ownKeys } = Reflect;
  const String_ = String;
  const baseProto = getPrototypeOf(global);
  const baseKeys = ownKeys(global);
  const baseCount = baseKeys.length;
  // When every baseline global is non-configurable (strict), none can be removed or re-added, so an equal count
  // means the same keys in the same order.
  let pinned = true;
  for (let i = 0; i < baseCount; i++) {
    if (Object.getOwnPropertyDescriptor(global, baseKeys[i]).configurable) pinned = false;
  }
  const samples = [];
  let sampleCount = 0;
  const sample = (obj) => {
    if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return;
    const frozen = isFrozen(obj);
    samples[sampleCount++] = obj;
    samples[sampleCount++] = frozen;
    samples[sampleCount++] = frozen ? 0 : ownKeys(obj).length;
  };
  sample(Object.prototype);
  sample(Array.prototype);
  sample(Function.prototype);
  sample(String.prototype);
  sample(Promise.prototype);
  sample(Object);
  sample(JSON);
  sample(Math);
  sample(Reflect);
  sample(getPrototypeOf(getPrototypeOf([][Symbol.iterator]())));
  const describe = (key) => (typeof key === 'symbol' ? String_(key) : '`' + key + '`');
  let allFrozen = true;
  for (let i = 0; i < sampleCount; i += 3) if (!samples[i + 1]) allFrozen = false;

  if (pinned && allFrozen) {
    // Under the lockdown the rest of the fingerprint cannot change: a frozen object cannot be unfrozen, and with
    // every baseline global non-configurable the scrub that ran just before has already restored the exact key
    // list (an equal count means the same keys, and it fails when an added key cannot be deleted). Only the
    // global object's prototype and extensibility are compared again, which costs no allocation.
    return function check() {
      if (getPrototypeOf(global) !== baseProto) return 'the prototype of the global object differs';
      if (!isExtensible(global)) return 'the global object is not extensible';
      return null;
    };
  }

  return function check() {
    if (getPrototypeOf(global) !== baseProto) return 'the prototype of the global object differs';
    if (!isExtensible(global)) return 'the global object is not extensible';
    const keys = ownKeys(global);
    const count = pinned ? 0 : keys.length < baseCount ? keys.length : baseCount;
    for (let i = 0; i < count; i++) {
      if (keys[i] !== baseKeys[i]) return 'global ' + describe(baseKeys[i]) + ' was removed or redefined';
    }
    if (keys.length > baseCount) return 'global ' + describe(keys[baseCount]) + ' was added';
    if (keys.length < baseCount) return 'global ' + describe(baseKeys[keys.length]) + ' was removed';
    for (let i = 0; i < sampleCount; i += 3) {
      const obj = samples[i];
      if (samples[i + 1]) {
        if (isExtensible(obj)) return 'a frozen built-in is no longer frozen';
      } else if (ownKeys(obj).length !== samples[i + 2]) {
        return 'properties of a built-in were added or removed';
      }
    }
    return null;
  };
})
