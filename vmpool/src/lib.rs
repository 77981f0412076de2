#![doc = include_str!("../README.md")]
//!
//! # Crate layout
//! Everything of [`pool_core`] is re-exported at the root, among it the host API as [`host`] (functions scripts
//! may call, `console`, modules) with its main types [`CallContext`], [`HostApi`] and [`HostError`] at the root
//! too. The engine adapters are behind cargo features:
//! `quickjs` ([`quickjs`], QuickJS through rquickjs), `lua` ([`lua`], Lua 5.4 through mlua) and `boa` ([`boa`],
//! Boa, carried on dedicated threads because its `Context` is not `Send`).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The host API: functions a script may call, the per-request [`CallContext`], `console`, and modules.
pub use pool_core::host;
pub use pool_core::host::{CallContext, HostApi, HostError};
pub use pool_core::*;

/// The QuickJS adapter (feature `quickjs`).
#[cfg(feature = "quickjs")]
#[cfg_attr(docsrs, doc(cfg(feature = "quickjs")))]
pub use engine_quickjs as quickjs;

/// The Lua 5.4 adapter (feature `lua`).
#[cfg(feature = "lua")]
#[cfg_attr(docsrs, doc(cfg(feature = "lua")))]
pub use engine_lua as lua;

/// The Boa adapter (feature `boa`).
#[cfg(feature = "boa")]
#[cfg_attr(docsrs, doc(cfg(feature = "boa")))]
pub use engine_boa as boa;

#[cfg(test)]
mod tests {
    /// The host API is reachable as `vmpool::host` and its main types at the root.
    #[test]
    fn the_host_api_is_re_exported() {
        let api: crate::HostApi = crate::host::HostApi::new()
            .raw_function("fail", |_call, _args| {
                Err(crate::HostError::new("E_X", "no"))
            });
        assert!(api.functions().iter().any(|f| f.path() == "fail"));
        let ctx = crate::CallContext::new("r1");
        assert_eq!(ctx.id(), "r1");
    }
}
