//! The partitioned estimator (issue 18; the design, sizes and formulas are in `docs/ray.md`):
//! stages 2-5 of [`super::pipeline`] run per partition of last-word ids, with two small
//! exchanges through files in a work directory, and give the single-process ARPA byte for byte.
//!
//! Tasks, in order (each reads and writes only files of [`Work`], written whole and renamed, so
//! a retried task is safe):
//!
//! 1. [`adjust_partition`] per partition: adjusted counts ([`super::adjust`]), local
//!    count-of-counts, the unigram sums. lmplz's end-of-stream rule applies only where the
//!    corpus's stream ends (`stream_ends`: the last partition holding windows).
//! 2. [`reduce`] once: summed count-of-counts -> discounts ([`super::discount`]); summed unigram
//!    sums; the header counts.
//! 3. [`contexts_partition`] per partition: each order resorted by context; the
//!    [`ContextSums`] of each context sent to the partition of the context's last word.
//! 4. [`gamma_partition`] per partition: the sums of its contexts reduced -> gamma and the
//!    denominator, sent back; the backoffs of its own n-grams.
//! 5. [`interpolate_partition`] per partition: probabilities, interpolation
//!    ([`super::interpolate`]) and the partition's ARPA lines of every order.
//! 6. [`concat()`] once: the header and the pieces in order.
//!
//! Memory per task: the vocabulary, 8 bytes per word of unigram values, and the sort budget.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::adjust::{OrderStats, PRUNED};
use super::config::EstimateConfig;
use super::counts_file::{read_counts, CountsFile};
use super::discount::Discount;
use super::initial::{probability, ContextSums, CONTEXT_SUMS_WORDS};
use super::interpolate::{interpolate_order, write_unigrams, BackoffJoin, Backoffs, Lower};
use super::partition::read_vocabulary;
use super::pipeline::{
    adjust_stage, discount_stage, in_pool, interpolate_unigrams, write_end, write_section_start,
    Header, Summary,
};
use super::sink::{ArpaSink, Output};
use super::{BOS, UNK};
use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Result};
use crate::io::AtomicFile;
use crate::model::{binary_writer, BinaryLayout};
use crate::sort::{
    compare_suffix, get_u64, set_u64, KeyOrder, Layout, RecordReader, RecordWriter, Run, Sorter,
    TempDir,
};

/// The work directory of a partitioned estimate and the partition ranges:
/// `bounds[p]..bounds[p + 1]` are the merged ids of the last words of partition p.
pub struct Work {
    dir: PathBuf,
    bounds: Vec<u32>,
}

impl Work {
    /// The work directory `dir` (created if missing) for partitions cut at `bounds` (P + 1
    /// increasing ids from 0; the last may be `u32::MAX`).
    pub fn new(dir: &Path, bounds: &[u32]) -> Result<Work> {
        if bounds.len() < 2 || bounds[0] != 0 || bounds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidArgument(format!(
                "partition bounds must be at least two increasing ids starting at 0, got {bounds:?}"
            )));
        }
        let work = Work {
            dir: dir.to_path_buf(),
            bounds: bounds.to_vec(),
        };
        for p in 0..work.parts() {
            let d = work.part_dir(p);
            std::fs::create_dir_all(&d).at_path("cannot create", &d)?;
        }
        Ok(work)
    }

    /// The number of partitions P.
    pub fn parts(&self) -> usize {
        self.bounds.len() - 1
    }

    fn part_dir(&self, p: usize) -> PathBuf {
        self.dir.join(format!("p{p}"))
    }

    fn file(&self, p: usize, name: &str) -> PathBuf {
        self.part_dir(p).join(name)
    }

    /// The partition of the last word `w`.
    fn owner(&self, w: u32) -> usize {
        self.bounds[1..self.parts()].partition_point(|&b| b <= w)
    }

    fn range(&self, p: usize) -> std::ops::Range<u32> {
        self.bounds[p]..self.bounds[p + 1]
    }

    fn temp(&self, p: usize) -> Result<TempDir> {
        TempDir::new_in(&self.part_dir(p))
    }

    fn check_part(&self, p: usize) -> Result<()> {
        if p >= self.parts() {
            return Err(Error::InvalidArgument(format!(
                "partition {p} does not exist (there are {})",
                self.parts()
            )));
        }
        Ok(())
    }
}

const SUMS_MAGIC: &[u8; 8] = b"KNESERS\x01";

/// Writes a small file of u64 values atomically.
fn write_sums(path: &Path, values: &[u64]) -> Result<()> {
    let werr = |e| Error::io("cannot write", path, e);
    let mut f = AtomicFile::create(path)?;
    f.write_all(SUMS_MAGIC).map_err(werr)?;
    f.write_all(&(values.len() as u64).to_le_bytes())
        .map_err(werr)?;
    for v in values {
        f.write_all(&v.to_le_bytes()).map_err(werr)?;
    }
    f.commit()
}

fn read_sums(path: &Path) -> Result<Vec<u64>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .at_path("cannot read", path)?;
    let name = path.display().to_string();
    let bad = || Error::format(&name, 0, "truncated or corrupt partition summary");
    if bytes.len() < 16 || &bytes[..8] != SUMS_MAGIC {
        return Err(bad());
    }
    let v: Vec<u64> = bytes[8..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    if bytes.len() % 8 != 0 || v.len() as u64 != v[0] + 1 {
        return Err(bad());
    }
    Ok(v[1..].to_vec())
}

/// Reads `values[at..at + n]`, or a format error naming `path`.
fn take<'a>(values: &'a [u64], at: &mut usize, n: usize, path: &Path) -> Result<&'a [u64]> {
    let s = values.get(*at..*at + n).ok_or_else(|| {
        Error::format(path.display().to_string(), 0, "partition summary too short")
    })?;
    *at += n;
    Ok(s)
}

fn sums_words(s: &ContextSums) -> [u64; 5] {
    [
        s.denominator,
        s.classes[1],
        s.classes[2],
        s.classes[3],
        s.pruned_mass,
    ]
}

fn sums_from(v: &[u64]) -> ContextSums {
    ContextSums {
        denominator: v[0],
        classes: [0, v[1], v[2], v[3]],
        pruned_mass: v[4],
    }
}

/// What [`adjust_partition`] found in one partition (the input of [`reduce`]).
#[derive(Debug, Clone)]
struct PartAdjusted {
    stats: Vec<OrderStats>,
    unigrams: ContextSums,
    present: u64,
    tokens: u64,
    types: u64,
}

impl PartAdjusted {
    fn write(&self, path: &Path) -> Result<()> {
        let mut v = vec![self.stats.len() as u64];
        for s in &self.stats {
            v.extend_from_slice(&s.count_of_counts[1..]);
            v.push(s.total);
            v.push(s.kept);
        }
        v.extend_from_slice(&sums_words(&self.unigrams));
        v.extend_from_slice(&[self.present, self.tokens, self.types]);
        write_sums(path, &v)
    }

    fn read(path: &Path) -> Result<Self> {
        let v = read_sums(path)?;
        let mut at = 0;
        let n = take(&v, &mut at, 1, path)?[0] as usize;
        let mut stats = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let s = take(&v, &mut at, 6, path)?;
            let mut st = OrderStats {
                total: s[4],
                kept: s[5],
                ..Default::default()
            };
            st.count_of_counts[1..].copy_from_slice(&s[..4]);
            stats.push(st);
        }
        let unigrams = sums_from(take(&v, &mut at, 5, path)?);
        let rest = take(&v, &mut at, 3, path)?;
        Ok(PartAdjusted {
            stats,
            unigrams,
            present: rest[0],
            tokens: rest[1],
            types: rest[2],
        })
    }
}

/// The global quantities every partition needs, from [`reduce`].
#[derive(Debug, Clone)]
pub struct Global {
    /// D0..D3+ per order.
    pub discounts: Vec<Discount>,
    /// Orders (1-based) whose discounts came from the fallback.
    pub fallback_orders: Vec<usize>,
    /// The sums of the unigrams (the empty context).
    pub unigrams: ContextSums,
    /// N-grams per order in the model (the ARPA header's counts).
    pub counts: Vec<u64>,
    /// N-grams per order before pruning.
    pub unpruned: Vec<u64>,
    /// Tokens of the corpus.
    pub tokens: u64,
    /// Vocabulary size, specials included.
    pub types: u64,
}

impl Global {
    fn path(work: &Work) -> PathBuf {
        work.dir.join("global.sums")
    }

    fn write(&self, path: &Path) -> Result<()> {
        let n = self.counts.len();
        let mut v = vec![n as u64];
        for (i, d) in self.discounts.iter().enumerate() {
            v.extend(d.amount[1..].iter().map(|a| u64::from(a.to_bits())));
            v.push(u64::from(self.fallback_orders.contains(&(i + 1))));
        }
        v.extend_from_slice(&sums_words(&self.unigrams));
        v.extend_from_slice(&self.counts);
        v.extend_from_slice(&self.unpruned);
        v.extend_from_slice(&[self.tokens, self.types]);
        write_sums(path, &v)
    }

    /// Reads what [`reduce`] wrote in `work`.
    pub fn read(work: &Work) -> Result<Self> {
        let path = Global::path(work);
        let v = read_sums(&path)?;
        let mut at = 0;
        let n = take(&v, &mut at, 1, &path)?[0] as usize;
        let mut discounts = Vec::new();
        let mut fallback_orders = Vec::new();
        for i in 0..n {
            let d = take(&v, &mut at, 4, &path)?;
            let f = |x: u64| f32::from_bits(x as u32);
            discounts.push(Discount::from_values([f(d[0]), f(d[1]), f(d[2])]));
            if d[3] != 0 {
                fallback_orders.push(i + 1);
            }
        }
        let unigrams = sums_from(take(&v, &mut at, 5, &path)?);
        let counts = take(&v, &mut at, n, &path)?.to_vec();
        let unpruned = take(&v, &mut at, n, &path)?.to_vec();
        let rest = take(&v, &mut at, 2, &path)?;
        Ok(Global {
            discounts,
            fallback_orders,
            unigrams,
            counts,
            unpruned,
            tokens: rest[0],
            types: rest[1],
        })
    }
}

fn memory_of(config: &EstimateConfig) -> usize {
    usize::try_from(config.memory).unwrap_or(usize::MAX)
}

fn refuse_unsupported(config: &EstimateConfig) -> Result<()> {
    if config.renumber {
        return Err(Error::InvalidArgument(
            "renumber reorders the vocabulary, so the partitions are no longer sections of the \
             ARPA; estimate without partitions for renumber"
                .into(),
        ));
    }
    Ok(())
}

/// Task 1 for partition `p` of the work directory `dir` cut at `bounds` (see [`Work::new`]):
/// its adjusted counts (the partition file `partition`, made by
/// [`super::partition::merge_partition`] for the range of `p`). `stream_ends`: whether this is
/// the last partition holding any window. Returns the bytes written to `work`.
pub fn adjust_partition(
    dir: &Path,
    bounds: &[u32],
    p: usize,
    partition: &Path,
    stream_ends: bool,
    config: &EstimateConfig,
    cancel: &Cancel,
) -> Result<u64> {
    in_pool(config, || {
        let work = Work::new(dir, bounds)?;
        adjust_inner(&work, p, partition, stream_ends, config, cancel)
    })
}

fn adjust_inner(
    work: &Work,
    p: usize,
    partition: &Path,
    stream_ends: bool,
    config: &EstimateConfig,
    cancel: &Cancel,
) -> Result<u64> {
    work.check_part(p)?;
    refuse_unsupported(config)?;
    let temp = work.temp(p)?;
    let n = config.order;
    let (vocab, mut windows, order, tokens) =
        read_counts(&[partition.to_path_buf()], memory_of(config), &temp, cancel)?;
    if order != n {
        return Err(Error::InvalidArgument(format!(
            "the partition {} holds {order}-grams but order {n} was asked for",
            partition.display()
        )));
    }
    let adjusted = adjust_stage(config, &vocab, &mut windows, stream_ends, &temp, cancel)?;
    let range = work.range(p);
    let mut unigrams = ContextSums::default();
    let mut present = 0u64;
    let mut forced = [UNK, BOS].map(|id| range.contains(&id));
    let mut r = adjusted.files[0].reader()?;
    let mut rec = [0u32; 3];
    let mut windows = 0u64;
    while r.read(&mut rec)? {
        windows += 1;
        if !range.contains(&rec[0]) {
            return Err(Error::InvalidArgument(format!(
                "the partition {} holds a window ending in id {}, outside partition {p}'s range \
                 {}..{}; give the partition files in range order",
                partition.display(),
                rec[0],
                range.start,
                range.end
            )));
        }
        let c = get_u64(&rec[1..]);
        unigrams.add(c);
        for (f, id) in forced.iter_mut().zip([UNK, BOS]) {
            if rec[0] == id {
                *f = false;
            }
        }
        present += u64::from(c & PRUNED == 0);
    }
    drop(r);
    present += forced.iter().filter(|&&f| f).count() as u64;
    let mut bytes = 0;
    for (i, file) in adjusted.files.into_iter().enumerate() {
        bytes += file.bytes();
        file.persist(&work.file(p, &format!("adjusted.{}", i + 1)))?;
    }
    PartAdjusted {
        stats: adjusted.stats,
        unigrams,
        present,
        tokens,
        types: vocab.len() as u64,
    }
    .write(&work.file(p, "adjust.sums"))?;
    let marker = work.file(p, HOLDS_WINDOWS);
    if windows > 0 {
        std::fs::write(&marker, b"").at_path("cannot write", &marker)?;
    } else if marker.exists() {
        std::fs::remove_file(&marker).at_path("cannot remove", &marker)?;
    }
    Ok(bytes)
}

/// The work file of a partition that marks it as holding windows (n-grams), for the backoffs
/// of the partitions before it ([`BackoffJoin::ByKey`]).
const HOLDS_WINDOWS: &str = "holds-windows";

/// Task 2: sums the partitions' count-of-counts and unigram sums, estimates the discounts
/// (with the fallback where configured) and writes them for the other tasks.
pub fn reduce(dir: &Path, bounds: &[u32], config: &EstimateConfig) -> Result<Global> {
    config.validate()?;
    reduce_inner(&Work::new(dir, bounds)?, config)
}

fn reduce_inner(work: &Work, config: &EstimateConfig) -> Result<Global> {
    let n = config.order;
    let mut stats = vec![OrderStats::default(); n];
    let mut unigrams = ContextSums::default();
    let (mut present, mut tokens, mut types) = (0u64, 0u64, 0u64);
    for p in 0..work.parts() {
        let path = work.file(p, "adjust.sums");
        let part = PartAdjusted::read(&path)?;
        if part.stats.len() != n {
            return Err(Error::InvalidArgument(format!(
                "{} was written for order {}, not {n}",
                path.display(),
                part.stats.len()
            )));
        }
        for (s, t) in stats.iter_mut().zip(&part.stats) {
            for j in 1..5 {
                s.count_of_counts[j] += t.count_of_counts[j];
            }
            s.total += t.total;
            s.kept += t.kept;
        }
        unigrams.merge(&part.unigrams);
        present += part.present;
        tokens += part.tokens;
        types = part.types;
    }
    let (discounts, fallback_orders) = discount_stage(config, &stats)?;
    let mut counts: Vec<u64> = stats.iter().map(|s| s.kept).collect();
    counts[0] = present;
    let global = Global {
        discounts,
        fallback_orders,
        unigrams,
        counts,
        unpruned: stats.iter().map(|s| s.total).collect(),
        tokens,
        types,
    };
    global.write(&Global::path(work))?;
    Ok(global)
}

/// Task 3 for partition `p`: each order k >= 2 in context order (kept for task 5), and the
/// sums of each context's extensions here, sent to the context's owner. Returns the bytes
/// written.
pub fn contexts_partition(
    dir: &Path,
    bounds: &[u32],
    p: usize,
    config: &EstimateConfig,
    cancel: &Cancel,
) -> Result<u64> {
    in_pool(config, || {
        contexts_inner(&Work::new(dir, bounds)?, p, config, cancel)
    })
}

/// A sorter of order-`k` records carrying two payload words (count and flag, or denominator
/// and gamma), in `order`, within the task's sort budget.
fn record_sorter(
    k: usize,
    order: KeyOrder,
    config: &EstimateConfig,
    temp: &TempDir,
    cancel: &Cancel,
) -> Sorter {
    let layout = Layout {
        key_words: k,
        payload_words: 2,
    };
    Sorter::new(layout, order, None, memory_of(config), temp, cancel)
}

fn contexts_inner(work: &Work, p: usize, config: &EstimateConfig, cancel: &Cancel) -> Result<u64> {
    work.check_part(p)?;
    let temp = work.temp(p)?;
    let parts = work.parts();
    let mut bytes = 0;
    for k in 2..=config.order {
        let input = Run::open(&work.file(p, &format!("adjusted.{k}")), k + 2)?;
        let mut sorter = record_sorter(k, KeyOrder::Context, config, &temp, cancel);
        let mut r = input.reader()?;
        let mut rec = vec![0u32; k + 2];
        while r.read(&mut rec)? {
            sorter.push(&rec)?;
        }
        let mut stream = sorter.finish()?;
        let width = k - 1 + CONTEXT_SUMS_WORDS;
        let mut ctx = RecordWriter::create(&temp, k + 2)?;
        let mut sends = (0..parts)
            .map(|_| RecordWriter::create(&temp, width))
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![0u32; width];
        let mut sums = ContextSums::default();
        let mut have = false;
        let send = |out: &mut Vec<u32>, sums: &ContextSums, sends: &mut [RecordWriter]| {
            sums.to_words(&mut out[k - 1..]);
            sends[work.owner(out[k - 2])].write(out)
        };
        while let Some(r) = stream.next()? {
            if !have || out[..k - 1] != r[..k - 1] {
                if have {
                    send(&mut out, &sums, &mut sends)?;
                }
                out[..k - 1].copy_from_slice(&r[..k - 1]);
                sums = ContextSums::default();
                have = true;
            }
            sums.add(get_u64(&r[k..]));
            ctx.write(r)?;
        }
        if have {
            send(&mut out, &sums, &mut sends)?;
        }
        let ctx = ctx.finish()?;
        bytes += ctx.bytes();
        ctx.persist(&work.file(p, &format!("ctx.{k}")))?;
        for (q, s) in sends.into_iter().enumerate() {
            let run = s.finish()?;
            bytes += run.bytes();
            run.persist(&work.file(q, &format!("in.{k}.{p}")))?;
        }
    }
    Ok(bytes)
}

/// Task 4 for partition `q`: the sums of every context whose last word is in `q`'s range,
/// reduced over the partitions that sent them -> gamma (the backoffs of `q`'s n-grams) and the
/// denominator, sent back to each sender in the order it sent. Returns the bytes written.
pub fn gamma_partition(
    dir: &Path,
    bounds: &[u32],
    q: usize,
    config: &EstimateConfig,
) -> Result<u64> {
    in_pool(config, || gamma_inner(&Work::new(dir, bounds)?, q, config))
}

fn gamma_inner(work: &Work, q: usize, config: &EstimateConfig) -> Result<u64> {
    work.check_part(q)?;
    let global = Global::read(work)?;
    let temp = work.temp(q)?;
    let parts = work.parts();
    let mut bytes = 0;
    for k in 2..=config.order {
        let d = &global.discounts[k - 1];
        let c = k - 1;
        let width = c + CONTEXT_SUMS_WORDS;
        let runs = (0..parts)
            .map(|p| Run::open(&work.file(q, &format!("in.{k}.{p}")), width))
            .collect::<Result<Vec<_>>>()?;
        let mut readers = runs
            .iter()
            .map(|r| r.reader())
            .collect::<Result<Vec<RecordReader>>>()?;
        let mut heads = vec![vec![0u32; width]; parts];
        let mut valid = Vec::with_capacity(parts);
        for (r, h) in readers.iter_mut().zip(heads.iter_mut()) {
            valid.push(r.read(h)?);
        }
        let mut backoff = RecordWriter::create(&temp, k)?;
        let mut replies = (0..parts)
            .map(|_| RecordWriter::create(&temp, 3))
            .collect::<Result<Vec<_>>>()?;
        let mut cur = vec![0u32; k];
        let mut members = Vec::with_capacity(parts);
        loop {
            // The smallest context among the heads (P is a few per CPU: a scan is enough).
            let mut min: Option<usize> = None;
            for p in 0..parts {
                if valid[p]
                    && min.is_none_or(|m| compare_suffix(&heads[p][..c], &heads[m][..c]).is_lt())
                {
                    min = Some(p);
                }
            }
            let Some(m) = min else { break };
            cur[..c].copy_from_slice(&heads[m][..c]);
            let mut sums = ContextSums::default();
            members.clear();
            for p in m..parts {
                if valid[p] && heads[p][..c] == cur[..c] {
                    sums.merge(&ContextSums::from_words(&heads[p][c..]));
                    members.push(p);
                    valid[p] = readers[p].read(&mut heads[p])?;
                }
            }
            let gamma = sums.gamma(d);
            cur[c] = gamma.to_bits();
            backoff.write(&cur)?;
            let mut reply = [0u32; 3];
            set_u64(&mut reply[..2], sums.denominator);
            reply[2] = gamma.to_bits();
            for &p in &members {
                replies[p].write(&reply)?;
            }
        }
        drop(readers);
        drop(runs);
        let backoff = backoff.finish()?;
        bytes += backoff.bytes();
        backoff.persist(&work.file(q, &format!("backoff.{k}")))?;
        for (p, r) in replies.into_iter().enumerate() {
            let run = r.finish()?;
            bytes += run.bytes();
            run.persist(&work.file(p, &format!("reply.{k}.{q}")))?;
        }
    }
    Ok(bytes)
}

/// Task 5 for partition `p`: probabilities, interpolation and the partition's ARPA lines of
/// every order (`piece.k` in its directory). `partition` is its partition file (for the
/// vocabulary). Returns the bytes written.
pub fn interpolate_partition(
    dir: &Path,
    bounds: &[u32],
    p: usize,
    partition: &Path,
    config: &EstimateConfig,
    cancel: &Cancel,
) -> Result<u64> {
    in_pool(config, || {
        interpolate_inner(&Work::new(dir, bounds)?, p, partition, config, cancel)
    })
}

fn piece_path(work: &Work, p: usize, k: usize) -> PathBuf {
    work.file(p, &format!("piece.{k}"))
}

fn interpolate_inner(
    work: &Work,
    p: usize,
    partition: &Path,
    config: &EstimateConfig,
    cancel: &Cancel,
) -> Result<u64> {
    work.check_part(p)?;
    let global = Global::read(work)?;
    let (vocab, _) = read_vocabulary(partition)?;
    let temp = work.temp(p)?;
    let later = (p + 1..work.parts()).any(|r| work.file(r, HOLDS_WINDOWS).exists());
    let (n, collapse) = (config.order, config.collapse_values);
    let types = vocab.len();
    let range = work.range(p);
    let mut counts = vec![0u64; types];
    let mut present = vec![false; types];
    for id in [UNK, BOS] {
        present[id as usize] = range.contains(&id);
    }
    let uni = Run::open(&work.file(p, "adjusted.1"), 3)?;
    let mut r = uni.reader()?;
    let mut rec = [0u32; 3];
    while r.read(&mut rec)? {
        let id = rec[0] as usize;
        if id >= types {
            return Err(Error::InvalidArgument(format!(
                "word id {id} beyond the vocabulary of {}",
                partition.display()
            )));
        }
        counts[id] = get_u64(&rec[1..]);
        present[id] = counts[id] & PRUNED == 0;
    }
    drop(r);
    let d1 = &global.discounts[0];
    let mut interp = vec![0.0f32; types];
    for (p_id, &c) in interp.iter_mut().zip(&counts) {
        if c & PRUNED == 0 {
            *p_id = probability(d1, c, global.unigrams.denominator);
        }
    }
    let gamma1 = global.unigrams.gamma(d1);
    let nothing_counted = global.unigrams.denominator == 0;
    interpolate_unigrams(
        config,
        &mut interp,
        gamma1,
        global.counts[0],
        nothing_counted,
    );
    let backoffs = |k: usize| -> Result<Option<Backoffs>> {
        if k >= n {
            return Ok(None);
        }
        let run = Run::open(&work.file(p, &format!("backoff.{}", k + 1)), k + 1)?;
        let join = BackoffJoin::ByKey { later };
        Ok(Some(Backoffs::from_run(run, k, join, &vocab)?))
    };
    let mut bytes = 0;
    let mut sink = ArpaSink::new(Output::Path(piece_path(work, p, 1)), &[])?;
    let name = sink.name().to_string();
    let q = write_unigrams(
        &interp,
        &present,
        BOS,
        backoffs(1)?,
        &vocab,
        &mut sink,
        &name,
        collapse,
    )?;
    sink.finish()?;
    let mut lower = Lower::Unigrams { p: interp, q };
    for k in 2..=n {
        let d = &global.discounts[k - 1];
        let ctx = Run::open(&work.file(p, &format!("ctx.{k}")), k + 2)?;
        let replies = (0..work.parts())
            .map(|q| Run::open(&work.file(p, &format!("reply.{k}.{q}")), 3))
            .collect::<Result<Vec<_>>>()?;
        let mut reply_readers = replies
            .iter()
            .map(|r| r.reader())
            .collect::<Result<Vec<_>>>()?;
        let mut by_suffix = record_sorter(k, KeyOrder::Suffix, config, &temp, cancel);
        let mut r = ctx.reader()?;
        let mut rec = vec![0u32; k + 2];
        let mut context = vec![0u32; k - 1];
        let mut have = false;
        let (mut denominator, mut gamma) = (0u64, 0.0f32);
        let mut out = vec![0u32; k + 2];
        while r.read(&mut rec)? {
            if !have || context[..] != rec[..k - 1] {
                context.copy_from_slice(&rec[..k - 1]);
                have = true;
                let q = work.owner(context[k - 2]);
                let mut reply = [0u32; 3];
                if !reply_readers[q].read(&mut reply)? {
                    return Err(Error::Internal(format!(
                        "partition {q} sent partition {p} too few gammas of order {k}"
                    )));
                }
                denominator = get_u64(&reply[..2]);
                gamma = f32::from_bits(reply[2]);
            }
            let c = get_u64(&rec[k..]);
            if c & PRUNED == 0 {
                out[..k].copy_from_slice(&rec[..k]);
                out[k] = probability(d, c, denominator).to_bits();
                out[k + 1] = gamma.to_bits();
                by_suffix.push(&out)?;
            }
        }
        drop(r);
        let mut probs = by_suffix.finish()?;
        let mut next = match k < n {
            true => Some(RecordWriter::create(&temp, k + 1 + usize::from(collapse))?),
            false => None,
        };
        let mut sink = ArpaSink::new(Output::Path(piece_path(work, p, k)), &[])?;
        interpolate_order(
            k,
            &mut probs,
            &mut lower,
            backoffs(k)?,
            &vocab,
            &mut sink,
            next.as_mut(),
            collapse,
            cancel,
        )?;
        sink.finish()?;
        if let Some(next) = next {
            lower = Lower::from_run(next.finish()?, k, collapse)?;
        }
    }
    for k in 1..=n {
        bytes += std::fs::metadata(piece_path(work, p, k))
            .map(|m| m.len())
            .unwrap_or(0);
    }
    Ok(bytes)
}

/// Where [`concat()`] writes the model.
#[derive(Debug, Clone)]
pub enum Target {
    /// An ARPA file.
    Arpa(PathBuf),
    /// A KenLM binary file, built from the concatenated ARPA text as it streams (the binary
    /// writer holds the whole model: this part is not partitioned).
    Binary {
        /// The binary file.
        path: PathBuf,
        /// Probing or trie (with its quantization).
        layout: BinaryLayout,
        /// Write the vocabulary strings at the end (`build_binary`'s default).
        include_vocab: bool,
    },
}

/// Task 6: the header and each order's pieces in partition order, into `target`, renamed into
/// place only when complete (a failed concat leaves nothing at the target). `partitions`: the
/// partition files (refused as the target; `--verbose_header` names them, as an estimate
/// from them does). Returns the bytes of the model file.
pub fn concat(
    dir: &Path,
    bounds: &[u32],
    config: &EstimateConfig,
    target: &Target,
    partitions: &[PathBuf],
) -> Result<u64> {
    config.validate()?;
    let work = Work::new(dir, bounds)?;
    let input_name = &super::Source::Counts(partitions.to_vec()).name();
    let path = match target {
        Target::Arpa(path) => {
            let sink = ArpaSink::new(Output::Path(path.clone()), partitions)?;
            concat_inner(&work, config, input_name, sink)?;
            path
        }
        Target::Binary {
            path,
            layout,
            include_vocab,
        } => {
            let (writer, job) = binary_writer(
                path.clone(),
                *layout,
                *include_vocab,
                "the partitioned ARPA".into(),
            )?;
            let written = ArpaSink::new(Output::Writer(Box::new(writer)), partitions)
                .and_then(|sink| concat_inner(&work, config, input_name, sink));
            match (written, job.wait()) {
                (Ok(()), Ok(())) => path,
                (Ok(()), Err(e)) => return Err(e),
                (Err(e), Ok(())) => return Err(e),
                // The concat's write fails when the binary writer stopped first: its error
                // is the cause.
                (Err(e), Err(je)) => {
                    return Err(
                        match e.to_string().contains("binary model writer stopped") {
                            true => je,
                            false => e,
                        },
                    )
                }
            }
        }
    };
    Ok(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
}

fn concat_inner(
    work: &Work,
    config: &EstimateConfig,
    input_name: &str,
    mut sink: ArpaSink,
) -> Result<()> {
    let global = Global::read(work)?;
    let out_name = sink.name().to_string();
    let werr = |e| Error::io("cannot write", &out_name, e);
    Header {
        input_name,
        tokens: global.tokens,
        counts: &global.counts,
    }
    .write(config, &mut sink)
    .map_err(werr)?;
    for k in 1..=config.order {
        write_section_start(&mut sink, k).map_err(werr)?;
        for p in 0..work.parts() {
            let path = piece_path(work, p, k);
            let mut f = std::fs::File::open(&path).at_path("cannot open", &path)?;
            std::io::copy(&mut f, &mut sink).map_err(werr)?;
        }
    }
    write_end(&mut sink).map_err(werr)?;
    sink.finish()
}

/// The last partition holding any window (where the corpus's stream ends), from the
/// partition files' headers.
pub fn stream_end(partitions: &[PathBuf]) -> Result<Option<usize>> {
    let mut last = None;
    for (p, path) in partitions.iter().enumerate() {
        if CountsFile::open(path)?.header.records > 0 {
            last = Some(p);
        }
    }
    Ok(last)
}

/// Runs every task in turn in this process: the partitioned estimate of the partition files
/// `partitions` (cut at `bounds`), written to `output`. Work files go to a fresh directory in
/// `work_dir`, removed at the end.
pub fn estimate_partitioned(
    partitions: &[PathBuf],
    bounds: &[u32],
    work_dir: &Path,
    config: &EstimateConfig,
    input_name: &str,
    output: Output,
    cancel: &Cancel,
) -> Result<Summary> {
    in_pool(config, || {
        let start = Instant::now();
        refuse_unsupported(config)?;
        if partitions.len() + 1 != bounds.len() {
            return Err(Error::InvalidArgument(format!(
                "{} partition files for {} ranges",
                partitions.len(),
                bounds.len().saturating_sub(1)
            )));
        }
        let sink = ArpaSink::new(output, partitions)?;
        let dir = TempDir::new_in(work_dir)?;
        let work = Work::new(dir.path(), bounds)?;
        let end = stream_end(partitions)?;
        for (p, part) in partitions.iter().enumerate() {
            adjust_inner(&work, p, part, end == Some(p), config, cancel)?;
        }
        let global = reduce_inner(&work, config)?;
        for p in 0..work.parts() {
            contexts_inner(&work, p, config, cancel)?;
        }
        for q in 0..work.parts() {
            gamma_inner(&work, q, config)?;
        }
        for (p, part) in partitions.iter().enumerate() {
            interpolate_inner(&work, p, part, config, cancel)?;
        }
        concat_inner(&work, config, input_name, sink)?;
        Ok(Summary {
            counts: global.counts,
            unpruned: global.unpruned,
            discounts: global
                .discounts
                .iter()
                .map(|d| [d.amount[1], d.amount[2], d.amount[3]])
                .collect(),
            fallback_orders: global.fallback_orders,
            tokens: global.tokens,
            types: global.types as usize,
            seconds: start.elapsed().as_secs_f64(),
            stage_seconds: Vec::new(),
        })
    })
}

#[cfg(test)]
#[path = "partitioned_tests.rs"]
mod tests;
