//! The estimation pipeline: configuration in, ARPA out (lmplz's `pipeline`).
//!
//! Runs the stages of [`crate::estimate`] in a thread pool of `config.threads` threads. Every
//! sort buffer is carved out of `config.memory`; temp files go to a fresh directory inside
//! `config.temp_dir` and are removed on success, error or cancellation. The ARPA is written to
//! a temporary sibling of the target and renamed when complete.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::adjust::{adjust_counts, PruneRule, PRUNED};
use super::config::EstimateConfig;
use super::count::{Chunk, CountOptions, Counter, Vocabulary};
use super::counts_file::{read_counts, write_counts, CountsHeader};
use super::discount::Discount;
use super::initial::{initial_order, initial_unigrams, Initial};
use super::interpolate::{interpolate_order, write_unigrams, Backoffs, Lower};
use super::sink::ArpaSink;
pub use super::sink::Output;
use super::{BOS, EOS, UNK};
use crate::arpa::writer::write_header;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::io::{display_name, open_input};
use crate::sort::{get_u64, RecordWriter, SortedStream, TempDir};

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
    /// The input's name as lmplz's `--verbose_header` gives it: `stdin` for `-`, else the paths
    /// as given (space-separated when several).
    pub fn name(&self) -> String {
        let names = |paths: &[PathBuf]| -> String {
            paths
                .iter()
                .map(|p| match p.to_str() {
                    Some("-") => "stdin".to_string(),
                    _ => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Source::Paths(p) | Source::Counts(p) => names(p),
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
    in_pool(config, || run(source, config, output, cancel))
}

/// Checks `config`, then runs `job` in a thread pool of `config.threads` threads.
fn in_pool<T: Send>(config: &EstimateConfig, job: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    config.validate()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start threads: {e}")))?;
    pool.install(job)
}

fn run(
    source: Source,
    config: &EstimateConfig,
    output: Output,
    cancel: &Cancel,
) -> Result<Summary> {
    let start = Instant::now();
    let n = config.order;
    let input_name = source.name();
    let memory = usize::try_from(config.memory).unwrap_or(usize::MAX);
    let temp = TempDir::new_in(&config.temp_dir)?;
    // Claim the output first: a bad target path, or an input as output, fails before any work.
    let mut sink = ArpaSink::new(output, source.paths())?;
    let out_name = sink.name().to_string();

    // Stage 1: count.
    log(config, "=== 1/5 Counting and sorting n-grams ===");
    let (vocab, windows, tokens) = count_stage(source, config, memory, &temp, cancel)?;
    log(
        config,
        format!("Unigram tokens {tokens} types {}", vocab.len()),
    );

    // Stage 2: adjust.
    log(
        config,
        "=== 2/5 Calculating and sorting adjusted counts ===",
    );
    let allowed = config.limit_vocab.as_ref().map(|words| {
        let mut a = vec![false; vocab.len()];
        // The specials are always allowed.
        a[..=EOS as usize].iter_mut().for_each(|x| *x = true);
        for w in words {
            if let Some(id) = vocab.get(w.as_bytes()) {
                a[id as usize] = true;
            }
        }
        a
    });
    let rule = PruneRule {
        thresholds: (1..=n).map(|k| config.prune.threshold(k)).collect(),
        allowed: allowed.as_deref(),
    };
    let adjusted = adjust_counts(windows, n, &rule, &temp, cancel)?;

    // Stage 3: discounts.
    let mut discounts = Vec::with_capacity(n);
    let mut fallback_orders = Vec::new();
    for (i, st) in adjusted.stats.iter().enumerate() {
        match Discount::estimate(i + 1, &st.count_of_counts) {
            Ok(d) => discounts.push(d),
            Err(e) => match config.fallback() {
                Some(f) => {
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
                None => return Err(e),
            },
        }
    }
    // Unigrams: <unk> and <s> are always in the model.
    let mut uni_counts = vec![0u64; vocab.len()];
    let mut present = vec![false; vocab.len()];
    present[UNK as usize] = true;
    present[BOS as usize] = true;
    {
        let mut r = adjusted.files[0].reader()?;
        let mut rec = [0u32; 3];
        while r.read(&mut rec)? {
            let c = get_u64(&rec[1..]);
            uni_counts[rec[0] as usize] = c;
            present[rec[0] as usize] = c & PRUNED == 0;
        }
    }
    let mut counts: Vec<u64> = adjusted.stats.iter().map(|s| s.kept).collect();
    counts[0] = present.iter().filter(|&&p| p).count() as u64;
    let unpruned: Vec<u64> = adjusted.stats.iter().map(|s| s.total).collect();
    if config.verbose {
        eprintln!("Statistics:");
        for k in 1..=n {
            let d = discounts[k - 1].amount;
            let shown = if config.prune.any() || config.limit_vocab.is_some() {
                format!(
                    "{}/{}",
                    counts[k - 1],
                    unpruned[k - 1] + if k == 1 { 2 } else { 0 }
                )
            } else {
                counts[k - 1].to_string()
            };
            eprintln!(
                "{k} {shown} D1={} D2={} D3+={}",
                format_g6(d[1]),
                format_g6(d[2]),
                format_g6(d[3])
            );
        }
    }

    // Stages 4 and 5, interleaved so that at most two orders' probabilities are held: the
    // initial probabilities of order k+1 give the backoffs that order k's ARPA lines need.
    // Each of the three sort buffers alive at once (the held order's stream, and the context
    // and suffix sorts of the next) gets a third of the budget.
    log(
        config,
        "=== 3/5 Calculating and sorting initial probabilities ===",
    );
    let third = (memory / 3).max(1);
    let (uninterp, gamma1) = initial_unigrams(&discounts[0], &uni_counts);
    let mut files = adjusted.files.into_iter();
    let _unigram_file = files.next();
    let next_initial = |k: usize, file: Option<crate::sort::Run>| -> Result<Option<Initial>> {
        match file {
            Some(file) => Ok(Some(initial_order(
                &file,
                k,
                &discounts[k - 1],
                2 * third,
                &temp,
                cancel,
            )?)),
            None => Ok(None),
        }
    };
    let mut pending = next_initial(2, files.next())?;

    log(
        config,
        "=== 4/5 Calculating and writing order-interpolated probabilities ===",
    );
    // The uniform distribution spreads over the unigrams in the model but <s> (lmplz counts the
    // pruned ones out too), or vocab_pad words if more.
    let uniform_size = counts[0].saturating_sub(1).max(config.vocab_pad);
    let mut interp = uninterp;
    if uni_counts.iter().all(|&c| c & !PRUNED == 0) {
        // Nothing was counted (empty input): <unk> takes all the mass.
        interp[UNK as usize] = 1.0;
    } else if config.interpolate_unigrams {
        let uniform = 1.0f32 / uniform_size.max(1) as f32;
        for p in interp.iter_mut() {
            *p += gamma1 * uniform;
        }
    } else {
        interp[UNK as usize] += gamma1;
    }
    let write_err = |e| Error::io("cannot write", &out_name, e);
    if config.verbose_header {
        write!(
            sink,
            "# Input file: {input_name}\n# Token count: {tokens}\n# Smoothing: Modified Kneser-Ney\n"
        )
        .map_err(write_err)?;
    }
    write_header(&mut sink, &counts).map_err(write_err)?;
    writeln!(sink, "\n\\1-grams:").map_err(write_err)?;
    let uni_backoffs = match pending.as_mut().and_then(|p| p.backoffs.take()) {
        Some(run) => Some(Backoffs::from_run(run, 1)?),
        None => None,
    };
    write_unigrams(
        &interp,
        &present,
        uni_backoffs,
        &vocab,
        &mut sink,
        &out_name,
    )?;
    let mut lower = Lower::Unigrams(interp);
    for k in 2..=n {
        let Some(current) = pending.take() else {
            return Err(Error::Internal(format!("order {k} has no probabilities")));
        };
        pending = next_initial(k + 1, files.next())?;
        writeln!(sink, "\n\\{k}-grams:").map_err(write_err)?;
        let b = match pending.as_mut().and_then(|p| p.backoffs.take()) {
            Some(run) => Some(Backoffs::from_run(run, k)?),
            None => None,
        };
        let mut next = if k < n {
            Some(RecordWriter::create(&temp, k + 1)?)
        } else {
            None
        };
        interpolate_order(
            k,
            current.probs,
            &mut lower,
            b,
            &vocab,
            &mut sink,
            next.as_mut(),
            cancel,
        )?;
        if let Some(next) = next {
            lower = Lower::from_run(next.finish()?, k)?;
        }
        log(
            config,
            format!("Wrote {k}-grams ({:.1} s)", start.elapsed().as_secs_f64()),
        );
    }
    writeln!(sink, "\n\\end\\").map_err(write_err)?;
    log(config, "=== 5/5 Writing ARPA model ===");
    sink.finish()?;
    drop(temp);
    Ok(Summary {
        counts,
        unpruned,
        discounts: discounts
            .iter()
            .map(|d| [d.amount[1], d.amount[2], d.amount[3]])
            .collect(),
        fallback_orders,
        tokens,
        types: vocab.len(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Stage 1 for any source: the vocabulary, the counted windows in suffix order, the tokens.
fn count_stage(
    source: Source,
    config: &EstimateConfig,
    memory: usize,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<(Vocabulary, SortedStream, u64)> {
    let n = config.order;
    let make_counter = || {
        Counter::new(
            CountOptions {
                order: n,
                skip_symbols: config.skip_symbols,
                replace_invalid_utf8: config.replace_invalid_utf8,
                lmplz_final_line: config.lmplz_final_line,
            },
            memory,
            temp,
            cancel,
        )
    };
    let counter = match source {
        Source::Counts(paths) => return counts_stage(&paths, config, memory, temp, cancel),
        Source::Paths(paths) => {
            let mut counter = make_counter();
            for path in paths {
                let name = display_name(&path);
                log(config, format!("Reading {name}"));
                let source: Arc<str> = name.clone().into();
                let mut reader = open_input(&path)?;
                let mut line = 1u64;
                loop {
                    let mut batch = Vec::with_capacity(CHUNKS_PER_BATCH);
                    while batch.len() < CHUNKS_PER_BATCH {
                        let mut text = Vec::with_capacity(CHUNK_BYTES + (1 << 12));
                        while text.len() < CHUNK_BYTES {
                            let got = reader
                                .read_until(b'\n', &mut text)
                                .map_err(|e| Error::io("cannot read", &path, e))?;
                            if got == 0 {
                                break;
                            }
                        }
                        if text.is_empty() {
                            break;
                        }
                        let mut lines = memchr::memchr_iter(b'\n', &text).count() as u64;
                        if text.last() != Some(&b'\n') {
                            lines += 1;
                        }
                        batch.push(Chunk {
                            text,
                            first_line: line,
                            source: Arc::clone(&source),
                        });
                        line += lines;
                    }
                    if batch.is_empty() {
                        break;
                    }
                    counter.add_chunks(&batch)?;
                }
            }
            counter
        }
        Source::Batches(batches) => {
            let mut counter = make_counter();
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
            counter.add_chunks(&pending)?;
            counter
        }
    };
    counter.finish()
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
    {
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
        let (vocab, windows, tokens) = count_stage(source, config, memory, &temp, cancel)?;
        log(
            config,
            format!("Unigram tokens {tokens} types {}", vocab.len()),
        );
        write_counts(path, &vocab, windows, config.order, tokens, cancel)
    })
}
