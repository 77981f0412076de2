//! Error classification: how a Boa error becomes a [`ScriptError`] of the right kind with a message that names
//! the problem.
//!
//! Boa's runtime-limit errors become `timeout` (the loop-iteration limit) or `stack` (the recursion and value
//! stack limits) and name the limit; a native `SyntaxError` from request source is `syntax`; anything thrown is
//! an `exception` (under strict isolation, a refused write says which policy allows it). The message of an
//! `exception` is made without running script code (`exception_message`): a thrown object's `name` and
//! `message` are read only where they are data properties (a getter would run after the call, outside every
//! limit), and an error object whose `name` is not one is named after the built-in error type it inherits from.
//!
//! A result that is a promise is settled first, as in every vmpool engine: its value once the jobs ran, an
//! `exception` for a rejection, a `conversion` error while it is still pending.

use boa_engine::builtins::promise::PromiseState;
use boa_engine::error::{EngineError, RuntimeLimitError};
use boa_engine::object::builtins::JsPromise;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{Context, JsError, JsObject, JsString, JsValue};
use pool_core::{EngineConfig, ErrorKind, ScriptError};

/// Classifies a Boa error raised under `config` and Boa's `limits`. `from_eval`: a native `SyntaxError` may be
/// the request source's parse error.
pub(crate) fn classify(
    e: JsError,
    context: &mut Context,
    limits: &RuntimeLimits,
    config: &EngineConfig,
    from_eval: bool,
) -> ScriptError {
    if let Some(engine) = e.as_engine() {
        return match engine {
            EngineError::RuntimeLimit(RuntimeLimitError::LoopIteration) => ScriptError::new(
                ErrorKind::Timeout,
                format!(
                    "script ran past the loop iteration limit of {} per call frame (Boa's in-engine stand-in for \
                     the time limit of {:?})",
                    limits.loop_iteration_limit(),
                    config.limits.timeout
                ),
            ),
            EngineError::RuntimeLimit(RuntimeLimitError::Recursion) => ScriptError::new(
                ErrorKind::Stack,
                format!(
                    "script ran past the recursion limit of {} calls (limits.stack_kb = {})",
                    limits.recursion_limit(),
                    config.limits.stack_kb
                ),
            ),
            EngineError::RuntimeLimit(RuntimeLimitError::StackSize) => ScriptError::new(
                ErrorKind::Stack,
                format!(
                    "script ran past the value stack limit of {} slots (limits.stack_kb = {})",
                    limits.stack_size_limit(),
                    config.limits.stack_kb
                ),
            ),
            other => ScriptError::new(ErrorKind::Internal, format!("Boa engine error: {other}")),
        };
    }
    if from_eval && e.as_native().is_some_and(|n| n.is_syntax()) {
        return ScriptError::new(
            ErrorKind::Syntax,
            format!("SyntaxError: {}", native_message(&e)),
        );
    }
    let error = ScriptError::new(ErrorKind::Exception, exception_message(&e, context));
    pool_core::engine::explain_refused_write(config.isolation, error)
}

pub(crate) fn native_message(e: &JsError) -> String {
    e.as_native()
        .map(|n| n.message().to_owned())
        .unwrap_or_default()
}

/// "Name: message" (or "Name [code]: message" when it has a string `code`) for a thrown error object, the string
/// form of any other thrown value. Runs no script code:
/// `name` and `message` are read only where they are data properties (see [`data_property`]), so that a getter
/// the script defined (`throw { get message() { for (;;) {} } }`) cannot run, unlimited, while the host describes
/// the error. An error object whose `name` is not data (under strict isolation it is an accessor on the built-in
/// prototypes) is named after the built-in error prototype on its chain.
pub(crate) fn exception_message(e: &JsError, context: &mut Context) -> String {
    if let Some(native) = e.as_native() {
        return format!("{}: {}", native.kind(), native.message());
    }
    let Some(value) = e.as_opaque() else {
        return e.to_string();
    };
    if let Some(object) = value.as_object() {
        let text = |v: JsValue| v.as_string().map(|s| s.to_std_string_escaped());
        let message = data_property(&object, "message").and_then(text);
        let error = error_name(&object, context);
        if message.is_some() || error.is_some() {
            let name = data_property(&object, "name")
                .and_then(text)
                .or_else(|| error.map(str::to_owned))
                .unwrap_or_else(|| "Error".to_owned());
            // A `code` (host errors have one: `Error [E_NOT_FOUND]: no such key`, as Node shows its errors).
            return match data_property(&object, "code").and_then(text) {
                Some(code) => format!("{name} [{code}]: {}", message.unwrap_or_default()),
                None => format!("{name}: {}", message.unwrap_or_default()),
            };
        }
        // Not Boa's display of the object: it has no bound (an object graph that shares its parts is printed
        // out in full, exponentially).
        let kind = if object.is_callable() {
            "function"
        } else {
            "object"
        };
        return format!("(a thrown {kind}, with no `message`)");
    }
    match value.as_string() {
        Some(s) => s.to_std_string_escaped(),
        None => value.display().to_string(),
    }
}

/// The value of `key` on `object` or the nearest object of its prototype chain that has it, if that is a data
/// property. Reads the objects' property maps and prototype slots only, so neither a getter nor a proxy's trap
/// runs; `None` for an accessor, or when the chain is longer than 64 objects.
pub(crate) fn data_property(object: &JsObject, key: &str) -> Option<JsValue> {
    let key = boa_engine::property::PropertyKey::from(JsString::from(key));
    let mut current = Some(object.clone());
    for _ in 0..64 {
        let o = current?;
        if let Some(desc) = o.borrow().properties().get(&key) {
            return desc.value().cloned();
        }
        current = o.prototype();
    }
    None
}

/// The name of the built-in error type whose prototype is nearest on `object`'s prototype chain.
pub(crate) fn error_name(object: &JsObject, context: &Context) -> Option<&'static str> {
    let c = context.intrinsics().constructors();
    let kinds = [
        (c.type_error().prototype(), "TypeError"),
        (c.range_error().prototype(), "RangeError"),
        (c.reference_error().prototype(), "ReferenceError"),
        (c.syntax_error().prototype(), "SyntaxError"),
        (c.eval_error().prototype(), "EvalError"),
        (c.uri_error().prototype(), "URIError"),
        (c.aggregate_error().prototype(), "AggregateError"),
        (c.error().prototype(), "Error"),
    ];
    let mut current = object.prototype();
    for _ in 0..64 {
        let o = current?;
        if let Some((_, name)) = kinds.iter().find(|(proto, _)| *proto == o) {
            return Some(name);
        }
        current = o.prototype();
    }
    None
}

/// A result that is a promise is replaced by its value once the jobs ran (as in every vmpool engine): its
/// fulfilment value, an `exception` for a rejection, a `conversion` error if it is still pending.
pub(crate) fn settle_promise(
    value: JsValue,
    context: &mut Context,
) -> Result<JsValue, ScriptError> {
    let Some(object) = value.as_object() else {
        return Ok(value);
    };
    let Ok(promise) = JsPromise::from_object(object) else {
        return Ok(value);
    };
    match promise.state() {
        PromiseState::Fulfilled(v) => Ok(v),
        PromiseState::Rejected(reason) => {
            let e = JsError::from_opaque(reason);
            Err(ScriptError::new(
                ErrorKind::Exception,
                format!("promise rejected: {}", exception_message(&e, context)),
            ))
        }
        PromiseState::Pending => Err(ScriptError::new(
            ErrorKind::Conversion,
            "cannot convert: the result is a promise still pending when no job is left",
        )),
    }
}
