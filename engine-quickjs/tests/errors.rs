//! Failures name what went wrong: the line of a syntax error, the thrown message, the missing function.

use engine_quickjs::QuickJsEngine;
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine};
use serde_json::json;

const PRELUDE: &str = "function fail(m) {\n  throw new TypeError(m);\n}\nfunction throwString() { throw 'plain'; }\nconst arrow = (x) => x * 2;\n";

fn engines() -> Vec<QuickJsEngine> {
    [Isolation::Strict, Isolation::Scrub, Isolation::None]
        .into_iter()
        .map(|i| QuickJsEngine::new(EngineConfig::new(PRELUDE).isolation(i)).unwrap())
        .collect()
}

#[test]
fn syntax_errors_name_the_line() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        let err = engine
            .eval(&mut vm, "let a = 1;\nlet b = 2;\nlet c = ;")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Syntax, "{err}");
        assert!(err.message().contains("line 3"), "{err}");
        assert!(!engine.is_broken(&mut vm));
    }
}

#[test]
fn run_time_syntax_errors_are_exceptions() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        for source in ["JSON.parse('{')", "new Function('return +')", "eval('1 +')"] {
            let err = engine.eval(&mut vm, source).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Exception, "{source}: {err}");
            assert!(err.message().contains("SyntaxError"), "{err}");
        }
    }
}

#[test]
fn oversized_source_is_rejected_before_parsing() {
    let engine = QuickJsEngine::new(EngineConfig::default().max_source_bytes(10)).unwrap();
    let mut vm = engine.create().unwrap();
    let err = engine.eval(&mut vm, "1 + 1 + 1 + 1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
    assert!(err.message().contains("max_source_bytes"), "{err}");
    assert_eq!(engine.eval(&mut vm, "1 + 1").unwrap(), json!(2));
}

#[test]
fn exceptions_carry_the_thrown_message() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        let err = engine
            .call(&mut vm, "fail", &[json!("bad input: ünïcode")])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        assert!(
            err.message().contains("TypeError: bad input: ünïcode"),
            "{err}"
        );
        assert!(err.message().contains("prelude:2"), "{err}");
        let err = engine.call(&mut vm, "throwString", &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        assert!(err.message().contains("plain"), "{err}");
        let err = engine.eval(&mut vm, "throw {code: 7}").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        let err = engine.eval(&mut vm, "null.x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        assert!(err.message().contains("TypeError"), "{err}");
        // A script cannot pass itself off as a limit by throwing a look-alike plain value.
        let err = engine.eval(&mut vm, "throw 'out of memory'").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        assert!(!engine.is_broken(&mut vm));
    }
}

#[test]
fn missing_function_is_named() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        for name in ["handle", "not an identifier", "JSON"] {
            let err = engine.call(&mut vm, name, &[]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Exception);
            assert_eq!(err.message(), format!("no global function `{name}`"));
        }
    }
}

#[test]
fn lexical_functions_of_the_prelude_can_be_called() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        assert_eq!(
            engine.call(&mut vm, "arrow", &[json!(21)]).unwrap(),
            json!(42)
        );
    }
}

#[test]
fn prelude_syntax_error_names_the_line() {
    let err = QuickJsEngine::new(
        EngineConfig::new("function ok() {}\n\nfunction broken() { let x = ; }\n")
            .prelude_name("handlers.js"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax, "{err}");
    assert!(err.message().contains("handlers.js, line 3"), "{err}");
}

#[test]
fn prelude_exception_is_reported_by_new() {
    let err =
        QuickJsEngine::new(EngineConfig::new("throw new Error('prelude broke')")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert!(err.message().contains("prelude broke"), "{err}");
    let err = QuickJsEngine::new(
        EngineConfig::new("for (;;) {}").timeout(std::time::Duration::from_millis(50)),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[test]
fn uncaught_exception_in_a_job_is_reported() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        let err = engine
            .eval(
                &mut vm,
                "queueMicrotask(() => { throw new Error('late'); }); 1",
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception);
        assert!(err.message().contains("late"), "{err}");
    }
}

#[test]
fn nul_bytes_in_source_are_handled() {
    for engine in engines() {
        let mut vm = engine.create().unwrap();
        let result = engine.eval(&mut vm, "'a\0b'.length");
        match result {
            Ok(v) => assert_eq!(v, json!(3)),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Syntax, "{e}"),
        }
    }
}
