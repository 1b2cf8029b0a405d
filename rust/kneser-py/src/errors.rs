//! Maps the core's [`kneser::Error`] onto the Python hierarchy rooted at `kneser.KneserError`
//! (defined in `python/kneser/_errors.py`, where multiple inheritance from the built-ins is easy).
//!
//! | core variant | Python class (bases) |
//! |---|---|
//! | `NotFound` | `NotFoundError` (`KneserIOError`, `FileNotFoundError`) |
//! | `Io` | `KneserIOError` (`KneserError`, `OSError`) |
//! | `InvalidUtf8`, `Format`, `SpecialInCorpus` | `FormatError` (`KneserError`, `ValueError`) |
//! | `Discount` | `DiscountError` (`KneserError`, `ValueError`) |
//! | `InvalidArgument`, `MemoryBudget` | `ArgumentError` (`KneserError`, `ValueError`) |
//! | `OutOfMemory` | `KneserMemoryError` (`KneserError`, `MemoryError`) |
//! | `Interrupted` | `KeyboardInterrupt` |
//! | `Internal`, a caught panic | `InternalError` (`KneserError`, `RuntimeError`) |

use kneser::Error;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module =
        ERRORS_MODULE.get_or_try_init(py, || py.import("kneser._errors").map(|m| m.unbind()))?;
    module.bind(py).getattr(name)
}

/// Converts a core error into the matching Python exception.
/// `on_error`: "skip" (false) or "raise" (true); anything else is a ValueError.
pub fn raise_on_error(on_error: &str) -> PyResult<bool> {
    match on_error {
        "skip" => Ok(false),
        "raise" => Ok(true),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "on_error must be \"skip\" or \"raise\", not {other:?}"
        ))),
    }
}

pub fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let built = (|| -> PyResult<PyErr> {
        let obj = match &err {
            Error::Interrupted => return Ok(PyKeyboardInterrupt::new_err(message.clone())),
            Error::NotFound { path } => class(py, "NotFoundError")?.call1((
                2i32,
                message.clone(),
                path.to_string_lossy().into_owned(),
            ))?,
            Error::Io { path, .. } => class(py, "KneserIOError")?.call1((
                err.errno().unwrap_or(0),
                message.clone(),
                path.to_string_lossy().into_owned(),
            ))?,
            Error::InvalidUtf8 { .. } | Error::Format { .. } | Error::SpecialInCorpus { .. } => {
                class(py, "FormatError")?.call1((message.clone(),))?
            }
            Error::Discount { .. } => class(py, "DiscountError")?.call1((message.clone(),))?,
            Error::OutOfMemory { .. } => {
                class(py, "KneserMemoryError")?.call1((message.clone(),))?
            }
            Error::InvalidArgument(_) | Error::MemoryBudget { .. } => {
                class(py, "ArgumentError")?.call1((message.clone(),))?
            }
            _ => class(py, "InternalError")?.call1((message.clone(),))?,
        };
        Ok(PyErr::from_value(obj))
    })();
    built.unwrap_or_else(|e| e)
}

/// Converts a caught panic payload into `kneser.InternalError`.
pub fn panic_to_pyerr(py: Python<'_>, payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    to_pyerr(py, Error::Internal(format!("panic: {what}")))
}

/// `.py_err(py)?` on a core `Result`.
#[allow(dead_code)] // for the feature modules
pub trait IntoPyResult<T> {
    /// Maps the error with [`to_pyerr`].
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for kneser::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}

/// `kneser.FormatError(message)` with `cause` attached: for text that cannot be processed,
/// such as a Python string holding a lone surrogate.
pub fn format_error(py: Python<'_>, message: String, cause: Option<PyErr>) -> PyErr {
    let err = match class(py, "FormatError").and_then(|c| c.call1((message,))) {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => e,
    };
    err.set_cause(py, cause);
    err
}
