//! The `[vm_pool]` configuration: the guide's keys and defaults, extensions, and errors that name the key.

use std::time::Duration;

use pool_core::testing::FakeEngine;
use pool_core::{ConfigError, Isolation, Limits, Pool, PoolConfig};

fn err(doc: &str) -> String {
    PoolConfig::from_toml(doc).unwrap_err().to_string()
}

#[test]
fn the_guides_defaults() {
    let c = PoolConfig::from_toml("").unwrap();
    assert_eq!(c, PoolConfig::default());
    assert_eq!(c.max_size, 50);
    assert_eq!(c.preload_size, 25);
    assert_eq!(c.idle_timeout, Duration::from_secs(600));
    assert_eq!(c.cleanup_interval, Duration::from_secs(300));
    assert!(!c.enable_metrics);
    assert_eq!(c.acquire_timeout, Duration::from_secs(5));
    assert_eq!(c.metrics_interval, Duration::from_secs(30));
    assert_eq!(c.isolation, Isolation::Strict);
    assert_eq!(c.limits, Limits::default());
    assert_eq!(
        (c.max_uses, c.max_lifetime, c.leak_threshold),
        (None, None, None)
    );
}

#[test]
fn preload_defaults_to_half_of_max_size() {
    assert_eq!(
        PoolConfig::from_toml("[vm_pool]\nmax_size = 11")
            .unwrap()
            .preload_size,
        5
    );
    assert_eq!(
        PoolConfig::from_toml("[vm_pool]\nmax_size = 1")
            .unwrap()
            .preload_size,
        0
    );
}

#[test]
fn the_guides_snippet_parses() {
    let c = PoolConfig::from_toml(
        "[vm_pool]\nmax_size = 50              # Maximum VMs in pool (default: 50)\npreload_size = 25\nidle_timeout = 10\ncleanup_interval = 5\nenable_metrics = true\n",
    )
    .unwrap();
    assert!(c.enable_metrics);
    assert_eq!(c.idle_timeout, Duration::from_secs(600));
}

#[test]
fn the_committed_example_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config.toml");
    let c = PoolConfig::from_file(path).unwrap();
    assert_eq!(c.max_size, 50);
    assert_eq!(c.max_uses, Some(10_000));
    assert_eq!(c.max_lifetime, Some(Duration::from_secs(3600)));
    assert_eq!(c.leak_threshold, Some(Duration::from_secs(30)));
    assert_eq!(c.limits.timeout, Duration::from_millis(500));
    assert!(
        Pool::new(
            FakeEngine::new(),
            PoolConfig {
                preload_size: 1,
                ..c
            }
        )
        .is_ok()
    );
}

#[test]
fn durations_take_strings_and_guide_keys_take_minutes() {
    let c = PoolConfig::from_toml(
        "[vm_pool]\nidle_timeout = \"90s\"\ncleanup_interval = 2\nacquire_timeout = \"250ms\"\nmetrics_interval = \"1m\"\n[vm_pool.limits]\ntimeout = \"20ms\"\nmemory_mb = 8\nstack_kb = 256\n",
    )
    .unwrap();
    assert_eq!(c.idle_timeout, Duration::from_secs(90));
    assert_eq!(c.cleanup_interval, Duration::from_secs(120));
    assert_eq!(c.acquire_timeout, Duration::from_millis(250));
    assert_eq!(c.metrics_interval, Duration::from_secs(60));
    assert_eq!(
        c.limits,
        Limits {
            timeout: Duration::from_millis(20),
            memory_mb: 8,
            stack_kb: 256
        }
    );
}

#[test]
fn other_tables_of_the_document_are_ignored() {
    let c = PoolConfig::from_toml(
        "[server]\nport = 8080\n[vm_pool]\nmax_size = 3\n[database]\nurl = \"x\"\n",
    )
    .unwrap();
    assert_eq!(c.max_size, 3);
}

#[test]
fn section_without_header() {
    assert_eq!(
        PoolConfig::from_section("max_size = 7").unwrap().max_size,
        7
    );
    let e = PoolConfig::from_section("max_szie = 7")
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_szie"), "{e}");
}

#[test]
fn embeds_in_an_application_config() {
    #[derive(serde::Deserialize)]
    struct App {
        vm_pool: PoolConfig,
    }
    let app: App = toml::from_str("[vm_pool]\nmax_size = 9\n").unwrap();
    assert_eq!(app.vm_pool.preload_size, 4);
    let bad = toml::from_str::<App>("[vm_pool]\nmax_size = 0\n")
        .err()
        .unwrap()
        .to_string();
    assert!(bad.contains("max_size"), "{bad}");
}

#[test]
fn bad_values_name_the_key() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[vm_pool]\nmax_size = 0",
            &["vm_pool.max_size", "at least 1"],
        ),
        ("[vm_pool]\nmax_size = -5", &["max_size", "negative", "-5"]),
        (
            "[vm_pool]\nmax_size = 2.5",
            &["max_size", "whole number", "2.5"],
        ),
        (
            "[vm_pool]\nmax_size = \"10\"",
            &["max_size", "whole number", "\"10\""],
        ),
        (
            "[vm_pool]\nmax_size = 4\npreload_size = 5",
            &["vm_pool.preload_size", "must not exceed max_size (4)", "5"],
        ),
        (
            "[vm_pool]\ncleanup_interval = 0",
            &["vm_pool.cleanup_interval", "longer than zero"],
        ),
        (
            "[vm_pool]\nidle_timeout = -1",
            &["idle_timeout", "negative"],
        ),
        (
            "[vm_pool]\nidle_timeout = \"soon\"",
            &["idle_timeout", "\"soon\" is not a duration"],
        ),
        (
            "[vm_pool]\nacquire_timeout = 5",
            &["acquire_timeout", "duration string"],
        ),
        ("[vm_pool]\nmax_szie = 10", &["max_szie", "unknown field"]),
        (
            "[vm_pool]\nisolation = \"paranoid\"",
            &["isolation", "paranoid"],
        ),
        ("[vm_pool]\nenable_metrics = \"yes\"", &["enable_metrics"]),
        (
            "[vm_pool]\nmax_uses = 0",
            &["vm_pool.max_uses", "at least 1"],
        ),
        (
            "[vm_pool.limits]\nmemory_mb = 0",
            &["vm_pool.limits.memory_mb", "disable"],
        ),
        (
            "[vm_pool.limits]\ntimeout = \"0s\"",
            &["vm_pool.limits.timeout", "zero"],
        ),
        (
            "[vm_pool.limits]\nstack_kb = 0",
            &["vm_pool.limits.stack_kb"],
        ),
        (
            "[vm_pool.limits]\nmemroy_mb = 5",
            &["memroy_mb", "unknown field"],
        ),
    ];
    for (doc, needles) in cases {
        let e = err(doc);
        for needle in *needles {
            assert!(
                e.contains(needle),
                "error for {doc:?} should contain {needle:?}: {e}"
            );
        }
    }
}

#[test]
fn malformed_toml_names_the_line() {
    let e = err("[vm_pool]\nmax_size = 5\npreload_size = = 2\n");
    assert!(e.contains("line 3"), "{e}");
}

#[test]
fn errors_are_typed() {
    let e = PoolConfig::from_toml("[vm_pool]\nmax_size = 0").unwrap_err();
    assert!(matches!(
        e,
        ConfigError::Invalid {
            key: "max_size",
            ..
        }
    ));
    assert_eq!(e.key(), Some("max_size"));
    let e = PoolConfig::from_file("/nonexistent/vmpool.toml").unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/vmpool.toml"));
}

#[test]
fn bad_config_is_rejected_before_any_instance_exists() {
    let engine = FakeEngine::new();
    let faults = engine.faults();
    let err = Pool::builder(engine)
        .max_size(2)
        .preload_size(3)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("preload_size"), "{err}");
    assert_eq!(faults.creations(), 0);
    let err = Pool::new(
        FakeEngine::new(),
        PoolConfig {
            cleanup_interval: Duration::ZERO,
            ..PoolConfig::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("cleanup_interval"), "{err}");
}
