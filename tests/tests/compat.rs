//! The compatibility suite (see `vmpool_tests::compat`): every library of `tests/compat/` on every engine under
//! every policy, compared with node's and lua5.4's answers, with a table of the results and of the leak probes.
//!
//! `cargo test -p vmpool-tests --test compat -- --nocapture` prints the tables. `VMPOOL_COMPAT=full` repeats each
//! call 20 times over two instances; `VMPOOL_COMPAT_ONLY=lodash,moses` runs only those libraries.
//! It needs all three engines (the default features).
#![cfg(all(feature = "quickjs", feature = "boa", feature = "lua"))]

use std::collections::BTreeSet;

use pool_core::Isolation;
use vmpool_tests::Lang;
use vmpool_tests::compat::{self, Depth, Library, Outcome, Run};

#[global_allocator]
static ALLOCATOR: engine_boa::CountingAllocator = engine_boa::CountingAllocator::system();

fn selected() -> Vec<Library> {
    let only: Option<BTreeSet<String>> = std::env::var("VMPOOL_COMPAT_ONLY")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    compat::libraries()
        .into_iter()
        .filter(|l| only.as_ref().is_none_or(|o| o.contains(&l.name)))
        .collect()
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// APIs a library may need that no vmpool engine provides (Node, DOM, `Intl`, Web Crypto).
fn needs_missing_api(library: &Library) -> bool {
    library
        .needs
        .iter()
        .any(|n| matches!(n.as_str(), "Intl" | "crypto" | "TextEncoder"))
}

fn find<'a>(runs: &'a [Run], library: &str, engine: &str, isolation: Isolation) -> &'a Run {
    runs.iter()
        .find(|r| r.library == library && r.engine == engine && r.isolation == isolation)
        .expect("every run is recorded")
}

#[test]
fn suite_has_the_libraries() {
    let all = compat::libraries();
    let js = all.iter().filter(|l| l.lang == Lang::Js).count();
    let lua = all.iter().filter(|l| l.lang == Lang::Lua).count();
    assert!(js >= 30, "{js} JavaScript libraries");
    assert!(lua >= 10, "{lua} Lua libraries");
    for library in &all {
        let dir = compat::root()
            .join(if library.lang == Lang::Js {
                "js"
            } else {
                "lua"
            })
            .join(&library.name);
        assert!(dir.join("LICENSE").exists(), "{}: no LICENSE", library.name);
    }
}

#[test]
fn libraries_on_every_engine_and_policy() {
    let libraries = selected();
    let depth = Depth::from_env();
    let threads = threads();
    let start = std::time::Instant::now();
    let mut runs = Vec::new();
    runs.extend(compat::run_all(
        "quickjs",
        Lang::Js,
        |c| engine_quickjs::QuickJsEngine::new(c).map_err(|e| e.to_string()),
        &libraries,
        depth,
        threads,
    ));
    runs.extend(compat::run_all(
        "boa",
        Lang::Js,
        |c| engine_boa::BoaEngine::pooled(c).map_err(|e| e.to_string()),
        &libraries,
        depth,
        threads,
    ));
    runs.extend(compat::run_all(
        "lua",
        Lang::Lua,
        |c| engine_lua::LuaEngine::new(c).map_err(|e| e.to_string()),
        &libraries,
        depth,
        threads,
    ));
    let js: Vec<Library> = libraries
        .iter()
        .filter(|l| l.lang == Lang::Js)
        .cloned()
        .collect();
    let lua: Vec<Library> = libraries
        .iter()
        .filter(|l| l.lang == Lang::Lua)
        .cloned()
        .collect();
    println!(
        "\nJavaScript libraries\n\n{}",
        compat::table(&js, &runs, &["quickjs", "boa"])
    );
    println!("Lua libraries\n\n{}", compat::table(&lua, &runs, &["lua"]));
    println!(
        "Leak probes (JavaScript)\n\n{}",
        compat::leak_table(&js, &runs, &["quickjs", "boa"])
    );
    println!(
        "Leak probes (Lua)\n\n{}",
        compat::leak_table(&lua, &runs, &["lua"])
    );
    let passed = runs.iter().filter(|r| r.outcome.passed()).count();
    println!(
        "{passed} of {} runs passed in {:.1?}",
        runs.len(),
        start.elapsed()
    );
    let mut slowest: Vec<&Run> = runs.iter().collect();
    slowest.sort_by_key(|r| std::cmp::Reverse(r.elapsed));
    for r in slowest.iter().take(5) {
        println!(
            "slowest: {} on {} ({}): {:.1?}",
            r.library,
            r.engine,
            compat::policy_name(r.isolation),
            r.elapsed
        );
    }

    let mut problems = Vec::new();
    for library in &js {
        // Under none, both JavaScript engines pass every library that needs no API they lack.
        for engine in ["quickjs", "boa"] {
            let run = find(&runs, &library.name, engine, Isolation::None);
            if let Outcome::Fail(e) = &run.outcome
                && !needs_missing_api(library)
            {
                problems.push(format!("{} on {engine} (none): {e}", library.name));
            }
        }
        for isolation in compat::POLICIES {
            let q = find(&runs, &library.name, "quickjs", isolation);
            let b = find(&runs, &library.name, "boa", isolation);
            // Boa never gives a different answer than QuickJS.
            if let (Some(qr), Some(br)) = (&q.result, &b.result)
                && !compat::same_text(qr, br)
            {
                problems.push(format!(
                    "{} ({}): boa gave {}, quickjs {}",
                    library.name,
                    compat::policy_name(isolation),
                    compat::short(&br.to_string(), 200),
                    compat::short(&qr.to_string(), 200)
                ));
            }
            // Under scrub and strict, a library that passes under none fails only with the isolation error.
            for (engine, run) in [("quickjs", q), ("boa", b)] {
                let none = find(&runs, &library.name, engine, Isolation::None);
                if let Outcome::Fail(e) = &run.outcome
                    && none.outcome.passed()
                    && !e.contains("isolation = \"strict\"")
                {
                    problems.push(format!(
                        "{} on {engine} ({}): {e}",
                        library.name,
                        compat::policy_name(isolation)
                    ));
                }
            }
        }
    }
    for library in &lua {
        // Lua under strict and scrub passes every library that passes under none.
        let none = find(&runs, &library.name, "lua", Isolation::None);
        for isolation in [Isolation::Scrub, Isolation::Strict] {
            let run = find(&runs, &library.name, "lua", isolation);
            if let Outcome::Fail(e) = &run.outcome
                && none.outcome.passed()
            {
                problems.push(format!(
                    "{} on lua ({}): {e}",
                    library.name,
                    compat::policy_name(isolation)
                ));
            }
        }
        if let Outcome::Fail(e) = &none.outcome {
            problems.push(format!("{} on lua (none): {e}", library.name));
        }
    }
    println!(
        "{} problems against the targets:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The targets (issue 18) are not all met yet; `VMPOOL_COMPAT_TARGETS=1` makes them assertions.
    if std::env::var("VMPOOL_COMPAT_TARGETS").is_ok_and(|v| v == "1") {
        assert!(problems.is_empty(), "{} problems", problems.len());
    }
    // Always: every run recorded, and no engine panicked.
    // Every JavaScript library on QuickJS and Boa, every Lua library on Lua, under each policy.
    assert_eq!(
        runs.len(),
        (js.len() * 2 + lua.len()) * compat::POLICIES.len()
    );
    let panics: Vec<String> = runs
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Fail(e) if e.starts_with("engine panicked") => {
                Some(format!("{} on {}: {e}", r.library, r.engine))
            }
            _ => None,
        })
        .collect();
    assert!(panics.is_empty(), "{panics:?}");
}
