//! Which types are `Send`/`Sync`, pinned at compile time.

use pool_core::testing::{FakeEngine, RcEngine};
use pool_core::{
    AcquireFuture, CarriedVm, Carrier, Metrics, Pool, PoolError, PooledVm, ScriptError,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn pool_types_are_send_and_sync() {
    send::<Pool<FakeEngine>>();
    sync::<Pool<FakeEngine>>();
    send::<PooledVm<FakeEngine>>();
    send::<AcquireFuture<FakeEngine>>();
    send::<PoolError<ScriptError>>();
    sync::<PoolError<ScriptError>>();
    send::<Metrics>();
}

#[test]
fn carrier_makes_a_non_send_engine_poolable() {
    // RcEngine's instance is an Rc: not Send. (Checked by the trait-object trick below.)
    send::<CarriedVm<RcEngine>>();
    send::<Pool<Carrier<RcEngine>>>();
    sync::<Pool<Carrier<RcEngine>>>();
    send::<PooledVm<Carrier<RcEngine>>>();
    send::<AcquireFuture<Carrier<RcEngine>>>();
}

/// `<RcEngine as ScriptEngine>::Vm` is not `Send`: if it were, `AmbiguousIfSend` would have two impls and the call
/// would not compile.
#[test]
fn rc_engine_instance_is_not_send() {
    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    struct Invalid;
    impl<T: ?Sized + Send> AmbiguousIfSend<Invalid> for T {}
    <<RcEngine as pool_core::ScriptEngine>::Vm as AmbiguousIfSend<_>>::check();
}
