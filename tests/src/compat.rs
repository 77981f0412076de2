//! The compatibility suite (`tests/compat/`): real npm and Lua libraries, each run as a prelude with a handler on
//! every engine under every isolation policy, compared with the reference computed by node or lua5.4
//! (`tests/compat/build.mjs` regenerates the bundles and the references; `tests/tests/compat.rs` runs the suite).
//!
//! Each library directory holds the library (`NAME.js` / `NAME.lua`), a `handler.js` / `handler.lua` defining
//! `handle(input)` (and, for libraries with settings or caches, `leak_write()` and `leak_read()`), `input.json`
//! and `expected.json`. A run of one library on one engine under one policy:
//! 1. builds the engine with library + handler as its prelude;
//! 2. calls `handle(input)` and compares the result with `expected.json` (JavaScript: equal values and the same
//!    key order; Lua tables have no key order, so only the values are compared);
//! 3. calls `handle(input)` again on the instance after its reset (the answer must not change);
//! 4. for the leak probe, calls `leak_write()` in one use and `leak_read()` in the next use of the same
//!    instance: `true` means the second use saw the first one's change to the library's state.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pool_core::{EngineConfig, Isolation, Limits, Pool, ScriptEngine, Value};

use crate::Lang;

/// The policies the suite runs under, in table order.
pub const POLICIES: [Isolation; 3] = [Isolation::None, Isolation::Scrub, Isolation::Strict];

/// The short name of a policy, as in the configuration.
pub fn policy_name(isolation: Isolation) -> &'static str {
    match isolation {
        Isolation::None => "none",
        Isolation::Scrub => "scrub",
        Isolation::Strict => "strict",
        _ => "other",
    }
}

/// One library of the suite, as `manifest.json` lists it.
#[derive(Debug, Clone)]
pub struct Library {
    /// Directory name under `js/` or `lua/`.
    pub name: String,
    /// Its language.
    pub lang: Lang,
    /// The pinned version (npm or Debian).
    pub version: String,
    /// APIs beyond the language that the library needs (`console`, `crypto`, `Intl`, `TextEncoder`).
    pub needs: Vec<String>,
    /// What the leak probe changes, when the handler has one.
    pub leak: Option<String>,
    /// Library source followed by the handler.
    pub prelude: String,
    /// The argument of `handle`.
    pub input: Value,
    /// The reference result.
    pub expected: Value,
    /// Whether the handler defines the leak probe.
    pub has_probe: bool,
}

/// The suite's directory (`tests/compat`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compat")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every library of the manifest (both languages), with its files loaded.
pub fn libraries() -> Vec<Library> {
    let root = root();
    let manifest = read_json(&root.join("manifest.json"));
    let mut out = Vec::new();
    for (key, lang, ext) in [("js", Lang::Js, "js"), ("lua", Lang::Lua, "lua")] {
        for entry in manifest[key].as_array().expect("manifest lists") {
            let name = entry["name"].as_str().expect("name").to_owned();
            let dir = root.join(key).join(&name);
            let handler = dir.join(format!("handler.{ext}"));
            if !handler.exists() {
                // A library the reference runner's own setup uses without a handler of its own.
                continue;
            }
            let handler = read(&handler);
            let library = read(&dir.join(format!("{name}.{ext}")));
            let has_probe = handler.contains("leak_write") && handler.contains("leak_read");
            out.push(Library {
                lang,
                version: entry["version"].as_str().unwrap_or("").to_owned(),
                needs: entry["needs"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                leak: entry["leak"].as_str().map(str::to_owned),
                prelude: format!("{library}\n{handler}"),
                input: read_json(&dir.join("input.json")),
                expected: read_json(&dir.join("expected.json")),
                has_probe,
                name,
            });
        }
    }
    out
}

/// What one library did on one engine under one policy.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The reference result, twice.
    Pass,
    /// An error or a different result.
    Fail(String),
}

impl Outcome {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
}

/// What the leak probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leak {
    /// The handler has no probe.
    NoProbe,
    /// The second use did not see the first one's change.
    Isolated,
    /// The second use saw it.
    Leaked,
    /// The probe's writer or reader failed (for example a frozen setting under strict): the message.
    Error(String),
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leak::NoProbe => f.write_str(""),
            Leak::Isolated => f.write_str("isolated"),
            Leak::Leaked => f.write_str("LEAKS"),
            Leak::Error(e) => write!(f, "error: {}", short(e, 60)),
        }
    }
}

/// One cell of the table.
#[derive(Debug, Clone)]
pub struct Run {
    /// The library's name.
    pub library: String,
    /// The engine's name.
    pub engine: &'static str,
    /// The policy.
    pub isolation: Isolation,
    /// The first call's result, when there was one.
    pub result: Option<Value>,
    /// Pass or fail.
    pub outcome: Outcome,
    /// The leak probe.
    pub leak: Leak,
    /// Time for the whole run (creation, calls, probe).
    pub elapsed: Duration,
}

/// How much the suite does per run.
#[derive(Debug, Clone, Copy)]
pub struct Depth {
    /// Calls of `handle` after the first, each in a use of its own (on up to two instances).
    pub repeats: usize,
}

impl Depth {
    /// The default: one repeat. `VMPOOL_COMPAT=full` makes 20 repeats on two instances.
    pub fn from_env() -> Self {
        let full = std::env::var("VMPOOL_COMPAT").is_ok_and(|v| v == "full");
        Depth {
            repeats: if full { 20 } else { 1 },
        }
    }
}

/// The engine configuration of a library's runs: its prelude and limits generous enough for a debug build.
pub fn config(library: &Library, isolation: Isolation) -> EngineConfig {
    EngineConfig::new(library.prelude.clone())
        .prelude_name(format!("{}/{}", library.name, library.version))
        .isolation(isolation)
        .limits(Limits {
            timeout: Duration::from_secs(60),
            memory_mb: 512,
            stack_kb: 4096,
        })
}

/// Whether two values print as the same JSON text (the same keys in the same order).
pub fn same_text(a: &Value, b: &Value) -> bool {
    serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
}

/// Compares a result with the reference. JavaScript objects must have the same keys in the same order.
pub fn compare(lang: Lang, got: &Value, expected: &Value) -> Result<(), String> {
    let same = match lang {
        // Two `Value`s compare equal whatever their objects' key order; their text shows the order.
        Lang::Js => got == expected && same_text(got, expected),
        Lang::Lua => got == expected,
    };
    if same {
        return Ok(());
    }
    Err(format!(
        "different result: got {}, expected {}",
        short(&got.to_string(), 300),
        short(&expected.to_string(), 300)
    ))
}

/// `s` cut to `max` characters (on a character boundary), on one line.
pub fn short(s: &str, max: usize) -> String {
    let s = s.replace('\n', " ");
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// Runs `library` on the engine `make` builds, under `isolation`.
pub fn run<E, F>(
    engine: &'static str,
    make: F,
    library: &Library,
    isolation: Isolation,
    depth: Depth,
) -> Run
where
    E: ScriptEngine,
    E::Vm: Send,
    F: Fn(EngineConfig) -> Result<E, String>,
{
    let start = Instant::now();
    let mut result = None;
    let mut leak = Leak::NoProbe;
    let outcome = (|| {
        let engine = make(config(library, isolation)).map_err(|e| format!("prelude: {e}"))?;
        let pool = Pool::builder(engine)
            .max_size(2)
            .preload_size(0)
            .acquire_timeout(Duration::from_secs(120))
            .maintenance_thread(false)
            .build()
            .map_err(|e| format!("pool: {e}"))?;
        let input = std::slice::from_ref(&library.input);
        let first = pool
            .acquire()
            .map_err(|e| e.to_string())?
            .call("handle", input)
            .map_err(|e| e.to_string())?;
        result = Some(first.clone());
        compare(library.lang, &first, &library.expected)?;
        for i in 0..depth.repeats {
            // With more than one repeat, every other use holds a second instance.
            let _held = (i % 2 == 1).then(|| pool.acquire());
            let again = pool
                .acquire()
                .map_err(|e| e.to_string())?
                .call("handle", input)
                .map_err(|e| format!("call {} after a reset: {e}", i + 2))?;
            compare(library.lang, &again, &first)
                .map_err(|e| format!("call {} after a reset: {e}", i + 2))?;
        }
        if library.has_probe {
            leak = probe(&pool);
        }
        Ok(())
    })();
    Run {
        library: library.name.clone(),
        engine,
        isolation,
        result,
        outcome: match outcome {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(e),
        },
        leak,
        elapsed: start.elapsed(),
    }
}

fn probe<E: ScriptEngine>(pool: &Pool<E>) -> Leak
where
    E::Vm: Send,
{
    // A pool whose only idle instance is the one just used: the reader meets the writer's instance.
    let write = match pool.acquire() {
        Ok(mut vm) => vm.call("leak_write", &[]),
        Err(e) => return Leak::Error(e.to_string()),
    };
    if let Err(e) = write {
        return Leak::Error(format!("leak_write: {e}"));
    }
    match pool.acquire().map(|mut vm| vm.call("leak_read", &[])) {
        Ok(Ok(Value::Bool(true))) => Leak::Leaked,
        Ok(Ok(Value::Bool(false))) => Leak::Isolated,
        Ok(Ok(other)) => Leak::Error(format!("leak_read gave {other}")),
        Ok(Err(e)) => Leak::Error(format!("leak_read: {e}")),
        Err(e) => Leak::Error(e.to_string()),
    }
}

/// Runs every library of `libraries` written in `lang` on one engine under every policy, on `threads` threads.
pub fn run_all<E, F>(
    engine: &'static str,
    lang: Lang,
    make: F,
    libraries: &[Library],
    depth: Depth,
    threads: usize,
) -> Vec<Run>
where
    E: ScriptEngine,
    E::Vm: Send,
    F: Fn(EngineConfig) -> Result<E, String> + Sync,
{
    let jobs: Vec<(&Library, Isolation)> = libraries
        .iter()
        .filter(|l| l.lang == lang)
        .flat_map(|l| POLICIES.map(|p| (l, p)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(library, isolation)) = jobs.get(i) else {
                        break;
                    };
                    // An engine that panics (Boa's `Array.prototype.sort` does on a comparator that is not
                    // a total order) fails that run only.
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run(engine, &make, library, isolation, depth)
                    }))
                    .unwrap_or_else(|panic| Run {
                        library: library.name.clone(),
                        engine,
                        isolation,
                        result: None,
                        outcome: Outcome::Fail(format!(
                            "engine panicked: {}",
                            panic
                                .downcast_ref::<String>()
                                .map(String::as_str)
                                .or_else(|| panic.downcast_ref::<&str>().copied())
                                .unwrap_or("?")
                        )),
                        leak: Leak::NoProbe,
                        elapsed: Duration::ZERO,
                    });
                    results.lock().unwrap().push((i, run));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The results as a Markdown table: one row per library, one column per engine and policy (pass, or FAIL with
/// the error), then the leak probe's findings.
pub fn table(libraries: &[Library], runs: &[Run], engines: &[&'static str]) -> String {
    let mut out = String::new();
    let mut header = "| library | version |".to_owned();
    let mut rule = "| --- | --- |".to_owned();
    for engine in engines {
        for p in POLICIES {
            header.push_str(&format!(" {engine} {} |", policy_name(p)));
            rule.push_str(" --- |");
        }
    }
    out.push_str(&header);
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for library in libraries {
        let cells: Vec<&Run> = runs.iter().filter(|r| r.library == library.name).collect();
        if cells.is_empty() {
            continue;
        }
        let mut row = format!("| {} | {} |", library.name, library.version);
        for engine in engines {
            for p in POLICIES {
                match cells
                    .iter()
                    .find(|r| r.engine == *engine && r.isolation == p)
                {
                    Some(r) => match &r.outcome {
                        Outcome::Pass => row.push_str(" pass |"),
                        Outcome::Fail(e) => {
                            row.push_str(&format!(" FAIL: {} |", short(e, 90).replace('|', "\\|")))
                        }
                    },
                    None => row.push_str(" |"),
                }
            }
        }
        out.push_str(&row);
        out.push('\n');
    }
    out
}

/// The leak probes as a Markdown table: one row per library with a probe, one column per engine and policy.
pub fn leak_table(libraries: &[Library], runs: &[Run], engines: &[&'static str]) -> String {
    let mut out = String::new();
    let mut header = "| library | the probe changes |".to_owned();
    let mut rule = "| --- | --- |".to_owned();
    for engine in engines {
        for p in POLICIES {
            header.push_str(&format!(" {engine} {} |", policy_name(p)));
            rule.push_str(" --- |");
        }
    }
    out.push_str(&header);
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for library in libraries.iter().filter(|l| l.has_probe) {
        let mut row = format!(
            "| {} | {} |",
            library.name,
            library.leak.as_deref().unwrap_or("")
        );
        for engine in engines {
            for p in POLICIES {
                match runs
                    .iter()
                    .find(|r| r.library == library.name && r.engine == *engine && r.isolation == p)
                {
                    Some(r) if r.outcome.passed() => {
                        row.push_str(&format!(" {} |", r.leak.to_string().replace('|', "\\|")))
                    }
                    Some(_) => row.push_str(" (fails) |"),
                    None => row.push_str(" |"),
                }
            }
        }
        out.push_str(&row);
        out.push('\n');
    }
    out
}
