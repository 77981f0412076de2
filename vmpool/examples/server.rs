//! An HTTP service on the pool: `/run/{name}` runs the handler script `name` with the JSON body, on `tokio` +
//! `axum`, through [`Pool::acquire_async`], with a SQLite-backed `kv` store for scripts, the request as their
//! context, their console in the server's log, Prometheus metrics and graceful shutdown.
//!
//! ```text
//! cargo run --release -p vmpool --example server --features quickjs -- \
//!     --config config.toml --scripts vmpool/examples/scripts --listen 127.0.0.1:8080 --db /tmp/kv.sqlite3
//! curl -s -X POST 127.0.0.1:8080/run/hello -d '{"name": "Ada"}'        # {"greeting":"Hello, Ada!"}
//! curl -s -X PUT '127.0.0.1:8080/run/notes?key=todo' -d '["milk"]'     # {"key":"todo","stored":true}
//! curl -s '127.0.0.1:8080/run/notes?key=todo'                          # {"key":"todo","value":["milk"]}
//! curl -s 127.0.0.1:8080/metrics                                       # Prometheus text format
//! ```
//!
//! Flags (all optional): `--config FILE` (default `config.toml`: its `[vm_pool]` section, limits included),
//! `--scripts DIR` (default: this example's `scripts/` folder), `--listen ADDR` (default `127.0.0.1:8080`),
//! `--engine quickjs|lua|boa` (default: the first engine compiled in, in that order), `--db FILE` (the `kv`
//! database, created if missing; default: a database in a new temporary folder, removed when the server stops).
//! The engine is chosen at build time by the cargo features `quickjs`, `lua` and `boa`; built without any, the
//! example says so and exits. `RUST_LOG` sets the log level (default `info`).
//!
//! # Handlers: one pool per script
//! Every `NAME.js` in the scripts folder (`NAME.lua` for the `lua` engine) is one handler, served at `/run/NAME`
//! (methods GET, POST, PUT, PATCH and DELETE). Each handler gets a pool of its own whose engine runs the file as
//! its prelude, so handlers are isolated from each other (a handler that keeps timing out only ever discards its
//! own instances) and each shows up in the metrics under its own `handler` label. Every pool has the `[vm_pool]`
//! settings, so the server holds at most `max_size` instances per handler. The script defines a global
//! `handle(request)`; it receives the request body as a value (objects, arrays, strings, numbers, booleans, null;
//! an empty body is `null` for GET and DELETE) and its return value is the response body. With `--engine boa`,
//! `limits.memory_mb` is enforced through Boa's counting allocator, which this example installs as its global
//! allocator (see the `engine-boa` docs, "Limits").
//!
//! # What scripts get from the service
//! - `kv.get(key)` / `kv.set(key, value)`: any JSON value, stored in SQLite (see the [`kv`] module), each handler in
//!   a key space of its own. Synchronous, on the request's blocking thread, within `limits.timeout`.
//! - `vmpool.context()`: `{ id, data }`, where `id` is the request id and `data` is the request:
//!   `{ handler, method, path, query, headers }` (`query`: the query string's pairs as an object of strings, the
//!   last one winning for a repeated name; `headers`: lower-case names, repeated headers joined by `", "`, values
//!   that are not text left out). It is the current request's only: after the call it is gone, and a function a
//!   script kept sees the next request's context, never this one's.
//! - `console.log/info/warn/error/debug` (and `print` in Lua): into this server's log, target `vmpool::script`,
//!   each line prefixed with `[request id]`, at most 1000 lines and 64 KiB per request (more is counted and
//!   dropped; the server then logs a warning with the count).
//!
//! The request id is the client's `X-Request-Id` header when it is 1 to 64 characters of `A-Z a-z 0-9 . _ : -`,
//! otherwise one the server makes up; every `/run` answer carries it back in `X-Request-Id`.
//!
//! # Requests never block the runtime
//! A request waits for an instance with `acquire_async().await` (no thread is blocked while it waits) and then
//! moves the owned guard into [`tokio::task::spawn_blocking`] for the call, which is synchronous CPU work (and
//! `kv` calls) of up to `limits.timeout`. The guard is dropped on that blocking thread, so the reset between uses
//! runs there too. When a request finds no idle instance but the pool may still grow, `acquire_async` creates the
//! new instance on a thread of its own, so instance creation never runs on the async workers either.
//!
//! # Status codes
//! | outcome | status | body |
//! | --- | --- | --- |
//! | the handler returned a value | 200 | the value |
//! | body is not JSON, or the query string is malformed | 400 | `{"error": "bad_request", "message": ...}` |
//! | no such handler | 404 | `{"error": "not_found", ...}` |
//! | script threw, hit the memory or stack limit, or returned something that is not a value | 422 | `{"error": "exception" / "memory" / "stack" / "conversion", "message": ...}` |
//! | a host function failed and the script did not catch it | by its code (below) | `{"error": "host", "code": ..., "message": ...}` |
//! | pool exhausted (no instance free within `acquire_timeout`) | 503 + `Retry-After: 1` | `{"error": "exhausted", ...}` |
//! | pool closed (shutting down) or an instance could not be created | 503 | `{"error": "closed", ...}` or the creation error's kind |
//! | script ran past `limits.timeout` (time in `kv` calls included) | 504 | `{"error": "timeout", ...}` |
//! | engine fault (`internal`, a host function that panicked included) | 500 | `{"error": "internal", ...}` |
//!
//! Host errors ([`status_for_host_code`]): `E_KV_KEY` (empty or too long key) 400, `E_KV_TOO_LARGE` (value past
//! the store's limit) 413, `E_KV_BUSY` (database locked by another writer) 503 + `Retry-After: 1`, `E_KV_FAILED`
//! (the database failed) and `E_NO_REQUEST` 500; any other code (`E_ARGS`: a script passed `kv` the wrong
//! arguments) 422, as a script error. Only errors a host function really raised in this request map to a status:
//! a script that throws its own `Error("E_KV_BUSY: ...")` gets 422. A script that catches a host error decides
//! itself what to answer.
//!
//! Nothing a script does yields 500: 500 is kept for faults of the engine, the server or its database.
//!
//! # New versions without a restart
//! The server watches its scripts folder ([`watch`], with the `notify` crate) and, once the folder has been quiet
//! for 100 ms, brings its handlers in line with it ([`App::sync_scripts`]):
//! - a changed file reloads its handler's pool ([`Pool::reload_with`]): from then on every request runs the new
//!   version, requests in flight finish on the old one, and the old instances are destroyed as they come back;
//! - a new file adds a handler; a deleted file removes it (new requests get 404, those in flight finish);
//! - a file that fails to load (it does not compile, its prelude throws or runs past `limits.timeout`, or it
//!   defines no `handle`) is logged at `error` with the file and the reason, and the handler keeps serving its
//!   previous version; the file is tried again once it changes.
//!
//! Deploy by writing the new file under another name in the folder (say `hello.js.new`) and renaming it over the
//! old one: a rename is atomic, so no sync reads a half-written file. `POST /admin/reload` runs the same sync
//! at once and answers what it did (`{"reloaded": [...], "added": [...], "removed": [...], "failed": [...]}`);
//! it answers loopback clients only (403 otherwise; do not route it through a reverse proxy on the same host).
//! Every reload is logged (`handler NAME reloaded from FILE (generation N)`) and counted in
//! `vmpool_reloads_total{outcome="ok"|"failed"}`; `vmpool_generation` and `vmpool_stale` (old instances still
//! in use) are per handler.
//!
//! # Operations
//! - `GET /metrics`: the counters of every pool in the Prometheus text format (OpenMetrics), read from
//!   [`Pool::metrics`] at scrape time, labelled `engine` and `handler` (`reason` for destroyed instances), plus
//!   `vmpool_http_responses_total` by `status` (answers for unknown handlers are counted under `handler=""`, so
//!   clients cannot create series).
//! - `GET /healthz`: 200 `{"status": "ok", ...}` while every pool can serve, 503 when a pool is closed or has no
//!   instance and cannot create one. A saturated pool still counts as able to serve (it is, as soon as an instance
//!   comes back); its `saturated` field says so.
//! - With `enable_metrics = true`, the guide's line `[VM Pool Metrics] Created: ..., Errors: N` is logged every
//!   `metrics_interval`, one line per handler, followed by `handler=NAME engine=ENGINE`.
//! - Each answer to `/run` is logged at `debug` (target `vmpool::server`: request id, method, path, status), server
//!   faults (5xx other than 503) at `warn`.
//! - SIGTERM or Ctrl-C: stop accepting connections, let the requests in flight finish, log the final metrics, and
//!   close the pools.
#![cfg_attr(
    not(any(feature = "quickjs", feature = "lua", feature = "boa")),
    allow(dead_code, unused_imports)
)]

/// Boa's heap limit needs its counting allocator as the process's global allocator.
#[cfg(feature = "boa")]
#[global_allocator]
static ALLOC: vmpool::boa::CountingAllocator = vmpool::boa::CountingAllocator::system();

use std::collections::BTreeMap;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};
use serde_json::json;
use tokio::net::TcpListener;
use vmpool::{
    CallContext, DestroyReason, EngineConfig, EngineError, ErrorKind, HostApi, HostError, Metrics,
    Pool, PoolConfig, PoolError, ScriptEngine, ScriptError, Value,
};

#[path = "server/kv.rs"]
pub mod kv;
#[path = "server/watch.rs"]
pub mod watch;

pub use watch::watch;

use kv::{KvLimits, KvStore};

/// A boxed error for start-up failures; its message names the file or setting at fault.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// The response header (and request header, when the client sends a usable one) with the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the host functions know about the request being served (typed context data scripts cannot see): the
/// handler, and the host errors raised so far, so that an uncaught one can be mapped to its status.
#[derive(Debug)]
pub struct RequestScope {
    handler: String,
    raised: Mutex<Vec<HostError>>,
}

/// Host errors kept per request (a script that catches errors in a loop cannot make the list grow).
const MAX_RECORDED_HOST_ERRORS: usize = 16;

impl RequestScope {
    /// The scope of a request to `handler`.
    pub fn new(handler: impl Into<String>) -> Self {
        Self {
            handler: handler.into(),
            raised: Mutex::new(Vec::new()),
        }
    }

    /// The handler being served.
    pub fn handler(&self) -> &str {
        &self.handler
    }

    /// Notes that a host function raised `error` in this request, and gives it back.
    pub fn record(&self, error: HostError) -> HostError {
        let mut raised = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
        if raised.len() >= MAX_RECORDED_HOST_ERRORS {
            raised.remove(0);
        }
        raised.push(error.clone());
        error
    }

    /// The host error raised in this request that an exception's `message` reports (its code and its message both
    /// appear), the latest first; `None` when the exception is not one of them.
    pub fn raised_in(&self, message: &str) -> Option<HostError> {
        let raised = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
        raised
            .iter()
            .rev()
            .find(|e| message.contains(e.code()) && message.contains(e.message()))
            .cloned()
    }
}

/// The engines compiled into this build, in the order `--engine` defaults through.
pub const ENGINES: &[&str] = &[
    #[cfg(feature = "quickjs")]
    "quickjs",
    #[cfg(feature = "lua")]
    "lua",
    #[cfg(feature = "boa")]
    "boa",
];

/// An engine the server can run: how to build it from an [`EngineConfig`], and which script files it reads.
pub trait ServerEngine: ScriptEngine<Vm: Send> + Sized {
    /// The engine's name in `--engine` and in the metrics' `engine` label.
    const NAME: &'static str;
    /// The extension of its handler scripts, without the dot.
    const EXTENSION: &'static str;
    /// An expression that is `true` when the script defines its entry point, a global function `handle`: a
    /// reloaded file that does not is refused.
    const HAS_HANDLE: &'static str;

    /// Builds the engine (compiles the prelude).
    ///
    /// # Errors
    /// A syntax error in the prelude, or limits the engine rejects.
    fn build(config: EngineConfig) -> Result<Self, ScriptError>;

    /// The error of a script that defines no global function `handle`.
    fn missing_handle() -> Self::Error;
}

/// The message of [`ServerEngine::missing_handle`].
const MISSING_HANDLE: &str = "the script defines no global function `handle`";

#[cfg(feature = "quickjs")]
impl ServerEngine for vmpool::quickjs::QuickJsEngine {
    const NAME: &'static str = "quickjs";
    const EXTENSION: &'static str = "js";
    const HAS_HANDLE: &'static str = "typeof handle === 'function'";
    fn build(config: EngineConfig) -> Result<Self, ScriptError> {
        Self::new(config)
    }
    fn missing_handle() -> ScriptError {
        ScriptError::new(ErrorKind::Exception, MISSING_HANDLE)
    }
}

#[cfg(feature = "lua")]
impl ServerEngine for vmpool::lua::LuaEngine {
    const NAME: &'static str = "lua";
    const EXTENSION: &'static str = "lua";
    const HAS_HANDLE: &'static str = "return type(handle) == 'function'";
    fn build(config: EngineConfig) -> Result<Self, ScriptError> {
        Self::new(config)
    }
    fn missing_handle() -> ScriptError {
        ScriptError::new(ErrorKind::Exception, MISSING_HANDLE)
    }
}

/// Boa's instances are not `Send`: each lives on a thread of its own behind a [`vmpool::Carrier`], whose stack
/// is as large as the one Boa runs every operation on (reserved lazily), so no operation needs a fresh segment.
/// Its heap limit counts on the counting allocator this example installs (see the `engine-boa` docs).
#[cfg(feature = "boa")]
impl ServerEngine for vmpool::Carrier<vmpool::boa::BoaEngine> {
    const NAME: &'static str = "boa";
    const EXTENSION: &'static str = "js";
    const HAS_HANDLE: &'static str = "typeof handle === 'function'";
    fn build(config: EngineConfig) -> Result<Self, ScriptError> {
        let timeout = config.limits.timeout;
        Ok(vmpool::Carrier::new(vmpool::boa::BoaEngine::new(config)?)
            .timeout(timeout)
            .stack_size(vmpool::boa::ENGINE_STACK_BYTES + (1 << 20)))
    }
    fn missing_handle() -> vmpool::CarrierError<ScriptError> {
        vmpool::CarrierError::Engine(ScriptError::new(ErrorKind::Exception, MISSING_HANDLE))
    }
}

/// Labels of the responses counter: engine, handler, status code.
type ResponseLabels = [(&'static str, String); 3];

/// Labels of the reloads counter: engine, handler, outcome (`ok` or `failed`).
type ReloadLabels = [(&'static str, String); 3];

/// A handler: its pool, and the source its current generation was built from.
struct Handler<E: ServerEngine> {
    pool: Pool<E>,
    source: String,
}

/// The handlers by name, shared with the metrics collector.
type Handlers<E> = Arc<RwLock<BTreeMap<String, Handler<E>>>>;

/// The service: one pool per handler script, and the metrics registry.
pub struct App<E: ServerEngine> {
    handlers: Handlers<E>,
    scripts: PathBuf,
    config: PoolConfig,
    /// `config` without the pools' own metrics logging ([`serve`] logs per handler).
    pool_config: PoolConfig,
    host: HostApi,
    kv: Arc<KvStore>,
    registry: Registry,
    responses: Family<ResponseLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    /// One [`sync_scripts`](App::sync_scripts) at a time; it holds the sources it refused, by handler, so that a
    /// file that failed to load is tried again only once it changes.
    syncing: Mutex<BTreeMap<String, String>>,
    /// Made-up request ids are `{id_prefix}-{n}`: the prefix (the start time) keeps them apart across restarts.
    id_prefix: String,
    next_id: AtomicU64,
}

impl<E: ServerEngine> std::fmt::Debug for App<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("engine", &E::NAME)
            .field("handlers", &self.handlers())
            .finish_non_exhaustive()
    }
}

/// What one [`App::sync_scripts`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Handlers whose changed file was reloaded.
    pub reloaded: Vec<String>,
    /// Handlers of new files.
    pub added: Vec<String>,
    /// Handlers whose file is gone.
    pub removed: Vec<String>,
    /// Files that could not be loaded, with the error; a handler that was serving keeps its previous version.
    pub failed: Vec<(String, String)>,
}

impl SyncReport {
    /// The report as JSON: `{ reloaded, added, removed, failed: [{ file, error }] }`.
    pub fn to_json(&self) -> Value {
        json!({
            "reloaded": self.reloaded,
            "added": self.added,
            "removed": self.removed,
            "failed": self.failed.iter().map(|(file, error)| json!({ "file": file, "error": error })).collect::<Vec<_>>(),
        })
    }
}

/// The handler scripts (`*.EXTENSION`) of `scripts`, sorted.
fn script_files(scripts: &Path, extension: &str) -> Result<Vec<PathBuf>, String> {
    let unreadable =
        |e: std::io::Error| format!("cannot read the scripts folder {}: {e}", scripts.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(scripts).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The handler name of script `path`: its file stem, which must be a URL segment (`[A-Za-z0-9_-]+`).
fn handler_name(path: &Path, extension: &str) -> Result<String, String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "{}: a handler's file name must be [A-Za-z0-9_-]+.{extension}",
                path.display()
            )
        })
}

impl<E: ServerEngine> App<E> {
    /// Loads every `*.EXTENSION` script of `scripts` as a handler and builds its pool with `config` (which
    /// creates `preload_size` instances per handler, so call it before serving, off the async workers). Every
    /// instance gets `console`, `vmpool.context()` and the `kv` namespace on `kv`.
    ///
    /// The pools do not log the metrics line themselves: [`serve`] logs it per handler when `enable_metrics` is
    /// set. [`sync_scripts`](App::sync_scripts) (run by [`watch`] and `POST /admin/reload`) picks up later
    /// changes of the folder.
    ///
    /// # Errors
    /// An unreadable folder or script, a script name that is not a URL segment (`[A-Za-z0-9_-]+`), a folder
    /// without any script, a script that does not compile, or a pool that cannot preload its instances; the
    /// message names the file.
    pub fn load(config: PoolConfig, scripts: &Path, kv: Arc<KvStore>) -> Result<Self, BoxError> {
        let files = script_files(scripts, E::EXTENSION)?;
        if files.is_empty() {
            return Err(format!(
                "no *.{} handler scripts in {} (the {} engine reads *.{} files)",
                E::EXTENSION,
                scripts.display(),
                E::NAME,
                E::EXTENSION
            )
            .into());
        }
        let mut pool_config = config.clone();
        pool_config.enable_metrics = false;
        let host = kv.install(HostApi::new());
        let handlers: Handlers<E> = Arc::default();
        let mut registry = Registry::default();
        let responses = Family::<ResponseLabels, Counter>::default();
        registry.register(
            "vmpool_http_responses",
            "HTTP responses of the script service, by handler and status code",
            responses.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "vmpool_reloads",
            "Reloads of a handler whose file changed, by outcome (failed: the previous version keeps serving)",
            reloads.clone(),
        );
        registry.register_collector(Box::new(PoolCollector {
            engine: E::NAME,
            handlers: handlers.clone(),
        }));
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let app = Self {
            handlers,
            scripts: scripts.to_owned(),
            config,
            pool_config,
            host,
            kv,
            registry,
            responses,
            reloads,
            syncing: Mutex::new(BTreeMap::new()),
            id_prefix: format!("{:x}", started.as_millis()),
            next_id: AtomicU64::new(1),
        };
        for path in files {
            let name = handler_name(&path, E::EXTENSION)?;
            let source = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let pool = Pool::new(app.engine_for(&path, &source)?, app.pool_config.clone())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            app.write_handlers().insert(name, Handler { pool, source });
        }
        Ok(app)
    }

    /// The engine for script `path` with `source` as its prelude.
    fn engine_for(&self, path: &Path, source: &str) -> Result<E, String> {
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        E::build(
            EngineConfig::from_pool_config(&self.config, source)
                .prelude_name(file_name)
                .host(self.host.clone()),
        )
        .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn read_handlers(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Handler<E>>> {
        self.handlers.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_handlers(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Handler<E>>> {
        self.handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Brings the handlers in line with the scripts folder: a changed file reloads its handler's pool (a new
    /// generation; requests in flight finish on the old one), a new file adds a handler, a deleted file removes
    /// its handler (new requests get 404; those in flight finish, and its pool closes after the last). A file
    /// that fails to load (it does not compile, its prelude throws or runs too long, it defines no `handle`) is
    /// logged with its error and the handler keeps its previous version. Blocking (it builds engines and
    /// creates instances): call it off the async workers.
    pub fn sync_scripts(&self) -> SyncReport {
        let mut refused = self.syncing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut report = SyncReport::default();
        let files = match script_files(&self.scripts, E::EXTENSION) {
            Ok(files) => files,
            Err(error) => {
                log::error!(target: "vmpool::server", "{error}; the handlers stay as they are");
                report
                    .failed
                    .push((self.scripts.display().to_string(), error));
                return report;
            }
        };
        let mut present = std::collections::BTreeSet::new();
        for path in files {
            let name = match handler_name(&path, E::EXTENSION) {
                Ok(name) => name,
                Err(error) => {
                    log::error!(target: "vmpool::server", "{error}; ignored");
                    report.failed.push((path.display().to_string(), error));
                    continue;
                }
            };
            present.insert(name.clone());
            if let Err(error) = self.sync_file(&name, &path, &mut refused, &mut report) {
                let serving = self.read_handlers().contains_key(&name);
                log::error!(
                    target: "vmpool::server",
                    "{error}{}",
                    if serving { "; the previous version keeps serving" } else { "; not added" }
                );
                report.failed.push((path.display().to_string(), error));
                self.count_reload(&name, "failed");
            }
        }
        let gone: Vec<String> = self
            .read_handlers()
            .keys()
            .filter(|name| !present.contains(*name))
            .cloned()
            .collect();
        refused.retain(|name, _| present.contains(name));
        for name in gone {
            // Requests in flight hold the pool; it closes when the last of them is done.
            self.write_handlers().remove(&name);
            log::info!(target: "vmpool::server", "handler {name} removed: its file is gone");
            report.removed.push(name);
        }
        report
    }

    /// Reloads or adds the handler `name` of script `path` if its source changed and was not refused before
    /// (`refused`, updated here).
    fn sync_file(
        &self,
        name: &str,
        path: &Path,
        refused: &mut BTreeMap<String, String>,
        report: &mut SyncReport,
    ) -> Result<(), String> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if refused.get(name) == Some(&source) {
            return Ok(());
        }
        let result = self.load_changed(name, path, &source, report);
        if result.is_err() {
            refused.insert(name.to_owned(), source);
        } else {
            refused.remove(name);
        }
        result
    }

    /// Reloads or adds the handler `name` from `source` (script `path`), unless it already runs that source.
    fn load_changed(
        &self,
        name: &str,
        path: &Path,
        source: &str,
        report: &mut SyncReport,
    ) -> Result<(), String> {
        let source = source.to_owned();
        let current = self
            .read_handlers()
            .get(name)
            .map(|h| (h.pool.clone(), h.source == source));
        match current {
            Some((_, true)) => Ok(()),
            Some((pool, false)) => {
                let engine = self.engine_for(path, &source)?;
                let generation = pool
                    .reload_with(engine, |engine, vm| has_handle(engine, vm))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if let Some(handler) = self.write_handlers().get_mut(name) {
                    handler.source = source;
                }
                log::info!(target: "vmpool::server", "handler {name} reloaded from {} (generation {generation})", path.display());
                self.count_reload(name, "ok");
                report.reloaded.push(name.to_owned());
                Ok(())
            }
            None => {
                let engine = self.engine_for(path, &source)?;
                let pool = Pool::new(engine, self.pool_config.clone())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                {
                    let mut probe = pool
                        .try_acquire()
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    has_handle(&*pool.engine(), &mut probe)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                self.write_handlers()
                    .insert(name.to_owned(), Handler { pool, source });
                log::info!(target: "vmpool::server", "handler {name} added from {}", path.display());
                report.added.push(name.to_owned());
                Ok(())
            }
        }
    }

    fn count_reload(&self, handler: &str, outcome: &str) {
        self.reloads
            .get_or_create(&[
                ("engine", E::NAME.to_owned()),
                ("handler", handler.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// The store behind the scripts' `kv` namespace.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }

    /// The request's id: the client's `X-Request-Id` when it is usable (1 to 64 characters of
    /// `A-Z a-z 0-9 . _ : -`), otherwise a new one.
    pub fn request_id(&self, headers: &HeaderMap) -> String {
        let given = headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| {
                (1..=64).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b))
            });
        match given {
            Some(id) => id.to_owned(),
            None => format!(
                "{}-{}",
                self.id_prefix,
                self.next_id.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    /// The pool of handler `name` (a handle: a request keeps its handler's pool while it runs, even if the
    /// handler is removed meanwhile).
    pub fn pool(&self, name: &str) -> Option<Pool<E>> {
        self.read_handlers().get(name).map(|h| h.pool.clone())
    }

    /// The handlers' names, sorted.
    pub fn handlers(&self) -> Vec<String> {
        self.read_handlers().keys().cloned().collect()
    }

    /// The scripts folder.
    pub fn scripts(&self) -> &Path {
        &self.scripts
    }

    /// The configuration every pool was built with.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Closes every pool: waiting requests get 503, instances still out are dropped when they come back.
    pub fn close(&self) {
        for handler in self.read_handlers().values() {
            handler.pool.close();
        }
    }

    /// Logs the guide's metrics line of every pool, with its handler and engine.
    pub fn log_metrics(&self) {
        for (name, handler) in self.read_handlers().iter() {
            log::info!(
                "{} handler={name} engine={}",
                handler.pool.metrics(),
                E::NAME
            );
        }
    }

    /// The metrics in the Prometheus text format.
    ///
    /// # Errors
    /// Only if formatting fails, which writing to a `String` does not.
    pub fn encode_metrics(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    fn count(&self, handler: &str, status: StatusCode) {
        self.responses
            .get_or_create(&[
                ("engine", E::NAME.to_owned()),
                ("handler", handler.to_owned()),
                ("status", status.as_u16().to_string()),
            ])
            .inc();
    }
}

/// Whether the check of a script's entry point ([`ServerEngine::HAS_HANDLE`]) passes on `vm`.
fn has_handle<E: ServerEngine>(engine: &E, vm: &mut E::Vm) -> Result<(), E::Error> {
    match engine.eval(vm, E::HAS_HANDLE)? {
        Value::Bool(true) => Ok(()),
        _ => Err(E::missing_handle()),
    }
}

/// The routes: `/run/{name}` (GET, POST, PUT, PATCH, DELETE), `GET /metrics`, `GET /healthz`, and
/// `POST /admin/reload` (loopback clients only).
pub fn router<E: ServerEngine>(app: Arc<App<E>>) -> Router {
    let run = get(run_handler::<E>)
        .post(run_handler::<E>)
        .put(run_handler::<E>)
        .patch(run_handler::<E>)
        .delete(run_handler::<E>);
    Router::new()
        .route("/run/{name}", run)
        .route("/metrics", get(metrics::<E>))
        .route("/healthz", get(healthz::<E>))
        .route("/admin/reload", post(admin_reload::<E>))
        .with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, waits for the requests in flight,
/// logs the pools' final metrics and closes the pools.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve<E: ServerEngine>(
    app: Arc<App<E>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let logger = app.config.enable_metrics.then(|| {
        let app = app.clone();
        tokio::spawn(async move {
            let period = app.config.metrics_interval;
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                ticks.tick().await;
                app.log_metrics();
            }
        })
    });
    let service = router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(logger) = logger {
        logger.abort();
    }
    log::info!("stopped serving; final pool metrics:");
    app.log_metrics();
    app.close();
    result
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            log::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                log::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => log::info!("Ctrl-C: shutting down"),
        () = terminate => log::info!("SIGTERM: shutting down"),
    }
}

/// The status code for a failure of `kind`: 504 for a timeout, 422 for what the script did, 503 when the pool
/// cannot serve, 500 for an engine fault.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Exception
        | ErrorKind::Memory
        | ErrorKind::Stack
        | ErrorKind::Conversion
        | ErrorKind::Syntax => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Exhausted | ErrorKind::Closed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A JSON error body `{"error": kind, "message": message}` with `status`.
fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": kind, "message": message })),
    )
        .into_response()
}

/// An engine error's message without the `kind: ` prefix its `Display` starts with.
fn message_of(error: &dyn std::fmt::Display, kind: ErrorKind) -> String {
    let text = error.to_string();
    match text
        .strip_prefix(kind.as_str())
        .and_then(|t| t.strip_prefix(": "))
    {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

fn acquire_error<X: EngineError>(error: &PoolError<X>) -> Response {
    let message = error.to_string();
    match error {
        PoolError::Exhausted { .. } => {
            let mut response =
                error_response(StatusCode::SERVICE_UNAVAILABLE, "exhausted", &message);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        // Closed (shutting down), or an instance could not be created: the service cannot serve right now.
        other => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            other.kind().as_str(),
            &message,
        ),
    }
}

/// The status code for a host error the script did not catch, by its code (see the [module docs](self)).
pub fn status_for_host_code(code: &str) -> StatusCode {
    match code {
        kv::E_KV_KEY => StatusCode::BAD_REQUEST,
        kv::E_KV_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        kv::E_KV_BUSY => StatusCode::SERVICE_UNAVAILABLE,
        kv::E_KV_FAILED | kv::E_NO_REQUEST => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `/run/{name}`: parse the body, wait for an instance without blocking, call `handle` on a blocking thread with
/// the request as its context.
async fn run_handler<E: ServerEngine>(
    State(app): State<Arc<App<E>>>,
    UrlPath(name): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = app.request_id(&headers);
    let mut response = match app.pool(&name) {
        Some(pool) => {
            let pool = &pool;
            let request = HttpRequest {
                handler: &name,
                method: &method,
                uri: &uri,
                headers: &headers,
                body,
            };
            let response = run(pool, &id, request).await;
            app.count(&name, response.status());
            response
        }
        None => {
            app.count("", StatusCode::NOT_FOUND);
            let handlers = app.handlers();
            error_response(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no handler {name:?}; the handlers are {handlers:?}"),
            )
        }
    };
    let status = response.status();
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        log::warn!(target: "vmpool::server", "[{id}] {method} {} -> {status}", uri.path());
    } else {
        log::debug!(target: "vmpool::server", "[{id}] {method} {} -> {status}", uri.path());
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// One request to a handler, as it arrived.
struct HttpRequest<'a> {
    handler: &'a str,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: Bytes,
}

impl HttpRequest<'_> {
    /// The body as a value: JSON, or `null` for an empty GET or DELETE body.
    fn body(&self) -> Result<Value, String> {
        if self.body.is_empty() && matches!(*self.method, Method::GET | Method::DELETE) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("the request body is not JSON: {e}"))
    }

    /// What scripts read as `vmpool.context().data`: `{ handler, method, path, query, headers }`.
    fn data(&self) -> Result<Value, String> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(self.uri)
            .map_err(|e| format!("the query string is malformed: {e}"))?;
        let mut query = serde_json::Map::new();
        for (name, value) in pairs {
            query.insert(name, Value::String(value));
        }
        let mut headers = serde_json::Map::new();
        for name in self.headers.keys() {
            let values: Vec<&str> = self
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if !values.is_empty() {
                headers.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
            }
        }
        Ok(json!({
            "handler": self.handler,
            "method": self.method.as_str(),
            "path": self.uri.path(),
            "query": query,
            "headers": headers,
        }))
    }
}

async fn run<E: ServerEngine>(pool: &Pool<E>, id: &str, request: HttpRequest<'_>) -> Response {
    let (body, data) = match (request.body(), request.data()) {
        (Ok(body), Ok(data)) => (body, data),
        (Err(message), _) | (_, Err(message)) => {
            return error_response(StatusCode::BAD_REQUEST, "bad_request", &message);
        }
    };
    let context = CallContext::new(id)
        .with_data(data)
        .with(RequestScope::new(request.handler));
    let mut vm = match pool.acquire_async().await {
        Ok(vm) => vm,
        Err(e) => return acquire_error(&e),
    };
    // The call is synchronous CPU work (up to limits.timeout): keep it off the async workers. The guard goes
    // with it and returns the instance (reset included) from the blocking thread.
    let call_context = context.clone();
    let outcome =
        tokio::task::spawn_blocking(move || vm.call_with(&call_context, "handle", &[body])).await;
    let dropped = context.dropped_lines();
    if dropped > 0 {
        log::warn!(
            target: "vmpool::script",
            "[{id}] {dropped} console line(s) dropped: past the per-request cap"
        );
    }
    match outcome {
        Ok(Ok(value)) => (StatusCode::OK, axum::Json(value)).into_response(),
        Ok(Err(e)) => {
            let kind = e.kind();
            let message = message_of(&e, kind);
            let host_error = (kind == ErrorKind::Exception)
                .then(|| context.get::<RequestScope>()?.raised_in(&message))
                .flatten();
            match host_error {
                Some(error) => host_error_response(&error, &message),
                None => error_response(status_for(kind), kind.as_str(), &message),
            }
        }
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("the call's task failed: {e}"),
        ),
    }
}

/// The answer for a host error the script let through: its status, `{"error": "host", "code", "message"}`.
fn host_error_response(error: &HostError, message: &str) -> Response {
    let status = status_for_host_code(error.code());
    let mut response = (
        status,
        axum::Json(json!({ "error": "host", "code": error.code(), "message": message })),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// Whether `POST /admin/reload` accepts a client at `peer`: loopback addresses only.
pub fn admin_allowed(peer: &SocketAddr) -> bool {
    peer.ip().is_loopback()
        || matches!(peer.ip(), std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

/// `POST /admin/reload` (loopback clients only): [`App::sync_scripts`] now, on a blocking thread; answers its
/// report.
async fn admin_reload<E: ServerEngine>(
    State(app): State<Arc<App<E>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !admin_allowed(&peer) {
        log::warn!(target: "vmpool::server", "POST /admin/reload from {peer} refused: loopback only");
        return error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "/admin/reload answers loopback clients only",
        );
    }
    match tokio::task::spawn_blocking(move || app.sync_scripts()).await {
        Ok(report) => (StatusCode::OK, axum::Json(report.to_json())).into_response(),
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("the reload failed: {e}"),
        ),
    }
}

/// `GET /metrics`: the Prometheus text format.
async fn metrics<E: ServerEngine>(State(app): State<Arc<App<E>>>) -> Response {
    match app.encode_metrics() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// `GET /healthz`: whether every pool can serve.
async fn healthz<E: ServerEngine>(State(app): State<Arc<App<E>>>) -> Response {
    let mut healthy = true;
    let mut handlers = serde_json::Map::new();
    for (name, handler) in app.read_handlers().iter() {
        let m = handler.pool.metrics();
        let total = m.in_use + m.available + m.creating;
        let saturated = m.available == 0 && total >= m.max_size;
        // No instance at all and the last attempts to make one failed: nothing will serve.
        let broken = m.live() == 0 && m.creating == 0 && m.create_errors > 0;
        let can_serve = !m.closed && !broken;
        healthy &= can_serve;
        handlers.insert(
            name.clone(),
            json!({
                "can_serve": can_serve,
                "saturated": saturated,
                "in_use": m.in_use,
                "available": m.available,
                "max_size": m.max_size,
            }),
        );
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "engine": E::NAME,
        "handlers": handlers,
    });
    (status, axum::Json(body)).into_response()
}

/// Reads [`Pool::metrics`] of every handler's pool at scrape time.
struct PoolCollector<E: ServerEngine> {
    engine: &'static str,
    handlers: Handlers<E>,
}

impl<E: ServerEngine> std::fmt::Debug for PoolCollector<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolCollector")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// One series per pool of a counter or gauge read from a snapshot.
enum Series {
    Counter(fn(&Metrics) -> u64),
    Gauge(fn(&Metrics) -> usize),
}

/// The pool counters and gauges exported, with their help text.
const SERIES: &[(&str, &str, Series)] = &[
    (
        "vmpool_created",
        "Instances created since the pool started",
        Series::Counter(|m| m.created),
    ),
    (
        "vmpool_uses",
        "Instances handed out since the pool started",
        Series::Counter(|m| m.total_uses),
    ),
    (
        "vmpool_create_errors",
        "Instance creations that failed or panicked",
        Series::Counter(|m| m.create_errors),
    ),
    (
        "vmpool_script_errors",
        "Script calls that returned an error",
        Series::Counter(|m| m.script_errors),
    ),
    (
        "vmpool_waits",
        "Acquires that had to wait for an instance",
        Series::Counter(|m| m.waits),
    ),
    (
        "vmpool_wait_timeouts",
        "Waits that ended without an instance (VM pool exhausted)",
        Series::Counter(|m| m.wait_timeouts),
    ),
    (
        "vmpool_leaks_suspected",
        "Guards reported as held longer than leak_threshold",
        Series::Counter(|m| m.leaks_suspected),
    ),
    (
        "vmpool_in_use",
        "Instances handed out and not yet returned",
        Series::Gauge(|m| m.in_use),
    ),
    (
        "vmpool_available",
        "Idle instances ready to hand out",
        Series::Gauge(|m| m.available),
    ),
    (
        "vmpool_creating",
        "Instances being created",
        Series::Gauge(|m| m.creating),
    ),
    (
        "vmpool_max_size",
        "Most instances the pool may hold",
        Series::Gauge(|m| m.max_size),
    ),
    (
        "vmpool_waiting",
        "Requests waiting for an instance",
        Series::Gauge(|m| m.waiting),
    ),
    (
        "vmpool_closed",
        "1 once the pool is closed",
        Series::Gauge(|m| usize::from(m.closed)),
    ),
    (
        "vmpool_generation",
        "The pool's generation: 1, plus one per reload of its handler's file",
        Series::Gauge(|m| usize::try_from(m.generation).unwrap_or(usize::MAX)),
    ),
    (
        "vmpool_stale",
        "Instances of older generations still in use (destroyed when they come back)",
        Series::Gauge(|m| {
            m.generations
                .iter()
                .filter(|g| g.generation != m.generation)
                .map(|g| g.live)
                .sum()
        }),
    ),
];

impl<E: ServerEngine> Collector for PoolCollector<E> {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let pools: Vec<(String, Pool<E>)> = self
            .handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, h)| (name.clone(), h.pool.clone()))
            .collect();
        let snapshots: Vec<([(&str, &str); 2], Metrics)> = pools
            .iter()
            .map(|(name, pool)| {
                (
                    [("engine", self.engine), ("handler", name.as_str())],
                    pool.metrics(),
                )
            })
            .collect();
        for (name, help, series) in SERIES {
            let kind = match series {
                Series::Counter(_) => MetricType::Counter,
                Series::Gauge(_) => MetricType::Gauge,
            };
            let mut family = encoder.encode_descriptor(name, help, None, kind)?;
            for (labels, m) in &snapshots {
                let mut metric = family.encode_family(labels)?;
                match series {
                    Series::Counter(read) => {
                        metric.encode_counter::<NoLabelSet, _, u64>(&read(m), None)?;
                    }
                    Series::Gauge(read) => metric.encode_gauge(&read(m))?,
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "vmpool_wait",
            "Time spent waiting for an instance, summed over all waits",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        for (labels, m) in &snapshots {
            family
                .encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(&m.wait_time.as_secs_f64(), None)?;
        }
        let mut family = encoder.encode_descriptor(
            "vmpool_destroyed",
            "Instances destroyed, by reason",
            None,
            MetricType::Counter,
        )?;
        for (labels, m) in &snapshots {
            for reason in DestroyReason::ALL {
                let labels = [labels[0], labels[1], ("reason", reason.as_str())];
                family
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&m.destroyed.get(reason), None)?;
            }
        }
        Ok(())
    }
}

/// Command-line options.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// `--config`: the TOML file with the `[vm_pool]` section.
    pub config: PathBuf,
    /// `--scripts`: the folder of handler scripts.
    pub scripts: PathBuf,
    /// `--listen`: the address to bind.
    pub listen: String,
    /// `--engine`: which compiled-in engine to use.
    pub engine: Option<String>,
    /// `--db`: the `kv` database file; `None` for a temporary one.
    pub db: Option<PathBuf>,
}

const USAGE: &str = "usage: server [--config FILE] [--scripts DIR] [--listen ADDR] [--engine quickjs|lua|boa] [--db FILE]";

impl Args {
    /// Parses `--flag value` and `--flag=value` options.
    ///
    /// # Errors
    /// An unknown flag, a flag without its value, or `--help` (whose "error" is the usage text).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut parsed = Args {
            config: PathBuf::from("config.toml"),
            scripts: Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scripts"),
            listen: "127.0.0.1:8080".to_owned(),
            engine: None,
            db: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Err(USAGE.to_owned());
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--config" => parsed.config = value()?.into(),
                "--scripts" => parsed.scripts = value()?.into(),
                "--listen" => parsed.listen = value()?,
                "--engine" => parsed.engine = Some(value()?),
                "--db" => parsed.db = Some(value()?.into()),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(parsed)
    }
}

/// Loads the configuration, opens the `kv` database and loads the handlers for engine `E`, then serves until
/// SIGTERM or Ctrl-C.
///
/// # Errors
/// Bad configuration, a database that cannot be opened, a script that does not load, an address that cannot be
/// bound.
pub fn run_server<E: ServerEngine>(args: &Args) -> Result<(), BoxError> {
    let config = PoolConfig::from_file(&args.config)?;
    let kv = Arc::new(match &args.db {
        Some(path) => KvStore::open(path, KvLimits::default())?,
        None => KvStore::temporary(KvLimits::default())?,
    });
    log::info!(
        "kv database: {}{}",
        kv.path().display(),
        if kv.is_temporary() {
            " (temporary: removed when the server stops; keep the data with --db FILE)"
        } else {
            ""
        }
    );
    // Pools are built (and their warm floors created) before the runtime starts: nothing blocks a worker.
    let app = Arc::new(App::<E>::load(config, &args.scripts, kv)?);
    // Changes of the scripts folder reload, add and remove handlers while serving.
    let watcher = match watch(app.clone()) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            log::warn!(
                "cannot watch {}: {error}; POST /admin/reload still reloads on demand",
                args.scripts.display()
            );
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let handlers = app.handlers();
        log::info!(
            "serving {handlers:?} with {} on http://{} (max_size {} per handler)",
            E::NAME,
            listener.local_addr()?,
            app.config().max_size
        );
        serve(app.clone(), listener, shutdown_signal()).await?;
        Ok::<(), BoxError>(())
    })?;
    drop(watcher);
    // Instances still out when the pools closed (a call abandoned by its client) are dropped as they come back.
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn start(args: &Args) -> Result<(), BoxError> {
    let Some(engine) = args.engine.as_deref().or_else(|| ENGINES.first().copied()) else {
        return Err(
            "this build has no engine: run with --features quickjs (or lua, or boa)".into(),
        );
    };
    match engine {
        #[cfg(feature = "quickjs")]
        "quickjs" => run_server::<vmpool::quickjs::QuickJsEngine>(args),
        #[cfg(feature = "lua")]
        "lua" => run_server::<vmpool::lua::LuaEngine>(args),
        #[cfg(feature = "boa")]
        "boa" => run_server::<vmpool::Carrier<vmpool::boa::BoaEngine>>(args),
        other => Err(format!(
            "engine {other:?} is not in this build, which has {ENGINES:?} (enable it with --features {other})"
        )
        .into()),
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(usage) if usage == USAGE => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("server: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match start(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::FAILURE
        }
    }
}
