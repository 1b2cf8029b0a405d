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
//! when a combiner is given. Memory: the buffer (the budget given) plus, while merging,
//! [`MERGE_BUFFER`] bytes per run being merged. Temp files live in a [`TempDir`] shared by the
//! whole job and are deleted when the run is consumed or on drop (an error, Ctrl-C).

mod order;
mod runs;

pub use order::{compare_context, compare_suffix, KeyOrder};
pub use runs::{RecordReader, RecordWriter, Run, SortedStream, TempDir};

use rayon::prelude::*;

use crate::cancel::Cancel;
use crate::error::Result;

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
        // The sort needs an index of 16 bytes per record beside the records themselves.
        let per_record = width * 4 + 16;
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

    /// The record layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Adds one record (`layout.width()` words).
    #[inline]
    pub fn push(&mut self, record: &[u32]) -> Result<()> {
        debug_assert_eq!(record.len(), self.layout.width());
        if self.buf.len() + record.len() > self.cap_words {
            self.spill()?;
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
        let sorted = sort_block(&self.buf, self.layout, self.order, self.combine);
        self.buf = Vec::new();
        let mut writer = RecordWriter::create(&self.temp, self.layout.width())?;
        writer.write_words(&sorted)?;
        self.runs.push(writer.finish()?);
        Ok(())
    }

    /// Sorts what is left and streams the merged result.
    pub fn finish(mut self) -> Result<SortedStream> {
        self.cancel.check()?;
        if self.runs.is_empty() {
            let sorted = sort_block(&self.buf, self.layout, self.order, self.combine);
            return Ok(SortedStream::in_memory(sorted, self.layout.width()));
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        runs::merge_all(
            self.runs,
            self.layout,
            self.order,
            self.combine,
            &self.temp,
            &self.cancel,
        )
    }
}

/// Sorts a block of records and combines equal keys; returns the sorted words.
pub fn sort_block(
    buf: &[u32],
    layout: Layout,
    order: KeyOrder,
    combine: Option<Combine>,
) -> Vec<u32> {
    let width = layout.width();
    let k = layout.key_words;
    let n = buf.len() / width;
    // Sort (prefix, index) pairs: the prefix holds the two most significant key words in this
    // order, so most comparisons never touch the records.
    let mut idx: Vec<(u64, u32)> = (0..n)
        .into_par_iter()
        .with_min_len(1 << 14)
        .map(|i| {
            let rec = &buf[i * width..i * width + k];
            (order.prefix(rec), i as u32)
        })
        .collect();
    let cmp = |a: &(u64, u32), b: &(u64, u32)| {
        a.0.cmp(&b.0).then_with(|| {
            let ra = &buf[a.1 as usize * width..a.1 as usize * width + k];
            let rb = &buf[b.1 as usize * width..b.1 as usize * width + k];
            order.compare(ra, rb)
        })
    };
    if n > 1 << 15 {
        idx.par_sort_unstable_by(cmp);
    } else {
        idx.sort_unstable_by(cmp);
    }
    let mut out: Vec<u32> = Vec::with_capacity(buf.len());
    for &(_, i) in &idx {
        let rec = &buf[i as usize * width..(i as usize + 1) * width];
        if let Some(combine) = combine {
            let len = out.len();
            if len >= width && out[len - width..len - width + k] == rec[..k] {
                combine(&mut out[len - width + k..], &rec[k..]);
                continue;
            }
        }
        out.extend_from_slice(rec);
    }
    out
}

#[cfg(test)]
mod tests;
