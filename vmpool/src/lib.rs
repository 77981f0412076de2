#![doc = include_str!("../README.md")]
//!
//! # Crate layout
//! Everything of [`pool_core`] is re-exported at the root. The engine adapters are behind cargo features:
//! `quickjs` ([`quickjs`], QuickJS through rquickjs), `lua` ([`lua`], Lua 5.4 through mlua) and `boa` ([`boa`],
//! Boa, carried on dedicated threads because its `Context` is not `Send`).

#![forbid(unsafe_code)]

pub use pool_core::*;

/// The QuickJS adapter (feature `quickjs`).
#[cfg(feature = "quickjs")]
pub use engine_quickjs as quickjs;

/// The Lua 5.4 adapter (feature `lua`).
#[cfg(feature = "lua")]
pub use engine_lua as lua;

/// The Boa adapter (feature `boa`).
#[cfg(feature = "boa")]
pub use engine_boa as boa;
