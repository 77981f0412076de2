//! Measures (release) what the Boa adapter costs: a new context, a new instance per isolation policy, each
//! policy's reset, a warm call of a JSON handler, and process RSS over 10 000 reset cycles (the leak probe).
//!
//! `cargo run --release -p engine-boa --example boa_isolation`

use std::time::{Duration, Instant};

use engine_boa::{BoaEngine, ENGINE_STACK_BYTES};
use pool_core::{EngineConfig, Isolation, ScriptEngine};
use serde_json::json;

const HANDLER: &str = "function handle(input){ return JSON.stringify({sum: input.items.reduce((a,b)=>a+b,0), n: input.items.length}) }";

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn per_op(label: &str, n: u32, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    let each = start.elapsed() / n;
    println!("{label:<48} {each:>12.2?}");
    each
}

fn measure() {
    let input = json!({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]});
    per_op("new boa Context (Context::default)", 50, || {
        drop(boa_engine::Context::default())
    });
    for isolation in [Isolation::None, Isolation::Scrub, Isolation::Strict] {
        let engine = BoaEngine::new(EngineConfig::new(HANDLER).isolation(isolation)).unwrap();
        per_op(
            &format!("create (context + prelude + {isolation} setup)"),
            20,
            || drop(engine.create().unwrap()),
        );
        let mut vm = engine.create().unwrap();
        per_op(
            &format!("warm call of the JSON handler ({isolation})"),
            20_000,
            || {
                engine
                    .call(&mut vm, "handle", std::slice::from_ref(&input))
                    .unwrap();
            },
        );
        per_op(
            &format!("reset after a clean call ({isolation})"),
            20_000,
            || engine.reset(&mut vm).unwrap(),
        );
        per_op(&format!("call + reset ({isolation})"), 20_000, || {
            engine
                .call(&mut vm, "handle", std::slice::from_ref(&input))
                .unwrap();
            engine.reset(&mut vm).unwrap();
        });
        if isolation != Isolation::None {
            let mut i = 0u64;
            per_op(
                &format!("eval adding 2 globals + reset ({isolation})"),
                5_000,
                || {
                    i += 1;
                    engine
                        .eval(&mut vm, &format!("var v{i} = {i}; g{i} = {{}}; 1"))
                        .unwrap();
                    engine.reset(&mut vm).unwrap();
                },
            );
        }
    }

    // Leak probe: strict reset cycles that add globals, lexical bindings and pending jobs every time.
    let engine = BoaEngine::new(EngineConfig::new(HANDLER)).unwrap();
    let mut vm = engine.create().unwrap();
    let cycle = |vm: &mut engine_boa::BoaVm, i: u64| {
        engine
            .call(vm, "handle", std::slice::from_ref(&input))
            .unwrap();
        engine
            .eval(vm, &format!("let l = [{i}]; var v = {{a: l}}; g = new Array(100).fill({i}); Promise.resolve().then(() => g); 1"))
            .unwrap();
        engine.reset(vm).unwrap();
    };
    for i in 0..2_000 {
        cycle(&mut vm, i);
    }
    let warm = rss_kib();
    for i in 0..10_000 {
        cycle(&mut vm, i);
    }
    let after = rss_kib();
    println!("RSS after 2 000 warm-up cycles                   {warm:>9} KiB");
    println!(
        "RSS after 10 000 more strict cycles              {after:>9} KiB ({:+} KiB)",
        after as i64 - warm as i64
    );
    println!(
        "interned strings in the instance                 {:>9}",
        vm.interned_strings()
    );
}

fn main() {
    // On a thread with the engine stack, so that no operation needs a fresh stack segment.
    std::thread::Builder::new()
        .stack_size(ENGINE_STACK_BYTES + (1 << 20))
        .spawn(measure)
        .unwrap()
        .join()
        .unwrap();
    // The cost of `stacker` when the calling thread's stack is too small (8 MiB main thread).
    let engine = BoaEngine::new(EngineConfig::new(HANDLER)).unwrap();
    let mut vm = engine.create().unwrap();
    let input = json!({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]});
    per_op(
        "warm call on an 8 MiB thread (fresh stack segment)",
        5_000,
        || {
            engine
                .call(&mut vm, "handle", std::slice::from_ref(&input))
                .unwrap();
        },
    );
}
