//! Count files: the counted order-N windows of a corpus with its vocabulary, the seam for
//! counting shards of a corpus separately (on other machines) and estimating once.
//!
//! Layout (little-endian): the magic `KNESERC` and a version byte, `order u32`, `tokens u64`,
//! `words u64`, `records u64`, then each word as `len u32` and its bytes (in id order, the three
//! specials first), the *vocabulary checksum* `u64`, then the records
//! `[w0 .. w(N-1) | count u64]` in suffix order, then the *records checksum* `u64`, and nothing
//! after it.
//!
//! Checksums ([`crate::io::Checksum`], version 2): the vocabulary checksum covers the bytes of
//! `order`, `tokens` and `words` and every word (length and bytes); the records checksum covers
//! the record bytes followed by `records` (the count is written last, once known). A reader
//! verifies them as it streams, the first after the last word, the second after the last record,
//! so a corrupted count file is a `Format` error naming the file and the offset of the checksum
//! that failed, never another model. Version-1 files (no checksums) are still read, unchecked.
//!
//! Merging files A, B, ... gives the windows of the concatenated corpus: the merged vocabulary
//! is A's, then B's new words in B's order (exactly the first-appearance order of A then B),
//! each file's ids are mapped onto it, and the records are re-sorted and combined by the
//! external sorter. Memory: the vocabularies plus the sort budget.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::count::{window_sorter, Vocabulary};
use crate::arpa::reader::MAX_ARPA_ORDER;
use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Result};
use crate::io::{AtomicFile, Checksum};
use crate::sort::{SortedStream, Sorter, TempDir};

/// Byte offset of the record count in the header.
const RECORDS_OFFSET: u64 = 8 + 4 + 8 + 8;

/// The header of a count file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountsHeader {
    /// Order of the windows.
    pub order: usize,
    /// Tokens counted.
    pub tokens: u64,
    /// Vocabulary size, specials included.
    pub words: u64,
    /// Distinct windows.
    pub records: u64,
}

/// Writes `vocab` and the sorted `windows` to `path` (atomically); returns the header.
pub fn write_counts(
    path: &Path,
    vocab: &Vocabulary,
    mut windows: SortedStream,
    order: usize,
    tokens: u64,
    cancel: &Cancel,
) -> Result<CountsHeader> {
    let name = path.display().to_string();
    let werr = |e| Error::io("cannot write", &name, e);
    let mut out = AtomicFile::create(path)?;
    let mut sum = Checksum::new();
    let put = |out: &mut AtomicFile, sum: &mut Checksum, bytes: &[u8]| {
        sum.update(bytes);
        out.write_all(bytes).map_err(werr)
    };
    out.write_all(MAGIC).map_err(werr)?;
    put(&mut out, &mut sum, &(order as u32).to_le_bytes())?;
    put(&mut out, &mut sum, &tokens.to_le_bytes())?;
    put(&mut out, &mut sum, &(vocab.len() as u64).to_le_bytes())?;
    // The record count is patched in at the end (and checked by the records checksum).
    out.write_all(&0u64.to_le_bytes()).map_err(werr)?;
    for id in 0..vocab.len() as u32 {
        let w = vocab.word(id);
        put(&mut out, &mut sum, &(w.len() as u32).to_le_bytes())?;
        put(&mut out, &mut sum, w)?;
    }
    out.write_all(&sum.finish().to_le_bytes()).map_err(werr)?;
    let mut sum = Checksum::new();
    let mut body: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut records: u64 = 0;
    while let Some(r) = windows.next()? {
        for w in r {
            body.extend_from_slice(&w.to_le_bytes());
        }
        records += 1;
        if body.len() >= 1 << 20 {
            put(&mut out, &mut sum, &body)?;
            body.clear();
            cancel.check()?;
        }
    }
    put(&mut out, &mut sum, &body)?;
    sum.update(&records.to_le_bytes());
    out.write_all(&sum.finish().to_le_bytes()).map_err(werr)?;
    out.patch(RECORDS_OFFSET, &records.to_le_bytes())?;
    out.commit()?;
    Ok(CountsHeader {
        order,
        tokens,
        words: vocab.len() as u64,
        records,
    })
}

/// The magic bytes of a count file (version 2, with checksums).
const MAGIC: &[u8; 8] = b"KNESERC\x02";
/// The magic bytes of version 1 (no checksums), still read.
const MAGIC_V1: &[u8; 8] = b"KNESERC\x01";
/// Longest word accepted in a count file, a guard against corrupt lengths.
const MAX_WORD_BYTES: usize = 1 << 24;

/// A count file opened for reading: its header, then its words, then its records.
pub(crate) struct CountsFile {
    inner: BufReader<std::fs::File>,
    pub(crate) name: String,
    pub(crate) offset: u64,
    pub(crate) header: CountsHeader,
    /// The file's size in bytes.
    size: u64,
    /// The running checksum of the part being read; None for a version-1 file.
    sum: Option<Checksum>,
    /// Records read so far.
    read: u64,
    /// The sum of their counts (checked: it bounds every sum the estimator forms).
    pub(crate) counted: u64,
}

impl CountsFile {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let f = std::fs::File::open(path).at_path("cannot open", path)?;
        let mut r = CountsFile {
            inner: BufReader::with_capacity(1 << 20, f),
            name: path.display().to_string(),
            offset: 0,
            header: CountsHeader {
                order: 0,
                tokens: 0,
                words: 0,
                records: 0,
            },
            size: 0,
            sum: None,
            read: 0,
            counted: 0,
        };
        let mut magic = [0u8; 8];
        r.exact(&mut magic, "the magic bytes")?;
        if &magic == MAGIC {
            r.sum = Some(Checksum::new());
        } else if &magic != MAGIC_V1 {
            let message = if magic[..7] == MAGIC[..7] {
                format!(
                    "count file format version {} is not known to this kneser (it reads 1 and \
                     2); upgrade kneser or recount",
                    magic[7]
                )
            } else {
                "not a kneser count file (bad magic bytes at offset 0); make one with `kneser count`"
                    .into()
            };
            return Err(Error::format(&r.name, 0, message));
        }
        let order = r.u32("the order")? as usize;
        let tokens = r.u64("the token count")?;
        let words = r.u64("the vocabulary size")?;
        // The record count is not in the vocabulary checksum (see the module doc).
        let sum = r.sum.take();
        let records = r.u64("the record count")?;
        r.sum = sum;
        r.header = CountsHeader {
            order,
            tokens,
            words,
            records,
        };
        if r.header.order == 0 || r.header.words < 3 {
            return Err(Error::format(&r.name, 0, "corrupt count file header"));
        }
        // Nothing is sized from the header beyond what the file can hold: every word takes at
        // least its 4-byte length, every record (order + 2) * 4 bytes.
        let size = r
            .inner
            .get_ref()
            .metadata()
            .at_path("cannot read", path)?
            .len();
        r.size = size;
        let sums = if r.sum.is_some() { 16 } else { 0 };
        let rest = size.saturating_sub(r.offset + sums);
        let order = r.header.order as u64;
        let record_bytes = order.saturating_add(2).saturating_mul(4);
        let fits = r.header.words.saturating_mul(4) <= rest
            && r.header.records.saturating_mul(record_bytes) <= rest
            && r.header.order <= MAX_ARPA_ORDER;
        if !fits {
            return Err(Error::format(
                &r.name,
                0,
                format!(
                    "corrupt count file header: order {}, {} words and {} records cannot fit in \
                     its {size} bytes (or the order is above {})",
                    r.header.order, r.header.words, r.header.records, MAX_ARPA_ORDER
                ),
            ));
        }
        Ok(r)
    }

    pub(crate) fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                if let Some(sum) = self.sum.as_mut() {
                    sum.update(buf);
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::format(
                &self.name,
                0,
                format!(
                    "truncated count file: {what} expected at byte offset {}",
                    self.offset
                ),
            )),
            Err(e) => Err(Error::io("cannot read", &self.name, e)),
        }
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        let mut b = [0u8; 4];
        self.exact(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64> {
        let mut b = [0u8; 8];
        self.exact(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Calls `f` with each word of the vocabulary, in id order.
    pub(crate) fn for_each_word(&mut self, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let mut word = Vec::new();
        for _ in 0..self.header.words {
            let len = self.u32("a word length")? as usize;
            if len > MAX_WORD_BYTES {
                return Err(Error::format(
                    &self.name,
                    0,
                    format!(
                        "corrupt word length {len} at byte offset {}",
                        self.offset - 4
                    ),
                ));
            }
            word.resize(len, 0);
            let mut w = std::mem::take(&mut word);
            self.exact(&mut w, "a word")?;
            f(&w)?;
            word = w;
        }
        self.verify("the vocabulary")?;
        if self.header.records == 0 {
            self.verify_records()?;
        }
        Ok(())
    }

    /// Reads the stored checksum of the part just read (`what`) and compares it with the
    /// running one; a mismatch is a `Format` error naming the offset. Version 1: nothing.
    fn verify(&mut self, what: &str) -> Result<()> {
        let Some(sum) = self.sum.take() else {
            return Ok(());
        };
        let at = self.offset;
        let stored = self.u64("a checksum")?;
        if stored != sum.finish() {
            return Err(Error::format(
                &self.name,
                0,
                format!(
                    "corrupt count file: the checksum of {what} at byte offset {at} does not \
                     match its contents; the file was damaged after `kneser count` wrote it \
                     (copy it again, or count again)"
                ),
            ));
        }
        self.sum = Some(Checksum::new());
        Ok(())
    }

    /// After the last record: the records checksum (which covers the record count too), and
    /// the end of the file.
    fn verify_records(&mut self) -> Result<()> {
        if let Some(sum) = self.sum.as_mut() {
            sum.update(&self.header.records.to_le_bytes());
        } else {
            return Ok(());
        }
        self.verify("the records")?;
        if self.offset != self.size {
            return Err(Error::format(
                &self.name,
                0,
                format!(
                    "corrupt count file: {} unexpected bytes after the records checksum at byte \
                     offset {}",
                    self.size.saturating_sub(self.offset),
                    self.offset
                ),
            ));
        }
        Ok(())
    }

    /// Reads the next record (`order` ids and a u64 count as 2 words) into `rec`.
    /// Reading the last record also verifies the records checksum. A count of 0, or counts
    /// adding up beyond 2^64 (which would wrap in the sums of the estimator), is a `Format`
    /// error: no count file kneser writes holds them.
    pub(crate) fn record(&mut self, bytes: &mut [u8], rec: &mut [u32]) -> Result<()> {
        self.exact(bytes, "a record")?;
        for (w, b) in rec.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let count = crate::sort::get_u64(&rec[self.header.order..]);
        let total = self.counted.checked_add(count).filter(|_| count > 0);
        self.counted = total.ok_or_else(|| {
            Error::format(
                &self.name,
                0,
                format!(
                    "corrupt count file: a window counted {count} times (0, or counts adding up \
                     beyond 2^64) near byte offset {}",
                    self.offset
                ),
            )
        })?;
        self.read += 1;
        if self.read == self.header.records {
            self.verify_records()?;
        }
        Ok(())
    }

    pub(crate) fn bad_id(&self, id: u32) -> Error {
        Error::format(
            &self.name,
            0,
            format!("word id {id} out of range near byte offset {}", self.offset),
        )
    }
}

/// `total` plus the counts of `file`, checked: the windows of all files merged must not count
/// beyond 2^64 (the sums of equal windows and of the adjusted counts would wrap).
pub(crate) fn add_counts(total: u64, file: &CountsFile) -> Result<u64> {
    total.checked_add(file.counted).ok_or_else(|| {
        Error::format(
            &file.name,
            0,
            "the counts of the count files add up beyond 2^64: one of them is corrupt",
        )
    })
}

/// Reads and merges count files; returns the merged vocabulary, the windows in suffix order,
/// the order and the tokens.
pub fn read_counts(
    paths: &[PathBuf],
    memory: usize,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<(Vocabulary, SortedStream, usize, u64)> {
    let mut vocab = Vocabulary::with_specials();
    let mut order: Option<usize> = None;
    let mut tokens = 0u64;
    let mut sorter: Option<Sorter> = None;
    let mut counted = 0u64;
    for path in paths {
        let mut r = CountsFile::open(path)?;
        let h = r.header;
        match order {
            None => order = Some(h.order),
            Some(o) if o != h.order => {
                return Err(Error::InvalidArgument(format!(
                    "count files of different orders cannot be merged: {} has order {}, the first has {o}",
                    path.display(),
                    h.order
                )))
            }
            _ => {}
        }
        tokens += h.tokens;
        let mut map = Vec::with_capacity(h.words as usize);
        r.for_each_word(|w| {
            map.push(vocab.insert(w));
            Ok(())
        })?;
        let n = h.order;
        let s = sorter.get_or_insert_with(|| window_sorter(n, memory, temp, cancel));
        let mut bytes = vec![0u8; (n + 2) * 4];
        let mut rec = vec![0u32; n + 2];
        for _ in 0..h.records {
            r.record(&mut bytes, &mut rec)?;
            for w in rec[..n].iter_mut() {
                *w = *map.get(*w as usize).ok_or_else(|| r.bad_id(*w))?;
            }
            s.push(&rec)?;
        }
        counted = add_counts(counted, &r)?;
    }
    let order = order.ok_or_else(|| Error::InvalidArgument("no count files given".into()))?;
    let stream = match sorter {
        Some(s) => s.finish()?,
        None => return Err(Error::InvalidArgument("no count files given".into())),
    };
    Ok((vocab, stream, order, tokens))
}
