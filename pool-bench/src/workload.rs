//! What a benchmark runs: a [`Job`] (prelude plus the request made of every use), and the built-in
//! [`Workload`]s shared by `vmpool-bench compare` and the criterion benches.

use pool_core::host::{CallContext, HostApi};
use pool_core::{ScriptEngine, Value};
use serde_json::json;

use crate::backend::Language;

/// The JSON handler of the engine issues, in JavaScript: `handle({items: [1..10]})` returns a JSON string.
pub const JSON_HANDLER_JS: &str = "function handle(input){ return JSON.stringify({sum: input.items.reduce((a,b)=>a+b,0), n: input.items.length}) }";

/// The JSON handler in Lua.
pub const JSON_HANDLER_LUA: &str = r#"function handle(input) local s=0 for _,v in ipairs(input.items) do s=s+v end return string.format('{"sum":%d,"n":%d}', s, #input.items) end"#;

/// The guide's second benchmark in JavaScript: `handle()` computes `fibonacci(20)` ten times.
pub const FIBONACCI_JS: &str = "function fibonacci(n) { return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2); }\n\
function handle() { let r = 0; for (let i = 0; i < 10; i++) { r = fibonacci(20); } return r; }";

/// The same in Lua.
pub const FIBONACCI_LUA: &str = "function fibonacci(n) if n < 2 then return n end return fibonacci(n - 1) + fibonacci(n - 2) end\n\
function handle() local r = 0 for i = 1, 10 do r = fibonacci(20) end return r end";

/// A handler making 100 host calls in JavaScript: `host.echo(i)` for `i` in `0..100`, summed. Result `4950`.
pub const HOST_CALLS_JS: &str = "function handle() { let s = 0; for (let i = 0; i < 100; i++) { s += host.echo(i); } return s; }";

/// The same in Lua.
pub const HOST_CALLS_LUA: &str =
    "function handle() local s = 0 for i = 0, 99 do s = s + host.echo(i) end return s end";

/// The input of the JSON handler: `{"items": [1, 2, ..., 10]}`.
pub fn json_handler_input() -> Value {
    json!({ "items": (1..=10).collect::<Vec<i32>>() })
}

/// What each request does with an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Evaluate this source.
    Eval(String),
    /// Call this global function with two arguments: `input` and the request's index (0-based).
    Call {
        /// The global function.
        function: String,
        /// The first argument of every call.
        input: Value,
    },
}

impl Request {
    /// Runs request number `index` on `vm` directly through `engine`.
    ///
    /// # Errors
    /// The engine's error.
    pub fn run<E: ScriptEngine>(
        &self,
        engine: &E,
        vm: &mut E::Vm,
        index: u64,
    ) -> Result<Value, E::Error> {
        self.run_with(engine, vm, None, index)
    }

    /// As [`run`](Request::run), with `context` as the request's context when there is one.
    ///
    /// # Errors
    /// The engine's error.
    pub fn run_with<E: ScriptEngine>(
        &self,
        engine: &E,
        vm: &mut E::Vm,
        context: Option<&CallContext>,
        index: u64,
    ) -> Result<Value, E::Error> {
        match (self, context) {
            (Request::Eval(source), None) => engine.eval(vm, source),
            (Request::Eval(source), Some(ctx)) => engine.eval_with(vm, ctx, source),
            (Request::Call { function, input }, None) => {
                engine.call(vm, function, &[input.clone(), Value::from(index)])
            }
            (Request::Call { function, input }, Some(ctx)) => {
                engine.call_with(vm, ctx, function, &[input.clone(), Value::from(index)])
            }
        }
    }

    /// Runs request number `index` on a pooled instance (so that the pool counts errors and discards an
    /// instance that hit a limit).
    ///
    /// # Errors
    /// The engine's error.
    pub fn run_pooled<E: ScriptEngine>(
        &self,
        vm: &mut pool_core::PooledVm<E>,
        index: u64,
    ) -> Result<Value, E::Error> {
        self.run_pooled_with(vm, None, index)
    }

    /// As [`run_pooled`](Request::run_pooled), with `context` as the request's context when there is one
    /// ([`PooledVm::call_with`](pool_core::PooledVm::call_with)).
    ///
    /// # Errors
    /// The engine's error.
    pub fn run_pooled_with<E: ScriptEngine>(
        &self,
        vm: &mut pool_core::PooledVm<E>,
        context: Option<&CallContext>,
        index: u64,
    ) -> Result<Value, E::Error> {
        match (self, context) {
            (Request::Eval(source), None) => vm.eval(source),
            (Request::Eval(source), Some(ctx)) => vm.eval_with(ctx, source),
            (Request::Call { function, input }, None) => {
                vm.call(function, &[input.clone(), Value::from(index)])
            }
            (Request::Call { function, input }, Some(ctx)) => {
                vm.call_with(ctx, function, &[input.clone(), Value::from(index)])
            }
        }
    }
}

/// A script and what to do with it on every request.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Run once in every new instance.
    pub prelude: String,
    /// The prelude's name in error messages (the script's file name for `vmpool-bench run`).
    pub prelude_name: String,
    /// Made of every request.
    pub request: Request,
    /// The host functions, modules and console every instance gets ([`HostApi::new`] for the built-in workloads
    /// that call none; [`bench_api`](crate::host::bench_api) for `run` and the host-call workload).
    pub host: HostApi,
}

/// A built-in workload: the same work in JavaScript and in Lua.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// The guide's first benchmark: evaluate `1 + 1` (the same source in both languages). Result `2`.
    #[value(name = "1+1")]
    OnePlusOne,
    /// The guide's second benchmark: a call computing `fibonacci(20)` ten times. Result `6765`.
    #[value(name = "fib20x10")]
    Fibonacci,
    /// The engine issues' JSON handler: `handle({items: [1..10]})` returns `{"sum":55,"n":10}` as a string.
    #[value(name = "json")]
    JsonHandler,
    /// 100 host calls per request: `handle()` sums `host.echo(i)` for `i` in `0..100`. Result `4950`.
    #[value(name = "host100")]
    HostCalls,
}

impl Workload {
    /// Every built-in workload, in the order tables list them.
    pub const ALL: [Workload; 4] = [
        Workload::OnePlusOne,
        Workload::Fibonacci,
        Workload::JsonHandler,
        Workload::HostCalls,
    ];

    /// The workload's short name (as on the command line).
    pub const fn name(self) -> &'static str {
        match self {
            Workload::OnePlusOne => "1+1",
            Workload::Fibonacci => "fib20x10",
            Workload::JsonHandler => "json",
            Workload::HostCalls => "host100",
        }
    }

    /// The value every request returns.
    pub fn expected(self) -> Value {
        match self {
            Workload::OnePlusOne => json!(2),
            Workload::Fibonacci => json!(6765),
            Workload::JsonHandler => json!(r#"{"sum":55,"n":10}"#),
            Workload::HostCalls => json!(4950),
        }
    }

    /// The workload in `language`.
    pub fn job(self, language: Language) -> Job {
        let lua = language == Language::Lua;
        let (prelude, request) = match self {
            Workload::OnePlusOne => ("", Request::Eval("1 + 1".to_owned())),
            Workload::Fibonacci => (
                if lua { FIBONACCI_LUA } else { FIBONACCI_JS },
                Request::Call {
                    function: "handle".to_owned(),
                    input: Value::Null,
                },
            ),
            Workload::JsonHandler => (
                if lua {
                    JSON_HANDLER_LUA
                } else {
                    JSON_HANDLER_JS
                },
                Request::Call {
                    function: "handle".to_owned(),
                    input: json_handler_input(),
                },
            ),
            Workload::HostCalls => (
                if lua { HOST_CALLS_LUA } else { HOST_CALLS_JS },
                Request::Call {
                    function: "handle".to_owned(),
                    input: Value::Null,
                },
            ),
        };
        let host = match self {
            Workload::HostCalls => crate::host::bench_api(),
            _ => HostApi::new(),
        };
        Job {
            prelude: prelude.to_owned(),
            prelude_name: format!("{}.{}", self.name(), if lua { "lua" } else { "js" }),
            request,
            host,
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
