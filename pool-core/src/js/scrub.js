// Scrub for `Isolation::Scrub` and `Isolation::Strict`. Evaluates to a function; call it once per instance, when the
// instance is at its baseline (after the prelude, and after the lockdown under strict). It returns `scrub`, a
// function to call on every reset, which
//  - deletes every own property of the global object (string or symbol keyed) added since the baseline,
//  - puts the global object's prototype back if it was changed,
// and returns null when the global object is back at its baseline, or a message naming what could not be undone
// (a global defined non-configurable, a global object made non-extensible); the adapter then discards the instance.
// Everything it uses is captured at baseline time, so a request that replaces `Reflect.ownKeys` or pollutes
// `Object.prototype` (possible under scrub, where nothing is frozen) cannot fool it.
// When every baseline global is non-configurable (the lockdown makes them so) no baseline key can disappear, so an
// unchanged key count proves nothing was added and the scrub returns at once. Otherwise keys that match the
// baseline in place are skipped without a lookup (own keys keep their insertion order).
// Plain ES2020; works on QuickJS and Boa.
(function makeScrub() {
  'use strict';
  const global = globalThis;
  const { getPrototypeOf, setPrototypeOf, getOwnPropertyDescriptor, isExtensible, create } = Object;
  const { ownKeys, deleteProperty } = Reflect;
  const String_ = String;
  const baseProto = getPrototypeOf(global);
  const baseKeys = ownKeys(global);
  const baseCount = baseKeys.length;
  const base = create(null);
  let pinned = true;
  for (let i = 0; i < baseCount; i++) {
    base[baseKeys[i]] = true;
    if (getOwnPropertyDescriptor(global, baseKeys[i]).configurable) pinned = false;
  }
  const describe = (key) => (typeof key === 'symbol' ? String_(key) : '`' + key + '`');

  return function scrub() {
    let problem = null;
    if (getPrototypeOf(global) !== baseProto && !setPrototypeOf(global, baseProto)) {
      problem = 'the prototype of the global object was changed and cannot be restored';
    }
    const keys = ownKeys(global);
    if (!(pinned && keys.length === baseCount)) {
      // Keys keep their order: as long as they match the baseline in place, nothing needs a lookup.
      let i = 0;
      while (i < keys.length && i < baseCount && keys[i] === baseKeys[i]) i++;
      for (; i < keys.length; i++) {
        const key = keys[i];
        if (base[key] === true) continue;
        if (!deleteProperty(global, key) && problem === null) {
          problem = 'global ' + describe(key) + ' was defined non-configurable and cannot be removed';
        }
      }
    }
    if (problem === null && !isExtensible(global)) {
      problem = 'the global object was made non-extensible';
    }
    return problem;
  };
})
