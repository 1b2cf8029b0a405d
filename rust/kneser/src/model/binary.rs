//! kneser's binary model format: the query tables behind a versioned header, memory-mapped on
//! load.
//!
//! Input (save): a [`Model`]. Output: a file written atomically. Input (load): such a file;
//! output: a [`Model`] whose tables are read in place from the mapping (pages load on demand, so
//! loading takes milliseconds whatever the size).
//!
//! Layout, every integer little-endian whatever the machine (values are read with
//! `from_le_bytes`, so the format is portable):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `KNESERLM` |
//! | 8 | 4 | format version (1) |
//! | 12 | 4 | byte-order mark `0x0A0B0C0D` (a foreign or byte-swapped writer shows here) |
//! | 16 | 4 | order N |
//! | 20 | 4 | flags (bit 0: the ARPA had no `<unk>`) |
//! | 24 | 8 | vocabulary size (unigram entries) |
//! | 32 | 4 | id of `<s>` |
//! | 36 | 4 | id of `</s>` |
//! | 40 | 8 | total file length in bytes (detects truncation) |
//! | 48 | 16 x (N + 1) | sections: (byte offset, length in 8-byte words) of the vocabulary table, the unigram array, then the tables of orders 2..N |
//!
//! Sections start at multiples of 8. Table formats are those of [`super::table`].
//!
//! Errors: a foreign file, another version, a truncated file or a section out of bounds is an
//! [`Error::Format`] giving the byte offset.

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::io::AtomicFile;

use super::load_method::{map_model_file, LoadMethod};
use super::table::Words;
use super::{head_of, Model, Storage, MAX_ORDER};

const MAGIC: &[u8; 8] = b"KNESERLM";
const VERSION: u32 = 1;
const BOM: u32 = 0x0A0B_0C0D;
const FIXED_HEADER: usize = 48;

/// Whether the file at `path` starts with the magic bytes of a binary model.
pub(crate) fn is_binary(path: &Path) -> Result<bool> {
    if path.as_os_str() == "-" {
        return Ok(false);
    }
    Ok(head_of(path, MAGIC.len())? == MAGIC)
}

fn header_len(order: usize) -> usize {
    FIXED_HEADER + 16 * (order + 1)
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

pub(crate) fn save(model: &Model, path: &Path) -> Result<()> {
    with_view!(model, v => {
        let mut sections = vec![v.vocab, v.unigrams];
        for n in 2..=model.order {
            sections.push(v.tables[n]);
        }
        write_sections(model, path, &sections)
    })
}

/// Writes the header and `sections` (streamed, never copied whole).
fn write_sections<W: Words>(model: &Model, path: &Path, sections: &[W]) -> Result<()> {
    let mut offsets = Vec::with_capacity(sections.len());
    let mut at = align8(header_len(model.order));
    for s in sections {
        offsets.push(at);
        at += 8 * s.len();
    }
    let total = at;

    let mut header = Vec::with_capacity(align8(header_len(model.order)));
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&BOM.to_le_bytes());
    header.extend_from_slice(&(model.order as u32).to_le_bytes());
    header.extend_from_slice(&u32::from(model.unk_missing).to_le_bytes());
    header.extend_from_slice(&(model.vocab_size as u64).to_le_bytes());
    header.extend_from_slice(&model.bos.to_le_bytes());
    header.extend_from_slice(&model.eos.to_le_bytes());
    header.extend_from_slice(&(total as u64).to_le_bytes());
    for (o, s) in offsets.iter().zip(sections) {
        header.extend_from_slice(&(*o as u64).to_le_bytes());
        header.extend_from_slice(&(s.len() as u64).to_le_bytes());
    }
    header.resize(align8(header.len()), 0);

    let mut out = AtomicFile::create(path)?;
    let target = out.target().to_path_buf();
    out.write_all(&header).at_path("cannot write", &target)?;
    let mut block = Vec::with_capacity(1 << 16);
    for s in sections {
        for i in 0..s.len() {
            block.extend_from_slice(&s.get(i).to_le_bytes());
            if block.len() >= 1 << 16 {
                out.write_all(&block).at_path("cannot write", &target)?;
                block.clear();
            }
        }
        out.write_all(&block).at_path("cannot write", &target)?;
        block.clear();
    }
    out.commit()
}

/// Reads little-endian integers from the header, with the offset in errors.
struct Reader<'a> {
    bytes: &'a [u8],
    name: String,
}

impl Reader<'_> {
    fn error(&self, offset: usize, message: impl std::fmt::Display) -> Error {
        Error::format(
            self.name.clone(),
            0,
            format!("byte offset {offset}: {message}"),
        )
    }

    fn u32(&self, at: usize) -> Result<u32> {
        let b = self
            .bytes
            .get(at..at + 4)
            .ok_or_else(|| self.error(at, "the file is truncated inside its header"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&self, at: usize) -> Result<u64> {
        let b = self
            .bytes
            .get(at..at + 8)
            .ok_or_else(|| self.error(at, "the file is truncated inside its header"))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

pub(crate) fn load(path: &Path, method: LoadMethod) -> Result<Model> {
    let file = File::open(path).at_path("cannot open", path)?;
    let map = map_model_file(&file, path, method)?;
    let r = Reader {
        bytes: &map[..],
        name: crate::io::display_name(path),
    };
    if r.bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err(r.error(
            0,
            "not a kneser binary model (the magic bytes KNESERLM are missing)",
        ));
    }
    let version = r.u32(8)?;
    if version != VERSION {
        return Err(r.error(
            8,
            format!("binary format version {version} is not supported (this kneser reads version {VERSION}); rebuild the model from its ARPA"),
        ));
    }
    let bom = r.u32(12)?;
    if bom != BOM {
        return Err(r.error(
            12,
            format!(
                "bad byte-order mark {bom:#010x} (expected {BOM:#010x}): a foreign or corrupt file"
            ),
        ));
    }
    let order = r.u32(16)? as usize;
    if order == 0 || order > MAX_ORDER {
        return Err(r.error(16, format!("order {order} is outside 1..={MAX_ORDER}")));
    }
    let flags = r.u32(20)?;
    let vocab_size = usize::try_from(r.u64(24)?).unwrap_or(usize::MAX);
    let bos = r.u32(32)?;
    let eos = r.u32(36)?;
    let total = r.u64(40)?;
    if total != r.bytes.len() as u64 {
        return Err(r.error(
            r.bytes
                .len()
                .min(usize::try_from(total).unwrap_or(usize::MAX)),
            format!(
                "the file has {} bytes but its header says {total}: it is truncated or was altered",
                r.bytes.len()
            ),
        ));
    }
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(order + 1);
    for s in 0..=order {
        let at = FIXED_HEADER + 16 * s;
        let offset = usize::try_from(r.u64(at)?).unwrap_or(usize::MAX);
        let words = usize::try_from(r.u64(at + 8)?).unwrap_or(usize::MAX);
        let end = words
            .checked_mul(8)
            .and_then(|len| offset.checked_add(len))
            .filter(|&end| {
                end <= r.bytes.len() && offset >= header_len(order) && offset.is_multiple_of(8)
            })
            .ok_or_else(|| {
                r.error(
                    at,
                    format!("section {s} (offset {offset}, {words} words) lies outside the file"),
                )
            })?;
        let pairs_needed = s != 1;
        if pairs_needed && !words.is_multiple_of(2) {
            return Err(r.error(at, format!("hash table section {s} has an odd length")));
        }
        ranges.push(offset..end);
    }
    if ranges[1].len() / 8 != vocab_size || vocab_size == 0 {
        return Err(r.error(
            FIXED_HEADER + 16,
            format!("the unigram section does not hold the {vocab_size} entries of the header"),
        ));
    }
    if bos as usize >= vocab_size || eos as usize >= vocab_size {
        return Err(r.error(32, "the ids of <s> and </s> are outside the vocabulary"));
    }
    let vocab = ranges[0].clone();
    let unigrams = ranges[1].clone();
    let tables = ranges[2..].to_vec();
    Ok(Model {
        order,
        vocab_size,
        bos,
        eos,
        unk_missing: flags & 1 != 0,
        storage: Storage::Mapped {
            map,
            vocab,
            unigrams,
            tables,
        },
    })
}
