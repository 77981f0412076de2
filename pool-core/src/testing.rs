//! Fake engines for tests and examples: they count creations and drops and fail on command.
//!
//! Available with the `test-support` feature (and in this crate's own tests and doctests).
//!
//! [`FakeEngine`] instances hold one integer. `eval` understands a tiny command language:
//! `set N` (store N, return it), `get` (return it), `fail` (an `exception`), `timeout` (a `timeout` error, which
//! taints the instance), `panic`, `sleep MS`. `call("get", _)` returns the integer, `call("echo", args)` returns
//! the arguments as an array; other names are an `exception`. `reset` sets the integer back to 0. `eval("version")`
//! and `call("version", _)` return the engine's [version](FakeEngine::with_version) (0 unless set).

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::{ScriptEngine, Value};
use crate::error::{ErrorKind, ScriptError};

/// Faults to inject into a [`FakeEngine`], and what it observed. Shared by the engine and all its instances.
#[derive(Debug, Default)]
pub struct Faults {
    /// Fail the creation with this 1-based number (0: never).
    pub fail_create_nth: AtomicU64,
    /// Fail every creation.
    pub fail_create_always: AtomicBool,
    /// Panic in every creation.
    pub panic_on_create: AtomicBool,
    /// Sleep this many milliseconds in every creation.
    pub create_delay_ms: AtomicU64,
    /// Fail every reset.
    pub fail_reset: AtomicBool,
    /// Panic in every reset.
    pub panic_on_reset: AtomicBool,
    /// Report broken for this many returns.
    pub broken_returns: AtomicU64,
    /// Fail each creation with this probability, in millionths (for stress tests).
    pub create_failure_ppm: AtomicU64,
    /// Fail each reset with this probability, in millionths (for stress tests).
    pub reset_failure_ppm: AtomicU64,
    creations: AtomicU64,
    created: AtomicU64,
    dropped: AtomicU64,
    double_drops: AtomicU64,
    live: Mutex<HashSet<u64>>,
    creator_threads: Mutex<Vec<Option<String>>>,
}

impl Faults {
    /// Creation attempts so far.
    pub fn creations(&self) -> u64 {
        self.creations.load(Ordering::SeqCst)
    }
    /// Instances successfully created so far.
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::SeqCst)
    }
    /// Instances dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::SeqCst)
    }
    /// Instances dropped more than once (must stay 0).
    pub fn double_drops(&self) -> u64 {
        self.double_drops.load(Ordering::SeqCst)
    }
    /// The name of the thread each creation attempt ran on, in order (`None`: an unnamed thread).
    pub fn creator_threads(&self) -> Vec<Option<String>> {
        self.creator_threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Instances alive now.
    pub fn live(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    fn chance(ppm: &AtomicU64) -> bool {
        let ppm = ppm.load(Ordering::Relaxed);
        ppm > 0 && fastrand::u64(0..1_000_000) < ppm
    }
}

/// A `Send` fake engine; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct FakeEngine {
    faults: Arc<Faults>,
    version: i64,
}

impl FakeEngine {
    /// A fake engine with no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared fault switches and counters.
    pub fn faults(&self) -> Arc<Faults> {
        self.faults.clone()
    }

    /// The same engine (sharing its faults and counters) with `version`, which the command `version` and the
    /// function `version` return: the "script" a reload replaces.
    #[must_use]
    pub fn with_version(&self, version: i64) -> Self {
        Self {
            faults: self.faults.clone(),
            version,
        }
    }

    /// The engine's version (0 unless set with [`with_version`](FakeEngine::with_version)).
    pub fn version(&self) -> i64 {
        self.version
    }
}

/// An instance of [`FakeEngine`]: an integer, and a registration that detects double drops.
#[derive(Debug)]
pub struct FakeVm {
    /// The instance's number, unique per engine.
    pub id: u64,
    /// The stored integer.
    pub value: i64,
    faults: Arc<Faults>,
}

impl Drop for FakeVm {
    fn drop(&mut self) {
        self.faults.dropped.fetch_add(1, Ordering::SeqCst);
        let removed = self
            .faults
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
        if !removed {
            self.faults.double_drops.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn run_command(value: &mut i64, source: &str) -> Result<Value, ScriptError> {
    let mut words = source.split_whitespace();
    match (words.next(), words.next()) {
        (Some("set"), Some(n)) => {
            *value = n
                .parse()
                .map_err(|_| ScriptError::new(ErrorKind::Syntax, format!("not a number: {n}")))?;
            Ok(Value::from(*value))
        }
        (Some("get"), None) => Ok(Value::from(*value)),
        (Some("fail"), _) => Err(ScriptError::new(ErrorKind::Exception, "failed on purpose")),
        (Some("timeout"), _) => Err(ScriptError::timeout(Duration::from_millis(1))),
        (Some("panic"), _) => panic!("fake engine panicked on purpose"),
        (Some("sleep"), Some(ms)) => {
            let ms = ms
                .parse()
                .map_err(|_| ScriptError::new(ErrorKind::Syntax, format!("not a number: {ms}")))?;
            std::thread::sleep(Duration::from_millis(ms));
            Ok(Value::Null)
        }
        _ => Err(ScriptError::new(
            ErrorKind::Syntax,
            format!("unknown command: {source}"),
        )),
    }
}

fn call_function(value: i64, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
    match function {
        "get" => Ok(Value::from(value)),
        "echo" => Ok(Value::Array(args.to_vec())),
        other => Err(ScriptError::new(
            ErrorKind::Exception,
            format!("no global function `{other}`"),
        )),
    }
}

impl ScriptEngine for FakeEngine {
    type Vm = FakeVm;
    type Error = ScriptError;

    fn create(&self) -> Result<FakeVm, ScriptError> {
        let f = &self.faults;
        let n = f.creations.fetch_add(1, Ordering::SeqCst) + 1;
        f.creator_threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(std::thread::current().name().map(str::to_owned));
        let delay = f.create_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if f.panic_on_create.load(Ordering::Relaxed) {
            panic!("fake engine panicked in create on purpose");
        }
        if f.fail_create_always.load(Ordering::Relaxed)
            || f.fail_create_nth.load(Ordering::Relaxed) == n
            || Faults::chance(&f.create_failure_ppm)
        {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                format!("creation {n} failed on purpose"),
            ));
        }
        f.created.fetch_add(1, Ordering::SeqCst);
        f.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(n);
        Ok(FakeVm {
            id: n,
            value: 0,
            faults: f.clone(),
        })
    }

    fn eval(&self, vm: &mut FakeVm, source: &str) -> Result<Value, ScriptError> {
        if source.trim() == "version" {
            return Ok(Value::from(self.version));
        }
        run_command(&mut vm.value, source)
    }

    fn call(&self, vm: &mut FakeVm, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
        if function == "version" {
            return Ok(Value::from(self.version));
        }
        call_function(vm.value, function, args)
    }

    fn reset(&self, vm: &mut FakeVm) -> Result<(), ScriptError> {
        let f = &self.faults;
        if f.panic_on_reset.load(Ordering::Relaxed) {
            panic!("fake engine panicked in reset on purpose");
        }
        if f.fail_reset.load(Ordering::Relaxed) || Faults::chance(&f.reset_failure_ppm) {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "reset failed on purpose",
            ));
        }
        vm.value = 0;
        Ok(())
    }

    fn is_broken(&self, _vm: &mut FakeVm) -> bool {
        self.faults
            .broken_returns
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |k| k.checked_sub(1))
            .is_ok()
    }
}

/// A fake engine whose instances hold an `Rc`, so they are not `Send`: pool it through a
/// [`Carrier`](crate::Carrier). Same command language as [`FakeEngine`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RcEngine;

impl ScriptEngine for RcEngine {
    type Vm = Rc<std::cell::Cell<i64>>;
    type Error = ScriptError;

    fn create(&self) -> Result<Self::Vm, ScriptError> {
        Ok(Rc::new(std::cell::Cell::new(0)))
    }

    fn eval(&self, vm: &mut Self::Vm, source: &str) -> Result<Value, ScriptError> {
        let mut value = vm.get();
        let result = run_command(&mut value, source);
        vm.set(value);
        result
    }

    fn call(
        &self,
        vm: &mut Self::Vm,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        call_function(vm.get(), function, args)
    }

    fn reset(&self, vm: &mut Self::Vm) -> Result<(), ScriptError> {
        vm.set(0);
        Ok(())
    }
}
