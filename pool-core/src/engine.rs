//! The [`ScriptEngine`] trait: what a backend implements to be pooled.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Isolation, Limits, PoolConfig};
use crate::error::{EngineError, ErrorKind, ScriptError};
use crate::host::{CallContext, HostApi};

/// An engine-neutral value passed to and returned from scripts.
///
/// JSON-like (null, booleans, numbers, strings, arrays, objects), so the same request runs on every engine and
/// results can be compared across engines.
pub type Value = serde_json::Value;

/// Largest magnitude up to which every integer is exactly representable in an `f64` (2^53).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

/// What engines say when a write to a frozen object or a read-only table is refused (QuickJS, Boa, Lua's views).
const REFUSED_WRITES: &[&str] = &[
    "is read-only",
    "object is not extensible",
    "cannot set non-writable property",
    "attempt to modify read-only table",
];

/// A request's exception with, under strict isolation, the reason a refused write was refused: a script that
/// writes to the prelude's objects or the built-ins (`TypeError: 'cache' is read-only`) learns that strict
/// isolation froze them, and which policies allow the write. Errors of other kinds or messages, and every error
/// under the other policies, are returned unchanged. Adapters apply it to the errors of requests (not of the
/// prelude, which runs before anything is frozen).
///
/// ```
/// use pool_core::engine::explain_refused_write;
/// use pool_core::{ErrorKind, Isolation, ScriptError};
/// let e = ScriptError::new(ErrorKind::Exception, "TypeError: 'yy' is read-only");
/// let m = explain_refused_write(Isolation::Strict, e.clone());
/// assert!(m.message().starts_with("TypeError: 'yy' is read-only (isolation = \"strict\""));
/// assert_eq!(explain_refused_write(Isolation::None, e.clone()), e);
/// ```
pub fn explain_refused_write(isolation: Isolation, error: ScriptError) -> ScriptError {
    let message = error.message();
    if isolation != Isolation::Strict
        || error.kind() != ErrorKind::Exception
        || !REFUSED_WRITES.iter().any(|p| message.contains(p))
    {
        return error;
    }
    // The first line holds the error; a stack trace may follow.
    let (first, rest) = message.split_once('\n').unwrap_or((message, ""));
    let mut explained = format!(
        "{first} (isolation = \"strict\" freezes the prelude's objects and the built-ins after creation, so that no \
         request can change what the next one sees; isolation = \"scrub\" or \"none\" allows writes to them, \
         without that protection; host functions stay read-only under every policy)"
    );
    if !rest.is_empty() {
        explained.push('\n');
        explained.push_str(rest);
    }
    ScriptError::new(ErrorKind::Exception, explained)
}

/// A script's number as a [`Value`], the same way in every engine: a float with an integral value within +-2^53
/// is a JSON integer (so `1 + 1` is `2` whether the engine computed an integer or a float, and `-0` is `0`, as
/// `JSON.stringify` gives), other finite numbers stay floats, and NaN and the infinities are `null`.
///
/// ```
/// use pool_core::engine::number_value;
/// assert_eq!(number_value(2.0), serde_json::json!(2));
/// assert_eq!(number_value(2.5), serde_json::json!(2.5));
/// assert_eq!(number_value(f64::NAN), serde_json::json!(null));
/// ```
pub fn number_value(f: f64) -> Value {
    if !f.is_finite() {
        return Value::Null;
    }
    if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER {
        // Exact: |f| <= 2^53 fits an i64 and has no fraction.
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(f as i64);
    }
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// A script engine that can be pooled: a factory of instances plus the operations on an instance.
///
/// The factory (`self`) holds what every instance shares (the prelude, the isolation policy, the limits) and is
/// shared by all threads; an instance ([`ScriptEngine::Vm`]) is used by one request at a time. Only
/// [`create`](ScriptEngine::create), [`eval`](ScriptEngine::eval) and [`call`](ScriptEngine::call) are required;
/// the pool calls [`is_broken`](ScriptEngine::is_broken) and then [`reset`](ScriptEngine::reset) whenever an
/// instance comes back, and discards the instance if either says it cannot be reused.
///
/// An engine whose instance is not `Send` (Boa's `Context`) still implements this trait; wrap it in
/// `Carrier` to put it in a shared `Pool`.
///
/// # Example
/// ```
/// use pool_core::{ErrorKind, ScriptEngine, ScriptError, Value};
///
/// /// An "engine" whose instances are counters: `eval("n")` adds `n`.
/// struct Counter;
///
/// impl ScriptEngine for Counter {
///     type Vm = i64;
///     type Error = ScriptError;
///
///     fn create(&self) -> Result<i64, ScriptError> {
///         Ok(0)
///     }
///     fn eval(&self, vm: &mut i64, source: &str) -> Result<Value, ScriptError> {
///         let n: i64 = source.trim().parse().map_err(|_| ScriptError::new(ErrorKind::Syntax, "not a number"))?;
///         *vm += n;
///         Ok(Value::from(*vm))
///     }
///     fn call(&self, vm: &mut i64, _function: &str, _args: &[Value]) -> Result<Value, ScriptError> {
///         Ok(Value::from(*vm))
///     }
///     fn reset(&self, vm: &mut i64) -> Result<(), ScriptError> {
///         *vm = 0;
///         Ok(())
///     }
/// }
///
/// let mut vm = Counter.create()?;
/// assert_eq!(Counter.eval(&mut vm, "2")?, Value::from(2));
/// # Ok::<(), ScriptError>(())
/// ```
pub trait ScriptEngine: Send + Sync + 'static {
    /// One engine instance. The pool needs it to be `Send`; see `Carrier` for engines whose
    /// instances are not.
    type Vm: 'static;
    /// The engine's error. It must tell its coarse [`ErrorKind`] so that the pool can discard
    /// an instance that hit a limit and tools can compare failures across engines.
    type Error: EngineError;

    /// Creates a ready instance (runs the prelude).
    ///
    /// # Errors
    /// When the instance cannot be made (for example the prelude has a syntax error).
    fn create(&self) -> Result<Self::Vm, Self::Error>;

    /// Evaluates `source` in the instance and converts its completion value.
    ///
    /// # Errors
    /// Syntax errors, exceptions thrown by the script, limits hit, values that cannot be converted.
    fn eval(&self, vm: &mut Self::Vm, source: &str) -> Result<Value, Self::Error>;

    /// Calls the global function `function` with `args` and converts its result.
    ///
    /// # Errors
    /// As for [`eval`](ScriptEngine::eval), and when `function` is not a global function.
    fn call(&self, vm: &mut Self::Vm, function: &str, args: &[Value])
    -> Result<Value, Self::Error>;

    /// [`eval`](ScriptEngine::eval) with `context` current for the host functions it calls (see
    /// [`host`](crate::host)); the context is gone when this returns. The default ignores the context: an engine
    /// without host functions has nothing that could see it.
    ///
    /// # Errors
    /// As for [`eval`](ScriptEngine::eval).
    fn eval_with(
        &self,
        vm: &mut Self::Vm,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, Self::Error> {
        let _ = context;
        self.eval(vm, source)
    }

    /// [`call`](ScriptEngine::call) with `context` current for the host functions it calls; as
    /// [`eval_with`](ScriptEngine::eval_with).
    ///
    /// # Errors
    /// As for [`call`](ScriptEngine::call).
    fn call_with(
        &self,
        vm: &mut Self::Vm,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, Self::Error> {
        let _ = context;
        self.call(vm, function, args)
    }

    /// Makes the instance ready for the next, unrelated use (the isolation policy). Called by the pool whenever an
    /// instance is returned.
    ///
    /// # Errors
    /// When the instance cannot be brought back to its baseline; the pool then discards it.
    fn reset(&self, _vm: &mut Self::Vm) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A quick check, made when an instance is returned, whether it must not be reused.
    fn is_broken(&self, _vm: &mut Self::Vm) -> bool {
        false
    }

    /// Bytes the instance currently uses, where the engine can tell.
    fn memory_usage(&self, _vm: &mut Self::Vm) -> Option<usize> {
        None
    }
}

/// What every engine adapter is configured with: the prelude, the isolation policy and the limits.
///
/// Adapters take this one type so that a `[vm_pool]` section configures every backend the same way.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Source run once in every new instance, typically defining the handlers. Default: empty.
    pub prelude: String,
    /// Name of the prelude in error messages and stack traces. Default: `"prelude"`.
    pub prelude_name: String,
    /// What a reset between uses guarantees. Default: [`Isolation::Strict`].
    pub isolation: Isolation,
    /// Per-call limits. Default: [`Limits::default`].
    pub limits: Limits,
    /// Whether a reset compares the instance with the baseline taken at creation and fails (so the pool discards
    /// the instance) on a mismatch. Default: `true`.
    pub verify_reset: bool,
    /// Longest source `eval` accepts, in bytes; longer source fails with a `syntax` error before parsing. The
    /// prelude is not limited. Default: 4 MiB.
    pub max_source_bytes: usize,
    /// The host functions, modules and console every instance gets. Default: [`HostApi::new`] (`console` and
    /// `vmpool.context()` only).
    pub host: Arc<HostApi>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            prelude: String::new(),
            prelude_name: "prelude".to_owned(),
            isolation: Isolation::default(),
            limits: Limits::default(),
            verify_reset: true,
            max_source_bytes: 4 * 1024 * 1024,
            host: Arc::new(HostApi::new()),
        }
    }
}

impl EngineConfig {
    /// An engine configuration with `prelude` and the defaults for everything else.
    pub fn new(prelude: impl Into<String>) -> Self {
        Self {
            prelude: prelude.into(),
            ..Self::default()
        }
    }

    /// Takes the isolation policy and limits of a pool configuration.
    pub fn from_pool_config(config: &PoolConfig, prelude: impl Into<String>) -> Self {
        Self {
            prelude: prelude.into(),
            isolation: config.isolation,
            limits: config.limits.clone(),
            ..Self::default()
        }
    }

    /// Sets the isolation policy.
    #[must_use]
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the per-call timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// Sets the host functions, modules and console of every instance.
    #[must_use]
    pub fn host(mut self, host: HostApi) -> Self {
        self.host = Arc::new(host);
        self
    }

    /// Sets the prelude's name in error messages.
    #[must_use]
    pub fn prelude_name(mut self, name: impl Into<String>) -> Self {
        self.prelude_name = name.into();
        self
    }

    /// Sets whether `reset` re-checks the baseline.
    #[must_use]
    pub fn verify_reset(mut self, verify: bool) -> Self {
        self.verify_reset = verify;
        self
    }

    /// Sets the largest source `eval` accepts, in bytes.
    #[must_use]
    pub fn max_source_bytes(mut self, bytes: usize) -> Self {
        self.max_source_bytes = bytes;
        self
    }

    /// `source` against [`max_source_bytes`](EngineConfig::max_source_bytes), as every adapter checks it before
    /// parsing: see [`check_source_size`].
    ///
    /// # Errors
    /// A `syntax` error naming the size, the limit and the key.
    pub fn check_source_size(&self, source: &str) -> Result<(), ScriptError> {
        check_source_size(source, self.max_source_bytes)
    }
}

/// A source longer than `max_source_bytes` is refused before anything parses it, with the same `syntax` error on
/// every engine.
///
/// ```
/// let err = pool_core::engine::check_source_size("1 + 1", 3).unwrap_err();
/// assert_eq!(err.kind(), pool_core::ErrorKind::Syntax);
/// assert_eq!(err.message(), "source is 5 bytes, over the limit of 3 bytes (max_source_bytes)");
/// assert!(pool_core::engine::check_source_size("1", 3).is_ok());
/// ```
///
/// # Errors
/// The `syntax` error, when `source` is longer.
pub fn check_source_size(source: &str, max_source_bytes: usize) -> Result<(), ScriptError> {
    if source.len() > max_source_bytes {
        return Err(ScriptError::new(
            ErrorKind::Syntax,
            format!(
                "source is {} bytes, over the limit of {max_source_bytes} bytes (max_source_bytes)",
                source.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_shared_rules() {
        assert_eq!(number_value(2.0), Value::from(2));
        assert_eq!(number_value(-0.0), Value::from(0));
        assert_eq!(number_value(1.5), serde_json::json!(1.5));
        assert_eq!(
            number_value(MAX_SAFE_INTEGER),
            Value::from(9_007_199_254_740_992_i64)
        );
        assert_eq!(
            number_value(MAX_SAFE_INTEGER * 2.0),
            serde_json::json!(18_014_398_509_481_984.0)
        );
        assert_eq!(number_value(f64::NAN), Value::Null);
        assert_eq!(number_value(f64::INFINITY), Value::Null);
        assert_eq!(number_value(f64::NEG_INFINITY), Value::Null);
    }
}
