//! Batches of Python `str` read in place: the UTF-8 of each string is borrowed from the object
//! (CPython keeps a compact ASCII string's bytes inline, and caches the UTF-8 of any other string
//! in the object once asked), the objects held alive by the batch, instead of copying every text
//! into a Rust `String` (pyo3's conversions under `abi3-py39` copy through a `bytes` object).

use std::ffi::c_char;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

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
    /// The items, as a tuple: keeps every borrowed string alive (one reference each, taken and
    /// given back by CPython's own loops when the tuple is made and freed); only dropped with
    /// the GIL held (by the caller).
    _items: Py<PyTuple>,
    /// Owns the converted texts (their heap buffers never move).
    _owned: Vec<String>,
    /// The texts in order, borrowed from `_items` or `_owned`.
    texts: Vec<&'static str>,
}

impl Texts {
    /// The items of `iterable`, in one call: a list is copied into a tuple, a tuple is held as
    /// it is, any other iterable is consumed into one. A `str` is borrowed; any other item, and
    /// a `str` without UTF-8 (a lone surrogate), goes to `convert(item, index)`, whose error (a
    /// TypeError, kneser.FormatError) is raised.
    pub fn collect(
        iterable: &Bound<'_, PyAny>,
        mut convert: impl FnMut(&Bound<'_, PyAny>, usize) -> PyResult<String>,
    ) -> PyResult<Self> {
        let py = iterable.py();
        // SAFETY: the GIL is held; PySequence_Tuple returns a new reference or NULL with the
        // exception (not iterable, an iterator's error) set.
        let items = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PySequence_Tuple(iterable.as_ptr()))?
                .cast_into_unchecked::<PyTuple>()
        };
        // The items' addresses first (a call each under the stable ABI), so that the loop below
        // can prefetch ahead without calls.
        let objects: Vec<*mut ffi::PyObject> = (0..items.len())
            // SAFETY: the index is in bounds; the reference is borrowed from the tuple, which
            // nothing can change and which outlives this function.
            .map(|i| unsafe { ffi::PyTuple_GetItem(items.as_ptr(), i as ffi::Py_ssize_t) })
            .collect();
        let mut owned = Vec::new();
        let mut texts = Vec::with_capacity(objects.len());
        for (i, &object) in objects.iter().enumerate() {
            if let Some(&ahead) = objects.get(i + AHEAD) {
                prefetch_object(ahead);
            }
            // SAFETY: a valid object borrowed from the tuple (see above).
            let item = unsafe { Borrowed::from_ptr(py, object) };
            if let Ok(s) = item.cast::<PyString>() {
                if let Some(text) = utf8_of(&s) {
                    // SAFETY: the text lives as long as the object, which the tuple in
                    // `_items` keeps alive for as long as `texts` exists; `texts` hands it out
                    // only borrowed from self.
                    texts.push(unsafe { std::mem::transmute::<&str, &'static str>(text) });
                    continue;
                }
            }
            let text = convert(&item, i)?;
            // SAFETY: the String's heap buffer stays put while it sits in `owned` (moving the
            // String, or growing the Vec, does not move it) and lives as long as `self`.
            texts.push(unsafe { std::mem::transmute::<&str, &'static str>(text.as_str()) });
            owned.push(text);
        }
        Ok(Texts {
            _items: items.unbind(),
            _owned: owned,
            texts,
        })
    }

    /// The texts in order.
    pub fn as_slice(&self) -> &[&str] {
        &self.texts
    }
}

/// How many strings ahead a batch prefetches while it reads them: a large batch's strings lie
/// all over the heap, mostly out of the cache, and each was a cache miss in turn, on the
/// caller's thread while the pool waited (`Py_IncRef` and `Py_DecRef` took 7% of an
/// `encode_batch` profile of 200,000 lines when each string held its own reference).
const AHEAD: usize = 16;

/// Prefetches the header of a `str` (reference count, type, length, state; the UTF-8 pointer
/// of a non-ASCII string): the first two cache lines at `object`.
fn prefetch_object(object: *mut ffi::PyObject) {
    let p = object.cast::<u8>().cast_const();
    kneser::prefetch(p);
    kneser::prefetch(p.wrapping_add(64));
}
