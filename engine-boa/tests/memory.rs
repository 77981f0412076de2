//! What an idle instance keeps: the per-thread instance count that decides whether set-up collects garbage as it
//! goes, and that set-up leaves no garbage for the collector to find.

use engine_boa::{BoaEngine, instances_on_this_thread};
use pool_core::{EngineConfig, ScriptEngine};
use serde_json::json;

#[test]
fn instances_are_counted_per_thread_and_the_trial_instance_is_gone() {
    std::thread::spawn(|| {
        let engine = BoaEngine::new(EngineConfig::new("function handle(x) { return x; }")).unwrap();
        // `new` created and dropped a trial instance.
        assert_eq!(instances_on_this_thread(), 0);
        let a = engine.create().unwrap();
        let b = engine.create().unwrap();
        assert_eq!(instances_on_this_thread(), 2);
        // Another thread has its own count.
        std::thread::spawn(|| assert_eq!(instances_on_this_thread(), 0))
            .join()
            .unwrap();
        drop(a);
        assert_eq!(instances_on_this_thread(), 1);
        drop(b);
        assert_eq!(instances_on_this_thread(), 0);
        // A failed creation (here: the trial instance of `new`) does not stay counted.
        assert!(BoaEngine::new(EngineConfig::new("throw 1")).is_err());
        assert_eq!(instances_on_this_thread(), 0);
    })
    .join()
    .unwrap();
}

#[test]
fn bounded_built_ins_are_native_functions() {
    // The wrappers of `harden` are native functions (a JavaScript closure would keep its set-up script's scope,
    // code and source alive), with the names and lengths of the built-ins they wrap.
    let engine = BoaEngine::new(EngineConfig::new("")).unwrap();
    let mut vm = engine.create().unwrap();
    let found = engine
        .eval(
            &mut vm,
            "[[].fill, [].join, [].flat, ''.repeat, ''.padStart, JSON.stringify, Proxy, Proxy.revocable, \
              Function.prototype.bind, Array.from, Error.prototype.toString] \
             .map((f) => [String(f).includes('[native code]'), f.name, f.length])",
        )
        .unwrap();
    assert_eq!(
        found,
        json!([
            [true, "fill", 1],
            [true, "join", 1],
            [true, "flat", 0],
            [true, "repeat", 1],
            [true, "padStart", 2],
            [true, "stringify", 3],
            [true, "Proxy", 2],
            [true, "revocable", 2],
            [true, "bind", 1],
            [true, "from", 1],
            [true, "toString", 0]
        ])
    );
    assert_eq!(
        engine
            .eval(
                &mut vm,
                "[typeof Proxy.prototype, Object.isFrozen(Proxy), Object.keys(Proxy).length]"
            )
            .unwrap(),
        json!(["undefined", true, 0])
    );
}

#[test]
fn override_accessors_are_native_and_frozen() {
    // The lockdown's override accessors are native functions (a JavaScript closure would keep the lockdown's
    // scope, code and source alive), and frozen like every built-in.
    let engine = BoaEngine::new(EngineConfig::new("")).unwrap();
    let mut vm = engine.create().unwrap();
    let found = engine
        .eval(
            &mut vm,
            "const d = Object.getOwnPropertyDescriptor(Object.prototype, 'toString'); \
             const m = Object.getOwnPropertyDescriptor(Error.prototype, 'message'); \
             [String(d.get), String(d.set), Object.isFrozen(d.get), Object.isFrozen(d.set), \
              Object.isFrozen(m.get), typeof d.set.prototype]",
        )
        .unwrap();
    let found = found.as_array().unwrap();
    assert!(
        found[0].as_str().unwrap().contains("[native code]"),
        "{found:?}"
    );
    assert!(
        found[1].as_str().unwrap().contains("[native code]"),
        "{found:?}"
    );
    assert_eq!(
        found[2..],
        [json!(true), json!(true), json!(true), json!("undefined")]
    );
}
