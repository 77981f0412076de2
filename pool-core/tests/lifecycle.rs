//! Pool lifecycle by concern: faults on create/reset/return, discard, panics, eviction, lifetime, max uses, leaks,
//! resize and close. Time is a manual clock: nothing sleeps to wait for eviction.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{builder, check_all_dropped, check_invariants};
use pool_core::{DestroyReason, ErrorKind, ManualClock, PoolError, PooledVm};
use serde_json::json;

#[test]
fn create_failing_on_the_nth_call_frees_its_slot() {
    let (b, faults) = builder(2, 0);
    faults.fail_create_nth.store(2, Ordering::SeqCst);
    let pool = b
        .acquire_timeout(Duration::from_millis(10))
        .build()
        .unwrap();
    let first = pool.acquire().unwrap();
    let err = pool.acquire().unwrap_err();
    assert!(matches!(err, PoolError::Create(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("creation 2 failed"), "{err}");
    // The failed creation did not keep its slot: a third attempt succeeds.
    let second = pool.acquire().unwrap();
    let m = pool.metrics();
    assert_eq!(
        (m.created, m.in_use, m.creating, m.create_errors),
        (2, 2, 0, 1)
    );
    check_invariants(&m);
    drop((first, second));
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn preload_failure_fails_build_and_drops_what_was_made() {
    let (b, faults) = builder(4, 3);
    faults.fail_create_nth.store(3, Ordering::SeqCst);
    let err = b.build().unwrap_err();
    assert!(err.to_string().contains("could not preload"), "{err}");
    check_all_dropped(&faults);
    assert_eq!(faults.created(), 2);
}

#[test]
fn create_panic_is_an_error_not_a_panic_and_frees_the_slot() {
    let (b, faults) = builder(1, 0);
    let pool = b.build().unwrap();
    faults.panic_on_create.store(true, Ordering::SeqCst);
    let err = pool.acquire().unwrap_err();
    assert!(matches!(err, PoolError::CreatePanicked(_)), "{err}");
    assert!(
        err.to_string().contains("panicked in create on purpose"),
        "{err}"
    );
    faults.panic_on_create.store(false, Ordering::SeqCst);
    assert!(pool.try_acquire().is_ok());
    check_invariants(&pool.metrics());
}

#[test]
fn reset_failure_or_panic_destroys_the_instance() {
    let (b, faults) = builder(1, 1);
    let pool = b.build().unwrap();
    faults.fail_reset.store(true, Ordering::SeqCst);
    drop(pool.acquire().unwrap());
    faults.fail_reset.store(false, Ordering::SeqCst);
    faults.panic_on_reset.store(true, Ordering::SeqCst);
    drop(pool.acquire().unwrap());
    faults.panic_on_reset.store(false, Ordering::SeqCst);
    let m = pool.metrics();
    assert_eq!(m.destroyed.get(DestroyReason::ResetFailed), 2);
    assert_eq!(m.created, 2);
    check_invariants(&m);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn broken_on_return_is_destroyed() {
    let (b, faults) = builder(2, 0);
    let pool = b.build().unwrap();
    faults.broken_returns.store(1, Ordering::SeqCst);
    let id = PooledVm::id(&pool.acquire().unwrap());
    let again = pool.acquire().unwrap();
    assert_ne!(
        PooledVm::id(&again),
        id,
        "a broken instance was handed out again"
    );
    assert_eq!(pool.metrics().destroyed.get(DestroyReason::Broken), 1);
}

#[test]
fn limit_errors_taint_and_ordinary_errors_do_not() {
    let (b, _faults) = builder(1, 1);
    let pool = b.build().unwrap();
    {
        let mut vm = pool.acquire().unwrap();
        assert_eq!(vm.eval("fail").unwrap_err().kind(), ErrorKind::Exception);
        assert!(!PooledVm::is_tainted(&vm));
        assert_eq!(vm.eval("timeout").unwrap_err().kind(), ErrorKind::Timeout);
        assert!(PooledVm::is_tainted(&vm));
    }
    let m = pool.metrics();
    assert_eq!(m.destroyed.get(DestroyReason::Tainted), 1);
    assert_eq!(m.script_errors, 2);
    assert_eq!(m.errors(), 2);
}

#[test]
fn explicit_discard_and_taint() {
    let (b, faults) = builder(2, 0);
    let pool = b.build().unwrap();
    PooledVm::discard(pool.acquire().unwrap());
    let mut vm = pool.acquire().unwrap();
    PooledVm::taint(&mut vm);
    drop(vm);
    let m = pool.metrics();
    assert_eq!(m.destroyed.get(DestroyReason::Discarded), 1);
    assert_eq!(m.destroyed.get(DestroyReason::Tainted), 1);
    assert_eq!(m.available, 0);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn panic_while_held_destroys_the_instance() {
    let (b, faults) = builder(1, 1);
    let pool = b.build().unwrap();
    let p = pool.clone();
    let result = std::thread::spawn(move || {
        let mut vm = p.acquire().unwrap();
        vm.eval("set 5").unwrap();
        panic!("handler bug");
    })
    .join();
    assert!(result.is_err());
    let m = pool.metrics();
    assert_eq!(m.destroyed.get(DestroyReason::Tainted), 1);
    assert_eq!((m.in_use, m.available), (0, 0));
    // The pool still serves.
    assert_eq!(pool.acquire().unwrap().eval("get").unwrap(), json!(0));
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn engine_panic_inside_eval_destroys_the_instance() {
    let (b, _faults) = builder(1, 0);
    let pool = b.build().unwrap();
    let p = pool.clone();
    let result = std::thread::spawn(move || p.acquire().unwrap().eval("panic").map(|_| ())).join();
    assert!(result.is_err());
    assert_eq!(pool.metrics().destroyed.get(DestroyReason::Tainted), 1);
}

#[test]
fn idle_instances_are_evicted_down_to_the_floor_by_the_clock() {
    let clock = Arc::new(ManualClock::new());
    let (b, faults) = builder(6, 2);
    let pool = b
        .idle_timeout(Duration::from_secs(600))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    let held: Vec<_> = (0..5).map(|_| pool.acquire().unwrap()).collect();
    drop(held);
    assert_eq!(pool.metrics().available, 5);
    // The first pass sees them idle; eviction counts from there.
    assert_eq!(pool.run_maintenance().evicted_idle, 0);
    clock.advance(Duration::from_secs(599));
    assert_eq!(pool.run_maintenance().evicted_idle, 0);
    clock.advance(Duration::from_secs(2));
    let report = pool.run_maintenance();
    assert_eq!(
        report.evicted_idle, 3,
        "evicted down to the warm floor of 2"
    );
    let m = pool.metrics();
    assert_eq!((m.available, m.destroyed.get(DestroyReason::Idle)), (2, 3));
    check_invariants(&m);
    // Far in the future: still never below the floor.
    clock.advance(Duration::from_secs(100_000));
    assert_eq!(pool.run_maintenance().evicted_idle, 0);
    assert_eq!(pool.metrics().available, 2);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn recently_used_instances_survive_eviction() {
    let clock = Arc::new(ManualClock::new());
    let (b, _faults) = builder(4, 0);
    let pool = b
        .idle_timeout(Duration::from_secs(60))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    let (a, c) = (pool.acquire().unwrap(), pool.acquire().unwrap());
    drop(a);
    pool.run_maintenance();
    clock.advance(Duration::from_secs(50));
    drop(c);
    pool.run_maintenance();
    clock.advance(Duration::from_secs(20));
    assert_eq!(
        pool.run_maintenance().evicted_idle,
        1,
        "only the one idle for 70s"
    );
    assert_eq!(pool.metrics().available, 1);
}

#[test]
fn an_instance_used_between_passes_counts_as_idle_from_the_next_pass() {
    let clock = Arc::new(ManualClock::new());
    let (b, _faults) = builder(2, 0);
    let pool = b
        .idle_timeout(Duration::from_secs(60))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    drop(pool.acquire().unwrap());
    assert_eq!(
        pool.run_maintenance().evicted_idle,
        0,
        "first seen idle now"
    );
    clock.advance(Duration::from_secs(61));
    // Used and returned between two passes: the next pass sees it idle again, but not for 61 s.
    drop(pool.acquire().unwrap());
    assert_eq!(pool.run_maintenance().evicted_idle, 0);
    clock.advance(Duration::from_secs(59));
    assert_eq!(pool.run_maintenance().evicted_idle, 0);
    clock.advance(Duration::from_secs(2));
    assert_eq!(pool.run_maintenance().evicted_idle, 1);
    let m = pool.metrics();
    assert_eq!((m.available, m.destroyed.get(DestroyReason::Idle)), (0, 1));
}

#[test]
fn clock_jumping_backward_or_freezing_evicts_nothing() {
    let clock = Arc::new(ManualClock::new());
    let (b, _faults) = builder(4, 0);
    let pool = b
        .idle_timeout(Duration::from_secs(60))
        .max_lifetime(Some(Duration::from_secs(120)))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    drop((pool.acquire().unwrap(), pool.acquire().unwrap()));
    clock.rewind(Duration::from_secs(3600));
    assert_eq!(pool.run_maintenance(), Default::default());
    drop(pool.acquire().unwrap());
    assert_eq!(pool.metrics().available, 2);
    pool.run_maintenance();
    clock.advance(Duration::from_secs(3600 + 61));
    let report = pool.run_maintenance();
    assert_eq!(report.evicted_lifetime + report.evicted_idle, 2);
}

#[test]
fn max_uses_retires_on_return() {
    let (b, _faults) = builder(1, 0);
    let pool = b.max_uses(Some(3)).build().unwrap();
    let first = PooledVm::id(&pool.acquire().unwrap());
    assert_eq!(PooledVm::id(&pool.acquire().unwrap()), first);
    let third = pool.acquire().unwrap();
    assert_eq!((PooledVm::id(&third), PooledVm::uses(&third)), (first, 3));
    drop(third);
    assert_ne!(PooledVm::id(&pool.acquire().unwrap()), first);
    assert_eq!(pool.metrics().destroyed.get(DestroyReason::MaxUses), 1);
}

#[test]
fn max_lifetime_retires_idle_and_returning_instances_and_refills_the_floor() {
    let clock = Arc::new(ManualClock::new());
    let (b, faults) = builder(3, 2);
    let pool = b
        .max_lifetime(Some(Duration::from_secs(100)))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    let held = pool.acquire().unwrap();
    // Jitter retires up to 10% early, never late.
    clock.advance(Duration::from_secs(89));
    assert_eq!(pool.run_maintenance().evicted_lifetime, 0);
    clock.advance(Duration::from_secs(12));
    let report = pool.run_maintenance();
    assert_eq!(report.evicted_lifetime, 1, "the idle one");
    assert_eq!(report.created, 1, "the floor is refilled");
    drop(held);
    let m = pool.metrics();
    assert_eq!(
        m.destroyed.get(DestroyReason::Lifetime),
        2,
        "the returning one too"
    );
    assert_eq!(m.available, 1);
    pool.run_maintenance();
    assert_eq!(pool.metrics().available, 2);
    check_invariants(&pool.metrics());
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn discards_below_the_floor_are_refilled_by_the_maintenance_thread() {
    let engine = pool_core::testing::FakeEngine::new();
    let pool = pool_core::Pool::builder(engine)
        .max_size(4)
        .preload_size(2)
        .build()
        .unwrap();
    PooledVm::discard(pool.acquire().unwrap());
    PooledVm::discard(pool.acquire().unwrap());
    // The thread is woken by the discard; wait (bounded) for it to refill.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.metrics().available < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let m = pool.metrics();
    assert_eq!(m.available, 2);
    assert_eq!(m.created, 4);
}

#[test]
fn leak_detection_reports_a_guard_once_with_where_it_was_acquired() {
    let clock = Arc::new(ManualClock::new());
    let (b, _faults) = builder(2, 0);
    let pool = b
        .leak_threshold(Some(Duration::from_secs(30)))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    let leaked = pool.acquire().unwrap();
    let short = pool.acquire().unwrap();
    clock.advance(Duration::from_secs(10));
    drop(short);
    assert_eq!(pool.run_maintenance().leaks_reported, 0);
    clock.advance(Duration::from_secs(25));
    assert_eq!(pool.run_maintenance().leaks_reported, 1);
    assert_eq!(pool.run_maintenance().leaks_reported, 0, "reported once");
    assert_eq!(pool.metrics().leaks_suspected, 1);
    drop(leaked);
    assert_eq!(pool.run_maintenance().leaks_reported, 0);
}

#[test]
fn forgotten_guard_loses_only_its_own_capacity() {
    let (b, _faults) = builder(2, 0);
    let pool = b.acquire_timeout(Duration::from_millis(5)).build().unwrap();
    std::mem::forget(pool.acquire().unwrap());
    let m = pool.metrics();
    assert_eq!(m.in_use, 1);
    drop(pool.acquire().unwrap());
    let a = pool.acquire().unwrap();
    assert!(
        pool.acquire().is_err(),
        "capacity 2, one forgotten, one held"
    );
    drop(a);
    check_invariants(&pool.metrics());
}

#[test]
fn resize_shrinks_idle_at_once_and_in_use_on_return() {
    let (b, faults) = builder(4, 0);
    let pool = b.acquire_timeout(Duration::from_millis(5)).build().unwrap();
    let held: Vec<_> = (0..4).map(|_| pool.acquire().unwrap()).collect();
    let mut held = held.into_iter();
    drop(held.next());
    drop(held.next());
    assert_eq!(pool.metrics().available, 2);
    pool.resize(1).unwrap();
    let m = pool.metrics();
    assert_eq!((m.available, m.in_use, m.max_size), (0, 2, 1));
    assert_eq!(m.destroyed.get(DestroyReason::Resized), 2);
    check_invariants(&m);
    drop(held.next());
    let m = pool.metrics();
    assert_eq!(
        (m.available, m.in_use),
        (0, 1),
        "returned over the new size: destroyed"
    );
    assert!(pool.try_acquire().is_err());
    drop(held);
    assert_eq!(pool.metrics().available, 1);
    pool.resize(3).unwrap();
    let more: Vec<_> = (0..3).map(|_| pool.acquire().unwrap()).collect();
    assert_eq!(more.len(), 3);
    assert_eq!(pool.resize(0).unwrap_err().key(), Some("max_size"));
    drop(more);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn resize_growth_wakes_waiters() {
    let (b, _faults) = builder(1, 0);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let _held = pool.acquire().unwrap();
    let p = pool.clone();
    let waiter = std::thread::spawn(move || p.acquire().map(|vm| PooledVm::id(&vm)));
    while pool.metrics().waiting == 0 {
        std::thread::yield_now();
    }
    pool.resize(2).unwrap();
    assert!(waiter.join().unwrap().is_ok());
}

#[test]
fn close_fails_waiters_and_new_acquires_and_drops_returning_guards() {
    let (b, faults) = builder(2, 2);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let a = pool.acquire().unwrap();
    let b2 = pool.acquire().unwrap();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let p = pool.clone();
            std::thread::spawn(move || p.acquire().map(|_| ()))
        })
        .collect();
    while pool.metrics().waiting < 4 {
        std::thread::yield_now();
    }
    pool.close();
    for w in waiters {
        let err = w.join().unwrap().unwrap_err();
        assert!(matches!(err, PoolError::Closed));
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert!(err.to_string().contains("closed"));
    }
    assert!(matches!(pool.try_acquire(), Err(PoolError::Closed)));
    assert!(pool.is_closed());
    drop((a, b2));
    let m = pool.metrics();
    assert_eq!(m.created, m.destroyed.total());
    assert_eq!(m.destroyed.get(DestroyReason::Closed), 2);
    pool.close();
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn dropping_the_pool_with_guards_alive_on_other_threads() {
    let (b, faults) = builder(3, 1);
    let pool = b.build().unwrap();
    let guards: Vec<_> = (0..3).map(|_| pool.acquire_owned().unwrap()).collect();
    drop(pool);
    let threads: Vec<_> = guards
        .into_iter()
        .map(|mut vm| {
            std::thread::spawn(move || {
                vm.eval("set 1").unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    check_all_dropped(&faults);
}

#[test]
fn slow_create_happens_outside_the_lock() {
    let (b, faults) = builder(2, 0);
    let pool = b.build().unwrap();
    let _warm = pool.acquire().unwrap();
    drop(_warm);
    faults.create_delay_ms.store(300, Ordering::SeqCst);
    let p = pool.clone();
    let creator = std::thread::spawn(move || {
        let _a = p.acquire().unwrap(); // takes the idle one
        let _b = p.acquire().unwrap(); // creates slowly
    });
    while pool.metrics().creating == 0 {
        std::thread::yield_now();
    }
    // While the creation runs, the lock is free: metrics answer and the pool is full.
    let m = pool.metrics();
    assert_eq!((m.creating, m.in_use), (1, 1));
    assert!(matches!(
        pool.try_acquire(),
        Err(PoolError::Exhausted { .. })
    ));
    creator.join().unwrap();
    check_invariants(&pool.metrics());
}

#[test]
fn instances_returned_on_other_threads_are_counted_and_found_by_any_thread() {
    // Each thread returns instances to a shard of its own (when the machine has more than one core); the counts,
    // resize, idle eviction and close see all of them, and any thread can take them.
    let (b, faults) = builder(8, 0);
    let clock = Arc::new(ManualClock::new());
    let pool = b
        .acquire_timeout(Duration::from_millis(10))
        .idle_timeout(Duration::from_secs(60))
        .shared_clock(clock.clone())
        .build()
        .unwrap();
    let return_from_four_threads = || {
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let held: Vec<_> = (0..2).map(|_| pool.acquire().unwrap()).collect();
                    // All eight out at once, so that each thread returns its own two.
                    barrier.wait();
                    drop(held);
                });
            }
        });
    };
    return_from_four_threads();
    let m = pool.metrics();
    assert_eq!((m.created, m.in_use, m.available), (8, 0, 8));
    check_invariants(&m);
    // This thread never returned anything, yet takes all eight, then finds none.
    let all: Vec<_> = (0..8).map(|_| pool.try_acquire().unwrap()).collect();
    assert!(matches!(
        pool.try_acquire(),
        Err(PoolError::Exhausted { .. })
    ));
    assert_eq!(pool.metrics().total_uses, 16);
    drop(all);
    // Returned by other threads again, then shrunk, evicted and closed across the shards.
    return_from_four_threads();
    pool.resize(5).unwrap();
    let m = pool.metrics();
    assert_eq!(
        (m.available, m.destroyed.get(DestroyReason::Resized)),
        (5, 3)
    );
    pool.run_maintenance();
    clock.advance(Duration::from_secs(61));
    let report = pool.run_maintenance();
    assert_eq!(report.evicted_idle, 5);
    pool.resize(8).unwrap();
    return_from_four_threads();
    pool.close();
    let m = pool.metrics();
    assert_eq!(m.available, 0);
    assert_eq!(
        m.destroyed.get(DestroyReason::Closed),
        8,
        "the idle instances of every shard"
    );
    check_invariants(&m);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn a_waiter_is_handed_an_instance_returned_on_another_thread() {
    let (b, faults) = builder(1, 1);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    for _ in 0..200 {
        let held = pool.acquire().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| pool.acquire().map(drop));
            // Returned from here while the other thread waits (or is about to): it must get the instance.
            while pool.metrics().waiting == 0 && !waiter.is_finished() {
                std::thread::yield_now();
            }
            drop(held);
            waiter.join().unwrap().unwrap();
        });
    }
    let m = pool.metrics();
    assert_eq!((m.created, m.total_uses, m.wait_timeouts), (1, 400, 0));
    drop(pool);
    check_all_dropped(&faults);
}
