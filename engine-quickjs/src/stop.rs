//! Making every JavaScript call of an instance fail once its operation must stop.
//!
//! The interrupt handler stops an operation with an uncatchable error, but QuickJS turns an exception thrown in a
//! promise executor, a `Promise.try` callback or the iteration of `Promise.all` (and the like) into a rejected
//! promise, the uncatchable one included. A built-in that loops natively over calls that each make such a promise
//! (`Iterator.prototype.includes.call({ next: () => new Promise(() => { for (;;) {} }) }, 1)`) would then loop for
//! ever: QuickJS polls the handler every 10,000 function calls and loop iterations, so each interruption lands in
//! an executor and is swallowed there. So when the handler interrupts, it also lowers the runtime's stack limit to
//! one byte: from then on every JavaScript function call fails at its first check, a stack-overflow error. The
//! executor cannot run any more, rejecting its promise fails too (a call), and so does the loop's next call, which
//! ends the loop with an exception that reaches the host; what is left of the interrupted code reaches the
//! handler's next poll without calling anything. The pool discards the instance after such an operation; for a
//! host that goes on using it anyway, the limit is restored before its next operation ([`Stopper::take_stopped`]).
//!
//! This module and `alloc` are the crate's only `unsafe` code: rquickjs's safe way to set the stack limit locks the
//! runtime, which the thread running the script already holds while QuickJS calls the handler.

#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use rquickjs::{Ctx, qjs};

/// The runtime of one instance, for its interrupt handler (see the module docs). Shared by the handler and the
/// instance, which own it together with the runtime, so the runtime outlives every use of the pointer; only the
/// handler passes the pointer to QuickJS.
#[derive(Default)]
pub(crate) struct Stopper {
    runtime: OnceLock<RuntimePtr>,
    /// Whether the handler lowered the stack limit since the instance last restored it.
    stopped: AtomicBool,
}

struct RuntimePtr(NonNull<qjs::JSRuntime>);

// SAFETY: the pointer is only passed to QuickJS by `Stopper::stop_calls`, which only the interrupt handler calls;
// QuickJS calls the handler on the thread that is running the runtime, while the runtime is alive (the runtime
// owns the handler). Moving or sharing the pointer between threads does not touch the runtime.
unsafe impl Send for RuntimePtr {}
// SAFETY: as for `Send`: the pointer is not dereferenced in Rust, and QuickJS only gets it on the runtime's thread.
unsafe impl Sync for RuntimePtr {}

impl Stopper {
    /// Records the runtime `ctx` belongs to (the instance's own runtime).
    pub(crate) fn attach(&self, ctx: &Ctx<'_>) {
        // SAFETY: `ctx.as_raw()` is the live context `ctx` stands for (a `Ctx` exists only inside `Context::with`,
        // on the thread that holds the runtime), and `JS_GetRuntime` only reads its runtime field.
        let runtime = unsafe { qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) };
        if let Some(runtime) = NonNull::new(runtime) {
            let _ = self.runtime.set(RuntimePtr(runtime));
        }
    }

    /// Makes every later JavaScript function call of the runtime fail with a stack overflow. Called only by the
    /// interrupt handler.
    pub(crate) fn stop_calls(&self) {
        if let Some(runtime) = self.runtime.get() {
            // SAFETY: called from the interrupt handler, so on the thread running the runtime and while it is alive
            // (see `RuntimePtr`). `JS_SetMaxStackSize` only stores the size and the stack limit derived from it in
            // the runtime, which QuickJS reads at its next stack check.
            unsafe { qjs::JS_SetMaxStackSize(runtime.0.as_ptr(), 1) }
            self.stopped.store(true, Ordering::Relaxed);
        }
    }

    /// Whether [`Stopper::stop_calls`] ran since the last call of this; the caller restores the stack limit.
    pub(crate) fn take_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) && self.stopped.swap(false, Ordering::Relaxed)
    }
}
