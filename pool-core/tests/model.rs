//! A property test: random sequences of pool operations run against a simple reference model, with the
//! invariants and the model's predictions checked after every step. Time is a manual clock.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Once};
use std::time::Duration;

use pool_core::testing::{FakeEngine, Faults};
use pool_core::{DestroyReason, ManualClock, Pool, PoolError, PooledVm, ReloadError};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

const PRELOAD: usize = 1;
const IDLE_TIMEOUT_S: u64 = 60;
const MAX_USES: u64 = 4;

#[derive(Clone, Debug)]
enum Op {
    TryAcquire,
    /// `acquire_timeout` of 1 ms on a full pool: the blocking driver waits, then times out.
    AcquireWithin,
    /// `acquire_async` polled once; a future that would wait is dropped (cancelled).
    AcquireAsync,
    Release(usize),
    Discard(usize),
    PanicWhileHeld(usize),
    Advance(u64),
    Maintenance,
    Resize(usize),
    Close,
    FailCreate(bool),
    FailReset(bool),
    /// `reload` with an engine of the next version (refused while creations fail).
    Reload,
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Got(u64),
    Exhausted,
    /// An async acquire queued because the pool was full (and was then cancelled).
    Queued,
    Closed,
    CreateFailed,
}

#[derive(Clone, Debug, Default)]
struct Model {
    max_size: usize,
    closed: bool,
    /// (id, idle since (set by the first maintenance pass that sees it idle), uses); back = most recently returned.
    idle: VecDeque<(u64, Option<u64>, u64)>,
    /// (id, uses, generation), in acquisition order.
    held: Vec<(u64, u64, u64)>,
    /// The pool's generation; every idle instance is of it.
    generation: u64,
    /// The last instance id handed out by the pool (ids are given to instances it keeps).
    next_id: u64,
    now: u64,
    created: u64,
    destroyed: [u64; 10],
    total_uses: u64,
    /// Acquires that waited, and those of them that timed out.
    waits: u64,
    wait_timeouts: u64,
    fail_create: bool,
    fail_reset: bool,
    last: Option<Outcome>,
}

fn reason_index(r: DestroyReason) -> usize {
    DestroyReason::ALL.iter().position(|x| *x == r).unwrap()
}

impl Model {
    fn total(&self) -> usize {
        self.held.len() + self.idle.len()
    }
    fn floor(&self) -> usize {
        PRELOAD.min(self.max_size)
    }
    /// Instances of the current generation.
    fn current(&self) -> usize {
        self.idle.len() + self.held.iter().filter(|h| h.2 == self.generation).count()
    }
    fn destroy(&mut self, r: DestroyReason, n: u64) {
        self.destroyed[reason_index(r)] += n;
    }
    /// A creation attempt; `Some(id)` if it succeeds.
    fn create(&mut self) -> Option<u64> {
        if self.fail_create {
            return None;
        }
        self.created += 1;
        self.next_id += 1;
        Some(self.next_id)
    }
    fn refill(&mut self) {
        if self.closed {
            return;
        }
        let room = self.max_size.saturating_sub(self.total());
        for _ in 0..self.floor().saturating_sub(self.current()).min(room) {
            match self.create() {
                Some(id) => self.idle.push_back((id, None, 0)),
                None => break,
            }
        }
    }
    fn give_back(&mut self, i: usize, forced: Option<DestroyReason>) {
        let (id, uses, generation) = self.held.remove(i);
        let reason = forced
            .or(self.fail_reset.then_some(DestroyReason::ResetFailed))
            .or((uses >= MAX_USES).then_some(DestroyReason::MaxUses))
            .or(self.closed.then_some(DestroyReason::Closed))
            .or((generation != self.generation).then_some(DestroyReason::Reloaded))
            .or((self.total() >= self.max_size).then_some(DestroyReason::Resized));
        match reason {
            Some(r) => self.destroy(r, 1),
            None => self.idle.push_back((id, None, uses)),
        }
    }
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        (1usize..=4)
            .prop_map(|max_size| {
                let mut m = Model {
                    max_size,
                    generation: 1,
                    ..Model::default()
                };
                m.refill();
                m
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let n = state.held.len().max(1);
        prop_oneof![
            6 => Just(Op::TryAcquire),
            1 => Just(Op::AcquireWithin),
            2 => Just(Op::AcquireAsync),
            4 => (0..n).prop_map(Op::Release),
            1 => (0..n).prop_map(Op::Discard),
            1 => (0..n).prop_map(Op::PanicWhileHeld),
            2 => (1u64..100).prop_map(Op::Advance),
            2 => Just(Op::Maintenance),
            1 => (1usize..=4).prop_map(Op::Resize),
            1 => prop::bool::weighted(0.05).prop_map(|close| if close { Op::Close } else { Op::Maintenance }),
            1 => prop::bool::weighted(0.3).prop_map(Op::FailCreate),
            1 => prop::bool::weighted(0.3).prop_map(Op::FailReset),
            2 => Just(Op::Reload),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::Release(i) | Op::Discard(i) | Op::PanicWhileHeld(i) => *i < state.held.len(),
            // Only when it must wait: the guard it would return borrows the pool and could not be kept.
            Op::AcquireWithin => {
                !state.closed && state.idle.is_empty() && state.total() >= state.max_size
            }
            _ => true,
        }
    }

    fn apply(mut m: Model, op: &Op) -> Model {
        m.last = None;
        match op {
            Op::TryAcquire | Op::AcquireWithin | Op::AcquireAsync => {
                let outcome = if m.closed {
                    Outcome::Closed
                } else if let Some((id, _, uses)) = m.idle.pop_back() {
                    m.held.push((id, uses + 1, m.generation));
                    m.total_uses += 1;
                    Outcome::Got(id)
                } else if m.total() < m.max_size {
                    match m.create() {
                        Some(id) => {
                            m.held.push((id, 1, m.generation));
                            m.total_uses += 1;
                            Outcome::Got(id)
                        }
                        None => Outcome::CreateFailed,
                    }
                } else {
                    // Full: the callers that may wait count a wait.
                    match op {
                        Op::TryAcquire => Outcome::Exhausted,
                        Op::AcquireWithin => {
                            m.waits += 1;
                            m.wait_timeouts += 1;
                            Outcome::Exhausted
                        }
                        _ => {
                            m.waits += 1;
                            Outcome::Queued
                        }
                    }
                };
                m.last = Some(outcome);
            }
            Op::Release(i) => m.give_back(*i, None),
            Op::Discard(i) => m.give_back(*i, Some(DestroyReason::Discarded)),
            Op::PanicWhileHeld(i) => m.give_back(*i, Some(DestroyReason::Tainted)),
            Op::Advance(s) => m.now += s,
            Op::Maintenance => {
                if !m.closed {
                    let now = m.now;
                    for slot in m.idle.iter_mut() {
                        slot.1.get_or_insert(now);
                    }
                    let floor = m.floor();
                    while m.current() > floor {
                        match m.idle.front() {
                            Some((_, Some(since), _)) if m.now - since > IDLE_TIMEOUT_S => {
                                m.idle.pop_front();
                                m.destroy(DestroyReason::Idle, 1);
                            }
                            _ => break,
                        }
                    }
                    m.refill();
                }
            }
            Op::Resize(n) => {
                m.max_size = *n;
                while m.total() > *n && !m.idle.is_empty() {
                    m.idle.pop_front();
                    m.destroy(DestroyReason::Resized, 1);
                }
            }
            Op::Close => {
                if !m.closed {
                    m.closed = true;
                    let n = m.idle.len() as u64;
                    m.destroy(DestroyReason::Closed, n);
                    m.idle.clear();
                }
            }
            Op::FailCreate(b) => m.fail_create = *b,
            Op::FailReset(b) => m.fail_reset = *b,
            Op::Reload => {
                // Refused (nothing changes) when closed or when the new engine cannot create its test instance.
                if !m.closed && !m.fail_create {
                    m.created += 1;
                    m.generation += 1;
                    let n = m.idle.len() as u64;
                    m.destroy(DestroyReason::Reloaded, n);
                    m.idle.clear();
                    if m.total() < m.max_size {
                        m.next_id += 1;
                        m.idle.push_back((m.next_id, None, 0));
                    } else {
                        m.destroy(DestroyReason::Reloaded, 1);
                    }
                }
            }
        }
        m
    }
}

/// Polls `acquire_async` once. Ready: its result. Queued (the pool is full): the future is dropped, and the
/// result is `Exhausted`. Creating on its thread: waited for.
fn acquire_async_once(
    pool: &Pool<FakeEngine>,
) -> Result<PooledVm<'static, FakeEngine>, PoolError<pool_core::ScriptError>> {
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = Box::pin(pool.acquire_async());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending if pool.metrics().waiting == 1 => {
            drop(fut);
            Err(PoolError::Exhausted {
                max_size: pool.metrics().max_size,
                waited: Duration::ZERO,
            })
        }
        std::task::Poll::Pending => futures::executor::block_on(fut),
    }
}

struct Sut {
    pool: Pool<FakeEngine>,
    held: Vec<PooledVm<'static, FakeEngine>>,
    clock: Arc<ManualClock>,
    faults: Arc<Faults>,
}

struct PoolTest;

impl StateMachineTest for PoolTest {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(m: &Model) -> Sut {
        static QUIET: Once = Once::new();
        QUIET.call_once(|| {
            // Silence only the deliberate panics of PanicWhileHeld.
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if info.payload().downcast_ref::<&str>() != Some(&"handler bug") {
                    default(info);
                }
            }));
        });
        let engine = FakeEngine::new();
        let faults = engine.faults();
        let clock = Arc::new(ManualClock::new());
        let pool = Pool::builder(engine)
            .max_size(m.max_size)
            .preload_size(PRELOAD.min(m.max_size))
            .idle_timeout(Duration::from_secs(IDLE_TIMEOUT_S))
            .max_uses(Some(MAX_USES))
            .shared_clock(clock.clone())
            .maintenance_thread(false)
            .build()
            .unwrap();
        Sut {
            pool,
            held: Vec::new(),
            clock,
            faults,
        }
    }

    fn apply(mut s: Sut, m: &Model, op: Op) -> Sut {
        match op {
            Op::TryAcquire | Op::AcquireWithin | Op::AcquireAsync => {
                let result = match op {
                    Op::TryAcquire => s.pool.try_acquire_owned(),
                    Op::AcquireWithin => {
                        // A zero timeout first: never a wait.
                        assert!(s.pool.acquire_timeout(Duration::ZERO).is_err());
                        match s.pool.acquire_timeout(Duration::from_millis(1)) {
                            Ok(vm) => panic!("a full pool lent instance {}", PooledVm::id(&vm)),
                            Err(e) => Err(e),
                        }
                    }
                    _ => acquire_async_once(&s.pool),
                };
                let outcome = match result {
                    Ok(vm) => {
                        let id = PooledVm::id(&vm);
                        s.held.push(vm);
                        Outcome::Got(id)
                    }
                    Err(PoolError::Exhausted { .. }) if matches!(op, Op::AcquireAsync) => {
                        Outcome::Queued
                    }
                    Err(PoolError::Exhausted { .. }) => Outcome::Exhausted,
                    Err(PoolError::Closed) => Outcome::Closed,
                    Err(PoolError::Create(_)) => Outcome::CreateFailed,
                    Err(e) => panic!("unexpected {e}"),
                };
                assert_eq!(Some(outcome), m.last);
            }
            Op::Release(i) => drop(s.held.remove(i)),
            Op::Discard(i) => PooledVm::discard(s.held.remove(i)),
            Op::PanicWhileHeld(i) => {
                let vm = s.held.remove(i);
                let r = catch_unwind(AssertUnwindSafe(move || {
                    let _vm = vm;
                    panic!("handler bug");
                }));
                assert!(r.is_err());
            }
            Op::Advance(secs) => s.clock.advance(Duration::from_secs(secs)),
            Op::Maintenance => {
                s.pool.run_maintenance();
            }
            Op::Resize(n) => s.pool.resize(n).unwrap(),
            Op::Close => s.pool.close(),
            Op::FailCreate(b) => s.faults.fail_create_always.store(b, Ordering::SeqCst),
            Op::FailReset(b) => s.faults.fail_reset.store(b, Ordering::SeqCst),
            Op::Reload => {
                let version = i64::try_from(m.generation).unwrap() - 1;
                let result = s.pool.reload(s.pool.engine().with_version(version));
                match result {
                    Ok(generation) => assert_eq!(generation, m.generation),
                    Err(ReloadError::Closed) => assert!(m.closed),
                    Err(ReloadError::Create(_)) => assert!(m.fail_create),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
        s
    }

    fn check_invariants(s: &Sut, m: &Model) {
        let got = s.pool.metrics();
        assert!(got.is_consistent(), "inconsistent snapshot: {got:?}");
        assert_eq!(got.creating, 0);
        // And the model's predictions.
        assert_eq!(got.created, m.created);
        assert_eq!(got.in_use, m.held.len());
        assert_eq!(got.available, m.idle.len());
        assert_eq!(got.total_uses, m.total_uses);
        assert_eq!(got.max_size, m.max_size);
        assert_eq!(got.closed, m.closed);
        assert_eq!(
            (got.waits, got.wait_timeouts, got.waiting),
            (m.waits, m.wait_timeouts, 0)
        );
        for r in DestroyReason::ALL {
            assert_eq!(
                got.destroyed.get(r),
                m.destroyed[reason_index(r)],
                "destroyed by {r}"
            );
        }
        let ids: Vec<(u64, u64)> = s
            .held
            .iter()
            .map(|vm| (PooledVm::id(vm), PooledVm::generation(vm)))
            .collect();
        let model_ids: Vec<(u64, u64)> = m.held.iter().map(|h| (h.0, h.2)).collect();
        assert_eq!(ids, model_ids);
        assert_eq!(got.generation, m.generation);
        let by_generation: u64 = got
            .generations
            .iter()
            .filter(|g| g.generation == m.generation)
            .map(|g| g.live as u64)
            .sum();
        assert_eq!(by_generation, m.current() as u64);
        // Every instance runs its own generation's engine (the version it was reloaded with).
        for vm in &s.held {
            let version = i64::try_from(PooledVm::generation(vm)).unwrap() - 1;
            assert_eq!(PooledVm::engine(vm).version(), version);
        }
        // The engine agrees: every instance the pool counts as alive is alive, and none was dropped twice.
        assert_eq!(s.faults.live() as u64, got.created - got.destroyed.total());
        assert_eq!(s.faults.double_drops(), 0);
    }

    fn teardown(s: Sut, _m: Model) {
        let faults = s.faults.clone();
        drop(s.held);
        drop(s.pool);
        assert_eq!(faults.live(), 0);
        assert_eq!(faults.created(), faults.dropped());
        assert_eq!(faults.double_drops(), 0);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn pool_matches_its_model(sequential 1..80 => PoolTest);
}
