//! Value conversion both ways, and conversion errors.

mod common;

use common::{assert_err, vm};
use pool_core::{ErrorKind, Isolation, ScriptEngine, Value};
use serde_json::json;

#[test]
fn scalars_from_js() {
    let (e, mut vm) = vm("", Isolation::Strict);
    let cases: &[(&str, Value)] = &[
        ("null", Value::Null),
        ("undefined", Value::Null),
        ("true", json!(true)),
        ("1 + 1", json!(2)),
        ("4 / 2", json!(2)),
        ("0.5", json!(0.5)),
        ("-0", json!(0)),
        ("2 ** 53", json!(9_007_199_254_740_992_i64)),
        ("2 ** 60", json!(1_152_921_504_606_846_976.0)),
        ("NaN", Value::Null),
        ("Infinity", Value::Null),
        ("-Infinity", Value::Null),
        ("'héllo ✓ 😀'", json!("héllo ✓ 😀")),
    ];
    for (src, want) in cases {
        assert_eq!(&e.eval(&mut vm, src).unwrap(), want, "{src}");
    }
}

#[test]
fn structures_from_js() {
    let (e, mut vm) = vm("", Isolation::Strict);
    let out = e
        .eval(
            &mut vm,
            "({a: [1, 'x', null, undefined], b: {c: true}, u: undefined, d: new Date(0)})",
        )
        .unwrap();
    assert_eq!(
        out,
        json!({"a": [1, "x", null, null], "b": {"c": true}, "d": "1970-01-01T00:00:00.000Z"})
    );
    assert_eq!(e.eval(&mut vm, "({})").unwrap(), json!({}));
    assert_eq!(e.eval(&mut vm, "[]").unwrap(), json!([]));
}

#[test]
fn round_trip_through_call() {
    let (e, mut vm) = vm(
        "function id(x) { return x; } function two(a, b) { return [b, a]; }",
        Isolation::Strict,
    );
    let values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-17),
        json!(4_294_967_296_i64),
        json!(1.25),
        json!("naïve – ✓"),
        json!([1, [2, [3]], {"k": "v"}]),
        json!({"nested": {"list": [1.5, false, null], "empty": {}}, "": 1}),
    ];
    for v in values {
        assert_eq!(e.call(&mut vm, "id", std::slice::from_ref(&v)).unwrap(), v);
    }
    assert_eq!(
        e.call(&mut vm, "two", &[json!(1), json!("b")]).unwrap(),
        json!(["b", 1])
    );
    assert_eq!(e.call(&mut vm, "id", &[]).unwrap(), Value::Null);
}

#[test]
fn conversion_errors() {
    let (e, mut vm) = vm("", Isolation::Strict);
    assert_err(
        e.eval(&mut vm, "(function f() {})"),
        ErrorKind::Conversion,
        "function",
    );
    assert_err(
        e.eval(&mut vm, "({f() {}})"),
        ErrorKind::Conversion,
        "result.f is a function",
    );
    assert_err(
        e.eval(&mut vm, "Symbol('s')"),
        ErrorKind::Conversion,
        "symbol",
    );
    assert_err(e.eval(&mut vm, "10n"), ErrorKind::Conversion, "bigint");
    assert_err(
        e.eval(&mut vm, "var o = {}; o.self = o; o"),
        ErrorKind::Conversion,
        "cyclic",
    );
    assert_err(
        e.eval(
            &mut vm,
            "var a = []; for (var i = 0; i < 200; i++) a = [a]; a",
        ),
        ErrorKind::Conversion,
        "deeper than 128",
    );
    assert_err(
        e.eval(&mut vm, "({get x() { throw new Error('getter boom') }})"),
        ErrorKind::Conversion,
        "getter boom",
    );
    assert_err(
        e.eval(&mut vm, "({toJSON() { throw new Error('toJSON boom') }})"),
        ErrorKind::Conversion,
        "toJSON boom",
    );
    assert_err(
        e.eval(&mut vm, "'\\uD800'"),
        ErrorKind::Conversion,
        "lone surrogate",
    );
    // A host value nested too deeply.
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let (e, mut vm) = common::vm("function id(x) { return x; }", Isolation::Strict);
    assert_err(
        e.call(&mut vm, "id", &[deep]),
        ErrorKind::Conversion,
        "deeper than 128",
    );
    // Conversion errors do not break the instance.
    assert!(!e.is_broken(&mut vm));
    assert_eq!(e.call(&mut vm, "id", &[json!(3)]).unwrap(), json!(3));
}

#[test]
fn a_getter_that_loops_forever_ends() {
    let (e, mut vm) = vm("", Isolation::Strict);
    let err = e.eval(&mut vm, "({get x() { for (;;) {} }})").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(e.is_broken(&mut vm));
}
