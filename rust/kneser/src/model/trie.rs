//! KenLM's trie layouts (binary format version 5, model types 2 to 5): plain, with quantized
//! probabilities and backoffs (`-q`, `-b`), with array-compressed pointers (`-a`), with and
//! without the vocabulary strings; read and written byte for byte.
//!
//! Input (load): a trie file's bytes; output: a [`Model`] scoring on them in place
//! ([`super::trie_search`]), after the size and header checks. Input (decode, to write the model
//! in another layout): the same bytes; output: [`Grams`], every n-gram of the file with its
//! stored (for quantized files: decoded) values. Input (write): [`Grams`] from an ARPA file;
//! output: the bytes `build_binary trie` writes.
//!
//! The sections, after the header (`docs/kenlm-binary.md` has them byte by byte):
//!
//! | section | size |
//! |---|---|
//! | sorted vocabulary: `u64` count (words without `<unk>`), the words' MurmurHash64A keys in increasing order, one spare slot | `8 + 8 * c1` |
//! | quantization tables (types 3, 5): version 2, prob bits, backoff bits (in 8 bytes), then per middle order `2^q` prob centers and `2^b` backoff centers, then `2^q` for the highest order (`f32`) | `8 + 4 ((N-2)(2^q + 2^b) + 2^q)` |
//! | unigrams: `f32` log10 p, `f32` backoff, `u64` first bigram, per id; then the end pointer; then a spare entry | `16 (c1 + 2)` |
//! | each middle order n: (types 4, 5) version 0, `-a` bits, offsets array aligned to 8; then the bit-packed entries: word id, prob and backoff (31 + 32 bits, or `q + b` indices), pointer to the first child | see [`Geometry`] |
//! | highest order: bit-packed word id and prob (31 bits or `q`) | |
//! | vocabulary strings (with the vocabulary flag): `<unk>\0` then every word in id order | |
//!
//! Ids are ranks of the words' keys (`<unk>` is 0), n-grams are stored newest word first and
//! sorted so, each node's children contiguous; bits are packed little-endian from bit 0.
//!
//! Errors: sizes, bit widths, versions, counts or pointers that disagree with the file give an
//! [`Error::Format`] naming the byte offset and what was expected.
//!
//! Memory: loading maps the file (or copies it, with [`super::LoadMethod::Read`]) and reads the
//! unigram pointers; decoding holds every n-gram once (about 12 bytes each); writing holds the
//! n-grams (ids and values) and the output image.

use crate::error::{Error, Result};

use super::probing::{combine, with_sign, without_sign, TableMut, UNIGRAM_ENTRY, VOCAB_ENTRY};
use super::{Model, Storage};

/// Model type of a plain trie (`lm/model_type.hh`); `+1` quantized, `+2` array pointers.
pub(crate) const TRIE: u32 = 2;
const QUANT_ADD: u32 = 1;
const ARRAY_ADD: u32 = 2;
/// The trie's search version in the header.
pub(crate) const TRIE_VERSION: u32 = 1;
const QUANT_VERSION: u8 = 2;
const ARRAY_VERSION: u8 = 0;
/// Bytes of one unigram record (prob, backoff, next).
const UNIGRAM_VALUE: usize = 16;
/// The largest quantization width (`build_binary`'s limit).
pub const MAX_QUANT_BITS: u8 = 25;

/// How a trie is laid out (`build_binary trie [-q bits] [-b bits] [-a bits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrieOptions {
    /// Quantize: (probability bits, backoff bits), each 1 to 25 (`-q`, `-b`).
    pub quantize: Option<(u8, u8)>,
    /// Compress pointers with an offsets array, chopping at most this many bits (`-a`).
    pub array_bits: Option<u8>,
}

impl TrieOptions {
    pub(crate) fn model_type(&self) -> u32 {
        TRIE + if self.quantize.is_some() {
            QUANT_ADD
        } else {
            0
        } + if self.array_bits.is_some() {
            ARRAY_ADD
        } else {
            0
        }
    }

    /// Checks the bit widths as `build_binary` does.
    pub fn check(&self) -> Result<()> {
        if let Some((q, b)) = self.quantize {
            for (what, v) in [("probability", q), ("backoff", b)] {
                if v == 0 || v > MAX_QUANT_BITS {
                    return Err(Error::InvalidArgument(format!(
                        "{what} quantization takes 1 to {MAX_QUANT_BITS} bits, not {v}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The bits needed to store `max` (0 for 0; KenLM's `RequiredBits`).
pub(crate) fn required_bits(max: u64) -> u8 {
    (64 - max.leading_zeros()) as u8
}

/// The `len`-bit value (len <= 57) at bit `bit` of `bytes`, little-endian (0 past the end).
#[inline]
pub(crate) fn read_bits(bytes: &[u8], bit: u64, len: u8) -> u64 {
    let at = (bit >> 3) as usize;
    let mut a = [0u8; 8];
    if let Some(b) = bytes.get(at..at + 8) {
        a.copy_from_slice(b);
    } else if at < bytes.len() {
        let n = bytes.len() - at;
        a[..n].copy_from_slice(&bytes[at..]);
    }
    (u64::from_le_bytes(a) >> (bit & 7)) & ((1u64 << len) - 1)
}

/// ORs the `len`-bit `value` in at bit `bit` (the bytes start zeroed, as KenLM assumes).
#[inline]
fn write_bits(bytes: &mut [u8], bit: u64, value: u64) {
    let at = (bit >> 3) as usize;
    let mut a = [0u8; 8];
    a.copy_from_slice(&bytes[at..at + 8]);
    let v = u64::from_le_bytes(a) | (value << (bit & 7));
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn align8(n: u64) -> u64 {
    n.div_ceil(8) * 8
}

/// One bit-packed array: entry `i` starts at bit `i * total`: word id, value bits, pointer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed {
    /// Byte offset of the array.
    pub at: usize,
    pub word_bits: u8,
    /// Bits of the pointer stored in the entry (after chopping, with an offsets array).
    pub next_bits: u8,
    pub total: u8,
    /// Bytes of the array, with its extra entry and 8 bytes of slack.
    pub len: usize,
}

impl Packed {
    fn new(at: u64, entries: u64, max_vocab: u64, value_bits: u8, next_bits: u8) -> Option<Self> {
        let word_bits = required_bits(max_vocab);
        let total = word_bits.checked_add(value_bits)?.checked_add(next_bits)?;
        if word_bits > 57 || next_bits > 57 {
            return None;
        }
        let len = entries
            .checked_add(1)?
            .checked_mul(u64::from(total))?
            .checked_add(7)?
            / 8
            + 8;
        Some(Packed {
            at: usize::try_from(at).ok()?,
            word_bits,
            next_bits,
            total,
            len: usize::try_from(len).ok()?,
        })
    }

    #[inline]
    pub(crate) fn bit(&self, i: u64) -> u64 {
        (self.at as u64) * 8 + i * u64::from(self.total)
    }
}

/// The offsets array of a middle order (`-a`): `offsets[k]` is the first entry whose pointer is
/// at least `k << next_bits`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OffsetsArray {
    /// Where the version and bits bytes are.
    pub header: usize,
    /// Where the `u64` offsets start (8-byte aligned, after an 8-byte header).
    pub at: usize,
    pub count: usize,
}

/// KenLM's choice of chopped bits: the size-minimizing count up to `limit` (`ChopBits`).
fn chop_bits(max_offset: u64, max_next: u64, limit: u8) -> u8 {
    let required = required_bits(max_next);
    let mut best = 0u8;
    let mut lowest = i128::MAX;
    for chop in 0..=required.min(limit) {
        let change = i128::from(max_next >> (required - chop)) * 64
            - i128::from(max_offset) * i128::from(chop);
        if change < lowest {
            lowest = change;
            best = chop;
        }
    }
    best
}

#[derive(Debug, Clone)]
pub(crate) struct Middle {
    pub array: Option<OffsetsArray>,
    pub packed: Packed,
}

/// Byte offsets of every section of a trie file for given counts and options.
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    pub options: TrieOptions,
    pub vocab: usize,
    pub quant: usize,
    pub quant_len: usize,
    pub unigrams: usize,
    pub middles: Vec<Middle>,
    pub longest: Packed,
    /// The end of the search structures (where the vocabulary strings start).
    pub end: usize,
}

impl Geometry {
    /// The layout after a header of `header` bytes; `None` if a size overflows or a count
    /// needs more than 57 bits.
    pub(crate) fn new(header: usize, counts: &[u64], options: TrieOptions) -> Option<Geometry> {
        let order = counts.len();
        let c1 = counts[0];
        let vocab = header as u64;
        let quant = vocab.checked_add(c1.checked_mul(8)?.checked_add(8)?)?;
        let quant_len = match options.quantize {
            None => 0,
            Some((q, b)) => {
                let (q, b) = (1u64 << q, 1u64 << b);
                ((order as u64 - 2) * (q + b) + q) * 4 + 8
            }
        };
        let unigrams = quant + quant_len;
        let mut at = unigrams.checked_add(c1.checked_add(2)?.checked_mul(UNIGRAM_VALUE as u64)?)?;
        let (mid_bits, long_bits) = match options.quantize {
            None => (63u8, 31u8),
            Some((q, b)) => (q + b, q),
        };
        let mut middles = Vec::with_capacity(order.saturating_sub(2));
        for n in 2..order {
            let entries = counts[n - 1];
            let max_next = counts[n];
            let required = required_bits(max_next);
            let (array, next_bits, array_len) = match options.array_bits {
                None => (None, required, 0),
                Some(limit) => {
                    let chop = chop_bits(entries.checked_add(1)?, max_next, limit);
                    let count = (max_next >> (required - chop)) + 1;
                    let len = 8 * (1 + count) + 7;
                    let offsets = align8(at) + 8;
                    (
                        Some(OffsetsArray {
                            header: usize::try_from(at).ok()?,
                            at: usize::try_from(offsets).ok()?,
                            count: usize::try_from(count).ok()?,
                        }),
                        required - chop,
                        len,
                    )
                }
            };
            let packed = Packed::new(at.checked_add(array_len)?, entries, c1, mid_bits, next_bits)?;
            at = (packed.at as u64).checked_add(packed.len as u64)?;
            middles.push(Middle { array, packed });
        }
        let longest = Packed::new(at, counts[order - 1], c1, long_bits, 0)?;
        let end = (longest.at as u64).checked_add(longest.len as u64)?;
        Some(Geometry {
            options,
            vocab: usize::try_from(vocab).ok()?,
            quant: usize::try_from(quant).ok()?,
            quant_len: usize::try_from(quant_len).ok()?,
            unigrams: usize::try_from(unigrams).ok()?,
            middles,
            longest,
            end: usize::try_from(end).ok()?,
        })
    }

    /// Byte offset of the prob centers (`which` 0) or backoff centers (1) of order `n`.
    pub(crate) fn centers(&self, n: usize, which: usize) -> usize {
        let (q, b) = self.options.quantize.unwrap_or((0, 0));
        let (q, b) = (1usize << q, 1usize << b);
        let order = self.middles.len() + 2;
        if n == order {
            self.quant + 8 + (order - 2) * (q + b) * 4
        } else {
            self.quant + 8 + (n - 2) * (q + b) * 4 + which * q * 4
        }
    }
}

/// One order above the unigrams, in trie order (newest word first, sorted).
#[derive(Debug, Clone, Default)]
pub(crate) struct Level {
    /// The word of each entry (the oldest word of its n-gram).
    pub words: Vec<u32>,
    pub probs: Vec<f32>,
    /// Empty for the highest order.
    pub backoffs: Vec<f32>,
    /// For orders below the highest: the first child of each entry, then the end (count + 1).
    pub next: Vec<u64>,
}

/// Every n-gram of a model in the trie's terms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grams {
    pub counts: Vec<u64>,
    /// The vocabulary keys in increasing order; the word with key `hashes[i]` has id `i + 1`.
    pub hashes: Vec<u64>,
    /// `<unk>\0` and every word NUL-terminated in id order, if known.
    pub strings: Option<Vec<u8>>,
    /// `(log10 p, backoff)` by id.
    pub unigrams: Vec<(f32, f32)>,
    /// The first bigram of each unigram, then the end (`counts[0] + 1`).
    pub unigram_next: Vec<u64>,
    /// `levels[n - 2]` holds order `n`.
    pub levels: Vec<Level>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    name: &'a str,
}

impl Reader<'_> {
    fn error(&self, offset: usize, message: impl std::fmt::Display) -> Error {
        Error::format(
            self.name,
            0,
            format!("not a usable KenLM binary model at byte {offset}: {message}"),
        )
    }

    fn u64(&self, at: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_le_bytes(a)
    }

    fn f32(&self, at: usize) -> f32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.bytes[at..at + 4]);
        f32::from_le_bytes(a)
    }
}

/// Reads the options a trie file stores (quantization bits, array bits) and its geometry,
/// checking them and the file size.
pub(crate) fn parse_geometry(
    bytes: &[u8],
    name: &str,
    header: usize,
    counts: &[u64],
    model_type: u32,
    has_vocab: bool,
) -> Result<Geometry> {
    let r = Reader { bytes, name };
    let order = counts.len();
    let quantized = (model_type - TRIE) & QUANT_ADD != 0;
    let array = (model_type - TRIE) & ARRAY_ADD != 0;
    let c1 = counts[0];
    let quant_at = c1
        .checked_mul(8)
        .and_then(|v| v.checked_add(8 + header as u64))
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v <= bytes.len())
        .ok_or_else(|| {
            r.error(
                super::binary::COUNTS_AT,
                format!(
                    "the unigram count {c1} gives a vocabulary beyond the file's {} bytes",
                    bytes.len()
                ),
            )
        })?;
    let mut options = TrieOptions::default();
    if quantized {
        let Some(q) = bytes.get(quant_at..quant_at + 3) else {
            return Err(r.error(quant_at, "the file ends before its quantization header"));
        };
        if q[0] != QUANT_VERSION {
            return Err(r.error(
                quant_at,
                format!(
                    "expected quantization version {QUANT_VERSION}, found {}",
                    q[0]
                ),
            ));
        }
        for (i, what) in [(1, "probability"), (2, "backoff")] {
            if q[i] == 0 || q[i] > MAX_QUANT_BITS {
                return Err(r.error(
                    quant_at + i,
                    format!(
                        "expected {what} quantization bits from 1 to {MAX_QUANT_BITS}, found {}",
                        q[i]
                    ),
                ));
            }
        }
        options.quantize = Some((q[1], q[2]));
    }
    if array {
        // The array bits are stored at the start of the first middle order; a bigram model has
        // none (and needs none).
        let quant_len = Geometry::new(header, counts, options)
            .map(|g| g.quant_len)
            .unwrap_or(0);
        let at = (quant_at + quant_len) as u64 + (c1 + 2) * UNIGRAM_VALUE as u64;
        if order > 2 {
            let at = usize::try_from(at).unwrap_or(usize::MAX);
            let Some(h) = bytes.get(at..at.saturating_add(2)) else {
                return Err(r.error(
                    bytes.len(),
                    "the file ends before the header of its pointer offsets (truncated)",
                ));
            };
            if h[0] != ARRAY_VERSION {
                return Err(r.error(
                    at,
                    format!(
                        "expected pointer-array version {ARRAY_VERSION}, found {}",
                        h[0]
                    ),
                ));
            }
            options.array_bits = Some(h[1]);
        } else {
            options.array_bits = Some(0);
        }
    }
    let g = Geometry::new(header, counts, options).ok_or_else(|| {
        r.error(
            super::binary::COUNTS_AT,
            "the n-gram counts give a size beyond the address space",
        )
    })?;
    if bytes.len() < g.end {
        return Err(r.error(
            bytes.len(),
            format!(
                "the counts and layout need {} bytes of tables, the file has {} (truncated?)",
                g.end,
                bytes.len()
            ),
        ));
    }
    if has_vocab {
        let strings = &bytes[g.end..];
        if !strings.starts_with(b"<unk>\0") {
            return Err(r.error(
                g.end,
                "expected the vocabulary strings, starting with `<unk>\\0`",
            ));
        }
        // The last word is checked by `load` (by the vocabulary's lookup); the words are counted
        // when a caller needs them (`check_vocab_strings`), never on load.
    } else if bytes.len() != g.end {
        return Err(r.error(
            g.end,
            format!(
                "expected the file to end here ({} bytes), it has {}",
                g.end,
                bytes.len()
            ),
        ));
    }
    Ok(g)
}

/// Decodes every n-gram of a trie file laid out as `g`.
pub(crate) fn decode(
    bytes: &[u8],
    name: &str,
    counts: &[u64],
    g: &Geometry,
    has_vocab: bool,
) -> Result<Grams> {
    let r = Reader { bytes, name };
    let order = counts.len();
    let c1 = counts[0];
    let words = r.u64(g.vocab);
    if words.checked_add(1) != Some(c1) {
        return Err(r.error(
            g.vocab,
            format!(
                "expected {} vocabulary keys (the unigram count less <unk>), found {words}",
                c1 - 1
            ),
        ));
    }
    let mut hashes = Vec::with_capacity(words as usize);
    for i in 0..words as usize {
        let at = g.vocab + 8 + 8 * i;
        let h = r.u64(at);
        if hashes.last().is_some_and(|&p| p >= h) {
            return Err(r.error(at, "the vocabulary keys are not in increasing order"));
        }
        hashes.push(h);
    }
    let mut unigrams = Vec::with_capacity(c1 as usize);
    let mut unigram_next = Vec::with_capacity(c1 as usize + 1);
    for i in 0..=c1 as usize {
        let at = g.unigrams + UNIGRAM_VALUE * i;
        if i < c1 as usize {
            unigrams.push((r.f32(at), r.f32(at + 4)));
        }
        unigram_next.push(r.u64(at + 8));
    }
    check_pointers(&r, &unigram_next, counts[1], |i| {
        g.unigrams + UNIGRAM_VALUE * i + 8
    })?;
    let quant_table = |n: usize, which: usize, bits: u8| -> Vec<f32> {
        let at = g.centers(n, which);
        (0..1usize << bits).map(|i| r.f32(at + 4 * i)).collect()
    };
    let mut levels: Vec<Level> = Vec::with_capacity(order - 1);
    for n in 2..=order {
        let longest = n == order;
        let packed = if longest {
            g.longest
        } else {
            g.middles[n - 2].packed
        };
        let entries = counts[n - 1];
        let tables = g.options.quantize.map(|(q, b)| {
            (
                quant_table(n, 0, q),
                if longest {
                    Vec::new()
                } else {
                    quant_table(n, 1, b)
                },
            )
        });
        let mut level = Level {
            words: Vec::with_capacity(entries as usize),
            probs: Vec::with_capacity(entries as usize),
            backoffs: Vec::with_capacity(if longest { 0 } else { entries as usize }),
            next: Vec::with_capacity(if longest { 0 } else { entries as usize + 1 }),
        };
        let offsets: Vec<u64> = match g
            .middles
            .get(n - 2)
            .and_then(|m| m.array)
            .filter(|_| !longest)
        {
            Some(a) => {
                let v: Vec<u64> = (0..a.count).map(|k| r.u64(a.at + 8 * k)).collect();
                if v.first() != Some(&0) || v.windows(2).any(|w| w[0] > w[1]) {
                    return Err(r.error(a.at, "the pointer offsets do not start at 0 and increase"));
                }
                v
            }
            None => Vec::new(),
        };
        let mut k = 0usize;
        for i in 0..=entries {
            let mut bit = packed.bit(i);
            if i < entries {
                let word = read_bits(bytes, bit, packed.word_bits);
                if word >= c1 {
                    return Err(r.error(
                        (bit / 8) as usize,
                        format!("a {n}-gram has word id {word}, beyond the {c1} unigrams"),
                    ));
                }
                level.words.push(word as u32);
                bit += u64::from(packed.word_bits);
                match &tables {
                    None => {
                        let p = read_bits(bytes, bit, 31) as u32 | 0x8000_0000;
                        level.probs.push(f32::from_bits(p));
                        if !longest {
                            level
                                .backoffs
                                .push(f32::from_bits(read_bits(bytes, bit + 31, 32) as u32));
                        }
                    }
                    Some((probs, backoffs)) => {
                        let (q, b) = g.options.quantize.unwrap_or((0, 0));
                        if longest {
                            level.probs.push(probs[read_bits(bytes, bit, q) as usize]);
                        } else {
                            level
                                .backoffs
                                .push(backoffs[read_bits(bytes, bit, b) as usize]);
                            level
                                .probs
                                .push(probs[read_bits(bytes, bit + u64::from(b), q) as usize]);
                        }
                    }
                }
            }
            if !longest {
                let low_at = packed.bit(i) + u64::from(packed.total - packed.next_bits);
                let low = read_bits(bytes, low_at, packed.next_bits);
                let next = if offsets.is_empty() {
                    low
                } else {
                    while k + 1 < offsets.len() && offsets[k + 1] <= i {
                        k += 1;
                    }
                    ((k as u64) << packed.next_bits) | low
                };
                level.next.push(next);
            }
        }
        if !longest {
            let at = packed.at;
            check_pointers(&r, &level.next, counts[n], |_| at)?;
        }
        // Each node's children must be distinct and increasing (KenLM finds them by search).
        let parents = if n == 2 {
            &unigram_next
        } else {
            &levels[n - 3].next
        };
        for w in parents.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            if level.words[a..b].windows(2).any(|p| p[0] >= p[1]) {
                return Err(r.error(
                    packed.at,
                    format!("the {n}-grams of one context are not in increasing word order"),
                ));
            }
        }
        levels.push(level);
    }
    if has_vocab {
        super::binary::check_vocab_strings(&bytes[g.end..], counts[0], g.end, name)?;
    }
    let strings = has_vocab.then(|| bytes[g.end..].to_vec());
    Ok(Grams {
        counts: counts.to_vec(),
        hashes,
        strings,
        unigrams,
        unigram_next,
        levels,
    })
}

/// Pointers must start at 0, never decrease and end at the count of the next order.
fn check_pointers(
    r: &Reader<'_>,
    next: &[u64],
    end: u64,
    at: impl Fn(usize) -> usize,
) -> Result<()> {
    if next.first() != Some(&0) {
        return Err(r.error(at(0), "expected the first child pointer to be 0"));
    }
    if let Some(i) = next.windows(2).position(|w| w[0] > w[1]) {
        return Err(r.error(at(i + 1), "the child pointers decrease"));
    }
    if next.last() != Some(&end) {
        return Err(r.error(
            at(next.len() - 1),
            format!(
                "expected the last child pointer to be the next order's count {end}, found {}",
                next.last().copied().unwrap_or(0)
            ),
        ));
    }
    Ok(())
}

/// [`check_pointers`] on the `entries + 1` unigram pointers of the records at `at`, read in
/// place (no copy: this runs on every load) in one pass without a branch per record (it counts
/// the decreases); the slow path names the first bad pointer.
fn check_unigram_pointers(r: &Reader<'_>, at: usize, entries: usize, end: u64) -> Result<()> {
    let next_at = |i: usize| at + UNIGRAM_VALUE * i + 8;
    let Some(records) = r.bytes.get(at..next_at(entries) + 8) else {
        return check_pointers(r, &[], end, next_at);
    };
    let pointer = |record: &[u8]| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&record[8..16]);
        u64::from_le_bytes(b)
    };
    let (mut previous, mut decreases) = (0u64, 0u64);
    for record in records.chunks_exact(UNIGRAM_VALUE) {
        let p = pointer(record);
        decreases += u64::from(p < previous);
        previous = p;
    }
    if decreases == 0 && pointer(records) == 0 && previous == end {
        return Ok(());
    }
    let pointers: Vec<u64> = (0..=entries).map(|i| r.u64(next_at(i))).collect();
    check_pointers(r, &pointers, end, next_at)
}

/// The entries of middle order `n` (`entries` of them, then the end pointer): with `-a`, the
/// offsets array starts at 0, never decreases and stays within the entries; every word id is
/// below the `c1` unigrams; the pointers start at 0, never decrease and end at `next`, the
/// count of order n+1 (so every one is within it). The error names the entry's byte.
fn check_middle(
    r: &Reader<'_>,
    m: &Middle,
    n: usize,
    entries: u64,
    next: u64,
    c1: u64,
) -> Result<()> {
    let p = &m.packed;
    let bytes = r.bytes;
    let mut offsets = Vec::new();
    if let Some(a) = &m.array {
        for k in 0..a.count {
            let at = a.at + 8 * k;
            let o = r.u64(at);
            let previous = offsets.last().copied().unwrap_or(0);
            if (k == 0 && o != 0) || o < previous || o > entries + 1 {
                return Err(r.error(
                    at,
                    format!(
                        "pointer offset {k} of the {n}-grams is {o}: expected {} (they start at 0, \
                         never decrease and stay within the {entries} entries)",
                        match k {
                            0 => "0".to_string(),
                            _ => format!("{previous} to {}", entries + 1),
                        }
                    ),
                ));
            }
            offsets.push(o);
        }
    }
    let (mut k, mut previous) = (0usize, 0u64);
    for i in 0..=entries {
        let bit = p.bit(i);
        if i < entries {
            let word = read_bits(bytes, bit, p.word_bits);
            if word >= c1 {
                return Err(r.error(
                    (bit / 8) as usize,
                    format!("{n}-gram entry {i} has word id {word}: expected one below the {c1} unigrams"),
                ));
            }
        }
        let low = read_bits(bytes, bit + u64::from(p.total - p.next_bits), p.next_bits);
        let pointer = if offsets.is_empty() {
            low
        } else {
            while k + 1 < offsets.len() && offsets[k + 1] <= i {
                k += 1;
            }
            ((k as u64) << p.next_bits) | low
        };
        let bad = if i == 0 && pointer != 0 {
            Some("0 (the first)".to_string())
        } else if pointer < previous {
            Some(format!("at least {previous}, the pointer before it"))
        } else if i == entries && pointer != next {
            Some(format!(
                "{next}, the count of the {}-grams (the end)",
                n + 1
            ))
        } else if pointer > next {
            Some(format!("at most {next}, the count of the {}-grams", n + 1))
        } else {
            None
        };
        if let Some(expected) = bad {
            return Err(r.error(
                (bit / 8) as usize,
                format!(
                    "the child pointer of {n}-gram entry {i} is {pointer}: expected {expected}"
                ),
            ));
        }
        previous = pointer;
    }
    Ok(())
}

/// [`check_middle`]'s conditions in one tight pass without the error's details (the common
/// case of a load: this runs on every entry of every middle order); `false` sends the level to
/// [`check_middle`] to name the first fault.
fn middle_is_sound(bytes: &[u8], m: &Middle, entries: u64, next: u64, c1: u64) -> bool {
    let p = &m.packed;
    let Some(level) = p.at.checked_add(p.len).and_then(|end| bytes.get(p.at..end)) else {
        return false;
    };
    // Both fields are at most 57 bits: one unaligned load each (the array's 8 bytes of slack
    // keep every load inside it; one that is not reads as all ones, a fault).
    let field = |bit: u64| -> u64 {
        let at = (bit >> 3) as usize;
        level.get(at..at + 8).map_or(u64::MAX, |b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a) >> (bit & 7)
        })
    };
    let total = u64::from(p.total);
    let pointer_at = u64::from(p.total - p.next_bits);
    let (word_mask, pointer_mask) = ((1u64 << p.word_bits) - 1, (1u64 << p.next_bits) - 1);
    // Entries [from, to) whose pointers have the high bits `high` (with `-a`; else all, 0).
    let mut segments: Vec<(u64, u64, u64)> = Vec::new();
    match &m.array {
        None => segments.push((0, entries + 1, 0)),
        Some(a) => {
            let mut previous = 0u64;
            for k in 0..a.count {
                let o = super::probing::u64_at(bytes, a.at + 8 * k);
                if (k == 0 && o != 0) || o < previous || o > entries + 1 {
                    return false;
                }
                if k > 0 {
                    segments.push((previous, o, (k as u64 - 1) << p.next_bits));
                }
                previous = o;
            }
            segments.push((previous, entries + 1, (a.count as u64 - 1) << p.next_bits));
        }
    }
    // Entry 0 is in the first segment that is not empty (they cover every entry, in order).
    let first = segments
        .iter()
        .find(|s| s.0 < s.1)
        .map(|&(_, _, high)| high | (field(pointer_at) & pointer_mask));
    let (mut ok, mut previous) = (first == Some(0), 0u64);
    for (from, to, high) in segments {
        for i in from..to {
            let bit = i * total;
            let word = field(bit) & word_mask;
            let pointer = high | (field(bit + pointer_at) & pointer_mask);
            ok &= (word < c1 || i == entries) & (pointer >= previous);
            previous = pointer;
        }
    }
    ok && previous == next
}

/// The quantization tables (`-q`, `-b`), where the header's bit counts put them: every center
/// a number (no NaN, which would score NaN), a backoff table's two reserved centers `-0.0` and
/// `0.0`, and each table's bins non-decreasing, as KenLM's binning writes them.
fn check_quantization(r: &Reader<'_>, g: &Geometry, order: usize) -> Result<()> {
    let Some((q, b)) = g.options.quantize else {
        return Ok(());
    };
    for n in 2..=order {
        let tables: &[(usize, u8, &str)] = if n == order {
            &[(0, q, "probability")]
        } else {
            &[(0, q, "probability"), (1, b, "backoff")]
        };
        for &(which, bits, what) in tables {
            let at = g.centers(n, which);
            // A backoff table starts with "no extension" (-0.0) and 0.0, then its bins.
            let reserved: &[f32] = if which == 1 { &[-0.0, 0.0] } else { &[] };
            for (i, want) in reserved.iter().enumerate() {
                let v = r.f32(at + 4 * i);
                if v.to_bits() != want.to_bits() {
                    return Err(r.error(
                        at + 4 * i,
                        format!("backoff center {i} of the {n}-grams' quantization table is {v:?}: expected {want:?}"),
                    ));
                }
            }
            let mut previous = f32::NEG_INFINITY;
            for i in reserved.len()..1usize << bits {
                let v = r.f32(at + 4 * i);
                if v.is_nan() || v < previous {
                    return Err(r.error(
                        at + 4 * i,
                        format!(
                            "{what} center {i} of the {n}-grams' quantization table ({} entries \
                             of {bits} bits) is {v}: expected a number at least {previous}",
                            1usize << bits
                        ),
                    ));
                }
                previous = v;
            }
        }
    }
    Ok(())
}

/// Loads a trie file (its header already checked as `fixed`) into a [`Model`] that scores on
/// the file's bytes in place ([`super::trie_search`]). The checks on every load, as KenLM's (of
/// the order of the header, not of the n-grams): the sizes and headers (every section where the
/// counts put it, the file's length, the vocabulary key count), every unigram pointer, the first
/// and last pointer of each middle order, and the quantization tables ([`check_quantization`]).
/// With `every_entry` (`LoadMethod::Read`, whose copy of the file already costs a pass over it)
/// also every middle-order pointer (monotone, within the next order's count, ending at it), word
/// id and offsets array ([`check_middle`]). Without it a corrupted entry is not refused, but
/// scoring clamps every range to its level, so it scores wrongly and never crashes, as in
/// KenLM; the highest order's entries are read only when scored (a word id there beyond the
/// vocabulary matches no query).
pub(crate) fn load(
    storage: Storage,
    name: &str,
    fixed: super::binary::Fixed,
    every_entry: bool,
) -> Result<Model> {
    let bytes = storage.bytes();
    let counts = &fixed.counts;
    let order = counts.len();
    let header = super::binary::header_size(order);
    let g = parse_geometry(
        bytes,
        name,
        header,
        counts,
        fixed.model_type,
        fixed.has_vocab,
    )?;
    let r = Reader { bytes, name };
    let c1 = counts[0];
    let words = r.u64(g.vocab);
    if words.checked_add(1) != Some(c1) {
        return Err(r.error(
            g.vocab,
            format!(
                "expected {} vocabulary keys (the unigram count less <unk>), found {words}",
                c1 - 1
            ),
        ));
    }
    // Every unigram pointer (a sequential read of the unigram records); of the middle orders,
    // the first and the last pointer, or with `every_entry` every entry, level by level.
    check_unigram_pointers(&r, g.unigrams, c1 as usize, counts[1])?;
    for (i, m) in g.middles.iter().enumerate() {
        let n = i + 2;
        if every_entry {
            if !middle_is_sound(bytes, m, counts[n - 1], counts[n], c1) {
                check_middle(&r, m, n, counts[n - 1], counts[n], c1)?;
            }
        } else {
            let ends = [
                read_pointer(bytes, &m.packed, m.array.as_ref(), 0),
                read_pointer(bytes, &m.packed, m.array.as_ref(), counts[n - 1]),
            ];
            let at = m.packed.at;
            check_pointers(&r, &ends, counts[n], |_| at)?;
        }
    }
    check_quantization(&r, &g, order)?;
    let strings_at = g.end;
    let mut search = super::trie_search::TrieSearch::new(g, counts.clone());
    let (bos, eos, unk) = {
        use super::score::Lookup;
        let v = search.view(bytes);
        if fixed.has_vocab {
            // The strings' last word is word `c1 - 1` (ids in key order): no pass over them.
            super::binary::check_strings_end(bytes, strings_at, c1, name, |w| {
                Some(u64::from(v.index(w)))
            })?;
        }
        (v.index(b"<s>"), v.index(b"</s>"), v.unigram(0))
    };
    // Without `<s>` or `</s>` (`build_binary -s`), the missing word is `<unk>`, as in KenLM.
    search.set_markers(bos, eos);
    let layout = super::binary::Layout::new(counts, fixed.multiplier).ok_or_else(|| {
        Error::format(
            name,
            0,
            "the n-gram counts give a size beyond the address space",
        )
    })?;
    Ok(Model {
        order,
        vocab_size: c1 as usize,
        bos,
        eos,
        unk_missing: with_sign(unk.0) == super::build::MISSING_UNK_LOG10P && unk.1.to_bits() == 0,
        has_vocab: fixed.has_vocab,
        layout,
        storage,
        source: super::Source::None,
        trie: Some(Box::new(search)),
    })
}

/// The pointer of entry `i` of a middle order: its low bits, and with `-a` (KenLM's
/// `ArrayBhiksha`) the high bits, the number of offsets after the first at or below `i` (binary
/// search; they never decrease).
pub(crate) fn read_pointer(bytes: &[u8], p: &Packed, array: Option<&OffsetsArray>, i: u64) -> u64 {
    let low = read_bits(
        bytes,
        p.bit(i) + u64::from(p.total - p.next_bits),
        p.next_bits,
    );
    match array {
        None => low,
        Some(a) => (offsets_at_or_below(bytes, a, i) << p.next_bits) | low,
    }
}

/// The number of offsets after the first that are at or below `i` (the high bits of entry
/// `i`'s pointer), by binary search.
#[inline]
pub(crate) fn offsets_at_or_below(bytes: &[u8], a: &OffsetsArray, i: u64) -> u64 {
    let (mut lo, mut hi) = (1usize, a.count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if super::probing::u64_at(bytes, a.at + 8 * mid) <= i {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo - 1) as u64
}

/// Writes `grams` as a trie file at `path` (complete or not at all).
pub(crate) fn save(
    grams: &Grams,
    path: &std::path::Path,
    options: TrieOptions,
    multiplier: f32,
    include_vocab: bool,
) -> Result<()> {
    use crate::error::IoContext;
    use std::io::Write;
    let bytes = write(grams, options, multiplier, include_vocab)?;
    let mut out = crate::io::AtomicFile::create(path)?;
    out.write_all(&bytes).at_path("cannot write", path)?;
    out.commit()
}

impl Grams {
    /// The model scoring these n-grams (probing tables with `multiplier`).
    pub(crate) fn to_model(&self, multiplier: f32, name: &str) -> Result<Model> {
        let layout = super::binary::Layout::new(&self.counts, multiplier).ok_or_else(|| {
            Error::format(
                name,
                0,
                "the n-gram counts give a size beyond the address space",
            )
        })?;
        let image = self.probing_image(&layout, name)?;
        Model::from_image(Storage::Owned(image), layout, self.strings.is_some(), name)
    }

    /// The probing image of these n-grams (header, vocabulary, unigrams, tables, strings), as
    /// [`super::build`] makes from an ARPA file; ids are the trie's.
    pub(crate) fn probing_image(
        &self,
        layout: &super::binary::Layout,
        name: &str,
    ) -> Result<Vec<u8>> {
        let full = || Error::format(name, 0, "more n-grams than the header counts");
        let mut image = Vec::new();
        image
            .try_reserve_exact(layout.end)
            .map_err(|_| Error::format(name, 0, "not enough memory for the model"))?;
        image.resize(layout.end, 0);
        let header =
            super::binary::header_bytes(&layout.counts, layout.multiplier, self.strings.is_some());
        image[..header.len()].copy_from_slice(&header);
        let bound = self.counts[0] as u32;
        image[layout.vocab_header + 4..layout.vocab_header + 8]
            .copy_from_slice(&bound.to_le_bytes());
        {
            let mut entries = 0usize;
            let mut t = TableMut::new(&mut image[layout.vocab.clone()], VOCAB_ENTRY, &mut entries);
            for (i, &h) in self.hashes.iter().enumerate() {
                t.insert(h, &(i as u32 + 1).to_le_bytes())
                    .map_err(|_| full())?;
            }
        }
        // KenLM's probing layout marks an n-gram that longer n-grams extend to the left (one
        // with children in the trie) by clearing its probability's sign bit.
        let extends_left = |next: &[u64], i: usize| next[i] < next[i + 1];
        for (id, &(p, b)) in self.unigrams.iter().enumerate() {
            let p = if extends_left(&self.unigram_next, id) {
                without_sign(p)
            } else {
                p
            };
            let at = layout.unigrams.start + id * UNIGRAM_ENTRY;
            image[at..at + 4].copy_from_slice(&p.to_le_bytes());
            image[at + 4..at + 8].copy_from_slice(&b.to_le_bytes());
        }
        let order = self.counts.len();
        let mut keys: Vec<u64> = (0..self.counts[0]).collect();
        for n in 2..=order {
            let level = &self.levels[n - 2];
            let parents = if n == 2 {
                &self.unigram_next
            } else {
                &self.levels[n - 3].next
            };
            let mut next_keys = Vec::with_capacity(level.words.len());
            let range = layout.tables[n - 2].clone();
            let stride = layout.stride(n);
            let mut entries = 0usize;
            let mut t = TableMut::new(&mut image[range], stride, &mut entries);
            for (p, w) in parents.windows(2).enumerate() {
                for j in w[0] as usize..w[1] as usize {
                    let key = combine(keys[p], level.words[j]);
                    let mut value = [0u8; 8];
                    let p = if n < order && extends_left(&level.next, j) {
                        without_sign(level.probs[j])
                    } else {
                        with_sign(level.probs[j])
                    };
                    value[..4].copy_from_slice(&p.to_le_bytes());
                    if n < order {
                        value[4..].copy_from_slice(&level.backoffs[j].to_le_bytes());
                    }
                    if t.find(key).is_some() {
                        return Err(Error::format(
                            name,
                            0,
                            format!("two {n}-grams of the trie share a 64-bit key"),
                        ));
                    }
                    t.insert(key, &value[..stride - 8]).map_err(|_| full())?;
                    next_keys.push(key);
                }
            }
            keys = next_keys;
        }
        if let Some(s) = &self.strings {
            image.extend_from_slice(s);
        }
        Ok(image)
    }
}

/// KenLM's bins (`MakeBins`): sort, split into `bins` runs of (nearly) equal size, each center
/// the mean (summed in `f64`); an empty run repeats the previous center (`-inf` first).
fn make_bins(values: &mut [f32], centers: &mut [f32]) {
    values.sort_by(f32::total_cmp);
    // total_cmp puts -0.0 before 0.0; the sums are the same either way.
    let bins = centers.len() as u64;
    let mut start = 0usize;
    for i in 0..centers.len() {
        let finish = ((values.len() as u64 * (i as u64 + 1)) / bins) as usize;
        centers[i] = if finish == start {
            if i == 0 {
                f32::NEG_INFINITY
            } else {
                centers[i - 1]
            }
        } else {
            let sum: f64 = values[start..finish].iter().map(|&v| f64::from(v)).sum();
            (sum / f64::from((finish - start) as f32)) as f32
        };
        start = finish;
    }
}

/// The bin of `value` among sorted `centers`, the first `reserved` excluded (KenLM's `Encode`).
fn encode(centers: &[f32], value: f32, reserved: usize) -> u64 {
    let rest = &centers[reserved..];
    let above = reserved + rest.partition_point(|&c| c < value);
    if above == reserved {
        return reserved as u64;
    }
    if above == centers.len() {
        return centers.len() as u64 - 1;
    }
    (above - usize::from(value - centers[above - 1] < centers[above] - value)) as u64
}

fn encode_backoff(centers: &[f32], value: f32) -> u64 {
    if value == 0.0 {
        // 0: "no extension" (-0.0), 1: 0.0.
        return u64::from(value.to_bits() != super::probing::NO_EXTENSION);
    }
    encode(centers, value, 2)
}

/// The bytes of a trie file for `grams` (header included), as `build_binary trie` writes.
pub(crate) fn write(
    grams: &Grams,
    options: TrieOptions,
    multiplier: f32,
    include_vocab: bool,
) -> Result<Vec<u8>> {
    options.check()?;
    let counts = &grams.counts;
    let order = counts.len();
    super::binary::check_order(order)?;
    let with_vocab = include_vocab && grams.strings.is_some();
    let mut header = super::binary::header_bytes(counts, multiplier, with_vocab);
    let at = super::binary::MODEL_TYPE_AT;
    header[at..at + 4].copy_from_slice(&options.model_type().to_le_bytes());
    header[at + 8..at + 12].copy_from_slice(&TRIE_VERSION.to_le_bytes());
    let g = Geometry::new(header.len(), counts, options).ok_or_else(|| {
        Error::InvalidArgument("the n-gram counts give a trie beyond the address space".into())
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(g.end + grams.strings.as_ref().map_or(0, Vec::len))
        .map_err(|_| Error::InvalidArgument("not enough memory for the trie".into()))?;
    out.resize(g.end, 0);
    out[..header.len()].copy_from_slice(&header);
    // Sorted vocabulary.
    out[g.vocab..g.vocab + 8].copy_from_slice(&(grams.hashes.len() as u64).to_le_bytes());
    for (i, h) in grams.hashes.iter().enumerate() {
        let at = g.vocab + 8 + 8 * i;
        out[at..at + 8].copy_from_slice(&h.to_le_bytes());
    }
    // Quantization tables.
    let mut tables: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
    if let Some((q, b)) = options.quantize {
        out[g.quant] = QUANT_VERSION;
        out[g.quant + 1] = q;
        out[g.quant + 2] = b;
        for n in 2..=order {
            let level = &grams.levels[n - 2];
            let mut probs = level.probs.clone();
            let mut prob_centers = vec![0f32; 1 << q];
            make_bins(&mut probs, &mut prob_centers);
            let mut backoff_centers = Vec::new();
            if n < order {
                let mut backoffs: Vec<f32> = level
                    .backoffs
                    .iter()
                    .copied()
                    .filter(|&v| v != 0.0)
                    .collect();
                backoff_centers = vec![0f32; 1 << b];
                backoff_centers[0] = -0.0;
                backoff_centers[1] = 0.0;
                make_bins(&mut backoffs, &mut backoff_centers[2..]);
            }
            for (which, c) in [&prob_centers, &backoff_centers].into_iter().enumerate() {
                let at = g.centers(n, which);
                for (i, v) in c.iter().enumerate() {
                    out[at + 4 * i..at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            tables.push((prob_centers, backoff_centers));
        }
    }
    // Unigrams.
    for (id, &(p, b)) in grams.unigrams.iter().enumerate() {
        let at = g.unigrams + UNIGRAM_VALUE * id;
        out[at..at + 4].copy_from_slice(&p.to_le_bytes());
        out[at + 4..at + 8].copy_from_slice(&b.to_le_bytes());
    }
    for (id, &next) in grams.unigram_next.iter().enumerate() {
        let at = g.unigrams + UNIGRAM_VALUE * id + 8;
        out[at..at + 8].copy_from_slice(&next.to_le_bytes());
    }
    // Middle orders and the highest.
    for n in 2..=order {
        let level = &grams.levels[n - 2];
        let longest = n == order;
        let (packed, array) = if longest {
            (g.longest, None)
        } else {
            (g.middles[n - 2].packed, g.middles[n - 2].array)
        };
        let entries = level.words.len() as u64;
        for i in 0..=entries {
            let mut bit = packed.bit(i);
            if i < entries {
                let j = i as usize;
                write_bits(&mut out, bit, u64::from(level.words[j]));
                bit += u64::from(packed.word_bits);
                match options.quantize {
                    None => {
                        write_bits(
                            &mut out,
                            bit,
                            u64::from(level.probs[j].to_bits() & 0x7fff_ffff),
                        );
                        if !longest {
                            write_bits(&mut out, bit + 31, u64::from(level.backoffs[j].to_bits()));
                        }
                    }
                    Some((_, b)) => {
                        let (probs, backoffs) = &tables[n - 2];
                        let p = encode(probs, level.probs[j], 0);
                        if longest {
                            write_bits(&mut out, bit, p);
                        } else {
                            let bo = encode_backoff(backoffs, level.backoffs[j]);
                            write_bits(&mut out, bit, (p << b) | bo);
                        }
                    }
                }
            }
            if !longest {
                let next = level.next[i as usize];
                let low_at = packed.bit(i) + u64::from(packed.total - packed.next_bits);
                let mask = (1u64 << packed.next_bits) - 1;
                write_bits(&mut out, low_at, next & mask);
            }
        }
        if let Some(a) = array {
            // offsets[k]: the first entry whose pointer reaches k << next_bits.
            let mut k = 1usize;
            for (i, &next) in level.next.iter().enumerate() {
                let high = (next >> packed.next_bits) as usize;
                while k <= high && k < a.count {
                    let at = a.at + 8 * k;
                    out[at..at + 8].copy_from_slice(&(i as u64).to_le_bytes());
                    k += 1;
                }
            }
            out[a.header] = ARRAY_VERSION;
            out[a.header + 1] = options.array_bits.unwrap_or(0);
        }
    }
    if with_vocab {
        if let Some(s) = &grams.strings {
            out.extend_from_slice(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_at_every_offset() {
        let mut bytes = vec![0u8; 64];
        let values = [
            (3u8, 5u64),
            (31, 0x7fff_0001),
            (57, (1 << 57) - 3),
            (1, 1),
            (20, 99),
        ];
        let mut bit = 0u64;
        for &(len, v) in &values {
            write_bits(&mut bytes, bit, v);
            bit += u64::from(len);
        }
        bit = 0;
        for &(len, v) in &values {
            assert_eq!(read_bits(&bytes, bit, len), v);
            bit += u64::from(len);
        }
        assert_eq!(
            read_bits(&bytes[..3], 20, 8),
            read_bits(&bytes, 20, 8) & 0xf
        );
    }

    #[test]
    fn required_bits_follow_kenlm() {
        assert_eq!(required_bits(0), 0);
        assert_eq!(required_bits(1), 1);
        assert_eq!(required_bits(19467), 15);
        assert_eq!(required_bits(1 << 20), 21);
    }

    #[test]
    fn bins_and_encoding_follow_kenlm() {
        let mut v = vec![-1.0f32, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0];
        let mut c = vec![0f32; 4];
        make_bins(&mut v, &mut c);
        assert_eq!(c, vec![-7.5, -5.5, -3.5, -1.5]);
        assert_eq!(encode(&c, -9.0, 0), 0);
        assert_eq!(encode(&c, -0.5, 0), 3);
        assert_eq!(encode(&c, -4.5, 0), 2); // a tie goes to the upper bin
        assert_eq!(encode(&c, -4.6, 0), 1);
        let mut few = vec![-1.0f32];
        let mut c = vec![0f32; 4];
        make_bins(&mut few, &mut c);
        assert_eq!(
            c,
            vec![
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                -1.0
            ]
        );
    }

    /// The shared reference folder, if present.
    fn reference() -> Option<std::path::PathBuf> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
        dir.is_dir().then_some(dir)
    }

    fn unxz(path: &std::path::Path) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        xz2::read::XzDecoder::new_multi_decoder(std::fs::File::open(path).expect("open"))
            .read_to_end(&mut out)
            .expect("xz");
        out
    }

    /// The load error of `bytes` (written to a file), which `LoadMethod::Read` must refuse; the
    /// mapped methods, which check only what KenLM checks, either refuse it too or load a model
    /// that scores (wrongly, perhaps) without a panic.
    /// The mapped loads score `probes` (word ids, oldest first), each alone and after a few
    /// other words.
    fn refused_probing(bytes: &[u8], dir: &std::path::Path, probes: &[Vec<u32>]) -> String {
        use super::super::LoadMethod;
        let path = dir.join("bad.bin");
        std::fs::write(&path, bytes).expect("write");
        for method in [LoadMethod::Lazy, LoadMethod::Populate] {
            if let Ok(m) = super::super::binary::load(&path, method) {
                for text in ["", "the", "a b c d e", "the house of the king", "zz qq"] {
                    let _ = m.score(text, true, true);
                }
                let vocab = m.vocab_size() as u32;
                for ids in probes {
                    for x in (0..vocab).step_by((vocab as usize / 16).max(1)) {
                        let mut longer = vec![x];
                        longer.extend_from_slice(ids);
                        let _ = m.score_ids(&longer, false);
                        let _ = m.score_ids(&longer, true);
                    }
                    let _ = m.score_ids(ids, false);
                }
            }
        }
        match super::super::binary::load(&path, LoadMethod::Read) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a corrupted trie loaded (read)"),
        }
    }

    fn refused(bytes: &[u8], dir: &std::path::Path) -> String {
        refused_probing(bytes, dir, &[])
    }

    /// The word ids (oldest first) of entry `j` of order `n` of the trie `data`: its word, then
    /// those of its parents down to the unigram whose children range holds them.
    fn words_of(data: &[u8], g: &Geometry, counts: &[u64], n: usize, j: u64) -> Vec<u32> {
        let (mut ids, mut n, mut j) = (Vec::new(), n, j);
        while n >= 2 {
            let p = if n == counts.len() {
                g.longest
            } else {
                g.middles[n - 2].packed
            };
            ids.push(read_bits(data, p.bit(j), p.word_bits) as u32);
            // The parent: the last entry of order n - 1 whose pointer is at or below j.
            let pointer = |i: u64| {
                if n == 2 {
                    super::super::probing::u64_at(data, g.unigrams + UNIGRAM_VALUE * i as usize + 8)
                } else {
                    let m = &g.middles[n - 3];
                    read_pointer(data, &m.packed, m.array.as_ref(), i)
                }
            };
            let (mut lo, mut hi) = (0u64, counts[n - 2]);
            while lo + 1 < hi {
                let mid = lo + (hi - lo) / 2;
                if pointer(mid) <= j {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            n -= 1;
            j = lo;
        }
        ids.push(j as u32);
        ids
    }

    fn geometry_of(bytes: &[u8]) -> (Geometry, Vec<u64>) {
        let fixed = super::super::binary::parse_fixed(bytes, "t").expect("fixed");
        let header = super::super::binary::header_size(fixed.counts.len());
        let g = parse_geometry(
            bytes,
            "t",
            header,
            &fixed.counts,
            fixed.model_type,
            fixed.has_vocab,
        )
        .expect("geometry");
        (g, fixed.counts)
    }

    /// Replaces the `len`-bit field at `bit` by `value`.
    fn set_bits(bytes: &mut [u8], bit: u64, len: u8, value: u64) {
        for j in 0..u64::from(len) {
            let (byte, shift) = (((bit + j) / 8) as usize, (bit + j) % 8);
            bytes[byte] &= !(1 << shift);
            bytes[byte] |= (((value >> j) & 1) as u8) << shift;
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The fast pass of the load and the detailed check agree on any corrupted field.
        #[test]
        fn the_fast_level_check_agrees_with_the_detailed_one(
            file in 0usize..3,
            level in 0usize..8,
            entry in proptest::prelude::any::<u64>(),
            which in 0u8..3,
            value in proptest::prelude::any::<u64>(),
            small in proptest::prelude::any::<bool>(),
        ) {
            let name = ["tiny.o3.trie-a.kenlm", "tiny.o4.trie-q8-b7-a255.kenlm", "tiny.o3.trie.kenlm"][file];
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus/binary_reader")
                .join(name);
            let mut data = std::fs::read(path).expect("seed");
            let (g, counts) = geometry_of(&data);
            let n = level % g.middles.len() + 2;
            let m = &g.middles[n - 2];
            let p = m.packed;
            let i = entry % (counts[n - 1] + 1);
            let value = if small { value % 8 } else { value };
            match which {
                0 => set_bits(&mut data, p.bit(i), p.word_bits, value & ((1 << p.word_bits) - 1)),
                1 => set_bits(
                    &mut data,
                    p.bit(i) + u64::from(p.total - p.next_bits),
                    p.next_bits,
                    value & ((1 << p.next_bits) - 1),
                ),
                _ => {
                    if let Some(a) = m.array {
                        let k = (entry % a.count as u64) as usize;
                        data[a.at + 8 * k..a.at + 8 * k + 8].copy_from_slice(&value.to_le_bytes());
                    }
                }
            }
            let r = Reader { bytes: &data, name: "t" };
            let fast = middle_is_sound(&data, m, counts[n - 1], counts[n], counts[0]);
            let slow = check_middle(&r, m, n, counts[n - 1], counts[n], counts[0]);
            proptest::prop_assert_eq!(fast, slow.is_ok(), "{:?}", slow.err());
        }
    }

    #[test]
    fn corrupted_levels_are_refused_at_load_naming_the_offset() {
        let Some(dir) = reference() else {
            eprintln!("../shared/reference is absent: skipped");
            return;
        };
        let tmp = tempfile::tempdir().expect("tmp");
        for name in [
            "book.o3.trie",
            "book.o3.trie-q8-b7-a22",
            "book.o5.trie-q8-b7-a255",
        ] {
            let data = unxz(&dir.join(format!("binary/{name}.bin.xz")));
            let (g, counts) = geometry_of(&data);
            let at_byte = |bit: u64| format!("at byte {}:", bit / 8);
            for (n, m) in g.middles.iter().enumerate().map(|(i, m)| (i + 2, m)) {
                let p = m.packed;
                let ptr_bit = |i: u64| p.bit(i) + u64::from(p.total - p.next_bits);
                // A pointer in the middle of the level drops below the one before it...
                let pointer = |b: &[u8], i| read_pointer(b, &p, m.array.as_ref(), i);
                let i = counts[n - 1] / 2;
                let mut j = i;
                while pointer(&data, j - 1) <= pointer(&data, j) >> p.next_bits << p.next_bits {
                    j += 1;
                }
                let mut b = data.clone();
                set_bits(&mut b, ptr_bit(j), p.next_bits, 0);
                let probes: Vec<Vec<u32>> = (j - 1..=j + 1)
                    .map(|e| words_of(&data, &g, &counts, n, e))
                    .collect();
                let e = refused_probing(&b, tmp.path(), &probes);
                assert!(e.contains(&at_byte(p.bit(j))), "{name} {n}: {e}");
                assert!(
                    e.contains(&format!("child pointer of {n}-gram entry {j}")),
                    "{e}"
                );
                assert!(e.contains("expected at least"), "{name} {n}: {e}");
                // ... or beyond the next order (the largest low bits value).
                if m.array.is_none() {
                    let mut b = data.clone();
                    set_bits(&mut b, ptr_bit(i), p.next_bits, (1 << p.next_bits) - 1);
                    let probes: Vec<Vec<u32>> = (i - 1..=i + 1)
                        .map(|e| words_of(&data, &g, &counts, n, e))
                        .collect();
                    let e = refused_probing(&b, tmp.path(), &probes);
                    assert!(e.contains("child pointer of"), "{name} {n}: {e}");
                }
                // A word id beyond the vocabulary.
                let mut b = data.clone();
                set_bits(&mut b, p.bit(i), p.word_bits, (1 << p.word_bits) - 1);
                let e = refused_probing(&b, tmp.path(), &[words_of(&data, &g, &counts, n, i)]);
                assert!(e.contains(&at_byte(p.bit(i))), "{name} {n}: {e}");
                assert!(
                    e.contains(&format!("{n}-gram entry {i} has word id")),
                    "{name}: {e}"
                );
                // The offsets array decreasing.
                if let Some(a) = m.array.filter(|a| a.count > 2) {
                    let mut b = data.clone();
                    let k = a.count / 2;
                    b[a.at + 8 * k..a.at + 8 * k + 8].copy_from_slice(&u64::MAX.to_le_bytes());
                    let e = refused(&b, tmp.path());
                    assert!(
                        e.contains(&format!("at byte {}:", a.at + 8 * k)),
                        "{name}: {e}"
                    );
                    assert!(
                        e.contains(&format!("pointer offset {k} of the {n}-grams")),
                        "{e}"
                    );
                }
            }
            if let Some((q, _)) = g.options.quantize {
                let n = counts.len();
                // A NaN probability center, a decreasing one, a wrong reserved backoff.
                let at = g.centers(n, 0) + 4 * ((1 << q) / 2);
                let mut b = data.clone();
                b[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
                let e = refused(&b, tmp.path());
                assert!(
                    e.contains(&format!("at byte {at}:")) && e.contains("probability center"),
                    "{e}"
                );
                let mut b = data.clone();
                b[at..at + 4].copy_from_slice(&(-1000.0f32).to_le_bytes());
                let e = refused(&b, tmp.path());
                assert!(
                    e.contains(&format!("at byte {at}:"))
                        && e.contains("expected a number at least"),
                    "{e}"
                );
                let at = g.centers(2, 1);
                let mut b = data.clone();
                b[at..at + 4].copy_from_slice(&0.5f32.to_le_bytes());
                let e = refused(&b, tmp.path());
                assert!(
                    e.contains(&format!("at byte {at}:")) && e.contains("expected -0.0"),
                    "{e}"
                );
            }
            // The untouched file still loads.
            let path = tmp.path().join("good.bin");
            std::fs::write(&path, &data).expect("write");
            super::super::binary::load(&path, super::super::LoadMethod::Read).expect("loads");
        }
    }

    #[test]
    fn reference_tries_are_written_byte_for_byte_and_score_as_the_arpa() {
        let Some(dir) = reference() else {
            eprintln!("../shared/reference is absent: skipped");
            return;
        };
        let tmp = tempfile::tempdir().expect("tmp");
        let cases: [(&str, &str, TrieOptions); 5] = [
            ("book.o3", "trie", TrieOptions::default()),
            (
                "book.o3",
                "trie-q8",
                TrieOptions {
                    quantize: Some((8, 8)),
                    array_bits: None,
                },
            ),
            (
                "book.o3",
                "trie-q8-b7-a22",
                TrieOptions {
                    quantize: Some((8, 7)),
                    array_bits: Some(22),
                },
            ),
            (
                "book.o3",
                "trie-a255",
                TrieOptions {
                    quantize: None,
                    array_bits: Some(255),
                },
            ),
            (
                "book.o5",
                "trie-q8-b7-a255",
                TrieOptions {
                    quantize: Some((8, 7)),
                    array_bits: Some(255),
                },
            ),
        ];
        let cancel = crate::cancel::Cancel::new();
        let text = std::fs::read_to_string(dir.join("query/book.heldout.txt")).expect("heldout");
        for (model, layout, options) in cases {
            let arpa = dir.join(format!("lmplz/{model}.arpa.xz"));
            let expected = unxz(&dir.join(format!("binary/{model}.{layout}.bin.xz")));
            let out = tmp.path().join(format!("{model}.{layout}.bin"));
            super::super::build_binary_trie(
                &arpa,
                &out,
                &super::super::BuildConfig::default(),
                options,
                true,
                &cancel,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let written = std::fs::read(&out).expect("read");
            assert_eq!(written.len(), expected.len(), "{model} {layout}: size");
            if let Some(i) = (0..written.len()).find(|&i| written[i] != expected[i]) {
                panic!("{model} {layout}: first differing byte {i}");
            }
            let trie = Model::load(&out, &cancel).unwrap_or_else(|e| panic!("{e}"));
            if options.quantize.is_none() {
                let from_arpa = Model::load(&arpa, &cancel).expect("arpa");
                for line in text.lines().take(300) {
                    assert_eq!(
                        trie.full_scores(line, true, true),
                        from_arpa.full_scores(line, true, true),
                        "{model} {layout}: {line}"
                    );
                }
            }
        }
    }

    #[test]
    fn scoring_in_place_equals_scoring_the_decoded_tables() {
        // Every reference trie layout, quantized included: the walk over the mapped trie gives
        // the numbers (and states) of its n-grams decoded into probing tables.
        let Some(dir) = reference() else {
            eprintln!("../shared/reference is absent: skipped");
            return;
        };
        let tmp = tempfile::tempdir().expect("tmp");
        let cancel = crate::cancel::Cancel::new();
        let text = std::fs::read_to_string(dir.join("query/book.heldout.txt")).expect("heldout");
        for name in [
            "book.o3.trie",
            "book.o3.trie-q8",
            "book.o3.trie-q8-b7-a22",
            "book.o3.trie-a255",
            "book.o5.trie-q8-b7-a255",
        ] {
            let path = tmp.path().join(format!("{name}.bin"));
            std::fs::write(&path, unxz(&dir.join(format!("binary/{name}.bin.xz")))).expect("w");
            for method in [
                super::super::LoadMethod::Lazy,
                super::super::LoadMethod::Populate,
                super::super::LoadMethod::Read,
            ] {
                let mapped = Model::load_with(&path, method, &cancel).expect("load");
                assert!(mapped.trie.is_some() && mapped.is_mapped(), "{name}");
                let decoded = mapped
                    .trie_grams()
                    .expect("a trie")
                    .expect("decode")
                    .to_model(mapped.probing_multiplier(), name)
                    .expect("tables");
                assert!(decoded.trie.is_none());
                assert_eq!(
                    mapped.vocab_words().expect("words"),
                    decoded.vocab_words().expect("words"),
                    "{name}"
                );
                for line in text.lines().take(400) {
                    assert_eq!(
                        mapped.full_scores(line, true, true),
                        decoded.full_scores(line, true, true),
                        "{name}: {line}"
                    );
                    assert_eq!(
                        mapped.score(line, false, false).to_bits(),
                        decoded.score(line, false, false).to_bits()
                    );
                }
                let lines: Vec<&str> = text.lines().take(400).collect();
                assert_eq!(
                    mapped
                        .score_batch(&lines, true, true, &cancel)
                        .expect("batch"),
                    decoded
                        .score_batch(&lines, true, true, &cancel)
                        .expect("batch")
                );
                // States: the same context after every word.
                let (mut a, mut b) = (
                    mapped.begin_sentence_state(),
                    decoded.begin_sentence_state(),
                );
                let (mut a2, mut b2) = (a, b);
                for word in super::super::split_words(text.as_bytes()).take(3000) {
                    let word = std::str::from_utf8(word).expect("utf-8");
                    let (ia, ib) = (mapped.index(word), decoded.index(word));
                    assert_eq!(ia, ib);
                    assert_eq!(
                        mapped.full_score(&a, ia, &mut a2),
                        decoded.full_score(&b, ib, &mut b2)
                    );
                    assert_eq!(a2, b2, "{name}: state after {word}");
                    std::mem::swap(&mut a, &mut a2);
                    std::mem::swap(&mut b, &mut b2);
                }
            }
        }
    }

    #[test]
    fn pruned_arpas_get_kenlm_blanks_byte_for_byte() {
        // build_binary's tries of an ARPA with missing suffixes (tests/data/kenlm/README.md).
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/kenlm");
        let arpa = data.join("holes.o4.arpa");
        let tmp = tempfile::tempdir().expect("tmp");
        let cancel = crate::cancel::Cancel::new();
        let cases = [
            ("trie", None, None),
            ("trie-a255", None, Some(255)),
            ("trie-q8-b7-a255", Some((8, 7)), Some(255)),
            ("trie-q3-b2", Some((3, 2)), None),
        ];
        for (layout, quantize, array_bits) in cases {
            let expected = std::fs::read(data.join(format!("holes.o4.{layout}.bin"))).expect("r");
            let out = tmp.path().join(format!("{layout}.bin"));
            super::super::build_binary_trie(
                &arpa,
                &out,
                &super::super::BuildConfig::default(),
                TrieOptions {
                    quantize,
                    array_bits,
                },
                true,
                &cancel,
            )
            .unwrap_or_else(|e| panic!("{layout}: {e}"));
            let written = std::fs::read(&out).expect("read");
            if let Some(i) =
                (0..written.len().min(expected.len())).find(|&i| written[i] != expected[i])
            {
                panic!("{layout}: first differing byte {i} of {}", expected.len());
            }
            assert_eq!(written.len(), expected.len(), "{layout}: size");
        }
    }

    #[test]
    fn chop_bits_minimizes_size() {
        // No chop when the table would cost more than it saves.
        assert_eq!(chop_bits(10, 1 << 20, 22), 0);
        // Many entries per pointer block: chop as much as pays.
        let c = chop_bits(1 << 20, 1 << 20, 22);
        assert!(c > 0 && c <= 21, "{c}");
        assert_eq!(chop_bits(1 << 20, 1 << 20, 3), 3);
    }
}
