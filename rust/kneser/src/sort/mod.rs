//! External sorting of fixed-size n-gram records.
//!
//! A record is `key_words` u32 word ids followed by `payload_words` u32 payload words (a u64
//! count takes two). Records are collected in a buffer of at most the memory budget; a full
//! buffer is sorted (in parallel), equal keys are combined with the [`Combine`] function, and the
//! result is spilled as a sorted run to the temp dir. [`Sorter::finish`] merges the runs (a
//! bounded number at a time, [`MAX_FAN_IN`]; more runs take several passes) and streams the
//! final merge to the caller, combining equal keys again. When everything fits in one buffer,
//! nothing touches the disk.
//!
//! Input: records in any order. Output: the same records in [`KeyOrder`], one per distinct key
//! when a combiner is given. Memory: the buffer (the budget given; reserved at once but touched
//! only as records arrive, and reused for every run) plus, while merging,
//! [`MERGE_BUFFER`] bytes per run being merged. Temp files live in a [`TempDir`] shared by the
//! whole job and are deleted when the run is consumed or on drop (an error, Ctrl-C).

mod order;
mod runs;

pub use order::{compare_context, compare_suffix, KeyOrder};
pub use runs::{RecordReader, RecordWriter, Run, SortedStream, TempDir};

use rayon::prelude::*;

use crate::cancel::Cancel;
use crate::error::{Error, Result};

/// Combines the payload of a record with an equal key into `into` (e.g. adds counts).
pub type Combine = fn(into: &mut [u32], from: &[u32]);

/// Most runs merged in one pass.
pub const MAX_FAN_IN: usize = 64;
/// Read buffer per run while merging.
pub const MERGE_BUFFER: usize = 1 << 16;

/// Adds two u64 counts stored little-endian in two words each (the payload's first two words).
pub fn add_counts(into: &mut [u32], from: &[u32]) {
    let sum = get_u64(into).wrapping_add(get_u64(from));
    set_u64(into, sum);
}

/// Reads the u64 stored in the first two words of `w`.
#[inline]
pub fn get_u64(w: &[u32]) -> u64 {
    u64::from(w[0]) | (u64::from(w[1]) << 32)
}

/// Stores `v` in the first two words of `w`.
#[inline]
pub fn set_u64(w: &mut [u32], v: u64) {
    w[0] = v as u32;
    w[1] = (v >> 32) as u32;
}

/// The shape of the records a [`Sorter`] handles.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Words of the key (the n-gram order).
    pub key_words: usize,
    /// Words of payload after the key.
    pub payload_words: usize,
}

impl Layout {
    /// Words per record.
    pub fn width(&self) -> usize {
        self.key_words + self.payload_words
    }
}

/// The sort buffer a job's finished sort handed back ([`Sorter::finish_keeping_buffer`],
/// [`SortedStream::into_buffer`]), kept for its next sort ([`Sorter::with_buffer`]) so that
/// each stage does not map and fault in its budget afresh. One buffer at most is kept (the
/// larger when a second comes), so an idle buffer adds at most one sort's budget to the peak.
#[derive(Default)]
pub struct SpareBuffers(std::cell::RefCell<Vec<u32>>);

impl SpareBuffers {
    /// Keeps `buf` (emptied) for a later sort if it is larger than the one kept.
    pub fn put(&self, mut buf: Vec<u32>) {
        let mut kept = self.0.borrow_mut();
        if buf.capacity() > kept.capacity() {
            buf.clear();
            *kept = buf;
        }
    }

    /// The buffer kept (then none is), or an empty vector.
    pub fn take(&self) -> Vec<u32> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// Memory left free beside a sort buffer: a buffer grows only while this much more could still be
/// allocated, so that the rest of the process (I/O buffers, threads, the error path itself) never
/// meets an allocation failure, which Rust answers by aborting.
pub const HEADROOM: usize = 64 << 20;

/// Whether `bytes` plus [`HEADROOM`] could be allocated now. Costs nothing when memory is
/// overcommitted (the probe is never touched); under an address-space limit (`ulimit -v`) or
/// with overcommit off it is what tells a budget the system cannot give.
fn room_for(bytes: usize) -> bool {
    Vec::<u8>::new()
        .try_reserve_exact(bytes.saturating_add(HEADROOM))
        .is_ok()
}

/// Reserves room for `extra` more words in `buf`, or fails with [`Error::OutOfMemory`]
/// instead of aborting the process when the system refuses, or would be left with less than
/// [`HEADROOM`] beside the grown buffer.
pub fn reserve_words(buf: &mut Vec<u32>, extra: usize) -> Result<()> {
    let bytes = buf.len().saturating_add(extra).saturating_mul(4);
    if !room_for(bytes) {
        return Err(Error::OutOfMemory {
            what: "a sort buffer",
            bytes: bytes as u64,
        });
    }
    buf.try_reserve_exact(extra)
        .map_err(|_| Error::OutOfMemory {
            what: "a sort buffer",
            bytes: bytes as u64,
        })
}

/// Collects records, sorts them in a [`KeyOrder`] and spills sorted runs; see the module doc.
pub struct Sorter {
    layout: Layout,
    order: KeyOrder,
    combine: Option<Combine>,
    buf: Vec<u32>,
    cap_words: usize,
    runs: Vec<runs::Run>,
    temp: TempDir,
    cancel: Cancel,
}

impl Sorter {
    /// A sorter whose buffer holds at most `memory` bytes (at least one record).
    pub fn new(
        layout: Layout,
        order: KeyOrder,
        combine: Option<Combine>,
        memory: usize,
        temp: &TempDir,
        cancel: &Cancel,
    ) -> Self {
        let width = layout.width();
        // Records are sorted in place; wider than MAX_DIRECT_WIDTH words they need an index
        // and a copy.
        let per_record = if width <= MAX_DIRECT_WIDTH {
            width * 4
        } else {
            width * 8 + 4
        };
        let cap_records = (memory / per_record).max(1);
        Sorter {
            layout,
            order,
            combine,
            buf: Vec::new(),
            cap_words: cap_records * width,
            runs: Vec::new(),
            temp: temp.clone(),
            cancel: cancel.clone(),
        }
    }

    /// [`Sorter::new`] collecting into `buf` (emptied first; cut to the budget if larger): a
    /// buffer an earlier sort of the job handed back ([`Sorter::finish_keeping_buffer`],
    /// [`SortedStream::into_buffer`]). Its pages are mapped already, so the sort does not take
    /// a page fault per 4 KB of its budget again, as a freshly allocated buffer does (glibc
    /// gives a buffer this large its own mapping and unmaps it when freed).
    #[allow(clippy::too_many_arguments)]
    pub fn with_buffer(
        layout: Layout,
        order: KeyOrder,
        combine: Option<Combine>,
        memory: usize,
        temp: &TempDir,
        cancel: &Cancel,
        mut buf: Vec<u32>,
    ) -> Self {
        let mut sorter = Sorter::new(layout, order, combine, memory, temp, cancel);
        buf.clear();
        if buf.capacity() > sorter.cap_words {
            // Returns the tail's pages to the system (a shrinking realloc of a mapping).
            buf.shrink_to(sorter.cap_words);
        }
        sorter.buf = buf;
        sorter
    }

    /// The record layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Adds one record (`layout.width()` words).
    #[inline]
    pub fn push(&mut self, record: &[u32]) -> Result<()> {
        debug_assert_eq!(record.len(), self.layout.width());
        if self.buf.len() + record.len() > self.buf.capacity() {
            if self.buf.len() + record.len() > self.cap_words {
                self.spill()?;
            }
            // Reserve the whole budget at once (pages are only touched as records arrive, so
            // this costs no memory up front); if the system refuses, grow by doubling.
            if self.buf.capacity() == 0
                && room_for(self.cap_words.saturating_mul(4))
                && self.buf.try_reserve_exact(self.cap_words).is_ok()
            {
                self.buf.extend_from_slice(record);
                return Ok(());
            }
            // Grow by doubling, but never past the budget.
            let want = (self.buf.capacity() * 2)
                .max(1 << 16)
                .min(self.cap_words)
                .max(record.len());
            let extra = want - self.buf.len();
            reserve_words(&mut self.buf, extra)?;
        }
        self.buf.extend_from_slice(record);
        Ok(())
    }

    /// Records currently buffered.
    pub fn buffered(&self) -> usize {
        self.buf.len() / self.layout.width()
    }

    fn spill(&mut self) -> Result<()> {
        self.cancel.check()?;
        let block = std::mem::take(&mut self.buf);
        let sorted = sort_block(block, self.layout, self.order, self.combine);
        let mut writer = RecordWriter::create(&self.temp, self.layout.width())?;
        writer.write_words(&sorted)?;
        self.runs.push(writer.finish()?);
        // Reuse the buffer (its pages are already mapped) for the next run.
        self.buf = sorted;
        self.buf.clear();
        Ok(())
    }

    /// Sorts what is left and streams the merged result.
    pub fn finish(self) -> Result<SortedStream> {
        Ok(self.finish_keeping_buffer()?.0)
    }

    /// [`Sorter::finish`], also handing back the sort buffer (emptied, its pages still mapped)
    /// when the result is merged from runs on disk, for the job's next sort
    /// ([`Sorter::with_buffer`]); when everything fit, the buffer is the stream's and an empty
    /// vector comes back.
    pub fn finish_keeping_buffer(mut self) -> Result<(SortedStream, Vec<u32>)> {
        self.cancel.check()?;
        if self.runs.is_empty() {
            let block = std::mem::take(&mut self.buf);
            let sorted = sort_block(block, self.layout, self.order, self.combine);
            return Ok((
                SortedStream::in_memory(sorted, self.layout.width()),
                Vec::new(),
            ));
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let stream = runs::merge_all(
            self.runs,
            self.layout,
            self.order,
            self.combine,
            &self.temp,
            &self.cancel,
        )?;
        Ok((stream, buf))
    }
}

/// Sorts a block of records in place and combines equal keys; returns the sorted words.
///
/// Records of up to [`MAX_DIRECT_WIDTH`] words are sorted as fixed-size arrays (no indirection,
/// cache friendly); wider ones through an index.
pub fn sort_block(
    mut buf: Vec<u32>,
    layout: Layout,
    order: KeyOrder,
    combine: Option<Combine>,
) -> Vec<u32> {
    let width = layout.width();
    let k = layout.key_words;
    // The common shape (a u64 payload) gets comparisons unrolled for its key length.
    macro_rules! keyed {
        ($($k:literal)*) => {
            match (k, layout.payload_words) {
                $(($k, 2) => sort_keyed::<{ $k + 2 }, $k>(&mut buf, order),)*
                _ => direct!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16),
            }
        };
    }
    macro_rules! direct {
        ($($w:literal)*) => {
            match width {
                $($w => sort_direct::<$w>(&mut buf, k, order),)*
                _ => sort_indirect(&mut buf, width, k, order),
            }
        };
    }
    keyed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    if let Some(combine) = combine {
        combine_sorted(&mut buf, width, k, combine);
    }
    buf
}

/// Widest record sorted directly as an array.
pub const MAX_DIRECT_WIDTH: usize = 16;

/// Compares the first `K` words of two records in `order`, unrolled for the key length.
#[inline(always)]
fn compare_keyed<const W: usize, const K: usize>(
    order: KeyOrder,
    a: &[u32; W],
    b: &[u32; W],
) -> std::cmp::Ordering {
    let (a, b) = (&a[..K], &b[..K]);
    match order {
        KeyOrder::Suffix => {
            for i in (0..K).rev() {
                if a[i] != b[i] {
                    return a[i].cmp(&b[i]);
                }
            }
            std::cmp::Ordering::Equal
        }
        KeyOrder::Context => {
            for i in (0..K.saturating_sub(1)).rev() {
                if a[i] != b[i] {
                    return a[i].cmp(&b[i]);
                }
            }
            a[K - 1].cmp(&b[K - 1])
        }
    }
}

fn sort_keyed<const W: usize, const K: usize>(buf: &mut [u32], order: KeyOrder) {
    let (records, rest) = buf.as_chunks_mut::<W>();
    debug_assert!(rest.is_empty());
    match order {
        KeyOrder::Suffix => sort_records(records, |a, b| {
            compare_keyed::<W, K>(KeyOrder::Suffix, a, b)
        }),
        KeyOrder::Context => sort_records(records, |a, b| {
            compare_keyed::<W, K>(KeyOrder::Context, a, b)
        }),
    }
}

fn sort_records<const W: usize>(
    records: &mut [[u32; W]],
    cmp: impl Fn(&[u32; W], &[u32; W]) -> std::cmp::Ordering + Sync,
) {
    if records.len() > 1 << 14 {
        records.par_sort_unstable_by(cmp);
    } else {
        records.sort_unstable_by(cmp);
    }
}

fn sort_direct<const W: usize>(buf: &mut [u32], k: usize, order: KeyOrder) {
    let (records, rest) = buf.as_chunks_mut::<W>();
    debug_assert!(rest.is_empty());
    let cmp = |a: &[u32; W], b: &[u32; W]| order.compare(&a[..k], &b[..k]);
    if records.len() > 1 << 14 {
        records.par_sort_unstable_by(cmp);
    } else {
        records.sort_unstable_by(cmp);
    }
}

fn sort_indirect(buf: &mut Vec<u32>, width: usize, k: usize, order: KeyOrder) {
    let n = buf.len() / width;
    let mut idx: Vec<u32> = (0..n as u32).collect();
    {
        let b: &[u32] = buf;
        let key = |i: u32| &b[i as usize * width..i as usize * width + k];
        idx.par_sort_unstable_by(|&x, &y| order.compare(key(x), key(y)));
    }
    let mut out = Vec::with_capacity(buf.len());
    for i in idx {
        out.extend_from_slice(&buf[i as usize * width..(i as usize + 1) * width]);
    }
    *buf = out;
}

/// Combines runs of equal keys in a sorted buffer, in place.
fn combine_sorted(buf: &mut Vec<u32>, width: usize, k: usize, combine: Combine) {
    let n = buf.len() / width;
    if n == 0 {
        return;
    }
    let mut write = 0usize; // index of the last written record
    for read in 1..n {
        let (head, tail) = buf.split_at_mut(read * width);
        let cur = &tail[..width];
        let last = &mut head[write * width..(write + 1) * width];
        if last[..k] == cur[..k] {
            combine(&mut last[k..], &cur[k..]);
        } else {
            write += 1;
            if write != read {
                buf.copy_within(read * width..(read + 1) * width, write * width);
            }
        }
    }
    buf.truncate((write + 1) * width);
}

#[cfg(test)]
mod tests;
