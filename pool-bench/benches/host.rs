//! The host API's costs, per engine, side by side in one run:
//! - `host_call/{engine}`: a script calls a no-op host function with one small argument 1,000 times
//!   (`host_x1000`), against the same loop calling a no-op script function (`script_x1000`). Throughput is per
//!   call, so criterion's "elements per second" reads as calls per second; per host call = the difference of the
//!   two times / 1,000.
//! - `context/{engine}`: the pooled JSON handler (acquire, call, release under the default isolation) without a
//!   context (`call`), with one attached and cleared (`call_with`), and with a new context made for each request
//!   (`call_with_new_context`, an id and a three-key JSON object): what a request's context costs.
//!
//! `cargo bench -p pool-bench --bench host`
#![allow(missing_docs)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use pool_bench::{Backend, BackendVisitor, EngineKind, Language, Workload};
use pool_core::host::{CallContext, HostApi};
use pool_core::{EngineConfig, Isolation, ScriptEngine, Value};

/// The scripts of the host-call loop, per language: `host_x1000` calls the host's `noop`, `script_x1000` a
/// script function that does as little.
fn loops(language: Language) -> &'static str {
    match language {
        Language::JavaScript => {
            "function nop(x) {}\n\
             function host_x1000() { for (let i = 0; i < 1000; i++) noop(i); }\n\
             function script_x1000() { for (let i = 0; i < 1000; i++) nop(i); }\n"
        }
        Language::Lua => {
            "local function nop(x) end\n\
             function host_x1000() for i = 1, 1000 do noop(i) end end\n\
             function script_x1000() for i = 1, 1000 do nop(i) end end\n"
        }
    }
}

struct HostCall<'a>(&'a mut Criterion);

impl BackendVisitor for HostCall<'_> {
    type Output = ();
    fn visit<B: Backend>(self) {
        let c = self.0;
        let kind = B::KIND;
        let host = HostApi::new().raw_function("noop", |_c, _args| Ok(Value::Null));
        let config = EngineConfig::new(loops(kind.language())).host(host);
        // The pooled form: Boa's calls go through its carrier thread, as they do in a pool.
        let engine = B::pooled(config).expect("engine");
        let mut vm = engine.create().expect("create");
        let mut g = c.benchmark_group(format!("host_call/{kind}"));
        g.throughput(Throughput::Elements(1000));
        for function in ["host_x1000", "script_x1000"] {
            g.bench_function(function, |b| {
                b.iter(|| black_box(engine.call(&mut vm, function, &[]).expect("call")))
            });
        }
        g.finish();
    }
}

struct Context<'a>(&'a mut Criterion);

impl BackendVisitor for Context<'_> {
    type Output = ();
    fn visit<B: Backend>(self) {
        let c = self.0;
        let kind = B::KIND;
        let job = Workload::JsonHandler.job(kind.language());
        let pool = common::pool::<B>(&job, Isolation::Strict, 1);
        let mut g = c.benchmark_group(format!("context/{kind}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("call", |b| {
            b.iter(|| {
                let mut vm = pool.acquire().expect("acquire");
                black_box(job.request.run_pooled(&mut vm, 0).expect("call"));
            })
        });
        let data = serde_json::json!({ "method": "GET", "path": "/", "user": "bench" });
        // Attaching a context and clearing it (the context itself made once).
        let context = CallContext::new("req-1").with_data(data.clone());
        g.bench_function("call_with", |b| {
            b.iter(|| {
                let mut vm = pool.acquire().expect("acquire");
                black_box(
                    job.request
                        .run_pooled_with(&mut vm, Some(&context), 0)
                        .expect("call"),
                );
            })
        });
        // The same with a new context per request, as a server makes one (an id and a small JSON object).
        g.bench_function("call_with_new_context", |b| {
            b.iter(|| {
                let context = CallContext::new("req-1").with_data(data.clone());
                let mut vm = pool.acquire().expect("acquire");
                black_box(
                    job.request
                        .run_pooled_with(&mut vm, Some(&context), 0)
                        .expect("call"),
                );
            })
        });
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    for kind in EngineKind::compiled() {
        kind.dispatch(HostCall(&mut *c)).expect("compiled in");
    }
    for kind in EngineKind::compiled() {
        kind.dispatch(Context(&mut *c)).expect("compiled in");
    }
}

fn main() {
    common::main_on_big_stack(benches);
}
