//! Time, memory and stack limits: the kind, `is_broken`, and that scripts cannot swallow them.

mod common;

use std::time::Duration;

use common::{eval, eval_err, vm};
use engine_lua::LuaEngine;
use pool_core::{EngineConfig, ErrorKind, Limits, ScriptEngine};

fn small_memory_engine(memory_mb: u64) -> LuaEngine {
    LuaEngine::new(EngineConfig::new("").limits(Limits {
        timeout: Duration::from_secs(5),
        memory_mb,
        stack_kb: 1024,
    }))
    .unwrap()
}

#[test]
fn a_runaway_loop_ends_with_timeout_and_breaks_the_instance() {
    let (e, mut vm) = vm("");
    let err = eval_err(&e, &mut vm, "while true do end", ErrorKind::Timeout);
    assert!(
        err.message().contains("200ms"),
        "the message names the limit: {err}"
    );
    assert!(e.is_broken(&mut vm));
    // A broken instance refuses further work and cannot be reset.
    assert_eq!(e.eval(&mut vm, "1").unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(e.reset(&mut vm).unwrap_err().kind(), ErrorKind::Internal);
}

#[test]
fn the_timeout_cannot_be_swallowed() {
    for source in [
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "while true do pcall(pcall, function() while true do end end) end",
        "local function f() while true do end end while true do local ok = pcall(f) local ok2 = pcall(error, 'x') end",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "while true do pcall(coroutine.wrap(function() while true do end end)) end",
        "while true do local f = load('while true do end') pcall(f) end",
        "while true do pcall(string.gsub, 'aaaa', 'a', function() while true do end end) end",
        "while true do pcall(table.sort, {3, 2, 1}, function(a, b) while true do end end) end",
        // A message handler does not run once a limit was hit (Lua would run it with hooks off).
        "while true do xpcall(function() while true do end end, function(e) while true do end end) end",
    ] {
        let (e, mut vm) = vm("");
        eval_err(&e, &mut vm, source, ErrorKind::Timeout);
        assert!(e.is_broken(&mut vm), "{source}");
    }
}

#[test]
fn to_be_closed_values_work_and_cannot_outlive_a_limit() {
    // Lua runs pending `__close` metamethods while it unwinds the error that stops a call, with its hooks
    // switched off; the hook takes `__close` away from every metatable first, so a looping one cannot hang
    // the thread.
    let (e, mut vm) = vm("");
    assert_eq!(
        eval(
            &e,
            &mut vm,
            "local n = 0 do local x <close> = setmetatable({}, {__close = function() n = n + 1 end}) end \
             for _ in function() return nil end, nil, nil, setmetatable({}, {__close = function() n = n + 10 end}) do end \
             return n"
        ),
        serde_json::json!(11)
    );
    let spin = "local function spin() while true do end end ";
    for source in [
        "local x <close> = setmetatable({}, {__close = spin}) while true do end",
        "local x <close> = setmetatable({}, {__close = spin}) local y <close> = setmetatable({}, {__close = spin}) while true do end",
        // The metamethod added after `setmetatable`.
        "local mt = {__close = function() end} local x <close> = setmetatable({}, mt) mt.__close = spin while true do end",
        // The fourth value of a generic `for` is closed like a to-be-closed variable.
        "local o = setmetatable({}, {__close = spin}) for _ in spin, nil, nil, o do end",
        "local o = setmetatable({}, {__close = spin}) coroutine.wrap(function() for _ in spin, nil, nil, o do end end)()",
        "local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = spin}) spin() end) \
         coroutine.resume(co) coroutine.close(co) spin()",
        "local o = setmetatable({}, {__close = spin}) while true do pcall(function() local x <close> = o spin() end) end",
        // The metamethod put back after the limit, then the stopped coroutine closed.
        "local mt = {__close = function() end} \
         local co = coroutine.create(function() local x <close> = setmetatable({}, mt) spin() end) \
         coroutine.resume(co) mt.__close = spin coroutine.close(co)",
        "local mt = {__close = function() end} \
         local co = coroutine.create(function() local x <close> = setmetatable({}, mt) spin() end) \
         pcall(coroutine.resume, co) setmetatable({}, {__close = spin}) mt.__close = spin pcall(coroutine.close, co) spin()",
        // A `__close` that runs on a normal exit is timed like any other code.
        "do local x <close> = setmetatable({}, {__close = spin}) end",
    ] {
        let source = format!("{spin}{source}");
        let (e, mut vm) = common::vm("");
        let run = source.clone();
        let (kind, broken) = common::within_a_minute(&source, move || {
            let kind = e.eval(&mut vm, &run).map_err(|err| err.kind());
            (kind, e.is_broken(&mut vm))
        });
        assert_eq!(kind, Err(ErrorKind::Timeout), "{source}");
        assert!(broken, "{source}");
    }
    // And in a prelude.
    let e = common::engine(
        "local x <close> = setmetatable({}, {__close = function() done = true end})",
    );
    assert!(e.create().is_ok());
}

/// A plain table, built by a constructor, whose border (`#u`) is 2^40: its keys are the powers of two up to 2^40.
const SPARSE: &str = "local u = {[1]=1,[2]=1,[4]=1,[8]=1,[16]=1,[32]=1,[64]=1,[128]=1,[256]=1,[512]=1,[1024]=1,[2048]=1, \
           [4096]=1,[8192]=1,[16384]=1,[32768]=1,[65536]=1,[131072]=1,[262144]=1,[524288]=1,[1048576]=1, \
           [2097152]=1,[4194304]=1,[8388608]=1,[16777216]=1,[33554432]=1,[67108864]=1,[134217728]=1, \
           [268435456]=1,[536870912]=1,[1073741824]=1,[2147483648]=1,[4294967296]=1,[8589934592]=1, \
           [17179869184]=1,[34359738368]=1,[68719476736]=1,[137438953472]=1,[274877906944]=1, \
           [549755813888]=1,[1099511627776]=1} \
         assert(#u > 2 ^ 30, 'the border is ' .. #u)";

#[test]
fn library_loops_that_a_number_sets_stop_at_the_deadline() {
    let (e, mut vm) = vm("");
    // The empty repetition needs no loop at all.
    assert_eq!(
        eval(&e, &mut vm, "string.rep('', math.maxinteger)"),
        serde_json::json!("")
    );
    assert_eq!(
        eval(&e, &mut vm, "(''):rep(1e15, '')"),
        serde_json::json!("")
    );
    assert_eq!(
        eval(&e, &mut vm, "('ab'):rep(3, ',')"),
        serde_json::json!("ab,ab,ab")
    );
    let err = eval_err(&e, &mut vm, "string.rep('', 1.5)", ErrorKind::Exception);
    assert!(err.message().contains("integer representation"), "{err}");
    let huge_len = "setmetatable({}, {__len = function() return math.maxinteger // 2 end})";
    for source in [
        "table.move({}, 1, math.maxinteger // 2, 1, {})".to_owned(),
        "local t = {} table.move(t, 1, 2^40, 2)".to_owned(),
        format!("table.insert({huge_len}, 1, 'x')"),
        format!("table.remove({huge_len}, 1)"),
        // A plain table whose border is far beyond its entries.
        format!("{SPARSE} table.insert(u, 1, 0)"),
        format!("{SPARSE} table.remove(u, 1)"),
    ] {
        let (e, mut vm) = common::vm("");
        let run = source.clone();
        let kind = common::within_a_minute(&source, move || {
            e.eval(&mut vm, &run).map_err(|err| err.kind())
        });
        assert_eq!(kind, Err(ErrorKind::Timeout), "{source}");
    }
}

#[test]
fn table_move_in_pieces_matches_lua() {
    // Long moves run in pieces; compare them with stock Lua's `table.move` (overlapping either way, another
    // table, a table with metamethods).
    let stock = mlua::Lua::new();
    let (e, mut vm) = vm("");
    let cases = [
        "local a = {} for i = 1, 1000 do a[i] = i end table.move(a, 1, 1000, 3) return a",
        "local a = {} for i = 1, 1000 do a[i] = i end table.move(a, 3, 1000, 1) return a",
        "local a = {} for i = 1, 1000 do a[i] = i end table.move(a, 1, 700, 300) return a",
        "local a = {} for i = 1, 1000 do a[i] = i end table.move(a, 300, 1000, 1) return a",
        "local a = {} for i = 1, 1000 do a[i] = i end return table.move(a, 2, 1000, 1, {})",
        "local a = {} for i = 1, 600 do a[i] = i end return table.move(a, 1, 600, 601, a)",
        "local a = {} for i = 1, 600 do a[i] = i end table.move(a, 1, 600, 0) a[0] = nil return a",
        "local log = {} local src = setmetatable({}, {__index = function(_, k) return k * 2 end}) \
         local dst = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v + 1) end}) \
         table.move(src, 1, 800, 1, dst) return dst",
        // The order of the metamethods' calls, on an overlapping move backwards.
        "local store, log = {}, {} for i = 1, 1000 do store[i] = i end \
         local p = setmetatable({}, {__index = function(_, k) log[#log + 1] = k return store[k] end, \
           __newindex = function(_, k, v) log[#log + 1] = -k store[k] = v end}) \
         table.move(p, 1, 1000, 300) return log",
    ];
    for case in cases {
        let expected: serde_json::Value = {
            let value: mlua::Value = stock.load(case).eval().unwrap();
            let table = value.as_table().unwrap().clone();
            let n = table.raw_len();
            serde_json::Value::Array(
                (1..=n)
                    .map(|i| serde_json::json!(table.raw_get::<i64>(i).unwrap()))
                    .collect(),
            )
        };
        assert_eq!(eval(&e, &mut vm, case), expected, "{case}");
    }
    // Lua's own checks and messages (called through the sandbox's wrappers, whose debug information is
    // stripped, a bad argument's message names the function `?`).
    for (source, message) in [
        (
            "table.move({}, -1, math.maxinteger, 2)",
            "bad argument #3 to '?' (too many elements to move)",
        ),
        (
            "table.move({}, 1, 1000, math.maxinteger)",
            "bad argument #4 to '?' (destination wrap around)",
        ),
        (
            "table.move({}, 1, 1000, 1, 5)",
            "bad argument #5 to '?' (table expected, got number)",
        ),
        (
            "table.move('abc', 1, 300, 2)",
            "bad argument #1 to '?' (table expected, got string)",
        ),
        (
            "table.insert({}, 1, 2, 3)",
            "wrong number of arguments to 'insert'",
        ),
        ("table.remove({}, 5)", "(position out of bounds)"),
        (
            "string.rep('x')",
            "bad argument #2 to '?' (number expected, got nil)",
        ),
    ] {
        let err = eval_err(&e, &mut vm, source, ErrorKind::Exception);
        assert!(err.message().contains(message), "{source}: {err}");
    }
}

#[test]
fn table_insert_and_remove_keep_their_meaning_with_metatables() {
    let (e, mut vm) = vm("");
    let with_len = "local store = {} local t = setmetatable({}, {__len = function() return #store end, \
                    __index = store, __newindex = store}) ";
    assert_eq!(
        eval(
            &e,
            &mut vm,
            &format!(
                "{with_len} table.insert(t, 'a') table.insert(t, 'c') table.insert(t, 2, 'b') \
                      table.insert(t, 1, 'z') local r = table.remove(t, 1) return {{r, store[1], store[2], store[3], #store}}"
            )
        ),
        serde_json::json!(["z", "a", "b", "c", 3])
    );
    let err = eval_err(
        &e,
        &mut vm,
        &format!("{with_len} table.insert(t, 5, 'x')"),
        ErrorKind::Exception,
    );
    assert!(err.message().contains("position out of bounds"), "{err}");
    let err = eval_err(
        &e,
        &mut vm,
        &format!("{with_len} table.remove(t, 5)"),
        ErrorKind::Exception,
    );
    assert!(err.message().contains("position out of bounds"), "{err}");
}

#[test]
fn a_c_call_that_returns_after_the_deadline_is_a_timeout() {
    // Comparing strings of NUL bytes calls strcoll once per byte: a few comparisons of 16 MiB take far longer
    // than the 200 ms timeout, in too few instructions for the hook to run.
    let (e, mut vm) = vm("");
    let source = "local s = string.rep('\\0', 16 * 1024 * 1024) \
                  local a, b, c, d, e, f, g, h = s < s, s < s, s < s, s < s, s < s, s < s, s < s, s < s \
                  return 1";
    let err = eval_err(&e, &mut vm, source, ErrorKind::Timeout);
    assert!(err.message().contains("time limit"), "{err}");
    assert!(e.is_broken(&mut vm));
}

#[test]
fn the_timeout_covers_coroutines_and_the_prelude_handlers() {
    let (e, mut vm) =
        vm("function spin() local co = coroutine.wrap(function() while true do end end) co() end");
    let err = e.call(&mut vm, "spin", &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[test]
fn a_prelude_that_loops_fails_create_with_timeout() {
    let e = common::engine("while true do end");
    assert_eq!(e.create().unwrap_err().kind(), ErrorKind::Timeout);
}

#[test]
fn deep_recursion_ends_with_stack() {
    for source in [
        "local function f(n) return 1 + f(n + 1) end return f(1)",
        "local function f() local ok, e = pcall(f) if not ok then error(e, 0) end end f()",
        "local function f() pcall(f) end f() return 'survived'",
        "local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k .. 'x'] end return t.a",
        "local function f(s) return (s:gsub('.', f)) end return f('ab')",
    ] {
        // A generous time limit: the depth limit must be what ends these, even on a loaded machine.
        let e = LuaEngine::new(EngineConfig::new("").timeout(Duration::from_secs(10))).unwrap();
        let mut vm = e.create().unwrap();
        let err = eval_err(&e, &mut vm, source, ErrorKind::Stack);
        assert!(
            err.message().contains("KiB"),
            "the message names the limit: {err}"
        );
        assert!(e.is_broken(&mut vm), "{source}");
    }
}

#[test]
fn stack_kb_sets_the_depth() {
    let shallow = LuaEngine::new(EngineConfig::new("").limits(Limits {
        stack_kb: 16,
        ..Limits::default()
    }))
    .unwrap();
    assert_eq!(shallow.max_call_depth(), 128);
    let mut vm = shallow.create().unwrap();
    // 50 frames fit in 16 KiB, a few thousand do not.
    let rec = "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(";
    assert_eq!(
        shallow.eval(&mut vm, &format!("{rec}50)")).unwrap(),
        serde_json::json!(50)
    );
    assert_eq!(
        shallow
            .eval(&mut vm, &format!("{rec}5000)"))
            .unwrap_err()
            .kind(),
        ErrorKind::Stack
    );
    let (e, mut vm) = common::vm("");
    assert_eq!(e.max_call_depth(), 8192);
    assert_eq!(
        eval(&e, &mut vm, &format!("{rec}5000)")),
        serde_json::json!(5000)
    );
}

#[test]
fn allocation_past_the_limit_ends_with_memory() {
    let e = small_memory_engine(4);
    for source in [
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "return string.rep('x', 64 * 1024 * 1024)",
        "local s = 'x' while true do s = s .. s end",
        "local t = {} for i = 1, 1e9 do t[i] = tostring(i) .. 'abcdefgh' end",
    ] {
        let mut vm = e.create().unwrap();
        let err = eval_err(&e, &mut vm, source, ErrorKind::Memory);
        assert!(
            err.message().contains("4 MiB"),
            "the message names the limit: {err}"
        );
        assert!(e.is_broken(&mut vm), "{source}");
    }
}

#[test]
fn a_caught_allocation_error_still_ends_with_memory() {
    let e = small_memory_engine(4);
    for source in [
        // Caught and retried: the retry fails too, and the script would otherwise go on.
        "for i = 1, 3 do pcall(function() local t = {} for j = 1, 1e9 do t[j] = j end end) end return 'went on'",
        "local ok = pcall(string.rep, 'x', 64 * 1024 * 1024) return ok",
        "local ok = xpcall(string.rep, function() return 'handled' end, 'x', 64 * 1024 * 1024) return ok",
        "local co = coroutine.create(function() return string.rep('x', 64 * 1024 * 1024) end) return (coroutine.resume(co))",
        "local f, err = load(function() return string.rep('x', 64 * 1024 * 1024) end) return err",
    ] {
        let mut vm = e.create().unwrap();
        eval_err(&e, &mut vm, source, ErrorKind::Memory);
        assert!(e.is_broken(&mut vm), "{source}");
    }
}

#[test]
fn memory_usage_is_reported() {
    let (e, mut vm) = vm("");
    let before = e.memory_usage(&mut vm).unwrap();
    assert!(before > 0);
    eval(&e, &mut vm, "big = string.rep('x', 1000000)");
    // The collector may free earlier garbage meanwhile, so only the string's own size is certain.
    let after = e.memory_usage(&mut vm).unwrap();
    assert!(
        after > before && after >= 1_000_000,
        "before {before}, after {after}"
    );
}

#[test]
fn zero_limits_are_rejected() {
    for limits in [
        Limits {
            timeout: Duration::ZERO,
            ..Limits::default()
        },
        Limits {
            memory_mb: 0,
            ..Limits::default()
        },
        Limits {
            stack_kb: 0,
            ..Limits::default()
        },
    ] {
        let err = LuaEngine::new(EngineConfig::new("").limits(limits)).unwrap_err();
        assert!(err.message().contains("limits."), "names the key: {err}");
    }
}

#[test]
fn the_heap_keeps_an_allowance_for_the_allocator() {
    // Lua may count at most 7/8 of memory_mb: the rest is the system allocator's overhead on Lua's small blocks.
    let e = small_memory_engine(4);
    let mut vm = e.create().unwrap();
    eval_err(
        &e,
        &mut vm,
        "local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end",
        ErrorKind::Memory,
    );
    let used = e.memory_usage(&mut vm).unwrap();
    let limit = 4 << 20;
    assert!(
        used <= limit - limit / 8,
        "Lua holds {used} bytes, over 7/8 of {limit}"
    );
    assert!(used > limit / 2, "the script got most of its heap: {used}");
}

#[test]
fn the_limit_holds_after_calls_and_resets() {
    // Calls and resets write to the state from the host without the limit when it cannot be reached; it must be
    // back in place for the script.
    let e = LuaEngine::new(
        EngineConfig::new("function handle(input) return #input.items end").limits(Limits {
            timeout: Duration::from_secs(5),
            memory_mb: 4,
            stack_kb: 1024,
        }),
    )
    .unwrap();
    let mut vm = e.create().unwrap();
    let input = serde_json::json!({ "items": (1..=100).collect::<Vec<i32>>(), "name": "x" });
    for _ in 0..3 {
        assert_eq!(
            e.call(&mut vm, "handle", std::slice::from_ref(&input))
                .unwrap(),
            serde_json::json!(100)
        );
        e.reset(&mut vm).unwrap();
    }
    eval_err(
        &e,
        &mut vm,
        "return #string.rep('x', 8 * 1024 * 1024)",
        ErrorKind::Memory,
    );
}

#[test]
fn arguments_past_the_limit_end_with_memory() {
    // Too big to convert unmetered: converted under the limit, which stops it.
    let e = LuaEngine::new(
        EngineConfig::new("function handle(input) return #input end").limits(Limits {
            timeout: Duration::from_secs(5),
            memory_mb: 1,
            stack_kb: 1024,
        }),
    )
    .unwrap();
    let mut vm = e.create().unwrap();
    let big = serde_json::json!((0..200_000).collect::<Vec<i32>>());
    let err = e.call(&mut vm, "handle", &[big]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
    // A small argument still converts on a fresh instance.
    let mut vm = e.create().unwrap();
    assert_eq!(
        e.call(&mut vm, "handle", &[serde_json::json!([1, 2, 3])])
            .unwrap(),
        serde_json::json!(3)
    );
}

#[test]
fn looking_up_the_function_runs_no_script_code() {
    // The global table's metatable guards the host globals under every policy, so a script cannot give it an
    // __index function that the lookup of a missing function would run.
    let e = LuaEngine::new(
        EngineConfig::new("")
            .isolation(pool_core::Isolation::None)
            .limits(Limits {
                timeout: Duration::from_secs(5),
                memory_mb: 4,
                stack_kb: 1024,
            }),
    )
    .unwrap();
    let mut vm = e.create().unwrap();
    let err = e
        .eval(
            &mut vm,
            "setmetatable(_G, { __index = function() return string.rep('x', 8 * 1024 * 1024) end }) return nil",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception, "{err}");
    let err = e.call(&mut vm, "missing", &[]).unwrap_err();
    assert_ne!(err.kind(), ErrorKind::Memory, "{err}");
    assert!(err.message().contains("missing"), "{err}");
}

#[test]
fn calls_to_different_functions_find_each() {
    let e = LuaEngine::new(EngineConfig::new(
        "function a() return 'a' end function b() return 'b' end",
    ))
    .unwrap();
    let mut vm = e.create().unwrap();
    for name in ["a", "b", "a", "a", "b"] {
        assert_eq!(e.call(&mut vm, name, &[]).unwrap(), serde_json::json!(name));
    }
    // A use's own global shadows the prelude's until the reset.
    eval(&e, &mut vm, "a = function() return 'shadow' end return nil");
    assert_eq!(
        e.call(&mut vm, "a", &[]).unwrap(),
        serde_json::json!("shadow")
    );
    e.reset(&mut vm).unwrap();
    assert_eq!(e.call(&mut vm, "a", &[]).unwrap(), serde_json::json!("a"));
}

#[test]
fn a_limit_the_host_set_is_kept() {
    let e = small_memory_engine(4);
    let mut vm = e.create().unwrap();
    vm.lua().set_memory_limit(1 << 20).unwrap();
    eval(&e, &mut vm, "x = 1 return nil");
    e.reset(&mut vm).unwrap();
    eval_err(
        &e,
        &mut vm,
        "return #string.rep('x', 2 * 1024 * 1024)",
        ErrorKind::Memory,
    );
}
