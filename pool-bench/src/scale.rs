//! `vmpool-bench scale`: pooled throughput at 1 thread and at N threads, measured in alternating rounds.
//!
//! On a shared virtual machine the rate of a single thread moves by tens of percent between runs minutes apart, so
//! a ratio of two rates measured one after the other (as criterion measures its benchmarks) says as much about
//! the machine's load at the time as about the pool. Here each round measures both rates back to back, and the
//! order alternates between rounds (1 then N, N then 1) so that a drift during the run favours neither side; the
//! report gives every round's ratio and their median. Each round measures three kinds of subject the same way: a
//! reference loop of integer work (what the machine's threads give, with no engine), and for each engine its
//! instances through a new pool of N preloaded instances ([`Mode::Pooled`]) and one private instance per thread
//! ([`Mode::Private`]), so that the pool's share of any shortfall can be read off.

use std::fmt;
use std::time::{Duration, Instant};

use pool_core::{Isolation, PoolConfig, Value};
use serde::Serialize;

use crate::backend::EngineKind;
use crate::compare::Machine;
use crate::runner::{Mode, Plan, rate_of, run};
use crate::setup::SetupError;
use crate::workload::{Job, Workload};

/// What `scale` measures.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// Engines to measure (default: every engine compiled in).
    pub engines: Vec<EngineKind>,
    /// The workload each request runs.
    pub workload: Workload,
    /// Threads compared with one (also the pool's `max_size` and `preload_size`).
    pub threads: usize,
    /// Rounds per engine; each round measures 1 thread and `threads` threads.
    pub rounds: usize,
    /// How long each side of a round makes requests.
    pub round: Duration,
    /// The isolation policy of the pooled and private instances.
    pub isolation: Isolation,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl Default for ScaleOptions {
    /// Every engine compiled in, the JSON handler, 2 threads, 40 rounds of 2 x 0.1 s per engine and for the
    /// reference loop, strict isolation (about 9 s per engine and 8 s for the reference). Short rounds keep the
    /// two rates of a round within a fraction of a second of each other.
    fn default() -> Self {
        Self {
            engines: EngineKind::compiled(),
            workload: Workload::JsonHandler,
            threads: 2,
            rounds: 40,
            round: Duration::from_millis(100),
            isolation: Isolation::Strict,
            progress: false,
        }
    }
}

impl ScaleOptions {
    /// The pool configuration of every round: the guide's defaults with `max_size = preload_size = threads`, the
    /// chosen isolation, and a 30 s timeout so that slow workloads are measured rather than cut off.
    pub fn pool_config(&self) -> PoolConfig {
        let threads = self.threads.max(1);
        let mut config = PoolConfig {
            max_size: threads,
            preload_size: threads,
            isolation: self.isolation,
            ..PoolConfig::default()
        };
        config.limits.timeout = Duration::from_secs(30);
        config
    }
}

/// One round: both rates, measured back to back.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScaleRound {
    /// Requests per second from one thread.
    pub one_thread_ops_per_s: f64,
    /// Requests per second from `threads` threads.
    pub threads_ops_per_s: f64,
    /// `threads_ops_per_s / one_thread_ops_per_s`.
    pub ratio: f64,
    /// Whether the one-thread side ran first in this round.
    pub one_thread_first: bool,
}

/// One engine's rounds.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleRow {
    /// The engine; `None` for the reference loop (no engine, no pool).
    pub engine: Option<EngineKind>,
    /// [`Mode::Pooled`] or [`Mode::Private`] (one instance per thread, no pool); `None` for the reference.
    pub mode: Option<Mode>,
    /// The workload's name (`cpu-loop` for the reference).
    pub workload: &'static str,
    /// Threads compared with one.
    pub threads: usize,
    /// Every round, in the order run.
    pub rounds: Vec<ScaleRound>,
    /// The median of the rounds' ratios.
    pub median_ratio: f64,
    /// The smallest round ratio.
    pub min_ratio: f64,
    /// The largest round ratio.
    pub max_ratio: f64,
    /// The median one-thread rate.
    pub median_one_thread_ops_per_s: f64,
    /// The median `threads`-thread rate.
    pub median_threads_ops_per_s: f64,
    /// Requests made, all rounds and both sides together (not counted for the reference).
    pub requests: u64,
    /// Requests that failed or returned something other than the workload's expected value.
    pub errors: u64,
}

/// A whole `scale` run.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    /// The reference: a loop of integer work on each thread, sharing nothing, measured in the same rounds. Its
    /// ratio is what the machine's threads give at the time; an engine's ratio near it means the pool and the
    /// engine lose nothing to each other.
    pub reference: ScaleRow,
    /// Two rows per engine: pooled, then private (no pool).
    pub rows: Vec<ScaleRow>,
    /// How long each side of a round made requests, in seconds.
    pub round_s: f64,
    /// The isolation policy of the pooled instances.
    pub isolation: Isolation,
    /// The machine.
    pub machine: Machine,
    /// Wall time of the whole run, in seconds.
    pub elapsed_s: f64,
}

/// Iterations of the reference loop per request: about as long as a pooled JSON request on QuickJS.
const REFERENCE_STEPS: u64 = 20_000;

/// The reference's request: integer work on the calling thread alone, sharing nothing with other threads.
fn reference_request(index: u64) -> u64 {
    let mut x = index | 1;
    for _ in 0..REFERENCE_STEPS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// What a round measures: the reference loop, or an engine in a mode (through the pool, or one private instance
/// per thread) running the workload's job in the engine's language.
enum Subject {
    Reference,
    Engine(EngineKind, Mode, Box<Job>),
}

/// One subject's tallies over the rounds.
struct Tallies {
    rounds: Vec<ScaleRound>,
    requests: u64,
    ok: u64,
}

/// Runs the rounds: in each, the reference loop and then every engine, 1 thread and `threads` threads each.
///
/// # Errors
/// An engine or pool that cannot be built, or a worker thread that cannot start.
pub fn scale(options: &ScaleOptions) -> Result<ScaleReport, SetupError> {
    let started = Instant::now();
    let config = options.pool_config();
    let threads = options.threads.max(1);
    let expected = serde_json::to_string(&options.workload.expected()).unwrap_or_default();
    let mut subjects = vec![Subject::Reference];
    for &engine in &options.engines {
        let job = options.workload.job(engine.language());
        subjects.push(Subject::Engine(engine, Mode::Pooled, Box::new(job.clone())));
        subjects.push(Subject::Engine(engine, Mode::Private, Box::new(job)));
    }
    let mut tallies: Vec<Tallies> = subjects
        .iter()
        .map(|_| Tallies {
            rounds: Vec::with_capacity(options.rounds),
            requests: 0,
            ok: 0,
        })
        .collect();
    let rounds = options.rounds.max(1);
    let bar = options
        .progress
        .then(|| crate::format::steps_bar((rounds * subjects.len()) as u64));
    for r in 0..rounds {
        let one_thread_first = r % 2 == 0;
        for (i, subject) in subjects.iter().enumerate() {
            if let Some(bar) = &bar {
                bar.set_message(match subject {
                    Subject::Reference => format!("round {}/{rounds}: reference", r + 1),
                    Subject::Engine(engine, mode, _) => {
                        format!("round {}/{rounds}: {engine} {mode}", r + 1)
                    }
                });
            }
            let tally = &mut tallies[i];
            let mut side = |concurrency: usize| -> Result<f64, SetupError> {
                let plan = |mode| Plan {
                    time_budget: Some(options.round),
                    ..Plan::new(u64::MAX, concurrency, mode)
                };
                match subject {
                    Subject::Reference => rate_of(&plan(Mode::Private), |index| {
                        Ok(Value::from(reference_request(index) & 1))
                    }),
                    Subject::Engine(engine, mode, job) => {
                        let report = run(*engine, job, &config, &plan(*mode))?;
                        tally.requests += report.requests;
                        tally.ok += report.results.get(&expected).copied().unwrap_or(0);
                        Ok(report.ops_per_s)
                    }
                }
            };
            let (one, many) = if one_thread_first {
                let one = side(1)?;
                (one, side(threads)?)
            } else {
                let many = side(threads)?;
                (side(1)?, many)
            };
            tally.rounds.push(ScaleRound {
                one_thread_ops_per_s: one,
                threads_ops_per_s: many,
                ratio: if one > 0.0 { many / one } else { 0.0 },
                one_thread_first,
            });
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut rows = subjects.into_iter().zip(tallies).map(|(subject, t)| {
        let (engine, mode, workload) = match subject {
            Subject::Reference => (None, None, "cpu-loop"),
            Subject::Engine(e, mode, _) => (Some(e), Some(mode), options.workload.name()),
        };
        row(engine, mode, workload, threads, t)
    });
    let reference = rows.next().expect("the reference is the first subject");
    Ok(ScaleReport {
        reference,
        rows: rows.collect(),
        round_s: options.round.as_secs_f64(),
        isolation: options.isolation,
        machine: Machine::current(),
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

fn row(
    engine: Option<EngineKind>,
    mode: Option<Mode>,
    workload: &'static str,
    threads: usize,
    tallies: Tallies,
) -> ScaleRow {
    let Tallies {
        rounds,
        requests,
        ok,
    } = tallies;
    let pick = |f: fn(&ScaleRound) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
    let ratios: Vec<f64> = rounds.iter().map(|r| r.ratio).collect();
    ScaleRow {
        engine,
        mode,
        workload,
        threads,
        median_ratio: median(&ratios),
        min_ratio: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        max_ratio: ratios.iter().copied().fold(0.0, f64::max),
        median_one_thread_ops_per_s: pick(|r| r.one_thread_ops_per_s),
        median_threads_ops_per_s: pick(|r| r.threads_ops_per_s),
        rounds,
        requests,
        errors: requests - ok,
    }
}

/// The median (the mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The table, then how it was measured.
impl fmt::Display for ScaleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threads = self.reference.threads;
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::ASCII_MARKDOWN);
        table.set_header(vec![
            "engine".to_owned(),
            "mode".to_owned(),
            "workload".to_owned(),
            "1 thread (median)".to_owned(),
            format!("{threads} threads (median)"),
            format!("{threads}T / 1T median"),
            "rounds p25-p75".to_owned(),
            "rounds min-max".to_owned(),
            "errors".to_owned(),
        ]);
        for row in std::iter::once(&self.reference).chain(&self.rows) {
            let mut ratios: Vec<f64> = row.rounds.iter().map(|r| r.ratio).collect();
            ratios.sort_by(f64::total_cmp);
            let quartile = |q: f64| {
                ratios
                    .get(((ratios.len() - 1) as f64 * q).round() as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            table.add_row(vec![
                row.engine
                    .map_or_else(|| "(machine)".to_owned(), |e| e.to_string()),
                row.mode.map_or_else(|| "-".to_owned(), |m| m.to_string()),
                row.workload.to_owned(),
                format!(
                    "{} ops/s",
                    crate::format::ops(row.median_one_thread_ops_per_s)
                ),
                format!("{} ops/s", crate::format::ops(row.median_threads_ops_per_s)),
                format!("{:.2}x", row.median_ratio),
                format!("{:.2}-{:.2}", quartile(0.25), quartile(0.75)),
                format!("{:.2}-{:.2}", row.min_ratio, row.max_ratio),
                row.errors.to_string(),
            ]);
        }
        for column in 3..8 {
            if let Some(c) = table.column_mut(column) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        writeln!(f, "{table}")?;
        write!(
            f,
            "{} isolation. Each round runs, for the reference loop (integer work on each thread, no engine) and \
             then each engine pooled (a new pool of {threads} preloaded instances) and private (one instance per \
             thread, reset after each request, no pool), 1 thread and {threads} threads for {:.2} s each, back to \
             back (which first alternates between rounds). {} logical CPUs ({}); {:.1} s in all.",
            self.isolation, self.round_s, self.machine.cpus, self.machine.cpu_model, self.elapsed_s
        )
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
