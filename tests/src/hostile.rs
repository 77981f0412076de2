//! Hostile scripts (issue 6), written once per language and run against every engine by `tests/hostile.rs`.
//!
//! Every case runs through a real [`Pool`] and checks three things: the typed [`ErrorKind`] (or the exact value
//! for cases that must succeed harmlessly), that an instance whose state is suspect (a limit or engine fault) was
//! discarded (pool metrics: destroyed as `tainted`) while one that failed cleanly was kept, and that the pool
//! keeps serving afterwards.

use std::time::{Duration, Instant};

use pool_core::{DestroyReason, EngineError, ErrorKind, Limits, Pool, PooledVm, ScriptEngine};
use serde_json::Value;

use crate::{Engine, Lang};

/// What a hostile case must give.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// An error of one of these kinds.
    Err(&'static [ErrorKind]),
    /// This value (JSON text).
    Value(&'static str),
}

/// One hostile script, in the languages it applies to.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// For messages.
    pub name: &'static str,
    /// The JavaScript form, if any.
    pub js: Option<&'static str>,
    /// The Lua form, if any.
    pub lua: Option<&'static str>,
    /// What it must give.
    pub expect: Expect,
}

const TIMEOUT: &[ErrorKind] = &[ErrorKind::Timeout];
const STACK: &[ErrorKind] = &[ErrorKind::Stack];
const MEMORY: &[ErrorKind] = &[ErrorKind::Memory];
const EXCEPTION: &[ErrorKind] = &[ErrorKind::Exception];
const CONVERSION: &[ErrorKind] = &[ErrorKind::Conversion];
const SYNTAX: &[ErrorKind] = &[ErrorKind::Syntax];
/// A thrown value whose `message` or `toString` loops: the engine either runs it under the deadline (`timeout`) or
/// does not run it at all (an `exception` describing the object).
pub const TRAP_IN_ERROR: &[ErrorKind] = &[ErrorKind::Timeout, ErrorKind::Exception];
/// A huge string: over the memory limit, or refused by the engine's own maximum string length before allocating.
pub const HUGE: &[ErrorKind] = &[ErrorKind::Memory, ErrorKind::Exception];

/// Deeply nested source: rejected before or while parsing, as too deep or as bad syntax.
pub const NESTED: &[ErrorKind] = &[ErrorKind::Stack, ErrorKind::Syntax];

const fn case(
    name: &'static str,
    js: Option<&'static str>,
    lua: Option<&'static str>,
    expect: Expect,
) -> Case {
    Case {
        name,
        js,
        lua,
        expect,
    }
}

/// The time limit of the hostile pools (short, to keep the suite fast).
pub const HOSTILE_TIMEOUT: Duration = Duration::from_millis(150);
/// The memory limit of the hostile pools, in MiB.
pub const HOSTILE_MEMORY_MB: u64 = 32;

/// Runaway CPU: loops that catch the timeout, endless promise chains, backtracking, loops spread over frames.
pub const CPU: &[Case] = &[
    case(
        "infinite loop",
        Some("for (;;) {}"),
        Some("while true do end"),
        Expect::Err(TIMEOUT),
    ),
    case(
        "loop that catches and retries in finally",
        Some("for (;;) { try { for (;;) {} } catch (e) {} finally { continue; } }"),
        Some(
            "while true do xpcall(function() while true do end end, function(e) while true do end end) end",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "catch in a coroutine / generator",
        Some(
            "function* g() { for (;;) { try { for (;;) {} } catch (e) { yield e; } } } for (const x of g()) {}",
        ),
        Some(
            "local co = coroutine.wrap(function() while true do pcall(function() while true do end end) coroutine.yield() end end) while true do pcall(co) end",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "endless promise chain",
        // Each job queues the next and keeps nothing: a chain that returned its promises would also grow the
        // heap (each promise holds the previous one) and end with memory on engines that meter it.
        Some("(function f() { Promise.resolve().then(f); })(); 1"),
        Some(
            "local co co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "endless await loop",
        Some("(async () => { for (;;) { await null; } })(); 1"),
        None,
        Expect::Err(TIMEOUT),
    ),
    case(
        "loops spread over many frames",
        Some(
            "function f(n) { for (let i = 0; i < 20000; i++) {} if (n > 0) { f(n - 1); f(n - 1); } } f(40); 1",
        ),
        Some(
            "local function f(n) for i = 1, 20000 do end if n > 0 then f(n - 1) f(n - 1) end end f(40) return 1",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "loops spread over many frames, inside a call made by a built-in",
        Some(
            "function f(n) { for (let i = 0; i < 20000; i++) {} if (n > 0) { [1, 2].forEach(() => f(n - 1)); } } f(40); 1",
        ),
        Some(
            "local function f(n) for i = 1, 20000 do end if n > 0 then table.sort({1, 2, 3}, function(a, b) f(n - 1) return a < b end) end end f(40) return 1",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "to-be-closed variable whose __close loops after a limit",
        None,
        Some(
            "local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "generic for whose closing value loops after a limit, in a coroutine",
        None,
        Some(
            "local o = setmetatable({}, {__close = function() while true do end end}) coroutine.wrap(function() for _ in function() while true do end end, nil, nil, o do end end)()",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "regular-expression backtracking",
        Some("/^(a+)+$/.test('a'.repeat(34) + 'b')"),
        None,
        Expect::Err(TIMEOUT),
    ),
];

/// Lua pattern backtracking: in stock Lua one C call that the instruction hook cannot interrupt (engine-lua now
/// matches under the deadline; run in a child process so that a regression hangs only the child).
pub const LUA_PATTERNS: &[Case] = &[
    case(
        "pattern backtracking in find",
        None,
        Some("return ('a'):rep(1e5):find('.-.-b')"),
        Expect::Err(TIMEOUT),
    ),
    case(
        "pattern backtracking in match",
        None,
        Some("return ('a'):rep(3e4):match('(a*)*b') or ('a'):rep(1e5):match('.-.-.-b')"),
        Expect::Err(TIMEOUT),
    ),
    case(
        "pattern backtracking in gsub",
        None,
        Some("return (('a'):rep(1e5):gsub('.-.-b', 'x'))"),
        Expect::Err(TIMEOUT),
    ),
    case(
        "pattern backtracking in gmatch",
        None,
        Some("for m in ('a'):rep(1e5):gmatch('.-.-b') do end return 1"),
        Expect::Err(TIMEOUT),
    ),
];

/// Recursion that the engine must stop with `stack`.
pub const STACK_CASES: &[Case] = &[
    case(
        "mutual recursion",
        Some("function a(n) { return b(n + 1) + 1; } function b(n) { return a(n + 1) + 1; } a(0)"),
        Some(
            "local a, b function a(n) return b(n + 1) + 1 end function b(n) return a(n + 1) + 1 end return a(0)",
        ),
        Expect::Err(STACK),
    ),
    case(
        "accessor recursion",
        Some("({ get x() { return this.x; } }).x"),
        Some("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x"),
        Expect::Err(STACK),
    ),
    case(
        "recursion through toString",
        Some(
            "const o = { toString() { return String({ toString: this.toString }) + '!'; } }; String(o)",
        ),
        Some(
            "local t t = setmetatable({}, {__tostring = function(x) return tostring(x) .. '!' end}) return tostring(t)",
        ),
        Expect::Err(STACK),
    ),
    case(
        "recursion through a built-in callback",
        Some("function f() { [1].forEach(f); } f()"),
        Some(
            "local function f() table.sort({3, 2, 1}, function(a, b) f() return a < b end) end f()",
        ),
        Expect::Err(STACK),
    ),
    case(
        "recursion through a string replacement callback",
        Some("function f(c) { return 'ab'.replace(/./g, f); } 'ab'.replace(/./g, f)"),
        Some("local function f(s) return (('ab'):gsub('.', f)) end return f('ab')"),
        Expect::Err(STACK),
    ),
    case(
        "recursion that catches the stack error",
        Some("function f() { try { return f(); } catch (e) { return f(); } } f()"),
        Some("local function f() local ok = pcall(f) if not ok then return f() end end return f()"),
        Expect::Err(STACK),
    ),
];

/// Recursion in native code on data a script built (Boa recursed natively without a depth check and aborted the
/// process). `{n}` is replaced by the depth ([`data_depth`]). Any typed error is accepted: the point is that the
/// process survives; the kind is `stack` where the engine's recursion limit stopped it.
pub const DATA_RECURSION: &[Case] = &[
    case(
        "String() of deeply nested arrays",
        Some("let a = []; for (let i = 0; i < {n}; i++) a = [a]; String(a).length"),
        None,
        Expect::Err(DATA),
    ),
    case(
        "JSON.stringify of deeply nested arrays",
        Some("let a = []; for (let i = 0; i < {n}; i++) a = [a]; JSON.stringify(a).length"),
        None,
        Expect::Err(DATA),
    ),
    case(
        "JSON.stringify of deeply nested objects with a replacer",
        Some(
            "let o = {}; for (let i = 0; i < {n}; i++) o = { o }; JSON.stringify(o, (k, v) => v).length",
        ),
        None,
        Expect::Err(DATA),
    ),
    case(
        "JSON.parse of deeply nested text",
        Some("JSON.parse('['.repeat({n}) + ']'.repeat({n})) && 1"),
        None,
        Expect::Err(DATA),
    ),
    case(
        "a long proxy chain",
        Some("let p = {}; for (let i = 0; i < {n}; i++) p = new Proxy(p, {}); p.x"),
        None,
        Expect::Err(DATA),
    ),
    case(
        "a long bound-function chain",
        Some(
            "let f = function () { return 1; }; for (let i = 0; i < {n}; i++) f = f.bind(null); f()",
        ),
        None,
        Expect::Err(DATA),
    ),
    case(
        "flat(Infinity) of deeply nested arrays",
        Some("let a = [1]; for (let i = 0; i < {n}; i++) a = [a]; a.flat(Infinity).length"),
        None,
        Expect::Err(DATA),
    ),
    case(
        "String() of a long chain of errors",
        Some(
            "let e = new Error('x'); for (let i = 0; i < {n}; i++) { const n = new Error(''); n.message = e; e = n; } String(e).length",
        ),
        None,
        Expect::Err(DATA),
    ),
    case(
        "a long __index chain",
        None,
        Some("local t = {} for i = 1, {n} do t = setmetatable({}, {__index = t}) end return t.x"),
        Expect::Err(DATA),
    ),
    case(
        "tostring of a long __tostring chain",
        None,
        Some(
            "local t = {} for i = 1, {n} do local inner = t t = setmetatable({}, {__tostring = function() return tostring(inner) end}) end return #tostring(t)",
        ),
        Expect::Err(DATA),
    ),
];

/// Any typed failure of a data-recursion case (see [`DATA_RECURSION`]).
pub const DATA: &[ErrorKind] = &[
    ErrorKind::Stack,
    ErrorKind::Exception,
    ErrorKind::Timeout,
    ErrorKind::Memory,
];

/// The depth of the [`DATA_RECURSION`] cases: `VMPOOL_HOSTILE_DEPTH`, default 100 000 (enough to overflow Boa's
/// 256 MiB engine stack in a debug build before the fix).
pub fn data_depth() -> usize {
    std::env::var("VMPOOL_HOSTILE_DEPTH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// Deeply nested source text, given to `eval` (built by [`nested_source`]).
pub const NESTED_SOURCE: &[(&str, &str, usize)] = &[
    ("parentheses", "(", 100_000),
    ("brackets", "[", 100_000),
    ("braces", "{", 100_000),
    ("unary chain", "!", 100_000),
];

/// The source for a [`NESTED_SOURCE`] entry.
pub fn nested_source(lang: Lang, open: &str, n: usize) -> String {
    match (lang, open) {
        (Lang::Lua, "!") => format!("return {}1", "not ".repeat(n)),
        (Lang::Lua, "[") => format!("return {}", "{".repeat(n)),
        (Lang::Lua, "{") => format!("return {}", "{".repeat(n)),
        (Lang::Lua, _) => format!("return {}1", open.repeat(n)),
        (Lang::Js, "!") => format!("{}1", open.repeat(n)),
        (Lang::Js, _) => open.repeat(n),
    }
}

/// Memory: growing containers, huge strings, retained chunks, caught out-of-memory errors.
pub const MEMORY_CASES: &[Case] = &[
    case(
        "growing array / table",
        Some("const a = []; for (let i = 0; ; i++) { a.push(i, i + 0.5, 'k' + i); }"),
        Some("local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end"),
        Expect::Err(MEMORY),
    ),
    case(
        "huge string",
        Some("'x'.repeat(2 ** 30).length"),
        Some("return #string.rep('x', 2^30)"),
        Expect::Err(HUGE),
    ),
    case(
        "sort of a huge array-like",
        Some("Array.prototype.sort.call({ length: 2 ** 32 - 1 }).length"),
        None,
        Expect::Err(HUGE),
    ),
    case(
        "string doubling",
        Some("let s = 'x'; for (;;) { s = s + s; } "),
        Some("local s = 'x' while true do s = s .. s end"),
        Expect::Err(HUGE),
    ),
    case(
        "many retained chunks just under the limit",
        Some("const keep = []; for (;;) { keep.push(new Array(256 * 1024).fill(keep.length)); }"),
        Some(
            "local keep = {} while true do keep[#keep + 1] = string.rep(tostring(#keep), 1024 * 1024 - 8) end",
        ),
        Expect::Err(MEMORY),
    ),
    case(
        "out-of-memory caught by the script and retried",
        Some(
            "const a = []; for (let k = 0; k < 1000; k++) { try { for (;;) { a.push('x'.repeat(4096) + k + a.length); } } catch (e) { a.length = 0; } } 1",
        ),
        Some(
            "local t = {} for k = 1, 1000 do pcall(function() while true do t[#t + 1] = string.rep('x', 4096) .. #t end end) t = {} end return 1",
        ),
        Expect::Err(MEMORY),
    ),
    case(
        "out-of-memory caught while building a string",
        Some(
            "let r; for (let k = 0; k < 100; k++) { try { r = 'y'.repeat(2 ** 28); } catch (e) { r = e; } } 1",
        ),
        Some(
            "local r for k = 1, 100 do local ok, e = pcall(string.rep, 'y', 2^28) r = e end return 1",
        ),
        Expect::Err(MEMORY),
    ),
];

/// Ways out of the sandbox: each must fail (or show that nothing of the host is there).
pub const ESCAPES: &[Case] = &[
    case(
        "host objects",
        Some(
            "[typeof require, typeof process, typeof std, typeof os, typeof Deno, typeof fetch, typeof XMLHttpRequest, typeof WebAssembly, typeof load, typeof readFile, typeof print, typeof console].join(',')",
        ),
        None,
        Expect::Value(
            // `require` (registered modules only) and `console` are the host API's built-ins.
            "\"function,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,object\"",
        ),
    ),
    case(
        "require of a file-system module",
        Some("require('fs')"),
        None,
        Expect::Err(&[ErrorKind::Exception]),
    ),
    case(
        "the global object through the Function constructor",
        Some(
            "const g = (function () { return this; }).constructor('return this')(); [typeof g.require, typeof g.process, typeof g.std].join(',')",
        ),
        None,
        Expect::Value("\"function,undefined,undefined\""),
    ),
    case(
        "dynamic import of a host module",
        Some("import('fs')"),
        None,
        // Rejected (QuickJS) or never settled (Boa's default loader): either way nothing was loaded.
        Expect::Err(&[ErrorKind::Exception, ErrorKind::Conversion]),
    ),
    case(
        "static import",
        Some("import * as fs from 'fs'; 1"),
        None,
        Expect::Err(SYNTAX),
    ),
    case(
        "os.execute",
        None,
        Some("return os.execute('echo pwned')"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "io.open",
        None,
        Some("return io.open('/etc/passwd'):read('a')"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "require of a native module",
        None,
        Some("return require('socket')"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "package.loadlib",
        None,
        Some("return package.loadlib('libc.so.6', 'system')"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "load(string.dump(f))",
        None,
        Some("return load(string.dump(function() return 1 end))()"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "binary chunk given to load",
        None,
        Some("return load('\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10')()"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "binary chunk given to eval",
        None,
        Some("\u{1b}Lua\u{54}\u{0}"),
        Expect::Err(SYNTAX),
    ),
    case(
        "collectgarbage('stop')",
        None,
        Some("collectgarbage('stop') return collectgarbage('isrunning')"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "debug library",
        None,
        Some("return debug.sethook()"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "dofile / loadfile",
        None,
        Some("return dofile('/etc/passwd')"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "the string metatable",
        None,
        Some("return getmetatable('').__index"),
        Expect::Err(EXCEPTION),
    ),
];

/// Traps in results and errors; conversions run under the call's deadline.
pub const TRAPS: &[Case] = &[
    case(
        "thrown object whose message getter loops",
        Some("throw { get message() { for (;;) {} } }"),
        Some("error(setmetatable({}, {__index = function() while true do end end}))"),
        Expect::Err(TRAP_IN_ERROR),
    ),
    case(
        "thrown object whose toString loops",
        Some("throw { toString() { for (;;) {} } }"),
        Some("error(setmetatable({}, {__tostring = function() while true do end end}))"),
        Expect::Err(TRAP_IN_ERROR),
    ),
    case(
        "thrown error whose message getter throws",
        Some(
            "const e = new Error('x'); Object.defineProperty(e, 'message', { get() { throw 1; } }); throw e",
        ),
        Some("error(setmetatable({}, {__tostring = function() error('nested') end}))"),
        Expect::Err(EXCEPTION),
    ),
    case(
        "returned cyclic structure",
        Some("const a = { b: {} }; a.b.a = a; a"),
        Some("local a = {b = {}} a.b.a = a return a"),
        Expect::Err(CONVERSION),
    ),
    case(
        "returned proxy whose traps loop",
        Some("new Proxy({}, { ownKeys() { for (;;) {} } })"),
        Some(
            "return setmetatable({}, {__pairs = function() return function() while true do end end end})",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "returned proxy whose traps throw",
        Some("new Proxy({}, { ownKeys() { throw new Error('trap'); } })"),
        Some("return setmetatable({}, {__pairs = function() error('trap') end})"),
        Expect::Err(CONVERSION),
    ),
    case(
        "returned value whose toJSON throws",
        Some("({ toJSON() { throw new Error('no'); } })"),
        None,
        Expect::Err(CONVERSION),
    ),
    case(
        "returned value whose toJSON loops",
        Some("({ toJSON() { for (;;) {} } })"),
        None,
        Expect::Err(TIMEOUT),
    ),
    case(
        "returned getter that loops",
        Some("({ get x() { for (;;) {} } })"),
        Some(
            "return setmetatable({}, {__pairs = function(t) return function() while true do end end, t, nil end})",
        ),
        Expect::Err(TIMEOUT),
    ),
    case(
        "returned huge sparse array",
        Some("const a = []; a.length = 2 ** 32 - 1; a"),
        None,
        Expect::Err(&[ErrorKind::Timeout, ErrorKind::Memory, ErrorKind::Conversion]),
    ),
    case(
        "returned __pairs that never ends",
        None,
        Some(
            "return setmetatable({}, {__pairs = function() local i = 0 return function() i = i + 1 return 'k' .. i, i end end})",
        ),
        Expect::Err(&[ErrorKind::Timeout, ErrorKind::Memory, ErrorKind::Conversion]),
    ),
    case(
        "sort with a comparator that is not a consistent order",
        Some(
            "const a = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500); \
             a.sort(() => Math.random() - 0.5); a.sort((x, y) => x > y); \
             new Int32Array(a).sort(() => Math.random() - 0.5).length + a.length",
        ),
        Some(
            "local t = {} for i = 1, 500 do t[i] = (i * 7919) % 500 end \
             pcall(table.sort, t, function() return math.random() < 0.5 end) return #t * 2",
        ),
        Expect::Value("1000"),
    ),
    case(
        "returned string that is not UTF-8",
        Some("'\\uD800'"),
        Some("return '\\xff\\xfe'"),
        Expect::Err(CONVERSION),
    ),
];

/// Odd source text.
pub const SOURCES: &[Case] = &[
    case("empty source", Some(""), Some(""), Expect::Value("null")),
    case(
        "only whitespace and comments",
        Some("  // nothing\n /* here */ "),
        Some("  -- nothing\n --[[ here ]] "),
        Expect::Value("null"),
    ),
    case(
        "NUL byte between tokens",
        Some("1 +\0 1"),
        Some("return 1 +\0 1"),
        Expect::Err(SYNTAX),
    ),
    case(
        "NUL byte inside a string literal",
        Some("'a\0b'.length"),
        Some("return #'a\0b'"),
        Expect::Value("3"),
    ),
    case(
        "a byte-order mark and non-ASCII identifiers",
        Some("\u{feff}const ñ = 'ü'; ñ"),
        None,
        Expect::Value("\"ü\""),
    ),
];

/// The source of the 100 MB case (over every `max_source_bytes` default of 4 MiB).
pub fn huge_source(lang: Lang) -> String {
    let mut s = String::with_capacity(100 * 1024 * 1024 + 16);
    s.push_str(match lang {
        Lang::Js => "1 + ",
        Lang::Lua => "return 1 + ",
    });
    while s.len() < 100 * 1024 * 1024 {
        s.push_str("1 + 1 + 1 + 1 + ");
    }
    s.push('1');
    s
}

/// How one hostile run went, for figures.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// The error kind (`None`: a value).
    pub kind: Option<ErrorKind>,
    /// From the start of the call to the error.
    pub elapsed: Duration,
    /// Bytes the instance used right after the call, where the engine can tell.
    pub memory: Option<usize>,
}

impl<E: ScriptEngine> Engine<E>
where
    E::Vm: Send,
{
    /// The limits of the hostile pools: [`HOSTILE_TIMEOUT`], [`HOSTILE_MEMORY_MB`], the default stack.
    pub fn hostile_limits(&self) -> Limits {
        Limits {
            timeout: HOSTILE_TIMEOUT,
            memory_mb: HOSTILE_MEMORY_MB,
            ..Limits::default()
        }
    }

    /// The source of `case` for this engine, if the case applies to its language.
    pub fn source_of(&self, case: &Case) -> Option<&'static str> {
        match self.lang {
            Lang::Js => case.js,
            Lang::Lua => case.lua,
        }
    }

    /// Runs every case of `cases` that applies to this engine on `pool`; returns the failures (empty: all passed).
    pub fn run_cases(&self, pool: &Pool<E>, cases: &[Case]) -> Vec<String> {
        let mut failures = Vec::new();
        for case in cases {
            let Some(src) = self.source_of(case) else {
                continue;
            };
            // Shown only when the test fails (the harness captures it), to name a case that hung or aborted.
            eprintln!("running {} / {}", self.name, case.name);
            if let Err(failure) = self.check(pool, case.name, src, case.expect) {
                failures.push(failure);
            }
        }
        failures
    }

    /// Runs `src` on `pool` and checks the outcome against `expect`, the instance's fate and that the pool keeps
    /// serving.
    ///
    /// # Errors
    /// A message naming the engine, the case and what went wrong.
    pub fn check(
        &self,
        pool: &Pool<E>,
        name: &str,
        src: &str,
        expect: Expect,
    ) -> Result<Outcome, String> {
        let fail = |what: String| format!("{} / {name}: {what}", self.name);
        let before = pool.metrics();
        let mut vm = pool.acquire().map_err(|e| fail(format!("acquire: {e}")))?;
        let started = Instant::now();
        let result = vm.eval(src);
        let elapsed = started.elapsed();
        let memory = pool.engine().memory_usage(&mut vm);
        let tainted = PooledVm::is_tainted(&vm);
        drop(vm);
        let after = pool.metrics();
        let destroyed = after.destroyed.total() - before.destroyed.total();
        let tainted_destroyed = after.destroyed.get(DestroyReason::Tainted)
            - before.destroyed.get(DestroyReason::Tainted);
        let kind = match (&result, expect) {
            (Ok(v), Expect::Value(text)) => {
                let want: Value = serde_json::from_str(text).expect("expected value is JSON");
                if *v != want {
                    return Err(fail(format!("gave {v}, expected {want}")));
                }
                None
            }
            (Ok(v), Expect::Err(kinds)) => {
                return Err(fail(format!(
                    "completed with {v}, expected an error of kind {kinds:?}"
                )));
            }
            (Err(e), Expect::Value(text)) => {
                return Err(fail(format!("failed with {e}, expected {text}")));
            }
            (Err(e), Expect::Err(kinds)) => {
                if !kinds.contains(&e.kind()) {
                    return Err(fail(format!(
                        "failed with {e} (kind {}), expected {kinds:?}",
                        e.kind()
                    )));
                }
                Some(e.kind())
            }
        };
        let suspect = kind.is_some_and(ErrorKind::taints_instance);
        if suspect && !(tainted && destroyed == 1 && tainted_destroyed == 1) {
            return Err(fail(format!(
                "the instance was not discarded after a {kind:?} error (tainted {tainted}, destroyed {destroyed}, as tainted {tainted_destroyed})"
            )));
        }
        if !suspect && destroyed != 0 {
            return Err(fail(format!(
                "a clean {kind:?} outcome destroyed {destroyed} instance(s): {:?}",
                after.destroyed
            )));
        }
        let m = pool.metrics();
        if m.created - m.destroyed.total() != (m.in_use + m.available) as u64 {
            return Err(fail(format!("counters do not balance: {m:?}")));
        }
        // The pool keeps serving.
        let probe = match self.lang {
            Lang::Js => "1 + 1",
            Lang::Lua => "return 1 + 1",
        };
        match pool.acquire().map(|mut vm| vm.eval(probe)) {
            Ok(Ok(v)) if v == serde_json::json!(2) => {}
            other => return Err(fail(format!("the pool stopped serving: {other:?}"))),
        }
        Ok(Outcome {
            kind,
            elapsed,
            memory,
        })
    }
}

/// More JavaScript writer/reader pairs for the state group (the reader gives `false` unless it sees the writer's
/// state): finalizers, legacy RegExp statics, accessor pollution, microtasks, error configuration.
pub const JS_STATE: &[(&str, &str)] = &[
    (
        "new FinalizationRegistry(() => { globalThis.leakF = 1; }).register({}, 0); for (let i = 0; i < 20000; i++) ({ i });",
        "(() => { for (let i = 0; i < 20000; i++) ({ i }); return typeof leakF !== 'undefined'; })()",
    ),
    (
        "/(secret42)/.exec('a secret42 b'); 'secret42'.replace(/(secret42)/, '$1')",
        "(() => { try { return String(RegExp.$1) === 'secret42' || String(RegExp.lastMatch) === 'secret42'; } catch (e) { return false; } })()",
    ),
    (
        "Object.prototype.__defineGetter__('leakG', () => 1)",
        "({}).leakG !== undefined",
    ),
    (
        "Reflect.defineProperty(Object.prototype, 'leakR', { value: 1 })",
        "({}).leakR !== undefined",
    ),
    (
        "queueMicrotask(() => { globalThis.leakQ = 1; })",
        "typeof leakQ !== 'undefined'",
    ),
    ("Error.stackTraceLimit = 0", "Error.stackTraceLimit === 0"),
    ("RegExp.prototype.exec = () => null", "!/a/.test('a')"),
    ("Date.now = () => 0", "Date.now() === 0"),
    ("Array.prototype.push(1)", "Array.prototype.length !== 0"),
    (
        "String.prototype[Symbol.iterator] = function* () { yield 'hacked'; }",
        "[...'ab'][0] === 'hacked'",
    ),
    (
        "Object.defineProperty(globalThis, 'Math', { get() { return 'hacked'; } })",
        "Math === 'hacked'",
    ),
    (
        "globalThis.__proto__.leakP = 1",
        "typeof leakP !== 'undefined'",
    ),
    (
        "(async () => { await null; await null; globalThis.leakA = 1; })()",
        "typeof leakA !== 'undefined'",
    ),
];

/// More Lua writer/reader pairs for the state group: globals made by loaded chunks, refused finalizers, base
/// functions, coroutines kept in globals.
pub const LUA_STATE: &[(&str, &str)] = &[
    ("load('leakL = 1')()", "return leakL ~= nil"),
    (
        "pcall(setmetatable, {}, {__gc = function() leakGC = 1 end}) collectgarbage('count')",
        "return leakGC ~= nil",
    ),
    ("pairs = nil", "return pairs == nil"),
    ("co = coroutine.create(function() end)", "return co ~= nil"),
    (
        "pcall(function() string.format = nil end) pcall(rawset, string, 'leakS', 1)",
        "return string.format == nil or string.leakS ~= nil",
    ),
    ("_ENV.leakE = 1", "return leakE ~= nil"),
    (
        "local mt = getmetatable(_ENV) if type(mt) == 'table' then mt.__index = {leakM = 1} end",
        "return leakM ~= nil",
    ),
];
