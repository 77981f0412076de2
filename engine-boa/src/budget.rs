//! Budgeted execution: how `limits.timeout` and `limits.memory_mb` stop JavaScript while it runs.
//!
//! A `call` runs through a cached trampoline script ([`trampoline`](crate::trampoline)) evaluated with Boa's
//! budgeted interpreter loop (`Script::evaluate_async_with_budget`), polled with a no-op waker; the deadline, the
//! heap ([`meter`](crate::meter)) and the host calls' fatal failures are checked between slices of [`BUDGET`]
//! cost units (`run_budgeted`). Request source without `var`s, top-level functions or `use strict` runs the
//! same way, as one block of a script (`{` + source + `}`, which means what `eval` means for such source:
//! `block_script`); other source goes through `eval`, which Boa runs to completion in one native call, so only
//! the loop and recursion limits ([`limits`](crate::limits)) and the checks after it apply there.

use std::future::Future;
use std::task::{Poll, Waker};
use std::time::Instant;

use boa_engine::parser::Parser;
use boa_engine::{Context, JsResult, JsValue, Script, Source};

use crate::host;
use crate::limits::on_big_stack;
use crate::meter::Meter;

/// Cost units Boa's budgeted interpreter runs between two checks of the deadline and the heap.
pub const BUDGET: u32 = 5_000;

/// How a script run in Boa's budgeted loop ended.
pub(crate) enum Budgeted {
    Done(JsResult<JsValue>),
    /// The deadline passed (the context is left mid-execution and must be discarded).
    Deadline,
    /// The instance's heap passed the memory limit (the same).
    Memory,
    /// A host call failed fatally (the operation's error is that failure).
    HostFatal,
}

/// Evaluates `script` in Boa's budgeted loop, checking `deadline`, the heap and the host calls between slices.
pub(crate) fn run_budgeted(
    script: &Script,
    context: &mut Context,
    deadline: Instant,
    meter: Option<&Meter>,
    host: &host::HostLink,
) -> Budgeted {
    let future = script.evaluate_async_with_budget(context, BUDGET);
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(result) => return Budgeted::Done(result),
            Poll::Pending => {
                if Instant::now() >= deadline {
                    return Budgeted::Deadline;
                }
                if meter.is_some_and(Meter::over) {
                    return Budgeted::Memory;
                }
                if host.is_fatal() {
                    return Budgeted::HostFatal;
                }
            }
        }
    }
}

/// Request source as a script that evaluates it as one block, `{` + source + `}`, when that means what `eval`
/// means: the source is one block's worth of statements (the wrapped text parses as exactly one block, so the
/// source cannot close it and declare at the top level), it declares no `var`s and no top-level functions (which
/// `eval` would make deletable globals and a script would make permanent ones), and it has no `use strict` (a
/// directive in `eval`, a plain string in a block). Its `let`, `const` and `class` stay in the block, as they stay
/// in an `eval`, and the completion value is the same. Such a script runs in Boa's budgeted loop, where the
/// deadline and the heap are checked between slices; `eval` runs to completion in one native call.
pub(crate) fn block_script(context: &mut Context, source: &str) -> Option<Script> {
    use boa_engine::ast::operations::var_declared_names;
    use boa_engine::ast::{Declaration, Statement, StatementListItem};

    if source.contains("use strict") {
        return None;
    }
    let wrapped = format!("{{\n{source}\n}}");
    let one_plain_block = on_big_stack(|| {
        let mut interner = boa_engine::interner::Interner::default();
        let scope = boa_engine::ast::scope::Scope::new_global();
        let Ok(ast) = Parser::new(Source::from_bytes(&wrapped)).parse_script(&scope, &mut interner)
        else {
            return false;
        };
        let [StatementListItem::Statement(statement)] = ast.statements().statements() else {
            return false;
        };
        let Statement::Block(block) = statement.as_ref() else {
            return false;
        };
        let body = block.statement_list();
        var_declared_names(body).is_empty()
            && body.statements().iter().all(|item| match item {
                StatementListItem::Statement(_) => true,
                StatementListItem::Declaration(d) => {
                    matches!(
                        d.as_ref(),
                        Declaration::Lexical(_) | Declaration::ClassDeclaration(_)
                    )
                }
            })
    });
    if !one_plain_block {
        return None;
    }
    on_big_stack(|| Script::parse(Source::from_bytes(&wrapped), None, context)).ok()
}
