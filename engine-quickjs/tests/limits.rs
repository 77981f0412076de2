//! Each limit ends a script with its error kind and leaves the instance broken; config that would disable a
//! limit is rejected.

use std::time::Duration;

use engine_quickjs::{QuickJsEngine, QuickJsVm};
use pool_core::{EngineConfig, ErrorKind, Isolation, Limits, ScriptEngine, ScriptError};

fn limited(limits: Limits) -> QuickJsEngine {
    QuickJsEngine::new(
        EngineConfig::new("function recurse(n) { return recurse(n + 1) + 1; }").limits(limits),
    )
    .unwrap()
}

fn small() -> Limits {
    Limits {
        timeout: Duration::from_millis(200),
        memory_mb: 16,
        stack_kb: 256,
    }
}

fn expect(
    engine: &QuickJsEngine,
    vm: &mut QuickJsVm,
    result: Result<serde_json::Value, ScriptError>,
    kind: ErrorKind,
    needle: &str,
) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    assert!(err.to_string().contains(needle), "{err}");
    assert!(
        engine.is_broken(vm),
        "{kind} must leave the instance broken"
    );
}

#[test]
fn runaway_loop_times_out() {
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let result = engine.eval(&mut vm, "for (;;) {}");
    expect(&engine, &mut vm, result, ErrorKind::Timeout, "200ms");
}

#[test]
fn timeout_cannot_be_swallowed() {
    for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
        let engine = QuickJsEngine::new(
            EngineConfig::new("function spin() { for (;;) { try { for (;;) {} } catch (e) {} finally { continue; } } }")
                .limits(small())
                .isolation(isolation),
        )
        .unwrap();
        let mut vm = engine.create().unwrap();
        let result = engine.eval(&mut vm, "for (;;) { try { for (;;) {} } catch (e) {} }");
        expect(&engine, &mut vm, result, ErrorKind::Timeout, "time limit");
        let mut vm = engine.create().unwrap();
        let result = engine.call(&mut vm, "spin", &[]);
        expect(&engine, &mut vm, result, ErrorKind::Timeout, "time limit");
    }
}

/// Runs `f` on its own thread and fails the test if it has not returned within 60 s (a regression here would
/// otherwise hang the test run).
fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: still running after 60 s"))
}

#[test]
fn a_timeout_swallowed_into_a_rejected_promise_still_ends_the_call() {
    // QuickJS turns the interruption inside a promise executor, a `Promise.try` callback or `Promise.all`'s
    // iteration into a rejected promise; a native loop over such calls would never end if calls could go on.
    for source in [
        "Iterator.prototype.includes.call({ next: () => new Promise(() => { for (;;) {} }) }, 1)",
        "Iterator.prototype.toArray.call({ next: () => Promise.try(() => { for (;;) {} }) })",
        "Iterator.prototype.includes.call({ next: () => Promise.all({ [Symbol.iterator]() { for (;;) {} } }) }, 1)",
        "Array.prototype.forEach.call({ length: 2 ** 53 - 1 }, () => new Promise(() => { for (;;) {} }))",
        "for (;;) { try { Iterator.prototype.includes.call({ next: () => new Promise(() => { for (;;) {} }) }, 1); } catch (e) {} }",
    ] {
        let (result, broken) = within_a_minute(source, move || {
            let engine = limited(small());
            let mut vm = engine.create().unwrap();
            let result = engine.eval(&mut vm, source).map_err(|e| e.kind());
            (result, engine.is_broken(&mut vm))
        });
        assert_eq!(result, Err(ErrorKind::Timeout), "{source}");
        assert!(broken, "{source}");
    }
}

#[test]
fn native_array_loops_over_a_huge_length_are_refused() {
    // These built-ins visit every index below `length` natively, without calls or polls of the interrupt handler:
    // on an array-like of absent elements they would never return.
    let sources = [
        "Array.prototype.join.call({ length: 2 ** 53 - 1 }, '')",
        "Array.prototype.reverse.call({ length: 2 ** 53 - 1 })",
        "Array.prototype.flat.call({ length: 2 ** 53 - 1 })",
        "Array.prototype.copyWithin.call({ length: 2 ** 53 - 1 }, 0, 1)",
        "Array.prototype.shift.call({ length: 2 ** 53 - 1 })",
        "Array.prototype.unshift.call({ length: 2 ** 53 - 2 }, 1)",
        "Array.prototype.splice.call({ length: 2 ** 53 - 1 }, 0, 1)",
        "Array.prototype.sort.call({ length: 2 ** 32 - 1 })",
        "Array.prototype.toLocaleString.call({ length: 2 ** 53 - 1 })",
        "[].concat({ length: 2 ** 53 - 1, [Symbol.isConcatSpreadable]: true })",
        "const a = []; a.length = 2 ** 32 - 1; a.join('')",
    ];
    for source in sources {
        let result = within_a_minute(source, move || {
            let engine = limited(small());
            let mut vm = engine.create().unwrap();
            engine
                .eval(&mut vm, source)
                .map_err(|e| (e.kind(), e.to_string()))
        });
        let (kind, message) = result.expect_err(source);
        assert_eq!(kind, ErrorKind::Exception, "{source}: {message}");
        assert!(message.contains("RangeError"), "{source}: {message}");
    }
    // Within the bound they behave as ever.
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let value = engine
        .eval(
            &mut vm,
            "[[1, 2, 3].join('-'), [3, 1, 2].sort().join(), [1, [2, [3]]].flat(2).length, [1].concat([2], 3).length, \
              Array.prototype.join.call({ length: 3, 0: 'a', 2: 'c' }, ''), Array.prototype.join.name, \
              Array.prototype.splice.length, String(Array.prototype.join).includes('[native code]')]",
        )
        .unwrap();
    assert_eq!(
        value,
        serde_json::json!(["1-2-3", "1,2,3", 3, 3, "ac", "join", 2, true])
    );
}

#[test]
fn promise_jobs_run_under_the_deadline() {
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let result = engine.eval(
        &mut vm,
        "function again() { Promise.resolve().then(again); } again(); 1",
    );
    expect(&engine, &mut vm, result, ErrorKind::Timeout, "time limit");
    let mut vm = engine.create().unwrap();
    let result = engine.eval(&mut vm, "(async () => { await null; for (;;) {} })()");
    expect(&engine, &mut vm, result, ErrorKind::Timeout, "time limit");
}

#[test]
fn conversion_runs_under_the_deadline() {
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let result = engine.eval(&mut vm, "({ get slow() { for (;;) {} } })");
    expect(&engine, &mut vm, result, ErrorKind::Timeout, "time limit");
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let result = engine.call(&mut vm, "recurse", &[serde_json::json!(0)]);
    expect(&engine, &mut vm, result, ErrorKind::Stack, "256 KiB");
    let mut vm = engine.create().unwrap();
    let result = engine.eval(
        &mut vm,
        "(function f() { try { return f(); } catch (e) { return f(); } })()",
    );
    expect(&engine, &mut vm, result, ErrorKind::Stack, "256 KiB");
    // Deeply nested source is refused by the parser without overflowing the native stack.
    let mut vm = engine.create().unwrap();
    let nested = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let result = engine.eval(&mut vm, &nested);
    expect(&engine, &mut vm, result, ErrorKind::Stack, "stack limit");
}

#[test]
fn memory_growth_hits_the_memory_limit() {
    let engine = limited(Limits {
        timeout: Duration::from_secs(10),
        ..small()
    });
    let mut vm = engine.create().unwrap();
    let result = engine.eval(
        &mut vm,
        "const a = []; for (;;) a.push('x'.repeat(1000) + a.length);",
    );
    expect(&engine, &mut vm, result, ErrorKind::Memory, "16 MiB");
    let mut vm = engine.create().unwrap();
    let result = engine.eval(
        &mut vm,
        "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: String(i) });",
    );
    expect(&engine, &mut vm, result, ErrorKind::Memory, "memory limit");
    // Catching the out-of-memory error does not help (see tests/memory.rs).
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let result = engine.eval(
        &mut vm,
        "const keep = []; for (;;) { try { keep.push(new Array(1e5).fill(1)); } catch (e) {} }",
    );
    expect(&engine, &mut vm, result, ErrorKind::Memory, "memory limit");
}

/// The stack overflow error is an ordinary `RangeError` in QuickJS: a script that catches it and recurses again
/// is still stopped with kind `stack`, under every isolation policy, in calls, promise jobs and prelude creation.
#[test]
fn a_caught_stack_overflow_still_ends_the_operation() {
    let catching = "function f() { try { return f(); } catch (e) { return f(); } }";
    for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
        let engine = QuickJsEngine::new(
            EngineConfig::new(catching)
                .limits(Limits {
                    timeout: Duration::from_secs(20),
                    ..small()
                })
                .isolation(isolation),
        )
        .unwrap();
        let mut vm = engine.create().unwrap();
        let result = engine.call(&mut vm, "f", &[]);
        expect(&engine, &mut vm, result, ErrorKind::Stack, "stack limit");
        let mut vm = engine.create().unwrap();
        let result = engine.eval(&mut vm, "Promise.resolve().then(f); 1");
        expect(&engine, &mut vm, result, ErrorKind::Stack, "stack limit");
    }
    let err = QuickJsEngine::new(
        EngineConfig::new(format!("{catching} f();")).limits(Limits {
            timeout: Duration::from_secs(20),
            ..small()
        }),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stack, "{err}");
}

/// Recursion that stops short of the stack limit is not mistaken for hitting it.
#[test]
fn recursion_within_the_stack_limit_succeeds() {
    let engine = QuickJsEngine::new(
        EngineConfig::new("function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }").limits(
            Limits {
                timeout: Duration::from_secs(60),
                ..small()
            },
        ),
    )
    .unwrap();
    let mut vm = engine.create().unwrap();
    // Many calls (the interrupt handler is polled every few thousand) at a moderate depth (QuickJS's frames are
    // several KiB each in a debug build).
    let result = engine.eval(
        &mut vm,
        "let s = 0; for (let i = 0; i < 50000; i++) s += depth(30); s",
    );
    assert_eq!(result.unwrap(), serde_json::json!(1_500_000));
    assert!(!engine.is_broken(&mut vm));
}

#[test]
fn ordinary_errors_do_not_break_the_instance() {
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    assert_eq!(
        engine
            .eval(&mut vm, "throw new Error('x')")
            .unwrap_err()
            .kind(),
        ErrorKind::Exception
    );
    assert_eq!(
        engine.eval(&mut vm, "1 +").unwrap_err().kind(),
        ErrorKind::Syntax
    );
    assert_eq!(
        engine.eval(&mut vm, "(() => {})").unwrap_err().kind(),
        ErrorKind::Conversion
    );
    assert!(!engine.is_broken(&mut vm));
    engine.reset(&mut vm).unwrap();
    assert_eq!(
        engine.eval(&mut vm, "6 * 7").unwrap(),
        serde_json::json!(42)
    );
}

#[test]
fn memory_usage_is_reported_and_grows() {
    let engine = limited(small());
    let mut vm = engine.create().unwrap();
    let before = engine.memory_usage(&mut vm).unwrap();
    assert!(before > 0);
    engine
        .eval(&mut vm, "globalThis.big = new Array(100000).fill(1); 0")
        .unwrap();
    assert!(engine.memory_usage(&mut vm).unwrap() > before + 100_000);
}

fn rejected(limits: Limits, key: &str) {
    let err = QuickJsEngine::new(EngineConfig::default().limits(limits)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.message().contains(key), "{err}");
}

#[test]
fn config_that_would_disable_a_limit_is_rejected() {
    rejected(
        Limits {
            timeout: Duration::ZERO,
            ..Limits::default()
        },
        "limits.timeout",
    );
    rejected(
        Limits {
            memory_mb: 0,
            ..Limits::default()
        },
        "limits.memory_mb",
    );
    rejected(
        Limits {
            stack_kb: 0,
            ..Limits::default()
        },
        "limits.stack_kb",
    );
    rejected(
        Limits {
            stack_kb: 16 * 1024 + 1,
            ..Limits::default()
        },
        "limits.stack_kb",
    );
    assert!(
        QuickJsEngine::new(EngineConfig::default().limits(Limits {
            stack_kb: 16 * 1024,
            ..Limits::default()
        }))
        .is_ok()
    );
}

#[test]
fn a_memory_limit_too_small_for_the_engine_is_reported() {
    let err = QuickJsEngine::new(EngineConfig::default().limits(Limits {
        memory_mb: 1,
        ..Limits::default()
    }));
    // 1 MiB may or may not hold a locked-down context; either way there is no panic and no silent success.
    if let Err(err) = err {
        assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
    }
}

/// QuickJS drops any exception raised while it builds an error's stack (in `Error.prepareStackTrace` or the
/// conversion of `Error.stackTraceLimit`), the time limit's interruption included, so scripts cannot install
/// either, under any isolation policy.
#[test]
fn scripts_cannot_hook_stack_trace_building() {
    for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
        let engine =
            QuickJsEngine::new(EngineConfig::new("").limits(small()).isolation(isolation)).unwrap();
        let mut vm = engine.create().unwrap();
        let result = engine.eval(
            &mut vm,
            "Error.prepareStackTrace = () => { for (;;) {} }; \
             Error.stackTraceLimit = { valueOf() { for (;;) {} } }; \
             [typeof Error.prepareStackTrace, Error.stackTraceLimit, typeof new Error('x').stack]",
        );
        assert_eq!(
            result.unwrap(),
            serde_json::json!(["undefined", 10, "string"]),
            "{isolation:?}"
        );
        let result = engine.eval(&mut vm, "'use strict'; Error.stackTraceLimit = 0;");
        assert_eq!(
            result.unwrap_err().kind(),
            ErrorKind::Exception,
            "{isolation:?}"
        );
        // The loop that throws and catches is interrupted on time.
        let result = engine.eval(&mut vm, "for (;;) { try { null.x; } catch (e) {} }");
        expect(&engine, &mut vm, result, ErrorKind::Timeout, "time limit");
    }
}
