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

/// The invariants every snapshot must satisfy.
pub fn check_invariants(m: &Metrics) {
    assert_eq!(
        m.created - m.destroyed.total(),
        (m.in_use + m.available) as u64,
        "created - destroyed != in_use + available: {m:?}"
    );
    // After a shrink, instances in use or being created may exceed the new max_size until they are done; none of
    // them becomes idle while the pool is over its size.
    assert!(
        m.in_use + m.available + m.creating <= m.max_size || m.available == 0,
        "over max_size: {m:?}"
    );
    let by_reason: u64 = m.destroyed.iter().map(|(_, n)| n).sum();
    assert_eq!(by_reason, m.destroyed.total());
}

/// After the pool is gone: every instance created was dropped exactly once.
pub fn check_all_dropped(faults: &Faults) {
    assert_eq!(faults.double_drops(), 0, "an instance was dropped twice");
    assert_eq!(faults.live(), 0, "an instance was never dropped");
    assert_eq!(faults.created(), faults.dropped());
}
