//! Isolation between uses: each policy's promise, item by item (a writer use, the reset, a reader use).

mod common;

use common::{engine_with, eval, eval_err};
use engine_lua::{LuaEngine, LuaVm};
use pool_core::{ErrorKind, Isolation, ScriptEngine, Value};
use serde_json::json;

const PRELUDE: &str = r#"
Handlers = { greet = function() return "hello" end, nested = { level = 1 } }
Class = {}
Class.__index = Class
function Class.new(v) return setmetatable({ v = v }, Class) end
function Class:get() return self.v end
function handle() return "original" end
function remember(v) remembered = v end
function recall() return remembered end
function leak_env() return _ENV end
"#;

/// Runs `writer` in one use, resets, and returns what `reader` sees in the next use.
fn across_reset(engine: &LuaEngine, vm: &mut LuaVm, writer: &str, reader: &str) -> Value {
    engine
        .eval(vm, writer)
        .unwrap_or_else(|e| panic!("writer {writer:?} failed: {e}"));
    engine
        .reset(vm)
        .unwrap_or_else(|e| panic!("reset after {writer:?} failed: {e}"));
    eval(engine, vm, reader)
}

#[test]
fn strict_drops_globals_and_reassignments() {
    let e = engine_with(PRELUDE, Isolation::Strict);
    let mut vm = e.create().unwrap();
    for (writer, reader, expected) in [
        ("x = 1", "x", json!(null)),
        ("_G.y = 2", "y", json!(null)),
        ("rawset(_G, 'z', 3) return nil", "z", json!(null)),
        (
            "local t = {} function global_fn() end",
            "global_fn",
            json!(null),
        ),
        (
            "handle = function() return 'hijacked' end",
            "handle()",
            json!("original"),
        ),
        ("handle = nil", "handle()", json!("original")),
        ("string = nil", "string.upper('a')", json!("A")),
        (
            "tostring = function() return 'evil' end",
            "tostring(1)",
            json!("1"),
        ),
        ("remember('secret')", "recall()", json!(null)),
        ("load('loaded = 1')()", "loaded", json!(null)),
        ("_G = nil", "_G ~= nil", json!(true)),
    ] {
        assert_eq!(
            across_reset(&e, &mut vm, writer, reader),
            expected,
            "{writer:?} then {reader:?}"
        );
    }
}

#[test]
fn strict_prelude_functions_write_to_the_current_use() {
    let e = engine_with(PRELUDE, Isolation::Strict);
    let mut vm = e.create().unwrap();
    e.call(&mut vm, "remember", &[json!("first use")]).unwrap();
    assert_eq!(e.call(&mut vm, "recall", &[]).unwrap(), json!("first use"));
    assert_eq!(
        eval(&e, &mut vm, "remembered"),
        json!("first use"),
        "visible to the use's own scripts"
    );
    e.reset(&mut vm).unwrap();
    assert_eq!(e.call(&mut vm, "recall", &[]).unwrap(), json!(null));
    // And prelude functions see the use's reassignments of globals.
    eval(&e, &mut vm, "remembered = 'set by script'");
    assert_eq!(
        e.call(&mut vm, "recall", &[]).unwrap(),
        json!("set by script")
    );
}

#[test]
fn strict_library_tables_are_read_only() {
    let e = engine_with(PRELUDE, Isolation::Strict);
    let mut vm = e.create().unwrap();
    for writer in [
        "string.upper = function() return 'evil' end",
        "table.insert = nil",
        "math.pi = 3",
        "os.time = nil",
        "coroutine.wrap = nil",
        "utf8.char = nil",
        "rawset(string, 'upper', function() return 'evil' end)",
        "table.insert(string, 1)",
        "setmetatable(string, {})",
        "getmetatable(string).__index = {}",
    ] {
        let err = e.eval(&mut vm, writer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{writer}: {err}");
    }
    let err = e.eval(&mut vm, "string.upper = nil").unwrap_err();
    assert!(err.message().contains("read-only table 'string'"), "{err}");
    e.reset(&mut vm).unwrap();
    assert_eq!(
        eval(&e, &mut vm, "string.upper('a') .. ('b'):upper()"),
        json!("AB")
    );
    // Reading, iterating and measuring still work.
    assert_eq!(eval(&e, &mut vm, "type(string.format)"), json!("function"));
    assert!(
        eval(
            &e,
            &mut vm,
            "local n = 0 for k, v in pairs(math) do n = n + 1 end return n"
        )
        .as_i64()
        .unwrap()
            > 20
    );
    assert_eq!(eval(&e, &mut vm, "math.randomseed"), json!(null));
    assert_eq!(eval(&e, &mut vm, "getmetatable(string)"), json!(false));
}

#[test]
fn strict_prelude_tables_are_read_only_but_usable() {
    let e = engine_with(PRELUDE, Isolation::Strict);
    let mut vm = e.create().unwrap();
    for writer in [
        "Handlers.greet = function() return 'evil' end",
        "Handlers.nested.level = 99",
        "Class.get = function() return 'evil' end",
        "getmetatable(Class.new(1)).get = nil",
        "rawset(Handlers, 'greet', nil)",
    ] {
        let err = e.eval(&mut vm, writer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{writer}: {err}");
    }
    e.reset(&mut vm).unwrap();
    assert_eq!(eval(&e, &mut vm, "Handlers.greet()"), json!("hello"));
    assert_eq!(eval(&e, &mut vm, "Handlers.nested.level"), json!(1));
    assert_eq!(eval(&e, &mut vm, "Class.new(42):get()"), json!(42));
    assert_eq!(
        eval(&e, &mut vm, "getmetatable(Class.new(1)) == Class"),
        json!(true)
    );
    assert_eq!(
        eval(
            &e,
            &mut vm,
            "local o = setmetatable({v = 5}, Class) return o:get()"
        ),
        json!(5)
    );
    assert_eq!(eval(&e, &mut vm, "#{table.unpack({1, 2, 3})}"), json!(3));
}

#[test]
fn strict_a_prelude_may_extend_the_libraries_which_then_stay_read_only() {
    let prelude = r#"
function string.split(s, sep)
  local out = {}
  for part in (s .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do out[#out + 1] = part end
  return out
end
table.helpers = { sum = function(t) local n = 0 for _, v in ipairs(t) do n = n + v end return n end }
rawset(math, "clamp", function(x, lo, hi) return math.max(lo, math.min(hi, x)) end)
function handle(s) return { string.split(s, ","), ("x;y"):split(";"), table.helpers.sum({ 1, 2, 3 }), math.clamp(9, 0, 5) } end
"#;
    let e = engine_with(prelude, Isolation::Strict);
    let mut vm = e.create().unwrap();
    let want = json!([["a", "b"], ["x", "y"], 6, 5]);
    assert_eq!(e.call(&mut vm, "handle", &[json!("a,b")]).unwrap(), want);
    // After the set-up the additions are read-only like the rest of the library, deeply.
    for writer in [
        "string.split = nil",
        "table.helpers.sum = nil",
        "rawset(math, 'clamp', nil)",
        "rawset(table.helpers, 'sum', nil)",
    ] {
        let err = e.eval(&mut vm, writer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{writer}: {err}");
        assert!(err.message().contains("read-only"), "{writer}: {err}");
    }
    e.reset(&mut vm).unwrap();
    assert_eq!(e.call(&mut vm, "handle", &[json!("a,b")]).unwrap(), want);
}

/// Library tables in the common module styles: callable (`__call`), printable, concatenable, with arithmetic,
/// comparison, length and iteration metamethods, and one whose metatable is hidden by `__metatable`.
const METAMETHODS: &str = r#"
Callable = setmetatable({ version = 2 }, { __call = function(self, a, b) return self.version * (a + b) end })
local V = {}
V.__index = V
V.__tostring = function(v) return "V(" .. v.x .. ")" end
V.__add = function(a, b) return setmetatable({ x = a.x + b.x }, V) end
V.__unm = function(a) return setmetatable({ x = -a.x }, V) end
V.__eq = function(a, b) return a.x == b.x end
V.__lt = function(a, b) return a.x < b.x end
V.__le = function(a, b) return a.x <= b.x end
V.__concat = function(a, b) return tostring(a) .. "|" .. tostring(b) end
V.__len = function(v) return v.x end
V.__name = "V"
V.__metatable = "locked"
One, Two = setmetatable({ x = 1 }, V), setmetatable({ x = 2 }, V)
Sequence = setmetatable({}, { __pairs = function(t) local i = 0
  return function() i = i + 1 if i <= 3 then return i, i * 10 end end, t, nil end })
function uses() return tostring(One + Two) .. " " .. tostring(-One) end
"#;

#[test]
fn strict_views_forward_the_libraries_metamethods() {
    for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
        let e = engine_with(METAMETHODS, isolation);
        let mut vm = e.create().unwrap();
        for (source, want) in [
            ("return Callable(1, 2)", json!(6)),
            ("return tostring(One)", json!("V(1)")),
            ("return tostring(One + Two)", json!("V(3)")),
            ("return tostring(-Two)", json!("V(-2)")),
            ("return One .. Two", json!("V(1)|V(2)")),
            ("return One .. 'x'", json!("V(1)|x")),
            (
                "return { One < Two, One <= One, Two < One }",
                json!([true, true, false]),
            ),
            (
                "return { (One + One) == Two, One == Two }",
                json!([true, false]),
            ),
            ("return #Two", json!(2)),
            (
                "local s = 0 for k, v in pairs(Sequence) do s = s + k + v end return s",
                json!(66),
            ),
            ("return uses()", json!("V(3) V(-1)")),
        ] {
            assert_eq!(eval(&e, &mut vm, source), want, "{source} ({isolation})");
        }
        e.reset(&mut vm).unwrap();
    }
    // Still read-only under strict: a metamethod gets the view, and writing through it fails.
    let e = engine_with(
        "Counter = setmetatable({ n = 0 }, { __call = function(self) self.n = self.n + 1 return self.n end })",
        Isolation::Strict,
    );
    let mut vm = e.create().unwrap();
    let err = e.eval(&mut vm, "return Counter()").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception, "{err}");
    assert!(err.message().contains("read-only"), "{err}");
    e.reset(&mut vm).unwrap();
    assert_eq!(eval(&e, &mut vm, "return Counter.n"), json!(0));
}

#[test]
fn strict_protects_tables_used_as_keys_of_prelude_tables() {
    let e = engine_with(
        "local K = { name = 'k' } Registry = { [{ name = 'a' }] = true, [K] = 7 } \
         function lookup() return Registry[K] end",
        Isolation::Strict,
    );
    let mut vm = e.create().unwrap();
    let err = e
        .eval(&mut vm, "for k in pairs(Registry) do k.name = 'evil' end")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception, "{err}");
    assert!(err.message().contains("read-only"), "{err}");
    e.reset(&mut vm).unwrap();
    assert_eq!(
        eval(
            &e,
            &mut vm,
            "local names = {} for k, v in pairs(Registry) do names[#names + 1] = k.name .. '=' .. tostring(Registry[k]) end \
             table.sort(names) return names"
        ),
        json!(["a=true", "k=7"])
    );
    // The prelude's own code still finds its key.
    assert_eq!(e.call(&mut vm, "lookup", &[]).unwrap(), json!(7));
}

#[test]
fn strict_protects_the_string_metatable() {
    let e = engine_with("", Isolation::Strict);
    let mut vm = e.create().unwrap();
    assert!(
        e.eval(&mut vm, "getmetatable('').__index.upper = nil")
            .is_err()
    );
    assert!(e.eval(&mut vm, "getmetatable('').__add = nil").is_err());
    e.reset(&mut vm).unwrap();
    assert_eq!(eval(&e, &mut vm, "('a'):upper()"), json!("A"));
    assert_eq!(eval(&e, &mut vm, "'10' + 1"), json!(11));
}

#[test]
fn strict_verification_catches_a_tampered_instance() {
    let e = engine_with(PRELUDE, Isolation::Strict);
    // A prelude function handed out its environment and a script wrote into it raw.
    let mut vm = e.create().unwrap();
    eval(&e, &mut vm, "rawset(leak_env(), 'planted', 1)");
    let err = e.reset(&mut vm).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.message().contains("prelude's own environment"), "{err}");
    // The host changed the string metatable behind the sandbox's back.
    let mut vm = e.create().unwrap();
    let string_metatable = vm.lua().type_metatable::<mlua::LuaString>().unwrap();
    string_metatable
        .raw_set("__index", vm.lua().create_table().unwrap())
        .unwrap();
    let err = e.reset(&mut vm).unwrap_err();
    assert!(err.message().contains("string metatable"), "{err}");
    // Without verification the same reset passes.
    let mut config = e.config().clone();
    config.verify_reset = false;
    let unverified = LuaEngine::new(config).unwrap();
    let mut vm = unverified.create().unwrap();
    eval(&unverified, &mut vm, "rawset(leak_env(), 'planted', 1)");
    unverified.reset(&mut vm).unwrap();
}

#[test]
fn scrub_deletes_added_globals_only() {
    let e = engine_with(PRELUDE, Isolation::Scrub);
    let mut vm = e.create().unwrap();
    assert_eq!(across_reset(&e, &mut vm, "x = 1", "x"), json!(null));
    assert_eq!(
        across_reset(&e, &mut vm, "remember('kept?')", "remembered"),
        json!(null)
    );
    // Documented weakness: reassigned globals and library changes survive a scrub.
    assert_eq!(
        across_reset(
            &e,
            &mut vm,
            "handle = function() return 'hijacked' end",
            "handle()"
        ),
        json!("hijacked")
    );
    assert_eq!(
        across_reset(&e, &mut vm, "string.upper = string.lower", "('A'):upper()"),
        json!("a")
    );
    assert_eq!(
        across_reset(
            &e,
            &mut vm,
            "Handlers.nested.level = 2",
            "Handlers.nested.level"
        ),
        json!(2)
    );
}

#[test]
fn scrub_verification_catches_removed_globals_and_metatables() {
    let e = engine_with(PRELUDE, Isolation::Scrub);
    let mut vm = e.create().unwrap();
    eval(&e, &mut vm, "handle = nil");
    let err = e.reset(&mut vm).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.message().contains("removed"), "{err}");
    // The global table's metatable is protected (it guards the host globals), so a script cannot install one.
    let mut vm = e.create().unwrap();
    let err = eval_err(
        &e,
        &mut vm,
        "setmetatable(_G, {__index = function() return 'evil' end}) return nil",
        ErrorKind::Exception,
    );
    assert!(err.message().contains("metatable"), "{err}");
    e.reset(&mut vm).unwrap();
    assert_eq!(eval(&e, &mut vm, "return undefinedName"), json!(null));
}

#[test]
fn none_keeps_everything() {
    let e = engine_with(PRELUDE, Isolation::None);
    let mut vm = e.create().unwrap();
    assert_eq!(across_reset(&e, &mut vm, "x = 1", "x"), json!(1));
    assert_eq!(
        across_reset(&e, &mut vm, "handle = nil", "handle"),
        json!(null)
    );
    assert_eq!(
        across_reset(&e, &mut vm, "string.upper = string.lower", "('A'):upper()"),
        json!("a")
    );
}
