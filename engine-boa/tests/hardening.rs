//! The bounded built-ins (module `harden`): native recursion on data and single huge allocations end with typed
//! errors instead of aborting the process, and the wrapped built-ins keep their behaviour.

mod common;

use common::{assert_err, vm};
use engine_boa::BoaEngine;
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine};
use serde_json::json;

#[test]
fn wrapped_built_ins_behave_as_before() {
    for isolation in [Isolation::Strict, Isolation::None] {
        let (e, mut vm) = vm("", isolation);
        let cases = [
            ("[1, [2, 3]].join('-')", json!("1-2,3")),
            ("String([1, [2, [3]]])", json!("1,2,3")),
            ("[1, 2].toLocaleString()", json!("1, 2")), // Boa's own separator
            ("String(new Error('x'))", json!("Error: x")),
            ("String(/a+/g)", json!("/a+/g")),
            (
                "JSON.stringify({ a: [1, { b: 2 }] })",
                json!(r#"{"a":[1,{"b":2}]}"#),
            ),
            ("JSON.stringify({ a: 1, b: 2 }, ['b'])", json!(r#"{"b":2}"#)),
            (
                "JSON.stringify({ a: 1 }, (k, v) => (k === 'a' ? v + 1 : v), 1)",
                json!("{\n \"a\": 2\n}"),
            ),
            ("JSON.stringify(undefined) === undefined", json!(true)),
            ("[1, [2, [3, [4]]]].flat(Infinity).join()", json!("1,2,3,4")),
            ("[1, [2, [3]]].flat().length", json!(3)),
            ("new Proxy({ y: 1 }, {}).y", json!(1)),
            ("Proxy.revocable({ z: 2 }, {}).proxy.z", json!(2)),
            (
                "(function () { return this.x; }).bind({ x: 5 })()",
                json!(5),
            ),
            ("(function f(a, b) {}).bind(null, 1).name", json!("bound f")),
            ("'ab'.repeat(3)", json!("ababab")),
            ("'7'.padStart(3, '0') + '7'.padEnd(3, '-')", json!("0077--")),
            ("[1, 2, 3].fill(0, 1).join()", json!("1,0,0")),
            (
                "Array.from({ length: 3 }, (_, i) => i * 2).join()",
                json!("0,2,4"),
            ),
            ("Array.from('abc').length", json!(3)),
            ("typeof Array.prototype.join.call", json!("function")),
        ];
        for (src, want) in cases {
            assert_eq!(e.eval(&mut vm, src).unwrap(), want, "{src} ({isolation})");
        }
        assert!(!e.is_broken(&mut vm));
    }
}

#[test]
fn deep_data_in_recursive_built_ins_is_a_typed_error() {
    let (e, mut vm) = vm("", Isolation::Strict);
    // Through the recursion limit: uncatchable, the instance is broken.
    let err = e
        .eval(
            &mut vm,
            "let a = []; for (let i = 0; i < 3000; i++) a = [a]; try { String(a) } catch (e) { 'caught' }",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stack, "{err}");
    assert!(e.is_broken(&mut vm));
    // Bounded depth: a RangeError, catchable, the instance stays usable.
    let (e, mut vm) = common::vm("", Isolation::Strict);
    for (src, needle) in [
        (
            "let a = []; for (let i = 0; i < 1500; i++) a = [a]; JSON.stringify(a)",
            "JSON.stringify",
        ),
        (
            "let o = {}; for (let i = 0; i < 1500; i++) o = { o }; JSON.stringify(o, null, 2)",
            "JSON.stringify",
        ),
        (
            "let o = {}; for (let i = 0; i < 1500; i++) o = { o }; JSON.stringify(o, ['o'])",
            "JSON.stringify",
        ),
        (
            "let p = {}; for (let i = 0; i < 1500; i++) p = new Proxy(p, {}); p.x",
            "proxies",
        ),
        (
            "let f = () => 1; for (let i = 0; i < 1500; i++) f = f.bind(null); f()",
            "bound functions",
        ),
        (
            "let a = [1]; for (let i = 0; i < 1500; i++) a = [a]; a.flat(Infinity)",
            "flat",
        ),
    ] {
        assert_err(e.eval(&mut vm, src), ErrorKind::Exception, needle);
        assert!(!e.is_broken(&mut vm), "{src}");
    }
    // Under the bound, the same built-ins work.
    assert_eq!(
        e.eval(
            &mut vm,
            "let a = 1; for (let i = 0; i < 500; i++) a = [a]; JSON.stringify(a).length"
        )
        .unwrap(),
        json!(1001)
    );
}

#[test]
fn single_huge_allocations_are_memory_errors() {
    for src in [
        "'x'.repeat(2 ** 30).length",
        "try { 'x'.repeat(2 ** 30) } catch (e) {} 1",
        "'x'.padStart(2 ** 30).length",
        "'x'.padEnd(2 ** 29, 'ab').length",
        "new Array(2 ** 31).fill(0).length",
        "Array.from({ length: 2 ** 31 }).length",
        "new Array(2 ** 28).join('ab').length",
    ] {
        let (e, mut vm) = vm("", Isolation::Strict);
        assert_err(
            e.eval(&mut vm, src),
            ErrorKind::Memory,
            "memory limit of 64 MiB",
        );
        assert!(e.is_broken(&mut vm), "{src}");
    }
}

#[test]
fn a_refusal_in_the_prelude_fails_the_creation() {
    let err = BoaEngine::new(EngineConfig::new(
        "try { 'x'.repeat(2 ** 30) } catch (e) {} function handle() { return 1; }",
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Memory, "{err}");
    assert!(err.message().contains("String.prototype.repeat"), "{err}");
}

#[test]
fn the_recursion_count_unwinds_with_the_error() {
    // Many failed deep conversions on one thread: each one unwinds its count, so shallow data still converts.
    for _ in 0..3 {
        let (e, mut vm) = vm("", Isolation::Strict);
        let deep = "let a = []; for (let i = 0; i < 3000; i++) a = [a]; String(a)";
        assert_eq!(e.eval(&mut vm, deep).unwrap_err().kind(), ErrorKind::Stack);
        let (e, mut vm) = common::vm("", Isolation::Strict);
        let shallow = "let b = [1]; for (let i = 0; i < 100; i++) b = [b]; String(b)";
        assert_eq!(e.eval(&mut vm, shallow).unwrap(), json!("1"));
    }
}
