//! The heap an idle Boa instance keeps, by isolation policy, as [`CountingAllocator`] counts it (what
//! pool-bench's memory column and `memory_usage` report).
//!
//! `cargo run --release -p engine-boa --example boa_heap`
//!
//! For each policy: 10 instances of the JSON handler, each after one call and its reset; the thread's net
//! allocation per instance (after a garbage collection), what `memory_usage` reports for it right after the
//! reset, and the median time of one more creation on a thread of its own (as on a carrier).

use engine_boa::{BoaEngine, CountingAllocator};
use pool_core::{EngineConfig, Isolation, ScriptEngine};
use serde_json::json;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

const HANDLER: &str = "function handle(input){ return JSON.stringify({sum: input.items.reduce((a,b)=>a+b,0), n: input.items.length}) }";
const N: isize = 10;

fn net() -> isize {
    boa_engine::gc::force_collect();
    CountingAllocator::thread_net_bytes()
}

fn main() {
    let input = json!({"items": [1, 2, 3]});
    drop(boa_engine::Context::default());
    let before = net();
    let contexts: Vec<_> = (0..N).map(|_| boa_engine::Context::default()).collect();
    println!("{:<18} {:>8} B", "bare Context", (net() - before) / N);
    drop(contexts);
    for (name, isolation, verify, prelude) in [
        ("none, no prelude", Isolation::None, false, ""),
        ("none", Isolation::None, false, HANDLER),
        ("scrub", Isolation::Scrub, true, HANDLER),
        ("strict, no verify", Isolation::Strict, false, HANDLER),
        ("strict", Isolation::Strict, true, HANDLER),
    ] {
        let mut config = EngineConfig::new(prelude).isolation(isolation);
        config.verify_reset = verify;
        let engine = BoaEngine::new(config).expect("engine");
        let before = net();
        let mut reported = 0;
        let vms: Vec<_> = (0..N)
            .map(|_| {
                let mut vm = engine.create().expect("create");
                if !prelude.is_empty() {
                    engine
                        .call(&mut vm, "handle", &[input.clone(), json!(0)])
                        .expect("call");
                }
                engine.reset(&mut vm).expect("reset");
                // Read while this instance's garbage is the thread's only garbage (as pool-bench does).
                reported += engine.memory_usage(&mut vm).unwrap_or(0);
                vm
            })
            .collect();
        let per_instance = (net() - before) / N;
        let reported = reported / vms.len();
        let mut times: Vec<_> = (0..9)
            .map(|_| {
                let engine = engine.clone();
                std::thread::spawn(move || {
                    let started = std::time::Instant::now();
                    drop(engine.create().expect("create"));
                    started.elapsed()
                })
                .join()
                .expect("thread")
            })
            .collect();
        times.sort();
        println!(
            "{name:<18} {per_instance:>8} B   memory_usage {reported:>8} B   create {:?}",
            times[times.len() / 2]
        );
    }
}
