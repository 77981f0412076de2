//! [`State`], everything the pool's main lock protects: capacity and the [`Reservation`]s that claim it, the
//! books of the live instances, the waiter queue and the lifecycle counters. Plain data: no locks, no engine.

use std::collections::VecDeque;
use std::task::Waker;

use super::book::{Book, Lease, Stamp, Tag};
use crate::metrics::{DestroyReason, Destroyed, GenerationCount, Metrics};

/// Capacity reserved for one instance being created. Counted as "creating" from [`State::reserve`] until it is
/// consumed, exactly once: by [`State::admit`] (the new instance takes its place), [`State::refuse`] (made, but
/// the pool no longer wants it), [`State::fail`] (the creation failed or panicked) or [`State::cancel`] (never
/// used). Not `Clone`, and made only here, so `creating` counts exactly the reservations alive; outside the lock,
/// a reservation travels inside a [`Creation`](super::inner::Creation), which cancels it if it is dropped
/// unconsumed (a panic on the way).
#[must_use = "a reservation holds capacity until it is admitted, refused, failed or cancelled"]
#[derive(Debug)]
pub(super) struct Reservation {
    _priv: (),
}

/// Everything the pool's main lock protects. The idle instances are in the shards; a snapshot that locks this
/// state and then every shard is consistent.
pub(crate) struct State {
    /// Instances alive: in use or idle (one per open book). Acquire and release leave it alone; the number in
    /// use is `live` minus the idle instances of all shards.
    live: usize,
    /// Outstanding [`Reservation`]s.
    creating: usize,
    max_size: usize,
    closed: bool,
    /// The value of every shard's `attention` flag.
    attention: bool,
    /// Callers waiting for an instance, first come first served.
    waiters: VecDeque<(u64, Waker)>,
    next_waiter: u64,
    next_id: u64,
    /// Bookkeeping of the live instances, by [`Tag::book`]; `free_books` lists the unused entries.
    books: Vec<Book>,
    free_books: Vec<u32>,
    created: u64,
    destroyed: Destroyed,
    /// Uses by callers that got a new instance (uses of idle instances are counted by their shard).
    total_uses: u64,
    create_errors: u64,
    leaks_suspected: u64,
    /// The current generation: 1, plus one per reload. Instances of older generations are never idle: they are
    /// destroyed when they come back.
    generation: u64,
    /// Live instances per generation, oldest first, without empty entries.
    alive: Vec<GenerationCount>,
}

impl State {
    pub(crate) fn new(max_size: usize) -> Self {
        Self {
            live: 0,
            creating: 0,
            max_size,
            closed: false,
            attention: false,
            waiters: VecDeque::new(),
            next_waiter: 0,
            next_id: 0,
            books: Vec::new(),
            free_books: Vec::new(),
            created: 0,
            destroyed: Destroyed::default(),
            total_uses: 0,
            create_errors: 0,
            leaks_suspected: 0,
            generation: 1,
            alive: Vec::new(),
        }
    }

    /// Instances alive or on their way: in use, idle and being created.
    pub(crate) fn total(&self) -> usize {
        self.live + self.creating
    }

    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether an instance still counted in [`total`](State::total) (returning, or new with its reservation)
    /// fits: the pool is open and holds no more than `max_size`.
    pub(crate) fn fits(&self) -> bool {
        !self.closed && self.total() <= self.max_size
    }

    /// The current generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Starts a new generation (a reload): instances of the older ones still alive are stale from now on.
    /// Returns the new generation.
    pub(crate) fn reload(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Live instances of generations older than the current one (all of them in use, or on their way back).
    pub(crate) fn stale(&self) -> usize {
        let current = self
            .alive
            .last()
            .filter(|g| g.generation == self.generation)
            .map_or(0, |g| g.live);
        self.live - current
    }

    /// Whether `tag`'s instance is of the current generation.
    pub(crate) fn is_current(&self, tag: Tag) -> bool {
        self.books[tag.book()].generation == self.generation
    }

    fn count_alive(&mut self, generation: u64, up: bool) {
        let at = self.alive.partition_point(|g| g.generation < generation);
        match self.alive.get_mut(at) {
            Some(g) if g.generation == generation => {
                if up {
                    g.live += 1;
                } else {
                    g.live -= 1;
                    if g.live == 0 {
                        self.alive.remove(at);
                    }
                }
            }
            _ if up => self.alive.insert(
                at,
                GenerationCount {
                    generation,
                    live: 1,
                },
            ),
            _ => debug_assert!(false, "an instance of a generation with none alive"),
        }
    }

    /// Closes the pool; returns the waiters, all of which must be woken (they will find it closed).
    pub(crate) fn close(&mut self) -> VecDeque<(u64, Waker)> {
        self.closed = true;
        std::mem::take(&mut self.waiters)
    }

    // --- Capacity ---------------------------------------------------------------------------------------------

    /// Reserves capacity for one new instance, if the pool has room.
    pub(crate) fn reserve(&mut self) -> Option<Reservation> {
        (self.total() < self.max_size).then(|| self.reserve_unchecked())
    }

    /// Reserves capacity for as many new instances as bring the instances of the current generation (with
    /// those being created) up to `target`, within `max_size` (stale instances still count toward it).
    pub(crate) fn reserve_up_to(&mut self, target: usize) -> Vec<Reservation> {
        let room = self.max_size.saturating_sub(self.total());
        let need = target
            .min(self.max_size)
            .saturating_sub(self.total() - self.stale())
            .min(room);
        (0..need).map(|_| self.reserve_unchecked()).collect()
    }

    fn reserve_unchecked(&mut self) -> Reservation {
        self.creating += 1;
        Reservation { _priv: () }
    }

    /// The new instance of `reservation`, made by the engine of `generation`, is live from now on, handed out
    /// `uses` times already (1 when it goes straight to a caller, 0 when it goes idle); returns its tag.
    pub(crate) fn admit(
        &mut self,
        reservation: Reservation,
        generation: u64,
        uses: u64,
        expires_at: Stamp,
    ) -> Tag {
        let Reservation { _priv: () } = reservation;
        self.creating -= 1;
        self.created += 1;
        self.total_uses += uses;
        self.live += 1;
        self.count_alive(generation, true);
        self.next_id += 1;
        let book = Book::new(self.next_id, generation, expires_at);
        let index = match self.free_books.pop() {
            Some(i) => {
                self.books[i as usize] = book;
                i
            }
            None => {
                self.books.push(book);
                // At most max_size books are open at once, and max_size is a usize the pool really allocates.
                u32::try_from(self.books.len() - 1)
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .expect("fewer than 2^32 - 1 live instances")
            }
        };
        Tag::new(uses, index)
    }

    /// The new instance of `reservation` was made but is not wanted (the pool was closed, shrunk or reloaded
    /// meanwhile): it counts as created and destroyed for `reason`.
    pub(crate) fn refuse(&mut self, reservation: Reservation, reason: DestroyReason) {
        let Reservation { _priv: () } = reservation;
        self.creating -= 1;
        self.created += 1;
        self.destroyed.add(reason, 1);
    }

    /// An instance made outside any reservation (a reload's test instance) is not kept: it counts as created
    /// and destroyed for `reason`.
    pub(crate) fn discard_unadmitted(&mut self, reason: DestroyReason) {
        self.created += 1;
        self.destroyed.add(reason, 1);
    }

    /// The creation of `reservation` failed or panicked.
    pub(crate) fn fail(&mut self, reservation: Reservation) {
        self.cancel(reservation);
        self.create_errors += 1;
    }

    /// `reservation` is given back unused.
    pub(crate) fn cancel(&mut self, reservation: Reservation) {
        let Reservation { _priv: () } = reservation;
        self.creating -= 1;
    }

    // --- Books ------------------------------------------------------------------------------------------------

    /// The book of `tag`'s instance.
    pub(crate) fn book(&mut self, tag: Tag) -> &mut Book {
        &mut self.books[tag.book()]
    }

    /// The instance of `tag` is destroyed for `reason`: its book is closed and it no longer counts as live.
    pub(crate) fn destroy(&mut self, tag: Tag, reason: DestroyReason) {
        self.destroyed.add(reason, 1);
        self.live -= 1;
        self.count_alive(self.books[tag.book()].generation, false);
        self.books[tag.book()].lease = None;
        self.free_books
            .push(u32::try_from(tag.book()).expect("book indexes fit in u32"));
    }

    /// The leases of the guards out, when leak detection is on.
    pub(crate) fn leases(&mut self) -> impl Iterator<Item = &mut Lease> {
        self.books.iter_mut().filter_map(|book| book.lease.as_mut())
    }

    pub(crate) fn count_leaks(&mut self, n: u64) {
        self.leaks_suspected += n;
    }

    // --- Waiters ----------------------------------------------------------------------------------------------

    /// Callers waiting now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// Registers (or refreshes) a waiter; returns its id and whether it was added to the queue (rather than still
    /// queued).
    pub(crate) fn register(&mut self, id: Option<u64>, waker: &Waker) -> (u64, bool) {
        if let Some(id) = id
            && let Some(entry) = self.waiters.iter_mut().find(|(w, _)| *w == id)
        {
            if !entry.1.will_wake(waker) {
                entry.1 = waker.clone();
            }
            return (id, false);
        }
        self.next_waiter += 1;
        let id = self.next_waiter;
        self.waiters.push_back((id, waker.clone()));
        (id, true)
    }

    /// Removes a waiter that leaves; returns whether it was still queued (not yet woken).
    pub(crate) fn unregister(&mut self, id: u64) -> bool {
        match self.waiters.iter().position(|(w, _)| *w == id) {
            Some(i) => {
                self.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    /// Dequeues the first waiter, to be woken, when an open pool has something for it: room to create, or an idle
    /// instance (`has_idle`, asked only then).
    pub(crate) fn next_waiter(&mut self, has_idle: impl FnOnce() -> bool) -> Option<Waker> {
        if !self.waiters.is_empty() && !self.closed && (self.total() < self.max_size || has_idle())
        {
            self.waiters.pop_front().map(|(_, w)| w)
        } else {
            None
        }
    }

    /// Whether acquires and releases must go through the main lock (callers are waiting, the pool is closed, it
    /// holds more than `max_size`, or instances of an older generation are out) changed: the new value, to be set
    /// in every shard.
    pub(crate) fn attention_change(&mut self) -> Option<bool> {
        let needed = self.closed
            || !self.waiters.is_empty()
            || self.total() > self.max_size
            || self.stale() > 0;
        (self.attention != needed).then(|| {
            self.attention = needed;
            needed
        })
    }

    // --- Snapshot ---------------------------------------------------------------------------------------------

    /// The counters kept here, with `available` idle instances that were handed out `idle_uses` times; the
    /// counters kept outside the lock (script errors, waits) are zero, for the caller to fill in.
    pub(crate) fn metrics(&self, available: usize, idle_uses: u64) -> Metrics {
        debug_assert_eq!(
            self.books.len() - self.free_books.len(),
            self.live,
            "one open book per live instance"
        );
        Metrics {
            created: self.created,
            destroyed: self.destroyed,
            in_use: self.live - available,
            available,
            creating: self.creating,
            max_size: self.max_size,
            total_uses: self.total_uses + idle_uses,
            create_errors: self.create_errors,
            script_errors: 0,
            waits: 0,
            wait_timeouts: 0,
            wait_time: std::time::Duration::ZERO,
            waiting: self.waiters.len(),
            leaks_suspected: self.leaks_suspected,
            closed: self.closed,
            generation: self.generation,
            generations: self.alive.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    /// Reserves capacity and admits a new instance into it.
    fn new_instance(st: &mut State, uses: u64) -> Tag {
        let reservation = st.reserve().expect("room for a new instance");
        st.admit(reservation, 1, uses, Stamp::NONE)
    }

    fn snapshot(st: &State) -> Metrics {
        st.metrics(0, 0)
    }

    #[test]
    fn reservations_hold_capacity_until_consumed() {
        let mut st = State::new(3);
        let a = st.reserve().unwrap();
        let b = st.reserve().unwrap();
        let c = st.reserve().unwrap();
        assert!(st.reserve().is_none(), "full while three are being created");
        assert_eq!((st.total(), snapshot(&st).creating), (3, 3));
        let tag = st.admit(a, 1, 1, Stamp::NONE);
        st.refuse(b, DestroyReason::Resized);
        st.fail(c);
        let m = snapshot(&st);
        assert_eq!(
            (m.creating, m.created, m.create_errors, m.total_uses),
            (0, 2, 1, 1)
        );
        assert_eq!((m.in_use, m.destroyed.get(DestroyReason::Resized)), (1, 1));
        assert!(m.is_consistent(), "{m:?}");
        st.destroy(tag, DestroyReason::Discarded);
        let m = snapshot(&st);
        assert_eq!((st.total(), m.live(), m.destroyed.total()), (0, 0, 2));
        assert!(m.is_consistent(), "{m:?}");
    }

    #[test]
    fn reserving_up_to_a_target_stops_at_the_target_and_at_max_size() {
        let mut st = State::new(4);
        let first = st.reserve().unwrap();
        let more = st.reserve_up_to(3);
        assert_eq!((more.len(), st.total()), (2, 3));
        assert!(st.reserve_up_to(2).is_empty(), "already above the target");
        let rest = st.reserve_up_to(10);
        assert_eq!((rest.len(), st.total()), (1, 4), "never above max_size");
        for r in more.into_iter().chain(rest).chain([first]) {
            st.cancel(r);
        }
        let m = snapshot(&st);
        assert_eq!((st.total(), m.created, m.create_errors), (0, 0, 0));
    }

    #[test]
    fn books_are_reused_and_ids_are_not() {
        let mut st = State::new(2);
        let a = new_instance(&mut st, 0);
        let b = new_instance(&mut st, 0);
        assert_ne!(a.book(), b.book());
        let (id_a, id_b) = (st.book(a).id, st.book(b).id);
        assert_ne!(id_a, id_b);
        st.destroy(a, DestroyReason::Idle);
        let c = new_instance(&mut st, 0);
        assert_eq!(c.book(), a.book(), "the free book is reused");
        assert!(st.book(c).id > id_b, "with a new id");
        assert!(st.book(c).lease.is_none());
    }

    #[test]
    fn a_new_instance_fits_unless_the_pool_is_closed_or_over_its_size() {
        let mut st = State::new(1);
        let r = st.reserve().unwrap();
        assert!(st.fits(), "counted once, by its reservation");
        st.set_max_size(0);
        assert!(!st.fits());
        st.set_max_size(1);
        let _ = st.close();
        assert!(!st.fits());
        st.refuse(r, DestroyReason::Closed);
    }

    #[test]
    fn waiters_are_served_first_come_first_served_and_only_when_there_is_something() {
        let mut st = State::new(1);
        let tag = new_instance(&mut st, 1);
        let (count_1, waker_1) = counting();
        let (_, waker_2) = counting();
        let (first, added) = st.register(None, &waker_1);
        assert!(added);
        let (second, _) = st.register(None, &waker_2);
        assert_eq!(
            st.register(Some(first), &waker_1),
            (first, false),
            "refreshed, not queued twice"
        );
        assert_eq!(st.waiting(), 2);
        assert!(
            st.next_waiter(|| false).is_none(),
            "full and nothing idle: no one to wake"
        );
        let woken = st
            .next_waiter(|| true)
            .expect("an idle instance for the first waiter");
        assert!(woken.will_wake(&waker_1));
        woken.wake();
        assert_eq!(count_1.0.load(Ordering::SeqCst), 1);
        assert!(!st.unregister(first), "the first was dequeued when woken");
        assert!(
            st.unregister(second),
            "the second leaves while still queued"
        );
        assert_eq!(st.waiting(), 0);
        st.destroy(tag, DestroyReason::Discarded);
        let (_, _) = st.register(None, &waker_1);
        assert!(st.next_waiter(|| false).is_some(), "room to create");
    }

    #[test]
    fn generations_count_their_live_instances_and_the_older_ones_are_stale() {
        let mut st = State::new(3);
        let a = new_instance(&mut st, 1);
        let b = new_instance(&mut st, 1);
        assert_eq!((st.generation(), st.stale()), (1, 0));
        assert_eq!(st.reload(), 2);
        assert_eq!(st.stale(), 2);
        assert!(!st.is_current(a));
        assert_eq!(st.attention_change(), Some(true), "stale instances are out");
        let r = st.reserve().unwrap();
        let c = st.admit(r, 2, 1, Stamp::NONE);
        assert!(st.is_current(c));
        let live: Vec<(u64, usize)> = snapshot(&st)
            .generations
            .iter()
            .map(|g| (g.generation, g.live))
            .collect();
        assert_eq!(live, [(1, 2), (2, 1)]);
        assert!(
            st.reserve_up_to(3).is_empty(),
            "stale instances still count toward max_size"
        );
        st.destroy(a, DestroyReason::Reloaded);
        st.destroy(b, DestroyReason::Reloaded);
        assert_eq!(st.stale(), 0);
        assert_eq!(st.attention_change(), Some(false));
        assert_eq!(snapshot(&st).generations.len(), 1, "no empty entries");
        assert_eq!(
            st.reserve_up_to(2).len(),
            1,
            "the floor counts the current generation"
        );
        st.discard_unadmitted(DestroyReason::Reloaded);
        let m = snapshot(&st);
        assert_eq!(
            (m.created, m.destroyed.get(DestroyReason::Reloaded)),
            (4, 3)
        );
    }

    #[test]
    fn a_refreshed_waiter_gets_the_new_waker() {
        let mut st = State::new(1);
        let _tag = new_instance(&mut st, 1);
        let (_, old) = counting();
        let (_, new) = counting();
        let (id, _) = st.register(None, &old);
        let _ = st.register(Some(id), &new);
        assert!(st.next_waiter(|| true).unwrap().will_wake(&new));
    }

    #[test]
    fn closing_hands_back_every_waiter_and_wakes_no_one_after() {
        let mut st = State::new(1);
        let (_, waker) = counting();
        let _ = st.register(None, &waker);
        let _ = st.register(None, &waker);
        assert_eq!(st.close().len(), 2);
        let _ = st.register(None, &waker);
        assert!(st.next_waiter(|| true).is_none(), "closed");
        assert!(st.is_closed());
    }

    #[test]
    fn attention_follows_waiters_closing_and_oversize() {
        let mut st = State::new(1);
        assert_eq!(st.attention_change(), None, "starts clear");
        let (_, waker) = counting();
        let (id, _) = st.register(None, &waker);
        assert_eq!(st.attention_change(), Some(true));
        assert_eq!(st.attention_change(), None, "reported once");
        st.unregister(id);
        assert_eq!(st.attention_change(), Some(false));
        let _a = new_instance(&mut st, 1);
        st.set_max_size(0);
        assert_eq!(
            st.attention_change(),
            Some(true),
            "over its size after a shrink"
        );
        st.set_max_size(1);
        assert_eq!(st.attention_change(), Some(false));
        let _ = st.close();
        assert_eq!(st.attention_change(), Some(true));
    }
}
