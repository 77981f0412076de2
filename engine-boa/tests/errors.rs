//! Syntax errors, exceptions, missing functions, and that `BoaVm` is not `Send`.

mod common;

use common::{assert_err, vm};
use engine_boa::{BoaEngine, BoaVm};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine};
use serde_json::json;

#[test]
fn syntax_errors_name_the_line() {
    let (e, mut vm) = vm("", Isolation::Strict);
    let err = assert_err(e.eval(&mut vm, "1 +\n\n  }"), ErrorKind::Syntax, "line 3");
    assert!(!e.is_broken(&mut vm), "{err}");
    // A SyntaxError thrown at run time is an exception, not a syntax error of the source.
    assert_err(
        e.eval(&mut vm, "JSON.parse('{')"),
        ErrorKind::Exception,
        "SyntaxError",
    );
    assert_err(
        e.eval(&mut vm, "throw new SyntaxError('mine')"),
        ErrorKind::Exception,
        "SyntaxError: mine",
    );
}

#[test]
fn prelude_syntax_error_is_reported_by_new() {
    let err = assert_err(
        BoaEngine::new(EngineConfig::new("function ok() {}\nfunction (")),
        ErrorKind::Syntax,
        "line 2",
    );
    assert!(err.message().contains("prelude"), "{err}");
}

#[test]
fn a_throwing_prelude_is_reported_by_new() {
    // `new` creates a trial instance, so the prelude's exception comes from it rather than from the pool.
    let err = assert_err(
        BoaEngine::new(EngineConfig::new("throw new Error('no init')")),
        ErrorKind::Exception,
        "no init",
    );
    assert!(err.message().contains("prelude"), "{err}");
}

#[test]
fn exceptions_carry_the_message() {
    let (e, mut vm) = vm(
        "function handle(x) { if (x.bad) throw new TypeError('bad input ' + x.bad); return 1; }",
        Isolation::Strict,
    );
    assert_err(
        e.call(&mut vm, "handle", &[json!({"bad": 7})]),
        ErrorKind::Exception,
        "TypeError: bad input 7",
    );
    assert_err(
        e.eval(&mut vm, "throw 'plain'"),
        ErrorKind::Exception,
        "plain",
    );
    assert_err(e.eval(&mut vm, "null.x"), ErrorKind::Exception, "TypeError");
    assert_err(
        e.eval(&mut vm, "undefinedName"),
        ErrorKind::Exception,
        "ReferenceError",
    );
    assert!(!e.is_broken(&mut vm));
    assert_eq!(e.call(&mut vm, "handle", &[json!({})]).unwrap(), json!(1));
}

#[test]
fn describing_a_thrown_value_runs_no_script_code() {
    // The host reads `name` and `message` of a thrown object only where they are data properties: a getter could
    // otherwise run without any limit after the call.
    let (e, mut vm) = vm("", Isolation::Strict);
    let err = e
        .eval(
            &mut vm,
            "globalThis.reads = 0; throw { get message() { globalThis.reads++; for (;;) {} } }",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception, "{err}");
    assert!(!e.is_broken(&mut vm));
    assert_eq!(e.eval(&mut vm, "reads").unwrap(), json!(0));
    for (source, expected) in [
        ("throw { name: 'Custom', message: 'data' }", "Custom: data"),
        ("throw new RangeError('range')", "RangeError: range"),
        (
            "class MyErr extends Error { constructor(m) { super(m); this.name = 'MyErr'; } } throw new MyErr('mine')",
            "MyErr: mine",
        ),
        (
            "class Quiet extends TypeError {} throw new Quiet('inherited')",
            "TypeError: inherited",
        ),
        ("throw new Error()", "Error: "),
        // A graph that shares its parts: printed out, it would double at every level.
        (
            "let o = {}; for (let i = 0; i < 40; i++) o = { a: o, b: o }; throw o",
            "(a thrown object, with no `message`)",
        ),
    ] {
        assert_err(e.eval(&mut vm, source), ErrorKind::Exception, expected);
    }
}

#[test]
fn missing_function() {
    let (e, mut vm) = vm("var notAFunction = 1;", Isolation::Strict);
    assert_err(
        e.call(&mut vm, "handle", &[]),
        ErrorKind::Exception,
        "no global function `handle`",
    );
    assert_err(
        e.call(&mut vm, "notAFunction", &[]),
        ErrorKind::Exception,
        "no global function `notAFunction`",
    );
    assert!(!e.is_broken(&mut vm));
}

#[test]
fn the_json_handler() {
    let prelude = "function handle(input){ return JSON.stringify({sum: input.items.reduce((a,b)=>a+b,0), n: input.items.length}) }";
    let (e, mut vm) = vm(prelude, Isolation::Strict);
    for _ in 0..3 {
        let out = e
            .call(
                &mut vm,
                "handle",
                &[json!({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]})],
            )
            .unwrap();
        assert_eq!(out, json!("{\"sum\":55,\"n\":10}"));
        e.reset(&mut vm).unwrap();
    }
}

/// Whether `T` is `Send`, decided at compile time by auto-trait specialisation on inherent vs trait constants:
/// the inherent `IS_SEND` exists only when `T: Send` and wins over the trait's.
struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
trait NotSend {
    const IS_SEND: bool = false;
}
impl<T: ?Sized> NotSend for Probe<T> {}
impl<T: ?Sized + Send> Probe<T> {
    const IS_SEND: bool = true;
}

#[test]
fn boa_vm_is_not_send_and_the_engine_is_send_sync() {
    const { assert!(!Probe::<BoaVm>::IS_SEND) };
    const { assert!(Probe::<BoaEngine>::IS_SEND) };
    fn send_sync<T: Send + Sync>() {}
    send_sync::<BoaEngine>();
}
