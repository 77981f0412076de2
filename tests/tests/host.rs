//! The host API's conformance checks (`vmpool_tests::host`) run against every engine compiled in.
//!
//! `VMPOOL_CONTEXT_PAIRS` sets the number of context writer/reader pairs per engine (default 200).

/// Boa's heap limit needs its counting allocator (the others do not mind it).
#[cfg(feature = "boa")]
#[global_allocator]
static ALLOC: engine_boa::CountingAllocator = engine_boa::CountingAllocator::system();

fn pairs() -> usize {
    std::env::var("VMPOOL_CONTEXT_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

macro_rules! host {
    ($module:ident, $engine:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn host_functions_convert() {
                $engine.host_functions_convert();
            }

            #[test]
            fn host_errors_cross_the_boundary() {
                $engine.host_errors_cross_the_boundary();
            }

            #[test]
            fn host_panics_are_contained() {
                $engine.host_panics_are_contained();
            }

            #[test]
            fn context_is_per_call() {
                $engine.context_is_per_call();
            }

            #[test]
            fn console_is_captured_and_capped() {
                $engine.console_is_captured_and_capped();
            }

            #[test]
            fn host_functions_cannot_be_replaced() {
                $engine.host_functions_cannot_be_replaced();
            }

            #[test]
            fn deadline_holds_across_host_calls() {
                $engine.deadline_holds_across_host_calls();
            }

            #[test]
            fn host_values_are_bounded() {
                $engine.host_values_are_bounded();
            }

            #[test]
            fn modules_resolve_registered_names() {
                $engine.modules_resolve_registered_names();
            }

            #[test]
            fn context_never_leaks_to_the_next_request() {
                let leaks = $engine.context_leak_pairs(pairs());
                assert_eq!(leaks, 0, "{}: readers saw a writer's context", $engine.name);
            }
        }
    };
}

#[cfg(feature = "quickjs")]
host!(quickjs, vmpool_tests::QUICKJS);

#[cfg(feature = "lua")]
host!(lua, vmpool_tests::LUA);

#[cfg(feature = "boa")]
host!(boa, vmpool_tests::BOA);
