//! Record files in the job's temp dir, and the k-way merge of sorted runs.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Combine, KeyOrder, Layout, MAX_FAN_IN, MERGE_BUFFER};
use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Result};

/// The job's temporary directory (`kneser-XXXXXX` inside the directory the user chose), removed
/// with everything in it when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct TempDir(Arc<Removed>);

/// A directory made by [`tempfile`], removed when dropped: with everything in it, or, when
/// walking it fails, with `rmdir`. Walking a directory takes a descriptor, so a job that failed
/// because the process ran out of them (EMFILE) would otherwise leave its empty directory
/// behind; its temp files are gone by then (each is unlinked by path when dropped), and
/// `rmdir` needs no descriptor.
#[derive(Debug)]
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        if std::fs::remove_dir_all(&self.0).is_err() {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}

impl TempDir {
    /// Creates a fresh directory inside `parent`.
    pub fn new_in(parent: &Path) -> Result<Self> {
        if !parent.is_dir() {
            return Err(Error::NotFound {
                path: parent.to_path_buf(),
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("kneser-")
            .tempdir_in(parent)
            .at_path("cannot create temp dir in", parent)?;
        Ok(TempDir(Arc::new(Removed(dir.keep()))))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0 .0
    }
}

/// A finished file of records: a temp file (deleted when dropped), or a kept file opened by
/// [`Run::open`] (left in place).
pub struct Run {
    path: PathBuf,
    /// Deletes the temp file on drop; `None` for a kept file.
    temp: Option<tempfile::TempPath>,
    records: u64,
    width: usize,
}

impl Run {
    /// Records in the file.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes in the file.
    pub fn bytes(&self) -> u64 {
        self.records * self.width as u64 * 4
    }

    /// Opens the file for reading from the start.
    pub fn reader(&self) -> Result<RecordReader> {
        let f = File::open(&self.path).at_path("cannot reopen temp file", &self.path)?;
        Ok(RecordReader {
            inner: BufReader::with_capacity(MERGE_BUFFER, f),
            width: self.width,
            #[cfg(not(target_endian = "little"))]
            bytes: vec![0u8; self.width * 4],
            path: self.path.clone(),
            left: self.records,
        })
    }

    /// Moves a temp run to `path` (a rename: `path` must be on the temp dir's file system),
    /// atomically replacing what is there; the file is kept from then on.
    pub fn persist(mut self, path: &Path) -> Result<()> {
        match self.temp.take() {
            Some(t) => t
                .persist(path)
                .map_err(|e| Error::io("cannot rename a temp file to", path, e.error)),
            None => std::fs::rename(&self.path, path).at_path("cannot rename to", path),
        }
    }

    /// A kept file of records of `width` words (written by [`Run::persist`]), not deleted when
    /// dropped. A size that is not a whole number of records is a format error.
    pub fn open(path: &Path, width: usize) -> Result<Run> {
        let len = std::fs::metadata(path).at_path("cannot open", path)?.len();
        let rec = width as u64 * 4;
        if len % rec != 0 {
            return Err(Error::format(
                path.display().to_string(),
                0,
                format!("{len} bytes is not a whole number of {rec}-byte records"),
            ));
        }
        Ok(Run {
            path: path.to_path_buf(),
            temp: None,
            records: len / rec,
            width,
        })
    }
}

/// `words` as bytes: their file format (little-endian u32s) on a little-endian platform.
#[cfg(target_endian = "little")]
fn word_bytes(words: &[u32]) -> &[u8] {
    // SAFETY: u8 has alignment 1, the length covers exactly the words' bytes, and the borrow
    // keeps them alive and unchanged.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 4) }
}

/// `words` as bytes to be overwritten.
#[cfg(target_endian = "little")]
fn word_bytes_mut(words: &mut [u32]) -> &mut [u8] {
    // SAFETY: as in `word_bytes`; every byte pattern is a valid u32, and the exclusive borrow
    // is held for the slice's life.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 4) }
}

/// Writes fixed-width records to a new file in a [`TempDir`] (on a little-endian platform
/// straight from the caller's words into the write buffer).
pub struct RecordWriter {
    out: BufWriter<tempfile::NamedTempFile>,
    width: usize,
    records: u64,
    #[cfg(not(target_endian = "little"))]
    scratch: Vec<u8>,
}

impl RecordWriter {
    /// A new empty file for records of `width` words.
    pub fn create(temp: &TempDir, width: usize) -> Result<Self> {
        let file = tempfile::NamedTempFile::new_in(temp.path())
            .at_path("cannot create temp file in", temp.path())?;
        Ok(RecordWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            width,
            records: 0,
            #[cfg(not(target_endian = "little"))]
            scratch: Vec::new(),
        })
    }

    /// Appends whole records (a multiple of the width in words).
    pub fn write_words(&mut self, words: &[u32]) -> Result<()> {
        debug_assert_eq!(words.len() % self.width, 0);
        #[cfg(target_endian = "little")]
        self.out
            .write_all(word_bytes(words))
            .map_err(|e| write_error(self.out.get_ref().path(), e))?;
        #[cfg(not(target_endian = "little"))]
        for chunk in words.chunks(1 << 16) {
            self.scratch.clear();
            self.scratch
                .extend(chunk.iter().flat_map(|w| w.to_le_bytes()));
            self.out
                .write_all(&self.scratch)
                .map_err(|e| write_error(self.out.get_ref().path(), e))?;
        }
        self.records += (words.len() / self.width) as u64;
        Ok(())
    }

    /// Appends one record.
    #[inline]
    pub fn write(&mut self, record: &[u32]) -> Result<()> {
        debug_assert_eq!(record.len(), self.width);
        #[cfg(target_endian = "little")]
        {
            self.out
                .write_all(word_bytes(record))
                .map_err(|e| write_error(self.out.get_ref().path(), e))?;
            self.records += 1;
            Ok(())
        }
        #[cfg(not(target_endian = "little"))]
        self.write_converted(record)
    }

    #[cfg(not(target_endian = "little"))]
    fn write_converted(&mut self, record: &[u32]) -> Result<()> {
        let mut bytes = [0u8; 64];
        if record.len() <= 16 {
            for (b, w) in bytes.chunks_exact_mut(4).zip(record) {
                b.copy_from_slice(&w.to_le_bytes());
            }
            self.out
                .write_all(&bytes[..record.len() * 4])
                .map_err(|e| write_error(self.out.get_ref().path(), e))?;
        } else {
            for w in record {
                self.out
                    .write_all(&w.to_le_bytes())
                    .map_err(|e| write_error(self.out.get_ref().path(), e))?;
            }
        }
        self.records += 1;
        Ok(())
    }

    /// Flushes and returns the finished file.
    pub fn finish(self) -> Result<Run> {
        let width = self.width;
        let records = self.records;
        let file = self.out.into_inner().map_err(|e| {
            let (err, writer) = e.into_parts();
            write_error(writer.get_ref().path(), err)
        })?;
        let temp = file.into_temp_path();
        Ok(Run {
            path: temp.to_path_buf(),
            temp: Some(temp),
            records,
            width,
        })
    }
}

fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::io("cannot write temp file (is the disk full?)", path, e)
}

/// Reads the records of a [`Run`] in order.
pub struct RecordReader {
    inner: BufReader<File>,
    width: usize,
    #[cfg(not(target_endian = "little"))]
    bytes: Vec<u8>,
    path: PathBuf,
    left: u64,
}

impl RecordReader {
    /// Reads the next record into `out` (width words); false at the end.
    #[inline]
    pub fn read(&mut self, out: &mut [u32]) -> Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        #[cfg(target_endian = "little")]
        let got = self
            .inner
            .read_exact(word_bytes_mut(&mut out[..self.width]));
        #[cfg(not(target_endian = "little"))]
        let got = self.inner.read_exact(&mut self.bytes);
        match got {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                return Err(Error::Internal(format!(
                    "temp file {} ended early",
                    self.path.display()
                )))
            }
            Err(e) => return Err(Error::io("cannot read temp file", &self.path, e)),
        }
        #[cfg(not(target_endian = "little"))]
        for (w, b) in out.iter_mut().zip(self.bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        self.left -= 1;
        Ok(true)
    }

    /// Words per record.
    pub fn width(&self) -> usize {
        self.width
    }
}

/// The output of a sort: records in order, equal keys combined.
pub struct SortedStream {
    width: usize,
    inner: Inner,
}

enum Inner {
    Memory {
        words: Vec<u32>,
        pos: usize,
    },
    Merge(Box<Merger>),
    File {
        _run: Run,
        reader: RecordReader,
        cur: Vec<u32>,
    },
}

impl SortedStream {
    /// A stream over records already in order, held in memory (`width` words each).
    pub fn in_memory(words: Vec<u32>, width: usize) -> Self {
        SortedStream {
            width,
            inner: Inner::Memory { words, pos: 0 },
        }
    }

    /// The records not yet read, as one buffer, if the stream is held in memory (a sort that
    /// did not spill; the stream is then left empty); else `None`, the stream untouched. Lets a
    /// stage that turns each record into at most one new record of the same width work in
    /// place instead of filling a second buffer.
    pub fn take_words(&mut self) -> Option<Vec<u32>> {
        match &mut self.inner {
            Inner::Memory { words, pos } => {
                let mut words = std::mem::take(words);
                words.drain(..*pos);
                *pos = 0;
                Some(words)
            }
            _ => None,
        }
    }

    /// The records not yet read, if the stream is held in memory, all marked read (the buffer
    /// stays with the stream, for [`SortedStream::into_buffer`]); else `None`, the stream
    /// untouched. Lets a stage read the records from several threads at once.
    pub fn rest_in_memory(&mut self) -> Option<&[u32]> {
        match &mut self.inner {
            Inner::Memory { words, pos } => {
                let start = (*pos).min(words.len());
                *pos = words.len();
                Some(&words[start..])
            }
            _ => None,
        }
    }

    /// The buffer of a stream held in memory, emptied (its pages still mapped), for the job's
    /// next sort ([`super::Sorter::with_buffer`]); an empty vector for a stream read from disk.
    pub fn into_buffer(self) -> Vec<u32> {
        match self.inner {
            Inner::Memory { mut words, .. } => {
                words.clear();
                words
            }
            _ => Vec::new(),
        }
    }

    /// A stream over a file of records already in order.
    pub fn from_run(run: Run) -> Result<Self> {
        let reader = run.reader()?;
        let width = run.width;
        Ok(SortedStream {
            width,
            inner: Inner::File {
                _run: run,
                reader,
                cur: vec![0; width],
            },
        })
    }

    /// Words per record.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The next record, or `None` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<&[u32]>> {
        match &mut self.inner {
            Inner::Memory { words, pos } => {
                if *pos >= words.len() {
                    return Ok(None);
                }
                let start = *pos;
                *pos += self.width;
                Ok(Some(&words[start..start + self.width]))
            }
            Inner::File { reader, cur, .. } => {
                if reader.read(cur)? {
                    Ok(Some(&cur[..]))
                } else {
                    Ok(None)
                }
            }
            Inner::Merge(m) => m.next(),
        }
    }

    /// Writes the remaining records to a new run file.
    pub fn into_run(mut self, temp: &TempDir) -> Result<Run> {
        let mut w = RecordWriter::create(temp, self.width)?;
        while let Some(r) = self.next()? {
            w.write(r)?;
        }
        w.finish()
    }
}

/// A k-way merge of sorted runs with a binary heap of run indices.
struct Merger {
    layout: Layout,
    order: KeyOrder,
    combine: Option<Combine>,
    readers: Vec<RecordReader>,
    _runs: Vec<Run>,
    heads: Vec<Vec<u32>>,
    heap: Vec<usize>,
    cur: Vec<u32>,
    cancel: Cancel,
    since_check: u32,
}

impl Merger {
    fn new(
        runs: Vec<Run>,
        layout: Layout,
        order: KeyOrder,
        combine: Option<Combine>,
        cancel: &Cancel,
    ) -> Result<Self> {
        let width = layout.width();
        let mut readers = Vec::with_capacity(runs.len());
        let mut heads = Vec::with_capacity(runs.len());
        let mut heap = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter().enumerate() {
            let mut r = run.reader()?;
            let mut head = vec![0u32; width];
            if r.read(&mut head)? {
                heap.push(i);
            }
            readers.push(r);
            heads.push(head);
        }
        let mut m = Merger {
            layout,
            order,
            combine,
            readers,
            _runs: runs,
            heads,
            heap,
            cur: vec![0; width],
            cancel: cancel.clone(),
            since_check: 0,
        };
        for i in (0..m.heap.len() / 2).rev() {
            m.sift_down(i);
        }
        Ok(m)
    }

    #[inline]
    fn less(&self, a: usize, b: usize) -> bool {
        let k = self.layout.key_words;
        match self.order.compare(&self.heads[a][..k], &self.heads[b][..k]) {
            Ordering::Less => true,
            Ordering::Greater => false,
            // Equal keys: the earlier run first, so the merge is stable.
            Ordering::Equal => a < b,
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let mut m = l;
            if r < n && self.less(self.heap[r], self.heap[l]) {
                m = r;
            }
            if self.less(self.heap[m], self.heap[i]) {
                self.heap.swap(m, i);
                i = m;
            } else {
                break;
            }
        }
    }

    /// Moves the smallest head into `into` and advances its run.
    fn pop_into(&mut self, into_cur: bool) -> Result<bool> {
        let Some(&top) = self.heap.first() else {
            return Ok(false);
        };
        let k = self.layout.key_words;
        if into_cur {
            self.cur.copy_from_slice(&self.heads[top]);
        } else if let Some(combine) = self.combine {
            let (cur, head) = (&mut self.cur, &self.heads[top]);
            combine(&mut cur[k..], &head[k..]);
        }
        let more = self.readers[top].read(&mut self.heads[top])?;
        if !more {
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
        }
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        Ok(true)
    }

    fn next(&mut self) -> Result<Option<&[u32]>> {
        self.since_check += 1;
        if self.since_check >= 1 << 16 {
            self.since_check = 0;
            self.cancel.check()?;
        }
        if !self.pop_into(true)? {
            return Ok(None);
        }
        if self.combine.is_some() {
            let k = self.layout.key_words;
            while let Some(&top) = self.heap.first() {
                if self.heads[top][..k] != self.cur[..k] {
                    break;
                }
                self.pop_into(false)?;
            }
        }
        Ok(Some(&self.cur[..]))
    }
}

/// Merges `runs` into one stream, in several passes when there are more than [`MAX_FAN_IN`].
pub(super) fn merge_all(
    mut runs: Vec<Run>,
    layout: Layout,
    order: KeyOrder,
    combine: Option<Combine>,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<SortedStream> {
    while runs.len() > MAX_FAN_IN {
        let mut next = Vec::with_capacity(runs.len() / MAX_FAN_IN + 1);
        let mut it = runs.into_iter();
        loop {
            let group: Vec<Run> = it.by_ref().take(MAX_FAN_IN).collect();
            if group.is_empty() {
                break;
            }
            if group.len() == 1 {
                next.extend(group);
                continue;
            }
            let mut merger = Merger::new(group, layout, order, combine, cancel)?;
            let mut w = RecordWriter::create(temp, layout.width())?;
            while let Some(r) = merger.next()? {
                w.write(r)?;
            }
            next.push(w.finish()?);
        }
        runs = next;
    }
    Ok(SortedStream {
        width: layout.width(),
        inner: Inner::Merge(Box::new(Merger::new(runs, layout, order, combine, cancel)?)),
    })
}
