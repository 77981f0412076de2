//! Memory metering: an instance's heap as the thread's [`CountingAllocator`] count sees it, checked against
//! `limits.memory_mb`.
//!
//! `limits.memory_mb` needs [`CountingAllocator`] as the binary's global allocator (Boa keeps no account of its
//! heap; a library cannot choose the allocator). It counts, per thread, the bytes allocated minus freed; an
//! instance's heap is its size after creation plus what its thread allocated minus freed during its operations
//! (`Meter`). Past `memory_mb` between two slices of the budgeted loop or two promise jobs (after a garbage
//! collection), or after an operation, the call ends with `memory`. The built-ins that allocate in proportion to
//! their arguments in one native call (`String.prototype.repeat`, `padStart`, `padEnd`, `Array.prototype.fill`,
//! `join`, `Array.from` of an array-like) refuse a result estimated over what is left (`room`; a `memory`
//! error, even if the script catches the RangeError they throw; in the prelude, the creation fails). Through
//! [`BoaEngine::pooled`](crate::BoaEngine::pooled), an allocation that would take the instance past
//! [`HARD_LIMIT_PERCENT`] of `memory_mb` parks its thread for good (below). `memory_usage` collects garbage and
//! returns the heap. Without the allocator: no heap limit, only the built-ins' refusal of single results over
//! `memory_mb`, and `memory_usage` returns `None`.
//!
//! # What the meter cannot contain
//! Memory within one slice, and without the carrier: the heap is checked between slices of
//! [`BUDGET`](crate::BUDGET) cost units, so growth that is fast within a slice (a string doubled twenty times,
//! `new Array(n)` spread) is seen late. Through `BoaEngine::pooled`, the allocation that would take the instance
//! past [`HARD_LIMIT_PERCENT`] of `memory_mb` parks its thread for good instead of being made (no Boa state is
//! shared between threads, and a failed allocation would abort the process): the carrier's deadline then ends
//! the call with `timeout`, the instance is discarded, and what the thread holds (at most the cap) stays until
//! the process exits; [`CountingAllocator::parked_threads`] counts them. A `BoaEngine` used directly has no such
//! cap. The heap of instances that share a thread is counted together during each one's operations (exact on a
//! carrier thread, where an instance is alone; [`instances_on_this_thread`]).
//!
//! # An idle instance's heap
//! As [`CountingAllocator`] counts it (what `memory_usage` and pool-bench's memory column report): strict
//! isolation with `verify_reset`, the JSON handler, after one call and its reset, release
//! (`cargo run --release -p engine-boa --example boa_heap`):
//! - about 337 KB: a bare `Context` 289 KB; the bounded built-ins (native wrappers) about 4 KB; the prelude, one
//!   call and its trampoline script (about 9 KB per call arity) about 23 KB; the lockdown about 20 KB (mostly
//!   its native accessors; the frozen objects themselves cost almost nothing); the scrub and fingerprint
//!   baselines about 1 KB. `Isolation::None`: about 316 KB.
//! - resident-set growth per instance (the `boa_memory` example: 20 instances in a fresh process): 342 KiB on
//!   the creating thread (`None`: 319 KiB); through a carrier (a thread per instance) about 453 KiB (`None`:
//!   369 KiB), of which the thread's own allocator arena and stack hold the rest.
//!
//! What set-up does to keep that down: everything the set-up leaves in the instance is native (module `harden`
//! for the bounded built-ins, `lockdown` for the lockdown and its accessors, `baseline` for the scrub and the
//! fingerprint): a Boa closure keeps its whole scope, compiled code and source text alive, and the JavaScript
//! versions cost about 330 KB per instance. Every creation ends with a garbage collection; creation runs on a
//! stack segment that is unmapped afterwards. [`BoaEngine::new`](crate::BoaEngine::new) creates a trial
//! instance, so process-wide first-use costs (code pages, Boa's statics) are paid there rather than by the first
//! instance. Creating a strict instance takes about 2 ms (`None`: about 0.5 ms).

use pool_core::{ErrorKind, ScriptError};

use crate::heap::{self, CountingAllocator};

/// With a [`CountingAllocator`] installed: an instance whose heap passes `limits.memory_mb` between two slices of
/// Boa's budgeted loop (or two promise jobs), even after a garbage collection, ends the call with `memory`.
/// Through [`BoaEngine::pooled`](crate::BoaEngine::pooled), a single allocation that would take it past this
/// percentage of the limit parks its thread for good instead (see [`meter`](crate::meter)).
pub const HARD_LIMIT_PERCENT: isize = 125;

/// An instance's heap during one operation: its size before, plus what its thread allocated minus freed since.
#[derive(Clone, Copy)]
pub(crate) struct Meter {
    start: isize,
    base: isize,
    limit: isize,
}

impl Meter {
    /// `None` without a [`CountingAllocator`].
    pub(crate) fn new(base: isize, limit: isize) -> Option<Self> {
        CountingAllocator::is_installed().then(|| Self {
            start: CountingAllocator::thread_net_bytes(),
            base,
            limit,
        })
    }

    pub(crate) fn used(&self) -> isize {
        self.base + (CountingAllocator::thread_net_bytes() - self.start)
    }

    /// Whether the instance is over the limit, once garbage is collected.
    pub(crate) fn over(&self) -> bool {
        if self.used() <= self.limit {
            return false;
        }
        boa_engine::gc::force_collect();
        self.used() > self.limit
    }

    /// The error of an operation that took the instance past `memory_mb` (the limit in MiB).
    pub(crate) fn error(&self, memory_mb: u64) -> ScriptError {
        ScriptError::new(
            ErrorKind::Memory,
            format!(
                "script ran past the memory limit of {memory_mb} MiB (limits.memory_mb; its heap reached {} MiB)",
                self.used() >> 20
            ),
        )
    }

    /// Whether `extra` more bytes fit under the limit, once garbage is collected if they do not at first.
    pub(crate) fn fits(&self, extra: usize) -> bool {
        let extra = isize::try_from(extra).unwrap_or(isize::MAX);
        if self.used().saturating_add(extra) <= self.limit {
            return true;
        }
        boa_engine::gc::force_collect();
        self.used().saturating_add(extra) <= self.limit
    }
}

/// The error of an operation its meter stopped (only a metered operation is stopped for memory).
pub(crate) fn stopped(meter: Option<&Meter>, memory_mb: u64) -> ScriptError {
    match meter {
        Some(m) => m.error(memory_mb),
        None => ScriptError::new(ErrorKind::Memory, "memory limit"),
    }
}

thread_local! {
    /// The meter of the operation running on this thread, for the hardened built-ins.
    static ACTIVE_METER: std::cell::Cell<Option<Meter>> = const { std::cell::Cell::new(None) };
}

/// The meter of the operation running on this thread (for the host calls' byte budgets), if one is metered.
pub(crate) fn active() -> Option<Meter> {
    ACTIVE_METER.get()
}

/// Bytes the instance whose operation runs on this thread has left under its limit (infinite when nothing is
/// metered): the hardened built-ins refuse one call's allocation past it.
pub(crate) fn room() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    ACTIVE_METER
        .with(std::cell::Cell::get)
        .map_or(f64::INFINITY, |m| (m.limit - m.used()) as f64)
}

/// One metered operation's hold on its thread: the meter the hardened built-ins read and, on a carrier thread,
/// the allocation cap. Both are undone on drop, also when the operation panics.
pub(crate) struct Metering {
    previous: Option<Meter>,
    capped: bool,
}

impl Metering {
    pub(crate) fn new(meter: &Meter, hard: Option<isize>) -> Self {
        let previous = ACTIVE_METER.replace(Some(*meter));
        if let Some(hard) = hard {
            heap::set_thread_cap(Some(meter.start + (hard - meter.base)));
        }
        Self {
            previous,
            capped: hard.is_some(),
        }
    }
}

impl Drop for Metering {
    fn drop(&mut self) {
        ACTIVE_METER.set(self.previous);
        if self.capped {
            heap::set_thread_cap(None);
        }
    }
}

thread_local! {
    /// Live [`BoaVm`](crate::BoaVm)s on this thread (they share the thread's garbage collector).
    static LIVE_ON_THREAD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Membership in [`LIVE_ON_THREAD`], from creation to drop.
pub(crate) struct LiveOnThread;

impl LiveOnThread {
    pub(crate) fn new() -> Self {
        LIVE_ON_THREAD.with(|n| n.set(n.get() + 1));
        LiveOnThread
    }
}

impl Drop for LiveOnThread {
    fn drop(&mut self) {
        LIVE_ON_THREAD.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Number of Boa instances alive on the calling thread (they share its garbage collector and its heap count).
pub fn instances_on_this_thread() -> usize {
    LIVE_ON_THREAD.with(std::cell::Cell::get)
}
