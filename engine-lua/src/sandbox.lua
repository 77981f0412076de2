-- engine-lua's sandbox, run once per instance by the host with the unrestricted globals of a fresh state
-- (which only has the base, string, table, math, utf8, coroutine and os libraries loaded).
-- Argument: the isolation policy ("strict", "scrub" or "none"). The host also sets `__vmpool_host`, the host API
-- to install (see engine-lua's host.rs), `__vmpool_tripped` and `__vmpool_raw_metatable`.
-- Returns the internals the host drives: the prelude's environment, `finish` (after the prelude; under strict
-- it returns the tables the host makes each use's environment from and verifies), `scrub` (scrub reset,
-- verifying on request), the `state` table whose `hit` field records a memory or stack limit that a script
-- caught, `metatables`, a weak set of every table given as a metatable (see `safe_setmetatable`), and
-- `load_module` (loads a registered module by name; the host calls it for each one before the prelude).
local mode = ...
local next, type, select, error, tostring, rawget, rawset, rawequal, rawlen =
    next, type, select, error, tostring, rawget, rawset, rawequal, rawlen
local setmetatable, getmetatable, pcall, xpcall, load, collectgarbage =
    setmetatable, getmetatable, pcall, xpcall, load, collectgarbage
local string, table, math, utf8, coroutine, os = string, table, math, utf8, coroutine, os
-- Lua's own string.find (the host replaces string.find with a matcher that watches the deadline): `note` may run
-- at the C-stack limit, where only a plain C function is safe to call.
local find = __vmpool_plain_find or string.find
local strict = mode == "strict"
-- Set by the host before this chunk runs: whether the running call hit its time or stack limit.
local tripped = __vmpool_tripped
local raw_metatable = __vmpool_raw_metatable
local ipairs = ipairs
local host = __vmpool_host

local MEMERR = "not enough memory"
local STOP = "vmpool: the script hit a limit and is being stopped"
-- `hit` is false, "memory" or "stack".
local state = { hit = false }
-- The environment of the current use (for `load` without an explicit one); strict isolation replaces this.
local function current_env() return nil end

-- Limits must not be swallowable: every place where the standard library catches an error (pcall, xpcall,
-- coroutine.resume, coroutine.close, load) records a memory or stack error and raises it again.
local function note(e)
  if e == MEMERR then
    state.hit = "memory"
  elseif type(e) == "string" and find(e, "stack overflow", 1, true) and not state.hit then
    state.hit = "stack"
  end
end

local function reraise()
  if state.hit == "memory" then error(MEMERR, 0) end
  error(state.hit and "stack overflow" or "vmpool: the script hit a limit and is being stopped", 0)
end

local function after(ok, ...)
  if not ok then
    note((...))
    if state.hit then reraise() end
    -- A limit, or a host call that failed fatally (a panic, its deadline, an oversized result): the call is
    -- ending, whatever the script catches.
    if tripped() then error(STOP, 0) end
  end
  return ok, ...
end

local function safe_pcall(f, ...)
  return after(pcall(f, ...))
end

local function safe_xpcall(f, handler, ...)
  if type(handler) ~= "function" then
    return after(xpcall(f, handler, ...))
  end
  return after(xpcall(f, function(e)
    note(e)
    -- A limit raised from the instruction hook calls this handler while Lua has hooks switched off: a looping
    -- handler could then never be stopped. Once a limit was hit, the script's handler does not run.
    if state.hit or tripped() then return e end
    return handler(e)
  end, ...))
end

local co_resume, co_close = coroutine.resume, coroutine.close
local safe_coroutine = {
  create = coroutine.create,
  isyieldable = coroutine.isyieldable,
  running = coroutine.running,
  status = coroutine.status,
  wrap = coroutine.wrap,
  yield = coroutine.yield,
  resume = function(co, ...)
    return after(co_resume(co, ...))
  end,
  close = function(co)
    -- A coroutine that a limit stopped died with Lua's hooks switched off, and closing it runs its pending
    -- `__close` metamethods in that state; the host removed them when the limit was hit, but the script may have
    -- run on for a few instructions since and put one back. The call is ending anyway.
    if state.hit or tripped() then reraise() end
    return after(co_close(co))
  end,
}

-- Text chunks only, and by default in the environment of the current use.
local function safe_load(chunk, name, _, env)
  if env == nil then env = current_env() end
  if type(chunk) == "function" then
    local parts = {}
    while true do
      local part = chunk()
      if part == nil or part == "" then break end
      if type(part) ~= "string" then error("load: reader function must return a string", 2) end
      parts[#parts + 1] = part
    end
    chunk = table.concat(parts)
  end
  local f, err = load(chunk, name, "t", env)
  if f == nil then
    note(err)
    if state.hit then reraise() end
  end
  return f, err
end

local function safe_collectgarbage(opt)
  if opt == "count" then
    -- The heap still holds what earlier uses left for the collector: under strict isolation, its size would
    -- tell one use about the previous one.
    if strict then
      error("collectgarbage: option 'count' is not available under strict isolation "
        .. "(the heap's size depends on earlier uses)", 2)
    end
    return collectgarbage("count")
  end
  error("collectgarbage: option '" .. tostring(opt) .. "' is not allowed in the sandbox (only \"count\" is)", 2)
end

-- Read-only proxies (strict only) and the maps between a proxy and the table behind it.
local proxy_of, orig_of = {}, {}

-- Every table given as a metatable. When a limit stops a call, Lua unwinds the stack with its hooks switched
-- off and runs the `__close` metamethods of pending to-be-closed values (`local x <close>`, the fourth value of
-- a generic `for`); the host then removes `__close` from all of these tables first, so that no such metamethod
-- can run where the hook cannot stop it. Weak keys: a metatable no longer used is not kept alive.
local metatables = setmetatable({}, { __mode = "k" })

local function safe_setmetatable(t, mt)
  if type(mt) == "table" then
    mt = orig_of[mt] or mt
    -- Finalizers run with hooks switched off, so a looping __gc could never be stopped.
    if rawget(mt, "__gc") ~= nil then
      error("setmetatable: __gc metamethods are not allowed in the sandbox", 2)
    end
    metatables[mt] = true
  end
  return setmetatable(t, mt)
end

local function safe_getmetatable(v)
  local m = getmetatable(v)
  if m then return proxy_of[m] or m end
  return m
end

local function field_name(k)
  if type(k) == "string" then return k end
  return "<" .. type(k) .. ">"
end

-- Every host global by name: namespaces (as read-only views), top-level functions, `require`, `print`. Under
-- every policy they are read-only: scripts (and the prelude) cannot assign, rawset or shadow them.
local host_globals = {}
-- True until the set-up is finished. The host's globals win over the set-up's: a global of a host name that the
-- prelude or a module defines (`function echo() ... end` where the host registered `echo`) is ignored, as a
-- JavaScript assignment to a non-writable global is, so the script code that follows still finds the host's.
local creating = true
-- The prelude's environment under strict isolation (set below), which `rawset` must not give a host name either.
local prelude_env = nil

-- The views of the standard library tables: while the set-up runs (modules and prelude), writes to them go to
-- the library itself, so a prelude can extend `string` or `table` (`string.split = ...`) as JavaScript preludes
-- extend built-ins before the lockdown; the additions become part of the read-only base.
local extendable = {}

local function safe_rawset(t, k, v)
  if creating and extendable[t] then
    rawset(orig_of[t], k, v)
    return t
  end
  if orig_of[t] then error("rawset: attempt to modify a read-only table", 2) end
  if host_globals[k] ~= nil and (t == current_env() or t == prelude_env) then
    if creating then return t end
    error("rawset: attempt to replace host global '" .. field_name(k) .. "' (host globals are read-only)", 2)
  end
  return rawset(t, k, v)
end

-- The `__newindex` of every global environment: a new global is an ordinary raw field, except a host name.
local function host_guard(t, k, v)
  if host_globals[k] ~= nil then
    if creating then return end
    error("attempt to replace host global '" .. field_name(k) .. "' (host globals are read-only)", 2)
  end
  rawset(t, k, v)
end

-- The name of each proxy, for error messages.
local name_of = {}

-- What every read-only view shares: one function each for writes, iteration and length, which find the table
-- behind the view through `orig_of` (so a view costs two tables, not four closures more).
local function ro_newindex(p, k, v)
  if creating and extendable[p] then
    rawset(orig_of[p], k, v)
    return
  end
  error("attempt to modify read-only table '" .. name_of[p] .. "' (field '" .. field_name(k) .. "')", 2)
end
local function ro_next(p, k)
  local orig = orig_of[p]
  -- A key that is a table is handed out as its view; given back, it stands for the table behind it.
  if orig_of[k] ~= nil and rawget(orig, k) == nil then k = orig_of[k] end
  local nk, v = next(orig, k)
  if type(nk) == "table" then nk = proxy_of[nk] or nk end
  return nk, v
end
local function ro_pairs(p)
  return ro_next, p, nil
end
local function ro_len(p)
  return #orig_of[p]
end

-- The metamethods of a table that its read-only view forwards: the view's metatable holds the same functions,
-- so Lua calls them with the view where it would pass the table (`M(...)`, `tostring(obj)`, `a .. b`, `a + b`,
-- `a < b`, `#obj`, `pairs(obj)`), and what they return is the library's own answer. Not forwarded:
-- `__index` (the view reads through the table, whose own `__index` then applies), `__newindex` (the view is
-- read-only), `__gc` (a finalizer the prelude set would run outside any operation's deadline), `__mode` (the
-- view holds nothing to be weak) and `__metatable` (the view hides the metatable).
local forwarded = {
  "__call", "__tostring", "__name", "__concat", "__len", "__pairs", "__close", "__unm", "__add", "__sub",
  "__mul", "__div", "__mod", "__pow", "__idiv", "__band", "__bor", "__bxor", "__shl", "__shr", "__bnot",
  "__eq", "__lt", "__le",
}

-- A read-only view of `orig` (deep: table values of `orig` are replaced by their own views). The view is
-- empty, so reads go through __index and writes through __newindex; __pairs iterates `orig` without handing
-- it out (unless `orig` has a `__pairs` of its own, forwarded as the other metamethods are); __metatable hides
-- the metatable.
local function readonly(orig, name)
  local p = proxy_of[orig]
  if p then return p end
  local meta = {
    __index = orig,
    __newindex = ro_newindex,
    __pairs = ro_pairs,
    __len = ro_len,
    __metatable = false,
  }
  local own = raw_metatable(orig)
  if own then
    for _, event in ipairs(forwarded) do
      local handler = rawget(own, event)
      if handler ~= nil then meta[event] = handler end
    end
  end
  p = setmetatable({}, meta)
  proxy_of[orig], orig_of[p], name_of[p] = p, orig, name
  local table_keys = false
  for k, v in next, orig do
    if type(v) == "table" and not orig_of[v] then
      rawset(orig, k, readonly(v, name .. "." .. field_name(k)))
    end
    -- Table keys keep their identity in `orig` (the prelude's own code may look them up), and scripts get
    -- their views from `pairs`; indexing with such a view finds the key behind it.
    if type(k) == "table" and not orig_of[k] then
      readonly(k, name .. ".<key>")
      table_keys = true
    end
  end
  if table_keys then
    meta.__index = function(_, k)
      if orig_of[k] ~= nil and rawget(orig, k) == nil then k = orig_of[k] end
      return orig[k]
    end
  end
  local mt = getmetatable(orig)
  if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
    rawset(mt, "__index", readonly(rawget(mt, "__index"), name .. ".__index"))
  end
  return p
end

-- The host API. `dispatch(index, ...)` is the one native function behind every host function: it answers the
-- result, or nil, a code and a message for an error the script may catch, which the wrapper raises as a table.
local dispatch = host.dispatch
local host_error_meta = {
  __tostring = function(e)
    return tostring(rawget(e, "code")) .. ": " .. tostring(rawget(e, "message"))
  end,
  __metatable = false,
}
local function host_function(index)
  return function(...)
    local result, code, message = dispatch(index, ...)
    if code ~= nil then
      error(setmetatable({ code = code, message = message }, host_error_meta), 0)
    end
    return result
  end
end
-- The namespaces' read-only views, with their names (strict verifies that they stay empty).
local host_views, host_view_names = {}, {}
do
  local spaces = {}
  for i = 1, #host.namespaces do
    spaces[host.namespaces[i]] = {}
  end
  for i = 1, #host.functions do
    local row = host.functions[i]
    local f = host_function(row[1])
    if row[2] then
      spaces[row[2]][row[3]] = f
    else
      host_globals[row[3]] = f
    end
  end
  for i = 1, #host.namespaces do
    local name = host.namespaces[i]
    local view = readonly(spaces[name], name)
    host_globals[name] = view
    host_views[#host_views + 1] = view
    host_view_names[#host_view_names + 1] = name
  end
end

-- `require`: registered modules only, never files. Every module is loaded once, while the instance is created
-- (the host calls `load_module` for each, before the prelude; a module may require one registered after it);
-- afterwards `require` only returns what was loaded then.
local module_rows = {}
for i = 1, #host.modules do
  local row = host.modules[i]
  module_rows[row[1]] = row
end
local modules, loading = {}, {}
-- The environment modules load in: the prelude's (set below).
local module_env = nil
local function load_module(name)
  local loaded = modules[name]
  if loaded ~= nil then return loaded end
  local row = module_rows and module_rows[name]
  if row == nil then
    error("module '" .. tostring(name) .. "' not found: only modules registered with the host can be required", 0)
  end
  if row[2] == "namespace" then
    loaded = host_globals[row[3]] or readonly({}, row[3])
  else
    if loading[name] then error("module '" .. name .. "' requires itself (a require cycle)", 0) end
    loading[name] = true
    local chunk, err = load(row[3], "=module:" .. name, "t", module_env)
    if chunk == nil then error(err, 0) end
    loaded = chunk(name)
    loading[name] = nil
    if loaded == nil then loaded = true end
  end
  modules[name] = loaded
  return loaded
end
host_globals.require = function(name)
  local loaded = modules[name]
  if loaded ~= nil then return loaded end
  if module_rows ~= nil and module_rows[name] ~= nil then return load_module(name) end
  error("module '" .. tostring(name) .. "' not found: only modules registered with the host can be required", 2)
end

-- The shared string metatable: hidden from scripts, and without string.dump behind it.
rawset(string, "dump", nil)

-- Library functions whose C loop runs as many times as a number argument (or a `__len` metamethod) says,
-- without allocating: the instruction hook cannot stop a single C call, so these run the long cases in
-- pieces, between which the hook can stop them.
local tointeger, ult, min = math.tointeger, math.ult, math.min
local rep, move, insert, remove = string.rep, table.move, table.insert, table.remove
-- The most elements one call into Lua's own `table.move` moves.
local MOVE_PIECE = 256

-- `("").rep("", n)` loops n times and allocates nothing; any other repetition allocates its result first, which
-- `memory_mb` bounds.
rawset(string, "rep", function(s, n, sep)
  if s == "" and (sep == nil or sep == "") then
    local count = tointeger(n)
    if count ~= nil and count > 1 then n = 1 end
  end
  return rep(s, n, sep)
end)

-- Lua's `table.move`, in pieces of MOVE_PIECE elements, in the order that keeps overlapping moves right.
rawset(table, "move", function(a1, f, e, t, a2)
  local fi, ei, ti = tointeger(f), tointeger(e), tointeger(t)
  -- Short, empty or invalid moves: Lua's own (its checks and messages). `ei - fi` wraps around only when Lua
  -- refuses the move ("too many elements to move").
  if fi == nil or ei == nil or ti == nil or ei < fi or ei - fi < MOVE_PIECE or ei - fi == math.maxinteger
      or ti > math.maxinteger - (ei - fi) then
    return move(a1, f, e, t, a2)
  end
  move(a1, 1, 0, 1, a2) -- checks both tables, as Lua's own would
  local dest = a2
  if dest == nil then dest = a1 end
  local n = ei - fi + 1
  local forward = ti > ei or ti <= fi or (a2 ~= nil and a1 ~= a2)
  if getmetatable(a1) ~= nil or getmetatable(dest) ~= nil then
    -- Metamethods can see the order of the reads and writes: element by element, in Lua's order.
    if forward then
      for i = 0, n - 1 do dest[ti + i] = a1[fi + i] end
    else
      for i = n - 1, 0, -1 do dest[ti + i] = a1[fi + i] end
    end
    return dest
  end
  if forward then
    for i = 0, n - 1, MOVE_PIECE do
      move(a1, fi + i, fi + i + min(MOVE_PIECE, n - i) - 1, ti + i, dest)
    end
  else
    local i = n
    while i > 0 do
      local piece = min(MOVE_PIECE, i)
      i = i - piece
      move(a1, fi + i, fi + i + piece - 1, ti + i, dest)
    end
  end
  return dest
end)

-- A table's length, as `table.insert` and `table.remove` read it (`__len` honoured, an integer required).
local function length_of(t)
  local n = tointeger(#t)
  if n == nil then error("object length is not an integer", 3) end
  return n
end

-- `table.insert(t, pos, v)` and `table.remove(t, pos)` shift the elements between `pos` and `#t`: a loop as
-- long as `#t`, which for a table with a `__len` metamethod is any number, and for a plain table can be far more
-- than its entries (`#{[1]=1, [2]=1, [4]=1, ..., [2^40]=1}` may be 2^40). Such tables are shifted here, in Lua;
-- short plain ones by Lua's own functions.
local SHIFT_IN_C = 4096
local function shifts_in_c(t)
  return type(t) ~= "table" or (getmetatable(t) == nil and rawlen(t) <= SHIFT_IN_C)
end
rawset(table, "insert", function(t, ...)
  local nargs = select("#", ...)
  if nargs ~= 2 or shifts_in_c(t) then
    insert(t, ...)
    return
  end
  local pos, v = ...
  local e = length_of(t) + 1
  local p = tointeger(pos)
  if p == nil then -- Lua's own message for a bad position
    insert(t, pos, v)
    return
  end
  if not ult(p - 1, e) then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
  local i = e
  while i > p do
    t[i] = t[i - 1]
    i = i - 1
  end
  t[p] = v
end)

rawset(table, "remove", function(t, ...)
  if select("#", ...) == 0 or shifts_in_c(t) then return remove(t, ...) end
  local size = length_of(t)
  local pos = ...
  if pos == nil then pos = size end
  local p = tointeger(pos)
  if p == nil then return remove(t, pos) end
  if p ~= size and ult(size, p - 1) then error("bad argument #2 to 'remove' (position out of bounds)", 2) end
  local result = t[p]
  while p < size do
    t[p] = t[p + 1]
    p = p + 1
  end
  t[p] = nil
  return result
end)
local smt = getmetatable("")
rawset(smt, "__metatable", false)

local safe_os = { time = os.time, clock = os.clock, date = os.date }
-- Strict: scripts cannot seed the generator (a seed set by one use would make the next use's numbers
-- predictable); the host reseeds it from its own random source at every reset, so that one use cannot
-- predict the next one's numbers from its own either.
local randomseed = math.randomseed
if strict then
  rawset(math, "randomseed", nil)
end

local base = {
  assert = assert,
  error = error,
  ipairs = ipairs,
  next = next,
  pairs = pairs,
  rawequal = rawequal,
  rawget = rawget,
  rawlen = rawlen,
  rawset = safe_rawset,
  select = select,
  tonumber = tonumber,
  tostring = tostring,
  type = type,
  getmetatable = safe_getmetatable,
  setmetatable = safe_setmetatable,
  pcall = safe_pcall,
  xpcall = safe_xpcall,
  load = safe_load,
  collectgarbage = safe_collectgarbage,
  _VERSION = _VERSION,
  string = string,
  table = table,
  math = math,
  utf8 = utf8,
  coroutine = safe_coroutine,
  os = safe_os,
}

for name in next, host_globals do
  if base[name] ~= nil then
    error("host global '" .. name .. "' would replace the Lua global of that name", 0)
  end
end

local internals = { state = state, metatables = metatables, load_module = load_module }

if not strict then
  -- scrub and none: one flat, ordinary global table; the prelude writes into it.
  local G = base
  G._G = G
  -- The host globals are behind the global table's protected metatable, so that no script can replace them.
  setmetatable(G, { __index = host_globals, __newindex = host_guard, __metatable = false })
  current_env = function() return G end
  module_env = G
  local baseline, baseline_count = {}, 0
  internals.prelude_env = G
  function internals.finish()
    module_rows = nil
    creating = false
    for k in next, G do
      baseline[k] = true
      baseline_count = baseline_count + 1
    end
    return G
  end
  -- Deletes the globals added since creation; with `verify`, also answers what differs from the baseline
  -- (nil when nothing does), in the same pass.
  function internals.scrub(verify)
    local n = 0
    for k in next, G do
      if baseline[k] == nil then
        rawset(G, k, nil)
      else
        n = n + 1
      end
    end
    if not verify then return nil end
    if n ~= baseline_count then return "a global of the baseline was removed" end
    if getmetatable(G) ~= false then return "the global table's metatable was changed" end
    for i = 1, #host_views do
      if next(host_views[i]) ~= nil then return "read-only table '" .. host_view_names[i] .. "' was given a raw field" end
    end
    if rawget(smt, "__index") ~= string or rawget(smt, "__metatable") ~= false then
      return "the string metatable was changed"
    end
    return nil
  end
  return internals
end

-- strict: library tables become read-only views over the real tables, which no script can reach.
-- What a strict reset verifies, besides the metatables: the prelude's environment and every read-only view
-- of a library or prelude global are still empty. The host keeps this list (and the names for its messages).
local watched, watched_names = {}, {}
local function watch(p, name)
  watched[#watched + 1] = p
  watched_names[#watched_names + 1] = name
end
for _, name in next, { "string", "table", "math", "utf8", "coroutine", "os" } do
  local p = readonly(base[name], name)
  base[name] = p
  extendable[p] = name
  watch(p, name)
end
for name, v in next, host_globals do
  base[name] = v
end
for i = 1, #host_views do
  watch(host_views[i], host_view_names[i])
end

-- The prelude runs with `P` as its environment. While it runs, P reads from and writes to `pg` (over `base`);
-- afterwards P reads from and writes to the environment of the current use, so the prelude's functions see
-- that use's globals and their global writes are dropped with it. The host makes each use's environment (a
-- new table with `env_meta`, whose `__index` is `top`, and whose `_G` is itself) and points P_meta's `__index`
-- and `__newindex` at it.
local pg = setmetatable({}, { __index = base, __newindex = host_guard })
local P_meta = { __index = pg, __newindex = pg, __metatable = false }
local P = setmetatable({}, P_meta)
rawset(pg, "_G", P)
internals.prelude_env = P
prelude_env = P
module_env = P
-- The environment `load` defaults to: the prelude's globals while the prelude runs, then the current use's.
current_env = function() return rawget(P_meta, "__index") end

local top = {}
local env_meta = { __index = top, __newindex = host_guard, __metatable = false }

-- Returns what the host needs to make and verify environments.
function internals.finish()
  module_rows = nil
  creating = false
  -- What the set-up added to the libraries is read-only from now on, deeply, as the rest of them.
  for p, name in next, extendable do
    local orig = orig_of[p]
    for k, v in next, orig do
      if type(v) == "table" and not orig_of[v] then
        rawset(orig, k, readonly(v, name .. "." .. field_name(k)))
      end
    end
  end
  -- Module exports are frozen with the prelude.
  for name, v in next, modules do
    if type(v) == "table" and not orig_of[v] then
      v = readonly(v, "module:" .. name)
      watch(v, "module:" .. name)
      modules[name] = v
    end
  end
  for k, v in next, base do
    top[k] = v
  end
  for k, v in next, pg do
    if k ~= "_G" then
      if type(v) == "table" and not orig_of[v] then
        v = readonly(v, field_name(k))
        watch(v, field_name(k))
      end
      top[k] = v
    end
  end
  return {
    top = top,
    env_meta = env_meta,
    prelude_env = P,
    prelude_meta = P_meta,
    string_meta = smt,
    string = string,
    randomseed = randomseed,
    host_guard = host_guard,
    watched = watched,
    watched_names = watched_names,
  }
end

return internals
