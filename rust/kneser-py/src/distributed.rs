//! Bindings of the partitioned merge of count files (`kneser.estimate.partition`), the core of
//! `kneser.ray`: `merge_vocabularies`, `last_word_histogram`, `merge_partition`.

use std::path::PathBuf;

use kneser::estimate::config::parse_memory;
use kneser::estimate::partition;
use kneser::sort::TempDir;
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::detach::run_detached;
use crate::errors::to_pyerr;

fn header_dict<'py>(
    py: Python<'py>,
    h: &kneser::estimate::counts_file::CountsHeader,
) -> PyResult<Bound<'py, PyDict>> {
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

fn pool(threads: usize) -> kneser::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| kneser::Error::Internal(format!("cannot start threads: {e}")))
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
        let temp = TempDir::new_in(&parent)?;
        partition::merge_vocabularies(&shards, &output, &temp, cancel)
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
        None => kneser::estimate::config::DEFAULT_MEMORY,
        Some(m) => match m.extract::<u64>() {
            Ok(n) => n,
            Err(_) => parse_memory(&m.extract::<String>()?).map_err(|e| to_pyerr(py, e))?,
        },
    };
    let memory = usize::try_from(memory).unwrap_or(usize::MAX);
    let parent = temp_parent(temp_dir);
    let h = run_detached(py, move |cancel| {
        pool(threads)?.install(|| {
            let temp = TempDir::new_in(&parent)?;
            partition::merge_partition(&shards, &vocabulary, lo..hi, &output, memory, &temp, cancel)
        })
    })?;
    header_dict(py, &h)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(merge_vocabularies, m)?)?;
    m.add_function(wrap_pyfunction!(last_word_histogram, m)?)?;
    m.add_function(wrap_pyfunction!(merge_partition, m)?)?;
    Ok(())
}
