//! Pooled throughput of the JSON handler at 1 and 2 threads, per engine (strict isolation, a pool of 2 preloaded
//! instances). Criterion reports elements per second; one element is one request. Target: at 2 threads at least
//! 1.8x the 1-thread throughput for the engines whose instances are `Send` (QuickJS, Lua).
//!
//! Criterion takes all of an engine's 1-thread samples and then all its 2-thread samples, so the ratio of the two
//! also carries whatever the machine did in between; `vmpool-bench scale` measures both back to back in
//! alternating rounds, beside private instances and a reference loop, and reports the median ratio.
//!
//! `cargo bench -p pool-bench --bench throughput`
#![allow(missing_docs)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use pool_bench::{Backend, BackendVisitor, EngineKind, Workload};
use pool_core::Isolation;

struct Threads<'a>(&'a mut Criterion);

impl BackendVisitor for Threads<'_> {
    type Output = ();
    fn visit<B: Backend>(self) {
        let kind = B::KIND;
        let job = Workload::JsonHandler.job(kind.language());
        let pool = common::pool::<B>(&job, Isolation::Strict, 2);
        let stack = B::thread_stack_bytes(&pool.config().limits);
        let mut g = self.0.benchmark_group(format!("throughput/{kind}"));
        for threads in [1usize, 2] {
            // One iteration is one request on each thread.
            g.throughput(Throughput::Elements(threads as u64));
            g.bench_function(format!("{threads}_threads"), |b| {
                b.iter_custom(|iters| {
                    let pool = pool.clone();
                    let request = job.request.clone();
                    common::on_threads(threads, iters, stack, move || {
                        let mut vm = pool.acquire().expect("acquire");
                        black_box(request.run_pooled(&mut vm, 0).expect("request"));
                    })
                })
            });
        }
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    for kind in EngineKind::compiled() {
        kind.dispatch(Threads(&mut *c)).expect("compiled in");
    }
}

fn main() {
    common::main_on_big_stack(benches);
}
