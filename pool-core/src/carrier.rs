//! [`Carrier`]: puts an engine whose instances are not `Send` (Boa's `Context`) into a shared [`Pool`](crate::Pool).
//!
//! Each instance lives its whole life on a thread of its own; the pool holds a `Send` handle
//! ([`CarriedVm`]) and every operation is sent to the instance's thread over a channel and answered over another.
//! No `unsafe`: the instance never leaves its thread. Because the caller only waits for the answer, a wall-clock
//! timeout works even for an engine that cannot be interrupted: at the deadline the caller stops waiting, gets a
//! `timeout` error, and the handle reports itself broken so that the pool discards it. The instance's thread ends
//! when the runaway script ends (engines should also bound their loops) and the handle is gone.
//!
//! ```
//! use pool_core::testing::RcEngine;
//! use pool_core::{Carrier, Pool};
//!
//! // RcEngine's instances hold an Rc and are not Send; the carrier makes them poolable.
//! let pool = Pool::builder(Carrier::new(RcEngine)).max_size(2).build()?;
//! let answer = pool.acquire()?.eval("set 5")?;
//! assert_eq!(answer, serde_json::json!(5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::{ScriptEngine, Value};
use crate::error::{EngineError, ErrorKind, panic_message};
use crate::host::CallContext;

/// Wraps an engine so that each instance runs on a dedicated thread. See the [module docs](self).
pub struct Carrier<E: ScriptEngine> {
    engine: Arc<E>,
    timeout: Option<Duration>,
    stack_size: Option<usize>,
}

impl<E: ScriptEngine> std::fmt::Debug for Carrier<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carrier")
            .field("timeout", &self.timeout)
            .field("stack_size", &self.stack_size)
            .finish()
    }
}

impl<E: ScriptEngine> Carrier<E> {
    /// Carries `engine`'s instances, with no deadline of the carrier's own.
    pub fn new(engine: E) -> Self {
        Self {
            engine: Arc::new(engine),
            timeout: None,
            stack_size: None,
        }
    }

    /// Stops waiting for an `eval`, `call` or `reset` after `timeout`; the call then fails with `timeout` and the
    /// instance is discarded.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The native stack size of each instance's thread, in bytes (default: Rust's default for spawned threads).
    #[must_use]
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The carried engine.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    fn value(
        &self,
        vm: &mut CarriedVm<E>,
        request: Request,
    ) -> Result<Value, CarrierError<E::Error>> {
        match self.ask(vm, request, self.timeout)? {
            Response::Value(result) => result.map_err(CarrierError::Engine),
            _ => Err(CarrierError::Lost),
        }
    }

    fn ask(
        &self,
        vm: &mut CarriedVm<E>,
        request: Request,
        deadline: Option<Duration>,
    ) -> Result<Response<E>, CarrierError<E::Error>> {
        if vm.lost {
            return Err(CarrierError::Lost);
        }
        let Some(tx) = &vm.tx else {
            return Err(CarrierError::Lost);
        };
        if tx.send(request).is_err() {
            vm.lost = true;
            return Err(CarrierError::Lost);
        }
        let answer = recv_soon(&vm.rx, deadline).map_err(|e| match (e, deadline) {
            (RecvTimeoutError::Timeout, Some(limit)) => CarrierError::Timeout(limit),
            _ => CarrierError::Lost,
        });
        if answer.is_err() {
            // A late answer would belong to this request, not the next: the handle is unusable from here on.
            vm.lost = true;
        }
        answer
    }
}

/// A `Send` handle to an instance living on its own thread.
pub struct CarriedVm<E: ScriptEngine> {
    tx: Option<Sender<Request>>,
    rx: Receiver<Response<E>>,
    /// A request went unanswered (deadline, panic): the handle must not be used again.
    lost: bool,
    thread: Option<JoinHandle<()>>,
}

impl<E: ScriptEngine> CarriedVm<E> {
    /// Whether the instance's thread stopped answering (a deadline passed or the engine panicked).
    pub fn is_lost(&self) -> bool {
        self.lost
    }
}

impl<E: ScriptEngine> std::fmt::Debug for CarriedVm<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarriedVm")
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

impl<E: ScriptEngine> Drop for CarriedVm<E> {
    fn drop(&mut self) {
        // Closing the channel ends the thread after its current request.
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && !self.lost
        {
            // The thread is idle, so this returns at once and the instance is dropped before we go on.
            let _ = thread.join();
        }
        // A lost thread may still be running a script: leave it to finish on its own.
    }
}

enum Request {
    Eval(String, Option<CallContext>),
    Call(String, Vec<Value>, Option<CallContext>),
    /// `is_broken`, then `reset` unless broken: one round trip per return to the pool.
    Recycle,
    Memory,
}

enum Response<E: ScriptEngine> {
    Created(Result<(), E::Error>),
    Value(Result<Value, E::Error>),
    Recycled(Result<(), RecycleFailure<E::Error>>),
    Memory(Option<usize>),
}

enum RecycleFailure<X> {
    Broken,
    Reset(X),
}

/// An error from a carried engine: the engine's own, or the carrier's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarrierError<E> {
    /// The engine's error.
    #[error(transparent)]
    Engine(E),
    /// No answer within the carrier's timeout.
    #[error("timeout: script ran past the time limit of {0:?}")]
    Timeout(Duration),
    /// The instance's thread is gone or stopped answering (an earlier timeout, or the engine panicked).
    #[error("internal: the VM's thread stopped (the engine panicked or an earlier call timed out)")]
    Lost,
    /// The instance's thread could not be started.
    #[error("internal: could not start a thread for the VM: {0}")]
    Spawn(#[source] std::io::Error),
    /// The engine panicked while creating the instance.
    #[error("internal: the engine panicked while creating a VM: {0}")]
    CreatePanicked(String),
    /// The instance reported itself broken.
    #[error("internal: the VM reported itself broken")]
    Broken,
}

impl<E: EngineError> EngineError for CarrierError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            CarrierError::Engine(e) => e.kind(),
            CarrierError::Timeout(_) => ErrorKind::Timeout,
            _ => ErrorKind::Internal,
        }
    }
}

impl<E: ScriptEngine> ScriptEngine for Carrier<E> {
    type Vm = CarriedVm<E>;
    type Error = CarrierError<E::Error>;

    fn create(&self) -> Result<CarriedVm<E>, Self::Error> {
        let (req_tx, req_rx) = mpsc::channel::<Request>();
        let (resp_tx, resp_rx) = mpsc::channel::<Response<E>>();
        let engine = self.engine.clone();
        let mut builder = std::thread::Builder::new().name("vmpool-carrier".into());
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let thread = builder
            .spawn(move || serve(&*engine, &req_rx, &resp_tx))
            .map_err(CarrierError::Spawn)?;
        let mut vm = CarriedVm {
            tx: Some(req_tx),
            rx: resp_rx,
            lost: false,
            thread: Some(thread),
        };
        match vm.rx.recv() {
            Ok(Response::Created(Ok(()))) => Ok(vm),
            Ok(Response::Created(Err(e))) => Err(CarrierError::Engine(e)),
            Ok(_) => Err(CarrierError::Lost),
            Err(_) => {
                // The thread ended without answering: `create` panicked. Its message went to the panic hook.
                vm.lost = true;
                let message = vm
                    .thread
                    .take()
                    .and_then(|t| t.join().err())
                    .map(|p| panic_message(p.as_ref()));
                Err(CarrierError::CreatePanicked(message.unwrap_or_default()))
            }
        }
    }

    fn eval(&self, vm: &mut CarriedVm<E>, source: &str) -> Result<Value, Self::Error> {
        self.value(vm, Request::Eval(source.to_owned(), None))
    }

    fn call(
        &self,
        vm: &mut CarriedVm<E>,
        function: &str,
        args: &[Value],
    ) -> Result<Value, Self::Error> {
        self.value(vm, Request::Call(function.to_owned(), args.to_vec(), None))
    }

    /// The context travels with the request: the instance's thread runs the host functions, with no further hop.
    fn eval_with(
        &self,
        vm: &mut CarriedVm<E>,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, Self::Error> {
        self.value(vm, Request::Eval(source.to_owned(), Some(context.clone())))
    }

    fn call_with(
        &self,
        vm: &mut CarriedVm<E>,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, Self::Error> {
        self.value(
            vm,
            Request::Call(function.to_owned(), args.to_vec(), Some(context.clone())),
        )
    }

    fn reset(&self, vm: &mut CarriedVm<E>) -> Result<(), Self::Error> {
        match self.ask(vm, Request::Recycle, self.timeout)? {
            Response::Recycled(Ok(())) => Ok(()),
            Response::Recycled(Err(RecycleFailure::Broken)) => Err(CarrierError::Broken),
            Response::Recycled(Err(RecycleFailure::Reset(e))) => Err(CarrierError::Engine(e)),
            _ => Err(CarrierError::Lost),
        }
    }

    /// Answered without a round trip: a lost handle is broken; the engine's own `is_broken` runs with `reset`.
    fn is_broken(&self, vm: &mut CarriedVm<E>) -> bool {
        vm.lost
    }

    fn memory_usage(&self, vm: &mut CarriedVm<E>) -> Option<usize> {
        match self.ask(vm, Request::Memory, self.timeout) {
            Ok(Response::Memory(bytes)) => bytes,
            _ => None,
        }
    }
}

/// How long each side of a carrier keeps polling its channel, yielding the CPU between polls, before it blocks.
/// A blocked thread can take tens of microseconds to wake when its core is idle (on a virtual machine, an idle
/// vCPU is descheduled), which would dominate a short call; an answer or the next request (the reset right after
/// a call) usually comes within this.
pub const POLL_BEFORE_BLOCKING: Duration = Duration::from_micros(50);

/// Receives from `rx`: polls for up to [`POLL_BEFORE_BLOCKING`], then blocks, in all for at most `limit`.
fn recv_soon<T>(rx: &Receiver<T>, limit: Option<Duration>) -> Result<T, RecvTimeoutError> {
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(value) => return Ok(value),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {}
        }
        if start.elapsed() >= POLL_BEFORE_BLOCKING {
            break;
        }
        std::thread::yield_now();
    }
    match limit {
        Some(limit) => rx.recv_timeout(limit.saturating_sub(start.elapsed())),
        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

/// The instance's thread: create, then answer requests until the handle goes away or the engine panics.
fn serve<E: ScriptEngine>(
    engine: &E,
    requests: &Receiver<Request>,
    responses: &Sender<Response<E>>,
) {
    let mut vm = match engine.create() {
        Ok(vm) => vm,
        Err(e) => {
            let _ = responses.send(Response::Created(Err(e)));
            return;
        }
    };
    if responses.send(Response::Created(Ok(()))).is_err() {
        return;
    }
    while let Ok(request) = recv_soon(requests, None) {
        let answer = catch_unwind(AssertUnwindSafe(|| match request {
            Request::Eval(source, None) => Response::Value(engine.eval(&mut vm, &source)),
            Request::Eval(source, Some(context)) => {
                Response::Value(engine.eval_with(&mut vm, &context, &source))
            }
            Request::Call(function, args, None) => {
                Response::Value(engine.call(&mut vm, &function, &args))
            }
            Request::Call(function, args, Some(context)) => {
                Response::Value(engine.call_with(&mut vm, &context, &function, &args))
            }
            Request::Recycle => Response::Recycled(if engine.is_broken(&mut vm) {
                Err(RecycleFailure::Broken)
            } else {
                engine.reset(&mut vm).map_err(RecycleFailure::Reset)
            }),
            Request::Memory => Response::Memory(engine.memory_usage(&mut vm)),
        }));
        match answer {
            Ok(answer) => {
                if responses.send(answer).is_err() {
                    return;
                }
            }
            // The engine panicked: its instance may be half-updated, so drop it; the handle sees the channel close.
            Err(_) => return,
        }
    }
}
