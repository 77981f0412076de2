//! Values both ways, with the semantics shared by every engine.

use engine_quickjs::QuickJsEngine;
use pool_core::{EngineConfig, ErrorKind, ScriptEngine, Value};
use serde_json::json;

fn engine() -> QuickJsEngine {
    QuickJsEngine::new(EngineConfig::new(
        "function echo(x) { return x; } function kinds(...a) { return a.map(v => typeof v); }",
    ))
    .unwrap()
}

fn eval(source: &str) -> Result<Value, pool_core::ScriptError> {
    let engine = engine();
    let mut vm = engine.create().unwrap();
    engine.eval(&mut vm, source)
}

#[test]
fn round_trips_every_kind() {
    let engine = engine();
    let mut vm = engine.create().unwrap();
    let values = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-7),
        json!(2_147_483_648_i64),
        json!(9_007_199_254_740_992_i64),
        json!(1.5),
        json!(-0.25),
        json!(""),
        json!("héllo wörld ✓ 日本語 🦀"),
        json!([]),
        json!([1, "two", [3, [4]], {"five": 5}, null]),
        json!({}),
        json!({"a": 1, "nested": {"b": [true, null]}, "ünïcödé 🔑": "v", "__proto__": "own key"}),
    ];
    for value in values {
        assert_eq!(
            engine
                .call(&mut vm, "echo", std::slice::from_ref(&value))
                .unwrap(),
            value,
            "{value}"
        );
    }
}

#[test]
fn arguments_arrive_as_javascript_types() {
    let engine = engine();
    let mut vm = engine.create().unwrap();
    let kinds = engine.call(
        &mut vm,
        "kinds",
        &[
            json!(null),
            json!(true),
            json!(1),
            json!(1.5),
            json!("s"),
            json!([]),
            json!({}),
        ],
    );
    assert_eq!(
        kinds.unwrap(),
        json!([
            "object", "boolean", "number", "number", "string", "object", "object"
        ])
    );
    // The key `__proto__` of an argument is an own property, not the prototype.
    let own = engine
        .eval(&mut vm, "1")
        .and_then(|_| engine.call(&mut vm, "echo", &[json!({"__proto__": {"x": 1}})]));
    assert_eq!(own.unwrap(), json!({"__proto__": {"x": 1}}));
}

#[test]
fn numbers_follow_the_shared_rules() {
    assert_eq!(eval("1 + 1").unwrap(), json!(2));
    assert_eq!(eval("4 / 2").unwrap(), json!(2));
    assert_eq!(eval("-0").unwrap(), json!(0));
    assert_eq!(eval("0.1 + 0.2").unwrap(), json!(0.1 + 0.2));
    assert_eq!(eval("2 ** 53").unwrap(), json!(9_007_199_254_740_992_i64));
    assert_eq!(
        eval("-(2 ** 53)").unwrap(),
        json!(-9_007_199_254_740_992_i64)
    );
    assert_eq!(eval("2 ** 60").unwrap(), json!(1_152_921_504_606_846_976.0));
    assert_eq!(eval("NaN").unwrap(), json!(null));
    assert_eq!(eval("[Infinity, -Infinity]").unwrap(), json!([null, null]));
}

#[test]
fn undefined_and_holes() {
    assert_eq!(eval("undefined").unwrap(), json!(null));
    assert_eq!(eval("[undefined, , 3]").unwrap(), json!([null, null, 3]));
    // As in JSON.stringify, a property whose value is undefined is left out.
    assert_eq!(eval("({a: undefined, b: 1})").unwrap(), json!({"b": 1}));
}

#[test]
fn getters_and_to_json_are_honoured() {
    assert_eq!(
        eval("({get x() { return 42; }})").unwrap(),
        json!({"x": 42})
    );
    assert_eq!(
        eval("new Date(0)").unwrap(),
        json!("1970-01-01T00:00:00.000Z")
    );
    assert_eq!(
        eval("({toJSON(key) { return 'key:' + key; }})").unwrap(),
        json!("key:")
    );
    assert_eq!(
        eval("({a: {toJSON(key) { return key; }}})").unwrap(),
        json!({"a": "a"})
    );
    // Symbol-keyed and non-enumerable properties are not converted.
    assert_eq!(
        eval("Object.defineProperty({[Symbol('s')]: 1, v: 2}, 'hidden', {value: 3})").unwrap(),
        json!({"v": 2})
    );
}

#[test]
fn settled_promises_give_their_value() {
    assert_eq!(eval("Promise.resolve(5)").unwrap(), json!(5));
    assert_eq!(
        eval("(async () => { await null; return 'done'; })()").unwrap(),
        json!("done")
    );
    let rejected = eval("Promise.reject(new Error('nope'))").unwrap_err();
    assert_eq!(rejected.kind(), ErrorKind::Exception);
    assert!(rejected.message().contains("nope"), "{rejected}");
    let pending = eval("new Promise(() => {})").unwrap_err();
    assert_eq!(pending.kind(), ErrorKind::Conversion);
    assert!(pending.message().contains("pending"), "{pending}");
}

fn conversion_error(source: &str, needle: &str) {
    let err = eval(source).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conversion, "{source}: {err}");
    assert!(err.message().contains(needle), "{source}: {err}");
}

#[test]
fn unconvertible_values_are_conversion_errors() {
    conversion_error("(function f() {})", "function");
    conversion_error("({f() {}})", "function");
    conversion_error("[1, () => 2]", "function");
    conversion_error("Symbol('s')", "symbol");
    conversion_error("({s: Symbol.iterator})", "symbol");
    conversion_error("10n", "BigInt");
    conversion_error("const o = {}; o.self = o; o", "cyclic");
    conversion_error("const a = []; a.push(a); a", "cyclic");
    conversion_error("let v = 0; for (let i = 0; i < 129; i++) v = [v]; v", "128");
    conversion_error(
        "({get boom() { throw new Error('getter failed'); }})",
        "getter failed",
    );
    conversion_error(
        "({toJSON() { throw new TypeError('no json'); }})",
        "no json",
    );
    conversion_error("'\\ud800'", "surrogate");
    conversion_error("const a = []; a.length = 4e9; a", "sparse");
}

#[test]
fn nesting_up_to_the_limit_converts() {
    let value = eval("let v = 0; for (let i = 0; i < 128; i++) v = [v]; v").unwrap();
    let mut depth = 0;
    let mut v = &value;
    while let Value::Array(items) = v {
        depth += 1;
        v = &items[0];
    }
    assert_eq!(depth, 128);
}

#[test]
fn deep_arguments_are_conversion_errors() {
    let engine = engine();
    let mut vm = engine.create().unwrap();
    let mut deep = json!(0);
    for _ in 0..129 {
        deep = json!([deep]);
    }
    let err = engine.call(&mut vm, "echo", &[deep]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conversion, "{err}");
    assert!(!engine.is_broken(&mut vm));
}
