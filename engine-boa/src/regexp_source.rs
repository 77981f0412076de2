//! `RegExp.prototype.source` as the specification gives it. Boa 0.22's getter puts a backslash before every `/`
//! of the pattern, including one that is already escaped: the pattern `[,-\/]` comes back as `[,-\\/]`, whose
//! range runs from `,` to `\` and so matches every capital letter. Libraries that build regular expressions from
//! other expressions' `source` (linkify-it, and with it markdown-it's `linkify` option) then match the wrong
//! text: a wrong answer, not an error.
//!
//! The replacement getter undoes that (every `/` in Boa's result has exactly one added backslash right before
//! it), then escapes only the `/` that are not escaped already, as other engines do; `new RegExp(re.source,
//! re.flags)` then matches what `re` matches. Installed natively before the prelude, like the bounded
//! built-ins ([`harden`](crate::harden)).

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    Context, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, js_string,
};

/// Replaces the `source` getter of `RegExp.prototype`.
pub(crate) fn install(context: &mut Context) -> JsResult<()> {
    let proto = context.intrinsics().constructors().regexp().prototype();
    let key = js_string!("source");
    let Some(desc) = crate::lockdown::own_property(&proto, &key.clone().into(), context)? else {
        return Ok(());
    };
    let Some(original) = desc.get().and_then(JsValue::as_callable) else {
        return Ok(());
    };
    let getter: JsObject = FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_copy_closure_with_captures(source, original),
    )
    .name(js_string!("get source"))
    .length(0)
    .build()
    .into();
    let replaced = PropertyDescriptor::builder()
        .get(getter)
        .set(JsValue::undefined())
        .enumerable(false)
        .configurable(true);
    proto.define_property_or_throw(key, replaced, context)?;
    Ok(())
}

fn source(
    this: &JsValue,
    _args: &[JsValue],
    original: &JsObject,
    context: &mut Context,
) -> JsResult<JsValue> {
    let escaped = original.call(this, &[], context)?;
    let Some(text) = escaped.as_string() else {
        return Err(JsNativeError::typ()
            .with_message("RegExp.prototype.source: the built-in getter returned no string")
            .into());
    };
    Ok(JsString::from(&escape(&undo(&text.to_vec()))[..]).into())
}

const SLASH: u16 = b'/' as u16;
const BACKSLASH: u16 = b'\\' as u16;

/// Boa's pattern text back as it was written: the backslash Boa put before each `/` removed.
fn undo(units: &[u16]) -> Vec<u16> {
    let mut out = Vec::with_capacity(units.len());
    for (i, &unit) in units.iter().enumerate() {
        if unit == BACKSLASH && units.get(i + 1) == Some(&SLASH) {
            continue;
        }
        out.push(unit);
    }
    out
}

/// The pattern with every `/` that is not already escaped (preceded by an odd run of backslashes) escaped.
fn escape(pattern: &[u16]) -> Vec<u16> {
    let mut out = Vec::with_capacity(pattern.len() + 2);
    let mut backslashes = 0usize;
    for &unit in pattern {
        if unit == SLASH && backslashes.is_multiple_of(2) {
            out.push(BACKSLASH);
        }
        backslashes = if unit == BACKSLASH {
            backslashes + 1
        } else {
            0
        };
        out.push(unit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn boas_extra_backslashes_are_undone_and_only_bare_slashes_escaped() {
        for (written, boa, expected) in [
            (r"[,-\/]", r"[,-\\/]", r"[,-\/]"),
            (r"a/b", r"a\/b", r"a\/b"),
            (r"\\/", r"\\\/", r"\\\/"),
            (r"[/]", r"[\/]", r"[\/]"),
            (r"no slash", r"no slash", r"no slash"),
        ] {
            assert_eq!(undo(&units(boa)), units(written), "{boa}");
            assert_eq!(escape(&undo(&units(boa))), units(expected), "{written}");
        }
    }
}
