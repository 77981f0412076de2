//! Helpers shared by the test files.
#![allow(dead_code)]

use std::time::Duration;

use engine_lua::{LuaEngine, LuaVm};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError, Value};

/// An engine with `prelude`, a short timeout (tests of the timeout must not take long) and the other defaults.
pub fn engine(prelude: &str) -> LuaEngine {
    LuaEngine::new(EngineConfig::new(prelude).timeout(Duration::from_millis(200))).expect("engine")
}

/// An engine with `prelude` and the isolation policy `isolation`.
pub fn engine_with(prelude: &str, isolation: Isolation) -> LuaEngine {
    LuaEngine::new(
        EngineConfig::new(prelude)
            .timeout(Duration::from_millis(200))
            .isolation(isolation),
    )
    .expect("engine")
}

/// An engine and one instance of it.
pub fn vm(prelude: &str) -> (LuaEngine, LuaVm) {
    let engine = engine(prelude);
    let vm = engine.create().expect("create");
    (engine, vm)
}

/// Evaluates `source` and expects success.
pub fn eval(engine: &LuaEngine, vm: &mut LuaVm, source: &str) -> Value {
    engine
        .eval(vm, source)
        .unwrap_or_else(|e| panic!("eval({source:?}) failed: {e}"))
}

/// Evaluates `source` and expects a failure of `kind`; returns the error.
pub fn eval_err(engine: &LuaEngine, vm: &mut LuaVm, source: &str, kind: ErrorKind) -> ScriptError {
    match engine.eval(vm, source) {
        Ok(v) => panic!("eval({source:?}) returned {v} instead of failing with {kind}"),
        Err(e) => {
            assert_eq!(
                e.kind(),
                kind,
                "eval({source:?}) failed with {e}, expected kind {kind}"
            );
            e
        }
    }
}

/// Runs `f` on its own thread and fails the test if it has not returned within 60 s (a regression here would
/// otherwise hang the test run).
pub fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: still running after 60 s"))
}
