//! The host API in QuickJS: what the cross-engine suite (`vmpool-tests`, `tests/host.rs`) does not reach.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use engine_quickjs::QuickJsEngine;
use pool_core::host::{CallContext, HostApi, HostError};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, Value};
use serde_json::json;

fn api() -> HostApi {
    HostApi::new()
        .raw_function("echo", |_c, args| {
            Ok(args.first().cloned().unwrap_or(Value::Null))
        })
        .raw_function("boom", |_c, _args| panic!("host function exploded"))
        .function("fail", |_c, (): ()| -> Result<(), HostError> {
            Err(HostError::new("E_NOPE", "the host says no"))
        })
        .namespace("kv", |kv| {
            kv.function("id", |c, (): ()| Ok(c.request_id().map(str::to_owned)))
        })
}

fn engine(isolation: Isolation, prelude: &str, host: HostApi) -> QuickJsEngine {
    QuickJsEngine::new(EngineConfig::new(prelude).isolation(isolation).host(host)).unwrap()
}

#[test]
fn a_panic_is_never_resumed_by_a_later_call() {
    let engine = engine(Isolation::Strict, "", api());
    let mut vm = engine.create().unwrap();
    let err = engine
        .eval(
            &mut vm,
            "try { boom(); } catch (e) {} finally { 'finally ran' }",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
    assert!(engine.is_broken(&mut vm));
    // A host that goes on using the broken instance gets ordinary results: nothing was kept to resume.
    for _ in 0..3 {
        assert_eq!(engine.eval(&mut vm, "echo(41) + 1").unwrap(), json!(42));
        assert_eq!(
            engine
                .eval(&mut vm, "try { fail() } catch (e) { e.code }")
                .unwrap(),
            json!("E_NOPE")
        );
    }
}

#[test]
fn a_fatal_failure_skips_catch_and_finally() {
    let engine = engine(Isolation::None, "", api());
    let mut vm = engine.create().unwrap();
    let err = engine
        .eval(
            &mut vm,
            "globalThis.ran = []; try { boom(); } catch (e) { ran.push('catch'); } finally { ran.push('finally'); }",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(engine.eval(&mut vm, "ran").unwrap(), json!([]));
}

#[test]
fn a_kept_closure_sees_no_earlier_context() {
    let engine = engine(Isolation::None, "", api());
    let mut vm = engine.create().unwrap();
    let a = CallContext::new("req-a");
    engine
        .eval_with(
            &mut vm,
            &a,
            "globalThis.later = () => [kv.id(), vmpool.context()]; 1",
        )
        .unwrap();
    assert_eq!(
        engine.call(&mut vm, "later", &[]).unwrap(),
        json!([null, null])
    );
    let b = CallContext::new("req-b");
    assert_eq!(
        engine.call_with(&mut vm, &b, "later", &[]).unwrap(),
        json!(["req-b", { "id": "req-b", "data": null }])
    );
}

#[test]
fn arguments_that_throw_or_reenter_during_conversion() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let host = api().raw_function("count", move |_c, args| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(Value::from(args.len()))
    });
    let engine = engine(Isolation::Strict, "", host);
    let mut vm = engine.create().unwrap();
    // A getter that throws: the script's own exception, catchable.
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "try { echo({ get a() { throw new RangeError('no'); } }) } catch (e) { e.message }"
            )
            .unwrap(),
        json!("no")
    );
    // A Proxy whose trap throws.
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "try { echo(new Proxy({}, { ownKeys() { throw 'trap'; } })) } catch (e) { e }"
            )
            .unwrap(),
        json!("trap")
    );
    // toJSON and a getter that call host functions themselves.
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "echo([{ toJSON() { return count(1, 2); } }, { get b() { return echo('inner'); } }])"
            )
            .unwrap(),
        json!([2, { "b": "inner" }])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Recursion through toJSON and host calls stops at the stack limit instead of overflowing the native stack.
    let err = engine
        .eval(
            &mut vm,
            "function deep() { return { toJSON() { return echo(deep()); } }; } echo(deep())",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stack, "{err}");
}

#[test]
fn console_prints_what_it_cannot_convert() {
    let engine = engine(Isolation::Strict, "", api());
    let mut vm = engine.create().unwrap();
    let ctx = CallContext::new("r").capture_console();
    engine
        .eval_with(
            &mut vm,
            &ctx,
            "const a = { f() {} }; a.self = a; console.log(a, Symbol('s'), 10n, new TypeError('bad')); 1",
        )
        .unwrap();
    let lines = ctx.console();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0].text,
        r#"{"f":"[function]","self":"[circular]"} [symbol] 10 TypeError: bad"#
    );
}

#[test]
fn the_prelude_uses_host_functions_and_cannot_replace_them() {
    let loads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&loads);
    let host = api()
        .function("loaded", move |_c, (): ()| {
            Ok(counter.fetch_add(1, Ordering::SeqCst))
        })
        .javascript_module("m", "exports.n = loaded();");
    for isolation in [Isolation::None, Isolation::Scrub, Isolation::Strict] {
        let engine = engine(
            isolation,
            "const atLoad = echo('loaded'); function echo(x) { return 'prelude'; } var kv = 1;",
            host.clone(),
        );
        let mut vm = engine.create().unwrap();
        assert_eq!(
            engine
                .eval(&mut vm, "[echo(1), typeof kv.id, require('m').n >= 0]")
                .unwrap(),
            json!([1, "function", true]),
            "{isolation}"
        );
        engine.reset(&mut vm).unwrap();
    }
    // One load per instance: the instance `new` checked the configuration with is the first one handed out.
    assert_eq!(loads.load(Ordering::SeqCst), 3);
    let failing = QuickJsEngine::new(EngineConfig::new("boom();").host(api())).unwrap_err();
    assert_eq!(failing.kind(), ErrorKind::Internal);
    assert!(failing.message().contains("panicked"), "{failing}");
    let bad = QuickJsEngine::new(
        EngineConfig::new("").host(api().javascript_module("broken", "throw new Error('nope');")),
    )
    .unwrap_err();
    assert!(bad.message().contains("module `broken`"), "{bad}");
}
