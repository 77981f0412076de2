//! Limits: runaway loops, recursion, nested input, source size, and `is_broken` after each.

mod common;

use std::time::Duration;

use common::{assert_err, vm};
use engine_boa::{BoaEngine, MAX_CHAIN, MAX_NESTING};
use pool_core::{EngineConfig, ErrorKind, Isolation, Limits, ScriptEngine};
use serde_json::json;

#[test]
fn infinite_loop_in_eval_times_out_and_breaks() {
    let (e, mut vm) = vm("", Isolation::Strict);
    // Request source without `var` or top-level functions runs in Boa's budgeted loop: the deadline stops it.
    let err = assert_err(
        e.eval(&mut vm, "for (;;) {}"),
        ErrorKind::Timeout,
        "time limit",
    );
    assert!(err.message().contains("300ms"), "{err}");
    assert!(e.is_broken(&mut vm));
    // Source with a `var` runs through `eval`, in one native call: the loop limit stops it.
    let (e, mut vm) = common::vm("", Isolation::Strict);
    let err = assert_err(
        e.eval(&mut vm, "var n = 0; for (;;) { n++; }"),
        ErrorKind::Timeout,
        "loop iteration limit",
    );
    assert!(err.message().contains("300ms"), "{err}");
    assert!(e.is_broken(&mut vm));
    // A broken instance refuses further work.
    assert_err(e.eval(&mut vm, "1"), ErrorKind::Internal, "broken");
    assert_err(e.reset(&mut vm), ErrorKind::Internal, "broken");
}

#[test]
fn the_loop_limit_cannot_be_caught() {
    let (e, mut vm) = vm("", Isolation::Strict);
    assert_err(
        e.eval(&mut vm, "for (;;) { try { for (;;) {} } catch (e) {} }"),
        ErrorKind::Timeout,
        "",
    );
    assert!(e.is_broken(&mut vm));
    let (e, mut vm) = common::vm(
        "function handle() { for (;;) { try { for (;;) {} } catch (e) {} finally { } } }",
        Isolation::Strict,
    );
    assert_err(e.call(&mut vm, "handle", &[]), ErrorKind::Timeout, "");
    assert!(e.is_broken(&mut vm));
}

#[test]
fn runaway_without_loops_in_call_hits_the_deadline() {
    // Exponential recursion uses no loop: only the deadline of the budgeted interpreter stops it.
    let (e, mut vm) = vm(
        "function f(n) { return n === 0 ? 0 : f(n - 1) + f(n - 1); } function handle() { return f(60); }",
        Isolation::Strict,
    );
    let err = assert_err(
        e.call(&mut vm, "handle", &[]),
        ErrorKind::Timeout,
        "time limit of 300ms",
    );
    assert!(!err.message().contains("loop"), "{err}");
    assert!(e.is_broken(&mut vm));
}

#[test]
fn deep_recursion_is_a_stack_error() {
    let (e, mut vm) = vm(
        "function handle() { return (function f() { return f() + 1; })(); }",
        Isolation::Strict,
    );
    assert_err(
        e.call(&mut vm, "handle", &[]),
        ErrorKind::Stack,
        "recursion limit of 512",
    );
    assert!(e.is_broken(&mut vm));
    // Recursion through native callbacks and getters is counted too.
    let (e, mut vm) = common::vm("", Isolation::Strict);
    assert_err(
        e.eval(&mut vm, "function f() { [1].forEach(f); } f()"),
        ErrorKind::Stack,
        "recursion",
    );
    let (e, mut vm) = common::vm("", Isolation::Strict);
    assert_err(
        e.eval(&mut vm, "var o = { get x() { return this.x; } }; o.x"),
        ErrorKind::Stack,
        "recursion",
    );
    // stack_kb maps to the recursion limit.
    let limits = Limits {
        stack_kb: 128,
        ..Limits::default()
    };
    let e = BoaEngine::new(EngineConfig::new("").limits(limits)).unwrap();
    assert_eq!(e.runtime_limits().recursion_limit(), 64);
    let mut vm = e.create().unwrap();
    assert_err(
        e.eval(&mut vm, "(function f(n) { return n ? f(n - 1) : 0; })(100)"),
        ErrorKind::Stack,
        "recursion limit of 64",
    );
    let mut vm = e.create().unwrap();
    assert_eq!(
        e.eval(&mut vm, "(function f(n) { return n ? f(n - 1) : 0; })(50)")
            .unwrap(),
        json!(0)
    );
}

#[test]
fn deeply_nested_source_is_rejected_before_parsing() {
    let (e, mut vm) = vm("", Isolation::Strict);
    for src in [
        "(".repeat(100_000),
        "[".repeat(100_000),
        "{".repeat(100_000),
        format!("{}1", "!".repeat(100_000)),
    ] {
        let err = e.eval(&mut vm, &src).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Stack, "{err}");
        assert!(
            err.message().contains(&MAX_NESTING.to_string())
                || err.message().contains(&MAX_CHAIN.to_string()),
            "{err}"
        );
    }
    // Rejected input does not break the instance; nesting within the limit still parses.
    assert!(!e.is_broken(&mut vm));
    let ok = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(e.eval(&mut vm, &ok).unwrap(), json!(1));
    // Scripts cannot get around the check through eval or Function.
    let err = e
        .eval(
            &mut vm,
            "try { (0, eval)('['.repeat(100000)); 'parsed' } catch (e) { String(e) }",
        )
        .unwrap();
    assert!(
        err.as_str().unwrap().contains("SyntaxError") && err.as_str().unwrap().contains("nests"),
        "{err}"
    );
    let err = e
        .eval(
            &mut vm,
            "try { Function('return ' + '('.repeat(100000)); 'parsed' } catch (e) { String(e) }",
        )
        .unwrap();
    assert!(err.as_str().unwrap().contains("nests"), "{err}");
}

#[test]
fn a_deeply_nested_prelude_is_rejected_by_new() {
    let err = BoaEngine::new(EngineConfig::new("[".repeat(100_000))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stack, "{err}");
    assert!(err.message().contains("prelude"), "{err}");
}

#[test]
fn source_over_max_source_bytes_is_rejected() {
    let mut config = EngineConfig::new("");
    config.max_source_bytes = 64;
    let e = BoaEngine::new(config).unwrap();
    let mut vm = e.create().unwrap();
    let err = assert_err(
        e.eval(&mut vm, &format!("'{}'", "x".repeat(100))),
        ErrorKind::Syntax,
        "over the limit of 64 bytes",
    );
    assert!(err.message().contains("102 bytes"), "{err}");
    assert!(!e.is_broken(&mut vm));
    assert_eq!(e.eval(&mut vm, "'short'").unwrap(), json!("short"));
    // The limit applies to eval by scripts too.
    let out = e
        .eval(&mut vm, "try{eval('1'.repeat(65))}catch(e){e.name}")
        .unwrap();
    assert_eq!(out, json!("SyntaxError"));
}

#[test]
fn zero_limits_are_rejected() {
    let config = EngineConfig::new("").timeout(Duration::ZERO);
    assert_err(BoaEngine::new(config), ErrorKind::Internal, "timeout");
    let config = EngineConfig::new("").limits(Limits {
        stack_kb: 0,
        ..Limits::default()
    });
    assert_err(BoaEngine::new(config), ErrorKind::Internal, "stack_kb");
}

#[test]
fn runaway_promise_jobs_end() {
    let (e, mut vm) = vm("", Isolation::Strict);
    assert_err(
        e.eval(
            &mut vm,
            "(function f() { Promise.resolve().then(f); })(); 1",
        ),
        ErrorKind::Timeout,
        "",
    );
    assert!(e.is_broken(&mut vm));
    let (e, mut vm) = common::vm("", Isolation::Strict);
    assert_err(
        e.eval(&mut vm, "Promise.resolve().then(() => { for (;;) {} }); 1"),
        ErrorKind::Timeout,
        "loop",
    );
    assert!(e.is_broken(&mut vm));
    let (e, mut vm) = common::vm("", Isolation::Strict);
    assert_err(
        e.eval(&mut vm, "new Promise(() => { for (;;) {} })"),
        ErrorKind::Timeout,
        "loop",
    );
}
