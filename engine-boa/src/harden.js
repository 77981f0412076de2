// engine-boa's hardening of built-ins that recurse in native code on data or allocate in one native call, run
// once per instance before the prelude. Arguments: the memory limit in bytes, and a host function that returns the
// bytes the instance has left under it during a call (Infinity when the host does not count). Returns the private
// state whose
// `memory` field names the allocation a wrapper refused (the host then ends the call with a `memory` error).
// Boa recurses on the native stack in these built-ins without a depth check, and a native stack overflow
// aborts the process. Each wrapper either routes the recursion through a JavaScript frame (so that Boa's recursion
// limit, which counts frames and nested host calls, stops it with an uncatchable `stack` error) or bounds the depth
// of the data and throws a RangeError.
(function (maxBytes, room) {
  'use strict';
  const state = { memory: false };
  // Longest chain of proxies and bound functions, and deepest JSON.stringify / flat nesting.
  const LIMIT = 1000;
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const isArray = Array.isArray;
  const WeakMapCtor = WeakMap;
  const wmGet = WeakMap.prototype.get;
  const wmSet = WeakMap.prototype.set;
  const some = Array.prototype.some;
  const RangeErrorCtor = RangeError;
  const TypeErrorCtor = TypeError;

  function replace(holder, name, wrapper) {
    defineProperty(holder, name, { value: wrapper, writable: true, enumerable: false, configurable: true });
  }
  function limited(what) {
    return new RangeErrorCtor(what + ' is deeper than the limit of ' + LIMIT + ' levels');
  }

  // Recursion through toString / join: a JavaScript frame per level, so the recursion limit applies.
  const AP = Array.prototype;
  const join = AP.join, arrayToString = AP.toString, toLocaleString = AP.toLocaleString;
  replace(AP, 'join', { join(separator) { return apply(join, this, arguments); } }.join);
  replace(AP, 'toString', { toString() { return apply(arrayToString, this, []); } }.toString);
  replace(AP, 'toLocaleString', { toLocaleString() { return apply(toLocaleString, this, arguments); } }.toLocaleString);
  const errorToString = Error.prototype.toString;
  replace(Error.prototype, 'toString', { toString() { return apply(errorToString, this, []); } }.toString);
  const regexpToString = RegExp.prototype.toString;
  replace(RegExp.prototype, 'toString', { toString() { return apply(regexpToString, this, []); } }.toString);

  // Chains of proxies and bound functions: [[Get]] and [[Call]] walk them natively.
  const depths = new WeakMapCtor();
  function depthOf(value) {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return 0;
    return apply(wmGet, depths, [value]) || 0;
  }
  function chained(target, handler) {
    const a = depthOf(target), b = depthOf(handler);
    const d = (a > b ? a : b) + 1;
    if (d > LIMIT) throw limited('a chain of proxies or bound functions');
    return d;
  }
  const NativeProxy = Proxy;
  const revocable = Proxy.revocable;
  const ProxyWrapper = function Proxy(target, handler) {
    if (new.target === undefined) throw new TypeErrorCtor("calling a builtin Proxy constructor without new is forbidden");
    const d = chained(target, handler);
    const proxy = new NativeProxy(target, handler);
    apply(wmSet, depths, [proxy, d]);
    return proxy;
  };
  replace(ProxyWrapper, 'revocable', {
    revocable(target, handler) {
      const d = chained(target, handler);
      const result = apply(revocable, NativeProxy, [target, handler]);
      apply(wmSet, depths, [result.proxy, d]);
      return result;
    },
  }.revocable);
  replace(globalThis, 'Proxy', ProxyWrapper);
  const bind = Function.prototype.bind;
  replace(Function.prototype, 'bind', {
    bind(thisArg, ...args) {
      const d = chained(this, undefined);
      const bound = apply(bind, this, arguments);
      apply(wmSet, depths, [bound, d]);
      return bound;
    },
  }.bind);

  // JSON.stringify recurses natively over the data: a replacer (which runs before each descent) tracks depth.
  const stringify = JSON.stringify;
  replace(JSON, 'stringify', {
    stringify(value, replacer, space) {
      if (replacer !== undefined && replacer !== null && typeof replacer !== 'function' && isArray(replacer)) {
        // A property list: checked by a walk of its own before the native serialisation.
        checkDepth(value);
        return apply(stringify, JSON, arguments);
      }
      const seen = new WeakMapCtor();
      const user = typeof replacer === 'function' ? replacer : undefined;
      const track = function (key, v) {
        if (user !== undefined) v = apply(user, this, [key, v]);
        if (typeof v === 'object' && v !== null) {
          const d = (apply(wmGet, seen, [this]) || 0) + 1;
          if (d > LIMIT) throw limited('the value given to JSON.stringify');
          apply(wmSet, seen, [v, d]);
        }
        return v;
      };
      return apply(stringify, JSON, [value, track, space]);
    },
  }.stringify);
  function checkDepth(value) {
    const stack = [[value, 0]];
    while (stack.length > 0) {
      const [v, d] = stack.pop();
      if (typeof v !== 'object' || v === null) continue;
      if (d >= LIMIT) throw limited('the value given to JSON.stringify');
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) stack.push([v[keys[i]], d + 1]);
    }
  }

  // One native call that allocates in proportion to its arguments: refused past the memory limit (Boa has no
  // heap limit, and a failed allocation aborts the process). Sizes are estimates of Boa's own allocation.
  // The most one call may allocate now: what is left under the limit, and never more than the limit.
  function allowed() {
    const left = room();
    return left < maxBytes ? left : maxBytes;
  }
  function refuse(what, bytes) {
    state.memory = what + ' needs about ' + Math.ceil(bytes / 1048576) + ' MiB';
    return new RangeErrorCtor(what + ' would exceed the memory limit of ' + Math.floor(maxBytes / 1048576) + ' MiB');
  }
  const isFinite = Number.isFinite;
  const trunc = Math.trunc;
  const StringCtor = String;
  const SP = String.prototype;
  const repeat = SP.repeat, padStart = SP.padStart, padEnd = SP.padEnd;
  replace(SP, 'repeat', {
    repeat(count) {
      const str = typeof this === 'string' ? this : StringCtor(this);
      const n = trunc(Number(count));
      // Boa builds a list of `n` 24-byte references, then the string (up to 2 bytes per unit).
      if (isFinite(n) && n > 0 && str.length > 0) {
        const bytes = n * 24 + n * str.length * 2;
        if (bytes > allowed()) throw refuse('String.prototype.repeat(' + n + ')', bytes);
      }
      return apply(repeat, str, [count]);
    },
  }.repeat);
  function padWrapper(native, name) {
    return {
      [name](maxLength, fillString) {
        const str = typeof this === 'string' ? this : StringCtor(this);
        const n = trunc(Number(maxLength));
        if (isFinite(n) && n > str.length && fillString !== '') {
          const bytes = n * 4;
          if (bytes > allowed()) throw refuse('String.prototype.' + name + '(' + n + ')', bytes);
        }
        return apply(native, str, arguments);
      },
    }[name];
  }
  replace(SP, 'padStart', padWrapper(padStart, 'padStart'));
  replace(SP, 'padEnd', padWrapper(padEnd, 'padEnd'));
  function toLength(v) {
    const n = trunc(Number(v));
    return n > 0 ? n : 0;
  }
  function relative(v, len, dflt) {
    if (v === undefined) return dflt;
    const n = trunc(Number(v)) || 0;
    if (n < 0) return len + n > 0 ? len + n : 0;
    return n < len ? n : len;
  }
  const fill = AP.fill;
  replace(AP, 'fill', {
    fill(value, start, end) {
      const len = toLength(this.length);
      const count = relative(end, len, len) - relative(start, len, 0);
      // A dense array holds a 16-byte value per element, and grows by doubling.
      if (count * 32 > allowed()) throw refuse('Array.prototype.fill of ' + count + ' elements', count * 32);
      return apply(fill, this, arguments);
    },
  }.fill);
  const from = Array.from;
  const iteratorSymbol = Symbol.iterator;
  replace(Array, 'from', {
    from(items) {
      if (items !== null && items !== undefined && items[iteratorSymbol] === undefined) {
        const len = toLength(items.length);
        if (len * 32 > allowed()) throw refuse('Array.from of ' + len + ' elements', len * 32);
      }
      return apply(from, this, arguments);
    },
  }.from);
  const joinChecked = AP.join; // the recursion wrapper above
  replace(AP, 'join', {
    join(separator) {
      const len = toLength(this.length);
      const sep = separator === undefined ? 1 : StringCtor(separator).length;
      const bytes = len * sep * 2;
      if (bytes > allowed()) throw refuse('Array.prototype.join of ' + len + ' elements', bytes);
      return apply(joinChecked, this, separator === undefined ? [] : [separator]);
    },
  }.join);

  // flat(depth) recurses natively up to `depth` levels.
  const flat = AP.flat;
  replace(AP, 'flat', {
    flat(depth) {
      const d = depth === undefined ? 1 : Number(depth);
      if (!(d > LIMIT)) return apply(flat, this, arguments);
      const result = apply(flat, this, [LIMIT]);
      if (apply(some, result, [isArray])) throw limited('the array given to flat');
      return result;
    },
  }.flat);
  return state;
})
