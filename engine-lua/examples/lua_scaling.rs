//! Measures how the Lua adapter alone scales from 1 to 2 threads (run in release, on an otherwise idle machine):
//! `cargo run --release -p engine-lua --example lua_scaling`
//!
//! Each request is a call of the JSON handler plus the strict reset with verification, on 2 instances that are
//! either pinned (one per thread) or shared through a mutex-protected queue (oldest idle first, so that they
//! change threads on most requests: the worst case for a pool). Prints requests per second and the CPU time per
//! request of the worker threads (from `/proc/thread-self/schedstat`): with 2 threads the wall-clock ratio shows
//! the scaling, and the CPU time per request whether the threads slowed each other down (it stays the same when
//! they do not). Another busy process on a 2-core machine makes both meaningless.

use std::collections::VecDeque;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

use engine_lua::{LuaEngine, LuaVm};
use pool_core::{EngineConfig, Isolation, ScriptEngine, Value};
use serde_json::json;

const HANDLER: &str = r#"function handle(input) local s=0 for _,v in ipairs(input.items) do s=s+v end return string.format('{"sum":%d,"n":%d}', s, #input.items) end"#;

/// CPU time of the calling thread, in nanoseconds.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Requests per second and CPU nanoseconds per request for `threads` threads of `iters` requests each.
fn run(engine: &Arc<LuaEngine>, threads: usize, shared: bool, iters: usize) -> (f64, f64) {
    let idle: Arc<Mutex<VecDeque<LuaVm>>> = Arc::new(Mutex::new(
        (0..2).map(|_| engine.create().expect("create")).collect(),
    ));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (engine, idle, barrier) = (engine.clone(), idle.clone(), barrier.clone());
            std::thread::spawn(move || {
                let args = [
                    json!({ "items": (1..=10).collect::<Vec<i64>>() }),
                    Value::from(0),
                ];
                let mut pinned = if shared {
                    None
                } else {
                    idle.lock().unwrap().pop_back()
                };
                barrier.wait();
                let start = cpu_ns();
                for _ in 0..iters {
                    let mut vm = match pinned.take() {
                        Some(vm) => vm,
                        None => idle.lock().unwrap().pop_front().expect("an idle instance"),
                    };
                    std::hint::black_box(engine.call(&mut vm, "handle", &args).expect("call"));
                    engine.reset(&mut vm).expect("reset");
                    if shared {
                        idle.lock().unwrap().push_back(vm);
                    } else {
                        pinned = Some(vm);
                    }
                }
                cpu_ns() - start
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let cpu: u64 = handles.into_iter().map(|h| h.join().expect("worker")).sum();
    let requests = (threads * iters) as f64;
    (
        requests / start.elapsed().as_secs_f64(),
        cpu as f64 / requests,
    )
}

fn main() {
    let engine = Arc::new(
        LuaEngine::new(EngineConfig::new(HANDLER).isolation(Isolation::Strict)).expect("engine"),
    );
    for round in 1..=3 {
        for shared in [false, true] {
            let (one, cpu_one) = run(&engine, 1, shared, 100_000);
            let (two, cpu_two) = run(&engine, 2, shared, 100_000);
            println!(
                "round {round}, instances {}: 1 thread {one:.0} req/s ({cpu_one:.0} ns CPU/req), 2 threads {two:.0} req/s ({cpu_two:.0} ns CPU/req): {:.2}x, CPU per request {:.2}x",
                if shared { "shared" } else { "pinned" },
                two / one,
                cpu_two / cpu_one
            );
        }
    }
}
