//! Which types are `Send` and `Sync`, pinned at compile time.

use engine_quickjs::{QuickJsEngine, QuickJsVm};

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn instances_are_send_and_the_engine_is_shared() {
    // The pool moves instances between threads (rquickjs feature `parallel`).
    send::<QuickJsVm>();
    // The factory is shared by every thread of the pool.
    send::<QuickJsEngine>();
    sync::<QuickJsEngine>();
}

#[test]
fn an_instance_works_on_another_thread() {
    use pool_core::{EngineConfig, ScriptEngine};
    let engine =
        QuickJsEngine::new(EngineConfig::new("function handle(x) { return x + 1; }")).unwrap();
    let mut vm = engine.create().unwrap();
    assert_eq!(
        engine.call(&mut vm, "handle", &[1.into()]).unwrap(),
        serde_json::json!(2)
    );
    let engine = std::sync::Arc::new(engine);
    let shared = std::sync::Arc::clone(&engine);
    let (mut vm, result) = std::thread::spawn(move || {
        let result = shared.call(&mut vm, "handle", &[2.into()]);
        (vm, result)
    })
    .join()
    .unwrap();
    assert_eq!(result.unwrap(), serde_json::json!(3));
    engine.reset(&mut vm).unwrap();
}
