//! The host API in Boa (see [`pool_core::host`]): a native trampoline per registered function, the namespace
//! objects, `console`, `vmpool` and `require`, installed at creation before the prelude.
//!
//! Each trampoline is a native function that knows its function's index and reaches its instance's [`HostLink`]
//! through the context's host-defined data (one lookup by type, no lookup by name). It converts the script's
//! arguments under [`HostApi::arg_limit`] (stopping as soon as they pass it), calls [`HostSession::invoke`] on the
//! calling thread (on a carrier, the instance's own thread: no hop), and converts the result within what is left
//! of the instance's memory limit. A [`HostError`] becomes a catchable `Error` with an own `code`; a fatal failure
//! becomes an engine error, which Boa's `try`/`catch` cannot catch (as its runtime limits), so the operation ends,
//! and the operation's result is replaced by the failure when it returns.
//!
//! Memory: host code runs with the thread's allocation cap lifted, and what it keeps (the arguments it stored,
//! caches it filled) is taken off the thread's count, which is the instance's heap; what the conversion of its
//! result makes in the instance counts as any allocation of the script.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boa_engine::error::PanicError;
use boa_engine::object::builtins::JsArray;
use boa_engine::object::{FunctionObjectBuilder, IntegrityLevel};
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, Script,
    Source, js_string,
};
use pool_core::host::{
    Builtin, HostApi, HostError, HostFailure, HostSession, Language, ModuleSource,
};
use pool_core::js::{MODULE_PREFIX, MODULE_SUFFIX, REQUIRE};
use pool_core::{ErrorKind, ScriptError};

use crate::convert::{Fail, FromJs, ToJs};
use crate::{CountingAllocator, heap};

/// Message of the engine error that ends an operation after a fatal host failure (the operation's error is the
/// failure itself: see [`HostLink::end`] and `ActiveCall::finish`).
const ENDED: &str = "the operation ended: a host call failed fatally";

/// One instance's link to its host API, shared by its trampolines (through the context's host-defined data) and
/// by the adapter, which starts and ends every operation on it.
pub(crate) struct HostLink {
    session: Arc<HostSession>,
    /// The original `Object.keys`, for the conversion of arguments.
    object_keys: JsObject,
    arg_limit: usize,
    timeout: Duration,
    memory_mb: u64,
    /// The current operation's deadline, for the conversion of arguments (none between operations).
    deadline: Cell<Option<Instant>>,
    /// A fatal failure found by the adapter itself during the current operation (the deadline passed while
    /// converting arguments, a result that does not fit the memory limit); the session keeps the host's own.
    fatal: RefCell<Option<ScriptError>>,
    /// The first module whose evaluation failed (at creation).
    failed_module: RefCell<Option<String>>,
}

impl HostLink {
    /// The instance's session.
    pub(crate) fn session(&self) -> &HostSession {
        &self.session
    }

    /// Starts an operation whose time limit is `timeout` (the session's `enter` comes first).
    pub(crate) fn begin(&self, timeout: Duration) {
        self.deadline.set(Instant::now().checked_add(timeout));
        self.fatal.borrow_mut().take();
    }

    /// Ends the operation: `result`, unless the adapter found a fatal failure during it (the session's
    /// `finish` comes next and replaces the result with a fatal failure of the host's).
    pub(crate) fn end<T>(&self, result: Result<T, ScriptError>) -> Result<T, ScriptError> {
        self.deadline.set(None);
        match self.fatal.borrow_mut().take() {
            Some(fatal) => Err(fatal),
            None => result,
        }
    }

    /// Whether the current operation must end (a host call failed fatally).
    pub(crate) fn is_fatal(&self) -> bool {
        self.session.is_fatal() || self.fatal.borrow().is_some()
    }

    fn set_fatal(&self, error: ScriptError) -> JsError {
        let mut fatal = self.fatal.borrow_mut();
        if fatal.is_none() {
            *fatal = Some(error);
        }
        ended()
    }

    fn path(&self, index: usize) -> &str {
        self.session
            .api()
            .functions()
            .get(index)
            .map_or("a host function", |f| f.path())
    }

    /// One host call from the script: see the module docs.
    fn call(
        &self,
        index: usize,
        console: bool,
        args: &[JsValue],
        context: &mut Context,
    ) -> JsResult<JsValue> {
        if self.is_fatal() {
            // The operation is over; nothing more reaches the host.
            return Err(ended());
        }
        let start = CountingAllocator::thread_net_bytes();
        let deadline = self
            .deadline
            .get()
            .unwrap_or_else(|| Instant::now() + self.timeout);
        let mut converter = FromJs::arguments(&self.object_keys, deadline, self.arg_limit, console);
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            match converter.argument(arg, i, context) {
                Ok(value) => values.push(value),
                Err(fail) => return Err(self.argument_failure(fail, index, context)),
            }
        }
        let converted = CountingAllocator::thread_net_bytes();
        // What the conversion made for the host (the values), apart from what script code it ran made.
        let for_host = converted - start - converter.script_bytes();

        let cap = heap::lift_thread_cap();
        let outcome = self.session.invoke(index, values);
        heap::restore_thread_cap(cap);

        let before = CountingAllocator::thread_net_bytes();
        let result = match &outcome {
            Ok(_) if console => Ok(JsValue::undefined()),
            Ok(value) => self.result(index, value, context),
            Err(HostFailure::Thrown(error)) => Err(throw(error, context)),
            Err(HostFailure::Fatal(_)) => Err(ended()),
        };
        let in_instance = CountingAllocator::thread_net_bytes() - before;
        drop(outcome);
        // Everything since the arguments were converted, apart from what the result made in the instance, is the
        // host's: the arguments it freed (or kept), what it allocated and kept.
        heap::discount(CountingAllocator::thread_net_bytes() - converted - in_instance + for_host);
        result
    }

    fn argument_failure(&self, fail: Fail, index: usize, context: &mut Context) -> JsError {
        let path = self.path(index);
        match fail {
            Fail::Conversion(why) => throw(&HostError::bad_arguments(path, why), context),
            Fail::TooLarge => throw(
                &HostError::arguments_too_large(path, self.arg_limit),
                context,
            ),
            // A getter or proxy trap threw (catchable) or hit a runtime limit (not).
            Fail::Js(error) => error,
            Fail::Deadline => self.set_fatal(ScriptError::timeout(self.timeout)),
            Fail::Memory => throw(
                &HostError::bad_arguments(path, "out of memory while converting"),
                context,
            ),
        }
    }

    /// The host's result as a script value, made within the room the instance has left.
    fn result(
        &self,
        index: usize,
        value: &pool_core::Value,
        context: &mut Context,
    ) -> JsResult<JsValue> {
        let meter = crate::meter::active();
        let mut room = |bytes: usize| meter.is_none_or(|m| m.fits(bytes));
        match ToJs::within(&mut room).value(value, context, 0) {
            Ok(value) => Ok(value),
            Err(Fail::Memory) => Err(self.set_fatal(ScriptError::new(
                ErrorKind::Memory,
                format!(
                    "the result of host function {} does not fit the memory limit of {} MiB (limits.memory_mb)",
                    self.path(index),
                    self.memory_mb
                ),
            ))),
            Err(Fail::Js(error)) => Err(error),
            Err(Fail::Conversion(why)) => Err(throw(
                &HostError::new(
                    "E_RESULT",
                    format!("the result of {} cannot be converted: {why}", self.path(index)),
                ),
                context,
            )),
            Err(Fail::Deadline | Fail::TooLarge) => Err(throw(
                &HostError::new(
                    "E_RESULT",
                    format!("the result of {} cannot be converted", self.path(index)),
                ),
                context,
            )),
        }
    }
}

/// The engine error that ends the operation: Boa's `try`/`catch` cannot catch it, and it unwinds through native
/// frames (sort comparators, promise jobs) to the adapter.
fn ended() -> JsError {
    PanicError::new(ENDED).into()
}

/// A host error as the script sees it: an `Error` with the message and an own `code`.
fn throw(error: &HostError, context: &mut Context) -> JsError {
    let object = JsNativeError::error()
        .with_message(error.message().to_owned())
        .into_opaque(context);
    // A fresh, extensible object: defining an own property cannot fail.
    let _ = object.create_data_property_or_throw(
        js_string!("code"),
        JsString::from(error.code()),
        context,
    );
    JsError::from_opaque(object.into())
}

/// The native function behind every installed host function.
fn trampoline(
    index: usize,
    console: bool,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let Some(link) = context.get_data::<Rc<HostLink>>().cloned() else {
        return Err(PanicError::new("the host API is not installed in this context").into());
    };
    link.call(index, console, args, context)
}

/// The host globals of a new instance, made read-only after the prelude by [`Installed::seal`].
pub(crate) struct Installed {
    globals: Vec<(JsString, JsValue)>,
}

impl Installed {
    /// Defines `name` as a host global: non-configurable, and writable and enumerable until [`Installed::seal`]
    /// (a global function declaration of the same name in the prelude then assigns it instead of failing).
    fn define(&mut self, context: &mut Context, name: &str, value: JsValue) -> JsResult<()> {
        let name = JsString::from(name);
        let global = context.global_object();
        global.define_property_or_throw(
            name.clone(),
            PropertyDescriptor::builder()
                .value(value.clone())
                .writable(true)
                .enumerable(true)
                .configurable(false),
            context,
        )?;
        self.globals.push((name, value));
        Ok(())
    }

    /// Gives every host global its host value back (the prelude may have assigned one) and makes it read-only,
    /// under every isolation policy: a host name always means the host function.
    pub(crate) fn seal(self, context: &mut Context) -> JsResult<()> {
        let global = context.global_object();
        for (name, value) in self.globals {
            global.define_property_or_throw(
                name,
                PropertyDescriptor::builder().value(value).writable(false),
                context,
            )?;
        }
        Ok(())
    }
}

/// Installs the functions of `api` for JavaScript in `context` (global functions and namespace objects, all
/// frozen, as non-configurable globals; see [`Installed`]) and links the context to a new session. No script runs.
pub(crate) fn install(
    context: &mut Context,
    api: &Arc<HostApi>,
    memory_limit: usize,
    memory_mb: u64,
    timeout: Duration,
    object_keys: JsObject,
) -> JsResult<(Rc<HostLink>, Installed)> {
    let link = Rc::new(HostLink {
        session: HostSession::new(Arc::clone(api), memory_limit),
        object_keys,
        arg_limit: api.arg_limit(),
        timeout,
        memory_mb,
        deadline: Cell::new(None),
        fatal: RefCell::new(None),
        failed_module: RefCell::new(None),
    });
    context.insert_data(Rc::clone(&link));
    let js = |f: &&pool_core::host::HostFunction| f.is_for(Language::JavaScript);
    let mut namespaces: Vec<(&str, JsObject)> = Vec::new();
    for name in api.namespaces() {
        if api
            .functions()
            .iter()
            .filter(js)
            .any(|f| f.namespace() == Some(name))
        {
            namespaces.push((name, JsObject::with_object_proto(context.intrinsics())));
        }
    }
    let mut globals = Vec::new();
    for (index, f) in api.functions().iter().enumerate() {
        if !f.is_for(Language::JavaScript) {
            continue;
        }
        let console = f.builtin() == Builtin::Console;
        let native = NativeFunction::from_copy_closure(move |_this, args, context| {
            trampoline(index, console, args, context)
        });
        let function: JsObject = FunctionObjectBuilder::new(context.realm(), native)
            .name(JsString::from(f.name()))
            .length(0)
            .constructor(false)
            .build()
            .into();
        function.set_integrity_level(IntegrityLevel::Frozen, context)?;
        let holder = f
            .namespace()
            .and_then(|ns| namespaces.iter().find(|(name, _)| *name == ns));
        match holder {
            Some((_, holder)) => {
                holder.define_property_or_throw(
                    JsString::from(f.name()),
                    PropertyDescriptor::builder()
                        .value(function)
                        .writable(false)
                        .enumerable(true)
                        .configurable(false),
                    context,
                )?;
            }
            None => globals.push((f.name(), function)),
        }
    }
    let mut installed = Installed {
        globals: Vec::new(),
    };
    for (name, namespace) in &namespaces {
        namespace.set_integrity_level(IntegrityLevel::Frozen, context)?;
        installed.define(context, name, namespace.clone().into())?;
    }
    for (name, function) in globals {
        installed.define(context, name, function.into())?;
    }
    Ok((link, installed))
}

/// Why the modules could not be loaded.
pub(crate) struct ModuleFailure {
    /// The module at fault, when known.
    pub(crate) module: Option<String>,
    /// What went wrong.
    pub(crate) error: ModuleError,
}

/// What went wrong loading the modules.
pub(crate) enum ModuleError {
    /// The module's source nests too deeply to be parsed.
    Source(ScriptError),
    /// A JavaScript error (a syntax error, an exception, a runtime limit).
    Js(JsError),
}

impl From<JsError> for ModuleFailure {
    fn from(error: JsError) -> Self {
        Self {
            module: None,
            error: ModuleError::Js(error),
        }
    }
}

/// Evaluates the JavaScript modules of the linked API once, through pool-core's loader ([`REQUIRE`]), and makes
/// the global `require` (a host global of `installed`). `require`, its cache and the cache's records are frozen, so
/// that no request can swap a module for a later one under any policy (strict's lockdown freezes the exports too).
/// Runs script code: the caller has started an operation.
pub(crate) fn load_modules(
    link: &HostLink,
    installed: &mut Installed,
    context: &mut Context,
) -> Result<(), ModuleFailure> {
    let api = link.session.api();
    let loader = Script::parse(Source::from_bytes(REQUIRE), None, context)?.evaluate(context)?;
    let Some(loader) = loader.as_callable() else {
        return Err(JsError::from(PanicError::new("the module loader is not a function")).into());
    };
    let mut entries = Vec::new();
    for module in api.modules() {
        if !module.is_for(Language::JavaScript) {
            continue;
        }
        let name = module.name();
        let named = |error: ModuleError| ModuleFailure {
            module: Some(name.to_owned()),
            error,
        };
        let (kind, value): (&str, JsValue) = match module.source() {
            ModuleSource::JavaScript(source) => {
                crate::source::check_source(source, usize::MAX)
                    .map_err(|e| named(ModuleError::Source(e)))?;
                let text = format!("{MODULE_PREFIX}{source}{MODULE_SUFFIX}");
                let file = format!("module:{name}");
                let function = Script::parse(
                    Source::from_bytes(&text).with_path(Path::new(&file)),
                    None,
                    context,
                )
                .and_then(|script| script.evaluate(context))
                .map_err(|e| named(ModuleError::Js(e)))?;
                let Some(function) = function.as_callable() else {
                    return Err(named(ModuleError::Js(
                        PanicError::new("the module is not a function").into(),
                    )));
                };
                (
                    "javascript",
                    module_function(function, name, context).into(),
                )
            }
            ModuleSource::Namespace(namespace) => {
                let global = context.global_object();
                let object = global.get(JsString::from(namespace.as_str()), context)?;
                ("namespace", object)
            }
            _ => continue,
        };
        let entry = JsArray::from_iter(
            [
                JsValue::new(JsString::from(name)),
                JsValue::new(JsString::from(kind)),
                value,
            ],
            context,
        );
        entries.push(JsValue::from(entry));
    }
    let entries = JsArray::from_iter(entries, context);
    let require = loader
        .call(&JsValue::undefined(), &[entries.into()], context)
        .map_err(|error| ModuleFailure {
            module: link.failed_module.borrow_mut().take(),
            error: ModuleError::Js(error),
        })?;
    if let Some(object) = require.as_object() {
        let cache = object.get(js_string!("cache"), context)?;
        if let Some(cache) = cache.as_object() {
            for key in cache.own_property_keys(context)? {
                if let Some(record) = cache.get(key, context)?.as_object() {
                    record.set_integrity_level(IntegrityLevel::Frozen, context)?;
                }
            }
            cache.set_integrity_level(IntegrityLevel::Frozen, context)?;
        }
        object.set_integrity_level(IntegrityLevel::Frozen, context)?;
    }
    installed.define(context, "require", require)?;
    Ok(())
}

/// A module's function wrapped so that a failure while it loads names the module.
fn module_function(function: JsObject, name: &str, context: &mut Context) -> JsObject {
    let native = NativeFunction::from_copy_closure_with_captures(
        |this: &JsValue,
         args: &[JsValue],
         (function, name): &(JsObject, JsString),
         context: &mut Context| {
            let result = function.call(this, args, context);
            if result.is_err()
                && let Some(link) = context.get_data::<Rc<HostLink>>()
            {
                let mut failed = link.failed_module.borrow_mut();
                if failed.is_none() {
                    *failed = Some(name.to_std_string_escaped());
                }
            }
            result
        },
        (function, JsString::from(name)),
    );
    FunctionObjectBuilder::new(context.realm(), native)
        .name(JsString::from(name))
        .length(3)
        .build()
        .into()
}
