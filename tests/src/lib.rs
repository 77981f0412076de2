//! The cross-engine conformance suite: written once, run against every engine (`tests/conformance.rs`).
//!
//! Each check takes an [`Engine`]: how to build the engine under test from an [`EngineConfig`], and which language
//! it speaks. Checks go through a real [`Pool`], as users do, so they also prove that what an engine reports
//! (error kinds, broken instances, failed resets) makes the pool discard the right instances.

#![forbid(unsafe_code)]

pub mod child;
pub mod compat;
pub mod host;
pub mod hostile;

use std::time::Duration;

use pool_core::{
    DestroyReason, EngineConfig, EngineError, ErrorKind, Isolation, Limits, Pool, PooledVm,
    ScriptEngine, Value,
};
use serde_json::json;

/// The language an engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// JavaScript (QuickJS, Boa).
    Js,
    /// Lua 5.4.
    Lua,
}

/// An engine under test: a name, its language, and a constructor.
pub struct Engine<E> {
    /// For messages.
    pub name: &'static str,
    /// What source to give it.
    pub lang: Lang,
    /// Builds the engine from a configuration.
    pub make: fn(EngineConfig) -> E,
    /// Whether the engine limits an instance's heap in this process. Boa does when the binary installed
    /// `engine_boa::CountingAllocator` (the suites' binaries do); without it, its runaway allocations are stopped
    /// by the time limit instead, which the suite then checks in place of the memory limit.
    pub memory_limit: fn() -> bool,
    /// How many threads the engine has parked for good so far (Boa: an allocation past its hard cap parks the
    /// instance's thread, and the carrier's deadline then ends the call; 0 for the others).
    pub parked_threads: fn() -> usize,
}

impl<E> Engine<E> {
    /// Whether the engine limits an instance's heap in this process (see [`Engine::memory_limit`]).
    pub fn limits_memory(&self) -> bool {
        (self.memory_limit)()
    }
}

/// The prelude every check uses: `echo(x)` returns its argument, `handle(input, i)` returns the input.
pub fn prelude(lang: Lang) -> &'static str {
    match lang {
        Lang::Js => "function echo(x) { return x; }\nfunction handle(input, i) { return input; }\n",
        Lang::Lua => "function echo(x) return x end\nfunction handle(input, i) return input end\n",
    }
}

impl<E: ScriptEngine> Engine<E>
where
    E::Vm: Send,
{
    /// A pool of this engine with the standard prelude and `limits`.
    pub fn pool(&self, max_size: usize, limits: Limits) -> Pool<E> {
        self.pool_with(
            max_size,
            EngineConfig::new(prelude(self.lang)).limits(limits),
        )
    }

    /// A pool of this engine with `config`.
    pub fn pool_with(&self, max_size: usize, config: EngineConfig) -> Pool<E> {
        Pool::builder((self.make)(config))
            .max_size(max_size)
            .preload_size(0)
            .acquire_timeout(Duration::from_secs(60))
            .maintenance_thread(false)
            .build()
            .unwrap_or_else(|e| panic!("{}: pool: {e}", self.name))
    }

    fn pick<'a>(&self, js: &'a str, lua: &'a str) -> &'a str {
        match self.lang {
            Lang::Js => js,
            Lang::Lua => lua,
        }
    }

    /// Values survive a round trip through `echo` unchanged.
    pub fn value_round_trips(&self) {
        let pool = self.pool(1, Limits::default());
        let mut vm = pool.acquire().unwrap();
        let mut values = vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-42),
            json!(9_007_199_254_740_991_i64),
            json!(2.5),
            json!(-0.125),
            json!(""),
            json!("héllo, wörld ✓ 日本語 🎉"),
            json!([1, 2, 3]),
            json!(["a", true, 2.5]),
            json!({"a": 1, "b": {"c": [1, 2, {"d": "e"}]}}),
            json!({"unicode ✓": "value"}),
            json!({}),
        ];
        if self.lang == Lang::Js {
            // A Lua sequence cannot hold nil and an empty table is an object.
            values.extend([json!([1, null, 3]), json!([])]);
        }
        for v in values {
            let got = vm
                .call("echo", std::slice::from_ref(&v))
                .unwrap_or_else(|e| panic!("{}: echo({v}): {e}", self.name));
            assert_eq!(got, v, "{}: echo round trip", self.name);
        }
    }

    /// Results computed by scripts convert as the shared semantics say.
    pub fn results_convert(&self) {
        let pool = self.pool(1, Limits::default());
        let mut vm = pool.acquire().unwrap();
        let cases: &[(&str, &str, Value)] = &[
            ("1 + 1", "return 1 + 1", json!(2)),
            ("7 / 2", "return 7 / 2", json!(3.5)),
            ("4 / 2", "return 4 / 2", json!(2)),
            ("'a' + 'b'", "return 'a' .. 'b'", json!("ab")),
            (
                "[1, 'x', true]",
                "return {1, 'x', true}",
                json!([1, "x", true]),
            ),
            ("({k: [1, 2]})", "return {k = {1, 2}}", json!({"k": [1, 2]})),
            ("null", "return nil", json!(null)),
            ("0 / 0", "return 0 / 0", json!(null)),
        ];
        for (js, lua, expected) in cases {
            let src = self.pick(js, lua);
            let got = vm
                .eval(src)
                .unwrap_or_else(|e| panic!("{}: {src}: {e}", self.name));
            assert_eq!(&got, expected, "{}: {src}", self.name);
        }
    }

    /// Values that cannot be converted are `conversion` errors, never a panic or a hang.
    pub fn unconvertible_values(&self) {
        let pool = self.pool(1, Limits::default());
        let cases: &[(&str, &str)] = &[
            ("(function f() {})", "return function() end"),
            (
                "(() => { const a = {}; a.self = a; return a; })()",
                "local t = {} t.self = t return t",
            ),
            (
                "({ get x() { throw new Error('getter'); } })",
                "return setmetatable({}, {__pairs = function() error('pairs') end})",
            ),
        ];
        for (js, lua) in cases {
            let src = self.pick(js, lua);
            let mut vm = pool.acquire().unwrap();
            let err = vm
                .eval(src)
                .err()
                .unwrap_or_else(|| panic!("{}: {src} converted", self.name));
            assert_eq!(
                err.kind(),
                ErrorKind::Conversion,
                "{}: {src}: {err}",
                self.name
            );
        }
    }

    /// Syntax errors, exceptions with the script's message, and a missing function.
    pub fn errors_have_kinds_and_messages(&self) {
        let pool = self.pool(1, Limits::default());
        let mut vm = pool.acquire().unwrap();
        let err = vm.eval(self.pick("1 +* 2", "return 1 +* 2")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Syntax, "{}: {err}", self.name);
        let err = vm
            .eval(self.pick("throw new Error('boom 42')", "error('boom 42')"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{}: {err}", self.name);
        assert!(err.to_string().contains("boom 42"), "{}: {err}", self.name);
        let err = vm.call("no_such_function", &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{}: {err}", self.name);
        assert!(
            err.to_string().contains("no_such_function"),
            "{}: {err}",
            self.name
        );
        assert!(
            !PooledVm::is_tainted(&vm),
            "{}: ordinary errors do not taint",
            self.name
        );
        drop(vm);
        assert_eq!(pool.metrics().destroyed.total(), 0, "{}", self.name);
    }

    /// A source longer than `max_source_bytes` is refused before parsing with the same `syntax` error on every
    /// engine, and the instance keeps serving.
    pub fn source_over_the_size_limit_is_refused_alike(&self) {
        let pool = self.pool_with(1, EngineConfig::new("").max_source_bytes(16));
        let mut vm = pool.acquire().unwrap();
        let long = self.pick("1 + 1 + 1 + 1 + 1 + 1 + 1", "return 1 + 1 + 1 + 1 + 1 + 1");
        let err = vm.eval(long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Syntax, "{}: {err}", self.name);
        assert!(
            err.to_string().contains(&format!(
                "source is {} bytes, over the limit of 16 bytes (max_source_bytes)",
                long.len()
            )),
            "{}: {err}",
            self.name
        );
        assert_eq!(
            vm.eval(self.pick("1 + 1", "return 1 + 1")).unwrap(),
            Value::from(2),
            "{}",
            self.name
        );
    }

    /// Under strict isolation a request's write to the prelude's own objects is refused with an error that says
    /// why and which policy allows it; under `none` the same write works.
    pub fn refused_writes_explain_strict_isolation(&self) {
        let prelude = self.pick(
            "var Lib = { cache: {} }; function handle(k) { 'use strict'; Lib.cache[k] = 1; return Object.keys(Lib.cache).length; }",
            "Lib = { cache = {} } function handle(k) Lib.cache[k] = 1 local n = 0 for _ in pairs(Lib.cache) do n = n + 1 end return n end",
        );
        let strict = self.pool_with(1, EngineConfig::new(prelude).isolation(Isolation::Strict));
        let mut vm = strict.acquire().unwrap();
        let err = vm.call("handle", &[Value::from("a")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{}: {err}", self.name);
        for needle in ["isolation = \"strict\"", "\"scrub\" or \"none\""] {
            assert!(err.to_string().contains(needle), "{}: {err}", self.name);
        }
        // An ordinary exception is not explained.
        let err = vm
            .eval(self.pick("throw new Error('boom')", "error('boom')"))
            .unwrap_err();
        assert!(
            !err.to_string().contains("isolation"),
            "{}: {err}",
            self.name
        );
        drop(vm);
        let none = self.pool_with(1, EngineConfig::new(prelude).isolation(Isolation::None));
        let mut vm = none.acquire().unwrap();
        assert_eq!(
            vm.call("handle", &[Value::from("a")]).unwrap(),
            Value::from(1)
        );
    }

    /// Runs `src` and expects `kind`; the pool must then discard the instance.
    fn limit_case(&self, pool: &Pool<E>, src: &str, kind: ErrorKind) {
        let before = pool.metrics().destroyed.total();
        let mut vm = pool.acquire().unwrap();
        let err = vm
            .eval(src)
            .err()
            .unwrap_or_else(|| panic!("{}: {src} completed", self.name));
        assert_eq!(err.kind(), kind, "{}: {src}: {err}", self.name);
        assert!(
            PooledVm::is_tainted(&vm),
            "{}: {src}: instance not marked",
            self.name
        );
        drop(vm);
        let m = pool.metrics();
        assert_eq!(
            m.destroyed.total(),
            before + 1,
            "{}: {src}: instance not discarded",
            self.name
        );
        assert_eq!(m.destroyed.get(DestroyReason::Tainted), m.destroyed.total());
        // The pool still serves.
        assert_eq!(
            pool.acquire()
                .unwrap()
                .eval(self.pick("1 + 1", "return 1 + 1"))
                .unwrap(),
            json!(2)
        );
    }

    /// Runaway loops end with `timeout`, even when the script catches errors in a loop.
    pub fn timeouts(&self) {
        let limits = Limits {
            timeout: Duration::from_millis(100),
            ..Limits::default()
        };
        let pool = self.pool(1, limits);
        self.limit_case(
            &pool,
            self.pick("for (;;) {}", "while true do end"),
            ErrorKind::Timeout,
        );
        self.limit_case(
            &pool,
            self.pick(
                "for (;;) { try { for (;;) {} } catch (e) {} }",
                "while true do pcall(function() while true do end end) end",
            ),
            ErrorKind::Timeout,
        );
    }

    /// Deep recursion ends with `stack`.
    pub fn stack_overflow(&self) {
        let pool = self.pool(
            1,
            Limits {
                timeout: Duration::from_secs(10),
                ..Limits::default()
            },
        );
        self.limit_case(
            &pool,
            self.pick(
                "function f(n) { return f(n + 1) + 1; } f(0)",
                "local function f(n) return f(n + 1) + 1 end return f(0)",
            ),
            ErrorKind::Stack,
        );
    }

    /// Allocation past the memory limit ends with `memory`; on an engine without a heap limit, the time limit ends
    /// it with `timeout` (its documented behaviour).
    pub fn out_of_memory(&self) {
        let (timeout, kind) = if self.limits_memory() {
            (Duration::from_secs(10), ErrorKind::Memory)
        } else {
            (Duration::from_secs(1), ErrorKind::Timeout)
        };
        let pool = self.pool(
            1,
            Limits {
                memory_mb: 16,
                timeout,
                ..Limits::default()
            },
        );
        self.limit_case(
            &pool,
            self.pick(
                "const a = []; for (;;) { a.push('x'.repeat(1024) + a.length); }",
                "local t = {} local i = 0 while true do i = i + 1 t[i] = string.rep('x', 1024) .. i end",
            ),
            kind,
        );
    }

    /// Writer/reader pairs: what a use writes must not be observable by the next under the default policy.
    /// Returns the number of observations (must be 0).
    pub fn isolation_pairs(&self, pairs: usize, seed: u64) -> usize {
        self.isolation_pairs_with(Isolation::default(), pairs, seed)
    }

    /// As [`isolation_pairs`](Engine::isolation_pairs) under `isolation`.
    pub fn isolation_pairs_with(&self, isolation: Isolation, pairs: usize, seed: u64) -> usize {
        self.isolation_cases(self.pick_cases(), isolation, pairs, seed)
    }

    /// As [`isolation_pairs_with`](Engine::isolation_pairs_with) with the writer/reader pairs `cases`.
    pub fn isolation_cases(
        &self,
        cases: &[(&str, &str)],
        isolation: Isolation,
        pairs: usize,
        seed: u64,
    ) -> usize {
        let pool = self.pool_with(
            3,
            EngineConfig::new(prelude(self.lang)).isolation(isolation),
        );
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut observed = 0;
        for _ in 0..pairs {
            let (writer, reader) = cases[rng.usize(0..cases.len())];
            // Hold a random number of other instances so that writer and reader meet random instances.
            let held: Vec<_> = (0..rng.usize(0..3))
                .map(|_| pool.acquire().unwrap())
                .collect();
            {
                let mut vm = pool.acquire().unwrap();
                let _ = vm.eval(writer); // a writer may fail (frozen built-ins throw in strict code)
            }
            drop(held);
            let mut vm = pool.acquire().unwrap();
            match vm.eval(reader) {
                Ok(Value::Bool(false)) => {}
                Ok(other) => {
                    observed += 1;
                    if isolation != Isolation::None {
                        eprintln!("{}: after {writer:?}, {reader:?} gave {other}", self.name);
                    }
                }
                Err(e) if isolation == Isolation::None => {
                    // Without isolation a writer may break what the reader needs: that is an observation too.
                    observed += 1;
                    let _ = e;
                }
                Err(e) => panic!(
                    "{}: reader {reader:?} failed after {writer:?}: {e}",
                    self.name
                ),
            }
        }
        let m = pool.metrics();
        assert_eq!(
            m.created - m.destroyed.total(),
            (m.in_use + m.available) as u64
        );
        observed
    }

    fn pick_cases(&self) -> &'static [(&'static str, &'static str)] {
        match self.lang {
            Lang::Js => JS_ISOLATION,
            Lang::Lua => LUA_ISOLATION,
        }
    }

    /// The pool under several threads: every request answered correctly, counters balanced.
    pub fn threads(&self) {
        let pool = self.pool(3, Limits::default());
        std::thread::scope(|s| {
            for t in 0..4 {
                let pool = &pool;
                s.spawn(move || {
                    for i in 0..25 {
                        let input = json!({"t": t, "i": i});
                        let got = pool
                            .acquire()
                            .unwrap()
                            .call("handle", &[input.clone(), json!(i)])
                            .unwrap();
                        assert_eq!(got, input);
                    }
                });
            }
        });
        let m = pool.metrics();
        assert_eq!(m.total_uses, 100);
        assert!(m.created <= 3);
        assert_eq!(m.created - m.destroyed.total(), m.available as u64);
    }
}

/// JavaScript writer/reader pairs: the reader gives `false` unless it sees the writer's state.
pub const JS_ISOLATION: &[(&str, &str)] = &[
    ("globalThis.leak1 = 1", "typeof leak1 !== 'undefined'"),
    ("var leak2 = 1", "typeof leak2 !== 'undefined'"),
    (
        "let leak3 = 1",
        "(() => { try { return leak3 !== undefined; } catch (e) { return false; } })()",
    ),
    (
        "const leak4 = 1",
        "(() => { try { return leak4 !== undefined; } catch (e) { return false; } })()",
    ),
    ("function leak5() {}", "typeof leak5 !== 'undefined'"),
    (
        "class Leak6 {}",
        "(() => { try { return Leak6 !== undefined; } catch (e) { return false; } })()",
    ),
    ("Object.prototype.leak7 = 1", "({}).leak7 !== undefined"),
    (
        "Array.prototype.map = function () { return 'hacked'; }",
        "[1].map((x) => x) === 'hacked'",
    ),
    (
        "JSON.parse = function () { return 'hacked'; }",
        "JSON.parse('1') === 'hacked'",
    ),
    (
        "handle = function () { return 'hacked'; }",
        "handle(1) === 'hacked'",
    ),
    ("echo = 5", "typeof echo !== 'function'"),
    (
        "String.prototype.trim = function () { return 'hacked'; }",
        "' a '.trim() === 'hacked'",
    ),
    ("Math.random = () => 4", "Math.random() === 4"),
    (
        "Promise.resolve().then(() => { globalThis.leak8 = 1; })",
        "typeof leak8 !== 'undefined'",
    ),
    (
        "Object.defineProperty(globalThis, 'leak9', { value: 1, configurable: false })",
        "typeof leak9 !== 'undefined'",
    ),
    (
        "Object.setPrototypeOf(globalThis, { leak10: 1 })",
        "typeof leak10 !== 'undefined'",
    ),
    ("delete globalThis.JSON", "typeof JSON === 'undefined'"),
    (
        "Function.prototype.call = function () { return 'hacked'; }",
        "(function () { return 1; }).call(null) === 'hacked'",
    ),
    (
        "Symbol.prototype.leak11 = 1; Error.prototype.leak11 = 1",
        "new Error('x').leak11 !== undefined",
    ),
    (
        "globalThis[Symbol.for('leak12')] = 1",
        "globalThis[Symbol.for('leak12')] !== undefined",
    ),
];

/// Lua writer/reader pairs: the reader returns `false` unless it sees the writer's state.
pub const LUA_ISOLATION: &[(&str, &str)] = &[
    ("leak1 = 1", "return leak1 ~= nil"),
    ("_G.leak2 = 1", "return leak2 ~= nil"),
    (
        "string.upper = function() return 'hacked' end",
        "return string.upper('a') == 'hacked'",
    ),
    ("table.insert = nil", "return table.insert == nil"),
    ("math.pi = 3", "return math.pi == 3"),
    (
        "handle = function() return 'hacked' end",
        "return handle(1) == 'hacked'",
    ),
    ("echo = 5", "return type(echo) ~= 'function'"),
    (
        "local mt = getmetatable('') if type(mt) == 'table' then mt.__index = {len = function() return 99 end} end",
        "return ('abc'):len() == 99",
    ),
    (
        "local mt = getmetatable('') if type(mt) == 'table' and type(mt.__index) == 'table' then mt.__index.leak3 = 1 end",
        "return ('x').leak3 ~= nil",
    ),
    (
        "setmetatable(_ENV, {__index = function() return 'hacked' end})",
        "return undefined_name == 'hacked'",
    ),
    ("os.time = function() return 0 end", "return os.time() == 0"),
    (
        "if package and package.loaded then package.loaded.leak4 = 1 end",
        "return package ~= nil and package.loaded ~= nil and package.loaded.leak4 ~= nil",
    ),
    (
        "tostring = function() return 'hacked' end",
        "return tostring(1) == 'hacked'",
    ),
    ("rawset(_ENV, 'leak5', 1)", "return leak5 ~= nil"),
];

/// QuickJS, as the suites run it.
#[cfg(feature = "quickjs")]
pub const QUICKJS: Engine<engine_quickjs::QuickJsEngine> = Engine {
    name: "quickjs",
    lang: Lang::Js,
    make: |config| engine_quickjs::QuickJsEngine::new(config).unwrap(),
    memory_limit: || true,
    parked_threads: || 0,
};

/// Lua, as the suites run it.
#[cfg(feature = "lua")]
pub const LUA: Engine<engine_lua::LuaEngine> = Engine {
    name: "lua",
    lang: Lang::Lua,
    make: |config| engine_lua::LuaEngine::new(config).unwrap(),
    memory_limit: || true,
    parked_threads: || 0,
};

/// Boa, as the suites run it: carried on dedicated threads. Its heap limit needs `engine_boa::CountingAllocator` as
/// the binary's global allocator (see engine-boa's crate docs); without it a runaway allocation is stopped by the
/// time limit.
#[cfg(feature = "boa")]
pub const BOA: Engine<pool_core::Carrier<engine_boa::BoaEngine>> = Engine {
    name: "boa",
    lang: Lang::Js,
    make: boa_engine,
    memory_limit: engine_boa::CountingAllocator::is_installed,
    parked_threads: engine_boa::CountingAllocator::parked_threads,
};

/// The Boa engine as pools use it: carried on dedicated threads.
#[cfg(feature = "boa")]
pub fn boa_engine(config: EngineConfig) -> pool_core::Carrier<engine_boa::BoaEngine> {
    engine_boa::BoaEngine::pooled(config).unwrap()
}
