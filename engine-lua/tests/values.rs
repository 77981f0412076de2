//! Values in both directions, and what cannot be converted.

mod common;

use common::{eval, eval_err, vm};
use pool_core::{ErrorKind, ScriptEngine, Value};
use serde_json::json;

#[test]
fn scalars_convert_as_json() {
    let (e, mut vm) = vm("");
    assert_eq!(eval(&e, &mut vm, "nil"), Value::Null);
    assert_eq!(eval(&e, &mut vm, "true"), json!(true));
    assert_eq!(eval(&e, &mut vm, "1 + 1"), json!(2));
    assert_eq!(eval(&e, &mut vm, "4 / 2"), json!(2));
    assert!(eval(&e, &mut vm, "4 / 2").is_i64());
    assert_eq!(eval(&e, &mut vm, "1.5"), json!(1.5));
    assert_eq!(eval(&e, &mut vm, "2^53"), json!(9_007_199_254_740_992_i64));
    assert!(
        eval(&e, &mut vm, "2^53 * 2").is_f64(),
        "beyond 2^53 a float stays a float"
    );
    assert_eq!(eval(&e, &mut vm, "math.maxinteger"), json!(i64::MAX));
    assert_eq!(eval(&e, &mut vm, "0/0"), Value::Null);
    assert_eq!(eval(&e, &mut vm, "1/0"), Value::Null);
    assert_eq!(eval(&e, &mut vm, "-1/0"), Value::Null);
    assert_eq!(eval(&e, &mut vm, "'héllo ✓'"), json!("héllo ✓"));
}

#[test]
fn tables_become_arrays_or_objects() {
    let (e, mut vm) = vm("");
    assert_eq!(eval(&e, &mut vm, "{1, 'two', {3}}"), json!([1, "two", [3]]));
    assert_eq!(eval(&e, &mut vm, "{}"), json!({}));
    assert_eq!(
        eval(&e, &mut vm, "{a = 1, b = {c = true}}"),
        json!({"a": 1, "b": {"c": true}})
    );
    assert_eq!(
        eval(&e, &mut vm, "{[1] = 'a', [3] = 'c'}"),
        json!({"1": "a", "3": "c"})
    );
    assert_eq!(eval(&e, &mut vm, "{[2] = 'b'}"), json!({"2": "b"}));
    assert_eq!(
        eval(&e, &mut vm, "{1, 2, x = 3}"),
        json!({"1": 1, "2": 2, "x": 3})
    );
    assert_eq!(eval(&e, &mut vm, "{[0] = 'z'}"), json!({"0": "z"}));
}

#[test]
fn arguments_round_trip_through_a_handler() {
    let (e, mut vm) = vm(
        "function echo(...) return ... end function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end",
    );
    for value in [
        json!(null),
        json!(true),
        json!(42),
        json!(-7),
        json!(2.5),
        json!("text ✓"),
        json!([1, 2, [3, 4]]),
        json!({"a": {"b": [true, false]}, "n": 1}),
        json!(i64::MIN),
    ] {
        assert_eq!(
            e.call(&mut vm, "echo", std::slice::from_ref(&value))
                .unwrap(),
            value,
            "round trip of {value}"
        );
    }
    // An empty array arrives as an empty table, which comes back as an empty object.
    assert_eq!(e.call(&mut vm, "echo", &[json!([])]).unwrap(), json!({}));
    // null fields are absent in Lua.
    assert_eq!(
        e.call(&mut vm, "count", &[json!({"a": null, "b": 1})])
            .unwrap(),
        json!(1)
    );
    // u64 beyond i64 becomes a float.
    assert_eq!(
        e.call(&mut vm, "echo", &[json!(u64::MAX)]).unwrap(),
        json!(u64::MAX as f64)
    );
}

#[test]
fn deep_arguments_are_rejected() {
    let (e, mut vm) = vm("function echo(x) return x end");
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let err = e.call(&mut vm, "echo", &[deep]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conversion);
    assert!(err.message().contains("128"), "{err}");
    assert!(!e.is_broken(&mut vm));
}

#[test]
fn unconvertible_values_are_conversion_errors() {
    let (e, mut vm) = vm("");
    for (source, needle) in [
        ("function() end", "function"),
        ("coroutine.create(function() end)", "thread"),
        ("{f = print or function() end}", "function"),
        ("'\\xff\\xfe'", "UTF-8"),
        ("{['\\xff'] = 1}", "UTF-8"),
        ("{[true] = 1}", "boolean"),
        ("{[1.5] = 1}", "1.5"),
        ("{[1] = 'a', ['1'] = 'b', x = 1}", "\"1\""),
        (
            "(function() local t = {} t.self = t return t end)()",
            "cyclic",
        ),
        (
            "(function() local t = {} for i = 1, 200 do t = {t} end return t end)()",
            "128",
        ),
        ("string", "function"),
    ] {
        let err = eval_err(&e, &mut vm, source, ErrorKind::Conversion);
        assert!(err.message().contains(needle), "{source}: {err}");
    }
    assert!(
        !e.is_broken(&mut vm),
        "conversion errors do not taint the instance"
    );
}

#[test]
fn index_metamethods_are_not_consulted_and_pairs_is_honoured() {
    let (e, mut vm) = vm("");
    // __index is ignored (tables are read raw), even when it would raise or loop.
    assert_eq!(
        eval(
            &e,
            &mut vm,
            "setmetatable({a = 1}, {__index = function() error('no') end})"
        ),
        json!({"a": 1})
    );
    assert_eq!(
        eval(
            &e,
            &mut vm,
            "setmetatable({1}, {__index = function() while true do end end})"
        ),
        json!([1])
    );
    // __pairs decides what is converted.
    assert_eq!(
        eval(
            &e,
            &mut vm,
            "setmetatable({}, {__pairs = function(t) return next, {x = 1}, nil end})"
        ),
        json!({"x": 1})
    );
    // Read-only views of prelude tables convert through their __pairs.
    let (e2, mut vm2) =
        common::vm("CONFIG = {limit = 3, tags = {'a', 'b'}} function get() return CONFIG end");
    assert_eq!(
        e2.call(&mut vm2, "get", &[]).unwrap(),
        json!({"limit": 3, "tags": ["a", "b"]})
    );
}

#[test]
fn a_pairs_metamethod_that_errors_is_a_conversion_error() {
    let (e, mut vm) = vm("");
    let err = eval_err(
        &e,
        &mut vm,
        "setmetatable({}, {__pairs = function() error('pairs refused') end})",
        ErrorKind::Conversion,
    );
    assert!(err.message().contains("pairs refused"), "{err}");
    let err = eval_err(
        &e,
        &mut vm,
        "setmetatable({}, {__pairs = 5})",
        ErrorKind::Conversion,
    );
    assert!(err.message().contains("__pairs"), "{err}");
    assert!(!e.is_broken(&mut vm));
}

#[test]
fn a_pairs_metamethod_that_loops_ends_with_the_timeout() {
    let (e, mut vm) = vm("");
    eval_err(
        &e,
        &mut vm,
        "setmetatable({}, {__pairs = function() while true do end end})",
        ErrorKind::Timeout,
    );
    assert!(e.is_broken(&mut vm));
}

#[test]
fn an_endless_pairs_iterator_is_stopped() {
    let (e, mut vm) = vm("");
    // An iterator that never ends: stopped by the entry budget or the deadline, whichever comes first.
    let err = e
        .eval(&mut vm, "setmetatable({}, {__pairs = function() return function(_, k) return (k or 0) + 1, 1 end, nil, nil end})")
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Conversion | ErrorKind::Timeout),
        "{err}"
    );
}
