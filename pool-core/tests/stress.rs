//! Stress: several threads doing random operations with injected create/reset failures for a bounded time, a
//! sampler checking the invariants throughout, then every counter balances and every instance was dropped once.
//!
//! `VMPOOL_STRESS_SECS` sets the run time per case (default 2 s); the figures are printed with `--nocapture`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pool_core::testing::FakeEngine;
use pool_core::{ManualClock, Pool, PoolError, PooledVm};

fn run(threads: usize, max_size: usize) {
    let secs: u64 = std::env::var("VMPOOL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let clock = Arc::new(ManualClock::new());
    let pool = Pool::builder(engine)
        .max_size(max_size)
        .preload_size(max_size / 2)
        .acquire_timeout(Duration::from_millis(2))
        .idle_timeout(Duration::from_secs(30))
        .max_uses(Some(50))
        .shared_clock(clock.clone())
        .maintenance_thread(false)
        .build()
        .unwrap();
    // Faults from here on: a failed preload would fail the build, which is not what this test is about.
    faults.create_failure_ppm.store(10_000, Ordering::SeqCst); // 1%
    faults.reset_failure_ppm.store(10_000, Ordering::SeqCst); // 1%
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let violations = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (pool, stop, violations) = (pool.clone(), stop.clone(), violations.clone());
        std::thread::spawn(move || {
            let mut samples = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if !pool.metrics().is_consistent() {
                    violations.fetch_add(1, Ordering::Relaxed);
                }
                samples += 1;
            }
            samples
        })
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (pool, clock, ops) = (pool.clone(), clock.clone(), ops.clone());
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t as u64);
                let mut held: Vec<PooledVm<FakeEngine>> = Vec::new();
                while Instant::now() < deadline {
                    match rng.u32(0..100) {
                        0..=39 => match pool.acquire() {
                            Ok(mut vm) => {
                                vm.eval("set 1").unwrap();
                                held.push(vm);
                            }
                            Err(PoolError::Exhausted { .. } | PoolError::Create(_)) => {}
                            Err(e) => panic!("{e}"),
                        },
                        40..=49 => {
                            if let Ok(vm) = pool.try_acquire() {
                                held.push(vm);
                            }
                        }
                        50..=79 => {
                            if !held.is_empty() {
                                drop(held.swap_remove(rng.usize(0..held.len())));
                            }
                        }
                        80..=83 => {
                            if !held.is_empty() {
                                PooledVm::discard(held.swap_remove(rng.usize(0..held.len())));
                            }
                        }
                        84..=86 => {
                            if let Some(mut vm) = held.pop() {
                                let _ = vm.eval("timeout"); // taints
                            }
                        }
                        87..=92 => {
                            pool.run_maintenance();
                        }
                        93..=96 => clock.advance(Duration::from_secs(rng.u64(1..20))),
                        97 => pool.resize(rng.usize(1..=max_size)).unwrap(),
                        _ => {
                            if held.len() > 2 {
                                held.clear();
                            }
                        }
                    }
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let m = pool.metrics();
    println!(
        "stress threads={threads} max_size={max_size}: {} ops, {samples} samples, {} violations; created {} destroyed {} create_errors {} waits {} timeouts {}",
        ops.load(Ordering::Relaxed),
        violations.load(Ordering::Relaxed),
        m.created,
        m.destroyed.total(),
        m.create_errors,
        m.waits,
        m.wait_timeouts
    );
    assert_eq!(violations.load(Ordering::Relaxed), 0);
    assert!(samples > 0 && ops.load(Ordering::Relaxed) > 0);
    assert_eq!(m.in_use, 0);
    assert_eq!(m.creating, 0);
    assert_eq!(m.waiting, 0);
    assert_eq!(m.created - m.destroyed.total(), m.available as u64);
    // Every creation attempt is accounted for: made, or counted as an error.
    assert_eq!(faults.creations(), m.created + m.create_errors);
    drop(pool);
    assert_eq!(faults.double_drops(), 0);
    assert_eq!(faults.live(), 0);
    assert_eq!(faults.created(), faults.dropped());
    assert_eq!(faults.created(), m.created);
}

#[test]
fn stress_two_threads() {
    run(2, 4);
}

#[test]
fn stress_eight_threads() {
    run(8, 6);
}
