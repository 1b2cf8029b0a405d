//! The estimation pipeline: configuration in, ARPA out (lmplz's `pipeline`).
//!
//! Runs the stages of [`mod@crate::estimate`] in a thread pool of `config.threads` threads. Every
//! sort buffer is carved out of `config.memory`; temp files go to a fresh directory inside
//! `config.temp_dir` and are removed on success, error or cancellation. The ARPA is written to
//! a temporary sibling of the target and renamed when complete.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::adjust::{adjust_counts, Adjusted, OrderStats, PruneRule, PRUNED};
use super::config::EstimateConfig;
use super::count::{Chunk, CountOptions, Counter, Vocabulary};
use super::counts_file::{read_counts, write_counts, CountsHeader};
use super::discount::Discount;
use super::explain::Trace;
use super::initial::{initial_order, initial_unigrams, ContextRecords, Initial};
use super::interpolate::{interpolate_order, write_unigrams, BackoffJoin, Backoffs, Lower};
use super::sink::ArpaSink;
pub use super::sink::Output;
use super::{BOS, EOS, UNK};
use crate::arpa::writer::write_header;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::io::{display_name, kenlm_file_name, open_input};
use crate::sort::{get_u64, RecordWriter, SortedStream, SpareBuffers, TempDir};

/// Bytes of text per chunk tokenized by one thread.
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks tokenized in parallel before their ids are merged in order.
const CHUNKS_PER_BATCH: usize = 8;

/// Batches of lines handed over by a caller (e.g. pulled from a Python iterable).
pub type Batches = Box<dyn Iterator<Item = Result<Vec<String>>> + Send>;

/// Where the training text comes from.
pub enum Source {
    /// Files (plain, gz, xz, zst; `-` is stdin), read in order.
    Paths(Vec<PathBuf>),
    /// Batches of lines from a caller (each string one line, no trailing newline needed).
    Batches(Batches),
    /// Count files written by [`count_to_file`], merged as if their corpora were concatenated.
    Counts(Vec<PathBuf>),
}

impl Source {
    /// The input's name as lmplz's `--verbose_header` gives it ([`kenlm_file_name`]), the
    /// names of several inputs space-separated; count files (`--from-counts`, the partitioned
    /// estimator's pieces) by their paths as given.
    pub fn name(&self) -> String {
        let names = |paths: &[PathBuf], name: fn(&Path) -> String| -> String {
            paths.iter().map(|p| name(p)).collect::<Vec<_>>().join(" ")
        };
        match self {
            Source::Paths(p) => names(p, kenlm_file_name),
            Source::Counts(p) => names(p, |p| p.display().to_string()),
            Source::Batches(_) => "<iterable>".to_string(),
        }
    }

    /// The files read (none for batches), for refusing one of them as the output.
    pub fn paths(&self) -> &[PathBuf] {
        match self {
            Source::Paths(p) | Source::Counts(p) => p,
            Source::Batches(_) => &[],
        }
    }
}

/// What an estimation did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// N-grams in the model per order (after pruning).
    pub counts: Vec<u64>,
    /// N-grams per order before pruning.
    pub unpruned: Vec<u64>,
    /// D1, D2, D3+ per order.
    pub discounts: Vec<[f32; 3]>,
    /// Orders (1-based) whose discounts came from the fallback.
    pub fallback_orders: Vec<usize>,
    /// Tokens read (without sentence markers).
    pub tokens: u64,
    /// Vocabulary types, the three specials included.
    pub types: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Wall seconds of each stage in turn, taken as it ends: `count`, `adjust` (with
    /// `--renumber`'s rewrite), `discount` (with reading the unigrams back), then per order k
    /// `initial k` (its context sort, gammas and suffix sort) and `write k-1` (the section of
    /// the order below, which needs order k's gammas as its backoffs), then `write N` and
    /// `finish` (the ARPA's last bytes and rename, the temp files' removal). Empty where the
    /// stages run elsewhere (the partitioned estimator's tasks).
    pub stage_seconds: Vec<(String, f64)>,
}

/// The wall time of each stage of a run, taken as it ends ([`Summary::stage_seconds`]).
struct Laps {
    last: std::cell::Cell<Instant>,
    laps: std::cell::RefCell<Vec<(String, f64)>>,
}

impl Laps {
    fn new() -> Self {
        Laps {
            last: std::cell::Cell::new(Instant::now()),
            laps: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Records the time since the last lap (or the start) as stage `name`.
    fn lap(&self, name: impl Into<String>) {
        let now = Instant::now();
        let secs = now.duration_since(self.last.replace(now)).as_secs_f64();
        self.laps.borrow_mut().push((name.into(), secs));
    }

    fn into_laps(self) -> Vec<(String, f64)> {
        self.laps.into_inner()
    }
}

fn log(config: &EstimateConfig, msg: impl AsRef<str>) {
    if config.verbose {
        eprintln!("{}", msg.as_ref());
    }
}

/// Formats like C++ ostream's default (`%g`, 6 significant digits), as lmplz's statistics.
pub fn format_g6(v: f32) -> String {
    let v = f64::from(v);
    if v == 0.0 {
        return "0".to_string();
    }
    let exp = v.abs().log10().floor() as i32;
    let s = if !(-5..6).contains(&exp) {
        format!("{v:.5e}")
    } else {
        format!("{:.*}", (5 - exp).max(0) as usize, v)
    };
    if s.contains('e') {
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Estimates a model from `source` and writes it as ARPA to `output`; see the module doc.
pub fn estimate(
    source: Source,
    config: &EstimateConfig,
    output: Output,
    cancel: &Cancel,
) -> Result<Summary> {
    in_pool(config, || run(source, config, output, cancel, None))
}

/// [`estimate`], recording every stage's output in `trace` (see [`super::explain`]).
pub fn estimate_traced(
    source: Source,
    config: &EstimateConfig,
    output: Output,
    cancel: &Cancel,
    trace: &Trace,
) -> Result<Summary> {
    in_pool(config, || run(source, config, output, cancel, Some(trace)))
}

/// Checks `config`, then runs `job` in a thread pool of `config.threads` threads.
pub(crate) fn in_pool<T: Send>(
    config: &EstimateConfig,
    job: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    config.validate()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start threads: {e}")))?;
    pool.install(job)
}

/// The stages in lmplz's order: count, adjust (and renumber), discount, then initial
/// probabilities and interpolation streamed into the ARPA sink.
fn run(
    source: Source,
    config: &EstimateConfig,
    output: Output,
    cancel: &Cancel,
    trace: Option<&Trace>,
) -> Result<Summary> {
    let start = Instant::now();
    let laps = Laps::new();
    let memory = usize::try_from(config.memory).unwrap_or(usize::MAX);
    let input_name = source.name();
    let temp = TempDir::new_in(&config.temp_dir)?;
    // Claim the output first: a bad target path, or an input as output, fails before any work.
    let mut sink = ArpaSink::new(output, source.paths())?;

    // Sort buffers handed from stage to stage, so that each does not fault its budget in anew.
    let spare = SpareBuffers::default();
    let (vocab, windows, tokens) = count_stage(source, config, memory, &temp, cancel, &spare)?;
    let mut windows = trace_raw(trace, windows, config.order, &vocab, &temp)?;
    laps.lap("count");
    let mut adjusted = adjust_stage(config, &vocab, &mut windows, true, &temp, cancel)?;
    spare.put(windows.into_buffer());
    let (vocab, bos) = match config.renumber {
        true => renumber_stage(&vocab, &mut adjusted.files, &temp, cancel)?,
        false => (vocab, BOS),
    };
    laps.lap("adjust");
    let (discounts, fallback_orders) = discount_stage(config, &adjusted.stats)?;
    trace_adjusted(trace, &adjusted, &vocab, &discounts, &fallback_orders)?;
    let unigrams = read_unigrams(&adjusted.files[0], vocab.len(), bos)?;
    let (counts, unpruned) = model_counts(&adjusted.stats, &unigrams);
    print_statistics(config, &counts, &unpruned, &discounts);

    let header = Header {
        input_name: &input_name,
        tokens,
        counts: &counts,
    };
    // Stages 3/5 and 4/5 write the ARPA body.
    let stages = Probabilities {
        config,
        discounts: &discounts,
        vocab: &vocab,
        memory,
        temp: &temp,
        cancel,
        start,
        trace,
        spare: &spare,
        laps: &laps,
    };
    laps.lap("discount");
    stages.write(adjusted.files, unigrams, &header, &mut sink)?;
    drop(spare);
    log(config, "=== 5/5 Writing ARPA model ===");
    sink.finish()?;
    drop(temp);
    laps.lap("finish");
    Ok(Summary {
        counts,
        unpruned,
        discounts: discounts.iter().map(Discount::d123).collect(),
        fallback_orders,
        tokens,
        types: vocab.len(),
        seconds: start.elapsed().as_secs_f64(),
        stage_seconds: laps.into_laps(),
    })
}

/// The trace hook after stage 1: records the raw counts (sorting the windows into a run to
/// read them, then streaming that run on). Without a trace, the windows pass untouched.
fn trace_raw(
    trace: Option<&Trace>,
    windows: SortedStream,
    order: usize,
    vocab: &Vocabulary,
    temp: &TempDir,
) -> Result<SortedStream> {
    let Some(t) = trace else {
        return Ok(windows);
    };
    let run = windows.into_run(temp)?;
    t.raw(&run, order, vocab)?;
    SortedStream::from_run(run)
}

/// The trace hook after stages 2 and 3 (and the renumbering): the adjusted counts with their
/// count-of-counts, and the discounts.
fn trace_adjusted(
    trace: Option<&Trace>,
    adjusted: &Adjusted,
    vocab: &Vocabulary,
    discounts: &[Discount],
    fallback_orders: &[usize],
) -> Result<()> {
    let Some(t) = trace else {
        return Ok(());
    };
    let cocs: Vec<[u64; 5]> = adjusted.stats.iter().map(|s| s.count_of_counts).collect();
    t.adjusted(&adjusted.files, &cocs, vocab)?;
    t.discounts(discounts, fallback_orders);
    Ok(())
}

/// The n-grams per order that the model holds (the unigrams as read back: every word present)
/// and the n-grams per order before pruning.
fn model_counts(stats: &[OrderStats], unigrams: &Unigrams) -> (Vec<u64>, Vec<u64>) {
    let mut counts: Vec<u64> = stats.iter().map(|s| s.kept).collect();
    counts[0] = unigrams.present.iter().filter(|&&p| p).count() as u64;
    let unpruned = stats.iter().map(|s| s.total).collect();
    (counts, unpruned)
}

/// Stage 2 with its pruning rule: `--prune` thresholds per order and the `--limit_vocab_file`
/// mask; `stream_ends` as in [`adjust_counts`].
pub(crate) fn adjust_stage(
    config: &EstimateConfig,
    vocab: &Vocabulary,
    windows: &mut SortedStream,
    stream_ends: bool,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<Adjusted> {
    log(
        config,
        "=== 2/5 Calculating and sorting adjusted counts ===",
    );
    let allowed = limit_vocab_mask(config, vocab);
    let rule = PruneRule {
        thresholds: (1..=config.order)
            .map(|k| config.prune.threshold(k))
            .collect(),
        allowed: allowed.as_deref(),
    };
    adjust_counts(windows, config.order, &rule, stream_ends, temp, cancel)
}

/// lmplz's `--renumber`, applied where lmplz applies it (after the adjusted counts, so the
/// count-of-counts see the original order): the vocabulary in hash order
/// ([`Vocabulary::renumbered`]) and every adjusted n-gram rewritten with the new ids. Stage 4
/// sorts its input itself, so the rewritten files need no resort. Returns the new vocabulary
/// and the new id of `<s>`.
fn renumber_stage(
    vocab: &Vocabulary,
    files: &mut [crate::sort::Run],
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<(Vocabulary, u32)> {
    let (renumbered, new_id) = vocab.renumbered();
    for (i, file) in files.iter_mut().enumerate() {
        let k = i + 1;
        let mut out = RecordWriter::create(temp, k + 2)?;
        let mut r = file.reader()?;
        let mut rec = vec![0u32; k + 2];
        cancel.check()?;
        while r.read(&mut rec)? {
            for w in &mut rec[..k] {
                *w = new_id[*w as usize];
            }
            out.write(&rec)?;
        }
        *file = out.finish()?;
    }
    Ok((renumbered, new_id[BOS as usize]))
}

/// Stage 2's vocabulary filter (`--limit_vocab_file`): `allowed[id]` for every word, the
/// specials always allowed; `None` without a limit.
pub(crate) fn limit_vocab_mask(config: &EstimateConfig, vocab: &Vocabulary) -> Option<Vec<bool>> {
    config.limit_vocab.as_ref().map(|words| {
        let mut a = vec![false; vocab.len()];
        a[..=EOS as usize].iter_mut().for_each(|x| *x = true);
        for w in words {
            if let Some(id) = vocab.get(w.as_bytes()) {
                a[id as usize] = true;
            }
        }
        a
    })
}

/// Stage 3: D1, D2, D3+ per order from the count-of-counts, with the fallback where they
/// cannot be estimated (and the orders that took it).
pub(crate) fn discount_stage(
    config: &EstimateConfig,
    stats: &[OrderStats],
) -> Result<(Vec<Discount>, Vec<usize>)> {
    let mut discounts = Vec::with_capacity(stats.len());
    let mut fallback_orders = Vec::new();
    for (i, st) in stats.iter().enumerate() {
        match Discount::estimate(i + 1, &st.count_of_counts) {
            Ok(d) => discounts.push(d),
            Err(e) => {
                let Some(f) = config.fallback() else {
                    return Err(e);
                };
                let why = match &e {
                    Error::Discount { reason, .. } => reason.clone(),
                    other => other.to_string(),
                };
                log(
                    config,
                    format!(
                        "Substituting fallback discounts for order {}: D1={} D2={} D3+={} ({why})",
                        i + 1,
                        format_g6(f[0]),
                        format_g6(f[1]),
                        format_g6(f[2])
                    ),
                );
                fallback_orders.push(i + 1);
                discounts.push(Discount::from_values(f));
            }
        }
    }
    Ok((discounts, fallback_orders))
}

/// The unigrams' adjusted counts (with [`PRUNED`] marks) and which are in the model.
struct Unigrams {
    counts: Vec<u64>,
    present: Vec<bool>,
    /// The id of `<s>`.
    bos: u32,
}

/// Reads back stage 2's unigram file; `<unk>` and `<s>` (id `bos`) are always in the model.
fn read_unigrams(file: &crate::sort::Run, types: usize, bos: u32) -> Result<Unigrams> {
    let mut counts = vec![0u64; types];
    let mut present = vec![false; types];
    present[UNK as usize] = true;
    present[bos as usize] = true;
    let mut r = file.reader()?;
    let mut rec = [0u32; 3];
    while r.read(&mut rec)? {
        let c = get_u64(&rec[1..]);
        counts[rec[0] as usize] = c;
        present[rec[0] as usize] = c & PRUNED == 0;
    }
    Ok(Unigrams {
        counts,
        present,
        bos,
    })
}

/// lmplz's `Statistics:` lines on stderr (with `kept/total` when pruning).
fn print_statistics(config: &EstimateConfig, counts: &[u64], unpruned: &[u64], d: &[Discount]) {
    if !config.verbose {
        return;
    }
    eprintln!("Statistics:");
    for k in 1..=counts.len() {
        let a = d[k - 1].amount;
        let shown = if config.prune.any() || config.limit_vocab.is_some() {
            let total = unpruned[k - 1] + if k == 1 { 2 } else { 0 };
            format!("{}/{total}", counts[k - 1])
        } else {
            counts[k - 1].to_string()
        };
        eprintln!(
            "{k} {shown} D1={} D2={} D3+={}",
            format_g6(a[1]),
            format_g6(a[2]),
            format_g6(a[3])
        );
    }
}

/// What the ARPA header says.
pub(crate) struct Header<'a> {
    pub(crate) input_name: &'a str,
    pub(crate) tokens: u64,
    pub(crate) counts: &'a [u64],
}

impl Header<'_> {
    /// lmplz's `--verbose_header` lines when asked, then `\data\` with the counts.
    pub(crate) fn write(
        &self,
        config: &EstimateConfig,
        sink: &mut ArpaSink,
    ) -> std::io::Result<()> {
        // A record sink takes the counts (and needs no comment lines).
        if sink.counts(self.counts).map_err(std::io::Error::other)? {
            return Ok(());
        }
        if config.verbose_header {
            write!(
                sink,
                "# Input file: {}\n# Token count: {}\n# Smoothing: Modified Kneser-Ney\n",
                self.input_name, self.tokens
            )?;
        }
        write_header(sink, self.counts)
    }
}

/// The unigrams' interpolation (lmplz's `--interpolate_unigrams`, `--vocab_pad`): `gamma1`
/// spread uniformly over the `count` unigrams in the model but `<s>` (or `vocab_pad` words if
/// more), or all of it to `<unk>`; with `nothing_counted` (empty input) `<unk>` takes all the
/// mass. `interp` is indexed by id (only its present entries are read afterwards).
pub(crate) fn interpolate_unigrams(
    config: &EstimateConfig,
    interp: &mut [f32],
    gamma1: f32,
    count: u64,
    nothing_counted: bool,
) {
    // lmplz counts the pruned unigrams out of the uniform distribution too.
    let uniform_size = count.saturating_sub(1).max(config.vocab_pad);
    if nothing_counted {
        interp[UNK as usize] = 1.0;
    } else if config.interpolate_unigrams {
        let uniform = 1.0f32 / uniform_size.max(1) as f32;
        for p in interp.iter_mut() {
            *p += gamma1 * uniform;
        }
    } else {
        interp[UNK as usize] += gamma1;
    }
}

/// The line opening the ARPA section of order `k` (after the blank line).
pub(crate) fn write_section_start(out: &mut dyn Write, k: usize) -> std::io::Result<()> {
    writeln!(out, "\n\\{k}-grams:")
}

/// The ARPA's last line.
pub(crate) fn write_end(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "\n\\end\\")
}

/// Stages 4 and 5: initial probabilities and interpolation, order by order, into the ARPA.
struct Probabilities<'a> {
    config: &'a EstimateConfig,
    discounts: &'a [Discount],
    vocab: &'a Vocabulary,
    memory: usize,
    temp: &'a TempDir,
    cancel: &'a Cancel,
    start: Instant,
    trace: Option<&'a Trace>,
    /// Sort buffers between the orders' sorts.
    spare: &'a SpareBuffers,
    /// The stages' wall times.
    laps: &'a Laps,
}

impl Probabilities<'_> {
    /// Stage 4 for order `k` (context sort, gammas, back to suffix order), if it exists.
    fn initial(&self, k: usize, file: Option<crate::sort::Run>) -> Result<Option<Initial>> {
        let Some(file) = file else {
            return Ok(None);
        };
        let third = (self.memory / 3).max(1);
        let d = &self.discounts[k - 1];
        // The contexts are order k-1's backoffs: their words only for a join that reads them.
        let contexts = match BackoffJoin::lmplz(self.config, k - 1) {
            BackoffJoin::Positional if self.trace.is_none() => ContextRecords::Gammas,
            _ => ContextRecords::Keyed,
        };
        let (memory, temp, spare) = (2 * third, self.temp, self.spare);
        let mut initial = initial_order(&file, k, d, memory, contexts, temp, self.cancel, spare)?;
        if let Some(t) = self.trace {
            let run = initial.probs.into_run(self.temp)?;
            t.initial(&run, initial.backoffs.as_ref(), k, self.vocab)?;
            initial.probs = SortedStream::from_run(run)?;
        }
        Ok(Some(initial))
    }

    /// The interpolated unigram probabilities (lmplz's `--interpolate_unigrams`, `--vocab_pad`).
    fn unigram_probabilities(&self, unigrams: &Unigrams, count: u64) -> Vec<f32> {
        let (mut interp, gamma1) = initial_unigrams(&self.discounts[0], &unigrams.counts);
        let uninterpolated = self.trace.map(|_| interp.clone());
        let nothing_counted = unigrams.counts.iter().all(|&c| c & !PRUNED == 0);
        interpolate_unigrams(self.config, &mut interp, gamma1, count, nothing_counted);
        if let (Some(t), Some(p)) = (self.trace, uninterpolated) {
            t.unigrams(&p, gamma1, &interp, &unigrams.present, self.vocab);
        }
        interp
    }

    /// Writes the whole ARPA body. At most two orders' probabilities are held: the initial
    /// probabilities of order k+1 give the backoffs that order k's lines need. Each of the three
    /// sort buffers alive at once (the held order's stream, and the context and suffix sorts of
    /// the next) gets a third of the budget.
    fn write(
        &self,
        files: Vec<crate::sort::Run>,
        unigrams: Unigrams,
        header: &Header<'_>,
        sink: &mut ArpaSink,
    ) -> Result<()> {
        let config = self.config;
        log(
            config,
            "=== 3/5 Calculating and sorting initial probabilities ===",
        );
        let interp = self.unigram_probabilities(&unigrams, header.counts[0]);
        let mut files = files.into_iter().skip(1);
        let mut pending = self.initial(2, files.next())?;
        if config.order >= 2 {
            self.laps.lap("initial 2");
        }
        log(
            config,
            "=== 4/5 Calculating and writing order-interpolated probabilities ===",
        );
        let mut lower = self.write_head(header, interp, &unigrams, &mut pending, sink)?;
        self.laps.lap("write 1");
        for k in 2..=config.order {
            let Some(current) = pending.take() else {
                return Err(Error::Internal(format!("order {k} has no probabilities")));
            };
            pending = self.initial(k + 1, files.next())?;
            if k < config.order {
                self.laps.lap(format!("initial {}", k + 1));
            }
            self.write_order(k, current, &mut pending, &mut lower, sink)?;
            self.laps.lap(format!("write {k}"));
            let secs = self.start.elapsed().as_secs_f64();
            log(config, format!("Wrote {k}-grams ({secs:.1} s)"));
        }
        write_end(sink).map_err(|e| write_error(sink, e))
    }

    /// The header and the unigram section (probabilities `interp`, backoffs from order 2's
    /// initial probabilities in `next`); returns the unigrams as order 2's lower order.
    fn write_head(
        &self,
        header: &Header<'_>,
        interp: Vec<f32>,
        unigrams: &Unigrams,
        next: &mut Option<Initial>,
        sink: &mut ArpaSink,
    ) -> Result<Lower> {
        header
            .write(self.config, sink)
            .map_err(|e| write_error(sink, e))?;
        write_section_start(sink, 1).map_err(|e| write_error(sink, e))?;
        let backoffs = take_backoffs(next, 1, self.config, self.vocab)?;
        let name = sink.name().to_string();
        let (present, bos, collapse) =
            (&unigrams.present, unigrams.bos, self.config.collapse_values);
        let q = write_unigrams(
            &interp, present, bos, backoffs, self.vocab, sink, &name, collapse,
        )?;
        Ok(Lower::Unigrams { p: interp, q })
    }

    /// Stage 5 for order `k`: interpolates `current` with `lower` into the section of order `k`
    /// (backoffs from order k+1's initial probabilities in `next`), then makes order `k` the
    /// lower order of k+1 (and records it in the trace).
    fn write_order(
        &self,
        k: usize,
        current: Initial,
        next: &mut Option<Initial>,
        lower: &mut Lower,
        sink: &mut ArpaSink,
    ) -> Result<()> {
        let (n, collapse) = (self.config.order, self.config.collapse_values);
        write_section_start(sink, k).map_err(|e| write_error(sink, e))?;
        let backoffs = take_backoffs(next, k, self.config, self.vocab)?;
        let mut kept = match k < n || self.trace.is_some() {
            true => Some(RecordWriter::create(
                self.temp,
                k + 1 + usize::from(collapse),
            )?),
            false => None,
        };
        let (vocab, cancel) = (self.vocab, self.cancel);
        let mut probs = current.probs;
        interpolate_order(
            k,
            &mut probs,
            lower,
            backoffs,
            vocab,
            sink,
            kept.as_mut(),
            collapse,
            cancel,
        )?;
        self.spare.put(probs.into_buffer());
        let Some(kept) = kept else {
            return Ok(());
        };
        let run = kept.finish()?;
        if let Some(t) = self.trace {
            t.interpolated(&run, k, 1 + usize::from(collapse), self.vocab)?;
        }
        if k < n {
            *lower = Lower::from_run(run, k, collapse)?;
        }
        Ok(())
    }
}

/// The backoffs of order `k`, taken from order k+1's initial probabilities (none at the top
/// order), joined as lmplz joins them under `config`.
fn take_backoffs(
    next: &mut Option<Initial>,
    k: usize,
    config: &EstimateConfig,
    vocab: &Vocabulary,
) -> Result<Option<Backoffs>> {
    let join = BackoffJoin::lmplz(config, k);
    match next.as_mut().and_then(|p| p.backoffs.take()) {
        Some(run) => Ok(Some(Backoffs::from_run(run, k, join, vocab)?)),
        None => Ok(None),
    }
}

/// A failed write to the ARPA, named by the sink's output.
fn write_error(sink: &ArpaSink, e: std::io::Error) -> Error {
    Error::io("cannot write", sink.name(), e)
}

/// Stage 1 for any source: the vocabulary, the counted windows in suffix order, the tokens.
fn count_stage(
    source: Source,
    config: &EstimateConfig,
    memory: usize,
    temp: &TempDir,
    cancel: &Cancel,
    spare: &SpareBuffers,
) -> Result<(Vocabulary, SortedStream, u64)> {
    log(config, "=== 1/5 Counting and sorting n-grams ===");
    let options = CountOptions {
        order: config.order,
        skip_symbols: config.skip_symbols,
        replace_invalid_utf8: config.replace_invalid_utf8,
        lmplz_final_line: config.lmplz_final_line,
    };
    let counter = || Counter::new(options, memory, temp, cancel);
    let (vocab, windows, tokens) = match source {
        Source::Counts(paths) => counts_stage(&paths, config, memory, temp, cancel)?,
        Source::Paths(paths) => {
            let mut counter = counter();
            for path in &paths {
                log(config, format!("Reading {}", kenlm_file_name(path)));
                count_file(&mut counter, path)?;
            }
            finish_counter(counter, spare)?
        }
        Source::Batches(batches) => {
            let mut counter = counter();
            count_batches(&mut counter, batches)?;
            finish_counter(counter, spare)?
        }
    };
    log(
        config,
        format!("Unigram tokens {tokens} types {}", vocab.len()),
    );
    Ok((vocab, windows, tokens))
}

/// Finishes stage 1's counting, keeping its sort buffer in `spare` when the windows are
/// merged from disk.
fn finish_counter(
    counter: Counter,
    spare: &SpareBuffers,
) -> Result<(Vocabulary, SortedStream, u64)> {
    let (vocab, windows, tokens, buf) = counter.finish_keeping_buffer()?;
    spare.put(buf);
    Ok((vocab, windows, tokens))
}

/// Counts one file (`-` is stdin), [`CHUNKS_PER_BATCH`] chunks of whole lines at a time.
fn count_file(counter: &mut Counter, path: &Path) -> Result<()> {
    let mut chunks = FileChunks {
        reader: open_input(path)?,
        path,
        source: display_name(path).into(),
        line: 1,
    };
    loop {
        let batch = chunks.next_batch()?;
        if batch.is_empty() {
            return Ok(());
        }
        counter.add_chunks(&batch)?;
    }
}

/// A file cut into chunks of about [`CHUNK_BYTES`] of whole lines, each chunk tagged with the
/// number of its first line.
struct FileChunks<'a> {
    reader: Box<dyn BufRead + Send>,
    path: &'a Path,
    source: Arc<str>,
    /// The number of the next chunk's first line.
    line: u64,
}

impl FileChunks<'_> {
    /// Up to [`CHUNKS_PER_BATCH`] chunks; none at the end of the file.
    fn next_batch(&mut self) -> Result<Vec<Chunk>> {
        let mut batch = Vec::with_capacity(CHUNKS_PER_BATCH);
        while batch.len() < CHUNKS_PER_BATCH {
            match self.next_chunk()? {
                Some(chunk) => batch.push(chunk),
                None => break,
            }
        }
        Ok(batch)
    }

    /// Whole lines up to about [`CHUNK_BYTES`] (the file's last line may lack its newline).
    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let mut text = Vec::with_capacity(CHUNK_BYTES + (1 << 12));
        while text.len() < CHUNK_BYTES {
            let got = self
                .reader
                .read_until(b'\n', &mut text)
                .map_err(|e| Error::io("cannot read", self.path, e))?;
            if got == 0 {
                break;
            }
        }
        if text.is_empty() {
            return Ok(None);
        }
        let mut lines = memchr::memchr_iter(b'\n', &text).count() as u64;
        if text.last() != Some(&b'\n') {
            lines += 1;
        }
        let first_line = self.line;
        self.line += lines;
        Ok(Some(Chunk {
            text,
            first_line,
            source: Arc::clone(&self.source),
        }))
    }
}

/// Counts a caller's batches: each batch one chunk (its lines, each ended by a newline),
/// [`CHUNKS_PER_BATCH`] chunks at a time.
fn count_batches(counter: &mut Counter, batches: Batches) -> Result<()> {
    let source: Arc<str> = "<iterable>".into();
    let mut line = 1u64;
    let mut pending: Vec<Chunk> = Vec::with_capacity(CHUNKS_PER_BATCH);
    for batch in batches {
        let batch = batch?;
        let mut text = Vec::with_capacity(batch.iter().map(|l| l.len() + 1).sum());
        for l in &batch {
            text.extend_from_slice(l.strip_suffix('\n').unwrap_or(l).as_bytes());
            text.push(b'\n');
        }
        pending.push(Chunk {
            text,
            first_line: line,
            source: Arc::clone(&source),
        });
        line += batch.len() as u64;
        if pending.len() == CHUNKS_PER_BATCH {
            counter.add_chunks(&pending)?;
            pending.clear();
        }
    }
    counter.add_chunks(&pending)
}

/// Stage 1 from count files.
fn counts_stage(
    paths: &[PathBuf],
    config: &EstimateConfig,
    memory: usize,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<(Vocabulary, SortedStream, u64)> {
    let n = config.order;
    for p in paths {
        log(config, format!("Reading counts {}", p.display()));
    }
    let (vocab, windows, order, tokens) = read_counts(paths, memory, temp, cancel)?;
    if order != n {
        return Err(Error::InvalidArgument(format!(
            "the count files hold {order}-grams but order {n} was asked for; count with the same order"
        )));
    }
    Ok((vocab, windows, tokens))
}

/// Counts `source` (stage 1 only) and writes a count file to `path`; see
/// [`super::counts_file`]. Count files of shards merge into the model of their concatenation
/// with [`Source::Counts`].
pub fn count_to_file(
    source: Source,
    config: &EstimateConfig,
    path: &std::path::Path,
    cancel: &Cancel,
) -> Result<CountsHeader> {
    in_pool(config, || {
        crate::io::claim_output(path, source.paths())?;
        let memory = usize::try_from(config.memory).unwrap_or(usize::MAX);
        let temp = TempDir::new_in(&config.temp_dir)?;
        let spare = SpareBuffers::default();
        let (vocab, windows, tokens) = count_stage(source, config, memory, &temp, cancel, &spare)?;
        drop(spare);
        write_counts(path, &vocab, windows, config.order, tokens, cancel)
    })
}
