//! Runs `vmpool-bench deadline` and `vmpool-bench soak` briefly on every engine compiled in and checks their JSON.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vmpool-bench");

fn engines() -> Vec<&'static str> {
    let mut engines = Vec::new();
    if cfg!(feature = "quickjs") {
        engines.push("quickjs");
    }
    if cfg!(feature = "lua") {
        engines.push("lua");
    }
    if cfg!(feature = "boa") {
        engines.push("boa");
    }
    engines
}

fn json(args: &[&str]) -> Value {
    let output = Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{args:?}: exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn deadline_reports_timeouts_and_discards() {
    for engine in engines() {
        let report = json(&[
            "deadline",
            "--engine",
            engine,
            "--runs",
            "4",
            "--timeout-ms",
            "50",
            "--json",
        ]);
        assert_eq!(report["engine"], engine);
        assert_eq!(report["runs"], 4);
        assert_eq!(report["timeout_ms"], 50.0);
        assert_eq!(report["timeouts"], 4, "{engine}: {report}");
        assert_eq!(
            report["other_outcomes"],
            serde_json::json!({}),
            "{engine}: {report}"
        );
        // Every timed-out instance was discarded by the pool.
        assert_eq!(report["discarded"], 4, "{engine}: {report}");
        let d = &report["deadline_to_error"];
        let (p50, p99, max) = (
            d["p50_ms"].as_f64().unwrap(),
            d["p99_ms"].as_f64().unwrap(),
            d["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{engine}: {d}");
        assert!(
            report["call_duration"]["max_ms"].as_f64().unwrap() > 0.0,
            "{engine}: {report}"
        );
    }
}

#[test]
fn soak_reports_memory_and_threads() {
    for engine in engines() {
        let report = json(&[
            "soak", "--engine", engine, "--cycles", "300", "--warmup", "100", "--json",
        ]);
        assert_eq!(report["engine"], engine);
        assert_eq!(
            (report["cycles"].as_u64(), report["warmup"].as_u64()),
            (Some(300), Some(100))
        );
        assert_eq!(report["errors"], 0, "{engine}: {report}");
        let samples = report["samples"].as_array().unwrap();
        assert!(!samples.is_empty(), "{engine}: {report}");
        assert_eq!(samples.last().unwrap()["cycle"], 300);
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(
                report["rss_kb_baseline"].as_u64().unwrap() > 0,
                "{engine}: {report}"
            );
            assert!(report["rss_drift_percent"].is_f64(), "{engine}: {report}");
            assert!(
                report["threads_min"].as_u64().unwrap() >= 1,
                "{engine}: {report}"
            );
        }
        // A steady pool makes its instances once.
        assert!(
            report["created"].as_u64().unwrap() <= 2,
            "{engine}: {report}"
        );
    }
}

#[test]
fn soak_rejects_a_warmup_as_long_as_the_run() {
    let output = Command::new(BIN)
        .args([
            "soak",
            "--engine",
            engines()[0],
            "--cycles",
            "10",
            "--warmup",
            "10",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--warmup"));
}
