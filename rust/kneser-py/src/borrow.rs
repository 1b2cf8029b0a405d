//! Batches of Python `str` read in place: the UTF-8 of each string is borrowed from the object
//! (CPython keeps a compact ASCII string's bytes inline, and caches the UTF-8 of any other string
//! in the object once asked), the objects held alive by the batch, instead of copying every text
//! into a Rust `String` (pyo3's conversions under `abi3-py39` copy through a `bytes` object).

use std::ffi::c_char;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

extern "C" {
    // Part of CPython's API since 3.3 and of its stable ABI since 3.10; pyo3 declares it only
    // for 3.10+ when building abi3 wheels for 3.9, so it is declared here (same signature).
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// The UTF-8 of `s`, borrowed from the object; a str without one (a lone surrogate) gives the
/// encoder's error (UnicodeEncodeError, as `str.encode` raises). The one place the UTF-8 of a
/// `str` is borrowed (the kenlm-compatible calls and the batches below use it).
pub fn utf8_or_err<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` (the GIL is held through the `Bound`); the call returns a
    // pointer to `size` bytes of valid UTF-8 owned by the object, or NULL with an exception set.
    let p = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if p.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    let len = usize::try_from(size).unwrap_or(0);
    // SAFETY: the bytes are valid UTF-8 (CPython's encoder wrote them, or the string is ASCII)
    // and live as long as the object, which `s` borrows for `'a`; `str` objects never change.
    Ok(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p.cast::<u8>(), len)) })
}

/// [`utf8_or_err`], or `None` (the Python error cleared) when `s` has no UTF-8.
pub fn utf8_of<'a>(s: &'a Bound<'_, PyString>) -> Option<&'a str> {
    utf8_or_err(s).ok()
}

/// The texts of a batch: borrowed from the `str` objects it holds, or converted (by the
/// caller's rule, e.g. bytes decoded as jieba does) and owned.
pub struct Texts {
    /// Keeps every borrowed string alive; only dropped with the GIL held (by the caller).
    _owners: Vec<Py<PyString>>,
    /// Owns the converted texts (their heap buffers never move).
    _owned: Vec<String>,
    /// The texts in order, borrowed from `_owners` or `_owned`.
    texts: Vec<&'static str>,
}

impl Texts {
    /// The items of `iterable` (a list is read without the iterator protocol). A `str` is
    /// borrowed; any other item, and a `str` without UTF-8 (a lone surrogate), goes to
    /// `convert(item, index)`, whose error (a TypeError, kneser.FormatError) is raised.
    pub fn collect(
        iterable: &Bound<'_, PyAny>,
        mut convert: impl FnMut(&Bound<'_, PyAny>, usize) -> PyResult<String>,
    ) -> PyResult<Self> {
        let mut out = Texts {
            _owners: Vec::with_capacity(iterable.len().unwrap_or(0)),
            _owned: Vec::new(),
            texts: Vec::with_capacity(iterable.len().unwrap_or(0)),
        };
        let mut add = |item: &Bound<'_, PyAny>, index: usize| -> PyResult<()> {
            if let Ok(s) = item.cast::<PyString>() {
                if let Some(text) = utf8_of(s) {
                    // SAFETY: the text lives as long as the object, which `_owners` keeps alive
                    // for as long as `texts` exists; `texts` hands it out only borrowed from self.
                    let text: &'static str = unsafe { std::mem::transmute::<&str, &str>(text) };
                    out._owners.push(s.clone().unbind());
                    out.texts.push(text);
                    return Ok(());
                }
            }
            let owned = convert(item, index)?;
            // SAFETY: the String's heap buffer stays put while it sits in `_owned` (moving the
            // String, or growing the Vec, does not move it) and lives as long as `self`.
            let text: &'static str = unsafe { std::mem::transmute::<&str, &str>(owned.as_str()) };
            out._owned.push(owned);
            out.texts.push(text);
            Ok(())
        };
        if let Ok(list) = iterable.cast::<PyList>() {
            for (i, item) in list.iter().enumerate() {
                add(&item, i)?;
            }
        } else {
            for (i, item) in iterable.try_iter()?.enumerate() {
                add(&item?, i)?;
            }
        }
        Ok(out)
    }

    /// The texts in order.
    pub fn as_slice(&self) -> &[&str] {
        &self.texts
    }
}
