//! Sorting (module `sort`): an inconsistent comparator gives some order of the same elements, never a panic, and
//! the methods keep the language's semantics (holes, `undefined` last, stability, errors, typed arrays).

mod common;

use common::vm;
use pool_core::{ErrorKind, Isolation, ScriptEngine};
use serde_json::json;

#[test]
fn an_inconsistent_comparator_sorts_without_failing() {
    for isolation in [Isolation::Strict, Isolation::None] {
        let (e, mut vm) = vm("", isolation);
        // A boolean comparator (never negative), a random one, and one that flips on every call: each gives a
        // permutation of the input, as node and QuickJS do.
        for comparator in [
            "(a, b) => a > b",
            "() => Math.random() - 0.5",
            "(() => { let n = 0; return () => (n++ % 2 ? 1 : -1); })()",
        ] {
            let src = format!(
                "const a = Array.from({{ length: 200 }}, (_, i) => (i * 7919) % 200); \
                 const b = a.slice().sort({comparator}); \
                 const c = a.toSorted({comparator}); \
                 const t = new Int32Array(a).sort({comparator}); \
                 const u = new Float64Array(a).toSorted({comparator}); \
                 const same = (x) => Array.from(x).sort((p, q) => p - q).join() === a.slice().sort((p, q) => p - q).join(); \
                 [same(b), same(c), same(t), same(u), b.length, c.length, t.length, u.length]"
            );
            assert_eq!(
                e.eval(&mut vm, &src).unwrap(),
                json!([true, true, true, true, 200, 200, 200, 200]),
                "{comparator} ({isolation})"
            );
        }
        assert!(!e.is_broken(&mut vm));
    }
}

#[test]
fn sorting_keeps_the_language_semantics() {
    let (e, mut vm) = vm("", Isolation::Strict);
    let cases = [
        // The default order is the string order; undefined goes last and holes after it.
        ("[10, 9, 1, 2].sort().join()", json!("1,10,2,9")),
        (
            "const a = [3, undefined, , 1]; a.sort(); [a.length, 3 in a, a[2] === undefined, a[0], a[1]]",
            json!([4, false, true, 1, 3]),
        ),
        ("[3, 1, 2].sort((a, b) => b - a).join()", json!("3,2,1")),
        // Stable: equal keys keep their order.
        (
            "[{k: 1, v: 'a'}, {k: 0, v: 'b'}, {k: 1, v: 'c'}, {k: 0, v: 'd'}].sort((x, y) => x.k - y.k).map(x => x.v).join('')",
            json!("bdac"),
        ),
        // A comparator's NaN means equal.
        ("[2, 1].sort(() => NaN).join()", json!("2,1")),
        // sort returns the receiver; toSorted a new array that reads holes as undefined.
        ("const a = [2, 1]; a.sort() === a", json!(true)),
        (
            "const a = [2, , 1]; const b = a.toSorted(); [b !== a, b.length, 1 in b, b[2] === undefined, a[0]]",
            json!([true, 3, true, true, 2]),
        ),
        // Array-likes.
        (
            "Array.prototype.join.call(Array.prototype.sort.call({ 0: 'b', 1: 'a', length: 2 }))",
            json!("a,b"),
        ),
        // Typed arrays: numeric order without a comparator.
        ("new Int8Array([3, -1, 2]).sort().join()", json!("-1,2,3")),
        (
            "new Float64Array([3, -1, 2]).toSorted((a, b) => b - a).join()",
            json!("3,2,-1"),
        ),
        (
            "Array.prototype.sort.length + Array.prototype.sort.name",
            json!("1sort"),
        ),
        // A comparator that throws stops the sort and leaves the array as it was.
        (
            "const a = [3, 1, 2]; try { a.sort(() => { throw new Error('stop'); }); } catch (e) {} a.join()",
            json!("3,1,2"),
        ),
        (
            "try { [1].sort(1) } catch (e) { e instanceof TypeError }",
            json!(true),
        ),
        (
            "try { Int8Array.prototype.sort.call([2, 1], (a, b) => a - b) } catch (e) { e instanceof TypeError }",
            json!(true),
        ),
    ];
    for (src, want) in cases {
        assert_eq!(e.eval(&mut vm, src).unwrap(), want, "{src}");
    }
    assert!(!e.is_broken(&mut vm));
}

#[test]
fn an_array_like_longer_than_memory_allows_is_refused() {
    for src in [
        "Array.prototype.sort.call({ length: 2 ** 32 - 1 })",
        "Array.prototype.toSorted.call({ length: 2 ** 40 })",
    ] {
        // A limit breaks the instance: one per case.
        let (e, mut vm) = vm("", Isolation::Strict);
        let err = e.eval(&mut vm, src).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Memory, "{src}: {err}");
    }
}
