//! The conformance suite (`vmpool_tests`) run against every engine compiled in.
//!
//! `VMPOOL_ISOLATION_PAIRS` sets the number of writer/reader pairs per engine (default 1000).

/// Boa's heap limit needs its counting allocator (the others do not mind it).
#[cfg(feature = "boa")]
#[global_allocator]
static ALLOC: engine_boa::CountingAllocator = engine_boa::CountingAllocator::system();

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
            fn source_over_the_size_limit_is_refused_alike() {
                $engine.source_over_the_size_limit_is_refused_alike();
            }
            #[test]
            fn refused_writes_explain_strict_isolation() {
                $engine.refused_writes_explain_strict_isolation();
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
conformance!(quickjs, vmpool_tests::QUICKJS);

#[cfg(feature = "lua")]
conformance!(lua, vmpool_tests::LUA);

#[cfg(feature = "boa")]
conformance!(boa, vmpool_tests::BOA);
