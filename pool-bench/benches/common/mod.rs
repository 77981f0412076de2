//! Helpers shared by the engine benches.
#![allow(dead_code)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::Criterion;
use pool_bench::{Backend, BackendVisitor, EngineKind, Job};
use pool_core::{EngineConfig, Isolation, Pool, PoolConfig};

/// Criterion settings that keep the whole suite to a few minutes on a 2-core machine.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args()
}

/// Runs `benches` on a thread with enough native stack for every engine (Boa runs each operation on a 256 MiB
/// stack and would otherwise map a fresh stack segment per operation), then prints criterion's summary.
pub fn main_on_big_stack(benches: fn(&mut Criterion)) {
    let stack = EngineKind::compiled()
        .into_iter()
        .filter_map(|k| k.dispatch(StackOf).ok())
        .max()
        .unwrap_or(8 << 20);
    std::thread::Builder::new()
        .name("bench".into())
        .stack_size(stack)
        .spawn(move || {
            let mut c = criterion();
            benches(&mut c);
            c.final_summary();
        })
        .expect("bench thread starts")
        .join()
        .expect("benches ran");
}

struct StackOf;
impl BackendVisitor for StackOf {
    type Output = usize;
    fn visit<B: Backend>(self) -> usize {
        B::thread_stack_bytes(&pool_core::Limits::default())
    }
}

/// The engine configuration for `job` with `isolation`.
pub fn engine_config(job: &Job, isolation: Isolation) -> EngineConfig {
    EngineConfig::new(job.prelude.clone())
        .prelude_name(job.prelude_name.clone())
        .isolation(isolation)
        .host(job.host.clone())
}

/// A pool of `size` preloaded instances of `B` for `job`, with `isolation`.
pub fn pool<B: Backend>(job: &Job, isolation: Isolation, size: usize) -> Pool<B::Pooled> {
    let config = PoolConfig {
        max_size: size,
        preload_size: size,
        isolation,
        ..PoolConfig::default()
    };
    let engine = B::pooled(engine_config(job, isolation)).expect("the engine builds");
    Pool::new(engine, config).expect("the pool builds")
}

/// Runs `op` `iters` times on each of `threads` threads (with `stack` bytes of stack) started together; returns
/// the wall time.
pub fn on_threads(
    threads: usize,
    iters: u64,
    stack: usize,
    op: impl Fn() + Send + Sync + 'static,
) -> Duration {
    let op = Arc::new(op);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (op, barrier) = (op.clone(), barrier.clone());
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    barrier.wait();
                    for _ in 0..iters {
                        op();
                    }
                })
                .expect("bench worker starts")
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("bench worker ran");
    }
    start.elapsed()
}
