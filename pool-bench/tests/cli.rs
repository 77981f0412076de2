//! Runs the `vmpool-bench` binary on small scripts written to a temp dir and checks its output.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vmpool-bench");

/// The engines compiled into this build, with the file extension of their language.
fn engines() -> Vec<(&'static str, &'static str)> {
    let mut engines = Vec::new();
    if cfg!(feature = "quickjs") {
        engines.push(("quickjs", "js"));
    }
    if cfg!(feature = "lua") {
        engines.push(("lua", "lua"));
    }
    if cfg!(feature = "boa") {
        engines.push(("boa", "js"));
    }
    engines
}

fn vmpool_bench(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON object ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A pool small enough to build quickly in debug builds.
const SMALL_POOL: &str = "[vm_pool]\nmax_size = 2\npreload_size = 1\n";

/// A handler that throws on every request whose index ends in 3, and otherwise echoes a field of the input and
/// the index's parity.
fn throwing_handler(ext: &str) -> &'static str {
    match ext {
        "lua" => {
            "function handle(input, i)\n  if i % 10 == 3 then error('boom ' .. i) end\n  return { n = input.n, even = (i % 2 == 0) }\nend\n"
        }
        _ => {
            "function handle(input, i) {\n  if (i % 10 === 3) throw new Error('boom ' + i);\n  return { n: input.n, even: i % 2 === 0 };\n}\n"
        }
    }
}

#[test]
fn run_counts_results_and_errors_by_kind_pooled_and_fresh() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pool.toml"), SMALL_POOL).unwrap();
    for (engine, ext) in engines() {
        let script = format!("handler.{ext}");
        std::fs::write(dir.path().join(&script), throwing_handler(ext)).unwrap();
        for mode in ["pooled", "fresh"] {
            let out = vmpool_bench(
                dir.path(),
                &[
                    "run",
                    "--engine",
                    engine,
                    "--script",
                    &script,
                    "--input",
                    r#"{"n":5}"#,
                    "--config",
                    "pool.toml",
                    "--requests",
                    "40",
                    "--concurrency",
                    "2",
                    "--mode",
                    mode,
                    "--json",
                ],
            );
            let report = json_of(&out);
            let what = format!("{engine} {mode}: {report}");
            assert_eq!(report["engine"], engine, "{what}");
            assert_eq!(report["mode"], mode, "{what}");
            assert_eq!(report["requests"], 40, "{what}");
            assert_eq!(report["concurrency"], 2, "{what}");
            assert_eq!(report["ok"], 36, "{what}");
            assert_eq!(report["errors"]["exception"], 4, "{what}");
            assert_eq!(report["errors"]["timeout"], 0, "{what}");
            assert_eq!(report["errors"]["memory"], 0, "{what}");
            assert!(
                report["error_examples"]["exception"]
                    .as_str()
                    .unwrap()
                    .contains("boom"),
                "{what}"
            );
            // JavaScript objects keep their insertion order; Lua tables have
            // none, so their keys leave sorted.
            let (even, odd) = if ext == "lua" {
                (r#"{"even":true,"n":5}"#, r#"{"even":false,"n":5}"#)
            } else {
                (r#"{"n":5,"even":true}"#, r#"{"n":5,"even":false}"#)
            };
            assert_eq!(report["results"][even], 20, "{what}");
            assert_eq!(report["results"][odd], 16, "{what}");
            assert_eq!(report["results"].as_object().unwrap().len(), 2, "{what}");
            for key in ["elapsed_s", "ops_per_s", "p50_us", "p99_us"] {
                assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {what}");
            }
            assert!(
                report["p99_us"].as_f64() >= report["p50_us"].as_f64(),
                "{what}"
            );
            let metrics = &report["metrics"];
            assert_eq!(metrics["total_uses"], 40, "{what}");
            assert_eq!(metrics["errors"], 4, "{what}");
            assert_eq!(metrics["in_use"], 0, "{what}");
            if mode == "pooled" {
                // Exceptions do not taint an instance: the pool never needed more than its two.
                assert!(metrics["created"].as_u64().unwrap() <= 2, "{what}");
                assert_eq!(metrics["destroyed"], 0, "{what}");
                assert_eq!(metrics["available"], metrics["created"], "{what}");
            } else {
                assert_eq!(metrics["created"], 40, "{what}");
                assert_eq!(metrics["destroyed"], 40, "{what}");
                assert_eq!(metrics["available"], 0, "{what}");
            }
        }
    }
}

#[test]
fn run_prints_a_summary_ending_with_the_metrics_line() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, ext) = engines()[0];
    let script = format!("handler.{ext}");
    std::fs::write(dir.path().join(&script), throwing_handler(ext)).unwrap();
    std::fs::write(dir.path().join("pool.toml"), SMALL_POOL).unwrap();
    let out = vmpool_bench(
        dir.path(),
        &[
            "run",
            "--engine",
            engine,
            "--script",
            &script,
            "--input",
            r#"{"n":1}"#,
            "--config",
            "pool.toml",
            "--requests",
            "20",
            "--concurrency",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ops/s"), "{text}");
    assert!(text.contains("p50") && text.contains("p99"), "{text}");
    assert!(text.contains("exception: 2"), "{text}");
    let last = text.trim_end().lines().last().unwrap();
    assert_eq!(
        last,
        "[VM Pool Metrics] Created: 1, InUse: 0, Available: 1, TotalUses: 20, Errors: 2"
    );
}

#[test]
fn run_passes_input_and_index_and_caps_distinct_results() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pool.toml"), SMALL_POOL).unwrap();
    for (engine, ext) in engines() {
        let script = format!("index.{ext}");
        let source = match ext {
            "lua" => "function work(input, i) return input.base + i end",
            _ => "function work(input, i) { return input.base + i; }",
        };
        std::fs::write(dir.path().join(&script), source).unwrap();
        let out = vmpool_bench(
            dir.path(),
            &[
                "run",
                "--engine",
                engine,
                "--script",
                &script,
                "--call",
                "work",
                "--input",
                r#"{"base":100}"#,
                "--config",
                "pool.toml",
                "--requests",
                "30",
                "--concurrency",
                "1",
                "--json",
            ],
        );
        let report = json_of(&out);
        let results = report["results"].as_object().unwrap();
        // 30 distinct values 100..130: the 20 listed (ties broken by text: 100..119) and 10 under `other`.
        assert_eq!(results.len(), 21, "{engine}: {report}");
        assert_eq!(results["other"], 10, "{engine}");
        assert_eq!(results["100"], 1, "{engine}");
        assert_eq!(results["119"], 1, "{engine}");
        assert_eq!(report["ok"], 30, "{engine}");
    }
}

#[test]
fn a_request_past_the_time_limit_is_counted_as_timeout_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pool.toml"),
        "[vm_pool]\nmax_size = 1\npreload_size = 1\n[vm_pool.limits]\ntimeout = \"200ms\"\n",
    )
    .unwrap();
    for (engine, ext) in engines() {
        let script = format!("spin.{ext}");
        let source = match ext {
            "lua" => "function handle(input, i) if i == 2 then while true do end end return i end",
            _ => "function handle(input, i) { if (i === 2) { for (;;) {} } return i; }",
        };
        std::fs::write(dir.path().join(&script), source).unwrap();
        let out = vmpool_bench(
            dir.path(),
            &[
                "run",
                "--engine",
                engine,
                "--script",
                &script,
                "--config",
                "pool.toml",
                "--requests",
                "6",
                "--concurrency",
                "1",
                "--json",
            ],
        );
        let report = json_of(&out);
        assert_eq!(report["errors"]["timeout"], 1, "{engine}: {report}");
        assert_eq!(report["ok"], 5, "{engine}: {report}");
        // The instance that timed out was discarded and replaced.
        assert_eq!(report["metrics"]["destroyed"], 1, "{engine}: {report}");
        assert_eq!(report["metrics"]["created"], 2, "{engine}: {report}");
    }
}

#[test]
fn a_missing_function_is_an_error_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, ext) in engines() {
        let script = format!("nohandle.{ext}");
        let source = match ext {
            "lua" => "function other(input) return 1 end",
            _ => "function other(input) { return 1; }",
        };
        std::fs::write(dir.path().join(&script), source).unwrap();
        for extra in [&[][..], &["--call", "missing_fn"][..]] {
            let mut args = vec!["run", "--engine", engine, "--script", &script, "--json"];
            args.extend_from_slice(extra);
            let out = vmpool_bench(dir.path(), &args);
            assert!(!out.status.success(), "{engine}");
            assert!(out.stdout.is_empty(), "{engine}: no report is printed");
            let err = stderr(&out);
            let name = extra.get(1).copied().unwrap_or("handle");
            assert!(
                err.contains(&format!("no global function `{name}`")),
                "{engine}: {err}"
            );
        }
    }
}

#[test]
fn a_prelude_syntax_error_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, ext) in engines() {
        let script = format!("broken.{ext}");
        let source = match ext {
            "lua" => "-- a handler\n\nfunction handle(input) return ( end\n",
            _ => "// a handler\n\nfunction handle(input) { return ( }\n",
        };
        std::fs::write(dir.path().join(&script), source).unwrap();
        for mode in ["pooled", "fresh"] {
            let out = vmpool_bench(
                dir.path(),
                &[
                    "run", "--engine", engine, "--script", &script, "--mode", mode,
                ],
            );
            assert!(!out.status.success(), "{engine}");
            assert!(out.stdout.is_empty(), "{engine}");
            let err = stderr(&out);
            assert!(err.contains("syntax"), "{engine}: {err}");
            assert!(
                err.contains("line 3") || err.contains(":3"),
                "{engine} names the line: {err}"
            );
        }
    }
}

#[test]
fn a_bad_config_key_is_named_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, ext) = engines()[0];
    let script = format!("handler.{ext}");
    std::fs::write(dir.path().join(&script), throwing_handler(ext)).unwrap();
    let cases = [
        ("[vm_pool]\nmax_sise = 4\n", "max_sise"),
        (
            "[vm_pool]\nmax_size = 2\npreload_size = 5\n",
            "preload_size",
        ),
        ("[vm_pool.limits]\ntimeout = \"soon\"\n", "timeout"),
    ];
    for (toml, key) in cases {
        std::fs::write(dir.path().join("bad.toml"), toml).unwrap();
        let out = vmpool_bench(
            dir.path(),
            &[
                "run", "--engine", engine, "--script", &script, "--config", "bad.toml",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{toml}");
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(err.contains(key), "{toml}: {err}");
        assert!(err.contains("bad.toml"), "{toml}: {err}");
    }
}

#[test]
fn compare_json_has_a_pooled_and_a_fresh_row_per_engine_and_workload() {
    let dir = tempfile::tempdir().unwrap();
    let out = vmpool_bench(
        dir.path(),
        &[
            "compare",
            "--quick",
            "--json",
            "--workload",
            "1+1",
            "--workload",
            "json",
            "--requests",
            "5",
            "--memory-instances",
            "2",
        ],
    );
    let report = json_of(&out);
    let rows = report["rows"].as_array().unwrap();
    let engines = engines();
    assert_eq!(rows.len(), engines.len() * 2 * 2, "{report}");
    let mut i = 0;
    for (engine, _) in &engines {
        for workload in ["1+1", "json"] {
            for mode in ["pooled", "fresh"] {
                let row = &rows[i];
                i += 1;
                assert_eq!(row["engine"], *engine, "{row}");
                assert_eq!(row["workload"], workload, "{row}");
                assert_eq!(row["mode"], mode, "{row}");
                assert_eq!(row["requests"], 5, "{row}");
                assert_eq!(row["ok"], 5, "{row}");
                assert_eq!(row["errors"], 0, "{row}");
                for key in ["ops_per_s", "p50_us", "p99_us", "speedup"] {
                    assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
                }
                if mode == "pooled" {
                    assert!(row["memory_per_idle_bytes"].as_u64().unwrap() > 0, "{row}");
                    let method = row["memory_method"].as_str().unwrap();
                    assert!(method == "engine" || method == "rss", "{row}");
                } else {
                    assert!(row["memory_per_idle_bytes"].is_null(), "{row}");
                }
            }
        }
    }
    assert!(report["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert_eq!(report["concurrency"], 1);
}

#[test]
fn compare_out_writes_a_markdown_report_and_an_svg_chart() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = engines()[0];
    let out = vmpool_bench(
        dir.path(),
        &[
            "compare",
            "--quick",
            "--engine",
            engine,
            "--workload",
            "json",
            "--requests",
            "3",
            "--memory-instances",
            "1",
            "--out",
            "report",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for column in [
        "engine",
        "workload",
        "ops/s",
        "p50",
        "p99",
        "speedup pooled/fresh",
        "memory per idle instance",
    ] {
        assert!(text.contains(column), "{column}: {text}");
    }
    assert!(text.contains("wrote"), "{text}");
    let md = std::fs::read_to_string(dir.path().join("report/compare.md")).unwrap();
    assert!(md.contains("| engine"), "{md}");
    assert!(md.contains(&format!("| {engine}")), "{md}");
    assert!(md.contains("speedup.svg"), "{md}");
    let svg = std::fs::read_to_string(dir.path().join("report/speedup.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains(&format!("{engine} json")), "{svg}");
    assert!(svg.contains("<rect"), "{svg}");
}

#[test]
fn an_engine_not_compiled_in_or_unknown_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = vmpool_bench(dir.path(), &["compare", "--engine", "v8"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("v8"));
}

/// `vmpool-bench scale` on one engine with `rounds` rounds of 20 ms a side, and `extra` arguments.
fn scale(dir: &Path, engine: &str, rounds: u32, extra: &[&str]) -> Output {
    let rounds = rounds.to_string();
    let mut args = vec![
        "scale",
        "--engine",
        engine,
        "--rounds",
        &rounds,
        "--round-ms",
        "20",
    ];
    args.extend_from_slice(extra);
    vmpool_bench(dir, &args)
}

#[test]
fn scale_json_has_every_round_of_the_reference_and_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = engines()[0];
    let out = scale(dir.path(), engine, 3, &["--json"]);
    let report = json_of(&out);
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{report}");
    let reference = &report["reference"];
    assert!(reference["engine"].is_null(), "{reference}");
    assert!(reference["mode"].is_null(), "{reference}");
    assert_eq!(reference["workload"], "cpu-loop");
    for (row, mode) in rows.iter().zip(["pooled", "private"]) {
        assert_eq!(row["engine"], engine);
        assert_eq!(row["mode"], mode);
        assert_eq!(row["workload"], "json");
        // At least one request per thread on each side of each round, every one returning the expected value.
        assert!(row["requests"].as_u64().unwrap() >= 9, "{row}");
    }
    for row in [reference, &rows[0], &rows[1]] {
        assert_eq!(row["threads"], 2);
        let rounds = row["rounds"].as_array().expect("rounds");
        assert_eq!(rounds.len(), 3, "{row}");
        let mut ratios = Vec::new();
        for (i, round) in rounds.iter().enumerate() {
            let one = round["one_thread_ops_per_s"].as_f64().unwrap();
            let many = round["threads_ops_per_s"].as_f64().unwrap();
            let ratio = round["ratio"].as_f64().unwrap();
            assert!(one > 0.0 && many > 0.0, "{round}");
            assert!((ratio - many / one).abs() < 1e-9, "{round}");
            assert_eq!(round["one_thread_first"], i % 2 == 0, "{round}");
            ratios.push(ratio);
        }
        ratios.sort_by(f64::total_cmp);
        assert_eq!(row["median_ratio"].as_f64().unwrap(), ratios[1], "{row}");
        assert_eq!(row["min_ratio"].as_f64().unwrap(), ratios[0], "{row}");
        assert_eq!(row["max_ratio"].as_f64().unwrap(), ratios[2], "{row}");
        assert_eq!(row["errors"], 0, "{row}");
    }
    assert_eq!(report["isolation"], "strict");
}

#[test]
fn scale_prints_a_table_with_the_reference_first() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = engines()[0];
    let out = scale(dir.path(), engine, 2, &["--threads", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("3 threads (median)"), "{text}");
    assert!(lines[2].starts_with("| (machine)"), "{text}");
    let pooled = format!("| {engine:<9} | pooled ");
    let private = format!("| {engine:<9} | private ");
    assert!(lines[3].starts_with(&pooled), "{text}");
    assert!(lines[4].starts_with(&private), "{text}");
    assert!(text.contains("1 thread and 3 threads"), "{text}");
}

#[test]
fn scale_refuses_one_thread_and_an_unknown_isolation_and_run_has_no_private_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = vmpool_bench(dir.path(), &["scale", "--threads", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--threads"), "{}", stderr(&out));
    let out = vmpool_bench(dir.path(), &["scale", "--isolation", "sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sometimes"), "{}", stderr(&out));
    // `private` is scale's own mode: `run` offers pooled and fresh only.
    let out = vmpool_bench(
        dir.path(),
        &[
            "run",
            "--engine",
            engines()[0].0,
            "--script",
            "x.js",
            "--mode",
            "private",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("private"), "{}", stderr(&out));
}

#[test]
fn run_reload_every_reloads_while_requests_go_on_and_needs_a_pool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pool.toml"), SMALL_POOL).unwrap();
    for (engine, ext) in engines() {
        let script = format!("handler.{ext}");
        std::fs::write(dir.path().join(&script), throwing_handler(ext)).unwrap();
        let args = |extra: &[&'static str]| {
            let mut args = vec![
                "run",
                "--engine",
                engine,
                "--script",
                &script,
                "--input",
                r#"{"n":1}"#,
                "--config",
                "pool.toml",
                "--requests",
                "200",
                "--concurrency",
                "2",
            ];
            args.extend_from_slice(extra);
            args.into_iter().map(str::to_owned).collect::<Vec<String>>()
        };
        let run = |extra: &[&'static str]| {
            let owned = args(extra);
            let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
            vmpool_bench(dir.path(), &borrowed)
        };
        let report = json_of(&run(&["--reload-every", "20", "--json"]));
        assert_eq!(report["requests"], 200, "{engine}: {report}");
        assert_eq!(
            report["errors"]["exception"], 20,
            "{engine}: only the script's own errors"
        );
        assert_eq!(report["ok"], 180, "{engine}: {report}");
        let reloads = &report["reloads"];
        let done = reloads["reloads"].as_u64().unwrap();
        assert!((1..=10).contains(&done), "{engine}: {reloads}");
        assert_eq!(reloads["failed"], 0, "{engine}: {reloads}");
        assert_eq!(
            reloads["generation"].as_u64().unwrap(),
            done + 1,
            "{engine}: {reloads}"
        );
        // Which requests overlap a reload depends on timing; at most all of them.
        assert!(
            reloads["affected_requests"].as_u64().unwrap() <= 200,
            "{engine}: {reloads}"
        );
        let plain = json_of(&run(&["--json"]));
        assert!(
            plain.get("reloads").is_none(),
            "{engine}: no reloads asked for"
        );
        let fresh = run(&["--reload-every", "20", "--mode", "fresh"]);
        assert!(!fresh.status.success());
        assert!(
            stderr(&fresh).contains("--reload-every reloads a pool"),
            "{}",
            stderr(&fresh)
        );
    }
}
