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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rquickjs::{Ctx, qjs};

/// The runtime of one instance, for its interrupt handler (see the module docs). Shared by the handler and the
/// instance, which own it together with the runtime, so the runtime outlives every use of its address; only the
/// handler passes it to QuickJS. The address is kept as an integer (its provenance exposed), so that the handler
/// stays `Send` without any `unsafe impl`.
#[derive(Default)]
pub(crate) struct Stopper {
    /// The runtime's address; 0 until [`Stopper::attach`].
    runtime: AtomicUsize,
    /// Whether the handler lowered the stack limit since the instance last restored it.
    stopped: AtomicBool,
}

impl Stopper {
    /// Records the runtime `ctx` belongs to (the instance's own runtime).
    pub(crate) fn attach(&self, ctx: &Ctx<'_>) {
        // SAFETY: `ctx.as_raw()` is the live context `ctx` stands for (a `Ctx` exists only inside `Context::with`,
        // on the thread that holds the runtime), and `JS_GetRuntime` only reads its runtime field.
        let runtime = unsafe { qjs::JS_GetRuntime(ctx.as_raw().as_ptr()) };
        self.runtime
            .store(runtime.expose_provenance(), Ordering::Relaxed);
    }

    /// Makes every later JavaScript function call of the runtime fail with a stack overflow. Called only by the
    /// interrupt handler.
    pub(crate) fn stop_calls(&self) {
        let address = self.runtime.load(Ordering::Relaxed);
        if address != 0 {
            let runtime = std::ptr::with_exposed_provenance_mut::<qjs::JSRuntime>(address);
            // SAFETY: `runtime` is the address of this instance's runtime, with the provenance `attach` exposed,
            // and the runtime is alive: this runs in its interrupt handler (which the runtime owns, so it cannot run
            // after the runtime is freed), on the thread running the runtime, inside QuickJS. `JS_SetMaxStackSize`
            // only stores the size, and the stack limit derived from it, in the runtime, which QuickJS reads at its
            // next stack check.
            unsafe { qjs::JS_SetMaxStackSize(runtime, 1) }
            self.stopped.store(true, Ordering::Relaxed);
        }
    }

    /// Whether [`Stopper::stop_calls`] ran since the last call of this; the caller restores the stack limit.
    pub(crate) fn take_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) && self.stopped.swap(false, Ordering::Relaxed)
    }
}
