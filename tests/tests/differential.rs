//! Differential property test: random arithmetic, boolean and string expressions, rendered to JavaScript and to
//! Lua, give the same value on every engine compiled in.

use pool_core::{EngineConfig, Pool, ScriptEngine, Value};
use proptest::prelude::*;

/// A number-valued expression. Literals are small so that no intermediate leaves the range where JavaScript
/// doubles and Lua integers agree.
#[derive(Debug, Clone)]
enum Num {
    Lit(i32),
    Frac(i32),
    Add(Box<Num>, Box<Num>),
    Sub(Box<Num>, Box<Num>),
    Mul(Box<Num>, Box<Num>),
    /// Division by a non-zero literal only: JavaScript has a negative zero where Lua's integers have none, so
    /// `1 / -(0)` is -Infinity in one and +inf in the other (the languages differ there, not the engines).
    Div(Box<Num>, i32),
    Neg(Box<Num>),
    Len(Box<Str>),
}

#[derive(Debug, Clone)]
enum Bool {
    Lit(bool),
    Lt(Box<Num>, Box<Num>),
    Eq(Box<Num>, Box<Num>),
    StrEq(Box<Str>, Box<Str>),
    And(Box<Bool>, Box<Bool>),
    Or(Box<Bool>, Box<Bool>),
    Not(Box<Bool>),
}

#[derive(Debug, Clone)]
enum Str {
    Lit(String),
    Concat(Box<Str>, Box<Str>),
}

#[derive(Debug, Clone)]
enum Expr {
    Num(Num),
    Bool(Bool),
    Str(Str),
    List(Vec<Expr>),
}

fn str_strategy() -> impl Strategy<Value = Str> {
    "[a-z ]{0,6}"
        .prop_map(Str::Lit)
        .prop_recursive(2, 8, 2, |inner| {
            (inner.clone(), inner).prop_map(|(a, b)| Str::Concat(Box::new(a), Box::new(b)))
        })
}

fn num_strategy() -> impl Strategy<Value = Num> {
    let leaf = prop_oneof![
        (-20i32..20).prop_map(Num::Lit),
        (-8i32..8).prop_map(Num::Frac),
        str_strategy().prop_map(|s| Num::Len(Box::new(s)))
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Num::Add(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Num::Sub(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Num::Mul(Box::new(a), Box::new(b))),
            (inner.clone(), prop_oneof![-20i32..=-1, 1i32..=20])
                .prop_map(|(a, b)| Num::Div(Box::new(a), b)),
            inner.prop_map(|a| Num::Neg(Box::new(a))),
        ]
    })
}

fn bool_strategy() -> impl Strategy<Value = Bool> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Bool::Lit),
        (num_strategy(), num_strategy()).prop_map(|(a, b)| Bool::Lt(Box::new(a), Box::new(b))),
        (num_strategy(), num_strategy()).prop_map(|(a, b)| Bool::Eq(Box::new(a), Box::new(b))),
        (str_strategy(), str_strategy()).prop_map(|(a, b)| Bool::StrEq(Box::new(a), Box::new(b))),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Bool::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Bool::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Bool::Not(Box::new(a))),
        ]
    })
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    let scalar = prop_oneof![
        num_strategy().prop_map(Expr::Num),
        bool_strategy().prop_map(Expr::Bool),
        str_strategy().prop_map(Expr::Str),
    ];
    prop_oneof![4 => scalar.clone(), 1 => prop::collection::vec(scalar, 1..4).prop_map(Expr::List)]
}

trait Render {
    fn js(&self) -> String;
    fn lua(&self) -> String;
}

impl Render for Num {
    fn js(&self) -> String {
        match self {
            Num::Lit(n) => format!("({n})"),
            Num::Frac(n) => format!("({n}.5)"),
            Num::Add(a, b) => format!("({} + {})", a.js(), b.js()),
            Num::Sub(a, b) => format!("({} - {})", a.js(), b.js()),
            Num::Mul(a, b) => format!("({} * {})", a.js(), b.js()),
            Num::Div(a, b) => format!("({} / ({b}))", a.js()),
            Num::Neg(a) => format!("(-{})", a.js()),
            Num::Len(s) => format!("({}).length", s.js()),
        }
    }
    fn lua(&self) -> String {
        match self {
            Num::Lit(n) => format!("({n})"),
            Num::Frac(n) => format!("({n}.5)"),
            Num::Add(a, b) => format!("({} + {})", a.lua(), b.lua()),
            Num::Sub(a, b) => format!("({} - {})", a.lua(), b.lua()),
            Num::Mul(a, b) => format!("({} * {})", a.lua(), b.lua()),
            Num::Div(a, b) => format!("({} / ({b}))", a.lua()),
            Num::Neg(a) => format!("(- {})", a.lua()),
            Num::Len(s) => format!("(#{})", s.lua()),
        }
    }
}

impl Render for Bool {
    fn js(&self) -> String {
        match self {
            Bool::Lit(b) => b.to_string(),
            Bool::Lt(a, b) => format!("({} < {})", a.js(), b.js()),
            Bool::Eq(a, b) => format!("({} === {})", a.js(), b.js()),
            Bool::StrEq(a, b) => format!("({} === {})", a.js(), b.js()),
            Bool::And(a, b) => format!("({} && {})", a.js(), b.js()),
            Bool::Or(a, b) => format!("({} || {})", a.js(), b.js()),
            Bool::Not(a) => format!("(!{})", a.js()),
        }
    }
    fn lua(&self) -> String {
        match self {
            Bool::Lit(b) => b.to_string(),
            Bool::Lt(a, b) => format!("({} < {})", a.lua(), b.lua()),
            Bool::Eq(a, b) => format!("({} == {})", a.lua(), b.lua()),
            Bool::StrEq(a, b) => format!("({} == {})", a.lua(), b.lua()),
            Bool::And(a, b) => format!("({} and {})", a.lua(), b.lua()),
            Bool::Or(a, b) => format!("({} or {})", a.lua(), b.lua()),
            Bool::Not(a) => format!("(not {})", a.lua()),
        }
    }
}

impl Render for Str {
    fn js(&self) -> String {
        match self {
            Str::Lit(s) => format!("{s:?}"),
            Str::Concat(a, b) => format!("({} + {})", a.js(), b.js()),
        }
    }
    fn lua(&self) -> String {
        match self {
            Str::Lit(s) => format!("{s:?}"),
            Str::Concat(a, b) => format!("({} .. {})", a.lua(), b.lua()),
        }
    }
}

impl Render for Expr {
    fn js(&self) -> String {
        match self {
            Expr::Num(e) => e.js(),
            Expr::Bool(e) => e.js(),
            Expr::Str(e) => e.js(),
            Expr::List(items) => format!(
                "[{}]",
                items.iter().map(Render::js).collect::<Vec<_>>().join(", ")
            ),
        }
    }
    fn lua(&self) -> String {
        match self {
            Expr::Num(e) => e.lua(),
            Expr::Bool(e) => e.lua(),
            Expr::Str(e) => e.lua(),
            Expr::List(items) => format!(
                "{{{}}}",
                items.iter().map(Render::lua).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Evaluates an expression in one engine's language.
type EvalFn = Box<dyn Fn(&Expr) -> Result<Value, String>>;

/// One engine.
struct Evaluator {
    name: &'static str,
    eval: EvalFn,
}

fn evaluator<E: ScriptEngine>(name: &'static str, engine: E, js: bool) -> Evaluator
where
    E::Vm: Send,
{
    let pool = Pool::builder(engine)
        .max_size(1)
        .preload_size(1)
        .maintenance_thread(false)
        .build()
        .unwrap();
    Evaluator {
        name,
        eval: Box::new(move |e| {
            let src = if js {
                e.js()
            } else {
                format!("return {}", e.lua())
            };
            pool.acquire()
                .map_err(|e| e.to_string())?
                .eval(&src)
                .map_err(|err| format!("{src}: {err}"))
        }),
    }
}

#[allow(clippy::vec_init_then_push)] // each push is behind its own feature
fn evaluators() -> Vec<Evaluator> {
    #[allow(unused_mut)]
    let mut all = Vec::new();
    #[cfg(feature = "quickjs")]
    all.push(evaluator(
        "quickjs",
        engine_quickjs::QuickJsEngine::new(EngineConfig::default()).unwrap(),
        true,
    ));
    #[cfg(feature = "lua")]
    all.push(evaluator(
        "lua",
        engine_lua::LuaEngine::new(EngineConfig::default()).unwrap(),
        false,
    ));
    #[cfg(feature = "boa")]
    all.push(evaluator(
        "boa",
        vmpool_tests::boa_engine(EngineConfig::default()),
        true,
    ));
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_engine_gives_the_same_value(expr in expr_strategy()) {
        thread_local! {
            static ENGINES: Vec<Evaluator> = evaluators();
        }
        ENGINES.with(|engines| {
            let results: Vec<(&str, Result<Value, String>)> = engines.iter().map(|e| (e.name, (e.eval)(&expr))).collect();
            for (name, result) in &results {
                prop_assert!(result.is_ok(), "{name}: {result:?}");
            }
            for pair in results.windows(2) {
                prop_assert_eq!(&pair[0].1, &pair[1].1, "{} vs {} on js `{}` / lua `{}`", pair[0].0, pair[1].0, expr.js(), expr.lua());
            }
            Ok(())
        })?;
    }
}
