//! Maintenance: idle and lifetime eviction, refilling the warm floor, leak reports, and the thread that runs them.
//!
//! Every decision is a function of the pool's [`Clock`](crate::Clock), so tests drive it with a manual clock and
//! call [`Pool::run_maintenance`](crate::Pool::run_maintenance) instead of sleeping.

use std::time::{Duration, Instant};

use super::inner::{Creation, Inner, Owner};
use super::state::State;
use crate::engine::ScriptEngine;
use crate::error::PoolError;
use crate::metrics::DestroyReason;

/// What one maintenance pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Idle instances removed after `idle_timeout`.
    pub evicted_idle: usize,
    /// Idle instances removed after `max_lifetime`.
    pub evicted_lifetime: usize,
    /// Instances created to refill the warm floor.
    pub created: usize,
    /// Guards newly reported as leaked.
    pub leaks_reported: usize,
}

impl<E: ScriptEngine> Inner<E> {
    /// One pass: evicts by lifetime and idle time, reports leaks, then refills the warm floor.
    pub(super) fn run_maintenance(&self) -> MaintenanceReport {
        let now = self.clock.now();
        let now_stamp = self.stamp(now);
        let mut report = MaintenanceReport::default();
        let mut st = self.state();
        if st.is_closed() {
            return report;
        }
        let mut evicted = Vec::new();
        let mut shards = self.shards.lock_all();
        // Past max_lifetime: always, even below the floor (the floor is refilled below).
        for shard in &mut shards {
            let mut i = 0;
            while let Some(tag) = shard.idle.get(i).map(|slot| slot.tag) {
                if st.book(tag).expires_at.reached_by(now_stamp) {
                    st.destroy(tag, DestroyReason::Lifetime);
                    evicted.extend(shard.idle.remove(i));
                    report.evicted_lifetime += 1;
                } else {
                    i += 1;
                }
            }
        }
        // Instances used since the last pass (their use count changed) are idle from now on, at the latest:
        // returning one does not read the clock, so eviction may come up to one cleanup_interval later than
        // idle_timeout alone would say.
        for shard in &shards {
            for i in 0..shard.idle.len() {
                if let Some(tag) = shard.idle.get(i).map(|slot| slot.tag) {
                    st.book(tag).note_idle(tag.uses, now_stamp);
                }
            }
        }
        // Idle too long: the longest idle of each shard first, never below the warm floor (of the current
        // generation: instances of older ones are in use and leave when they come back).
        let floor = self.floor(&st);
        let idle_timeout = self.config().idle_timeout;
        'shards: for shard in &mut shards {
            while st.total() - st.stale() > floor {
                let Some(tag) = shard.idle.get(0).map(|slot| slot.tag) else {
                    continue 'shards;
                };
                if st.book(tag).idle_since.elapsed_at(now_stamp) <= idle_timeout {
                    continue 'shards;
                }
                st.destroy(tag, DestroyReason::Idle);
                evicted.extend(shard.idle.remove(0));
                report.evicted_idle += 1;
            }
        }
        drop(shards);
        report.leaks_reported = self.report_leaks(&mut st, now);
        drop(st);
        drop(evicted);
        report.created = self.refill().0;
        report
    }

    /// Creates instances until the warm floor is reached; returns how many it made and the first creation error.
    /// The capacity for all of them is reserved at once, so that acquires meanwhile see it taken; what a failure
    /// leaves unused is cancelled and offered to waiters.
    pub(super) fn refill(&self) -> (usize, Option<PoolError<E::Error>>) {
        let mut st = self.state();
        if st.is_closed() {
            return (0, None);
        }
        let floor = self.floor(&st);
        let reservations = st.reserve_up_to(floor);
        drop(st);
        let mut creations: Vec<Creation<'_, E>> = reservations
            .into_iter()
            .map(|reservation| Creation::new(self, reservation))
            .collect();
        let mut made = 0;
        let mut reloaded = false;
        while let Some(mut creation) = creations.pop() {
            let instance = match creation.create() {
                Ok(instance) => instance,
                // The remaining creations are cancelled as they are dropped.
                Err(error) => return (made, Some(error)),
            };
            made += 1;
            let expires_at = self.expiry();
            let mut st = self.state();
            // Closed, shrunk by `resize` or reloaded while this instance was being made: it does not fit.
            if !st.fits() || !creation.is_current(&st) {
                let reason = if st.is_closed() {
                    DestroyReason::Closed
                } else if !creation.is_current(&st) {
                    reloaded = true;
                    DestroyReason::Reloaded
                } else {
                    DestroyReason::Resized
                };
                creation.refuse(&mut st, reason);
                drop(st);
                drop(instance);
                continue;
            }
            let slot = creation.admit(&mut st, instance, 0, expires_at);
            self.shards.home().idle.push(slot);
            self.hand_on(st);
        }
        if reloaded {
            // Some were made by the engine a reload replaced meanwhile: the floor is refilled with the new one.
            let (more, error) = self.refill();
            return (made + more, error);
        }
        (made, None)
    }

    /// Reports, once each, the guards held longer than `leak_threshold`.
    fn report_leaks(&self, st: &mut State, now: Instant) -> usize {
        let Some(threshold) = self.config().leak_threshold else {
            return 0;
        };
        let mut reported = 0;
        for lease in st.leases() {
            let held = now.saturating_duration_since(lease.acquired_at);
            if !lease.reported && held >= threshold {
                lease.reported = true;
                reported += 1;
                log::warn!(
                    "vmpool: possible VM leak: a VM has been out for {} (leak_threshold {}); it was acquired at {}",
                    humantime::format_duration(round(held)),
                    humantime::format_duration(threshold),
                    lease.location
                );
            }
        }
        st.count_leaks(reported as u64);
        reported
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Starts the maintenance thread. It holds the pool's owner only weakly and ends when the pool is closed or
/// dropped.
#[cfg(not(loom))]
pub(super) fn spawn_maintenance<E: ScriptEngine>(owner: &std::sync::Arc<Owner<E>>)
where
    E::Vm: Send,
{
    let weak = std::sync::Arc::downgrade(owner);
    let config = owner.inner.config().clone();
    let spawned = std::thread::Builder::new()
        .name("vmpool-maintenance".into())
        .spawn(move || {
            let start = Instant::now();
            let mut next_cleanup = start + config.cleanup_interval;
            let mut next_metrics = config
                .enable_metrics
                .then(|| start + config.metrics_interval);
            // Leaks are looked for at least twice per threshold, so a leak is reported within 1.5x the threshold.
            let leak_period = config
                .leak_threshold
                .map(|t| (t / 2).max(Duration::from_millis(1)));
            let mut next_leaks = leak_period.map(|p| start + p);
            loop {
                let now = Instant::now();
                let next = [Some(next_cleanup), next_metrics, next_leaks]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(next_cleanup);
                std::thread::park_timeout(next.saturating_duration_since(now));
                let Some(owner) = weak.upgrade() else { return };
                let inner = &owner.inner;
                if inner.is_closed() {
                    return;
                }
                let now = Instant::now();
                if now >= next_cleanup {
                    inner.run_maintenance();
                    next_cleanup = now + config.cleanup_interval;
                } else {
                    // Woken early: an instance was discarded below the warm floor.
                    let _ = inner.refill();
                    if let (Some(at), Some(period)) = (next_leaks, leak_period)
                        && now >= at
                    {
                        let mut st = inner.state();
                        inner.report_leaks(&mut st, inner.clock.now());
                        next_leaks = Some(now + period);
                    }
                }
                if let Some(at) = next_metrics
                    && now >= at
                {
                    log::info!("{}", inner.metrics());
                    next_metrics = Some(now + config.metrics_interval);
                }
            }
        });
    match spawned {
        Ok(join) => {
            let _ = owner.inner.maintenance.set(join.thread().clone());
        }
        Err(error) => log::error!("vmpool: could not start the maintenance thread: {error}"),
    }
}

#[cfg(loom)]
pub(super) fn spawn_maintenance<E: ScriptEngine>(_owner: &std::sync::Arc<Owner<E>>)
where
    E::Vm: Send,
{
}
