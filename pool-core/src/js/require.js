// The module loader of the host API (see pool_core::js::REQUIRE). Evaluates to a function that takes the registered
// modules as [name, kind, value] entries (kind 'javascript': value is the module function made from
// MODULE_PREFIX + source + MODULE_SUFFIX; kind 'namespace': value is the namespace object), evaluates every module
// once, and returns `require`.
(function (entries) {
  'use strict';
  var records = Object.create(null);
  var cache = Object.create(null);
  for (var i = 0; i < entries.length; i++) records[entries[i][0]] = entries[i];
  function require(name) {
    if (typeof name !== 'string') {
      throw new TypeError('require: the module name must be a string, got ' + typeof name);
    }
    var cached = cache[name];
    if (cached !== undefined) return cached.exports;
    var record = records[name];
    if (record === undefined) {
      var error = new Error("Cannot find module '" + name + "': only modules registered with the host can be required");
      error.code = 'MODULE_NOT_FOUND';
      throw error;
    }
    var module = { id: name, exports: {} };
    cache[name] = module;
    if (record[1] === 'namespace') {
      module.exports = record[2];
    } else {
      record[2].call(module.exports, module, module.exports, require);
    }
    return module.exports;
  }
  for (var j = 0; j < entries.length; j++) require(entries[j][0]);
  // Every module is loaded: the cache is complete, and reachable from `require` so that strict isolation freezes
  // the exports with the prelude.
  Object.defineProperty(require, 'cache', { value: cache });
  return require;
})
