//! The host API's conformance checks (`tests/host.rs`): written once, run on every engine.
//!
//! Each check registers host functions through [`HostApi`], builds the engine under test with them, and goes
//! through a real [`Pool`] with [`PooledVm::call_with`]/[`PooledVm::eval_with`] as users do.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pool_core::host::{CallContext, ConsoleLimits, HostApi, HostError};
use pool_core::{
    DestroyReason, EngineConfig, EngineError, ErrorKind, Isolation, Limits, Pool, PooledVm,
    ScriptEngine, Value,
};
use serde_json::json;

use crate::{Engine, Lang, prelude};

/// Typed data only host functions see.
struct User(&'static str);

/// A host API with a key-value namespace, typed and raw functions, and functions that fail on purpose.
fn api(store: &Arc<Mutex<HashMap<String, Value>>>) -> HostApi {
    let get_store = Arc::clone(store);
    let set_store = Arc::clone(store);
    HostApi::new()
        .function("add", |_c, (a, b): (f64, f64)| Ok(a + b))
        .raw_function("echo", |_c, args| {
            Ok(args.first().cloned().unwrap_or(Value::Null))
        })
        .raw_function("noop", |_c, _args| Ok(Value::Null))
        .function("fail", |_c, (): ()| -> Result<(), HostError> {
            Err(HostError::new("E_NOPE", "the host says no"))
        })
        .raw_function("boom", |_c, _args| panic!("host function exploded"))
        .function("whoami", |c, (): ()| Ok(c.get::<User>().map(|u| u.0)))
        .raw_function("sleep", |c, _args| {
            std::thread::sleep(c.remaining().unwrap_or_default() + Duration::from_millis(20));
            Ok(Value::Null)
        })
        .raw_function("huge", |_c, _args| Ok(Value::String("x".repeat(100 << 20))))
        .namespace("kv", |kv| {
            kv.function("get", move |_c, (key,): (String,)| {
                Ok(get_store.lock().unwrap().get(&key).cloned())
            })
            .function("set", move |_c, (key, value): (String, Value)| {
                set_store.lock().unwrap().insert(key, value);
                Ok(())
            })
        })
}

fn context(id: &str, secret: &str) -> CallContext {
    CallContext::new(id)
        .with_data(json!({ "secret": secret }))
        .with(User("ann"))
        .capture_console()
}

impl<E: ScriptEngine> Engine<E>
where
    E::Vm: Send,
{
    fn host_pool(&self, isolation: Isolation, limits: Limits, host: HostApi) -> Pool<E> {
        self.pool_with(
            2,
            EngineConfig::new(prelude(self.lang))
                .isolation(isolation)
                .limits(limits)
                .host(host),
        )
    }

    fn eval_ok(&self, vm: &mut PooledVm<'_, E>, ctx: Option<&CallContext>, source: &str) -> Value {
        let result = match ctx {
            Some(ctx) => vm.eval_with(ctx, source),
            None => vm.eval(source),
        };
        result.unwrap_or_else(|e| panic!("{}: {source:?}: {e}", self.name))
    }

    fn eval_err(
        &self,
        vm: &mut PooledVm<'_, E>,
        ctx: Option<&CallContext>,
        source: &str,
    ) -> (ErrorKind, String) {
        let result = match ctx {
            Some(ctx) => vm.eval_with(ctx, source),
            None => vm.eval(source),
        };
        match result {
            Ok(v) => panic!("{}: {source:?} should fail, gave {v}", self.name),
            Err(e) => (e.kind(), e.to_string()),
        }
    }

    fn src<'a>(&self, js: &'a str, lua: &'a str) -> &'a str {
        match self.lang {
            Lang::Js => js,
            Lang::Lua => lua,
        }
    }

    /// Typed and raw functions, namespaces, and values of every shape across the boundary.
    pub fn host_functions_convert(&self) {
        let store = Arc::default();
        let pool = self.host_pool(Isolation::Strict, Limits::default(), api(&store));
        let mut vm = pool.acquire().unwrap();
        let sum = self.src("add(2, 3.5)", "return add(2, 3.5)");
        assert_eq!(
            self.eval_ok(&mut vm, None, sum),
            json!(5.5),
            "{}",
            self.name
        );
        let value = json!({ "list": [1, "two", { "three": 3 }], "flag": true, "none": null });
        let echo = self.src(
            "echo({ list: [1, 'two', { three: 3 }], flag: true, none: null })",
            "return echo({ list = {1, 'two', { three = 3 }}, flag = true, none = nil })",
        );
        let expected = match self.lang {
            // A Lua table cannot hold nil.
            Lang::Lua => json!({ "list": [1, "two", { "three": 3 }], "flag": true }),
            Lang::Js => value,
        };
        assert_eq!(self.eval_ok(&mut vm, None, echo), expected, "{}", self.name);
        let kv = self.src(
            "kv.set('k', { a: [1, 2] }); [kv.get('k'), kv.get('missing')]",
            "kv.set('k', { a = {1, 2} }); return { kv.get('k'), kv.get('missing') == nil }",
        );
        let got = self.eval_ok(&mut vm, None, kv);
        assert_eq!(got[0], json!({ "a": [1, 2] }), "{}", self.name);
        assert!(
            got[1] == json!(null) || got[1] == json!(true),
            "{}: {got}",
            self.name
        );
        assert_eq!(
            store.lock().unwrap().get("k"),
            Some(&json!({ "a": [1, 2] }))
        );
        // Arguments that do not fit the typed signature are a catchable error naming the function.
        let bad = self.src(
            "try { add('x'); 'no error' } catch (e) { e.code + ' ' + e.message }",
            "local ok, e = pcall(add, 'x'); return e.code .. ' ' .. e.message",
        );
        let got = self.eval_ok(&mut vm, None, bad);
        let got = got.as_str().unwrap_or_default();
        assert!(
            got.starts_with("E_ARGS") && got.contains("add"),
            "{}: {got}",
            self.name
        );
    }

    /// A host error is an exception the script can catch, with its code; uncaught, the call fails with it.
    pub fn host_errors_cross_the_boundary(&self) {
        let pool = self.host_pool(Isolation::Strict, Limits::default(), api(&Arc::default()));
        let mut vm = pool.acquire().unwrap();
        let caught = self.src(
            "try { fail(); 'no error' } catch (e) { [e instanceof Error, e.code, e.message] }",
            "local ok, e = pcall(fail); return { ok, e.code, e.message, tostring(e) }",
        );
        let got = self.eval_ok(&mut vm, None, caught);
        match self.lang {
            Lang::Js => assert_eq!(
                got,
                json!([true, "E_NOPE", "the host says no"]),
                "{}",
                self.name
            ),
            Lang::Lua => assert_eq!(
                got,
                json!([
                    false,
                    "E_NOPE",
                    "the host says no",
                    "E_NOPE: the host says no"
                ]),
                "{}",
                self.name
            ),
        }
        let (kind, message) = self.eval_err(&mut vm, None, self.src("fail()", "fail()"));
        assert_eq!(kind, ErrorKind::Exception, "{}: {message}", self.name);
        assert!(
            message.contains("E_NOPE") && message.contains("the host says no"),
            "{}: {message}",
            self.name
        );
        drop(vm);
        assert_eq!(
            pool.metrics().destroyed.total(),
            0,
            "{}: an exception keeps the VM",
            self.name
        );
    }

    /// A host function's panic fails the call with `internal` even when the script catches the exception it
    /// sees; the instance is destroyed and the next request is served normally.
    pub fn host_panics_are_contained(&self) {
        let pool = self.host_pool(Isolation::Strict, Limits::default(), api(&Arc::default()));
        let swallow = self.src(
            "var out = 'caught'; try { boom(); } catch (e) { out = 'swallowed'; } out",
            "local ok = pcall(boom); local ok2 = pcall(function() return boom() end); return 'swallowed'",
        );
        for _ in 0..3 {
            let mut vm = pool.acquire().unwrap();
            let (kind, message) = self.eval_err(&mut vm, None, swallow);
            assert_eq!(kind, ErrorKind::Internal, "{}: {message}", self.name);
            assert!(
                message.contains("boom") && message.contains("panicked"),
                "{}: {message}",
                self.name
            );
            assert!(
                PooledVm::is_tainted(&vm),
                "{}: a panic taints the VM",
                self.name
            );
        }
        let m = pool.metrics();
        assert_eq!(
            m.destroyed.get(DestroyReason::Tainted),
            3,
            "{}: {m:?}",
            self.name
        );
        // Later requests, on fresh instances, are not affected.
        let mut vm = pool.acquire().unwrap();
        assert_eq!(
            self.eval_ok(&mut vm, None, self.src("add(1, 1)", "return add(1, 1)")),
            json!(2),
            "{}",
            self.name
        );
        assert!(!PooledVm::is_tainted(&vm));
    }

    /// The context is visible during `call_with`/`eval_with` only: not in a plain call after it, not through a
    /// function the script kept, and never the previous request's.
    pub fn context_is_per_call(&self) {
        let pool = self.host_pool(Isolation::None, Limits::default(), api(&Arc::default()));
        let mut vm = pool.acquire().unwrap();
        let a = context("req-a", "alpha");
        let read = self.src(
            "[vmpool.context(), whoami()]",
            "local c = vmpool.context(); return { c == nil and 'none' or c, whoami() == nil and 'none' or whoami() }",
        );
        let got = self.eval_ok(&mut vm, Some(&a), read);
        assert_eq!(
            got,
            json!([{ "id": "req-a", "data": { "secret": "alpha" } }, "ann"]),
            "{}",
            self.name
        );
        let plain = self.eval_ok(&mut vm, None, read);
        let none = match self.lang {
            Lang::Js => json!([null, null]),
            Lang::Lua => json!(["none", "none"]),
        };
        assert_eq!(plain, none, "{}: no context after the call", self.name);
        // A closure kept from request A (isolation none keeps globals) runs in a plain call and in request B.
        let keep = self.src(
            "globalThis.kept = function () { return vmpool.context(); }; globalThis.keptFn = whoami; 1",
            "kept = function() return vmpool.context() end; keptFn = whoami; return 1",
        );
        self.eval_ok(&mut vm, Some(&a), keep);
        let run = self.src(
            "[kept(), keptFn()]",
            "local c = kept(); return { c == nil and 'none' or c, keptFn() == nil and 'none' or keptFn() }",
        );
        assert_eq!(
            self.eval_ok(&mut vm, None, run),
            none,
            "{}: kept closure, no request",
            self.name
        );
        let b = CallContext::new("req-b").with_data(json!({ "secret": "beta" }));
        let got = self.eval_ok(&mut vm, Some(&b), run);
        assert_eq!(
            got[0],
            json!({ "id": "req-b", "data": { "secret": "beta" } }),
            "{}",
            self.name
        );
        assert!(!got.to_string().contains("alpha"), "{}: {got}", self.name);
        // A failing call clears the context too.
        let _ = vm.eval_with(&a, self.src("throw new Error('x')", "error('x')"));
        assert_eq!(
            self.eval_ok(&mut vm, None, run),
            none,
            "{}: after a failure",
            self.name
        );
    }

    /// Console lines go to the context's capture, within the caps; unconvertible values print.
    pub fn console_is_captured_and_capped(&self) {
        let host = api(&Arc::default()).console_limits(ConsoleLimits {
            max_lines: 50,
            max_bytes: 4096,
        });
        let pool = self.host_pool(Isolation::Strict, Limits::default(), host);
        let mut vm = pool.acquire().unwrap();
        let ctx = context("req-log", "s");
        let logs = self.src(
            "console.log('hello', 1, { a: [1] }); console.warn('careful'); console.error('bad'); \
             console.log(function f() {}, Symbol('s')); 1",
            "print('hello', 1, { a = {1} }); console.warn('careful'); console.error('bad'); print(print); return 1",
        );
        self.eval_ok(&mut vm, Some(&ctx), logs);
        let lines = ctx.console();
        assert_eq!(lines.len(), 4, "{}: {lines:?}", self.name);
        let sep = self.src(" ", "\t");
        assert_eq!(
            lines[0].text,
            format!("hello{sep}1{sep}{{\"a\":[1]}}"),
            "{}",
            self.name
        );
        assert_eq!(
            (lines[0].level, lines[1].level, lines[2].level),
            ("info", "warn", "error")
        );
        assert!(
            !lines[3].text.is_empty(),
            "{}: an unconvertible value prints",
            self.name
        );
        // A script that logs in a loop is capped; the rest is counted.
        let flood = CallContext::new("flood").capture_console();
        let loop_src = self.src(
            "for (let i = 0; i < 10000; i++) console.log('line ' + i + ' ' + 'x'.repeat(100)); 1",
            "for i = 1, 10000 do print('line ' .. i .. ' ' .. string.rep('x', 100)) end return 1",
        );
        self.eval_ok(&mut vm, Some(&flood), loop_src);
        let captured = flood.console();
        let bytes: usize = captured.iter().map(|l| l.text.len()).sum();
        assert!(
            captured.len() <= 50 && bytes <= 4096,
            "{}: {} lines, {bytes} bytes",
            self.name,
            captured.len()
        );
        assert_eq!(
            captured.len() as u64 + flood.dropped_lines(),
            10000,
            "{}",
            self.name
        );
    }

    /// A script cannot replace, delete or decorate a host function (or `console.log`, or `require`) for the next
    /// use, under any policy.
    pub fn host_functions_cannot_be_replaced(&self) {
        let js_writer = "\
            var tries = [\
              () => { kv.get = () => 'evil'; },\
              () => { Object.defineProperty(kv, 'get', { value: () => 'evil' }); },\
              () => { delete kv.get; },\
              () => { globalThis.kv = { get: () => 'evil' }; },\
              () => { console.log = () => 'evil'; },\
              () => { globalThis.add = () => 'evil'; },\
              () => { add.stash = 'evil'; },\
              () => { require = () => 'evil'; },\
              () => { vmpool.context = () => 'evil'; }\
            ];\
            tries.forEach((t) => { try { t(); } catch (e) {} }); 1";
        let lua_writer = "\
            local tries = {\
              function() kv.get = function() return 'evil' end end,\
              function() kv = { get = function() return 'evil' end } end,\
              function() console.log = function() return 'evil' end end,\
              function() add = function() return 'evil' end end,\
              function() print = function() return 'evil' end end,\
              function() require = function() return 'evil' end end,\
              function() vmpool.context = function() return 'evil' end end,\
            }\
            for _, t in ipairs(tries) do pcall(t) end return 1";
        let js_reader = "[kv.get('k'), add(1, 2), typeof console.log, console.log('x') === undefined, \
                         add.stash === undefined, typeof require('kv').get, vmpool.context()]";
        let lua_reader = "return { kv.get('k') == nil, add(1, 2), type(console.log), print('x') == nil, \
                          type(require('kv').get), vmpool.context() == nil }";
        for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
            let pool = self.pool_with(
                1,
                EngineConfig::new(prelude(self.lang))
                    .isolation(isolation)
                    .host(api(&Arc::default())),
            );
            {
                let mut vm = pool.acquire().unwrap();
                let _ = vm.eval(self.src(js_writer, lua_writer));
            }
            let mut vm = pool.acquire().unwrap();
            let got = self.eval_ok(&mut vm, None, self.src(js_reader, lua_reader));
            let expected = match self.lang {
                Lang::Js => json!([null, 3, "function", true, true, "function", null]),
                Lang::Lua => json!([true, 3, "function", true, "function", true]),
            };
            assert_eq!(
                got, expected,
                "{} ({isolation}): a host function was replaced",
                self.name
            );
            assert_eq!(
                pool.metrics().created,
                1,
                "{} ({isolation}): the same instance served both",
                self.name
            );
        }
    }

    /// Host time counts toward the deadline: a script calling a host function in a loop, and a host function that
    /// outlives the deadline, both end with `timeout`.
    pub fn deadline_holds_across_host_calls(&self) {
        let limits = Limits {
            timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let pool = self.host_pool(Isolation::Strict, limits, api(&Arc::default()));
        let cases = [
            self.src("for (;;) { noop(1); }", "while true do noop(1) end"),
            self.src(
                "for (;;) { try { noop(1); } catch (e) {} }",
                "while true do pcall(noop, 1) end",
            ),
            self.src(
                "try { sleep(); } catch (e) {} 'survived'",
                "pcall(sleep) return 'survived'",
            ),
        ];
        for case in cases {
            let mut vm = pool.acquire().unwrap();
            let (kind, message) = self.eval_err(&mut vm, None, case);
            assert_eq!(
                kind,
                ErrorKind::Timeout,
                "{}: {case:?}: {message}",
                self.name
            );
            assert!(PooledVm::is_tainted(&vm), "{}: {case:?}", self.name);
        }
    }

    /// A host result larger than the instance's memory limit ends the call with `memory`; oversized arguments
    /// are a catchable error before the host allocates for them.
    pub fn host_values_are_bounded(&self) {
        let limits = Limits {
            memory_mb: 32,
            ..Limits::default()
        };
        let host = api(&Arc::default()).max_arg_bytes(1 << 20);
        let pool = self.host_pool(Isolation::Strict, limits, host);
        let mut vm = pool.acquire().unwrap();
        let (kind, message) = self.eval_err(
            &mut vm,
            None,
            self.src(
                "try { huge(); } catch (e) {} 'survived'",
                "pcall(huge) return 'survived'",
            ),
        );
        assert_eq!(kind, ErrorKind::Memory, "{}: {message}", self.name);
        drop(vm);
        let mut vm = pool.acquire().unwrap();
        let big_arg = self.src(
            "const s = 'x'.repeat(1 << 10).repeat(10 << 10); try { noop(s); 'no error' } catch (e) { e.code }",
            "local s = string.rep('x', 10 << 20); local ok, e = pcall(noop, s); return e.code",
        );
        assert_eq!(
            self.eval_ok(&mut vm, None, big_arg),
            json!("E_ARG_SIZE"),
            "{}",
            self.name
        );
        let many_args = self.src(
            "const a = []; for (let i = 0; i < 100000; i++) a.push({ k: 'v' + i }); \
             try { echo(a); 'no error' } catch (e) { e.code }",
            // 20000 entries: twice the 1 MiB budget, and far below Lua's 28 MiB heap (200000 tables fill it).
            "local a = {}; for i = 1, 20000 do a[i] = { k = 'v' .. i } end; local ok, e = pcall(echo, a); return e.code",
        );
        assert_eq!(
            self.eval_ok(&mut vm, None, many_args),
            json!("E_ARG_SIZE"),
            "{}",
            self.name
        );
    }

    /// Registered modules: evaluated once per instance at creation, resolved by name only, frozen under strict.
    pub fn modules_resolve_registered_names(&self) {
        let loads = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&loads);
        let host = api(&Arc::default())
            .function("loaded", move |_c, (): ()| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .javascript_module(
                "greet",
                "loaded(); const prefix = 'hi '; module.exports = { greet: (n) => prefix + n, version: 2 };",
            )
            .lua_module(
                "greet",
                "loaded(); local prefix = 'hi '; return { greet = function(n) return prefix .. n end, version = 2 }",
            )
            .javascript_module("uses", "const g = require('greet'); exports.twice = (n) => g.greet(g.greet(n));")
            .lua_module("uses", "local g = require('greet'); return { twice = function(n) return g.greet(g.greet(n)) end }");
        let pool = self.pool_with(1, EngineConfig::new(prelude(self.lang)).host(host));
        // An engine may create an instance of its own while it is built, to check the configuration (Boa's is not
        // `Send` and cannot be kept for the pool): it counts once, the pool's instance once at most.
        let at_build = loads.load(Ordering::SeqCst);
        for _ in 0..5 {
            let mut vm = pool.acquire().unwrap();
            let got = self.eval_ok(
                &mut vm,
                None,
                self.src(
                    "[require('greet').greet('ann'), require('uses').twice('bo'), typeof require('kv').get]",
                    "return { require('greet').greet('ann'), require('uses').twice('bo'), type(require('kv').get) }",
                ),
            );
            assert_eq!(
                got,
                json!(["hi ann", "hi hi bo", "function"]),
                "{}",
                self.name
            );
            // A request cannot change a module for the next one.
            let _ = vm.eval(self.src(
                "try { require('greet').version = 99; } catch (e) {} 1",
                "pcall(function() require('greet').version = 99 end) return 1",
            ));
        }
        let mut vm = pool.acquire().unwrap();
        assert_eq!(
            self.eval_ok(
                &mut vm,
                None,
                self.src(
                    "require('greet').version",
                    "return require('greet').version"
                )
            ),
            json!(2),
            "{}",
            self.name
        );
        let loads = loads.load(Ordering::SeqCst);
        assert!(
            (1..=at_build + 1).contains(&loads) && pool.metrics().created == 1,
            "{}: one load per instance ({at_build} while building, {loads} in all)",
            self.name
        );
        let missing = self.src(
            "try { require('fs'); 'loaded' } catch (e) { e.message }",
            "local ok, e = pcall(require, 'io'); return tostring(e)",
        );
        let got = self.eval_ok(&mut vm, None, missing);
        assert!(
            got.as_str().is_some_and(|m| m.contains("registered")),
            "{}: {got}",
            self.name
        );
    }

    /// Writer/reader pairs across requests with contexts: the writer (request A) tries to keep its context
    /// through globals, closures, module exports, console and host function properties; the reader (request B)
    /// looks for A's secret everywhere. Returns how many readers found it (must be 0 under strict).
    pub fn context_leak_pairs(&self, pairs: usize) -> usize {
        let host = api(&Arc::default())
            .javascript_module("lib", "exports.state = {};")
            .lua_module("lib", "return { state = {} }");
        let pool = self.pool_with(2, EngineConfig::new(prelude(self.lang)).host(host));
        let js_writers = [
            "globalThis.stash = vmpool.context(); 1",
            "globalThis.stashFn = () => vmpool.context(); 1",
            "try { require('lib').state.c = vmpool.context(); } catch (e) {} 1",
            "try { kv.get.c = vmpool.context(); } catch (e) {} 1",
            "try { vmpool.c = vmpool.context(); } catch (e) {} 1",
            "try { require.cache.lib.exports.c = vmpool.context(); } catch (e) {} 1",
            "try { Object.prototype.c = vmpool.context(); } catch (e) {} 1",
            "console.log(JSON.stringify(vmpool.context())); 1",
            "kv.set('k', vmpool.context()); 1",
        ];
        let lua_writers = [
            "stash = vmpool.context() return 1",
            "stashFn = function() return vmpool.context() end return 1",
            "pcall(function() require('lib').state.c = vmpool.context() end) return 1",
            "pcall(function() vmpool.c = vmpool.context() end) return 1",
            "pcall(function() string.c = vmpool.context() end) return 1",
            "print(vmpool.context().data.secret) return 1",
        ];
        let js_reader = "JSON.stringify([typeof stash !== 'undefined' ? stash : null, \
             typeof stashFn !== 'undefined' ? stashFn() : null, require('lib').state, kv.get.c, vmpool.c, \
             ({}).c, vmpool.context()])";
        let lua_reader = "local parts = { tostring(stash and stash.data.secret), tostring(stashFn and stashFn() and stashFn().data.secret), \
             tostring(require('lib').state.c and require('lib').state.c.data.secret), \
             tostring(vmpool.c and vmpool.c.data.secret), tostring(string.c), \
             tostring(vmpool.context().data.secret) } return table.concat(parts, ',')";
        let mut rng = fastrand::Rng::with_seed(7);
        let mut leaks = 0;
        for i in 0..pairs {
            let secret = format!("secret-{i}-{}", rng.u32(..));
            let writer_ctx = context(&format!("w{i}"), &secret);
            {
                let mut vm = pool.acquire().unwrap();
                let writer = match self.lang {
                    Lang::Js => js_writers[rng.usize(0..js_writers.len())],
                    Lang::Lua => lua_writers[rng.usize(0..lua_writers.len())],
                };
                let _ = vm.eval_with(&writer_ctx, writer);
            }
            let reader_ctx = context(&format!("r{i}"), "reader");
            let mut vm = pool.acquire().unwrap();
            let seen = vm
                .eval_with(&reader_ctx, self.src(js_reader, lua_reader))
                .unwrap_or_else(|e| panic!("{}: reader failed: {e}", self.name));
            if seen.to_string().contains(&secret)
                || reader_ctx
                    .console()
                    .iter()
                    .any(|l| l.text.contains(&secret))
            {
                eprintln!("{}: the reader saw the writer's context: {seen}", self.name);
                leaks += 1;
            }
        }
        leaks
    }
}

/// Hostile scripts against the host boundary (`tests/hostile.rs`, group `host`), run on a pool whose host API is
/// [`hostile_api`]: panics under native frames, oversized and trapped arguments, host calls in loops.
pub const HOSTILE_CASES: &[crate::hostile::Case] = &[
    hcase(
        "panic caught by try/catch or pcall",
        Some("try { boom(); } catch (e) {} 'swallowed'"),
        Some("pcall(boom) return 'swallowed'"),
        INTERNAL,
    ),
    hcase(
        "panic under a native frame (sort comparator, gsub callback)",
        Some("[3, 1, 2].sort((a, b) => { boom(); return a - b; }); 'sorted'"),
        Some(
            "local t = {3, 1, 2} table.sort(t, function(a, b) boom() return a < b end) return 'sorted'",
        ),
        INTERNAL,
    ),
    hcase(
        "panic under a native frame (JSON.stringify replacer, string.gsub)",
        Some("JSON.stringify({ a: 1 }, (k, v) => { try { boom(); } catch (e) {} return v; })"),
        Some("return (string.gsub('abc', '%w', function(c) pcall(boom) return c end))"),
        INTERNAL,
    ),
    hcase(
        "panic in a promise job or a coroutine",
        Some("Promise.resolve().then(() => boom()).catch(() => {}); 'queued'"),
        Some("local co = coroutine.wrap(function() boom() end) pcall(co) return 'resumed'"),
        INTERNAL,
    ),
    hcase(
        "panic, then more host calls and a normal return",
        Some(
            "try { boom(); } catch (e) {} for (let i = 0; i < 1000; i++) { try { noop(i); } catch (e) {} } 1",
        ),
        Some("pcall(boom) for i = 1, 1000 do pcall(noop, i) end return 1"),
        INTERNAL,
    ),
    hcase(
        "oversized result caught and retried",
        Some("for (let i = 0; i < 5; i++) { try { huge(); } catch (e) {} } 'survived'"),
        Some("for i = 1, 5 do pcall(huge) end return 'survived'"),
        &[ErrorKind::Memory],
    ),
    hcase(
        "host calls in a loop under a native frame",
        Some("const a = new Array(100000).fill(0); for (;;) a.forEach((_, i) => noop(i));"),
        Some(
            "local s = string.rep('a', 100000) while true do string.gsub(s, 'a', function(c) noop(c) return c end) end",
        ),
        &[ErrorKind::Timeout],
    ),
    hcase(
        "a host function that outlives the deadline, caught",
        Some("for (;;) { try { sleep(); } catch (e) {} }"),
        Some("while true do pcall(sleep) end"),
        &[ErrorKind::Timeout],
    ),
    hcase(
        "an argument whose getter loops",
        Some("noop({ get a() { for (;;) {} } })"),
        None,
        &[ErrorKind::Timeout],
    ),
    hcase(
        "an argument whose __pairs never ends",
        None,
        Some(
            "local t = setmetatable({}, { __pairs = function(t) return function() return 1, 1 end, t, nil end }) return noop(t)",
        ),
        &[ErrorKind::Timeout, ErrorKind::Exception],
    ),
];

/// Host-boundary cases that must end with a value the script computed (the error was catchable and caught).
pub const CATCHABLE_CASES: &[crate::hostile::Case] = &[
    crate::hostile::Case {
        name: "a cyclic argument is a catchable error",
        js: Some("const a = {}; a.self = a; try { noop(a); 'no error' } catch (e) { e.code }"),
        lua: Some("local a = {} a.self = a local ok, e = pcall(noop, a) return e.code"),
        expect: crate::hostile::Expect::Value("\"E_ARGS\""),
    },
    crate::hostile::Case {
        name: "a deeply nested argument is a catchable error",
        js: Some(
            "let a = []; for (let i = 0; i < 10000; i++) a = [a]; try { noop(a); 'no error' } catch (e) { e.code }",
        ),
        lua: Some(
            "local a = {} for i = 1, 10000 do a = { a } end local ok, e = pcall(noop, a) return e.code",
        ),
        expect: crate::hostile::Expect::Value("\"E_ARGS\""),
    },
    crate::hostile::Case {
        name: "a huge string argument is refused before the host allocates",
        js: Some(
            "try { noop('x'.repeat(1 << 10).repeat(8 << 10)); 'no error' } catch (e) { e.code }",
        ),
        lua: Some("local ok, e = pcall(noop, string.rep('x', 8 << 20)) return e.code"),
        expect: crate::hostile::Expect::Value("\"E_ARG_SIZE\""),
    },
    crate::hostile::Case {
        name: "a host function used as a constructor, rebound or stringified",
        js: Some(
            "let r = []; try { new noop(); r.push('new'); } catch (e) { r.push('threw'); } \
                  r.push(String(noop.call({}, 1)), String(Reflect.apply(noop, null, [])), typeof String(noop)); r.length",
        ),
        lua: Some(
            "local r = { type(noop), tostring(noop(1)), type(tostring(noop)), select('#', noop()) } return #r",
        ),
        expect: crate::hostile::Expect::Value("4"),
    },
];

const INTERNAL: &[ErrorKind] = &[ErrorKind::Internal];

const fn hcase(
    name: &'static str,
    js: Option<&'static str>,
    lua: Option<&'static str>,
    kinds: &'static [ErrorKind],
) -> crate::hostile::Case {
    crate::hostile::Case {
        name,
        js,
        lua,
        expect: crate::hostile::Expect::Err(kinds),
    }
}

/// The host API of the hostile host cases (the same functions as the conformance checks; arguments capped at
/// 1 MiB).
pub fn hostile_api() -> HostApi {
    api(&Arc::default()).max_arg_bytes(1 << 20)
}
