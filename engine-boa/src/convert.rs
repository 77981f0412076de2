//! Conversion between Boa values and [`Value`] (JSON-like), with the workspace's shared rules.

use pool_core::engine::number_value as number;
use std::time::Instant;

use boa_engine::object::builtins::JsArray;
use boa_engine::{Context, JsError, JsObject, JsString, JsValue, JsVariant, js_string};
use pool_core::Value;

/// Deepest nesting of arrays and objects converted either way.
pub const MAX_DEPTH: usize = 128;

/// Why a conversion failed.
pub enum Fail {
    /// The value cannot be represented; the message says why.
    Conversion(String),
    /// Script code run by the conversion (a getter, `toJSON`, a proxy trap) threw or hit a runtime limit.
    Js(JsError),
    /// The deadline passed while converting.
    Deadline,
}

/// Host values into Boa values.
pub fn to_js(value: &Value, context: &mut Context, depth: usize) -> Result<JsValue, Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::Conversion(format!(
            "argument nests deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match value {
        Value::Null => JsValue::null(),
        Value::Bool(b) => JsValue::new(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                JsValue::new(i)
            } else {
                // u64/i64 beyond i32 and floats: a JavaScript number is an f64 (precision loss is the language's).
                JsValue::new(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => JsValue::new(JsString::from(s.as_str())),
        Value::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(to_js(item, context, depth + 1)?);
            }
            JsArray::from_iter(values, context).into()
        }
        Value::Object(map) => {
            let object = JsObject::with_object_proto(context.intrinsics());
            for (key, item) in map {
                let item = to_js(item, context, depth + 1)?;
                object
                    .create_data_property_or_throw(JsString::from(key.as_str()), item, context)
                    .map_err(Fail::Js)?;
            }
            object.into()
        }
    })
}

/// Converts Boa values into host values (JSON.stringify's rules for `toJSON`, `undefined` members and
/// non-finite numbers; functions, symbols, bigints, cycles and deep nesting fail).
pub struct FromJs<'a> {
    /// The original `Object.keys`, captured before any script ran.
    pub object_keys: &'a JsObject,
    /// When to give up.
    pub deadline: Instant,
    /// Objects on the current path, for cycle detection.
    path: Vec<JsObject>,
    /// Steps since the deadline was last checked.
    steps: u32,
}

impl<'a> FromJs<'a> {
    /// A converter using `object_keys` that stops at `deadline`.
    pub fn new(object_keys: &'a JsObject, deadline: Instant) -> Self {
        Self {
            object_keys,
            deadline,
            path: Vec::new(),
            steps: 0,
        }
    }

    /// Converts `value`.
    pub fn convert(&mut self, value: &JsValue, context: &mut Context) -> Result<Value, Fail> {
        self.value(value, context, "result")
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

    fn value(&mut self, value: &JsValue, context: &mut Context, at: &str) -> Result<Value, Fail> {
        self.tick()?;
        match value.variant() {
            JsVariant::Null | JsVariant::Undefined => Ok(Value::Null),
            JsVariant::Boolean(b) => Ok(Value::Bool(b)),
            JsVariant::Integer32(i) => Ok(Value::from(i)),
            JsVariant::Float64(f) => Ok(number(f)),
            JsVariant::String(s) => s
                .to_std_string()
                .map(Value::String)
                .map_err(|_| Fail::Conversion(format!("{at} is a string with a lone surrogate"))),
            JsVariant::Symbol(_) => Err(Fail::Conversion(format!("{at} is a symbol"))),
            JsVariant::BigInt(_) => Err(Fail::Conversion(format!("{at} is a bigint"))),
            JsVariant::Object(object) => self.object(&object, context, at),
        }
    }

    fn object(
        &mut self,
        object: &JsObject,
        context: &mut Context,
        at: &str,
    ) -> Result<Value, Fail> {
        if object.is_callable() {
            return Err(Fail::Conversion(format!("{at} is a function")));
        }
        if self.path.iter().any(|seen| JsObject::equals(seen, object)) {
            return Err(Fail::Conversion(format!("{at} is a cyclic structure")));
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(Fail::Conversion(format!(
                "{at} nests deeper than {MAX_DEPTH} levels"
            )));
        }
        // toJSON, as JSON.stringify does (Date has one).
        let to_json = object
            .get(js_string!("toJSON"), context)
            .map_err(Fail::Js)?;
        if let Some(to_json) = to_json.as_callable() {
            let replaced = to_json
                .call(&object.clone().into(), &[], context)
                .map_err(Fail::Js)?;
            if let Some(inner) = replaced.as_object()
                && JsObject::equals(&inner, object)
            {
                // toJSON returned its receiver: convert it as a plain object.
            } else {
                self.path.push(object.clone());
                let result = self.value(&replaced, context, at);
                self.path.pop();
                return result;
            }
        }
        self.path.push(object.clone());
        let result = if object.is_array() {
            self.array(object, context, at)
        } else {
            self.map(object, context, at)
        };
        self.path.pop();
        result
    }

    fn array(&mut self, object: &JsObject, context: &mut Context, at: &str) -> Result<Value, Fail> {
        let length = object
            .get(js_string!("length"), context)
            .map_err(Fail::Js)?;
        let length = length.as_number().unwrap_or(0.0);
        let mut items = Vec::new();
        let mut i = 0u32;
        while f64::from(i) < length {
            self.tick()?;
            let item = object.get(i, context).map_err(Fail::Js)?;
            items.push(
                self.member(&item, context, at, &i.to_string(), true)?
                    .unwrap_or(Value::Null),
            );
            i += 1;
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, object: &JsObject, context: &mut Context, at: &str) -> Result<Value, Fail> {
        let keys = self
            .object_keys
            .call(&JsValue::undefined(), &[object.clone().into()], context)
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
            let name = key_str.to_std_string_escaped();
            let item = object.get(key_str.clone(), context).map_err(Fail::Js)?;
            if let Some(item) = self.member(&item, context, at, &name, false)? {
                map.insert(name, item);
            }
        }
        Ok(Value::Object(map))
    }

    /// A member: `undefined` and functions are skipped in objects (`None`), null in arrays, as JSON.stringify does.
    fn member(
        &mut self,
        item: &JsValue,
        context: &mut Context,
        at: &str,
        key: &str,
        in_array: bool,
    ) -> Result<Option<Value>, Fail> {
        if item.is_undefined() {
            return Ok(if in_array { Some(Value::Null) } else { None });
        }
        let path = if in_array {
            format!("{at}[{key}]")
        } else {
            format!("{at}.{key}")
        };
        self.value(item, context, &path).map(Some)
    }
}
