//! Measures the Lua adapter's costs (run in release):
//! `cargo run --release -p engine-lua --example lua_isolation`
//!
//! Prints the median of several rounds for: creating an instance with the prelude, a warm handler call, the
//! reset of each isolation policy (with and without verification), and alternatives for strict isolation built
//! directly on mlua (a fresh state per use, clearing the environment table in place, building the environment
//! from Rust), plus the instruction hook's overhead and the Lua stack bytes per call frame.

use std::hint::black_box;
use std::time::{Duration, Instant};

use engine_lua::LuaEngine;
use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, VmState};
use pool_core::{EngineConfig, Isolation, ScriptEngine, Value};
use serde_json::json;

const HANDLER: &str = r#"function handle(input) local s=0 for _,v in ipairs(input.items) do s=s+v end return string.format('{"sum":%d,"n":%d}', s, #input.items) end"#;

/// Median time per iteration over `rounds` rounds of `iters` iterations.
fn time(rounds: usize, iters: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters.min(1000) {
        f();
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / u32::try_from(iters).unwrap_or(u32::MAX)
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn report(name: &str, d: Duration) {
    println!("{name:<58} {:>10.3} us", d.as_secs_f64() * 1e6);
}

fn engine(isolation: Isolation, verify: bool, prelude: &str) -> LuaEngine {
    let mut config = EngineConfig::new(prelude).isolation(isolation);
    config.verify_reset = verify;
    LuaEngine::new(config).expect("engine")
}

fn main() {
    let input = json!({ "items": (1..=10).collect::<Vec<i64>>() });
    let args = [input];

    // Instance creation with the prelude.
    let strict = engine(Isolation::Strict, true, HANDLER);
    report(
        "create (strict, handler prelude)",
        time(9, 200, || drop(black_box(strict.create().unwrap()))),
    );
    let scrub = engine(Isolation::Scrub, true, HANDLER);
    report(
        "create (scrub, handler prelude)",
        time(9, 200, || drop(black_box(scrub.create().unwrap()))),
    );

    // Warm call, and call + reset per policy.
    for (name, isolation, verify) in [
        ("strict", Isolation::Strict, true),
        ("strict, no verify", Isolation::Strict, false),
        ("scrub", Isolation::Scrub, true),
        ("scrub, no verify", Isolation::Scrub, false),
        ("none", Isolation::None, true),
    ] {
        let e = engine(isolation, verify, HANDLER);
        let mut vm = e.create().unwrap();
        assert_eq!(
            e.call(&mut vm, "handle", &args).unwrap(),
            Value::from(r#"{"sum":55,"n":10}"#)
        );
        report(
            &format!("warm call handle(items 1..10) [{name}]"),
            time(9, 20_000, || {
                black_box(e.call(&mut vm, "handle", &args).unwrap());
            }),
        );
        report(
            &format!("reset [{name}]"),
            time(9, 20_000, || e.reset(&mut vm).unwrap()),
        );
        report(
            &format!("call + reset [{name}]"),
            time(9, 20_000, || {
                black_box(e.call(&mut vm, "handle", &args).unwrap());
                e.reset(&mut vm).unwrap();
            }),
        );
    }

    // The reset after a use that added 10 globals.
    let add = "for i = 1, 10 do _G['g' .. i] = i end";
    for (isolation, name) in [(Isolation::Scrub, "scrub"), (Isolation::Strict, "strict")] {
        let e = engine(isolation, true, HANDLER);
        let mut vm = e.create().unwrap();
        let with_adds = time(9, 5000, || {
            e.eval(&mut vm, add).unwrap();
            e.reset(&mut vm).unwrap();
        });
        let eval_only = time(9, 5000, || {
            e.eval(&mut vm, add).unwrap();
        });
        report(
            &format!("{name} reset after 10 added globals (difference)"),
            with_adds.saturating_sub(eval_only),
        );
    }

    alternatives();
    prelude_forms();
    hook_overhead();
    frame_bytes();
}

/// Strict-isolation alternatives, on plain mlua.
fn alternatives() {
    let libs = StdLib::STRING
        | StdLib::TABLE
        | StdLib::MATH
        | StdLib::UTF8
        | StdLib::COROUTINE
        | StdLib::OS;
    report(
        "alt: fresh Lua state + libs + handler per use",
        time(9, 200, || {
            let lua = Lua::new_with(libs, LuaOptions::default()).unwrap();
            lua.load(HANDLER).exec().unwrap();
            black_box(lua);
        }),
    );

    let lua = Lua::new_with(libs, LuaOptions::default()).unwrap();
    let f: Function = lua
        .load(
            r#"
            local base = setmetatable({}, { __index = _G })
            local meta = { __index = base, __metatable = false }
            local holder = { __index = false }
            local env = setmetatable({}, meta)
            return function()
              env = setmetatable({}, meta)
              rawset(env, "_G", env)
              holder.__index = env
              holder.__newindex = env
              return env
            end, function(e)
              for k in next, e do rawset(e, k, nil) end
              rawset(e, "_G", e)
            end, meta
            "#,
        )
        .eval::<(Function, Function, Table)>()
        .map(|(a, b, c)| {
            ALT.with(|alt| *alt.borrow_mut() = Some((b, c)));
            a
        })
        .unwrap();
    report(
        "alt: new env table in one Lua call",
        time(9, 50_000, || {
            black_box(f.call::<Table>(()).unwrap());
        }),
    );
    let (clear, meta) = ALT.with(|alt| alt.borrow().clone().unwrap());
    let env: Table = f.call(()).unwrap();
    for i in 0..10 {
        env.raw_set(format!("g{i}"), i).unwrap();
    }
    report(
        "alt: clear env table in place (empty)",
        time(9, 50_000, || clear.call::<()>(&env).unwrap()),
    );
    report(
        "alt: new env table from Rust (create, setmetatable, _G; adopted)",
        time(9, 50_000, || {
            let env = lua.create_table().unwrap();
            env.set_metatable(Some(meta.clone())).unwrap();
            env.raw_set("_G", &env).unwrap();
            black_box(env);
        }),
    );
}

thread_local! {
    static ALT: std::cell::RefCell<Option<(Function, Table)>> = const { std::cell::RefCell::new(None) };
}

/// Loading the prelude from bytecode against compiling its source, for the handler and a larger prelude.
fn prelude_forms() {
    let big: String = (0..200)
        .map(|i| format!("function helper{i}(t) local s = 0 for k, v in pairs(t) do s = s + #tostring(k) + v end return s * {i} end\n"))
        .collect();
    for (name, source) in [("handler", HANDLER.to_owned()), ("200 functions", big)] {
        let lua = Lua::new();
        let bytecode = lua
            .load(source.as_str())
            .into_function()
            .unwrap()
            .dump(false);
        report(
            &format!("prelude {name}: compile source"),
            time(9, 2000, || {
                black_box(
                    lua.load(source.as_str())
                        .set_mode(ChunkMode::Text)
                        .into_function()
                        .unwrap(),
                );
            }),
        );
        report(
            &format!("prelude {name}: load bytecode (adopted)"),
            time(9, 2000, || {
                black_box(
                    lua.load(bytecode.as_slice())
                        .set_mode(ChunkMode::Binary)
                        .into_function()
                        .unwrap(),
                );
            }),
        );
    }
}

/// A tight loop with and without the instruction hook.
fn hook_overhead() {
    let source = "local s = 0 for i = 1, 1000000 do s = s + i % 7 end return s";
    let lua = Lua::new();
    let f = lua.load(source).into_function().unwrap();
    let bare = time(5, 5, || {
        black_box(f.call::<i64>(()).unwrap());
    });
    for n in [1000, 10_000] {
        let start = Instant::now();
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(n), move |_, _| {
            black_box(start.elapsed());
            Ok(VmState::Continue)
        })
        .unwrap();
        let hooked = time(5, 5, || {
            black_box(f.call::<i64>(()).unwrap());
        });
        report(
            &format!("1e6-iteration loop, hook every {n} instructions"),
            hooked,
        );
    }
    report("1e6-iteration loop, no hook", bare);
    let e = engine(Isolation::Strict, true, "");
    let mut vm = e.create().unwrap();
    report(
        "1e6-iteration loop through LuaEngine::eval",
        time(5, 5, || {
            black_box(e.eval(&mut vm, source).unwrap());
        }),
    );
}

/// Lua memory per frame of a simple recursion.
fn frame_bytes() {
    let lua = Lua::new();
    let f: Function = lua
        .load(
            r#"
            return function(depth)
              local peak = 0
              local function rec(n)
                if n == 0 then peak = collectgarbage("count") return 0 end
                return 1 + rec(n - 1)
              end
              collectgarbage("collect") collectgarbage("stop")
              local before = collectgarbage("count")
              rec(depth)
              collectgarbage("restart")
              return (peak - before) * 1024 / depth
            end
            "#,
        )
        .eval()
        .unwrap();
    for depth in [1000, 10_000] {
        let bytes: f64 = f.call(depth).unwrap();
        println!(
            "{:<58} {bytes:>10.1} B",
            format!("Lua memory per frame, recursion depth {depth}")
        );
    }
}
