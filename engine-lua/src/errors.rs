//! Error classification: how the outcome of a Lua call becomes a [`ScriptError`] of the right kind.
//!
//! A limit that was hit wins over whatever the script made of it: the instruction hook records which limit
//! stopped the call, an allocation failure or Lua's own stack overflow is recorded even when a script catches
//! it, and a fatal host-call failure wins over both. Lua's memory and stack errors become `memory` and `stack`
//! naming the limit, syntax errors `syntax` (with the chunk name and line: `eval:3: unexpected symbol near ...`),
//! anything raised by the script `exception`; an error object without `__tostring` is described by its type
//! rather than its address.

use pool_core::{ErrorKind, ScriptError};

use crate::limits::{self, LimitError};

/// The limits an error message names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Errors {
    /// `limits.memory_mb`.
    pub(crate) memory_mb: u64,
    /// `limits.stack_kb`.
    pub(crate) stack_kb: u64,
    /// The deepest call stack allowed, in Lua call frames.
    pub(crate) max_depth: usize,
}

impl Errors {
    /// The memory limit was hit.
    pub(crate) fn memory(&self) -> ScriptError {
        ScriptError::new(
            ErrorKind::Memory,
            format!("script ran past the memory limit of {} MiB", self.memory_mb),
        )
    }

    /// The stack limit was hit; `detail` is appended to the message.
    pub(crate) fn stack(&self, detail: &str) -> ScriptError {
        ScriptError::new(
            ErrorKind::Stack,
            format!(
                "script ran past the stack limit of {} KiB (at most {} Lua call frames){detail}",
                self.stack_kb, self.max_depth
            ),
        )
    }

    /// Classifies an error Lua raised.
    pub(crate) fn lua(&self, error: mlua::Error) -> ScriptError {
        match limits::limit_error(&error) {
            Some(LimitError::Memory) => return self.memory(),
            Some(LimitError::Stack(message)) => return self.stack(&format!(": {message}")),
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
            mlua::Error::CallbackError { cause, .. } => self.lua((*cause).clone()),
            mlua::Error::WithContext { cause, .. } => self.lua((*cause).clone()),
            other => internal(other),
        }
    }
}

/// Lua's text for an error object without `__tostring` is `table: 0x55...`; say what it is instead.
pub(crate) fn describe_error_object(message: &str) -> String {
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

/// An error of the engine itself (not of the script).
pub(crate) fn internal(error: mlua::Error) -> ScriptError {
    ScriptError::new(ErrorKind::Internal, format!("Lua engine failure: {error}"))
}
