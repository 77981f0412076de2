//! [`PooledVm`]: the guard that lends an instance and gives it back on drop (the Rust form of `defer ReleaseVM`).

use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::engine::{ScriptEngine, Value};
use crate::error::EngineError;
use crate::host::CallContext;
use crate::metrics::DestroyReason;
use crate::pool::inner::{Inner, Instance, Slot};
use crate::sync::Arc;

/// An instance lent by a [`Pool`](crate::Pool). Derefs to the engine's instance; dropping it returns the instance.
///
/// On the way back the instance is checked with `is_broken` and reset; it is destroyed instead when:
/// - its last [`eval`](PooledVm::eval) or [`call`](PooledVm::call) hit a limit or failed inside the engine
///   (an error whose kind [taints](crate::ErrorKind::taints_instance) the instance);
/// - the thread is panicking;
/// - `is_broken` says so, or `reset` fails or panics;
/// - it was [`discard`](PooledVm::discard)ed, has reached `max_uses` or `max_lifetime`, or the pool was closed or
///   shrunk meanwhile.
///
/// Lifecycle functions are associated functions (`PooledVm::discard(vm)`) so that they never shadow the engine
/// instance's own methods.
#[must_use = "dropping the guard returns the VM to the pool at once"]
pub struct PooledVm<'pool, E: ScriptEngine> {
    /// The instance and its tag (whose `taint` says whether it goes back); `None` only once dropped.
    slot: Option<Slot<Instance<E>>>,
    pool: PoolRef<'pool, E>,
}

/// How a guard reaches its pool: borrowed (`acquire`: no reference counting on the hot path) or owned
/// (`acquire_owned`, `acquire_async`).
pub(crate) enum PoolRef<'pool, E: ScriptEngine> {
    Borrowed(&'pool Inner<E>),
    Owned(Arc<Inner<E>>),
}

impl<E: ScriptEngine> Deref for PoolRef<'_, E> {
    type Target = Inner<E>;
    fn deref(&self) -> &Inner<E> {
        match self {
            PoolRef::Borrowed(inner) => inner,
            PoolRef::Owned(inner) => inner,
        }
    }
}

impl<'pool, E: ScriptEngine> PooledVm<'pool, E> {
    pub(crate) fn new(pool: PoolRef<'pool, E>, slot: Slot<Instance<E>>) -> Self {
        Self {
            slot: Some(slot),
            pool,
        }
    }

    fn slot(&self) -> &Slot<Instance<E>> {
        self.slot
            .as_ref()
            .expect("a PooledVm holds its VM until it is dropped")
    }

    fn slot_mut(&mut self) -> &mut Slot<Instance<E>> {
        self.slot
            .as_mut()
            .expect("a PooledVm holds its VM until it is dropped")
    }

    /// Evaluates `source` on the instance through the pool's engine.
    ///
    /// # Errors
    /// The engine's error. One whose kind taints the instance (a limit, an engine fault) also marks the instance for
    /// destruction when the guard is dropped.
    pub fn eval(&mut self, source: &str) -> Result<Value, E::Error> {
        let slot = self
            .slot
            .as_mut()
            .expect("a PooledVm holds its VM until it is dropped");
        let result = slot.vm.engine.eval(&mut slot.vm.vm, source);
        self.note(result)
    }

    /// Calls the global function `function` with `args` through the pool's engine.
    ///
    /// # Errors
    /// As for [`eval`](PooledVm::eval).
    pub fn call(&mut self, function: &str, args: &[Value]) -> Result<Value, E::Error> {
        let slot = self
            .slot
            .as_mut()
            .expect("a PooledVm holds its VM until it is dropped");
        let result = slot.vm.engine.call(&mut slot.vm.vm, function, args);
        self.note(result)
    }

    /// [`eval`](PooledVm::eval) with `context` as the current request for the host functions the script calls
    /// (the Go guide's `AcquireVM(c)`); see [`host`](crate::host). The context is gone when this returns.
    ///
    /// # Errors
    /// As for [`eval`](PooledVm::eval).
    pub fn eval_with(&mut self, context: &CallContext, source: &str) -> Result<Value, E::Error> {
        let slot = self
            .slot
            .as_mut()
            .expect("a PooledVm holds its VM until it is dropped");
        let result = slot.vm.engine.eval_with(&mut slot.vm.vm, context, source);
        self.note(result)
    }

    /// [`call`](PooledVm::call) with `context` as the current request for the host functions the script calls.
    ///
    /// # Errors
    /// As for [`eval`](PooledVm::eval).
    pub fn call_with(
        &mut self,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, E::Error> {
        let slot = self
            .slot
            .as_mut()
            .expect("a PooledVm holds its VM until it is dropped");
        let instance = &mut slot.vm;
        let result = instance
            .engine
            .call_with(&mut instance.vm, context, function, args);
        self.note(result)
    }

    fn note(&mut self, result: Result<Value, E::Error>) -> Result<Value, E::Error> {
        if let Err(error) = &result {
            self.pool.count_script_error();
            if error.kind().taints_instance() {
                self.slot_mut().tag.set_taint(DestroyReason::Tainted);
            }
        }
        result
    }

    /// Destroys the instance instead of returning it to the pool.
    pub fn discard(mut this: Self) {
        this.slot_mut().tag.set_taint(DestroyReason::Discarded);
    }

    /// Marks the instance so that it is destroyed, not reused, when the guard is dropped.
    pub fn taint(this: &mut Self) {
        let tag = &mut this.slot_mut().tag;
        if tag.taint().is_none() {
            tag.set_taint(DestroyReason::Tainted);
        }
    }

    /// Whether the instance will be destroyed when the guard is dropped.
    pub fn is_tainted(this: &Self) -> bool {
        this.slot().tag.taint().is_some()
    }

    /// How many times this instance has been handed out, this time included.
    pub fn uses(this: &Self) -> u64 {
        this.slot().tag.uses
    }

    /// A number that identifies the instance within its pool.
    pub fn id(this: &Self) -> u64 {
        this.pool.instance_id(this.slot().tag)
    }

    /// The engine (factory) that made the instance: the pool's, or after a [`Pool::reload`](crate::Pool::reload)
    /// the one of the instance's generation.
    pub fn engine(this: &Self) -> &E {
        &this.slot().vm.engine
    }

    /// The pool generation of the engine that made the instance (1 until the pool is reloaded).
    pub fn generation(this: &Self) -> u64 {
        this.pool.instance_generation(this.slot().tag)
    }
}

impl<E: ScriptEngine> Deref for PooledVm<'_, E> {
    type Target = E::Vm;
    fn deref(&self) -> &E::Vm {
        &self.slot().vm.vm
    }
}

impl<E: ScriptEngine> DerefMut for PooledVm<'_, E> {
    fn deref_mut(&mut self) -> &mut E::Vm {
        &mut self.slot_mut().vm.vm
    }
}

impl<E: ScriptEngine> std::fmt::Debug for PooledVm<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledVm")
            .field("id", &Self::id(self))
            .field("uses", &self.slot().tag.uses)
            .field("tainted", &self.slot().tag.taint().is_some())
            .finish_non_exhaustive()
    }
}

impl<E: ScriptEngine> Drop for PooledVm<'_, E> {
    #[inline(always)]
    fn drop(&mut self) {
        let Some(Slot { mut vm, tag }) = self.slot.take() else {
            return;
        };
        let reason = match tag.taint() {
            Some(reason) => Some(reason),
            None if std::thread::panicking() => Some(DestroyReason::Tainted),
            None => check_and_reset(&*vm.engine, &mut vm.vm),
        };
        self.pool.release(vm, tag, reason);
    }
}

/// The return-path checks: `is_broken`, then `reset`. A panic in either counts as failure.
#[inline]
fn check_and_reset<E: ScriptEngine>(engine: &E, vm: &mut E::Vm) -> Option<DestroyReason> {
    match catch_unwind(AssertUnwindSafe(|| engine.is_broken(vm))) {
        Ok(false) => {}
        Ok(true) | Err(_) => return Some(DestroyReason::Broken),
    }
    match catch_unwind(AssertUnwindSafe(|| engine.reset(vm))) {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            log::debug!("vmpool: reset failed, discarding the VM: {error}");
            Some(DestroyReason::ResetFailed)
        }
        Err(_) => Some(DestroyReason::ResetFailed),
    }
}
