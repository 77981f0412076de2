//! The sandbox every instance runs in, whatever its isolation policy (set up by `sandbox.lua`, with the
//! pattern matcher of module `pattern` and the host API of module `host`).
//!
//! Every instance, whatever its isolation policy, gets only these globals: `assert`, `error`, `ipairs`, `next`,
//! `pairs`, `rawequal`, `rawget`, `rawlen`, `rawset`, `select`, `tonumber`, `tostring`, `type`, `getmetatable`,
//! `setmetatable`, `pcall`, `xpcall`, `load`, `collectgarbage`, `_G`, `_VERSION`, and the libraries `string`,
//! `table`, `math`, `utf8`, `coroutine` and `os`. In particular:
//! - no `io`, `debug`, `package`, `dofile`, `loadfile` or `warn`, and `os` has only `time`, `clock` and `date`: a
//!   script cannot read a file, run a command or load native code; `require` resolves only the modules registered
//!   with the host API and `print` writes to the log (see the `host` module); host globals are read-only under
//!   every policy, and the global table's metatable, which guards them, cannot be replaced;
//! - `load` accepts text chunks only (binary chunks, which can crash the VM, are refused) and, without an explicit
//!   environment, loads into the environment of the current use (into the prelude's globals while the prelude
//!   runs); `string.dump` is removed; `eval` itself refuses binary chunks;
//! - `collectgarbage` only answers `"count"`, and under strict isolation not even that (the heap's size
//!   would show what earlier uses left for the collector);
//! - `setmetatable` refuses metatables with a `__gc` field, because Lua runs finalizers with hooks switched off,
//!   so a looping finalizer could never be stopped;
//! - to-be-closed values (`local x <close> = ...`, and the fourth value of a generic `for`) work. Lua runs the
//!   `__close` metamethods of pending ones while it unwinds the error that stops a call at a limit, with its hooks
//!   switched off, where a looping one could never be stopped; so the sandbox keeps a weak set of every table
//!   `setmetatable` made a metatable, and the hook removes `__close` from all of them just before it raises that
//!   error. Closing a value then fails at once, and the call ends with its limit. The hook then raises before
//!   every further instruction of that thread (so it cannot put a `__close` back), and `coroutine.close` refuses
//!   once a limit was hit (a coroutine a limit stopped keeps Lua's hooks switched off);
//! - `string.rep` of an empty string (with an empty separator) returns at once, `table.move` runs long moves in
//!   pieces (element by element, in Lua's order, when a table has a metatable), and `table.insert`/`table.remove`
//!   at a position shift a table with a metatable or a border past 4096 in Lua: Lua's own would loop in one C
//!   call as often as a number argument, a `__len` metamethod or a sparse table's border says, without
//!   allocating, where the hook cannot stop it;
//! - an `xpcall` message handler does not run once a limit was hit (Lua calls it from inside the hook, with hooks
//!   switched off): the error goes on unchanged;
//! - `string.find`, `string.match`, `string.gmatch` and `string.gsub` run engine-lua's port of Lua's pattern
//!   matcher, which has the same semantics (a differential test compares it with stock Lua) but counts its steps
//!   and stops at the deadline (a step over a character class counts as long as the class); `gsub` output is
//!   also bounded by `memory_mb`, together with the Lua heap and the output held by the `gsub` calls it is nested
//!   in, and checked as a replacement grows; `gsub` calls whose replacement function calls `gsub` again nest at
//!   most 32 deep (they recurse on the native stack) before ending with `stack`. Plain searches
//!   (`find(s, p, init, true)`, or a pattern without special characters) run a linear-time search. A memory or stack
//!   error raised inside these functions (by a replacement function or table, a capture, or `gsub`'s output bound) ends
//!   the call with `memory` or `stack` even if the script catches it;
//! - the shared string metatable is hidden (`getmetatable("")` is `false`), so scripts cannot change the
//!   methods of strings;
//! - the host-side global table of the state is emptied (and dropped from the registry's table of loaded
//!   libraries): only the sandbox environments are reachable.
//!
//! Creation ends with a full garbage collection, so that an instance enters the pool holding only what it needs
//! (about 35 KiB for the JSON handler under strict isolation, 32 KiB under `None`, after one use and its reset).
//! The read-only views share their metamethods, so a view costs two small tables.
//!
//! # Known gaps
//! - A single call into C cannot be interrupted: an instruction that does much work in C (comparing two long
//!   strings of NUL bytes calls `strcoll` once per byte) keeps the thread until it returns, so a call can run past
//!   its deadline by that much before it ends with `timeout`.
//! - Argument errors raised through the sandbox's wrappers of `string.rep`, `table.move`, `table.insert` and
//!   `table.remove` name the function `?` (the wrappers' debug information is stripped, which keeps every
//!   instance about 5 KiB smaller).
//!

use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Lua, Table};

use crate::limits::{Limiter, Tripped};

/// The sandbox's set-up script.
pub(crate) const SANDBOX: &str = include_str!("sandbox.lua");

/// The set-up script compiled (without debug information) in `lua`, for every instance to load.
pub(crate) fn compile(lua: &Lua) -> mlua::Result<Vec<u8>> {
    Ok(lua
        .load(SANDBOX)
        .set_name("=vmpool-sandbox")
        .set_mode(ChunkMode::Text)
        .into_function()?
        .dump(true))
}

/// The host's helpers the set-up script reads from the state's original global table: whether a limit stopped
/// the call, and a table's metatable even when its `__metatable` field hides it.
pub(crate) fn install_helpers(lua: &Lua, limiter: &Arc<Limiter>) -> mlua::Result<()> {
    let hit = Arc::clone(limiter);
    let tripped = lua.create_function(move |_, ()| Ok(hit.tripped() != Tripped::None))?;
    lua.globals().raw_set("__vmpool_tripped", tripped)?;
    // A table's metatable even when its `__metatable` field hides it (the read-only views forward its
    // metamethods).
    let raw_metatable = lua.create_function(|_, t: Table| Ok(t.metatable()))?;
    lua.globals()
        .raw_set("__vmpool_raw_metatable", raw_metatable)?;
    Ok(())
}
