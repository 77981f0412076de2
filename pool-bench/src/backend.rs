//! The engines this build can run, and the one generic seam ([`Backend`]) through which every runner, bench and
//! CLI command reaches them: each engine is one line of dispatch in [`EngineKind::dispatch`].

use std::fmt;

use pool_core::{EngineConfig, Limits, ScriptEngine, ScriptError};

/// The language an engine runs; picks the variant of a built-in workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// JavaScript (QuickJS, Boa).
    JavaScript,
    /// Lua 5.4.
    Lua,
}

/// An engine, selected by its lower-case name (`quickjs`, `lua`, `boa`).
///
/// Every engine has a variant whatever features are on; [`EngineKind::compiled`] lists the ones this build
/// contains, and [`EngineKind::dispatch`] fails with [`NotCompiled`] for the others.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// QuickJS through rquickjs: instances are `Send`.
    #[value(name = "quickjs")]
    QuickJs,
    /// Lua 5.4 through mlua: instances are `Send`.
    Lua,
    /// Boa: instances are not `Send`, so the pool holds them through pool-core's `Carrier`.
    Boa,
}

impl EngineKind {
    /// Every engine, in the order tables list them.
    pub const ALL: [EngineKind; 3] = [EngineKind::QuickJs, EngineKind::Lua, EngineKind::Boa];

    /// The engine's lower-case name, as on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::QuickJs => "quickjs",
            EngineKind::Lua => "lua",
            EngineKind::Boa => "boa",
        }
    }

    /// The language the engine runs.
    pub const fn language(self) -> Language {
        match self {
            EngineKind::Lua => Language::Lua,
            EngineKind::QuickJs | EngineKind::Boa => Language::JavaScript,
        }
    }

    /// Whether this build contains the engine (cargo features `quickjs`, `lua`, `boa`).
    pub const fn is_compiled(self) -> bool {
        match self {
            EngineKind::QuickJs => cfg!(feature = "quickjs"),
            EngineKind::Lua => cfg!(feature = "lua"),
            EngineKind::Boa => cfg!(feature = "boa"),
        }
    }

    /// The engines this build contains.
    pub fn compiled() -> Vec<EngineKind> {
        Self::ALL.into_iter().filter(|k| k.is_compiled()).collect()
    }

    /// Runs `visitor` with the [`Backend`] of this engine.
    ///
    /// # Errors
    /// [`NotCompiled`] when the engine's cargo feature is off.
    #[cfg_attr(
        not(any(feature = "quickjs", feature = "lua", feature = "boa")),
        allow(unused_variables)
    )]
    pub fn dispatch<V: BackendVisitor>(self, visitor: V) -> Result<V::Output, NotCompiled> {
        match self {
            #[cfg(feature = "quickjs")]
            EngineKind::QuickJs => Ok(visitor.visit::<QuickJs>()),
            #[cfg(feature = "lua")]
            EngineKind::Lua => Ok(visitor.visit::<Lua>()),
            #[cfg(feature = "boa")]
            EngineKind::Boa => Ok(visitor.visit::<Boa>()),
            #[allow(unreachable_patterns)]
            other => Err(NotCompiled(other)),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The engine is not in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("engine `{0}` is not compiled in (build pool-bench with the cargo feature `{0}`)")]
pub struct NotCompiled(pub EngineKind);

/// Code generic over the engine: [`EngineKind::dispatch`] calls [`visit`](BackendVisitor::visit) with the chosen
/// engine's [`Backend`]. (A closure cannot be generic, hence the trait.)
pub trait BackendVisitor {
    /// What the visit returns.
    type Output;
    /// Does the work with backend `B`.
    fn visit<B: Backend>(self) -> Self::Output;
}

/// How to build one engine, both ways it is used.
pub trait Backend: 'static {
    /// Which engine this is.
    const KIND: EngineKind;
    /// The engine itself; its instances live on the thread that creates them. Used for fresh instances (one per
    /// request, as without a pool) and for memory measurements.
    type Bare: ScriptEngine;
    /// What the pool holds: instances that can move between threads (the engine itself when its instances are
    /// `Send`, otherwise the engine inside pool-core's `Carrier`).
    type Pooled: ScriptEngine<Vm: Send>;

    /// Builds the bare engine (checks the configuration and the prelude).
    ///
    /// # Errors
    /// The engine's constructor's error: invalid limits, a prelude that does not parse (naming the line) or throws.
    fn bare(config: EngineConfig) -> Result<Self::Bare, ScriptError>;

    /// Builds the engine as the pool holds it.
    ///
    /// # Errors
    /// As for [`Backend::bare`].
    fn pooled(config: EngineConfig) -> Result<Self::Pooled, ScriptError>;

    /// The native stack a thread that runs this engine's instances should have under `limits`.
    fn thread_stack_bytes(limits: &Limits) -> usize {
        // The engine's stack limit plus room for the host's own frames.
        limits.stack_bytes().saturating_add(8 * 1024 * 1024)
    }
}

/// QuickJS: instances are `Send`, pooled as they are.
#[cfg(feature = "quickjs")]
#[derive(Debug)]
pub struct QuickJs;

#[cfg(feature = "quickjs")]
impl Backend for QuickJs {
    const KIND: EngineKind = EngineKind::QuickJs;
    type Bare = engine_quickjs::QuickJsEngine;
    type Pooled = engine_quickjs::QuickJsEngine;

    fn bare(config: EngineConfig) -> Result<Self::Bare, ScriptError> {
        engine_quickjs::QuickJsEngine::new(config)
    }
    fn pooled(config: EngineConfig) -> Result<Self::Pooled, ScriptError> {
        engine_quickjs::QuickJsEngine::new(config)
    }
}

/// Lua: instances are `Send`, pooled as they are.
#[cfg(feature = "lua")]
#[derive(Debug)]
pub struct Lua;

#[cfg(feature = "lua")]
impl Backend for Lua {
    const KIND: EngineKind = EngineKind::Lua;
    type Bare = engine_lua::LuaEngine;
    type Pooled = engine_lua::LuaEngine;

    fn bare(config: EngineConfig) -> Result<Self::Bare, ScriptError> {
        engine_lua::LuaEngine::new(config)
    }
    fn pooled(config: EngineConfig) -> Result<Self::Pooled, ScriptError> {
        engine_lua::LuaEngine::new(config)
    }
}

/// Boa: instances are not `Send`; the pool holds them through a `Carrier` (one thread per instance, with the
/// carrier's wall-clock deadline set to the configured timeout).
#[cfg(feature = "boa")]
#[derive(Debug)]
pub struct Boa;

#[cfg(feature = "boa")]
impl Backend for Boa {
    const KIND: EngineKind = EngineKind::Boa;
    type Bare = engine_boa::BoaEngine;
    type Pooled = pool_core::Carrier<engine_boa::BoaEngine>;

    fn bare(config: EngineConfig) -> Result<Self::Bare, ScriptError> {
        engine_boa::BoaEngine::new(config)
    }
    fn pooled(config: EngineConfig) -> Result<Self::Pooled, ScriptError> {
        let timeout = config.limits.timeout;
        let stack = Self::thread_stack_bytes(&config.limits);
        Ok(pool_core::Carrier::new(engine_boa::BoaEngine::new(config)?)
            .timeout(timeout)
            .stack_size(stack))
    }
    fn thread_stack_bytes(limits: &Limits) -> usize {
        // Boa runs every operation on at least ENGINE_STACK_BYTES (reserved lazily); a thread that has it avoids a
        // fresh stack segment per operation.
        engine_boa::ENGINE_STACK_BYTES
            .max(limits.stack_bytes())
            .saturating_add(1024 * 1024)
    }
}
