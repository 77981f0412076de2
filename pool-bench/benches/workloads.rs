//! Pooled against fresh, per engine and built-in workload (`1 + 1`, `fibonacci(20)` ten times, the JSON
//! handler), one request at a time. Pooled: strict isolation, reset included; fresh: create with the prelude, run,
//! drop (`Isolation::None`).
//!
//! `cargo bench -p pool-bench --bench workloads`
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use pool_bench::{Backend, BackendVisitor, EngineKind, Workload};
use pool_core::{Isolation, ScriptEngine};

struct Workloads<'a>(&'a mut Criterion);

impl BackendVisitor for Workloads<'_> {
    type Output = ();
    fn visit<B: Backend>(self) {
        let kind = B::KIND;
        for workload in Workload::ALL {
            let job = workload.job(kind.language());
            let expected = workload.expected();
            let mut g = self
                .0
                .benchmark_group(format!("workload/{kind}/{workload}"));
            g.throughput(Throughput::Elements(1));
            if workload == Workload::Fibonacci {
                // Milliseconds per request: few, equal samples.
                g.sampling_mode(SamplingMode::Flat)
                    .sample_size(10)
                    .warm_up_time(Duration::from_millis(300))
                    .measurement_time(Duration::from_secs(2));
            }
            let pool = common::pool::<B>(&job, Isolation::Strict, 1);
            g.bench_function("pooled", |b| {
                b.iter(|| {
                    let mut vm = pool.acquire().expect("acquire");
                    let out = job.request.run_pooled(&mut vm, 0).expect("request");
                    debug_assert_eq!(out, expected);
                    black_box(out)
                })
            });
            let fresh = B::bare(common::engine_config(&job, Isolation::None)).expect("engine");
            g.bench_function("fresh", |b| {
                b.iter(|| {
                    let mut vm = fresh.create().expect("create");
                    black_box(job.request.run(&fresh, &mut vm, 0).expect("request"))
                })
            });
            g.finish();
        }
    }
}

fn benches(c: &mut Criterion) {
    for kind in EngineKind::compiled() {
        kind.dispatch(Workloads(&mut *c)).expect("compiled in");
    }
}

fn main() {
    common::main_on_big_stack(benches);
}
