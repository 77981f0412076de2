//! loom models of the acquire / release / wait / close state machine: every interleaving of 2-3 threads on a pool
//! of capacity 1-2. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p pool-core --test loom --release`.
#![cfg(loom)]

use std::time::Duration;

use loom::thread;
use pool_core::testing::FakeEngine;
use pool_core::{Pool, PoolError};

fn pool(
    max_size: usize,
    preload: usize,
) -> (Pool<FakeEngine>, std::sync::Arc<pool_core::testing::Faults>) {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let pool = Pool::builder(engine)
        .max_size(max_size)
        .preload_size(preload)
        .acquire_timeout(Duration::from_secs(3600))
        .maintenance_thread(false)
        .build()
        .unwrap();
    (pool, faults)
}

fn balanced(pool: &Pool<FakeEngine>) {
    let m = pool.metrics();
    assert_eq!(
        m.created - m.destroyed.total(),
        (m.in_use + m.available) as u64
    );
    assert!(m.in_use + m.available + m.creating <= m.max_size);
}

/// Drops the last handle of `pool`: every instance is dropped, none twice.
fn closes_clean(pool: Pool<FakeEngine>, faults: &pool_core::testing::Faults) {
    drop(pool);
    assert_eq!(faults.live(), 0);
    assert_eq!(faults.double_drops(), 0);
}

/// Capacity 1, two threads each acquire and release: both finish (no lost wake-up), one instance serves both.
#[test]
fn two_threads_share_one_instance() {
    loom::model(|| {
        let (pool, faults) = pool(1, 1);
        let p = pool.clone();
        let t = thread::spawn(move || {
            let vm = p.acquire().unwrap();
            drop(vm);
        });
        let vm = pool.acquire().unwrap();
        balanced(&pool);
        drop(vm);
        t.join().unwrap();
        let m = pool.metrics();
        assert_eq!(
            (m.created, m.total_uses, m.in_use, m.available),
            (1, 2, 0, 1)
        );
        drop(pool);
        assert_eq!(faults.live(), 0);
    });
}

/// Capacity 2, three threads, lazy creation: never more than two instances, all three uses served.
#[test]
fn three_threads_capacity_two_lazy_creation() {
    loom::model(|| {
        let (pool, faults) = pool(2, 0);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let p = pool.clone();
                thread::spawn(move || {
                    let vm = p.acquire().unwrap();
                    balanced(&p);
                    drop(vm);
                })
            })
            .collect();
        drop(pool.acquire().unwrap());
        for t in threads {
            t.join().unwrap();
        }
        let m = pool.metrics();
        assert!(m.created <= 2);
        assert_eq!((m.total_uses, m.in_use), (3, 0));
        closes_clean(pool, &faults);
    });
}

/// Close while a thread waits: the waiter fails with Closed (never hangs); the guard out is destroyed on return.
#[test]
fn close_wakes_a_waiter_and_counts_the_returning_guard() {
    loom::model(|| {
        let (pool, faults) = pool(1, 1);
        let held = pool.acquire().unwrap();
        let p = pool.clone();
        let waiter = thread::spawn(move || match p.acquire() {
            Ok(vm) => {
                // Possible only if the release happened before the close.
                drop(vm);
                true
            }
            Err(PoolError::Closed) => false,
            Err(e) => panic!("{e}"),
        });
        let p = pool.clone();
        let closer = thread::spawn(move || p.close());
        drop(held);
        let _ = waiter.join().unwrap();
        closer.join().unwrap();
        let m = pool.metrics();
        assert!(m.closed);
        assert_eq!(m.in_use + m.available, 0);
        assert_eq!(m.created, m.destroyed.total());
        drop(pool);
        assert_eq!(faults.live(), 0);
    });
}

/// A waiter whose timeout-free wait races a discard: the discard frees capacity and the waiter creates anew.
#[test]
fn discard_frees_capacity_for_a_waiter() {
    loom::model(|| {
        let (pool, _faults) = pool(1, 1);
        let held = pool.acquire().unwrap();
        let p = pool.clone();
        let waiter = thread::spawn(move || {
            let vm = p.acquire().unwrap();
            drop(vm);
        });
        pool_core::PooledVm::discard(held);
        waiter.join().unwrap();
        let m = pool.metrics();
        assert_eq!(m.created, 2);
        assert_eq!(m.destroyed.total(), 1);
        balanced(&pool);
    });
}

/// Capacity 1, lazy creation, the first creation fails: the failure gives the capacity back to the other thread
/// (waiting or not), which creates anew. Exactly one of the two acquires fails; nothing is left reserved.
#[test]
fn a_failed_creation_hands_its_capacity_to_the_other_caller() {
    loom::model(|| {
        let (pool, faults) = pool(1, 0);
        faults
            .fail_create_nth
            .store(1, std::sync::atomic::Ordering::SeqCst);
        let p = pool.clone();
        let t = thread::spawn(move || p.acquire().map(drop));
        let here = pool.acquire().map(drop);
        let there = t.join().unwrap();
        let failed = [&here, &there]
            .iter()
            .filter(|r| matches!(r, Err(PoolError::Create(_))))
            .count();
        assert_eq!(failed, 1, "{here:?} {there:?}");
        assert!(here.is_ok() || there.is_ok());
        let m = pool.metrics();
        assert_eq!((m.creating, m.created, m.create_errors), (0, 1, 1));
        balanced(&pool);
    });
}

/// Capacity 1: an async and a blocking caller wait on the same state machine; a release serves one, whose
/// release serves the other. Both finish and count alike.
#[test]
fn an_async_and_a_blocking_caller_share_one_instance() {
    loom::model(|| {
        let (pool, faults) = pool(1, 1);
        let held = pool.acquire().unwrap();
        let p = pool.clone();
        let blocking = thread::spawn(move || drop(p.acquire().unwrap()));
        let p = pool.clone();
        let asynchronous =
            thread::spawn(move || drop(loom::future::block_on(p.acquire_async()).unwrap()));
        drop(held);
        blocking.join().unwrap();
        asynchronous.join().unwrap();
        let m = pool.metrics();
        assert_eq!((m.created, m.total_uses, m.in_use, m.waiting), (1, 3, 0, 0));
        assert!(m.waits <= 2 && m.wait_timeouts == 0);
        drop(pool);
        assert_eq!(faults.live(), 0);
    });
}

/// Capacity 1: one thread acquires and releases while another reloads. Whatever the interleaving, the reload
/// succeeds (the test instance is kept when the old one is idle or not yet made, dropped when the pool is full),
/// the old generation's instance never goes idle again, an acquire after the reload gets the new engine, and the
/// counters balance.
#[test]
fn a_release_racing_a_reload_never_leaves_the_old_generation_idle() {
    loom::model(|| {
        let (pool, faults) = pool(1, 1);
        let p = pool.clone();
        let t = thread::spawn(move || {
            let vm = p.acquire().unwrap();
            drop(vm);
        });
        let generation = pool.reload(pool.engine().with_version(1)).unwrap();
        assert_eq!(generation, 2);
        t.join().unwrap();
        let m = pool.metrics();
        assert!(m.generations.iter().all(|g| g.generation == 2), "{m:?}");
        balanced(&pool);
        let mut vm = pool.acquire().unwrap();
        assert_eq!(pool_core::PooledVm::generation(&vm), 2);
        assert_eq!(vm.eval("version").unwrap(), serde_json::json!(1));
        drop(vm);
        closes_clean(pool, &faults);
    });
}

/// Capacity 1, the instance held across a reload by a waiter's rival: the waiter blocked on the full pool is
/// served once the old instance comes back and is destroyed, with an instance of the new generation.
#[test]
fn a_waiter_is_served_by_the_new_generation_when_the_old_instance_returns() {
    loom::model(|| {
        let (pool, faults) = pool(1, 1);
        let held = pool.acquire_owned().unwrap();
        let p = pool.clone();
        let t = thread::spawn(move || {
            let vm = p.acquire().unwrap();
            let generation = pool_core::PooledVm::generation(&vm);
            drop(vm);
            generation
        });
        pool.reload(pool.engine().with_version(1)).unwrap();
        drop(held);
        assert_eq!(t.join().unwrap(), 2);
        let m = pool.metrics();
        assert_eq!(
            m.destroyed.get(pool_core::DestroyReason::Reloaded),
            2,
            "{m:?}"
        );
        balanced(&pool);
        drop(pool);
        assert_eq!(faults.live(), 0);
    });
}
