//! Lua 5.4 for vmpool, through [`mlua`]: sandboxed instances, strict isolation between uses, and limits on
//! time, memory and stack that a script cannot catch.
//!
//! ```
//! use engine_lua::LuaEngine;
//! use pool_core::{EngineConfig, ErrorKind, ScriptEngine, Value};
//! use serde_json::json;
//!
//! let engine = LuaEngine::new(EngineConfig::new(
//!     r#"
//!     function handle(input)
//!       local s = 0
//!       for _, v in ipairs(input.items) do s = s + v end
//!       return { sum = s, n = #input.items }
//!     end
//!     "#,
//! ))?;
//! let mut vm = engine.create()?;
//! let out = engine.call(&mut vm, "handle", &[json!({ "items": [1, 2, 3] })])?;
//! assert_eq!(out, json!({ "sum": 6, "n": 3 }));
//!
//! // A use's globals are gone after the reset the pool makes between uses.
//! engine.eval(&mut vm, "leftover = 1")?;
//! engine.reset(&mut vm)?;
//! assert_eq!(engine.eval(&mut vm, "leftover")?, Value::Null);
//!
//! // The sandbox: no files, no commands.
//! let err = engine.eval(&mut vm, "io.open('/etc/passwd')").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Exception);
//! # Ok::<(), pool_core::ScriptError>(())
//! ```
//!
//! # Sandbox
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
//!   most 32 deep (they recurse on the native stack) before ending with `stack`. Plain searches (`find(s, p, init, true)`, or a pattern without special characters) run a
//!   linear-time search. A memory or stack error raised inside these functions (by a replacement function or
//!   table, a capture, or `gsub`'s output bound) ends the call with `memory` or `stack` even if the script
//!   catches it;
//! - the shared string metatable is hidden (`getmetatable("")` is `false`), so scripts cannot change the
//!   methods of strings;
//! - the host-side global table of the state is emptied (and dropped from the registry's table of loaded
//!   libraries): only the sandbox environments are reachable.
//!
//! Creation ends with a full garbage collection, so that an instance enters the pool holding only what it needs
//! (about 35 KiB for the JSON handler under strict isolation, 32 KiB under `None`, after one use and its reset).
//! The read-only views share their metamethods, so a view costs two small tables.
//!
//! # Isolation
//! The policy is [`EngineConfig::isolation`]; [`ScriptEngine::reset`] applies it and the pool calls it after
//! every use.
//!
//! **`Strict`** (the default) runs each use in its own environment table whose `__index` is a read-only
//! baseline (the sandbox globals plus the globals the prelude defined); a reset replaces that table with a new
//! one, which costs well under a microsecond. What it covers:
//! - globals a use creates or reassigns, including `_G.x = ...`, the prelude's handler functions
//!   (`handle = nil`) and globals written by `eval`'d chunks and by `load`ed chunks;
//! - global writes made *by prelude functions* while serving a use: the prelude's functions run with an
//!   environment that reads from and writes to the current use's table, so they are dropped with it;
//! - library tables (`string`, `table`, `math`, `utf8`, `coroutine`, `os`): scripts see read-only views
//!   (`__index` reads, `__newindex` raises, `__pairs` iterates, `__len` counts, `__metatable` hides the
//!   metatable); `rawset` refuses them, so they cannot gain raw fields either;
//! - tables the prelude stored in globals, deeply (their table fields, and the `__index` tables of their
//!   metatables): read-only views as well, so `Handlers.foo = evil` fails. `setmetatable(obj, Class)` with such
//!   a view installs the table behind it (so methods and metamethods work) and `getmetatable(obj)` answers the
//!   view again;
//! - the shared string metatable (hidden in every mode), and there is no `package.loaded` at all;
//! - table keys of prelude tables: `pairs` hands out read-only views of them (indexing the table with such a
//!   view finds the key behind it, and the prelude's own code still finds the table it holds);
//! - random numbers: `math.randomseed` is removed, and every reset reseeds the generator from the host's
//!   cryptographically secure generator, so a use can neither choose nor predict the next use's numbers.
//!
//! What it does not cover: state the prelude keeps in its own `local` variables (upvalues) or in tables it
//! reaches only through them: a prelude function that counts calls in a `local` counter shares the counter
//! between uses. Likewise a coroutine the prelude creates keeps its own state (its stack and position) from one
//! use to the next, even when a global holds it. Objects a host puts into the state through [`LuaVm::lua`] are
//! outside the sandbox too. Scripts notice the design in three places: `pairs(_G)` lists only the current use's own globals, a library or
//! prelude table is empty to `next`/`rawget`/`rawlen` (use `pairs`, indexing and `#`), and `setmetatable(_G,
//! ...)` fails (the environment's metatable is protected).
//!
//! **`Scrub`** keeps one ordinary global table and, on reset, deletes the globals added since creation (the Go
//! guide's behaviour). Reassigned globals and changes inside library or prelude tables survive.
//!
//! **`None`** does nothing between uses.
//!
//! With [`EngineConfig::verify_reset`] (the default), a reset also checks a cheap fingerprint and fails with an
//! `internal` error on a mismatch, so that the pool discards the instance. Strict: the prelude's own environment
//! is still empty, every read-only view of a library or prelude global is still empty (no raw field), the string
//! metatable's `__index` is still the real `string` library and its `__metatable` still `false`, the
//! environments' metatable still reads from the baseline, and the prelude's environment still points at the use
//! that just ended (the baseline itself is reachable only through that protected metatable). The strict reset
//! and its verification are made from the host, without running Lua code (the reseed calls Lua's own C function):
//! 0.7-0.8 us in release on an unused instance, where a whole pooled request of the JSON handler takes 3.3-3.4 us
//! (`reset_strict` and `pooled` in `cargo bench -p pool-bench --bench engines`, machine under load); the reseed
//! adds about 0.1 us of that (`cargo run --release -p engine-lua --example lua_isolation`). Scrub: no global
//! outside the baseline remains, none of the baseline is missing, the global table has no metatable and the
//! string metatable is intact. `None` neither resets nor verifies.
//!
//! # Limits
//! From [`EngineConfig::limits`]; an instance that hit any of them reports [`ScriptEngine::is_broken`] and
//! refuses further use.
//! - **timeout**: an instruction-count hook (every 1000 instructions, in every coroutine) compares the clock with
//!   the deadline. When it passes, the hook raises an error and re-installs itself to raise again on *every*
//!   instruction until the call returns, so `while true do pcall(function() while true do end end) end` still
//!   ends with `timeout`. The deadline also covers converting the result and pattern matching (see the sandbox).
//!   A single call into a C function cannot be interrupted: the library loops that a number chooses run in
//!   pieces (see the sandbox), and the other library functions do work linear in the size of their arguments,
//!   which `memory_mb` bounds. One instruction can still take long (comparing two 16 MiB strings of NUL bytes
//!   calls `strcoll` once per byte), so a call that returns after its deadline ends with `timeout` too.
//! - **memory_mb**: mlua's allocator limit for the whole state, set to 7/8 of `memory_mb`: the remaining eighth
//!   is an allowance for the system allocator's own overhead on Lua's many small blocks (8-16 bytes on a 56-byte
//!   table or a short string). Over the hostile memory cases of `vmpool-tests` the process's resident peak is
//!   1.37x `memory_mb` (1.53x without the allowance): small-block overhead, plus memory the system allocator
//!   keeps after an earlier instance is dropped. The host writes arguments and each new environment into the
//!   state with the limit lifted only while that provably cannot pass it (the state then holds well under half
//!   of it, and no Lua code runs meanwhile), which saves a protected call per table field. A script that
//!   catches the allocation error with `pcall`, `xpcall`, `coroutine.resume`, `coroutine.close` or `load` gets
//!   it raised again, and the failure is recorded, so the call ends with `memory` either way.
//! - **stack_kb**: Lua keeps its call stack on the heap and never recurses natively for Lua-to-Lua calls, so a
//!   native stack overflow cannot happen (nested C calls stop at Lua's limit of 200 with "C stack overflow").
//!   `stack_kb` becomes a maximum call depth of `stack_kb * 1024 / 128` frames (128 bytes being roughly one
//!   frame's `CallInfo` plus its stack slots), at least 16; the hook checks it with the deadline, so a recursion
//!   can overshoot by the frames made in 1000 instructions before it ends with `stack`. Lua's own "stack
//!   overflow" (a million stack slots) and "C stack overflow" also end with `stack`, even if caught by `pcall`.
//!
//! # Known gaps
//! - A single call into C cannot be interrupted: an instruction that does much work in C (comparing two long
//!   strings of NUL bytes calls `strcoll` once per byte) keeps the thread until it returns, so a call can run past
//!   its deadline by that much before it ends with `timeout`.
//! - Argument errors raised through the sandbox's wrappers of `string.rep`, `table.move`, `table.insert` and
//!   `table.remove` name the function `?` (the wrappers' debug information is stripped, which keeps every
//!   instance about 5 KiB smaller).
//!
//! # Values
//! nil is `null`; integers are integers; a float with an integral value within +-2^53 becomes an integer (so
//! `4/2` is `2`), NaN and infinities become `null`, other floats stay floats. A table whose keys are exactly
//! `1..n` (n >= 1) is an array; any other table is an object whose keys are strings, or integers written in
//! decimal; an empty table is `{}`. Tables are read raw, except that a `__pairs` metamethod is honoured (and
//! runs under the deadline); `__index` is not consulted. Functions, coroutines, userdata, strings that are not
//! UTF-8, other key types, cyclic tables, nesting deeper than 128 and a `__pairs` that fails are `conversion`
//! errors. So is a result larger than `memory_mb` once converted (96 bytes per table entry plus each string's
//! length, counted every time a string or table is reached, so a table of many references to one long string
//! counts them all); converting also stops at the deadline. In the other direction, `null` is nil (a `null` array
//! element leaves a hole), numbers that fit `i64` are integers, other numbers floats.
//!
//! # `eval`
//! The source is first compiled as `return <source>` (so `1 + 1` evaluates to `2`), and if that does not parse,
//! as a chunk of statements, whose value is what it `return`s (or `null`). Chunk names are `eval` and the
//! prelude's name, so a syntax error reads `eval:3: unexpected symbol near ...`.

#![forbid(unsafe_code)]

mod convert;
mod host;
mod limits;
mod pattern;

use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, LuaOptions, LuaString, MultiValue, StdLib, Table, Value as LuaValue};
use pool_core::host::{CallContext, HostSession, Language};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError, Value};
use rand::Rng as _;

use crate::convert::{Fail, FromLua};
use crate::host::Host;
use crate::limits::{FRAME_BYTES, LimitError, Limiter, MIN_DEPTH, Tripped};

const SANDBOX: &str = include_str!("sandbox.lua");

/// The factory of Lua instances: holds the configuration and the prelude, compiled once.
#[derive(Debug)]
pub struct LuaEngine {
    config: EngineConfig,
    /// The prelude's bytecode, compiled by [`LuaEngine::new`]; `None` for an empty prelude.
    prelude: Option<Vec<u8>>,
    /// The sandbox setup's bytecode, compiled by [`LuaEngine::new`].
    sandbox: Vec<u8>,
    max_depth: usize,
}

/// One Lua instance: a Lua state with the sandbox, the prelude and the current use's environment.
///
/// `Send` (mlua's `send` feature), so the pool can move it between threads.
pub struct LuaVm {
    lua: Lua,
    limiter: Arc<Limiter>,
    /// The host API's state: the session (the current operation's context) and the dispatcher's failures.
    host: Arc<Host>,
    /// The environment scripts run in: the current use's table (strict) or the global table.
    env: Table,
    state: Table,
    /// Strings used as keys on every call or reset, made once.
    keys: Keys,
    /// The function name of the last call, and its Lua string.
    last_name: Option<(String, LuaString)>,
    strict: Option<Strict>,
    scrub: Option<Function>,
    broken: Option<ErrorKind>,
}

/// Keys the host reads or writes on every call or reset (an interned Lua string is pushed by reference, which
/// is cheaper than hashing the text again).
struct Keys {
    hit: LuaString,
    g: LuaString,
    index: LuaString,
    newindex: LuaString,
    metatable: LuaString,
}

impl Keys {
    fn new(lua: &Lua) -> mlua::Result<Self> {
        Ok(Self {
            hit: lua.create_string("hit")?,
            g: lua.create_string("_G")?,
            index: lua.create_string("__index")?,
            newindex: lua.create_string("__newindex")?,
            metatable: lua.create_string("__metatable")?,
        })
    }
}

/// What strict isolation makes each use's environment from, and what its reset verifies.
struct Strict {
    /// The read-only baseline: the sandbox globals and the prelude's globals.
    top: Table,
    /// The metatable of every use's environment: `__index` is `top`.
    env_meta: Table,
    /// The metatable of the prelude's environment: `__index` and `__newindex` are the current use's environment.
    prelude_meta: Table,
    /// The shared string metatable and the real `string` library behind its `__index`.
    string_meta: Table,
    string: Table,
    /// Lua's own `math.randomseed`, which scripts do not get: each reset reseeds the generator with it.
    randomseed: Function,
    /// The `__newindex` of every environment, which refuses host names.
    guard: Function,
    /// Tables that must stay empty (the prelude's environment, every read-only view), with their names.
    watched: Vec<(Table, String)>,
}

impl Strict {
    /// A new environment for the next use, which the prelude's environment then reads from and writes to (and
    /// which the sandbox's `load` finds there).
    fn new_env(&self, lua: &Lua, keys: &Keys) -> mlua::Result<Table> {
        let env = lua.create_table_with_capacity(0, 1)?;
        env.set_metatable(Some(self.env_meta.clone()))?;
        env.raw_set(&keys.g, &env)?;
        self.prelude_meta.raw_set(&keys.index, &env)?;
        self.prelude_meta.raw_set(&keys.newindex, &env)?;
        Ok(env)
    }

    /// What differs from the baseline, if anything; `env` is the environment of the use that just ended.
    fn check(&self, env: &Table, keys: &Keys) -> mlua::Result<Option<String>> {
        for (table, name) in &self.watched {
            if !table.is_empty() {
                return Ok(Some(format!("{name} was given a raw field")));
            }
        }
        let is = |table: &Table, key: &LuaString, expected: &Table| {
            Ok::<_, mlua::Error>(
                matches!(table.raw_get::<LuaValue>(key)?, LuaValue::Table(t) if t == *expected),
            )
        };
        if !is(&self.string_meta, &keys.index, &self.string)?
            || self.string_meta.raw_get::<LuaValue>(&keys.metatable)? != LuaValue::Boolean(false)
        {
            return Ok(Some("the string metatable was changed".to_owned()));
        }
        if !is(&self.env_meta, &keys.index, &self.top)?
            || !is(&self.prelude_meta, &keys.index, env)?
            || !matches!(self.env_meta.raw_get::<LuaValue>(&keys.newindex)?, LuaValue::Function(f) if f == self.guard)
        {
            return Ok(Some("an environment metatable was changed".to_owned()));
        }
        Ok(None)
    }
}

impl std::fmt::Debug for LuaVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaVm")
            .field("used_memory", &self.lua.used_memory())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl LuaVm {
    /// The underlying Lua state, for hosts that add their own functions. Whatever is changed through it is
    /// outside the sandbox's and the isolation policy's guarantees (a reset's verification may catch it).
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// The limit this instance hit, if any; such an instance refuses further use.
    pub fn broken_by(&self) -> Option<ErrorKind> {
        self.broken
    }
}

impl LuaEngine {
    /// Checks `config` and compiles its prelude.
    ///
    /// # Errors
    /// `syntax` naming the line when the prelude does not parse; `internal` when a limit is zero (which would
    /// disable it).
    pub fn new(config: EngineConfig) -> Result<Self, ScriptError> {
        config.isolation.require_not_snapshot("Lua")?;
        config.limits.validate().map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("invalid Lua engine configuration: {e}"),
            )
        })?;
        let lua = Lua::new_with(StdLib::NONE, LuaOptions::default()).map_err(internal)?;
        let sandbox = lua
            .load(SANDBOX)
            .set_name("=vmpool-sandbox")
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(internal)?
            .dump(true);
        let prelude = if config.prelude.trim().is_empty() {
            None
        } else {
            let function = lua
                .load(config.prelude.as_str())
                .set_name(format!("={}", config.prelude_name))
                .set_mode(ChunkMode::Text)
                .into_function()
                .map_err(|e| match e {
                    mlua::Error::SyntaxError { message, .. } => {
                        ScriptError::new(ErrorKind::Syntax, message)
                    }
                    other => internal(other),
                })?;
            Some(function.dump(false))
        };
        let depth = (config.limits.stack_kb.saturating_mul(1024) / FRAME_BYTES).max(MIN_DEPTH);
        let max_depth = usize::try_from(depth)
            .unwrap_or(usize::MAX)
            .min(i32::MAX as usize);
        Ok(Self {
            config,
            prelude,
            sandbox,
            max_depth,
        })
    }

    /// The configuration this engine was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The deepest call stack a script may build, in Lua call frames (from `limits.stack_kb`).
    pub fn max_call_depth(&self) -> usize {
        self.max_depth
    }

    /// The limit given to Lua's allocator: `memory_mb` less the allowance for the system allocator's overhead.
    fn heap_limit(&self) -> usize {
        let limit = self.config.limits.memory_bytes();
        limit - limit / ALLOCATOR_OVERHEAD_DIVISOR
    }

    fn memory_error(&self) -> ScriptError {
        ScriptError::new(
            ErrorKind::Memory,
            format!(
                "script ran past the memory limit of {} MiB",
                self.config.limits.memory_mb
            ),
        )
    }

    fn stack_error(&self, detail: &str) -> ScriptError {
        ScriptError::new(
            ErrorKind::Stack,
            format!(
                "script ran past the stack limit of {} KiB (at most {} Lua call frames){detail}",
                self.config.limits.stack_kb, self.max_depth
            ),
        )
    }

    fn refuse_broken(vm: &LuaVm) -> Result<(), ScriptError> {
        match vm.broken {
            Some(kind) => Err(ScriptError::new(
                kind,
                format!("this Lua instance hit its {kind} limit earlier and must be discarded"),
            )),
            None => Ok(()),
        }
    }

    /// Ends a timed eval or call: stops the clock, restores the hook, and classifies the outcome. A limit that
    /// was hit wins over whatever the script made of it.
    fn finish<T>(&self, vm: &mut LuaVm, result: Result<T, Fail>) -> Result<T, ScriptError> {
        // A single call into a C function cannot be interrupted: one that ran past the deadline is a timeout
        // too, even if it then returned.
        vm.limiter.out_of_time();
        vm.limiter.disarm();
        let restored = vm.limiter.restore(&vm.lua);
        let tripped = vm.limiter.tripped();
        // A host call that failed fatally (its panic, its deadline, its oversized result) wins over what the
        // script made of it, and over the limit the call was then stopped with.
        let fatal = if vm.host.session().is_fatal() || tripped == Tripped::Internal {
            vm.host.take_failure()
        } else {
            None
        };
        let error = match (fatal, tripped) {
            (Some(fatal), _) => Some(fatal),
            (None, Tripped::Timeout) => Some(ScriptError::timeout(self.config.limits.timeout)),
            (None, Tripped::Stack) => Some(self.stack_error("")),
            (None, Tripped::Memory) => Some(self.memory_error()),
            (None, Tripped::Host | Tripped::Internal) => Some(ScriptError::new(
                ErrorKind::Internal,
                "a host function call failed fatally in this operation",
            )),
            (None, Tripped::None) => match vm.state.raw_get::<LuaValue>(&vm.keys.hit) {
                Ok(LuaValue::String(s)) if s.as_bytes().starts_with(b"memory") => {
                    Some(self.memory_error())
                }
                Ok(LuaValue::String(_)) => Some(self.stack_error(": stack overflow")),
                Ok(_) => None,
                Err(_) => Some(self.memory_error()),
            },
        };
        let error = match (error, result) {
            (Some(e), _) => e,
            (None, Ok(value)) => match restored {
                Ok(()) => return Ok(value),
                Err(e) => self.lua_error(e),
            },
            (None, Err(Fail::Conversion(message))) => {
                ScriptError::new(ErrorKind::Conversion, message)
            }
            (None, Err(Fail::TooLarge)) => {
                ScriptError::new(ErrorKind::Conversion, convert::TOO_LARGE)
            }
            (None, Err(Fail::Lua(e))) => self.lua_error(e),
            (None, Err(Fail::Metamethod(e))) => match self.lua_error(e) {
                e if e.kind() == ErrorKind::Exception => ScriptError::new(
                    ErrorKind::Conversion,
                    format!(
                        "a __pairs metamethod failed during conversion: {}",
                        e.message()
                    ),
                ),
                e => e,
            },
        };
        let error = pool_core::engine::explain_refused_write(self.config.isolation, error);
        if error.kind().taints_instance() {
            vm.broken = Some(error.kind());
        }
        Err(error)
    }

    /// Classifies an error Lua raised.
    fn lua_error(&self, error: mlua::Error) -> ScriptError {
        match limits::limit_error(&error) {
            Some(LimitError::Memory) => return self.memory_error(),
            Some(LimitError::Stack(message)) => return self.stack_error(&format!(": {message}")),
            None => {}
        }
        match error {
            mlua::Error::SyntaxError { message, .. } => {
                ScriptError::new(ErrorKind::Syntax, message)
            }
            mlua::Error::RuntimeError(message) => ScriptError::new(
                ErrorKind::Exception,
                describe_error_object(limits::lua_message(&message)),
            ),
            mlua::Error::CallbackError { cause, .. } => self.lua_error((*cause).clone()),
            mlua::Error::WithContext { cause, .. } => self.lua_error((*cause).clone()),
            other => internal(other),
        }
    }

    fn run(&self, limiter: &Limiter, function: &Function, args: MultiValue) -> Result<Value, Fail> {
        let results: MultiValue = function.call(args)?;
        let first = results.into_iter().next().unwrap_or(LuaValue::Nil);
        FromLua::new(self.config.limits.memory_bytes())
            .deadline(limiter)
            .convert(&first)
    }

    /// Builds the instance from what the sandbox set-up returned, runs the prelude and finishes the sandbox.
    fn adopt(
        &self,
        lua: Lua,
        limiter: Arc<Limiter>,
        host: Arc<Host>,
        setup: &Table,
    ) -> Result<LuaVm, ScriptError> {
        let get = |name: &str| {
            setup
                .raw_get::<LuaValue>(name)
                .map_err(|e| self.lua_error(e))
        };
        let function = |name: &str| match get(name)? {
            LuaValue::Function(f) => Ok(Some(f)),
            _ => Ok::<_, ScriptError>(None),
        };
        let Some(finish) = function("finish")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `finish`",
            ));
        };
        let LuaValue::Table(state) = get("state")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `state`",
            ));
        };
        let LuaValue::Table(prelude_env) = get("prelude_env")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `prelude_env`",
            ));
        };
        let LuaValue::Table(metatables) = get("metatables")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `metatables`",
            ));
        };
        lua.set_named_registry_value(limits::METATABLES, metatables)
            .map_err(internal)?;
        let keys = Keys::new(&lua).map_err(internal)?;
        let mut vm = LuaVm {
            env: prelude_env.clone(),
            keys,
            last_name: None,
            strict: None,
            scrub: function("scrub")?,
            lua,
            limiter,
            host,
            state,
            broken: None,
        };

        // Modules first (each once, under the limits, in registration order), then the prelude.
        if let Some(load_module) = function("load_module")? {
            for module in self.config.host.modules() {
                if !module.is_for(Language::Lua) {
                    continue;
                }
                let name = module.name();
                self.setup_step(&mut vm, |_| {
                    load_module
                        .call::<LuaValue>(name)
                        .map(drop)
                        .map_err(Fail::Lua)
                })
                .map_err(|e| {
                    ScriptError::new(
                        e.kind(),
                        format!("Lua module '{name}' failed to load: {}", e.message()),
                    )
                })?;
            }
        }
        if let Some(bytecode) = &self.prelude {
            self.setup_step(&mut vm, |vm| {
                vm.lua
                    .load(bytecode.as_slice())
                    .set_mode(ChunkMode::Binary)
                    .set_environment(prelude_env)
                    .into_function()
                    .and_then(|f| f.call::<()>(()))
                    .map_err(Fail::Lua)
            })?;
        }
        let finished = finish.call::<Table>(()).map_err(|e| self.lua_error(e))?;
        if self.config.isolation == Isolation::Strict {
            let strict = strict_parts(&finished).map_err(|e| self.lua_error(e))?;
            vm.env = strict
                .new_env(&vm.lua, &vm.keys)
                .map_err(|e| self.lua_error(e))?;
            vm.strict = Some(strict);
        } else {
            vm.env = finished;
        }
        Ok(vm)
    }

    /// Runs one step of the set-up (a module, the prelude) as an operation of its own: under the limits, with no
    /// context for the host functions it calls.
    fn setup_step(
        &self,
        vm: &mut LuaVm,
        step: impl FnOnce(&LuaVm) -> Result<(), Fail>,
    ) -> Result<(), ScriptError> {
        let session = Arc::clone(vm.host.session());
        let active = session.enter(None, self.config.limits.timeout);
        vm.limiter.arm(self.config.limits.timeout);
        let result = step(vm);
        let result = self.finish(vm, result).map(|()| Value::Null);
        active.finish(result).map(drop)
    }

    /// Runs one eval or call as an operation of the instance's host session: `context` is current for the host
    /// functions it calls (and gone when this returns), the deadline is the call's, and a fatal host failure
    /// replaces the result and breaks the instance.
    fn operation(
        &self,
        vm: &mut LuaVm,
        context: Option<&CallContext>,
        op: impl FnOnce(&Self, &mut LuaVm) -> Result<Value, ScriptError>,
    ) -> Result<Value, ScriptError> {
        let session = Arc::clone(vm.host.session());
        let active = session.enter(context, self.config.limits.timeout);
        let result = active.finish(op(self, vm));
        if let Err(error) = &result
            && error.kind().taints_instance()
            && vm.broken.is_none()
        {
            vm.broken = Some(error.kind());
        }
        result
    }

    fn eval_inner(&self, vm: &mut LuaVm, source: &str) -> Result<Value, ScriptError> {
        Self::refuse_broken(vm)?;
        if source.len() > self.config.max_source_bytes {
            return Err(ScriptError::new(
                ErrorKind::Syntax,
                format!(
                    "source is {} bytes, longer than the limit of {} bytes (max_source_bytes)",
                    source.len(),
                    self.config.max_source_bytes
                ),
            ));
        }
        vm.limiter.arm(self.config.limits.timeout);
        let result = self
            .compile_eval(vm, source)
            .and_then(|f| self.run(&vm.limiter, &f, MultiValue::new()));
        self.finish(vm, result)
    }

    fn call_inner(
        &self,
        vm: &mut LuaVm,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        Self::refuse_broken(vm)?;
        vm.limiter.arm(self.config.limits.timeout);
        let target = match lookup(vm, function) {
            Ok(LuaValue::Function(f)) => f,
            Ok(_) => {
                vm.limiter.disarm();
                return Err(ScriptError::new(
                    ErrorKind::Exception,
                    format!("no global function `{function}`"),
                ));
            }
            Err(e) => return self.finish(vm, Err(Fail::Lua(e))),
        };
        // Converting the arguments writes every field of every table from the host, which is much cheaper
        // unmetered: done so when they are small enough that the memory limit cannot be reached (see
        // `limits::unmetered`). No Lua code runs meanwhile.
        let allocates = args
            .iter()
            .try_fold(0usize, |sum, arg| {
                Some(sum.saturating_add(convert::lua_bytes(arg)?))
            })
            .unwrap_or(usize::MAX);
        let lua_args = limits::unmetered(&vm.lua, self.heap_limit(), allocates, || {
            let mut lua_args = MultiValue::with_capacity(args.len());
            for arg in args {
                lua_args.push_back(convert::to_lua(&vm.lua, arg)?);
            }
            Ok(lua_args)
        });
        let lua_args = match lua_args {
            Ok(lua_args) => lua_args,
            Err(e) => return self.finish(vm, Err(e)),
        };
        let result = self.run(&vm.limiter, &target, lua_args);
        self.finish(vm, result)
    }

    fn compile_eval(&self, vm: &LuaVm, source: &str) -> Result<Function, Fail> {
        let load = |text: &str| {
            vm.lua
                .load(text)
                .set_name("=eval")
                .set_mode(ChunkMode::Text)
                .set_environment(vm.env.clone())
                .into_function()
        };
        match load(&format!("return {source}")) {
            Ok(f) => Ok(f),
            Err(mlua::Error::SyntaxError { .. }) => Ok(load(source)?),
            Err(e) => Err(e.into()),
        }
    }
}

/// Lua's text for an error object without `__tostring` is `table: 0x55...`; say what it is instead.
fn describe_error_object(message: &str) -> String {
    for kind in ["table", "function", "thread", "userdata"] {
        if let Some(rest) = message
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix(": 0x"))
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return format!("(error object is a {kind} value)");
        }
    }
    message.to_owned()
}

/// `memory_mb` bounds what the state costs the process, not only what Lua counts: the system allocator adds
/// 8 to 16 bytes to every block, and most of Lua's blocks are small (a table is 56 bytes, a short string 25
/// plus its length), so a heap of small objects takes 15-30% more resident memory than Lua counts. Lua's own
/// limit is therefore `memory_mb` less this fraction of it (1/8).
const ALLOCATOR_OVERHEAD_DIVISOR: usize = 8;

/// At most the Lua memory a strict reset allocates: the new environment table with one field.
const ENV_BYTES: usize = 256;

/// Looks up global `name` as a script of the current use would: under strict isolation the use's environment,
/// then the baseline behind it (both read raw, which is what the environment's protected metatable amounts
/// to); otherwise the global table, metamethods included (under the limits: a script may have given the global
/// table a metatable). The name's Lua string is kept for the next call, which usually names the same function.
fn lookup(vm: &mut LuaVm, name: &str) -> mlua::Result<LuaValue> {
    let key = match &vm.last_name {
        Some((text, key)) if text.as_str() == name => key.clone(),
        _ => {
            let key = vm.lua.create_string(name)?;
            vm.last_name = Some((name.to_owned(), key.clone()));
            key
        }
    };
    match &vm.strict {
        Some(strict) => match vm.env.raw_get::<LuaValue>(&key)? {
            LuaValue::Nil => strict.top.raw_get(&key),
            found => Ok(found),
        },
        None => vm.env.get(&key),
    }
}

/// Reads what the sandbox's `finish` returns under strict isolation.
fn strict_parts(parts: &Table) -> mlua::Result<Strict> {
    let mut watched = vec![(
        parts.raw_get::<Table>("prelude_env")?,
        "the prelude's own environment".to_owned(),
    )];
    let tables: Table = parts.raw_get("watched")?;
    let names: Table = parts.raw_get("watched_names")?;
    for (table, name) in tables
        .sequence_values::<Table>()
        .zip(names.sequence_values::<String>())
    {
        watched.push((table?, format!("read-only table '{}'", name?)));
    }
    Ok(Strict {
        top: parts.raw_get("top")?,
        env_meta: parts.raw_get("env_meta")?,
        prelude_meta: parts.raw_get("prelude_meta")?,
        string_meta: parts.raw_get("string_meta")?,
        string: parts.raw_get("string")?,
        randomseed: parts.raw_get("randomseed")?,
        guard: parts.raw_get("host_guard")?,
        watched,
    })
}

fn internal(error: mlua::Error) -> ScriptError {
    ScriptError::new(ErrorKind::Internal, format!("Lua engine failure: {error}"))
}

impl ScriptEngine for LuaEngine {
    type Vm = LuaVm;
    type Error = ScriptError;

    fn create(&self) -> Result<LuaVm, ScriptError> {
        let libs = StdLib::STRING
            | StdLib::TABLE
            | StdLib::MATH
            | StdLib::UTF8
            | StdLib::COROUTINE
            | StdLib::OS;
        let lua = Lua::new_with(libs, LuaOptions::default()).map_err(internal)?;
        lua.set_memory_limit(self.heap_limit()).map_err(internal)?;
        let limiter = Limiter::new(self.max_depth);
        limits::install(&lua, &limiter).map_err(internal)?;
        let session = HostSession::new(
            Arc::clone(&self.config.host),
            self.config.limits.memory_bytes(),
        );
        let host = Host::new(session, Arc::clone(&limiter), self.heap_limit());
        host::install(&lua, &host).map_err(internal)?;
        pattern::install(&lua, &limiter, self.config.limits.memory_bytes()).map_err(internal)?;
        let hit = Arc::clone(&limiter);
        let tripped = lua
            .create_function(move |_, ()| Ok(hit.tripped() != Tripped::None))
            .map_err(internal)?;
        lua.globals()
            .raw_set("__vmpool_tripped", tripped)
            .map_err(internal)?;
        // A table's metatable even when its `__metatable` field hides it (the read-only views forward its
        // metamethods).
        let raw_metatable = lua
            .create_function(|_, t: Table| Ok(t.metatable()))
            .map_err(internal)?;
        lua.globals()
            .raw_set("__vmpool_raw_metatable", raw_metatable)
            .map_err(internal)?;

        let setup = lua
            .load(self.sandbox.as_slice())
            .set_mode(ChunkMode::Binary)
            .set_environment(lua.globals())
            .into_function()
            .and_then(|f| f.call::<Table>(self.config.isolation.as_str()))
            .map_err(|e| self.lua_error(e))?;
        lua.set_globals(lua.create_table().map_err(|e| self.lua_error(e))?)
            .map_err(internal)?;
        // The registry's table of loaded libraries still holds the state's original global table (with `load`,
        // `dofile` and the host's helpers): nothing needs it any more.
        let loaded: Table = lua
            .named_registry_value("_LOADED")
            .map_err(|e| self.lua_error(e))?;
        loaded
            .raw_set("_G", LuaValue::Nil)
            .map_err(|e| self.lua_error(e))?;
        drop(loaded);
        let vm = self.adopt(lua, limiter, host, &setup)?;
        drop(setup);
        // An idle instance holds only what it needs: the garbage of the set-up (the state's original global
        // table, the sandbox chunk, temporary tables) goes now rather than at some later use.
        vm.lua.gc_collect().map_err(|e| self.lua_error(e))?;
        Ok(vm)
    }

    fn eval(&self, vm: &mut LuaVm, source: &str) -> Result<Value, ScriptError> {
        self.operation(vm, None, |engine, vm| engine.eval_inner(vm, source))
    }

    fn call(&self, vm: &mut LuaVm, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
        self.operation(vm, None, |engine, vm| engine.call_inner(vm, function, args))
    }

    fn eval_with(
        &self,
        vm: &mut LuaVm,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |engine, vm| {
            engine.eval_inner(vm, source)
        })
    }

    fn call_with(
        &self,
        vm: &mut LuaVm,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |engine, vm| {
            engine.call_inner(vm, function, args)
        })
    }

    fn reset(&self, vm: &mut LuaVm) -> Result<(), ScriptError> {
        if let Some(kind) = vm.broken {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                format!("this Lua instance hit its {kind} limit and cannot be reset"),
            ));
        }
        let verify = self.config.verify_reset;
        let mismatch = match self.config.isolation {
            // Snapshot is refused by `new`.
            Isolation::None | Isolation::Snapshot => return Ok(()),
            Isolation::Strict => {
                let strict = vm.strict.as_ref().ok_or_else(|| {
                    ScriptError::new(ErrorKind::Internal, "strict isolation without its baseline")
                })?;
                let mismatch = if verify {
                    strict
                        .check(&vm.env, &vm.keys)
                        .map_err(|e| self.lua_error(e))?
                } else {
                    None
                };
                let env = limits::unmetered(&vm.lua, self.heap_limit(), ENV_BYTES, || {
                    strict.new_env(&vm.lua, &vm.keys)
                })
                .map_err(|e| self.lua_error(e))?;
                vm.env = env;
                // A generator state carried over would let one use predict (and steer) the next one's numbers.
                let mut random = rand::rng();
                strict
                    .randomseed
                    .call::<()>((random.next_u64() as i64, random.next_u64() as i64))
                    .map_err(|e| self.lua_error(e))?;
                mismatch
            }
            Isolation::Scrub => {
                let scrub = vm.scrub.as_ref().ok_or_else(|| {
                    ScriptError::new(
                        ErrorKind::Internal,
                        "scrub isolation without a scrub function",
                    )
                })?;
                scrub
                    .call::<Option<String>>(verify)
                    .map_err(|e| self.lua_error(e))?
            }
        };
        match mismatch {
            Some(mismatch) => Err(ScriptError::new(
                ErrorKind::Internal,
                format!(
                    "reset verification failed ({} isolation): {mismatch}",
                    self.config.isolation
                ),
            )),
            None => Ok(()),
        }
    }

    fn is_broken(&self, vm: &mut LuaVm) -> bool {
        vm.broken.is_some()
    }

    fn memory_usage(&self, vm: &mut LuaVm) -> Option<usize> {
        Some(vm.lua.used_memory())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pool_core::EngineConfig;

    #[test]
    fn a_strict_reset_reseeds_the_random_generator() {
        // Seed the generator the same way before two uses: without the reseed at reset, both draw the same
        // numbers (so a use that learned the generator's state would know the next use's numbers).
        let engine = LuaEngine::new(EngineConfig::new("")).unwrap();
        let mut vm = engine.create().unwrap();
        let draw = "local t = {} for i = 1, 4 do t[i] = math.random(0) end return t";
        let seed = |vm: &LuaVm| {
            let strict = vm.strict.as_ref().unwrap();
            strict.randomseed.call::<()>((1_i64, 2_i64)).unwrap();
        };
        seed(&vm);
        let first = engine.eval(&mut vm, draw).unwrap();
        seed(&vm);
        let again = engine.eval(&mut vm, draw).unwrap();
        assert_eq!(first, again, "the same seed draws the same numbers");
        seed(&vm);
        engine.reset(&mut vm).unwrap();
        let after_reset = engine.eval(&mut vm, draw).unwrap();
        assert_ne!(first, after_reset);
    }
}
