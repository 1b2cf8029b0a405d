//! The kenlm module's classes beside `Model` and `State`: `Config`, `LoadMethod`,
//! `ARPALoadComplain` and `FullScoreReturn`, plus the argument conversions `Model` shares with
//! them (text as kenlm's `as_str` takes it, model paths, kenlm's truthiness of flags).
//!
//! With these, `import kneser as kenlm` runs code written for KenLM's Python module
//! (`python/kenlm.pyx` of KenLM): the same names, signatures, defaults, reprs and exceptions.
//! The scoring rules themselves are the core's (`kneser::model::Model::kenlm_score`, ...).

use std::borrow::Cow;
use std::path::PathBuf;

use kneser::{FullScore, LoadMethod};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyString};

use crate::sources::type_name;

/// kenlm's `as_str`: a `bytes` as it is, a `str` encoded as UTF-8 (a lone surrogate raises
/// UnicodeEncodeError, as `str.encode` does); anything else is a TypeError with kenlm's message.
pub fn kenlm_bytes<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return str_utf8(s);
    }
    Err(PyTypeError::new_err(format!(
        "Cannot convert {} to string",
        obj.get_type().repr()?
    )))
}

/// The UTF-8 bytes of a str (a lone surrogate raises UnicodeEncodeError, as `str.encode`
/// does). On CPython under Unix they are borrowed from the object, which keeps its UTF-8 form
/// (no copy per call: the cost of a short `score` call is mostly this conversion); elsewhere
/// they are encoded into a copy.
pub fn str_utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
    #[cfg(unix)]
    {
        crate::borrow::utf8_or_err(s).map(|t| Cow::Borrowed(t.as_bytes()))
    }
    #[cfg(not(unix))]
    {
        Ok(Cow::Owned(s.to_cow()?.into_owned().into_bytes()))
    }
}

/// The text of a str as `&str`, borrowed where [`str_utf8`] borrows.
pub fn str_text<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    Ok(match str_utf8(s)? {
        // SAFETY: CPython's UTF-8 form of a str is valid UTF-8 (it refuses lone surrogates).
        Cow::Borrowed(b) => Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(b) }),
        Cow::Owned(b) => Cow::Owned(
            String::from_utf8(b)
                .map_err(|e| PyValueError::new_err(format!("str is not valid UTF-8: {e}")))?,
        ),
    })
}

/// A model path as kenlm takes it (str or bytes; kneser also takes os.PathLike): the path to
/// open, and `os.path.abspath` of its bytes, which kenlm keeps as `Model.path`.
pub fn model_path(obj: &Bound<'_, PyAny>) -> PyResult<(PathBuf, Py<PyBytes>)> {
    let py = obj.py();
    let given = if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        obj.clone()
    } else if obj.hasattr("__fspath__")? {
        py.import("os")?.call_method1("fspath", (obj,))?
    } else {
        obj.clone()
    };
    let bytes = kenlm_bytes(&given)?.into_owned();
    let abs = py
        .import("os.path")?
        .call_method1("abspath", (PyBytes::new(py, &bytes),))?
        .cast_into::<PyBytes>()?
        .unbind();
    Ok((path_from_bytes(bytes), abs))
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// A flag as kenlm reads it: any object, by its truth value (`bos=0`, `eos=None` are false).
pub fn truthy(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    obj.is_truthy()
}

/// An argument read as [`truthy`] (kenlm's `if bos and eos:`), for signatures.
#[derive(Clone, Copy)]
pub struct Truthy(pub bool);

impl<'a, 'py> FromPyObject<'a, 'py> for Truthy {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        obj.is_truthy().map(Truthy)
    }
}

/// kenlm's `LoadMethod` values (util/mmap.hh): how a binary model is brought into memory.
///
/// Attributes:
///     LAZY: map the file, pages read on first use.
///     POPULATE_OR_LAZY: map the file and read every page now.
///     POPULATE_OR_READ: the same on Linux (the default).
///     READ: copy the file into memory (immune to the file being rewritten while in use).
///     PARALLEL_READ: read, as READ (KenLM removed its parallel reader and fails on it).
#[pyclass(name = "LoadMethod", module = "kneser")]
pub struct PyLoadMethod;

#[pymethods]
impl PyLoadMethod {
    #[new]
    fn new() -> Self {
        PyLoadMethod
    }

    #[classattr]
    const LAZY: i64 = 0;
    #[classattr]
    const POPULATE_OR_LAZY: i64 = 1;
    #[classattr]
    const POPULATE_OR_READ: i64 = 2;
    #[classattr]
    const READ: i64 = 3;
    #[classattr]
    const PARALLEL_READ: i64 = 4;
}

/// kenlm's `ARPALoadComplain` values: how much KenLM complains on stderr when it loads an ARPA
/// file rather than a binary one. kneser never prints while loading; the value is kept.
///
/// Attributes:
///     ALL: KenLM suggests building a binary file (its default).
///     EXPENSIVE: KenLM complains only when building a trie from ARPA.
///     NONE: no complaint.
#[pyclass(name = "ARPALoadComplain", module = "kneser")]
pub struct PyArpaLoadComplain;

#[pymethods]
impl PyArpaLoadComplain {
    #[new]
    fn new() -> Self {
        PyArpaLoadComplain
    }

    #[classattr]
    const ALL: i64 = 0;
    #[classattr]
    const EXPENSIVE: i64 = 1;
    #[classattr]
    const NONE: i64 = 2;
}

/// Loading options for `Model(path, config)`, as kenlm's `Config`.
///
/// Attributes:
///     load_method: a `LoadMethod` value (default `POPULATE_OR_READ`); applies to binary models.
///         `READ` also checks every middle-order pointer and word id of a trie file (the other
///         methods check what KenLM checks: header, counts, sizes; see `Model`).
///     show_progress: KenLM's progress bar on stderr (default True); kneser prints none.
///     arpa_complain: an `ARPALoadComplain` value (default `ALL`); kneser never complains.
///
/// Example:
///     >>> config = kneser.Config()
///     >>> config.load_method = kneser.LoadMethod.READ
///     >>> lm = kneser.Model("lm.kbin", config)
#[pyclass(name = "Config", module = "kneser")]
pub struct PyConfig {
    load_method: i64,
    show_progress: bool,
    arpa_complain: i64,
}

fn enum_value(value: &Bound<'_, PyAny>, name: &str, max: i64, names: &str) -> PyResult<i64> {
    let v: i64 = value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be an integer ({names}), got {}",
            type_name(value)
        ))
    })?;
    if !(0..=max).contains(&v) {
        return Err(PyValueError::new_err(format!(
            "{name} must be one of {names}, got {v}"
        )));
    }
    Ok(v)
}

impl PyConfig {
    /// The core's load method for this configuration.
    pub fn load_method(&self) -> LoadMethod {
        match self.load_method {
            0 => LoadMethod::Lazy,
            1 | 2 => LoadMethod::Populate,
            _ => LoadMethod::Read,
        }
    }
}

#[pymethods]
impl PyConfig {
    #[new]
    fn new() -> Self {
        PyConfig {
            load_method: PyLoadMethod::POPULATE_OR_READ,
            show_progress: true,
            arpa_complain: PyArpaLoadComplain::ALL,
        }
    }

    /// How a binary model is brought into memory (a `LoadMethod` value).
    #[getter]
    fn get_load_method(&self) -> i64 {
        self.load_method
    }

    #[setter]
    fn set_load_method(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.load_method = enum_value(
            value,
            "load_method",
            4,
            "LoadMethod.LAZY (0), POPULATE_OR_LAZY (1), POPULATE_OR_READ (2), READ (3), PARALLEL_READ (4)",
        )?;
        Ok(())
    }

    /// Whether KenLM would draw its progress bar while loading (kneser draws none).
    #[getter]
    fn get_show_progress(&self) -> bool {
        self.show_progress
    }

    #[setter]
    fn set_show_progress(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.show_progress = truthy(value)?;
        Ok(())
    }

    /// How much KenLM complains when loading ARPA (an `ARPALoadComplain` value).
    #[getter]
    fn get_arpa_complain(&self) -> i64 {
        self.arpa_complain
    }

    #[setter]
    fn set_arpa_complain(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.arpa_complain = enum_value(
            value,
            "arpa_complain",
            2,
            "ARPALoadComplain.ALL (0), EXPENSIVE (1), NONE (2)",
        )?;
        Ok(())
    }
}

/// The score of one word from `Model.BaseFullScore`, as kenlm's `FullScoreReturn`.
///
/// Attributes:
///     log_prob: log10 p(word | context) (a float32 value).
///     ngram_length: the length of the n-gram that matched.
///     oov: whether the word is out of the vocabulary.
///
/// Example:
///     >>> lm.BaseFullScore(state, "the", out)
///     FullScoreReturn(-1.2281697988510132, 2, False)
#[pyclass(name = "FullScoreReturn", module = "kneser", frozen, subclass)]
pub struct PyFullScoreReturn {
    log_prob: f32,
    ngram_length: i32,
    oov: bool,
}

impl PyFullScoreReturn {
    /// A result from the core's score of one word.
    pub fn from_core(score: FullScore) -> Self {
        PyFullScoreReturn {
            log_prob: score.prob,
            ngram_length: i32::from(score.ngram_length),
            oov: score.oov,
        }
    }
}

#[pymethods]
impl PyFullScoreReturn {
    #[new]
    fn new(log_prob: f32, ngram_length: i32, oov: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyFullScoreReturn {
            log_prob,
            ngram_length,
            oov: truthy(oov)?,
        })
    }

    /// log10 p(word | context).
    #[getter]
    fn log_prob(&self) -> f64 {
        f64::from(self.log_prob)
    }

    /// The length of the n-gram that matched (1 for a unigram).
    #[getter]
    fn ngram_length(&self) -> i32 {
        self.ngram_length
    }

    /// Whether the word is out of the vocabulary.
    #[getter]
    fn oov(&self) -> bool {
        self.oov
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let me = slf.get();
        Ok(format!(
            "{}({}, {}, {})",
            slf.get_type().name()?,
            PyFloat::new(py, f64::from(me.log_prob)).repr()?,
            me.ngram_length,
            if me.oov { "True" } else { "False" }
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConfig>()?;
    m.add_class::<PyLoadMethod>()?;
    m.add_class::<PyArpaLoadComplain>()?;
    m.add_class::<PyFullScoreReturn>()?;
    Ok(())
}
