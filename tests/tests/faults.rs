//! Injected faults (issue 6) that pool-core's own tests (`pool-core/tests/lifecycle.rs`, `stress.rs`, `model.rs`,
//! `async_acquire.rs`, `loom.rs`) do not already cover: the shutdown figure (close with 32 waiters and 4 guards
//! out), the pool dropped while other threads are using guards, the reaper evicting while many threads acquire,
//! the clock jumping an hour forward, a broken-check failing for the first K returns, and a host function that
//! panics inside `pcall`. For each: no deadlock, no lost capacity, counters balance, every instance dropped once.
//!
//! The shutdown latency is measured and printed (`--nocapture`), never asserted: timing belongs to benchmarks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use pool_core::testing::{FakeEngine, Faults};
use pool_core::{DestroyReason, ErrorKind, ManualClock, Metrics, Pool, PoolError, PooledVm};
use serde_json::json;

fn check_invariants(m: &Metrics) {
    assert_eq!(
        m.created - m.destroyed.total(),
        (m.in_use + m.available) as u64,
        "created - destroyed != in_use + available: {m:?}"
    );
    assert!(
        m.in_use + m.available + m.creating <= m.max_size || (m.available == 0 && m.creating == 0),
        "over max_size: {m:?}"
    );
}

fn check_all_dropped(faults: &Faults) {
    // The last handle of a pool may be the maintenance thread's, held for the rest of its pass: the pool then
    // closes, and drops its idle instances, on that thread a moment after the test dropped its own.
    let deadline = Instant::now() + Duration::from_secs(10);
    while faults.live() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(faults.double_drops(), 0, "an instance was dropped twice");
    assert_eq!(faults.live(), 0, "an instance was never dropped");
    assert_eq!(faults.created(), faults.dropped());
}

/// Figure 6: `close()` with 32 waiters and 4 guards out. Every waiter gets the closed error; the time from
/// `close()` to each waiter's error is printed; after the last guard returns, created equals destroyed.
#[test]
fn close_with_32_waiters_and_4_guards_out() {
    const WAITERS: usize = 32;
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let pool = Pool::builder(engine)
        .max_size(4)
        .preload_size(4)
        .acquire_timeout(Duration::from_secs(60))
        .maintenance_thread(false)
        .build()
        .unwrap();
    let guards: Vec<_> = (0..4).map(|_| pool.acquire_owned().unwrap()).collect();
    let closed_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (pool, closed_at) = (pool.clone(), closed_at.clone());
            std::thread::spawn(move || {
                let err = pool.acquire().map(|_| ()).unwrap_err();
                let latency = closed_at.get().map(Instant::elapsed);
                (err, latency)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pool.metrics().waiting < WAITERS {
        assert!(Instant::now() < deadline, "the waiters never queued");
        std::thread::yield_now();
    }
    closed_at.set(Instant::now()).unwrap();
    pool.close();
    let mut latencies = Vec::new();
    for w in waiters {
        let (err, latency) = w.join().unwrap();
        assert!(matches!(err, PoolError::Closed), "{err}");
        assert_eq!(err.kind(), ErrorKind::Closed);
        latencies.push(latency.expect("the error came after close()"));
    }
    latencies.sort();
    let max = *latencies.last().unwrap();
    let p50 = latencies[latencies.len() / 2];
    println!(
        "shutdown: close() with {WAITERS} waiters and 4 guards out: waiters got the closed error after p50 {p50:?}, max {max:?}"
    );
    // Guards still out keep working until they come back; then they are destroyed.
    let m = pool.metrics();
    assert_eq!((m.in_use, m.available, m.waiting), (4, 0, 0));
    for (i, mut g) in guards.into_iter().enumerate() {
        assert_eq!(g.eval(&format!("set {i}")).unwrap(), json!(i));
        drop(g);
    }
    let m = pool.metrics();
    assert_eq!(m.created, m.destroyed.total(), "{m:?}");
    assert_eq!(m.destroyed.get(DestroyReason::Closed), 4);
    assert!(matches!(pool.try_acquire(), Err(PoolError::Closed)));
    drop(pool);
    check_all_dropped(&faults);
}

/// The last `Pool` handle is dropped while other threads are in the middle of using guards: they finish, their
/// instances are destroyed on return, nothing is dropped twice or leaked.
#[test]
fn pool_dropped_while_guards_are_used_on_other_threads() {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let pool = Pool::builder(engine)
        .max_size(4)
        .preload_size(2)
        .maintenance_thread(true)
        .cleanup_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let guards: Vec<_> = (0..4).map(|_| pool.acquire_owned().unwrap()).collect();
    let start = Arc::new(Barrier::new(5));
    let workers: Vec<_> = guards
        .into_iter()
        .map(|mut vm| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                for i in 0..2000 {
                    vm.eval(&format!("set {i}")).unwrap();
                    assert_eq!(vm.eval("get").unwrap(), json!(i));
                }
            })
        })
        .collect();
    start.wait();
    drop(pool); // while the workers run
    for w in workers {
        w.join().unwrap();
    }
    // The maintenance thread holds only a weak reference: it is gone too, and every instance was dropped once.
    check_all_dropped(&faults);
}

/// The maintenance thread evicts idle instances every few milliseconds (real clock) while 8 threads acquire and
/// release: the invariants hold in every sample and at the end, and nothing is lost or dropped twice.
#[test]
fn reaper_evicts_while_many_threads_acquire() {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let pool = Pool::builder(engine)
        .max_size(6)
        .preload_size(2)
        .idle_timeout(Duration::from_millis(1))
        .cleanup_interval(Duration::from_millis(1))
        .max_lifetime(Some(Duration::from_millis(20)))
        .acquire_timeout(Duration::from_secs(10))
        .maintenance_thread(true)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (pool, stop, violations) = (pool.clone(), stop.clone(), violations.clone());
        std::thread::spawn(move || {
            let mut samples = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // No resize here, so the strict bound applies too.
                let m = pool.metrics();
                if !m.is_consistent() || m.in_use + m.available + m.creating > m.max_size {
                    violations.fetch_add(1, Ordering::Relaxed);
                }
                samples += 1;
            }
            samples
        })
    };
    let deadline = Instant::now() + Duration::from_millis(800);
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t);
                let mut uses = 0u64;
                while Instant::now() < deadline {
                    let mut vm = pool.acquire().unwrap();
                    let n = rng.i64(0..1000);
                    assert_eq!(vm.eval(&format!("set {n}")).unwrap(), json!(n));
                    if rng.u8(0..4) == 0 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    drop(vm);
                    if rng.u8(0..8) == 0 {
                        std::thread::sleep(Duration::from_millis(3)); // let instances go idle
                    }
                    uses += 1;
                }
                uses
            })
        })
        .collect();
    let uses: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let m = pool.metrics();
    println!(
        "reaper under load: {uses} uses, {samples} samples, {} violations; created {}, destroyed {:?}",
        violations.load(Ordering::Relaxed),
        m.created,
        m.destroyed
    );
    assert_eq!(violations.load(Ordering::Relaxed), 0);
    assert!(
        m.destroyed.get(DestroyReason::Idle) + m.destroyed.get(DestroyReason::Lifetime) > 0,
        "the reaper never evicted anything: {m:?}"
    );
    assert_eq!(m.total_uses, uses);
    assert_eq!((m.in_use, m.waiting), (0, 0));
    check_invariants(&m);
    drop(pool);
    check_all_dropped(&faults);
}

/// The clock jumps forward an hour: idle instances above the floor are evicted, the ones past `max_lifetime` are
/// retired (idle at once, in use when they return), the warm floor is refilled, and counters balance.
#[test]
fn clock_jumping_forward_an_hour() {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let clock = Arc::new(ManualClock::new());
    let pool = Pool::builder(engine)
        .max_size(6)
        .preload_size(2)
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(Some(Duration::from_secs(1800)))
        .shared_clock(clock.clone())
        .maintenance_thread(false)
        .build()
        .unwrap();
    let idle: Vec<_> = (0..5).map(|_| pool.acquire().unwrap()).collect();
    let held = pool.acquire().unwrap();
    let held_id = PooledVm::id(&held);
    drop(idle);
    pool.run_maintenance();
    clock.advance(Duration::from_secs(3600));
    let report = pool.run_maintenance();
    assert_eq!(
        report.evicted_idle + report.evicted_lifetime,
        5,
        "every idle instance is past its lifetime: {report:?}"
    );
    // The warm floor of 2 counts the instance in use: one idle instance is created.
    assert_eq!(report.created, 1, "the warm floor is refilled: {report:?}");
    check_invariants(&pool.metrics());
    drop(held); // past its lifetime: retired on return
    let m = pool.metrics();
    assert_eq!(
        m.destroyed.get(DestroyReason::Lifetime),
        1 + report.evicted_lifetime as u64
    );
    assert_eq!(m.available, 1);
    assert_eq!(
        pool.run_maintenance().created,
        1,
        "the floor is refilled again"
    );
    assert_eq!(pool.metrics().available, 2);
    let next = pool.acquire().unwrap();
    assert_ne!(PooledVm::id(&next), held_id);
    drop(next);
    // Frozen from here: however often maintenance runs, nothing more is evicted.
    for _ in 0..100 {
        assert_eq!(pool.run_maintenance(), Default::default());
    }
    check_invariants(&pool.metrics());
    drop(pool);
    check_all_dropped(&faults);
}

/// A broken-check that fails for the first K returns: those K instances are destroyed as `broken`, the next
/// returns are kept, capacity is never lost.
#[test]
fn broken_check_failing_for_the_first_k_returns() {
    const K: u64 = 7;
    let engine = FakeEngine::new();
    let faults = engine.faults();
    faults.broken_returns.store(K, Ordering::SeqCst);
    let pool = Pool::builder(engine)
        .max_size(2)
        .preload_size(0)
        .acquire_timeout(Duration::from_millis(100))
        .maintenance_thread(false)
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..K + 3 {
        let vm = pool.acquire().unwrap();
        ids.push(PooledVm::id(&vm));
    }
    let m = pool.metrics();
    assert_eq!(m.destroyed.get(DestroyReason::Broken), K);
    assert_eq!(
        m.created,
        K + 1,
        "K broken instances replaced, then one kept: {ids:?}"
    );
    assert_eq!(
        ids[K as usize],
        ids[K as usize + 1],
        "kept after the first K returns"
    );
    // Capacity is intact: both slots can be held at once.
    let (a, b) = (pool.acquire().unwrap(), pool.acquire().unwrap());
    drop((a, b));
    check_invariants(&pool.metrics());
    drop(pool);
    check_all_dropped(&faults);
}

/// An engine whose instances are bare Lua states with a host function `host()` that panics.
#[cfg(feature = "lua")]
struct HostLua;

#[cfg(feature = "lua")]
impl pool_core::ScriptEngine for HostLua {
    type Vm = mlua::Lua;
    type Error = pool_core::ScriptError;

    fn create(&self) -> Result<mlua::Lua, pool_core::ScriptError> {
        let lua = mlua::Lua::new();
        let host = lua
            .create_function(|_, ()| -> mlua::Result<()> { panic!("host function bug") })
            .unwrap();
        lua.globals().set("host", host).unwrap();
        Ok(lua)
    }

    fn eval(
        &self,
        vm: &mut mlua::Lua,
        source: &str,
    ) -> Result<serde_json::Value, pool_core::ScriptError> {
        let (ok, message): (bool, String) = vm
            .load(source)
            .eval()
            .map_err(|e| pool_core::ScriptError::new(ErrorKind::Exception, e.to_string()))?;
        Ok(json!([ok, message]))
    }

    fn call(
        &self,
        vm: &mut mlua::Lua,
        _function: &str,
        _args: &[serde_json::Value],
    ) -> Result<serde_json::Value, pool_core::ScriptError> {
        self.eval(vm, "return true, 'called'")
    }
}

/// A host function that panics, called by a script inside `pcall`: `pcall` does not swallow the panic (mlua
/// resumes it when control returns to Rust), the guard sees its thread panicking and discards the instance, and
/// the pool keeps serving with its capacity intact.
#[cfg(feature = "lua")]
#[test]
fn host_function_panicking_inside_pcall() {
    let pool = Pool::builder(HostLua)
        .max_size(1)
        .preload_size(1)
        .acquire_timeout(Duration::from_secs(5))
        .maintenance_thread(false)
        .build()
        .unwrap();
    let p = pool.clone();
    let outcome = std::thread::spawn(move || {
        let mut vm = p.acquire().unwrap();
        vm.eval("return pcall(host)")
    })
    .join();
    let m = pool.metrics();
    assert!(outcome.is_err(), "the panic was swallowed: {outcome:?}");
    assert_eq!(m.destroyed.get(DestroyReason::Tainted), 1, "{m:?}");
    check_invariants(&m);
    assert_eq!(
        pool.acquire()
            .unwrap()
            .eval("return true, 'again'")
            .unwrap(),
        json!([true, "again"])
    );
}
