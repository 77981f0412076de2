//! The heap limit, with the [`CountingAllocator`] installed as this test binary's global allocator: growth
//! between slices and jobs ends the call with `memory`, `memory_usage` follows the instance's heap, and through
//! the carrier a single allocation past the hard cap parks its thread instead of taking the process down.

mod common;

use std::time::Duration;

use common::assert_err;
use engine_boa::{BoaEngine, CountingAllocator};
use pool_core::{EngineConfig, ErrorKind, Isolation, Limits, Pool, ScriptEngine};
use serde_json::json;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

fn config(prelude: &str, memory_mb: u64) -> EngineConfig {
    EngineConfig::new(prelude).limits(Limits {
        timeout: Duration::from_secs(20),
        memory_mb,
        ..Limits::default()
    })
}

#[test]
fn growth_in_eval_call_and_jobs_is_a_memory_error_that_breaks_the_instance() {
    let e = BoaEngine::new(config(
        "function handle() { const a = []; for (let i = 0; ; i++) { a.push(i, 'k' + i); } }\n\
         function later() { return (async () => { const a = []; for (;;) { for (let i = 0; i < 10000; i++) a.push(i + 0.5); await null; } })(); }",
        16,
    ))
    .unwrap();
    for (what, run) in [
        (
            "eval",
            Box::new(|e: &BoaEngine, vm: &mut _| {
                e.eval(
                    vm,
                    "const a = []; for (let i = 0; ; i++) { a.push(i, i + 0.5, 'k' + i); }",
                )
            }) as Box<dyn Fn(&BoaEngine, &mut _) -> _>,
        ),
        (
            "call",
            Box::new(|e: &BoaEngine, vm: &mut _| e.call(vm, "handle", &[])),
        ),
        (
            "jobs",
            Box::new(|e: &BoaEngine, vm: &mut _| e.call(vm, "later", &[])),
        ),
    ] {
        let mut vm = e.create().unwrap();
        let err = assert_err(run(&e, &mut vm), ErrorKind::Memory, "limits.memory_mb");
        assert!(err.message().contains("limit of 16 MiB"), "{what}: {err}");
        // Stopped near the limit: "its heap reached N MiB".
        let reached: u64 = err
            .message()
            .rsplit("reached ")
            .next()
            .unwrap()
            .trim_end_matches(" MiB)")
            .parse()
            .unwrap();
        assert!((16..20).contains(&reached), "{what}: {err}");
        assert!(e.is_broken(&mut vm), "{what}");
    }
}

#[test]
fn memory_usage_follows_retained_data_and_ordinary_use_stays_under_the_limit() {
    let e = BoaEngine::new(
        config(
            "const keep = []; function handle(n) { keep.push(new Array(n).fill(1.5)); return keep.length; }\n\
             function echo(x) { return JSON.parse(JSON.stringify(x)); }",
            32,
        )
        .isolation(Isolation::None),
    )
    .unwrap();
    let mut vm = e.create().unwrap();
    let idle = e.memory_usage(&mut vm).unwrap();
    assert!(idle > 50 << 10 && idle < 4 << 20, "idle instance {idle}");
    // Ordinary use leaves garbage until the collector runs; `memory_usage` collects it first.
    for i in 0..200 {
        let out = e
            .call(&mut vm, "echo", &[json!({ "i": i, "items": [1, 2, 3] })])
            .unwrap();
        assert_eq!(out["i"], i);
        e.reset(&mut vm).unwrap();
    }
    let after_use = e.memory_usage(&mut vm).unwrap();
    assert!(after_use < idle + (1 << 20), "{idle} -> {after_use}");
    // The prelude keeps what `handle` pushes (not covered by any isolation policy): the heap grows with it...
    assert_eq!(
        e.call(&mut vm, "handle", &[json!(100_000)]).unwrap(),
        json!(1)
    );
    let grown = e.memory_usage(&mut vm).unwrap();
    // 100,000 doubles: 800,000 bytes of elements.
    assert!(grown > after_use + 800_000, "{after_use} -> {grown}");
    // ...until a call leaves it over the limit, which ends that call with `memory`.
    let mut hit = None;
    for n in 2..100 {
        match e.call(&mut vm, "handle", &[json!(200_000)]) {
            Ok(v) => assert_eq!(v, json!(n)),
            Err(err) => {
                hit = Some(err);
                break;
            }
        }
    }
    let err = hit.expect("the limit was reached");
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
    assert!(e.is_broken(&mut vm));
}

#[test]
fn through_the_carrier_one_allocation_past_the_hard_cap_parks_its_thread() {
    let mut cfg = config("", 16);
    cfg.limits.timeout = Duration::from_millis(500);
    let pool = Pool::builder(BoaEngine::pooled(cfg).unwrap())
        .max_size(1)
        .preload_size(0)
        .build()
        .unwrap();
    let parked = CountingAllocator::parked_threads();
    let mut vm = pool.acquire().unwrap();
    // Doubling a string: each step is one allocation twice the size of the last, inside one slice of the loop.
    let err = vm
        .eval("let s = 'x'; for (;;) { s = s + s; }")
        .expect_err("stopped");
    assert!(
        matches!(err, pool_core::CarrierError::Timeout(_)),
        "the carrier's deadline: {err}"
    );
    drop(vm);
    assert_eq!(CountingAllocator::parked_threads(), parked + 1);
    let m = pool.metrics();
    assert_eq!((m.created, m.destroyed.total()), (1, 1));
    // The pool goes on with a new instance on a new thread.
    assert_eq!(pool.acquire().unwrap().eval("1 + 1").unwrap(), json!(2));
}

#[test]
fn an_instance_left_over_its_limit_by_unchecked_source_is_not_used_again() {
    // Source with a `var` runs through `eval`, in one native call: nothing checks it while it runs, so the check
    // after the operation ends it with `memory`, whatever the script returned or threw.
    let e = BoaEngine::new(config("", 16)).unwrap();
    for ending in ["a.length", "throw new Error('done')"] {
        let mut vm = e.create().unwrap();
        let source = format!("var a = []; for (let i = 0; i < 3e6; i++) a.push(i + 0.5); {ending}");
        assert_err(
            e.eval(&mut vm, &source),
            ErrorKind::Memory,
            "limit of 16 MiB",
        );
        assert!(e.is_broken(&mut vm), "{ending}");
    }
}
