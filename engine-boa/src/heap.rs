//! [`CountingAllocator`]: a global allocator that counts, per thread, the bytes allocated minus the bytes freed.
//! Boa keeps no account of its heap; a Boa instance does all its work on one thread, so the adapter measures an
//! instance by the count of its thread during each operation (see [`meter`](crate::meter)).
//!
//! This module is the crate's only `unsafe` code: `GlobalAlloc` is an `unsafe trait`. The wrapper adds no memory
//! handling of its own: every block comes from the wrapped allocator and goes back to it unchanged; the wrapper
//! adds the sizes to a thread-local count, and may stop the calling thread for good (see [`set_thread_cap`]).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread (negative when it freed blocks another thread made).
    static NET: Cell<isize> = const { Cell::new(0) };
    /// The count past which an allocation parks this thread for good ([`isize::MAX`]: never).
    static CAP: Cell<isize> = const { Cell::new(isize::MAX) };
}

/// Set by the first allocation through a [`CountingAllocator`].
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Threads parked for good by an allocation past their cap.
static PARKED: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that forwards to `A` (by default the system allocator) and counts, per thread, the bytes
/// allocated minus the bytes freed. With it installed, `BoaEngine` enforces `limits.memory_mb` and reports
/// `memory_usage` (see [`meter`](crate::meter)); without it Boa has no heap limit.
///
/// A library cannot choose the global allocator; install it once in the binary:
/// ```
/// #[global_allocator]
/// static ALLOC: engine_boa::CountingAllocator = engine_boa::CountingAllocator::system();
///
/// fn main() {
///     let before = engine_boa::CountingAllocator::thread_net_bytes();
///     let v = vec![0u8; 1 << 20];
///     assert!(engine_boa::CountingAllocator::is_installed());
///     assert!(engine_boa::CountingAllocator::thread_net_bytes() - before >= 1 << 20);
///     drop(v);
/// }
/// ```
///
/// Its cost is one thread-local addition and comparison per allocation, reallocation and free.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl<A> CountingAllocator<A> {
    /// Counting over `inner` (another allocator the binary prefers).
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

impl CountingAllocator<System> {
    /// Counting over the system allocator.
    pub const fn system() -> Self {
        Self { inner: System }
    }

    /// Whether a `CountingAllocator` is the process's global allocator (it has served an allocation).
    pub fn is_installed() -> bool {
        INSTALLED.load(Ordering::Relaxed)
    }

    /// Bytes allocated minus bytes freed by the calling thread so far (0 without a `CountingAllocator`).
    pub fn thread_net_bytes() -> isize {
        NET.try_with(Cell::get).unwrap_or(0)
    }

    /// Threads that an allocation past their cap has parked for good (see [`meter`](crate::meter)).
    pub fn parked_threads() -> usize {
        PARKED.load(Ordering::Relaxed)
    }
}

/// Sets the count past which an allocation by the calling thread parks the thread for good instead of
/// allocating (`None`: never). Only for threads whose work someone else stops waiting for: the carrier's
/// threads, which their carrier abandons at its deadline.
pub(crate) fn set_thread_cap(cap: Option<isize>) {
    let _ = CAP.try_with(|c| c.set(cap.unwrap_or(isize::MAX)));
}

/// Takes the calling thread's cap off for host code, returning it for [`restore_thread_cap`].
pub(crate) fn lift_thread_cap() -> isize {
    CAP.try_with(|c| c.replace(isize::MAX))
        .unwrap_or(isize::MAX)
}

/// Puts back a cap [`lift_thread_cap`] took off.
pub(crate) fn restore_thread_cap(cap: isize) {
    let _ = CAP.try_with(|c| c.set(cap));
}

/// Takes `bytes` off the calling thread's count (adds them when negative): what host code run on the thread
/// kept (or freed) for itself, which is not the heap of the instance the thread serves.
pub(crate) fn discount(bytes: isize) {
    let _ = NET.try_with(|net| net.set(net.get().saturating_sub(bytes)));
}

#[allow(clippy::cast_possible_wrap)]
fn signed(size: usize) -> isize {
    size as isize
}

/// Counts `size` more bytes for the calling thread, unless that takes it past its cap: then the thread is parked
/// for good. A thread being torn down has no count left; its blocks are not counted then.
#[inline]
fn grow(size: usize) {
    let _ = NET.try_with(|net| {
        let after = net.get().saturating_add(signed(size));
        if after > CAP.try_with(Cell::get).unwrap_or(isize::MAX) {
            park_for_good();
        }
        net.set(after);
    });
}

/// Parks the calling thread until the process ends. Sleeping allocates nothing, so this is safe inside the
/// allocator; the thread keeps what it holds.
#[cold]
#[inline(never)]
fn park_for_good() -> ! {
    PARKED.fetch_add(1, Ordering::Relaxed);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Counts a new block of `size` bytes around `allocate`, which returns it or null.
#[inline]
fn counted(size: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
    grow(size);
    let block = allocate();
    if block.is_null() {
        shrink(size);
    } else if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    block
}

#[inline]
fn shrink(size: usize) {
    let _ = NET.try_with(|net| net.set(net.get().saturating_sub(signed(size))));
}

// SAFETY: every method forwards to the same method of `inner` with the same arguments and returns its result
// unchanged, so the blocks handed out and taken back are exactly `inner`'s, and `inner`'s contract (a
// `GlobalAlloc` itself) carries over. The counting touches only `const`-initialised thread-local `Cell`s without
// destructors (`try_with`, so never a panic), which neither allocate nor unwind; parking sleeps in a loop, which
// allocates nothing and never returns, so no block is handed out past the cap.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees (`layout` has a non-zero size).
        counted(layout.size(), || unsafe { self.inner.alloc(layout) })
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        counted(layout.size(), || unsafe { self.inner.alloc_zeroed(layout) })
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees that `ptr` came from this allocator (so from `inner`) with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            grow(new_size - old);
        }
        // SAFETY: the caller's guarantees for `realloc` are `inner`'s, as above.
        let block = unsafe { self.inner.realloc(ptr, layout, new_size) };
        match (block.is_null(), new_size > old) {
            (true, true) => shrink(new_size - old),
            (false, false) => shrink(old - new_size),
            _ => {}
        }
        block
    }
}
