//! Conversion between [`Value`] (JSON) and Lua values.
//!
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

use pool_core::engine::number_value as number;
use std::ffi::c_void;

use mlua::{Lua, MultiValue, Table, Value as LuaValue};
use pool_core::Value;
use serde_json::Map;

use crate::limits::{Limiter, STOP};

/// Deepest nesting converted in either direction.
pub(crate) const MAX_DEPTH: usize = 128;

/// Most items of an array or object converted before its table is written in one pass.
const BATCH: usize = 32;

/// What [`FromLua`] charges its byte budget for one table entry (strings cost their length on top): about what
/// the host's copy takes for it, a JSON value (32 bytes) plus, in an object, a key `String` (24) and the map's
/// node overhead. (At 16 bytes a result of shared objects cost the host five times the budget.)
pub(crate) const ENTRY_BYTES: usize = 96;

/// Budget charges between two looks at the deadline in [`FromLua`].
const CHECK_EVERY: u32 = 4096;

/// Why a conversion failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The value has no JSON form.
    Conversion(String),
    /// Lua failed (out of memory, or a limit stopped it).
    Lua(mlua::Error),
    /// A `__pairs` metamethod or its iterator raised while the value was converted.
    Metamethod(mlua::Error),
    /// The converted value would pass the converter's byte budget ([`FromLua::new`]); nothing more was copied.
    TooLarge,
}

/// What a result past its budget is reported as.
pub(crate) const TOO_LARGE: &str = "the result is larger than the memory limit (memory_mb) allows";

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
}

fn conversion(message: impl Into<String>) -> Fail {
    Fail::Conversion(message.into())
}

/// JSON to Lua: null is nil (so a null array element leaves a hole and a null field is absent), integers that
/// fit `i64` are Lua integers, other numbers floats, arrays sequences, objects tables with string keys.
pub(crate) fn to_lua(lua: &Lua, value: &Value) -> Result<LuaValue, Fail> {
    to_lua_at(lua, value, 0)
}

fn to_lua_at(lua: &Lua, value: &Value, depth: usize) -> Result<LuaValue, Fail> {
    Ok(match value {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Integer(i),
            None => LuaValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => LuaValue::String(lua.create_string(s)?),
        // A short array or object is converted first and then written in one pass (mlua's `create_*_from`),
        // which costs much less than a `raw_set` per field; a long one field by field, so that the references
        // the host holds at once stay few.
        Value::Array(items) => {
            check_depth(depth)?;
            if items.len() <= BATCH {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(to_lua_at(lua, item, depth + 1)?);
                }
                LuaValue::Table(lua.create_sequence_from(values)?)
            } else {
                let t = lua.create_table_with_capacity(items.len(), 0)?;
                for (i, item) in items.iter().enumerate() {
                    t.raw_set(i + 1, to_lua_at(lua, item, depth + 1)?)?;
                }
                LuaValue::Table(t)
            }
        }
        Value::Object(fields) => {
            check_depth(depth)?;
            if fields.len() <= BATCH {
                let mut values = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    values.push((k.as_str(), to_lua_at(lua, v, depth + 1)?));
                }
                LuaValue::Table(lua.create_table_from(values)?)
            } else {
                let t = lua.create_table_with_capacity(0, fields.len())?;
                for (k, v) in fields {
                    t.raw_set(k.as_str(), to_lua_at(lua, v, depth + 1)?)?;
                }
                LuaValue::Table(t)
            }
        }
    })
}

/// An upper bound on the Lua memory [`to_lua`] allocates for `value` (for [`crate::limits::unmetered`]), or
/// `None` when `value` is nested deeper than [`MAX_DEPTH`] (its conversion fails anyway).
pub(crate) fn lua_bytes(value: &Value) -> Option<usize> {
    lua_bytes_at(value, 0)
}

fn lua_bytes_at(value: &Value, depth: usize) -> Option<usize> {
    // Every value takes a slot in its parent: an array slot (16 bytes) or a hash node (24 bytes, and a hash part
    // has at most twice as many nodes as fields). A string or table also takes an object: a string's 24-byte
    // header, its bytes and a NUL; a table's 56-byte header.
    const SLOT: usize = 48;
    const OBJECT: usize = 64;
    let own = match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => OBJECT.saturating_add(s.len()),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return None;
            }
            items.iter().try_fold(OBJECT, |sum, item| {
                Some(sum.saturating_add(lua_bytes_at(item, depth + 1)?))
            })?
        }
        Value::Object(fields) => {
            if depth >= MAX_DEPTH {
                return None;
            }
            fields.iter().try_fold(OBJECT, |sum, (key, item)| {
                Some(
                    sum.saturating_add(OBJECT + key.len())
                        .saturating_add(lua_bytes_at(item, depth + 1)?),
                )
            })?
        }
    };
    Some(own.saturating_add(SLOT))
}

fn check_depth(depth: usize) -> Result<(), Fail> {
    if depth >= MAX_DEPTH {
        return Err(conversion(format!(
            "value is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(())
}

/// Lua to JSON, reading tables raw except for `__pairs`, which is honoured (so read-only views and tables that
/// define their own iteration convert as `pairs` sees them).
///
/// The result is bounded in bytes: a table can hold the same string (or table) many times, which costs Lua one
/// reference each time but the host a copy each time, so the Lua heap's limit does not bound the result.
pub(crate) struct FromLua<'a> {
    /// Bytes still allowed: every table entry costs [`ENTRY_BYTES`], every string (value or key) its length. So
    /// neither a table full of references to one long string nor a `__pairs` iterator that never ends can fill
    /// the host's memory.
    budget: usize,
    /// Tables being converted, outermost first, to report cycles.
    path: Vec<*const c_void>,
    /// The call's limiter, whose deadline is looked at every [`CHECK_EVERY`] charges.
    limiter: Option<&'a Limiter>,
    charges: u32,
}

impl<'a> FromLua<'a> {
    /// A converter whose result may take at most `budget_bytes` (entries and strings, as the `budget` field says);
    /// pass the memory limit in bytes.
    pub(crate) fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            path: Vec::new(),
            limiter: None,
            charges: 0,
        }
    }

    /// Makes the conversion stop at `limiter`'s deadline: past it, it fails with the error the hook raises
    /// ([`STOP`]), after recording the timeout on `limiter`.
    pub(crate) fn deadline(mut self, limiter: &'a Limiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Bytes of the budget not spent yet.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    pub(crate) fn convert(&mut self, value: &LuaValue) -> Result<Value, Fail> {
        Ok(match value {
            LuaValue::Nil => Value::Null,
            LuaValue::Boolean(b) => Value::Bool(*b),
            LuaValue::Integer(i) => Value::from(*i),
            LuaValue::Number(f) => number(*f),
            LuaValue::String(s) => match s.to_str() {
                Ok(s) => {
                    self.spend(s.len())?;
                    Value::String(s.to_owned())
                }
                Err(_) => return Err(conversion("string is not valid UTF-8")),
            },
            LuaValue::Table(t) => self.table(t)?,
            other => {
                return Err(conversion(format!(
                    "a Lua {} has no JSON form",
                    other.type_name()
                )));
            }
        })
    }

    fn table(&mut self, t: &Table) -> Result<Value, Fail> {
        let ptr = t.to_pointer();
        if self.path.contains(&ptr) {
            return Err(conversion("table is cyclic (it contains itself)"));
        }
        check_depth(self.path.len())?;
        self.path.push(ptr);
        let entries = self.entries(t)?;
        let result = self.build(entries);
        self.path.pop();
        result
    }

    /// Charges `bytes` to the budget, and looks at the deadline every [`CHECK_EVERY`] charges.
    fn spend(&mut self, bytes: usize) -> Result<(), Fail> {
        self.charges += 1;
        if self.charges >= CHECK_EVERY {
            self.charges = 0;
            if let Some(limiter) = self.limiter
                && limiter.out_of_time()
            {
                return Err(Fail::Lua(mlua::Error::runtime(STOP)));
            }
        }
        match self.budget.checked_sub(bytes) {
            Some(rest) => {
                self.budget = rest;
                Ok(())
            }
            None => Err(Fail::TooLarge),
        }
    }

    fn entries(&mut self, t: &Table) -> Result<Vec<(LuaValue, LuaValue)>, Fail> {
        let pairs = match t.metatable() {
            Some(mt) => mt.raw_get::<LuaValue>("__pairs")?,
            None => LuaValue::Nil,
        };
        let mut entries = Vec::new();
        if pairs.is_nil() {
            for pair in t.pairs::<LuaValue, LuaValue>() {
                self.spend(ENTRY_BYTES)?;
                entries.push(pair?);
            }
            return Ok(entries);
        }
        let LuaValue::Function(pairs) = pairs else {
            return Err(conversion("table's __pairs metamethod is not a function"));
        };
        let start: MultiValue = pairs.call(t).map_err(Fail::Metamethod)?;
        let mut start = start.into_iter();
        let iter = start.next().unwrap_or(LuaValue::Nil);
        let state = start.next().unwrap_or(LuaValue::Nil);
        let mut control = start.next().unwrap_or(LuaValue::Nil);
        let LuaValue::Function(iter) = iter else {
            return Err(conversion(
                "table's __pairs metamethod did not return an iterator function",
            ));
        };
        loop {
            let step: MultiValue = iter
                .call((state.clone(), control))
                .map_err(Fail::Metamethod)?;
            let mut step = step.into_iter();
            let key = step.next().unwrap_or(LuaValue::Nil);
            if key.is_nil() {
                return Ok(entries);
            }
            let value = step.next().unwrap_or(LuaValue::Nil);
            self.spend(ENTRY_BYTES)?;
            control = key.clone();
            if !value.is_nil() {
                entries.push((key, value));
            }
        }
    }

    fn build(&mut self, entries: Vec<(LuaValue, LuaValue)>) -> Result<Value, Fail> {
        let n = entries.len();
        let mut seen = vec![false; n];
        let is_array = n > 0
            && entries.iter().all(|(k, _)| match k {
                LuaValue::Integer(i) if *i >= 1 => match usize::try_from(*i) {
                    Ok(i) if i <= n && !seen[i - 1] => {
                        seen[i - 1] = true;
                        true
                    }
                    _ => false,
                },
                _ => false,
            });
        if is_array {
            // The keys are n distinct integers in 1..=n: exactly 1..=n.
            let mut items = vec![Value::Null; n];
            for (k, v) in entries {
                if let LuaValue::Integer(i) = k {
                    let index = usize::try_from(i - 1).unwrap_or(0);
                    items[index] = self.convert(&v)?;
                }
            }
            return Ok(Value::Array(items));
        }
        let mut map = Map::new();
        for (k, v) in entries {
            let key = match &k {
                LuaValue::String(s) => match s.to_str() {
                    Ok(s) => s.to_owned(),
                    Err(_) => return Err(conversion("table key is not valid UTF-8")),
                },
                LuaValue::Integer(i) => i.to_string(),
                LuaValue::Number(f) => {
                    return Err(conversion(format!(
                        "table key {f} is neither a string nor an integer"
                    )));
                }
                other => {
                    return Err(conversion(format!(
                        "table key of type {} is neither a string nor an integer",
                        other.type_name()
                    )));
                }
            };
            self.spend(key.len())?;
            let value = self.convert(&v)?;
            if map.insert(key.clone(), value).is_some() {
                return Err(conversion(format!(
                    "table has both the integer and the string key {key:?}"
                )));
            }
        }
        // A Lua table has no key order (`next` follows the hash layout, which differs between instances), so
        // objects leave Lua with their keys sorted: the same table always gives the same JSON.
        map.sort_keys();
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn from_lua(lua: &Lua, budget: usize, source: &str) -> Result<Value, Fail> {
        let value: LuaValue = lua.load(source).eval().unwrap();
        FromLua::new(budget).convert(&value)
    }

    #[test]
    fn object_keys_leave_lua_sorted() {
        let lua = Lua::new();
        let v = from_lua(
            &lua,
            1 << 20,
            "return { zeta = 1, alpha = 2, mid = { y = 1, b = 2 } }",
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"alpha":2,"mid":{"b":2,"y":1},"zeta":1}"#
        );
    }

    fn is_budget_error(result: &Result<Value, Fail>) -> bool {
        matches!(result, Err(Fail::TooLarge))
    }

    #[test]
    fn the_budget_counts_string_bytes_each_time_a_string_is_converted() {
        let lua = Lua::new();
        // One 1 MiB string referenced 300 times: 300 MiB once converted, though Lua holds it once.
        let many = "local s = string.rep('x', 1024 * 1024) local t = {} for i = 1, 300 do t[i] = s end return t";
        assert!(is_budget_error(&from_lua(&lua, 4 << 20, many)));
        // Three of them fit in 4 MiB, with their entries; four do not.
        let three = "local s = string.rep('x', 1024 * 1024) return {s, s, s}";
        assert_eq!(
            from_lua(&lua, 4 << 20, three)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            3
        );
        let four = "local s = string.rep('x', 1024 * 1024) return {s, s, s, s}";
        assert!(is_budget_error(&from_lua(&lua, 4 << 20, four)));
        // A top-level string costs its length.
        assert!(is_budget_error(&from_lua(
            &lua,
            99,
            "return ('x'):rep(100)"
        )));
        assert_eq!(
            from_lua(&lua, 100, "return ('x'):rep(100)").unwrap(),
            json!("x".repeat(100))
        );
    }

    #[test]
    fn the_budget_counts_entries_and_keys() {
        let lua = Lua::new();
        // 1000 entries of small integers: 16 bytes each.
        let array = "local t = {} for i = 1, 1000 do t[i] = i end return t";
        assert!(from_lua(&lua, 1000 * ENTRY_BYTES, array).is_ok());
        assert!(is_budget_error(&from_lua(
            &lua,
            1000 * ENTRY_BYTES - 1,
            array
        )));
        // Keys cost their length too: one entry with a 100-byte key and a 1-byte value.
        let keyed = "return {[('k'):rep(100)] = 'v'}";
        assert!(from_lua(&lua, ENTRY_BYTES + 101, keyed).is_ok());
        assert!(is_budget_error(&from_lua(&lua, ENTRY_BYTES + 100, keyed)));
        // Integer keys of an object cost their decimal text.
        let sparse = "return {[10000] = true}";
        assert!(from_lua(&lua, ENTRY_BYTES + 5, sparse).is_ok());
        assert!(is_budget_error(&from_lua(&lua, ENTRY_BYTES + 4, sparse)));
        // Entries that a `__pairs` iterator produces are charged as it produces them, so an endless one stops.
        let endless = "return setmetatable({}, {__pairs = function() \
                         return function(_, k) return (k or 0) + 1, 1 end, nil, nil end})";
        assert!(is_budget_error(&from_lua(&lua, 1 << 20, endless)));
    }

    #[test]
    fn the_conversion_stops_at_the_deadline() {
        let lua = Lua::new();
        let value: LuaValue = lua
            .load("local t = {} for i = 1, 100000 do t[i] = {i} end return t")
            .eval()
            .unwrap();
        let limiter = Limiter::new(100);
        limiter.arm(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        let result = FromLua::new(usize::MAX).deadline(&limiter).convert(&value);
        assert!(
            matches!(&result, Err(Fail::Lua(e)) if e.to_string().contains(STOP)),
            "{result:?}"
        );
        assert_eq!(limiter.tripped(), crate::limits::Tripped::Timeout);
        // Without a deadline (or before it), the same value converts.
        let fresh = Limiter::new(100);
        fresh.arm(Duration::from_secs(3600));
        let converted = FromLua::new(usize::MAX)
            .deadline(&fresh)
            .convert(&value)
            .unwrap();
        assert_eq!(converted.as_array().unwrap().len(), 100_000);
    }

    #[test]
    fn lua_bytes_bounds_what_the_conversion_allocates() {
        let lua = Lua::new();
        lua.gc_stop();
        let long: String = "y".repeat(1000);
        let many: Vec<Value> = (0..100)
            .map(|i| json!({ "k": i, "s": format!("v{i}") }))
            .collect();
        for value in [
            json!(1),
            json!("short"),
            json!(long),
            json!([1, 2, 3]),
            json!({ "items": (1..=10).collect::<Vec<i32>>() }),
            json!((0..1000).collect::<Vec<i32>>()),
            json!({ "a": { "b": { "c": [null, true, 1.5, "x"] } }, "long": long }),
            Value::Array(many),
        ] {
            let bound = lua_bytes(&value).unwrap();
            let before = lua.used_memory();
            let converted = to_lua(&lua, &value).unwrap();
            let grew = lua.used_memory() - before;
            assert!(grew <= bound, "{value}: grew {grew} bytes, bound {bound}");
            drop(converted);
        }
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH + 1 {
            deep = json!([deep]);
        }
        assert_eq!(lua_bytes(&deep), None);
    }
}
