//! `acquire_async`: waits without blocking the executor, creates off the executor's threads, times out, and leaks
//! nothing when cancelled.

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{builder, check_all_dropped, check_invariants};
use futures::executor::block_on;
use futures::task::noop_waker;
use pool_core::PoolError;

#[test]
fn waits_for_a_release_then_completes() {
    let (b, _faults) = builder(1, 0);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let held = pool.acquire().unwrap();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(pool.acquire_async());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(pool.metrics().waiting, 1);
    drop(held);
    let Poll::Ready(Ok(vm)) = fut.as_mut().poll(&mut cx) else {
        panic!("not ready after release")
    };
    drop(vm);
    let m = pool.metrics();
    assert_eq!((m.waiting, m.waits, m.total_uses), (0, 1, 2));
}

#[test]
fn times_out_with_exhausted() {
    let (b, _faults) = builder(1, 0);
    let pool = b
        .acquire_timeout(Duration::from_millis(30))
        .build()
        .unwrap();
    let _held = pool.acquire().unwrap();
    let err = block_on(pool.acquire_async()).unwrap_err();
    assert!(matches!(err, PoolError::Exhausted { max_size: 1, .. }));
    assert!(err.to_string().contains("VM pool exhausted"));
    assert_eq!(pool.metrics().waiting, 0);
}

#[test]
fn a_cancelled_waiter_that_was_woken_passes_the_wakeup_on() {
    let (b, faults) = builder(1, 0);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let held = pool.acquire().unwrap();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut first = Box::pin(pool.acquire_async());
    let second = pool.clone();
    assert!(first.as_mut().poll(&mut cx).is_pending());
    // A blocking waiter queues behind the async one.
    let t = std::thread::spawn(move || second.acquire().map(|_| ()));
    while pool.metrics().waiting < 2 {
        std::thread::yield_now();
    }
    drop(held); // wakes `first`...
    drop(first); // ...which is cancelled before it polls again: the thread must still get the instance
    t.join().unwrap().unwrap();
    check_invariants(&pool.metrics());
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn cancelled_at_random_points_leaks_nothing() {
    let (b, faults) = builder(2, 1);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut rng = fastrand_like(7);
    let mut held = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..2000 {
        match rng() % 4 {
            0 => {
                let mut fut = Box::pin(pool.acquire_async());
                match fut.as_mut().poll(&mut cx) {
                    Poll::Ready(Ok(vm)) => held.push(vm),
                    Poll::Ready(Err(e)) => panic!("{e}"),
                    Poll::Pending => pending.push(fut),
                }
            }
            1 if !held.is_empty() => drop(held.remove(rng() as usize % held.len())),
            2 if !pending.is_empty() => drop(pending.remove(rng() as usize % pending.len())),
            _ => {
                for fut in &mut pending {
                    if let Poll::Ready(Ok(vm)) = fut.as_mut().poll(&mut cx) {
                        held.push(vm);
                    }
                }
                pending.retain(|_| false);
            }
        }
        let m = pool.metrics();
        check_invariants(&m);
        assert!(m.in_use <= 2);
    }
    drop(pending);
    drop(held);
    // Creations started for cancelled futures finish on their own threads and leave their instances idle.
    wait_for_creations(&pool);
    let m = pool.metrics();
    assert_eq!((m.in_use, m.waiting), (0, 0));
    // Nothing lost: both instances can be taken at once.
    let a = pool.try_acquire().unwrap();
    let b = pool.try_acquire().unwrap();
    drop((a, b));
    drop(pool);
    check_all_dropped(&faults);
}

/// Waits (up to 30 s) until no creation is in flight and no instance is in use: an instance made for a dropped
/// future is briefly in use on its creation thread before that thread returns it.
fn wait_for_creations(pool: &pool_core::Pool<pool_core::testing::FakeEngine>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while pool.metrics().creating > 0 || pool.metrics().in_use > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "a creation never finished"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn creates_on_a_thread_of_its_own_not_the_polling_one() {
    let (b, faults) = builder(1, 0);
    let pool = b.build().unwrap();
    let vm = block_on(pool.acquire_async()).unwrap();
    assert_eq!(faults.creator_threads(), [Some("vmpool-create".to_owned())]);
    drop(vm);
    let m = pool.metrics();
    assert_eq!((m.created, m.available, m.total_uses), (1, 1, 1));
    check_invariants(&m);
}

#[test]
fn a_future_dropped_while_its_instance_is_created_leaves_the_instance_idle() {
    let (b, faults) = builder(1, 0);
    let pool = b.build().unwrap();
    faults
        .create_delay_ms
        .store(100, std::sync::atomic::Ordering::Relaxed);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = Box::pin(pool.acquire_async());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(pool.metrics().creating, 1);
    drop(fut);
    wait_for_creations(&pool);
    let m = pool.metrics();
    assert_eq!((m.created, m.in_use, m.available), (1, 0, 1));
    check_invariants(&m);
    faults
        .create_delay_ms
        .store(0, std::sync::atomic::Ordering::Relaxed);
    drop(pool.try_acquire().unwrap());
    assert_eq!(
        faults.creations(),
        1,
        "the instance made for the dropped future was reused"
    );
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn a_failed_creation_reaches_the_future_as_an_error() {
    let (b, faults) = builder(1, 0);
    let pool = b.build().unwrap();
    faults
        .fail_create_always
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let err = block_on(pool.acquire_async()).unwrap_err();
    assert!(matches!(err, PoolError::Create(_)), "{err:?}");
    let m = pool.metrics();
    assert_eq!((m.created, m.creating, m.create_errors), (0, 0, 1));
}

/// A small deterministic generator (xorshift), so the sequence is the same on every run.
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[test]
fn runs_on_a_multi_threaded_executor_without_blocking_it() {
    let (b, _faults) = builder(2, 2);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let exec = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let pool = pool.clone();
            let (tx, rx) = futures::channel::oneshot::channel();
            exec.spawn_ok(async move {
                let mut vm = pool.acquire_async().await.unwrap();
                let v = vm.eval(&format!("set {i}")).unwrap();
                let _ = tx.send(v);
            });
            rx
        })
        .collect();
    for (i, rx) in handles.into_iter().enumerate() {
        assert_eq!(block_on(rx).unwrap(), serde_json::json!(i));
    }
    assert_eq!(pool.metrics().total_uses, 40);
}
