//! Turning QuickJS failures into [`ScriptError`]s with the shared kinds and messages that name the problem.

use pool_core::{ErrorKind, Limits, ScriptError};
use rquickjs::{Ctx, Object};

use crate::convert::Failure;
use crate::deadline::{Deadline, Tripped};

/// What was running when a failure happened; decides how a `SyntaxError` and an exception are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The prelude, evaluated as a script named after `EngineConfig::prelude_name`.
    Prelude,
    /// Request source evaluated as a global script (isolation `none`), named `input`.
    Script,
    /// Request source evaluated through indirect `eval` (isolation `strict` and `scrub`).
    IndirectEval,
    /// A call of a global function, or a promise job.
    Call,
    /// Converting a result or arguments: an exception here is a `conversion` error.
    Convert,
    /// The adapter's own setup and reset scripts: an exception here is an `internal` error.
    Internal,
}

/// Describes `failure`. If the operation ran into a limit (the deadline, or a stack overflow or refused allocation
/// that the script may have caught) this is that limit's kind whatever the exception says (the interruption is an
/// uncatchable `InternalError: interrupted`, and a script may have turned it into something else).
pub(crate) fn describe(
    ctx: &Ctx<'_>,
    deadline: &Deadline,
    limits: &Limits,
    failure: Failure,
    phase: Phase,
) -> ScriptError {
    let error = match failure {
        Failure::Script(e) => e,
        Failure::Js(rquickjs::Error::Exception) => {
            let exception = ctx.catch();
            if let Some(limit) = tripped(deadline, limits) {
                return limit;
            }
            classify(&exception, limits, phase)
        }
        Failure::Js(rquickjs::Error::Allocation) => memory(limits),
        Failure::Js(e @ (rquickjs::Error::InvalidString(_) | rquickjs::Error::InvalidCStr(_))) => {
            ScriptError::new(
                ErrorKind::Syntax,
                format!("source contains a NUL byte: {e}"),
            )
        }
        Failure::Js(
            e @ (rquickjs::Error::Utf8(_)
            | rquickjs::Error::FromJs { .. }
            | rquickjs::Error::IntoJs { .. }),
        ) => ScriptError::new(ErrorKind::Conversion, e.to_string()),
        Failure::Js(e) => ScriptError::new(ErrorKind::Internal, format!("QuickJS failed: {e}")),
    };
    tripped(deadline, limits).unwrap_or(error)
}

/// The error for the limit the current (or last) operation ran into, if any.
pub(crate) fn tripped(deadline: &Deadline, limits: &Limits) -> Option<ScriptError> {
    Some(match deadline.tripped()? {
        Tripped::Timeout => ScriptError::timeout(limits.timeout),
        Tripped::Stack => stack(limits),
        Tripped::Memory => memory(limits),
    })
}

pub(crate) fn memory(limits: &Limits) -> ScriptError {
    ScriptError::new(
        ErrorKind::Memory,
        format!(
            "script ran past the memory limit of {} MiB",
            limits.memory_mb
        ),
    )
}

fn stack(limits: &Limits) -> ScriptError {
    ScriptError::new(
        ErrorKind::Stack,
        format!("script ran past the stack limit of {} KiB", limits.stack_kb),
    )
}

/// Classifies a thrown value.
pub(crate) fn classify(
    exception: &rquickjs::Value<'_>,
    limits: &Limits,
    phase: Phase,
) -> ScriptError {
    if exception.is_null() {
        // QuickJS throws `null` when it cannot even allocate the error object for an out-of-memory condition. A
        // script that throws `null` itself is reported the same way (and its instance discarded): the two cannot be
        // told apart, and the safe side is to assume the limit was hit.
        return ScriptError::new(
            ErrorKind::Memory,
            format!(
                "{} (the exception was null: no memory was left for an error object)",
                memory(limits).message()
            ),
        );
    }
    let Some(object) = exception.as_object().filter(|_| exception.is_error()) else {
        let message = format!("uncaught exception: {}", show(exception));
        return ScriptError::new(kind_for(phase), message);
    };
    let name = text(object, "name");
    let message = text(object, "message");
    let stack_text = text(object, "stack");
    match (name.as_str(), message.as_str()) {
        ("InternalError", "out of memory") => return memory(limits),
        ("RangeError", "Maximum call stack size exceeded") => return stack(limits),
        ("InternalError", m) if m.starts_with("stack overflow") => return stack(limits),
        _ => {}
    }
    if name == "SyntaxError"
        && let Some((file, line, column)) = parse_error_location(&stack_text, phase)
    {
        return ScriptError::new(
            ErrorKind::Syntax,
            format!("SyntaxError: {message} at {file}, line {line}, column {column}"),
        );
    }
    // An error with a `code` (a host error, `MODULE_NOT_FOUND`) shows it as Node does: `Error [CODE]: message`.
    let code = text(object, "code");
    let name = if code.is_empty() {
        name
    } else {
        format!("{name} [{code}]")
    };
    let mut text = if message.is_empty() {
        name
    } else {
        format!("{name}: {message}")
    };
    if let Some(frame) = stack_text.lines().map(str::trim).find(|l| !l.is_empty()) {
        text.push_str(", ");
        text.push_str(frame);
    }
    ScriptError::new(kind_for(phase), text)
}

fn kind_for(phase: Phase) -> ErrorKind {
    match phase {
        Phase::Convert => ErrorKind::Conversion,
        Phase::Internal => ErrorKind::Internal,
        _ => ErrorKind::Exception,
    }
}

/// A property read as text, or empty when it is missing or cannot be read.
fn text(object: &Object<'_>, key: &str) -> String {
    object
        .get::<_, rquickjs::Value<'_>>(key)
        .ok()
        .and_then(|v| v.as_string().and_then(|s| s.to_string().ok()))
        .unwrap_or_default()
}

/// A short rendering of a thrown value that is not an `Error`, without running script code.
fn show(value: &rquickjs::Value<'_>) -> String {
    if let Some(s) = value.as_string() {
        return s
            .to_string()
            .unwrap_or_else(|_| "<string that is not valid Unicode>".to_owned());
    }
    if let Some(b) = value.as_bool() {
        return b.to_string();
    }
    if let Some(n) = value.as_number() {
        return n.to_string();
    }
    if value.is_null() {
        return "null".to_owned();
    }
    if value.is_undefined() {
        return "undefined".to_owned();
    }
    format!("<{}>", value.type_name())
}

/// The location of a parse error, if the `SyntaxError` was raised by the parser of the evaluated source itself
/// (rather than thrown at run time by `JSON.parse`, `new Function` or a nested `eval`). QuickJS gives a parse
/// error a stack whose first frame is a bare `file:line:column`; for indirect `eval` the only other frame is
/// `eval (native)`.
fn parse_error_location(stack: &str, phase: Phase) -> Option<(String, u32, u32)> {
    let frames: Vec<&str> = stack
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let expected_rest: &[&str] = match phase {
        Phase::Prelude | Phase::Script => &[],
        Phase::IndirectEval => &["at eval (native)"],
        Phase::Call | Phase::Convert | Phase::Internal => return None,
    };
    let (first, rest) = frames.split_first()?;
    if rest != expected_rest {
        return None;
    }
    let location = first.strip_prefix("at ")?;
    if location.contains(" (") {
        return None;
    }
    let (rest, column) = location.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    let file = if file == "<input>" { "input" } else { file };
    Some((file.to_owned(), line.parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_locations() {
        assert_eq!(
            parse_error_location("    at prelude:3:5\n", Phase::Prelude),
            Some(("prelude".to_owned(), 3, 5))
        );
        assert_eq!(
            parse_error_location(
                "    at <input>:2:9\n    at eval (native)\n",
                Phase::IndirectEval
            ),
            Some(("input".to_owned(), 2, 9))
        );
        // A nested eval inside the request: a run-time exception of the request.
        assert_eq!(
            parse_error_location(
                "    at <input>:1:4\n    at eval (native)\n    at <eval> (<input>:1:1)\n    at eval (native)\n",
                Phase::IndirectEval
            ),
            None
        );
        // JSON.parse at run time.
        assert_eq!(
            parse_error_location(
                "    at parse (native)\n    at <eval> (input:1:6)\n",
                Phase::Script
            ),
            None
        );
        assert_eq!(
            parse_error_location("    at prelude:3:5\n", Phase::Call),
            None
        );
    }
}
