//! The accounting behind the memory limit: how many bytes QuickJS holds from its allocator
//! (`LimitedAllocator`, module `alloc`), which allocations to refuse, and whether one was refused.
//!
//! QuickJS turns a failed allocation into an ordinary, catchable `InternalError: out of memory` (or a `null` when
//! even that cannot be allocated). So the allocator, not QuickJS, enforces the limit, and a refusal is also
//! recorded where the interrupt handler sees it (`Tripped::Memory`): from then on the handler interrupts the
//! operation (uncatchably) until it returns, and the operation fails with kind `memory` whatever the script did
//! with the error.
//!
//! # The memory limit
//! `limits.memory_mb` is enforced by the runtime's allocator, over the whole instance (built-ins, prelude and request
//! data). Kind `memory`. QuickJS's out-of-memory error is an ordinary, catchable `InternalError`, and QuickJS's
//! own memory limit tells nobody but the script, so it is not used: every runtime allocates through a wrapper
//! around rquickjs's `RustAllocator` (module `alloc`, see [Unsafe code](crate#unsafe-code)) that counts the usable
//! size of every block QuickJS holds and refuses an allocation, or the growth of a reallocation, that would take
//! the count past the limit. A refusal is recorded where the interrupt handler sees it: as for the time limit,
//! the handler then interrupts (uncatchably) until the operation returns, and the operation fails with kind
//! `memory` whatever the script did with the error, even when it caught the error and returned normally (the
//! interruption comes at the handler's next poll, every few thousand function calls and loop iterations). A
//! refusal during creation (the prelude, the lockdown, or building the context) fails the creation, and an
//! instance that ever had an allocation refused reports itself broken. Once an operation has hit a limit, the
//! allocator allows a reserve past the limit (1 MiB or 1/16 of the limit, whichever is larger, at most half the
//! limit): half of it at the first refusal, so that QuickJS can allocate its out-of-memory error, and the rest
//! when the interrupt handler interrupts, so that the interruption's error object can be allocated even when
//! the script filled the first half (otherwise QuickJS throws `null`, which a script can catch). So the heap
//! stays within 1.5 times the limit. The limit counts QuickJS's 4 KiB arena pages whole (free slots included),
//! so it counts more than [`memory_usage`](pool_core::ScriptEngine::memory_usage) reports, which is still
//! QuickJS's own estimate of what its objects use (231 KB for an idle strict instance, against 368 KB counted by the
//! allocator: [`QuickJsVm::heap_bytes`](crate::QuickJsVm::heap_bytes)).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::deadline::{Deadline, Tripped};

/// The smallest reserve above the limit (see [`Heap::reserve`]).
const MIN_RESERVE: usize = 1 << 20;

/// What QuickJS holds from its allocator, against the memory limit. Shared by the allocator (which QuickJS owns),
/// the interrupt handler and the instance.
///
/// The runtime is used by one thread at a time, so the check and the update of an allocation do not race; the
/// counters are atomics only so that the instance can read them.
#[derive(Debug)]
pub(crate) struct Heap {
    /// The usable size of every live block (`RustAllocator::usable_size`: the request rounded up to 8 bytes).
    used: AtomicUsize,
    /// Allocations that would take `used` past this are refused: the limit, raised into the reserve once the
    /// instance has hit a limit.
    cap: AtomicUsize,
    /// `limits.memory_mb` in bytes.
    limit: usize,
    /// How far past the limit a tripped instance may go (see [`Heap::reserve`]).
    reserve: usize,
    /// Whether an allocation was ever refused (kept for the instance's life, whether an operation was armed
    /// or not).
    refused: AtomicBool,
    deadline: Arc<Deadline>,
}

impl Heap {
    pub(crate) fn new(limit: usize, deadline: Arc<Deadline>) -> Self {
        let reserve = (limit / 16).max(MIN_RESERVE).min(limit / 2);
        Self {
            used: AtomicUsize::new(0),
            cap: AtomicUsize::new(limit),
            limit,
            reserve,
            refused: AtomicBool::new(false),
            deadline,
        }
    }

    /// Whether an allocation that adds `grow` bytes may go ahead; if not, records the refusal ([`Heap::refuse`]).
    pub(crate) fn admit(&self, grow: usize) -> bool {
        let used = self.used.load(Ordering::Relaxed);
        if used.saturating_add(grow) <= self.cap.load(Ordering::Relaxed) {
            true
        } else {
            self.refuse();
            false
        }
    }

    /// Records that an allocation failed: the current operation has hit the memory limit, and the instance may
    /// now use the first half of the reserve, so that QuickJS can allocate its out-of-memory error (a
    /// catchable error that the interrupt handler makes moot) rather than throw `null`.
    pub(crate) fn refuse(&self) {
        self.refused.store(true, Ordering::Relaxed);
        self.deadline.trip(Tripped::Memory);
        self.raise_cap(self.limit.saturating_add(self.reserve / 2));
    }

    /// Called when the interrupt handler is about to interrupt the operation (any limit): opens the whole
    /// reserve, so that the interruption's error object can be allocated even when the script filled the first
    /// half. Without it QuickJS would throw `null` instead, which a script can catch. The operation ends with
    /// that interruption, and the instance is discarded, so the reserve is never used for script work for long.
    pub(crate) fn open_reserve(&self) {
        self.raise_cap(self.limit.saturating_add(self.reserve));
    }

    fn raise_cap(&self, cap: usize) {
        self.cap.fetch_max(cap, Ordering::Relaxed);
    }

    /// Counts a block of `bytes` that was allocated. A plain load and store, not a read-modify-write: only the
    /// thread running the runtime allocates (see the type's docs), and this runs on every allocation.
    pub(crate) fn add(&self, bytes: usize) {
        let before = self.used.load(Ordering::Relaxed);
        self.used
            .store(before.saturating_add(bytes), Ordering::Relaxed);
    }

    /// Uncounts a block of `bytes` that is being freed (as [`Heap::add`]).
    pub(crate) fn sub(&self, bytes: usize) {
        let before = self.used.load(Ordering::Relaxed);
        debug_assert!(
            before >= bytes,
            "freed {bytes} bytes but only {before} are counted"
        );
        self.used
            .store(before.saturating_sub(bytes), Ordering::Relaxed);
    }

    /// The usable size of every block QuickJS holds.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether an allocation of this instance was ever refused.
    pub(crate) fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    /// How far past the limit an instance that has hit a limit may allocate: 1 MiB or 1/16 of the limit,
    /// whichever is larger, but at most half the limit (so the heap stays within 1.5 times the limit).
    #[cfg(test)]
    pub(crate) fn reserve(&self) -> usize {
        self.reserve
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn refuses_past_the_limit_and_then_allows_the_reserve_in_two_steps() {
        let deadline = Arc::new(Deadline::new(1 << 20));
        let heap = Heap::new(8 << 20, Arc::clone(&deadline));
        assert_eq!(heap.reserve(), 1 << 20);
        let _armed = deadline.arm(Duration::from_secs(3600));
        assert!(heap.admit(8 << 20));
        heap.add(8 << 20);
        assert!(!heap.refused());
        assert!(heap.admit(0));
        assert!(!heap.admit(1), "one byte past the limit");
        assert!(heap.refused());
        assert_eq!(deadline.tripped(), Some(Tripped::Memory));
        assert!(heap.admit(512 << 10), "the first half of the reserve");
        assert!(!heap.admit((512 << 10) + 1));
        heap.open_reserve();
        assert!(heap.admit(1 << 20), "the whole reserve");
        assert!(!heap.admit((1 << 20) + 1), "never past limit + reserve");
        heap.sub(8 << 20);
        assert_eq!(heap.used(), 0);
    }

    #[test]
    fn the_reserve_is_a_sixteenth_of_large_limits_and_at_most_half_the_limit() {
        let deadline = Arc::new(Deadline::new(1 << 20));
        assert_eq!(
            Heap::new(64 << 20, Arc::clone(&deadline)).reserve(),
            4 << 20
        );
        assert_eq!(Heap::new(2 << 20, Arc::clone(&deadline)).reserve(), 1 << 20);
        assert_eq!(Heap::new(1 << 20, deadline).reserve(), 512 << 10);
    }

    #[test]
    fn a_refusal_outside_an_operation_is_still_kept() {
        let deadline = Arc::new(Deadline::new(1 << 20));
        let heap = Heap::new(1 << 20, Arc::clone(&deadline));
        assert!(!heap.admit(2 << 20));
        assert!(heap.refused());
        assert_eq!(deadline.tripped(), None, "no operation to fail");
    }
}
