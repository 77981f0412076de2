//! Checks of source before anything parses it: its size against `max_source_bytes` (a `syntax` error) and its
//! nesting, by the pre-parse scan of module `scan` (brackets deeper than [`MAX_NESTING`] or expression chains
//! longer than [`MAX_CHAIN`] tokens: a `stack` error). The same checks apply to the source that scripts give
//! `eval` and `Function`, through Boa's host hooks (`Hooks`), where a failed check is a SyntaxError.
//! Also the standalone parse that names a syntax error's line and column.

use boa_engine::context::HostHooks;
use boa_engine::parser::Parser;
use boa_engine::realm::Realm;
use boa_engine::{Context, JsNativeError, JsResult, JsString, Source};
use pool_core::{ErrorKind, ScriptError};

use crate::limits::on_big_stack;
use crate::scan::{self, MAX_CHAIN, MAX_NESTING};

/// Host hooks that apply the source checks to `eval` and `Function` called by scripts.
pub(crate) struct Hooks {
    pub(crate) max_source_bytes: usize,
}

impl HostHooks for Hooks {
    fn ensure_can_compile_strings(
        &self,
        _realm: Realm,
        parameters: &[JsString],
        body: &JsString,
        _direct: bool,
        _context: &mut Context,
    ) -> JsResult<()> {
        let mut source = body.to_std_string_lossy();
        for p in parameters {
            source.push(',');
            source.push_str(&p.to_std_string_lossy());
        }
        match check_source(&source, self.max_source_bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(JsNativeError::syntax()
                .with_message(e.message().to_owned())
                .into()),
        }
    }
}

/// Source size and nesting checks, before anything parses `source`.
pub(crate) fn check_source(source: &str, max_source_bytes: usize) -> Result<(), ScriptError> {
    pool_core::engine::check_source_size(source, max_source_bytes)?;
    scan::check(source).map_err(|e| match e {
        scan::TooDeep::Nesting { line } => ScriptError::new(
            ErrorKind::Stack,
            format!("source nests brackets deeper than the limit of {MAX_NESTING} levels (line {line})"),
        ),
        scan::TooDeep::Chain { line } => ScriptError::new(
            ErrorKind::Stack,
            format!("source has an expression chain longer than the limit of {MAX_CHAIN} tokens (line {line})"),
        ),
    })
}

/// Parses `source` standalone (own interner, no context); the parser's message names line and column.
pub(crate) fn parse_error(source: &str) -> Option<String> {
    on_big_stack(|| {
        let mut interner = boa_engine::interner::Interner::default();
        let scope = boa_engine::ast::scope::Scope::new_global();
        Parser::new(Source::from_bytes(source))
            .parse_script(&scope, &mut interner)
            .err()
            .map(|e| e.to_string())
    })
}
