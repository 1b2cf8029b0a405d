//! Binding of CCNet's document scorer (`kneser::ccnet`): one call per batch of documents, the
//! GIL released, for `kneser.Pipeline.ccnet`, `kneser pipeline --ccnet-lm-dir` and
//! `kneser.ray.ccnet`.

use std::path::PathBuf;
use std::sync::Arc;

use std::sync::Mutex;

use kneser::{
    Bucket, CcnetScorer, JsonlJob, JsonlOptions, JsonlReport, LineBatch, DEFAULT_BATCH,
    DEFAULT_PERCENTILES,
};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::detach::run_detached;
use crate::errors::raise_on_error;
use crate::io::{lock_reader, open_lines, Reader};

/// CCNet's per-language document scorer over an `lm_dir` (`{lang}.sp.model` with
/// `{lang}.arpa.bin`, or an ARPA / kneser binary model) and an optional `cutoff.csv`.
///
/// Args:
///     lm_dir: the model directory.
///     cutoff_csv: CCNet's cutoff file (None: every bucket "all").
///     percentile_head, percentile_tail: the cutoff rows used (None: CCNet's, 30 and 60:
///         `DEFAULT_PERCENTILES`).
#[pyclass(name = "CcnetScorer", module = "kneser", frozen)]
pub struct PyCcnetScorer {
    inner: Arc<CcnetScorer>,
}

/// A document's text: str, or bytes decoded as UTF-8; None (or undecodable bytes, a lone
/// surrogate, another type) is no text.
fn text_of(obj: &Bound<'_, PyAny>) -> Option<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_cow().ok().map(|c| c.into_owned());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return std::str::from_utf8(b.as_bytes()).ok().map(str::to_string);
    }
    None
}

#[pymethods]
impl PyCcnetScorer {
    #[new]
    #[pyo3(signature = (lm_dir, cutoff_csv = None, percentile_head = None, percentile_tail = None))]
    fn new(
        py: Python<'_>,
        lm_dir: PathBuf,
        cutoff_csv: Option<PathBuf>,
        percentile_head: Option<f64>,
        percentile_tail: Option<f64>,
    ) -> PyResult<Self> {
        let percentile_head = percentile_head.unwrap_or(DEFAULT_PERCENTILES.0);
        let percentile_tail = percentile_tail.unwrap_or(DEFAULT_PERCENTILES.1);
        let inner = run_detached(py, move |cancel| {
            CcnetScorer::open(
                &lm_dir,
                cutoff_csv.as_deref(),
                percentile_head,
                percentile_tail,
                cancel,
            )
        })?;
        Ok(PyCcnetScorer {
            inner: Arc::new(inner),
        })
    }

    /// The languages with models.
    #[getter]
    fn languages(&self) -> Vec<String> {
        self.inner.languages()
    }

    /// Scores a batch of documents in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: a sequence of str (bytes are decoded as UTF-8; None is no text).
    ///     languages: a sequence of str or None, one per text.
    ///     dedup: also hash each document's `normalize_for_dedup` text (else "dedup" is 0).
    ///
    /// Returns:
    ///     a dict: "perplexity" (float64 array, NaN when unscored), "scored" (bool array),
    ///     "bucket" (list of "head", "middle", "tail" or "all"), "tokens" (uint64 array),
    ///     "dedup" (uint64 array of 64-bit hashes of the `normalize_for_dedup` text).
    #[pyo3(signature = (texts, languages, dedup = false))]
    fn score_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        languages: &Bound<'py, PyAny>,
        dedup: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let texts: Vec<Option<String>> = texts
            .try_iter()?
            .map(|t| t.map(|t| text_of(&t)))
            .collect::<PyResult<_>>()?;
        let langs: Vec<Option<String>> = languages
            .try_iter()?
            .map(|l| {
                l.map(|l| {
                    l.cast::<PyString>()
                        .ok()
                        .and_then(|s| s.to_cow().ok().map(|c| c.into_owned()))
                })
            })
            .collect::<PyResult<_>>()?;
        if texts.len() != langs.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{} texts but {} languages",
                texts.len(),
                langs.len()
            )));
        }
        let docs: Vec<(Option<String>, Option<String>)> = texts.into_iter().zip(langs).collect();
        let scorer = Arc::clone(&self.inner);
        let scores = run_detached(py, move |cancel| scorer.score_batch(&docs, dedup, cancel))?;
        let out = PyDict::new(py);
        out.set_item(
            "perplexity",
            PyArray1::from_iter(py, scores.iter().map(|s| s.perplexity.unwrap_or(f64::NAN))),
        )?;
        out.set_item(
            "scored",
            PyArray1::from_iter(py, scores.iter().map(|s| s.perplexity.is_some())),
        )?;
        out.set_item(
            "bucket",
            PyList::new(py, scores.iter().map(|s| s.bucket.name()))?,
        )?;
        out.set_item(
            "tokens",
            PyArray1::from_iter(py, scores.iter().map(|s| s.tokens)),
        )?;
        out.set_item(
            "dedup",
            PyArray1::from_iter(py, scores.iter().map(|s| s.dedup_hash)),
        )?;
        Ok(out)
    }

    /// CCNet's JSON-lines loop over this scorer (`kneser::ccnet::jsonl`): a job that reads
    /// files of JSON lines (or plain text lines), scores every document and returns the written
    /// lines, batch by batch, with the counts kept across files.
    ///
    /// Args:
    ///     field: the text field (CCNet: "raw_content").
    ///     language_field: the language field.
    ///     keep: the buckets written ("head", "middle", "tail", "all").
    ///     dedup: drop exact duplicates (`normalize_for_dedup` text) after the first.
    ///     text: plain text input, one document a line, without a language.
    ///     on_error: "skip" (record bad lines with file and line) or "raise" (FormatError).
    #[pyo3(signature = (field = "raw_content".to_string(), language_field = "language".to_string(), keep = vec!["head".to_string(), "middle".to_string(), "tail".to_string(), "all".to_string()], dedup = false, text = false, on_error = "skip"))]
    fn jsonl(
        &self,
        field: String,
        language_field: String,
        keep: Vec<String>,
        dedup: bool,
        text: bool,
        on_error: &str,
    ) -> PyResult<PyCcnetJsonl> {
        let raise = raise_on_error(on_error)?;
        let mut mask = [false; 4];
        for k in &keep {
            let b = match k.as_str() {
                "head" => Bucket::Head,
                "middle" => Bucket::Middle,
                "tail" => Bucket::Tail,
                "all" => Bucket::All,
                other => {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "unknown bucket {other:?}"
                    )))
                }
            };
            mask[b.index()] = true;
        }
        let opts = JsonlOptions {
            field,
            language_field,
            keep: mask,
            dedup,
            text,
            raise,
        };
        Ok(PyCcnetJsonl {
            scorer: Arc::clone(&self.inner),
            state: Arc::new(Mutex::new(JobState { opts, seen: None })),
        })
    }

    fn __repr__(&self) -> String {
        format!("CcnetScorer(languages={:?})", self.inner.languages())
    }
}

struct JobState {
    opts: JsonlOptions,
    seen: Option<(rustc_hash::FxHashSet<u64>, JsonlReport)>,
}

/// CCNet's JSON-lines loop (made by `CcnetScorer.jsonl`): `read(path)` iterates over the
/// written lines of a file, one bytes object per batch; `report` holds the counts so far.
#[pyclass(name = "CcnetJsonl", module = "kneser", frozen)]
pub struct PyCcnetJsonl {
    scorer: Arc<CcnetScorer>,
    state: Arc<Mutex<JobState>>,
}

#[pymethods]
impl PyCcnetJsonl {
    /// The batches of one input (plain, gz, xz, zst, bz2; "-" is stdin): each item is the
    /// written lines (UTF-8 bytes) of up to `batch_size` input lines, scored with the GIL
    /// released.
    #[pyo3(signature = (path, batch_size = DEFAULT_BATCH))]
    fn read(&self, py: Python<'_>, path: PathBuf, batch_size: usize) -> PyResult<PyCcnetBatches> {
        Ok(PyCcnetBatches {
            scorer: Arc::clone(&self.scorer),
            state: Arc::clone(&self.state),
            reader: Mutex::new(Some(open_lines(py, &path)?)),
            batch_size: batch_size.max(1),
        })
    }

    /// The counts so far: documents, duplicates, unscored, tokens, kept, kept_tokens,
    /// buckets and kept_per_bucket (dicts by bucket name), malformed ((file, line, reason)).
    #[getter]
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let state = self
            .state
            .lock()
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("job poisoned"))?;
        let r = state.seen.as_ref().map(|s| s.1.clone()).unwrap_or_default();
        let d = PyDict::new(py);
        d.set_item("documents", r.documents)?;
        d.set_item("duplicates", r.duplicates)?;
        d.set_item("unscored", r.unscored)?;
        d.set_item("tokens", r.tokens)?;
        d.set_item("kept", r.kept)?;
        d.set_item("kept_tokens", r.kept_tokens)?;
        let names = [Bucket::Head, Bucket::Middle, Bucket::Tail, Bucket::All];
        let buckets = PyDict::new(py);
        let kept = PyDict::new(py);
        for b in names {
            buckets.set_item(b.name(), r.buckets[b.index()])?;
            kept.set_item(b.name(), r.kept_per_bucket[b.index()])?;
        }
        d.set_item("buckets", buckets)?;
        d.set_item("kept_per_bucket", kept)?;
        d.set_item("malformed", r.malformed)?;
        Ok(d)
    }
}

/// The batches of one input of a `CcnetJsonl` job.
#[pyclass(name = "CcnetBatches", module = "kneser")]
pub struct PyCcnetBatches {
    scorer: Arc<CcnetScorer>,
    state: Arc<Mutex<JobState>>,
    reader: Mutex<Option<Reader>>,
    batch_size: usize,
}

#[pymethods]
impl PyCcnetBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut guard = lock_reader(&self.reader)?;
        let Some(reader) = guard.as_mut() else {
            return Ok(None);
        };
        let (scorer, state, batch_size) = (&self.scorer, &self.state, self.batch_size);
        let out = run_detached(py, |cancel| -> kneser::Result<Option<Vec<u8>>> {
            let batch = LineBatch::read(reader, batch_size)?;
            if batch.is_empty() {
                return Ok(None);
            }
            let mut st = state
                .lock()
                .map_err(|_| kneser::Error::InvalidArgument("job poisoned".into()))?;
            let st = &mut *st;
            let (seen, report) = st.seen.take().unwrap_or_default();
            let mut job = JsonlJob::resume(scorer, st.opts.clone(), seen, report);
            let mut out = Vec::with_capacity(batch.len() * 64);
            let res = job.process(reader.name(), &batch, &mut out, cancel);
            st.seen = Some(job.into_state());
            res.map(|_| Some(out))
        })?;
        match out {
            Some(bytes) => Ok(Some(PyBytes::new(py, &bytes))),
            None => {
                *guard = None;
                Ok(None)
            }
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The core's defaults, for the Python API and the CLI to take as theirs.
    m.add("DEFAULT_PERCENTILES", DEFAULT_PERCENTILES)?;
    m.add("DEFAULT_CALIBRATION", kneser::DEFAULT_CALIBRATION)?;
    m.add("DEFAULT_BATCH_SIZE", DEFAULT_BATCH)?;
    m.add_class::<PyCcnetScorer>()?;
    m.add_class::<PyCcnetJsonl>()?;
    m.add_class::<PyCcnetBatches>()?;
    crate::sentencepiece::register(m)?;
    Ok(())
}
