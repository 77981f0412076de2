//! `RegExp.prototype.source` (module `regexp_source`): a pattern rebuilt from its `source` matches what the
//! original matches, as on QuickJS and node, under every policy.

mod common;

use common::vm;
use pool_core::{Isolation, ScriptEngine};
use serde_json::json;

#[test]
fn a_pattern_rebuilt_from_its_source_matches_the_same_text() {
    for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
        let (e, mut vm) = vm("", isolation);
        let src = r#"
            const p = /[!-#%-\*,-\/:;]/;
            const rebuilt = new RegExp(p.source);
            [p.test('V'), rebuilt.test('V'), rebuilt.test('/'), rebuilt.test(','),
             p.source, /a\/b/.source, new RegExp('a/b').source, new RegExp('\\\\/').source, new RegExp('').source,
             String(/x\/y/g), new RegExp(/[\/]/.source + '|q').test('/')]
        "#;
        assert_eq!(
            e.eval(&mut vm, src).unwrap(),
            json!([
                false,
                false,
                true,
                true,
                r"[!-#%-\*,-\/:;]",
                r"a\/b",
                r"a\/b",
                r"\\\/",
                "(?:)",
                r"/x\/y/g",
                true
            ]),
            "{isolation:?}"
        );
    }
}

#[test]
fn the_getter_keeps_its_shape_and_its_receiver_checks() {
    let (e, mut vm) = vm("", Isolation::Strict);
    let src = r#"
        const d = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source');
        let thrown = '';
        try { d.get.call({}); } catch (err) { thrown = err.constructor.name; }
        [typeof d.get, d.get.name, d.set, d.enumerable, RegExp.prototype.source, thrown]
    "#;
    assert_eq!(
        e.eval(&mut vm, src).unwrap(),
        json!(["function", "get source", null, false, "(?:)", "TypeError"])
    );
}
