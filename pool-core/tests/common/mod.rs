//! Helpers shared by the pool-core integration tests.
#![allow(dead_code)]

use pool_core::testing::{FakeEngine, Faults};
use pool_core::{Metrics, Pool, PoolBuilder};

/// A fake-engine pool builder without a maintenance thread, so that tests drive maintenance themselves.
pub fn builder(
    max_size: usize,
    preload: usize,
) -> (PoolBuilder<FakeEngine>, std::sync::Arc<Faults>) {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    (
        Pool::builder(engine)
            .max_size(max_size)
            .preload_size(preload)
            .maintenance_thread(false),
        faults,
    )
}

/// The invariants every snapshot must satisfy ([`Metrics::is_consistent`]).
pub fn check_invariants(m: &Metrics) {
    assert!(m.is_consistent(), "inconsistent snapshot: {m:?}");
}

/// After the pool is gone: every instance created was dropped exactly once.
pub fn check_all_dropped(faults: &Faults) {
    assert_eq!(faults.double_drops(), 0, "an instance was dropped twice");
    assert_eq!(faults.live(), 0, "an instance was never dropped");
    assert_eq!(faults.created(), faults.dropped());
}
