//! Injectable time, so that idle and lifetime eviction can be tested without sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A source of the current time for eviction decisions (idle timeout, max lifetime, leak detection).
///
/// Waiting in `acquire` always uses real time; only the pool's bookkeeping reads this clock.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock. The default.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for tests. It can also jump backwards (down to its start).
///
/// ```
/// use pool_core::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now() - t0, Duration::from_secs(60));
/// clock.rewind(Duration::from_secs(30));
/// assert_eq!(clock.now() - t0, Duration::from_secs(30));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    /// Offset from `base`. It starts a day in, so that the clock can jump back.
    offset: Mutex<Duration>,
}

const HEADROOM: Duration = Duration::from_secs(24 * 60 * 60);

impl ManualClock {
    /// A clock frozen at an arbitrary instant.
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            offset: Mutex::new(HEADROOM),
        }
    }

    fn offset(&self) -> std::sync::MutexGuard<'_, Duration> {
        self.offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset();
        *offset = offset.saturating_add(by);
    }

    /// Moves the clock backward by `by`, at most to a day before it started.
    pub fn rewind(&self, by: Duration) {
        let mut offset = self.offset();
        *offset = offset.saturating_sub(by);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset()
    }
}
