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
    use std::task::{Wake, Waker};

    #[cfg(loom)]
    use loom::thread::{Thread, current};
    #[cfg(not(loom))]
    use std::thread::{Thread, current};

    /// Unparks the thread it was made on.
    struct Unparker(Thread);

    impl Wake for Unparker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    #[cfg(not(loom))]
    std::thread_local! {
        static WAKER: Waker = Waker::from(std::sync::Arc::new(Unparker(current())));
    }

    #[cfg(loom)]
    loom::thread_local! {
        static WAKER: Waker = Waker::from(std::sync::Arc::new(Unparker(current())));
    }

    /// Runs `f` with a waker that unparks the calling thread (made once per thread, so a wait allocates nothing;
    /// a fresh one while the thread's locals are being destroyed).
    #[cfg(not(loom))]
    pub(crate) fn with_waker<R>(f: impl FnOnce(&Waker) -> R) -> R {
        let waker = WAKER
            .try_with(Waker::clone)
            .unwrap_or_else(|_| Waker::from(std::sync::Arc::new(Unparker(current()))));
        f(&waker)
    }

    #[cfg(loom)]
    pub(crate) fn with_waker<R>(f: impl FnOnce(&Waker) -> R) -> R {
        WAKER.with(f)
    }

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

/// The async acquire's timer: `futures_timer` normally. Under loom time does not pass (as for
/// [`thread::park_timeout`]), so the timer never fires and holds no waker: the models only wait for events.
#[cfg(not(loom))]
pub(crate) use futures_timer::Delay;

/// A timer that never fires (loom).
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Delay;

#[cfg(loom)]
impl Delay {
    pub(crate) fn new(_timeout: std::time::Duration) -> Self {
        Delay
    }
}

#[cfg(loom)]
impl std::future::Future for Delay {
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::task::Poll::Pending
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
