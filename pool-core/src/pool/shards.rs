//! The idle instances, sharded: one [`IdleList`] per core, each behind a lock of its own and alone in its
//! cache-line block, so that threads that each hold one instance at a time take and return without meeting.

use crossbeam_utils::CachePadded;

use super::book::Slot;
use crate::sync::{Mutex, MutexGuard, lock, thread_index};

/// One shard's idle instances, in the order they were returned: index 0 is the longest idle, the last the most
/// recently returned (handed out first). The two most recent are kept in the shard itself (`hot`, next to its
/// lock) rather than in the list's buffer, so that acquires and releases that find them touch one cache line.
///
/// Order: `rest`, then `hot[0]`, then `hot[1]`; `hot[1]` is set only when `hot[0]` is.
#[repr(C)]
pub(crate) struct IdleList<V> {
    hot: [Option<Slot<V>>; 2],
    rest: Vec<Slot<V>>,
}

impl<V> Default for IdleList<V> {
    fn default() -> Self {
        Self {
            hot: [None, None],
            rest: Vec::new(),
        }
    }
}

impl<V> IdleList<V> {
    fn hot_len(&self) -> usize {
        usize::from(self.hot[0].is_some()) + usize::from(self.hot[1].is_some())
    }

    pub(crate) fn len(&self) -> usize {
        self.rest.len() + self.hot_len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hot[0].is_none() && self.rest.is_empty()
    }

    /// Adds the most recently returned instance.
    #[inline(always)]
    pub(crate) fn push(&mut self, slot: Slot<V>) {
        if self.hot[0].is_none() {
            self.hot[0] = Some(slot);
        } else if self.hot[1].is_none() {
            self.hot[1] = Some(slot);
        } else {
            self.spill(slot);
        }
    }

    /// `push` with both hot places taken: the older of them moves to `rest`.
    #[cold]
    fn spill(&mut self, slot: Slot<V>) {
        let [older, newer] = std::mem::take(&mut self.hot);
        self.rest.extend(older);
        self.hot = [newer, Some(slot)];
    }

    /// Takes the most recently returned instance.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Slot<V>> {
        if let Some(slot) = self.hot[1].take() {
            return Some(slot);
        }
        match self.hot[0].take() {
            Some(slot) => Some(slot),
            None => self.rest.pop(),
        }
    }

    /// The instance at `index` (0: the longest idle).
    pub(crate) fn get(&self, index: usize) -> Option<&Slot<V>> {
        match self.rest.get(index) {
            Some(slot) => Some(slot),
            None => self.hot.get(index - self.rest.len())?.as_ref(),
        }
    }

    /// Removes the instance at `index` (0: the longest idle).
    pub(crate) fn remove(&mut self, index: usize) -> Option<Slot<V>> {
        if index < self.rest.len() {
            return Some(self.rest.remove(index));
        }
        match index - self.rest.len() {
            0 => {
                let slot = self.hot[0].take();
                // Keep `hot[1]` set only when `hot[0]` is.
                self.hot[0] = self.hot[1].take();
                slot
            }
            1 => self.hot[1].take(),
            _ => None,
        }
    }

    /// Takes every idle instance, longest idle first.
    pub(crate) fn take_all(&mut self) -> Vec<Slot<V>> {
        let mut all = std::mem::take(&mut self.rest);
        let [older, newer] = std::mem::take(&mut self.hot);
        all.extend(older);
        all.extend(newer);
        all
    }
}

/// One idle list with its use counter and `attention` flag.
///
/// `repr(C)`: the use counter, the flag and the two hot places come right after the lock in the shard's block.
#[repr(C)]
pub(crate) struct Shard<V> {
    /// Uses of the instances handed out from this shard.
    pub(crate) total_uses: u64,
    /// Set in every shard (with the main lock held) while acquires and releases must go through the main lock:
    /// callers are waiting, the pool is closed, or it holds more than `max_size` after a shrink. A release then
    /// hands its instance to the main lock's side instead of this shard, so a waiter that set the flag and then
    /// looked at every shard cannot miss an instance, and none becomes idle in a closed or oversized pool.
    pub(crate) attention: bool,
    pub(crate) idle: IdleList<V>,
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Self {
            total_uses: 0,
            attention: false,
            idle: IdleList::default(),
        }
    }
}

impl<V> Shard<V> {
    /// Hands out the most recently returned instance of this shard, counting the use.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Slot<V>> {
        let mut slot = self.idle.pop()?;
        self.total_uses += 1;
        slot.tag.uses += 1;
        Some(slot)
    }
}

/// The shards (a power of two of them). A thread returns instances to its own shard ([`Shards::home`]) and takes
/// from it first. Lock order: the pool's main lock, then shards in index order.
pub(crate) struct Shards<V> {
    list: Box<[CachePadded<Mutex<Shard<V>>>]>,
    /// `list.len() - 1`: a thread's shard is its [`thread_index`] masked with this.
    mask: usize,
}

impl<V> Shards<V> {
    /// The shards for a pool of `max_size`: one per available core, no more than `max_size` (instances spread
    /// over more shards than there are of them would mostly be looked for elsewhere) nor 16, and a power of two.
    /// Under loom two, so that the models cover taking from another thread's shard.
    pub(crate) fn new(max_size: usize) -> Self {
        let count = if cfg!(loom) {
            2
        } else {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            cores.min(max_size).clamp(1, 16).next_power_of_two()
        };
        Self {
            list: (0..count)
                .map(|_| CachePadded::new(Mutex::new(Shard::default())))
                .collect(),
            mask: count - 1,
        }
    }

    /// The calling thread's shard, locked.
    #[inline(always)]
    pub(crate) fn home(&self) -> MutexGuard<'_, Shard<V>> {
        lock(&self.list[thread_index() & self.mask])
    }

    /// Takes an idle instance from any shard, the calling thread's first (each shard locked in turn), counting
    /// the use.
    pub(crate) fn pop_any(&self) -> Option<Slot<V>> {
        let home = thread_index();
        (0..self.list.len()).find_map(|k| lock(&self.list[(home + k) & self.mask]).pop())
    }

    /// Whether any shard holds an idle instance.
    pub(crate) fn has_idle(&self) -> bool {
        self.list.iter().any(|shard| !lock(shard).idle.is_empty())
    }

    /// Every shard, locked in order.
    pub(crate) fn lock_all(&self) -> Vec<MutexGuard<'_, Shard<V>>> {
        self.list.iter().map(|shard| lock(shard)).collect()
    }

    /// Sets every shard's `attention` flag.
    pub(crate) fn set_attention(&self, attention: bool) {
        for shard in self.list.iter() {
            lock(shard).attention = attention;
        }
    }

    /// Removes the longest idle instance of the first shard that has one.
    pub(crate) fn remove_oldest(&self) -> Option<Slot<V>> {
        self.list
            .iter()
            .find_map(|shard| lock(shard).idle.remove(0))
    }

    /// Takes every idle instance.
    pub(crate) fn take_all(&self) -> Vec<Slot<V>> {
        let mut all = Vec::new();
        for shard in self.list.iter() {
            all.extend(lock(shard).idle.take_all());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::super::book::Tag;
    use super::*;

    fn slot(n: u64) -> Slot<u64> {
        Slot {
            vm: n,
            tag: Tag::new(n, 0),
        }
    }

    fn order(list: &IdleList<u64>) -> Vec<u64> {
        (0..list.len()).map(|i| list.get(i).unwrap().vm).collect()
    }

    #[test]
    fn idle_list_keeps_return_order_and_hands_out_the_most_recent() {
        let mut list = IdleList::default();
        assert!(list.is_empty() && list.pop().is_none());
        for n in 1..=4 {
            list.push(slot(n));
        }
        assert_eq!(order(&list), [1, 2, 3, 4]);
        assert_eq!(list.pop().map(|s| s.vm), Some(4));
        assert_eq!(
            list.pop().map(|s| s.vm),
            Some(3),
            "then the next most recent"
        );
        assert_eq!(list.pop().map(|s| s.vm), Some(2));
        list.push(slot(5));
        list.push(slot(6));
        list.push(slot(7));
        assert_eq!(order(&list), [1, 5, 6, 7]);
        assert_eq!(list.remove(0).map(|s| s.vm), Some(1), "the longest idle");
        assert_eq!(list.remove(1).map(|s| s.vm), Some(6));
        assert_eq!(order(&list), [5, 7]);
        assert_eq!(list.remove(0).map(|s| s.vm), Some(5));
        assert!(list.remove(1).is_none());
        assert_eq!(order(&list), [7]);
        list.push(slot(8));
        let all: Vec<u64> = list.take_all().into_iter().map(|s| s.vm).collect();
        assert_eq!(all, [7, 8]);
        assert!(list.is_empty());
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn a_shard_counts_the_uses_it_hands_out() {
        let mut shard = Shard::default();
        shard.idle.push(slot(2));
        let out = shard.pop().unwrap();
        assert_eq!((out.tag.uses, shard.total_uses), (3, 1));
        assert!(shard.pop().is_none());
        assert_eq!(shard.total_uses, 1, "nothing handed out, nothing counted");
    }

    #[test]
    fn shards_are_a_power_of_two_in_blocks_of_their_own() {
        for max_size in [1, 2, 3, 7, 64] {
            let shards = Shards::<u64>::new(max_size);
            let n = shards.list.len();
            assert!(
                n.is_power_of_two() && n <= 16 && shards.mask == n - 1,
                "{n}"
            );
            assert!(n <= max_size.next_power_of_two());
        }
        assert!(std::mem::align_of::<CachePadded<Mutex<Shard<u64>>>>() >= 64);
    }

    #[test]
    fn any_thread_finds_an_instance_in_any_shard() {
        let shards = Shards::<u64>::new(4);
        shards.home().idle.push(slot(1));
        assert!(shards.has_idle());
        let found =
            std::thread::scope(|s| s.spawn(|| shards.pop_any().map(|s| s.vm)).join().unwrap());
        assert_eq!(found, Some(1));
        assert!(!shards.has_idle() && shards.pop_any().is_none());
        shards.home().idle.push(slot(2));
        shards.home().idle.push(slot(3));
        assert_eq!(shards.remove_oldest().map(|s| s.vm), Some(2));
        shards.set_attention(true);
        assert!(shards.lock_all().iter().all(|shard| shard.attention));
        assert_eq!(shards.take_all().len(), 1);
    }
}
