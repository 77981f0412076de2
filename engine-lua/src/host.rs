//! The host API in Lua: the functions of [`HostApi`](pool_core::host::HostApi) as Lua functions, `console`,
//! `print`, `vmpool.context()` and `require`.
//!
//! Each instance has one native function, the dispatcher, which the sandbox (`sandbox.lua`) wraps in one small
//! Lua function per registered function: the wrapper passes the function's index and the script's arguments, and
//! raises the error table `{ code = ..., message = ... }` (whose `__tostring` gives `code: message`) when the
//! dispatcher answers with a code. The wrapper raises it because a Rust callback cannot raise a Lua value other
//! than mlua's own error userdata.
//!
//! The dispatcher converts the arguments (within [`HostApi::arg_limit`](pool_core::host::HostApi::arg_limit)
//! bytes, counted as the result conversion counts them, and stopping as soon as they pass it), calls
//! [`HostSession::invoke`] and converts the result into the state (under the memory limit). A failure that must
//! end the operation (a panic of the host function, the deadline, a result past the memory limit, a limit hit
//! while converting, or a panic of this glue itself, which is caught here) is recorded on the instance's
//! [`Limiter`] and raised with the hook's escalation, so that the rest of the call cannot continue: the running
//! thread then fails before every instruction, the sandbox's `pcall`, `xpcall`, `coroutine.resume` and
//! `coroutine.close` raise again, and [`LuaEngine`](crate::LuaEngine)'s `finish` reports the session's error. A
//! host panic never reaches mlua (which would let `pcall` catch it and resume it later).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use mlua::{Lua, MultiValue, Value as LuaValue};
use pool_core::host::{
    Builtin, HostError, HostFailure, HostFunction, HostSession, Language, ModuleSource,
};
use pool_core::{ErrorKind, ScriptError, Value};

use crate::convert::{self, Fail, FromLua};
use crate::limits::{self, LimitError, Limiter, Tripped, limit_error};

/// Native stack a host call keeps free: converting an argument may run a `__pairs` metamethod that calls a host
/// function again, one native frame deeper each time.
const STACK_RESERVE: usize = 256 * 1024;

/// The dispatcher's answer: the result, or nil, a code and a message for an error the script may catch.
type Reply = mlua::Result<(LuaValue, LuaValue, LuaValue)>;

/// What the dispatcher of one instance needs: its session, its limiter and the heap limit.
pub(crate) struct Host {
    session: Arc<HostSession>,
    limiter: Arc<Limiter>,
    heap_limit: usize,
    /// A failure of this glue (a caught panic), reported by [`Host::take_failure`].
    failure: Mutex<Option<String>>,
}

/// Why an argument list was not converted.
enum Refused {
    /// An error the script may catch.
    Thrown(HostError),
    /// The call must end; raise this.
    Stop(mlua::Error),
}

impl Host {
    /// The dispatcher state of one instance whose Lua allocator is limited to `heap_limit` bytes.
    pub(crate) fn new(
        session: Arc<HostSession>,
        limiter: Arc<Limiter>,
        heap_limit: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            session,
            limiter,
            heap_limit,
            failure: Mutex::new(None),
        })
    }

    /// The instance's host session.
    pub(crate) fn session(&self) -> &Arc<HostSession> {
        &self.session
    }

    /// The fatal failure of the current operation, if any, taken out: the session's (a host call), or one of this
    /// glue's.
    pub(crate) fn take_failure(&self) -> Option<ScriptError> {
        if let Some(fatal) = self.session.take_fatal() {
            return Some(fatal);
        }
        let glue = self
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        glue.map(|message| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("engine-lua's host-function glue failed: {message}"),
            )
        })
    }

    fn record_failure(&self, message: String) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if failure.is_none() {
            *failure = Some(message);
        }
    }

    /// Ends the running call for `why` (see [`limits::stop_now`]).
    fn stop(&self, lua: &Lua, why: Tripped) -> mlua::Error {
        limits::stop_now(lua, &self.limiter, why)
    }

    /// The error to raise for a failure of Lua itself while serving a host call: a limit ends the call with that
    /// limit; anything else is a failure of the glue.
    fn fail(&self, lua: &Lua, error: mlua::Error) -> mlua::Error {
        match limit_error(&error) {
            Some(LimitError::Memory) => return self.stop(lua, Tripped::Memory),
            Some(LimitError::Stack(_)) => return self.stop(lua, Tripped::Stack),
            None => {}
        }
        let tripped = self.limiter.tripped();
        if tripped != Tripped::None {
            return self.stop(lua, tripped);
        }
        self.record_failure(error_text(&error));
        self.stop(lua, Tripped::Internal)
    }

    /// The dispatcher: `args` is the function's index followed by the script's arguments.
    fn dispatch(&self, lua: &Lua, mut args: MultiValue) -> Reply {
        let index = args.pop_front();
        match catch_unwind(AssertUnwindSafe(|| self.call(lua, index, &args))) {
            Ok(reply) => reply,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                self.record_failure(format!("panicked: {message}"));
                Err(self.stop(lua, Tripped::Internal))
            }
        }
    }

    fn call(&self, lua: &Lua, index: Option<LuaValue>, args: &MultiValue) -> Reply {
        let api = self.session.api();
        let found = match index {
            Some(LuaValue::Integer(i)) => usize::try_from(i)
                .ok()
                .and_then(|i| Some((i, api.functions().get(i)?))),
            _ => None,
        };
        let Some((index, function)) = found else {
            self.record_failure("the dispatcher was called without a function index".to_owned());
            return Err(self.stop(lua, Tripped::Internal));
        };
        let tripped = self.limiter.tripped();
        if tripped != Tripped::None {
            // The call is ending already (a limit, or an earlier fatal host call).
            return Err(self.stop(lua, tripped));
        }
        if stacker::remaining_stack().is_some_and(|left| left < STACK_RESERVE) {
            return Err(self.stop(lua, Tripped::Stack));
        }
        let values = match function.builtin() {
            Builtin::Console => self.console_arguments(lua, args),
            _ => self.arguments(lua, function, args),
        };
        let values = match values {
            Ok(values) => values,
            Err(Refused::Thrown(error)) => return self.throw(lua, &error),
            Err(Refused::Stop(error)) => return Err(error),
        };
        match self.session.invoke(index, values) {
            Ok(value) => self.result(lua, function, &value),
            Err(HostFailure::Thrown(error)) => self.throw(lua, &error),
            Err(HostFailure::Fatal(_)) => Err(self.stop(lua, Tripped::Host)),
        }
    }

    /// The script's arguments as values, within the argument budget.
    fn arguments(
        &self,
        lua: &Lua,
        function: &HostFunction,
        args: &MultiValue,
    ) -> Result<Vec<Value>, Refused> {
        let limit = self.session.api().arg_limit();
        let mut from = FromLua::new(limit).deadline(&self.limiter);
        let mut values = Vec::with_capacity(args.len());
        for arg in args.iter() {
            match from.convert(arg) {
                Ok(value) => values.push(value),
                Err(Fail::TooLarge) => {
                    return Err(Refused::Thrown(HostError::arguments_too_large(
                        function.path(),
                        limit,
                    )));
                }
                Err(Fail::Conversion(why)) => {
                    return Err(Refused::Thrown(HostError::bad_arguments(
                        function.path(),
                        why,
                    )));
                }
                Err(Fail::Lua(error) | Fail::Metamethod(error)) => {
                    return Err(self.metamethod_failed(lua, function, error));
                }
            }
        }
        Ok(values)
    }

    /// A `__pairs` metamethod (or `__tostring`, for the console) failed while an argument was converted: a limit
    /// or a fatal host call inside it ends the call; the script's own error is a catchable `E_ARGS`.
    fn metamethod_failed(&self, lua: &Lua, function: &HostFunction, error: mlua::Error) -> Refused {
        if limit_error(&error).is_some() || self.limiter.tripped() != Tripped::None {
            return Refused::Stop(self.fail(lua, error));
        }
        Refused::Thrown(HostError::bad_arguments(
            function.path(),
            format!("a metamethod failed: {}", error_text(&error)),
        ))
    }

    /// The arguments of a console function: strings as they are (cut at the console's byte cap), other scalars as
    /// Lua's `tostring` writes them, tables as JSON (or through their `__tostring`), and what has no JSON form as
    /// a short description (`[function]`), so that logging never fails on a value.
    fn console_arguments(&self, lua: &Lua, args: &MultiValue) -> Result<Vec<Value>, Refused> {
        let api = self.session.api();
        let max_text = api.console_caps().max_bytes;
        // One budget for all the arguments, as for other functions.
        let mut budget = api.arg_limit();
        let mut values = Vec::with_capacity(args.len());
        for arg in args.iter() {
            let value = match arg {
                LuaValue::Nil => Value::String("nil".to_owned()),
                LuaValue::Boolean(b) => Value::String(b.to_string()),
                LuaValue::Integer(i) => Value::String(i.to_string()),
                LuaValue::Number(n) => Value::String(lua_number(lua, *n)),
                LuaValue::String(s) => {
                    Value::String(cut_text(&s.as_bytes(), max_text, &mut budget))
                }
                LuaValue::Table(table) => {
                    let has_tostring = table.metatable().is_some_and(|mt| {
                        mt.raw_get::<LuaValue>("__tostring")
                            .is_ok_and(|f| !f.is_nil())
                    });
                    if has_tostring {
                        match arg.to_string() {
                            Ok(text) => {
                                Value::String(cut_text(text.as_bytes(), max_text, &mut budget))
                            }
                            Err(error) => {
                                if limit_error(&error).is_some()
                                    || self.limiter.tripped() != Tripped::None
                                {
                                    return Err(Refused::Stop(self.fail(lua, error)));
                                }
                                Value::String("[table: __tostring failed]".to_owned())
                            }
                        }
                    } else {
                        let mut from = FromLua::new(budget).deadline(&self.limiter);
                        match from.convert(arg) {
                            Ok(value) => {
                                budget = from.budget();
                                value
                            }
                            Err(Fail::TooLarge) => {
                                budget = 0;
                                Value::String("[table too large to print]".to_owned())
                            }
                            Err(Fail::Conversion(_)) => {
                                budget = from.budget();
                                Value::String("[table]".to_owned())
                            }
                            Err(Fail::Lua(error) | Fail::Metamethod(error)) => {
                                if limit_error(&error).is_some()
                                    || self.limiter.tripped() != Tripped::None
                                {
                                    return Err(Refused::Stop(self.fail(lua, error)));
                                }
                                Value::String("[table: __pairs failed]".to_owned())
                            }
                        }
                    }
                }
                other => Value::String(format!("[{}]", other.type_name())),
            };
            values.push(value);
        }
        Ok(values)
    }

    /// An error the script may catch: the dispatcher answers nil, the code and the message, and the wrapper
    /// raises the error table.
    fn throw(&self, lua: &Lua, error: &HostError) -> Reply {
        let strings = lua
            .create_string(error.code())
            .and_then(|code| Ok((code, lua.create_string(error.message())?)));
        match strings {
            Ok((code, message)) => Ok((
                LuaValue::Nil,
                LuaValue::String(code),
                LuaValue::String(message),
            )),
            Err(e) => Err(self.fail(lua, e)),
        }
    }

    /// The host function's result as a Lua value, allocated under the instance's memory limit.
    fn result(&self, lua: &Lua, function: &HostFunction, value: &Value) -> Reply {
        let converted = match value {
            Value::Null => Ok(LuaValue::Nil),
            Value::Bool(b) => Ok(LuaValue::Boolean(*b)),
            Value::Number(_) => convert::to_lua(lua, value),
            _ => {
                let bytes = convert::lua_bytes(value).unwrap_or(usize::MAX);
                limits::unmetered(lua, self.heap_limit, bytes, || convert::to_lua(lua, value))
            }
        };
        match converted {
            Ok(v) => Ok((v, LuaValue::Nil, LuaValue::Nil)),
            Err(Fail::Conversion(why)) => self.throw(
                lua,
                &HostError::new(
                    "E_RESULT",
                    format!(
                        "the result of {} cannot be converted: {why}",
                        function.path()
                    ),
                ),
            ),
            Err(Fail::Lua(e) | Fail::Metamethod(e)) => Err(self.fail(lua, e)),
            Err(Fail::TooLarge) => Err(self.stop(lua, Tripped::Memory)),
        }
    }
}

/// A Lua number as Lua's `tostring` writes it (`2.0`, `1e+15`, `inf`).
fn lua_number(lua: &Lua, n: f64) -> String {
    match lua.coerce_string(LuaValue::Number(n)) {
        Ok(Some(s)) => s.to_string_lossy(),
        _ => n.to_string(),
    }
}

/// At most `max` bytes of `bytes` (and no more than `budget` allows, which it is charged), as text; bytes that are
/// not UTF-8 become U+FFFD.
fn cut_text(bytes: &[u8], max: usize, budget: &mut usize) -> String {
    let keep = bytes.len().min(max).min(*budget);
    *budget -= keep;
    let text = String::from_utf8_lossy(bytes.get(..keep).unwrap_or_default()).into_owned();
    if keep < bytes.len() && keep < max {
        return format!("{text}[... {} more bytes]", bytes.len() - keep);
    }
    text
}

/// An mlua error's message, without mlua's wrappers and traceback.
fn error_text(error: &mlua::Error) -> String {
    match error {
        mlua::Error::RuntimeError(message) => limits::lua_message(message).to_owned(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            error_text(cause)
        }
        other => other.to_string(),
    }
}

/// Gives the sandbox set-up what it builds the host globals from: the global `__vmpool_host`, a table with
/// `dispatch` (the native function), `functions` (rows `{ index, namespace or false, name }` of the functions for
/// Lua), `namespaces` (names, in order) and `modules` (rows `{ name, "lua", source }` or
/// `{ name, "namespace", namespace }`).
pub(crate) fn install(lua: &Lua, host: &Arc<Host>) -> mlua::Result<()> {
    let api = host.session.api();
    let dispatcher = Arc::clone(host);
    let dispatch =
        lua.create_function(move |lua, args: MultiValue| dispatcher.dispatch(lua, args))?;
    let description = lua.create_table()?;
    description.raw_set("dispatch", dispatch)?;

    let functions = lua.create_table()?;
    let mut namespaces: Vec<&str> = Vec::new();
    for (index, f) in api.functions().iter().enumerate() {
        if !f.is_for(Language::Lua) {
            continue;
        }
        let row = lua.create_table()?;
        row.raw_set(1, i64::try_from(index).map_err(mlua::Error::external)?)?;
        match f.namespace() {
            Some(ns) => {
                row.raw_set(2, ns)?;
                if !namespaces.contains(&ns) {
                    namespaces.push(ns);
                }
            }
            None => row.raw_set(2, false)?,
        }
        row.raw_set(3, f.name())?;
        functions.raw_push(row)?;
    }
    description.raw_set("functions", functions)?;

    let ordered = lua.create_table()?;
    for ns in api.namespaces() {
        if namespaces.contains(&ns) {
            ordered.raw_push(ns)?;
        }
    }
    description.raw_set("namespaces", ordered)?;

    let modules = lua.create_table()?;
    for module in api.modules().iter().filter(|m| m.is_for(Language::Lua)) {
        let row = lua.create_table()?;
        row.raw_set(1, module.name())?;
        match module.source() {
            ModuleSource::Lua(source) => {
                row.raw_set(2, "lua")?;
                row.raw_set(3, source.as_str())?;
            }
            ModuleSource::Namespace(ns) => {
                row.raw_set(2, "namespace")?;
                row.raw_set(3, ns.as_str())?;
            }
            // Not for Lua (filtered above); `ModuleSource` may gain kinds.
            _ => continue,
        }
        modules.raw_push(row)?;
    }
    description.raw_set("modules", modules)?;
    lua.globals().raw_set("__vmpool_host", description)
}
