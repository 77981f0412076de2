//! How `call` reaches a global function: through a cached trampoline script per call arity, so that the call
//! runs in Boa's budgeted loop ([`budget`](crate::budget)) like any script.
//!
//! A trampoline is the script `__vmpool_boa_call__(0)(__vmpool_boa_call__(1), ...)`: the hidden global
//! `CALL_SLOT` is a native function that returns the values the host put in the instance's slot array (the
//! function to call, then its arguments). Each arity's script is parsed once per instance, on first use, and
//! kept (about 9 KB each).

use boa_engine::object::builtins::JsArray;
use boa_engine::property::Attribute;
use boa_engine::{Context, JsValue, NativeFunction, Script, Source, js_string};
use pool_core::{ErrorKind, ScriptError};

use crate::limits::ENGINE_STACK_BYTES;

/// The hidden global through which `call` passes the function and arguments to its trampoline script.
const CALL_SLOT: &str = "__vmpool_boa_call__";

/// An instance's trampoline scripts (by arity) and the slots they read.
pub(crate) struct Trampolines {
    slots: JsArray,
    scripts: Vec<Option<Script>>,
}

impl Trampolines {
    /// Installs the slot function as the hidden global [`CALL_SLOT`] of `context`.
    pub(crate) fn install(context: &mut Context) -> Result<Self, ScriptError> {
        let slots = JsArray::new(context).map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("cannot create the call slots: {e}"),
            )
        })?;
        let slot_fn = NativeFunction::from_copy_closure_with_captures(
            |_: &JsValue, args: &[JsValue], slots: &JsArray, context: &mut Context| {
                let index = args.first().and_then(JsValue::as_number).unwrap_or(-1.0);
                if index >= 0.0 && index < f64::from(u32::MAX) {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    return slots.get(index as u32, context);
                }
                Ok(JsValue::undefined())
            },
            slots.clone(),
        )
        .to_js_function(context.realm());
        context
            .register_global_property(js_string!(CALL_SLOT), slot_fn, Attribute::empty())
            .map_err(|e| {
                ScriptError::new(
                    ErrorKind::Internal,
                    format!("cannot install the call slot: {e}"),
                )
            })?;
        Ok(Self {
            slots,
            scripts: Vec::new(),
        })
    }

    /// The cached trampoline script for `values.len() - 1` arguments (parsed on first use), with the slots filled
    /// with `values`: the function to call, then its arguments.
    pub(crate) fn load(
        &mut self,
        context: &mut Context,
        values: Vec<JsValue>,
    ) -> Result<Script, ScriptError> {
        let arity = values.len().saturating_sub(1);
        if self.scripts.len() <= arity {
            self.scripts.resize(arity + 1, None);
        }
        let script = match &self.scripts[arity] {
            Some(s) => s.clone(),
            None => {
                let args: Vec<String> = (1..=arity).map(|i| format!("{CALL_SLOT}({i})")).collect();
                let text = format!("{CALL_SLOT}(0)({})", args.join(","));
                // On a stack segment of its own: the parser's recursion would leave stack pages resident on a
                // carrier thread (see `create`).
                let s = stacker::grow(ENGINE_STACK_BYTES, || {
                    Script::parse(Source::from_bytes(&text), None, context)
                })
                .map_err(|e| ScriptError::new(ErrorKind::Internal, format!("trampoline: {e}")))?;
                self.scripts[arity] = Some(s.clone());
                s
            }
        };
        for (i, v) in values.into_iter().enumerate() {
            let i = u32::try_from(i)
                .map_err(|_| ScriptError::new(ErrorKind::Conversion, "too many arguments"))?;
            self.slots
                .set(i, v, true, context)
                .map_err(|e| ScriptError::new(ErrorKind::Internal, format!("call slot: {e}")))?;
        }
        Ok(script)
    }

    /// Empties the slots after a call, so that they keep none of its values alive.
    pub(crate) fn clear(&self, context: &mut Context) {
        self.slots.set(js_string!("length"), 0, true, context).ok();
    }
}
