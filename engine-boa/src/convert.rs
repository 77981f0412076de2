//! Conversion between Boa values and [`Value`] (JSON-like), with the workspace's shared rules.
//!
//! Both directions serve results and call arguments and the host API: script values become a host function's
//! arguments under a byte budget ([`FromJs::arguments`]), and host results become script values under the
//! instance's memory limit ([`ToJs::within`]).

use pool_core::engine::number_value as number;
use std::fmt::Write as _;
use std::time::Instant;

use boa_engine::object::builtins::JsArray;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{Context, JsError, JsObject, JsString, JsValue, JsVariant, js_string};
use pool_core::{EngineConfig, ErrorKind, ScriptError, Value};

use crate::CountingAllocator;

/// Deepest nesting of arrays and objects converted either way.
pub const MAX_DEPTH: usize = 128;

/// Cost charged per converted value against a byte budget, as [`pool_core::host::value_size`] counts it.
const VALUE_COST: usize = 16;

/// Why a conversion failed.
pub enum Fail {
    /// The value cannot be represented; the message says why.
    Conversion(String),
    /// Script code run by the conversion (a getter, `toJSON`, a proxy trap) threw or hit a runtime limit.
    Js(JsError),
    /// The deadline passed while converting.
    Deadline,
    /// The converted value passed the byte budget ([`FromJs::arguments`]); conversion stopped there.
    TooLarge,
    /// The value does not fit what is left of the instance's memory limit ([`ToJs::within`]).
    Memory,
}

impl Fail {
    /// The error of an operation whose conversion failed so, under `config` and Boa's `limits`: script code that
    /// threw is a `conversion` error, a runtime limit it hit is that limit's error.
    pub fn into_error(
        self,
        context: &mut Context,
        limits: &RuntimeLimits,
        config: &EngineConfig,
    ) -> ScriptError {
        match self {
            Fail::Conversion(m) => {
                ScriptError::new(ErrorKind::Conversion, format!("cannot convert: {m}"))
            }
            Fail::TooLarge | Fail::Memory => ScriptError::new(
                ErrorKind::Memory,
                format!(
                    "cannot convert: the value does not fit the memory limit of {} MiB",
                    config.limits.memory_mb
                ),
            ),
            Fail::Deadline => ScriptError::timeout(config.limits.timeout),
            Fail::Js(e) => {
                let e = crate::errors::classify(e, context, limits, config, false);
                if e.kind() == ErrorKind::Exception {
                    ScriptError::new(
                        ErrorKind::Conversion,
                        format!("cannot convert: script code threw: {}", e.message()),
                    )
                } else {
                    e
                }
            }
        }
    }
}

/// Host values into Boa values.
pub fn to_js(value: &Value, context: &mut Context, depth: usize) -> Result<JsValue, Fail> {
    ToJs::within(&mut |_| true).value(value, context, depth)
}

/// Host values into Boa values, asking whether the instance has room as it goes.
pub struct ToJs<'a> {
    /// Called with the bytes a long string is about to take, and with 0 every [`ToJs::CHECK_EVERY`] values: is
    /// there room for that (the heap as it is now, plus that)?
    room: &'a mut dyn FnMut(usize) -> bool,
    count: u32,
}

impl<'a> ToJs<'a> {
    /// Values converted between two checks of the heap.
    const CHECK_EVERY: u32 = 1024;
    /// Strings at least this long are checked before they are made.
    const LONG_STRING: usize = 4096;

    /// A conversion that asks `room` before each long string and every [`Self::CHECK_EVERY`] values, and fails
    /// with [`Fail::Memory`] when it says no.
    pub fn within(room: &'a mut dyn FnMut(usize) -> bool) -> Self {
        Self { room, count: 0 }
    }

    /// Converts `value` (at nesting `depth`).
    pub fn value(
        &mut self,
        value: &Value,
        context: &mut Context,
        depth: usize,
    ) -> Result<JsValue, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::Conversion(format!(
                "value nests deeper than {MAX_DEPTH} levels"
            )));
        }
        self.count = self.count.wrapping_add(1);
        if self.count.is_multiple_of(Self::CHECK_EVERY) && !(self.room)(0) {
            return Err(Fail::Memory);
        }
        Ok(match value {
            Value::Null => JsValue::null(),
            Value::Bool(b) => JsValue::new(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                    JsValue::new(i)
                } else {
                    // u64/i64 beyond i32 and floats: a JavaScript number is an f64 (precision loss is the
                    // language's).
                    JsValue::new(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => {
                if s.len() >= Self::LONG_STRING {
                    // Boa keeps a string as Latin-1 (a byte per character) or UTF-16 (two per code unit): at
                    // most twice its UTF-8 length.
                    let bytes = if s.is_ascii() { s.len() } else { 2 * s.len() };
                    if !(self.room)(bytes) {
                        return Err(Fail::Memory);
                    }
                }
                JsValue::new(JsString::from(s.as_str()))
            }
            Value::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.value(item, context, depth + 1)?);
                }
                JsArray::from_iter(values, context).into()
            }
            Value::Object(map) => {
                let object = JsObject::with_object_proto(context.intrinsics());
                for (key, item) in map {
                    let item = self.value(item, context, depth + 1)?;
                    object
                        .create_data_property_or_throw(JsString::from(key.as_str()), item, context)
                        .map_err(Fail::Js)?;
                }
                object.into()
            }
        })
    }
}

/// One step of the path to the value being converted, for messages (rendered only when one is needed).
enum Step {
    Result,
    Argument(usize),
    Index(u32),
    Key(JsString),
}

/// Converts Boa values into host values (JSON.stringify's rules for `toJSON`, `undefined` members and
/// non-finite numbers; functions, symbols, bigints, cycles and deep nesting fail, except in lenient mode).
pub struct FromJs<'a> {
    /// The original `Object.keys`, captured before any script ran.
    pub object_keys: &'a JsObject,
    /// When to give up.
    pub deadline: Instant,
    /// Objects on the current path, for cycle detection.
    path: Vec<JsObject>,
    /// Where the value being converted is, for messages.
    steps_at: Vec<Step>,
    /// Steps since the deadline was last checked.
    steps: u32,
    /// Most bytes the converted values may take (counted as `value_size` counts them).
    budget: usize,
    /// Bytes counted so far.
    used: usize,
    /// Values that cannot be represented become strings describing them (for `console`).
    lenient: bool,
    /// Whether to measure [`FromJs::script_bytes`].
    measure: bool,
    /// Net bytes the thread allocated while script code could run (getters, `toJSON`, proxy traps).
    script_bytes: isize,
}

impl<'a> FromJs<'a> {
    /// A converter of results using `object_keys` that stops at `deadline`.
    pub fn new(object_keys: &'a JsObject, deadline: Instant) -> Self {
        Self {
            object_keys,
            deadline,
            path: Vec::new(),
            steps_at: Vec::new(),
            steps: 0,
            budget: usize::MAX,
            used: 0,
            lenient: false,
            measure: false,
            script_bytes: 0,
        }
    }

    /// A converter of a host function's arguments: all of them together may take `budget` bytes (conversion
    /// stops with [`Fail::TooLarge`] as soon as they would take more), `lenient` turns values that cannot be
    /// represented into descriptions, and the bytes allocated by script code the conversion runs are measured.
    pub fn arguments(
        object_keys: &'a JsObject,
        deadline: Instant,
        budget: usize,
        lenient: bool,
    ) -> Self {
        Self {
            budget,
            lenient,
            measure: true,
            ..Self::new(object_keys, deadline)
        }
    }

    /// Converts `value` (a result).
    pub fn convert(&mut self, value: &JsValue, context: &mut Context) -> Result<Value, Fail> {
        self.steps_at.clear();
        self.steps_at.push(Step::Result);
        self.value(value, context)
    }

    /// Converts the argument at `index`.
    pub fn argument(
        &mut self,
        value: &JsValue,
        index: usize,
        context: &mut Context,
    ) -> Result<Value, Fail> {
        self.steps_at.clear();
        self.steps_at.push(Step::Argument(index));
        self.value(value, context)
    }

    /// Net bytes allocated by script code run during the conversion (with [`FromJs::arguments`]).
    pub fn script_bytes(&self) -> isize {
        self.script_bytes
    }

    /// Where the value being converted is: `result.a[0]`, `argument 2.key`.
    fn at(&self) -> String {
        let mut text = String::new();
        for step in &self.steps_at {
            let _ = match step {
                Step::Result => write!(text, "result"),
                Step::Argument(i) => write!(text, "argument {}", i + 1),
                Step::Index(i) => write!(text, "[{i}]"),
                Step::Key(k) => write!(text, ".{}", k.to_std_string_escaped()),
            };
        }
        text
    }

    fn fail(&self, what: &str) -> Fail {
        Fail::Conversion(format!("{} {what}", self.at()))
    }

    /// Counts `bytes` more against the budget.
    fn charge(&mut self, bytes: usize) -> Result<(), Fail> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.budget {
            return Err(Fail::TooLarge);
        }
        Ok(())
    }

    /// Runs `f`, which may run script code; with `measure`, adds what the thread allocated meanwhile to
    /// `script_bytes`.
    fn script<T>(&mut self, f: impl FnOnce() -> T) -> T {
        if !self.measure {
            return f();
        }
        let before = CountingAllocator::thread_net_bytes();
        let result = f();
        self.script_bytes += CountingAllocator::thread_net_bytes() - before;
        result
    }

    fn tick(&mut self) -> Result<(), Fail> {
        self.steps += 1;
        if self.steps >= 256 {
            self.steps = 0;
            if Instant::now() >= self.deadline {
                return Err(Fail::Deadline);
            }
        }
        Ok(())
    }

    /// In lenient mode, `text` as the value's description; otherwise the failure `what`.
    fn describe(&mut self, what: &str, text: impl FnOnce() -> String) -> Result<Value, Fail> {
        if !self.lenient {
            return Err(self.fail(what));
        }
        let text = text();
        self.charge(text.len())?;
        Ok(Value::String(text))
    }

    fn value(&mut self, value: &JsValue, context: &mut Context) -> Result<Value, Fail> {
        self.tick()?;
        self.charge(VALUE_COST)?;
        match value.variant() {
            JsVariant::Null | JsVariant::Undefined => Ok(Value::Null),
            JsVariant::Boolean(b) => Ok(Value::Bool(b)),
            JsVariant::Integer32(i) => Ok(Value::from(i)),
            JsVariant::Float64(f) => Ok(number(f)),
            JsVariant::String(s) => {
                // UTF-8 takes at least a byte per UTF-16 code unit: refuse before making the copy.
                if self.used.saturating_add(s.len()) > self.budget {
                    return Err(Fail::TooLarge);
                }
                let text = match s.to_std_string() {
                    Ok(text) => text,
                    Err(_) if self.lenient => "[string that is not valid Unicode]".to_owned(),
                    Err(_) => return Err(self.fail("is a string with a lone surrogate")),
                };
                self.charge(text.len())?;
                Ok(Value::String(text))
            }
            JsVariant::Symbol(_) => self.describe("is a symbol", || "[symbol]".to_owned()),
            JsVariant::BigInt(n) => self.describe("is a bigint", || n.to_string()),
            JsVariant::Object(object) => self.object(&object, context),
        }
    }

    fn object(&mut self, object: &JsObject, context: &mut Context) -> Result<Value, Fail> {
        if object.is_callable() {
            return self.describe("is a function", || "[function]".to_owned());
        }
        if self.path.iter().any(|seen| JsObject::equals(seen, object)) {
            return self.describe("is a cyclic structure", || "[circular]".to_owned());
        }
        if self.path.len() >= MAX_DEPTH {
            return self.describe(&format!("nests deeper than {MAX_DEPTH} levels"), || {
                "[nested too deeply]".to_owned()
            });
        }
        if self.lenient
            && let Some(kind) = crate::errors::error_name(object, context)
        {
            // `name: message`, as `String(error)` gives (an error has no own enumerable properties to show),
            // from data properties only: no getter runs.
            let text = |key| {
                crate::errors::data_property(object, key)
                    .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()))
                    .unwrap_or_default()
            };
            let name = Some(text("name"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| kind.to_owned());
            let message = text("message");
            let text = if message.is_empty() {
                name
            } else {
                format!("{name}: {message}")
            };
            self.charge(text.len())?;
            return Ok(Value::String(text));
        }
        // toJSON, as JSON.stringify does (Date has one).
        let to_json = self
            .script(|| object.get(js_string!("toJSON"), context))
            .map_err(Fail::Js)?;
        if let Some(to_json) = to_json.as_callable() {
            let replaced = self
                .script(|| to_json.call(&object.clone().into(), &[], context))
                .map_err(Fail::Js)?;
            if let Some(inner) = replaced.as_object()
                && JsObject::equals(&inner, object)
            {
                // toJSON returned its receiver: convert it as a plain object.
            } else {
                self.path.push(object.clone());
                let result = self.value(&replaced, context);
                self.path.pop();
                return result;
            }
        }
        self.path.push(object.clone());
        let result = if object.is_array() {
            self.array(object, context)
        } else {
            self.map(object, context)
        };
        self.path.pop();
        result
    }

    fn array(&mut self, object: &JsObject, context: &mut Context) -> Result<Value, Fail> {
        let length = self
            .script(|| object.get(js_string!("length"), context))
            .map_err(Fail::Js)?;
        let length = length.as_number().unwrap_or(0.0);
        let mut items = Vec::new();
        let mut i = 0u32;
        while f64::from(i) < length {
            self.tick()?;
            let item = self.script(|| object.get(i, context)).map_err(Fail::Js)?;
            self.steps_at.push(Step::Index(i));
            let member = self.member(&item, context, true);
            self.steps_at.pop();
            items.push(member?.unwrap_or(Value::Null));
            i += 1;
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, object: &JsObject, context: &mut Context) -> Result<Value, Fail> {
        let object_keys = self.object_keys;
        let keys = self
            .script(|| object_keys.call(&JsValue::undefined(), &[object.clone().into()], context))
            .map_err(Fail::Js)?;
        let keys = keys.as_object().and_then(|k| JsArray::from_object(k).ok());
        let mut map = serde_json::Map::new();
        let Some(keys) = keys else {
            return Ok(Value::Object(map));
        };
        let count = keys.length(context).map_err(Fail::Js)?;
        for k in 0..count {
            self.tick()?;
            let key = keys.get(k, context).map_err(Fail::Js)?;
            let Some(key_str) = key.as_string() else {
                continue;
            };
            if self.used.saturating_add(key_str.len()) > self.budget {
                return Err(Fail::TooLarge);
            }
            let name = key_str.to_std_string_escaped();
            self.charge(name.len())?;
            let item = self
                .script(|| object.get(key_str.clone(), context))
                .map_err(Fail::Js)?;
            self.steps_at.push(Step::Key(key_str));
            let member = self.member(&item, context, false);
            self.steps_at.pop();
            if let Some(item) = member? {
                map.insert(name, item);
            }
        }
        Ok(Value::Object(map))
    }

    /// A member: `undefined` is skipped in objects (`None`) and null in arrays, as JSON.stringify does.
    fn member(
        &mut self,
        item: &JsValue,
        context: &mut Context,
        in_array: bool,
    ) -> Result<Option<Value>, Fail> {
        if item.is_undefined() {
            return Ok(if in_array { Some(Value::Null) } else { None });
        }
        self.value(item, context).map(Some)
    }
}
