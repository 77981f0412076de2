//! The wait counters (`waits`, `wait_timeouts`, `wait_time`, `waiting`) mean the same through the blocking and
//! the async acquire: every scenario runs through both drivers and must give the same counters.

mod common;

use std::future::Future;
use std::time::Duration;

use common::{builder, check_all_dropped, check_invariants};
use futures::executor::block_on;
use pool_core::testing::FakeEngine;
use pool_core::{Pool, PoolError, PooledVm};

#[derive(Debug, Clone, Copy)]
enum Driver {
    Blocking,
    Async,
}

const DRIVERS: [Driver; 2] = [Driver::Blocking, Driver::Async];

type Acquired = Result<PooledVm<'static, FakeEngine>, PoolError<pool_core::ScriptError>>;

fn acquire(pool: &Pool<FakeEngine>, driver: Driver) -> Acquired {
    match driver {
        Driver::Blocking => pool.acquire_owned(),
        Driver::Async => block_on(pool.acquire_async()),
    }
}

/// The wait counters of a snapshot: waits, wait timeouts, whether any wait time was recorded, callers waiting.
fn counters(pool: &Pool<FakeEngine>) -> (u64, u64, bool, usize) {
    let m = pool.metrics();
    check_invariants(&m);
    (m.waits, m.wait_timeouts, !m.wait_time.is_zero(), m.waiting)
}

#[test]
fn an_acquire_that_finds_an_instance_or_room_does_not_wait() {
    for driver in DRIVERS {
        let (b, faults) = builder(2, 1);
        let pool = b.build().unwrap();
        let idle = acquire(&pool, driver).unwrap();
        let created = acquire(&pool, driver).unwrap();
        assert_eq!(counters(&pool), (0, 0, false, 0), "{driver:?}");
        drop((idle, created));
        drop(pool);
        check_all_dropped(&faults);
    }
}

#[test]
fn a_wait_that_times_out_counts_one_wait_one_timeout_and_its_time() {
    let mut results = Vec::new();
    for driver in DRIVERS {
        let (b, _faults) = builder(1, 1);
        let pool = b
            .acquire_timeout(Duration::from_millis(40))
            .build()
            .unwrap();
        let _held = pool.acquire().unwrap();
        let err = acquire(&pool, driver).unwrap_err();
        let PoolError::Exhausted { max_size, waited } = err else {
            panic!("{driver:?}: {err}")
        };
        assert_eq!(max_size, 1);
        assert!(
            waited >= Duration::from_millis(40),
            "{driver:?}: {waited:?}"
        );
        let m = pool.metrics();
        assert!(
            m.wait_time >= Duration::from_millis(40),
            "{driver:?}: {m:?}"
        );
        results.push(counters(&pool));
    }
    assert_eq!(results[0], (1, 1, true, 0));
    assert_eq!(results[0], results[1], "blocking and async count alike");
}

#[test]
fn a_wait_served_by_a_release_counts_one_wait_and_no_timeout() {
    let mut results = Vec::new();
    for driver in DRIVERS {
        let (b, faults) = builder(1, 1);
        let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
        let held = pool.acquire_owned().unwrap();
        let watcher = pool.clone();
        let releaser = std::thread::spawn(move || {
            while watcher.metrics().waiting == 0 {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_millis(5));
            drop(held);
        });
        let vm = acquire(&pool, driver).unwrap();
        releaser.join().unwrap();
        assert_eq!(PooledVm::uses(&vm), 2, "{driver:?}: the released instance");
        drop(vm);
        results.push(counters(&pool));
        drop(pool);
        check_all_dropped(&faults);
    }
    assert_eq!(results[0], (1, 0, true, 0));
    assert_eq!(results[0], results[1], "blocking and async count alike");
}

#[test]
fn a_wait_served_by_a_discard_counts_one_wait_and_creates_anew() {
    let mut results = Vec::new();
    for driver in DRIVERS {
        let (b, faults) = builder(1, 1);
        let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
        let held = pool.acquire_owned().unwrap();
        let watcher = pool.clone();
        let discarder = std::thread::spawn(move || {
            while watcher.metrics().waiting == 0 {
                std::thread::yield_now();
            }
            PooledVm::discard(held);
        });
        let vm = acquire(&pool, driver).unwrap();
        discarder.join().unwrap();
        assert_eq!(PooledVm::uses(&vm), 1, "{driver:?}: a new instance");
        drop(vm);
        assert_eq!(pool.metrics().created, 2);
        results.push(counters(&pool));
        drop(pool);
        check_all_dropped(&faults);
    }
    assert_eq!(results[0], (1, 0, true, 0));
    assert_eq!(results[0], results[1], "blocking and async count alike");
}

#[test]
fn a_wait_ended_by_close_counts_one_wait_and_no_timeout() {
    let mut results = Vec::new();
    for driver in DRIVERS {
        let (b, _faults) = builder(1, 1);
        let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
        let _held = pool.acquire().unwrap();
        let closer = pool.clone();
        let t = std::thread::spawn(move || {
            while closer.metrics().waiting == 0 {
                std::thread::yield_now();
            }
            closer.close();
        });
        let err = acquire(&pool, driver).unwrap_err();
        t.join().unwrap();
        assert!(matches!(err, PoolError::Closed), "{driver:?}: {err}");
        results.push(counters(&pool));
    }
    assert_eq!(results[0], (1, 0, true, 0));
    assert_eq!(results[0], results[1], "blocking and async count alike");
}

#[test]
fn try_acquire_on_a_full_pool_is_not_a_wait() {
    let (b, _faults) = builder(1, 1);
    let pool = b.build().unwrap();
    let _held = pool.acquire().unwrap();
    for _ in 0..3 {
        assert!(matches!(
            pool.try_acquire(),
            Err(PoolError::Exhausted { .. })
        ));
        assert!(matches!(
            pool.try_acquire_owned(),
            Err(PoolError::Exhausted { .. })
        ));
    }
    assert_eq!(counters(&pool), (0, 0, false, 0));
}

#[test]
fn a_waiter_woken_or_polled_again_and_again_counts_one_wait() {
    // Async: polled many times while the pool stays full.
    let (b, _faults) = builder(1, 1);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let held = pool.acquire().unwrap();
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = Box::pin(pool.acquire_async());
    for _ in 0..10 {
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(counters(&pool), (1, 0, false, 1));
    drop(held);
    let std::task::Poll::Ready(Ok(vm)) = fut.as_mut().poll(&mut cx) else {
        panic!("not ready after the release")
    };
    drop(vm);
    let async_counters = counters(&pool);

    // Blocking: unparked many times while the pool stays full.
    let (b, _faults) = builder(1, 1);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let held = pool.acquire_owned().unwrap();
    let waiter = {
        let pool = pool.clone();
        std::thread::spawn(move || drop(pool.acquire().unwrap()))
    };
    while pool.metrics().waiting == 0 {
        std::thread::yield_now();
    }
    for _ in 0..10 {
        waiter.thread().unpark();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(pool.metrics().waits, 1);
    drop(held);
    waiter.join().unwrap();
    assert_eq!(counters(&pool), async_counters);
    assert_eq!(async_counters, (1, 0, true, 0));
}
