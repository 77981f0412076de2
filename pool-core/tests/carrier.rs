//! The carrier: engines whose instances are not `Send` live in the shared pool, each on its own thread.

use std::time::Duration;

use pool_core::testing::{FakeEngine, RcEngine};
use pool_core::{Carrier, DestroyReason, ErrorKind, Pool, PooledVm, ScriptEngine};
use serde_json::json;

#[test]
fn rc_engine_instances_serve_many_threads_through_one_pool() {
    let pool = Pool::builder(Carrier::new(RcEngine))
        .max_size(3)
        .preload_size(1)
        .build()
        .unwrap();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let mut vm = pool.acquire().unwrap();
                    assert_eq!(
                        vm.eval("get").unwrap(),
                        json!(0),
                        "reset ran on the instance's own thread"
                    );
                    assert_eq!(
                        vm.eval(&format!("set {}", t * 100 + i)).unwrap(),
                        json!(t * 100 + i)
                    );
                    assert_eq!(vm.call("echo", &[json!("x")]).unwrap(), json!(["x"]));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let m = pool.metrics();
    assert_eq!(m.total_uses, 300);
    assert!(m.created <= 3);
}

#[test]
fn engine_errors_keep_their_kind_through_the_carrier() {
    let pool = Pool::builder(Carrier::new(RcEngine))
        .max_size(1)
        .build()
        .unwrap();
    let mut vm = pool.acquire().unwrap();
    let err = vm.eval("fail").unwrap_err();
    assert_eq!(pool_core::EngineError::kind(&err), ErrorKind::Exception);
    assert!(err.to_string().contains("failed on purpose"));
    let err = vm.call("nope", &[]).unwrap_err();
    assert!(
        err.to_string().contains("no global function `nope`"),
        "{err}"
    );
    assert!(!PooledVm::is_tainted(&vm));
}

#[test]
fn deadline_returns_timeout_and_the_instance_is_discarded() {
    let carrier = Carrier::new(FakeEngine::new()).timeout(Duration::from_millis(50));
    let pool = Pool::builder(carrier)
        .max_size(1)
        .preload_size(1)
        .build()
        .unwrap();
    {
        let mut vm = pool.acquire().unwrap();
        let err = vm.eval("sleep 2000").unwrap_err();
        assert_eq!(pool_core::EngineError::kind(&err), ErrorKind::Timeout);
        assert!(PooledVm::is_tainted(&vm));
        assert!(vm.is_lost());
        // A lost handle refuses further work instead of reading a stale answer.
        assert_eq!(
            pool_core::EngineError::kind(&vm.eval("get").unwrap_err()),
            ErrorKind::Internal
        );
    }
    assert_eq!(pool.metrics().destroyed.get(DestroyReason::Tainted), 1);
    // A fresh instance serves at once; the runaway one finishes on its own thread.
    assert_eq!(pool.acquire().unwrap().eval("get").unwrap(), json!(0));
}

#[test]
fn a_panicking_engine_loses_the_instance_not_the_process() {
    let pool = Pool::builder(Carrier::new(RcEngine))
        .max_size(1)
        .build()
        .unwrap();
    {
        let mut vm = pool.acquire().unwrap();
        let err = vm.eval("panic").unwrap_err();
        assert_eq!(pool_core::EngineError::kind(&err), ErrorKind::Internal);
    }
    assert_eq!(pool.metrics().destroyed.get(DestroyReason::Tainted), 1);
    assert_eq!(pool.acquire().unwrap().eval("set 3").unwrap(), json!(3));
}

#[test]
fn create_failures_and_panics_come_back_as_errors() {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let carrier = Carrier::new(engine);
    faults
        .fail_create_always
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = carrier.create().unwrap_err();
    assert!(err.to_string().contains("failed on purpose"), "{err}");
    faults
        .fail_create_always
        .store(false, std::sync::atomic::Ordering::SeqCst);
    faults
        .panic_on_create
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = carrier.create().unwrap_err();
    assert!(err.to_string().contains("panicked"), "{err}");
    assert_eq!(faults.live(), 0);
}

#[test]
fn broken_and_failed_reset_are_reported_in_one_round_trip() {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    // No maintenance thread: it would refill the discarded instances concurrently with the checks below.
    let pool = Pool::builder(Carrier::new(engine))
        .max_size(1)
        .preload_size(1)
        .maintenance_thread(false)
        .build()
        .unwrap();
    faults
        .broken_returns
        .store(1, std::sync::atomic::Ordering::SeqCst);
    drop(pool.acquire().unwrap());
    faults
        .fail_reset
        .store(true, std::sync::atomic::Ordering::SeqCst);
    drop(pool.acquire().unwrap());
    faults
        .fail_reset
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let m = pool.metrics();
    // The carrier reports both through reset: the pool counts them as failed resets.
    assert_eq!(m.destroyed.get(DestroyReason::ResetFailed), 2);
    drop(pool);
    assert_eq!(
        faults.live(),
        0,
        "instances are dropped on their threads when the pool closes"
    );
    assert_eq!(faults.double_drops(), 0);
}
