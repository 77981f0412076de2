//! Every way out of the sandbox that we know of must fail: files, commands, native code, binary chunks,
//! the collector, the debug library, finalizers.

mod common;

use common::{eval, eval_err, vm};
use pool_core::{ErrorKind, Isolation, ScriptEngine};
use serde_json::json;

const POLICIES: [Isolation; 3] = [Isolation::Strict, Isolation::Scrub, Isolation::None];

#[test]
fn files_and_commands_are_out_of_reach() {
    for isolation in POLICIES {
        let e = common::engine_with("", isolation);
        let mut vm = e.create().unwrap();
        for source in [
            "io.open('/etc/passwd')",
            "io.popen('id')",
            "os.execute('id')",
            "os.remove('/tmp/x')",
            "os.rename('/tmp/x', '/tmp/y')",
            "os.getenv('HOME')",
            "os.exit(1)",
            "os.tmpname()",
            "dofile('/etc/passwd')",
            "loadfile('/etc/passwd')",
            "package.loadlib('libc.so.6', 'system')",
            "debug.getregistry()",
            "debug.sethook()",
        ] {
            let err = eval_err(&e, &mut vm, source, ErrorKind::Exception);
            assert!(
                err.message().contains("nil value"),
                "{isolation}: {source}: {err}"
            );
        }
        // `require` and `print` are the host API's: `require` resolves registered modules only, never a file or a
        // standard library, and `print` goes to the log.
        for name in ["os", "io", "debug", "/etc/passwd", "./x"] {
            let err = eval_err(
                &e,
                &mut vm,
                &format!("require({name:?})"),
                ErrorKind::Exception,
            );
            assert!(
                err.message()
                    .contains("only modules registered with the host"),
                "{isolation}: require({name:?}): {err}"
            );
        }
        assert_eq!(eval(&e, &mut vm, "print('x')"), json!(null));
        for name in [
            "io",
            "debug",
            "package",
            "dofile",
            "loadfile",
            "warn",
            "loadstring",
        ] {
            assert_eq!(
                eval(&e, &mut vm, name),
                json!(null),
                "{isolation}: {name} must not exist"
            );
        }
        assert_eq!(
            eval(
                &e,
                &mut vm,
                "local n = {} for k in pairs(os) do n[#n + 1] = k end table.sort(n) return n"
            ),
            json!(["clock", "date", "time"])
        );
        assert!(eval(&e, &mut vm, "os.time()").is_i64());
        assert!(eval(&e, &mut vm, "os.clock()").is_number());
        assert!(eval(&e, &mut vm, "os.date('%Y')").is_string());
    }
}

#[test]
fn binary_chunks_cannot_be_loaded() {
    let (e, mut vm) = vm("");
    assert_eq!(eval(&e, &mut vm, "string.dump"), json!(null));
    assert_eq!(eval(&e, &mut vm, "('').dump"), json!(null));
    eval_err(
        &e,
        &mut vm,
        "load(string.dump(function() end))",
        ErrorKind::Exception,
    );
    // A binary chunk built by hand is refused even when asking for mode "b".
    let out = eval(
        &e,
        &mut vm,
        "local f, err = load('\\27Lua\\84\\0', 'x', 'b') return {f == nil, err}",
    );
    assert_eq!(out[0], json!(true));
    assert!(out[1].as_str().unwrap().contains("binary chunk"), "{out}");
    let out = eval(
        &e,
        &mut vm,
        "local f, err = load(function() local p = '\\27Lua' return nil end) return f == nil",
    );
    assert_eq!(
        out,
        json!(false),
        "a text reader still works (the chunk is empty)"
    );
}

#[test]
fn load_of_text_stays_in_the_sandbox() {
    let (e, mut vm) = vm("");
    assert_eq!(eval(&e, &mut vm, "load('return 1 + 2')()"), json!(3));
    assert_eq!(eval(&e, &mut vm, "load('return io')()"), json!(null));
    eval(&e, &mut vm, "load('loaded_global = 7')()");
    assert_eq!(
        eval(&e, &mut vm, "loaded_global"),
        json!(7),
        "load writes into the current use's globals"
    );
    assert_eq!(
        eval(&e, &mut vm, "load('return x', 'c', 't', {x = 5})()"),
        json!(5)
    );
    e.reset(&mut vm).unwrap();
    assert_eq!(
        eval(&e, &mut vm, "loaded_global"),
        json!(null),
        "and they go with the reset"
    );
    assert_eq!(eval(&e, &mut vm, "load('return 1 +')"), json!(null));
}

#[test]
fn the_collector_only_answers_count() {
    // Under strict isolation not even that: the heap's size shows what earlier uses left for the collector.
    let (e, mut vm) = vm("");
    let err = eval_err(&e, &mut vm, "collectgarbage('count')", ErrorKind::Exception);
    assert!(err.message().contains("strict isolation"), "{err}");
    let scrub = common::engine_with("", Isolation::Scrub);
    let mut scrubbed = scrub.create().unwrap();
    assert!(eval(&scrub, &mut scrubbed, "collectgarbage('count')").is_number());
    for option in [
        "'stop'",
        "'collect'",
        "'step'",
        "'incremental'",
        "'generational'",
        "'setpause', 0",
        "",
    ] {
        let err = eval_err(
            &e,
            &mut vm,
            &format!("collectgarbage({option})"),
            ErrorKind::Exception,
        );
        assert!(err.message().contains("not allowed"), "{option}: {err}");
    }
}

#[test]
fn finalizers_are_refused() {
    let (e, mut vm) = vm("");
    let err = eval_err(
        &e,
        &mut vm,
        "setmetatable({}, {__gc = function() while true do end end})",
        ErrorKind::Exception,
    );
    assert!(err.message().contains("__gc"), "{err}");
    // Adding __gc after setmetatable does not mark the object for finalization (Lua's rule), so this is harmless.
    eval(
        &e,
        &mut vm,
        "local mt = {} setmetatable({}, mt) mt.__gc = function() while true do end end",
    );
    eval(
        &e,
        &mut vm,
        "local t = {} for i = 1, 100000 do t[i % 10] = {i} end",
    );
}

#[test]
fn the_string_metatable_is_hidden() {
    let (e, mut vm) = vm("");
    assert_eq!(eval(&e, &mut vm, "getmetatable('')"), json!(false));
    eval_err(
        &e,
        &mut vm,
        "getmetatable('').__index.upper = nil",
        ErrorKind::Exception,
    );
    eval_err(
        &e,
        &mut vm,
        "local s = 'x' s.upper = nil",
        ErrorKind::Exception,
    );
    assert_eq!(eval(&e, &mut vm, "('abc'):upper()"), json!("ABC"));
}

#[test]
fn the_host_globals_are_empty() {
    let (e, vm) = vm("");
    let _ = &e;
    let globals = vm.lua().globals();
    assert_eq!(
        globals.pairs::<mlua::Value, mlua::Value>().count(),
        0,
        "only the sandbox environments hold globals"
    );
}

#[test]
fn load_in_the_prelude_uses_the_prelude_globals() {
    // While the prelude runs, a chunk loaded without an environment reads and writes the prelude's globals.
    let prelude = "load('base_value = 41')() answer = load('return base_value + 1')() \
                   function handle() return answer end";
    for isolation in POLICIES {
        let e = common::engine_with(prelude, isolation);
        let mut vm = e.create().unwrap();
        assert_eq!(
            e.call(&mut vm, "handle", &[]).unwrap(),
            json!(42),
            "{isolation}"
        );
        assert_eq!(eval(&e, &mut vm, "base_value"), json!(41), "{isolation}");
    }
}
