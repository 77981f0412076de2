//! The Go guide's own test scenarios (TestVMManager*), in Rust.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{builder, check_all_dropped, check_invariants};
use pool_core::{ErrorKind, PoolError, ScriptError};
use serde_json::json;

#[test]
fn basic_acquire_use_release_with_stats() {
    let (b, faults) = builder(5, 2);
    let pool = b.build().unwrap();
    let m = pool.metrics();
    assert_eq!(
        (m.created, m.in_use, m.available, m.total_uses),
        (2, 0, 2, 0)
    );
    {
        let mut vm = pool.acquire().unwrap();
        assert_eq!(vm.eval("set 2").unwrap(), json!(2));
        let m = pool.metrics();
        assert_eq!((m.in_use, m.available, m.total_uses), (1, 1, 1));
    }
    let m = pool.metrics();
    assert_eq!(
        (m.created, m.in_use, m.available, m.total_uses, m.errors()),
        (2, 0, 2, 1, 0)
    );
    assert_eq!(
        m.to_string(),
        "[VM Pool Metrics] Created: 2, InUse: 0, Available: 2, TotalUses: 1, Errors: 0"
    );
    check_invariants(&m);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn twenty_threads_fifty_operations_each() {
    let (b, faults) = builder(10, 5);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let barrier = Arc::new(Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let pool = pool.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..50 {
                    let mut vm = pool.acquire().unwrap();
                    // Each use sees a clean instance, then writes its own value.
                    assert_eq!(vm.eval("get").unwrap(), json!(0));
                    let n = t * 1000 + i;
                    assert_eq!(vm.eval(&format!("set {n}")).unwrap(), json!(n));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let m = pool.metrics();
    assert_eq!(m.total_uses, 1000);
    assert_eq!(m.in_use, 0);
    assert!(m.created <= 10);
    check_invariants(&m);
    drop(pool);
    check_all_dropped(&faults);
}

#[test]
fn pool_of_two_third_acquire_is_exhausted_until_a_release() {
    let (b, _faults) = builder(2, 0);
    let pool = b
        .acquire_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let first = pool.acquire().unwrap();
    let _second = pool.acquire().unwrap();
    let err = pool.acquire().unwrap_err();
    assert!(err.to_string().contains("VM pool exhausted"), "{err}");
    assert!(err.to_string().contains("all 2 VMs in use"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Exhausted);
    assert!(matches!(
        pool.try_acquire(),
        Err(PoolError::Exhausted { max_size: 2, .. })
    ));
    drop(first);
    let third = pool.acquire().unwrap();
    drop(third);
    let m = pool.metrics();
    assert_eq!(m.wait_timeouts, 1);
    assert_eq!(m.waits, 1);
    check_invariants(&m);
}

#[test]
fn a_value_set_in_one_use_is_not_visible_in_the_next() {
    let (b, _faults) = builder(1, 1);
    let pool = b.build().unwrap();
    pool.acquire().unwrap().eval("set 99").unwrap();
    let mut vm = pool.acquire().unwrap();
    assert_eq!(vm.eval("get").unwrap(), json!(0));
    assert_eq!(pool.metrics().created, 1, "the same instance was reused");
}

#[test]
fn concurrent_stats_readers_during_acquire_release() {
    let (b, _faults) = builder(4, 2);
    let pool = b.acquire_timeout(Duration::from_secs(30)).build().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Readers and workers start together, and every reader samples until the workers are done (at least once).
    let start = Arc::new(std::sync::Barrier::new(7));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (pool, stop, start) = (pool.clone(), stop.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                // A panic here (an inconsistent snapshot) fails the test through `join`.
                loop {
                    let m = pool.metrics();
                    check_invariants(&m);
                    assert!(m.in_use + m.available + m.creating <= 4);
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                }
            })
        })
        .collect();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (pool, start) = (pool.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..500 {
                    pool.acquire().unwrap().eval("set 1").unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(pool.metrics().total_uses, 2000);
}

#[test]
fn with_propagates_the_closure_error_unchanged() {
    #[derive(Debug, PartialEq)]
    enum AppError {
        Mine(&'static str),
        Pool(ErrorKind),
    }
    impl From<PoolError<ScriptError>> for AppError {
        fn from(e: PoolError<ScriptError>) -> Self {
            AppError::Pool(e.kind())
        }
    }
    let (b, _faults) = builder(1, 0);
    let pool = b
        .acquire_timeout(Duration::from_millis(10))
        .build()
        .unwrap();
    let result: Result<(), AppError> = pool.with(|_vm| Err(AppError::Mine("handler failed")));
    assert_eq!(result, Err(AppError::Mine("handler failed")));
    // The instance came back: the next `with` gets it.
    let value = pool.with(|vm| vm.eval("set 4").map_err(|_| AppError::Mine("eval")));
    assert_eq!(value, Ok(json!(4)));
    // An acquire failure arrives converted.
    let _held = pool.acquire().unwrap();
    let result: Result<(), AppError> = pool.with(|_vm| Ok(()));
    assert_eq!(result, Err(AppError::Pool(ErrorKind::Exhausted)));
    // And a script error comes through as the engine's own error.
    drop(_held);
    let err = pool.with(|vm| vm.eval("fail")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert_eq!(pool.metrics().script_errors, 1);
}
