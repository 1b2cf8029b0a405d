//! Binding of CCNet's document scorer (`kneser::ccnet`): one call per batch of documents, the
//! GIL released, for `kneser.Pipeline.ccnet`, `kneser pipeline --ccnet-lm-dir` and
//! `kneser.ray.ccnet`.

use std::path::PathBuf;
use std::sync::Arc;

use kneser::ccnet::CcnetScorer;
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::detach::run_detached;

/// CCNet's per-language document scorer over an `lm_dir` (`{lang}.sp.model` with
/// `{lang}.arpa.bin`, or an ARPA / kneser binary model) and an optional `cutoff.csv`.
///
/// Args:
///     lm_dir: the model directory.
///     cutoff_csv: CCNet's cutoff file (None: every bucket "all").
///     percentile_head, percentile_tail: the cutoff rows used (CCNet: 30 and 60).
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
    #[pyo3(signature = (lm_dir, cutoff_csv = None, percentile_head = 30.0, percentile_tail = 60.0))]
    fn new(
        py: Python<'_>,
        lm_dir: PathBuf,
        cutoff_csv: Option<PathBuf>,
        percentile_head: f64,
        percentile_tail: f64,
    ) -> PyResult<Self> {
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

    fn __repr__(&self) -> String {
        format!("CcnetScorer(languages={:?})", self.inner.languages())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCcnetScorer>()?;
    crate::sentencepiece::register(m)?;
    Ok(())
}
