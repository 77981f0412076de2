//! A custom engine pooled by vmpool: implement `ScriptEngine` and get pooling, cleanup and metrics.
//!
//! The "engine" here is a tiny calculator with variables (`x = 2 * 21`, `x + 1`), defined outside the workspace's
//! adapters. Its instances keep variables between statements of one use; `reset` clears them between uses.
//!
//! It also honours the host API: `!name a b` calls the host function `name` registered in the engine's
//! [`HostApi`] with the numbers `a` and `b`, through the instance's [`HostSession`], which gives the host function
//! the current request's [`CallContext`] (from `call_with`/`eval_with`), the deadline, and panic containment.
//!
//! Run with `cargo run -p vmpool --example custom_engine`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use vmpool::host::{CallContext, HostApi, HostFailure, HostSession};
use vmpool::{ErrorKind, Pool, PoolConfig, PooledVm, ScriptEngine, ScriptError, Value};

/// The factory: shared by every thread. Holds what all instances share (here, predefined constants and the host
/// functions).
struct Calculator {
    constants: HashMap<String, f64>,
    host: Arc<HostApi>,
}

/// One instance: its variables, and its link to the host functions.
struct CalcVm {
    vars: HashMap<String, f64>,
    session: Arc<HostSession>,
}

impl Calculator {
    fn value(&self, vm: &CalcVm, token: &str) -> Result<f64, ScriptError> {
        if let Ok(n) = token.parse() {
            return Ok(n);
        }
        vm.vars
            .get(token)
            .or_else(|| self.constants.get(token))
            .copied()
            .ok_or_else(|| {
                ScriptError::new(ErrorKind::Exception, format!("{token} is not defined"))
            })
    }

    /// `!name a b`: a host call. A host error is this engine's exception; a fatal failure (a panic, the deadline)
    /// is reported by `finish` in `run`, whatever this returns.
    fn host_call(&self, vm: &CalcVm, name: &str, args: &[&str]) -> Result<f64, ScriptError> {
        let index = self
            .host
            .functions()
            .iter()
            .position(|f| f.path() == name)
            .ok_or_else(|| {
                ScriptError::new(ErrorKind::Exception, format!("no host function {name}"))
            })?;
        let args = args
            .iter()
            .map(|a| self.value(vm, a).map(Value::from))
            .collect::<Result<Vec<_>, _>>()?;
        match vm.session.invoke(index, args) {
            Ok(value) => value.as_f64().ok_or_else(|| {
                ScriptError::new(
                    ErrorKind::Conversion,
                    format!("{name} returned {value}, not a number"),
                )
            }),
            Err(HostFailure::Thrown(e)) => {
                Err(ScriptError::new(ErrorKind::Exception, e.to_string()))
            }
            Err(HostFailure::Fatal(e)) => Err(e),
        }
    }

    fn expression(&self, vm: &CalcVm, source: &str) -> Result<f64, ScriptError> {
        let tokens: Vec<&str> = source.split_whitespace().collect();
        if let Some(name) = tokens.first().and_then(|t| t.strip_prefix('!')) {
            return self.host_call(vm, name, &tokens[1..]);
        }
        match tokens.as_slice() {
            [a] => self.value(vm, a),
            [a, op, b] => {
                let (a, b) = (self.value(vm, a)?, self.value(vm, b)?);
                match *op {
                    "+" => Ok(a + b),
                    "-" => Ok(a - b),
                    "*" => Ok(a * b),
                    "/" => Ok(a / b),
                    other => Err(ScriptError::new(
                        ErrorKind::Syntax,
                        format!("unknown operator {other}"),
                    )),
                }
            }
            _ => Err(ScriptError::new(
                ErrorKind::Syntax,
                format!("cannot parse {source:?}"),
            )),
        }
    }
}

impl Calculator {
    /// One operation with `context` current for host functions; the context is cleared when `active` drops.
    fn run(
        &self,
        vm: &mut CalcVm,
        context: Option<&CallContext>,
        op: impl FnOnce(&Self, &mut CalcVm) -> Result<Value, ScriptError>,
    ) -> Result<Value, ScriptError> {
        let session = Arc::clone(&vm.session);
        let active = session.enter(context, Duration::from_secs(1));
        let result = op(self, vm);
        active.finish(result)
    }

    fn statement(&self, vm: &mut CalcVm, source: &str) -> Result<Value, ScriptError> {
        let result = match source.split_once('=') {
            Some((name, expr)) => {
                let value = self.expression(vm, expr)?;
                vm.vars.insert(name.trim().to_owned(), value);
                value
            }
            None => self.expression(vm, source)?,
        };
        Ok(Value::from(result))
    }
}

impl ScriptEngine for Calculator {
    type Vm = CalcVm;
    type Error = ScriptError;

    fn create(&self) -> Result<CalcVm, ScriptError> {
        Ok(CalcVm {
            vars: HashMap::new(),
            session: HostSession::new(Arc::clone(&self.host), 1 << 20),
        })
    }

    fn eval(&self, vm: &mut CalcVm, source: &str) -> Result<Value, ScriptError> {
        self.run(vm, None, |engine, vm| engine.statement(vm, source))
    }

    /// The request's context is current while the statement runs, so host functions see it.
    fn eval_with(
        &self,
        vm: &mut CalcVm,
        context: &CallContext,
        source: &str,
    ) -> Result<Value, ScriptError> {
        self.run(vm, Some(context), |engine, vm| engine.statement(vm, source))
    }

    fn call(&self, vm: &mut CalcVm, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
        match function {
            "sum" => Ok(Value::from(
                args.iter().filter_map(Value::as_f64).sum::<f64>(),
            )),
            "vars" => Ok(Value::from(vm.vars.len())),
            other => Err(ScriptError::new(
                ErrorKind::Exception,
                format!("no global function `{other}`"),
            )),
        }
    }

    /// "VMs are cleaned between uses": nothing one request defines is seen by the next.
    fn reset(&self, vm: &mut CalcVm) -> Result<(), ScriptError> {
        vm.vars.clear();
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = PoolConfig::from_toml("[vm_pool]\nmax_size = 4\npreload_size = 2\n")?;
    // Host functions: registered once, engine-neutral; a typed one reads the request's data.
    let host = HostApi::new()
        .function("hypot", |_call, (a, b): (f64, f64)| Ok(a.hypot(b)))
        .function("discount", |call, (price,): (f64,)| {
            let rate = call
                .context()
                .and_then(|c| c.data()["discount"].as_f64())
                .unwrap_or(0.0);
            Ok(price * (1.0 - rate))
        });
    let engine = Calculator {
        constants: HashMap::from([("pi".to_owned(), std::f64::consts::PI)]),
        host: Arc::new(host),
    };
    let pool = Pool::new(engine, config)?;

    // The guide's acquire/release-with-defer pattern: the guard returns the instance when it goes out of scope.
    {
        let mut vm = pool.acquire()?;
        vm.eval("x = 2 * 21")?;
        assert_eq!(vm.eval("x + 1")?, Value::from(43.0));
        assert_eq!(
            vm.call("sum", &[Value::from(1), Value::from(2.5)])?,
            Value::from(3.5)
        );
        println!("use 1 of instance {}: x + 1 = 43", PooledVm::id(&vm));
    }

    // The next use of the same instance does not see `x`.
    let err = pool.with(|vm| vm.eval("x + 1")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    println!("use 2: {err}");

    // Host calls: the request's context reaches the host function during `eval_with` only.
    {
        let mut vm = pool.acquire()?;
        assert_eq!(vm.eval("!hypot 3 4")?, Value::from(5.0));
        let ctx = CallContext::new("req-1").with_data(serde_json::json!({ "discount": 0.25 }));
        assert_eq!(vm.eval_with(&ctx, "!discount 100")?, Value::from(75.0));
        assert_eq!(vm.eval("!discount 100")?, Value::from(100.0));
        println!(
            "host calls: hypot 3 4 = 5, discount 100 = 75 with the request's context, 100 without"
        );
    }

    // Several threads share the pool.
    std::thread::scope(|s| {
        for t in 0..8 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..100 {
                    let mut vm = pool.acquire().expect("an instance");
                    let v = vm.eval(&format!("{t} * {i}")).expect("a value");
                    assert_eq!(v, Value::from(f64::from(t * i)));
                }
            });
        }
    });

    let metrics = pool.metrics();
    println!("{metrics}");
    assert_eq!(metrics.total_uses, 803);
    assert_eq!(metrics.script_errors, 1);
    assert!(metrics.created <= 4);
    Ok(())
}
