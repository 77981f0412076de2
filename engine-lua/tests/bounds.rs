//! Which types are `Send`/`Sync`: the pool moves instances between threads and shares the factory.

use engine_lua::{LuaEngine, LuaVm};

#[test]
fn bounds() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<LuaVm>();
    send_sync::<LuaEngine>();
}

#[test]
fn an_instance_works_on_another_thread() {
    use pool_core::{EngineConfig, ScriptEngine};
    let engine = LuaEngine::new(EngineConfig::new("function handle(x) return x * 2 end")).unwrap();
    let mut vm = engine.create().unwrap();
    let mut vm = std::thread::spawn(move || {
        assert_eq!(
            engine
                .call(&mut vm, "handle", &[serde_json::json!(21)])
                .unwrap(),
            serde_json::json!(42)
        );
        vm
    })
    .join()
    .unwrap();
    let engine = LuaEngine::new(EngineConfig::new("")).unwrap();
    assert!(engine.memory_usage(&mut vm).is_some());
}

#[test]
fn a_new_instance_holds_no_garbage() {
    // Creation ends with a full collection, so an instance enters the pool holding only what it needs.
    use pool_core::{EngineConfig, Isolation, ScriptEngine};
    for isolation in [Isolation::Strict, Isolation::Scrub, Isolation::None] {
        let engine = LuaEngine::new(
            EngineConfig::new(
                "Config = { a = { 1, 2, 3 }, b = 'x' } function handle() return 1 end",
            )
            .isolation(isolation),
        )
        .unwrap();
        let mut vm = engine.create().unwrap();
        let created = engine.memory_usage(&mut vm).unwrap();
        vm.lua().gc_collect().unwrap();
        vm.lua().gc_collect().unwrap();
        let collected = engine.memory_usage(&mut vm).unwrap();
        assert!(
            created <= collected + 256,
            "{isolation}: {created} bytes after create, {collected} after a full collection"
        );
    }
}
