//! Where the memory of a strict-isolation QuickJS instance goes: QuickJS's own accounting
//! (`JS_ComputeMemoryUsage`, by category) after each setup step, for the JSON handler prelude.
//!
//! ```sh
//! cargo run --release -p engine-quickjs --example memory_breakdown
//! PROBE=1 cargo run --release -p engine-quickjs --example memory_breakdown   # + lazily created built-ins first
//! CUSTOM=1 cargo run --release -p engine-quickjs --example memory_breakdown  # without atob/btoa/performance/DOMException
//! DROP_COMPILED=1 cargo run ...   # without Iterator.zip, Iterator.zipKeyed, Array.fromAsync (deleted before the lockdown)
//! SCRUB_FILE=scrub.js cargo run ... # another scrub script in place of pool-core's
//! ```
//!
//! `CUSTOM`, `DROP_COMPILED` and `SCRUB_FILE` are experiments (what the adapter would save), not what it does.
//!
//! It replays the adapter's strict set-up with rquickjs directly (prelude, lockdown, scrub, fingerprint), so that
//! each step's cost can be read off.

use rquickjs::context::intrinsic::{
    Date, Eval, Json, MapSet, Promise, Proxy, RegExp, RegExpCompiler, TypedArrays, WeakRef,
};
use rquickjs::{Context, Function, Runtime};

fn show(label: &str, rt: &Runtime) {
    let u = rt.memory_usage();
    println!(
        "{label:>12}: used {:>6} B | atoms {}/{} B, objects {}/{} B, properties {}/{} B, shapes {}/{} B, \
         bytecode functions {}/{} B (code {} B), C functions {}",
        u.memory_used_size,
        u.atom_count,
        u.atom_size,
        u.obj_count,
        u.obj_size,
        u.prop_count,
        u.prop_size,
        u.shape_count,
        u.shape_size,
        u.js_func_count,
        u.js_func_size,
        u.js_func_code_size,
        u.c_func_count,
    );
}

fn main() {
    let prelude = "function handle(input) { let s = 0; for (const x of input.items) s += x; \
                   return JSON.stringify({ sum: s, n: input.items.length }); }";
    let rt = Runtime::new().unwrap();
    let ctx = if std::env::var_os("CUSTOM").is_some() {
        Context::custom::<(
            Date,
            Eval,
            RegExpCompiler,
            RegExp,
            Json,
            Proxy,
            MapSet,
            TypedArrays,
            Promise,
            WeakRef,
        )>(&rt)
        .unwrap()
    } else {
        Context::full(&rt).unwrap()
    };
    show("context", &rt);
    let step = |label: &str, src: &str| {
        ctx.with(|ctx| ctx.eval::<(), _>(src).unwrap());
        show(label, &rt);
    };
    step("prelude", prelude);
    if std::env::var_os("PROBE").is_some() {
        step("fromAsync", "void Array.fromAsync");
        step("zip", "void Iterator.zip; void Iterator.zipKeyed");
        step(
            "lazy fns",
            "(function () { const seen = new Set(); const q = [globalThis]; \
             const add = (v) => { if (((typeof v === 'object' && v !== null) || typeof v === 'function') && !seen.has(v)) { seen.add(v); q.push(v); } }; \
             for (let i = 0; i < q.length; i++) { const o = q[i]; \
               for (const k of Reflect.ownKeys(o)) { const d = Object.getOwnPropertyDescriptor(o, k); add(d.value); add(d.get); add(d.set); } \
               add(Object.getPrototypeOf(o)); } })()",
        );
    }
    if std::env::var_os("DROP_COMPILED").is_some() {
        step(
            "drop",
            "delete Iterator.zip; delete Iterator.zipKeyed; delete Array.fromAsync",
        );
    }
    let setup = |label: &str, src: &str| {
        let kept = ctx.with(|ctx| {
            let make: Function = ctx.eval(src).unwrap();
            let made: rquickjs::Value = make.call(()).unwrap();
            rquickjs::Persistent::save(&ctx, made)
        });
        show(label, &rt);
        kept
    };
    let _lockdown = setup("lockdown", pool_core::js::LOCKDOWN);
    let alt = std::env::var("SCRUB_FILE")
        .ok()
        .map(|f| std::fs::read_to_string(f).unwrap());
    let _scrub = setup("scrub", alt.as_deref().unwrap_or(pool_core::js::SCRUB));
    let _fingerprint = setup("fingerprint", pool_core::js::FINGERPRINT);
    rt.run_gc();
    show("full GC", &rt);
}
