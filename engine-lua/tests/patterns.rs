//! Pattern matching runs under the deadline (engine-lua ports Lua's matcher so that it can stop it), with the
//! semantics of Lua's own: a differential test against stock Lua on fixed and random patterns.

use std::time::Duration;

use engine_lua::LuaEngine;
use pool_core::{EngineConfig, ErrorKind, ScriptEngine};
use serde_json::{Value, json};

/// `run(f, s, p, x, y)` calls `string[f](s, p, x, y)` under pcall and describes every result (for `gmatch`, every
/// match) as one string; errors are reduced to "error" (the messages' prefixes differ).
const RUN: &str = r#"
function run(f, s, p, x, y)
  local function ser(ok, ...)
    if not ok then return "error" end
    local n = select('#', ...)
    local t = {}
    for i = 1, n do t[i] = tostring((select(i, ...))) end
    return n .. ":" .. table.concat(t, "|")
  end
  if f == "gmatch" then
    local ok, r = pcall(function()
      local out = {}
      for a, b in string.gmatch(s, p, x) do
        out[#out + 1] = tostring(a) .. "," .. tostring(b)
        if #out > 50 then break end
      end
      return table.concat(out, ";")
    end)
    return ok and r or "error"
  end
  if f == "gsub" and y == "fn" then
    return ser(pcall(string.gsub, s, p, function(c) return c and c:upper() or nil end, x))
  end
  if f == "gsub" and y == "tbl" then
    return ser(pcall(string.gsub, s, p, {a = "A", b = false, ab = 7}, x))
  end
  if f == "gsub" then return ser(pcall(string.gsub, s, p, y, x)) end
  return ser(pcall(string[f], s, p, x, y))
end
"#;

fn stock() -> mlua::Lua {
    let lua = mlua::Lua::new();
    lua.load(RUN).exec().unwrap();
    lua
}

fn stock_run(lua: &mlua::Lua, args: &[Value]) -> String {
    let f: mlua::Function = lua.globals().get("run").unwrap();
    let to_lua = |v: &Value| -> mlua::Value {
        match v {
            Value::String(s) => mlua::Value::String(lua.create_string(s).unwrap()),
            Value::Number(n) => mlua::Value::Integer(n.as_i64().unwrap()),
            Value::Bool(b) => mlua::Value::Boolean(*b),
            _ => mlua::Value::Nil,
        }
    };
    let args: mlua::MultiValue = args.iter().map(to_lua).collect();
    f.call::<String>(args).unwrap()
}

fn ours() -> (LuaEngine, engine_lua::LuaVm) {
    let e = LuaEngine::new(EngineConfig::new(RUN).timeout(Duration::from_secs(5))).unwrap();
    let vm = e.create().unwrap();
    (e, vm)
}

fn compare(cases: &[Vec<Value>]) {
    let lua = stock();
    let (e, mut vm) = ours();
    for args in cases {
        let want = stock_run(&lua, args);
        let got = e.call(&mut vm, "run", args).unwrap();
        assert_eq!(got, json!(want), "{args:?}");
    }
}

#[test]
fn the_port_matches_stock_lua_on_fixed_cases() {
    let s = |x: &str| json!(x);
    let mut cases = Vec::new();
    let subjects = [
        "hello world",
        "  trim me  ",
        "key = value",
        "THE (quick) fox",
        "a,b,,c",
        "2024-01-15",
        "aaab",
        "",
        "x = \"a\" y = 'b'",
        "a\0b%",
        "[x]-y",
    ];
    let patterns = [
        "o w",
        "l+",
        "^%s*(.-)%s*$",
        "(%w+)%s*=%s*(%w+)",
        "%b()",
        "%f[%a]%a+",
        "()ll()",
        "([\"'])(.-)%1",
        "^(%d+)-(%d+)-(%d+)$",
        "[^,]*",
        "a-b",
        "a*",
        "",
        "%",
        "[a",
        "(()",
        "%1",
        "[]x[]+",
        "[%]]",
        "[a-c%d]+",
        "%z",
        "\0",
        ".-$",
        "^$",
        "x*$",
        "[^%s]+",
        "%p+",
        "%u%l*",
        "(a)(b)?",
        "%bxy",
        "%f[%w]",
        "((a)(b))",
        "[%a-]",
        "^",
        "$",
        ".",
        "%d%d?",
        "(.)%1",
    ];
    for subject in subjects {
        for pattern in patterns {
            for f in ["find", "match"] {
                cases.push(vec![s(f), s(subject), s(pattern)]);
            }
            cases.push(vec![s("find"), s(subject), s(pattern), json!(3)]);
            cases.push(vec![s("find"), s(subject), s(pattern), json!(-4)]);
            cases.push(vec![s("gmatch"), s(subject), s(pattern)]);
            cases.push(vec![
                s("gsub"),
                s(subject),
                s(pattern),
                Value::Null,
                s("<%0>"),
            ]);
            cases.push(vec![
                s("gsub"),
                s(subject),
                s(pattern),
                json!(2),
                s("%1-%%"),
            ]);
            cases.push(vec![
                s("gsub"),
                s(subject),
                s(pattern),
                Value::Null,
                s("fn"),
            ]);
            cases.push(vec![
                s("gsub"),
                s(subject),
                s(pattern),
                Value::Null,
                s("tbl"),
            ]);
        }
    }
    compare(&cases);
}

#[test]
fn the_port_matches_stock_lua_on_random_patterns() {
    let mut rng = fastrand::Rng::with_seed(0x9a77e2);
    let pieces = [
        "a", "b", ".", "%a", "%d", "[ab]", "[^a]", "*", "+", "-", "?", "(", ")", "()", "%1", "^",
        "$", "%b()", "%f[a]", " ", "%s", "[a-c]", "%%",
    ];
    let subject_chars = ['a', 'b', 'c', ' ', '(', ')', '1'];
    let cases: Vec<Vec<Value>> = (0..10_000)
        .map(|_| {
            let pattern: String = (0..rng.usize(0..7))
                .map(|_| pieces[rng.usize(0..pieces.len())])
                .collect();
            let subject: String = (0..rng.usize(0..12))
                .map(|_| subject_chars[rng.usize(0..subject_chars.len())])
                .collect();
            let f = ["find", "match", "gmatch", "gsub"][rng.usize(0..4)];
            let mut args = vec![json!(f), json!(subject), json!(pattern)];
            if f == "gsub" {
                args.push(Value::Null);
                args.push(json!(["[%0]", "fn", "tbl", "%1"][rng.usize(0..4)]));
            } else if rng.bool() {
                args.push(json!(rng.i64(-5..8)));
            }
            args
        })
        .collect();
    compare(&cases);
}

#[test]
fn plain_find_matches_stock_lua() {
    // Plain searches (`plain` true, or a pattern without special characters) are engine-lua's own linear search:
    // the same positions, init handling and failures as Lua's.
    let s = |x: &str| json!(x);
    let subjects = [
        "",
        "a",
        "aaab",
        "abababc",
        "hello world",
        "a.b*c",
        "a\0b\0c",
        "%d(x)",
        "xxxxxxxxy",
    ];
    let patterns = [
        "",
        "a",
        "b",
        "ab",
        "aab",
        "abc",
        "o w",
        "world",
        "hello world!",
        ".",
        "*c",
        "a.b*c",
        "\0",
        "b\0c",
        "%d",
        "(x)",
        "%",
        "[",
        "xxy",
        "xy",
        "y",
    ];
    let mut cases = Vec::new();
    for subject in subjects {
        let len = i64::try_from(subject.len()).unwrap();
        for pattern in patterns {
            for init in [
                Value::Null,
                json!(0),
                json!(1),
                json!(2),
                json!(3),
                json!(-1),
                json!(-3),
                json!(-100),
                json!(len),
                json!(len + 1),
                json!(len + 2),
                json!(i64::MAX),
                json!(i64::MIN),
            ] {
                for plain in [json!(true), json!(1), json!("yes")] {
                    cases.push(vec![s("find"), s(subject), s(pattern), init.clone(), plain]);
                }
                // Not plain: a pattern without special characters is searched plainly all the same.
                cases.push(vec![
                    s("find"),
                    s(subject),
                    s(pattern),
                    init.clone(),
                    json!(false),
                ]);
            }
        }
    }
    let mut rng = fastrand::Rng::with_seed(0x051a_1f1d);
    for _ in 0..5_000 {
        let subject: String = (0..rng.usize(0..40))
            .map(|_| ['a', 'b', 'a', '.', '%'][rng.usize(0..5)])
            .collect();
        let pattern: String = (0..rng.usize(0..6))
            .map(|_| ['a', 'b', 'a', '.', '%'][rng.usize(0..5)])
            .collect();
        let init = if rng.bool() {
            json!(rng.i64(-45..45))
        } else {
            Value::Null
        };
        cases.push(vec![
            s("find"),
            json!(subject),
            json!(pattern),
            init,
            json!(true),
        ]);
    }
    compare(&cases);
}

#[test]
fn backtracking_patterns_end_with_timeout() {
    for source in [
        "return ('a'):rep(1e5):find('.-.-b')",
        "return ('a'):rep(1e5):match('.-.-.-b')",
        "return (('a'):rep(1e5):gsub('.-.-b', 'x'))",
        "for m in ('a'):rep(1e5):gmatch('.-.-b') do end",
        "while true do pcall(string.find, ('a'):rep(1e5), '.-.-b') end",
    ] {
        let e = LuaEngine::new(EngineConfig::new("").timeout(Duration::from_millis(100))).unwrap();
        let mut vm = e.create().unwrap();
        let started = std::time::Instant::now();
        let err = e.eval(&mut vm, source).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{source}: {err}");
        assert!(e.is_broken(&mut vm), "{source}");
        // Not a timing assertion: a sanity bound far above the deadline, so that a matcher that ignores the
        // deadline (hours on these inputs) fails here instead of hanging.
        assert!(started.elapsed() < Duration::from_secs(30), "{source}");
    }
}

#[test]
fn gsub_output_is_bounded_by_the_memory_limit() {
    let e = LuaEngine::new(EngineConfig::new("").limits(pool_core::Limits {
        memory_mb: 4,
        ..pool_core::Limits::default()
    }))
    .unwrap();
    let mut vm = e.create().unwrap();
    let err = e
        .eval(
            &mut vm,
            "return #(('x'):rep(1e5):gsub('', ('y'):rep(1000)))",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
}
