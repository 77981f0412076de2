//! The host API every `vmpool-bench run` script gets, so that scripts that call the service can be measured.
//!
//! On top of `console` (and Lua's `print`) and `vmpool.context()`, which every [`HostApi`] has, scripts get a
//! namespace `host`:
//! - `host.echo(value)` returns its argument unchanged (any JSON value; `null` when called without one);
//! - `host.now()` returns the milliseconds since the Unix epoch.
//!
//! ```
//! let api = pool_bench::host::bench_api();
//! let paths: Vec<&str> = api.functions().iter().map(|f| f.path()).collect();
//! assert!(paths.contains(&"host.echo") && paths.contains(&"host.now") && paths.contains(&"console.log"));
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use pool_core::Value;
use pool_core::host::HostApi;

/// The namespace the functions are in.
pub const NAMESPACE: &str = "host";

/// `console`, `vmpool.context()` and the `host` namespace (`host.echo`, `host.now`).
pub fn bench_api() -> HostApi {
    HostApi::new().namespace(NAMESPACE, |ns| {
        ns.raw_function("echo", |_call, args| {
            Ok(args.first().cloned().unwrap_or(Value::Null))
        })
        .function("now", |_call, (): ()| Ok(now_ms()))
    })
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
