//! Maintenance: idle and lifetime eviction, refilling the warm floor, leak reports, and the thread that runs them.
//!
//! Every decision is a function of the pool's [`Clock`](crate::Clock), so tests drive it with a manual clock and
//! call [`Pool::run_maintenance`](crate::Pool::run_maintenance) instead of sleeping.

use std::time::{Duration, Instant};

use crate::engine::ScriptEngine;
use crate::error::PoolError;
use crate::metrics::DestroyReason;
use crate::pool::{Handle, Inner, MaintenanceReport};
use crate::sync::lock;

impl<E: ScriptEngine> Inner<E> {
    pub(crate) fn run_maintenance(&self) -> MaintenanceReport {
        let now = self.clock.now();
        let now_stamp = self.stamp(now);
        let mut report = MaintenanceReport::default();
        let mut st = lock(&self.state);
        if st.closed {
            return report;
        }
        let mut evicted = Vec::new();
        let mut shards = self.lock_shards();
        // Past max_lifetime: always, even below the floor (the floor is refilled below).
        for shard in &mut shards {
            let mut i = 0;
            while let Some(tag) = shard.idle.get(i).map(|slot| slot.tag) {
                if st.book(tag).expires_at.reached_by(now_stamp) {
                    st.close_book(tag);
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
                let Some(tag) = shard.idle.get(i).map(|slot| slot.tag) else {
                    break;
                };
                let book = st.book(tag);
                if book.idle_since.is_none() || book.idle_uses != tag.uses {
                    book.idle_since = now_stamp;
                    book.idle_uses = tag.uses;
                }
            }
        }
        // Idle too long: the longest idle of each shard first, never below the warm floor.
        let floor = self.floor(&st);
        let idle_timeout = self.config.idle_timeout;
        'shards: for shard in &mut shards {
            while st.total() > floor {
                let Some(tag) = shard.idle.get(0).map(|slot| slot.tag) else {
                    continue 'shards;
                };
                if st.book(tag).idle_since.elapsed_at(now_stamp) <= idle_timeout {
                    continue 'shards;
                }
                st.close_book(tag);
                evicted.extend(shard.idle.remove(0));
                report.evicted_idle += 1;
            }
        }
        drop(shards);
        st.destroyed
            .add(DestroyReason::Lifetime, report.evicted_lifetime as u64);
        st.destroyed
            .add(DestroyReason::Idle, report.evicted_idle as u64);
        report.leaks_reported = self.report_leaks(&mut st, now);
        drop(st);
        drop(evicted);
        report.created = self.refill_counting();
        report
    }

    /// Creates instances until the warm floor is reached; returns the first creation error.
    pub(crate) fn refill(&self) -> Option<PoolError<E::Error>> {
        let mut st = lock(&self.state);
        if st.closed {
            return None;
        }
        let need = self.floor(&st).saturating_sub(st.total());
        st.creating += need;
        drop(st);
        let mut first_error = None;
        for made in 0..need {
            match self.create_reserved() {
                Ok(vm) => {
                    let mut st = lock(&self.state);
                    st.creating -= 1;
                    st.created += 1;
                    // Closed, or shrunk by `resize` while this instance was being made: it does not fit.
                    let unwanted = if st.closed {
                        Some(DestroyReason::Closed)
                    } else if st.total() >= st.max_size {
                        Some(DestroyReason::Resized)
                    } else {
                        None
                    };
                    if let Some(reason) = unwanted {
                        st.destroyed.add(reason, 1);
                        drop(st);
                        drop(vm);
                        continue;
                    }
                    let slot = self.admit(&mut st, vm, 0);
                    self.push_home(slot);
                    let waker = self.wake_one(&mut st);
                    self.refresh_attention(&mut st);
                    drop(st);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
                Err(error) => {
                    // Release the reservations not used yet.
                    let rest = need - made - 1;
                    let mut st = lock(&self.state);
                    st.creating -= rest;
                    drop(st);
                    first_error = Some(error);
                    break;
                }
            }
        }
        first_error
    }

    fn refill_counting(&self) -> usize {
        let before = lock(&self.state).created;
        let _ = self.refill();
        let after = lock(&self.state).created;
        usize::try_from(after - before).unwrap_or(usize::MAX)
    }

    fn report_leaks(&self, st: &mut crate::pool::State, now: Instant) -> usize {
        let Some(threshold) = self.config.leak_threshold else {
            return 0;
        };
        let mut reported = 0;
        for lease in st.books.iter_mut().filter_map(|book| book.lease.as_mut()) {
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
        st.leaks_suspected += reported as u64;
        reported
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Starts the maintenance thread. It holds only a weak reference and ends when the pool is closed or dropped.
#[cfg(not(loom))]
pub(crate) fn spawn_maintenance<E: ScriptEngine>(handle: &std::sync::Arc<Handle<E>>)
where
    E::Vm: Send,
{
    let weak = std::sync::Arc::downgrade(handle);
    let config = handle.inner.config.clone();
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
                let Some(handle) = weak.upgrade() else { return };
                let inner = &handle.inner;
                if lock(&inner.state).closed {
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
                        let mut st = lock(&inner.state);
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
            let _ = handle.inner.maintenance.set(join.thread().clone());
        }
        Err(error) => log::error!("vmpool: could not start the maintenance thread: {error}"),
    }
}

#[cfg(loom)]
pub(crate) fn spawn_maintenance<E: ScriptEngine>(_handle: &std::sync::Arc<Handle<E>>)
where
    E::Vm: Send,
{
}
