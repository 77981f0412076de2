//! Capacity reserved for a creation is given back exactly once, whatever happens to the creation: it succeeds,
//! fails, panics, or something unwinds after it; and capacity given back reaches the callers waiting for it.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{builder, check_all_dropped, check_invariants};
use pool_core::{Clock, PoolError};

/// The system clock, panicking on the next `armed` readings (a clock is the caller's code).
#[derive(Default)]
struct FlakyClock {
    armed: AtomicUsize,
}

impl Clock for FlakyClock {
    fn now(&self) -> Instant {
        if self
            .armed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("clock failure on purpose");
        }
        Instant::now()
    }
}

/// Waits (up to 10 s) until `done` holds.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_panic_after_create_gives_the_capacity_back() {
    let clock = Arc::new(FlakyClock::default());
    let (b, faults) = builder(1, 0);
    let pool = b
        .max_lifetime(Some(Duration::from_secs(3600)))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    // The new instance's expiry reads the clock after `create` returned: the panic unwinds through the acquire.
    clock.armed.store(1, Ordering::SeqCst);
    let unwound = catch_unwind(AssertUnwindSafe(|| pool.try_acquire().map(drop)));
    assert!(unwound.is_err());
    let m = pool.metrics();
    check_invariants(&m);
    assert_eq!((m.creating, m.created, m.create_errors), (0, 0, 0));
    assert_eq!(faults.live(), 0, "the instance made for it was dropped");
    // The capacity is there: the only slot of the pool can be used.
    let vm = pool.try_acquire().unwrap();
    drop(vm);
    let m = pool.metrics();
    check_invariants(&m);
    assert_eq!((m.created, m.available), (1, 1));
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn a_panic_after_create_wakes_a_caller_waiting_for_the_capacity() {
    let clock = Arc::new(FlakyClock::default());
    let (b, faults) = builder(1, 0);
    let pool = b
        .max_lifetime(Some(Duration::from_secs(3600)))
        .acquire_timeout(Duration::from_secs(30))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    faults.create_delay_ms.store(200, Ordering::SeqCst);
    clock.armed.store(1, Ordering::SeqCst);
    let creator = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            catch_unwind(AssertUnwindSafe(|| pool.acquire().map(drop))).is_err()
        })
    };
    wait_until("the creation started", || pool.metrics().creating == 1);
    let waiter = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.acquire().map(|vm| pool_core::PooledVm::uses(&vm)))
    };
    wait_until("the second caller waits", || pool.metrics().waiting == 1);
    faults.create_delay_ms.store(0, Ordering::SeqCst);
    assert!(creator.join().unwrap(), "the first acquire unwound");
    assert_eq!(
        waiter.join().unwrap().unwrap(),
        1,
        "the waiter created its own"
    );
    let m = pool.metrics();
    check_invariants(&m);
    assert_eq!(
        (m.creating, m.created, m.waits, m.wait_timeouts),
        (0, 1, 1, 0)
    );
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn a_failed_or_panicking_create_gives_the_capacity_back() {
    let (b, faults) = builder(1, 0);
    let pool = b.build().unwrap();
    faults.fail_create_always.store(true, Ordering::SeqCst);
    assert!(matches!(pool.try_acquire(), Err(PoolError::Create(_))));
    faults.fail_create_always.store(false, Ordering::SeqCst);
    faults.panic_on_create.store(true, Ordering::SeqCst);
    assert!(matches!(
        pool.try_acquire(),
        Err(PoolError::CreatePanicked(_))
    ));
    faults.panic_on_create.store(false, Ordering::SeqCst);
    let m = pool.metrics();
    check_invariants(&m);
    assert_eq!((m.creating, m.created, m.create_errors), (0, 0, 2));
    drop(pool.try_acquire().unwrap());
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn a_failed_refill_gives_every_reservation_back_to_the_waiters() {
    // Refilling a warm floor of two reserves both places at once; when the first creation fails, the place it
    // held and the one it never got to are both offered to the callers waiting meanwhile.
    let (b, faults) = builder(2, 2);
    let pool = b.acquire_timeout(Duration::from_secs(20)).build().unwrap();
    let (a, c) = (pool.try_acquire().unwrap(), pool.try_acquire().unwrap());
    pool_core::PooledVm::discard(a);
    pool_core::PooledVm::discard(c);
    assert_eq!(pool.metrics().live(), 0);
    faults.create_delay_ms.store(300, Ordering::SeqCst);
    faults.fail_create_nth.store(3, Ordering::SeqCst);
    let refill = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.run_maintenance())
    };
    wait_until("the refill reserved the floor", || {
        pool.metrics().creating == 2
    });
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            // Each keeps its instance, so both are out at once at the end.
            std::thread::spawn(move || pool.acquire_owned())
        })
        .collect();
    wait_until("both callers wait", || pool.metrics().waiting == 2);
    faults.create_delay_ms.store(0, Ordering::SeqCst);
    let report = refill.join().unwrap();
    assert_eq!(report.created, 0, "the refill stopped at its first failure");
    let held: Vec<_> = waiters
        .into_iter()
        .map(|waiter| waiter.join().unwrap().expect("each waiter got a place"))
        .collect();
    let m = pool.metrics();
    check_invariants(&m);
    assert_eq!((m.creating, m.create_errors, m.wait_timeouts), (0, 1, 0));
    assert_eq!(
        (m.created, m.in_use),
        (4, 2),
        "two preloaded, one for each waiter"
    );
    drop(held);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn capacity_is_never_lost_under_random_creation_failures_and_panics() {
    let (b, faults) = builder(3, 1);
    let pool = b.acquire_timeout(Duration::from_secs(20)).build().unwrap();
    faults.create_failure_ppm.store(300_000, Ordering::SeqCst);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    match pool.acquire() {
                        Ok(vm) if (i + t) % 7 == 0 => pool_core::PooledVm::discard(vm),
                        Ok(vm) => drop(vm),
                        Err(PoolError::Create(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    faults.create_failure_ppm.store(0, Ordering::SeqCst);
    let m = pool.metrics();
    check_invariants(&m);
    assert_eq!((m.creating, m.in_use, m.wait_timeouts), (0, 0, 0));
    // Every place of the pool can still be used at once.
    let all: Vec<_> = (0..3).map(|_| pool.try_acquire().unwrap()).collect();
    assert!(matches!(
        pool.try_acquire(),
        Err(PoolError::Exhausted { .. })
    ));
    drop(all);
    drop(pool);
    check_all_dropped(&faults);
}
