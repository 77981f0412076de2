//! Conversion between [`pool_core::Value`] (JSON-like) and QuickJS values, with the shared semantics.

use pool_core::engine::number_value as number;
use pool_core::{ErrorKind, ScriptError, Value};
use rquickjs::function::This;
use rquickjs::object::Property;
use rquickjs::{Array, Atom, Ctx, Object, Type};

use crate::deadline::{Deadline, Tripped};

/// Deepest nesting of arrays and objects converted either way.
pub(crate) const MAX_DEPTH: usize = 128;

/// Why a step failed: a QuickJS error (an exception may be pending in the context) or an error already described.
pub(crate) enum Failure {
    Js(rquickjs::Error),
    Script(ScriptError),
}

impl From<rquickjs::Error> for Failure {
    fn from(e: rquickjs::Error) -> Self {
        Failure::Js(e)
    }
}

impl From<ScriptError> for Failure {
    fn from(e: ScriptError) -> Self {
        Failure::Script(e)
    }
}

fn conversion(message: impl Into<String>) -> Failure {
    Failure::Script(ScriptError::new(ErrorKind::Conversion, message))
}

/// Converts a host value into a QuickJS value. Objects and arrays are built with own data properties (never
/// through setters a script may have put on a prototype), so `{"__proto__": 1}` is an own key as in `JSON.parse`.
pub(crate) fn to_js<'js>(
    ctx: &Ctx<'js>,
    value: &Value,
    depth: usize,
) -> Result<rquickjs::Value<'js>, Failure> {
    let data = |v| Property::from(v).writable().enumerable().configurable();
    Ok(match value {
        Value::Null => rquickjs::Value::new_null(ctx.clone()),
        Value::Bool(b) => rquickjs::Value::new_bool(ctx.clone(), *b),
        Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => rquickjs::Value::new_int(ctx.clone(), i),
            None => rquickjs::Value::new_number(ctx.clone(), n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(conversion(format!(
                    "argument is nested deeper than {MAX_DEPTH} levels"
                )));
            }
            let array = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                let index =
                    u32::try_from(i).map_err(|_| conversion("argument array is too long"))?;
                array
                    .as_object()
                    .prop(index, data(to_js(ctx, item, depth + 1)?))?;
            }
            array.into_value()
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(conversion(format!(
                    "argument is nested deeper than {MAX_DEPTH} levels"
                )));
            }
            let object = Object::new(ctx.clone())?;
            for (key, item) in map {
                object.prop(key.as_str(), data(to_js(ctx, item, depth + 1)?))?;
            }
            object.into_value()
        }
    })
}

/// State of one conversion of a script value to a host value.
pub(crate) struct FromJs<'a, 'js> {
    deadline: &'a Deadline,
    /// Most values one conversion may produce (see [`FromJs::new`]).
    max_values: usize,
    /// The objects being converted, outermost first, to report cycles.
    ancestors: Vec<Object<'js>>,
    steps: usize,
    /// Most bytes the converted value may take, as [`pool_core::host::value_size`] counts them (`usize::MAX`: no
    /// budget).
    budget: usize,
    /// Bytes counted so far against `budget`.
    used: usize,
    /// Whether the conversion stopped because it passed `budget`.
    over_budget: bool,
    /// Whether a value that cannot be converted becomes a string describing it instead of failing (console).
    lenient: bool,
    /// Whether the conversion runs inside a host function call, in the middle of the script (see
    /// [`FromJs::arguments`]).
    nested: Option<usize>,
}

impl<'a, 'js> FromJs<'a, 'js> {
    /// A conversion bounded by `deadline` and by `memory_limit`: a QuickJS value takes at least 16 bytes of the
    /// instance's heap, so a result of more than `memory_limit / 16` values can only come from a sparse array
    /// (`a.length = 4e9`) and is refused before it exhausts the host's memory.
    pub(crate) fn new(deadline: &'a Deadline, memory_limit: usize) -> Self {
        Self {
            deadline,
            max_values: (memory_limit / 16).max(1024),
            ancestors: Vec::new(),
            steps: 0,
            budget: usize::MAX,
            used: 0,
            over_budget: false,
            lenient: false,
            nested: None,
        }
    }

    /// A conversion of the arguments of a host function call: at most `budget` bytes (counted as
    /// [`pool_core::host::value_size`] does; the conversion stops, before copying a string that would pass it);
    /// `lenient` turns values that cannot be converted into strings describing them.
    ///
    /// The conversion runs while the script is on the stack. rquickjs moves QuickJS's stack base to the caller of
    /// every function it calls (`toJSON` here), so a call made deep in the script would let the script recurse
    /// further than the stack limit: `toJSON` is only called while the native stack is less than a quarter of
    /// `stack_limit` deeper than where the operation entered QuickJS, and a deeper call records the stack limit.
    pub(crate) fn arguments(
        deadline: &'a Deadline,
        memory_limit: usize,
        budget: usize,
        lenient: bool,
        stack_limit: usize,
    ) -> Self {
        Self {
            budget,
            lenient,
            nested: Some(stack_limit / 4),
            ..Self::new(deadline, memory_limit)
        }
    }

    /// Whether the conversion stopped because the value passed its byte budget.
    pub(crate) fn over_budget(&self) -> bool {
        self.over_budget
    }

    /// Counts `bytes` against the budget.
    fn charge(&mut self, bytes: usize) -> Result<(), Failure> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.budget {
            self.over_budget = true;
            return Err(conversion(format!(
                "the value is larger than {} bytes",
                self.budget
            )));
        }
        Ok(())
    }

    /// A string's text, counted against the budget before it is copied.
    fn text(&mut self, string: &rquickjs::String<'js>) -> Result<Option<String>, Failure> {
        if self.budget != usize::MAX {
            // The UTF-8 length, measured without copying the text out of QuickJS (an ASCII string is read in
            // place; another is encoded in the instance's heap, under its memory limit).
            let length = string.clone().to_cstring()?.len();
            self.charge(length)?;
        }
        Ok(string.to_string().ok())
    }

    /// What a value that cannot be converted becomes in a lenient conversion, or the error otherwise.
    fn unconvertible(&mut self, description: String, error: String) -> Result<Value, Failure> {
        if self.lenient {
            self.charge(description.len())?;
            Ok(Value::String(description))
        } else {
            Err(conversion(error))
        }
    }

    /// Converts `value` (found under `key`, passed to `toJSON` as `JSON.stringify` does).
    pub(crate) fn convert(
        &mut self,
        value: rquickjs::Value<'js>,
        key: Key<'_>,
    ) -> Result<Value, Failure> {
        self.convert_inner(value, key, true)
    }

    fn convert_inner(
        &mut self,
        value: rquickjs::Value<'js>,
        key: Key<'_>,
        to_json: bool,
    ) -> Result<Value, Failure> {
        self.steps += 1;
        if self.steps > self.max_values {
            return Err(self.too_many());
        }
        if self.steps.is_multiple_of(256) && self.deadline.expired() {
            return Err(Failure::Js(rquickjs::Error::Exception));
        }
        self.charge(16)?;
        match value.type_of() {
            Type::Uninitialized | Type::Undefined | Type::Null => Ok(Value::Null),
            Type::Bool => Ok(Value::Bool(value.as_bool().unwrap_or_default())),
            Type::Int => Ok(Value::from(value.as_int().unwrap_or_default())),
            Type::Float => Ok(number(value.as_float().unwrap_or(f64::NAN))),
            Type::String => {
                let text = match value.as_string() {
                    Some(string) => self.text(string)?,
                    None => None,
                };
                match text {
                    Some(text) => Ok(Value::String(text)),
                    None => self.unconvertible(
                        "[string that is not valid Unicode]".to_owned(),
                        "cannot convert a string that is not valid Unicode (it has a lone surrogate)".to_owned(),
                    ),
                }
            }
            Type::Symbol => self.unconvertible(
                "[symbol]".to_owned(),
                format!("cannot convert a symbol{}", at(key)),
            ),
            Type::BigInt => {
                let digits = value
                    .as_big_int()
                    .and_then(|b| b.clone().to_i64().ok())
                    .map_or_else(|| "[bigint]".to_owned(), |i| i.to_string());
                self.unconvertible(digits, format!("cannot convert a BigInt{}", at(key)))
            }
            Type::Function | Type::Constructor => self.unconvertible(
                "[function]".to_owned(),
                format!("cannot convert a function{}", at(key)),
            ),
            Type::Module | Type::Unknown => self.unconvertible(
                format!("[{}]", value.type_name()),
                format!("cannot convert a {}{}", value.type_name(), at(key)),
            ),
            Type::Array | Type::Object | Type::Exception | Type::Promise | Type::Proxy => {
                let object = value
                    .into_object()
                    .ok_or_else(|| conversion("expected an object"))?;
                self.object(object, key, to_json)
            }
        }
    }

    fn too_many(&self) -> Failure {
        conversion(format!(
            "cannot convert more than {} values (a sparse array?): more than the memory limit could hold",
            self.max_values
        ))
    }

    fn object(
        &mut self,
        object: Object<'js>,
        key: Key<'_>,
        to_json: bool,
    ) -> Result<Value, Failure> {
        if to_json {
            let method: rquickjs::Value<'js> = object.get("toJSON")?;
            if let Some(method) = method.as_function() {
                match self.nested {
                    None => self.deadline.enter(),
                    Some(room) if self.deadline.depth() >= room => {
                        self.deadline.trip(Tripped::Stack);
                        return Err(conversion(
                            "cannot call toJSON this deep in the stack (the stack limit)",
                        ));
                    }
                    Some(_) => {}
                }
                let replaced: rquickjs::Value<'js> =
                    method.call((This(object.clone()), key.to_string()))?;
                return self.convert_inner(replaced, key, false);
            }
        }
        if self
            .ancestors
            .iter()
            .any(|a| a.as_value() == object.as_value())
        {
            return self.unconvertible(
                "[circular]".to_owned(),
                format!("cannot convert a cyclic structure{}", at(key)),
            );
        }
        if self.ancestors.len() >= MAX_DEPTH {
            return self.unconvertible(
                "[nested too deeply]".to_owned(),
                format!("cannot convert a value nested deeper than {MAX_DEPTH} levels"),
            );
        }
        if self.lenient && object.is_error() {
            // `name: message`, as `String(error)` gives (an error has no own enumerable properties to show).
            let name: rquickjs::Value<'js> = object.get("name")?;
            let message: rquickjs::Value<'js> = object.get("message")?;
            let part = |v: &rquickjs::Value<'js>| {
                v.as_string()
                    .and_then(|s| s.to_string().ok())
                    .unwrap_or_default()
            };
            let text = match (part(&name), part(&message)) {
                (name, message) if message.is_empty() => name,
                (name, message) if name.is_empty() => message,
                (name, message) => format!("{name}: {message}"),
            };
            self.charge(text.len())?;
            return Ok(Value::String(text));
        }
        self.ancestors.push(object.clone());
        let result = if object.is_array() {
            // Not `Array::len`, which asserts that `length` is an int.
            let length: rquickjs::Value<'js> = object.get("length")?;
            let length = length.as_number().unwrap_or(0.0);
            if !(0.0..=f64::from(u32::MAX)).contains(&length) {
                return Err(conversion("cannot convert an array with an invalid length"));
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let length = length as u32;
            if length as usize > self.max_values {
                return Err(self.too_many());
            }
            // Every element counts at least 16 bytes: a sparse array past the budget is refused at once.
            if self
                .used
                .saturating_add((length as usize).saturating_mul(16))
                > self.budget
            {
                self.over_budget = true;
                return Err(conversion(format!(
                    "the value is larger than {} bytes",
                    self.budget
                )));
            }
            let mut items = Vec::with_capacity((length as usize).min(1024));
            for i in 0..length {
                let item: rquickjs::Value<'js> = object.get(i)?;
                items.push(self.convert(item, Key::Index(i))?);
            }
            Value::Array(items)
        } else {
            let mut map = serde_json::Map::new();
            for atom in object.keys::<Atom<'js>>() {
                let atom = atom?;
                let name = match self.text(&atom.to_js_string()?)? {
                    Some(name) => name,
                    None => {
                        return Err(conversion(
                            "cannot convert a property name that is not valid Unicode",
                        ));
                    }
                };
                let item: rquickjs::Value<'js> = object.get(atom)?;
                // As in JSON.stringify, a property whose value is undefined is left out.
                if item.is_undefined() {
                    continue;
                }
                let item = self.convert(item, Key::Name(&name))?;
                map.insert(name, item);
            }
            Value::Object(map)
        };
        self.ancestors.pop();
        Ok(result)
    }
}

/// Where a value was found: the key `toJSON` receives and error messages name.
#[derive(Clone, Copy)]
pub(crate) enum Key<'k> {
    /// The value itself (the key is the empty string, as in `JSON.stringify`).
    Root,
    /// An array element.
    Index(u32),
    /// An object property.
    Name(&'k str),
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Root => Ok(()),
            Key::Index(i) => write!(f, "{i}"),
            Key::Name(name) => f.write_str(name),
        }
    }
}

fn at(key: Key<'_>) -> String {
    match key {
        Key::Root => String::new(),
        key => format!(" (at key `{key}`)"),
    }
}
