//! The conformance suite (`vmpool_tests`) run against every engine compiled in.
//!
//! `VMPOOL_ISOLATION_PAIRS` sets the number of writer/reader pairs per engine (default 1000).

use vmpool_tests::{Engine, Lang};

fn pairs() -> usize {
    std::env::var("VMPOOL_ISOLATION_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

macro_rules! conformance {
    ($module:ident, $engine:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn value_round_trips() {
                $engine.value_round_trips();
            }
            #[test]
            fn results_convert() {
                $engine.results_convert();
            }
            #[test]
            fn unconvertible_values() {
                $engine.unconvertible_values();
            }
            #[test]
            fn errors_have_kinds_and_messages() {
                $engine.errors_have_kinds_and_messages();
            }
            #[test]
            fn timeouts() {
                $engine.timeouts();
            }
            #[test]
            fn stack_overflow() {
                $engine.stack_overflow();
            }
            #[test]
            fn out_of_memory() {
                $engine.out_of_memory();
            }
            #[test]
            fn isolation_writer_reader_pairs() {
                let n = pairs();
                let observed = $engine.isolation_pairs(n, 0x5eed);
                println!(
                    "{}: {n} writer/reader pairs, {observed} observations",
                    $engine.name
                );
                assert_eq!(observed, 0);
            }
            #[test]
            fn readers_detect_leaks_without_isolation() {
                // The readers are sensitive: with no reset, they see the writers' state.
                let observed =
                    $engine.isolation_pairs_with(pool_core::Isolation::None, 200, 0x5eed);
                assert!(
                    observed > 20,
                    "{}: only {observed} observations without isolation",
                    $engine.name
                );
            }
            #[test]
            fn threads() {
                $engine.threads();
            }
        }
    };
}

#[cfg(feature = "quickjs")]
const QUICKJS: Engine<engine_quickjs::QuickJsEngine> = Engine {
    name: "quickjs",
    lang: Lang::Js,
    make: |config| engine_quickjs::QuickJsEngine::new(config).unwrap(),
    memory_limit: true,
};

#[cfg(feature = "quickjs")]
conformance!(quickjs, QUICKJS);

#[cfg(feature = "lua")]
const LUA: Engine<engine_lua::LuaEngine> = Engine {
    name: "lua",
    lang: Lang::Lua,
    make: |config| engine_lua::LuaEngine::new(config).unwrap(),
    memory_limit: true,
};

#[cfg(feature = "lua")]
conformance!(lua, LUA);

#[cfg(feature = "boa")]
const BOA: Engine<pool_core::Carrier<engine_boa::BoaEngine>> = Engine {
    name: "boa",
    lang: Lang::Js,
    make: vmpool_tests::boa_engine,
    // Boa has no heap limit (see engine-boa's crate docs): a runaway allocation is stopped by the time limit.
    memory_limit: false,
};

#[cfg(feature = "boa")]
conformance!(boa, BOA);
