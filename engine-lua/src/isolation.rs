//! Isolation between uses: what each policy does at a reset, and the parts strict isolation is made of.
//!
//! The policy is [`EngineConfig::isolation`](pool_core::EngineConfig::isolation);
//! [`ScriptEngine::reset`](pool_core::ScriptEngine::reset) applies it and the pool calls it after every use.
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
//! use to the next, even when a global holds it. Objects a host puts into the state through
//! [`LuaVm::lua`](crate::LuaVm::lua) are outside the sandbox too. Scripts notice the design in three places:
//! `pairs(_G)` lists only the current use's own globals, a library or prelude table is empty to
//! `next`/`rawget`/`rawlen` (use `pairs`, indexing and `#`), and `setmetatable(_G, ...)` fails (the environment's
//! metatable is protected).
//!
//! **`Scrub`** keeps one ordinary global table and, on reset, deletes the globals added since creation (the Go
//! guide's behaviour). Reassigned globals and changes inside library or prelude tables survive.
//!
//! **`None`** does nothing between uses.
//!
//! With [`EngineConfig::verify_reset`](pool_core::EngineConfig::verify_reset) (the default), a reset also checks a
//! cheap fingerprint and fails with an `internal` error on a mismatch, so that the pool discards the instance. Strict:
//! the prelude's own environment is still empty, every read-only view of a library or prelude global is still empty (no
//! raw field), the string metatable's `__index` is still the real `string` library and its `__metatable` still `false`,
//! the environments' metatable still reads from the baseline, and the prelude's environment still points at the use
//! that just ended (the baseline itself is reachable only through that protected metatable). The strict reset
//! and its verification are made from the host, without running Lua code (the reseed calls Lua's own C function):
//! 0.7-0.8 us in release on an unused instance, where a whole pooled request of the JSON handler takes 3.3-3.4 us
//! (`reset_strict` and `pooled` in `cargo bench -p pool-bench --bench engines`, machine under load); the reseed
//! adds about 0.1 us of that (`cargo run --release -p engine-lua --example lua_isolation`). Scrub: no global
//! outside the baseline remains, none of the baseline is missing, the global table has no metatable and the
//! string metatable is intact. `None` neither resets nor verifies.
//!

use mlua::{Function, Lua, LuaString, Table, Value as LuaValue};

/// At most the Lua memory a strict reset allocates: the new environment table with one field.
pub(crate) const ENV_BYTES: usize = 256;

/// Keys the host reads or writes on every call or reset (an interned Lua string is pushed by reference, which
/// is cheaper than hashing the text again).
pub(crate) struct Keys {
    pub(crate) hit: LuaString,
    g: LuaString,
    index: LuaString,
    newindex: LuaString,
    metatable: LuaString,
}

impl Keys {
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Self> {
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
pub(crate) struct Strict {
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
    pub(crate) fn new_env(&self, lua: &Lua, keys: &Keys) -> mlua::Result<Table> {
        let env = lua.create_table_with_capacity(0, 1)?;
        env.set_metatable(Some(self.env_meta.clone()))?;
        env.raw_set(&keys.g, &env)?;
        self.prelude_meta.raw_set(&keys.index, &env)?;
        self.prelude_meta.raw_set(&keys.newindex, &env)?;
        Ok(env)
    }

    /// What differs from the baseline, if anything; `env` is the environment of the use that just ended.
    pub(crate) fn check(&self, env: &Table, keys: &Keys) -> mlua::Result<Option<String>> {
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

    /// Global `key` of the baseline, read raw (what a use's environment falls back to).
    pub(crate) fn baseline_get(&self, key: &LuaString) -> mlua::Result<LuaValue> {
        self.top.raw_get(key)
    }

    /// Reseeds the scripts' random-number generator with Lua's own `math.randomseed`.
    pub(crate) fn reseed(&self, seed: (i64, i64)) -> mlua::Result<()> {
        self.randomseed.call::<()>(seed)
    }
}

/// Reads what the sandbox's `finish` returns under strict isolation.
pub(crate) fn strict_parts(parts: &Table) -> mlua::Result<Strict> {
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
