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
fn setup_scripts_are_compacted_in_the_instance() {
    // The hardened built-ins come from the compacted set-up script: their source text has no comment lines
    // (Boa keeps every set-up script's text alive through its functions).
    let engine = BoaEngine::new(EngineConfig::new("")).unwrap();
    let mut vm = engine.create().unwrap();
    let text = engine.eval(&mut vm, "String([].fill)").unwrap();
    let text = text.as_str().unwrap();
    assert!(text.contains("allowed()"), "{text}");
    assert!(!text.contains("\n  "), "indentation kept: {text}");
    assert!(!text.contains("// "), "comments kept: {text}");
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
