//! The wall-clock deadline behind the runtime's interrupt handler.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The deadline of the current eval, call or reset, shared with the interrupt handler.
///
/// The handler is called by QuickJS every few thousand instructions. Once the deadline has passed it returns
/// "interrupt" on every call until the host disarms the deadline, so a script that catches the (already
/// uncatchable) interruption and loops again is interrupted again at once.
#[derive(Debug)]
pub(crate) struct Deadline {
    origin: Instant,
    /// Nanoseconds after `origin` at which the current operation must stop; 0 when none is running.
    at: AtomicU64,
    /// Whether the deadline passed during the current operation.
    fired: AtomicBool,
}

impl Deadline {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            at: AtomicU64::new(0),
            fired: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Starts an operation that must end within `limit`; the returned guard disarms the deadline when dropped.
    pub(crate) fn arm(&self, limit: Duration) -> Armed<'_> {
        let limit = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
        self.fired.store(false, Ordering::Relaxed);
        self.at
            .store(self.now().saturating_add(limit).max(1), Ordering::Relaxed);
        Armed(self)
    }

    /// Whether the current operation must stop; records that it did. Called by the interrupt handler and by the
    /// host's own loops (the job queue, value conversion).
    pub(crate) fn expired(&self) -> bool {
        let at = self.at.load(Ordering::Relaxed);
        if at != 0 && self.now() >= at {
            self.fired.store(true, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Whether the deadline passed during the current (or last) operation.
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed)
    }
}

/// Disarms the deadline when dropped.
#[must_use]
pub(crate) struct Armed<'a>(&'a Deadline);

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.0.at.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_and_keeps_expiring_until_disarmed() {
        let d = Deadline::new();
        assert!(!d.expired());
        {
            let _armed = d.arm(Duration::ZERO);
            assert!(d.expired());
            assert!(d.expired());
            assert!(d.fired());
        }
        assert!(!d.expired());
        let _armed = d.arm(Duration::from_secs(3600));
        assert!(!d.expired());
        assert!(!d.fired());
    }
}
