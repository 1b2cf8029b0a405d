//! Bindings of the input layer: `kneser.read_lines`, batches of lines from any input kneser
//! reads (plain, gz, xz, zst, stdin), for the Python pipeline.

use std::path::PathBuf;
use std::sync::Mutex;

use kneser::io::{display_name, open_input, LineReader};
use pyo3::prelude::*;

use crate::errors::to_pyerr;

/// Iterates over the lines of a file in batches: each item is a list of up to `batch_size`
/// `(line_number, text)` pairs, the text without its newline. Compression (gzip, xz, zstd) is
/// recognised by magic bytes; "-" reads stdin. Invalid UTF-8 raises kneser.FormatError naming
/// the file and line, unless `errors="replace"` (U+FFFD for invalid bytes) or `errors="skip"`
/// (the text of an invalid line is None, so the caller can count and report it).
///
/// Args:
///     path: the file.
///     batch_size: lines per batch.
///     errors: "strict", "replace" or "skip".
///
/// Example:
///     >>> for batch in kneser.read_lines("docs.jsonl.zst"):
///     ...     for number, line in batch: ...
#[pyclass(name = "read_lines", module = "kneser")]
pub struct PyLineBatches {
    // A Mutex makes the class Sync, as pyo3 requires; only one thread iterates at a time.
    reader: Mutex<Option<LineReader<Box<dyn std::io::BufRead + Send>>>>,
    batch_size: usize,
    replace: bool,
    skip: bool,
}

/// A batch of (line number, text) pairs; the text is None for an invalid line with `errors="skip"`.
type Batch = Vec<(u64, Option<String>)>;

#[pymethods]
impl PyLineBatches {
    #[new]
    #[pyo3(signature = (path, batch_size = 4096, errors = "strict"))]
    fn new(py: Python<'_>, path: PathBuf, batch_size: usize, errors: &str) -> PyResult<Self> {
        let (replace, skip) = match errors {
            "strict" => (false, false),
            "replace" => (true, false),
            "skip" => (false, true),
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "errors must be \"strict\", \"replace\" or \"skip\", not {other:?}"
                )))
            }
        };
        let name = display_name(&path);
        let input = py
            .detach(|| open_input(&path))
            .map_err(|e| to_pyerr(py, e))?;
        Ok(PyLineBatches {
            reader: Mutex::new(Some(LineReader::new(input, name))),
            batch_size: batch_size.max(1),
            replace,
            skip,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Batch>> {
        let mut guard = self
            .reader
            .lock()
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("reader poisoned"))?;
        let Some(reader) = guard.as_mut() else {
            return Ok(None);
        };
        let (batch_size, replace, skip) = (self.batch_size, self.replace, self.skip);
        let batch = py
            .detach(|| -> kneser::Result<Batch> {
                let mut batch = Vec::with_capacity(batch_size);
                let name = reader.name().to_string();
                while batch.len() < batch_size {
                    let Some(line) = reader.next_line()? else {
                        break;
                    };
                    let bytes = line.bytes.strip_suffix(b"\r").unwrap_or(line.bytes);
                    let text = if replace {
                        Some(String::from_utf8_lossy(bytes).into_owned())
                    } else if skip {
                        std::str::from_utf8(bytes).ok().map(str::to_string)
                    } else {
                        Some(
                            kneser::io::RawLine { bytes, ..line }
                                .as_str(&name)?
                                .to_string(),
                        )
                    };
                    batch.push((line.number, text));
                }
                Ok(batch)
            })
            .map_err(|e| to_pyerr(py, e))?;
        if batch.is_empty() {
            *guard = None;
            return Ok(None);
        }
        Ok(Some(batch))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLineBatches>()?;
    Ok(())
}
