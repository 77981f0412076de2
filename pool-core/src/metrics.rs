//! Pool-wide counters and the point-in-time [`Metrics`] snapshot whose `Display` is the guide's log line.

use std::fmt;
use std::time::Duration;

/// Why an instance was destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DestroyReason {
    /// Idle longer than `idle_timeout`, above the warm floor.
    Idle,
    /// Older than `max_lifetime`.
    Lifetime,
    /// Used `max_uses` times.
    MaxUses,
    /// The engine's `is_broken` said so on return.
    Broken,
    /// Its last call hit a limit or failed inside the engine, or the thread holding it panicked.
    Tainted,
    /// `reset` failed or panicked (including a failed verification).
    ResetFailed,
    /// Discarded explicitly with `PooledVm::discard`.
    Discarded,
    /// The pool was closed or dropped.
    Closed,
    /// The pool was shrunk with `resize`.
    Resized,
    /// Of an older generation than the pool's after [`Pool::reload`](crate::Pool::reload): idle ones at once, the
    /// ones in use when they come back.
    Reloaded,
}

impl DestroyReason {
    pub(crate) const COUNT: usize = 10;

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The reason's lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DestroyReason::Idle => "idle",
            DestroyReason::Lifetime => "lifetime",
            DestroyReason::MaxUses => "max_uses",
            DestroyReason::Broken => "broken",
            DestroyReason::Tainted => "tainted",
            DestroyReason::ResetFailed => "reset_failed",
            DestroyReason::Discarded => "discarded",
            DestroyReason::Closed => "closed",
            DestroyReason::Resized => "resized",
            DestroyReason::Reloaded => "reloaded",
        }
    }

    /// Every reason, in declaration order.
    pub const ALL: [DestroyReason; Self::COUNT] = [
        DestroyReason::Idle,
        DestroyReason::Lifetime,
        DestroyReason::MaxUses,
        DestroyReason::Broken,
        DestroyReason::Tainted,
        DestroyReason::ResetFailed,
        DestroyReason::Discarded,
        DestroyReason::Closed,
        DestroyReason::Resized,
        DestroyReason::Reloaded,
    ];
}

impl fmt::Display for DestroyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Instances destroyed, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Destroyed {
    counts: [u64; DestroyReason::COUNT],
}

impl Destroyed {
    /// Instances destroyed for `reason`.
    pub fn get(&self, reason: DestroyReason) -> u64 {
        self.counts[reason.index()]
    }

    /// Instances destroyed for any reason.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub(crate) fn add(&mut self, reason: DestroyReason, n: u64) {
        self.counts[reason.index()] += n;
    }

    /// `(reason, count)` for every reason.
    pub fn iter(&self) -> impl Iterator<Item = (DestroyReason, u64)> + '_ {
        DestroyReason::ALL.iter().map(|r| (*r, self.get(*r)))
    }
}

/// A snapshot of the pool's counters.
///
/// The gauges (`in_use`, `available`, `creating`) and the lifecycle counters (`created`, `destroyed`,
/// `total_uses`) are read together under the pool's main lock and every idle shard's lock, so
/// `created - destroyed == in_use + available` holds in every snapshot. `script_errors` and the wait counters are
/// kept outside the locks and may lag by a few events
/// under load.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Instances created since the pool started.
    pub created: u64,
    /// Instances destroyed, by reason.
    pub destroyed: Destroyed,
    /// Instances handed out and not yet returned.
    pub in_use: usize,
    /// Idle instances ready to hand out.
    pub available: usize,
    /// Instances being created right now.
    pub creating: usize,
    /// The current `max_size`.
    pub max_size: usize,
    /// Instances handed out since the pool started.
    pub total_uses: u64,
    /// Instance creations that failed or panicked.
    pub create_errors: u64,
    /// `eval`/`call` through a guard that returned an error.
    pub script_errors: u64,
    /// Acquires that had to wait.
    pub waits: u64,
    /// Waits that ended without an instance (`VM pool exhausted`).
    pub wait_timeouts: u64,
    /// Time spent waiting, summed over all waits.
    pub wait_time: Duration,
    /// Callers waiting right now.
    pub waiting: usize,
    /// Guards reported as held longer than `leak_threshold`.
    pub leaks_suspected: u64,
    /// Whether the pool is closed.
    pub closed: bool,
    /// The pool's generation: 1 when built, one more for every [`Pool::reload`](crate::Pool::reload).
    pub generation: u64,
    /// Live instances per generation, oldest first (generations without a live instance are left out): after a
    /// reload, the older generations' entries are the instances still in use, which are destroyed when they come
    /// back.
    pub generations: Vec<GenerationCount>,
}

/// Live instances of one generation, in [`Metrics::generations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GenerationCount {
    /// The generation.
    pub generation: u64,
    /// Its live instances (in use or idle).
    pub live: usize,
}

impl Metrics {
    /// Instances alive now: `created - destroyed`, equal to `in_use + available`.
    pub fn live(&self) -> u64 {
        self.created - self.destroyed.total()
    }

    /// Whether the snapshot satisfies the pool's invariants: `created - destroyed == in_use + available`, the
    /// live instances per generation add up to the live instances, and in use + idle + being created stays within `max_size`
    /// (after a shrink by [`Pool::resize`](crate::Pool::resize), instances in use or being created may exceed it
    /// until they are done, but none of them becomes idle while the pool is over its size).
    pub fn is_consistent(&self) -> bool {
        let balanced = self.created.checked_sub(self.destroyed.total())
            == Some((self.in_use + self.available) as u64);
        let by_generation = self.generations.iter().map(|g| g.live as u64).sum::<u64>()
            == (self.in_use + self.available) as u64
            && self
                .generations
                .iter()
                .all(|g| g.live > 0 && g.generation <= self.generation)
            && self
                .generations
                .windows(2)
                .all(|w| w[0].generation < w[1].generation);
        let bounded =
            self.in_use + self.available + self.creating <= self.max_size || self.available == 0;
        balanced && by_generation && bounded
    }

    /// Errors as the guide counts them: failed creations plus failed script calls.
    pub fn errors(&self) -> u64 {
        self.create_errors + self.script_errors
    }
}

/// The guide's line: `[VM Pool Metrics] Created: 25, InUse: 5, Available: 20, TotalUses: 1523, Errors: 0`.
///
/// `Created` is the number of live instances (the guide's example has Created = InUse + Available, and its
/// original meant the count to go down when instances are removed); the cumulative count is [`Metrics::created`].
impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[VM Pool Metrics] Created: {}, InUse: {}, Available: {}, TotalUses: {}, Errors: {}",
            self.live(),
            self.in_use,
            self.available,
            self.total_uses,
            self.errors()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Metrics {
        let mut destroyed = Destroyed::default();
        destroyed.add(DestroyReason::Idle, 2);
        Metrics {
            created: 7,
            destroyed,
            in_use: 3,
            available: 2,
            creating: 0,
            max_size: 5,
            total_uses: 10,
            create_errors: 0,
            script_errors: 1,
            waits: 0,
            wait_timeouts: 0,
            wait_time: Duration::ZERO,
            waiting: 0,
            leaks_suspected: 0,
            closed: false,
            generation: 2,
            generations: vec![
                GenerationCount {
                    generation: 1,
                    live: 1,
                },
                GenerationCount {
                    generation: 2,
                    live: 4,
                },
            ],
        }
    }

    #[test]
    fn consistency_catches_each_broken_invariant() {
        assert!(snapshot().is_consistent());
        assert!(
            !Metrics {
                created: 8,
                ..snapshot()
            }
            .is_consistent(),
            "unbalanced"
        );
        assert!(
            !Metrics {
                creating: 1,
                ..snapshot()
            }
            .is_consistent(),
            "over max_size with an idle instance"
        );
        assert!(
            Metrics {
                creating: 1,
                available: 0,
                in_use: 5,
                ..snapshot()
            }
            .is_consistent(),
            "shrunk"
        );
        assert!(
            !Metrics {
                created: 1,
                ..snapshot()
            }
            .is_consistent(),
            "more destroyed than created"
        );
        assert!(
            !Metrics {
                generations: vec![GenerationCount {
                    generation: 2,
                    live: 4
                }],
                ..snapshot()
            }
            .is_consistent(),
            "an instance missing from the generations"
        );
        assert!(
            !Metrics {
                generation: 1,
                ..snapshot()
            }
            .is_consistent(),
            "a generation newer than the pool's"
        );
    }

    #[test]
    fn the_guides_line() {
        assert_eq!(
            snapshot().to_string(),
            "[VM Pool Metrics] Created: 5, InUse: 3, Available: 2, TotalUses: 10, Errors: 1"
        );
    }
}
