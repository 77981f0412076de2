//! The state behind the runtime's interrupt handler: the wall-clock deadline of the current operation, and the
//! limit (time, stack, memory) that a script ran into during it.
//!
//! # The time limit
//! `limits.timeout` is wall clock per `eval`, `call` or `reset`, including the promise jobs run afterwards and the
//! conversion of the result. Enforced by the runtime's interrupt handler, which keeps saying "interrupt" until
//! the operation has returned, so a script cannot catch the interruption and carry on. Error kind `timeout`.
//! QuickJS drops any exception raised while it builds an error's stack, the interruption included, and runs
//! script code there only through `Error.prepareStackTrace` and `Error.stackTraceLimit` (quickjs-ng's
//! V8-style settings): both are read-only (`undefined` and 10) under every isolation policy, so that a script
//! cannot install a looping hook that escapes the time limit.
//!
//! QuickJS turns an exception thrown inside a promise executor, a `Promise.try` callback or the iteration of
//! `Promise.all`/`allSettled`/`any`/`race` into a rejected promise, and the uncatchable interruption is no
//! exception to that: a built-in that loops natively over calls that each make such a promise
//! (`Iterator.prototype.includes.call({ next: () => new Promise(() => { for (;;) {} }) }, 1)`) would loop for
//! ever, each interruption swallowed in an executor. So when the handler interrupts, it also lowers the
//! runtime's stack limit to one byte: every later JavaScript call fails at once, the loop's included, and the
//! operation ends (module `stop`; the instance is discarded anyway).
//!
//! Some `Array.prototype` methods loop natively over an array-like's `length` without calling script code or
//! polling the handler (`join`, `reverse`, `flat`, `copyWithin`, `shift`, `unshift`, `splice`, `concat` of a
//! spreadable array-like, `sort`, ...): on `{ length: 2 ** 53 - 1 }` they would never return. A real array
//! cannot be longer than `memory_mb` / 16 elements, so these methods refuse a longer receiver with a
//! `RangeError` (module `arrays`; a `length` getter runs once more than it otherwise would).
//!
//! # The stack limit
//! `limits.stack_kb` is the runtime's stack limit; deep recursion ends with kind `stack` instead of overflowing
//! the native stack. QuickJS ignores limits above 16 MiB, so [`QuickJsEngine::new`](crate::QuickJsEngine::new)
//! rejects a larger `stack_kb`. The thread running the instance needs that much stack plus some margin (Rust threads
//! get 2 MiB by default). QuickJS's stack overflow error is an ordinary, catchable `RangeError`; so that a script
//! cannot catch it and recurse on, the interrupt handler (polled every few thousand function calls and loop iterations)
//! also measures the native stack: when it runs deeper than `stack_kb` below the point where the host last entered
//! QuickJS, the script is at the limit, and from then on the handler interrupts until the operation returns,
//! which then fails with kind `stack` whatever the script did with the errors. A script that catches one stack
//! overflow and unwinds before the handler is next polled is not detected (it finishes normally).
//!

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A limit that ended (or is ending) the current operation. Once one is recorded, the interrupt handler says
/// "interrupt" on every call until the operation returns, so a script that caught the limit's error cannot carry
/// on, and the operation fails with this kind whatever the script did with the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tripped {
    /// The deadline passed.
    Timeout,
    /// The script reached the stack limit (seen by the interrupt handler on the native stack).
    Stack,
    /// The allocator refused an allocation that would have taken the heap past the memory limit
    /// ([`crate::heap::Heap`]).
    Memory,
}

impl Tripped {
    const fn code(self) -> u8 {
        match self {
            Tripped::Timeout => 1,
            Tripped::Stack => 2,
            Tripped::Memory => 3,
        }
    }

    const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Tripped::Timeout),
            2 => Some(Tripped::Stack),
            3 => Some(Tripped::Memory),
            _ => None,
        }
    }
}

/// The deadline of the current eval, call or reset, shared with the interrupt handler, plus the limits the
/// operation ran into.
///
/// The handler is called by QuickJS every few thousand instructions and function calls. Once the deadline has
/// passed, or a limit was recorded, it returns "interrupt" on every call until the host disarms the deadline, so
/// a script that catches the (already uncatchable) interruption and loops again is interrupted again at once.
#[derive(Debug)]
pub(crate) struct Deadline {
    origin: Instant,
    /// Nanoseconds after `origin` at which the current operation must stop; 0 when none is running.
    at: AtomicU64,
    /// The first limit recorded during the current operation ([`Tripped::code`]; 0 for none).
    tripped: AtomicU8,
    /// The native stack pointer where the host last entered QuickJS (QuickJS measures its stack limit from
    /// there); 0 when unknown.
    stack_base: AtomicUsize,
    /// The stack limit in bytes (`stack_kb`).
    stack_limit: usize,
}

/// The address of a local of the caller's frame: the native stack pointer, give or take a frame.
#[inline(always)]
pub(crate) fn stack_pointer() -> usize {
    let marker = 0u8;
    std::ptr::from_ref(std::hint::black_box(&marker)).addr()
}

impl Deadline {
    pub(crate) fn new(stack_limit: usize) -> Self {
        Self {
            origin: Instant::now(),
            at: AtomicU64::new(0),
            tripped: AtomicU8::new(0),
            stack_base: AtomicUsize::new(0),
            stack_limit,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Starts an operation that must end within `limit`; the returned guard disarms the deadline when dropped.
    /// Records the stack pointer as the operation's stack base (see [`Deadline::enter`]).
    #[inline(always)]
    pub(crate) fn arm(&self, limit: Duration) -> Armed<'_> {
        let limit = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
        self.tripped.store(0, Ordering::Relaxed);
        self.stack_base.store(stack_pointer(), Ordering::Relaxed);
        self.at
            .store(self.now().saturating_add(limit).max(1), Ordering::Relaxed);
        Armed(self)
    }

    /// Records the stack pointer before the host calls into QuickJS from deeper in its own stack than where the
    /// operation was armed (rquickjs moves QuickJS's stack base to the caller of every call it makes).
    #[inline(always)]
    pub(crate) fn enter(&self) {
        self.stack_base.store(stack_pointer(), Ordering::Relaxed);
    }

    /// How much deeper the native stack is now than where the operation last entered QuickJS (0 when unknown).
    #[inline(always)]
    pub(crate) fn depth(&self) -> usize {
        let base = self.stack_base.load(Ordering::Relaxed);
        if base == 0 {
            0
        } else {
            base.saturating_sub(stack_pointer())
        }
    }

    /// The stack limit in bytes (`stack_kb`).
    pub(crate) fn stack_limit(&self) -> usize {
        self.stack_limit
    }

    /// Refuses to call back into QuickJS from a host function when the native stack is already `stack_kb` deeper
    /// than where the operation entered QuickJS: records the stack limit and throws QuickJS's own stack error.
    ///
    /// rquickjs moves QuickJS's stack base to the caller of every function it calls, so a host function that calls
    /// script code (an array method's original, `toJSON`) resets QuickJS's own stack check; without this, data
    /// that makes such calls recurse (`String()` of deeply nested arrays) would overflow the native stack between
    /// two polls of the interrupt handler.
    #[inline(always)]
    pub(crate) fn check_stack(&self, ctx: &rquickjs::Ctx<'_>) -> rquickjs::Result<()> {
        if self.depth() >= self.stack_limit {
            self.trip(Tripped::Stack);
            return Err(rquickjs::Exception::throw_range(
                ctx,
                "Maximum call stack size exceeded",
            ));
        }
        Ok(())
    }

    /// Whether the current operation must stop on time; records that it did. Called by the host's own loops (the
    /// job queue, value conversion).
    pub(crate) fn expired(&self) -> bool {
        let at = self.at.load(Ordering::Relaxed);
        if at != 0 && self.now() >= at {
            self.trip(Tripped::Timeout);
            true
        } else {
            false
        }
    }

    /// The interrupt handler: whether QuickJS must stop the current operation. True once the deadline passed or a
    /// limit was recorded, and when the native stack is deeper than the stack limit below the operation's stack
    /// base (the script keeps recursing at the limit, catching the stack overflow errors).
    #[inline(never)]
    pub(crate) fn interrupt(&self) -> bool {
        if self.at.load(Ordering::Relaxed) == 0 {
            return false;
        }
        if self.tripped().is_some() || self.expired() {
            return true;
        }
        let base = self.stack_base.load(Ordering::Relaxed);
        if base != 0 && base.saturating_sub(stack_pointer()) >= self.stack_limit {
            self.trip(Tripped::Stack);
            return true;
        }
        false
    }

    /// Records that the current operation ran into `limit` (the first one recorded wins). Ignored when no
    /// operation is armed (the allocator also keeps a refusal of its own, see [`crate::heap::Heap::refused`]).
    pub(crate) fn trip(&self, limit: Tripped) {
        if self.at.load(Ordering::Relaxed) != 0 {
            let _ = self.tripped.compare_exchange(
                0,
                limit.code(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// The first limit the current (or last) operation ran into.
    pub(crate) fn tripped(&self) -> Option<Tripped> {
        Tripped::from_code(self.tripped.load(Ordering::Relaxed))
    }
}

/// Disarms the deadline when dropped.
#[must_use]
pub(crate) struct Armed<'a>(&'a Deadline);

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.0.at.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_and_keeps_expiring_until_disarmed() {
        let d = Deadline::new(1 << 20);
        assert!(!d.expired());
        {
            let _armed = d.arm(Duration::ZERO);
            assert!(d.expired());
            assert!(d.expired());
            assert_eq!(d.tripped(), Some(Tripped::Timeout));
        }
        assert!(!d.expired());
        assert!(!d.interrupt());
        let _armed = d.arm(Duration::from_secs(3600));
        assert!(!d.expired());
        assert_eq!(d.tripped(), None);
    }

    #[test]
    fn a_recorded_limit_interrupts_until_disarmed_and_the_first_one_wins() {
        let d = Deadline::new(1 << 20);
        d.trip(Tripped::Stack);
        assert_eq!(
            d.tripped(),
            None,
            "nothing is recorded outside an operation"
        );
        {
            let _armed = d.arm(Duration::from_secs(3600));
            assert!(!d.interrupt());
            d.trip(Tripped::Stack);
            d.trip(Tripped::Timeout);
            assert!(d.interrupt());
            assert!(d.interrupt());
            assert_eq!(d.tripped(), Some(Tripped::Stack));
        }
        assert!(!d.interrupt());
        assert_eq!(d.tripped(), Some(Tripped::Stack), "kept for the report");
        let _armed = d.arm(Duration::from_secs(3600));
        assert_eq!(d.tripped(), None);
    }

    #[inline(never)]
    fn interrupt_at_depth(d: &Deadline, frames: usize) -> bool {
        let pad = std::hint::black_box([0u8; 1024]);
        if frames == 0 {
            d.interrupt()
        } else {
            interrupt_at_depth(d, frames - 1) || pad[0] == 1
        }
    }

    #[test]
    fn the_stack_limit_is_measured_from_the_base() {
        let d = Deadline::new(64 * 1024);
        let _armed = d.arm(Duration::from_secs(3600));
        assert!(!interrupt_at_depth(&d, 8), "8 KiB deep is within 64 KiB");
        assert_eq!(d.tripped(), None);
        assert!(interrupt_at_depth(&d, 100), "100 KiB deep is past 64 KiB");
        assert_eq!(d.tripped(), Some(Tripped::Stack));
        assert!(d.interrupt(), "keeps interrupting once recorded");
    }
}
