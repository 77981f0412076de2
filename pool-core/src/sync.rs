//! The one place that names the synchronisation primitives: `std` normally, `loom` under `cfg(loom)` so that the
//! loom models in `tests/loom.rs` explore every interleaving of the pool's state machine.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

/// A small number that tells the calling thread from others (0, 1, 2, ... in the order threads first ask), for
/// choosing the idle shard a thread prefers. Threads started together get consecutive numbers.
#[cfg(not(loom))]
#[inline]
pub(crate) fn thread_index() -> usize {
    use std::sync::atomic::AtomicUsize;
    std::thread_local! {
        static INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    INDEX.with(|index| {
        let mut i = index.get();
        if i == usize::MAX {
            i = NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            index.set(i);
        }
        i
    })
}

/// As above, numbered afresh in every loom execution so that executions replay.
#[cfg(loom)]
pub(crate) fn thread_index() -> usize {
    use loom::sync::atomic::AtomicUsize;
    loom::thread_local! {
        static INDEX: std::cell::Cell<usize> = std::cell::Cell::new(usize::MAX);
    }
    loom::lazy_static! {
        static ref NEXT: AtomicUsize = AtomicUsize::new(0);
    }
    INDEX.with(|index| {
        let mut i = index.get();
        if i == usize::MAX {
            i = NEXT.fetch_add(1, Ordering::Relaxed);
            index.set(i);
        }
        i
    })
}

/// Parking of a thread that waits for an instance.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{Thread, current};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{Thread, current};

    /// Parks until unparked or `timeout` passes. Under loom, time does not pass: the models only wait for events.
    #[cfg(not(loom))]
    pub(crate) fn park_timeout(timeout: std::time::Duration) {
        std::thread::park_timeout(timeout);
    }

    #[cfg(loom)]
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::park();
    }
}

/// Locks. No code that can panic runs while the pool's lock is held; parking_lot's mutex (small, fast uncontended,
/// adaptive spinning under contention, no poisoning to check on every lock and unlock) serves the pool outside loom.
#[cfg(not(loom))]
#[inline]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock()
}

/// Locks, ignoring poisoning (loom's mutex poisons like std's).
#[cfg(loom)]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
