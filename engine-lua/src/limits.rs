//! The time and stack limits, enforced by one instruction-count hook per instance, and the memory limit given
//! to Lua's allocator.
//!
//! From [`EngineConfig::limits`](pool_core::EngineConfig::limits); an instance that hit any of them reports
//! [`ScriptEngine::is_broken`](pool_core::ScriptEngine::is_broken) and refuses further use.
//! - **timeout**: an instruction-count hook (every 1000 instructions, in every coroutine) compares the clock with
//!   the deadline. When it passes, the hook raises an error and re-installs itself to raise again on *every*
//!   instruction until the call returns, so `while true do pcall(function() while true do end end) end` still
//!   ends with `timeout`. The deadline also covers converting the result and pattern matching (see
//!   [`sandbox`](crate::sandbox)). A single call into a C function cannot be interrupted: the library loops that a
//!   number chooses run in pieces (see the sandbox), and the other library functions do work linear in the size of
//!   their arguments, which `memory_mb` bounds. One instruction can still take long (comparing two 16 MiB strings of
//!   NUL bytes calls `strcoll` once per byte), so a call that returns after its deadline ends with `timeout` too.
//! - **memory_mb**: mlua's allocator limit for the whole state, set to 7/8 of `memory_mb`: the remaining eighth
//!   is an allowance for the system allocator's own overhead on Lua's many small blocks (8-16 bytes on a 56-byte
//!   table or a short string). Over the hostile memory cases of `vmpool-tests` the process's resident peak is
//!   1.37x `memory_mb` (1.53x without the allowance): small-block overhead, plus memory the system allocator
//!   keeps after an earlier instance is dropped. The host writes arguments and each new environment into the
//!   state with the limit lifted only while that provably cannot pass it (the state then holds well under half
//!   of it, and no Lua code runs meanwhile), which saves a protected call per table field. A script that
//!   catches the allocation error with `pcall`, `xpcall`, `coroutine.resume`, `coroutine.close` or `load` gets
//!   it raised again, and the failure is recorded, so the call ends with `memory` either way.
//! - **stack_kb**: Lua keeps its call stack on the heap and never recurses natively for Lua-to-Lua calls, so a
//!   native stack overflow cannot happen (nested C calls stop at Lua's limit of 200 with "C stack overflow").
//!   `stack_kb` becomes a maximum call depth of `stack_kb * 1024 / 128` frames (128 bytes being roughly one
//!   frame's `CallInfo` plus its stack slots), at least 16; the hook checks it with the deadline, so a recursion
//!   can overshoot by the frames made in 1000 instructions before it ends with `stack`. Lua's own "stack
//!   overflow" (a million stack slots) and "C stack overflow" also end with `stack`, even if caught by `pcall`.
//!

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mlua::{HookTriggers, Lua, Table, Value, VmState};

/// `memory_mb` bounds what the state costs the process, not only what Lua counts: the system allocator adds
/// 8 to 16 bytes to every block, and most of Lua's blocks are small (a table is 56 bytes, a short string 25
/// plus its length), so a heap of small objects takes 15-30% more resident memory than Lua counts. Lua's own
/// limit is therefore `memory_mb` less this fraction of it (1/8).
pub(crate) const ALLOCATOR_OVERHEAD_DIVISOR: usize = 8;

/// Instructions between two checks of the deadline and the call depth.
pub(crate) const HOOK_INSTRUCTIONS: u32 = 1000;

/// Estimated bytes of Lua stack one Lua call frame takes (a `CallInfo` plus a few 16-byte stack slots),
/// used to turn `stack_kb` into a call depth.
pub(crate) const FRAME_BYTES: u64 = 128;

/// Fewest call frames any `stack_kb` allows, so that a tiny setting still lets a handler call a few helpers.
pub(crate) const MIN_DEPTH: u64 = 16;

const NO_DEADLINE: u64 = u64::MAX;

/// Which limit a call hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tripped {
    None = 0,
    Timeout = 1,
    Stack = 2,
    Memory = 3,
    /// A host function failed fatally (a panic, its deadline, an oversized result): the host session holds the
    /// error.
    Host = 4,
    /// engine-lua's own host-function glue failed (it caught a panic of its own).
    Internal = 5,
}

/// The per-instance limit state shared with the hook.
///
/// Written on every call (the deadline) and read by the hook, so it gets cache lines of its own: two instances'
/// limiters allocated next to each other and used from two threads would otherwise share a line.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Limiter {
    origin: Instant,
    deadline_ns: AtomicU64,
    /// Deepest allowed call stack, in frames.
    pub(crate) max_depth: usize,
    tripped: AtomicU8,
    escalated: AtomicBool,
}

impl Limiter {
    pub(crate) fn new(max_depth: usize) -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            deadline_ns: AtomicU64::new(NO_DEADLINE),
            max_depth,
            tripped: AtomicU8::new(Tripped::None as u8),
            escalated: AtomicBool::new(false),
        })
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(NO_DEADLINE - 1)
    }

    /// Starts the clock of one eval or call.
    pub(crate) fn arm(&self, timeout: Duration) {
        let deadline = self
            .now_ns()
            .saturating_add(u64::try_from(timeout.as_nanos()).unwrap_or(NO_DEADLINE));
        self.deadline_ns
            .store(deadline.min(NO_DEADLINE - 1), Ordering::Relaxed);
    }

    /// Stops the clock; host-driven Lua code (reset, verification) is not timed.
    pub(crate) fn disarm(&self) {
        self.deadline_ns.store(NO_DEADLINE, Ordering::Relaxed);
    }

    pub(crate) fn tripped(&self) -> Tripped {
        match self.tripped.load(Ordering::Relaxed) {
            1 => Tripped::Timeout,
            2 => Tripped::Stack,
            3 => Tripped::Memory,
            4 => Tripped::Host,
            5 => Tripped::Internal,
            _ => Tripped::None,
        }
    }

    /// Whether the running code must be stopped now; records why.
    fn check(&self, lua: &Lua) -> bool {
        if self.out_of_time() {
            return true;
        }
        // lua_getstack walks at most `max_depth` frames and stops at the bottom of the stack, so this costs
        // O(current depth) and almost nothing for ordinary handlers.
        if lua.inspect_stack(self.max_depth, |_| ()).is_some() {
            self.tripped.store(Tripped::Stack as u8, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Whether the running call is past its deadline (or already stopped by a limit); records a timeout. For host
    /// code that runs long without executing Lua instructions (pattern matching).
    pub(crate) fn out_of_time(&self) -> bool {
        if self.tripped() != Tripped::None {
            return true;
        }
        if self.now_ns() > self.deadline_ns.load(Ordering::Relaxed) {
            self.tripped
                .store(Tripped::Timeout as u8, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Records that the running call went past the stack limit (host code that found the native stack too deep).
    pub(crate) fn trip_stack(&self) {
        let _ = self.tripped.compare_exchange(
            Tripped::None as u8,
            Tripped::Stack as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Records that the running call ran out of memory in host code (an allocation error that reached Lua as a
    /// value other than Lua's own message, which the sandbox's `pcall` would not recognise).
    pub(crate) fn trip_memory(&self) {
        let _ = self.tripped.compare_exchange(
            Tripped::None as u8,
            Tripped::Memory as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Records that host code found that the running call must end (`why` is not [`Tripped::None`]); the first
    /// reason recorded wins.
    pub(crate) fn trip(&self, why: Tripped) {
        let _ = self.tripped.compare_exchange(
            Tripped::None as u8,
            why as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Re-installs the normal hook if the last call escalated it to every instruction.
    pub(crate) fn restore(self: &Arc<Self>, lua: &Lua) -> mlua::Result<()> {
        // A plain load first: the usual answer is no, and a swap would write the line on every call.
        if self.escalated.load(Ordering::Relaxed) {
            self.escalated.store(false, Ordering::Relaxed);
            install(lua, self)?;
        }
        Ok(())
    }
}

pub(crate) const STOP: &str = "vmpool: the script hit a limit and is being stopped";

/// Lua's message for a failed allocation (also used by `gsub` when its output would pass the memory limit).
pub(crate) const MEMERR: &str = "not enough memory";

/// A limit that an error Lua or mlua raised stands for.
pub(crate) enum LimitError<'a> {
    Memory,
    /// A stack overflow, with Lua's message.
    Stack(&'a str),
}

/// Which limit `error` stands for, if any, following mlua's wrappers to the error Lua or mlua raised: an
/// allocation failure, or Lua's "stack overflow" / "C stack overflow".
pub(crate) fn limit_error(error: &mlua::Error) -> Option<LimitError<'_>> {
    match error {
        mlua::Error::MemoryError(_) => Some(LimitError::Memory),
        mlua::Error::RuntimeError(message) => {
            let message = lua_message(message);
            if message == MEMERR {
                Some(LimitError::Memory)
            } else if message.contains("stack overflow") {
                Some(LimitError::Stack(message))
            } else {
                None
            }
        }
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            limit_error(cause)
        }
        _ => None,
    }
}

/// A runtime error's message without the traceback mlua appends.
pub(crate) fn lua_message(message: &str) -> &str {
    message
        .split("\nstack traceback:")
        .next()
        .unwrap_or_default()
}

/// Registry key of the sandbox's weak set of every table given as a metatable.
pub(crate) const METATABLES: &str = "vmpool.metatables";

/// Removes the `__close` metamethod from every table the sandbox let a script use as a metatable. Called by
/// the hook just before it raises the error that stops a call: Lua unwinds that error with its hooks switched
/// off and runs the `__close` metamethods of pending to-be-closed values on the way, so one that loops would
/// never be stopped. Without `__close`, closing such a value fails at once (the call is ending anyway). The
/// memory limit is lifted meanwhile (nothing here allocates more than a few references), so that the removal
/// cannot stop half-way at the limit.
fn remove_close_metamethods(lua: &Lua) {
    let Ok(set) = lua.named_registry_value::<Table>(METATABLES) else {
        return;
    };
    let previous = lua.set_memory_limit(0).ok();
    for (metatable, _) in set.pairs::<Table, Value>().flatten() {
        let _ = metatable.raw_set("__close", Value::Nil);
    }
    if let Some(limit) = previous {
        let _ = lua.set_memory_limit(limit);
    }
}

/// Installs the hook on `lua` (global: coroutines created later get it too).
///
/// Once a limit is hit the hook re-installs itself to run on every instruction and fail each time, so that no
/// `pcall` loop can catch the error and carry on: the first instruction after any catch fails again.
pub(crate) fn install(lua: &Lua, limiter: &Arc<Limiter>) -> mlua::Result<()> {
    let limiter = Arc::clone(limiter);
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
        move |lua, _| {
            if limiter.check(lua) {
                limiter.escalated.store(true, Ordering::Relaxed);
                return Err(stop_thread(lua));
            }
            Ok(VmState::Continue)
        },
    )
}

/// Ends the running call from host code (a host function's trampoline) for `why`: records it, makes the running
/// thread raise before every further instruction (as the hook does once a limit is hit), and returns the error
/// to raise now. Other threads of the call stop at their next hook check or when the sandbox's `pcall` sees the
/// error.
pub(crate) fn stop_now(lua: &Lua, limiter: &Limiter, why: Tripped) -> mlua::Error {
    limiter.trip(why);
    limiter.escalated.store(true, Ordering::Relaxed);
    stop_thread(lua)
}

/// The error that stops the running thread, once its call hit a limit. Removes the `__close` metamethods (see
/// [`remove_close_metamethods`]) and gives the thread a hook of its own that raises before every instruction,
/// without removing them again: the thread runs no instruction of its own from then on, so it cannot put one
/// back, and a thread that still runs under the shared hook comes through here first. (Removing them at every
/// raise would cost the number of metatables for each `pcall` level the error unwinds through.)
fn stop_thread(lua: &Lua) -> mlua::Error {
    remove_close_metamethods(lua);
    // If the hook cannot be set (the state is out of memory), the shared hook still raises every
    // HOOK_INSTRUCTIONS instructions, removing the metamethods each time.
    let _ = lua.set_hook(HookTriggers::new().every_nth_instruction(1), |_, _| {
        Err(mlua::Error::runtime(STOP))
    });
    mlua::Error::runtime(STOP)
}

/// Bytes of slack [`unmetered`] leaves on top of the caller's estimate: room for the growth of the host's
/// reference stack and of Lua's string table that the estimate does not count.
const UNMETERED_SLACK: usize = 64 << 10;

/// Runs host code `f` that allocates at most `allocates` bytes of Lua memory, with the allocator's limit lifted
/// while it runs when that provably cannot take the state past `limit`.
///
/// With a limit set, mlua runs every table write from the host in a protected call (a `lua_pcall` each), in case
/// the allocation fails; without one it writes directly. `f` runs unmetered only if the limit in force is
/// `limit` and twice what the state holds plus `allocates`, plus some slack, stays within it (any single growth
/// of an existing structure, such as the string table, at most doubles it, so it adds at most what the state
/// already holds); otherwise the limit stays and mlua protects each write. Either way the limit holds, and it is
/// in place again when this returns, even if `f` panics. `f` must not run Lua code.
pub(crate) fn unmetered<T>(lua: &Lua, limit: usize, allocates: usize, f: impl FnOnce() -> T) -> T {
    let needed = lua
        .used_memory()
        .saturating_add(allocates)
        .saturating_mul(2)
        .saturating_add(UNMETERED_SLACK);
    if limit == 0 || needed > limit {
        return f();
    }
    match lua.set_memory_limit(0) {
        Ok(previous) if previous == limit => {}
        // Someone (a host, through `LuaVm::lua`) set another limit: keep it, metered.
        Ok(previous) => {
            let _ = lua.set_memory_limit(previous);
            return f();
        }
        Err(_) => return f(),
    }
    /// Puts the limit back even if `f` panics.
    struct Restore<'a>(&'a Lua, usize);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = self.0.set_memory_limit(self.1);
        }
    }
    let _restore = Restore(lua, limit);
    f()
}
