//! What the pool records about each instance: the [`Tag`] that travels with it, the [`Book`] kept under the main
//! lock, and the [`Stamp`]s of the pool's clock in them.

use std::num::NonZeroU64;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::metrics::DestroyReason;

/// An instant of the pool's clock as nanoseconds since the pool was built, or none: half the size of an
/// `Option<Instant>`, because this bookkeeping travels with every acquire and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    pub(crate) const NONE: Stamp = Stamp(u64::MAX);

    /// `t` as nanoseconds since `base` (instants before `base` count as `base`).
    pub(crate) fn since(base: Instant, t: Instant) -> Self {
        let nanos = t.saturating_duration_since(base).as_nanos();
        Stamp(
            u64::try_from(nanos)
                .unwrap_or(u64::MAX - 1)
                .min(u64::MAX - 1),
        )
    }

    pub(crate) fn is_none(self) -> bool {
        self == Self::NONE
    }

    /// Whether this deadline is set and `now` has reached it.
    pub(crate) fn reached_by(self, now: Stamp) -> bool {
        !self.is_none() && now.0 >= self.0
    }

    /// Time from this stamp to `now` (zero if `now` is earlier).
    pub(crate) fn elapsed_at(self, now: Stamp) -> Duration {
        Duration::from_nanos(now.0.saturating_sub(self.0))
    }
}

/// What travels with an instance between the idle list and its guard: how often it was handed out, where its
/// [`Book`] is, and (while out) whether it must be destroyed on return. Everything else about the instance stays
/// in the pool's state, so acquire and release move little.
///
/// Two 8-byte words, the second non-zero: `Option<Slot>` keeps its discriminant there, so a guard is the slot and
/// a pool reference with no flag byte, and copying one moves whole words (a byte written and then read as part
/// of a word stalls the CPU's store forwarding, which cost a third of an acquire + release when the taint was a
/// separate byte).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag {
    /// Times handed out, this time included.
    pub(crate) uses: u64,
    /// Low 32 bits: the index of the instance's [`Book`] plus one. High 32 bits: 0, or the index of the
    /// [`DestroyReason`] it is tainted with plus one.
    bits: NonZeroU64,
}

impl Tag {
    pub(crate) fn new(uses: u64, book: u32) -> Self {
        Self {
            uses,
            bits: NonZeroU64::MIN.saturating_add(u64::from(book)),
        }
    }

    /// Index of the instance's [`Book`].
    pub(crate) fn book(self) -> usize {
        (self.bits.get() & u64::from(u32::MAX)) as usize - 1
    }

    /// Why the instance must be destroyed on return, if it must (always `None` in the idle list).
    pub(crate) fn taint(self) -> Option<DestroyReason> {
        let code = (self.bits.get() >> 32) as usize;
        code.checked_sub(1).map(|i| DestroyReason::ALL[i])
    }

    pub(crate) fn set_taint(&mut self, reason: DestroyReason) {
        let book = self.bits.get() & u64::from(u32::MAX);
        self.bits = NonZeroU64::MIN.saturating_add(book - 1 + ((reason.index() as u64 + 1) << 32));
    }
}

/// An instance with its tag: idle in the pool, or on its way to or from a guard.
///
/// `repr(C)`, tag first (and [`Instance`](super::inner::Instance) engine first): with the fields in this order the
/// copies of a slot on the way to and from a guard are whole words that a later load reads as written; in the
/// order rustc chose, a 16-byte load spanned an 8-byte and a 16-byte store and stalled store forwarding, which
/// cost 30-50% of a no-op acquire + release (`benches/pool_overhead.rs`).
pub(crate) struct Slot<V> {
    pub(crate) tag: Tag,
    pub(crate) vm: V,
}

/// The bookkeeping of one live instance that acquire and release do not touch (unless leak detection or
/// `max_lifetime` is on).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Book {
    pub(crate) id: u64,
    /// The pool generation whose engine made the instance.
    pub(crate) generation: u64,
    /// The guard's leak-detection record, when leak detection is on and the instance is out.
    pub(crate) lease: Option<Lease>,
    /// Idle since at least this instant, if `idle_uses` still equals the instance's use count: a maintenance pass
    /// that sees an instance idle with a use count other than `idle_uses` stamps it, so that neither acquire nor
    /// release reads the clock or writes here.
    pub(crate) idle_since: Stamp,
    pub(crate) idle_uses: u64,
    /// When `max_lifetime` (with jitter) retires it.
    pub(crate) expires_at: Stamp,
}

impl Book {
    /// The book of a new instance of `generation`, with instance id `id`.
    pub(crate) fn new(id: u64, generation: u64, expires_at: Stamp) -> Self {
        Self {
            id,
            generation,
            lease: None,
            idle_since: Stamp::NONE,
            idle_uses: 0,
            expires_at,
        }
    }

    /// Stamps the instance idle from `now` unless it has stayed idle (with use count `uses`) since an earlier
    /// stamp.
    pub(crate) fn note_idle(&mut self, uses: u64, now: Stamp) {
        if self.idle_since.is_none() || self.idle_uses != uses {
            self.idle_since = now;
            self.idle_uses = uses;
        }
    }
}

/// A guard out in the world, tracked only when leak detection is on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    pub(crate) acquired_at: Instant,
    pub(crate) location: &'static Location<'static>,
    pub(crate) reported: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_slot_keeps_its_discriminant_in_the_tag() {
        use std::mem::size_of;
        assert_eq!(size_of::<Tag>(), 16);
        assert_eq!(size_of::<Option<Slot<()>>>(), size_of::<Slot<()>>());
        assert_eq!(size_of::<Option<Slot<u64>>>(), size_of::<Slot<u64>>());
    }

    #[test]
    fn a_tag_keeps_its_book_and_taint_apart() {
        for book in [0, 1, 7, u32::MAX - 1] {
            let mut tag = Tag::new(3, book);
            assert_eq!(
                (tag.uses, tag.book(), tag.taint()),
                (3, book as usize, None)
            );
            for reason in DestroyReason::ALL {
                tag.set_taint(reason);
                assert_eq!((tag.book(), tag.taint()), (book as usize, Some(reason)));
            }
        }
    }

    #[test]
    fn stamps_measure_from_the_base_and_none_is_never_reached() {
        let base = Instant::now();
        let at = |ms| Stamp::since(base, base + Duration::from_millis(ms));
        assert_eq!(
            Stamp::since(base + Duration::from_secs(1), base),
            at(0),
            "earlier instants count as the base"
        );
        assert!(at(5).reached_by(at(5)) && at(5).reached_by(at(6)) && !at(5).reached_by(at(4)));
        assert!(!Stamp::NONE.reached_by(at(u64::MAX / 2_000_000)));
        assert!(
            !Stamp::since(base, base + Duration::from_secs(1000 * 365 * 86_400)).is_none(),
            "an instant beyond 2^64 ns is clamped, not NONE"
        );
        assert_eq!(at(2).elapsed_at(at(7)), Duration::from_millis(5));
        assert_eq!(
            at(7).elapsed_at(at(2)),
            Duration::ZERO,
            "a clock that went back"
        );
    }

    #[test]
    fn a_book_is_stamped_idle_once_per_stay() {
        let base = Instant::now();
        let at = |s| Stamp::since(base, base + Duration::from_secs(s));
        let mut book = Book::new(1, 1, Stamp::NONE);
        book.note_idle(2, at(10));
        book.note_idle(2, at(20));
        assert_eq!(book.idle_since, at(10), "still the same stay");
        book.note_idle(3, at(30));
        assert_eq!(book.idle_since, at(30), "used in between: a new stay");
    }
}
