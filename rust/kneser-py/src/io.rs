//! Bindings of the core's input and output layers: `kneser.read_lines`, batches of lines from
//! any input kneser reads (plain, gz, xz, zst, bz2, stdin), and `kneser.OutputFile` /
//! `kneser.claim_output`, the one output layer (`kneser::io::OutputFile`), for the Python
//! commands and pipeline.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use kneser::{display_name, open_input, LineReader, OutputFile, RawLine};
use pyo3::prelude::*;

use crate::errors::to_pyerr;

/// A line reader of an input, as every binding reads one.
pub type Reader = LineReader<Box<dyn std::io::BufRead + Send>>;

/// The reader of an iterating binding, locked (the Mutex makes the class Sync, as pyo3 requires);
/// None once the input has ended.
pub fn lock_reader(slot: &Mutex<Option<Reader>>) -> PyResult<MutexGuard<'_, Option<Reader>>> {
    slot.lock()
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("reader poisoned"))
}

/// Opens `path` with the core's input rule (`kneser::open_input`: compression by content, "-"
/// is stdin), the GIL released.
pub fn open_lines(py: Python<'_>, path: &std::path::Path) -> PyResult<Reader> {
    let name = display_name(path);
    let input = py
        .detach(|| open_input(path))
        .map_err(|e| to_pyerr(py, e))?;
    Ok(LineReader::new(input, name))
}

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
    reader: Mutex<Option<Reader>>,
    batch_size: usize,
    replace: bool,
    skip: bool,
}

/// Lines a `read_lines` batch holds unless told otherwise.
const DEFAULT_LINE_BATCH: usize = 4096;

/// A batch of (line number, text) pairs; the text is None for an invalid line with `errors="skip"`.
type Batch = Vec<(u64, Option<String>)>;

#[pymethods]
impl PyLineBatches {
    #[new]
    #[pyo3(signature = (path, batch_size = DEFAULT_LINE_BATCH, errors = "strict"))]
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
        Ok(PyLineBatches {
            reader: Mutex::new(Some(open_lines(py, &path)?)),
            batch_size: batch_size.max(1),
            replace,
            skip,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Batch>> {
        let mut guard = lock_reader(&self.reader)?;
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
                        Some(RawLine { bytes, ..line }.as_str(&name)?.to_string())
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

/// An output claimed before any work (see `kneser::io::OutputFile`): `-` is stdout, a FIFO or
/// device is written in place, a regular file appears at its path only on `commit()` (written
/// under a temporary name, removed if the object is closed or collected uncommitted). Refuses an
/// empty path, a directory, a missing directory and any of `inputs` (the same file).
///
/// Args:
///     path: the output path, or "-".
///     inputs: the job's input paths, refused as the output.
///
/// Example:
///     >>> with kneser.OutputFile("out.txt") as out:
///     ...     out.write("a line\n")
#[pyclass(name = "OutputFile", module = "kneser")]
pub struct PyOutputFile {
    inner: Mutex<Option<OutputFile>>,
}

impl PyOutputFile {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Option<OutputFile>) -> kneser::Result<T>,
    ) -> PyResult<T> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("output poisoned"))?;
        f(&mut guard).map_err(|e| to_pyerr(py, e))
    }
}

fn closed() -> kneser::Error {
    kneser::Error::InvalidArgument("the output is already committed or closed".into())
}

#[pymethods]
impl PyOutputFile {
    #[new]
    #[pyo3(signature = (path, inputs = Vec::new()))]
    fn new(py: Python<'_>, path: PathBuf, inputs: Vec<PathBuf>) -> PyResult<Self> {
        let file = py
            .detach(|| OutputFile::create_for(&path, &inputs))
            .map_err(|e| to_pyerr(py, e))?;
        Ok(PyOutputFile {
            inner: Mutex::new(Some(file)),
        })
    }

    /// Writes `data` (str, as UTF-8, or bytes).
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let owned;
        let bytes: &[u8] = if let Ok(b) = data.cast::<pyo3::types::PyBytes>() {
            b.as_bytes()
        } else {
            owned = data.extract::<String>()?;
            owned.as_bytes()
        };
        self.with(py, |slot| {
            let out = slot.as_mut().ok_or_else(closed)?;
            let name = out.name().to_string();
            std::io::Write::write_all(out, bytes)
                .map_err(|e| kneser::Error::io("cannot write", name, e))
        })
    }

    /// Flushes and, for a regular file, renames it into place.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let file = self.with(py, |slot| slot.take().ok_or_else(closed))?;
        py.detach(|| file.commit()).map_err(|e| to_pyerr(py, e))
    }

    /// Drops the output uncommitted: a temporary file is removed, nothing appears at the path.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |slot| {
            slot.take();
            Ok(())
        })
    }

    /// The path as given (`<stdout>` for "-").
    #[getter]
    fn name(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |slot| {
            Ok(slot
                .as_ref()
                .map(|o| o.name().to_string())
                .unwrap_or_default())
        })
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Commits when the block ended normally, aborts on an exception.
    #[pyo3(signature = (exc_type = None, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let pending = self.with(py, |slot| Ok(slot.is_some()))?;
        if exc_type.is_some_and(|t| !t.is_none()) || !pending {
            self.abort(py)?;
        } else {
            self.commit(py)?;
        }
        Ok(false)
    }
}

/// Checks an output path before any work as `OutputFile` would (empty, a directory, a missing
/// directory, one of `inputs`), for a job whose output is created at its end.
#[pyfunction]
#[pyo3(signature = (path, inputs = Vec::new()))]
fn claim_output(py: Python<'_>, path: PathBuf, inputs: Vec<PathBuf>) -> PyResult<()> {
    py.detach(|| kneser::claim_output(&path, &inputs))
        .map_err(|e| to_pyerr(py, e))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DEFAULT_LINE_BATCH", DEFAULT_LINE_BATCH)?;
    m.add_class::<PyLineBatches>()?;
    m.add_class::<PyOutputFile>()?;
    m.add_function(wrap_pyfunction!(claim_output, m)?)?;
    Ok(())
}
