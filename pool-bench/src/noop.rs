//! [`NoopEngine`]: an engine whose instances do nothing, to measure the pool's own overhead.

use pool_core::{ScriptEngine, ScriptError, Value};

/// An engine whose instances do nothing: measures the pool's own overhead.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopEngine;

impl ScriptEngine for NoopEngine {
    type Vm = ();
    type Error = ScriptError;

    fn create(&self) -> Result<(), ScriptError> {
        Ok(())
    }
    fn eval(&self, _vm: &mut (), _source: &str) -> Result<Value, ScriptError> {
        Ok(Value::Null)
    }
    fn call(&self, _vm: &mut (), _function: &str, _args: &[Value]) -> Result<Value, ScriptError> {
        Ok(Value::Null)
    }
}
