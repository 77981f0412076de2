//! Per engine, on the engine issues' JSON handler: (a) a fresh instance per request (create with the prelude, call,
//! drop; built with `Isolation::None`, since an instance used once needs no reset and strict lockdown would make
//! QuickJS creation several milliseconds), (b) a pooled instance under the default isolation (strict, reset and
//! its verification included), and the same pooled request under `none` and `scrub`, so that the cost of isolation
//! shows separately. For Boa also a no-op call through the carrier against the same call on a bare instance (the
//! carrier's round trip).
//!
//! `cargo bench -p pool-bench --bench engines`
#![allow(missing_docs)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use pool_bench::{Backend, BackendVisitor, EngineKind, Language, Workload};
use pool_core::{Isolation, ScriptEngine};

struct JsonHandler<'a>(&'a mut Criterion);

impl BackendVisitor for JsonHandler<'_> {
    type Output = ();
    fn visit<B: Backend>(self) {
        let c = self.0;
        let kind = B::KIND;
        let job = Workload::JsonHandler.job(kind.language());
        let mut g = c.benchmark_group(format!("json_handler/{kind}"));
        g.throughput(Throughput::Elements(1));

        let fresh = B::bare(common::engine_config(&job, Isolation::None)).expect("engine");
        g.bench_function("fresh", |b| {
            b.iter(|| {
                let mut vm = fresh.create().expect("create");
                black_box(job.request.run(&fresh, &mut vm, 0).expect("call"));
            })
        });

        for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
            let pool = common::pool::<B>(&job, isolation, 1);
            let name = match isolation {
                Isolation::Strict => "pooled".to_owned(),
                other => format!("pooled_{other}"),
            };
            g.bench_function(name, |b| {
                b.iter(|| {
                    let mut vm = pool.acquire().expect("acquire");
                    black_box(job.request.run_pooled(&mut vm, 0).expect("call"));
                })
            });
        }

        // The reset alone, per policy (what isolation costs on every release).
        for isolation in [Isolation::Strict, Isolation::Scrub] {
            let engine = B::bare(common::engine_config(&job, isolation)).expect("engine");
            let mut vm = engine.create().expect("create");
            g.bench_function(format!("reset_{isolation}"), |b| {
                b.iter(|| engine.reset(&mut vm).expect("reset"))
            });
        }
        g.finish();
    }
}

struct CarrierRoundTrip<'a>(&'a mut Criterion);

impl BackendVisitor for CarrierRoundTrip<'_> {
    type Output = ();
    fn visit<B: Backend>(self) {
        // Only engines whose pooled form differs from the bare one go through a carrier.
        if std::any::TypeId::of::<B::Bare>() == std::any::TypeId::of::<B::Pooled>() {
            return;
        }
        let c = self.0;
        let kind = B::KIND;
        assert_eq!(kind.language(), Language::JavaScript);
        let config = pool_core::EngineConfig::new("function noop() {}");
        let mut g = c.benchmark_group(format!("noop_call/{kind}"));
        g.throughput(Throughput::Elements(1));
        let bare = B::bare(config.clone()).expect("engine");
        let mut vm = bare.create().expect("create");
        g.bench_function("bare", |b| {
            b.iter(|| black_box(bare.call(&mut vm, "noop", &[]).expect("call")))
        });
        let carried = B::pooled(config).expect("engine");
        let mut handle = carried.create().expect("create");
        g.bench_function("carrier", |b| {
            b.iter(|| black_box(carried.call(&mut handle, "noop", &[]).expect("call")))
        });
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    for kind in EngineKind::compiled() {
        kind.dispatch(JsonHandler(&mut *c)).expect("compiled in");
    }
    for kind in EngineKind::compiled() {
        kind.dispatch(CarrierRoundTrip(&mut *c))
            .expect("compiled in");
    }
}

fn main() {
    common::main_on_big_stack(benches);
}
