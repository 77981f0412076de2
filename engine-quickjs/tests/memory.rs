//! The memory limit is enforced by the allocator: a refused allocation fails the operation with kind `memory` even
//! when the script catches QuickJS's (catchable) out-of-memory error, and the pool discards the instance.

use std::time::Duration;

use engine_quickjs::{QuickJsEngine, QuickJsVm};
use pool_core::{DestroyReason, EngineConfig, ErrorKind, Limits, Pool, PooledVm, ScriptEngine};
use serde_json::json;

const PRELUDE: &str =
    "function swallow() { try { return 'y'.repeat(2 ** 28).length; } catch (e) { return -1; } }";

fn limits() -> Limits {
    Limits {
        // Long enough that none of these scripts could be stopped by the time limit instead.
        timeout: Duration::from_secs(60),
        memory_mb: 16,
        stack_kb: 256,
    }
}

fn engine() -> QuickJsEngine {
    QuickJsEngine::new(EngineConfig::new(PRELUDE).limits(limits())).unwrap()
}

/// Runs `run` on a pooled instance; checks that it failed with `memory` and that the pool discarded the instance
/// as tainted and keeps serving.
fn fails_with_memory_and_is_discarded(
    what: &str,
    run: impl FnOnce(
        &mut PooledVm<'_, QuickJsEngine>,
    ) -> Result<serde_json::Value, pool_core::ScriptError>,
) {
    let pool = Pool::builder(engine())
        .max_size(1)
        .preload_size(0)
        .build()
        .unwrap();
    let mut vm = pool.acquire().unwrap();
    let err = run(&mut vm).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{what}: {err}");
    assert!(err.message().contains("16 MiB"), "{what}: {err}");
    assert!(PooledVm::is_tainted(&vm), "{what}: not tainted");
    drop(vm);
    assert_eq!(
        pool.metrics().destroyed.get(DestroyReason::Tainted),
        1,
        "{what}"
    );
    assert_eq!(
        pool.acquire().unwrap().eval("1 + 1").unwrap(),
        json!(2),
        "{what}"
    );
}

#[test]
fn a_refused_allocation_caught_by_the_script_still_fails_with_memory() {
    fails_with_memory_and_is_discarded("one caught refusal", |vm| {
        vm.eval("try { 'y'.repeat(2 ** 28); } catch (e) {} 1")
    });
    fails_with_memory_and_is_discarded("refusals caught in a loop", |vm| {
        vm.eval("let r; for (let k = 0; k < 100; k++) { try { r = 'y'.repeat(2 ** 28); } catch (e) { r = e; } } 1")
    });
    fails_with_memory_and_is_discarded("caught in a call", |vm| vm.call("swallow", &[]));
    fails_with_memory_and_is_discarded("caught in a promise job", |vm| {
        vm.eval("Promise.resolve().then(swallow); 1")
    });
    // Each promise of the chain holds the previous one. A refusal in a job ends the chain, and the queue runs dry:
    // the call would return normally if the refusal were not recorded.
    fails_with_memory_and_is_discarded("an endless promise chain", |vm| {
        vm.eval("(function f() { return Promise.resolve().then(f); })(); 1")
    });
    fails_with_memory_and_is_discarded("caught and retried", |vm| {
        vm.eval(
            "const a = []; for (let k = 0; k < 1000; k++) { try { for (;;) { a.push('x'.repeat(4096) + k + a.length); } } catch (e) { a.length = 0; } } 1",
        )
    });
}

#[test]
fn a_refused_allocation_caught_by_the_prelude_fails_the_creation() {
    let err = QuickJsEngine::new(
        EngineConfig::new("try { 'y'.repeat(2 ** 28); } catch (e) {}").limits(limits()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
}

/// A script that keeps the heap full and catches everything it can is interrupted soon after the first refusal:
/// it does not run on until the time limit (it counts the errors it caught in a global, read afterwards; running
/// on for the 60 s time limit would catch millions).
#[test]
fn a_script_that_keeps_the_heap_full_and_catches_everything_is_stopped() {
    let sources = [
        "const keep = []; for (;;) { try { keep.push('x'.repeat(100000) + keep.length); } catch (e) { caught++; } }",
        "const keep = []; for (;;) { try { keep.push({ n: keep.length }); } catch (e) { caught++; } }",
        "const keep = []; for (;;) { try { try { keep.push(new Array(1e5).fill(1)); } finally { caught++; } } catch (e) { caught++; } }",
    ];
    let engine = engine();
    for source in sources {
        let mut vm = engine.create().unwrap();
        engine.eval(&mut vm, "var caught = 0;").unwrap();
        let err = engine.eval(&mut vm, source).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Memory, "{source}: {err}");
        assert!(engine.is_broken(&mut vm));
        assert!(
            heap_within_the_cap(&vm),
            "{source}: {} bytes",
            vm.heap_bytes()
        );
        let caught = engine.eval(&mut vm, "caught").unwrap();
        assert!(
            caught.as_u64().is_some_and(|n| n < 100_000),
            "{source}: caught {caught} errors before it was stopped"
        );
    }
}

/// The heap never passes 1.5 times the limit.
fn heap_within_the_cap(vm: &QuickJsVm) -> bool {
    vm.heap_bytes() <= limits().memory_bytes() / 2 * 3
}

#[test]
fn allocation_heavy_scripts_within_the_limit_succeed() {
    let engine = engine();
    let mut vm = engine.create().unwrap();
    let churn = "let n = 0; for (let i = 0; i < 300; i++) { const a = new Array(100000).fill(i); n += a.length; } n";
    for _ in 0..3 {
        assert_eq!(engine.eval(&mut vm, churn).unwrap(), json!(30_000_000));
        assert_eq!(
            engine.eval(&mut vm, "'z'.repeat(4 << 20).length").unwrap(),
            json!(4 << 20)
        );
        assert_eq!(
            engine
                .eval(&mut vm, "const m = new Map(); for (let i = 0; i < 50000; i++) m.set(i, { i, s: String(i) }); m.size")
                .unwrap(),
            json!(50_000)
        );
        engine.reset(&mut vm).unwrap();
    }
    assert!(!engine.is_broken(&mut vm));
    assert!(vm.heap_bytes() <= limits().memory_bytes());
}

/// The allocator's count goes back down as QuickJS frees memory: many uses that allocate (cyclic garbage and
/// left-behind globals included), each followed by a reset, do not make it drift upwards.
#[test]
fn the_heap_count_does_not_drift_over_uses_and_resets() {
    let engine = engine();
    let mut vm = engine.create().unwrap();
    let idle = vm.heap_bytes();
    assert!(idle > 0);
    assert!(
        idle >= engine.memory_usage(&mut vm).unwrap(),
        "the allocator's count includes QuickJS's own"
    );
    let use_once = "var leftover = new Array(20000).fill('v'); \
                    const ring = []; for (let i = 0; i < 2000; i++) { const o = { i }; o.self = o; ring.push(o); } \
                    JSON.stringify(ring.slice(0, 3).map((o) => o.i))";
    let mut after = Vec::new();
    for _ in 0..200 {
        assert_eq!(engine.eval(&mut vm, use_once).unwrap(), json!("[0,1,2]"));
        engine.reset(&mut vm).unwrap();
        after.push(vm.heap_bytes());
    }
    let early = *after[10..50].iter().max().unwrap();
    let late = *after[150..].iter().max().unwrap();
    assert!(
        late <= early + (64 << 10),
        "the heap drifted: at most {early} bytes after uses 10-50, {late} after uses 150-200 (idle {idle})"
    );
    assert!(
        late <= idle + (4 << 20),
        "{late} bytes after 200 uses, {idle} idle"
    );
}
