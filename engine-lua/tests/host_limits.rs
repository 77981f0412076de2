//! Limits that host code (the pattern functions and the result conversion) must enforce itself: Lua's hook and
//! the sandbox's `pcall` wrapper do not see what happens inside a Rust function.

mod common;

use std::time::Duration;

use engine_lua::{LuaEngine, LuaVm};
use pool_core::{EngineConfig, ErrorKind, Limits, ScriptEngine, ScriptError, Value};
use serde_json::json;

fn engine(memory_mb: u64, stack_kb: u64) -> LuaEngine {
    // A generous time limit: the limit under test must be what ends these scripts, even on a loaded machine.
    LuaEngine::new(EngineConfig::new("").limits(Limits {
        timeout: Duration::from_secs(20),
        memory_mb,
        stack_kb,
    }))
    .unwrap()
}

/// Evaluates `source` and expects a failure of `kind` (a value returned instead is shown shortened: some are
/// hundreds of MiB).
fn eval_err(engine: &LuaEngine, vm: &mut LuaVm, source: &str, kind: ErrorKind) -> ScriptError {
    match engine.eval(vm, source) {
        Ok(v) => {
            let mut text = v.to_string();
            if text.len() > 200 {
                let start: String = text.chars().take(200).collect();
                text = format!("{start}... ({} bytes)", text.len());
            }
            panic!("{source}: returned {text} instead of failing with {kind}")
        }
        Err(e) => {
            assert_eq!(e.kind(), kind, "{source}: failed with {e}, expected {kind}");
            e
        }
    }
}

/// Runs every script on a fresh instance and expects it to end with `kind` and break the instance.
fn expect_limit(engine: &LuaEngine, kind: ErrorKind, sources: &[&str]) {
    for source in sources {
        let mut vm = engine.create().unwrap();
        let err = eval_err(engine, &mut vm, source, kind);
        assert!(
            engine.is_broken(&mut vm),
            "{source}: the instance must be broken after {err}"
        );
    }
}

#[test]
fn memory_errors_inside_the_pattern_functions_cannot_be_caught() {
    expect_limit(
        &engine(4, 1024),
        ErrorKind::Memory,
        &[
            // A replacement function that runs out of memory.
            "local ok, e = pcall(string.gsub, 'a', '.', function() return string.rep('x', 64*1024*1024) end) \
             return {ok, type(e), 'went on'}",
            // A replacement table whose lookup runs out of memory.
            "local t = setmetatable({}, {__index = function() return string.rep('x', 64*1024*1024) end}) \
             local ok, e = pcall(string.gsub, 'a', '.', t) return {ok, type(e), 'went on'}",
            // gsub's own bound on its output.
            "local ok, e = pcall(string.gsub, ('x'):rep(1e5), '', ('y'):rep(1000)) return {ok, type(e), 'went on'}",
            // Caught twice, and by xpcall.
            "local ok, e = pcall(pcall, string.gsub, ('x'):rep(1e5), '', ('y'):rep(1000)) return {ok, type(e)}",
            "local ok, e = xpcall(string.gsub, function(e) return e end, ('x'):rep(1e5), '', ('y'):rep(1000)) \
             return {ok, type(e)}",
            // Captures are made in host code: two copies of 1.5 MiB do not fit in the 3.5 MiB heap.
            "local s = ('x'):rep(1536 * 1024) local ok, e = pcall(string.match, s, '((.*))') \
             return {ok, type(e), 'went on'}",
            "local s = ('x'):rep(1536 * 1024) local ok, e = pcall(string.find, s, '((.*))') \
             return {ok, type(e), 'went on'}",
            "local s = ('x'):rep(1536 * 1024) local ok, e = pcall(function() \
               for a, b in s:gmatch('((.*))') do end end) \
             return {ok, type(e), 'went on'}",
        ],
    );
}

#[test]
fn stack_errors_inside_gsub_callbacks_cannot_be_caught() {
    expect_limit(
        &engine(64, 1024),
        ErrorKind::Stack,
        &[
            // Nested metamethod calls: Lua's "C stack overflow", raised inside the replacement function.
            "local t = setmetatable({}, {__index = function(t, k) return t[k .. 'x'] end}) \
             local ok, e = pcall(string.gsub, 'a', '.', function() return t.a end) return {ok, type(e), 'went on'}",
            // The same, from the replacement table's own lookup.
            "local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k .. 'x'] end \
             local ok, e = pcall(string.gsub, 'a', '.', t) return {ok, type(e), 'went on'}",
        ],
    );
    // Lua's own "stack overflow" (a million stack slots), with a depth limit far beyond it.
    expect_limit(
        &engine(256, 1024 * 1024),
        ErrorKind::Stack,
        &["local function f(n) return 1 + f(n + 1) end \
             local ok, e = pcall(string.gsub, 'a', '.', function() return f(1) end) return {ok, type(e), 'went on'}"],
    );
}

#[test]
fn nested_gsub_buffers_count_against_the_memory_limit_together() {
    // Each level holds a little over 512 KiB in its output buffer when it calls the next one (everything before
    // the 'b'), well under the limit of 8 MiB; 24 levels hold 12 MiB. The Lua heap stays small: the subject is
    // shared and no level changes it.
    let source = "local s = ('a'):rep(512 * 1024) .. 'b' \
                  local depth = 0 \
                  local function f() depth = depth + 1 if depth < 24 then s:gsub('b', f) end end \
                  s:gsub('b', f) \
                  return depth";
    let e = engine(8, 1024);
    expect_limit(&e, ErrorKind::Memory, &[source]);
    // Caught, it still ends with memory.
    let caught = format!("local ok = pcall(function() {source} end) return 'went on'");
    expect_limit(&e, ErrorKind::Memory, &[&caught]);
    // Fewer levels fit.
    let mut vm = e.create().unwrap();
    let shallow = source.replace("depth < 24", "depth < 4");
    assert_eq!(e.eval(&mut vm, &shallow).unwrap(), json!(4));
}

#[test]
fn a_long_replacement_is_bounded_as_it_grows() {
    // Each match appends 1024 copies of itself (1 GiB in all): the bound must stop it on the way, not after.
    let e = engine(16, 1024);
    let mut vm = e.create().unwrap();
    let before = peak_rss_kib();
    eval_err(
        &e,
        &mut vm,
        "return (('a'):rep(1 << 20):gsub('^.*', ('%0'):rep(1024)))",
        ErrorKind::Memory,
    );
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        assert!(
            after.saturating_sub(before) < 256 << 10,
            "the process's peak grew by {} KiB",
            after - before
        );
    }
}

/// The process's peak resident set (`VmHWM`), where the system reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_long_character_class_counts_as_long_as_it_is() {
    // One pattern item over a 4 MiB class, tried at each of 100,000 positions: each try scans the class.
    let e = LuaEngine::new(EngineConfig::new("").limits(Limits {
        timeout: Duration::from_millis(200),
        memory_mb: 64,
        stack_kb: 1024,
    }))
    .unwrap();
    // Without the weighting the search runs for minutes in a debug build before it returns (and is then a
    // timeout all the same): a minute's wait tells the two apart.
    let slow = LuaEngine::new(e.config().clone()).unwrap();
    let result = common::within_a_minute("the search", move || {
        let mut vm = slow.create().unwrap();
        let source = "return (('a'):rep(100000):find('[' .. ('b'):rep(4 * 1024 * 1024) .. ']'))";
        slow.eval(&mut vm, source).map_err(|err| err.kind())
    });
    assert_eq!(result, Err(ErrorKind::Timeout));
    // Short classes match as before.
    let mut vm = e.create().unwrap();
    assert_eq!(
        e.eval(&mut vm, "return ('xxab'):find('[ab]+')").unwrap(),
        json!(3)
    );
}

#[test]
fn plain_find_takes_linear_time() {
    // Lua's own plain search compares the pattern at every position: about (5 * 10^5)^2 byte comparisons here,
    // seconds to minutes in one C call that the hook cannot interrupt (so the call ended with `timeout`, however
    // long it took). A linear search answers at once.
    let e = LuaEngine::new(EngineConfig::new("").timeout(Duration::from_secs(2))).unwrap();
    let mut vm = e.create().unwrap();
    for (source, expected) in [
        (
            "local n = 1000000 return (('a'):rep(n)):find(('a'):rep(n // 2) .. 'b', 1, true)",
            Value::Null,
        ),
        // Without special characters, the search is plain too.
        (
            "local n = 1000000 return (('a'):rep(n)):find(('a'):rep(n // 2) .. 'b')",
            Value::Null,
        ),
        (
            "local n = 1000000 return {(('a'):rep(n) .. 'b'):find(('a'):rep(n // 2) .. 'b', 3)}",
            json!([500_001, 1_000_001]),
        ),
    ] {
        let started = std::time::Instant::now();
        match e.eval(&mut vm, source) {
            Ok(value) => assert_eq!(value, expected, "{source}"),
            Err(err) => panic!("{source}: {err}"),
        }
        // A sanity bound far above the time limit, not a timing assertion.
        assert!(started.elapsed() < Duration::from_secs(60), "{source}");
    }
}

#[test]
fn results_are_bounded_by_the_memory_limit_in_bytes() {
    let e = engine(4, 1024);
    let mut vm = e.create().unwrap();
    // 300 references to one 1 MiB string: a small Lua heap, 300 MiB once converted.
    let err = eval_err(
        &e,
        &mut vm,
        "local s = string.rep('x', 1024*1024) local t = {} for i = 1, 300 do t[i] = s end return t",
        ErrorKind::Conversion,
    );
    assert!(err.message().contains("memory"), "{err}");
    // Long keys count too.
    let err = eval_err(
        &e,
        &mut vm,
        "local t = {} for i = 1, 8 do t[string.rep('k', 256*1024 - i)] = i end return {t, t, t, t, t, t}",
        ErrorKind::Conversion,
    );
    assert!(err.message().contains("memory"), "{err}");
    // Results that fit are unchanged.
    assert_eq!(
        e.eval(&mut vm, "return {string.rep('x', 1024*1024), 'y'}")
            .unwrap()[1],
        Value::from("y")
    );
}
