//! The host API: functions a script may call, the per-request [`CallContext`], `console`, and modules.
//!
//! Registered once in a [`HostApi`] (carried by [`EngineConfig`](crate::EngineConfig)), engine-neutral: every
//! adapter installs the same functions at instance creation, before its isolation lockdown, so that under strict
//! isolation a script cannot replace `kv.get` or `console.log` for the next use.
//!
//! ```
//! use pool_core::host::{HostApi, HostError};
//! use serde_json::json;
//!
//! let api = HostApi::new()
//!     .function("add", |_call, (a, b): (f64, f64)| Ok(a + b))
//!     .namespace("kv", |kv| {
//!         kv.function("get", |call, (key,): (String,)| {
//!             let tenant = call.context().map(|c| c.data()["tenant"].clone());
//!             Ok(json!({ "key": key, "tenant": tenant }))
//!         })
//!         .raw_function("fail", |_call, _args| Err(HostError::new("E_KV", "the store is read-only")))
//!     })
//!     .javascript_module("greet", "module.exports = (n) => 'hello ' + n;");
//! assert!(api.functions().iter().any(|f| f.path() == "kv.get"));
//! ```
//!
//! # How a call reaches the host
//! Each instance holds a [`HostSession`]. Its trampolines (one per registered function) convert the script's
//! arguments to [`Value`]s, bounded by [`HostApi::max_arg_bytes`], and call [`HostSession::invoke`], which:
//! - refuses the call once the operation's deadline has passed (host time counts toward `limits.timeout`);
//! - catches a panic of the host function: the operation then fails with kind `internal`, whatever the script
//!   does with the exception it sees (the adapter makes the rest of the operation uncatchable, and
//!   [`ActiveCall::finish`] replaces its result), and the pool discards the instance;
//! - refuses a result larger than the instance's memory limit (kind `memory`), so a host function cannot push more
//!   into an instance than it may hold;
//! - turns a [`HostError`] into an exception the script can catch: in JavaScript an `Error` with the message and a
//!   `code` property, in Lua a table `{ code = ..., message = ... }` whose `tostring` is `code: message`.
//!
//! # Context
//! [`CallContext`] is attached to one operation ([`PooledVm::call_with`](crate::PooledVm::call_with)): an id, a
//! JSON value scripts read with `vmpool.context()` (`{ id, data }`), typed host-only data host functions read with
//! [`HostCall::get`], and the console lines captured during the call. [`HostSession::enter`] makes it current and
//! the returned [`ActiveCall`] clears it when dropped (panics included): a function or closure a script keeps and
//! runs in a later use sees that use's context, or none (`vmpool.context()` is then `null`, and
//! [`HostCall::context`] is `None`).
//!
//! # Re-entrancy
//! Host functions receive values, never the instance, so they cannot run script code on the instance that called
//! them. A host function may acquire another instance from a pool (even the same pool): that blocks the calling
//! instance's thread until the acquire returns, counts toward the caller's deadline, and can exhaust a small pool
//! (each nested request holds one instance while it waits for the next).
//!
//! # console
//! `console.log`, `info`, `warn`, `error` and `debug` (JavaScript and Lua) and `print` (Lua) go to the `log` crate
//! with target `vmpool::script`, prefixed with the request id when there is one. Strings print as they are, other
//! values as JSON; arguments are joined by a space (a tab for `print`). Per operation at most
//! [`ConsoleLimits::max_lines`] lines and [`ConsoleLimits::max_bytes`] bytes are logged (and captured, with
//! [`CallContext::capture_console`]); lines past either cap are counted ([`CallContext::dropped_lines`]) and
//! dropped, so a script that logs in a loop cannot exhaust memory or flood the log.
//!
//! # Modules
//! `require(name)` resolves only modules registered here: JavaScript (CommonJS: the source sees `module`,
//! `exports` and `require`), Lua (a chunk whose return value is the module), or a namespace of host functions
//! ([`HostApi::namespace`] names are requirable too). Each instance evaluates its language's modules once, at
//! creation, before the prelude; a request's `require` only returns what was evaluated then, and under strict
//! isolation the exports are frozen with the prelude.
//!
//! # Writing an adapter
//! What every engine adapter does (QuickJS, Lua and Boa do exactly this; `vmpool/examples/custom_engine.rs` shows
//! it for a custom engine):
//! 1. At creation, before the prelude: keep a [`HostSession::new`] in the instance, and install one native
//!    function per entry of [`HostApi::functions`] that [is for](HostFunction::is_for) its language, at the global
//!    [`HostFunction::name`] or in the namespace object [`HostFunction::namespace`] (made in the order of
//!    [`HostApi::namespaces`]). The trampoline converts the arguments within [`HostApi::arg_limit`] bytes
//!    (stopping as soon as it passes: [`HostError::arguments_too_large`]; an argument that cannot be converted is
//!    [`HostError::bad_arguments`], except for [`Builtin::Console`], which prints a description of it), calls
//!    [`HostSession::invoke`], and maps its answer: a value into the engine; [`HostFailure::Thrown`] into a
//!    catchable exception (JavaScript: an `Error` with `message` and `code`; Lua: a `{ code, message }` table
//!    whose `tostring` is `code: message`); [`HostFailure::Fatal`] into an end of the operation that the script
//!    cannot catch (an interrupt while [`HostSession::is_fatal`]). The glue itself never panics.
//! 2. Make the host globals (namespaces, top-level functions, `console`, `vmpool`, `require`, Lua's `print`) and
//!    the function objects read-only under every policy: a script never replaces a host function for the next use.
//! 3. Evaluate the language's [`HostApi::modules`] once, before the prelude (JavaScript through
//!    [`crate::js::REQUIRE`]); a module that fails fails the creation, naming it.
//! 4. Run every eval and call inside [`HostSession::enter`] (with the context, or `None`) and pass its result
//!    through [`ActiveCall::finish`]; a fatal failure it reports (kinds `internal`, `timeout`, `memory`) breaks
//!    the instance, as a limit does.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::Value;
use crate::error::{ErrorKind, ScriptError, panic_message};

/// An error a host function returns; the script sees it as an exception it can catch.
///
/// The `code` is a short machine-readable name (`E_NOT_FOUND`); the message says what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct HostError {
    code: String,
    message: String,
}

impl HostError {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// An error with the generic code `E_HOST`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new("E_HOST", message)
    }

    /// The arguments of `function` did not fit `limit` bytes ([`HostApi::max_arg_bytes`]); code `E_ARG_SIZE`.
    pub fn arguments_too_large(function: &str, limit: usize) -> Self {
        Self::new(
            "E_ARG_SIZE",
            format!("the arguments of {function} are larger than {limit} bytes (max_arg_bytes)"),
        )
    }

    /// The arguments of `function` could not be converted to values; code `E_ARGS`.
    pub fn bad_arguments(function: &str, reason: impl fmt::Display) -> Self {
        Self::new(
            "E_ARGS",
            format!("invalid arguments for {function}: {reason}"),
        )
    }

    /// The machine-readable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// What a host function failing means for the script.
#[derive(Debug)]
pub enum HostFailure {
    /// An exception the script may catch.
    Thrown(HostError),
    /// The operation must end with this error whatever the script does (a panic, the deadline, a result past the
    /// memory limit). The session keeps it for [`ActiveCall::finish`]; the adapter only has to stop the script.
    Fatal(ScriptError),
}

/// The signature every host function is stored as.
type RawFn = dyn Fn(&HostCall<'_>, Vec<Value>) -> Result<Value, HostError> + Send + Sync;

/// The languages a registered function or module is installed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// JavaScript engines (QuickJS, Boa, wasm).
    JavaScript,
    /// Lua.
    Lua,
}

/// Which built-in behaviour a function has; adapters may special-case them (console arguments are converted
/// leniently: a value that cannot be converted prints as its description instead of failing the call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Builtin {
    /// A function the application registered.
    None,
    /// A console function (`console.*`, Lua's `print`).
    Console,
    /// `vmpool.context()`.
    Context,
}

/// One registered function: where it is installed and what it runs.
#[derive(Clone)]
pub struct HostFunction {
    namespace: Option<String>,
    name: String,
    path: String,
    languages: &'static [Language],
    builtin: Builtin,
    f: Arc<RawFn>,
}

impl HostFunction {
    /// The namespace object it is a member of (`kv` for `kv.get`), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Its name within the namespace (or as a global).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `namespace.name`, or `name` for a global function.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether it is installed in engines of `language`.
    pub fn is_for(&self, language: Language) -> bool {
        self.languages.contains(&language)
    }

    /// Which built-in it is, if any.
    pub fn builtin(&self) -> Builtin {
        self.builtin
    }
}

impl fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFunction")
            .field("path", &self.path)
            .field("builtin", &self.builtin)
            .finish_non_exhaustive()
    }
}

/// A registered module: a name `require` resolves and what it evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    name: String,
    source: ModuleSource,
}

/// What a module is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModuleSource {
    /// CommonJS-style JavaScript: the source sees `module`, `exports` and `require`.
    JavaScript(String),
    /// A Lua chunk whose return value is the module.
    Lua(String),
    /// A namespace of host functions registered with [`HostApi::namespace`].
    Namespace(String),
}

impl Module {
    /// The name `require` resolves.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it evaluates.
    pub fn source(&self) -> &ModuleSource {
        &self.source
    }

    /// Whether engines of `language` load it.
    pub fn is_for(&self, language: Language) -> bool {
        match self.source {
            ModuleSource::JavaScript(_) => language == Language::JavaScript,
            ModuleSource::Lua(_) => language == Language::Lua,
            ModuleSource::Namespace(_) => true,
        }
    }
}

/// Caps on what one operation may log through `console`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleLimits {
    /// Most lines logged per operation. Default: 1000.
    pub max_lines: usize,
    /// Most bytes of text logged per operation (a longer line is cut). Default: 64 KiB.
    pub max_bytes: usize,
}

impl Default for ConsoleLimits {
    fn default() -> Self {
        Self {
            max_lines: 1000,
            max_bytes: 64 * 1024,
        }
    }
}

/// The functions, modules and console every instance of an engine gets. See the [module docs](self).
#[derive(Clone)]
pub struct HostApi {
    functions: Vec<HostFunction>,
    modules: Vec<Module>,
    console: bool,
    console_limits: ConsoleLimits,
    max_arg_bytes: usize,
}

impl Default for HostApi {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HostApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostApi")
            .field(
                "functions",
                &self.functions.iter().map(|f| f.path()).collect::<Vec<_>>(),
            )
            .field(
                "modules",
                &self.modules.iter().map(Module::name).collect::<Vec<_>>(),
            )
            .field("console", &self.console)
            .field("console_limits", &self.console_limits)
            .field("max_arg_bytes", &self.max_arg_bytes)
            .finish()
    }
}

/// Two APIs are equal when they register the same names and settings (the functions' code is not compared).
impl PartialEq for HostApi {
    fn eq(&self, other: &Self) -> bool {
        self.functions.len() == other.functions.len()
            && self
                .functions
                .iter()
                .zip(&other.functions)
                .all(|(a, b)| a.path == b.path && a.builtin == b.builtin)
            && self.modules == other.modules
            && self.console == other.console
            && self.console_limits == other.console_limits
            && self.max_arg_bytes == other.max_arg_bytes
    }
}

/// Names a script cannot use for a host function or namespace: the built-ins and the module loader.
const RESERVED: [&str; 4] = ["console", "vmpool", "require", "print"];

const CONSOLE_LEVELS: [(&str, log::Level); 5] = [
    ("log", log::Level::Info),
    ("info", log::Level::Info),
    ("warn", log::Level::Warn),
    ("error", log::Level::Error),
    ("debug", log::Level::Debug),
];

impl HostApi {
    /// An API with `console` (and Lua's `print`) and `vmpool.context()`, and nothing else yet.
    pub fn new() -> Self {
        let mut api = Self {
            functions: Vec::new(),
            modules: Vec::new(),
            console: true,
            console_limits: ConsoleLimits::default(),
            max_arg_bytes: 4 * 1024 * 1024,
        };
        for (name, level) in CONSOLE_LEVELS {
            api.push_builtin(
                Some("console"),
                name,
                &[Language::JavaScript, Language::Lua],
                Builtin::Console,
                Arc::new(move |call, args| {
                    call.session.log(level, &args, " ");
                    Ok(Value::Null)
                }),
            );
        }
        api.push_builtin(
            None,
            "print",
            &[Language::Lua],
            Builtin::Console,
            Arc::new(|call, args| {
                call.session.log(log::Level::Info, &args, "\t");
                Ok(Value::Null)
            }),
        );
        api.push_builtin(
            Some("vmpool"),
            "context",
            &[Language::JavaScript, Language::Lua],
            Builtin::Context,
            Arc::new(|call, _args| {
                Ok(call.context().map_or(
                    Value::Null,
                    |c| serde_json::json!({ "id": c.id(), "data": c.data() }),
                ))
            }),
        );
        api
    }

    fn push_builtin(
        &mut self,
        namespace: Option<&str>,
        name: &str,
        languages: &'static [Language],
        builtin: Builtin,
        f: Arc<RawFn>,
    ) {
        self.functions.push(HostFunction {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            path: namespace.map_or_else(|| name.to_owned(), |ns| format!("{ns}.{name}")),
            languages,
            builtin,
            f,
        });
    }

    fn push(&mut self, namespace: Option<&str>, name: &str, f: Arc<RawFn>) {
        let path = namespace.map_or_else(|| name.to_owned(), |ns| format!("{ns}.{name}"));
        assert!(
            is_name(name) && namespace.is_none_or(is_name),
            "host function `{path}`: names must be identifiers (letters, digits, `_`, `$`, not starting with a digit)"
        );
        let top = namespace.unwrap_or(name);
        assert!(
            !RESERVED.contains(&top),
            "host function `{path}`: `{top}` is reserved for vmpool's built-ins"
        );
        // A later registration of the same path replaces the earlier one.
        self.functions.retain(|f| f.path != path);
        self.functions.push(HostFunction {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            path,
            languages: &[Language::JavaScript, Language::Lua],
            builtin: Builtin::None,
            f,
        });
    }

    /// Registers a global function with typed arguments and result: the script's arguments are deserialised as
    /// `A` (a tuple: `(String,)`, `(f64, f64)`, or `()` for none) and the result is serialised to a value.
    /// Arguments that do not fit `A` throw an `E_ARGS` error in the script.
    ///
    /// # Panics
    /// When `name` is not an identifier or is reserved (`console`, `vmpool`, `require`, `print`).
    #[must_use]
    pub fn function<A, R, F>(mut self, name: &str, f: F) -> Self
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(&HostCall<'_>, A) -> Result<R, HostError> + Send + Sync + 'static,
    {
        let raw = typed(name, f);
        self.push(None, name, raw);
        self
    }

    /// Registers a global function that takes the script's arguments as they are.
    ///
    /// # Panics
    /// As for [`function`](Self::function).
    #[must_use]
    pub fn raw_function<F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&HostCall<'_>, &[Value]) -> Result<Value, HostError> + Send + Sync + 'static,
    {
        self.push(None, name, Arc::new(move |call, args| f(call, &args)));
        self
    }

    /// Registers the functions `build` adds to a namespace object `name` (`kv.get`, `kv.set`); the namespace is
    /// also a module (`require('kv')`). Registering the same namespace again adds to it.
    ///
    /// # Panics
    /// As for [`function`](Self::function).
    #[must_use]
    pub fn namespace(mut self, name: &str, build: impl FnOnce(Namespace) -> Namespace) -> Self {
        let built = build(Namespace {
            name: name.to_owned(),
            functions: Vec::new(),
        });
        for (fname, f) in built.functions {
            self.push(Some(name), &fname, f);
        }
        if !self.modules.iter().any(|m| m.name == name) {
            self.modules.push(Module {
                name: name.to_owned(),
                source: ModuleSource::Namespace(name.to_owned()),
            });
        }
        self
    }

    /// Registers a JavaScript module (CommonJS style) that `require(name)` returns in JavaScript engines.
    #[must_use]
    pub fn javascript_module(self, name: &str, source: impl Into<String>) -> Self {
        self.module(name, ModuleSource::JavaScript(source.into()))
    }

    /// Registers a Lua module (a chunk returning the module) that `require(name)` returns in Lua.
    #[must_use]
    pub fn lua_module(self, name: &str, source: impl Into<String>) -> Self {
        self.module(name, ModuleSource::Lua(source.into()))
    }

    fn module(mut self, name: &str, source: ModuleSource) -> Self {
        let language = match source {
            ModuleSource::JavaScript(_) => Some(Language::JavaScript),
            ModuleSource::Lua(_) => Some(Language::Lua),
            ModuleSource::Namespace(_) => None,
        };
        // One module of a name per language: a later one replaces the earlier.
        self.modules
            .retain(|m| !(m.name == name && language.is_some_and(|l| m.is_for(l))));
        self.modules.push(Module {
            name: name.to_owned(),
            source,
        });
        self
    }

    /// Leaves out `console` (and Lua's `print`): scripts then have none.
    #[must_use]
    pub fn without_console(mut self) -> Self {
        self.console = false;
        self.functions.retain(|f| f.builtin != Builtin::Console);
        self
    }

    /// Sets the caps on console output per operation.
    #[must_use]
    pub fn console_limits(mut self, limits: ConsoleLimits) -> Self {
        self.console_limits = limits;
        self
    }

    /// Sets the most bytes the arguments of one host call may take once converted (default 4 MiB); a larger call
    /// throws `E_ARG_SIZE` in the script before the host allocates for it.
    #[must_use]
    pub fn max_arg_bytes(mut self, bytes: usize) -> Self {
        self.max_arg_bytes = bytes;
        self
    }

    /// Every registered function, built-ins included, in registration order. An adapter installs those that are
    /// [for](HostFunction::is_for) its language and calls them by their index in this slice.
    pub fn functions(&self) -> &[HostFunction] {
        &self.functions
    }

    /// Every registered module, in registration order.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The limit on one call's converted arguments, in bytes.
    pub fn arg_limit(&self) -> usize {
        self.max_arg_bytes
    }

    /// The caps on console output per operation.
    pub fn console_caps(&self) -> ConsoleLimits {
        self.console_limits
    }

    /// The namespaces to create, in order of first registration (`console` and `vmpool` included).
    pub fn namespaces(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for f in &self.functions {
            if let Some(ns) = f.namespace()
                && !names.contains(&ns)
            {
                names.push(ns);
            }
        }
        names
    }
}

/// Functions being added to one namespace; see [`HostApi::namespace`].
pub struct Namespace {
    name: String,
    functions: Vec<(String, Arc<RawFn>)>,
}

impl Namespace {
    /// Adds a function with typed arguments and result (as [`HostApi::function`]).
    #[must_use]
    pub fn function<A, R, F>(mut self, name: &str, f: F) -> Self
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(&HostCall<'_>, A) -> Result<R, HostError> + Send + Sync + 'static,
    {
        let path = format!("{}.{name}", self.name);
        self.functions.push((name.to_owned(), typed(&path, f)));
        self
    }

    /// Adds a function that takes the script's arguments as they are (as [`HostApi::raw_function`]).
    #[must_use]
    pub fn raw_function<F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&HostCall<'_>, &[Value]) -> Result<Value, HostError> + Send + Sync + 'static,
    {
        self.functions
            .push((name.to_owned(), Arc::new(move |call, args| f(call, &args))));
        self
    }
}

fn typed<A, R, F>(path: &str, f: F) -> Arc<RawFn>
where
    A: DeserializeOwned,
    R: Serialize,
    F: Fn(&HostCall<'_>, A) -> Result<R, HostError> + Send + Sync + 'static,
{
    let path = path.to_owned();
    Arc::new(move |call, args| {
        let empty = args.is_empty();
        let parsed = serde_json::from_value::<A>(Value::Array(args)).or_else(|e| {
            // `()` deserialises from `null`, not from an empty list.
            if empty {
                serde_json::from_value::<A>(Value::Null).map_err(|_| e)
            } else {
                Err(e)
            }
        });
        let args = parsed.map_err(|e| HostError::bad_arguments(&path, e))?;
        let result = f(call, args)?;
        serde_json::to_value(result).map_err(|e| {
            HostError::new(
                "E_RESULT",
                format!("the result of {path} cannot be converted: {e}"),
            )
        })
    })
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Typed data only host functions see, keyed by type.
#[derive(Default)]
struct Extensions(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

/// The context of one request, attached to one operation. Cheap to clone (shared).
///
/// ```
/// use pool_core::host::CallContext;
/// use serde_json::json;
///
/// struct User(u32);
/// let ctx = CallContext::new("req-7").with_data(json!({ "tenant": "acme" })).with(User(42)).capture_console();
/// assert_eq!(ctx.id(), "req-7");
/// assert_eq!(ctx.get::<User>().map(|u| u.0), Some(42));
/// ```
#[derive(Clone)]
pub struct CallContext(Arc<ContextInner>);

struct ContextInner {
    id: String,
    data: Value,
    extensions: Extensions,
    capture: bool,
    console: Mutex<Captured>,
}

#[derive(Default)]
struct Captured {
    lines: Vec<ConsoleLine>,
    dropped: u64,
}

/// One line a script logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleLine {
    /// `error`, `warn`, `info` or `debug` (`console.log` and `print` are `info`).
    pub level: &'static str,
    /// The text, arguments joined.
    pub text: String,
}

impl CallContext {
    /// A context with `id` (logged with console lines), no data and no captured console.
    pub fn new(id: impl Into<String>) -> Self {
        Self(Arc::new(ContextInner {
            id: id.into(),
            data: Value::Null,
            extensions: Extensions::default(),
            capture: false,
            console: Mutex::new(Captured::default()),
        }))
    }

    fn inner_mut(&mut self) -> &mut ContextInner {
        make_mut(&mut self.0)
    }

    /// Sets the JSON value scripts read as `vmpool.context().data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.inner_mut().data = data;
        self
    }

    /// Adds typed data for host functions ([`HostCall::get`]); one value per type.
    #[must_use]
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.inner_mut()
            .extensions
            .0
            .insert(TypeId::of::<T>(), Box::new(value));
        self
    }

    /// Keeps the console lines of the operations this context is attached to ([`CallContext::console`]).
    #[must_use]
    pub fn capture_console(mut self) -> Self {
        self.inner_mut().capture = true;
        self
    }

    /// The request id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The JSON value scripts can read.
    pub fn data(&self) -> &Value {
        &self.0.data
    }

    /// The typed data of type `T`, if any was attached.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0
            .extensions
            .0
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref())
    }

    /// The console lines captured so far (with [`capture_console`](Self::capture_console)).
    pub fn console(&self) -> Vec<ConsoleLine> {
        lock(&self.0.console).lines.clone()
    }

    /// Lines dropped because an operation passed its console caps.
    pub fn dropped_lines(&self) -> u64 {
        lock(&self.0.console).dropped
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("id", &self.0.id)
            .field("data", &self.0.data)
            .field("capture", &self.0.capture)
            .finish_non_exhaustive()
    }
}

/// The context's inner value for a builder: a context that is still shared (a clone exists) starts over from a copy
/// of its id, data and capture flag.
fn make_mut(this: &mut Arc<ContextInner>) -> &mut ContextInner {
    if Arc::get_mut(this).is_none() {
        let copy = ContextInner {
            id: this.id.clone(),
            data: this.data.clone(),
            extensions: Extensions::default(),
            capture: this.capture,
            console: Mutex::new(Captured::default()),
        };
        *this = Arc::new(copy);
    }
    Arc::get_mut(this).expect("a fresh Arc has one owner")
}

/// What a host function receives: the current request's context and the operation's deadline.
pub struct HostCall<'a> {
    session: &'a HostSession,
    context: Option<CallContext>,
    deadline: Option<Instant>,
    path: &'a str,
}

impl HostCall<'_> {
    /// The context of the request the instance serves now, if the operation has one.
    pub fn context(&self) -> Option<&CallContext> {
        self.context.as_ref()
    }

    /// The current request's typed data of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.context.as_ref().and_then(CallContext::get)
    }

    /// The current request's id.
    pub fn request_id(&self) -> Option<&str> {
        self.context.as_ref().map(CallContext::id)
    }

    /// When the operation's time limit runs out; slow host work should give up by then.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left before the deadline (zero once it passed).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The function's path (`kv.get`).
    pub fn function(&self) -> &str {
        self.path
    }
}

/// One instance's link to its host API: the current operation's context, deadline and console counts. Adapters
/// keep one per instance (`Arc`, shared with their trampolines).
pub struct HostSession {
    api: Arc<HostApi>,
    memory_limit: usize,
    /// Set when a host call failed fatally during the current operation; polled by adapters to stop the script.
    fatal_flag: AtomicBool,
    active: Mutex<Active>,
}

#[derive(Default)]
struct Active {
    context: Option<CallContext>,
    deadline: Option<Instant>,
    timeout: Duration,
    fatal: Option<ScriptError>,
    lines: usize,
    bytes: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Host code runs outside these locks, so a poisoned lock only means a panic between two plain assignments.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for HostSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostSession")
            .field("api", &self.api)
            .field("fatal", &self.fatal_flag.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl HostSession {
    /// A session for one instance of an engine with `api`, whose heap may hold `memory_limit` bytes.
    pub fn new(api: Arc<HostApi>, memory_limit: usize) -> Arc<Self> {
        Arc::new(Self {
            api,
            memory_limit,
            fatal_flag: AtomicBool::new(false),
            active: Mutex::new(Active::default()),
        })
    }

    /// The API this session calls into.
    pub fn api(&self) -> &HostApi {
        &self.api
    }

    /// Starts an operation: `context` becomes current (or none), the deadline is `timeout` from now, and the console
    /// counts start at zero. Dropping the returned value ends it: the context is cleared, panics included.
    pub fn enter(&self, context: Option<&CallContext>, timeout: Duration) -> ActiveCall<'_> {
        let mut active = lock(&self.active);
        active.context = context.cloned();
        active.deadline = Instant::now().checked_add(timeout);
        active.timeout = timeout;
        active.fatal = None;
        active.lines = 0;
        active.bytes = 0;
        drop(active);
        self.fatal_flag.store(false, Ordering::Release);
        ActiveCall { session: self }
    }

    /// Whether a host call failed fatally in the current operation (cheap; for interrupt handlers and hooks).
    pub fn is_fatal(&self) -> bool {
        self.fatal_flag.load(Ordering::Acquire)
    }

    /// The fatal failure of the current operation, if any, taken out.
    pub fn take_fatal(&self) -> Option<ScriptError> {
        let fatal = lock(&self.active).fatal.take();
        if fatal.is_some() {
            self.fatal_flag.store(false, Ordering::Release);
        }
        fatal
    }

    fn set_fatal(&self, error: ScriptError) -> HostFailure {
        let mut active = lock(&self.active);
        if active.fatal.is_none() {
            active.fatal = Some(error.clone());
        }
        drop(active);
        self.fatal_flag.store(true, Ordering::Release);
        HostFailure::Fatal(error)
    }

    /// Calls the function at `index` in [`HostApi::functions`] with `args`. See the [module docs](self) for what
    /// each failure means.
    ///
    /// # Errors
    /// [`HostFailure::Thrown`] for an error the script may catch, [`HostFailure::Fatal`] for one that ends the
    /// operation.
    pub fn invoke(&self, index: usize, args: Vec<Value>) -> Result<Value, HostFailure> {
        let Some(function) = self.api.functions.get(index) else {
            return Err(self.set_fatal(ScriptError::new(
                ErrorKind::Internal,
                format!("no host function with index {index}"),
            )));
        };
        let (context, deadline, timeout, fatal) = {
            let active = lock(&self.active);
            (
                active.context.clone(),
                active.deadline,
                active.timeout,
                active.fatal.is_some(),
            )
        };
        if fatal {
            // The operation is over; nothing more reaches the host.
            return Err(HostFailure::Fatal(ScriptError::new(
                ErrorKind::Internal,
                "a host call already failed in this operation",
            )));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(self.set_fatal(ScriptError::timeout(timeout)));
        }
        let call = HostCall {
            session: self,
            context,
            deadline,
            path: &function.path,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| (function.f)(&call, args)));
        let value = match outcome {
            Ok(Ok(value)) => value,
            Ok(Err(error)) => return Err(HostFailure::Thrown(error)),
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                log::error!(target: "vmpool::host", "host function {} panicked: {message}", function.path);
                return Err(self.set_fatal(ScriptError::new(
                    ErrorKind::Internal,
                    format!("host function {} panicked: {message}", function.path),
                )));
            }
        };
        // The size first: a result past the memory limit is refused as such even when making it also took the
        // operation past its deadline.
        let size = value_size(&value, self.memory_limit);
        if size > self.memory_limit {
            return Err(self.set_fatal(ScriptError::new(
                ErrorKind::Memory,
                format!(
                    "host function {} returned more than the memory limit of {} MiB",
                    function.path,
                    self.memory_limit / (1024 * 1024)
                ),
            )));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(self.set_fatal(ScriptError::timeout(timeout)));
        }
        Ok(value)
    }

    /// Logs one console line (and captures it when the context asks), within the operation's caps.
    fn log(&self, level: log::Level, args: &[Value], separator: &str) {
        let caps = self.api.console_limits;
        let mut text = String::new();
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                text.push_str(separator);
            }
            match arg {
                Value::String(s) => text.push_str(s),
                other => text.push_str(&other.to_string()),
            }
        }
        let mut active = lock(&self.active);
        let context = active.context.clone();
        let room = caps.max_bytes.saturating_sub(active.bytes);
        if active.lines >= caps.max_lines || room == 0 {
            drop(active);
            if let Some(ctx) = &context {
                lock(&ctx.0.console).dropped += 1;
            }
            return;
        }
        if text.len() > room {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        active.lines += 1;
        active.bytes += text.len().max(1);
        drop(active);
        match &context {
            Some(ctx) => {
                log::log!(target: "vmpool::script", level, "[{}] {text}", ctx.id());
                if ctx.0.capture {
                    lock(&ctx.0.console).lines.push(ConsoleLine {
                        level: level_name(level),
                        text,
                    });
                }
            }
            None => log::log!(target: "vmpool::script", level, "{text}"),
        }
    }
}

fn level_name(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "error",
        log::Level::Warn => "warn",
        log::Level::Info => "info",
        log::Level::Debug | log::Level::Trace => "debug",
    }
}

/// The current operation of a [`HostSession`]; dropping it clears the context.
#[must_use = "dropping it ends the operation at once"]
pub struct ActiveCall<'a> {
    session: &'a HostSession,
}

impl ActiveCall<'_> {
    /// Ends the operation with `result`, replaced by the fatal failure of a host call if there was one (a panic, the
    /// deadline, an oversized result: the script cannot have swallowed it).
    ///
    /// # Errors
    /// `result`'s error, or the fatal failure.
    pub fn finish(self, result: Result<Value, ScriptError>) -> Result<Value, ScriptError> {
        match self.session.take_fatal() {
            Some(fatal) => Err(fatal),
            None => result,
        }
    }
}

impl Drop for ActiveCall<'_> {
    fn drop(&mut self) {
        let mut active = lock(&self.session.active);
        active.context = None;
        active.deadline = None;
    }
}

/// A cheap estimate of the bytes `value` takes, for the limits on host arguments and results: string lengths plus a
/// fixed cost per value. Stops counting once past `cap`.
pub fn value_size(value: &Value, cap: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        total = total.saturating_add(16);
        match v {
            Value::String(s) => total = total.saturating_add(s.len()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (k, v) in map {
                    total = total.saturating_add(k.len());
                    stack.push(v);
                }
            }
            _ => {}
        }
        if total > cap {
            return total;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api() -> HostApi {
        HostApi::new()
            .function("add", |_c, (a, b): (f64, f64)| Ok(a + b))
            .function("now", |_c, (): ()| Ok(7))
            .raw_function("echo", |_c, args| Ok(Value::Array(args.to_vec())))
            .raw_function("boom", |_c, _| panic!("kaboom"))
            .raw_function("big", |_c, _| Ok(Value::String("x".repeat(2 << 20))))
            .raw_function("slow", |c, _| {
                std::thread::sleep(c.remaining().unwrap_or_default() + Duration::from_millis(5));
                Ok(Value::Null)
            })
            .namespace("kv", |ns| {
                ns.function("who", |c, (): ()| Ok(c.context().map(|c| c.data().clone())))
            })
    }

    fn index(api: &HostApi, path: &str) -> usize {
        api.functions()
            .iter()
            .position(|f| f.path() == path)
            .unwrap()
    }

    #[test]
    fn typed_functions_convert_arguments_and_results() {
        let api = Arc::new(api());
        let s = HostSession::new(Arc::clone(&api), 1 << 20);
        let _call = s.enter(None, Duration::from_secs(1));
        assert_eq!(
            s.invoke(index(&api, "add"), vec![json!(1), json!(2.5)])
                .unwrap(),
            json!(3.5)
        );
        assert_eq!(s.invoke(index(&api, "now"), vec![]).unwrap(), json!(7));
        match s.invoke(index(&api, "add"), vec![json!("a")]) {
            Err(HostFailure::Thrown(e)) => {
                assert_eq!(e.code(), "E_ARGS");
                assert!(e.message().contains("add"), "{e}");
            }
            other => panic!("expected E_ARGS, got {other:?}"),
        }
        assert!(!s.is_fatal());
    }

    #[test]
    fn a_panic_is_fatal_and_replaces_the_result() {
        let api = Arc::new(api());
        let s = HostSession::new(Arc::clone(&api), 1 << 20);
        let call = s.enter(None, Duration::from_secs(1));
        assert!(
            matches!(s.invoke(index(&api, "boom"), vec![]), Err(HostFailure::Fatal(e)) if e.kind() == ErrorKind::Internal)
        );
        assert!(s.is_fatal());
        // Later calls in the same operation do not reach the host.
        assert!(matches!(
            s.invoke(index(&api, "echo"), vec![]),
            Err(HostFailure::Fatal(_))
        ));
        let err = call.finish(Ok(json!(1))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.message().contains("kaboom"), "{err}");
        // The next operation starts clean.
        let _next = s.enter(None, Duration::from_secs(1));
        assert!(!s.is_fatal());
        assert_eq!(
            s.invoke(index(&api, "echo"), vec![json!(1)]).unwrap(),
            json!([1])
        );
    }

    #[test]
    fn results_past_the_memory_limit_and_the_deadline_are_fatal() {
        let api = Arc::new(api());
        let s = HostSession::new(Arc::clone(&api), 1 << 20);
        let call = s.enter(None, Duration::from_secs(1));
        assert!(
            matches!(s.invoke(index(&api, "big"), vec![]), Err(HostFailure::Fatal(e)) if e.kind() == ErrorKind::Memory)
        );
        drop(call);
        let call = s.enter(None, Duration::from_millis(20));
        assert!(
            matches!(s.invoke(index(&api, "slow"), vec![]), Err(HostFailure::Fatal(e)) if e.kind() == ErrorKind::Timeout)
        );
        assert_eq!(
            call.finish(Ok(Value::Null)).unwrap_err().kind(),
            ErrorKind::Timeout
        );
    }

    #[test]
    fn the_context_is_visible_only_during_its_operation() {
        let api = Arc::new(api());
        let s = HostSession::new(Arc::clone(&api), 1 << 20);
        let ctx = CallContext::new("r1").with_data(json!({ "user": "ann" }));
        let who = index(&api, "kv.who");
        let context = index(&api, "vmpool.context");
        {
            let _call = s.enter(Some(&ctx), Duration::from_secs(1));
            assert_eq!(s.invoke(who, vec![]).unwrap(), json!({ "user": "ann" }));
            assert_eq!(
                s.invoke(context, vec![]).unwrap(),
                json!({ "id": "r1", "data": { "user": "ann" } })
            );
        }
        let _call = s.enter(None, Duration::from_secs(1));
        assert_eq!(s.invoke(who, vec![]).unwrap(), Value::Null);
        assert_eq!(s.invoke(context, vec![]).unwrap(), Value::Null);
    }

    #[test]
    fn console_lines_are_captured_within_the_caps() {
        let api = Arc::new(HostApi::new().console_limits(ConsoleLimits {
            max_lines: 3,
            max_bytes: 10,
        }));
        let s = HostSession::new(Arc::clone(&api), 1 << 20);
        let ctx = CallContext::new("r").capture_console();
        let log = index(&api, "console.log");
        let warn = index(&api, "console.warn");
        let _call = s.enter(Some(&ctx), Duration::from_secs(1));
        s.invoke(log, vec![json!("a"), json!({ "b": 1 })]).unwrap();
        s.invoke(warn, vec![json!("0123456789")]).unwrap();
        s.invoke(log, vec![json!("c")]).unwrap();
        let lines = ctx.console();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            ConsoleLine {
                level: "info",
                text: "a {\"b\":1}".into()
            }
        );
        assert_eq!(lines[1].level, "warn");
        assert_eq!(lines[1].text, "0", "cut to the byte cap");
        assert_eq!(ctx.dropped_lines(), 1);
    }

    #[test]
    fn reserved_and_bad_names_are_refused() {
        let reserved = std::panic::catch_unwind(|| {
            HostApi::new().raw_function("require", |_c, _| Ok(Value::Null))
        });
        assert!(reserved.is_err());
        let bad = std::panic::catch_unwind(|| HostApi::new().namespace("a-b", |ns| ns));
        assert!(bad.is_ok(), "an empty namespace registers nothing");
        let bad = std::panic::catch_unwind(|| {
            HostApi::new().namespace("a-b", |ns| ns.raw_function("f", |_c, _| Ok(Value::Null)))
        });
        assert!(bad.is_err());
    }

    #[test]
    fn value_size_counts_strings_and_stops_at_the_cap() {
        assert_eq!(value_size(&json!("abc"), usize::MAX), 19);
        assert!(value_size(&Value::Array(vec![json!("x"); 1000]), 100) > 100);
        assert!(value_size(&Value::Array(vec![json!("x"); 1000]), 100) < 200);
    }
}
