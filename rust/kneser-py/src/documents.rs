//! Binding of the generic pipeline (`kneser::documents`, `kneser::pipeline`):
//! `kneser.read_documents`, the JSON-lines (or text) documents of a file batch by batch (for
//! the shards and the demo), and `PipelineJob`, the job of `kneser.Pipeline.run` (one core
//! call per batch, the GIL released).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use kneser::{
    Bucket, CutoffRule, Dedup, Document, DocumentOptions, PipelineJob, PipelineOptions,
    PipelineReport, Prepared, ShardText, Written,
};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::detach::{detach_short, run_detached};
use crate::errors::{raise_on_error, to_pyerr};
use crate::io::{lock_reader, open_lines, Reader};
use crate::model::PyModel;
use crate::text::{PyNormalizer, PyTokenizer};

/// The documents of one input (plain, gz, xz, zst, bz2; "-" is stdin), batch by batch: each
/// item is `(texts, lines, malformed)` for up to `batch_size` input lines: the documents' texts
/// (str), their JSON lines (bytes; a text line as `{field: text}`) and the bad lines as
/// `(file, line, reason)`. A blank JSON line is skipped; with `on_error="raise"` a bad line is a
/// kneser.FormatError naming the file and line.
///
/// Args:
///     path: the file.
///     field: the text field of each JSON object.
///     text: plain text input, each line a document's text.
///     on_error: "skip" or "raise".
///     batch_size: input lines per batch.
#[pyclass(name = "read_documents", module = "kneser")]
pub struct PyDocuments {
    input: DocumentInput,
}

/// The documents input of an iterating binding (`read_documents`, `PipelineJob.read`): the
/// reader of `path` (None once it has ended), the core's `DocumentOptions` and the batch size,
/// as both build them from their `(path, field, text, on_error, batch_size)` arguments.
struct DocumentInput {
    reader: Mutex<Option<Reader>>,
    opts: DocumentOptions,
    batch_size: usize,
}

impl DocumentInput {
    fn open(
        py: Python<'_>,
        path: &std::path::Path,
        field: String,
        text: bool,
        on_error: &str,
        batch_size: usize,
    ) -> PyResult<Self> {
        let raise = raise_on_error(on_error)?;
        Ok(DocumentInput {
            reader: Mutex::new(Some(open_lines(py, path)?)),
            opts: DocumentOptions { field, text, raise },
            batch_size: batch_size.max(1),
        })
    }

    /// The next item made by `read` from the reader (at most `batch_size` lines); None, and
    /// the reader dropped, once the input has ended or `read` returns None.
    fn next<T>(
        &self,
        read: impl FnOnce(&mut Reader, usize, &DocumentOptions) -> PyResult<Option<T>>,
    ) -> PyResult<Option<T>> {
        let mut guard = lock_reader(&self.reader)?;
        let Some(reader) = guard.as_mut() else {
            return Ok(None);
        };
        let item = read(reader, self.batch_size, &self.opts)?;
        if item.is_none() {
            *guard = None;
        }
        Ok(item)
    }
}

type Batch<'py> = (
    Vec<String>,
    Vec<Bound<'py, PyBytes>>,
    Vec<(String, u64, String)>,
);

#[pymethods]
impl PyDocuments {
    #[new]
    #[pyo3(signature = (path, field = "text".to_string(), text = false, on_error = "skip", batch_size = kneser::DEFAULT_BATCH))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        field: String,
        text: bool,
        on_error: &str,
        batch_size: usize,
    ) -> PyResult<Self> {
        Ok(PyDocuments {
            input: DocumentInput::open(py, &path, field, text, on_error, batch_size)?,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Batch<'py>>> {
        let batch = self.input.next(|reader, max, opts| {
            detach_short(py, || kneser::read_documents(reader, max, opts))
        })?;
        let Some(batch) = batch else {
            return Ok(None);
        };
        let mut texts = Vec::with_capacity(batch.documents.len());
        let mut lines = Vec::with_capacity(batch.documents.len());
        for d in batch.documents {
            lines.push(PyBytes::new(py, &d.line));
            texts.push(d.text);
        }
        Ok(Some((texts, lines, batch.malformed)))
    }
}

/// Whether `path` is a Parquet file, by its magic bytes (`kneser::io::is_parquet`, where every
/// input format is recognised).
#[pyfunction]
fn is_parquet(py: Python<'_>, path: PathBuf) -> bool {
    py.detach(|| kneser::is_parquet(&path))
}

/// A job's state: the core job, and a batch waiting for a Python tokenizer's tokens.
struct JobState {
    job: PipelineJob,
    waiting: Option<Prepared>,
}

/// What one batch gives Python: the kept documents' output lines, their shard text, and, when
/// the tokens come from Python, the lines to tokenize (then the bytes are empty until
/// `PipelineJob.emit`).
type Step<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Option<Vec<String>>,
);

/// The generic perplexity pipeline's job (`kneser::pipeline`, the one home of its stage loop):
/// made by `kneser.Pipeline.run` from its options, fed batch by batch, the counts kept across
/// inputs.
///
/// Args:
///     model: a kneser.Model.
///     normalizer: a kneser.Normalizer for each line, or None.
///     tokenizer: a kneser.Tokenizer (or SentencePiece) for each line, or None.
///     external_tokens: the lines are tokenized by Python (`emit(tokens)`) instead.
///     dedup: None, "document" or "line".
///     percentiles: the (head, tail) percentiles of the calibration documents.
///     thresholds: fixed (head, tail) perplexity cutoffs instead (None: percentiles).
///     calibration: documents scored before the percentile cutoffs are fixed.
///     keep: the buckets written ("head", "middle", "tail").
///     shard_text: "none", "tokens" (the lines joined by spaces) or "source" (the JSON line).
#[pyclass(name = "PipelineJob", module = "kneser", frozen)]
pub struct PyPipelineJob {
    state: Arc<Mutex<JobState>>,
}

fn lock_job(state: &Mutex<JobState>) -> kneser::Result<MutexGuard<'_, JobState>> {
    state
        .lock()
        .map_err(|_| kneser::Error::InvalidArgument("pipeline job poisoned".into()))
}

/// One batch of documents through the job: all of it with a core tokenizer (or none), up to
/// the tokens when they come from Python (the lines to tokenize are returned).
fn step(
    st: &mut JobState,
    docs: Vec<Document>,
    cancel: &kneser::Cancel,
) -> kneser::Result<(Written, Option<Vec<String>>)> {
    let mut out = Written::default();
    if st.job.external_tokens() {
        if st.waiting.is_some() {
            return Err(kneser::Error::InvalidArgument(
                "PipelineJob: emit(tokens) the batch before the next one".into(),
            ));
        }
        let prepared = st.job.prepare(docs, cancel)?;
        let lines = prepared.lines().map(str::to_string).collect();
        st.waiting = Some(prepared);
        return Ok((out, Some(lines)));
    }
    st.job.process(docs, &mut out, cancel)?;
    Ok((out, None))
}

fn step_to_py<'py>(py: Python<'py>, (out, lines): (Written, Option<Vec<String>>)) -> Step<'py> {
    (
        PyBytes::new(py, &out.documents),
        PyBytes::new(py, &out.shard),
        lines,
    )
}

fn bucket_mask(keep: &[String]) -> kneser::Result<[bool; 3]> {
    let mut mask = [false; 3];
    for k in keep {
        match k.parse::<Bucket>() {
            Ok(b) if b != Bucket::All => mask[b.index()] = true,
            _ => {
                return Err(kneser::Error::InvalidArgument(format!(
                    "keep must be a subset of ('head', 'middle', 'tail'), not {k:?}"
                )))
            }
        }
    }
    Ok(mask)
}

fn report_dict<'py>(py: Python<'py>, r: &PipelineReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("documents", r.documents)?;
    d.set_item("kept", r.kept)?;
    d.set_item("duplicates", r.duplicates)?;
    d.set_item("duplicate_lines", r.duplicate_lines)?;
    d.set_item("empty", r.empty)?;
    d.set_item("tokens", r.tokens)?;
    d.set_item("kept_tokens", r.kept_tokens)?;
    d.set_item("cutoffs", r.cutoffs)?;
    let (buckets, kept, histogram) = (PyDict::new(py), PyDict::new(py), PyDict::new(py));
    for b in [Bucket::Head, Bucket::Middle, Bucket::Tail] {
        buckets.set_item(b.name(), r.buckets[b.index()])?;
        kept.set_item(b.name(), r.kept_per_bucket[b.index()])?;
        histogram.set_item(b.name(), r.histogram[b.index()].clone())?;
    }
    d.set_item("buckets", buckets)?;
    d.set_item("kept_per_bucket", kept)?;
    d.set_item("histogram", histogram)?;
    d.set_item("malformed", r.malformed.clone())?;
    Ok(d)
}

#[pymethods]
impl PyPipelineJob {
    #[new]
    #[pyo3(signature = (model, *, normalizer = None, tokenizer = None, external_tokens = false, dedup = None, percentiles = kneser::DEFAULT_PERCENTILES, thresholds = None, calibration = kneser::DEFAULT_CALIBRATION, keep = None, shard_text = "none"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: PyRef<'_, PyModel>,
        normalizer: Option<PyRef<'_, PyNormalizer>>,
        tokenizer: Option<PyRef<'_, PyTokenizer>>,
        external_tokens: bool,
        dedup: Option<&str>,
        percentiles: (f64, f64),
        thresholds: Option<(f64, f64)>,
        calibration: usize,
        keep: Option<Vec<String>>,
        shard_text: &str,
    ) -> PyResult<Self> {
        let arg = |m: String| to_pyerr(py, kneser::Error::InvalidArgument(m));
        let dedup = match dedup {
            None => Dedup::None,
            Some("document") => Dedup::Document,
            Some("line") => Dedup::Line,
            Some(other) => {
                return Err(arg(format!(
                    "dedup must be 'document', 'line' or None, not {other:?}"
                )))
            }
        };
        let shard_text = match shard_text {
            "none" => ShardText::None,
            "tokens" => ShardText::Tokens,
            "source" => ShardText::Source,
            other => return Err(arg(format!("unknown shard_text {other:?}"))),
        };
        let cutoffs = match thresholds {
            Some((lo, hi)) => CutoffRule::Thresholds(lo, hi),
            None => CutoffRule::Percentiles {
                percentiles,
                calibration: calibration.max(1),
            },
        };
        let opts = PipelineOptions {
            model: model.core(),
            normalizer: normalizer.map(|n| n.inner()),
            tokenizer: tokenizer.map(|t| t.inner()),
            external_tokens,
            dedup,
            cutoffs,
            // None: every bucket.
            keep: keep
                .map_or(Ok([true; 3]), |k| bucket_mask(&k))
                .map_err(|e| to_pyerr(py, e))?,
            shard_text,
        };
        let job = PipelineJob::new(opts).map_err(|e| to_pyerr(py, e))?;
        Ok(PyPipelineJob {
            state: Arc::new(Mutex::new(JobState { job, waiting: None })),
        })
    }

    /// The batches of one input (plain, gz, xz, zst, bz2; "-" is stdin) through the job: each
    /// item is `(documents, shard, lines)` for up to `batch_size` input lines (see the class);
    /// bad lines are recorded in the report, or with `on_error="raise"` a kneser.FormatError
    /// naming the file and line.
    #[pyo3(signature = (path, field = "text".to_string(), text = false, on_error = "skip", batch_size = kneser::DEFAULT_BATCH))]
    fn read(
        &self,
        py: Python<'_>,
        path: PathBuf,
        field: String,
        text: bool,
        on_error: &str,
        batch_size: usize,
    ) -> PyResult<PyPipelineBatches> {
        Ok(PyPipelineBatches {
            state: Arc::clone(&self.state),
            input: DocumentInput::open(py, &path, field, text, on_error, batch_size)?,
        })
    }

    /// One batch of documents given by Python (Arrow rows: their texts and JSON lines, from
    /// `kneser._arrow`) through the job; returns `(documents, shard, lines)` as `read`.
    fn documents<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        lines: Vec<Vec<u8>>,
    ) -> PyResult<Step<'py>> {
        if texts.len() != lines.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "texts and lines differ in length",
            ));
        }
        let docs: Vec<Document> = texts
            .into_iter()
            .zip(lines)
            .enumerate()
            .map(|(i, (text, line))| Document {
                number: i as u64 + 1,
                text,
                line,
            })
            .collect();
        let state = &self.state;
        let res = run_detached(py, |cancel| step(&mut *lock_job(state)?, docs, cancel))?;
        Ok(step_to_py(py, res))
    }

    /// The tokens (a list of str per line, in the order of the `lines` handed out) of the
    /// waiting batch: scores, buckets and writes it; returns `(documents, shard)`.
    fn emit<'py>(
        &self,
        py: Python<'py>,
        tokens: Vec<Vec<String>>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let state = &self.state;
        let out = run_detached(py, |cancel| {
            let mut st = lock_job(state)?;
            let mut prepared = st.waiting.take().ok_or_else(|| {
                kneser::Error::InvalidArgument("PipelineJob.emit: no batch is waiting".into())
            })?;
            prepared.set_tokens(&tokens)?;
            let mut out = Written::default();
            st.job.emit(prepared, &mut out, cancel)?;
            Ok(out)
        })?;
        Ok((
            PyBytes::new(py, &out.documents),
            PyBytes::new(py, &out.shard),
        ))
    }

    /// The end of the input: the calibration's documents, if still waiting, bucketed and
    /// written; returns `(documents, shard)`.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let state = &self.state;
        let out = run_detached(py, |_| {
            let mut out = Written::default();
            lock_job(state)?.job.finish(&mut out);
            Ok(out)
        })?;
        Ok((
            PyBytes::new(py, &out.documents),
            PyBytes::new(py, &out.shard),
        ))
    }

    /// The counts so far: documents, kept, duplicates, duplicate_lines, empty, tokens,
    /// kept_tokens, cutoffs ((head, tail) or None), buckets / kept_per_bucket / histogram
    /// (dicts by bucket name), malformed ((file, line, reason)).
    #[getter]
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let st = lock_job(&self.state).map_err(|e| to_pyerr(py, e))?;
        report_dict(py, &st.job.report)
    }
}

/// The batches of one input of a `PipelineJob`.
#[pyclass(name = "PipelineBatches", module = "kneser")]
pub struct PyPipelineBatches {
    state: Arc<Mutex<JobState>>,
    input: DocumentInput,
}

#[pymethods]
impl PyPipelineBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Step<'py>>> {
        let state = &self.state;
        let res = self.input.next(|reader, max, opts| {
            run_detached(py, |cancel| {
                let Some(batch) = kneser::read_documents(reader, max, opts)? else {
                    return Ok(None);
                };
                let mut st = lock_job(state)?;
                st.job.report.malformed.extend(batch.malformed);
                step(&mut st, batch.documents, cancel).map(Some)
            })
        })?;
        Ok(res.map(|r| step_to_py(py, r)))
    }
}

/// numpy's `np.percentile(values, q)` with its default 'linear' method for each `q` of `qs`
/// (`kneser::pipeline::percentile`, the one home of the calibration rule); NaN if a value is
/// NaN.
///
/// Args:
///     values: the values (at least one).
///     qs: percentiles in [0, 100].
#[pyfunction]
fn percentile(py: Python<'_>, values: Vec<f64>, qs: Vec<f64>) -> PyResult<Vec<f64>> {
    if qs.iter().any(|q| !(0.0..=100.0).contains(q)) {
        return Err(to_pyerr(
            py,
            kneser::Error::InvalidArgument("percentiles must be in [0, 100]".into()),
        ));
    }
    kneser::percentile(&values, &qs).ok_or_else(|| {
        to_pyerr(
            py,
            kneser::Error::InvalidArgument("percentile of no values".into()),
        )
    })
}

/// The perplexity of each text taken as a document of lines, as `kneser.Pipeline` scores them
/// (`kneser::pipeline::document_perplexities`): split on newlines, blank lines dropped, each
/// line scored with `<s>` and `</s>`, `10 ** (-sum / (words + lines))`; NaN for a blank text.
/// A float64 array.
#[pyfunction]
fn document_perplexities<'py>(
    py: Python<'py>,
    model: PyRef<'py, PyModel>,
    texts: Vec<String>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let model = model.core();
    let ppl = run_detached(py, |cancel| {
        kneser::document_perplexities(&model, &texts, cancel)
    })?;
    Ok(PyArray1::from_vec(py, ppl))
}

/// Each text normalized line by line, the lines joined back by newlines, as `kneser.Pipeline`
/// normalizes its documents (`kneser::pipeline::normalize_documents`).
#[pyfunction]
fn normalize_documents(
    py: Python<'_>,
    normalizer: PyRef<'_, PyNormalizer>,
    texts: Vec<String>,
) -> PyResult<Vec<String>> {
    let normalizer = normalizer.inner();
    run_detached(py, |cancel| {
        kneser::normalize_documents(&normalizer, &texts, cancel)
    })
}

/// Each text normalized (with `normalizer`), tokenized (with `tokenizer`) and its tokens joined
/// by one space, as `kneser.train_lm` hands them to estimation
/// (`kneser::pipeline::prepare_lines`).
#[pyfunction]
#[pyo3(signature = (texts, normalizer=None, tokenizer=None))]
fn prepare_lines(
    py: Python<'_>,
    texts: Vec<String>,
    normalizer: Option<PyRef<'_, PyNormalizer>>,
    tokenizer: Option<PyRef<'_, PyTokenizer>>,
) -> PyResult<Vec<String>> {
    let normalizer = normalizer.map(|n| n.inner());
    let tokenizer = tokenizer.map(|t| t.inner());
    run_detached(py, |cancel| {
        kneser::prepare_lines(normalizer.as_deref(), tokenizer.as_deref(), &texts, cancel)
    })
}

/// The bucket index of each value over `cutoffs` (`kneser::bucket_index`: the first cutoff it is
/// below, as CCNet tries them; `len(cutoffs)` past every one and for NaN). An intp array.
#[pyfunction]
fn bucket_indices<'py>(
    py: Python<'py>,
    values: Vec<f64>,
    cutoffs: Vec<f64>,
) -> Bound<'py, PyArray1<usize>> {
    PyArray1::from_iter(
        py,
        values.iter().map(|&v| kneser::bucket_index(v, &cutoffs)),
    )
}

/// The edges of the pipeline's log10-perplexity histogram (`kneser::pipeline`).
#[pyfunction]
fn pipeline_histogram_edges() -> Vec<f64> {
    kneser::pipeline_histogram_edges()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPipelineJob>()?;
    m.add_class::<PyPipelineBatches>()?;
    m.add_function(wrap_pyfunction!(percentile, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline_histogram_edges, m)?)?;
    m.add_function(wrap_pyfunction!(document_perplexities, m)?)?;
    m.add_function(wrap_pyfunction!(bucket_indices, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_documents, m)?)?;
    m.add_function(wrap_pyfunction!(prepare_lines, m)?)?;
    m.add_class::<PyDocuments>()?;
    m.add_function(wrap_pyfunction!(is_parquet, m)?)?;
    Ok(())
}
