//! The allocator every QuickJS runtime of this crate runs on: rquickjs's own [`RustAllocator`] (Rust's global
//! allocator), wrapped to count the blocks QuickJS holds and to refuse those that would take it past the memory
//! limit ([`Heap`]).
//!
//! This module and `stop` (the interrupt handler's stack limit) are the crate's only `unsafe` code; this one
//! exists because QuickJS's own memory limit fails an allocation
//! with an ordinary exception that a script can catch, and tells the host nothing: to learn that the limit was
//! hit, the host has to be the allocator, and rquickjs's `Allocator` trait is an `unsafe trait` with `unsafe`
//! methods. The wrapper adds no memory handling of its own: every block comes from `RustAllocator` and goes back
//! to it unchanged; the wrapper only reads a block's size (through `RustAllocator::usable_size`) and sometimes
//! returns null instead of calling it.

#![allow(unsafe_code)]

use std::ptr;
use std::sync::Arc;

use rquickjs::allocator::{Allocator, RustAllocator};

use crate::heap::Heap;

/// [`RustAllocator`], counted and limited by a [`Heap`].
pub(crate) struct LimitedAllocator {
    heap: Arc<Heap>,
}

impl LimitedAllocator {
    pub(crate) fn new(heap: Arc<Heap>) -> Self {
        Self { heap }
    }

    /// Counts a block `RustAllocator` just returned, or records that it returned none.
    fn counted(&self, block: *mut u8) -> *mut u8 {
        if block.is_null() {
            self.heap.refuse();
        } else {
            // SAFETY: `block` is a live block that `RustAllocator` just returned, which is what its
            // `usable_size` requires.
            self.heap.add(unsafe { RustAllocator::usable_size(block) });
        }
        block
    }
}

// SAFETY: the trait's contract is that `alloc`, `calloc` and `realloc` return null or a block of at least the
// requested size aligned to `usize`, and that `usable_size` gives the usable size of a block of this allocator.
// Every non-null pointer returned below is the one `RustAllocator` (rquickjs's own implementation of this trait)
// just returned for the same request, and a refusal returns null, which the contract allows. `usable_size` is
// `RustAllocator::usable_size`, and every block of this allocator is a `RustAllocator` block. So this allocator
// meets the contract because `RustAllocator` does. (`RustAllocator` is a stateless unit struct, so "the same
// allocator instance" that its methods require is any `RustAllocator`.)
unsafe impl Allocator for LimitedAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.heap.admit(size) {
            return ptr::null_mut();
        }
        self.counted(RustAllocator.alloc(size))
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if count == 0 || size == 0 {
            // QuickJS never asks for this; `RustAllocator` returns null for it.
            return RustAllocator.calloc(count, size);
        }
        // `RustAllocator::calloc` panics on an overflowing size: refuse it here instead.
        let Some(total) = count.checked_mul(size) else {
            self.heap.refuse();
            return ptr::null_mut();
        };
        if !self.heap.admit(total) {
            return ptr::null_mut();
        }
        self.counted(RustAllocator.calloc(count, size))
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: the caller guarantees that `ptr` is a live block of this allocator, so of `RustAllocator`: the
        // contract of both `RustAllocator::usable_size` and `RustAllocator::dealloc`, passed on unchanged. The
        // size is read before the block is freed.
        unsafe {
            self.heap.sub(RustAllocator::usable_size(ptr));
            RustAllocator.dealloc(ptr);
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            // QuickJS never does this (it allocates instead), but `RustAllocator::realloc` would read a header
            // before the null pointer.
            return self.alloc(new_size);
        }
        // SAFETY: the caller guarantees that `ptr` is a live block of this allocator, so of `RustAllocator`.
        let old = unsafe { RustAllocator::usable_size(ptr) };
        if !self.heap.admit(new_size.saturating_sub(old)) {
            // Like a failed `realloc`: the old block is untouched and still counted.
            return ptr::null_mut();
        }
        // SAFETY: as above, the caller's guarantee about `ptr` is `RustAllocator::realloc`'s contract.
        let new = unsafe { RustAllocator.realloc(ptr, new_size) };
        if new.is_null() {
            // The global allocator failed; the old block is still live and counted.
            self.heap.refuse();
            return new;
        }
        self.heap.sub(old);
        self.counted(new)
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: the caller guarantees that `ptr` is a block of this allocator, so of `RustAllocator`.
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::deadline::{Deadline, Tripped};

    fn allocator(limit: usize) -> (LimitedAllocator, Arc<Heap>, Arc<Deadline>) {
        let deadline = Arc::new(Deadline::new(1 << 20));
        let heap = Arc::new(Heap::new(limit, Arc::clone(&deadline)));
        (LimitedAllocator::new(Arc::clone(&heap)), heap, deadline)
    }

    #[test]
    fn counts_the_usable_size_of_live_blocks() {
        let (mut a, heap, _) = allocator(1 << 20);
        let p = a.alloc(100);
        assert!(!p.is_null());
        assert_eq!(heap.used(), 104, "rounded up to 8 bytes");
        let q = a.calloc(3, 10);
        assert!(!q.is_null());
        assert_eq!(heap.used(), 104 + 32);
        // SAFETY: `p` and `q` are live blocks of `a`.
        unsafe {
            let p = a.realloc(p, 1000);
            assert!(!p.is_null());
            assert_eq!(heap.used(), 1000 + 32);
            let p = a.realloc(p, 10);
            assert_eq!(heap.used(), 16 + 32);
            a.dealloc(p);
            a.dealloc(q);
        }
        assert_eq!(heap.used(), 0);
        assert!(!heap.refused());
    }

    #[test]
    fn a_runtime_gives_back_everything_it_counted() {
        let (a, heap, _) = allocator(64 << 20);
        {
            let runtime = rquickjs::Runtime::new_with_alloc(a).unwrap();
            let context = rquickjs::Context::full(&runtime).unwrap();
            context.with(|ctx| {
                ctx.eval::<(), _>(
                    "globalThis.k = []; for (let i = 0; i < 10000; i++) { const o = { i, s: 'x' + i }; o.o = o; k.push(o); }",
                )
                .unwrap();
            });
            assert!(heap.used() > 500_000, "{}", heap.used());
        }
        assert_eq!(heap.used(), 0);
        assert!(!heap.refused());
    }

    #[test]
    fn refuses_past_the_limit_and_records_it() {
        let (mut a, heap, deadline) = allocator(1 << 20);
        let _armed = deadline.arm(Duration::from_secs(3600));
        let p = a.alloc(1000 << 10);
        assert!(!p.is_null());
        assert!(a.alloc(100 << 10).is_null(), "past 1 MiB");
        assert!(
            a.calloc(usize::MAX, 2).is_null(),
            "an overflowing size is refused, not a panic"
        );
        assert!(heap.refused());
        assert_eq!(deadline.tripped(), Some(Tripped::Memory));
        // SAFETY: `p` is a live block of `a`.
        unsafe {
            let grown = a.realloc(p, 2 << 20);
            assert!(grown.is_null(), "growth past the cap is refused");
            assert_eq!(heap.used(), 1000 << 10, "the old block is still counted");
            a.dealloc(p);
        }
        assert_eq!(heap.used(), 0);
    }
}
