//! Bindings of the partitioned merge of count files (`kneser::estimate::partition`) and of the
//! partitioned estimator (`kneser::estimate::partitioned`), the core of `kneser.ray`: one
//! function per Ray task. Each takes paths and small values and returns a small dict; the
//! state between tasks lives in the work directory.

use std::path::PathBuf;

use kneser::partitioned::{self, Target};
use kneser::{parse_memory, partition, CountsHeader, DEFAULT_MEMORY};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::detach::run_detached;
use crate::errors::to_pyerr;
use crate::estimate::estimate_config;

fn header_dict<'py>(py: Python<'py>, h: &CountsHeader) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("order", h.order)?;
    d.set_item("tokens", h.tokens)?;
    d.set_item("words", h.words)?;
    d.set_item("records", h.records)?;
    Ok(d)
}

fn temp_parent(temp_dir: Option<PathBuf>) -> PathBuf {
    temp_dir.unwrap_or_else(std::env::temp_dir)
}

/// Merges the vocabularies of count files (shards of one corpus, in corpus order) into a
/// vocabulary file: a count file with the merged vocabulary, the total tokens and no records.
///
/// Args:
///     shards: count files written by kneser.count, in corpus order.
///     output: the vocabulary file to write (atomically).
///     temp_dir: directory for temp files (default: the system's).
///
/// Returns:
///     dict with order, tokens, words (merged vocabulary size) and records (0).
///
/// Example:
///     >>> kneser._kneser.merge_vocabularies(["a.counts", "b.counts"], "vocab.counts")["words"]
#[pyfunction]
#[pyo3(signature = (shards, output, *, temp_dir = None))]
fn merge_vocabularies<'py>(
    py: Python<'py>,
    shards: Vec<PathBuf>,
    output: PathBuf,
    temp_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let parent = temp_parent(temp_dir);
    let h = run_detached(py, move |cancel| {
        partition::vocabulary_task(&shards, &output, &parent, cancel)
    })?;
    header_dict(py, &h)
}

/// The number of windows of a count file per merged id of their last word.
///
/// Args:
///     shard: a count file that took part in the vocabulary pass.
///     vocabulary: the vocabulary file written by merge_vocabularies.
///
/// Returns:
///     a uint64 numpy array as long as the merged vocabulary.
///
/// Example:
///     >>> kneser._kneser.last_word_histogram("a.counts", "vocab.counts").sum()
#[pyfunction]
fn last_word_histogram<'py>(
    py: Python<'py>,
    shard: PathBuf,
    vocabulary: PathBuf,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    let h = run_detached(py, move |cancel| {
        partition::last_word_histogram(&shard, &vocabulary, cancel)
    })?;
    Ok(PyArray1::from_vec(py, h))
}

/// Writes one partition of the merged counts: the windows of all shards whose last word's
/// merged id is in [lo, hi), mapped onto the merged vocabulary, combined and sorted in suffix
/// order, as a count file with the merged vocabulary. Partitions of consecutive ranges, given
/// in range order to estimate(None, ..., from_counts=partitions), make the model of the
/// concatenated shards.
///
/// Args:
///     shards: the count files given to merge_vocabularies, in the same order.
///     vocabulary: the vocabulary file.
///     lo: the first merged id of the range.
///     hi: one past the last merged id of the range.
///     output: the partition file to write (atomically).
///     memory: sort-buffer budget, bytes or lmplz's syntax ("500M", "2G").
///     temp_dir: directory for temp files (default: the system's).
///     threads: sorting threads, 0 for all cores.
///
/// Returns:
///     dict with order, tokens (the corpus's in the partition with lo == 0, else 0), words and
///     records.
///
/// Example:
///     >>> kneser._kneser.merge_partition(["a.counts"], "vocab.counts", 0, 500, "p0.counts")
#[pyfunction]
#[pyo3(signature = (shards, vocabulary, lo, hi, output, *, memory = None, temp_dir = None, threads = 0))]
#[allow(clippy::too_many_arguments)]
fn merge_partition<'py>(
    py: Python<'py>,
    shards: Vec<PathBuf>,
    vocabulary: PathBuf,
    lo: u32,
    hi: u32,
    output: PathBuf,
    memory: Option<&Bound<'py, PyAny>>,
    temp_dir: Option<PathBuf>,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let memory: u64 = match memory {
        None => DEFAULT_MEMORY,
        Some(m) => match m.extract::<u64>() {
            Ok(n) => n,
            Err(_) => parse_memory(&m.extract::<String>()?).map_err(|e| to_pyerr(py, e))?,
        },
    };
    let parent = temp_parent(temp_dir);
    let h = run_detached(py, move |cancel| {
        partition::partition_task(
            &shards,
            &vocabulary,
            lo..hi,
            &output,
            memory,
            &parent,
            threads,
            cancel,
        )
    })?;
    header_dict(py, &h)
}

fn written<'py>(py: Python<'py>, bytes: u64) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("temp_bytes", bytes)?;
    Ok(d)
}

/// Task estimate/adjust of partition p: the adjusted counts of the partition file, the local
/// count-of-counts and unigram sums, written to workdir/p<p>/.
///
/// Args:
///     workdir: the run's work directory (shared by every task of the estimate).
///     bounds: the P + 1 partition bounds (merged ids of the last word, from 0, increasing).
///     p: the partition.
///     partition: its partition file (from merge_partition for bounds[p]..bounds[p + 1]).
///     stream_ends: whether p is the last partition holding any window (lmplz's
///         end-of-stream rule applies there only).
///     order: the model order.
///     options: estimate's options as a dict (memory, temp_dir, discount_fallback, prune,
///         limit_vocab, interpolate_unigrams, vocab_pad, threads, verbose_header,
///         collapse_values).
///
/// Returns:
///     dict with temp_bytes (the bytes of the files written to workdir).
///
/// Example:
///     >>> kneser._kneser.partitioned_adjust("w", [0, 9, 20], 0, "p0.counts", False, 3, {})
#[pyfunction]
#[pyo3(signature = (workdir, bounds, p, partition, stream_ends, order, options = None))]
#[allow(clippy::too_many_arguments)]
fn partitioned_adjust<'py>(
    py: Python<'py>,
    workdir: PathBuf,
    bounds: Vec<u32>,
    p: usize,
    partition: PathBuf,
    stream_ends: bool,
    order: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = estimate_config(py, order, options)?;
    let bytes = run_detached(py, move |cancel| {
        partitioned::adjust_partition(
            &workdir,
            &bounds,
            p,
            &partition,
            stream_ends,
            &config,
            cancel,
        )
    })?;
    written(py, bytes)
}

/// Task estimate/reduce: sums the partitions' count-of-counts and unigram sums, estimates the
/// discounts and writes them to workdir for the later tasks.
///
/// Args:
///     workdir, bounds, order, options: as for partitioned_adjust.
///
/// Returns:
///     dict with counts (per order, after pruning), unpruned_counts, discounts ((D1, D2, D3+)
///     per order), fallback_orders, tokens and types: kneser.estimate's summary fields.
///
/// Example:
///     >>> kneser._kneser.partitioned_reduce("w", [0, 9, 20], 3, {})["discounts"]
#[pyfunction]
#[pyo3(signature = (workdir, bounds, order, options = None))]
fn partitioned_reduce<'py>(
    py: Python<'py>,
    workdir: PathBuf,
    bounds: Vec<u32>,
    order: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = estimate_config(py, order, options)?;
    let g = run_detached(py, move |_| partitioned::reduce(&workdir, &bounds, &config))?;
    let d = PyDict::new(py);
    d.set_item("counts", g.counts.clone())?;
    d.set_item("unpruned_counts", g.unpruned.clone())?;
    let discounts = PyList::empty(py);
    for ds in &g.discounts {
        discounts.append(PyTuple::new(
            py,
            ds.amount[1..].iter().map(|&x| f64::from(x)),
        )?)?;
    }
    d.set_item("discounts", discounts)?;
    d.set_item("fallback_orders", g.fallback_orders.clone())?;
    d.set_item("tokens", g.tokens)?;
    d.set_item("types", g.types)?;
    Ok(d)
}

/// Task estimate/contexts of partition p: each order resorted by context, and the partial sums
/// of each context sent to the partition owning the context's last word (exchange 1).
///
/// Args:
///     workdir, bounds, p, order, options: as for partitioned_adjust.
///
/// Returns:
///     dict with temp_bytes.
///
/// Example:
///     >>> kneser._kneser.partitioned_contexts("w", [0, 9, 20], 1, 3, {})
#[pyfunction]
#[pyo3(signature = (workdir, bounds, p, order, options = None))]
fn partitioned_contexts<'py>(
    py: Python<'py>,
    workdir: PathBuf,
    bounds: Vec<u32>,
    p: usize,
    order: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = estimate_config(py, order, options)?;
    let bytes = run_detached(py, move |cancel| {
        partitioned::contexts_partition(&workdir, &bounds, p, &config, cancel)
    })?;
    written(py, bytes)
}

/// Task estimate/gamma of partition p: the sums of the contexts it owns reduced into the
/// denominators and gammas, sent back to their senders (exchange 2), and its backoffs.
///
/// Args:
///     workdir, bounds, p, order, options: as for partitioned_adjust.
///
/// Returns:
///     dict with temp_bytes.
///
/// Example:
///     >>> kneser._kneser.partitioned_gamma("w", [0, 9, 20], 1, 3, {})
#[pyfunction]
#[pyo3(signature = (workdir, bounds, p, order, options = None))]
fn partitioned_gamma<'py>(
    py: Python<'py>,
    workdir: PathBuf,
    bounds: Vec<u32>,
    p: usize,
    order: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = estimate_config(py, order, options)?;
    let bytes = run_detached(py, move |_| {
        partitioned::gamma_partition(&workdir, &bounds, p, &config)
    })?;
    written(py, bytes)
}

/// Task estimate/interpolate of partition p: probabilities, interpolation and the partition's
/// ARPA lines of every order.
///
/// Args:
///     workdir, bounds, p, partition, order, options: as for partitioned_adjust.
///
/// Returns:
///     dict with temp_bytes (the ARPA pieces included).
///
/// Example:
///     >>> kneser._kneser.partitioned_interpolate("w", [0, 9, 20], 1, "p1.counts", 3, {})
#[pyfunction]
#[pyo3(signature = (workdir, bounds, p, partition, order, options = None))]
fn partitioned_interpolate<'py>(
    py: Python<'py>,
    workdir: PathBuf,
    bounds: Vec<u32>,
    p: usize,
    partition: PathBuf,
    order: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = estimate_config(py, order, options)?;
    let bytes = run_detached(py, move |cancel| {
        partitioned::interpolate_partition(&workdir, &bounds, p, &partition, &config, cancel)
    })?;
    written(py, bytes)
}

/// Task estimate/concat: the ARPA header and each order's pieces in partition order, to an
/// ARPA file or (binary=) straight to a KenLM binary file; renamed into place when complete.
///
/// Args:
///     workdir, bounds, order, options: as for partitioned_adjust.
///     partitions: the partition files, in order (never overwritten; named by verbose_header).
///     arpa: the ARPA to write.
///     binary: the binary model to write instead; binary_layout, quantize, backoff_bits,
///         array_bits and include_vocab as for kneser.estimate.
///
/// Returns:
///     dict with path and temp_bytes (the model file's size).
///
/// Example:
///     >>> kneser._kneser.partitioned_concat("w", [0, 9, 20], 3, ["p0.counts", "p1.counts"],
///     ...                                   arpa="lm.arpa")
#[pyfunction]
#[pyo3(signature = (
    workdir, bounds, order, partitions, *, arpa = None, binary = None, binary_layout = "probing",
    quantize = None, backoff_bits = None, array_bits = None, include_vocab = true, options = None
))]
#[allow(clippy::too_many_arguments)]
fn partitioned_concat<'py>(
    py: Python<'py>,
    workdir: PathBuf,
    bounds: Vec<u32>,
    order: usize,
    partitions: Vec<PathBuf>,
    arpa: Option<PathBuf>,
    binary: Option<PathBuf>,
    binary_layout: &str,
    quantize: Option<u8>,
    backoff_bits: Option<u8>,
    array_bits: Option<u8>,
    include_vocab: bool,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = estimate_config(py, order, options)?;
    let layout =
        match crate::model::trie_options(binary_layout, quantize, backoff_bits, array_bits)? {
            None => kneser::BinaryLayout::Probing,
            Some(o) => kneser::BinaryLayout::Trie(o),
        };
    let target = match (arpa, binary) {
        (Some(path), None) => Target::Arpa(path),
        (None, Some(path)) => Target::Binary {
            path,
            layout,
            include_vocab,
        },
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give exactly one of arpa= or binary=",
            ))
        }
    };
    let path = match &target {
        Target::Arpa(p) | Target::Binary { path: p, .. } => p.clone(),
    };
    let bytes = run_detached(py, move |_| {
        partitioned::concat(&workdir, &bounds, &config, &target, &partitions)
    })?;
    let d = written(py, bytes)?;
    d.set_item("path", path)?;
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(merge_vocabularies, m)?)?;
    m.add_function(wrap_pyfunction!(last_word_histogram, m)?)?;
    m.add_function(wrap_pyfunction!(merge_partition, m)?)?;
    m.add_function(wrap_pyfunction!(partitioned_adjust, m)?)?;
    m.add_function(wrap_pyfunction!(partitioned_reduce, m)?)?;
    m.add_function(wrap_pyfunction!(partitioned_contexts, m)?)?;
    m.add_function(wrap_pyfunction!(partitioned_gamma, m)?)?;
    m.add_function(wrap_pyfunction!(partitioned_interpolate, m)?)?;
    m.add_function(wrap_pyfunction!(partitioned_concat, m)?)?;
    Ok(())
}
