//! Isolation between uses: every strict item as writer use, reset, reader use that would observe it; scrub and
//! none as documented; verification of the reset.

use std::time::Duration;

use engine_quickjs::{QuickJsEngine, QuickJsVm};
use pool_core::{EngineConfig, ErrorKind, Isolation, ScriptEngine, Value};
use serde_json::json;

const PRELUDE: &str = r#"
var config = { greeting: "hello", list: [1, 2] };
let preludeCounter = 0;
function handle(input) { return { greeting: config.greeting, doubled: [1, 2].map((x) => x * 2), parsed: JSON.parse("[1]"), input }; }
function count() { preludeCounter += 1; return preludeCounter; }
"#;

fn engine(isolation: Isolation, verify_reset: bool) -> QuickJsEngine {
    QuickJsEngine::new(
        EngineConfig::new(PRELUDE)
            .isolation(isolation)
            .verify_reset(verify_reset),
    )
    .unwrap()
}

fn strict() -> QuickJsEngine {
    engine(Isolation::Strict, true)
}

fn baseline_handle() -> Value {
    json!({ "greeting": "hello", "doubled": [2, 4], "parsed": [1], "input": 7 })
}

/// Runs `writer`, resets, and returns what `reader` sees in the same instance.
fn observe(engine: &QuickJsEngine, writer: &str, reader: &str) -> Value {
    let mut vm = engine.create().unwrap();
    // The writer's own result does not matter; it must only not hit a limit.
    let written = engine.eval(&mut vm, writer);
    assert!(
        written.is_ok()
            || matches!(
                written.as_ref().unwrap_err().kind(),
                ErrorKind::Exception | ErrorKind::Conversion
            ),
        "{writer}: {written:?}"
    );
    engine
        .reset(&mut vm)
        .unwrap_or_else(|e| panic!("{writer}: reset failed: {e}"));
    assert!(!engine.is_broken(&mut vm));
    engine.eval(&mut vm, reader).unwrap()
}

#[test]
fn strict_a_thrown_built_in_error_object_keeps_no_stack() {
    // `DOMException.prototype` is an Error object: thrown once, QuickJS would store that throw's stack (function
    // names included) in it for every later use.
    let writer = "function leak_SECRET_4242() { throw DOMException.prototype; } \
                  try { leak_SECRET_4242(); } catch (e) {} 0";
    let reader = "[String(DOMException.prototype.stack), \
                   String(Object.getOwnPropertyDescriptor(Error.prototype, 'stack').get.call(DOMException.prototype))]";
    assert_eq!(
        observe(&strict(), writer, reader),
        json!(["undefined", "undefined"])
    );
}

#[test]
fn strict_math_random_reveals_nothing_about_other_uses() {
    // QuickJS's own `Math.random` is a xorshift64* generator per context: two numbers give back its whole state,
    // from which this script computes the numbers drawn before it (the previous use's) and returns them. Under
    // strict isolation `Math.random` draws from a CSPRNG, and the search finds nothing.
    const RECOVER: &str = "(() => { const MASK = (1n << 64n) - 1n, M = 0x2545F4914F6CDD1Dn; let inv = M; \
        for (let i = 0; i < 7; i++) inv = (inv * (2n - ((M * inv) & MASK))) & MASK; \
        const bits = (r) => BigInt(Math.floor(r * 2 ** 52)); \
        const step = (x) => { x ^= x >> 12n; x = (x ^ (x << 25n)) & MASK; x ^= x >> 27n; return x; }; \
        const unstep = (y) => { let x = y ^ (y >> 27n) ^ (y >> 54n); x = (x ^ (x << 25n) ^ (x << 50n)) & MASK; \
          return x ^ (x >> 12n) ^ (x >> 24n) ^ (x >> 36n) ^ (x >> 48n) ^ (x >> 60n); }; \
        const out = (s) => Number(((s * M) & MASK) >> 12n) / 2 ** 52; \
        const a = bits(Math.random()), b = bits(Math.random()); \
        for (let low = 0n; low < 4096n; low++) { const s = (((a << 12n) | low) * inv) & MASK; \
          if ((((step(s) * M) & MASK) >> 12n) === b) { const p = []; let t = s; \
            for (let i = 0; i < 3; i++) { t = unstep(t); p.push(out(t)); } return p; } } \
        return null; })()";
    let none = engine(Isolation::None, true);
    let mut vm = none.create().unwrap();
    let drawn = none.eval(&mut vm, "Math.random()").unwrap();
    let recovered = none.eval(&mut vm, RECOVER).unwrap();
    assert_eq!(
        recovered[0], drawn,
        "the attack works on QuickJS's own generator"
    );
    assert_eq!(observe(&strict(), "Math.random()", RECOVER), Value::Null);
    let mut vm = strict().create().unwrap();
    let shape = strict()
        .eval(
            &mut vm,
            "[typeof Math.random, Math.random.name, Math.random.length, Math.random.prototype === undefined, \
              Math.random() >= 0 && Math.random() < 1]",
        )
        .unwrap();
    assert_eq!(shape, json!(["function", "random", 0, true, true]));
}

#[test]
fn strict_new_globals_do_not_survive() {
    let engine = strict();
    for writer in [
        "globalThis.added = 1",
        "added = 1",
        "this.added = 1",
        "var added = 1",
        "function added() {}",
        "Object.defineProperty(globalThis, 'added', { get() { return 1; }, configurable: true })",
        "Reflect.set(globalThis, 'added', 1)",
        "(0, eval)('var added = 1')",
        "eval('var added = 1')",
        "new Function('added = 1')()",
    ] {
        assert_eq!(
            observe(&engine, writer, "typeof added"),
            json!("undefined"),
            "{writer}"
        );
    }
    assert_eq!(
        observe(
            &engine,
            "globalThis[Symbol.for('k')] = 1",
            "globalThis[Symbol.for('k')]"
        ),
        json!(null)
    );
}

#[test]
fn strict_declarations_do_not_survive() {
    let engine = strict();
    for (writer, name) in [
        ("let decl = 1", "decl"),
        ("const decl = 1", "decl"),
        ("class Decl {}", "Decl"),
        ("var declVar = 1", "declVar"),
        ("function declFn() {}", "declFn"),
        ("async function* declGen() {}", "declGen"),
    ] {
        assert_eq!(
            observe(&engine, writer, &format!("typeof {name}")),
            json!("undefined"),
            "{writer}"
        );
    }
}

#[test]
fn strict_lexical_declarations_are_local_to_each_evaluation() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    engine
        .eval(&mut vm, "let local = 1; var shared = 2;")
        .unwrap();
    // Documented: under strict (and scrub) `let`/`const`/`class` do not outlive their evaluation; `var` does,
    // until the reset.
    assert_eq!(
        engine
            .eval(&mut vm, "[typeof local, typeof shared]")
            .unwrap(),
        json!(["undefined", "number"])
    );
}

#[test]
fn strict_prototype_pollution_has_no_effect() {
    let engine = strict();
    for (writer, reader, expected) in [
        (
            "Object.prototype.polluted = 1",
            "({}).polluted",
            json!(null),
        ),
        (
            "Object.prototype.toString = () => 'hacked'",
            "String({})",
            json!("[object Object]"),
        ),
        (
            "Array.prototype.map = () => 'hacked'",
            "[1, 2].map((x) => x + 1)",
            json!([2, 3]),
        ),
        (
            "Array.prototype.push = null",
            "const a = []; a.push(1); a",
            json!([1]),
        ),
        (
            "String.prototype.trim = () => 'hacked'",
            "' a '.trim()",
            json!("a"),
        ),
        (
            "Function.prototype.call = () => 'hacked'",
            "Math.max.call(null, 1, 2)",
            json!(2),
        ),
        (
            "Promise.prototype.then = () => 'hacked'",
            "Promise.resolve(3)",
            json!(3),
        ),
        (
            "Error.prototype.message = 'hacked'",
            "new Error().message",
            json!(""),
        ),
        (
            "Object.defineProperty(Object.prototype, 'x', { get() { return 1; } })",
            "({}).x",
            json!(null),
        ),
        (
            "Object.setPrototypeOf(Array.prototype, { evil: 1 })",
            "[].evil",
            json!(null),
        ),
        (
            "delete Array.prototype.map",
            "typeof [].map",
            json!("function"),
        ),
        (
            "Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true })",
            "[...[1, 2]]",
            json!([1, 2]),
        ),
        (
            "Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())).polluted = 1",
            "[].values().polluted",
            json!(null),
        ),
        (
            "Object.getPrototypeOf(function* () {}).prototype.polluted = 1",
            "(function* () {})().polluted",
            json!(null),
        ),
        (
            "Object.getPrototypeOf(async function () {}).polluted = 1",
            "(async function () {}).polluted",
            json!(null),
        ),
        (
            "Object.getPrototypeOf(Int8Array).prototype.polluted = 1",
            "new Uint8Array(1).polluted",
            json!(null),
        ),
        (
            "Object.getPrototypeOf(new Map().entries()).polluted = 1",
            "new Map().entries().polluted",
            json!(null),
        ),
    ] {
        assert_eq!(observe(&engine, writer, reader), expected, "{writer}");
    }
}

#[test]
fn strict_pollution_fails_loudly_in_strict_code() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    for writer in [
        "'use strict'; Object.prototype.x = 1",
        "'use strict'; JSON.parse = null",
        "'use strict'; JSON = null",
    ] {
        let err = engine.eval(&mut vm, writer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{writer}");
        assert!(err.message().contains("TypeError"), "{err}");
    }
}

#[test]
fn strict_built_ins_and_globals_cannot_be_replaced() {
    let engine = strict();
    for (writer, reader, expected) in [
        (
            "JSON.parse = () => 'hacked'",
            "JSON.parse('[1]')",
            json!([1]),
        ),
        (
            "JSON = { parse: () => 'hacked' }",
            "JSON.parse('[1]')",
            json!([1]),
        ),
        ("Math = null", "Math.max(1, 2)", json!(2)),
        (
            "Object.assign = null",
            "Object.assign({}, { a: 1 })",
            json!({"a": 1}),
        ),
        ("delete globalThis.JSON", "typeof JSON", json!("object")),
        ("eval = () => 'hacked'", "eval('1 + 1')", json!(2)),
        ("undefined = 1", "typeof undefined", json!("undefined")),
        (
            "Object.setPrototypeOf(globalThis, { evil: 1 })",
            "typeof evil",
            json!("undefined"),
        ),
    ] {
        assert_eq!(observe(&engine, writer, reader), expected, "{writer}");
    }
}

#[test]
fn strict_prelude_handlers_and_objects_cannot_be_changed() {
    let engine = strict();
    for writer in [
        "handle = () => 'hacked'",
        "globalThis.handle = () => 'hacked'",
        "function handle() { return 'hacked'; }",
        "var handle = 1",
        "config.greeting = 'hacked'",
        "config.list.push(3)",
        "Object.defineProperty(globalThis, 'handle', { value: 1 })",
        "handle.prototype.x = 1",
    ] {
        let mut vm = engine.create().unwrap();
        let _ = engine.eval(&mut vm, writer);
        // Not even the writer's own use sees the change.
        assert_eq!(
            engine.call(&mut vm, "handle", &[json!(7)]).unwrap(),
            baseline_handle(),
            "{writer}"
        );
        engine.reset(&mut vm).unwrap();
        assert_eq!(
            engine.call(&mut vm, "handle", &[json!(7)]).unwrap(),
            baseline_handle(),
            "{writer}"
        );
        assert_eq!(
            engine.eval(&mut vm, "config.list.length").unwrap(),
            json!(2)
        );
    }
}

#[test]
fn strict_override_mistake_is_avoided() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    for (source, expected) in [
        (
            "const o = {}; o.toString = () => 'mine'; String(o)",
            json!("mine"),
        ),
        ("const o = {}; o.valueOf = () => 41; o + 1", json!(42)),
        (
            "const o = { constructor: 1 }; o.constructor = 2; o.constructor",
            json!(2),
        ),
        (
            "function B() {} B.prototype.toString = function () { return 'B'; }; String(new B())",
            json!("B"),
        ),
        (
            "class A { toString() { return 'A'; } } String(new A())",
            json!("A"),
        ),
        (
            "const e = new Error('m'); e.name = 'Custom'; e.message = 'changed'; String(e)",
            json!("Custom: changed"),
        ),
        (
            "const a = [3, 1, 2]; a.push = function (x) { return 'own'; }; a.push(4)",
            json!("own"),
        ),
        (
            "const o = Object.create(null); o.toString = 1; o.toString",
            json!(1),
        ),
        (
            "const o = {}; o.toString = 1; Object.keys(o)",
            json!(["toString"]),
        ),
        (
            "'use strict'; const o = {}; o.hasOwnProperty = 1; o.hasOwnProperty",
            json!(1),
        ),
        (
            "[1, 2, 3].map((x) => x * 2).filter((x) => x > 2).join()",
            json!("4,6"),
        ),
        (
            "JSON.stringify({ a: [1, { b: 2 }] })",
            json!("{\"a\":[1,{\"b\":2}]}"),
        ),
    ] {
        assert_eq!(engine.eval(&mut vm, source).unwrap(), expected, "{source}");
    }
    // Assigning on the frozen prototype itself still fails.
    let err = engine
        .eval(&mut vm, "Object.prototype.toString = 1")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert_eq!(
        engine
            .eval(&mut vm, "typeof Object.prototype.toString")
            .unwrap(),
        json!("function")
    );
}

#[test]
fn strict_override_mistake_is_avoided_for_every_listed_name() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    for (source, expected) in [
        // Every own property of `Object.prototype`, on a new object (dictionary use).
        (
            "const o = {}; for (const k of Reflect.ownKeys(Object.prototype)) if (k !== '__proto__') o[k] = 1; \
             Object.keys(o).length === Reflect.ownKeys(Object.prototype).length - 1",
            json!(true),
        ),
        (
            "function X() {} const o = {}; o.constructor = X; o.constructor === X",
            json!(true),
        ),
        (
            "function Foo() {} Foo.prototype.toString = function () { return 'foo'; }; `${new Foo()}`",
            json!("foo"),
        ),
        (
            "const e = new Error(); e.message = 'x'; [e.message, String(e)]",
            json!(["x", "Error: x"]),
        ),
        (
            "const e = new TypeError(); e.message = 'y'; e.name = 'Mine'; String(e)",
            json!("Mine: y"),
        ),
        (
            "function MyError(m) { this.message = m; this.name = 'MyError'; } \
             MyError.prototype = Object.create(Error.prototype); MyError.prototype.constructor = MyError; \
             const e = new MyError('z'); [String(e), e.constructor === MyError, e instanceof Error]",
            json!(["MyError: z", true, true]),
        ),
        (
            "function L() {} L.prototype = Object.create(Array.prototype); L.prototype.constructor = L; \
             new L().constructor === L",
            json!(true),
        ),
        (
            "const a = [1]; a.concat = () => 'own'; a.concat([2])",
            json!("own"),
        ),
        (
            "const f = () => 1; f.bind = () => 'own'; f.bind()",
            json!("own"),
        ),
        (
            "const f = () => 1; f.toString = () => 'own'; String(f)",
            json!("own"),
        ),
        (
            "const a = [1, 2]; a[Symbol.iterator] = function* () { yield 9; }; [...a]",
            json!([9]),
        ),
        (
            "'use strict'; const o = {}; o.valueOf = () => 41; o.isPrototypeOf = 1; [o + 1, o.isPrototypeOf]",
            json!([42, 1]),
        ),
        // Assignment to a primitive's property stays a no-op.
        (
            "const s = 'abc'; s.toString = 1; typeof s.toString",
            json!("function"),
        ),
    ] {
        assert_eq!(engine.eval(&mut vm, source).unwrap(), expected, "{source}");
    }
    // Assigning on the frozen built-in itself still throws, in sloppy code too, and changes nothing.
    for source in [
        "Error.prototype.message = 'hacked'",
        "TypeError.prototype.name = 'hacked'",
        "Array.prototype.constructor = null",
        "Function.prototype.bind = null",
    ] {
        let err = engine.eval(&mut vm, source).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exception, "{source}");
        assert!(err.message().contains("TypeError"), "{source}: {err}");
    }
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "[new Error().message, new TypeError().name, [].constructor === Array]"
            )
            .unwrap(),
        json!(["", "TypeError", true])
    );
}

#[test]
fn strict_built_in_accessors_return_the_right_values() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    for (source, expected) in [
        (
            "[({}).constructor === Object, [].constructor === Array, (() => 1).constructor === Function, \
             new Map().constructor === Map, Promise.resolve().constructor === Promise, (1).constructor === Number, \
             'a'.constructor === String, new Uint8Array(1).constructor === Uint8Array]",
            json!([true, true, true, true, true, true, true, true]),
        ),
        (
            "[String({}), String([1, 2]), String(new Date(0).getTime()), (255).toString(16), String(Symbol('s')), \
             String(/a/g), String(new TypeError('t')), String(new RangeError('r'))]",
            json!([
                "[object Object]",
                "1,2",
                "0",
                "ff",
                "Symbol(s)",
                "/a/g",
                "TypeError: t",
                "RangeError: r"
            ]),
        ),
        (
            "[new Error().name, new SyntaxError().name, new AggregateError([]).name, new EvalError('m').message]",
            json!(["Error", "SyntaxError", "AggregateError", "m"]),
        ),
        (
            "[...'ab', ...[1, 2], ...new Set([3]), ...new Map([[4, 5]])]",
            json!(["a", "b", 1, 2, 3, [4, 5]]),
        ),
        (
            "({ a: 1 }).hasOwnProperty('a') && Object.prototype.hasOwnProperty.call({ b: 1 }, 'b')",
            json!(true),
        ),
        (
            "class X extends Array {} const x = X.from([1, 2]).map((v) => v * 2); [x instanceof X, [...x]]",
            json!([true, [2, 4]]),
        ),
        (
            "class P extends Promise {} P.resolve(1).then((v) => v) instanceof P",
            json!(true),
        ),
        (
            "class C { toString() { return 'C:' + super.toString(); } } String(new C())",
            json!("C:[object Object]"),
        ),
        ("[1, 2].concat([3]).push(4)", json!(4)),
        ("Math.max.bind(null, 1)(2)", json!(2)),
        ("(1.5).valueOf() + new Date(5).valueOf()", json!(6.5)),
    ] {
        assert_eq!(engine.eval(&mut vm, source).unwrap(), expected, "{source}");
    }
}

#[test]
fn strict_other_inherited_methods_cannot_be_assigned_on_instances() {
    // Documented: only the listed names are accessors; other built-in prototype methods stay frozen data
    // properties, so assigning one on an object that inherits it fails as on any frozen prototype.
    let engine = strict();
    let mut vm = engine.create().unwrap();
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "const a = [1]; a.map = () => 'own'; [a.hasOwnProperty('map'), a.map((x) => x)]"
            )
            .unwrap(),
        json!([false, [1]])
    );
    let err = engine
        .eval(
            &mut vm,
            "'use strict'; const m = new Map(); m.get = () => 1;",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exception);
    assert!(err.message().contains("TypeError"), "{err}");
    // Defining the property instead of assigning it works.
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "const a = [1]; Object.defineProperty(a, 'map', { value: () => 'own' }); \
                 const b = { ...{}, map: 1 }; class L extends Array { map() { return 'mine'; } } \
                 [a.map(), b.map, new L().map()]"
            )
            .unwrap(),
        json!(["own", 1, "mine"])
    );
}

#[test]
fn strict_pending_jobs_do_not_survive() {
    let engine = strict();
    // Jobs run within the use that queued them, so their writes are removed by that use's reset.
    let reader = "[typeof late, typeof later]";
    let writer = "Promise.resolve().then(() => { globalThis.late = 1; }).then(() => { globalThis.later = 1; }); 0";
    assert_eq!(
        observe(&engine, writer, reader),
        json!(["undefined", "undefined"])
    );
    let writer =
        "(async () => { await null; globalThis.late = 1; })(); throw new Error('after queueing')";
    assert_eq!(
        observe(&engine, writer, reader),
        json!(["undefined", "undefined"])
    );
    // A use that hits a limit can leave jobs queued: the reset then fails and the instance is discarded.
    let short =
        QuickJsEngine::new(EngineConfig::new("").timeout(Duration::from_millis(100))).unwrap();
    let mut vm = short.create().unwrap();
    let err = short
        .eval(
            &mut vm,
            "Promise.resolve().then(() => { globalThis.late = 1; }); for (;;) {}",
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let err = short.reset(&mut vm).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.message().contains("jobs"), "{err}");
    assert!(short.is_broken(&mut vm));
}

#[test]
fn strict_reset_fails_when_a_global_cannot_be_removed() {
    for (writer, needle) in [
        (
            "Object.defineProperty(globalThis, 'pinned', { value: 1 })",
            "`pinned`",
        ),
        ("Object.preventExtensions(globalThis)", "non-extensible"),
        ("Object.freeze(globalThis)", "non-extensible"),
    ] {
        for verify_reset in [true, false] {
            let engine = engine(Isolation::Strict, verify_reset);
            let mut vm = engine.create().unwrap();
            engine.eval(&mut vm, &format!("{writer}; 0")).unwrap();
            let err = engine.reset(&mut vm).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Internal);
            assert!(err.message().contains(needle), "{writer}: {err}");
            assert!(engine.is_broken(&mut vm));
        }
    }
}

#[test]
fn strict_does_not_cover_the_preludes_own_mutable_state() {
    // Documented gap: the prelude's top-level `let` bindings and closure variables are its own state.
    let engine = strict();
    let mut vm = engine.create().unwrap();
    assert_eq!(engine.call(&mut vm, "count", &[]).unwrap(), json!(1));
    engine.reset(&mut vm).unwrap();
    assert_eq!(engine.call(&mut vm, "count", &[]).unwrap(), json!(2));
    assert_eq!(
        observe(&engine, "preludeCounter = 100", "count()"),
        json!(101)
    );
}

#[test]
fn strict_instances_stay_usable_over_many_uses() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    for i in 0..200 {
        engine
            .eval(
                &mut vm,
                &format!("var v{i} = {i}; globalThis.g{i} = {{}}; let l = {i};"),
            )
            .unwrap();
        assert_eq!(
            engine.call(&mut vm, "handle", &[json!(7)]).unwrap(),
            baseline_handle()
        );
        engine.reset(&mut vm).unwrap();
    }
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "Object.keys(globalThis).filter((k) => /^[vg][0-9]/.test(k)).length"
            )
            .unwrap(),
        json!(0)
    );
}

#[test]
fn scrub_removes_globals_but_not_prototype_changes() {
    let engine = engine(Isolation::Scrub, false);
    assert_eq!(
        observe(
            &engine,
            "var added = 1; globalThis.other = 2; let l = 3",
            "[typeof added, typeof other, typeof l]"
        ),
        json!(["undefined", "undefined", "undefined"])
    );
    // Documented: scrub does not protect built-ins or reassigned globals.
    assert_eq!(
        observe(&engine, "Object.prototype.polluted = 1", "({}).polluted"),
        json!(1)
    );
    assert_eq!(
        observe(&engine, "JSON.parse = () => 'hacked'", "JSON.parse('[1]')"),
        json!("hacked")
    );
    assert_eq!(
        observe(&engine, "config.greeting = 'changed'", "config.greeting"),
        json!("changed")
    );
    // The scrub puts the global object's prototype back.
    assert_eq!(
        observe(
            &engine,
            "Object.setPrototypeOf(globalThis, { evil: 1 })",
            "typeof evil"
        ),
        json!("undefined")
    );
    // The reset's own tools are captured at creation and cannot be fooled.
    assert_eq!(
        observe(
            &engine,
            "Reflect.ownKeys = () => []; Object.keys = () => []; var added = 1",
            "typeof added"
        ),
        json!("undefined")
    );
}

#[test]
fn scrub_verification_catches_a_tampered_instance() {
    let engine = engine(Isolation::Scrub, true);
    for (writer, needle) in [
        ("Object.prototype.polluted = 1", "built-in"),
        ("Array.prototype.extra = 1", "built-in"),
        ("delete globalThis.JSON", "removed"),
    ] {
        let mut vm = engine.create().unwrap();
        engine.eval(&mut vm, &format!("{writer}; 0")).unwrap();
        let err = engine.reset(&mut vm).expect_err(writer);
        assert_eq!(err.kind(), ErrorKind::Internal, "{writer}");
        assert!(err.message().contains(needle), "{writer}: {err}");
        assert!(engine.is_broken(&mut vm));
    }
    // Documented: replacing the value of a global is not detected under scrub (strict prevents it).
    let mut vm = engine.create().unwrap();
    engine
        .eval(&mut vm, "JSON = {}; handle = () => 'hacked'; 0")
        .unwrap();
    engine.reset(&mut vm).unwrap();
    assert_eq!(
        engine.call(&mut vm, "handle", &[]).unwrap(),
        json!("hacked")
    );
    // A use that only adds globals passes verification.
    let mut vm = engine.create().unwrap();
    engine.eval(&mut vm, "var a = 1; globalThis.b = 2").unwrap();
    engine.reset(&mut vm).unwrap();
}

#[test]
fn none_keeps_everything() {
    let engine = engine(Isolation::None, true);
    let mut vm: QuickJsVm = engine.create().unwrap();
    engine.eval(&mut vm, "var kept = 1; let alsoKept = 2; Object.prototype.polluted = 3; config.greeting = 'changed'").unwrap();
    engine.reset(&mut vm).unwrap();
    assert_eq!(
        engine
            .eval(&mut vm, "[kept, alsoKept, ({}).polluted, config.greeting]")
            .unwrap(),
        json!([1, 2, 3, "changed"])
    );
}

#[test]
fn strict_prototype_pollution_is_not_even_visible_to_the_writer() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    assert_eq!(
        engine
            .eval(&mut vm, "Object.prototype.polluted = 1; ({}).polluted")
            .unwrap(),
        json!(null)
    );
}

#[test]
fn strict_freezes_everything_reachable_from_the_global_object() {
    let engine = strict();
    let mut vm = engine.create().unwrap();
    let unfrozen = engine.eval(
        &mut vm,
        r"
        const seen = new Set();
        const queue = [];
        const hidden = [
            Object.getPrototypeOf(function* () {}),
            Object.getPrototypeOf(async function () {}),
            Object.getPrototypeOf(async function* () {}),
            Object.getPrototypeOf([][Symbol.iterator]()),
            Object.getPrototypeOf(new Map().entries()),
            Object.getPrototypeOf(new Set().values()),
            Object.getPrototypeOf(''[Symbol.iterator]()),
            Object.getPrototypeOf(/a/[Symbol.matchAll]('a')),
        ];
        const visit = (v) => {
            if (v === null || (typeof v !== 'object' && typeof v !== 'function') || v === globalThis || seen.has(v)) return;
            seen.add(v);
            queue.push(v);
        };
        for (const key of Reflect.ownKeys(globalThis)) {
            const d = Object.getOwnPropertyDescriptor(globalThis, key);
            visit(d.value); visit(d.get); visit(d.set);
        }
        hidden.forEach(visit);
        for (let i = 0; i < queue.length; i++) {
            visit(Object.getPrototypeOf(queue[i]));
            for (const key of Reflect.ownKeys(queue[i])) {
                const d = Object.getOwnPropertyDescriptor(queue[i], key);
                visit(d.value); visit(d.get); visit(d.set);
            }
        }
        const globals = Reflect.ownKeys(globalThis).filter((k) => {
            const d = Object.getOwnPropertyDescriptor(globalThis, k);
            return d.configurable || d.writable;
        });
        [queue.length, queue.filter((o) => !Object.isFrozen(o)).length, globals.map(String)]
        ",
    );
    let unfrozen = unfrozen.unwrap();
    assert!(unfrozen[0].as_u64().unwrap() > 500, "{unfrozen}");
    assert_eq!(unfrozen[1], json!(0), "every reachable object is frozen");
    assert_eq!(unfrozen[2], json!([]), "every baseline global is constant");
}
