//! Lua 5.4 for vmpool, through [`mlua`]: sandboxed instances, strict isolation between uses, and limits on
//! time, memory and stack that a script cannot catch. [`LuaEngine`] implements [`ScriptEngine`]; its instances,
//! [`LuaVm`], are `Send` (mlua's `send` feature), so a pool moves them between threads.
//!
//! ```
//! use engine_lua::LuaEngine;
//! use pool_core::{EngineConfig, ErrorKind, ScriptEngine, Value};
//! use serde_json::json;
//!
//! let engine = LuaEngine::new(EngineConfig::new(
//!     r#"
//!     function handle(input)
//!       local s = 0
//!       for _, v in ipairs(input.items) do s = s + v end
//!       return { sum = s, n = #input.items }
//!     end
//!     "#,
//! ))?;
//! let mut vm = engine.create()?;
//! let out = engine.call(&mut vm, "handle", &[json!({ "items": [1, 2, 3] })])?;
//! assert_eq!(out, json!({ "sum": 6, "n": 3 }));
//!
//! // A use's globals are gone after the reset the pool makes between uses.
//! engine.eval(&mut vm, "leftover = 1")?;
//! engine.reset(&mut vm)?;
//! assert_eq!(engine.eval(&mut vm, "leftover")?, Value::Null);
//!
//! // The sandbox: no files, no commands.
//! let err = engine.eval(&mut vm, "io.open('/etc/passwd')").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Exception);
//! # Ok::<(), pool_core::ScriptError>(())
//! ```
//!
//! # Limits and isolation
//! An instance that hit a limit reports [`ScriptEngine::is_broken`] and refuses further use.
//!
//! | what | how | error kind | details |
//! | --- | --- | --- | --- |
//! | `limits.timeout` | an instruction-count hook (every 1000 instructions, in every coroutine) compares the clock with the deadline, then raises on every instruction until the call returns; also covers conversion and pattern matching | `timeout` | [`limits`] |
//! | `limits.memory_mb` | mlua's allocator limit for the state, 7/8 of `memory_mb`; a caught allocation error is raised again | `memory` | [`limits`] |
//! | `limits.stack_kb` | a maximum call depth of `stack_kb * 1024 / 128` frames (at least 16), checked by the hook; Lua's own stack overflows | `stack` | [`limits`] |
//! | `max_source_bytes` | checked before compiling | `syntax` | |
//! | sandbox (every policy) | only safe globals and libraries, text chunks only, no `__gc`, a step-counted pattern matcher, bounded library loops | `exception` | [`sandbox`] |
//! | `Isolation::Strict` | each use in its own environment over a read-only baseline; library and prelude tables are read-only views; the generator reseeded at every reset | `exception` for a refused write | [`isolation`] |
//! | `Isolation::Scrub` | the reset deletes the globals added since creation | | [`isolation`] |
//! | `verify_reset` | the reset checks a fingerprint and fails on a mismatch | `internal` | [`isolation`] |
//!
//! How outcomes are classified: [`errors`]; how values cross: [`convert`].
//!
//! # `eval`
//! The source is first compiled as `return <source>` (so `1 + 1` evaluates to `2`), and if that does not parse,
//! as a chunk of statements, whose value is what it `return`s (or `null`). Chunk names are `eval` and the
//! prelude's name, so a syntax error reads `eval:3: unexpected symbol near ...`.

#![forbid(unsafe_code)]

pub mod convert;
pub mod errors;
mod host;
pub mod isolation;
pub mod limits;
mod pattern;
pub mod sandbox;

use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, LuaOptions, LuaString, MultiValue, StdLib, Table, Value as LuaValue};
use pool_core::host::{CallContext, HostSession, Language};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, ScriptError, Value};
use rand::Rng as _;

use crate::convert::{Fail, FromLua};
use crate::errors::{Errors, internal};
use crate::host::Host;
use crate::isolation::{ENV_BYTES, Keys, Strict, strict_parts};
use crate::limits::{ALLOCATOR_OVERHEAD_DIVISOR, FRAME_BYTES, Limiter, MIN_DEPTH, Tripped};

/// The factory of Lua instances: holds the configuration and the prelude, compiled once.
#[derive(Debug)]
pub struct LuaEngine {
    config: EngineConfig,
    /// The prelude's bytecode, compiled by [`LuaEngine::new`]; `None` for an empty prelude.
    prelude: Option<Vec<u8>>,
    /// The sandbox setup's bytecode, compiled by [`LuaEngine::new`].
    sandbox: Vec<u8>,
    max_depth: usize,
    /// The limits error messages name.
    errors: Errors,
}

/// One Lua instance: a Lua state with the sandbox, the prelude and the current use's environment.
///
/// `Send` (mlua's `send` feature), so the pool can move it between threads.
pub struct LuaVm {
    lua: Lua,
    limiter: Arc<Limiter>,
    /// The host API's state: the session (the current operation's context) and the dispatcher's failures.
    host: Arc<Host>,
    /// The environment scripts run in: the current use's table (strict) or the global table.
    env: Table,
    state: Table,
    /// Strings used as keys on every call or reset, made once.
    keys: Keys,
    /// The function name of the last call, and its Lua string.
    last_name: Option<(String, LuaString)>,
    strict: Option<Strict>,
    scrub: Option<Function>,
    broken: Option<ErrorKind>,
}

impl std::fmt::Debug for LuaVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaVm")
            .field("used_memory", &self.lua.used_memory())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl LuaVm {
    /// The underlying Lua state, for hosts that add their own functions. Whatever is changed through it is
    /// outside the sandbox's and the isolation policy's guarantees (a reset's verification may catch it).
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// The limit this instance hit, if any; such an instance refuses further use.
    pub fn broken_by(&self) -> Option<ErrorKind> {
        self.broken
    }
}

impl LuaEngine {
    /// Checks `config` and compiles its prelude.
    ///
    /// # Errors
    /// `syntax` naming the line when the prelude does not parse; `internal` when a limit is zero (which would
    /// disable it).
    pub fn new(config: EngineConfig) -> Result<Self, ScriptError> {
        config.isolation.require_not_snapshot("Lua")?;
        config.limits.validate().map_err(|e| {
            ScriptError::new(
                ErrorKind::Internal,
                format!("invalid Lua engine configuration: {e}"),
            )
        })?;
        let lua = Lua::new_with(StdLib::NONE, LuaOptions::default()).map_err(internal)?;
        let sandbox = sandbox::compile(&lua).map_err(internal)?;
        let prelude = if config.prelude.trim().is_empty() {
            None
        } else {
            let function = lua
                .load(config.prelude.as_str())
                .set_name(format!("={}", config.prelude_name))
                .set_mode(ChunkMode::Text)
                .into_function()
                .map_err(|e| match e {
                    mlua::Error::SyntaxError { message, .. } => {
                        ScriptError::new(ErrorKind::Syntax, message)
                    }
                    other => internal(other),
                })?;
            Some(function.dump(false))
        };
        let depth = (config.limits.stack_kb.saturating_mul(1024) / FRAME_BYTES).max(MIN_DEPTH);
        let max_depth = usize::try_from(depth)
            .unwrap_or(usize::MAX)
            .min(i32::MAX as usize);
        let errors = Errors {
            memory_mb: config.limits.memory_mb,
            stack_kb: config.limits.stack_kb,
            max_depth,
        };
        Ok(Self {
            config,
            prelude,
            sandbox,
            max_depth,
            errors,
        })
    }

    /// The configuration this engine was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The deepest call stack a script may build, in Lua call frames (from `limits.stack_kb`).
    pub fn max_call_depth(&self) -> usize {
        self.max_depth
    }

    /// The limit given to Lua's allocator: `memory_mb` less the allowance for the system allocator's overhead.
    fn heap_limit(&self) -> usize {
        let limit = self.config.limits.memory_bytes();
        limit - limit / ALLOCATOR_OVERHEAD_DIVISOR
    }

    fn refuse_broken(vm: &LuaVm) -> Result<(), ScriptError> {
        match vm.broken {
            Some(kind) => Err(ScriptError::new(
                kind,
                format!("this Lua instance hit its {kind} limit earlier and must be discarded"),
            )),
            None => Ok(()),
        }
    }

    /// Ends a timed eval or call: stops the clock, restores the hook, and classifies the outcome. A limit that
    /// was hit wins over whatever the script made of it.
    fn finish<T>(&self, vm: &mut LuaVm, result: Result<T, Fail>) -> Result<T, ScriptError> {
        // A single call into a C function cannot be interrupted: one that ran past the deadline is a timeout
        // too, even if it then returned.
        vm.limiter.out_of_time();
        vm.limiter.disarm();
        let restored = vm.limiter.restore(&vm.lua);
        let tripped = vm.limiter.tripped();
        // A host call that failed fatally (its panic, its deadline, its oversized result) wins over what the
        // script made of it, and over the limit the call was then stopped with.
        let fatal = if vm.host.session().is_fatal() || tripped == Tripped::Internal {
            vm.host.take_failure()
        } else {
            None
        };
        let error = match (fatal, tripped) {
            (Some(fatal), _) => Some(fatal),
            (None, Tripped::Timeout) => Some(ScriptError::timeout(self.config.limits.timeout)),
            (None, Tripped::Stack) => Some(self.errors.stack("")),
            (None, Tripped::Memory) => Some(self.errors.memory()),
            (None, Tripped::Host | Tripped::Internal) => Some(ScriptError::new(
                ErrorKind::Internal,
                "a host function call failed fatally in this operation",
            )),
            (None, Tripped::None) => match vm.state.raw_get::<LuaValue>(&vm.keys.hit) {
                Ok(LuaValue::String(s)) if s.as_bytes().starts_with(b"memory") => {
                    Some(self.errors.memory())
                }
                Ok(LuaValue::String(_)) => Some(self.errors.stack(": stack overflow")),
                Ok(_) => None,
                Err(_) => Some(self.errors.memory()),
            },
        };
        let error = match (error, result) {
            (Some(e), _) => e,
            (None, Ok(value)) => match restored {
                Ok(()) => return Ok(value),
                Err(e) => self.errors.lua(e),
            },
            (None, Err(Fail::Conversion(message))) => {
                ScriptError::new(ErrorKind::Conversion, message)
            }
            (None, Err(Fail::TooLarge)) => {
                ScriptError::new(ErrorKind::Conversion, convert::TOO_LARGE)
            }
            (None, Err(Fail::Lua(e))) => self.errors.lua(e),
            (None, Err(Fail::Metamethod(e))) => match self.errors.lua(e) {
                e if e.kind() == ErrorKind::Exception => ScriptError::new(
                    ErrorKind::Conversion,
                    format!(
                        "a __pairs metamethod failed during conversion: {}",
                        e.message()
                    ),
                ),
                e => e,
            },
        };
        let error = pool_core::engine::explain_refused_write(self.config.isolation, error);
        if error.kind().taints_instance() {
            vm.broken = Some(error.kind());
        }
        Err(error)
    }

    fn run(&self, limiter: &Limiter, function: &Function, args: MultiValue) -> Result<Value, Fail> {
        let results: MultiValue = function.call(args)?;
        let first = results.into_iter().next().unwrap_or(LuaValue::Nil);
        FromLua::new(self.config.limits.memory_bytes())
            .deadline(limiter)
            .convert(&first)
    }

    /// Builds the instance from what the sandbox set-up returned, runs the prelude and finishes the sandbox.
    fn adopt(
        &self,
        lua: Lua,
        limiter: Arc<Limiter>,
        host: Arc<Host>,
        setup: &Table,
    ) -> Result<LuaVm, ScriptError> {
        let get = |name: &str| {
            setup
                .raw_get::<LuaValue>(name)
                .map_err(|e| self.errors.lua(e))
        };
        let function = |name: &str| match get(name)? {
            LuaValue::Function(f) => Ok(Some(f)),
            _ => Ok::<_, ScriptError>(None),
        };
        let Some(finish) = function("finish")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `finish`",
            ));
        };
        let LuaValue::Table(state) = get("state")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `state`",
            ));
        };
        let LuaValue::Table(prelude_env) = get("prelude_env")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `prelude_env`",
            ));
        };
        let LuaValue::Table(metatables) = get("metatables")? else {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "sandbox setup did not return `metatables`",
            ));
        };
        lua.set_named_registry_value(limits::METATABLES, metatables)
            .map_err(internal)?;
        let keys = Keys::new(&lua).map_err(internal)?;
        let mut vm = LuaVm {
            env: prelude_env.clone(),
            keys,
            last_name: None,
            strict: None,
            scrub: function("scrub")?,
            lua,
            limiter,
            host,
            state,
            broken: None,
        };

        // Modules first (each once, under the limits, in registration order), then the prelude.
        if let Some(load_module) = function("load_module")? {
            for module in self.config.host.modules() {
                if !module.is_for(Language::Lua) {
                    continue;
                }
                let name = module.name();
                self.setup_step(&mut vm, |_| {
                    load_module
                        .call::<LuaValue>(name)
                        .map(drop)
                        .map_err(Fail::Lua)
                })
                .map_err(|e| {
                    ScriptError::new(
                        e.kind(),
                        format!("Lua module '{name}' failed to load: {}", e.message()),
                    )
                })?;
            }
        }
        if let Some(bytecode) = &self.prelude {
            self.setup_step(&mut vm, |vm| {
                vm.lua
                    .load(bytecode.as_slice())
                    .set_mode(ChunkMode::Binary)
                    .set_environment(prelude_env)
                    .into_function()
                    .and_then(|f| f.call::<()>(()))
                    .map_err(Fail::Lua)
            })?;
        }
        let finished = finish.call::<Table>(()).map_err(|e| self.errors.lua(e))?;
        if self.config.isolation == Isolation::Strict {
            let strict = strict_parts(&finished).map_err(|e| self.errors.lua(e))?;
            vm.env = strict
                .new_env(&vm.lua, &vm.keys)
                .map_err(|e| self.errors.lua(e))?;
            vm.strict = Some(strict);
        } else {
            vm.env = finished;
        }
        Ok(vm)
    }

    /// Runs one step of the set-up (a module, the prelude) as an operation of its own: under the limits, with no
    /// context for the host functions it calls.
    fn setup_step(
        &self,
        vm: &mut LuaVm,
        step: impl FnOnce(&LuaVm) -> Result<(), Fail>,
    ) -> Result<(), ScriptError> {
        let session = Arc::clone(vm.host.session());
        let active = session.enter(None, self.config.limits.timeout);
        vm.limiter.arm(self.config.limits.timeout);
        let result = step(vm);
        let result = self.finish(vm, result).map(|()| Value::Null);
        active.finish(result).map(drop)
    }

    /// Runs one eval or call as an operation of the instance's host session: `context` is current for the host
    /// functions it calls (and gone when this returns), the deadline is the call's, and a fatal host failure
    /// replaces the result and breaks the instance.
    fn operation(
        &self,
        vm: &mut LuaVm,
        context: Option<&CallContext>,
        op: impl FnOnce(&Self, &mut LuaVm) -> Result<Value, ScriptError>,
    ) -> Result<Value, ScriptError> {
        let session = Arc::clone(vm.host.session());
        let active = session.enter(context, self.config.limits.timeout);
        let result = active.finish(op(self, vm));
        if let Err(error) = &result
            && error.kind().taints_instance()
            && vm.broken.is_none()
        {
            vm.broken = Some(error.kind());
        }
        result
    }

    fn eval_inner(&self, vm: &mut LuaVm, source: &str) -> Result<Value, ScriptError> {
        Self::refuse_broken(vm)?;
        self.config.check_source_size(source)?;
        vm.limiter.arm(self.config.limits.timeout);
        let result = self
            .compile_eval(vm, source)
            .and_then(|f| self.run(&vm.limiter, &f, MultiValue::new()));
        self.finish(vm, result)
    }

    fn call_inner(
        &self,
        vm: &mut LuaVm,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        Self::refuse_broken(vm)?;
        vm.limiter.arm(self.config.limits.timeout);
        let target = match lookup(vm, function) {
            Ok(LuaValue::Function(f)) => f,
            Ok(_) => {
                vm.limiter.disarm();
                return Err(ScriptError::new(
                    ErrorKind::Exception,
                    format!("no global function `{function}`"),
                ));
            }
            Err(e) => return self.finish(vm, Err(Fail::Lua(e))),
        };
        // Converting the arguments writes every field of every table from the host, which is much cheaper
        // unmetered: done so when they are small enough that the memory limit cannot be reached (see
        // `limits::unmetered`). No Lua code runs meanwhile.
        let allocates = args
            .iter()
            .try_fold(0usize, |sum, arg| {
                Some(sum.saturating_add(convert::lua_bytes(arg)?))
            })
            .unwrap_or(usize::MAX);
        let lua_args = limits::unmetered(&vm.lua, self.heap_limit(), allocates, || {
            let mut lua_args = MultiValue::with_capacity(args.len());
            for arg in args {
                lua_args.push_back(convert::to_lua(&vm.lua, arg)?);
            }
            Ok(lua_args)
        });
        let lua_args = match lua_args {
            Ok(lua_args) => lua_args,
            Err(e) => return self.finish(vm, Err(e)),
        };
        let result = self.run(&vm.limiter, &target, lua_args);
        self.finish(vm, result)
    }

    fn compile_eval(&self, vm: &LuaVm, source: &str) -> Result<Function, Fail> {
        let load = |text: &str| {
            vm.lua
                .load(text)
                .set_name("=eval")
                .set_mode(ChunkMode::Text)
                .set_environment(vm.env.clone())
                .into_function()
        };
        match load(&format!("return {source}")) {
            Ok(f) => Ok(f),
            Err(mlua::Error::SyntaxError { .. }) => Ok(load(source)?),
            Err(e) => Err(e.into()),
        }
    }
}

/// Looks up global `name` as a script of the current use would: under strict isolation the use's environment,
/// then the baseline behind it (both read raw, which is what the environment's protected metatable amounts
/// to); otherwise the global table, metamethods included (under the limits: a script may have given the global
/// table a metatable). The name's Lua string is kept for the next call, which usually names the same function.
fn lookup(vm: &mut LuaVm, name: &str) -> mlua::Result<LuaValue> {
    let key = match &vm.last_name {
        Some((text, key)) if text.as_str() == name => key.clone(),
        _ => {
            let key = vm.lua.create_string(name)?;
            vm.last_name = Some((name.to_owned(), key.clone()));
            key
        }
    };
    match &vm.strict {
        Some(strict) => match vm.env.raw_get::<LuaValue>(&key)? {
            LuaValue::Nil => strict.baseline_get(&key),
            found => Ok(found),
        },
        None => vm.env.get(&key),
    }
}

impl ScriptEngine for LuaEngine {
    type Vm = LuaVm;
    type Error = ScriptError;

    fn create(&self) -> Result<LuaVm, ScriptError> {
        let libs = StdLib::STRING
            | StdLib::TABLE
            | StdLib::MATH
            | StdLib::UTF8
            | StdLib::COROUTINE
            | StdLib::OS;
        let lua = Lua::new_with(libs, LuaOptions::default()).map_err(internal)?;
        lua.set_memory_limit(self.heap_limit()).map_err(internal)?;
        let limiter = Limiter::new(self.max_depth);
        limits::install(&lua, &limiter).map_err(internal)?;
        let session = HostSession::new(
            Arc::clone(&self.config.host),
            self.config.limits.memory_bytes(),
        );
        let host = Host::new(session, Arc::clone(&limiter), self.heap_limit());
        host::install(&lua, &host).map_err(internal)?;
        pattern::install(&lua, &limiter, self.config.limits.memory_bytes()).map_err(internal)?;
        sandbox::install_helpers(&lua, &limiter).map_err(internal)?;

        let setup = lua
            .load(self.sandbox.as_slice())
            .set_mode(ChunkMode::Binary)
            .set_environment(lua.globals())
            .into_function()
            .and_then(|f| f.call::<Table>(self.config.isolation.as_str()))
            .map_err(|e| self.errors.lua(e))?;
        lua.set_globals(lua.create_table().map_err(|e| self.errors.lua(e))?)
            .map_err(internal)?;
        // The registry's table of loaded libraries still holds the state's original global table (with `load`,
        // `dofile` and the host's helpers): nothing needs it any more.
        let loaded: Table = lua
            .named_registry_value("_LOADED")
            .map_err(|e| self.errors.lua(e))?;
        loaded
            .raw_set("_G", LuaValue::Nil)
            .map_err(|e| self.errors.lua(e))?;
        drop(loaded);
        let vm = self.adopt(lua, limiter, host, &setup)?;
        drop(setup);
        // An idle instance holds only what it needs: the garbage of the set-up (the state's original global
        // table, the sandbox chunk, temporary tables) goes now rather than at some later use.
        vm.lua.gc_collect().map_err(|e| self.errors.lua(e))?;
        Ok(vm)
    }

    fn eval(&self, vm: &mut LuaVm, source: &str) -> Result<Value, ScriptError> {
        self.operation(vm, None, |engine, vm| engine.eval_inner(vm, source))
    }

    fn call(&self, vm: &mut LuaVm, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
        self.operation(vm, None, |engine, vm| engine.call_inner(vm, function, args))
    }

    fn eval_with(
        &self,
        vm: &mut LuaVm,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |engine, vm| {
            engine.eval_inner(vm, source)
        })
    }

    fn call_with(
        &self,
        vm: &mut LuaVm,
        context: &CallContext,
        function: &str,
        args: &[Value],
    ) -> Result<Value, ScriptError> {
        self.operation(vm, Some(context), |engine, vm| {
            engine.call_inner(vm, function, args)
        })
    }

    fn reset(&self, vm: &mut LuaVm) -> Result<(), ScriptError> {
        if let Some(kind) = vm.broken {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                format!("this Lua instance hit its {kind} limit and cannot be reset"),
            ));
        }
        let verify = self.config.verify_reset;
        let mismatch = match self.config.isolation {
            // Snapshot is refused by `new`.
            Isolation::None | Isolation::Snapshot => return Ok(()),
            Isolation::Strict => {
                let strict = vm.strict.as_ref().ok_or_else(|| {
                    ScriptError::new(ErrorKind::Internal, "strict isolation without its baseline")
                })?;
                let mismatch = if verify {
                    strict
                        .check(&vm.env, &vm.keys)
                        .map_err(|e| self.errors.lua(e))?
                } else {
                    None
                };
                let env = limits::unmetered(&vm.lua, self.heap_limit(), ENV_BYTES, || {
                    strict.new_env(&vm.lua, &vm.keys)
                })
                .map_err(|e| self.errors.lua(e))?;
                vm.env = env;
                // A generator state carried over would let one use predict (and steer) the next one's numbers.
                let mut random = rand::rng();
                strict
                    .reseed((random.next_u64() as i64, random.next_u64() as i64))
                    .map_err(|e| self.errors.lua(e))?;
                mismatch
            }
            Isolation::Scrub => {
                let scrub = vm.scrub.as_ref().ok_or_else(|| {
                    ScriptError::new(
                        ErrorKind::Internal,
                        "scrub isolation without a scrub function",
                    )
                })?;
                scrub
                    .call::<Option<String>>(verify)
                    .map_err(|e| self.errors.lua(e))?
            }
        };
        match mismatch {
            Some(mismatch) => Err(ScriptError::new(
                ErrorKind::Internal,
                format!(
                    "reset verification failed ({} isolation): {mismatch}",
                    self.config.isolation
                ),
            )),
            None => Ok(()),
        }
    }

    fn is_broken(&self, vm: &mut LuaVm) -> bool {
        vm.broken.is_some()
    }

    fn memory_usage(&self, vm: &mut LuaVm) -> Option<usize> {
        Some(vm.lua.used_memory())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pool_core::EngineConfig;

    #[test]
    fn a_strict_reset_reseeds_the_random_generator() {
        // Seed the generator the same way before two uses: without the reseed at reset, both draw the same
        // numbers (so a use that learned the generator's state would know the next use's numbers).
        let engine = LuaEngine::new(EngineConfig::new("")).unwrap();
        let mut vm = engine.create().unwrap();
        let draw = "local t = {} for i = 1, 4 do t[i] = math.random(0) end return t";
        let seed = |vm: &LuaVm| {
            let strict = vm.strict.as_ref().unwrap();
            strict.reseed((1, 2)).unwrap();
        };
        seed(&vm);
        let first = engine.eval(&mut vm, draw).unwrap();
        seed(&vm);
        let again = engine.eval(&mut vm, draw).unwrap();
        assert_eq!(first, again, "the same seed draws the same numbers");
        seed(&vm);
        engine.reset(&mut vm).unwrap();
        let after_reset = engine.eval(&mut vm, draw).unwrap();
        assert_ne!(first, after_reset);
    }
}
