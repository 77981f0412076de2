//! Pool overhead: acquire + release of a no-op instance, against `object-pool` (`pull` + drop) and `deadpool`
//! unmanaged (`try_get` + drop), at 1 and 2 threads, side by side in one run.
//!
//! `cargo bench -p pool-bench --no-default-features --bench pool_overhead`
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pool_bench::NoopEngine;
use pool_core::Pool;

const SIZE: usize = 4;

fn vmpool() -> Pool<NoopEngine> {
    Pool::builder(NoopEngine)
        .max_size(SIZE)
        .preload_size(SIZE)
        .build()
        .unwrap()
}

/// Runs `op` `iters` times on each of `threads` threads started together; returns the wall time.
fn on_threads(threads: usize, iters: u64, op: impl Fn() + Send + Sync + 'static) -> Duration {
    let op = Arc::new(op);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (op, barrier) = (op.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    op();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn single_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("acquire_release/1_thread");
    g.throughput(Throughput::Elements(1));
    let pool = vmpool();
    g.bench_function("vmpool", |b| {
        b.iter(|| black_box(pool.try_acquire().unwrap()))
    });
    let op = object_pool::Pool::new(SIZE, || ());
    g.bench_function("object-pool", |b| b.iter(|| black_box(op.pull(|| ()))));
    let dp = deadpool::unmanaged::Pool::from(vec![(); SIZE]);
    g.bench_function("deadpool", |b| b.iter(|| black_box(dp.try_get().unwrap())));
    g.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("acquire_release/2_threads");
    // One iteration is one acquire + release on each of the two threads.
    g.throughput(Throughput::Elements(2));
    let pool = vmpool();
    g.bench_function("vmpool", |b| {
        b.iter_custom(|iters| {
            let pool = pool.clone();
            on_threads(2, iters, move || {
                drop(black_box(pool.try_acquire().unwrap()))
            })
        })
    });
    let op = Arc::new(object_pool::Pool::new(SIZE, || ()));
    g.bench_function("object-pool", |b| {
        b.iter_custom(|iters| {
            let op = op.clone();
            on_threads(2, iters, move || drop(black_box(op.pull(|| ()))))
        })
    });
    let dp = deadpool::unmanaged::Pool::from(vec![(); SIZE]);
    g.bench_function("deadpool", |b| {
        b.iter_custom(|iters| {
            let dp = dp.clone();
            on_threads(2, iters, move || drop(black_box(dp.try_get().unwrap())))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = single_thread, two_threads
}
criterion_main!(benches);
