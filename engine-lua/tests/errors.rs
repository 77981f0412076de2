//! Script failures: syntax, raised errors, hostile error objects, missing functions.

mod common;

use common::{eval, eval_err, vm};
use engine_lua::LuaEngine;
use pool_core::{EngineConfig, ErrorKind, ScriptEngine};

#[test]
fn syntax_errors_name_the_line() {
    let (e, mut vm) = vm("");
    let err = eval_err(
        &e,
        &mut vm,
        "local a = 1\nlocal b = 2\nlocal = 3",
        ErrorKind::Syntax,
    );
    assert!(err.message().contains("eval:3:"), "{err}");
    assert!(!e.is_broken(&mut vm));
    // eval refuses binary chunks.
    eval_err(&e, &mut vm, "\x1bLua", ErrorKind::Syntax);
}

#[test]
fn a_prelude_syntax_error_is_reported_by_new() {
    let err = LuaEngine::new(
        EngineConfig::new("function ok() end\n\nfunction (").prelude_name("handlers.lua"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
    assert!(err.message().contains("handlers.lua:3:"), "{err}");
}

#[test]
fn a_prelude_runtime_error_fails_create() {
    let e = common::engine("error('prelude broke')");
    let err = e.create().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert!(err.message().contains("prelude broke"), "{err}");
}

#[test]
fn source_longer_than_the_limit_is_rejected() {
    let mut config = EngineConfig::new("");
    config.max_source_bytes = 10;
    let e = LuaEngine::new(config).unwrap();
    let mut vm = e.create().unwrap();
    assert_eq!(eval(&e, &mut vm, "1 + 1"), serde_json::json!(2));
    let err = eval_err(&e, &mut vm, "return 1 + 1 + 1", ErrorKind::Syntax);
    assert!(err.message().contains("max_source_bytes"), "{err}");
}

#[test]
fn raised_errors_are_exceptions_with_the_message() {
    let (e, mut vm) = vm("function fail(m) error(m) end");
    let err = eval_err(&e, &mut vm, "error('msg')", ErrorKind::Exception);
    assert_eq!(err.message(), "eval:1: msg");
    let err = e
        .call(&mut vm, "fail", &[serde_json::json!("from handler")])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert!(err.message().contains("from handler"), "{err}");
    assert!(!err.message().contains("stack traceback"), "{err}");
    let err = eval_err(&e, &mut vm, "error({})", ErrorKind::Exception);
    assert_eq!(err.message(), "(error object is a table value)");
    let err = eval_err(
        &e,
        &mut vm,
        "error(setmetatable({}, {__tostring = function() return 'custom' end}))",
        ErrorKind::Exception,
    );
    assert_eq!(err.message(), "custom");
    let err = eval_err(
        &e,
        &mut vm,
        "local x = nil; return x.y",
        ErrorKind::Exception,
    );
    assert!(
        err.message().contains("attempt to index a nil value"),
        "{err}"
    );
    assert!(
        !e.is_broken(&mut vm),
        "exceptions do not taint the instance"
    );
}

#[test]
fn an_error_object_whose_tostring_loops_ends_with_timeout() {
    let (e, mut vm) = vm("");
    eval_err(
        &e,
        &mut vm,
        "error(setmetatable({}, {__tostring = function() while true do end end}))",
        ErrorKind::Timeout,
    );
    assert!(e.is_broken(&mut vm));
}

#[test]
fn a_missing_function_is_named() {
    let (e, mut vm) = vm("not_a_function = 1");
    for name in ["handle", "not_a_function", "string"] {
        let err = e.call(&mut vm, name, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        assert_eq!(err.message(), format!("no global function `{name}`"));
    }
    assert!(!e.is_broken(&mut vm));
}

#[test]
fn eval_returns_the_value_of_statements_that_return() {
    let (e, mut vm) = vm("");
    assert_eq!(
        eval(&e, &mut vm, "local x = 2\nreturn x * 21"),
        serde_json::json!(42)
    );
    assert_eq!(eval(&e, &mut vm, "y = 1"), serde_json::Value::Null);
    assert_eq!(eval(&e, &mut vm, "y"), serde_json::json!(1));
}
