//! Helpers shared by the engine-boa tests.
#![allow(dead_code)]

use std::time::Duration;

use engine_boa::{BoaEngine, BoaVm};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError};

/// An engine with `prelude`, `isolation` and a short timeout so that runaway tests stay fast in debug builds.
pub fn engine(prelude: &str, isolation: Isolation) -> BoaEngine {
    let config = EngineConfig::new(prelude)
        .isolation(isolation)
        .timeout(Duration::from_millis(300));
    BoaEngine::new(config).expect("engine")
}

/// An engine and one instance.
pub fn vm(prelude: &str, isolation: Isolation) -> (BoaEngine, BoaVm) {
    let e = engine(prelude, isolation);
    let vm = e.create().expect("create");
    (e, vm)
}

/// Asserts that `result` failed with `kind` and a message containing `needle`.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(
    result: Result<T, ScriptError>,
    kind: ErrorKind,
    needle: &str,
) -> ScriptError {
    let e = result.expect_err("expected an error");
    assert_eq!(e.kind(), kind, "wrong kind for {e}");
    assert!(
        e.message().contains(needle),
        "message {:?} does not contain {needle:?}",
        e.message()
    );
    e
}
