//! The isolation baseline in native code: what pool-core's `SCRUB` and `FINGERPRINT` scripts do.
//!
//! The checks and messages are those of the shared scripts (see [`pool_core::js`]); only where the state lives
//! differs. In Boa a closure keeps its whole scope, its compiled code and the source text of the script that made
//! it alive, so the scripts' closures cost an idle instance about 45 KiB each; here the baseline is a list of keys
//! and a few object handles.
//!
//! # The policies
//! The policies do what pool-core's shared JavaScript ([`pool_core::js`]) describes, in native code with the same
//! semantics and messages: the lockdown (strict; module [`lockdown`](crate::lockdown)), the scrub (strict, scrub)
//! and the fingerprint (`verify_reset`; this module). Request source given to `eval` is evaluated as the original
//! `eval` called indirectly would evaluate it, so its `let`/`const`/`class` declarations stay local to that
//! evaluation and its `var` and function declarations become deletable global properties (source without the
//! latter runs as one block of a script, which means the same; see [`budget`](crate::budget)).
//! - `Strict`: at creation, after the prelude, every object reachable from the global object and the hidden
//!   intrinsics are frozen (before the prelude, the commonly overridden properties of the built-in prototypes,
//!   every own name of `Object.prototype` plus `name`, `message`, `push`, `concat`, `bind` and
//!   `Symbol.iterator`, become accessors, so `obj.toString = f` or `err.message = m` still work on new objects;
//!   before and not after the prelude because of a Boa bug, see module `lockdown`, so the prelude's own
//!   prototypes keep plain properties; assigning another inherited built-in name such as `arr.map = f` fails as
//!   on any frozen prototype, while `Object.defineProperty` works), and the baseline globals (including the
//!   prelude's functions) become non-writable and non-configurable. A reset drops pending promise jobs, deletes
//!   the globals added since creation and restores the global object's prototype. Not covered: state that is not
//!   reachable from the global object — the prelude's top-level `let`/`const`/`class` bindings and variables its
//!   functions close over, the contents of `Map`/`Set`/typed arrays held by the prelude, the `Symbol.for`
//!   registry, and the interned-string table.
//! - `Scrub`: the reset drops pending jobs and deletes the globals added since creation; built-ins and prototypes
//!   stay mutable, so `Object.prototype.x = 1` survives (with `verify_reset` the fingerprint sees the changed key
//!   count of the core built-ins and fails the reset). Reassigning a baseline global (`handle = f`,
//!   `JSON.parse = f`) is neither undone nor detected under scrub.
//! - `None`: no reset, no verification. `let`/`const` in `eval`'d source stay local to that evaluation under
//!   every policy; `var` and assignments to undeclared names persist under `None`.
//!
//! With `verify_reset` (strict and scrub) the reset compares the fingerprint taken at creation and fails with
//! `internal` on a mismatch, so the pool discards the instance.

use boa_engine::object::IntegrityLevel;
use boa_engine::property::PropertyKey;
use boa_engine::{Context, JsObject, JsResult};

use crate::lockdown::own_property;

/// A core built-in's state at the baseline.
struct Sample {
    object: JsObject,
    frozen: bool,
    /// Its number of own keys (0 when frozen: then only its staying frozen is checked).
    keys: usize,
}

/// The global object at an instance's baseline, and the scrub and check against it.
pub(crate) struct Baseline {
    proto: Option<JsObject>,
    keys: Vec<PropertyKey>,
    /// Every baseline global is non-configurable (the lockdown makes them so): none can disappear, so an equal
    /// key count means the same keys in the same order.
    pinned: bool,
    /// The core built-ins, with `verify_reset`.
    samples: Option<Vec<Sample>>,
    all_frozen: bool,
}

fn describe(key: &PropertyKey) -> String {
    match key {
        PropertyKey::Symbol(symbol) => symbol.descriptive_string().to_std_string_escaped(),
        key => format!("`{key}`"),
    }
}

impl Baseline {
    /// Takes the baseline of `context`'s global object now; with `verify`, also samples the core built-ins.
    pub(crate) fn take(context: &mut Context, verify: bool) -> JsResult<Self> {
        let global = context.global_object();
        let keys = global.own_property_keys(context)?;
        let mut pinned = true;
        for key in &keys {
            if own_property(&global, key, context)?.and_then(|d| d.configurable()) == Some(true) {
                pinned = false;
            }
        }
        let samples = if verify {
            let intrinsics = context.intrinsics();
            let constructors = intrinsics.constructors();
            let objects = intrinsics.objects();
            let mut samples = Vec::new();
            for object in [
                constructors.object().prototype(),
                constructors.array().prototype(),
                constructors.function().prototype(),
                constructors.string().prototype(),
                constructors.promise().prototype(),
                constructors.object().constructor(),
                objects.json(),
                objects.math(),
                objects.reflect(),
                constructors.iterator().prototype(),
            ] {
                let frozen = object.test_integrity_level(IntegrityLevel::Frozen, context)?;
                let keys = if frozen {
                    0
                } else {
                    object.own_property_keys(context)?.len()
                };
                samples.push(Sample {
                    object,
                    frozen,
                    keys,
                });
            }
            Some(samples)
        } else {
            None
        };
        let all_frozen = samples
            .as_ref()
            .is_some_and(|s| s.iter().all(|sample| sample.frozen));
        Ok(Self {
            proto: global.prototype(),
            keys,
            pinned,
            samples,
            all_frozen,
        })
    }

    /// Deletes the globals added since the baseline and restores the global object's prototype. `Ok(None)` when
    /// the global object is back at its baseline; otherwise what could not be undone.
    pub(crate) fn scrub(&self, context: &mut Context) -> JsResult<Option<String>> {
        let global = context.global_object();
        let mut problem = None;
        if global.prototype() != self.proto && !global.set_prototype(self.proto.clone()) {
            problem = Some(
                "the prototype of the global object was changed and cannot be restored".to_owned(),
            );
        }
        let keys = global.own_property_keys(context)?;
        if !(self.pinned && keys.len() == self.keys.len()) {
            // Keys keep their order: as long as they match the baseline in place, nothing needs a lookup.
            let same = keys
                .iter()
                .zip(&self.keys)
                .take_while(|(a, b)| a == b)
                .count();
            for key in &keys[same..] {
                if self.keys.contains(key) {
                    continue;
                }
                if global
                    .delete_property_or_throw(key.clone(), context)
                    .is_err()
                    && problem.is_none()
                {
                    problem = Some(format!(
                        "global {} was defined non-configurable and cannot be removed",
                        describe(key)
                    ));
                }
            }
        }
        if problem.is_none() && !global.is_extensible(context)? {
            problem = Some("the global object was made non-extensible".to_owned());
        }
        Ok(problem)
    }

    /// With `verify_reset`, after the scrub: `Ok(None)` when the fingerprint matches the baseline, otherwise the
    /// first difference. Under strict (every baseline global pinned, every core built-in frozen) only the global
    /// object's prototype and extensibility can differ; otherwise also its keys (names and order) and the core
    /// built-ins (still frozen, or the same number of own keys).
    pub(crate) fn check(&self, context: &mut Context) -> JsResult<Option<String>> {
        let Some(samples) = &self.samples else {
            return Ok(None);
        };
        let global = context.global_object();
        if global.prototype() != self.proto {
            return Ok(Some(
                "the prototype of the global object differs".to_owned(),
            ));
        }
        if !global.is_extensible(context)? {
            return Ok(Some("the global object is not extensible".to_owned()));
        }
        if self.pinned && self.all_frozen {
            return Ok(None);
        }
        let keys = global.own_property_keys(context)?;
        if !self.pinned
            && let Some(i) = keys.iter().zip(&self.keys).position(|(a, b)| a != b)
        {
            return Ok(Some(format!(
                "global {} was removed or redefined",
                describe(&self.keys[i])
            )));
        }
        if let Some(added) = keys.get(self.keys.len()) {
            return Ok(Some(format!("global {} was added", describe(added))));
        }
        if let Some(removed) = self.keys.get(keys.len()) {
            return Ok(Some(format!("global {} was removed", describe(removed))));
        }
        for sample in samples {
            if sample.frozen {
                if sample.object.is_extensible(context)? {
                    return Ok(Some("a frozen built-in is no longer frozen".to_owned()));
                }
            } else if sample.object.own_property_keys(context)?.len() != sample.keys {
                return Ok(Some(
                    "properties of a built-in were added or removed".to_owned(),
                ));
            }
        }
        Ok(None)
    }
}
