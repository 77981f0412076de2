//! `Pool::reload`: a new engine replaces the pool's as a new generation while requests go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use pool_core::testing::FakeEngine;
use pool_core::{DestroyReason, ErrorKind, Pool, PooledVm, ReloadError};
use serde_json::json;

fn pool(max_size: usize, preload: usize) -> Pool<FakeEngine> {
    Pool::builder(FakeEngine::new())
        .max_size(max_size)
        .preload_size(preload)
        .acquire_timeout(Duration::from_secs(30))
        .maintenance_thread(false)
        .build()
        .unwrap()
}

fn version(vm: &mut PooledVm<'_, FakeEngine>) -> i64 {
    vm.eval("version").unwrap().as_i64().unwrap()
}

#[test]
fn idle_instances_go_at_once_and_those_in_use_when_they_come_back() {
    let pool = pool(4, 2);
    let mut held = pool.acquire().unwrap();
    assert_eq!(pool.metrics().available, 1);
    assert_eq!(pool.reload(pool.engine().with_version(7)).unwrap(), 2);
    let m = pool.metrics();
    assert_eq!(m.destroyed.get(DestroyReason::Reloaded), 1, "the idle one");
    assert_eq!((m.generation, m.in_use, m.available), (2, 1, 1), "{m:?}");
    let live: Vec<(u64, usize)> = m
        .generations
        .iter()
        .map(|g| (g.generation, g.live))
        .collect();
    assert_eq!(live, [(1, 1), (2, 1)]);
    assert!(m.is_consistent());
    // The guard held across the reload keeps the engine that made its instance.
    assert_eq!((version(&mut held), PooledVm::generation(&held)), (0, 1));
    let mut new = pool.acquire().unwrap();
    assert_eq!((version(&mut new), PooledVm::generation(&new)), (7, 2));
    drop(held);
    let m = pool.metrics();
    assert_eq!(
        m.destroyed.get(DestroyReason::Reloaded),
        2,
        "destroyed on return"
    );
    assert_eq!(m.generations.len(), 1);
    drop(new);
    assert_eq!(
        pool.metrics().available,
        1,
        "the new generation goes back idle"
    );
    assert_eq!(
        pool.metrics().to_string(),
        "[VM Pool Metrics] Created: 1, InUse: 0, Available: 1, TotalUses: 2, Errors: 0",
        "the guide's line is unchanged"
    );
}

#[test]
fn a_reload_that_cannot_create_is_refused_and_changes_nothing() {
    let pool = pool(3, 2);
    let held = pool.acquire().unwrap();
    let before = pool.metrics();
    let engine = pool.engine().with_version(1);
    engine
        .faults()
        .fail_create_always
        .store(true, Ordering::SeqCst);
    let error = pool.reload(engine.clone()).unwrap_err();
    assert!(matches!(error, ReloadError::Create(_)), "{error}");
    assert_eq!(error.kind(), ErrorKind::Internal);
    let text = error.to_string();
    assert!(
        text.contains("reload refused") && text.contains("failed on purpose"),
        "names the problem: {text}"
    );
    engine
        .faults()
        .fail_create_always
        .store(false, Ordering::SeqCst);
    engine
        .faults()
        .panic_on_create
        .store(true, Ordering::SeqCst);
    let error = pool.reload(engine.clone()).unwrap_err();
    assert!(
        matches!(&error, ReloadError::CreatePanicked(m) if m.contains("on purpose")),
        "{error}"
    );
    engine
        .faults()
        .panic_on_create
        .store(false, Ordering::SeqCst);
    assert_eq!(pool.metrics(), before, "nothing changed");
    drop(held);
    let mut vm = pool.acquire().unwrap();
    assert_eq!((version(&mut vm), PooledVm::generation(&vm)), (0, 1));
}

#[test]
fn a_checked_test_instance_is_reset_and_kept() {
    let pool = pool(2, 0);
    pool.reload_with(pool.engine().with_version(1), |engine, vm| {
        pool_core::ScriptEngine::eval(engine, vm, "set 9").map(drop)
    })
    .unwrap();
    assert_eq!(
        pool.metrics().available,
        1,
        "the test instance is the first idle one"
    );
    let mut vm = pool.acquire().unwrap();
    assert_eq!(vm.eval("get").unwrap(), json!(0), "reset after the check");
    assert_eq!(version(&mut vm), 1);
}

#[test]
fn a_closed_pool_refuses_a_reload() {
    let pool = pool(2, 1);
    pool.close();
    let faults = pool.engine().faults();
    let created = faults.created();
    assert!(matches!(
        pool.reload(pool.engine().with_version(1)),
        Err(ReloadError::Closed)
    ));
    assert_eq!(
        faults.created(),
        created,
        "no test instance for a closed pool"
    );
    assert_eq!(faults.live(), 0);
}

#[test]
fn a_full_pool_drops_the_test_instance_and_a_waiter_gets_the_new_generation() {
    let pool = pool(1, 1);
    let faults = pool.engine().faults();
    let held = pool.acquire_owned().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut vm = pool.acquire().unwrap();
            (version(&mut vm), PooledVm::generation(&vm))
        });
        while pool.metrics().waiting == 0 {
            std::thread::yield_now();
        }
        pool.reload(pool.engine().with_version(3)).unwrap();
        let m = pool.metrics();
        assert_eq!(
            m.destroyed.get(DestroyReason::Reloaded),
            1,
            "no room: the test instance is dropped"
        );
        assert!(m.is_consistent() && m.in_use + m.available <= 1, "{m:?}");
        drop(held);
        assert_eq!(waiter.join().unwrap(), (3, 2));
    });
    let m = pool.metrics();
    assert_eq!(m.created, faults.created());
    assert_eq!(m.created - m.destroyed.total(), faults.live() as u64);
}

#[test]
fn the_maintenance_thread_refills_the_warm_floor_with_the_new_generation() {
    let pool = Pool::builder(FakeEngine::new())
        .max_size(6)
        .preload_size(4)
        .build()
        .unwrap();
    assert_eq!(pool.metrics().available, 4);
    pool.reload(pool.engine().with_version(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let m = loop {
        let m = pool.metrics();
        if m.available == 4 || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!((m.available, m.generation), (4, 2), "{m:?}");
    assert!(m.generations.iter().all(|g| g.generation == 2));
    assert_eq!(m.destroyed.get(DestroyReason::Reloaded), 4);
}

#[test]
fn maintenance_refills_the_floor_beside_old_instances_still_out() {
    let pool = pool(4, 2);
    let a = pool.acquire().unwrap();
    let b = pool.acquire().unwrap();
    pool.reload(pool.engine().with_version(1)).unwrap();
    assert_eq!(
        pool.run_maintenance().created,
        1,
        "the test instance plus one make the floor"
    );
    let m = pool.metrics();
    assert_eq!((m.in_use, m.available), (2, 2));
    drop((a, b));
    let m = pool.metrics();
    assert_eq!(
        (
            m.in_use,
            m.available,
            m.destroyed.get(DestroyReason::Reloaded)
        ),
        (0, 2, 2)
    );
}

/// Eight threads acquire and release in a loop while the main thread reloads 20 times. Every request succeeds;
/// an acquire that begins after a reload returned always runs that reload's engine or a later one; every
/// instance is dropped exactly once and the counters balance.
#[test]
fn reloads_while_eight_threads_acquire_and_release() {
    let pool = Pool::builder(FakeEngine::new())
        .max_size(6)
        .preload_size(3)
        .acquire_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let faults = pool.engine().faults();
    let published = AtomicI64::new(0);
    let stop = AtomicBool::new(false);
    let served = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let (pool, published, stop) = (&pool, &published, &stop);
                s.spawn(move || {
                    let mut served = 0u64;
                    while !stop.load(Ordering::SeqCst) {
                        let at_least = published.load(Ordering::SeqCst);
                        let mut vm = if i % 2 == 0 {
                            pool.acquire().unwrap()
                        } else {
                            futures::executor::block_on(pool.acquire_async()).unwrap()
                        };
                        let seen = version(&mut vm);
                        assert!(
                            seen >= at_least,
                            "saw version {seen} after {at_least} was published"
                        );
                        assert_eq!(vm.eval("set 5").unwrap(), json!(5));
                        if served % 7 == 3 {
                            PooledVm::discard(vm);
                        } else {
                            drop(vm);
                        }
                        served += 1;
                    }
                    served
                })
            })
            .collect();
        for v in 1..=20 {
            std::thread::sleep(Duration::from_millis(5));
            let generation = pool.reload(pool.engine().with_version(v)).unwrap();
            assert_eq!(generation, u64::try_from(v).unwrap() + 1);
            published.store(v, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::SeqCst);
        workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>()
    });
    assert!(served > 0);
    let m = pool.metrics();
    assert!(m.is_consistent(), "{m:?}");
    assert_eq!(m.generation, 21);
    assert!(m.generations.iter().all(|g| g.generation == 21), "{m:?}");
    assert_eq!(m.created, faults.created());
    assert_eq!(m.created - m.destroyed.total(), faults.live() as u64);
    assert!(m.destroyed.get(DestroyReason::Reloaded) > 0);
    drop(pool);
    assert_eq!(faults.live(), 0);
    assert_eq!(faults.created(), faults.dropped());
    assert_eq!(faults.double_drops(), 0);
}

/// Reloads and a close race: each reload either succeeds or finds the pool closed, and nothing leaks.
#[test]
fn reload_during_close() {
    for _ in 0..50 {
        let pool = pool(3, 2);
        let faults = pool.engine().faults();
        let held = pool.acquire_owned().unwrap();
        let closed = Arc::new(AtomicBool::new(false));
        std::thread::scope(|s| {
            let reloader = s.spawn(|| {
                (1..=5)
                    .map(|v| pool.reload(pool.engine().with_version(v)))
                    .filter(|r| matches!(r, Err(ReloadError::Closed)))
                    .count()
            });
            s.spawn(|| {
                pool.close();
                closed.store(true, Ordering::SeqCst);
            });
            let refused = reloader.join().unwrap();
            assert!(refused <= 5);
        });
        drop(held);
        let m = pool.metrics();
        assert!(
            m.closed && m.is_consistent() && m.in_use + m.available == 0,
            "{m:?}"
        );
        assert_eq!(faults.live(), 0, "every instance dropped");
        assert_eq!(faults.double_drops(), 0);
    }
}
