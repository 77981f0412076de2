//! The `vmpool-bench` command line: argument parsing and output. `main.rs` only calls [`main`].

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use pool_core::{PoolConfig, Value};

use crate::backend::EngineKind;
use crate::compare::{CompareOptions, compare};
use crate::memory::idle_memory;
use crate::reliability::{DeadlineOptions, SoakOptions, deadline, soak};
use crate::report;
use crate::runner::{Mode, Plan, run};
use crate::scale::{ScaleOptions, scale};
use crate::workload::{Job, Request, Workload};

/// Benchmark script engines through vmpool: your own script (`run`), the built-in workloads on every engine
/// (`compare`), scaling from 1 thread to N (`scale`), and the reliability runs (`deadline`, `soak`).
#[derive(Debug, Parser)]
#[command(name = "vmpool-bench", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run your script through a pool, the way your server would (each request with a context of its own;
    /// `console`, `host.echo(value)` and `host.now()` available), and report throughput, latency, errors and the
    /// pool's metrics.
    Run(RunArgs),
    /// Run the built-in workloads on every engine compiled in, pooled and fresh, and print one table.
    Compare(CompareArgs),
    /// Measure how pooled throughput grows from 1 thread to N, beside one private instance per thread (no pool) and
    /// a loop of integer work: rounds that each run 1 thread and N threads back to back, and the median of the
    /// rounds' ratios.
    Scale(ScaleArgs),
    /// Run hostile CPU scripts (loops that catch the timeout, endless job chains, backtracking...) and report how
    /// long after the deadline each `timeout` error arrives, and that every timed-out instance was discarded.
    Deadline(DeadlineArgs),
    /// Run many acquire/run/reset/release cycles and report resident memory and thread count over the run.
    Soak(SoakArgs),
    /// Print the memory per idle instance measured from this fresh process (used by `compare`).
    #[command(hide = true)]
    MemoryProbe(ProbeArgs),
}

#[derive(Debug, Args)]
struct DeadlineArgs {
    /// The engine.
    #[arg(long, value_enum)]
    engine: EngineKind,
    /// Hostile runs to make.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// The engine's time limit per call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SoakArgs {
    /// The engine.
    #[arg(long, value_enum)]
    engine: EngineKind,
    /// Cycles to make.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(2..))]
    cycles: u64,
    /// Cycles before the baseline reading [default: 10% of the cycles, at least 1000, at most half].
    #[arg(long, value_name = "N")]
    warmup: Option<u64>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The engine.
    #[arg(long, value_enum)]
    engine: EngineKind,
    /// The script: run once in every instance (the prelude); it defines the function each request calls.
    #[arg(long, value_name = "FILE")]
    script: PathBuf,
    /// The global function each request calls with two arguments: the input and the request's index (0-based).
    #[arg(long, value_name = "NAME", default_value = "handle")]
    call: String,
    /// The first argument of every call, as JSON.
    #[arg(long, value_name = "JSON", default_value = "null")]
    input: String,
    /// A TOML file whose `[vm_pool]` section (with `[vm_pool.limits]`) configures the pool and the engine.
    /// Without it: the guide's defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Requests to make.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
    /// Threads making requests at once [default: the number of CPUs].
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: Option<u64>,
    /// `pooled`: through the pool; `fresh`: a new instance per request (created, used, dropped), for comparison.
    #[arg(long, value_enum, default_value_t = Mode::Pooled)]
    mode: Mode,
    /// Print the console lines (`console.*`, Lua's `print`) of the first N requests [N: 5].
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "5")]
    logs: Option<u64>,
    /// Reload the pool (build the engine again and `Pool::reload` it, on a thread of its own) after every N
    /// requests while the requests go on; the summary reports the reloads and the p99 latency of the requests
    /// they affected. Pooled mode only.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    reload_every: Option<u64>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// A shorter run (under two minutes on a 2-core machine): at most 20 000 requests or 0.7 s per cell.
    #[arg(long)]
    quick: bool,
    /// Print the rows as one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write a Markdown report (`compare.md`) and an SVG chart of the speedups (`speedup.svg`) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Only these engines (repeatable) [default: every engine compiled in].
    #[arg(long = "engine", value_enum, value_name = "ENGINE")]
    engines: Vec<EngineKind>,
    /// Only these workloads (repeatable) [default: all].
    #[arg(long = "workload", value_enum, value_name = "WORKLOAD")]
    workloads: Vec<Workload>,
    /// Threads making requests at once in every cell.
    #[arg(long, value_name = "C", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    concurrency: u64,
    /// At most this many requests per cell (for tests).
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    requests: Option<u64>,
    /// Time budget per cell in milliseconds (for tests).
    #[arg(long, value_name = "MS", hide = true)]
    budget_ms: Option<u64>,
    /// Instances measured for the memory column (for tests).
    #[arg(long, value_name = "N", hide = true)]
    memory_instances: Option<usize>,
}

#[derive(Debug, Args)]
struct ScaleArgs {
    /// Only these engines (repeatable) [default: every engine compiled in].
    #[arg(long = "engine", value_enum, value_name = "ENGINE")]
    engines: Vec<EngineKind>,
    /// The workload each request runs.
    #[arg(long, value_enum, default_value = "json")]
    workload: Workload,
    /// Threads compared with one (also the pool's size).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(2..=64))]
    threads: u64,
    /// Rounds per engine.
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1000))]
    rounds: u64,
    /// How long each side of a round makes requests, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    round_ms: u64,
    /// The isolation policy of the pooled and private instances (`strict`, `scrub` or `none`).
    #[arg(long, default_value = "strict")]
    isolation: pool_core::Isolation,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ProbeArgs {
    #[arg(long, value_enum)]
    engine: EngineKind,
    #[arg(long, value_enum)]
    workload: Workload,
    #[arg(long, default_value_t = 10)]
    instances: usize,
    #[arg(long, default_value = "strict")]
    isolation: pool_core::Isolation,
}

/// Parses the process's arguments and runs the command. Exit status 0 on success (requests that fail are
/// counted, not fatal), 1 when nothing could be measured (bad config, script or arguments), 2 for usage errors.
pub fn main() -> ExitCode {
    main_with(std::env::args_os())
}

/// As [`main`], with the arguments given (the first is the program name).
pub fn main_with(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = Cli::parse_from(&args);
    let command_line = args
        .iter()
        .skip(1)
        .fold("vmpool-bench".to_owned(), |mut s, a| {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
            s
        });
    let result = match cli.command {
        Command::Run(args) => run_command(args),
        Command::Compare(args) => compare_command(args, &command_line),
        Command::Scale(args) => scale_command(args),
        Command::Deadline(args) => deadline_command(&args),
        Command::Soak(args) => soak_command(&args),
        Command::MemoryProbe(args) => probe_command(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the output: {e}"))
}

fn run_command(args: RunArgs) -> Result<(), String> {
    let prelude = std::fs::read_to_string(&args.script)
        .map_err(|e| format!("cannot read the script {}: {e}", args.script.display()))?;
    let config = match &args.config {
        Some(path) => {
            PoolConfig::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => PoolConfig::default(),
    };
    let input: Value =
        serde_json::from_str(&args.input).map_err(|e| format!("--input is not valid JSON: {e}"))?;
    let job = Job {
        prelude,
        prelude_name: args
            .script
            .file_name()
            .map_or_else(|| "script".to_owned(), |n| n.to_string_lossy().into_owned()),
        request: Request::Call {
            function: args.call,
            input,
        },
        // console, vmpool.context() and host.echo / host.now.
        host: crate::host::bench_api(),
    };
    let concurrency = args.concurrency.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |c| usize::try_from(c).unwrap_or(1),
    );
    let mut plan = Plan::new(args.requests, concurrency, args.mode);
    // Each request with a context of its own, as a server would run it.
    plan.contexts = true;
    plan.console_requests = args.logs.unwrap_or(0);
    if args.reload_every.is_some() && args.mode != Mode::Pooled {
        return Err(format!(
            "--reload-every reloads a pool: it needs --mode pooled, not {}",
            args.mode
        ));
    }
    plan.reload_every = args.reload_every;
    if !args.json && std::io::stdout().is_terminal() {
        let bar = indicatif::ProgressBar::new(args.requests);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "[{elapsed_precise}] {bar:40} {human_pos}/{human_len} requests (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        plan.progress = Some(bar);
    }
    let report = run(args.engine, &job, &config, &plan).map_err(|e| e.to_string())?;
    if args.json {
        print(&serde_json::to_string(&report).map_err(|e| e.to_string())?)
    } else {
        print(&report.to_string())
    }
}

/// The engines named on the command line (sorted, once each), or every engine compiled in; an error for an engine
/// this build lacks or when there is none.
fn engines_to_run(named: Vec<EngineKind>) -> Result<Vec<EngineKind>, String> {
    let engines = if named.is_empty() {
        EngineKind::compiled()
    } else {
        let mut engines = named;
        engines.sort();
        engines.dedup();
        engines
    };
    if let Some(missing) = engines.iter().find(|e| !e.is_compiled()) {
        return Err(crate::backend::NotCompiled(*missing).to_string());
    }
    if engines.is_empty() {
        return Err(
            "no engine is compiled in (enable the features quickjs, lua or boa)".to_owned(),
        );
    }
    Ok(engines)
}

fn compare_command(args: CompareArgs, command_line: &str) -> Result<(), String> {
    let mut options = if args.quick {
        CompareOptions::quick()
    } else {
        CompareOptions::full()
    };
    options.engines = engines_to_run(args.engines)?;
    if !args.workloads.is_empty() {
        let mut workloads = args.workloads;
        workloads.sort();
        workloads.dedup();
        options.workloads = workloads;
    }
    options.concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    if let Some(n) = args.requests {
        options.requests = n;
    }
    if let Some(ms) = args.budget_ms {
        options.budget = Duration::from_millis(ms);
    }
    if let Some(n) = args.memory_instances {
        options.memory_instances = n.max(1);
    }
    options.memory_probe = std::env::current_exe().ok();
    options.progress = !args.json && std::io::stdout().is_terminal();
    let report = compare(&options).map_err(|e| e.to_string())?;
    if args.json {
        print(&serde_json::to_string(&report).map_err(|e| e.to_string())?)?;
    } else {
        print(report::text(&report).trim_end())?;
    }
    if let Some(dir) = &args.out {
        let written = report::write_out(&report, dir, command_line)
            .map_err(|e| format!("cannot write the report into {}: {e}", dir.display()))?;
        if !args.json {
            for path in written {
                print(&format!("wrote {}", path.display()))?;
            }
        }
    }
    Ok(())
}

fn scale_command(args: ScaleArgs) -> Result<(), String> {
    let mut options = ScaleOptions {
        workload: args.workload,
        threads: usize::try_from(args.threads).unwrap_or(2),
        rounds: usize::try_from(args.rounds).unwrap_or(1),
        round: Duration::from_millis(args.round_ms),
        isolation: args.isolation,
        ..ScaleOptions::default()
    };
    options.engines = engines_to_run(args.engines)?;
    options.progress = !args.json && std::io::stdout().is_terminal();
    let report = scale(&options).map_err(|e| e.to_string())?;
    if args.json {
        print(&serde_json::to_string(&report).map_err(|e| e.to_string())?)
    } else {
        print(&report.to_string())
    }
}

fn deadline_command(args: &DeadlineArgs) -> Result<(), String> {
    let options = DeadlineOptions {
        runs: usize::try_from(args.runs).unwrap_or(usize::MAX),
        timeout: Duration::from_millis(args.timeout_ms),
        progress: !args.json && std::io::stdout().is_terminal(),
    };
    let report = deadline(args.engine, &options).map_err(|e| e.to_string())?;
    if args.json {
        print(&serde_json::to_string(&report).map_err(|e| e.to_string())?)
    } else {
        print(&report.to_string())
    }
}

fn soak_command(args: &SoakArgs) -> Result<(), String> {
    let mut options = SoakOptions::new(args.cycles);
    if let Some(warmup) = args.warmup {
        if warmup >= args.cycles {
            return Err(format!(
                "--warmup ({warmup}) must be smaller than --cycles ({})",
                args.cycles
            ));
        }
        options.warmup = warmup;
    }
    options.progress = !args.json && std::io::stdout().is_terminal();
    let report = soak(args.engine, &options).map_err(|e| e.to_string())?;
    if args.json {
        print(&serde_json::to_string(&report).map_err(|e| e.to_string())?)
    } else {
        print(&report.to_string())
    }
}

fn probe_command(args: &ProbeArgs) -> Result<(), String> {
    let mut config = CompareOptions::quick().pool_config();
    config.isolation = args.isolation;
    let job = args.workload.job(args.engine.language());
    let reading =
        idle_memory(args.engine, &job, &config, args.instances, true).map_err(|e| e.to_string())?;
    print(&serde_json::to_string(&reading).map_err(|e| e.to_string())?)
}
