//! Binding of the generic pipeline's documents (`kneser::documents`): `kneser.read_documents`,
//! the JSON-lines (or text) documents of a file batch by batch, and `kneser.write_documents`,
//! the output lines of kept documents, for `kneser.Pipeline`.

use std::path::PathBuf;
use std::sync::Mutex;

use kneser::{Bucket, DocumentOptions};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{raise_on_error, to_pyerr};
use crate::io::{lock_reader, open_lines, Reader};

/// The documents of one input (plain, gz, xz, zst, bz2; "-" is stdin), batch by batch: each
/// item is `(texts, lines, malformed)` for up to `batch_size` input lines: the documents' texts
/// (str), their JSON lines (bytes, for `write_documents`; a text line as `{field: text}`) and the bad lines as
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
    reader: Mutex<Option<Reader>>,
    opts: DocumentOptions,
    batch_size: usize,
}

type Batch<'py> = (
    Vec<String>,
    Vec<Bound<'py, PyBytes>>,
    Vec<(String, u64, String)>,
);

#[pymethods]
impl PyDocuments {
    #[new]
    #[pyo3(signature = (path, field = "text".to_string(), text = false, on_error = "skip", batch_size = 2048))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        field: String,
        text: bool,
        on_error: &str,
        batch_size: usize,
    ) -> PyResult<Self> {
        let raise = raise_on_error(on_error)?;
        Ok(PyDocuments {
            reader: Mutex::new(Some(open_lines(py, &path)?)),
            opts: DocumentOptions { field, text, raise },
            batch_size: batch_size.max(1),
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Batch<'py>>> {
        let mut guard = lock_reader(&self.reader)?;
        let Some(reader) = guard.as_mut() else {
            return Ok(None);
        };
        let (opts, max) = (&self.opts, self.batch_size);
        let batch = py
            .detach(|| kneser::read_documents(reader, max, opts))
            .map_err(|e| to_pyerr(py, e))?;
        let Some(batch) = batch else {
            *guard = None;
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

/// The output lines (UTF-8 bytes) of kept documents: each JSON line from `read_documents`
/// byte for byte with `"perplexity": P, "bucket": "B"` added before its closing brace, `P`
/// printed as Python's `repr(float)`.
///
/// Args:
///     lines: the documents' JSON lines (one JSON object each, without a line end).
///     perplexities: their perplexities.
///     buckets: their buckets ("head", "middle", "tail" or "all").
#[pyfunction]
fn write_documents<'py>(
    py: Python<'py>,
    lines: Vec<Bound<'py, PyBytes>>,
    perplexities: Vec<f64>,
    buckets: Vec<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    if lines.len() != perplexities.len() || lines.len() != buckets.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "lines, perplexities and buckets differ in length",
        ));
    }
    let buckets: Vec<Bucket> = buckets
        .iter()
        .map(|b| b.parse())
        .collect::<kneser::Result<_>>()
        .map_err(|e| to_pyerr(py, e))?;
    let docs: Vec<(&[u8], f64, Bucket)> = lines
        .iter()
        .zip(perplexities)
        .zip(buckets)
        .map(|((l, p), b)| (l.as_bytes(), p, b))
        .collect();
    let mut out = Vec::with_capacity(docs.len() * 64);
    py.detach(|| kneser::write_documents(&docs, &mut out));
    Ok(PyBytes::new(py, &out))
}

/// Whether `path` is a Parquet file, by its magic bytes (`kneser::io::is_parquet`, where every
/// input format is recognised).
#[pyfunction]
fn is_parquet(py: Python<'_>, path: PathBuf) -> bool {
    py.detach(|| kneser::is_parquet(&path))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDocuments>()?;
    m.add_function(wrap_pyfunction!(write_documents, m)?)?;
    m.add_function(wrap_pyfunction!(is_parquet, m)?)?;
    Ok(())
}
