//! Where the memory of an idle Boa instance goes: RSS growth of a fresh process per stage of instance set-up.
//!
//! `cargo run --release -p engine-boa --example boa_memory [-- N REPEATS]`
//!
//! Every row is measured in a child process of its own (a process that freed memory before reuses it and
//! under-reports): it creates N instances of that stage, keeps them alive, and reports the growth of `VmRSS`
//! divided by N. Rows `... on carrier` create each instance through `BoaEngine::pooled`'s carrier (a thread per
//! instance); the others create them on the main thread, as pool-bench's memory column does.

use engine_boa::BoaEngine;
use pool_core::{EngineConfig, Isolation, ScriptEngine};
use serde_json::json;

const HANDLER: &str = "function handle(input){ return JSON.stringify({sum: input.items.reduce((a,b)=>a+b,0), n: input.items.length}) }";

const STAGES: &[&str] = &[
    "context",
    "none-empty",
    "none",
    "none+use",
    "scrub+use",
    "strict-noverify",
    "strict",
    "strict+use",
    "context on carrier",
    "none+use on carrier",
    "strict+use on carrier",
];

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)?
                    .strip_prefix(':')?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// RSS in KiB of the process's mappings by kind: `[heap]` (main arena), thread stacks (mappings of at least
/// 200 MiB), other anonymous mappings (other malloc arenas, Boa's large allocations).
fn smaps_kib() -> [u64; 3] {
    let text = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut out = [0u64; 3];
    let mut kind = 2;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            let mut range = first
                .split('-')
                .map(|x| u64::from_str_radix(x, 16).unwrap_or(0));
            let (a, b) = (range.next().unwrap_or(0), range.next().unwrap_or(0));
            let name = line.split_whitespace().nth(5).unwrap_or("");
            kind = if name == "[heap]" {
                0
            } else if b - a >= 200 << 20 {
                1
            } else if name.is_empty() {
                2
            } else {
                3
            };
        } else if first == "Rss:" && kind < 3 {
            out[kind] += words
                .next()
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    out
}

fn config(isolation: Isolation, prelude: &str, verify: bool) -> EngineConfig {
    let mut c = EngineConfig::new(prelude).isolation(isolation);
    c.verify_reset = verify;
    c
}

/// Creates `n` instances of `stage` and returns what keeps them alive.
fn build(stage: &str, n: usize) -> Box<dyn std::any::Any> {
    let input = json!({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]});
    let (base, carrier) = match stage.strip_suffix(" on carrier") {
        Some(b) => (b, true),
        None => (stage, false),
    };
    let (base, with_use) = match base.strip_suffix("+use") {
        Some(b) => (b, true),
        None => (base, false),
    };
    let cfg = match base {
        "context" => None,
        "none-empty" => Some(config(Isolation::None, "", false)),
        "none" => Some(config(Isolation::None, HANDLER, false)),
        "scrub" => Some(config(Isolation::Scrub, HANDLER, true)),
        "scrub-noverify" => Some(config(Isolation::Scrub, HANDLER, false)),
        "strict-noverify" => Some(config(Isolation::Strict, HANDLER, false)),
        "strict" => Some(config(Isolation::Strict, HANDLER, true)),
        other => panic!("unknown stage {other}"),
    };
    match (cfg, carrier) {
        (None, false) => Box::new(
            (0..n)
                .map(|_| boa_engine::Context::default())
                .collect::<Vec<_>>(),
        ),
        (None, true) => {
            // A bare context on a thread of its own with the carrier's stack size.
            let threads: Vec<_> = (0..n)
                .map(|_| {
                    let (tx, rx) = std::sync::mpsc::channel::<()>();
                    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
                    let t = std::thread::Builder::new()
                        .stack_size(engine_boa::ENGINE_STACK_BYTES + (1 << 20))
                        .spawn(move || {
                            let c = boa_engine::Context::default();
                            ready_tx.send(()).unwrap();
                            let _ = rx.recv();
                            drop(c);
                        })
                        .unwrap();
                    ready_rx.recv().unwrap();
                    (tx, t)
                })
                .collect();
            Box::new(threads)
        }
        (Some(cfg), false) => idle_instances(BoaEngine::new(cfg).unwrap(), n, with_use, &input),
        (Some(cfg), true) => idle_instances(BoaEngine::pooled(cfg).unwrap(), n, with_use, &input),
    }
}

/// `n` instances of `engine`, each after one call of the handler and its reset when `with_use` is set.
fn idle_instances<E: ScriptEngine>(
    engine: E,
    n: usize,
    with_use: bool,
    input: &serde_json::Value,
) -> Box<dyn std::any::Any> {
    let vms: Vec<_> = (0..n)
        .map(|_| {
            let mut vm = engine.create().unwrap();
            if with_use {
                engine
                    .call(&mut vm, "handle", &[input.clone(), json!(0)])
                    .unwrap();
                engine.reset(&mut vm).unwrap();
            }
            vm
        })
        .collect();
    Box::new((engine, vms))
}

fn child(stage: &str, n: usize) {
    // Warm up the process (first-use allocations of the runtime, Boa's statics) with one instance of the stage.
    if std::env::var_os("NOWARM").is_none() {
        drop(build(stage, 1));
    }
    if std::env::var_os("PRENEW").is_some() {
        // What pool-bench's memory probe does before its window: build the engine (a trial instance).
        drop(BoaEngine::new(config(Isolation::Strict, HANDLER, true)).unwrap());
    }
    let rss = status_kib("VmRSS");
    let anon = status_kib("RssAnon");
    let parts = smaps_kib();
    let started = std::time::Instant::now();
    let keep = build(stage, n);
    let took = started.elapsed();
    if std::env::var_os("TIME").is_some() {
        eprintln!("{stage}: {:?} per instance", took / n as u32);
    }
    let d_rss = (status_kib("VmRSS") - rss) * 1024 / n as u64;
    let after = smaps_kib();
    let d: Vec<String> = (0..3)
        .map(|i| ((after[i] as i64 - parts[i] as i64) / n as i64).to_string())
        .collect();
    let d_anon = status_kib("RssAnon") - anon;
    println!("{} {} {}", d_rss / 1024, d.join(" "), d_anon / n as u64);
    if std::env::var_os("LEAK").is_some() {
        // For heap profilers: whatever the instances hold shows up as leaked.
        // Abort: exiting would run the thread-local destructor of Boa's collector, which frees everything.
        std::mem::forget(keep);
        std::process::abort();
    }
    drop(keep);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--child" {
        child(&args[2], args[3].parse().unwrap());
        return;
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let repeats: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let exe = std::env::current_exe().unwrap();
    let stages: Vec<String> = match std::env::var("STAGES") {
        Ok(s) => s.split(',').map(str::to_owned).collect(),
        Err(_) => STAGES.iter().map(|s| (*s).to_owned()).collect(),
    };
    println!(
        "{n} instances per run, {repeats} runs; KiB per instance: VmRSS/[heap]/thread stacks/other anonymous"
    );
    for stage in &stages {
        let mut cells = Vec::new();
        for _ in 0..repeats {
            let out = std::process::Command::new(&exe)
                .args(["--child", stage, &n.to_string()])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            cells.push(format!("{:<20}", text.trim().replace(' ', "/")));
        }
        println!("{stage:<24} {}", cells.join("  "));
    }
}
