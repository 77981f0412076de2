//! A custom engine pooled by vmpool: implement `ScriptEngine` and get pooling, cleanup and metrics.
//!
//! The "engine" here is a tiny calculator with variables (`x = 2 * 21`, `x + 1`), defined outside the workspace's
//! adapters. Its instances keep variables between statements of one use; `reset` clears them between uses.
//!
//! Run with `cargo run -p vmpool --example custom_engine`.

use std::collections::HashMap;

use vmpool::{ErrorKind, Pool, PoolConfig, PooledVm, ScriptEngine, ScriptError, Value};

/// The factory: shared by every thread. Holds what all instances share (here, predefined constants).
struct Calculator {
    constants: HashMap<String, f64>,
}

/// One instance: its variables.
#[derive(Default)]
struct CalcVm {
    vars: HashMap<String, f64>,
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

    fn expression(&self, vm: &CalcVm, source: &str) -> Result<f64, ScriptError> {
        let tokens: Vec<&str> = source.split_whitespace().collect();
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

impl ScriptEngine for Calculator {
    type Vm = CalcVm;
    type Error = ScriptError;

    fn create(&self) -> Result<CalcVm, ScriptError> {
        Ok(CalcVm::default())
    }

    fn eval(&self, vm: &mut CalcVm, source: &str) -> Result<Value, ScriptError> {
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
    let engine = Calculator {
        constants: HashMap::from([("pi".to_owned(), std::f64::consts::PI)]),
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
    assert_eq!(metrics.total_uses, 802);
    assert_eq!(metrics.script_errors, 1);
    assert!(metrics.created <= 4);
    Ok(())
}
