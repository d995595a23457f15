//! Per-partition offset tracking for consumers: which delivered records are acknowledged, and
//! the offset that is safe to commit.
//!
//! A consumer hands a partition's records to handlers in offset order; the handlers acknowledge
//! them in any order. The offset that is safe to commit is the first delivered offset that is not
//! acknowledged yet or, when every delivered offset is acknowledged, the fetch position (one past
//! the last delivered offset). Offsets that were never delivered — gaps left by compaction,
//! transaction markers, aborted records — never hold the commit back.
//!
//! # Structure
//!
//! The tracker keeps a deque of [`Run`]s in offset order. A run covers a range of offsets with one
//! acknowledgement bit per offset, in a deque of 64-bit words. Gaps of up to [`GAP_ABSORB`]
//! offsets between deliveries are absorbed into the current run as *holes*: their acknowledgement
//! bits are set from the start (so they never block the commit) and a second, lazily allocated
//! bitmap remembers which offsets are holes (so that acknowledging one is reported as "never
//! delivered"). A larger gap starts a new run, so even a very sparse partition costs a bounded
//! amount per delivered offset.
//!
//! Fully acknowledged words are dropped from the front of the first run as soon as they fill, and
//! a run is dropped once all its offsets are acknowledged, so memory follows the span between the
//! commit point and the fetch position: one bit per offset (two in runs with holes), plus about a
//! hundred bytes per run. The commit point is read in O(1) from the first word of the first run;
//! a delivery costs O(1) per 64 offsets; an acknowledgement is O(1) amortised (O(log runs) to find
//! the run when it is not the first or the last).
//!
//! # Boundary
//!
//! JavaScript owns trackers through `u32` handles into a table inside the core (`0` is never a
//! handle). Offsets cross the boundary as `f64`, exact for integers below 2^53, so JavaScript
//! needs no `BigInt`. Every export validates its arguments and answers with a [`status`] code;
//! none of them panics, whatever the input.

use std::cell::UnsafeCell;
use std::collections::VecDeque;

/// Status codes of the `tributary_offsets_*` exports. Non-negative codes are outcomes of an
/// acknowledgement; negative codes reject the call, which then changed nothing.
pub mod status {
    /// The call succeeded; for an acknowledgement, the offset is now acknowledged.
    pub const OK: i32 = 0;
    /// Acknowledgement: the offset was acknowledged before (a duplicate acknowledgement).
    pub const ALREADY_ACKED: i32 = 1;
    /// Acknowledgement: the offset is below the commit point, so it was acknowledged earlier or
    /// never delivered; the tracker no longer keeps its state. Also what an acknowledgement from
    /// before a `reset` to a later offset gets.
    pub const BELOW_FLOOR: i32 = 2;
    /// Acknowledgement: the offset is at or above the commit point but was never delivered: a
    /// gap (compaction, transaction marker) or an offset at or past the fetch position.
    pub const NOT_DELIVERED: i32 = 3;

    /// No live tracker has this handle (never created, or freed).
    pub const BAD_HANDLE: i32 = -1;
    /// An offset that is not a whole number from 0 to 2^53 - 1 (a position may also be 2^53):
    /// NaN, infinite, fractional, negative or too large.
    pub const BAD_OFFSET: i32 = -2;
    /// Offsets out of order: a delivery below the fetch position (an offset delivered already,
    /// or passed), a list that is not strictly ascending, a range whose end is below its start,
    /// or an `advance` backwards (use `reset` to seek back).
    pub const OUT_OF_ORDER: i32 = -3;
    /// The core could not grow its memory, or the in-flight span would exceed
    /// [`MAX_WORDS`](super::MAX_WORDS) words of bitmap; nothing was recorded.
    pub const OUT_OF_MEMORY: i32 = -4;
    /// A list pointer that is null, not 8-byte aligned, or runs past the end of memory.
    pub const BAD_BUFFER: i32 = -5;
}

/// The largest offset that can be delivered: 2^53 - 1, the largest integer an `f64` holds exactly
/// together with all smaller ones.
pub const MAX_OFFSET: u64 = (1 << 53) - 1;
/// The largest fetch position: one past [`MAX_OFFSET`].
pub const MAX_POSITION: u64 = 1 << 53;
/// Gaps of up to this many undelivered offsets are kept inside a run as holes (2 bits each, at
/// most 128 bytes); a larger gap starts a new run (about 130 bytes), so a delivered offset costs
/// at most about 130 bytes however sparse the partition is.
pub const GAP_ABSORB: u64 = 512;
/// Cap on bitmap words per tracker (2^26 words: 2^32 offsets in flight, 512 MiB): a runaway
/// delivery is refused with [`status::OUT_OF_MEMORY`] instead of exhausting memory.
pub const MAX_WORDS: usize = 1 << 26;

const WORD_BITS: u64 = 64;

/// Outcome of [`OffsetTracker::ack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    Acked,
    AlreadyAcked,
    BelowFloor,
    NotDelivered,
}

impl Ack {
    pub fn status(self) -> i32 {
        match self {
            Ack::Acked => status::OK,
            Ack::AlreadyAcked => status::ALREADY_ACKED,
            Ack::BelowFloor => status::BELOW_FLOOR,
            Ack::NotDelivered => status::NOT_DELIVERED,
        }
    }
}

/// Why a delivery or a move of the position was refused; the tracker is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    BadOffset,
    OutOfOrder,
    OutOfMemory,
}

impl Refused {
    pub fn status(self) -> i32 {
        match self {
            Refused::BadOffset => status::BAD_OFFSET,
            Refused::OutOfOrder => status::OUT_OF_ORDER,
            Refused::OutOfMemory => status::OUT_OF_MEMORY,
        }
    }
}

/// A range of offsets `[base, end)` with one acknowledgement bit per offset.
#[derive(Debug)]
struct Run {
    /// Offset of bit 0 of `acked[0]`.
    base: u64,
    /// One past the last offset the run covers; bits from `end` on are zero.
    end: u64,
    /// Bit set: acknowledged, or a hole.
    acked: VecDeque<u64>,
    /// Empty, or as long as `acked`: bit set means the offset was never delivered (a hole).
    holes: VecDeque<u64>,
    /// Delivered offsets of this run not acknowledged yet.
    pending: u64,
}

impl Run {
    fn words_for(&self, end: u64) -> usize {
        (end - self.base).div_ceil(WORD_BITS) as usize
    }

    fn bit(words: &VecDeque<u64>, index: u64) -> bool {
        words.get((index / WORD_BITS) as usize).is_some_and(|word| (word >> (index % WORD_BITS)) & 1 == 1)
    }

    fn heap_bytes(&self) -> usize {
        (self.acked.capacity() + self.holes.capacity()) * size_of::<u64>()
    }
}

/// Sets bits `[from, to)` of a bitmap that is long enough.
fn set_bits(words: &mut VecDeque<u64>, from: u64, to: u64) {
    let mut index = from;
    while index < to {
        let bit = index % WORD_BITS;
        let count = (WORD_BITS - bit).min(to - index);
        let mask = if count == WORD_BITS { u64::MAX } else { ((1u64 << count) - 1) << bit };
        if let Some(word) = words.get_mut((index / WORD_BITS) as usize) {
            *word |= mask;
        }
        index += count;
    }
}

/// Clears every bit from `from` on in the last word of a bitmap (used to undo a delivery).
fn clear_tail(words: &mut VecDeque<u64>, from: u64) {
    if !from.is_multiple_of(WORD_BITS)
        && let Some(word) = words.get_mut((from / WORD_BITS) as usize)
    {
        *word &= (1u64 << (from % WORD_BITS)) - 1;
    }
}

/// Gives memory back once a deque is at most a quarter full (amortised O(1): the copy of `len`
/// words is paid for by the `len` words removed since the last shrink).
fn shrink<T>(deque: &mut VecDeque<T>, floor: usize) {
    if deque.capacity() > floor && deque.len() * 4 < deque.capacity() {
        deque.shrink_to((deque.len() * 2).max(floor / 2));
    }
}

/// What a delivery may have to undo when memory runs out half way through a list.
struct Checkpoint {
    runs: usize,
    position: u64,
    pending: u64,
    words: usize,
    last: Option<(u64, usize, usize, u64)>,
}

/// Acknowledgement bookkeeping for one partition. See the module documentation.
#[derive(Debug)]
pub struct OffsetTracker {
    runs: VecDeque<Run>,
    /// The fetch position: one past the last delivered (or skipped) offset.
    position: u64,
    /// Delivered offsets not acknowledged yet, over all runs.
    pending: u64,
    /// Bitmap words in use over all runs (both bitmaps).
    words: usize,
    max_words: usize,
}

impl OffsetTracker {
    /// A tracker whose next delivery is at `position` or later. `position` is clamped to
    /// [`MAX_POSITION`].
    pub fn new(position: u64) -> Self {
        Self::with_limit(position, MAX_WORDS)
    }

    /// A tracker that holds at most `max_words` bitmap words (tests use small limits).
    pub fn with_limit(position: u64, max_words: usize) -> Self {
        OffsetTracker {
            runs: VecDeque::new(),
            position: position.min(MAX_POSITION),
            pending: 0,
            words: 0,
            max_words,
        }
    }

    /// Forgets everything (reassignment, seek, new generation) and releases the memory.
    pub fn reset(&mut self, position: u64) {
        self.runs = VecDeque::new();
        self.position = position.min(MAX_POSITION);
        self.pending = 0;
        self.words = 0;
    }

    /// The fetch position: one past the last delivered or skipped offset.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Delivered offsets not acknowledged yet.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// The offset that is safe to commit: the first delivered offset not acknowledged yet, or the
    /// fetch position when every delivered offset is acknowledged.
    pub fn committable(&self) -> u64 {
        match self.runs.front() {
            // Invariant: the first run has a pending offset and its first word is not full, so the
            // first zero bit of that word is the first unacknowledged delivered offset.
            Some(run) => run.base + u64::from(run.acked.front().map_or(0, |word| word.trailing_ones())),
            None => self.position,
        }
    }

    /// Number of runs (contiguous stretches, gaps of more than [`GAP_ABSORB`] apart).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Heap bytes held by the tracker (bitmap capacity plus run headers).
    pub fn heap_bytes(&self) -> usize {
        self.runs.capacity() * size_of::<Run>() + self.runs.iter().map(Run::heap_bytes).sum::<usize>()
    }

    /// Moves the fetch position to `position` without delivering the offsets in between (a fetch
    /// that ended in records the consumer does not deliver: control batches, aborted records).
    pub fn advance(&mut self, position: u64) -> Result<(), Refused> {
        if position > MAX_POSITION {
            return Err(Refused::BadOffset);
        }
        if position < self.position {
            return Err(Refused::OutOfOrder);
        }
        self.position = position;
        Ok(())
    }

    /// Records the delivery of every offset from `first` to `last` inclusive.
    pub fn deliver_range(&mut self, first: u64, last: u64) -> Result<(), Refused> {
        if first > MAX_OFFSET || last > MAX_OFFSET {
            return Err(Refused::BadOffset);
        }
        if first < self.position || last < first {
            return Err(Refused::OutOfOrder);
        }
        let checkpoint = self.checkpoint();
        self.append(first, last).inspect_err(|_| self.restore(checkpoint))
    }

    /// Records the delivery of a strictly ascending list of offsets (gaps allowed).
    pub fn deliver_list(&mut self, offsets: &[u64]) -> Result<(), Refused> {
        if offsets.iter().any(|&offset| offset > MAX_OFFSET) {
            return Err(Refused::BadOffset);
        }
        let ascending = offsets.windows(2).all(|pair| pair[0] < pair[1]);
        if !ascending || offsets.first().is_some_and(|&first| first < self.position) {
            return Err(Refused::OutOfOrder);
        }
        let checkpoint = self.checkpoint();
        let mut index = 0;
        while index < offsets.len() {
            // Deliver each contiguous stretch of the list as one range.
            let first = offsets[index];
            let mut last = first;
            index += 1;
            while index < offsets.len() && offsets[index] == last + 1 {
                last += 1;
                index += 1;
            }
            if let Err(refused) = self.append(first, last) {
                self.restore(checkpoint);
                return Err(refused);
            }
        }
        Ok(())
    }

    /// Acknowledges one offset.
    pub fn ack(&mut self, offset: u64) -> Ack {
        if offset < self.committable() {
            return Ack::BelowFloor;
        }
        if offset >= self.position {
            return Ack::NotDelivered;
        }
        // Most acknowledgements land in the first or the last run; otherwise search.
        let last = self.runs.len().wrapping_sub(1);
        let index = if self.runs.front().is_some_and(|run| offset < run.end) {
            0
        } else if self.runs.back().is_some_and(|run| offset >= run.base) {
            last
        } else {
            self.runs.partition_point(|run| run.end <= offset)
        };
        let Some(run) = self.runs.get_mut(index) else { return Ack::NotDelivered };
        if offset < run.base || offset >= run.end {
            return Ack::NotDelivered;
        }
        let bit = offset - run.base;
        if Run::bit(&run.holes, bit) {
            return Ack::NotDelivered;
        }
        let Some(word) = run.acked.get_mut((bit / WORD_BITS) as usize) else { return Ack::NotDelivered };
        let mask = 1u64 << (bit % WORD_BITS);
        if *word & mask != 0 {
            return Ack::AlreadyAcked;
        }
        *word |= mask;
        run.pending -= 1;
        self.pending -= 1;
        if index == 0 {
            self.release_front();
        }
        Ack::Acked
    }

    /// Acknowledges every delivered offset in `first..=last` (holes and offsets below the floor
    /// are skipped, as single acks would refuse them) word by word, and returns how many were
    /// newly acknowledged: what a handler call of consecutive records needs, without one call
    /// per offset.
    pub fn ack_range(&mut self, first: u64, last: u64) -> u64 {
        let from = first.max(self.committable());
        let to = last.saturating_add(1).min(self.position);
        if from >= to {
            return 0;
        }
        let mut acked = 0;
        let start = self.runs.partition_point(|run| run.end <= from);
        for run in self.runs.range_mut(start..) {
            if run.base >= to {
                break;
            }
            let mut bit = from.max(run.base) - run.base;
            let end = to.min(run.end) - run.base;
            let mut in_run = 0;
            while bit < end {
                let word_index = (bit / WORD_BITS) as usize;
                let shift = bit % WORD_BITS;
                let count = (WORD_BITS - shift).min(end - bit);
                let mask = if count == WORD_BITS { u64::MAX } else { ((1u64 << count) - 1) << shift };
                // Holes are set in `acked` too, so they are never counted as fresh.
                if let Some(word) = run.acked.get_mut(word_index) {
                    let fresh = mask & !*word;
                    *word |= fresh;
                    in_run += u64::from(fresh.count_ones());
                }
                bit += count;
            }
            run.pending -= in_run;
            acked += in_run;
        }
        self.pending -= acked;
        if start == 0 && acked > 0 {
            self.release_front();
        }
        acked
    }

    /// Drops the acknowledged prefix: full words of the first run, and runs with nothing pending.
    fn release_front(&mut self) {
        while let Some(run) = self.runs.front_mut() {
            if run.pending == 0 {
                self.words -= run.acked.len() + run.holes.len();
                self.runs.pop_front();
                continue;
            }
            while run.acked.front() == Some(&u64::MAX) {
                run.acked.pop_front();
                self.words -= 1;
                if run.holes.pop_front().is_some() {
                    self.words -= 1;
                }
                run.base += WORD_BITS;
            }
            shrink(&mut run.acked, 64);
            shrink(&mut run.holes, 64);
            break;
        }
        shrink(&mut self.runs, 16);
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            runs: self.runs.len(),
            position: self.position,
            pending: self.pending,
            words: self.words,
            last: self.runs.back().map(|run| (run.end, run.acked.len(), run.holes.len(), run.pending)),
        }
    }

    fn restore(&mut self, checkpoint: Checkpoint) {
        self.runs.truncate(checkpoint.runs);
        if let (Some(run), Some((end, acked, holes, pending))) = (self.runs.back_mut(), checkpoint.last) {
            run.acked.truncate(acked);
            run.holes.truncate(holes);
            clear_tail(&mut run.acked, end - run.base);
            clear_tail(&mut run.holes, end - run.base);
            run.end = end;
            run.pending = pending;
        }
        self.position = checkpoint.position;
        self.pending = checkpoint.pending;
        self.words = checkpoint.words;
    }

    /// Appends the delivered range `[first, last]`, `first >= position`; on error the caller
    /// restores its checkpoint.
    fn append(&mut self, first: u64, last: u64) -> Result<(), Refused> {
        let count = last - first + 1;
        let extend = self.runs.back().is_some_and(|run| first - run.end <= GAP_ABSORB);
        if extend {
            let max_words = self.max_words;
            let Some(run) = self.runs.back_mut() else { return Err(Refused::OutOfMemory) };
            let gap_start = run.end;
            let needed = run.words_for(last + 1);
            let grow = needed - run.acked.len();
            let has_gap = first > gap_start;
            let new_holes = if has_gap && run.holes.is_empty() { needed } else if run.holes.is_empty() { 0 } else { grow };
            let added = grow + new_holes;
            if self.words + added > max_words {
                return Err(Refused::OutOfMemory);
            }
            run.acked.try_reserve(grow).map_err(|_| Refused::OutOfMemory)?;
            run.holes.try_reserve(new_holes).map_err(|_| Refused::OutOfMemory)?;
            run.acked.resize(needed, 0);
            if has_gap || !run.holes.is_empty() {
                run.holes.resize(needed, 0);
            }
            if has_gap {
                set_bits(&mut run.acked, gap_start - run.base, first - run.base);
                set_bits(&mut run.holes, gap_start - run.base, first - run.base);
            }
            run.end = last + 1;
            run.pending += count;
            self.words += added;
        } else {
            let words = count.div_ceil(WORD_BITS);
            if words > (self.max_words - self.words) as u64 {
                return Err(Refused::OutOfMemory);
            }
            let words = words as usize;
            self.runs.try_reserve(1).map_err(|_| Refused::OutOfMemory)?;
            let mut acked = VecDeque::new();
            acked.try_reserve_exact(words).map_err(|_| Refused::OutOfMemory)?;
            acked.resize(words, 0);
            self.runs.push_back(Run { base: first, end: last + 1, acked, holes: VecDeque::new(), pending: count });
            self.words += words;
        }
        self.pending += count;
        self.position = last + 1;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The handle table and the exports.

/// Handles are `generation << INDEX_BITS | (slot + 1)`: a freed handle is not accepted again
/// when its slot is reused (until the 12-bit generation wraps).
const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u32 = (1 << (32 - INDEX_BITS)) - 1;

struct Slot {
    generation: u32,
    tracker: Option<OffsetTracker>,
}

struct Table {
    slots: Vec<Slot>,
    /// Free slots; its capacity is kept at least `slots.len()` so freeing never allocates.
    free: Vec<u32>,
}

impl Table {
    const fn new() -> Self {
        Table { slots: Vec::new(), free: Vec::new() }
    }

    fn insert(&mut self, tracker: OffsetTracker) -> u32 {
        let index = match self.free.pop() {
            Some(index) => index as usize,
            None => {
                let index = self.slots.len();
                if index + 1 > INDEX_MASK as usize
                    || self.slots.try_reserve(1).is_err()
                    || self.free.try_reserve(index + 1 - self.free.len()).is_err()
                {
                    return 0;
                }
                self.slots.push(Slot { generation: 0, tracker: None });
                index
            }
        };
        let slot = &mut self.slots[index];
        slot.tracker = Some(tracker);
        (slot.generation & GENERATION_MASK) << INDEX_BITS | (index as u32 + 1)
    }

    fn slot_of(&self, handle: u32) -> Option<usize> {
        let index = (handle & INDEX_MASK).checked_sub(1)? as usize;
        let slot = self.slots.get(index)?;
        (slot.tracker.is_some() && slot.generation & GENERATION_MASK == handle >> INDEX_BITS).then_some(index)
    }

    fn get_mut(&mut self, handle: u32) -> Option<&mut OffsetTracker> {
        let index = self.slot_of(handle)?;
        self.slots[index].tracker.as_mut()
    }

    fn remove(&mut self, handle: u32) -> bool {
        let Some(index) = self.slot_of(handle) else { return false };
        let slot = &mut self.slots[index];
        slot.tracker = None;
        slot.generation = slot.generation.wrapping_add(1);
        // Capacity was reserved when the slot was created.
        self.free.push(index as u32);
        true
    }
}

thread_local! {
    // WebAssembly runs the core on one thread, so this is one static there; host tests get a
    // table per test thread. Not a `RefCell`: a trap in the middle of a call would leave it
    // borrowed for good (see `memory::CallState`), and every tracker would be lost with it.
    static TABLE: UnsafeCell<Table> = const { UnsafeCell::new(Table::new()) };
}

fn with_table<R: Copy>(fallback: R, f: impl FnOnce(&mut Table) -> R) -> R {
    TABLE
        .try_with(|table| {
            // SAFETY: one thread, and no export calls another export or back into the host while
            // it holds the table, so this is the only reference.
            f(unsafe { &mut *table.get() })
        })
        .unwrap_or(fallback)
}

fn with_tracker<R: Copy>(handle: u32, fallback: R, f: impl FnOnce(&mut OffsetTracker) -> R) -> R {
    with_table(fallback, |table| table.get_mut(handle).map_or(fallback, f))
}

/// An offset from JavaScript: a whole number from 0 to `max`.
fn offset_from_f64(value: f64, max: u64) -> Option<u64> {
    // NaN fails every comparison; -0.0 is accepted as 0.
    (value >= 0.0 && value <= max as f64 && value.trunc() == value).then_some(value as u64)
}

fn result_status(result: Result<(), Refused>) -> i32 {
    match result {
        Ok(()) => status::OK,
        Err(refused) => refused.status(),
    }
}

/// Reads `count` `f64`s at `ptr`, or `None` when the buffer is null, misaligned or outside memory.
///
/// # Safety
/// On the host (tests), `ptr..ptr+8*count` must be readable; in WebAssembly any pointer is
/// checked against the memory size.
unsafe fn f64s<'a>(ptr: *const f64, count: usize) -> Option<&'a [f64]> {
    if count == 0 {
        return Some(&[]);
    }
    let bytes = count.checked_mul(size_of::<f64>())?;
    if ptr.is_null() || !(ptr as usize).is_multiple_of(align_of::<f64>()) {
        return None;
    }
    #[cfg(target_arch = "wasm32")]
    {
        let memory = core::arch::wasm32::memory_size::<0>().checked_mul(65536)?;
        if (ptr as usize).checked_add(bytes)? > memory {
            return None;
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = bytes;
    // SAFETY: non-null, aligned, and inside memory (checked above in WebAssembly; the caller's
    // promise on the host).
    Some(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Creates a tracker whose first delivery will be at `next_offset` or later. Returns its handle,
/// or 0 when `next_offset` is not a valid position (0 to 2^53) or memory is exhausted.
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_new(next_offset: f64) -> u32 {
    match offset_from_f64(next_offset, MAX_POSITION) {
        Some(position) => with_table(0, |table| table.insert(OffsetTracker::new(position))),
        None => 0,
    }
}

/// Frees a tracker and its memory. [`status::OK`] or [`status::BAD_HANDLE`].
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_free(handle: u32) -> i32 {
    with_table(status::BAD_HANDLE, |table| if table.remove(handle) { status::OK } else { status::BAD_HANDLE })
}

/// Forgets every delivery and acknowledgement (reassignment, seek) and sets the fetch position.
/// [`status::OK`], [`status::BAD_HANDLE`] or [`status::BAD_OFFSET`].
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_reset(handle: u32, next_offset: f64) -> i32 {
    let Some(position) = offset_from_f64(next_offset, MAX_POSITION) else { return status::BAD_OFFSET };
    with_tracker(handle, status::BAD_HANDLE, |tracker| {
        tracker.reset(position);
        status::OK
    })
}

/// Moves the fetch position forward past offsets that were not delivered.
/// [`status::OK`], [`status::BAD_HANDLE`], [`status::BAD_OFFSET`] or [`status::OUT_OF_ORDER`].
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_advance(handle: u32, next_offset: f64) -> i32 {
    let Some(position) = offset_from_f64(next_offset, MAX_POSITION) else { return status::BAD_OFFSET };
    with_tracker(handle, status::BAD_HANDLE, |tracker| result_status(tracker.advance(position)))
}

/// Records the delivery of offsets `first..=last_inclusive`.
/// [`status::OK`], [`status::BAD_HANDLE`], [`status::BAD_OFFSET`], [`status::OUT_OF_ORDER`] or
/// [`status::OUT_OF_MEMORY`].
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_delivered_range(handle: u32, first: f64, last_inclusive: f64) -> i32 {
    let (Some(first), Some(last)) = (offset_from_f64(first, MAX_OFFSET), offset_from_f64(last_inclusive, MAX_OFFSET))
    else {
        return status::BAD_OFFSET;
    };
    with_tracker(handle, status::BAD_HANDLE, |tracker| result_status(tracker.deliver_range(first, last)))
}

/// Records the delivery of `count` strictly ascending offsets (`f64`s at `ptr`), gaps allowed.
/// All or nothing: [`status::OK`], [`status::BAD_HANDLE`], [`status::BAD_BUFFER`],
/// [`status::BAD_OFFSET`], [`status::OUT_OF_ORDER`] or [`status::OUT_OF_MEMORY`].
///
/// # Safety
/// In WebAssembly any pointer is safe (it is checked). On a native host, `ptr..ptr+8*count` must
/// be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_offsets_delivered_list(handle: u32, ptr: *const f64, count: usize) -> i32 {
    let Some(values) = (unsafe { f64s(ptr, count) }) else { return status::BAD_BUFFER };
    let mut offsets = Vec::new();
    if offsets.try_reserve_exact(values.len()).is_err() {
        return status::OUT_OF_MEMORY;
    }
    for &value in values {
        let Some(offset) = offset_from_f64(value, MAX_OFFSET) else { return status::BAD_OFFSET };
        offsets.push(offset);
    }
    with_tracker(handle, status::BAD_HANDLE, |tracker| result_status(tracker.deliver_list(&offsets)))
}

/// Acknowledges one offset: [`status::OK`] (newly acknowledged), [`status::ALREADY_ACKED`],
/// [`status::BELOW_FLOOR`], [`status::NOT_DELIVERED`], or [`status::BAD_HANDLE`] /
/// [`status::BAD_OFFSET`].
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_ack(handle: u32, offset: f64) -> i32 {
    let Some(offset) = offset_from_f64(offset, MAX_OFFSET) else { return status::BAD_OFFSET };
    with_tracker(handle, status::BAD_HANDLE, |tracker| tracker.ack(offset).status())
}

/// Acknowledges `count` offsets (`f64`s at `ptr`, any order) and returns how many were newly
/// acknowledged, or [`status::BAD_HANDLE`], [`status::BAD_BUFFER`] or [`status::BAD_OFFSET`]
/// (nothing acknowledged when any offset is invalid).
///
/// # Safety
/// As for [`tributary_offsets_delivered_list`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_offsets_ack_list(handle: u32, ptr: *const f64, count: usize) -> i32 {
    let Some(values) = (unsafe { f64s(ptr, count) }) else { return status::BAD_BUFFER };
    if values.iter().any(|&value| offset_from_f64(value, MAX_OFFSET).is_none()) {
        return status::BAD_OFFSET;
    }
    with_tracker(handle, status::BAD_HANDLE, |tracker| {
        let acked = values.iter().filter(|&&value| tracker.ack(value as u64) == Ack::Acked).count();
        // At most memory / 8 < 2^29 offsets fit in a list.
        i32::try_from(acked).unwrap_or(i32::MAX)
    })
}

/// Acknowledges the delivered offsets in `first..=last_inclusive` and returns how many were newly
/// acknowledged, or [`status::BAD_HANDLE`] / [`status::BAD_OFFSET`].
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_ack_range(handle: u32, first: f64, last_inclusive: f64) -> i32 {
    let (Some(first), Some(last)) = (offset_from_f64(first, MAX_OFFSET), offset_from_f64(last_inclusive, MAX_OFFSET))
    else {
        return status::BAD_OFFSET;
    };
    if first > last {
        return status::BAD_OFFSET;
    }
    with_tracker(handle, status::BAD_HANDLE, |tracker| i32::try_from(tracker.ack_range(first, last)).unwrap_or(i32::MAX))
}

/// The offset that is safe to commit, or [`status::BAD_HANDLE`] (negative).
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_committable(handle: u32) -> f64 {
    with_tracker(handle, f64::from(status::BAD_HANDLE), |tracker| tracker.committable() as f64)
}

/// Delivered offsets not acknowledged yet, or [`status::BAD_HANDLE`] (negative).
#[unsafe(no_mangle)]
pub extern "C" fn tributary_offsets_pending(handle: u32) -> f64 {
    with_tracker(handle, f64::from(status::BAD_HANDLE), |tracker| tracker.pending() as f64)
}

/// Number of `f64`s [`tributary_offsets_stats`] writes.
pub const STATS_LEN: usize = 5;

/// Writes [`STATS_LEN`] `f64`s at `out`: committable offset, fetch position, pending count, runs,
/// heap bytes. [`status::OK`], [`status::BAD_HANDLE`] or [`status::BAD_BUFFER`].
///
/// # Safety
/// In WebAssembly any pointer is safe (it is checked). On a native host, `out..out+8*STATS_LEN`
/// must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_offsets_stats(handle: u32, out: *mut f64) -> i32 {
    if unsafe { f64s(out, STATS_LEN) }.is_none() {
        return status::BAD_BUFFER;
    }
    with_tracker(handle, status::BAD_HANDLE, |tracker| {
        let stats = [
            tracker.committable() as f64,
            tracker.position() as f64,
            tracker.pending() as f64,
            tracker.runs() as f64,
            tracker.heap_bytes() as f64,
        ];
        // SAFETY: checked by `f64s` above (the caller's promise on the host).
        unsafe { std::ptr::copy_nonoverlapping(stats.as_ptr(), out, STATS_LEN) };
        status::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// xorshift64*: a tiny seeded generator, so a failing case can be replayed from its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The obvious model: the sets of pending (delivered, not acknowledged) and acknowledged
    /// offsets, kept whole (nothing is ever released).
    struct Model {
        position: u64,
        pending: BTreeSet<u64>,
        acked: BTreeSet<u64>,
    }

    impl Model {
        fn new(position: u64) -> Self {
            Model { position, pending: BTreeSet::new(), acked: BTreeSet::new() }
        }

        fn committable(&self) -> u64 {
            self.pending.first().copied().unwrap_or(self.position)
        }

        fn ack(&mut self, offset: u64) -> Ack {
            if offset < self.committable() {
                Ack::BelowFloor
            } else if self.pending.remove(&offset) {
                self.acked.insert(offset);
                Ack::Acked
            } else if self.acked.contains(&offset) {
                Ack::AlreadyAcked
            } else {
                Ack::NotDelivered
            }
        }
    }

    fn check_invariants(tracker: &OffsetTracker) {
        let words: usize = tracker.runs.iter().map(|run| run.acked.len() + run.holes.len()).sum();
        assert_eq!(words, tracker.words);
        assert_eq!(tracker.runs.iter().map(|run| run.pending).sum::<u64>(), tracker.pending);
        if let Some(front) = tracker.runs.front() {
            assert!(front.pending > 0);
            assert_ne!(front.acked.front(), Some(&u64::MAX));
        }
        for pair in tracker.runs.iter().collect::<Vec<_>>().windows(2) {
            assert!(pair[0].end < pair[1].base);
        }
        for run in &tracker.runs {
            assert!(run.base < run.end && run.end <= tracker.position);
            assert_eq!(run.acked.len(), run.words_for(run.end));
            assert!(run.holes.is_empty() || run.holes.len() == run.acked.len());
            let tail = run.end - run.base;
            assert!(!Run::bit(&run.acked, tail) || tail % WORD_BITS == 0);
        }
    }

    #[test]
    fn ack_range_matches_single_acks() {
        for seed in 1..300u64 {
            let mut rng = Rng(seed * 0x9E37_79B9_7F4A_7C15);
            let start = rng.below(200);
            let mut by_range = OffsetTracker::new(start);
            let mut by_one = OffsetTracker::new(start);
            let mut position = start;
            for _ in 0..40 {
                match rng.below(4) {
                    0 | 1 => {
                        // Deliver a range, or a list with holes.
                        let first = position + rng.below(3);
                        let len = 1 + rng.below(300);
                        if rng.below(2) == 0 {
                            by_range.deliver_range(first, first + len - 1).unwrap();
                            by_one.deliver_range(first, first + len - 1).unwrap();
                            position = first + len;
                        } else {
                            let list: Vec<u64> = (first..first + len).filter(|_| rng.below(5) != 0).collect();
                            if list.is_empty() {
                                continue;
                            }
                            by_range.deliver_list(&list).unwrap();
                            by_one.deliver_list(&list).unwrap();
                            position = list[list.len() - 1] + 1;
                        }
                    }
                    _ => {
                        let lo = start + rng.below(position - start + 5);
                        let hi = lo + rng.below(400);
                        let expected = (lo..=hi).filter(|&offset| by_one.ack(offset) == Ack::Acked).count() as u64;
                        assert_eq!(by_range.ack_range(lo, hi), expected, "seed {seed}: ack_range({lo}, {hi})");
                    }
                }
                assert_eq!(
                    (by_range.committable(), by_range.pending(), by_range.position()),
                    (by_one.committable(), by_one.pending(), by_one.position()),
                    "seed {seed}"
                );
                check_invariants(&by_range);
            }
        }
    }

    #[test]
    fn contiguous_out_of_order_acks() {
        let mut tracker = OffsetTracker::new(100);
        assert_eq!(tracker.committable(), 100);
        tracker.deliver_range(100, 109).unwrap();
        assert_eq!((tracker.committable(), tracker.pending(), tracker.position()), (100, 10, 110));
        assert_eq!(tracker.ack(105), Ack::Acked);
        assert_eq!(tracker.ack(105), Ack::AlreadyAcked);
        assert_eq!(tracker.committable(), 100);
        for offset in [101, 102, 103, 104] {
            assert_eq!(tracker.ack(offset), Ack::Acked);
        }
        assert_eq!(tracker.committable(), 100);
        assert_eq!(tracker.ack(100), Ack::Acked);
        assert_eq!(tracker.committable(), 106);
        assert_eq!(tracker.ack(104), Ack::BelowFloor);
        for offset in 106..110 {
            tracker.ack(offset);
        }
        assert_eq!((tracker.committable(), tracker.pending(), tracker.runs()), (110, 0, 0));
        assert_eq!(tracker.ack(110), Ack::NotDelivered);
        check_invariants(&tracker);
    }

    #[test]
    fn gaps_never_block() {
        let mut tracker = OffsetTracker::new(0);
        // Small gaps become holes, a large one a new run.
        tracker.deliver_list(&[0, 1, 5, 6, 200, 10_000, 10_001]).unwrap();
        assert_eq!(tracker.runs(), 2);
        assert_eq!(tracker.ack(3), Ack::NotDelivered);
        assert_eq!(tracker.ack(5000), Ack::NotDelivered);
        for offset in [0, 1, 5, 6] {
            assert_eq!(tracker.ack(offset), Ack::Acked);
        }
        assert_eq!(tracker.committable(), 200);
        assert_eq!(tracker.ack(200), Ack::Acked);
        assert_eq!(tracker.committable(), 10_000);
        assert_eq!(tracker.ack(10_001), Ack::Acked);
        assert_eq!(tracker.ack(10_000), Ack::Acked);
        assert_eq!(tracker.committable(), 10_002);
        // A gap after the last delivery, and a position moved past undelivered records.
        tracker.deliver_range(10_050, 10_059).unwrap();
        assert_eq!(tracker.committable(), 10_050);
        tracker.advance(10_100).unwrap();
        (10_050..10_060).for_each(|offset| assert_eq!(tracker.ack(offset), Ack::Acked));
        assert_eq!(tracker.committable(), 10_100);
        check_invariants(&tracker);
    }

    #[test]
    fn refuses_out_of_order_and_bad_offsets_without_changing_anything() {
        let mut tracker = OffsetTracker::new(10);
        assert_eq!(tracker.deliver_range(5, 20), Err(Refused::OutOfOrder));
        tracker.deliver_range(10, 20).unwrap();
        assert_eq!(tracker.deliver_range(20, 30), Err(Refused::OutOfOrder));
        assert_eq!(tracker.deliver_range(30, 29), Err(Refused::OutOfOrder));
        assert_eq!(tracker.deliver_list(&[21, 23, 22]), Err(Refused::OutOfOrder));
        assert_eq!(tracker.deliver_list(&[21, 21]), Err(Refused::OutOfOrder));
        assert_eq!(tracker.deliver_list(&[15]), Err(Refused::OutOfOrder));
        assert_eq!(tracker.deliver_range(21, MAX_OFFSET + 1), Err(Refused::BadOffset));
        assert_eq!(tracker.advance(20), Err(Refused::OutOfOrder));
        assert_eq!(tracker.advance(MAX_POSITION + 1), Err(Refused::BadOffset));
        assert_eq!((tracker.position(), tracker.pending(), tracker.committable()), (21, 11, 10));
        tracker.deliver_list(&[]).unwrap();
        assert_eq!(tracker.position(), 21);
        check_invariants(&tracker);
    }

    #[test]
    fn refuses_a_span_beyond_the_limit_and_undoes_a_partial_list() {
        let mut tracker = OffsetTracker::with_limit(0, 4);
        assert_eq!(tracker.deliver_range(0, 64 * 5 - 1), Err(Refused::OutOfMemory));
        assert_eq!((tracker.position(), tracker.runs(), tracker.words), (0, 0, 0));
        tracker.deliver_range(0, 9).unwrap();
        // The list extends the run with a hole (two bitmaps), then needs more than the limit.
        let list = [20, 21, 100, 130, 5000, 5001, 9000];
        assert_eq!(tracker.deliver_list(&list), Err(Refused::OutOfMemory));
        assert_eq!((tracker.position(), tracker.pending(), tracker.runs(), tracker.words), (10, 10, 1, 1));
        assert!(tracker.runs[0].holes.is_empty() && tracker.runs[0].end == 10);
        check_invariants(&tracker);
        // The undone deliveries left no bits behind.
        tracker.deliver_range(10, 63).unwrap();
        (0..64).for_each(|offset| assert_eq!(tracker.ack(offset), Ack::Acked));
        assert_eq!(tracker.committable(), 64);
        assert_eq!(OffsetTracker::new(0).deliver_range(0, MAX_OFFSET), Err(Refused::OutOfMemory));
    }

    #[test]
    fn extremes() {
        let mut tracker = OffsetTracker::new(MAX_OFFSET - 1);
        tracker.deliver_range(MAX_OFFSET - 1, MAX_OFFSET).unwrap();
        assert_eq!(tracker.position(), MAX_POSITION);
        assert_eq!(tracker.ack(MAX_OFFSET), Ack::Acked);
        assert_eq!(tracker.ack(MAX_OFFSET - 1), Ack::Acked);
        assert_eq!(tracker.committable(), MAX_POSITION);
        assert_eq!(tracker.deliver_range(MAX_OFFSET, MAX_OFFSET), Err(Refused::OutOfOrder));
        assert_eq!(OffsetTracker::new(u64::MAX).position(), MAX_POSITION);
    }

    #[test]
    fn releases_memory_as_the_floor_advances() {
        let mut tracker = OffsetTracker::new(0);
        tracker.deliver_range(0, 999_999).unwrap();
        let full = tracker.heap_bytes();
        assert!(full < 1_000_000 / 8 + 40_000, "{full} bytes for 1M offsets");
        (0..900_000).for_each(|offset| assert_eq!(tracker.ack(offset), Ack::Acked));
        assert!(tracker.heap_bytes() < full / 3, "{} of {full} bytes left", tracker.heap_bytes());
        (900_000..1_000_000).for_each(|offset| assert_eq!(tracker.ack(offset), Ack::Acked));
        assert_eq!(tracker.runs(), 0);
        assert!(tracker.heap_bytes() <= 16 * size_of::<Run>());
        // Steady streaming reuses the same buffer.
        for batch in 0..1000u64 {
            let first = 1_000_000 + batch * 500;
            tracker.deliver_range(first, first + 499).unwrap();
            if batch >= 4 {
                let old = first - 2000;
                (old..old + 500).rev().for_each(|offset| assert_eq!(tracker.ack(offset), Ack::Acked));
            }
        }
        assert!(tracker.heap_bytes() < 4096);
        tracker.reset(7);
        assert_eq!((tracker.heap_bytes(), tracker.committable(), tracker.pending()), (0, 7, 0));
        check_invariants(&tracker);
    }

    #[test]
    fn a_slow_first_offset_holds_the_commit_but_not_the_memory_per_offset() {
        let mut tracker = OffsetTracker::new(0);
        tracker.deliver_range(0, 99_999).unwrap();
        (1..100_000).for_each(|offset| assert_eq!(tracker.ack(offset), Ack::Acked));
        assert_eq!(tracker.committable(), 0);
        assert_eq!(tracker.ack(0), Ack::Acked);
        assert_eq!(tracker.committable(), 100_000);
        assert_eq!(tracker.runs(), 0);
    }

    #[test]
    fn matches_a_set_model_on_random_sequences() {
        for seed in 1..=500u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let start = rng.below(1000);
            let mut tracker = OffsetTracker::new(start);
            let mut model = Model::new(start);
            for step in 0..400 {
                let context = format!("seed {seed} step {step}");
                match rng.below(10) {
                    0..=2 => {
                        // A range after a gap: none, small (a hole) or large (a new run).
                        let gap = match rng.below(4) {
                            0 | 1 => 0,
                            2 => rng.below(GAP_ABSORB + 2),
                            _ => rng.below(5000),
                        };
                        let first = model.position + gap;
                        let length = if rng.below(8) == 0 { 300 } else { 20 };
                        let last = first + rng.below(length);
                        tracker.deliver_range(first, last).unwrap();
                        model.pending.extend(first..=last);
                        model.position = last + 1;
                    }
                    3 => {
                        let mut list = Vec::new();
                        let mut next = model.position;
                        for _ in 0..rng.below(30) {
                            next += [0, 0, 1, 3, 70, 600][rng.below(6) as usize];
                            list.push(next);
                            next += 1;
                        }
                        tracker.deliver_list(&list).unwrap();
                        model.pending.extend(&list);
                        model.position = next;
                    }
                    4..=7 => {
                        // Mostly pending offsets, sometimes anything near the window.
                        for _ in 0..1 + rng.below(12) {
                            let offset = if !model.pending.is_empty() && rng.below(5) != 0 {
                                let skip = rng.below(model.pending.len() as u64) as usize;
                                *model.pending.iter().nth(skip).unwrap()
                            } else {
                                let low = model.committable().saturating_sub(100);
                                low + rng.below(model.position + 100 - low)
                            };
                            assert_eq!(tracker.ack(offset), model.ack(offset), "{context}: ack {offset}");
                        }
                    }
                    8 => {
                        let offset = model.position + rng.below(3);
                        if rng.below(2) == 0 {
                            tracker.advance(offset).unwrap();
                            model.position = offset;
                        } else {
                            let back = model.position.saturating_sub(1 + rng.below(3));
                            assert_eq!(tracker.advance(back).is_err(), model.position > 0, "{context}");
                        }
                    }
                    _ => {
                        if rng.below(20) == 0 {
                            let position = rng.below(100_000);
                            tracker.reset(position);
                            model = Model::new(position);
                        } else if model.position > 0 {
                            let bad = model.position.saturating_sub(1 + rng.below(10));
                            assert_eq!(tracker.deliver_range(bad, bad + 5), Err(Refused::OutOfOrder), "{context}");
                            assert_eq!(tracker.deliver_list(&[model.position, bad]), Err(Refused::OutOfOrder));
                        }
                    }
                }
                assert_eq!(tracker.committable(), model.committable(), "{context}");
                assert_eq!(tracker.pending(), model.pending.len() as u64, "{context}");
                assert_eq!(tracker.position(), model.position, "{context}");
                check_invariants(&tracker);
            }
        }
    }

    #[test]
    fn exports_validate_everything() {
        let handle = tributary_offsets_new(10.0);
        assert_ne!(handle, 0);
        for bad in [f64::NAN, -1.0, 1.5, f64::INFINITY, f64::NEG_INFINITY, 2f64.powi(53), 1e300] {
            assert_eq!(tributary_offsets_ack(handle, bad), status::BAD_OFFSET, "{bad}");
            assert_eq!(tributary_offsets_delivered_range(handle, bad, 20.0), status::BAD_OFFSET, "{bad}");
            assert_eq!(tributary_offsets_delivered_range(handle, 10.0, bad), status::BAD_OFFSET, "{bad}");
        }
        for bad in [f64::NAN, -1.0, 0.5, 2f64.powi(53) + 2.0] {
            assert_eq!(tributary_offsets_new(bad), 0);
            assert_eq!(tributary_offsets_reset(handle, bad), status::BAD_OFFSET);
            assert_eq!(tributary_offsets_advance(handle, bad), status::BAD_OFFSET);
        }
        assert_eq!(tributary_offsets_delivered_range(handle, 10.0, 19.0), status::OK);
        assert_eq!(tributary_offsets_delivered_range(handle, 15.0, 25.0), status::OUT_OF_ORDER);
        assert_eq!(tributary_offsets_ack(handle, -0.0), status::BELOW_FLOOR);
        assert_eq!(tributary_offsets_ack(handle, 10.0), status::OK);
        assert_eq!(tributary_offsets_ack(handle, 10.0), status::BELOW_FLOOR);
        assert_eq!(tributary_offsets_ack(handle, 12.0), status::OK);
        assert_eq!(tributary_offsets_ack(handle, 12.0), status::ALREADY_ACKED);
        assert_eq!(tributary_offsets_ack(handle, 20.0), status::NOT_DELIVERED);
        assert_eq!(tributary_offsets_committable(handle), 11.0);
        assert_eq!(tributary_offsets_pending(handle), 8.0);

        let list = [30.0, 31.0, 40.0];
        assert_eq!(unsafe { tributary_offsets_delivered_list(handle, list.as_ptr(), 3) }, status::OK);
        let bad_list = [50.0, f64::NAN];
        assert_eq!(unsafe { tributary_offsets_delivered_list(handle, bad_list.as_ptr(), 2) }, status::BAD_OFFSET);
        assert_eq!(unsafe { tributary_offsets_delivered_list(handle, std::ptr::null(), 2) }, status::BAD_BUFFER);
        let misaligned = unsafe { (list.as_ptr() as *const u8).add(1) } as *const f64;
        assert_eq!(unsafe { tributary_offsets_delivered_list(handle, misaligned, 1) }, status::BAD_BUFFER);
        assert_eq!(unsafe { tributary_offsets_delivered_list(handle, std::ptr::null(), 0) }, status::OK);

        let acks = [31.0, 31.0, 11.0, 40.0, 35.0, 30.0];
        assert_eq!(unsafe { tributary_offsets_ack_list(handle, acks.as_ptr(), 6) }, 4);
        let bad_acks = [13.0, -3.0];
        assert_eq!(unsafe { tributary_offsets_ack_list(handle, bad_acks.as_ptr(), 2) }, status::BAD_OFFSET);
        assert_eq!(tributary_offsets_ack(handle, 13.0), status::OK);

        let mut stats = [0.0; STATS_LEN];
        assert_eq!(unsafe { tributary_offsets_stats(handle, stats.as_mut_ptr()) }, status::OK);
        assert_eq!(&stats[..4], &[14.0, 41.0, 6.0, 1.0]);

        assert_eq!(tributary_offsets_reset(handle, 5.0), status::OK);
        assert_eq!(tributary_offsets_committable(handle), 5.0);
        assert_eq!(tributary_offsets_free(handle), status::OK);
        // A freed handle is dead, also after its slot is reused.
        assert_eq!(tributary_offsets_free(handle), status::BAD_HANDLE);
        let reused = tributary_offsets_new(0.0);
        assert_ne!(reused, handle);
        assert_eq!(reused & INDEX_MASK, handle & INDEX_MASK);
        for dead in [handle, 0, u32::MAX, reused + 1, reused ^ (1 << INDEX_BITS)] {
            assert_eq!(tributary_offsets_ack(dead, 1.0), status::BAD_HANDLE);
            assert_eq!(tributary_offsets_delivered_range(dead, 1.0, 2.0), status::BAD_HANDLE);
            assert_eq!(tributary_offsets_reset(dead, 1.0), status::BAD_HANDLE);
            assert_eq!(tributary_offsets_advance(dead, 1.0), status::BAD_HANDLE);
            assert_eq!(tributary_offsets_committable(dead), -1.0);
            assert_eq!(tributary_offsets_pending(dead), -1.0);
            assert_eq!(unsafe { tributary_offsets_ack_list(dead, acks.as_ptr(), 1) }, status::BAD_HANDLE);
            assert_eq!(unsafe { tributary_offsets_stats(dead, stats.as_mut_ptr()) }, status::BAD_HANDLE);
        }
        assert_eq!(tributary_offsets_free(reused), status::OK);
    }

    #[test]
    fn many_handles() {
        let handles: Vec<u32> = (0..1000).map(|i| tributary_offsets_new(f64::from(i))).collect();
        assert!(handles.iter().all(|&handle| handle != 0));
        for (i, &handle) in handles.iter().enumerate() {
            assert_eq!(tributary_offsets_committable(handle), i as f64);
        }
        for &handle in &handles {
            assert_eq!(tributary_offsets_free(handle), status::OK);
        }
    }
}
