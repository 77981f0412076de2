//! The host API ([`pool_core::host`]) in QuickJS: one native function per registered function, `console`,
//! `vmpool.context()` and `require`.
//!
//! # Installation
//! At creation, before the modules and the prelude, every function registered for JavaScript becomes a native
//! function: a global (`add`) or a member of a plain namespace object (`kv.get`, `console.log`, `vmpool.context`).
//! Every host function object and namespace object is frozen, and each host global (namespaces, top-level
//! functions, `require`) is a non-configurable property of the global object, under every isolation policy.
//! While the prelude runs they are still writable (so that a prelude declaring `function echo` of the same name as
//! a host function does not fail); right after it, each is set back to the host's value and made read-only. So a
//! host name always means the host function: a script (the prelude included) cannot replace, delete or decorate
//! `kv.get`, `console.log` or `require` for a later use. Under strict isolation the lockdown and the fingerprint
//! then cover them like every other global.
//!
//! # A call
//! The trampoline converts the arguments with the crate's value conversion (getters and `toJSON` run as for a
//! result), counting bytes as [`pool_core::host::value_size`] does: past [`HostApi::arg_limit`] it stops, before
//! copying the string that would pass it, and throws `E_ARG_SIZE`. A function, symbol, cyclic or too deeply nested
//! argument throws `E_ARGS`, except for `console`, which prints it as `[function]`, `[symbol]`, `[circular]`
//! (and an `Error` as `name: message`). Then it calls [`HostSession::invoke`] by the function's index (no lookup
//! by name) and converts the result, whose allocations count toward the memory limit like any other:
//! - a [`HostError`](pool_core::host::HostError) becomes an `Error` with its `message` and an own `code`,
//!   which the script can catch; uncaught, the operation fails with kind `exception` and a message
//!   `Error [CODE]: message, ...`;
//! - a fatal failure (a panic of the host function, the deadline passed while it ran, a result larger than the
//!   memory limit) ends the operation uncatchably: the interrupt handler interrupts while the session is fatal,
//!   and the trampoline runs a loop that it interrupts, so the exception leaving the host function is QuickJS's
//!   uncatchable interruption (`try`/`catch` and `finally` do not run). The operation then fails with the
//!   session's error (kind `internal`, `timeout` or `memory`) and the instance reports itself broken.
//!
//! The trampoline itself never panics: a host function's panic is caught by [`HostSession::invoke`], and
//! nothing else in the glue can panic, so rquickjs (which stores a callback's panic and resumes it at a later
//! exception check) never holds one.
//!
//! A getter or `toJSON` of an argument may call host functions itself. Since rquickjs moves QuickJS's stack
//! limit down to the caller of every function it calls, a host call refuses to start (kind `stack`) once the
//! native stack is `stack_kb` deeper than where the operation entered QuickJS, and `toJSON` is called only in
//! the top quarter of that: a script recursing through arguments' `toJSON` cannot overflow the native stack.
//!
//! # Modules
//! [`pool_core::js::REQUIRE`] is called with every module registered for JavaScript (source modules evaluated
//! from [`MODULE_PREFIX`] + source + [`MODULE_SUFFIX`], named `module:NAME` in stacks, and host namespaces), once
//! per instance, before the prelude; the `require` it returns, its cache and the cache's records are frozen, so a
//! request cannot swap a module for a later one under any policy (the exports themselves are frozen by strict's
//! lockdown). A module that fails to parse or throws fails the creation, with the module's name.

use std::sync::Arc;

use pool_core::host::{Builtin, HostError, HostFailure, HostSession, Language, ModuleSource};
use pool_core::js::{MODULE_PREFIX, MODULE_SUFFIX, REQUIRE};
use pool_core::{ErrorKind, Limits, ScriptError};
use rquickjs::context::EvalOptions;
use rquickjs::function::{IntoJsFunc, ParamRequirement, Params};
use rquickjs::object::Property;
use rquickjs::{Array, Ctx, Exception, Function, Object};

use crate::convert::{self, Failure, FromJs, Key};
use crate::deadline::{Deadline, Tripped};
use crate::failure::{Phase, classify, describe, tripped};
use crate::{Helpers, STOP_FN};

/// What every trampoline of an instance shares.
pub(crate) struct Link {
    session: Arc<HostSession>,
    deadline: Arc<Deadline>,
    memory_limit: usize,
}

impl Link {
    pub(crate) fn new(
        session: Arc<HostSession>,
        deadline: Arc<Deadline>,
        memory_limit: usize,
    ) -> Self {
        Self {
            session,
            deadline,
            memory_limit,
        }
    }
}

/// The native function installed for the registered function at `index` of [`HostApi::functions`].
///
/// It holds no JavaScript value (a value held by Rust is invisible to QuickJS's collector and would outlive the
/// runtime).
struct Trampoline {
    link: Arc<Link>,
    index: usize,
    /// Console functions print what they cannot convert.
    lenient: bool,
}

impl<'js> IntoJsFunc<'js, Trampoline> for Trampoline {
    fn param_requirements() -> ParamRequirement {
        ParamRequirement::any()
    }

    fn call<'a>(&self, params: Params<'a, 'js>) -> rquickjs::Result<rquickjs::Value<'js>> {
        let ctx = params.ctx().clone();
        self.run(&ctx, &params).map_err(|e| pending(&ctx, e))
    }
}

impl Trampoline {
    fn path(&self) -> &str {
        self.link
            .session
            .api()
            .functions()
            .get(self.index)
            .map_or("a host function", |f| f.path())
    }

    fn run<'js>(
        &self,
        ctx: &Ctx<'js>,
        params: &Params<'_, 'js>,
    ) -> rquickjs::Result<rquickjs::Value<'js>> {
        let link = &*self.link;
        link.deadline.check_stack(ctx)?;
        let args = self.arguments(ctx, params)?;
        match link.session.invoke(self.index, args) {
            // `console.log(...)` is `undefined`, as everywhere.
            Ok(pool_core::Value::Null) if self.lenient => {
                Ok(rquickjs::Value::new_undefined(ctx.clone()))
            }
            Ok(value) => match convert::to_js(ctx, &value, 0) {
                Ok(value) => Ok(value),
                Err(Failure::Js(e)) => Err(e),
                Err(Failure::Script(e)) => Err(throw_host_error(
                    ctx,
                    &HostError::new(
                        "E_RESULT",
                        format!(
                            "the result of {} cannot be converted: {}",
                            self.path(),
                            e.message()
                        ),
                    ),
                )),
            },
            Err(HostFailure::Thrown(error)) => Err(throw_host_error(ctx, &error)),
            Err(HostFailure::Fatal(_)) => Err(self.stop(ctx)),
        }
    }

    /// The script's arguments as values, within the byte budget.
    fn arguments<'js>(
        &self,
        ctx: &Ctx<'js>,
        params: &Params<'_, 'js>,
    ) -> rquickjs::Result<Vec<pool_core::Value>> {
        let link = &*self.link;
        let limit = link.session.api().arg_limit();
        let mut from = FromJs::arguments(
            &link.deadline,
            link.memory_limit,
            limit,
            self.lenient,
            link.deadline.stack_limit(),
        );
        let mut args = Vec::with_capacity(params.len());
        for i in 0..params.len() {
            let Some(arg) = params.arg(i) else { break };
            match from.convert(arg, Key::Root) {
                Ok(value) => args.push(value),
                Err(Failure::Js(e)) => return Err(e),
                Err(Failure::Script(_)) if from.over_budget() => {
                    return Err(throw_host_error(
                        ctx,
                        &HostError::arguments_too_large(self.path(), limit),
                    ));
                }
                Err(Failure::Script(_)) if link.deadline.tripped() == Some(Tripped::Stack) => {
                    return Err(Exception::throw_range(
                        ctx,
                        "Maximum call stack size exceeded",
                    ));
                }
                Err(Failure::Script(e)) => {
                    return Err(throw_host_error(
                        ctx,
                        &HostError::bad_arguments(self.path(), e.message()),
                    ));
                }
            }
        }
        Ok(args)
    }

    /// Ends the operation after a fatal host failure: runs a loop until the interrupt handler (which interrupts
    /// while the session is fatal) throws its uncatchable interruption, which then leaves this function.
    fn stop(&self, ctx: &Ctx<'_>) -> rquickjs::Error {
        if self.link.session.is_fatal() {
            let spin = ctx
                .userdata::<Helpers<'_>>()
                .and_then(|h| h.get(STOP_FN).cloned().flatten());
            if let Some(spin) = spin
                && let Err(e) = spin.call::<_, rquickjs::Value<'_>>(())
            {
                return e;
            }
        }
        Exception::throw_internal(ctx, "a host call failed fatally")
    }
}

/// Makes sure an error leaving a trampoline stands for an exception pending in the context, as QuickJS expects of
/// a native function that fails (rquickjs would otherwise make one, and could panic doing so).
fn pending(ctx: &Ctx<'_>, error: rquickjs::Error) -> rquickjs::Error {
    match error {
        rquickjs::Error::Exception if ctx.has_exception() => error,
        // A conversion that ran out of time stops without an exception: the interrupt handler ends the
        // operation at its next poll.
        rquickjs::Error::Exception => Exception::throw_internal(ctx, "interrupted"),
        rquickjs::Error::Allocation => Exception::throw_internal(ctx, "out of memory"),
        other => Exception::throw_internal(ctx, &other.to_string()),
    }
}

/// Throws `error` as an `Error` with its message and an own `code`.
fn throw_host_error(ctx: &Ctx<'_>, error: &HostError) -> rquickjs::Error {
    let made = Exception::from_message(ctx.clone(), error.message()).and_then(|e| {
        e.as_object()
            .prop(
                "code",
                Property::from(error.code())
                    .writable()
                    .enumerable()
                    .configurable(),
            )
            .map(|()| e)
    });
    match made {
        Ok(exception) => exception.throw(),
        Err(e) => pending(ctx, e),
    }
}

/// The host globals of a new instance, to be made read-only after the prelude ([`Installed::seal`]).
pub(crate) struct Installed<'js> {
    globals: Vec<(String, rquickjs::Value<'js>)>,
    /// The original `Object.defineProperty` (rquickjs's own definitions cannot clear `writable`).
    define: Function<'js>,
}

/// Installs the host API of `link`'s session in `ctx`: namespaces, functions, and `require` with the modules
/// loaded. See the [module docs](self).
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    link: &Arc<Link>,
    limits: &Limits,
) -> Result<Installed<'js>, ScriptError> {
    let deadline = &*link.deadline;
    let fail = |e: rquickjs::Error| {
        let err = describe(ctx, deadline, limits, e.into(), Phase::Internal);
        if err.kind() == ErrorKind::Internal {
            ScriptError::new(
                ErrorKind::Internal,
                format!("cannot install the host API: {}", err.message()),
            )
        } else {
            err
        }
    };
    let api = link.session.api();
    let globals = ctx.globals();
    let object: Object<'js> = globals.get("Object").map_err(fail)?;
    let freeze: Function<'js> = object.get("freeze").map_err(fail)?;
    let freeze = |value: &rquickjs::Value<'js>| freeze.call::<_, ()>((value.clone(),));
    let define: Function<'js> = object.get("defineProperty").map_err(fail)?;

    let mut namespaces: Vec<(&str, Object<'js>)> = Vec::new();
    for name in api.namespaces() {
        namespaces.push((name, Object::new(ctx.clone()).map_err(fail)?));
    }
    let mut installed = Vec::new();
    for (index, f) in api.functions().iter().enumerate() {
        if !f.is_for(Language::JavaScript) {
            continue;
        }
        let trampoline = Trampoline {
            link: Arc::clone(link),
            index,
            lenient: f.builtin() == Builtin::Console,
        };
        let function = Function::new(ctx.clone(), trampoline)
            .and_then(|func| func.with_name(f.name()))
            .map_err(fail)?
            .into_value();
        freeze(&function).map_err(fail)?;
        match f.namespace() {
            Some(ns) => {
                let target = namespaces
                    .iter()
                    .find(|(name, _)| *name == ns)
                    .map(|(_, object)| object)
                    .ok_or_else(|| {
                        ScriptError::new(
                            ErrorKind::Internal,
                            format!("cannot install the host API: no namespace `{ns}`"),
                        )
                    })?;
                target
                    .prop(f.name(), Property::from(function).enumerable())
                    .map_err(fail)?;
            }
            None => installed.push((f.name().to_owned(), function)),
        }
    }
    for (name, object) in namespaces {
        let object = object.into_value();
        freeze(&object).map_err(fail)?;
        installed.push((name.to_owned(), object));
    }
    // Writable while the modules and the prelude run (see the module docs); `seal` makes them read-only.
    for (name, value) in &installed {
        globals
            .prop(
                name.as_str(),
                Property::from(value.clone()).writable().enumerable(),
            )
            .map_err(fail)?;
    }
    let require = load_modules(ctx, link, limits)?;
    freeze(&require).map_err(fail)?;
    globals
        .prop(
            "require",
            Property::from(require.clone()).writable().enumerable(),
        )
        .map_err(fail)?;
    installed.push(("require".to_owned(), require));
    Ok(Installed {
        globals: installed,
        define,
    })
}

impl<'js> Installed<'js> {
    /// Gives every host global its host value back (the prelude may have assigned one) and makes it read-only.
    pub(crate) fn seal(
        self,
        ctx: &Ctx<'js>,
        deadline: &Deadline,
        limits: &Limits,
    ) -> Result<(), ScriptError> {
        let globals = ctx.globals();
        for (name, value) in self.globals {
            let sealed = Object::new(ctx.clone()).and_then(|descriptor| {
                descriptor.set("value", value)?;
                descriptor.set("writable", false)?;
                self.define.call::<_, rquickjs::Value<'js>>((
                    globals.clone(),
                    name.as_str(),
                    descriptor,
                ))
            });
            sealed.map_err(|e| {
                let err = describe(ctx, deadline, limits, e.into(), Phase::Internal);
                ScriptError::new(
                    err.kind(),
                    format!(
                        "cannot make the host global `{name}` read-only: {}",
                        err.message()
                    ),
                )
            })?;
        }
        Ok(())
    }
}

/// Evaluates the module loader with every JavaScript and namespace module, and returns `require` with its cache
/// and the cache's records frozen.
fn load_modules<'js>(
    ctx: &Ctx<'js>,
    link: &Link,
    limits: &Limits,
) -> Result<rquickjs::Value<'js>, ScriptError> {
    let deadline = &*link.deadline;
    let internal = |e: rquickjs::Error| {
        let err = describe(ctx, deadline, limits, e.into(), Phase::Internal);
        ScriptError::new(
            err.kind(),
            format!("cannot set up the module loader: {}", err.message()),
        )
    };
    let globals = ctx.globals();
    let entries = Array::new(ctx.clone()).map_err(internal)?;
    let mut count = 0;
    for module in link.session.api().modules() {
        if !module.is_for(Language::JavaScript) {
            continue;
        }
        let name = module.name();
        let (kind, value): (&str, rquickjs::Value<'js>) = match module.source() {
            ModuleSource::JavaScript(source) => {
                let mut options = EvalOptions::default();
                options.strict = false;
                options.filename = Some(format!("module:{name}"));
                let code = format!("{MODULE_PREFIX}{source}{MODULE_SUFFIX}");
                let function: rquickjs::Value<'js> =
                    ctx.eval_with_options(code, options).map_err(|e| {
                        let err = describe(ctx, deadline, limits, e.into(), Phase::Prelude);
                        ScriptError::new(err.kind(), format!("module `{name}`: {}", err.message()))
                    })?;
                ("javascript", function)
            }
            ModuleSource::Namespace(ns) => {
                let namespace: rquickjs::Value<'js> = globals.get(ns.as_str()).map_err(internal)?;
                ("namespace", namespace)
            }
            // Lua modules were filtered out above.
            _ => continue,
        };
        let entry = Array::new(ctx.clone()).map_err(internal)?;
        entry.set(0, name).map_err(internal)?;
        entry.set(1, kind).map_err(internal)?;
        entry.set(2, value).map_err(internal)?;
        entries.set(count, entry).map_err(internal)?;
        count += 1;
    }
    let mut options = EvalOptions::default();
    options.strict = false;
    options.filename = Some("vmpool:require".to_owned());
    let loader: Function<'js> = ctx.eval_with_options(REQUIRE, options).map_err(internal)?;
    let require: rquickjs::Value<'js> = match loader.call((entries,)) {
        Ok(require) => require,
        Err(rquickjs::Error::Exception) => {
            let exception = ctx.catch();
            if let Some(limit) = tripped(deadline, limits) {
                return Err(limit);
            }
            let err = classify(&exception, limits, Phase::Prelude);
            let stack = exception
                .as_object()
                .and_then(|o| o.get::<_, rquickjs::Value<'_>>("stack").ok())
                .and_then(|s| s.as_string().and_then(|s| s.to_string().ok()))
                .unwrap_or_default();
            let message = match failed_module(&stack) {
                Some(name) => format!("module `{name}` failed to load: {}", err.message()),
                None => format!("a JavaScript module failed to load: {}", err.message()),
            };
            return Err(ScriptError::new(err.kind(), message));
        }
        Err(e) => return Err(internal(e)),
    };
    let function = require.as_function().ok_or_else(|| {
        ScriptError::new(
            ErrorKind::Internal,
            "the module loader returned no function",
        )
    })?;
    // The cache maps names to `{ id, exports }` records: frozen, so that a request cannot swap a module.
    let object: Object<'js> = globals.get("Object").map_err(internal)?;
    let freeze: Function<'js> = object.get("freeze").map_err(internal)?;
    let cache: Object<'js> = function.get("cache").map_err(internal)?;
    for record in cache.values::<rquickjs::Value<'js>>() {
        let record: rquickjs::Value<'js> = record.map_err(internal)?;
        freeze.call::<_, ()>((record,)).map_err(internal)?;
    }
    freeze.call::<_, ()>((cache,)).map_err(internal)?;
    Ok(require)
}

/// The innermost module in a stack trace (`at f (module:NAME:1:2)` or `at module:NAME:1:2`).
fn failed_module(stack: &str) -> Option<&str> {
    stack.lines().find_map(|line| {
        let (_, rest) = line.split_once("module:")?;
        let rest = rest.strip_suffix(')').unwrap_or(rest);
        let mut parts = rest.rsplitn(3, ':');
        let _column = parts.next()?;
        let _line = parts.next()?;
        parts.next()
    })
}

#[cfg(test)]
mod tests {
    use super::failed_module;

    #[test]
    fn the_failed_module_is_the_innermost_module_frame() {
        let stack = "    at fail (native)\n    at <anonymous> (module:inner:2:5)\n    at require (vmpool:require:30:7)\n    at <anonymous> (module:outer:1:11)\n";
        assert_eq!(failed_module(stack), Some("inner"));
        assert_eq!(failed_module("    at module:a:b:1:1\n"), Some("a:b"));
        assert_eq!(failed_module("    at f (prelude:1:1)\n"), None);
    }
}
